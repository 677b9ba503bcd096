import DaemonCore
import EnrollAPIModel
import Foundation
import MRTD
import UnixHTTP
import XCTest

/// `identity-already-enrolled` hands the kiosk an opaque upgrade token bound to the session the card was read in,
/// never the account's id: the token upgrades that account from that session only, once, until the session ends.
final class UpgradeTokenTests: XCTestCase {
    private var bench: InProcessDaemon!

    override func setUpWithError() throws {
        bench = try InProcessDaemon()
    }

    override func tearDown() {
        bench = nil
    }

    /// A registration refused as already enrolled: the session and its token, checked to name no account.
    private func refusedRegistration(
        _ holder: TestHolder, account: String, as caller: InProcessDaemon.Caller = .kiosk
    ) throws -> (session: String, token: String) {
        let refused = try bench.start(holder, as: caller)
        XCTAssertEqual(refused.status, 409)
        XCTAssertFalse(String(decoding: refused.body, as: UTF8.self).contains(account), "no account id")
        let problem = try JSONDecoder().decode(Problem.self, from: Data(refused.body))
        XCTAssertEqual(problem.code, "identity-already-enrolled")
        return (try XCTUnwrap(problem.enrollmentId), try XCTUnwrap(problem.upgradeToken))
    }

    private func upgrade(
        _ session: String, _ token: String, as caller: InProcessDaemon.Caller = .kiosk
    ) throws -> HTTPResponse {
        try bench.call(
            "POST", "/v1/enrollments/\(session)/upgrade", json: EnrollmentUpgradeBody(upgradeToken: token),
            as: caller)
    }

    func testTheTokenUpgradesTheAccountFromItsOwnSessionOnlyAndOnce() throws {
        let (holder, registered) = try bench.newAccount("John_Salley", signing: false)
        try bench.insertCard(holder)
        let first = try refusedRegistration(holder, account: registered.accountID)
        let second = try refusedRegistration(holder, account: registered.accountID)
        XCTAssertNotEqual(first.token, second.token)

        // The refused session cannot register.
        XCTAssertEqual(bench.problem(try bench.complete(first.session)), "identity-already-enrolled")
        // Another kiosk does not see the session; a token of another session is refused and spends this one's.
        XCTAssertEqual(bench.problem(try upgrade(first.session, first.token, as: .otherKiosk)), "enrollment-not-found")
        let crossed = try upgrade(second.session, first.token)
        XCTAssertEqual(crossed.status, 403)
        XCTAssertEqual(bench.problem(crossed), "upgrade-token-invalid")
        XCTAssertEqual(
            bench.problem(try upgrade(second.session, second.token)), "upgrade-token-invalid",
            "a token is spent by any presentation")

        let upgraded = try bench.decode(
            EnrollmentView.self, try bench.require(upgrade(first.session, first.token), 200))
        XCTAssertEqual(upgraded.purpose, "upgrade")
        XCTAssertNil(upgraded.accountID, "the kiosk is not told the account")
        XCTAssertNil(try bench.sessionView(first.session).accountID)
        XCTAssertEqual(bench.problem(try upgrade(first.session, first.token)), "upgrade-token-invalid", "single use")

        try bench.require(bench.photo(first.session, of: holder.person), 200)
        try bench.require(bench.liveness(first.session, of: holder.person).answer, 200)
        let outcome = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(bench.complete(first.session, csr: try InProcessDaemon.makeCSR()), 200))
        XCTAssertEqual(outcome.accountID, registered.accountID, "the identity's own account was upgraded")
        XCTAssertEqual(outcome.tier, "signing")

        let records = try bench.usage(registered.accountID).records.filter { $0.event == "upgrade-token-used" }
        XCTAssertEqual(records.map(\.outcome), ["refused", "refused", "ok", "refused"])
        XCTAssertEqual(records.first?.detail, "upgrade-token-invalid")
        XCTAssertEqual(records.filter { $0.outcome == "ok" }.map(\.enrollmentId), [first.session])
    }

    /// A token dies with its session.
    func testTheTokenExpiresWithTheSession() throws {
        let (holder, registered) = try bench.newAccount("John_Salley", signing: false)
        try bench.insertCard(holder)
        let refused = try refusedRegistration(holder, account: registered.accountID)
        bench.clock.advance(bench.configuration.sessionTimeoutSeconds + 1)
        XCTAssertEqual(bench.problem(try upgrade(refused.session, refused.token)), "enrollment-expired")
    }

    /// A session upgraded with a token that then ends unfinished does not show the account in its stored view.
    func testAnUnfinishedTokenUpgradeNeverShowsTheAccount() throws {
        let (holder, registered) = try bench.newAccount("John_Salley", signing: false)
        try bench.insertCard(holder)
        let refused = try refusedRegistration(holder, account: registered.accountID)
        try bench.require(upgrade(refused.session, refused.token), 200)
        bench.clock.advance(bench.configuration.sessionTimeoutSeconds + 1)
        let stored = try bench.sessionView(refused.session)
        XCTAssertEqual(stored.state, "expired")
        XCTAssertNil(stored.accountID)
        XCTAssertEqual(try bench.sessionView(refused.session, as: .operator).purpose, "upgrade")
    }

    /// A card reaching the account by its personal number whose holder is someone else is refused at the card:
    /// no token, nothing of the account changed (the read would otherwise mark its document replaced).
    func testARegistrationWhoseHolderDiffersGetsNoTokenAndChangesNothing() throws {
        let personal = DG11(personalNumber: "5500112244")
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
        let refused = try bench.start(other)
        XCTAssertEqual(refused.status, 403)
        let problem = try JSONDecoder().decode(Problem.self, from: Data(refused.body))
        XCTAssertEqual(problem.code, "holder-mismatch")
        XCTAssertNil(problem.upgradeToken)
        XCTAssertNil(problem.enrollmentId)
        XCTAssertEqual(try bench.accountView(registered.accountID), before, "nothing of the account changed")
        XCTAssertEqual(
            try bench.usage(registered.accountID).records.last.map { [$0.event, $0.detail] },
            ["enrollment-refused", "holder-mismatch"])
    }

    /// A session that was not refused as already enrolled has nothing to upgrade.
    func testASessionWithoutAnOfferRefusesAnyToken() throws {
        let session = try bench.openSession(TestHolder.random("John_Shimkus"))
        let refused = try upgrade(session, String(repeating: "A", count: 43))
        XCTAssertEqual(refused.status, 403)
        XCTAssertEqual(bench.problem(refused), "upgrade-token-invalid")
    }
}
