import Foundation
import Synchronization

/// How much face work runs and waits at once.
public struct FaceWorkLimits: Sendable, Equatable {
    /// Jobs that run at once, each on its own worker (its own engines: no lock is shared between workers).
    public var workers: Int
    /// Jobs that may wait for a worker, all callers together; one more is refused at once.
    public var queueLength: Int
    /// Jobs one caller may have running or waiting: a caller flooding the engine gets refusals, not everyone's
    /// workers.
    public var perCaller: Int
    /// The longest a job waits for a worker before it is refused.
    public var maximumWait: TimeInterval

    public init(workers: Int = 2, queueLength: Int = 16, perCaller: Int = 2, maximumWait: TimeInterval = 5) {
        self.workers = max(1, workers)
        self.queueLength = max(0, queueLength)
        self.perCaller = max(1, perCaller)
        self.maximumWait = max(0, maximumWait)
    }
}

/// Face work refused because the workers are taken: the caller should retry after `retryAfterSeconds`.
public struct FaceWorkBusy: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, Equatable, CaseIterable {
        /// The caller already has its share of jobs running or waiting.
        case callerShare = "caller-share"
        /// The queue is full.
        case queueFull = "queue-full"
        /// No worker became free within the longest wait.
        case waitedTooLong = "waited-too-long"
    }

    public var reason: Reason
    public var retryAfterSeconds: Int

    public init(reason: Reason, retryAfterSeconds: Int) {
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String {
        switch reason {
        case .callerShare:
            return "this caller already has its share of face comparisons running: wait for their answers, then "
                + "retry in \(retryAfterSeconds) s"
        case .queueFull:
            return "the face engine is busy with other kiosks' comparisons: retry in \(retryAfterSeconds) s"
        case .waitedTooLong:
            return "the face engine stayed busy too long: retry in \(retryAfterSeconds) s"
        }
    }
}

/// One worker: a face engine of its own and, loaded on the first liveness burst, its own presentation-attack
/// models. A lease gives it to one job at a time.
public final class FaceWorker: Sendable {
    public let index: Int
    public let engine: FaceEngine
    private let passiveModelDirectory: String
    private let passive = Mutex<PresentationAttackModel?>(nil)

    init(index: Int, engine: FaceEngine, passiveModelDirectory: String) {
        self.index = index
        self.engine = engine
        self.passiveModelDirectory = passiveModelDirectory
    }

    /// The MiniFASNet models of this worker, loaded on first use.
    /// - Throws: `LivenessError.modelMissing`, `.modelInvalid`, `.engineFailure`.
    public func presentationAttackModel() throws(LivenessError) -> PresentationAttackModel {
        try passive.withLock { (loaded: inout PresentationAttackModel?) throws(LivenessError) in
            if let loaded { return loaded }
            let model = try PresentationAttackModel(modelDirectory: passiveModelDirectory)
            loaded = model
            return model
        }
    }
}

/// A worker held for one job; `release()` (or the lease's end) gives it back to the next job in line.
public final class FaceWorkLease: Sendable {
    public let worker: FaceWorker
    private let pool: FaceWorkPool
    private let caller: UInt32
    private let released = Atomic<Bool>(false)

    init(worker: FaceWorker, pool: FaceWorkPool, caller: UInt32) {
        self.worker = worker
        self.pool = pool
        self.caller = caller
    }

    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        pool.giveBack(worker, caller: caller)
    }

    deinit {
        release()
    }
}

