import Foundation
import Store

/// The identity-lifecycle tables of `PostgresTransaction` (schema version 2).
extension PostgresTransaction {
    // MARK: Device bindings

    private static let bindingColumns =
        "id, account_id, device_id, public_key, label, bound_at, unbound_at, unbind_reason"

    private static func bindingValues(_ binding: DeviceBindingRecord) -> [PostgresValue] {
        [
            .text(binding.id.uuidString), .text(binding.accountID.uuidString), .text(binding.deviceID),
            .text(binding.publicKey), .text(binding.label), .integer(binding.boundAt.storeMilliseconds),
            .integer(binding.unboundAt?.storeMilliseconds), .text(binding.unbindReason),
        ]
    }

    func insertDeviceBinding(_ binding: DeviceBindingRecord) throws(StoreError) {
        try write(
            "INSERT INTO device_bindings (\(Self.bindingColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            Self.bindingValues(binding)
        ) { failure in
            if failure.state == .foreignKeyViolation { return .notFound("account \(binding.accountID.uuidString)") }
            guard failure.state == .uniqueViolation, failure.constraint == "device_bindings_active" else { return nil }
            return .database(
                code: failure.state.code,
                message: "account \(binding.accountID.uuidString) already has an active device")
        }
    }

    func updateDeviceBinding(_ binding: DeviceBindingRecord) throws(StoreError) {
        let result = try write(
            """
            UPDATE device_bindings SET account_id = $2, device_id = $3, public_key = $4, label = $5, bound_at = $6, \
            unbound_at = $7, unbind_reason = $8 WHERE id = $1
            """, Self.bindingValues(binding))
        guard result.affectedRows == 1 else { throw .notFound("device binding \(binding.id.uuidString)") }
    }

    func deviceBindings(accountID: UUID) throws(StoreError) -> [DeviceBindingRecord] {
        try rows(
            "SELECT \(Self.bindingColumns) FROM device_bindings WHERE account_id = $1 ORDER BY bound_at, position",
            [.text(accountID.uuidString)]
        ) { row, index throws(StoreError) in
            DeviceBindingRecord(
                id: try Self.uuid(row.text(index, 0), "binding id"),
                accountID: try Self.uuid(row.text(index, 1), "binding account id"),
                deviceID: row.text(index, 2), publicKey: row.text(index, 3), label: row.text(index, 4),
                boundAt: Date(storeMilliseconds: try row.integer(index, 5)),
                unboundAt: try row.optionalInteger(index, 6).map(Date.init(storeMilliseconds:)),
                unbindReason: row.optionalText(index, 7))
        }
    }

    // MARK: Usage records

    private static let usageColumns = """
        sequence, at, account_id, enrollment_id, event, channel, actor_role, actor_uid, outcome, detail, prev_hash, hash, \
        keyed
        """

    func appendUsageRecord(_ record: UsageRecord) throws(StoreError) {
        try write(
            """
            INSERT INTO usage_records (\(Self.usageColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
            $13)
            """,
            [
                .integer(record.sequence), .integer(record.at.storeMilliseconds), .text(record.accountID?.uuidString),
                .text(record.enrollmentID?.uuidString), .text(record.event), .text(record.channel),
                .text(record.actorRole), .integer(Int64(record.actorUID)), .text(record.outcome), .text(record.detail),
                .bytes(record.previousHash), .bytes(record.hash), .boolean(record.keyed),
            ]
        ) { failure throws(StoreError) in
            // Another daemon appended this sequence number after our snapshot: run again on the new head.
            try uniqueRefusal(failure, constraint: "usage_records_pkey", what: "usage record \(record.sequence)") {
                () throws(StoreError) -> StoreError? in
                let seen = try rows("SELECT 1 FROM usage_records WHERE sequence = $1", [.integer(record.sequence)]) {
                    _, _ in
                    true
                }
                return seen.isEmpty ? nil : failure.storeError
            }
        }
    }

    /// Appenders call this first: it queues them on the chain head (SHARE ROW EXCLUSIVE conflicts with itself and
    /// with writes), so two appenders never both insert the same sequence number and then wait on each other.
    func lastUsageRecord() throws(StoreError) -> UsageRecord? {
        _ = try read("LOCK TABLE usage_chain_head IN SHARE ROW EXCLUSIVE MODE")
        return try rows(
            "SELECT \(Self.usageColumns) FROM usage_records ORDER BY sequence DESC LIMIT 1", [],
            Self.decodeUsage
        ).first
    }

