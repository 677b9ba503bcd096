import EnrollAPIModel
import Foundation
@testable import Enrollment
import OpenSSLKit
@testable import Store
import XCTest

/// The usage chain against whoever can write the database (issue 18): a keyed chain names the record an attacker
/// rewrote even when the attacker recomputed the chain's hashes, and the heads the daemon signed into the journal
/// catch a chain rewritten as if it had never been keyed.
final class AuditChainTests: XCTestCase {
    private var path = ""
    private var store: SQLiteStore!
    private let actor = UsageActor(role: "kiosk", uid: 1000, channel: "kiosk-7")
    private let start = Date(timeIntervalSince1970: 1_790_000_000)

    override func setUpWithError() throws {
        path = NSTemporaryDirectory() + "enrolld-audit-\(UUID().uuidString).db"
    }

    override func tearDown() {
        store?.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Opens the store, keyed (the daemon's protector with a usage-chain key) or not, and writes six records.
    private func writeChain(keyed: Bool) throws {
        let protector = try DataProtector(
            identityKey: Array(repeating: 1, count: 32), dataKey: Array(repeating: 2, count: 32),
            usageChainKey: keyed ? Array(repeating: 3, count: 32) : nil)
        store = try SQLiteStore(path: path, protector: protector, synchronous: .normal)
        try store.migrate()
        for number in 1...6 {
            _ = try store.transaction { tx in
                try UsageChain.append(
                    tx, at: start.addingTimeInterval(Double(number)), accountID: nil,
                    event: "certificate-issued", actor: actor, detail: "serial \(number)")
            }
        }
    }

    private func verify(_ heads: [SignedChainHead] = []) throws -> AuditReport {
        try UsageChain.verify(store, heads: heads)
    }

    private func signer() throws -> ChainHeadSigner {
        try ChainHeadSigner(key: try PrivateKey.generate(.p256), host: "host-a")
    }

    private func signedHead(_ signer: ChainHeadSigner) throws -> SignedChainHead {
        let head = try XCTUnwrap(try UsageChain.currentHead(store))
        return try signer.sign(sequence: head.sequence, hash: head.hash, keyedFrom: head.keyedFrom, at: start)
    }

    /// The attacker: opens the database itself (no key), changes record `from`'s outcome and writes records
    /// `from`... again as a plain SHA-256 chain (what `audit verify` used to accept), with a matching head.
    /// `keepKeyedFlag` leaves the records marked keyed; `forgetKeying` also deletes the keying markers.
    private func rewriteUnkeyed(from: Int64, keepKeyedFlag: Bool, forgetKeying: Bool) throws {
        let attacker = try SQLiteStore(path: path, synchronous: .normal)
        defer { attacker.close() }
        let records = try attacker.transaction { tx throws(StoreError) in
            try tx.usageRecords(UsageQuery(afterSequence: 0, limit: 100))
        }
        let sql = try SQLiteConnection(path: path)
        if forgetKeying { try sql.execute("DELETE FROM settings WHERE name LIKE 'usage-chain-%'") }
        try sql.execute("DELETE FROM usage_records WHERE sequence >= \(from)")
        sql.close()
        var previous = records.first { $0.sequence == from - 1 }?.hash ?? UsageChain.genesis
        var rewritten: [UsageRecord] = []
        for var record in records where record.sequence >= from {
            if record.sequence == from { record.outcome = "refused" }
            var plain = record
            plain.keyed = false
            record.keyed = keepKeyedFlag && record.keyed
            record.previousHash = previous
            record.hash = try Digest.hash(previous + UsageChain.canonicalBytes(plain), using: .sha256)
            rewritten.append(record)
            previous = record.hash
        }
        for record in rewritten {
            // Returns a value: a Void typed-throws closure here crashes the 6.3 compiler's IRGen.
            _ = try attacker.transaction { tx throws(StoreError) -> Int64 in
                try tx.appendUsageRecord(record)
                try tx.setUsageChainHead(sequence: record.sequence, hash: record.hash)
                return record.sequence
            }
        }
    }

    func testBeforeAnUnkeyedChainWithItsHashesRecomputedPassesWithoutSignedHeads() throws {
        try writeChain(keyed: false)
        let signer = try signer()
        let head = try signedHead(signer)
        try rewriteUnkeyed(from: 3, keepKeyedFlag: false, forgetKeying: false)

        XCTAssertTrue(try verify().ok, "the old attack: an unkeyed chain cannot tell a recomputed one apart")
        let report = try verify([head])
        XCTAssertFalse(report.ok, "the head signed before the rewrite disagrees")
        XCTAssertEqual(report.heads?.map(\.result), ["disagrees"])
        XCTAssertEqual(report.firstDisagreement, 6)
    }

    func testAKeyedChainNamesTheRewrittenRecordWhoseHashesWereRecomputed() throws {
        try writeChain(keyed: true)
        XCTAssertTrue(try verify().ok)
        XCTAssertEqual(try verify().keyedFrom, 1)
        try rewriteUnkeyed(from: 3, keepKeyedFlag: true, forgetKeying: false)

        let report = try verify()
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.firstDisagreement, 3, "the rewritten record is named: its HMAC cannot be recomputed")
        XCTAssertEqual(report.problems.first?.kind, "edited")
    }

    func testAKeyedChainRewrittenWithoutItsFlagsIsNamedAtTheFirstUnkeyedRecord() throws {
        try writeChain(keyed: true)
        try rewriteUnkeyed(from: 3, keepKeyedFlag: false, forgetKeying: false)

        let report = try verify()
        XCTAssertEqual(report.firstDisagreement, 3)
        XCTAssertTrue(report.problems.contains { $0.sequence == 3 && $0.message.contains("unkeyed") })
    }

    func testSignedHeadsCatchAChainRewrittenAsIfItHadNeverBeenKeyed() throws {
        try writeChain(keyed: true)
        let signer = try signer()
        let head = try signedHead(signer)
        XCTAssertTrue(try verify([head]).ok)
        XCTAssertEqual(try verify([head]).heads?.map(\.result), ["matches"])
        try rewriteUnkeyed(from: 1, keepKeyedFlag: false, forgetKeying: true)

        XCTAssertTrue(try verify().ok, "without the journal, a whole chain rewritten unkeyed looks like a fresh one")
        let report = try verify([head])
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.firstDisagreement, 1, "the signed head says the chain is keyed from record 1")
        XCTAssertEqual(report.heads?.map(\.result), ["disagrees"])
    }

