import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// An operator sets an identity invalid (document reported lost) or cancelled (card cancelled, holder deceased):
/// cancellation is final, revokes every certificate and ends the device binding.
final class AccountStatusTests: XCTestCase {
    func testAnOperatorCancelsAnIdentityForGood() throws {
        let bench = try InProcessDaemon()
        let holder = TestHolder.random("John_Savage")
        let session = try bench.matchedSession(holder)
        let outcome = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/enrollments/\(session)/complete",
                    json: EnrollmentCompleteBody(
                        csr: try InProcessDaemon.makeCSR(), deviceId: "phone-a",
                        devicePublicKey: try InProcessDaemon.makeDeviceKey())), 200))
        let account = outcome.accountID
        let events = bench.recordEvents()

        let cancelled = try bench.decode(
            StatusView.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/accounts/\(account)/status",
                    json: StatusChangeBody(status: "cancelled", reason: "holder deceased"), as: .operator,
                    headers: [("X-Enrolld-Channel", "counter-3")]), 200))
        XCTAssertEqual(cancelled.status, "cancelled")
        let change = try XCTUnwrap(cancelled.history.last)
        XCTAssertEqual(
            [change.from, change.to, change.reason, change.actorRole, change.channel],
            ["normal", "cancelled", "holder deceased", "operator", "counter-3"])
        XCTAssertEqual(change.actorUid, 2101)
        XCTAssertTrue(bench.drain(events).contains { $0.type == .accountStatusChanged && $0.status == "cancelled" })

        let view = try bench.accountView(account)
        XCTAssertEqual(view.status, "cancelled")
        XCTAssertEqual(view.certificates.map(\.state), ["revoked"])
        XCTAssertEqual(view.certificates.first?.revocationReason, "cessation-of-operation", "deceased")
        let devices = try bench.decode(
            [DeviceView].self,
            try bench.require(
                bench.call("GET", "/v1/accounts/\(account)/devices", as: .operator), 200))
        XCTAssertEqual(devices.map(\.active), [false])
        XCTAssertEqual(devices.first?.unbindReason, "cancelled")

        // Final: no status change, no new enrollment, no upgrade of it.
        let again = try bench.call(
            "POST", "/v1/accounts/\(account)/status",
            json: StatusChangeBody(status: "invalid", reason: "mistake"), as: .operator)
        XCTAssertEqual(bench.problem(again), "account-cancelled")
        try bench.insertCard(holder)
        XCTAssertEqual(bench.problem(try bench.start(holder)), "account-cancelled")
        XCTAssertEqual(
            bench.problem(try bench.start(holder, purpose: "upgrade", accountID: account)),
            "account-cancelled")
    }

    func testInvalidatingKeepsCertificatesUntilTheHolderReverifiesOrAnOperatorRevokes() throws {
        let bench = try InProcessDaemon()
        let (_, outcome) = try bench.newAccount("John_Shimkus")
        let view = try bench.setStatus(outcome.accountID, "invalid", reason: "card reported lost")
        XCTAssertEqual(view.history.map(\.to), ["invalid"])
        let account = try bench.accountView(outcome.accountID)
        XCTAssertEqual(account.status, "invalid")
        XCTAssertEqual(account.certificates.map(\.state), ["issued"])
        XCTAssertEqual(
            try bench.setStatus(outcome.accountID, "invalid").history.count, 1,
            "setting the same status again changes nothing")
        // A cancelled account's certificates are revoked with privilegeWithdrawn unless the holder died.
        let cancelled = try bench.setStatus(outcome.accountID, "cancelled", reason: "card cancelled by issuer")
        XCTAssertEqual(cancelled.history.map(\.to), ["invalid", "cancelled"])
        XCTAssertEqual(
            try bench.accountView(outcome.accountID).certificates.first?.revocationReason,
            "privilege-withdrawn")
    }
}