    func usageRecords(_ query: UsageQuery) throws(StoreError) -> [UsageRecord] {
        var conditions: [String] = []
        var values: [PostgresValue] = []
        func parameter(_ value: PostgresValue) -> String {
            values.append(value)
            return "$\(values.count)"
        }
        if let accountID = query.accountID {
            let id = parameter(.text(accountID.uuidString))
            conditions.append(
                "(account_id = \(id) OR enrollment_id IN (SELECT id FROM enrollments WHERE account_id = \(id)))")
        }
        if let since = query.since { conditions.append("at >= \(parameter(.integer(since.storeMilliseconds)))") }
        if let until = query.until { conditions.append("at < \(parameter(.integer(until.storeMilliseconds)))") }
        if let after = query.afterSequence { conditions.append("sequence > \(parameter(.integer(after)))") }
        var sql = "SELECT \(Self.usageColumns) FROM usage_records"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY sequence"
        if let limit = query.limit { sql += " LIMIT \(parameter(.integer(Int64(max(0, limit)))))" }
        return try rows(sql, values, Self.decodeUsage)
    }

    private static func decodeUsage(_ row: PostgresResult, _ index: Int) throws(StoreError) -> UsageRecord {
        UsageRecord(
            sequence: try row.integer(index, 0), at: Date(storeMilliseconds: try row.integer(index, 1)),
            accountID: try optionalUUID(row.optionalText(index, 2), "usage account id"),
            enrollmentID: try optionalUUID(row.optionalText(index, 3), "usage enrollment id"),
            event: row.text(index, 4), channel: row.text(index, 5), actorRole: row.text(index, 6),
            actorUID: try uid(row.integer(index, 7), "usage actor uid"), outcome: row.text(index, 8),
            detail: row.text(index, 9), previousHash: row.bytes(index, 10), hash: row.bytes(index, 11),
            keyed: try row.boolean(index, 12))
    }

    func usageChainHead() throws(StoreError) -> (sequence: Int64, hash: [UInt8])? {
        try rows("SELECT sequence, hash FROM usage_chain_head WHERE id = 1") { row, index throws(StoreError) in
            (try row.integer(index, 0), row.bytes(index, 1))
        }.first
    }

    func setUsageChainHead(sequence: Int64, hash: [UInt8]) throws(StoreError) {
        try write(
            """
            INSERT INTO usage_chain_head (id, sequence, hash) VALUES (1, $1, $2)
            ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash
            """, [.integer(sequence), .bytes(hash)])
    }

    // MARK: Passcodes

    func passcode(accountID: UUID) throws(StoreError) -> PasscodeRecord? {
        try rows(
            """
            SELECT account_id, salt, hash, parameters, failed_attempts, locked_until, enabled, updated_at, lock_level,
                total_failures, locked_permanently
            FROM passcodes WHERE account_id = $1
            """, [.text(accountID.uuidString)]
        ) { row, index throws(StoreError) in
            PasscodeRecord(
                accountID: try Self.uuid(row.text(index, 0), "passcode account id"), salt: row.bytes(index, 1),
                hash: row.bytes(index, 2), parameters: row.text(index, 3),
                failedAttempts: Int(try row.integer(index, 4)),
                lockedUntil: try row.optionalInteger(index, 5).map(Date.init(storeMilliseconds:)),
                enabled: try row.boolean(index, 6), updatedAt: Date(storeMilliseconds: try row.integer(index, 7)),
                lockLevel: Int(try row.integer(index, 8)), totalFailures: Int(try row.integer(index, 9)),
                lockedPermanently: try row.boolean(index, 10))
        }.first
    }

    func savePasscode(_ passcode: PasscodeRecord) throws(StoreError) {
        try write(
            """
            INSERT INTO passcodes (account_id, salt, hash, parameters, failed_attempts, locked_until, enabled, updated_at,
                lock_level, total_failures, locked_permanently)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (account_id) DO UPDATE SET salt = excluded.salt, hash = excluded.hash,
                parameters = excluded.parameters, failed_attempts = excluded.failed_attempts,
                locked_until = excluded.locked_until, enabled = excluded.enabled, updated_at = excluded.updated_at,
                lock_level = excluded.lock_level, total_failures = excluded.total_failures,
                locked_permanently = excluded.locked_permanently
            """,
            [
                .text(passcode.accountID.uuidString), .bytes(passcode.salt), .bytes(passcode.hash),
                .text(passcode.parameters), .integer(Int64(passcode.failedAttempts)),
                .integer(passcode.lockedUntil?.storeMilliseconds), .boolean(passcode.enabled),
                .integer(passcode.updatedAt.storeMilliseconds), .integer(Int64(passcode.lockLevel)),
                .integer(Int64(passcode.totalFailures)), .boolean(passcode.lockedPermanently),
            ]
        ) { failure in
            failure.state == .foreignKeyViolation ? .notFound("account \(passcode.accountID.uuidString)") : nil
        }
    }

