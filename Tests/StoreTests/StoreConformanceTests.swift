import Foundation
import Store
import XCTest

/// The behaviour every `Store` implementation must have, written against the protocol only.
///
/// An implementation's test class subclasses this and overrides `makeStore()` (a fresh, empty, migrated or
/// unmigrated store) and `reopen(_:)` (close the store and open the same database again). The base class itself
/// skips every test.
class StoreConformanceTests: XCTestCase {
    /// A new store on an empty database. Overridden by each implementation's subclass.
    func makeStore() throws -> any Store {
        throw XCTSkip("abstract suite: run through an implementation's subclass")
    }

    /// Closes `store` and opens the same database again.
    func reopen(_ store: any Store) throws -> any Store {
        throw XCTSkip("abstract suite: run through an implementation's subclass")
    }

    /// A migrated store.
    func migratedStore() throws -> any Store {
        let store = try makeStore()
        try store.migrate()
        return store
    }

    // Dates on whole milliseconds, the precision every store keeps.
    let t0 = Date(timeIntervalSince1970: 1_790_000_000.123)
    let t1 = Date(timeIntervalSince1970: 1_790_000_060.456)
    let t2 = Date(timeIntervalSince1970: 1_821_536_000)

    func makeAccount(_ identity: UInt8, tier: AccountTier = .basic, status: IdentityStatus = .normal) -> AccountRecord {
        AccountRecord(
            tier: tier, status: status, identityKey: [UInt8](repeating: identity, count: 32),
            sealedPersonalData: [1, identity, 3], createdAt: t0, updatedAt: t0)
    }

    // MARK: Migrations

    func testMigrateTwiceIsIdempotent() throws {
        let store = try makeStore()
        try store.migrate()
        let account = makeAccount(1)
        try store.transaction { tx in try tx.insertAccount(account) }
        try store.migrate()
        XCTAssertEqual(try store.transaction { tx in try tx.account(id: account.id) }, account)
    }

    // MARK: Accounts

    func testInsertFindAndUpdateAccounts() throws {
        let store = try migratedStore()
        let first = makeAccount(1)
        let second = makeAccount(2, tier: .signing, status: .expired)
        try store.transaction { tx in
            try tx.insertAccount(first)
            try tx.insertAccount(second)
        }
        try store.transaction { tx in
            XCTAssertEqual(try tx.account(id: first.id), first)
            XCTAssertEqual(try tx.account(identityKey: second.identityKey), second)
            XCTAssertNil(try tx.account(id: UUID()))
            XCTAssertNil(try tx.account(identityKey: [UInt8](repeating: 9, count: 32)))
            XCTAssertEqual(Set(try tx.accounts(status: nil).map(\.id)), [first.id, second.id])
            XCTAssertEqual(try tx.accounts(status: .expired), [second])
            XCTAssertEqual(try tx.accounts(status: .cancelled), [])
        }
        var upgraded = first
        upgraded.tier = .signing
        upgraded.sealedPersonalData = [7, 7, 7]
        upgraded.updatedAt = t1
        try store.transaction { tx in try tx.updateAccount(upgraded) }
        XCTAssertEqual(try store.transaction { tx in try tx.account(id: first.id) }, upgraded)
    }

    func testUpdateOfUnknownAccountIsNotFound() throws {
        let store = try migratedStore()
        XCTAssertThrowsError(try store.transaction { tx in try tx.updateAccount(self.makeAccount(1)) }) { error in
            guard case .notFound = error as? StoreError else { return XCTFail("\(error)") }
        }
    }

    func testDuplicateIdentityNamesTheExistingAccount() throws {
        let store = try migratedStore()
        let existing = makeAccount(1)
        try store.transaction { tx in try tx.insertAccount(existing) }
        let duplicate = makeAccount(1)
        XCTAssertThrowsError(try store.transaction { tx in try tx.insertAccount(duplicate) }) { error in
            XCTAssertEqual(error as? StoreError, .duplicateIdentity(existing: existing.id))
        }
        // Caught inside the transaction, the refusal leaves the transaction usable.
        let other = makeAccount(2)
        try store.transaction { tx in
            XCTAssertThrowsError(try tx.insertAccount(duplicate))
            try tx.insertAccount(other)
        }
        // Updating another account onto the same identity is refused too.
        var moved = other
        moved.identityKey = existing.identityKey
        XCTAssertThrowsError(try store.transaction { tx in try tx.updateAccount(moved) }) { error in
            XCTAssertEqual(error as? StoreError, .duplicateIdentity(existing: existing.id))
        }
        XCTAssertEqual(try store.transaction { tx in try tx.accounts(status: nil).count }, 2)
    }

