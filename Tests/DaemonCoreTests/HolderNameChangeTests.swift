import DaemonCore
import EnrollAPIModel
import Foundation
import MRTD
import UnixHTTP
import XCTest

/// A changed surname (after marriage) is `holder-mismatch` at a kiosk and accepted at the counter: an operator reads
/// the holder's new document and gives the reason; birth date and sex must still match.
final class HolderNameChangeTests: XCTestCase {
    private var bench: InProcessDaemon!
    private let personal = DG11(personalNumber: "8800112233")
    private var owner: TestHolder!
    private var account: String!

    override func setUpWithError() throws {
        bench = try InProcessDaemon()
        owner = TestHolder.random("John_Schneider")
        try bench.insertCard(owner) { $0.dg11 = self.personal }
        let session = try bench.decode(EnrollmentView.self, try bench.require(bench.start(owner), 201)).id
        account = try bench.decode(EnrollmentOutcome.self, try bench.require(bench.complete(session), 200)).accountID
    }

    override func tearDown() {
        bench = nil
    }

    /// The holder's new document: the same person and personal number under another surname.
    private func married() throws -> TestHolder {
        var renamed = owner!
        renamed.surname = "MARRIED"
        renamed.documentNumber = "N" + String(owner.documentNumber.dropFirst())
        renamed.expiryDate = "361231"
        try bench.insertCard(renamed) { $0.dg11 = self.personal }
        return renamed
    }

    private func approve(
        _ holder: TestHolder, reason: String = "marriage certificate seen",
        as caller: InProcessDaemon.Caller = .operator
    ) throws -> HTTPResponse {
        try bench.call(
            "POST", "/v1/accounts/\(account!)/holder-name",
            json: HolderNameChangeBody(reader: InProcessDaemon.reader, accessKey: holder.accessKey, reason: reason),
            as: caller)
    }

    func testAMarriedHoldersNewSurnameIsAcceptedByAnOperatorWithAReason() throws {
        let renamed = try married()
        XCTAssertEqual(
            bench.problem(try bench.start(renamed, purpose: "upgrade", accountID: account)), "holder-mismatch",
            "a kiosk refuses the changed surname")
        XCTAssertEqual(bench.problem(try approve(renamed, as: .kiosk)), "role-required")
        XCTAssertEqual(bench.problem(try approve(renamed, reason: " ")), "reason-required")

        let view = try bench.decode(AccountView.self, try bench.require(approve(renamed), 200))
        XCTAssertEqual(view.surname, "MARRIED")
        let record = try XCTUnwrap(try bench.usage(account).records.last)
        XCTAssertEqual(
            [record.event, record.outcome, record.detail], ["holder-name-changed", "ok", "marriage certificate seen"])
        XCTAssertEqual(record.actorRole, "operator")
        XCTAssertEqual(bench.problem(try approve(renamed)), "holder-name-unchanged", "approved once")

        // The kiosk now upgrades with the new document.
        let session = try bench.openSession(renamed, purpose: "upgrade", accountID: account, insert: false)
        XCTAssertEqual(try bench.sessionView(session).purpose, "upgrade")
    }

    func testAnotherBirthDateOrAnotherIdentityIsNotANameChange() throws {
        var other = try married()
        other.birthDate = "900101"
        try bench.insertCard(other) { $0.dg11 = self.personal }
        let before = try bench.accountView(account)
        let refused = try approve(other)
        XCTAssertEqual(refused.status, 403)
        XCTAssertEqual(bench.problem(refused), "holder-mismatch")
        XCTAssertEqual(try bench.accountView(account), before, "nothing changed")
        XCTAssertEqual(
            try bench.usage(account).records.last.map { [$0.event, $0.outcome, $0.detail] },
            ["holder-name-changed", "refused", "holder-mismatch"])

        let stranger = TestHolder.random("John_Salley")
        try bench.insertCard(stranger)
        XCTAssertEqual(bench.problem(try approve(stranger)), "identity-mismatch")
        XCTAssertEqual(try bench.accountView(account), before)
    }
}
