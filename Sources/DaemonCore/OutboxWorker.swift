import Enrollment
import Foundation
import Store
import Synchronization

/// Delivers the transactional outbox: claim → send → mark, so a message written with its state change is sent once.
///
/// A claim takes due messages for this worker until a lease ends (`claimOutboxMessages`: on PostgreSQL the rows are
/// locked and other daemons skip them). Sent: marked `sent` in one transaction, only while this worker still holds
/// the claim. A crash after the claim leaves the message `sending` until its lease ends; then any worker takes it
/// again (a crash between the relay's acceptance and the mark sends it a second time: the Message-ID is the outbox
/// id, so a receiver can tell). A failed attempt is retried after `retryBase` × 2^(attempt − 1) (at most an hour)
/// until `maxAttempts`; then, or at once for a refusal (SMTP 5xx, HTTP 4xx), the message is `failed`: kept, listed
/// by `enrollctl outbox list`, sent again by `enrollctl outbox retry`.
final class OutboxWorker: Sendable {
    struct Settings: Sendable {
        var maxAttempts = 8
        var retryBase: TimeInterval = 30
        /// Longer than one delivery can take (a transport's whole exchange is bounded by twice its 30 s timeout).
        var lease: TimeInterval = 120
        var pollInterval: TimeInterval = 1
        /// Messages per claim: one, so that every claimed message is delivered within its lease however slow the
        /// relay (a batch would wait behind its first messages).
        var batch = 1
    }

