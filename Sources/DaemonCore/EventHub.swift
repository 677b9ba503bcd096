import EnrollAPIModel
import Foundation
import Synchronization

/// Fans events out: synchronously to observers (metrics: they see every event, in order, as it happens), and to
/// subscribers (event streams), each with a bounded queue so a stalled client cannot make the daemon hoard
/// memory (it loses the oldest events and is told so).
public final class EventHub: Sendable {
    private struct State {
        var nextID = 1
        var subscribers: [ObjectIdentifier: EventSubscription] = [:]
        var observers: [@Sendable (DaemonEvent) -> Void] = []
        var closed = false
    }

    private let state = Mutex(State())
    /// Most events a subscriber may have waiting.
    public let queueLimit: Int

    public init(queueLimit: Int = 1000) {
        self.queueLimit = queueLimit
    }

    /// Stamps `event` with an id and time, hands it to every observer, then queues it for every subscriber.
    @discardableResult
    public func publish(_ event: DaemonEvent) -> DaemonEvent {
        var stamped = event
        stamped.time = ISO8601DateFormatter().string(from: Date())
        let (observers, targets) = state.withLock { state in
            stamped.id = state.nextID
            state.nextID += 1
            return (state.observers, Array(state.subscribers.values))
        }
        for observer in observers { observer(stamped) }
        for subscriber in targets { subscriber.enqueue(stamped) }
        return stamped
    }

    /// Calls `observer` with every event from now on, on the publishing thread; it must be quick and not publish.
    public func observe(_ observer: @escaping @Sendable (DaemonEvent) -> Void) {
        state.withLock { $0.observers.append(observer) }
    }

    public func subscribe() -> EventSubscription {
        let subscription = EventSubscription(hub: self, limit: queueLimit)
        let closed = state.withLock { state in
            if !state.closed { state.subscribers[ObjectIdentifier(subscription)] = subscription }
            return state.closed
        }
        if closed { subscription.close() }
        return subscription
    }

    func remove(_ subscription: EventSubscription) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: ObjectIdentifier(subscription)) }
    }

    /// Ends every subscription (shutdown).
    public func close() {
        let all = state.withLock { state in
            state.closed = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        all.forEach { $0.close() }
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}

/// One subscriber's queue. `@unchecked Sendable`: every stored var is read and written only with `condition`
/// locked, and it waits on that condition for the next event.
public final class EventSubscription: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [DaemonEvent] = []
    private var isClosed = false
    private weak var hub: EventHub?
    private let limit: Int
    /// Events dropped because the subscriber fell behind.
    public private(set) var dropped = 0

    init(hub: EventHub, limit: Int) {
        self.hub = hub
        self.limit = limit
    }

    func enqueue(_ event: DaemonEvent) {
        condition.lock()
        if !isClosed {
            queue.append(event)
            if queue.count > limit {
                queue.removeFirst()
                dropped += 1
            }
            condition.signal()
        }
        condition.unlock()
    }

    public enum Next {
        case event(DaemonEvent)
        case timeout
        case closed
    }

    /// Waits up to `timeout` seconds for the next event.
    public func next(timeout: TimeInterval) -> Next {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while queue.isEmpty && !isClosed {
            if !condition.wait(until: deadline) { return queue.isEmpty ? (isClosed ? .closed : .timeout) : .event(queue.removeFirst()) }
        }
        if !queue.isEmpty { return .event(queue.removeFirst()) }
        return .closed
    }

    public func close() {
        condition.lock()
        isClosed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Unsubscribes from the hub.
    public func cancel() {
        close()
        hub?.remove(self)
    }
}
