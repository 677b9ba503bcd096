import EnrollAPIModel
import Foundation
import Synchronization

/// Fans events out: synchronously to observers (metrics: they see every event, in order, as it happens), and to
/// subscribers (event streams), each with a queue bounded in events and in bytes, so a stalled client cannot make
/// the daemon hoard memory (it loses the oldest events and is told so).
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
    /// Most bytes of encoded events (their Server-Sent Events frames) a subscriber may have waiting.
    public let byteLimit: Int

    public init(queueLimit: Int = 1000, byteLimit: Int = 256 * 1024) {
        self.queueLimit = queueLimit
        self.byteLimit = byteLimit
    }

    /// Stamps `event` with an id and time, hands it to every observer, then queues it (encoded once) for every
    /// subscriber.
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
        guard !targets.isEmpty else { return stamped }
        let queued = QueuedEvent(event: stamped, frame: Self.frame(stamped))
        for subscriber in targets { subscriber.enqueue(queued) }
        return stamped
    }

    /// The event as one Server-Sent Events block: `id:`, `event:` and `data:` (JSON on one line).
    public static func frame(_ event: DaemonEvent) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(event)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return Array("id: \(event.id)\nevent: \(event.type.rawValue)\ndata: \(data)\n\n".utf8)
    }

    /// Calls `observer` with every event from now on, on the publishing thread; it must be quick and not publish.
    public func observe(_ observer: @escaping @Sendable (DaemonEvent) -> Void) {
        state.withLock { $0.observers.append(observer) }
    }

    public func subscribe() -> EventSubscription {
        let subscription = EventSubscription(hub: self, limit: queueLimit, byteLimit: byteLimit)
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

/// An event with its encoded frame, shared by every subscriber's queue.
struct QueuedEvent: Sendable {
    var event: DaemonEvent
    var frame: [UInt8]
}

/// One subscriber's queue. `@unchecked Sendable`: every stored var is read and written only with `condition`
/// locked, and it waits on that condition for the next event (a `Mutex` cannot be waited on).
public final class EventSubscription: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [QueuedEvent] = []
    private var head = 0
    private var queuedBytes = 0
    private var isClosed = false
    private var droppedCount = 0
    private weak var hub: EventHub?
    private let limit: Int
    private let byteLimit: Int

    init(hub: EventHub, limit: Int, byteLimit: Int) {
        self.hub = hub
        self.limit = limit
        self.byteLimit = byteLimit
    }

    /// Events dropped because the subscriber fell behind.
    public var dropped: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedCount
    }

    /// Bytes of encoded events waiting.
    public var bytesWaiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return queuedBytes
    }

    func enqueue(_ event: QueuedEvent) {
        condition.lock()
        defer { condition.unlock() }
        guard !isClosed else { return }
        queue.append(event)
        queuedBytes += event.frame.count
        // The oldest go first; the newest event always stays, however large.
        while queue.count - head > 1 && (queue.count - head > limit || queuedBytes > byteLimit) {
            queuedBytes -= queue[head].frame.count
            head += 1
            droppedCount += 1
        }
        if head > 64 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        condition.signal()
    }

    public enum Next {
        case event(DaemonEvent)
        case timeout
        case closed
    }

    /// Waits up to `timeout` seconds for the next event.
    public func next(timeout: TimeInterval) -> Next {
        switch take(timeout: timeout) {
        case let .item(item): return .event(item.event)
        case .timeout: return .timeout
        case .closed: return .closed
        }
    }

    enum Taken {
        case item(QueuedEvent)
        case timeout
        case closed
    }

    /// The next queued event with its frame, waiting up to `timeout` seconds.
    func take(timeout: TimeInterval) -> Taken {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while queue.count == head && !isClosed {
            if !condition.wait(until: deadline) { break }
        }
        if queue.count > head {
            let item = queue[head]
            head += 1
            queuedBytes -= item.frame.count
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            }
            return .item(item)
        }
        return isClosed ? .closed : .timeout
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
