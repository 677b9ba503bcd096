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

    public init(subject: String, issuer: String, notBefore: String? = nil, notAfter: String? = nil, fingerprint: String, selfSigned: Bool) {
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

    public init(directory: String, cscaCertificates: [TrustedCertificateInfo], documentSignerCertificates: Int, crls: [TrustedCRLInfo], skippedFiles: [String]) {
        self.directory = directory
        self.cscaCertificates = cscaCertificates
        self.documentSignerCertificates = documentSignerCertificates
        self.crls = crls
        self.skippedFiles = skippedFiles
    }
}

/// `POST /v1/trust/import` body: a master list (CMS), a CSCA certificate or a CRL, PEM or DER, base64.
public struct TrustImportRequest: Codable, Sendable {
    public var data: String

    public init(data: String) {
        self.data = data
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

    public init(kind: String, added: Int, alreadyTrusted: Int, writtenFiles: [String], cscaCertificates: Int) {
        self.kind = kind
        self.added = added
        self.alreadyTrusted = alreadyTrusted
        self.writtenFiles = writtenFiles
        self.cscaCertificates = cscaCertificates
    }
}
