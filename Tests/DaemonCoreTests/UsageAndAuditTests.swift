import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// The usage log of an account, page by page, and the audit of the hash chain over every record.
final class UsageAndAuditTests: XCTestCase {
    func testUsagePagesFollowTheCursorAndTheTimeWindow() throws {
        let bench = try InProcessDaemon()
        let (_, outcome) = try bench.newAccount("John_Salley")
        let account = outcome.accountID
        let all = try bench.usage(account).records
        XCTAssertEqual(all.count, 6)
        XCTAssertEqual(all.map(\.sequence), all.map(\.sequence).sorted(), "oldest first")

        let first = try bench.usage(account, query: [("limit", "2")])
        XCTAssertEqual(first.records, Array(all.prefix(2)))
        XCTAssertEqual(first.next, all[1].sequence, "a full page names the cursor of the next")
        let second = try bench.usage(account, query: [("limit", "2"), ("after", String(try XCTUnwrap(first.next)))])
        XCTAssertEqual(second.records, Array(all[2..<4]))
        let last = try bench.usage(account, query: [("limit", "4"), ("after", String(try XCTUnwrap(second.next)))])
        XCTAssertEqual(last.records, Array(all[4...]))
        XCTAssertNil(last.next, "a short page is the last")

        // Records carry the test clock's time: a window after it is empty, one around it holds them all.
        bench.clock.advance(3600)
        try bench.setStatus(account, "invalid")
        let iso = ISO8601DateFormatter()
        let later = iso.string(from: bench.clock.now.addingTimeInterval(-60))
        let recent = try bench.usage(account, query: [("since", later)]).records
        XCTAssertEqual(recent.map(\.event), ["status-changed"])
        let earlier = try bench.usage(account, query: [("until", later)]).records
        XCTAssertEqual(earlier, all)
        XCTAssertEqual(try bench.usage(account, query: [("since", "2999-01-01")]).records, [])
        // Another account's records are not in this account's pages.
        let other = try bench.newAccount("John_Simm").outcome
        let theirs = try bench.usage(other.accountID).records
        XCTAssertFalse(theirs.contains { all.contains($0) })
        XCTAssertTrue(
            theirs.allSatisfy { $0.accountId == other.accountID || $0.enrollmentId == other.enrollmentID },
            "the account's and its sessions' (a registration reads the card before the account exists)")
    }

    func testTheAuditChainIsIntactAndNamesAnEditedRecord() throws {
        let bench = try InProcessDaemon()
        _ = try bench.newAccount("John_Salley")
        _ = try bench.newAccount("John_Savage", signing: false)
        let intact = try bench.decode(
            AuditReport.self,
            try bench.require(
                bench.call("POST", "/v1/audit/verify", as: .operator), 200))
        XCTAssertTrue(intact.ok, "\(intact.problems)")
        XCTAssertEqual(intact.records, 8)
        XCTAssertEqual(intact.headSequence, 8)

        try bench.sql("UPDATE usage_records SET outcome = 'refused' WHERE sequence = 3")
        let broken = try bench.decode(
            AuditReport.self,
            try bench.require(
                bench.call("POST", "/v1/audit/verify", as: .operator), 200))
        XCTAssertFalse(broken.ok)
        XCTAssertEqual(broken.problems.map(\.sequence), [3])
        XCTAssertEqual(broken.problems.map(\.kind), ["edited"])
    }
}
