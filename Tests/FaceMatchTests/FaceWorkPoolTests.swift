import Foundation
import Synchronization
import XCTest

@testable import FaceMatch

/// The bounded pool of face work (issue 18): workers with engines of their own, first come first served, a share
/// per caller, a bounded queue and a bounded wait; beyond them a refusal with a delay to retry after.
final class FaceWorkPoolTests: XCTestCase {
    func pool(_ limits: FaceWorkLimits) throws -> FaceWorkPool {
        try FaceWorkPool(engine: try FaceFixtures.engine(), limits: limits)
    }

    /// Runs `body` on another thread and waits until it is waiting in the pool's queue.
    func waiting(in pool: FaceWorkPool, _ body: @escaping @Sendable () -> Void) -> Thread {
        let waiters = pool.load.waiting
        let thread = Thread(block: body)
        thread.start()
        while pool.load.waiting == waiters { Thread.sleep(forTimeInterval: 0.002) }
        return thread
    }

    func testEachWorkerHasItsOwnEngineAndTwoJobsRunAtOnce() throws {
        let pool = try pool(FaceWorkLimits(workers: 2))
        let first = try pool.acquire(caller: 1)
        let second = try pool.acquire(caller: 2)
        XCTAssertFalse(first.worker.engine === second.worker.engine, "no engine (and no lock) is shared")
        XCTAssertEqual(pool.load.running, 2)
        first.release()
        first.release()
        XCTAssertEqual(pool.load.running, 1, "a lease gives its worker back once")
        second.release()
    }

    func testACallerBeyondItsShareIsRefusedAtOnceWhileOthersAreServed() throws {
        let pool = try pool(FaceWorkLimits(workers: 2, perCaller: 2))
        let leases = try (0..<2).map { _ in try pool.acquire(caller: 7) }
        XCTAssertThrowsError(try pool.acquire(caller: 7)) { error in
            XCTAssertEqual(error as? FaceWorkBusy, FaceWorkBusy(reason: .callerShare, retryAfterSeconds: 1))
        }
        leases[0].release()
        let other = try pool.acquire(caller: 8)
        XCTAssertEqual(pool.load.refused[.callerShare], 1)
        other.release()
        leases[1].release()
    }

    func testTheQueueIsBoundedAndServedInOrder() throws {
        let pool = try pool(FaceWorkLimits(workers: 1, queueLength: 2, perCaller: 1, maximumWait: 30))
        let held = try pool.acquire(caller: 1)
        let order = Mutex<[UInt32]>([])
        let threads = [UInt32(2), 3].map { caller in
            waiting(in: pool) {
                guard let lease = try? pool.acquire(caller: caller) else { return }
                order.withLock { $0.append(caller) }
                lease.release()
            }
        }
        XCTAssertThrowsError(try pool.acquire(caller: 4)) { error in
            XCTAssertEqual((error as? FaceWorkBusy)?.reason, .queueFull)
        }
        held.release()
        while order.withLock({ $0.count }) < 2 { Thread.sleep(forTimeInterval: 0.002) }
        XCTAssertEqual(order.withLock { $0 }, [2, 3], "first come, first served")
        XCTAssertTrue(threads.allSatisfy { !$0.isCancelled })
        XCTAssertEqual(pool.load.running, 0)
        XCTAssertEqual(pool.load.waiting, 0)
    }

    func testAJobThatWaitsTooLongIsRefusedWithTheDelayToRetryAfter() throws {
        let pool = try pool(FaceWorkLimits(workers: 1, maximumWait: 0.2))
        let held = try pool.acquire(caller: 1)
        XCTAssertThrowsError(try pool.acquire(caller: 2)) { error in
            XCTAssertEqual((error as? FaceWorkBusy)?.reason, .waitedTooLong)
            XCTAssertEqual((error as? FaceWorkBusy)?.retryAfterSeconds, 1)
        }
        XCTAssertEqual(pool.load.waiting, 0, "the refused job left the queue")
        held.release()
        try pool.acquire(caller: 2).release()
    }

    /// A lease that is dropped without `release()` still gives its worker back.
    func testALeaseGivesItsWorkerBackWhenItEnds() throws {
        let pool = try pool(FaceWorkLimits(workers: 1, maximumWait: 0))
        do {
            _ = try pool.acquire(caller: 1)
        }
        try pool.acquire(caller: 1).release()
    }
}
