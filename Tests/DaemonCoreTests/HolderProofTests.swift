import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// A kiosk reads or changes an account only for its holder, proven by a card-and-face session of that account the
/// same kiosk completed in the last minutes (`X-Enrolld-Enrollment`) or by the holder's passcode
/// (`X-Enrolld-Passcode`); operators need no proof.
final class HolderProofTests: XCTestCase {
    private var bench: InProcessDaemon!
    private var holder: EnrollmentOutcome!

    override func setUpWithError() throws {
        // Two wrong entries lock the passcode here (each entry costs an scrypt derivation).
        bench = try InProcessDaemon(extraConfiguration: "[passcode]\nmax_attempts = 2")
        holder = try bench.newAccount("John_Salley").outcome
    }

    override func tearDown() {
        bench = nil
    }

    private func account(
        as caller: InProcessDaemon.Caller = .kiosk, of id: String? = nil,
        proof: [(String, String)]
    ) -> HTTPResponse {
        bench.call("GET", "/v1/accounts/\(id ?? holder.accountID)", as: caller, headers: proof)
    }

    func testTheSessionThatEnrolledTheHolderProvesThemForAFewMinutes() throws {
        XCTAssertEqual(bench.problem(account(proof: [])), "holder-proof-required")
        let proven = try bench.decode(AccountView.self, account(proof: [("X-Enrolld-Enrollment", holder.enrollmentID)]))
        XCTAssertEqual(proven.id, holder.accountID)
        XCTAssertEqual(account(as: .operator, proof: []).status, 200, "an operator needs no proof")

        bench.clock.advance(16 * 60)
        let stale = account(proof: [("X-Enrolld-Enrollment", holder.enrollmentID)])
        XCTAssertEqual(stale.status, 403)
        XCTAssertEqual(bench.problem(stale), "holder-proof-failed", "the proof lasts reverification minutes")
    }

    func testASessionProvesOnlyItsOwnAccountAndOnlyToTheKioskThatRanIt() throws {
        let other = try bench.newAccount("John_Savage").outcome
        let crossed = account(of: other.accountID, proof: [("X-Enrolld-Enrollment", holder.enrollmentID)])
        // The service's reason is reverification-required; a kiosk learns only that the proof failed (issue 18).
        XCTAssertEqual(bench.problem(crossed), "holder-proof-failed")
        let elsewhere = account(as: .otherKiosk, proof: [("X-Enrolld-Enrollment", holder.enrollmentID)])
        XCTAssertEqual(bench.problem(elsewhere), "holder-proof-failed", "another kiosk's session proves nothing")
        XCTAssertEqual(
            bench.problem(account(proof: [("X-Enrolld-Enrollment", UUID().uuidString)])),
            "holder-proof-failed")
        XCTAssertEqual(bench.problem(account(proof: [("X-Enrolld-Enrollment", "not-a-session")])), "invalid-id")
    }

    func testThePasscodeProvesTheHolderAndAWrongOneCountsTowardsTheLock() throws {
        try bench.setPasscode("4321", on: holder)
        XCTAssertEqual(account(proof: [("X-Enrolld-Passcode", "4321")]).status, 200)
        let wrong = account(proof: [("X-Enrolld-Passcode", "1111")])
        XCTAssertEqual(wrong.status, 403)
        XCTAssertEqual(bench.problem(wrong), "holder-proof-failed", "a kiosk learns no reason")
        let status = try bench.decode(
            PasscodeStatus.self,
            try bench.require(
                bench.call("GET", "/v1/accounts/\(holder.accountID)/passcode", as: .operator), 200))
        XCTAssertEqual(status.failedAttempts, 1, "a wrong proof is an entry like any other")
        try bench.lockPasscode(of: holder.accountID)
        XCTAssertEqual(bench.problem(account(proof: [("X-Enrolld-Passcode", "4321")])), "holder-proof-failed")
    }

    func testEveryHolderRouteTakesTheProof() throws {
        let proof = [("X-Enrolld-Enrollment", holder.enrollmentID)]
        let id = holder.accountID
        for path in [
            "/v1/accounts/\(id)", "/v1/accounts/\(id)/certificates", "/v1/accounts/\(id)/devices",
            "/v1/accounts/\(id)/status-history", "/v1/accounts/\(id)/usage", "/v1/accounts/\(id)/passcode",
        ] {
            XCTAssertEqual(bench.problem(bench.call("GET", path)), "holder-proof-required", path)
            XCTAssertEqual(bench.call("GET", path, headers: proof).status, 200, path)
        }
        let contact = try bench.call(
            "PUT", "/v1/accounts/\(id)/contact", json: ["contact": ["email": "a@b.example"]],
            headers: proof)
        XCTAssertEqual(contact.status, 204)
    }
}
