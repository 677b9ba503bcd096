import Foundation

/// An event the daemon publishes on `/v1/events`.
public struct DaemonEvent: Codable, Sendable, Equatable {
    /// Increasing per daemon run; SSE `id`.
    public var id: Int
    /// SSE event name: `reader-added`, `reader-removed`, `card-inserted`, `card-removed`,
    /// `pcsc-unavailable`, `pcsc-available`, and later enrollment progress.
    public var type: String
    /// ISO 8601 UTC time.
    public var time: String
    public var reader: String?
    public var atr: String?
    public var detail: String?
    /// For failures: what went wrong and what to do, in words a kiosk can show (no personal data).
    public var message: String?

    public init(id: Int = 0, type: String, time: String = "", reader: String? = nil, atr: String? = nil,
                detail: String? = nil, message: String? = nil) {
        self.id = id
        self.type = type
        self.time = time
        self.reader = reader
        self.atr = atr
        self.detail = detail
        self.message = message
    }
}

/// Fans events out to every subscriber; each subscriber has a bounded queue so a stalled client
/// cannot make the daemon hoard memory (it loses the oldest events and is told so).
public final class EventHub: @unchecked Sendable {
    private let lock = NSLock()
    private var nextID = 1
    private var subscribers: [ObjectIdentifier: EventSubscription] = [:]
    private var closed = false
    /// Most events a subscriber may have waiting.
    public let queueLimit: Int

    public init(queueLimit: Int = 1000) {
        self.queueLimit = queueLimit
    }

    /// Stamps `event` with an id and time and delivers it to every subscriber.
    @discardableResult
    public func publish(_ event: DaemonEvent) -> DaemonEvent {
        var stamped = event
        let targets = lock.withLock { () -> [EventSubscription] in
            stamped.id = nextID
            nextID += 1
            return Array(subscribers.values)
        }
        stamped.time = ISO8601DateFormatter().string(from: Date())
        for subscriber in targets { subscriber.enqueue(stamped) }
        return stamped
    }

    public func subscribe() -> EventSubscription {
        let subscription = EventSubscription(hub: self, limit: queueLimit)
        lock.withLock {
            if closed { subscription.close() } else { subscribers[ObjectIdentifier(subscription)] = subscription }
        }
        return subscription
    }

    func remove(_ subscription: EventSubscription) {
        _ = lock.withLock { subscribers.removeValue(forKey: ObjectIdentifier(subscription)) }
    }

    /// Ends every subscription (shutdown).
    public func close() {
        let all = lock.withLock { () -> [EventSubscription] in
            closed = true
            defer { subscribers.removeAll() }
            return Array(subscribers.values)
        }
        all.forEach { $0.close() }
    }

    public var subscriberCount: Int { lock.withLock { subscribers.count } }
}

/// One subscriber's queue.
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