    func passcodeBudget(caller: String) throws(StoreError) -> PasscodeBudgetRecord? {
        try rows(
            """
            SELECT caller, window_start, failures, locked_until, updated_at FROM passcode_budgets WHERE caller = $1
            """, [.text(caller)]
        ) { row, index throws(StoreError) in
            PasscodeBudgetRecord(
                caller: row.text(index, 0), windowStart: Date(storeMilliseconds: try row.integer(index, 1)),
                failures: Int(try row.integer(index, 2)),
                lockedUntil: try row.optionalInteger(index, 3).map(Date.init(storeMilliseconds:)),
                updatedAt: Date(storeMilliseconds: try row.integer(index, 4)))
        }.first
    }

    func savePasscodeBudget(_ budget: PasscodeBudgetRecord) throws(StoreError) {
        try write(
            """
            INSERT INTO passcode_budgets (caller, window_start, failures, locked_until, updated_at)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (caller) DO UPDATE SET window_start = excluded.window_start, failures = excluded.failures,
                locked_until = excluded.locked_until, updated_at = excluded.updated_at
            """,
            [
                .text(budget.caller), .integer(budget.windowStart.storeMilliseconds), .integer(Int64(budget.failures)),
                .integer(budget.lockedUntil?.storeMilliseconds), .integer(budget.updatedAt.storeMilliseconds),
            ])
    }

    // MARK: Settings (in fleet_settings)

    func setting(_ name: String) throws(StoreError) -> [UInt8]? {
        try rows("SELECT value FROM fleet_settings WHERE name = $1", [.text(name)]) { row, index in
            row.bytes(index, 0)
        }.first
    }

    func saveSetting(_ name: String, value: [UInt8]) throws(StoreError) {
        try write(
            """
            INSERT INTO fleet_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value
            """, [.text(name), .bytes(value)])
    }

    // MARK: Status history

    func appendStatusChange(_ change: StatusChangeRecord) throws(StoreError) {
        try write(
            """
            INSERT INTO status_history (account_id, from_status, to_status, reason, actor_role, actor_uid, channel, at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            [
                .text(change.accountID.uuidString), .text(change.from.rawValue), .text(change.to.rawValue),
                .text(change.reason), .text(change.actorRole), .integer(Int64(change.actorUID)), .text(change.channel),
                .integer(change.at.storeMilliseconds),
            ]
        ) { failure in
            failure.state == .foreignKeyViolation ? .notFound("account \(change.accountID.uuidString)") : nil
        }
    }

    func statusHistory(accountID: UUID) throws(StoreError) -> [StatusChangeRecord] {
        try rows(
            """
            SELECT account_id, from_status, to_status, reason, actor_role, actor_uid, channel, at
            FROM status_history WHERE account_id = $1 ORDER BY id
            """, [.text(accountID.uuidString)]
        ) { row, index throws(StoreError) in
            StatusChangeRecord(
                accountID: try Self.uuid(row.text(index, 0), "status account id"),
                from: try Self.value(row.text(index, 1), "status"),
                to: try Self.value(row.text(index, 2), "status"), reason: row.text(index, 3),
                actorRole: row.text(index, 4), actorUID: try Self.uid(row.integer(index, 5), "status actor uid"),
                channel: row.text(index, 6), at: Date(storeMilliseconds: try row.integer(index, 7)))
        }
    }

    // MARK: Guardianship

    func saveGuardianLink(_ link: GuardianLinkRecord) throws(StoreError) {
        try write(
            """
            INSERT INTO guardian_links (account_id, guardian_account_id, enrollment_id, created_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (account_id) DO UPDATE SET guardian_account_id = excluded.guardian_account_id,
                enrollment_id = excluded.enrollment_id, created_at = excluded.created_at
            """,
            [
                .text(link.accountID.uuidString), .text(link.guardianAccountID.uuidString),
                .text(link.enrollmentID.uuidString), .integer(link.createdAt.storeMilliseconds),
            ]
        ) { failure in
            guard failure.state == .foreignKeyViolation else { return nil }
            return .notFound("account \(link.accountID.uuidString) or \(link.guardianAccountID.uuidString)")
        }
    }

    func guardianLink(accountID: UUID) throws(StoreError) -> GuardianLinkRecord? {
        try rows(
            """
            SELECT account_id, guardian_account_id, enrollment_id, created_at FROM guardian_links WHERE account_id = $1
            """, [.text(accountID.uuidString)]
        ) { row, index throws(StoreError) in
            GuardianLinkRecord(
                accountID: try Self.uuid(row.text(index, 0), "guardian link account id"),
                guardianAccountID: try Self.uuid(row.text(index, 1), "guardian account id"),
                enrollmentID: try Self.uuid(row.text(index, 2), "guardian link enrollment id"),
                createdAt: Date(storeMilliseconds: try row.integer(index, 3)))
        }.first
    }
}
