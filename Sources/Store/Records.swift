import Foundation
import OpenSSLKit

/// The two account tiers. Their display names ("iAM Smart" / "iAM Smart+", "Level 1" / "Level 2")
/// come from configuration.
public enum AccountTier: String, Sendable, Codable, CaseIterable {
    /// Identity verified from a genuine chip.
    case basic
    /// Basic plus a face match and a signing certificate.
    case signing
}

/// The life state of an account's identity.
public enum IdentityStatus: String, Sendable, Codable, CaseIterable {
    case normal
    /// The verified document's expiry has passed.
    case expired
    /// The document was replaced or reported lost.
    case invalid
    /// The identity card was cancelled or the holder died. Irreversible.
    case cancelled
}

/// An account as stored. Personal data never appears in clear: the identity is an HMAC, the
/// rest is sealed with AES-256-GCM by the store's `DataProtector`.
public struct AccountRecord: Sendable, Equatable {
    public var id: UUID
    public var tier: AccountTier
    public var status: IdentityStatus
    /// HMAC-SHA-256 under the server's identity key of the typed identity `STATE:PN:number` or `STATE:DOC:number`
    /// (`DataProtector.canonicalIdentity`); unique.
    public var identityKey: [UInt8]
    /// For an account written before identity keys were typed (store schema migration "typed identity"): its old
    /// key, `HMAC(STATE:NUMBER)`, kept as an alias until the holder's next visit replaces it by the typed key; nil
    /// otherwise. Unique when set.
    public var legacyIdentityKey: [UInt8]?
    /// AES-256-GCM sealed personal data (names, birth date, document number, expiry, contact).
    public var sealedPersonalData: [UInt8]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID = UUID(), tier: AccountTier, status: IdentityStatus = .normal, identityKey: [UInt8],
        sealedPersonalData: [UInt8], createdAt: Date = Date(), updatedAt: Date = Date(),
        legacyIdentityKey: [UInt8]? = nil
    ) {
        self.id = id
        self.tier = tier
        self.status = status
        self.identityKey = identityKey
        self.legacyIdentityKey = legacyIdentityKey
        self.sealedPersonalData = sealedPersonalData
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A document an account was verified with: what the account lists (`GET /v1/accounts/{id}` documents). The
/// number is only a keyed hash; one row per account and document.
public struct AccountDocumentRecord: Sendable, Equatable {
    public var accountID: UUID
    /// HMAC-SHA-256 under the identity key of `STATE:DOC:number` (`DataProtector.documentKey`).
    public var documentKey: [UInt8]
    /// The MRZ document code, fillers removed (`P`, `ID`, `I`, `AC`...).
    public var documentType: String
    public var issuingState: String
    /// ISO 8601 date (the document's last valid day).
    public var expiry: String
    public var firstVerifiedAt: Date
    public var lastVerifiedAt: Date

    public init(
        accountID: UUID, documentKey: [UInt8], documentType: String, issuingState: String, expiry: String,
        firstVerifiedAt: Date, lastVerifiedAt: Date
    ) {
        self.accountID = accountID
        self.documentKey = documentKey
        self.documentType = documentType
        self.issuingState = issuingState
        self.expiry = expiry
        self.firstVerifiedAt = firstVerifiedAt
        self.lastVerifiedAt = lastVerifiedAt
    }
}

/// Where a certificate is in its life. An issuance is recorded as `intent` (with its serial)
/// before the CA signs, so a crash between signing and committing leaves no unknown certificate.
public enum CertificateState: String, Sendable, Codable {
    case intent
    case issued
    case revoked
    /// An intent that never completed (crash or refusal); the serial is never reused.
    case abandoned
}

/// RFC 5280 §5.3.1 reason codes: the CA's `CRLReason`, so a stored reason goes into the CRL as is.
public typealias RevocationReason = CRLReason

extension CRLReason {
    /// Names as the CLI and API spell them: `key-compromise`, `superseded`, ...
    public var name: String {
        switch self {
        case .unspecified: return "unspecified"
        case .keyCompromise: return "key-compromise"
        case .cACompromise: return "ca-compromise"
        case .affiliationChanged: return "affiliation-changed"
        case .superseded: return "superseded"
        case .cessationOfOperation: return "cessation-of-operation"
        case .certificateHold: return "certificate-hold"
        case .removeFromCRL: return "remove-from-crl"
        case .privilegeWithdrawn: return "privilege-withdrawn"
        case .aACompromise: return "aa-compromise"
        }
    }

    public init?(name: String) {
        guard let reason = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = reason
    }
}

/// A certificate issued to an account (or about to be).
public struct CertificateRecord: Sendable, Equatable {
    /// Serial number, upper-case hexadecimal, unique across the CA's life.
    public var serial: String
    public var accountID: UUID
    public var state: CertificateState
    /// DER of the issued certificate; nil while an intent.
    public var der: [UInt8]?
    public var notBefore: Date
    public var notAfter: Date
    public var revokedAt: Date?
    public var revocationReason: RevocationReason?
    /// The device the certificate's key lives on, when bound (identity lifecycle).
    public var deviceID: String?
    public var createdAt: Date

    public init(
        serial: String, accountID: UUID, state: CertificateState, der: [UInt8]? = nil, notBefore: Date,
        notAfter: Date, revokedAt: Date? = nil, revocationReason: RevocationReason? = nil,
        deviceID: String? = nil, createdAt: Date = Date()
    ) {
        self.serial = serial
        self.accountID = accountID
        self.state = state
        self.der = der
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.revokedAt = revokedAt
        self.revocationReason = revocationReason
        self.deviceID = deviceID
        self.createdAt = createdAt
    }
}

/// What an enrollment session is for.
public enum EnrollmentPurpose: String, Sendable, Codable, CaseIterable {
    case register
    case upgrade
    case passcodeReset = "passcode-reset"
}

/// Where an enrollment session stands.
public enum EnrollmentState: String, Sendable, Codable, CaseIterable {
    /// The card was read and authenticated; waiting for the live photo.
    case cardVerified = "card-verified"
    /// The face matched; waiting for the CSR.
    case faceMatched = "face-matched"
    /// Completion has begun: the account and the certificate's intent are committed, the CA is about to sign.
    case completing
    case completed
    case failed
    case expired

    /// Completed, failed or expired: for good. The stores refuse to write any other state over a finished one, so
    /// a step that worked on a stale copy of the session cannot revive it.
    public var isFinished: Bool { self == .completed || self == .failed || self == .expired }

    /// The finished states as an SQL list, for the stores' guard.
    public static let finishedSQL = "('completed', 'failed', 'expired')"
}

/// The durable record of one enrollment session: its state and evidence (no biometric data).
public struct EnrollmentRecord: Sendable, Equatable {
    public var id: UUID
    public var purpose: EnrollmentPurpose
    public var state: EnrollmentState
    public var accountID: UUID?
    public var reader: String
    /// Caller's uid from SO_PEERCRED.
    public var callerUID: UInt32
    /// JSON evidence: checks passed, face score, thresholds, timestamps. No names, no numbers, no images.
    public var evidence: [UInt8]
    /// Stable failure code when `state` is failed or expired.
    public var failureCode: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID = UUID(), purpose: EnrollmentPurpose, state: EnrollmentState, accountID: UUID? = nil,
        reader: String, callerUID: UInt32, evidence: [UInt8] = [], failureCode: String? = nil,
        createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.purpose = purpose
        self.state = state
        self.accountID = accountID
        self.reader = reader
        self.callerUID = callerUID
        self.evidence = evidence
        self.failureCode = failureCode
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