/// The daemon's face work (comparisons, portrait analyses, liveness bursts): a fixed number of workers, each with
/// engines of its own, handed out first come, first served; a caller (a uid) may have only its share of jobs
/// running or waiting, the queue is bounded, and a job waits a bounded time. Beyond that the answer is
/// `FaceWorkBusy` at once, which the API turns into 503 with `Retry-After`.
///
/// Thread safety: the state sits behind an `NSCondition` (waiting for a worker needs a condition variable, which
/// `Mutex` does not offer), and is only touched with it held; hence `@unchecked Sendable`.
public final class FaceWorkPool: @unchecked Sendable {
    public let limits: FaceWorkLimits
    private let condition = NSCondition()
    private var free: [FaceWorker]
    /// Tickets of waiting jobs, oldest first; a freed worker goes to the first.
    private var queue: [UInt64] = []
    private var nextTicket: UInt64 = 0
    private var jobs: [UInt32: Int] = [:]
    private var running = 0
    private var refused: [FaceWorkBusy.Reason: Int] = [:]

    /// Workers over copies of `engine` (the first worker uses `engine` itself); their presentation-attack models
    /// load from `passiveModelDirectory` on first use.
    /// - Throws: `engineFailure` when an engine cannot be copied.
    public init(
        engine: FaceEngine, limits: FaceWorkLimits = FaceWorkLimits(),
        passiveModelDirectory: String? = nil
    ) throws(FaceMatchError) {
        self.limits = limits
        var workers = [
            FaceWorker(
                index: 0, engine: engine,
                passiveModelDirectory: passiveModelDirectory ?? engine.modelDirectory)
        ]
        for index in 1..<limits.workers {
            workers.append(
                FaceWorker(
                    index: index, engine: try engine.copy(),
                    passiveModelDirectory: passiveModelDirectory ?? engine.modelDirectory))
        }
        free = workers.reversed()
    }

    /// Takes a worker for one job of `caller`, waiting in line if all are busy.
    /// - Throws: `FaceWorkBusy` when the caller has its share, the queue is full or the wait is too long.
    public func acquire(caller: UInt32) throws(FaceWorkBusy) -> FaceWorkLease {
        condition.lock()
        defer { condition.unlock() }
        guard jobs[caller, default: 0] < limits.perCaller else { throw refuse(.callerShare) }
        if queue.isEmpty, let worker = free.popLast() {
            return take(worker, caller: caller)
        }
        guard queue.count < limits.queueLength else { throw refuse(.queueFull) }
        let ticket = nextTicket
        nextTicket += 1
        queue.append(ticket)
        jobs[caller, default: 0] += 1
        let deadline = Date().addingTimeInterval(limits.maximumWait)
        while !(queue.first == ticket && !free.isEmpty) {
            guard condition.wait(until: deadline) || (queue.first == ticket && !free.isEmpty) else {
                queue.removeAll { $0 == ticket }
                jobs[caller, default: 1] -= 1
                if jobs[caller] == 0 { jobs[caller] = nil }
                condition.broadcast()
                throw refuse(.waitedTooLong)
            }
        }
        queue.removeFirst()
        jobs[caller, default: 1] -= 1
        let worker = free.removeLast()
        if !queue.isEmpty && !free.isEmpty { condition.broadcast() }
        return take(worker, caller: caller)
    }

    /// Jobs running and waiting now, and refusals by reason since the pool was made.
    public var load: (running: Int, waiting: Int, refused: [FaceWorkBusy.Reason: Int]) {
        condition.withLock { (running, queue.count, refused) }
    }

    private func take(_ worker: FaceWorker, caller: UInt32) -> FaceWorkLease {
        jobs[caller, default: 0] += 1
        running += 1
        return FaceWorkLease(worker: worker, pool: self, caller: caller)
    }

    private func refuse(_ reason: FaceWorkBusy.Reason) -> FaceWorkBusy {
        refused[reason, default: 0] += 1
        let wait = limits.maximumWait.isFinite ? limits.maximumWait : 1
        return FaceWorkBusy(
            reason: reason,
            retryAfterSeconds: reason == .waitedTooLong
                ? max(1, Int(wait.rounded()))
                : 1)
    }

    func giveBack(_ worker: FaceWorker, caller: UInt32) {
        condition.withLock {
            running -= 1
            jobs[caller, default: 1] -= 1
            if jobs[caller] == 0 { jobs[caller] = nil }
            free.append(worker)
            condition.broadcast()
        }
    }
}
