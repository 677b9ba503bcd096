import EnrollAPIModel

/// Why reading a card failed, as the card reading port reports it: the domain's words for what went wrong at the
/// reader or on the chip, each with what the person at the kiosk should do. `EnrollmentError(_:)` is the one place
/// these become catalogued problems (and so HTTP answers).
public enum CardReadFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another read holds the reader.
    case readerBusy(reader: String)
    /// No reader of that name is connected.
    case readerNotFound(reader: String)
    /// The reader failed or went away.
    case readerError(String)
    /// pcscd does not answer.
    case serviceUnavailable(String)
    /// No card is on the reader.
    case noCard(String)
    /// The card left the reader during the read.
    case cardRemoved
    /// The read took longer than the configured limit and was abandoned.
    case readTimeout(seconds: Double)
    /// The chip refused the access key (SW 6300 and kin): wrong MRZ fields or wrong CAN.
    case accessKeyRejected(statusWord: String, withCAN: Bool)
    /// The chip cannot be opened with this kind of key, or the policy forbids the protocol it offers.
    case accessProtocolUnsupported(String)
    /// The key itself is malformed.
    case invalidAccessKey(String)
    /// Secure messaging or an authentication protocol failed: the session was aborted.
    case chipSecurity(String)
    /// The chip answered with unexpected status words or malformed files.
    case chip(String)
    /// The chip's data does not parse.
    case malformedData(String)
    /// A failure of ours.
    case internalError(String)

    public var description: String {
        switch self {
        case let .readerBusy(reader): return "another read is running on '\(reader)': wait for it to finish"
        case let .readerNotFound(reader):
            return "reader '\(reader)' is not connected: check the name with GET /v1/readers"
        case let .readerError(reason), let .serviceUnavailable(reason), let .noCard(reason): return reason
        case .cardRemoved:
            return "card removed during reading: hold the card on the reader until the read completes, then tap again"
        case let .readTimeout(seconds):
            let text = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
            return "the card did not finish the read within \(text) s: hold it flat and still on the reader, then tap "
                + "again"
        case let .accessKeyRejected(sw, withCAN):
            return withCAN
                ? "the chip rejected the access key: check the CAN, the 6 digits printed on the front of the card "
                    + "(SW \(sw))"
                : "the chip rejected the access key: check document number, birth date and expiry (SW \(sw))"
        case let .accessProtocolUnsupported(reason), let .invalidAccessKey(reason): return reason
        case let .chipSecurity(reason):
            return "\(reason); the session was aborted: tap the card again, and if it keeps failing the chip may not "
                + "be genuine"
        case let .chip(reason):
            return "\(reason): take the card off the reader and tap it again; if this keeps happening the chip is "
                + "damaged"
        case let .malformedData(reason): return "the chip's data is malformed: \(reason)"
        case let .internalError(reason): return reason
        }
    }

    /// The catalogued problem of this failure.
    public var problem: ProblemCode {
        switch self {
        case .readerBusy: return .readerBusy
        case .readerNotFound: return .readerNotFound
        case .readerError: return .readerError
        case .serviceUnavailable: return .pcscUnavailable
        case .noCard: return .noCard
        case .cardRemoved: return .cardRemoved
        case .readTimeout: return .cardReadTimeout
        case .accessKeyRejected: return .accessKeyRejected
        case .accessProtocolUnsupported: return .accessProtocolUnsupported
        case .invalidAccessKey: return .invalidAccessKey
        case .chipSecurity: return .chipSecurityError
        case .chip: return .chipError
        case .malformedData: return .malformedChipData
        case .internalError: return .internalError
        }
    }
}

extension EnrollmentError {
    /// A card-read failure as an enrollment refusal (and so as its HTTP problem).
    public init(_ failure: CardReadFailure) {
        self.init(failure.problem, failure.description)
    }
}
