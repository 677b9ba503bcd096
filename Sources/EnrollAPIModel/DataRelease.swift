import Foundation

/// `POST /v1/verifiers`: a verifier for the registry, with either a PEM CSR (our CA issues its client certificate
/// under the verifier profile) or a PEM certificate from another CA (registered by its SHA-256 fingerprint).
public struct VerifierAddBody: Codable, Sendable {
    public var id: String
    public var legalName: String
    public var elements: [String]
    public var purpose: String
    /// Days from now the verifier stays approved (1 to 3650).
    public var validDays: Int
    public var csr: String?
    public var certificate: String?

    public init(
        id: String, legalName: String, elements: [String], purpose: String, validDays: Int, csr: String? = nil,
        certificate: String? = nil
    ) {
        self.id = id
        self.legalName = legalName
        self.elements = elements
        self.purpose = purpose
        self.validDays = validDays
        self.csr = csr
        self.certificate = certificate
    }
}

/// A verifier as the registry shows it.
public struct VerifierView: Codable, Sendable, Equatable {
    public var id: String
    public var legalName: String
    public var elements: [String]
    public var purpose: String
    public var validFrom: String
    public var validUntil: String
    public var status: String
    /// `issued` (by this CA, under the verifier profile) or `registered` (another CA's certificate).
    public var credential: String
    public var certificateFingerprint: String
    public var certificatePem: String

    public init(
        id: String, legalName: String, elements: [String], purpose: String, validFrom: String, validUntil: String,
        status: String, credential: String, certificateFingerprint: String, certificatePem: String
    ) {
        self.id = id
        self.legalName = legalName
        self.elements = elements
        self.purpose = purpose
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.status = status
        self.credential = credential
        self.certificateFingerprint = certificateFingerprint
        self.certificatePem = certificatePem
    }
}

/// `POST /v1/verifiers/{id}/status`: `suspended`, `revoked` (final) or `approved` (after a suspension).
public struct VerifierStatusBody: Codable, Sendable {
    public var status: String
    public var reason: String?

    public init(status: String, reason: String? = nil) {
        self.status = status
        self.reason = reason
    }
}

/// `POST /v1/accounts/{id}/presentations`: the holder's proof. With `deviceId` and `signature` (base64 of the bound
/// device key's signature over `enrolld-presentation-open-v1\n{account id}\n{nonce}`, the nonce from
/// `POST .../presentations/nonce`); without them, a kiosk's holder proof (`X-Enrolld-Enrollment` or
/// `X-Enrolld-Passcode`).
public struct PresentationOpenBody: Codable, Sendable {
    public var deviceId: String?
    public var nonce: String?
    public var signature: String?

    public init(deviceId: String? = nil, nonce: String? = nil, signature: String? = nil) {
        self.deviceId = deviceId
        self.nonce = nonce
        self.signature = signature
    }
}

/// A nonce for the device's signature that opens a presentation (single use, two minutes).
public struct PresentationNonce: Codable, Sendable, Equatable {
    public var nonce: String
    public var expiresAt: String

    public init(nonce: String, expiresAt: String) {
        self.nonce = nonce
        self.expiresAt = expiresAt
    }
}

/// A presentation's current QR payload: a token naming no personal data.
public struct PresentationQR: Codable, Sendable, Equatable {
    public var presentationId: String
    public var token: String
    public var counter: Int
    public var expiresAt: String
    /// Fetch `GET .../qr` again after this many seconds.
    public var refreshSeconds: Int
    /// Only when the presentation opens: the secret the holder's app sends as `X-Enrolld-Presentation-Key` to read
    /// the presentation and refresh its QR without another holder proof per call. It never consents: consent takes the
    /// bound device's signature or a kiosk's holder proof, each time.
    public var presentationKey: String?

    public init(
        presentationId: String, token: String, counter: Int, expiresAt: String, refreshSeconds: Int,
        presentationKey: String? = nil
    ) {
        self.presentationKey = presentationKey
        self.presentationId = presentationId
        self.token = token
        self.counter = counter
        self.expiresAt = expiresAt
        self.refreshSeconds = refreshSeconds
    }
}

/// A verifier's request as the holder sees it.
public struct ReleaseRequestView: Codable, Sendable, Equatable {
    public var requestId: String
    public var verifierId: String
    public var verifierName: String
    public var elements: [String]
    public var purpose: String
    /// `pending`, `refused` or `released`.
    public var state: String
    /// Hex SHA-256 of the request (`enrolld-release-request-v1`, id, verifier, purpose, elements): the bound device
    /// signs `enrolld-consent-v1\n{digest}\n{consented elements, comma-separated}`.
    public var digest: String
    public var createdAt: String
    /// What was released (after consent).
    public var released: [String]?

    public init(
        requestId: String, verifierId: String, verifierName: String, elements: [String], purpose: String,
        state: String, digest: String, createdAt: String, released: [String]? = nil
    ) {
        self.requestId = requestId
        self.verifierId = verifierId
        self.verifierName = verifierName
        self.elements = elements
        self.purpose = purpose
        self.state = state
        self.digest = digest
        self.createdAt = createdAt
        self.released = released
    }
}

/// `GET /v1/accounts/{id}/presentations/{pid}`.
public struct PresentationView: Codable, Sendable, Equatable {
    public var presentationId: String
    public var accountId: String
    public var expiresAt: String
    public var requests: [ReleaseRequestView]

    public init(presentationId: String, accountId: String, expiresAt: String, requests: [ReleaseRequestView]) {
        self.presentationId = presentationId
        self.accountId = accountId
        self.expiresAt = expiresAt
        self.requests = requests
    }
}

/// `POST /v1/accounts/{id}/presentations/{pid}/consent`: which request, which of its elements (all when absent or
/// empty: `[]` with `refuse: true` refuses the request), and the bound device's signature (base64) or, without one,
/// the kiosk's holder proof.
public struct ConsentBody: Codable, Sendable {
    public var requestId: String
    public var elements: [String]?
    public var refuse: Bool?
    public var deviceId: String?
    public var signature: String?

    public init(
        requestId: String, elements: [String]? = nil, refuse: Bool? = nil, deviceId: String? = nil,
        signature: String? = nil
    ) {
        self.requestId = requestId
        self.elements = elements
        self.refuse = refuse
        self.deviceId = deviceId
        self.signature = signature
    }
}

/// `POST /v1/verifier/requests` (TLS listener): the scanned token, the elements wanted, and the purpose.
public struct VerifierRequestBody: Codable, Sendable {
    public var token: String
    public var elements: [String]
    public var purpose: String

    public init(token: String, elements: [String], purpose: String) {
        self.token = token
        self.elements = elements
        self.purpose = purpose
    }
}

/// `GET /v1/verifier/requests/{rid}`: the request's state; once released, the CMS EnvelopedData (base64 DER)
/// holding the daemon-signed SignedData of the released elements.
public struct VerifierRequestStatus: Codable, Sendable, Equatable {
    public var requestId: String
    public var state: String
    public var elements: [String]
    public var released: [String]?
    public var envelope: String?

    public init(
        requestId: String, state: String, elements: [String], released: [String]? = nil, envelope: String? = nil
    ) {
        self.requestId = requestId
        self.state = state
        self.elements = elements
        self.released = released
        self.envelope = envelope
    }
}
