import EnrollAPIModel
import Foundation
@testable import Enrollment
import OpenSSLKit
@testable import Store
import Synchronization
import XCTest

/// Seals nothing: the lifecycle logic does not depend on the cipher, only on the round trip.
struct PlainProtector: PersonalDataProtecting {
    func identityKey(canonical: String) throws(EnrollmentError) -> [UInt8] { Array(canonical.utf8) }

    func seal(_ plaintext: [UInt8], context: String) throws(EnrollmentError) -> [UInt8] { plaintext }
    func open(_ sealed: [UInt8], context: String) throws(EnrollmentError) -> [UInt8] { sealed }
}

/// A clock tests move by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date) { current = start }

    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }
}

final class IdentityLifecycleTests: XCTestCase {
    private var path = ""
    private var store: SQLiteStore!
    private let clock = TestClock(Date(timeIntervalSince1970: 1_790_000_000))
    private let holder = UsageActor(role: "holder", uid: 1000, channel: "kiosk-7")
    private let counter = UsageActor(role: "operator", uid: 1001, channel: "counter-3")

    override func setUpWithError() throws {
        path = NSTemporaryDirectory() + "enrolld-lifecycle-\(UUID().uuidString).db"
        store = try SQLiteStore(path: path, synchronous: .normal)
        try store.migrate()
    }

