import Foundation

/// A trusted CSCA certificate as `GET /v1/trust` lists it.
public struct TrustedCertificateInfo: Codable, Sendable, Equatable {
    public var subject: String
    public var issuer: String
    /// ISO 8601.
    public var notBefore: String?
    /// ISO 8601.
    public var notAfter: String?
    /// SHA-256 of the DER, lowercase hex.
    public var fingerprint: String
    public var selfSigned: Bool

    public init(
        subject: String, issuer: String, notBefore: String? = nil, notAfter: String? = nil, fingerprint: String,
        selfSigned: Bool
    ) {
        self.subject = subject
        self.issuer = issuer
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.fingerprint = fingerprint
        self.selfSigned = selfSigned
    }
}

/// A CRL as `GET /v1/trust` lists it.
public struct TrustedCRLInfo: Codable, Sendable, Equatable {
    public var issuer: String
    /// ISO 8601.
    public var thisUpdate: String?
    /// ISO 8601.
    public var nextUpdate: String?
    public var revokedCertificates: Int

    public init(issuer: String, thisUpdate: String? = nil, nextUpdate: String? = nil, revokedCertificates: Int) {
        self.issuer = issuer
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.revokedCertificates = revokedCertificates
    }
}

/// The body of `GET /v1/trust`.
public struct TrustStoreListing: Codable, Sendable {
    public var directory: String
    public var cscaCertificates: [TrustedCertificateInfo]
    public var documentSignerCertificates: Int
    public var crls: [TrustedCRLInfo]
    /// Files of the directory that were not loaded, with the reason.
    public var skippedFiles: [String]

    public init(
        directory: String, cscaCertificates: [TrustedCertificateInfo], documentSignerCertificates: Int,
        crls: [TrustedCRLInfo], skippedFiles: [String]
    ) {
        self.directory = directory
        self.cscaCertificates = cscaCertificates
        self.documentSignerCertificates = documentSignerCertificates
        self.crls = crls
        self.skippedFiles = skippedFiles
    }
}

/// `POST /v1/trust/import` body: a master list (CMS), a CSCA certificate or a CRL, PEM or DER, base64; `states`
/// (ICAO issuing-state codes, e.g. `["UTO", "D"]`) limits what is trusted to those states' CSCAs, and a master list
/// needs it.
public struct TrustImportRequest: Codable, Sendable {
    public var data: String
    public var states: [String]?

    public init(data: String, states: [String]? = nil) {
        self.data = data
        self.states = states
    }
}

/// A certificate an import added, or skipped with the reason.
public struct TrustImportEntry: Codable, Sendable, Equatable {
    public var subject: String
    /// SHA-256 of the DER, lowercase hex.
    public var fingerprint: String
    /// Why it was skipped (nil for an added certificate).
    public var reason: String?

    public init(subject: String, fingerprint: String, reason: String? = nil) {
        self.subject = subject
        self.fingerprint = fingerprint
        self.reason = reason
    }
}

/// `POST /v1/trust/import` answer.
public struct TrustImportResponse: Codable, Sendable {
    /// `master-list`, `csca-certificate` or `crl`.
    public var kind: String
    /// Certificates (or CRLs) newly trusted.
    public var added: Int
    public var alreadyTrusted: Int
    public var writtenFiles: [String]
    /// CSCA certificates trusted after the reload.
    public var cscaCertificates: Int
    /// The certificates added, and those left out with the reason.
    public var addedCertificates: [TrustImportEntry]
    public var skipped: [TrustImportEntry]
    /// The issuing states the import was limited to; empty when it was not.
    public var states: [String]

    public init(
        kind: String, added: Int, alreadyTrusted: Int, writtenFiles: [String], cscaCertificates: Int,
        addedCertificates: [TrustImportEntry] = [], skipped: [TrustImportEntry] = [], states: [String] = []
    ) {
        self.kind = kind
        self.added = added
        self.alreadyTrusted = alreadyTrusted
        self.writtenFiles = writtenFiles
        self.cscaCertificates = cscaCertificates
        self.addedCertificates = addedCertificates
        self.skipped = skipped
        self.states = states
    }
}
