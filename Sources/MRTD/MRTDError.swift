import OpenSSLKit
import SmartCard

/// Why reading an eMRTD failed, in words the person at the kiosk can act on.
public enum MRTDError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The document number or dates given for BAC are not valid MRZ data.
    case invalidAccessKey(String)
    /// The chip refused the access key (SW 63xx after EXTERNAL AUTHENTICATE; ICAO 9303-11 §4.3).
    case accessKeyRejected(StatusWord)
    /// The chip's BAC answer did not verify (bad MAC, wrong RND.IFD echo, wrong length): not a genuine answer.
    case authenticationFailed(String)
    /// Secure messaging failed; the session is over and the card must be read again.
    case secureMessaging(SecureMessagingError)
    /// The card left the field during the read; a retry on the next tap can succeed.
    case cardRemoved
    /// Any other transport failure between host and card.
    case transport(CardError)
    /// The card answered a command with an unexpected status word.
    case unexpectedStatus(operation: String, statusWord: StatusWord)
    /// A file's content is shorter than its own length header, or otherwise unusable.
    case malformedFile(FileID, String)
    /// A cryptographic primitive failed inside OpenSSL.
    case crypto(OpenSSLError)

    /// Maps a transport failure, keeping card removal distinct.
    public init(_ error: CardError) {
        self = error == .cardRemoved ? .cardRemoved : .transport(error)
    }

    /// Whether the read can simply be retried with the next tap of the card.
    public var isRetryable: Bool {
        switch self {
        case .cardRemoved, .transport, .secureMessaging: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case let .invalidAccessKey(reason):
            return "the access key is not valid MRZ data: \(reason)"
        case let .accessKeyRejected(sw):
            return "the chip rejected the access key: check document number, birth date and expiry (SW \(sw))"
        case let .authenticationFailed(reason):
            return "chip authentication failed: \(reason)"
        case let .secureMessaging(error):
            return "secure messaging failed, session ended: \(error)"
        case .cardRemoved:
            return CardError.cardRemoved.description
        case let .transport(error):
            return error.description
        case let .unexpectedStatus(operation, sw):
            return "\(operation) failed with SW \(sw) (\(sw.meaning))"
        case let .malformedFile(file, reason):
            return "\(file) is malformed: \(reason)"
        case let .crypto(error):
            return error.description
        }
    }
}

/// Secure messaging failures (ICAO 9303-11 §9.8). Every one of them ends the session.
public enum SecureMessagingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The response's cryptographic checksum DO'8E' did not verify.
    case macMismatch
    /// The response lacked the protected status DO'99'.
    case missingStatus
    /// The response lacked the checksum DO'8E'.
    case missingChecksum
    /// The response's data objects are not well-formed BER-TLV or appear in the wrong order.
    case malformedResponse(String)
    /// Decrypted data did not end in valid ISO 9797-1 method 2 padding.
    case badPadding
    /// The card answered with an SM error (6987/6988) and aborted the session.
    case abortedByCard(StatusWord)
    /// The card answered another status word in plain, without secure messaging (a chip fault or an attack).
    case unprotectedStatus(StatusWord)
    /// The session ended earlier; a new access protocol run is needed.
    case sessionEnded
    /// The command cannot be protected (e.g. data too long).
    case commandNotProtectable(String)
    /// The chip kept answering in plain (or closing its session) past the read's bounds: `plainAnswers` status words
    /// without SM, `reestablished` sessions opened again, the last plain status `last`.
    case recoveryExhausted(plainAnswers: Int, reestablished: Int, last: StatusWord?)

    public var description: String {
        switch self {
        case .macMismatch: return "response MAC (DO'8E') did not verify"
        case .missingStatus: return "response lacks the protected status word DO'99'"
        case .missingChecksum: return "response lacks the checksum DO'8E'"
        case let .malformedResponse(reason): return "malformed protected response: \(reason)"
        case .badPadding: return "decrypted response has invalid padding"
        case let .abortedByCard(sw): return "the card aborted secure messaging (SW \(sw): \(sw.meaning))"
        case let .unprotectedStatus(sw): return "the card answered SW \(sw) (\(sw.meaning)) without secure messaging"
        case .sessionEnded: return "the secure messaging session has already ended"
        case let .commandNotProtectable(reason): return "command cannot be protected: \(reason)"
        case let .recoveryExhausted(plainAnswers, reestablished, last):
            let status = last.map { ", the last SW \($0) (\($0.meaning))" } ?? ""
            return "the chip answered \(plainAnswers) protected commands without secure messaging\(status), and its "
                + "session was opened again \(reestablished) times: the read gives up"
        }
    }
}
