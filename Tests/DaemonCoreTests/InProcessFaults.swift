import Dispatch
import Foundation
import SmartCard
import Store
import Synchronization
import VirtualCard

/// A one-shot gate a test puts in front of a port's next call: the call stops inside the port until the test opens
/// the gate, so a test can act (post a second request, take the card away) while a step is certainly running.
final class Gate: Sendable {
    private let reached = DispatchSemaphore(value: 0)
    private let opened = DispatchSemaphore(value: 0)

    /// Called by the port: signals that the call arrived, then waits for `open()` (at most 10 s, so a failing test
    /// cannot hang the suite).
    func pass() {
        reached.signal()
        _ = opened.wait(timeout: .now() + 10)
    }

    /// Waits until a call is held at the gate; false after `seconds`.
    func waitUntilReached(seconds: TimeInterval = 5) -> Bool {
        reached.wait(timeout: .now() + seconds) == .success
    }

    func open() {
        opened.signal()
    }
}

/// The in-process card terminal with the faults PC/SC shows in the field: connections refused with a PC/SC error
/// (pcscd gone, reader unplugged), and a gate in front of a reader's next command (a read in progress).
final class FaultyTerminal: CardTerminal {
    let base: VirtualTerminal

    private struct State {
        var connectFailures: [String: CardError] = [:]
        var gates: [String: Gate] = [:]
    }

    private let state = Mutex(State())

    init(base: VirtualTerminal) {
        self.base = base
    }

    /// Every connection to `reader` fails with `error` (nil: connections work again).
    func failConnections(to reader: String, with error: CardError?) {
        state.withLock { $0.connectFailures[reader] = error }
    }

    /// The next command sent to the card on `reader` waits at the returned gate.
    func holdNextCommand(on reader: String) -> Gate {
        let gate = Gate()
        state.withLock { $0.gates[reader] = gate }
        return gate
    }

    func connect(reader: String) throws(CardError) -> any CardConnection {
        if let failure = state.withLock({ $0.connectFailures[reader] }) { throw failure }
        let connection = try base.connect(reader: reader)
        return GatedConnection(base: connection) { [self] in
            state.withLock { $0.gates.removeValue(forKey: reader) }
        }
    }

    var openConnections: Int { base.openConnections }
}

/// A connection that stops its first command at the terminal's gate, if one is set. Used by one read at a time,
/// like the connection it wraps (which is not shared between threads either).
final class GatedConnection: CardConnection, @unchecked Sendable {
    private let base: any CardConnection
    private let takeGate: @Sendable () -> Gate?

    init(base: any CardConnection, takeGate: @escaping @Sendable () -> Gate?) {
        self.base = base
        self.takeGate = takeGate
    }

    var atr: [UInt8] { base.atr }
    var supportsExtendedLength: Bool { base.supportsExtendedLength }

    func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        takeGate()?.pass()
        return try base.transmit(command)
    }

    func disconnect() { base.disconnect() }

    func presence(within milliseconds: Int) -> CardPresence { base.presence(within: milliseconds) }
}

/// The store with a switch: while `failing`, every transaction fails as a broken disk would make it fail.
final class FailingStore: Store {
    let base: any Store
    private let failing = Mutex(false)

    init(base: any Store) {
        self.base = base
    }

    func fail(_ on: Bool) {
        failing.withLock { $0 = on }
    }

    func migrate() throws(StoreError) {
        try base.migrate()
    }

    func transaction<T>(_ body: (any StoreTransaction) throws -> T) throws(StoreError) -> T {
        if failing.withLock({ $0 }) { throw .database(code: 10, message: "disk I/O error (injected by the test)") }
        return try base.transaction(body)
    }

    var location: String { base.location }
}
