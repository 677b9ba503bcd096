import Foundation
import OpenSSLKit

/// What the CA's records say about one serial number: the facts the OCSP responder (RFC 6960 §2.2) and the CRL
/// (RFC 5280 §5) are built from.
public enum CertificateRecordStatus: Sendable, Equatable {
    /// Signed, handed out and not revoked: OCSP `good`.
    case issued
    /// Revoked (by an operator, the holder or the identity lifecycle): OCSP `revoked`, listed on the CRL.
    case revoked(at: Date, reason: CRLReason)
    /// An issuance whose intent was recorded but whose certificate commit never happened: it may have been
    /// signed, so recovery revoked it. OCSP `revoked` and listed on the CRL, exactly like `revoked`.
    case abandoned(revokedAt: Date, reason: CRLReason)
    /// No certificate with this serial exists (never recorded, or an intent still being signed): OCSP `unknown`.
    case neverIssued
}

/// The status-lookup port of the OCSP responder. The daemon's store implements it (one read of the certificate
/// row by serial); tests use an in-memory table. Implementations are called from many threads at once.
public protocol CertificateStatusSource: Sendable {
    /// The status of the certificate with `serialHex` (upper-case hex of the serial's magnitude, two digits per
    /// byte, as `IssuanceIntent.serialHex` writes it).
    /// - Throws: `CertificateAuthorityError.statusSourceUnavailable` when the records cannot be read now.
    func status(serialHex: String) throws(CertificateAuthorityError) -> CertificateRecordStatus
}

/// What one CRL lists and the number it carries.
public struct CRLContents: Sendable, Equatable {
    /// The next value of the CRL number counter (RFC 5280 §5.2.3).
    public var number: Int
    /// Every revoked certificate and every abandoned intent that recovery revoked.
    public var revocations: [Revocation]

    public init(number: Int, revocations: [Revocation]) {
        self.number = number
        self.revocations = revocations
    }
}

/// The port the cached CRL reads its contents from. The store implements it with one transaction that takes the
/// next value of the shared `crl-number` counter and reads the revocations: so numbers never repeat across
/// restarts or across a fleet on one database, and (with serializable transactions) a CRL with a higher number
/// never lists fewer revocations than one with a lower number.
public protocol RevocationListSource: Sendable {
    /// - Throws: `CertificateAuthorityError.statusSourceUnavailable` when the records cannot be read now.
    func nextCRLContents() throws(CertificateAuthorityError) -> CRLContents
}