    // MARK: Transactions

    struct Refusal: Error {}

    func testRollbackOnThrowLeavesNothing() throws {
        let store = try migratedStore()
        let account = makeAccount(1)
        XCTAssertThrowsError(
            try store.transaction { tx in
                try tx.insertAccount(account)
                _ = try tx.nextValue(counter: "crl")
                try tx.saveEnrollment(
                    EnrollmentRecord(purpose: .register, state: .cardVerified, reader: "r", callerUID: 1))
                throw Refusal()
            }
        ) { error in
            guard case .aborted = error as? StoreError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(
            try store.transaction { tx in
                try tx.insertAccount(account)
                throw StoreError.notFound("on purpose")
            }
        ) { error in
            XCTAssertEqual(error as? StoreError, .notFound("on purpose"), "a StoreError is rethrown as is")
        }
        try store.transaction { tx in
            XCTAssertNil(try tx.account(id: account.id))
            XCTAssertEqual(try tx.enrollments(state: .cardVerified), [])
            XCTAssertEqual(try tx.nextValue(counter: "crl"), 1)
        }
    }

    func testNestedTransactionIsRefused() throws {
        let store = try migratedStore()
        let account = makeAccount(1)
        XCTAssertThrowsError(
            try store.transaction { tx in
                try tx.insertAccount(account)
                try store.transaction { inner in _ = try inner.nextValue(counter: "x") }
            }
        ) { error in
            XCTAssertNotNil(error as? StoreError)
        }
        XCTAssertNil(try store.transaction { tx in try tx.account(id: account.id) })
    }

    func testTransactionReturnsTheBodysValue() throws {
        let store = try migratedStore()
        XCTAssertEqual(try store.transaction { tx in try tx.nextValue(counter: "c") * 10 }, 10)
    }

    // MARK: Certificates

    func testCertificateLifecycleIntentIssuedRevoked() throws {
        let store = try migratedStore()
        let account = makeAccount(1, tier: .signing)
        var certificate = CertificateRecord(
            serial: "7F3A9C", accountID: account.id, state: .intent, notBefore: t0,
            notAfter: t2, createdAt: t0)
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.insertCertificate(certificate)
        }
        XCTAssertEqual(try store.transaction { tx in try tx.certificates(state: .intent) }, [certificate])

        certificate.state = .issued
        certificate.der = [0x30, 0x82, 0x01, 0x00, 0xAA]
        certificate.deviceID = "device-1"
        try store.transaction { tx in try tx.updateCertificate(certificate) }
        try store.transaction { tx in
            XCTAssertEqual(try tx.certificate(serial: "7F3A9C"), certificate)
            XCTAssertEqual(try tx.certificates(state: .intent), [])
            XCTAssertEqual(try tx.certificates(state: .issued), [certificate])
        }

        certificate.state = .revoked
        certificate.revokedAt = t1
        certificate.revocationReason = .keyCompromise
        try store.transaction { tx in try tx.updateCertificate(certificate) }
        try store.transaction { tx in
            XCTAssertEqual(try tx.certificate(serial: "7F3A9C"), certificate)
            XCTAssertEqual(try tx.certificates(accountID: account.id), [certificate])
            XCTAssertEqual(try tx.certificates(state: .revoked), [certificate])
            XCTAssertEqual(try tx.certificates(accountID: UUID()), [])
            XCTAssertNil(try tx.certificate(serial: "00"))
        }
    }

