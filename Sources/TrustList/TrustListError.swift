import Foundation
import OpenSSLKit

/// Why a trust list could not be exported or imported, and what the operator can do.
public enum TrustListError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidList(String)
    case tooLarge(size: Int, limit: Int)
    /// Not well-formed, a DTD, no single enveloped signature, or content that is not TS 119 612.
    case malformed(String)
    /// No configured signer matches the list's signature (or its certificate does not chain to one).
    case untrustedSigner(String)
    case signatureInvalid(String)
    case expired(nextUpdate: Date)
    case issuedInTheFuture(issueDate: Date)
    case sequenceWentBack(imported: Int, current: Int)
    case wrongTerritory(expected: String, found: String)
    case signingFailed(String)

    public var code: String {
        switch self {
        case .invalidList: return "trust-list-invalid"
        case .tooLarge: return "trust-list-too-large"
        case .malformed: return "trust-list-malformed"
        case .untrustedSigner: return "trust-list-untrusted-signer"
        case .signatureInvalid: return "trust-list-signature-invalid"
        case .expired: return "trust-list-expired"
        case .issuedInTheFuture: return "trust-list-from-the-future"
        case .sequenceWentBack: return "trust-list-sequence-went-back"
        case .wrongTerritory: return "trust-list-wrong-territory"
        case .signingFailed: return "trust-list-signing-failed"
        }
    }

    public var description: String {
        switch self {
        case let .invalidList(reason): return "cannot export the trust list: \(reason)"
        case let .tooLarge(size, limit): return "the trust list is \(size) bytes, more than the \(limit) accepted"
        case let .malformed(reason): return "not an ETSI TS 119 612 trust list with one enveloped signature: \(reason)"
        case let .untrustedSigner(reason):
            return "the trust list is not signed by a configured signer (\(reason)): configure the other "
                + "jurisdiction's trust list signer or its CA certificate, obtained out of band"
        case let .signatureInvalid(reason): return "the trust list's signature is invalid (\(reason)): it was altered"
        case let .expired(nextUpdate):
            return "the trust list's NextUpdate \(nextUpdate.formatted(.iso8601)) has passed: fetch the current list"
        case let .issuedInTheFuture(issueDate):
            return "the trust list says it was issued at \(issueDate.formatted(.iso8601)), in the future: check clocks"
        case let .sequenceWentBack(imported, current):
            return "trust list sequence number \(imported) is below the imported \(current): an older list (a replay?)"
        case let .wrongTerritory(expected, found):
            return "the trust list is for territory \(found), not \(expected)"
        case let .signingFailed(reason): return "signing the trust list failed: \(reason)"
        }
    }
}
