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
/// One global chain over every usage record, ordered by `sequence` (1, 2, 3, ... without gaps). A record's hash
/// covers the previous record's hash and its own canonical bytes:
///
/// - **keyed** (every record since the chain was keyed): `HMAC-SHA-256(usage-chain key, previousHash ||
///   canonical_v2(record))`. The key lives in `<state>/keys/usage-chain.key`, not in the database: whoever can write
///   the database can change a record but cannot compute its new hash, so `verify` names exactly that record;
/// - **unkeyed** (records written before the chain was keyed): `SHA-256(previousHash || canonical_v1(record))`.
///
/// `canonical` is a version tag and every field but the hashes, each as a 4-byte big-endian length and its UTF-8
/// bytes (dates as decimal milliseconds since 1970, absent identifiers as empty strings), so no two different
/// records encode alike. The store also keeps the head (last sequence and hash), so deleting the newest records is
/// detected too; the daemons' signed heads in the journal (`SignedChainHead`) catch what a database writer could
/// still do on its own: truncate, or rewrite the whole chain as if it had never been keyed.
///
/// Keying an existing chain (the migration): the first keyed record's HMAC covers the last unkeyed record's hash, so
/// from then on the unkeyed records are anchored too — rewriting one breaks the link into the keyed part. What was
/// rewritten *before* the chain was keyed (with the unkeyed hashes recomputed) is anchored as it stood and cannot be
/// told apart; a chain that was already broken stays reported as broken. The settings `usage-chain-keyed-from` and
/// `usage-chain-key-check` record where keying started and which key it is.
public enum UsageChain {
    public static let genesis = [UInt8](repeating: 0, count: 32)
    /// Settings (see `StoreTransaction.setting`).
    public static let keyedFromSetting = "usage-chain-keyed-from"
    public static let keyCheckSetting = "usage-chain-key-check"

