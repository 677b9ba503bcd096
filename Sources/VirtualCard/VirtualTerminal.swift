import Foundation
import SmartCard
import Synchronization

/// Readers in memory, each holding at most one virtual card: a `CardTerminal` and `ReaderWatching` for running the
/// daemon in process. A card is an applet made afresh on every connection (power-on), e.g. an `EMRTDApplet` of a
/// profile; inserting and removing one reports `cardInserted` / `cardRemoved` like pcscd would, and a connection
/// to a card that was removed fails its next command with `cardRemoved`.
public final class VirtualTerminal: CardTerminal, ReaderWatching {
    public typealias CardMaker = @Sendable () -> any CardApplet

    private struct Slot {
        var card: CardMaker?
        var atr: [UInt8]
        /// Counts insertions, so a connection notices its card left even when another was inserted since.
        var generation = 0
    }

    private struct State {
        var slots: [String: Slot] = [:]
        var order: [String] = []
        var open = 0
        var started = false
        var onEvent: (@Sendable (ReaderEvent) -> Void)?
    }

    private let state = Mutex(State())

    /// Readers named `readers`, empty.
    public init(readers: [String]) {
        state.withLock { state in
            for name in readers {
                state.slots[name] = Slot(card: nil, atr: [])
                state.order.append(name)
            }
        }
    }

    /// Where `start()` reports changes (the daemon's reader events).
    public func watch(_ onEvent: @escaping @Sendable (ReaderEvent) -> Void) {
        state.withLock { $0.onEvent = onEvent }
    }

    /// Puts a card on `reader`, replacing any card there.
    public func insert(_ card: @escaping CardMaker, atr: [UInt8] = [0x3B, 0x80, 0x80, 0x01, 0x01], in reader: String) {
        let report = state.withLock { state -> (@Sendable (ReaderEvent) -> Void)? in
            var slot = state.slots[reader] ?? Slot(card: nil, atr: [])
            if state.slots[reader] == nil { state.order.append(reader) }
            slot.card = card
            slot.atr = atr
            slot.generation += 1
            state.slots[reader] = slot
            return state.started ? state.onEvent : nil
        }
        report?(.cardInserted(reader: reader, atr: atr))
    }

    /// Takes the card off `reader`.
    public func remove(from reader: String) {
        let report = state.withLock { state -> (@Sendable (ReaderEvent) -> Void)? in
            guard state.slots[reader]?.card != nil else { return nil }
            state.slots[reader]?.card = nil
            state.slots[reader]?.atr = []
            state.slots[reader]?.generation += 1
            return state.started ? state.onEvent : nil
        }
        report?(.cardRemoved(reader: reader))
    }

    // MARK: CardTerminal

    public func connect(reader: String) throws(CardError) -> any CardConnection {
        let found = state.withLock { state -> (CardMaker, [UInt8], Int)?? in
            guard let slot = state.slots[reader] else { return .none }
            guard let card = slot.card else { return .some(nil) }
            state.open += 1
            return (card, slot.atr, slot.generation)
        }
        guard let found else { throw .unknownReader(reader) }
        guard let (card, atr, generation) = found else { throw .noCard }
        return VirtualCardConnection(
            terminal: self, reader: reader, generation: generation,
            channel: InMemoryCardChannel(applet: card(), atr: atr))
    }

    public var openConnections: Int { state.withLock { $0.open } }

    fileprivate func disconnected() {
        state.withLock { $0.open -= 1 }
    }

    fileprivate func presence(of reader: String, generation: Int) -> CardPresence {
        state.withLock { state in
            guard let slot = state.slots[reader] else { return .readerGone }
            return slot.card != nil && slot.generation == generation ? .present : .removed
        }
    }

    // MARK: ReaderWatching

    public var snapshot: [ReaderSnapshot] {
        state.withLock { state in
            state.order.compactMap { name in
                state.slots[name].map { ReaderSnapshot(name: name, cardPresent: $0.card != nil, atr: $0.atr) }
            }
        }
    }

    public var serviceAvailable: Bool { true }

    public func start() {
        let (report, present) = state.withLock { state in
            state.started = true
            return (state.onEvent, state.order.filter { state.slots[$0]?.card != nil })
        }
        guard let report else { return }
        for reader in snapshot.map(\.name) { report(.readerAdded(reader)) }
        for reader in present {
            report(.cardInserted(reader: reader, atr: snapshot.first { $0.name == reader }?.atr ?? []))
        }
    }

    public func stop() {
        state.withLock { $0.started = false }
    }
}

/// A connection to a virtual card in a `VirtualTerminal` reader. Not shared between threads (like a PC/SC card
/// handle, one read uses it at a time).
final class VirtualCardConnection: CardConnection, @unchecked Sendable {
    private let terminal: VirtualTerminal
    private let reader: String
    private let generation: Int
    private let channel: InMemoryCardChannel
    private var connected = true

    init(terminal: VirtualTerminal, reader: String, generation: Int, channel: InMemoryCardChannel) {
        self.terminal = terminal
        self.reader = reader
        self.generation = generation
        self.channel = channel
    }

    deinit {
        disconnect()
    }

    var atr: [UInt8] { channel.atr }
    var supportsExtendedLength: Bool { channel.supportsExtendedLength }

    func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        guard connected, terminal.presence(of: reader, generation: generation) == .present else { throw .cardRemoved }
        return try channel.transmit(command)
    }

    func disconnect() {
        guard connected else { return }
        connected = false
        terminal.disconnected()
    }

    func presence(within milliseconds: Int) -> CardPresence {
        terminal.presence(of: reader, generation: generation)
    }
}
