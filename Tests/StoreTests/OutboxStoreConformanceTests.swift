import Foundation
import Store
import XCTest

/// Conformance for the transactional outbox and the one-time codes (schema: SQLite 5, PostgreSQL 6; the verifier registry follows as 6 and 7).
extension StoreConformanceTests {
    private func message(_ n: Int, account: UUID?, at: Date) -> OutboxMessageRecord {
        OutboxMessageRecord(
            accountID: account, kind: "activation-code", transport: n % 2 == 0 ? "email" : "sms",
            sealedPayload: [UInt8(n), 0, 0xFF], nextAttemptAt: at,
            createdAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(n)),
            updatedAt: at)
    }

    func testOutboxMessageRoundTripsAndRollsBackWithItsTransaction() throws {
        let store = try migratedStore()
        let account = makeAccount(1)
        var written = message(0, account: account.id, at: t0)
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.enqueueOutboxMessage(written)
        }
        XCTAssertEqual(try store.transaction { tx in try tx.outboxMessage(id: written.id) }, written)
        // A state change that fails takes its message with it: the message never exists without the change.
        let lost = message(1, account: account.id, at: t0)
        XCTAssertThrowsError(
            try store.transaction { tx in
                try tx.enqueueOutboxMessage(lost)
                throw StoreError.aborted("the state change failed")
            })
        XCTAssertNil(try store.transaction { tx in try tx.outboxMessage(id: lost.id) })
        written.state = .sent
        written.attempts = 1
        written.sentAt = t1
        written.claimedBy = "host-a"
        written.claimedUntil = t1
        written.lastError = "421"
        written.updatedAt = t1
        try store.transaction { tx in try tx.updateOutboxMessage(written) }
        XCTAssertEqual(try store.transaction { tx in try tx.outboxMessage(id: written.id) }, written)
        XCTAssertEqual(try store.transaction { tx in try tx.outboxMessages(state: .sent, limit: 10) }, [written])
        XCTAssertEqual(try store.transaction { tx in try tx.outboxMessages(state: .queued, limit: 10) }, [])
        XCTAssertThrowsError(
            try store.transaction { tx in try tx.updateOutboxMessage(self.message(9, account: nil, at: self.t0)) }
        ) { error in
            guard case .notFound = error as? StoreError else { return XCTFail("\(error)") }
        }
    }

    func testOutboxClaimTakesDueMessagesOnceUntilTheLeaseEnds() throws {
        let store = try migratedStore()
        let due = (0..<3).map { message($0, account: nil, at: t0) }
        var later = message(3, account: nil, at: t0)
        later.nextAttemptAt = t1
        try store.transaction { tx in
            for message in due + [later] { try tx.enqueueOutboxMessage(message) }
        }
        let lease = t0.addingTimeInterval(30)
        let first = try store.transaction { tx in
            try tx.claimOutboxMessages(worker: "a", at: self.t0, leaseUntil: lease, limit: 2)
        }
        XCTAssertEqual(first.map(\.id), due.prefix(2).map(\.id), "oldest first, at most the limit")
        XCTAssertTrue(first.allSatisfy { $0.state == .sending && $0.claimedBy == "a" && $0.claimedUntil == lease })
        let second = try store.transaction { tx in
            try tx.claimOutboxMessages(worker: "b", at: self.t0, leaseUntil: lease, limit: 10)
        }
        XCTAssertEqual(second.map(\.id), [due[2].id], "claimed and not yet due messages are not taken")
        // Worker a crashed: past its lease, b takes its messages again (at least once, never lost).
        let retaken = try store.transaction { tx in
            try tx.claimOutboxMessages(worker: "b", at: lease, leaseUntil: lease.addingTimeInterval(30), limit: 10)
        }
        XCTAssertEqual(Set(retaken.map(\.id)), Set(due.map(\.id)))
        var sent = retaken[0]
        sent.state = .sent
        sent.sentAt = lease
        try store.transaction { tx in try tx.updateOutboxMessage(sent) }
        let afterSent = try store.transaction { tx in
            try tx.claimOutboxMessages(worker: "c", at: self.t1, leaseUntil: self.t1.addingTimeInterval(30), limit: 10)
        }
        XCTAssertFalse(afterSent.contains { $0.id == sent.id }, "a sent message is never claimed again")
        XCTAssertTrue(afterSent.contains { $0.id == later.id }, "a message past its backoff is due")
    }

    func testActivationCodesReplaceByPurposeAndListPendingByExpiry() throws {
        let store = try migratedStore()
        let (one, two) = (makeAccount(1), makeAccount(2))
        var code = ActivationCodeRecord(
            accountID: one.id, purpose: "activation", codeHash: [1, 2, 3], certificateSerial: "0A1B",
            previousTier: .basic, enrollmentID: UUID(), createdAt: t0, expiresAt: t1, updatedAt: t0)
        let other = ActivationCodeRecord(
            accountID: two.id, purpose: "passcode-reset", codeHash: [4], previousTier: .signing, createdAt: t0,
            expiresAt: t0.addingTimeInterval(60), updatedAt: t0)
        try store.transaction { tx in
            try tx.insertAccount(one)
            try tx.insertAccount(two)
            try tx.saveActivationCode(code)
            try tx.saveActivationCode(other)
        }
        XCTAssertEqual(
            try store.transaction { tx in try tx.activationCode(accountID: one.id, purpose: "activation") }, code)
        XCTAssertNil(
            try store.transaction { tx in try tx.activationCode(accountID: one.id, purpose: "passcode-reset") })
        XCTAssertEqual(
            try store.transaction { tx in try tx.pendingActivationCodes(expiringBefore: self.t1, limit: 10) }
                .map(\.accountID), [two.id, one.id])
        code.failedAttempts = 2
        code.state = .used
        code.updatedAt = t1
        try store.transaction { tx in try tx.saveActivationCode(code) }
        XCTAssertEqual(
            try store.transaction { tx in try tx.activationCode(accountID: one.id, purpose: "activation") }, code)
        XCTAssertEqual(
            try store.transaction { tx in try tx.pendingActivationCodes(expiringBefore: self.t1, limit: 10) }
                .map(\.accountID), [two.id], "only pending codes")
        XCTAssertThrowsError(
            try store.transaction { tx in
                try tx.saveActivationCode(
                    ActivationCodeRecord(
                        accountID: UUID(), purpose: "activation", codeHash: [], previousTier: .basic,
                        createdAt: self.t0, expiresAt: self.t1, updatedAt: self.t0))
            }
        ) { error in
            guard case .notFound = error as? StoreError else { return XCTFail("\(error)") }
        }
    }
}
