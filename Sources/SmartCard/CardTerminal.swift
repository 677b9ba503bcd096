/// A card connected in a named reader: a channel that can also be ended and asked whether the card is still there.
public protocol CardConnection: CardChannel {
    /// Ends the connection (resetting the card, so no secure-messaging session outlives it).
    func disconnect()
    /// Whether the card is still in the reader, waiting up to `milliseconds` for a removal to be noticed.
    func presence(within milliseconds: Int) -> CardPresence
}

/// Where cards are connected: PC/SC readers (`PCSCTerminal`), or in-memory virtual cards in tests.
public protocol CardTerminal: Sendable {
    /// Connects to the card in `reader`. Throws `CardError` (`.unknownReader`, `.noCard`, `.noService`, ...).
    func connect(reader: String) throws(CardError) -> any CardConnection
    /// Card connections made and not yet ended (a leak check for tests and metrics).
    var openConnections: Int { get }
}

/// The PC/SC readers pcscd serves.
public struct PCSCTerminal: CardTerminal {
    public init() {}

    public func connect(reader: String) throws(CardError) -> any CardConnection {
        try PCSCContext().connect(reader: reader)
    }

    public var openConnections: Int { PCSCCardChannel.openConnections }
}

extension PCSCCardChannel: CardConnection {}

/// Watches readers and their cards: PC/SC (`ReaderMonitor`) in production, in-memory readers in tests.
public protocol ReaderWatching: Sendable {
    /// The readers present now, with their cards.
    var snapshot: [ReaderSnapshot] { get }
    /// Whether the reader service (pcscd) answers.
    var serviceAvailable: Bool { get }
    /// Starts reporting changes to the handler given at creation.
    func start()
    func stop()
}

extension ReaderMonitor: ReaderWatching {}
