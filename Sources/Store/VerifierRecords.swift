import Foundation

/// A verifier's standing in the registry: only `approved` verifiers may ask for data; suspending or revoking one
/// takes effect on its next request.
public enum VerifierStatus: String, Sendable, Codable, CaseIterable {
    case approved
    case suspended
    case revoked
}

/// How a verifier proves itself on the TLS listener: a client certificate our CA issued under the verifier profile
/// (its allowed elements in the certificate's extension), or a certificate from another CA registered by its
/// SHA-256 fingerprint.
public enum VerifierCredentialKind: String, Sendable, Codable, CaseIterable {
    case issued
    case registered
}

/// An approved third party (a bank, a notary) that may ask a holder to release some of their data elements.
public struct VerifierRecord: Sendable, Equatable {
    /// 1 to 64 letters, digits, '-', '_' or '.', chosen by the admin ("bank-of-macao").
    public var id: String
    public var legalName: String
    /// Element names from `VerifierElement`'s catalogue, in catalogue order.
    public var elements: [String]
    public var purpose: String
    public var validFrom: Date
    public var validUntil: Date
    public var status: VerifierStatus
    public var credential: VerifierCredentialKind
    /// Lower-case hex SHA-256 of the client certificate's DER (unique across verifiers).
    public var certificateFingerprint: String
    public var certificatePEM: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, legalName: String, elements: [String], purpose: String, validFrom: Date, validUntil: Date,
        status: VerifierStatus, credential: VerifierCredentialKind, certificateFingerprint: String,
        certificatePEM: String, createdAt: Date, updatedAt: Date
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
        self.certificatePEM = certificatePEM
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
