import Foundation

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
public final class ReaderMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var readers: [String: ReaderSnapshot] = [:]
    private var serviceUp = false
    private var stopping = false
    private var context: PCSCContext?
    private let onEvent: @Sendable (ReaderEvent) -> Void
    private let retryInterval: TimeInterval
    private var thread: Thread?

    /// - Parameters:
    ///   - retryInterval: how long to wait between attempts to reach pcscd.
    ///   - onEvent: called on the monitor thread for every change, in order.
    public init(retryInterval: TimeInterval = 1.0, onEvent: @escaping @Sendable (ReaderEvent) -> Void) {
        self.retryInterval = retryInterval
        self.onEvent = onEvent
    }

    /// The readers known now, sorted by name.
    public var snapshot: [ReaderSnapshot] {
        lock.withLock { readers.values.sorted { $0.name < $1.name } }
    }

    /// Whether pcscd answered the last time the monitor asked.
    public var serviceAvailable: Bool { lock.withLock { serviceUp } }

    public func start() {
        let thread = Thread { [weak self] in self?.run() }
        thread.name = "enrolld.reader-monitor"
        self.thread = thread
        thread.start()
    }

    /// Stops the monitor thread; returns once the current wait has been cancelled.
    public func stop() {
        let context = lock.withLock { () -> PCSCContext? in
            stopping = true
            return self.context
        }
        context?.cancel()
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func run() {
        while !isStopping {
            do {
                let context = try PCSCContext()
                lock.withLock { self.context = context }
                setService(up: true)
                try watch(context)
            } catch CardError.noService {
                // Handled below: the service is gone or not there yet.
            } catch CardError.cancelled {
                continue
            } catch {
                // Any other failure: drop the context and start over after a pause.
            }
            lock.withLock { self.context = nil }
            if isStopping { break }
            setService(up: false)
            Thread.sleep(forTimeInterval: retryInterval)
        }
    }

    private func setService(up: Bool) {
        let changed = lock.withLock { () -> Bool in
            defer { serviceUp = up }
            return serviceUp != up
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
                // pcsc-lite does not always report a dead service promptly: probe it.
                guard context.isValid else { throw .noService }
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
            lock.withLock { readers[state.name] = ReaderSnapshot(name: state.name, cardPresent: false, atr: []) }
            onEvent(.readerAdded(state.name))
            apply(state)
            state.acknowledge()
            states.append(state)
        }
    }

    private func apply(_ state: ReaderState) {
        let present = state.cardPresent && !state.mute
        let previous = lock.withLock { () -> ReaderSnapshot? in
            let old = readers[state.name]
            readers[state.name] = ReaderSnapshot(name: state.name, cardPresent: present, atr: present ? state.atr : [])
            return old
        }
        let wasPresent = previous?.cardPresent ?? false
        if present && (!wasPresent || previous?.atr != state.atr) {
            onEvent(.cardInserted(reader: state.name, atr: state.atr))
        } else if !present && wasPresent {
            onEvent(.cardRemoved(reader: state.name))
        }
    }

    private func removeReader(_ name: String) {
        let previous = lock.withLock { readers.removeValue(forKey: name) }
        guard let previous else { return }
        if previous.cardPresent { onEvent(.cardRemoved(reader: name)) }
        onEvent(.readerRemoved(name))
    }
}
