/// The card side of an APDU exchange: a virtual card's application logic.
public protocol CardApplet: AnyObject {
    /// Handles one command and returns the response. Malformed commands get an error status word.
    func process(_ command: CommandAPDU) -> ResponseAPDU
    /// Called on power-on and reset: drops all session state.
    func reset()
    /// What the card does with a command: answers (the default: `process`), or, under fault injection, answers
    /// with raw bytes that need not be a valid response, or leaves the field.
    func answer(_ command: CommandAPDU) -> CardAnswer
    /// Whether the card has left the field with its last answer (fault injection): a transport that carries the
    /// answer then reports the card gone (vpcd: the connection closes).
    var hasLeftField: Bool { get }
}

extension CardApplet {
    public func answer(_ command: CommandAPDU) -> CardAnswer { .response(process(command)) }
    public var hasLeftField: Bool { false }
}

/// A card's reaction to one command, as a transport carries it.
public enum CardAnswer: Sendable, Equatable {
    /// A well-formed response.
    case response(ResponseAPDU)
    /// Raw response bytes, possibly malformed (a truncated response, a lone SW1).
    case bytes([UInt8])
    /// The card left the field before answering: the transport reports the card removed.
    case removed

    /// The bytes a transport sends back, or nil when the card is gone.
    public var encoded: [UInt8]? {
        switch self {
        case let .response(response): return response.encoded
        case let .bytes(bytes): return bytes
        case .removed: return nil
        }
    }
}

/// A `CardChannel` that hands commands straight to an applet in the same process, with no
/// transport. For unit tests and fault injection, beside the real PC/SC path.
public final class InMemoryCardChannel: CardChannel {
    public let applet: CardApplet
    public let atr: [UInt8]
    public let supportsExtendedLength: Bool
    /// Every command sent and response received, for tests that count APDUs and bytes.
    public private(set) var log: [(command: [UInt8], response: [UInt8])] = []
    /// Keep the log (off by default to keep benchmarks lean).
    public var recordsLog = false
    /// When set, consulted before every command: return an error to simulate a transport failure.
    public var fault: ((CommandAPDU) -> CardError?)?

    public init(applet: CardApplet, atr: [UInt8] = [0x3B, 0x80, 0x80, 0x01, 0x01], supportsExtendedLength: Bool = true)
    {
        self.applet = applet
        self.atr = atr
        self.supportsExtendedLength = supportsExtendedLength
        applet.reset()
    }

    public func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        if let fault, let error = fault(command) { throw error }
        let encoded: [UInt8]
        do {
            encoded = try command.encoded()
        } catch {
            throw .protocolViolation(error.description)
        }
        if command.isExtended && !supportsExtendedLength {
            throw .protocolViolation("extended-length APDU on a path that does not support it")
        }
        // Round-trip through the encoding so the applet sees exactly what a card would.
        let parsed: CommandAPDU
        do {
            parsed = try CommandAPDU(bytes: encoded)
        } catch {
            throw .protocolViolation(error.description)
        }
        guard let bytes = applet.answer(parsed).encoded else { throw .cardRemoved }
        if recordsLog { log.append((encoded, bytes)) }
        do {
            return try ResponseAPDU(bytes: bytes)
        } catch {
            throw .protocolViolation(error.description)
        }
    }
}
