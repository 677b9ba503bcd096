import EnrollAPIModel
import Foundation
@testable import Enrollment
import MRTD
@testable import Store
import XCTest

/// Start-up recovery after a crash (`recoverInterrupted`) and the test-bench stop points. The HIL
/// `CrashSafetyTests` kill the real daemon at every point; these check the recovery rules on their own.
final class RecoveryTests: XCTestCase {
    private var path = ""
    private var store: SQLiteStore!
    private let clock = TestClock(Date(timeIntervalSince1970: 1_790_000_000))

    override func setUpWithError() throws {
        path = NSTemporaryDirectory() + "enrolld-recovery-\(UUID().uuidString).db"
        store = try SQLiteStore(path: path, synchronous: .normal)
        try store.migrate()
    }

    override func tearDown() {
        store?.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Recovery touches only the store: the card, face and CA ports refuse to be used.
    private struct Unused: CardReading, FaceComparing, CertificateIssuing {
        static let error = EnrollmentError(.internalError, "recovery must not use this port")
        func read(reader: String, key: BACKey) throws(EnrollmentError) -> VerifiedDocument { throw Self.error }
        func compare(
            reference: [UInt8], probe: [UInt8], session: UUID,
            callerUID: UInt32
        ) throws(EnrollmentError) -> FaceEvidence { throw Self.error }
        func validate(csr: [UInt8]) throws(EnrollmentError) { throw Self.error }
        func plan(notAfterLimit: Date) throws(EnrollmentError) -> IssuancePlan { throw Self.error }
        func issue(plan: IssuancePlan, csr: [UInt8], subject: CertificateSubject) throws(EnrollmentError) -> [UInt8] {
            throw Self.error
        }
    }

    private func service() -> EnrollmentService {
        let clock = self.clock
        return EnrollmentService(
            store: store, policy: EnrollmentPolicy(), cards: Unused(), faces: Unused(),
            issuer: Unused(), protector: PlainProtector(), now: { clock.now })
    }

    private func certificate(_ serial: String, _ state: CertificateState, account: AccountRecord) -> CertificateRecord {
        CertificateRecord(
            serial: serial, accountID: account.id, state: state, der: state == .issued ? [0x30] : nil,
            notBefore: clock.now, notAfter: clock.now.addingTimeInterval(86400), createdAt: clock.now)
    }

    func testRecoveryFailsOpenSessionsAndRevokesInterruptedIntentsOntoTheCRL() throws {
        let account = AccountRecord(
            tier: .basic, identityKey: [1, 2, 3], sealedPersonalData: [], createdAt: clock.now,
            updatedAt: clock.now)
        let open = EnrollmentRecord(
            purpose: .register, state: .faceMatched, accountID: account.id, reader: "r",
            callerUID: 0, createdAt: clock.now, updatedAt: clock.now)
        let done = EnrollmentRecord(
            purpose: .register, state: .completed, accountID: account.id, reader: "r",
            callerUID: 0, createdAt: clock.now, updatedAt: clock.now)
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.saveEnrollment(open)
            try tx.saveEnrollment(done)
            try tx.insertCertificate(certificate("0A01", .intent, account: account))
            try tx.insertCertificate(certificate("0A02", .issued, account: account))
        }
        clock.advance(30)
        let recovered = try service().recoverInterrupted()
        XCTAssertEqual(recovered.sessions, 1)
        XCTAssertEqual(recovered.intents, 1)

        let (failed, completed, abandoned, issued) = try store.transaction { tx in
            (
                try tx.enrollment(id: open.id), try tx.enrollment(id: done.id), try tx.certificate(serial: "0A01"),
                try tx.certificate(serial: "0A02")
            )
        }
        XCTAssertEqual(failed?.state, .failed)
        XCTAssertEqual(failed?.failureCode, "interrupted")
        XCTAssertEqual(completed?.state, .completed, "finished sessions stay as they were")
        XCTAssertEqual(abandoned?.state, .abandoned)
        XCTAssertEqual(abandoned?.revokedAt, clock.now, "it may have been signed: revoked as of the recovery")
        XCTAssertEqual(abandoned?.revocationReason, .cessationOfOperation)
        XCTAssertEqual(issued?.state, .issued)
        XCTAssertNil(issued?.revokedAt)

        // The API reads the interrupted session as failed, without card-face data.
        let view = try service().session(id: open.id)
        XCTAssertEqual(view.state, "failed")
        XCTAssertEqual(view.failureCode, "interrupted")
        XCTAssertEqual(view.accountID, account.id.uuidString)
        XCTAssertEqual(view.surname, "")

        let events = try store.transaction { tx in try tx.usageRecords(UsageQuery(accountID: account.id)) }
            .map { "\($0.event) \($0.outcome) \($0.detail)" }
        XCTAssertEqual(events, ["enrollment-failed failed interrupted", "certificate-abandoned failed 0A01 revoked"])
        XCTAssertTrue(try UsageChain.verify(store).ok)

        let again = try service().recoverInterrupted()
        XCTAssertEqual(again.sessions + again.intents, 0, "recovery is idempotent")
    }

