import Dispatch

/// A logical channel to a card: something that carries command APDUs and returns responses.
///
/// `MRTD` talks to cards only through this protocol; the PC/SC reader, the in-memory virtual card
/// and fault-injecting wrappers all conform.
public protocol CardChannel: AnyObject {
    /// Sends one command APDU and returns the card's response. Transport-level failures
    /// (card removed, reader gone) throw `CardError`; status words are returned, not thrown.
    func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU

    /// The largest command and response lengths this path (reader + card) supports, if known.
    var supportsExtendedLength: Bool { get }

    /// The card's answer to reset.
    var atr: [UInt8] { get }
}

extension CardChannel {
    /// Sends `command` and, while the card answers 61xx, collects the rest with GET RESPONSE;
    /// on 6Cxx it resends once with the exact Le the card asked for.
    public func transmitCollecting(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        var response = try transmit(command)
        if let exact = response.statusWord.correctLength, command.le != nil {
            var retry = command
            retry.le = exact
            response = try transmit(retry)
        }
        var data = response.data
        var rounds = 0
        while response.statusWord.hasMoreData {
            rounds += 1
            guard rounds <= 256 else { throw .protocolViolation("card kept answering 61xx after 256 GET RESPONSE") }
            let le = response.statusWord.sw2 == 0 ? 256 : Int(response.statusWord.sw2)
            response = try transmit(CommandAPDU(cla: command.cla & 0x03, ins: 0xC0, p1: 0, p2: 0, le: le))
            data += response.data
        }
        return ResponseAPDU(data: data, statusWord: response.statusWord)
    }
}

/// Transport-level failures between the host and a card, mapped from PC/SC return codes.
public enum CardError: Error, Equatable, CustomStringConvertible {
    /// pcscd is not running or its socket is gone (SCARD_E_NO_SERVICE).
    case noService
    /// No reader is attached (SCARD_E_NO_READERS_AVAILABLE).
    case noReaders
    /// The named reader is not known to pcscd.
    case unknownReader(String)
    /// No card is in the reader (SCARD_E_NO_SMARTCARD).
    case noCard
    /// The card was removed while in use (SCARD_W_REMOVED_CARD).
    case cardRemoved
    /// The card was reset by another application (SCARD_W_RESET_CARD).
    case cardReset
    /// The reader is unavailable or was unplugged (SCARD_E_READER_UNAVAILABLE).
    case readerUnavailable
    /// The wait for a change timed out (SCARD_E_TIMEOUT).
    case timeout
    /// Another application holds the card exclusively (SCARD_E_SHARING_VIOLATION).
    case sharingViolation
    /// The card does not respond (SCARD_W_UNRESPONSIVE_CARD, SCARD_E_PROTO_MISMATCH, ...).
    case unresponsiveCard
    /// The operation was cancelled (SCARD_E_CANCELLED).
    case cancelled
    /// The card or reader answered in a way the protocol forbids.
    case protocolViolation(String)
    /// Any other PC/SC error, with its code and pcsc-lite's text.
    case pcsc(code: UInt32, message: String)

    public var description: String {
        switch self {
        case .noService: return "the PC/SC service (pcscd) is not running: start pcscd, then tap the card again"
        case .noReaders: return "no card reader is connected: plug in a reader"
        case let .unknownReader(name):
            return "reader '\(name)' is not connected: check the reader name with 'enrollctl readers'"
        case .noCard: return "no card on the reader: place the card on the reader"
        case .cardRemoved:
            return "card removed during reading: hold the card on the reader until the read completes, then tap again"
        case .cardReset: return "the card was reset by another application: try again"
        case .readerUnavailable: return "the reader became unavailable: check its cable, then tap the card again"
        case .timeout: return "timed out waiting for the reader"
        case .sharingViolation: return "another application is using the card: close it and try again"
        case .unresponsiveCard: return "the card does not respond: place it flat on the reader"
        case .cancelled: return "the operation was cancelled"
        case let .protocolViolation(text): return "card protocol violation: \(text)"
        case let .pcsc(code, message): return "PC/SC error 0x\(String(code, radix: 16, uppercase: true)): \(message)"
        }
    }
}

/// A `CardChannel` wrapper that refuses to send once a deadline has passed: a read over a slow card (or one
/// that keeps the reader busy) ends with `CardError.timeout` at its next command instead of running on.
public final class DeadlineCardChannel: CardChannel {
    public let base: CardChannel
    public let seconds: Double
    private let deadline: UInt64
    /// Set once a command was refused because the deadline had passed.
    public private(set) var expired = false

    public init(base: CardChannel, seconds: Double) {
        self.base = base
        self.seconds = seconds
        deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9)
    }

    public var supportsExtendedLength: Bool { base.supportsExtendedLength }
    public var atr: [UInt8] { base.atr }

    public func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        guard DispatchTime.now().uptimeNanoseconds < deadline else {
            expired = true
            throw .timeout
        }
        return try base.transmit(command)
    }
}
