import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// The counter finds an account by tapping the holder's card (`POST /v1/accounts/lookup`): a genuine card of an
/// enrolled identity answers that account; only an
/// operator may ask.
final class AccountLookupTests: XCTestCase {
    func testAGenuineCardOfAnEnrolledIdentityFindsItsAccount() throws {
        let bench = try InProcessDaemon()
        let (holder, outcome) = try bench.newAccount("John_Savage", signing: false)
        let other = try bench.newAccount("John_Salley", signing: false)
        try bench.insertCard(holder)
        let events = bench.recordEvents()

        let found = try bench.decode(
            AccountLookup.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/accounts/lookup",
                    json: AccountLookupBody(reader: InProcessDaemon.reader, accessKey: holder.accessKey),
                    as: .operator), 200))
        XCTAssertEqual(found, AccountLookup(accountId: outcome.accountID, tier: "basic", status: "normal"))
        XCTAssertNotEqual(found.accountId, other.outcome.accountID)
        let kinds = bench.drain(events).map(\.type)
        XCTAssertTrue(
            kinds.contains(.cardReadStarted) && kinds.contains(.cardReadCompleted), "a card read like any other")
    }

    func testAKioskMayNotLookUpAccountsByCard() throws {
        let bench = try InProcessDaemon()
        let (holder, _) = try bench.newAccount("John_Savage", signing: false)
        try bench.insertCard(holder)
        let events = bench.recordEvents()
        let answer = try bench.call(
            "POST", "/v1/accounts/lookup",
            json: AccountLookupBody(reader: InProcessDaemon.reader, accessKey: holder.accessKey))
        XCTAssertEqual(answer.status, 403)
        XCTAssertEqual(try bench.decode(Problem.self, answer).code, "role-required")
        XCTAssertFalse(bench.drain(events).contains { $0.type == .cardReadStarted }, "refused before the card is read")
    }
}