    /// Bulk issuance (`enroll-bench issue --renew`): a batch's intents commit in one transaction, its certificates
    /// are signed, and the process dies before the certificate transaction commits. Every serial of the batch is
    /// then abandoned and revoked as of the recovery (each may have been signed), none is left open, a batch that
    /// committed stays issued, and each abandonment is a usage record.
    func testABatchWhoseCertificatesNeverCommittedIsAbandonedAndRevokedWhole() throws {
        let account = AccountRecord(
            tier: .signing, identityKey: [4, 5, 6], sealedPersonalData: [], createdAt: clock.now,
            updatedAt: clock.now)
        let committed = (0..<40).map { certificate(String(format: "0B%04X", $0), .intent, account: account) }
        let interrupted = (0..<70).map { certificate(String(format: "0C%04X", $0), .intent, account: account) }
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.insertCertificates(committed)
        }
        try store.transaction { tx in try tx.insertCertificates(interrupted) }
        // The first batch's certificates commit; the second's transaction never does (the kill).
        let issued = committed.map { intent in
            var record = intent
            record.state = .issued
            record.der = [0x30, 0x00]
            return record
        }
        try store.transaction { tx in try tx.updateCertificates(issued) }
        struct Killed: Error {}
        XCTAssertThrowsError(
            try store.transaction { tx in
                try tx.updateCertificates(
                    interrupted.map { intent in
                        var record = intent
                        record.state = .issued
                        record.der = [0x30, 0x00]
                        return record
                    })
                throw Killed()
            })
        clock.advance(5)

        let recovered = try service().recoverInterrupted()
        XCTAssertEqual(recovered.intents, interrupted.count)
        let (open, abandoned, kept) = try store.transaction { tx in
            (
                try tx.certificates(state: .intent), try tx.certificates(state: .abandoned),
                try tx.certificates(state: .issued)
            )
        }
        XCTAssertEqual(open, [])
        XCTAssertEqual(Set(abandoned.map(\.serial)), Set(interrupted.map(\.serial)))
        for record in abandoned {
            XCTAssertEqual(record.revokedAt, clock.now, "\(record.serial) may have been signed: revoked")
            XCTAssertEqual(record.revocationReason, .cessationOfOperation)
            XCTAssertNil(record.der, "the certificate never reached the store")
        }
        XCTAssertEqual(Set(kept.map(\.serial)), Set(committed.map(\.serial)))
        let listed = try store.transaction { tx in
            try tx.certificateStatuses(states: [.revoked, .abandoned], revokedSince: nil, limit: nil)
        }
        XCTAssertEqual(Set(listed.map(\.serial)), Set(interrupted.map(\.serial)), "what the CRL lists")
        let events = try store.transaction { tx in try tx.usageRecords(UsageQuery(accountID: account.id)) }
        XCTAssertEqual(events.filter { $0.event == "certificate-abandoned" }.count, interrupted.count)
        XCTAssertTrue(try UsageChain.verify(store).ok)
    }

    func testOnASharedStoreRecoveryLeavesWhatOtherDaemonsMayStillBeWorkingOn() throws {
        let account = AccountRecord(
            tier: .basic, identityKey: [1, 2, 3], sealedPersonalData: [], createdAt: clock.now,
            updatedAt: clock.now)
        let leftover = EnrollmentRecord(
            purpose: .register, state: .faceMatched, accountID: account.id, reader: "r",
            callerUID: 0, createdAt: clock.now, updatedAt: clock.now)
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.saveEnrollment(leftover)
            try tx.insertCertificate(certificate("0B01", .intent, account: account))
        }
        clock.advance(600)
        // Another daemon of the fleet is in the middle of an enrollment right now.
        let live = EnrollmentRecord(
            purpose: .register, state: .cardVerified, reader: "r", callerUID: 0,
            createdAt: clock.now, updatedAt: clock.now)
        try store.transaction { tx in
            try tx.saveEnrollment(live)
            try tx.insertCertificate(certificate("0B02", .intent, account: account))
        }
        let recovered = try service().recoverInterrupted(startedBefore: clock.now.addingTimeInterval(-360))
        XCTAssertEqual(recovered.sessions, 1)
        XCTAssertEqual(recovered.intents, 1)
        let states = try store.transaction { tx in
            [
                try tx.enrollment(id: leftover.id)?.state.rawValue, try tx.enrollment(id: live.id)?.state.rawValue,
                try tx.certificate(serial: "0B01")?.state.rawValue, try tx.certificate(serial: "0B02")?.state.rawValue,
            ]
        }
        XCTAssertEqual(states, ["failed", "card-verified", "abandoned", "intent"])
    }

    func testStopPointsAreForTestBenchesOnlyAndMustBeKnown() throws {
        XCTAssertNil(try CrashPoints.fromEnvironment([:]).stopAt)
        XCTAssertEqual(
            try CrashPoints.fromEnvironment([
                "ENROLLD_TEST_STOP_AT": "certificate-signed",
                "ENROLLD_TEST_BENCH": "1",
            ]).stopAt, .certificateSigned)
        for environment in [
            ["ENROLLD_TEST_STOP_AT": "certificate-signed"],
            ["ENROLLD_TEST_STOP_AT": "certificate-sigend", "ENROLLD_TEST_BENCH": "1"],
        ] {
            XCTAssertThrowsError(try CrashPoints.fromEnvironment(environment)) {
                XCTAssertEqual(($0 as? EnrollmentError)?.code, "invalid-test-stop-point")
            }
        }
        // Any other point passes straight through.
        CrashPoints(stopAt: .responseSent).reach(.cardRead)
        CrashPoints.disabled.reach(.certificateSigned)
    }
}
