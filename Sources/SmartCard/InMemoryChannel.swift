/// The card side of an APDU exchange: a virtual card's application logic.
public protocol CardApplet: AnyObject {
    /// Handles one command and returns the response. Malformed commands get an error status word.
    func process(_ command: CommandAPDU) -> ResponseAPDU
    /// Called on power-on and reset: drops all session state.
    func reset()
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

    public init(applet: CardApplet, atr: [UInt8] = [0x3B, 0x80, 0x80, 0x01, 0x01], supportsExtendedLength: Bool = true) {
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
        let response = applet.process(parsed)
        if recordsLog { log.append((encoded, response.encoded)) }
        return response
    }
}
