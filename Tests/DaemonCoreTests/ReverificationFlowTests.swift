import DaemonCore
import EnrollAPIModel
import Enrollment
import Foundation
import MRTD
import UnixHTTP
import XCTest

/// Re-verification: a card-and-face session of the account's own holder returns an invalidated or expired account
/// to normal, and (purpose passcode-reset) resets a forgotten or locked passcode.
final class ReverificationFlowTests: XCTestCase {
    func testAnInvalidatedAccountReturnsToNormalByACardAndFaceSession() throws {
        let bench = try InProcessDaemon()
        let (holder, registered) = try bench.newAccount("John_Salley")
        let invalidated = try bench.setStatus(registered.accountID, "invalid", reason: "card reported lost")
        XCTAssertEqual(invalidated.status, "invalid")
        XCTAssertEqual(try bench.accountView(registered.accountID).status, "invalid")

        let session = try bench.matchedSession(holder, purpose: "upgrade", accountID: registered.accountID)
        let outcome = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.complete(session, csr: try InProcessDaemon.makeCSR()), 200))
        XCTAssertEqual(outcome.status, "normal")
        XCTAssertEqual(outcome.accountID, registered.accountID)
        XCTAssertEqual(try bench.accountView(registered.accountID).status, "normal")

        let history = try bench.decode(
            StatusView.self,
            try bench.require(
                bench.call("GET", "/v1/accounts/\(registered.accountID)/status-history", as: .operator), 200)
        ).history
        XCTAssertEqual(history.map(\.to), ["invalid", "normal"])
        XCTAssertEqual(history.map(\.reason), ["card reported lost", "reverified"])
        XCTAssertEqual(history.map(\.actorRole), ["operator", "kiosk"])
    }

    /// A card that reaches the account by its personal number but whose holder is someone else (another surname
    /// and birth date) is refused as holder-mismatch before anything of the account changes: not its sealed data,
    /// not its status (a newer document would otherwise mark the old one replaced).
    func testAnUpgradeWithACardWhoseHolderDiffersIsRefusedAndChangesNothing() throws {
        let bench = try InProcessDaemon()
        let personal = DG11(personalNumber: "5500112233")
        let owner = TestHolder.random("John_Schneider")
        try bench.insertCard(owner) { $0.dg11 = personal }
        let registered = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.complete(try bench.decode(EnrollmentView.self, try bench.require(bench.start(owner), 201)).id),
                200))
        let before = try bench.accountView(registered.accountID)

        var other = TestHolder.random("John_Salley", birthDate: "900101")
        other.surname = "OTHER"
        other.expiryDate = "361231"
        try bench.insertCard(other) { $0.dg11 = personal }
        for purpose in ["upgrade", "passcode-reset"] {
            let refused = try bench.start(other, purpose: purpose, accountID: registered.accountID)
            XCTAssertEqual(refused.status, 403)
            let problem = try JSONDecoder().decode(Problem.self, from: Data(refused.body))
            XCTAssertEqual(problem.code, "holder-mismatch")
            XCTAssertTrue(problem.detail.contains("birth date, surname"), problem.detail)
        }
        let after = try bench.accountView(registered.accountID)
        XCTAssertEqual(after, before, "nothing of the account changed")
        XCTAssertEqual(after.status, "normal")

        // The holder's own renewed card with the same personal number still upgrades.
        var renewed = TestHolder.random("John_Schneider")
        renewed.expiryDate = "361231"
        try bench.insertCard(renewed) { $0.dg11 = personal }
        try bench.require(bench.start(renewed, purpose: "upgrade", accountID: registered.accountID), 201)
    }

    func testHolderNamesCompareAfterICAONormalisation() {
        let sealed = PersonalData(
            surname: "MUELLER", givenNames: "ANNA MARIA", birthDate: "1980-01-01",
            documentNumber: "A1", documentType: "P", documentExpiry: "2030-01-01",
            issuingState: "D", nationality: "D")
        var document = sealed
        document.surname = "Müller"
        document.givenNames = "ANNA"
        XCTAssertEqual(
            HolderComparison.differences(sealed: sealed, document: document), [],
            "Ü is UE; a second given name left out by the MRZ is the same person")
        document.sex = "F"
        XCTAssertEqual(
            HolderComparison.differences(sealed: sealed, document: document), [],
            "a record sealed without the sex compares on the rest")
        var married = sealed
        married.surname = "SCHMIDT"
        married.birthDate = "1980-01-02"
        XCTAssertEqual(HolderComparison.differences(sealed: sealed, document: married), ["birth date", "surname"])
        XCTAssertEqual(HolderComparison.normalisedName("O'NEILL-SMITH<<JR"), "O NEILL SMITH JR")
    }

    /// The account follows its document's expiry on the test clock; a renewed card (a new number, the same
    /// personal number) re-verifies it.
    func testAnExpiredAccountReturnsToNormalWithTheRenewedCard() throws {
        let bench = try InProcessDaemon()
        let today = MRZDate.today(now: bench.clock.now)
        let tomorrow = MRZDate.today(now: bench.clock.now.addingTimeInterval(86_400))
        let yymmdd = { (date: MRZDate) in String(format: "%02d%02d%02d", date.year % 100, date.month, date.day) }
        var old = TestHolder.random("John_Schneider")
        old.expiryDate = yymmdd(tomorrow)
        let personal = DG11(personalNumber: "7700112233")
        try bench.insertCard(old) { $0.dg11 = personal }
        let registered = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.complete(try bench.decode(EnrollmentView.self, try bench.require(bench.start(old), 201)).id), 200)
        )
        XCTAssertEqual(try bench.accountView(registered.accountID).status, "normal", "valid until tomorrow (\(today))")

        bench.clock.advance(2 * 86_400)
        XCTAssertEqual(
            try bench.accountView(registered.accountID).status, "expired",
            "the document's expiry is evaluated on access")

        var renewed = TestHolder.random("John_Schneider")
        renewed.expiryDate = "361231"
        try bench.insertCard(renewed) { $0.dg11 = personal }
        let session = try bench.decode(
            EnrollmentView.self,
            try bench.require(
                bench.start(renewed, purpose: "upgrade", accountID: registered.accountID), 201)
        ).id
        try bench.require(bench.photo(session, of: renewed.person), 200)
        try bench.require(bench.liveness(session, of: renewed.person).answer, 200)
        let outcome = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.complete(session, csr: try InProcessDaemon.makeCSR()), 200))
        XCTAssertEqual([outcome.status, outcome.tier], ["normal", "signing"])
        let account = try bench.accountView(registered.accountID)
        XCTAssertEqual(account.status, "normal")
        XCTAssertEqual(account.documentExpiry, "2036-12-31", "the account now holds the renewed document")

        let history = try bench.decode(
            StatusView.self,
            try bench.require(
                bench.call("GET", "/v1/accounts/\(registered.accountID)/status-history", as: .operator), 200)
        ).history
        XCTAssertEqual(history.map(\.to), ["expired", "invalid", "normal"])
        XCTAssertEqual(history.map(\.reason), ["document-expired", "document-replaced", "reverified"])
        XCTAssertEqual(history.first?.actorRole, "system")
        XCTAssertTrue(try bench.usage(registered.accountID).records.contains { $0.event == "document-replaced" })
    }

    /// `passcode.max_attempts` wrong entries lock the passcode (2 here: each entry costs an scrypt derivation); the
    /// lock ends on the test clock, and a card-and-face session of purpose passcode-reset sets a new passcode at once.
    func testALockedPasscodeIsResetByACardAndFaceSession() throws {
        let bench = try InProcessDaemon(extraConfiguration: "[passcode]\nmax_attempts = 2")
        let (holder, registered) = try bench.newAccount("John_Simm")
        let account = registered.accountID
        try bench.setPasscode("1234", on: registered)
        func verify(_ passcode: String) throws -> (status: Int, check: PasscodeCheckResponse) {
            // As counter staff, who are told the reason (a kiosk learns only ok or failed).
            let response = try bench.call(
                "POST", "/v1/accounts/\(account)/passcode/verify",
                json: PasscodeBody(passcode: passcode), as: .operator)
            return (response.status, try bench.decode(PasscodeCheckResponse.self, response))
        }
        XCTAssertEqual(try verify("1234").status, 200)
        for left in (0..<2).reversed() {
            let wrong = try verify("0000")
            XCTAssertEqual(wrong.status, 403)
            XCTAssertEqual(wrong.check.code, "passcode-wrong")
            XCTAssertEqual(wrong.check.attemptsLeft, left)
        }
        let locked = try verify("1234")
        XCTAssertEqual(locked.status, 423, "even the right passcode is refused while locked")
        XCTAssertEqual(locked.check.code, "passcode-locked")
        bench.clock.advance(3601)
        XCTAssertEqual(try verify("1234").status, 200, "the first lock ends after passcode.lockout_seconds")

        try bench.lockPasscode(of: account)
        let session = try bench.matchedSession(holder, purpose: "passcode-reset", accountID: account)
        let reset = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/enrollments/\(session)/complete", json: EnrollmentCompleteBody(passcode: "8642")),
                200))
        XCTAssertEqual(reset.accountID, account)
        XCTAssertEqual(reset.status, "normal")
        XCTAssertNil(reset.certificateSerial, "a passcode reset issues no certificate")
        XCTAssertEqual(try verify("8642").status, 200)
        XCTAssertEqual(try verify("1234").check.code, "passcode-wrong")
        let record = try XCTUnwrap(try bench.usage(account).records.first { $0.event == "passcode-reset" })
        XCTAssertEqual(record.enrollmentId, session)
        XCTAssertEqual(record.detail, "new passcode")

        // Without a new passcode the reset only lifts the lock.
        try bench.lockPasscode(of: account)
        let unlock = try bench.matchedSession(holder, purpose: "passcode-reset", accountID: account)
        try bench.require(bench.complete(unlock), 200)
        XCTAssertEqual(try verify("8642").status, 200)
    }

    /// A passcode-reset session of an invalidated account also returns it to normal: it is a re-verification.
    func testAPasscodeResetIsAReverification() throws {
        let bench = try InProcessDaemon()
        let (holder, registered) = try bench.newAccount("John_Savage", signing: false)
        try bench.setStatus(registered.accountID, "invalid")
        let session = try bench.matchedSession(holder, purpose: "passcode-reset", accountID: registered.accountID)
        let outcome = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/enrollments/\(session)/complete", json: EnrollmentCompleteBody(passcode: "2468")),
                200))
        XCTAssertEqual([outcome.status, outcome.tier], ["normal", "basic"])
        let status = try bench.decode(
            PasscodeStatus.self,
            try bench.require(
                bench.call("GET", "/v1/accounts/\(registered.accountID)/passcode", as: .operator), 200))
        XCTAssertTrue(status.set)
    }
}