    private let store: any Store
    private let transports: [ContactKind: any MessageTransport]
    private let templates: MessageTemplates
    private let protector: any PersonalDataProtecting
    private let metrics: Metrics
    private let settings: Settings
    private let now: @Sendable () -> Date
    /// Test benches only: where to freeze the process for a crash test.
    private let crashPoints: CrashPoints
    /// This worker's name in claims: host and process, unique per daemon run.
    let name: String
    private let running = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)

    init(
        store: any Store, transports: [ContactKind: any MessageTransport], templates: MessageTemplates,
        protector: any PersonalDataProtecting, metrics: Metrics, settings: Settings,
        now: @escaping @Sendable () -> Date, crashPoints: CrashPoints = .disabled
    ) {
        self.crashPoints = crashPoints
        self.store = store
        self.transports = transports
        self.templates = templates
        self.protector = protector
        self.metrics = metrics
        self.settings = settings
        self.now = now
        name = "\(Self.hostPrefix)\(getpid()):\(UUID().uuidString.prefix(8))"
    }

    /// What every claim of this host's workers starts with.
    static var hostPrefix: String { IdentityLifecycle.hostName() + ":" }

    /// At start: messages an earlier run of a daemon on this host claimed and never marked (it was killed: its pid
    /// is gone) are queued again at once instead of after their lease. Claims of a live process on this host and of
    /// other hosts are left to their leases (their daemons may be delivering). Returns how many were released.
    @discardableResult
    func releaseClaimsOfEarlierRuns() -> Int {
        let at = now()
        let (prefix, name) = (Self.hostPrefix, self.name)
        do {
            return try store.transaction { tx -> Int in
                var released = 0
                for var message in try tx.outboxMessages(state: .sending, limit: 10_000)
                where message.claimedBy.map({ $0.hasPrefix(prefix) && $0 != name && Self.isDead($0) }) == true {
                    message.state = .queued
                    message.claimedBy = nil
                    message.claimedUntil = nil
                    message.nextAttemptAt = at
                    message.updatedAt = at
                    try tx.updateOutboxMessage(message)
                    released += 1
                }
                return released
            }
        } catch {
            Log.warning("outbox: the claims of an earlier run were not released (their leases will end): \(error)")
            return 0
        }
    }

    func start() {
        let first = running.withLock { running -> Bool in
            defer { running = true }
            return !running
        }
        guard first else { return }
        let released = releaseClaimsOfEarlierRuns()
        if released > 0 { Log.notice("outbox: \(released) message(s) an earlier run had claimed queued again") }
        let thread = Thread { [self] in
            while running.withLock({ $0 }) {
                let delivered = runOnce()
                if delivered == 0 { Thread.sleep(forTimeInterval: settings.pollInterval) }
            }
            finished.signal()
        }
        thread.name = "enrolld.outbox"
        thread.start()
    }

    /// Stops after the message in hand (its claim ends with it or with its lease).
    func stop() {
        let wasRunning = running.withLock { running -> Bool in
            defer { running = false }
            return running
        }
        if wasRunning { _ = finished.wait(timeout: .now() + settings.lease) }
    }

    /// Whether the process a claim names (`host:pid:…`) no longer runs.
    private static func isDead(_ claim: String) -> Bool {
        let parts = claim.split(separator: ":")
        guard parts.count >= 3, let pid = pid_t(parts[parts.count - 2]), pid > 0 else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// One claim and its deliveries; returns how many messages it handled.
    @discardableResult
    func runOnce() -> Int {
        let at = now()
        let claimed: [OutboxMessageRecord]
        do {
            claimed = try store.transaction { tx in
                try tx.claimOutboxMessages(
                    worker: name, at: at, leaseUntil: at.addingTimeInterval(settings.lease), limit: settings.batch)
            }
        } catch {
            Log.warning("outbox: cannot claim messages: \(error)")
            return 0
        }
        // "queued" counts each message once, when a worker first takes it (the domain writes it in its transaction).
        for message in claimed where message.attempts == 0 && message.lastError == nil {
            metrics.recordOutbox("queued")
        }
        if !claimed.isEmpty { crashPoints.reach(.outboxClaimed) }
        for message in claimed { deliver(message) }
        return claimed.count
    }

    private func deliver(_ message: OutboxMessageRecord) {
        let outcome: Result<Void, DeliveryError>
        do throws(DeliveryError) {
            guard let kind = ContactKind(rawValue: message.transport), let transport = transports[kind] else {
                throw DeliveryError(reason: "no \(message.transport) transport is configured", permanent: false)
            }
            let content: ContactMessage
            do {
                content = try ContactMessage.open(message, protector: protector)
            } catch {
                throw DeliveryError(reason: "the sealed message is not readable: \(error.code)", permanent: true)
            }
            try transport.deliver(try templates.render(content, id: message.id, at: now()))
            crashPoints.reach(.outboxDeliveredUnmarked)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        let at = now()
        let settings = self.settings
        let name = self.name
        let step: String?
        do {
            step = try store.transaction { tx -> String? in
                // Only while the claim is ours: past the lease another worker may hold it.
                guard var current = try tx.outboxMessage(id: message.id), current.state == .sending,
                    current.claimedBy == name
                else { return nil }
                current.attempts += 1
                current.claimedBy = nil
                current.claimedUntil = nil
                current.updatedAt = at
                switch outcome {
                case .success:
                    current.state = .sent
                    current.sentAt = at
                    current.lastError = nil
                    // Delivered: the recipient and the code are not kept beyond need (a sent message is never sent
                    // again; only its delivery record stays).
                    current.sealedPayload = []
                case let .failure(error):
                    current.lastError = String(error.reason.prefix(200))
                    if error.permanent || current.attempts >= settings.maxAttempts {
                        current.state = .failed
                    } else {
                        current.state = .queued
                        let delay = min(3600, settings.retryBase * pow(2, Double(current.attempts - 1)))
                        current.nextAttemptAt = at.addingTimeInterval(delay)
                    }
                }
                try tx.updateOutboxMessage(current)
                switch current.state {
                case .sent: return "sent"
                case .failed: return "failed"
                default: return "retried"
                }
            }
        } catch {
            Log.warning("outbox: message \(message.id.uuidString) not marked (its lease will end): \(error)")
            return
        }
        guard let step else {
            Log.warning("outbox: message \(message.id.uuidString) was taken by another worker after its lease ended")
            return
        }
        metrics.recordOutbox(step)
        switch outcome {
        case .success:
            Log.info("outbox: \(message.kind) \(message.id.uuidString) sent by \(message.transport)")
        case let .failure(error):
            Log.warning("outbox: \(message.kind) \(message.id.uuidString) \(step) (\(message.transport)): \(error)")
        }
    }
}