    func testDuplicateSerialIsRefusedEvenWhenAbandoned() throws {
        let store = try migratedStore()
        let account = makeAccount(1)
        let abandoned = CertificateRecord(
            serial: "01AB", accountID: account.id, state: .abandoned, notBefore: t0,
            notAfter: t2, createdAt: t0)
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.insertCertificate(abandoned)
        }
        let again = CertificateRecord(
            serial: "01AB", accountID: account.id, state: .intent, notBefore: t1,
            notAfter: t2, createdAt: t1)
        XCTAssertThrowsError(try store.transaction { tx in try tx.insertCertificate(again) }) { error in
            XCTAssertEqual(error as? StoreError, .duplicateSerial("01AB"))
        }
        XCTAssertEqual(try store.transaction { tx in try tx.certificate(serial: "01AB") }, abandoned)
    }

    /// Bulk issuance: a batch's intents in one call, then its certificates in one call; the same refusals as one
    /// by one, naming the serial, and a refused batch leaves nothing once its transaction is rolled back.
    func testABatchOfIntentsAndItsCertificatesAreWrittenInOneCallEach() throws {
        let store = try migratedStore()
        let account = makeAccount(1)
        try store.transaction { tx in try tx.insertAccount(account) }
        // More than one chunk of a bulk statement (PostgreSQL: 256 rows).
        let intents = (0..<300).map { index in
            CertificateRecord(
                serial: String(format: "7F%06X", index), accountID: account.id, state: .intent, notBefore: t0,
                notAfter: t2, deviceID: index % 2 == 0 ? "phone-\(index)" : nil, createdAt: t0)
        }
        try store.transaction { tx in try tx.insertCertificates(intents) }
        XCTAssertEqual(try store.transaction { tx in try tx.certificates(state: .intent) }.count, 300)
        let issued = intents.map { intent in
            var record = intent
            record.state = .issued
            record.der = Array(intent.serial.utf8) + [0x30, 0x00]
            return record
        }
        try store.transaction { tx in try tx.updateCertificates(issued) }
        let stored = try store.transaction { tx in try tx.certificates(accountID: account.id) }
        XCTAssertEqual(Set(stored.map(\.serial)), Set(issued.map(\.serial)))
        for record in issued {
            XCTAssertEqual(try store.transaction { tx in try tx.certificate(serial: record.serial) }, record)
        }

        // A serial already used, in the middle of a batch: refused by name, and nothing of the batch stays.
        let fresh = (0..<5).map { index in
            CertificateRecord(
                serial: String(format: "7E%06X", index), accountID: account.id, state: .intent, notBefore: t1,
                notAfter: t2, createdAt: t1)
        }
        let reused = fresh[..<2] + [intents[7]] + fresh[2...]
        XCTAssertThrowsError(try store.transaction { tx in try tx.insertCertificates(Array(reused)) }) { error in
            XCTAssertEqual(error as? StoreError, .duplicateSerial(intents[7].serial))
        }
        XCTAssertNil(try store.transaction { tx in try tx.certificate(serial: fresh[0].serial) })
        XCTAssertEqual(try store.transaction { tx in try tx.certificate(serial: intents[7].serial) }, issued[7])

        // An update of a serial never recorded: refused by name, and the rest of the batch is rolled back with it.
        var revoked = issued[3]
        revoked.state = .revoked
        revoked.revokedAt = t1
        revoked.revocationReason = .superseded
        let unknown = CertificateRecord(
            serial: "7D000000", accountID: account.id, state: .issued, notBefore: t0, notAfter: t2)
        XCTAssertThrowsError(try store.transaction { tx in try tx.updateCertificates([revoked, unknown]) }) { error in
            XCTAssertEqual(error as? StoreError, .notFound("certificate 7D000000"))
        }
        XCTAssertEqual(try store.transaction { tx in try tx.certificate(serial: revoked.serial) }, issued[3])
    }

    func testIssuedCertificatesAreWalkedInSerialOrderAfterACursor() throws {
        let store = try migratedStore()
        let account = makeAccount(1)
        try store.transaction { tx in try tx.insertAccount(account) }
        // Issued at t0 and t1 (in no serial order), one at t2 (not before the cutoff), one revoked, one intent.
        let records = [
            ("0C", CertificateState.issued, t0), ("0A", .issued, t1), ("0B", .issued, t0), ("0D", .issued, t2),
            ("09", .revoked, t0), ("0AA", .intent, t0),
        ].map { serial, state, created in
            CertificateRecord(
                serial: serial, accountID: account.id, state: state, der: state == .intent ? nil : [0x30, 0x00],
                notBefore: t0, notAfter: t2, revokedAt: state == .revoked ? t1 : nil, createdAt: created)
        }
        try store.transaction { tx in try tx.insertCertificates(records) }
        func walk(after serial: String?, limit: Int) throws -> [String] {
            try store.transaction { tx in
                try tx.issuedCertificates(createdBefore: t2, afterSerial: serial, limit: limit).map(\.serial)
            }
        }
        XCTAssertEqual(try walk(after: nil, limit: 10), ["0A", "0B", "0C"])
        XCTAssertEqual(try walk(after: nil, limit: 2), ["0A", "0B"])
        XCTAssertEqual(try walk(after: "0A", limit: 10), ["0B", "0C"])
        XCTAssertEqual(try walk(after: "0B", limit: 10), ["0C"])
        XCTAssertEqual(try walk(after: "0C", limit: 10), [])
        let first = try store.transaction { tx in
            try tx.issuedCertificates(createdBefore: t1, afterSerial: nil, limit: 1)
        }
        XCTAssertEqual(first, [records[2]], "whole records, with their DER; created before the cutoff only")
    }

    func testCertificateNeedsAnExistingAccount() throws {
        let store = try migratedStore()
        let orphan = CertificateRecord(serial: "02", accountID: UUID(), state: .intent, notBefore: t0, notAfter: t2)
        XCTAssertThrowsError(try store.transaction { tx in try tx.insertCertificate(orphan) }) { error in
            guard case .notFound = error as? StoreError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try store.transaction { tx in try tx.updateCertificate(orphan) }) { error in
            guard case .notFound = error as? StoreError else { return XCTFail("\(error)") }
        }
    }

    // MARK: Enrollments

    func testEnrollmentsSaveReplaceAndQueryByState() throws {
        let store = try migratedStore()
        let account = makeAccount(1)
        var first = EnrollmentRecord(
            purpose: .register, state: .cardVerified, reader: "ACS ACR1252 00 00",
            callerUID: 1001, evidence: Array(#"{"passive":"ok"}"#.utf8), createdAt: t0,
            updatedAt: t0)
        let second = EnrollmentRecord(
            purpose: .upgrade, state: .cardVerified, reader: "vpcd 0", callerUID: 0,
            createdAt: t1, updatedAt: t1)
        try store.transaction { tx in
            try tx.saveEnrollment(first)
            try tx.saveEnrollment(second)
        }
        XCTAssertEqual(try store.transaction { tx in try tx.enrollments(state: .cardVerified) }, [first, second])

        first.state = .completed
        first.accountID = account.id
        first.updatedAt = t1
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.saveEnrollment(first)
        }
        var failed = second
        failed.state = .failed
        failed.failureCode = "face-mismatch"
        try store.transaction { tx in try tx.saveEnrollment(failed) }
        try store.transaction { tx in
            XCTAssertEqual(try tx.enrollment(id: first.id), first)
            XCTAssertEqual(try tx.enrollment(id: second.id), failed)
            XCTAssertNil(try tx.enrollment(id: UUID()))
            XCTAssertEqual(try tx.enrollments(state: .cardVerified), [])
            XCTAssertEqual(try tx.enrollments(state: .completed), [first])
            XCTAssertEqual(try tx.enrollments(state: .failed), [failed])
        }
    }

    // MARK: Counters

    func testCountersIncrementAcrossTransactions() throws {
        let store = try migratedStore()
        XCTAssertEqual(try store.transaction { tx in try tx.nextValue(counter: "crl-number") }, 1)
        XCTAssertEqual(
            try store.transaction { tx in
                [try tx.nextValue(counter: "crl-number"), try tx.nextValue(counter: "crl-number")]
            }, [2, 3])
        XCTAssertEqual(try store.transaction { tx in try tx.nextValue(counter: "other") }, 1)
        XCTAssertEqual(try store.transaction { tx in try tx.nextValue(counter: "crl-number") }, 4)
    }

    func testConcurrentTransactionsAllCommit() throws {
        let store = try migratedStore()
        let failures = FailureLog()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<50 {
                do {
                    _ = try store.transaction { tx in try tx.nextValue(counter: "shared") }
                } catch {
                    failures.record(error)
                }
            }
        }
        XCTAssertEqual(failures.errors, [])
        XCTAssertEqual(try store.transaction { tx in try tx.nextValue(counter: "shared") }, 201)
    }

    // MARK: Durability

    func testReopenSeesCommittedData() throws {
        let store = try migratedStore()
        let account = makeAccount(1)
        try store.transaction { tx in
            try tx.insertAccount(account)
            _ = try tx.nextValue(counter: "serial")
        }
        let reopened = try reopen(store)
        try reopened.migrate()
        try reopened.transaction { tx in
            XCTAssertEqual(try tx.account(id: account.id), account)
            XCTAssertEqual(try tx.nextValue(counter: "serial"), 2)
        }
    }
}

/// Errors collected from several threads.
final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []

    func record(_ error: any Error) {
        lock.lock()
        collected.append(String(describing: error))
        lock.unlock()
    }

    var errors: [String] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }
}