    /// The bytes a record's hash covers, besides the previous hash (`enrolld-usage-v2` for keyed records).
    public static func canonicalBytes(_ record: UsageRecord) -> [UInt8] {
        let fields = [
            record.keyed ? "enrolld-usage-v2" : "enrolld-usage-v1", String(record.sequence),
            String(record.at.timeIntervalSince1970Milliseconds), record.accountID?.uuidString ?? "",
            record.enrollmentID?.uuidString ?? "", record.event, record.channel, record.actorRole,
            String(record.actorUID), record.outcome, record.detail,
        ]
        var bytes: [UInt8] = []
        for field in fields {
            let utf8 = Array(field.utf8)
            let count = UInt32(clamping: utf8.count)
            bytes += [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)]
            bytes += utf8
        }
        return bytes
    }

    /// The record's hash as its `keyed` flag says: HMAC under the store's chain key, or plain SHA-256. Nil for a keyed
    /// record when the store has no chain key.
    public static func hash(
        _ record: UsageRecord, previous: [UInt8],
        in tx: any StoreTransaction
    ) throws(StoreError) -> [UInt8]? {
        let message = previous + canonicalBytes(record)
        if record.keyed { return try tx.usageChainMAC(message) }
        do {
            return try Digest.hash(message, using: .sha256)
        } catch {
            throw .aborted("SHA-256 failed: \(error)")
        }
    }

    /// Where the keyed chain starts (nil: never keyed).
    public static func keyedFrom(_ tx: any StoreTransaction) throws(StoreError) -> Int64? {
        try tx.setting(keyedFromSetting).flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
    }

    /// Keys the chain from the next record on when this store has a chain key and the chain is not keyed yet (the
    /// migration of an existing chain: nothing is rewritten, the first keyed record anchors the rest); refuses a
    /// store whose chain was keyed under another key, or whose keying marker went missing. Called at start and by
    /// the first keyed append. Returns the sequence the keyed chain starts at (nil: no key, unkeyed chain).
    @discardableResult
    public static func prepareKeying(_ tx: any StoreTransaction, keyCheck: [UInt8]?) throws(StoreError) -> Int64? {
        let storedCheck = try tx.setting(keyCheckSetting)
        let keyedFrom = try Self.keyedFrom(tx)
        guard let keyCheck else {
            if keyedFrom != nil || storedCheck != nil {
                throw .protection(
                    "the usage chain is keyed but this daemon has no usage-chain key: restore "
                        + "keys/usage-chain.key (a fleet's hosts share it)")
            }
            return nil
        }
        if let storedCheck {
            guard storedCheck == keyCheck else {
                throw .protection(
                    "this host's usage-chain key (keys/usage-chain.key) is not the one the chain was "
                        + "keyed with: copy the fleet's key from a host already in the fleet")
            }
            guard let keyedFrom else {
                throw .protection(
                    "the usage chain was keyed but its marker (where keying started) is gone from the "
                        + "database: records may have been rewritten; run enrollctl audit verify with the "
                        + "signed heads from the journal")
            }
            return keyedFrom
        }
        let start = (try tx.lastUsageRecord()?.sequence ?? 0) + 1
        try tx.saveSetting(keyCheckSetting, value: keyCheck)
        try tx.saveSetting(keyedFromSetting, value: Array(String(start).utf8))
        return start
    }

    /// Appends a record to the chain inside `tx` (the caller's state change and its record commit together). Keyed
    /// when the store has the chain key; an unkeyed record never follows a keyed one.
    @discardableResult
    public static func append(
        _ tx: any StoreTransaction, at: Date, accountID: UUID?, enrollmentID: UUID? = nil,
        event: String, actor: UsageActor, outcome: String = "ok",
        detail: String = ""
    ) throws(StoreError) -> UsageRecord {
        let last = try tx.lastUsageRecord()
        let probe = try tx.usageChainMAC(Array("enrolld usage chain key check v1".utf8))
        if last?.keyed != true {
            // Not keyed yet, or never: the first keyed append keys the chain (or refuses a key that is not the
            // chain's); without a key, a keyed chain refuses to go on unkeyed.
            let check = try probe.map { mac throws(StoreError) in
                do { return try Digest.hash(mac, using: .sha256) } catch { throw .aborted("SHA-256 failed: \(error)") }
            }
            try prepareKeying(tx, keyCheck: check)
        } else if probe == nil {
            throw .protection(
                "the usage chain is keyed but this daemon has no usage-chain key: restore "
                    + "keys/usage-chain.key")
        }
        // Milliseconds: the store's precision, so the hash verifies after a round trip.
        let stamp = Date(timeIntervalSince1970: TimeInterval(at.timeIntervalSince1970Milliseconds) / 1000)
        var record = UsageRecord(
            sequence: (last?.sequence ?? 0) + 1, at: stamp, accountID: accountID,
            enrollmentID: enrollmentID, event: event, channel: actor.channel,
            actorRole: actor.role, actorUID: actor.uid, outcome: outcome, detail: detail,
            previousHash: last?.hash ?? genesis, hash: [], keyed: probe != nil)
        guard let hash = try hash(record, previous: record.previousHash, in: tx) else {
            throw .protection("no usage-chain key")
        }
        record.hash = hash
        try tx.appendUsageRecord(record)
        try tx.setUsageChainHead(sequence: record.sequence, hash: record.hash)
        return record
    }

    /// A record with the hash its content gives (nil: keyed, and no key to compute it).
    struct CheckedRecord {
        var record: UsageRecord
        var computed: [UInt8]?
    }

    static func headKey(_ signed: SignedChainHead) -> String { "\(signed.host) \(signed.sequence) \(signed.at)" }

    /// The chain's head as of now, for signing: last sequence, its hash, and where keying started.
    public static func currentHead(_ store: any Store) throws(StoreError) -> ChainHead? {
        try store.transaction { tx throws(StoreError) -> ChainHead? in
            guard let head = try tx.usageChainHead() else { return nil }
            return ChainHead(sequence: head.sequence, hash: head.hash, keyedFrom: try Self.keyedFrom(tx))
        }
    }

    /// The last record's sequence and hash, and where the keyed chain starts.
    public struct ChainHead: Sendable, Equatable {
        public var sequence: Int64
        public var hash: [UInt8]
        public var keyedFrom: Int64?
    }

    /// Walks the whole chain and names every broken record: `edited` (its hash does not match its content, or it is
    /// keyed or unkeyed against where keying started), `inserted` (its link to the previous record does not match, or
    /// it lies beyond the recorded head), `deleted` (a gap in the sequence, or records missing before the recorded
    /// head).
    ///
    /// `heads` are signed chain heads whose signature a trusted key checked: each must find its record with the same
    /// hash (else `disagrees`, or `missing` when the chain no longer reaches it), and their `keyedFrom` overrides the
    /// database's marker (which a database writer could move). `firstDisagreement` is the lowest record named.
    public static func verify(
        _ store: any Store, heads: [SignedChainHead] = [], untrusted: [SignedChainHead] = [],
        pageSize: Int = 1000
    ) throws(StoreError) -> AuditReport {
        var report = AuditReport(ok: true, records: 0, headSequence: 0, problems: [])
        let head = try store.transaction { tx throws(StoreError) in try tx.usageChainHead() }
        let storedKeyedFrom = try store.transaction { tx throws(StoreError) in try Self.keyedFrom(tx) }
        let keyAvailable = try store.transaction { tx throws(StoreError) in try tx.usageChainMAC([]) != nil }
        let signedKeyedFrom = Set(heads.compactMap(\.keyedFrom))
        var chainKeyedFrom = storedKeyedFrom
        if let signed = signedKeyedFrom.min() {
            if signedKeyedFrom.count > 1 || storedKeyedFrom != signed {
                report.add(
                    signed, "edited",
                    "the chain is keyed from record \(signed) by the signed heads, but the "
                        + "database says \(storedKeyedFrom.map(String.init) ?? "never"): its marker was moved")
            }
            chainKeyedFrom = signed
        }
        report.keyedFrom = chainKeyedFrom
        var bySequence: [Int64: [SignedChainHead]] = [:]
        for signed in heads { bySequence[signed.sequence, default: []].append(signed) }
        var checks: [String: String] = [:]
        if !keyAvailable, chainKeyedFrom != nil {
            report.add(
                chainKeyedFrom ?? 1, "unverifiable",
                "this daemon has no usage-chain key (keys/usage-chain.key): "
                    + "the keyed records cannot be checked")
        }
        var previous: UsageRecord?
        var after: Int64 = 0
        while true {
            let checked = try store.transaction { tx throws(StoreError) -> [CheckedRecord] in
                var page: [CheckedRecord] = []
                for record in try tx.usageRecords(UsageQuery(afterSequence: after, limit: pageSize)) {
                    page.append(
                        CheckedRecord(
                            record: record,
                            computed: try hash(record, previous: record.previousHash, in: tx)))
                }
                return page
            }
            for item in checked {
                let record = item.record
                let computed = item.computed
                report.records += 1
                let expected = (previous?.sequence ?? 0) + 1
                let expectedLink = previous?.hash ?? genesis
                let shouldBeKeyed = chainKeyedFrom.map { record.sequence >= $0 } ?? false
                if let head, record.sequence > head.sequence {
                    report.add(
                        record.sequence, "inserted",
                        "record \(record.sequence) lies beyond the chain head (\(head.sequence)): it was inserted")
                } else if record.sequence > expected {
                    let missing =
                        expected == record.sequence - 1
                        ? "record \(expected) was"
                        : "records \(expected)-\(record.sequence - 1) were"
                    report.add(
                        expected, "deleted", "\(missing) deleted (sequence gap before record \(record.sequence))")
                } else if record.keyed != shouldBeKeyed {
                    report.add(
                        record.sequence, "edited",
                        "record \(record.sequence) was rewritten: it is \(record.keyed ? "keyed" : "unkeyed") but "
                            + "the chain is keyed from record \(chainKeyedFrom.map(String.init) ?? "nowhere")")
                } else if record.previousHash != expectedLink {
                    report.add(
                        record.sequence, "inserted",
                        "record \(record.sequence) does not link to record \(expected - 1): it was inserted "
                            + "(or record \(expected - 1) rewritten with its hash)")
                } else if let computed, computed != record.hash {
                    report.add(
                        record.sequence, "edited",
                        "record \(record.sequence) was edited: its content does not match its hash")
                }
                for signed in bySequence[record.sequence] ?? [] {
                    let agrees = signed.hash == record.hash
                    checks[Self.headKey(signed)] = agrees ? "matches" : "disagrees"
                    if !agrees {
                        report.add(
                            record.sequence, "edited",
                            "record \(record.sequence) disagrees with the head "
                                + "\(signed.host) signed at \(signed.at): it or a record before it was rewritten")
                    }
                }
                previous = record
            }
            guard let last = checked.last?.record, checked.count == pageSize else { break }
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
        for signed in heads where signed.sequence > lastSequence {
            checks[Self.headKey(signed)] = "missing"
            report.add(
                lastSequence + 1, "deleted",
                "the head \(signed.host) signed at \(signed.at) names record "
                    + "\(signed.sequence), beyond the chain's last record (\(lastSequence)): records were deleted")
        }
        if !heads.isEmpty || !untrusted.isEmpty {
            report.heads =
                heads.map {
                    AuditReport.HeadCheck(
                        host: $0.host, sequence: $0.sequence, at: $0.at, result: checks[Self.headKey($0)] ?? "missing")
                }
                + untrusted.map {
                    AuditReport.HeadCheck(host: $0.host, sequence: $0.sequence, at: $0.at, result: "untrusted")
                }
        }
        report.firstDisagreement = report.problems.map(\.sequence).min()
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
        self.init(
            sequence: record.sequence, at: ISO8601DateFormatter().string(from: record.at),
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
