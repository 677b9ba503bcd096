import Foundation
import Synchronization

/// Group commit: transaction bodies submitted from many threads at once share one transaction, so that N
/// concurrent writers pay for one commit (one WAL fsync on SQLite with synchronous=FULL, one round trip and WAL
/// flush on PostgreSQL) instead of N.
///
/// No thread waits for company: a body submitted while no batch is committing runs at once, in a transaction of
/// its own. Bodies that arrive while a batch commits queue up and become the next batch (up to `maximumBatch`),
/// committed by one of their threads; every submitter returns when its own body's transaction committed, with
/// its own result. A body that throws fails alone: its batch is rolled back and the others run again, in a
/// transaction without it. Bodies must therefore only write through the transaction they are given (they may run
/// more than once, and only their last run counts), as every store body already must.
public final class GroupCommit: Sendable {
    public let store: any Store
    /// Most bodies in one transaction.
    public let maximumBatch: Int
    /// Called inside each batch's transaction after all its bodies ran, before the commit, with the batch size
    /// (crash-test points; metrics).
    private let beforeCommit: @Sendable (Int) -> Void
    /// Test benches only: a batch waits (at most `gatherTimeout`) until this many bodies queued.
    private let gatherMinimum: Int
    private let gatherTimeout: TimeInterval
    /// Told when a gathering batch gave up waiting, with how many bodies it holds (test benches' logs).
    private let gatherTimedOut: @Sendable (Int) -> Void

    private struct State {
        var queue: [Member] = []
        var committing = false
        var batches = 0
        var bodies = 0
    }

    private let state = Mutex(State())
    private let changed = NSCondition()

    /// One submitted body and, once its batch committed (or it failed), its outcome.
    ///
    /// `@unchecked Sendable`: the body and its captures are only ever run by one thread at a time — the batch's
    /// committer — while the submitting thread waits for `outcome`; `outcome` is written before the committer
    /// broadcasts under `changed`'s lock and read after the submitter woke under it.
    private final class Member: @unchecked Sendable {
        let run: (any StoreTransaction) throws -> Any
        var outcome: Result<Any, any Error>?

        init(_ run: @escaping (any StoreTransaction) throws -> Any) {
            self.run = run
        }
    }

    /// Counters since start.
    public struct Statistics: Sendable, Equatable {
        /// Transactions committed for batches (retries after a failed body included).
        public var batches: Int
        /// Bodies committed.
        public var bodies: Int
    }

    public var statistics: Statistics {
        state.withLock { Statistics(batches: $0.batches, bodies: $0.bodies) }
    }

    /// - Parameters:
    ///   - maximumBatch: most bodies per transaction (1 turns group commit off).
    ///   - beforeCommit: runs in every batch's transaction before its commit, with the number of bodies in it.
    ///   - gatherMinimum: test benches only (crash tests of a batch): a batch waits until this many bodies are
    ///     queued, or `gatherTimeout` passed since the first of them was submitted; then `gatherTimedOut` is told
    ///     how many it holds, and it commits with those.
    public init(
        store: any Store, maximumBatch: Int = 64, beforeCommit: @escaping @Sendable (Int) -> Void = { _ in },
        gatherMinimum: Int = 1, gatherTimeout: TimeInterval = 10,
        gatherTimedOut: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.store = store
        self.maximumBatch = max(1, maximumBatch)
        self.beforeCommit = beforeCommit
        self.gatherMinimum = max(1, min(gatherMinimum, self.maximumBatch))
        self.gatherTimeout = gatherTimeout
        self.gatherTimedOut = gatherTimedOut
    }

    /// Runs `body` in a transaction shared with the bodies submitted at the same time, and returns its result once
    /// that transaction committed.
    /// - Throws: what `body` threw (as it threw it: a domain error stays one), or the store's error for a
    ///   transaction that could not commit.
    public func transaction<T>(_ body: @escaping (any StoreTransaction) throws -> T) throws -> T {
        let member = Member { tx in try body(tx) }
        let gatherUntil = Date() + gatherTimeout
        state.withLock { $0.queue.append(member) }
        while true {
            changed.lock()
            if let outcome = member.outcome {
                changed.unlock()
                guard let value = try outcome.get() as? T else {
                    throw StoreError.aborted("group commit returned a value of another type")
                }
                return value
            }
            let batch = state.withLock { state -> [Member]? in
                guard !state.committing, !state.queue.isEmpty else { return nil }
                if state.queue.count < gatherMinimum, Date() < gatherUntil { return nil }
                state.committing = true
                let batch = Array(state.queue.prefix(maximumBatch))
                state.queue.removeFirst(batch.count)
                return batch
            }
            if let batch, batch.count < gatherMinimum { gatherTimedOut(batch.count) }
            guard let batch else {
                _ = changed.wait(until: Date() + (gatherMinimum > 1 ? 0.01 : 0.5))
                changed.unlock()
                continue
            }
            changed.unlock()
            commit(batch)
            changed.lock()
            state.withLock { $0.committing = false }
            changed.broadcast()
            changed.unlock()
        }
    }

    /// Commits `batch`; each member gets its outcome. A body that throws is left out and the rest run again.
    private func commit(_ batch: [Member]) {
        var pending = batch
        while !pending.isEmpty {
            var failed: (index: Int, error: any Error)?
            var results: [Any] = []
            do {
                try store.transaction { tx in
                    results = []
                    failed = nil
                    for (index, member) in pending.enumerated() {
                        do {
                            results.append(try member.run(tx))
                        } catch {
                            failed = (index, error)
                            throw error
                        }
                    }
                    beforeCommit(pending.count)
                }
            } catch {
                if let failed {
                    // The body's own error; the others did nothing wrong.
                    settle(pending[failed.index], .failure(failed.error))
                    pending.remove(at: failed.index)
                    continue
                }
                // The commit itself failed (the store retried what it could): every member fails with it.
                for member in pending { settle(member, .failure(error)) }
                return
            }
            state.withLock { state in
                state.batches += 1
                state.bodies += pending.count
            }
            for (member, result) in zip(pending, results) { settle(member, .success(result)) }
            return
        }
    }

    private func settle(_ member: Member, _ outcome: Result<Any, any Error>) {
        changed.lock()
        member.outcome = outcome
        changed.broadcast()
        changed.unlock()
    }
}