    func testATruncatedChainIsFoundByTheSignedHead() throws {
        try writeChain(keyed: true)
        let head = try signedHead(try signer())
        let page = try store.transaction { tx throws(StoreError) in
            try tx.usageRecords(UsageQuery(afterSequence: 3, limit: 1))
        }
        let fourth = try XCTUnwrap(page.first)
        let sql = try SQLiteConnection(path: path)
        try sql.execute("DELETE FROM usage_records WHERE sequence >= 5")
        try sql.execute("UPDATE usage_chain_head SET sequence = 4, hash = x'\(SignedChainHead.hex(fourth.hash))'")
        sql.close()

        XCTAssertTrue(try verify().ok, "the database alone cannot tell that its newest records went")
        let report = try verify([head])
        XCTAssertEqual(report.firstDisagreement, 5)
        XCTAssertEqual(report.heads?.map(\.result), ["missing"])
    }

    func testHeadLinesRoundTripAndOnlyTrustedSignaturesCount() throws {
        try writeChain(keyed: true)
        let signer = try signer()
        let head = try signedHead(signer)
        let journal = "Dec 03 17:00:00 host-a enrolld[812]: " + head.line
        XCTAssertEqual(SignedChainHead(line: journal), head)
        XCTAssertNil(SignedChainHead(line: "enrolld-audit-head v1 host=a seq=x"))

        let trust = try ChainHeadTrust([try signer.key.publicKey()])
        var forged = head
        forged.sequence = 5
        let stranger = try self.signer()
        let foreign = try stranger.sign(sequence: 6, hash: head.hash, keyedFrom: 1, at: start)
        let (trusted, untrusted) = trust.check([head, forged, foreign])
        XCTAssertEqual(trusted, [head])
        XCTAssertEqual(untrusted, [forged, foreign], "an edited head and one from an unknown key are not believed")
    }
}
