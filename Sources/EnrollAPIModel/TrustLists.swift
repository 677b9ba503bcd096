import Foundation

/// The body of `POST /v1/trust-lists/import`: another jurisdiction's ETSI TS 119 612 trust list.
public struct TrustListImportRequest: Codable, Sendable, Equatable {
    /// Base64 of the signed XML document, as the other jurisdiction published it.
    public var data: String
    /// The SchemeTerritory expected (ISO 3166-1 alpha-2), when the caller knows it.
    public var territory: String?

    public init(data: String, territory: String? = nil) {
        self.data = data
        self.territory = territory
    }
}

/// One trust service of an imported list.
public struct TrustListServiceInfo: Codable, Sendable, Equatable {
    public var provider: String
    public var name: String
    /// The status's last URI segment: `granted`, `withdrawn`, `recognisedatnationallevel`, …
    public var status: String
    /// ISO 8601.
    public var statusStartingTime: String
    /// SHA-256 fingerprints of the service's CA certificates, lowercase hex.
    public var certificates: [String]
    public var policies: [String]
    /// Earlier statuses kept in the list (ServiceHistory).
    public var historyEntries: Int

    public init(
        provider: String, name: String, status: String, statusStartingTime: String, certificates: [String],
        policies: [String], historyEntries: Int
    ) {
        self.provider = provider
        self.name = name
        self.status = status
        self.statusStartingTime = statusStartingTime
        self.certificates = certificates
        self.policies = policies
        self.historyEntries = historyEntries
    }
}

/// An imported trust list (`GET /v1/trust-lists`, the answer of an import).
public struct TrustListSummary: Codable, Sendable, Equatable {
    public var territory: String
    public var schemeOperator: String
    public var sequenceNumber: Int
    /// ISO 8601.
    public var issueDate: String
    /// ISO 8601.
    public var nextUpdate: String
    /// Subject of the certificate whose key signed the list.
    public var signer: String
    public var services: [TrustListServiceInfo]

    public init(
        territory: String, schemeOperator: String, sequenceNumber: Int, issueDate: String, nextUpdate: String,
        signer: String, services: [TrustListServiceInfo]
    ) {
        self.territory = territory
        self.schemeOperator = schemeOperator
        self.sequenceNumber = sequenceNumber
        self.issueDate = issueDate
        self.nextUpdate = nextUpdate
        self.signer = signer
        self.services = services
    }
}

/// The body of `GET /v1/trust-lists`.
public struct TrustListListing: Codable, Sendable, Equatable {
    public var directory: String
    public var lists: [TrustListSummary]
    /// Files of the directory that did not verify (at start or since), with the reason.
    public var skippedFiles: [String]

    public init(directory: String, lists: [TrustListSummary], skippedFiles: [String]) {
        self.directory = directory
        self.lists = lists
        self.skippedFiles = skippedFiles
    }
}

/// The body of `POST /v1/certificates/validate`: another jurisdiction's signing certificate.
public struct CertificateValidationRequest: Codable, Sendable, Equatable {
    /// The certificate, PEM or base64 DER.
    public var certificate: String
    /// Certificates sent with the signature that the path may pass through (PEM or base64 DER).
    public var intermediates: [String]?
    /// ISO 8601: validate as of this time (a signature's time); default now.
    public var at: String?

    public init(certificate: String, intermediates: [String]? = nil, at: String? = nil) {
        self.certificate = certificate
        self.intermediates = intermediates
        self.at = at
    }
}

/// The answer of `POST /v1/certificates/validate` for a certificate that validated (refusals are problems).
public struct CertificateValidationResponse: Codable, Sendable, Equatable {
    public var valid: Bool
    public var territory: String
    public var schemeOperator: String
    public var provider: String
    public var service: String
    /// Subjects of the certification path, the certificate first, the service's CA certificate last.
    public var path: [String]
    public var matchedPolicies: [String]
    /// `OCSP <url>` or `CRL <url>`: where the status `good` came from.
    public var statusSource: String
    /// ISO 8601.
    public var checkedAt: String

    public init(
        valid: Bool, territory: String, schemeOperator: String, provider: String, service: String,
        path: [String], matchedPolicies: [String], statusSource: String, checkedAt: String
    ) {
        self.valid = valid
        self.territory = territory
        self.schemeOperator = schemeOperator
        self.provider = provider
        self.service = service
        self.path = path
        self.matchedPolicies = matchedPolicies
        self.statusSource = statusSource
        self.checkedAt = checkedAt
    }
}
