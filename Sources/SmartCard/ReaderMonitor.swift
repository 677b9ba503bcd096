import Foundation
import Synchronization

/// Something that happened to a reader or its card.
public enum ReaderEvent: Sendable, Equatable {
    case readerAdded(String)
    case readerRemoved(String)
    case cardInserted(reader: String, atr: [UInt8])
    case cardRemoved(reader: String)
    /// pcscd went away; the monitor keeps trying to reconnect.
    case serviceLost
    /// pcscd is reachable (again).
    case serviceAvailable
}

/// A reader as the monitor last saw it.
public struct ReaderSnapshot: Sendable, Equatable {
    public var name: String
    public var cardPresent: Bool
    public var atr: [UInt8]

    public init(name: String, cardPresent: Bool, atr: [UInt8]) {
        self.name = name
        self.cardPresent = cardPresent
        self.atr = atr
    }
}

/// Watches pcscd for readers coming and going and cards arriving and leaving, on its own thread.
///
/// Survives pcscd restarts: when the service disappears it reports the readers as removed,
/// then re-establishes a context until pcscd answers again.
public final class ReaderMonitor: Sendable {
    private struct State {
        var readers: [String: ReaderSnapshot] = [:]
        var serviceUp = false
        var stopping = false
        var context: PCSCContext?
    }

    private let state = Mutex(State())
    private let onEvent: @Sendable (ReaderEvent) -> Void
    private let retryInterval: TimeInterval

    /// - Parameters:
    ///   - retryInterval: how long to wait between attempts to reach pcscd.
    ///   - onEvent: called on the monitor thread for every change, in order.
    public init(retryInterval: TimeInterval = 1.0, onEvent: @escaping @Sendable (ReaderEvent) -> Void) {
        self.retryInterval = retryInterval
        self.onEvent = onEvent
    }

    /// The readers known now, sorted by name.
    public var snapshot: [ReaderSnapshot] {
        state.withLock { $0.readers.values.sorted { $0.name < $1.name } }
    }

    /// Whether pcscd answered the last time the monitor asked.
    public var serviceAvailable: Bool { state.withLock { $0.serviceUp } }

    public func start() {
        let thread = Thread { [weak self] in self?.run() }
        thread.name = "enrolld.reader-monitor"
        thread.start()
    }

    /// Stops the monitor thread; returns once the current wait has been cancelled.
    public func stop() {
        let context = state.withLock { state -> PCSCContext? in
            state.stopping = true
            return state.context
        }
        context?.cancel()
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func run() {
        while !isStopping {
            do {
                let context = try PCSCContext()
                state.withLock { $0.context = context }
                setService(up: true)
                try watch(context)
            } catch CardError.noService {
                // Handled below: the service is gone or not there yet.
            } catch CardError.cancelled {
                continue
            } catch {
                // Any other failure: drop the context and start over after a pause.
            }
            state.withLock { $0.context = nil }
            if isStopping { break }
            setService(up: false)
            Thread.sleep(forTimeInterval: retryInterval)
        }
    }

    private func setService(up: Bool) {
        let changed = state.withLock { state -> Bool in
            defer { state.serviceUp = up }
            return state.serviceUp != up
        }
        guard changed else { return }
        if up {
            onEvent(.serviceAvailable)
        } else {
            for reader in snapshot {
                removeReader(reader.name)
            }
            onEvent(.serviceLost)
        }
    }

    private func watch(_ context: PCSCContext) throws(CardError) {
        var pnp = ReaderState(name: pnpNotificationReader)
        var states: [ReaderState] = []
        try syncReaders(context, states: &states)
        while !isStopping {
            var all = states + [pnp]
            do {
                try context.waitForChange(&all, timeout: 2_000)
            } catch .timeout {
                // pcsc-lite does not always report a dead service promptly: probe it. pcsc-lite 1.9 reports readers
                // coming and going on the PnP reader only while a call waits, so one added between two calls (pcscd
                // starting up its readers after a restart) is found by comparing the list.
                guard context.isValid else { throw .noService }
                try syncReaders(context, states: &states)
                continue
            }
            pnp = all[all.count - 1]
            states = Array(all.dropLast())
            if pnp.changed {
                pnp.acknowledge()
                try syncReaders(context, states: &states)
            }
            for i in states.indices where states[i].changed {
                apply(states[i])
                states[i].acknowledge()
            }
        }
    }

    /// Brings the reader list in line with pcscd's, emitting added/removed events.
    private func syncReaders(_ context: PCSCContext, states: inout [ReaderState]) throws(CardError) {
        let names = try context.listReaders()
        let known = Set(states.map(\.name))
        for name in known.subtracting(names).sorted() {
            states.removeAll { $0.name == name }
            removeReader(name)
        }
        var added: [ReaderState] = names.filter { !known.contains($0) }.map { ReaderState(name: $0) }
        guard !added.isEmpty else { return }
        // Learn the current state of the new readers without blocking.
        do {
            try context.waitForChange(&added, timeout: 0)
        } catch .timeout {
            // Nothing to report beyond what we have.
        }
        for var state in added {
            let name = state.name
            self.state.withLock { $0.readers[name] = ReaderSnapshot(name: name, cardPresent: false, atr: []) }
            onEvent(.readerAdded(state.name))
            apply(state)
            state.acknowledge()
            states.append(state)
        }
    }

    /// Records the reader's state as pcscd reported it (`state.eventState`, against the state acknowledged last,
    /// `state.currentState`) and reports the card arriving or leaving. A mute card is no card to read, nor is an
    /// insertion pcscd's event thread did not count (`ReaderState.insertionUncounted`): it is reported once the event
    /// thread counts a card.
    private func apply(_ state: ReaderState) {
        let present = state.cardPresent && !state.mute && !state.insertionUncounted
        let snapshot = ReaderSnapshot(name: state.name, cardPresent: present, atr: present ? state.atr : [])
        let previous = self.state.withLock { monitored -> ReaderSnapshot? in
            defer { monitored.readers[snapshot.name] = snapshot }
            return monitored.readers[snapshot.name]
        }
        let wasPresent = previous?.cardPresent ?? false
        if present && (!wasPresent || previous?.atr != state.atr) {
            onEvent(.cardInserted(reader: state.name, atr: state.atr))
        } else if !present && wasPresent {
            onEvent(.cardRemoved(reader: state.name))
        }
    }

    private func removeReader(_ name: String) {
        let previous = state.withLock { $0.readers.removeValue(forKey: name) }
        guard let previous else { return }
        if previous.cardPresent { onEvent(.cardRemoved(reader: name)) }
        onEvent(.readerRemoved(name))
    }
}