    override func tearDown() {
        store?.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    private func lifecycle(_ configure: (inout LifecyclePolicy) -> Void = { _ in }) -> IdentityLifecycle {
        var policy = LifecyclePolicy()
        configure(&policy)
        let clock = self.clock
        return IdentityLifecycle(store: store, policy: policy, protector: PlainProtector(), now: { clock.now })
    }

    private func makeAccount(
        expiry: String = "2031-01-01", documentNumber: String = "D23145890"
    ) throws -> AccountRecord {
        let personal = PersonalData(
            surname: "S", givenNames: "J", birthDate: "1990-08-12", documentNumber: documentNumber,
            documentType: "I", documentExpiry: expiry, issuingState: "UTO", nationality: "UTO")
        let account = AccountRecord(
            tier: .signing, identityKey: Array(UUID().uuidString.utf8),
            sealedPersonalData: [UInt8](try JSONEncoder().encode(personal)),
            createdAt: clock.now, updatedAt: clock.now)
        try store.transaction { tx in try tx.insertAccount(account) }
        return account
    }

    private func issue(_ serial: String, to account: AccountRecord, device: String?) throws {
        let certificate = CertificateRecord(
            serial: serial, accountID: account.id, state: .issued, der: [0x30],
            notBefore: clock.now, notAfter: clock.now.addingTimeInterval(86400),
            deviceID: device, createdAt: clock.now)
        try store.transaction { tx in try tx.insertCertificate(certificate) }
    }

    private func certificate(_ serial: String) throws -> CertificateRecord? {
        try store.transaction { tx in try tx.certificate(serial: serial) }
    }

    private func usage(_ account: AccountRecord) throws -> [UsageRecord] {
        try store.transaction { tx in try tx.usageRecords(UsageQuery(accountID: account.id)) }
    }

    private func devicePEM() throws -> String {
        try PrivateKey.generate(.p256).publicKey().pemEncoded()
    }

    // MARK: Passcode

    func testSixthWrongPasscodeIsLockedAndTheLockEndsAfterTheLockout() throws {
        let service = lifecycle { $0.passcodeLockout = 60 }
        let account = try makeAccount()
        _ = try service.setPasscode(accountID: account.id, passcode: "1234", current: nil, actor: holder)
        for left in (0..<5).reversed() {
            let check = try service.verifyPasscode(accountID: account.id, passcode: "0000", actor: counter)
            XCTAssertEqual(check.result, "wrong")
            XCTAssertEqual(check.attemptsLeft, left)
            XCTAssertEqual(check.unlocksAt != nil, left == 0)
        }
        let locked = try service.verifyPasscode(accountID: account.id, passcode: "1234", actor: counter)
        XCTAssertEqual(locked.result, "locked", "even the right passcode is refused while locked")
        XCTAssertEqual(locked.unlocksAt, ISO8601DateFormatter().string(from: clock.now.addingTimeInterval(60)))
        clock.advance(61)
        XCTAssertEqual(try service.verifyPasscode(accountID: account.id, passcode: "1234", actor: counter).result, "ok")
        XCTAssertEqual(
            try service.verifyPasscode(accountID: account.id, passcode: "9999", actor: counter).attemptsLeft, 4,
            "a correct entry starts the count again")

        let events = try usage(account).map { "\($0.event) \($0.outcome)" }
        XCTAssertEqual(events.filter { $0 == "passcode-verify wrong" }.count, 6)
        XCTAssertEqual(events.filter { $0 == "passcode-locked locked" }.count, 1)
        XCTAssertEqual(events.filter { $0 == "passcode-verify locked" }.count, 1)
        XCTAssertTrue(
            try usage(account).dropFirst().allSatisfy { $0.actorRole == "operator" && $0.channel == "counter-3" })
    }

    /// Waiting out a lock no longer buys the same guesses again: each lock lasts twice as long, and 20 wrong entries
    /// in total lock the passcode until a card-and-face reset.
    func testLocksDoubleAndTheTotalLocksForGoodUntilACardAndFaceReset() throws {
        let service = lifecycle { $0.passcodeLockout = 60 }
        let account = try makeAccount()
        _ = try service.setPasscode(accountID: account.id, passcode: "1234", current: nil, actor: holder)
        let iso = ISO8601DateFormatter()
        for (lock, seconds) in [60.0, 120, 240].enumerated() {
            for _ in 0..<5 { _ = try service.verifyPasscode(accountID: account.id, passcode: "0000", actor: counter) }
            let locked = try service.verifyPasscode(accountID: account.id, passcode: "1234", actor: counter)
            XCTAssertEqual(
                locked.unlocksAt, iso.string(from: clock.now.addingTimeInterval(seconds)), "lock \(lock + 1)")
            clock.advance(seconds + 1)
        }
        for left in (1..<5).reversed() {
            XCTAssertEqual(
                try service.verifyPasscode(accountID: account.id, passcode: "0000", actor: counter).attemptsLeft,
                left)
        }
        let last = try service.verifyPasscode(accountID: account.id, passcode: "0000", actor: counter)
        XCTAssertEqual(last.result, "locked", "the 20th wrong entry locks for good")
        XCTAssertNil(last.unlocksAt)
        clock.advance(400 * 86400)
        XCTAssertEqual(
            try service.verifyPasscode(accountID: account.id, passcode: "1234", actor: counter).result, "locked",
            "a permanent lock does not end with time")
        XCTAssertEqual(IdentityLifecycle.refusal(last, for: counter).code, "passcode-locked")
        XCTAssertTrue(IdentityLifecycle.refusal(last, for: counter).message.contains("card and face"))
        let status = try service.passcodeStatus(accountID: account.id)
        XCTAssertEqual(status.lockedPermanently, true)
        XCTAssertEqual(status.totalFailures, 20)
        XCTAssertEqual(status.maxTotalFailures, 20)

        let at = clock.now
        try store.transaction { tx in
            try IdentityLifecycle.resetPasscode(
                tx, accountID: account.id, newPasscode: nil, actor: holder,
                enrollmentID: UUID(), at: at)
        }
        XCTAssertEqual(
            try service.verifyPasscode(accountID: account.id, passcode: "1234", actor: counter).result, "ok",
            "a card-and-face reset clears the permanent lock")
        XCTAssertEqual(try service.passcodeStatus(accountID: account.id).totalFailures, 0)
        let locks = try usage(account).filter { $0.event == "passcode-locked" }.map(\.detail)
        XCTAssertEqual(locks.count, 4)
        XCTAssertEqual(locks.last, "permanently after 20 wrong entries")
    }

    /// The bound the README reports: a guesser who waits out every lock, on one account, for a day and for a month.
    func testGuessesPerAccountPerDayAreBounded() throws {
        let service = lifecycle()
        let account = try makeAccount()
        _ = try service.setPasscode(accountID: account.id, passcode: "9999", current: nil, actor: holder)
        let start = clock.now
        var guesses = 0
        var guess = 0
        var lockedForGood = false
        var perDay: [Int] = []
        while clock.now.timeIntervalSince(start) < 30 * 86400 && !lockedForGood {
            let check = try service.verifyPasscode(
                accountID: account.id, passcode: String(format: "%04d", guess),
                actor: counter)
            let total = try service.passcodeStatus(accountID: account.id).totalFailures ?? 0
            if total > guesses {
                guesses += 1
                guess += 1
                let day = Int(clock.now.timeIntervalSince(start) / 86400)
                while perDay.count <= day { perDay.append(0) }
                perDay[day] += 1
            }
            if check.result == "locked" {
                guard let until = check.unlocksAt.flatMap(ISO8601DateFormatter().date(from:)) else {
                    lockedForGood = true
                    continue
                }
                clock.advance(until.timeIntervalSince(clock.now) + 1)
            }
        }
        print(
            "passcode guesses on one account: \(perDay.first ?? 0) in the first 24 h, \(guesses) in 30 days "
                + "(by day: \(perDay)); locked for good: \(lockedForGood)")
        let policy = LifecyclePolicy()
        XCTAssertEqual(perDay.first, policy.maximumWrongEntries(within: 86400))
        XCTAssertEqual(guesses, 20, "20 wrong entries, then locked until a card-and-face reset")
        XCTAssertTrue(lockedForGood)
        XCTAssertEqual(policy.maximumWrongEntries(within: 86400), 20)
        XCTAssertEqual(policy.maximumWrongEntries(within: 3600), 5, "5, then an hour's lock")
        XCTAssertEqual(policy.maximumWrongEntries(within: 3 * 3600 + 1), 15, "5, 1 h locked, 5, 2 h locked, 5")
    }

    /// A kiosk learns only ok or holder-proof-failed: no account, a cancelled one, none set, a wrong entry and a
    /// locked passcode answer alike.
    func testAKioskLearnsOnlyOkOrHolderProofFailed() throws {
        let service = lifecycle { $0.passcodeMaxAttempts = 2 }
        let kiosk = UsageActor(role: "kiosk", uid: 2001, channel: "kiosk-1")
        let withPasscode = try makeAccount()
        _ = try service.setPasscode(accountID: withPasscode.id, passcode: "1234", current: nil, actor: holder)
        let without = try makeAccount()
        let cancelled = try makeAccount()
        _ = try service.setPasscode(accountID: cancelled.id, passcode: "1234", current: nil, actor: holder)
        _ = try service.setStatus(accountID: cancelled.id, to: .cancelled, reason: "card cancelled", actor: counter)
        func refusal(_ account: UUID, _ passcode: String) -> EnrollmentError? {
            do {
                _ = try service.verifyPasscode(accountID: account, passcode: passcode, actor: kiosk)
                return nil
            } catch {
                return error as? EnrollmentError
            }
        }
        let answers = [
            refusal(UUID(), "1234"), refusal(without.id, "1234"), refusal(cancelled.id, "1234"),
            refusal(withPasscode.id, "0000"), refusal(withPasscode.id, "0000"),
            refusal(withPasscode.id, "1234"), refusal(withPasscode.id, "12a4"),
        ]
        XCTAssertEqual(Set(answers.map { $0?.code }), ["holder-proof-failed"])
        XCTAssertEqual(Set(answers.map { $0?.message }).count, 1, "one detail for every cause")
        XCTAssertEqual(
            try service.verifyPasscode(accountID: withPasscode.id, passcode: "1234", actor: counter).result,
            "locked", "the kiosk's 6th entry was refused because the passcode is locked")
        XCTAssertThrowsError(try service.disablePasscode(accountID: without.id, current: nil, actor: kiosk)) {
            XCTAssertEqual(
                ($0 as? EnrollmentError)?.code, "holder-proof-failed",
                "turning off a passcode that is not there tells a kiosk nothing either")
        }
    }

    func testAKioskThatUsesUpItsBudgetIsLockedOutOfPasscodeEntries() throws {
        let events = Mutex<[PasscodeEvent]>([])
        var policy = LifecyclePolicy()
        policy.passcodeCallerBudget = 3
        policy.passcodeCallerWindow = 3600
        let clock = self.clock
        let service = IdentityLifecycle(
            store: store, policy: policy, protector: PlainProtector(), now: { clock.now },
            host: "kiosk-host"
        ) { event in events.withLock { $0.append(event) } }
        let kiosk = UsageActor(role: "kiosk", uid: 2001, channel: "kiosk-1")
        let neighbour = UsageActor(role: "kiosk", uid: 2002, channel: "kiosk-2")
        var accounts: [AccountRecord] = []
        for _ in 0..<3 {
            let account = try makeAccount()
            _ = try service.setPasscode(accountID: account.id, passcode: "1234", current: nil, actor: holder)
            accounts.append(account)
        }
        for account in accounts {
            XCTAssertThrowsError(try service.verifyPasscode(accountID: account.id, passcode: "0000", actor: kiosk))
        }
        XCTAssertThrowsError(try service.verifyPasscode(accountID: accounts[0].id, passcode: "1234", actor: kiosk)) {
            XCTAssertEqual(
                ($0 as? EnrollmentError)?.code, "passcode-entries-exhausted",
                "even the right passcode: the kiosk may enter none")
        }
        XCTAssertTrue(
            try service.verifyPasscode(accountID: accounts[0].id, passcode: "1234", actor: neighbour).isOK,
            "another kiosk uid has a budget of its own")
        XCTAssertEqual(
            events.withLock { $0 }.filter {
                if case .callerLockedOut = $0 { return true }
                return false
            }
            .count, 1)
        guard
            case let .callerLockedOut(actor, until) = events.withLock({ $0 }).first(where: {
                if case .callerLockedOut = $0 { return true }
                return false
            })
        else { return XCTFail("no lock-out event") }
        XCTAssertEqual(actor.uid, 2001)
        XCTAssertEqual(until, clock.now.addingTimeInterval(3600))
        let records = try store.transaction { tx in try tx.usageRecords(UsageQuery()) }
        let exhausted = try XCTUnwrap(records.first { $0.event == "passcode-entries-exhausted" })
        XCTAssertNil(exhausted.accountID)
        XCTAssertEqual(
            [exhausted.actorRole, String(exhausted.actorUID), exhausted.outcome], ["kiosk", "2001", "locked"])
        let stored = try store.transaction { tx in try tx.passcodeBudget(caller: "uid:2001@kiosk-host") }
        XCTAssertEqual(stored?.failures, 3)

        clock.advance(3601)
        XCTAssertTrue(
            try service.verifyPasscode(accountID: accounts[0].id, passcode: "1234", actor: kiosk).isOK,
            "the window is over")
    }

    func testPasscodeIsExactlyFourDigitsSaltedAndChangesNeedTheCurrentOne() throws {
        let service = lifecycle()
        let account = try makeAccount()
        for bad in ["123", "12345", "12a4", "١٢٣٤"] {
            XCTAssertThrowsError(
                try service.setPasscode(accountID: account.id, passcode: bad, current: nil, actor: holder))
        }
        _ = try service.setPasscode(accountID: account.id, passcode: "1234", current: nil, actor: holder)
        let other = try makeAccount()
        _ = try service.setPasscode(accountID: other.id, passcode: "1234", current: nil, actor: holder)
        let (first, second) = try store.transaction { tx in
            (try tx.passcode(accountID: account.id), try tx.passcode(accountID: other.id))
        }
        XCTAssertNotEqual(first?.salt, second?.salt)
        XCTAssertNotEqual(first?.hash, second?.hash, "per-account salt")
        XCTAssertEqual(first?.hash.count, 32)

        XCTAssertThrowsError(
            try service.setPasscode(accountID: account.id, passcode: "5678", current: nil, actor: holder)
        ) {
            XCTAssertEqual(($0 as? EnrollmentError)?.code, "passcode-required")
        }
        _ = try service.setPasscode(accountID: account.id, passcode: "5678", current: "1234", actor: holder)
        XCTAssertTrue(try service.verifyPasscode(accountID: account.id, passcode: "5678", actor: holder).isOK)
        _ = try service.disablePasscode(accountID: account.id, current: nil, actor: counter)
        XCTAssertFalse(try service.passcodeStatus(accountID: account.id).set)
        XCTAssertThrowsError(try service.verifyPasscode(accountID: account.id, passcode: "5678", actor: holder))

        let off = lifecycle { $0.passcodeEnabled = false }
        XCTAssertThrowsError(try off.setPasscode(accountID: account.id, passcode: "1234", current: nil, actor: holder))
        {
            XCTAssertEqual(($0 as? EnrollmentError)?.code, "passcode-disabled")
        }
    }

    // MARK: Devices

    func testBindingANewDeviceSupersedesTheOldOneAndRevokesItsCertificates() throws {
        let service = lifecycle()
        let account = try makeAccount()
        _ = try service.bindDevice(
            accountID: account.id, deviceID: "phone-a", publicKey: try devicePEM(), label: "A",
            actor: holder)
        try issue("0A", to: account, device: "phone-a")
        try issue("0C", to: account, device: nil)
        let outcome = try service.bindDevice(
            accountID: account.id, deviceID: "phone-b", publicKey: try devicePEM(),
            label: "B", actor: holder)
        XCTAssertEqual(outcome.superseded?.deviceId, "phone-a")
        XCTAssertEqual(outcome.revokedSerials, ["0A"])
        XCTAssertEqual(try certificate("0A")?.revocationReason, .superseded)
        XCTAssertEqual(try certificate("0C")?.state, .issued, "a certificate of no device stays")
        let devices = try service.devices(accountID: account.id)
        XCTAssertEqual(devices.map(\.deviceId), ["phone-a", "phone-b"])
        XCTAssertEqual(devices.map(\.active), [false, true])
        XCTAssertEqual(devices.first?.unbindReason, "superseded")

        XCTAssertThrowsError(
            try service.unbindDevice(
                accountID: account.id, deviceID: "phone-b", passcode: nil,
                enrollmentID: nil, actor: holder)
        ) {
            XCTAssertEqual(($0 as? EnrollmentError)?.code, "holder-proof-required")
        }
        _ = try service.setPasscode(accountID: account.id, passcode: "2468", current: nil, actor: holder)
        XCTAssertThrowsError(
            try service.unbindDevice(
                accountID: account.id, deviceID: "phone-b", passcode: "1111",
                enrollmentID: nil, actor: holder))
        _ = try service.unbindDevice(
            accountID: account.id, deviceID: "phone-b", passcode: "2468", enrollmentID: nil,
            actor: holder)
        XCTAssertTrue(try service.devices(accountID: account.id).allSatisfy { !$0.active })
        XCTAssertThrowsError(
            try service.bindDevice(
                accountID: account.id, deviceID: "phone c", publicKey: try devicePEM(),
                label: "", actor: holder))
        XCTAssertThrowsError(
            try service.bindDevice(
                accountID: account.id, deviceID: "phone-c", publicKey: "not a key",
                label: "", actor: holder))

        let rebound = try service.bindDevice(
            accountID: account.id, deviceID: "phone-d", publicKey: try devicePEM(),
            label: "D", actor: holder)
        try service.updateContact(accountID: account.id, contact: ["phone": "+852 5555 0000"], actor: holder)
        XCTAssertEqual(
            try service.devices(accountID: account.id).last, rebound.device,
            "changing contact details does not touch the binding")
        let opened = try JSONDecoder().decode(
            PersonalData.self,
            from: Data(
                try XCTUnwrap(
                    try store.transaction { tx in try tx.account(id: account.id) }
                ).sealedPersonalData))
        XCTAssertEqual(opened.contact, ["phone": "+85255550000"], "stored in E.164, without the separators typed")
        XCTAssertEqual(try usage(account).last?.detail, "phone", "field names only, never values")

        let events = try usage(account).map(\.event)
        XCTAssertEqual(events.filter { $0 == "device-bound" }.count, 3)
        XCTAssertEqual(events.filter { $0 == "device-unbound" }.count, 2)
        XCTAssertTrue(events.contains("contact-changed"))
        XCTAssertTrue(events.contains("certificate-revoked"))
    }

    // MARK: Status

    func testCancellationIsIrreversibleRevokesEverythingAndNeedsStaff() throws {
        let service = lifecycle()
        let account = try makeAccount()
        _ = try service.bindDevice(
            accountID: account.id, deviceID: "phone-a", publicKey: try devicePEM(), label: "",
            actor: holder)
        try issue("01", to: account, device: "phone-a")
        try issue("02", to: account, device: nil)
        XCTAssertThrowsError(
            try service.setStatus(
                accountID: account.id, to: .cancelled, reason: "card cancelled",
                actor: holder)
        ) {
            XCTAssertEqual(($0 as? EnrollmentError)?.code, "forbidden")
        }
        let view = try service.setStatus(
            accountID: account.id, to: .cancelled, reason: "card cancelled", actor: counter)
        XCTAssertEqual(view.status, "cancelled")
        XCTAssertEqual(try certificate("01")?.revocationReason, .privilegeWithdrawn)
        XCTAssertEqual(try certificate("02")?.state, .revoked)
        XCTAssertFalse(try service.devices(accountID: account.id).contains { $0.active })
        for status in [IdentityStatus.invalid, .cancelled] {
            XCTAssertThrowsError(try service.setStatus(accountID: account.id, to: status, reason: "x", actor: counter))
            {
                XCTAssertEqual(($0 as? EnrollmentError)?.code, "account-cancelled")
            }
        }
        XCTAssertThrowsError(try service.setStatus(accountID: account.id, to: .normal, reason: "x", actor: counter))
        let change = try XCTUnwrap(view.history.last)
        XCTAssertEqual(
            [change.from, change.to, change.actorRole, change.channel],
            ["normal", "cancelled", "operator", "counter-3"])

        let deceased = try makeAccount()
        try issue("03", to: deceased, device: nil)
        _ = try service.setStatus(accountID: deceased.id, to: .cancelled, reason: "holder deceased", actor: counter)
        XCTAssertEqual(try certificate("03")?.revocationReason, .cessationOfOperation)
    }

    func testExpiredDocumentMakesTheAccountExpiredOnAccessAndBySweep() throws {
        let service = lifecycle()
        let today = MRZDateText.today(clock.now)
        let expired = try makeAccount(expiry: "2020-01-01")
        let valid = try makeAccount(expiry: today)
        XCTAssertEqual(try service.refreshedAccount(id: expired.id).status, .expired)
        XCTAssertEqual(try service.refreshedAccount(id: valid.id).status, .normal, "valid through its expiry day")
        clock.advance(86400)
        XCTAssertEqual(try service.sweepExpired(), 1)
        XCTAssertEqual(try service.statusView(accountID: valid.id).history.map(\.reason), ["document-expired"])
        XCTAssertEqual(try usage(valid).last?.actorRole, "system")
    }

    // MARK: Usage chain

    func testAuditFindsEditedInsertedAndDeletedRecords() throws {
        let service = lifecycle()
        let account = try makeAccount()
        for number in 0..<6 {
            try store.transaction { tx in
                try UsageChain.append(tx, at: clock.now, accountID: account.id, event: "test-\(number)", actor: holder)
            }
        }
        XCTAssertTrue(try service.verifyAudit().ok)
        let sql = try SQLiteConnection(path: path)
        defer { sql.close() }

        try sql.execute("UPDATE usage_records SET outcome = 'refused' WHERE sequence = 3")
        var report = try service.verifyAudit()
        XCTAssertEqual(report.problems.map(\.sequence), [3])
        XCTAssertEqual(report.problems.map(\.kind), ["edited"])
        try sql.execute("UPDATE usage_records SET outcome = 'ok' WHERE sequence = 3")
        XCTAssertTrue(try service.verifyAudit().ok)

        try sql.execute("CREATE TEMP TABLE saved AS SELECT * FROM usage_records WHERE sequence IN (4, 6)")
        try sql.execute("DELETE FROM usage_records WHERE sequence = 4")
        report = try service.verifyAudit()
        XCTAssertEqual(report.problems.map(\.kind), ["deleted"])
        XCTAssertEqual(report.problems.map(\.sequence), [4])
        try sql.execute("DELETE FROM usage_records WHERE sequence = 6")
        report = try service.verifyAudit()
        XCTAssertEqual(report.problems.map(\.sequence), [4, 6], "deleting the newest record is caught by the head")
        try sql.execute("INSERT INTO usage_records SELECT * FROM saved")
        XCTAssertTrue(try service.verifyAudit().ok)

        try sql.execute(
            """
            INSERT INTO usage_records SELECT 7, at, account_id, NULL, 'forged', channel, actor_role, actor_uid, outcome, \
            detail, hash, randomblob(32), keyed FROM usage_records WHERE sequence = 6
            """)
        report = try service.verifyAudit()
        XCTAssertEqual(report.problems.map(\.kind), ["inserted"])
        XCTAssertEqual(report.problems.map(\.sequence), [7])
    }

    func testCanonicalBytesSeparateFields() {
        func record(_ event: String, _ detail: String) -> UsageRecord {
            UsageRecord(
                sequence: 1, at: Date(timeIntervalSince1970: 0), accountID: nil, enrollmentID: nil, event: event,
                channel: "c", actorRole: "r", actorUID: 0, outcome: "ok", detail: detail, previousHash: [],
                hash: [])
        }
        XCTAssertNotEqual(UsageChain.canonicalBytes(record("ab", "c")), UsageChain.canonicalBytes(record("a", "bc")))
    }
}

/// Today's date as the sealed personal data spells it.
enum MRZDateText {
    static func today(_ now: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: now)
    }
}
