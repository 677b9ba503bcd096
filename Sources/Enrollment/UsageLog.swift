import EnrollAPIModel
import Foundation
import OpenSSLKit
import Store

/// Who did something, and where: the caller's role (from its SO_PEERCRED uid and groups and the `[roles]`
/// configuration: kiosk, operator or admin; `system` for the daemon itself), its uid, and the kiosk or counter
/// it names in `X-Enrolld-Channel`.
public struct UsageActor: Sendable, Equatable, Codable {
    public var role: String
    public var uid: UInt32
    public var channel: String

    public init(role: String, uid: UInt32, channel: String) {
        self.role = role
        self.uid = uid
        self.channel = channel
    }

    /// The daemon itself (expiry sweep, start-up recovery).
    public static let system = UsageActor(role: "system", uid: 0, channel: "system")

    /// Operators and admins act for others at a counter.
    public var isStaff: Bool { role == "operator" || role == "admin" }
}

/// The usage log's hash chain.
///
/// One global chain over every usage record, ordered by `sequence` (1, 2, 3, ... without gaps):
/// `hash = SHA-256(previousHash || canonical(record))`, the first record's `previousHash` 32 zero bytes.
/// `canonical` is a version tag and every field but the hashes, each as a 4-byte big-endian length and its
/// UTF-8 bytes (dates as decimal milliseconds since 1970, absent identifiers as empty strings), so no two
/// different records encode alike. The store also keeps the head (last sequence and hash), so deleting the
/// newest records is detected too. A global chain (rather than one per account) also catches a record moved
/// between accounts and keeps appending O(1).
public enum UsageChain {
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The bytes a record's hash covers, besides the previous hash.
    public static func canonicalBytes(_ record: UsageRecord) -> [UInt8] {
        let fields = ["enrolld-usage-v1", String(record.sequence), String(record.at.timeIntervalSince1970Milliseconds),
                      record.accountID?.uuidString ?? "", record.enrollmentID?.uuidString ?? "", record.event,
                      record.channel, record.actorRole, String(record.actorUID), record.outcome, record.detail]
        var bytes: [UInt8] = []
        for field in fields {
            let utf8 = Array(field.utf8)
            let count = UInt32(clamping: utf8.count)
            bytes += [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)]
            bytes += utf8
        }
        return bytes
    }

    /// SHA-256 over the previous hash and the record's canonical bytes.
    public static func hash(_ record: UsageRecord, previous: [UInt8]) throws(StoreError) -> [UInt8] {
        do {
            return try Digest.hash(previous + canonicalBytes(record), using: .sha256)
        } catch {
            throw .aborted("SHA-256 failed: \(error)")
        }
    }

    /// Appends a record to the chain inside `tx` (the caller's state change and its record commit together).
    @discardableResult
    public static func append(_ tx: any StoreTransaction, at: Date, accountID: UUID?, enrollmentID: UUID? = nil,
                              event: String, actor: UsageActor, outcome: String = "ok",
                              detail: String = "") throws(StoreError) -> UsageRecord {
        let last = try tx.lastUsageRecord()
        // Milliseconds: the store's precision, so the hash verifies after a round trip.
        let stamp = Date(timeIntervalSince1970: TimeInterval(at.timeIntervalSince1970Milliseconds) / 1000)
        var record = UsageRecord(sequence: (last?.sequence ?? 0) + 1, at: stamp, accountID: accountID,
                                 enrollmentID: enrollmentID, event: event, channel: actor.channel,
                                 actorRole: actor.role, actorUID: actor.uid, outcome: outcome, detail: detail,
                                 previousHash: last?.hash ?? genesis, hash: [])
        record.hash = try hash(record, previous: record.previousHash)
        try tx.appendUsageRecord(record)
        try tx.setUsageChainHead(sequence: record.sequence, hash: record.hash)
        return record
    }

    /// Walks the whole chain and names every broken record: `edited` (its hash does not match its content),
    /// `inserted` (its link to the previous record does not match, or it lies beyond the recorded head),
    /// `deleted` (a gap in the sequence, or records missing before the recorded head).
    public static func verify(_ store: any Store, pageSize: Int = 1000) throws(StoreError) -> AuditReport {
        var report = AuditReport(ok: true, records: 0, headSequence: 0, problems: [])
        let head = try store.transaction { tx throws(StoreError) in try tx.usageChainHead() }
        var previous: UsageRecord?
        var after: Int64 = 0
        while true {
            let page = try store.transaction { tx throws(StoreError) in
                try tx.usageRecords(UsageQuery(afterSequence: after, limit: pageSize))
            }
            for record in page {
                report.records += 1
                let expected = (previous?.sequence ?? 0) + 1
                let expectedLink = previous?.hash ?? genesis
                if let head, record.sequence > head.sequence {
                    report.add(record.sequence, "inserted",
                               "record \(record.sequence) lies beyond the chain head (\(head.sequence)): it was inserted")
                } else if record.sequence > expected {
                    let missing = expected == record.sequence - 1 ? "record \(expected) was"
                        : "records \(expected)-\(record.sequence - 1) were"
                    report.add(expected, "deleted", "\(missing) deleted (sequence gap before record \(record.sequence))")
                } else if record.previousHash != expectedLink {
                    report.add(record.sequence, "inserted",
                               "record \(record.sequence) does not link to record \(expected - 1): it was inserted "
                               + "(or record \(expected - 1) rewritten with its hash)")
                } else if (try? hash(record, previous: record.previousHash)) != record.hash {
                    report.add(record.sequence, "edited",
                               "record \(record.sequence) was edited: its content does not match its hash")
                }
                previous = record
            }
            guard let last = page.last, page.count == pageSize else { break }
            after = last.sequence
        }
        report.headSequence = head?.sequence ?? 0
        let lastSequence = previous?.sequence ?? 0
        if let head, lastSequence < head.sequence {
            let first = lastSequence + 1
            let missing = first == head.sequence ? "record \(first) was" : "records \(first)-\(head.sequence) were"
            report.add(first, "deleted", "\(missing) deleted (the chain head is record \(head.sequence))")
        } else if let head, let previous, previous.sequence == head.sequence, previous.hash != head.hash {
            report.add(previous.sequence, "edited", "record \(previous.sequence) does not match the chain head")
        }
        return report
    }
}

extension Date {
    /// Milliseconds since 1970 (the store's precision), clamped.
    var timeIntervalSince1970Milliseconds: Int64 {
        let value = (timeIntervalSince1970 * 1000).rounded()
        if let exact = Int64(exactly: value) { return exact }
        return value < 0 ? Int64.min : Int64.max
    }
}

extension UsageRecordView {
    public init(_ record: UsageRecord) {
        self.init(sequence: record.sequence, at: ISO8601DateFormatter().string(from: record.at),
                  accountId: record.accountID?.uuidString, enrollmentId: record.enrollmentID?.uuidString,
                  event: record.event, channel: record.channel, actorRole: record.actorRole, actorUid: record.actorUID,
                  outcome: record.outcome, detail: record.detail)
    }
}

extension AuditReport {
    mutating func add(_ sequence: Int64, _ kind: String, _ message: String) {
        ok = false
        problems.append(Problem(sequence: sequence, kind: kind, message: message))
    }
}
