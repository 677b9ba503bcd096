import Foundation

/// The identity-lifecycle tables of `SQLiteTransaction` (schema version 2).
extension SQLiteTransaction {
    // MARK: Device bindings

    private static let bindingColumns =
        "id, account_id, device_id, public_key, label, bound_at, unbound_at, unbind_reason"

    private static func bindingValues(_ binding: DeviceBindingRecord) -> [SQLiteValue] {
        [
            .text(binding.accountID.uuidString), .text(binding.deviceID), .text(binding.publicKey),
            .text(binding.label),
            .integer(binding.boundAt.milliseconds), .integer(binding.unboundAt?.milliseconds),
            .text(binding.unbindReason),
            .text(binding.id.uuidString),
        ]
    }

    func insertDeviceBinding(_ binding: DeviceBindingRecord) throws(StoreError) {
        do {
            try open().run(
                """
                INSERT INTO device_bindings (account_id, device_id, public_key, label, bound_at, unbound_at, \
                unbind_reason, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, Self.bindingValues(binding))
        } catch let .database(code, message) {
            switch code {
            case SQLiteResultCode.constraintForeignKey: throw .notFound("account \(binding.accountID.uuidString)")
            case SQLiteResultCode.constraintUnique:
                throw .database(
                    code: code, message: "account \(binding.accountID.uuidString) already has an active device")
            default: throw .database(code: code, message: message)
            }
        }
    }

    func updateDeviceBinding(_ binding: DeviceBindingRecord) throws(StoreError) {
        let changed = try open().run(
            """
            UPDATE device_bindings SET account_id = ?, device_id = ?, public_key = ?, label = ?, bound_at = ?, \
            unbound_at = ?, unbind_reason = ? WHERE id = ?
            """, Self.bindingValues(binding))
        guard changed == 1 else { throw .notFound("device binding \(binding.id.uuidString)") }
    }

    func deviceBindings(accountID: UUID) throws(StoreError) -> [DeviceBindingRecord] {
        try open().query(
            """
            SELECT \(Self.bindingColumns) FROM device_bindings WHERE account_id = ? ORDER BY bound_at, rowid
            """, [.text(accountID.uuidString)]
        ) { row throws(StoreError) in
            DeviceBindingRecord(
                id: try Self.uuid(row.text(0), "binding id"),
                accountID: try Self.uuid(row.text(1), "binding account id"), deviceID: row.text(2),
                publicKey: row.text(3), label: row.text(4), boundAt: Date(milliseconds: row.integer(5)),
                unboundAt: row.optionalInteger(6).map(Date.init(milliseconds:)),
                unbindReason: row.optionalText(7))
        }
    }

    // MARK: Usage records

    private static let usageColumns = """
        sequence, at, account_id, enrollment_id, event, channel, actor_role, actor_uid, outcome, detail, prev_hash, hash, \
        keyed
        """

    func appendUsageRecord(_ record: UsageRecord) throws(StoreError) {
        try open().run(
            "INSERT INTO usage_records (\(Self.usageColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                .integer(record.sequence), .integer(record.at.milliseconds), .text(record.accountID?.uuidString),
                .text(record.enrollmentID?.uuidString), .text(record.event), .text(record.channel),
                .text(record.actorRole),
                .integer(Int64(record.actorUID)), .text(record.outcome), .text(record.detail),
                .blob(record.previousHash),
                .blob(record.hash), .integer(record.keyed ? 1 : 0),
            ])
    }

    func lastUsageRecord() throws(StoreError) -> UsageRecord? {
        try open().query(
            "SELECT \(Self.usageColumns) FROM usage_records ORDER BY sequence DESC LIMIT 1",
            row: Self.decodeUsage
        ).first
    }

    func usageRecords(_ query: UsageQuery) throws(StoreError) -> [UsageRecord] {
        var conditions: [String] = []
        var values: [SQLiteValue] = []
        if let accountID = query.accountID {
            conditions.append("(account_id = ? OR enrollment_id IN (SELECT id FROM enrollments WHERE account_id = ?))")
            values += [.text(accountID.uuidString), .text(accountID.uuidString)]
        }
        if let since = query.since {
            conditions.append("at >= ?")
            values.append(.integer(since.milliseconds))
        }
        if let until = query.until {
            conditions.append("at < ?")
            values.append(.integer(until.milliseconds))
        }
        if let after = query.afterSequence {
            conditions.append("sequence > ?")
            values.append(.integer(after))
        }
        var sql = "SELECT \(Self.usageColumns) FROM usage_records"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY sequence"
        if let limit = query.limit {
            sql += " LIMIT ?"
            values.append(.integer(Int64(max(0, limit))))
        }
        return try open().query(sql, values, row: Self.decodeUsage)
    }

    private static func decodeUsage(_ row: SQLiteStatement) throws(StoreError) -> UsageRecord {
        let uid = row.integer(7)
        guard let actorUID = UInt32(exactly: uid) else { throw corrupt("usage actor uid \(uid)") }
        return UsageRecord(
            sequence: row.integer(0), at: Date(milliseconds: row.integer(1)),
            accountID: try row.optionalText(2).map { text throws(StoreError) in
                try uuid(text, "usage account id")
            },
            enrollmentID: try row.optionalText(3).map { text throws(StoreError) in
                try uuid(text, "usage enrollment id")
            },
            event: row.text(4), channel: row.text(5), actorRole: row.text(6), actorUID: actorUID,
            outcome: row.text(8), detail: row.text(9), previousHash: row.blob(10), hash: row.blob(11),
            keyed: row.integer(12) != 0)
    }

    func usageChainHead() throws(StoreError) -> (sequence: Int64, hash: [UInt8])? {
        try open().query("SELECT sequence, hash FROM usage_chain_head WHERE id = 1") { row in
            (row.integer(0), row.blob(1))
        }.first
    }

    func setUsageChainHead(sequence: Int64, hash: [UInt8]) throws(StoreError) {
        try open().run(
            """
            INSERT INTO usage_chain_head (id, sequence, hash) VALUES (1, ?, ?)
            ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash
            """, [.integer(sequence), .blob(hash)])
    }

    // MARK: Passcodes

    func passcode(accountID: UUID) throws(StoreError) -> PasscodeRecord? {
        try open().query(
            """
            SELECT account_id, salt, hash, parameters, failed_attempts, locked_until, enabled, updated_at, lock_level,
                total_failures, locked_permanently
            FROM passcodes WHERE account_id = ?
            """, [.text(accountID.uuidString)]
        ) { row throws(StoreError) in
            PasscodeRecord(
                accountID: try Self.uuid(row.text(0), "passcode account id"), salt: row.blob(1),
                hash: row.blob(2), parameters: row.text(3), failedAttempts: Int(row.integer(4)),
                lockedUntil: row.optionalInteger(5).map(Date.init(milliseconds:)), enabled: row.integer(6) != 0,
                updatedAt: Date(milliseconds: row.integer(7)), lockLevel: Int(row.integer(8)),
                totalFailures: Int(row.integer(9)), lockedPermanently: row.integer(10) != 0)
        }.first
    }

    func savePasscode(_ passcode: PasscodeRecord) throws(StoreError) {
        do {
            try open().run(
                """
                INSERT INTO passcodes (account_id, salt, hash, parameters, failed_attempts, locked_until, enabled, \
                updated_at, lock_level, total_failures, locked_permanently) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (account_id) DO UPDATE SET salt = excluded.salt, hash = excluded.hash,
                    parameters = excluded.parameters, failed_attempts = excluded.failed_attempts,
                    locked_until = excluded.locked_until, enabled = excluded.enabled, updated_at = excluded.updated_at,
                    lock_level = excluded.lock_level, total_failures = excluded.total_failures,
                    locked_permanently = excluded.locked_permanently
                """,
                [
                    .text(passcode.accountID.uuidString), .blob(passcode.salt), .blob(passcode.hash),
                    .text(passcode.parameters), .integer(Int64(passcode.failedAttempts)),
                    .integer(passcode.lockedUntil?.milliseconds), .integer(passcode.enabled ? 1 : 0),
                    .integer(passcode.updatedAt.milliseconds), .integer(Int64(passcode.lockLevel)),
                    .integer(Int64(passcode.totalFailures)), .integer(passcode.lockedPermanently ? 1 : 0),
                ])
        } catch let .database(code, _) where code == SQLiteResultCode.constraintForeignKey {
            throw .notFound("account \(passcode.accountID.uuidString)")
        }
    }

    func passcodeBudget(caller: String) throws(StoreError) -> PasscodeBudgetRecord? {
        try open().query(
            """
            SELECT caller, window_start, failures, locked_until, updated_at FROM passcode_budgets WHERE caller = ?
            """, [.text(caller)]
        ) { row in
            PasscodeBudgetRecord(
                caller: row.text(0), windowStart: Date(milliseconds: row.integer(1)),
                failures: Int(row.integer(2)),
                lockedUntil: row.optionalInteger(3).map(Date.init(milliseconds:)),
                updatedAt: Date(milliseconds: row.integer(4)))
        }.first
    }

    func savePasscodeBudget(_ budget: PasscodeBudgetRecord) throws(StoreError) {
        try open().run(
            """
            INSERT INTO passcode_budgets (caller, window_start, failures, locked_until, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (caller) DO UPDATE SET window_start = excluded.window_start, failures = excluded.failures,
                locked_until = excluded.locked_until, updated_at = excluded.updated_at
            """,
            [
                .text(budget.caller), .integer(budget.windowStart.milliseconds), .integer(Int64(budget.failures)),
                .integer(budget.lockedUntil?.milliseconds), .integer(budget.updatedAt.milliseconds),
            ])
    }

    // MARK: Settings

    func setting(_ name: String) throws(StoreError) -> [UInt8]? {
        try open().query("SELECT value FROM settings WHERE name = ?", [.text(name)]) { row in row.blob(0) }.first
    }

    func saveSetting(_ name: String, value: [UInt8]) throws(StoreError) {
        try open().run(
            """
            INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value
            """, [.text(name), .blob(value)])
    }

    // MARK: Status history

    func appendStatusChange(_ change: StatusChangeRecord) throws(StoreError) {
        do {
            try open().run(
                """
                INSERT INTO status_history (account_id, from_status, to_status, reason, actor_role, actor_uid, channel, at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(change.accountID.uuidString), .text(change.from.rawValue), .text(change.to.rawValue),
                    .text(change.reason), .text(change.actorRole), .integer(Int64(change.actorUID)),
                    .text(change.channel), .integer(change.at.milliseconds),
                ])
        } catch let .database(code, _) where code == SQLiteResultCode.constraintForeignKey {
            throw .notFound("account \(change.accountID.uuidString)")
        }
    }

    func statusHistory(accountID: UUID) throws(StoreError) -> [StatusChangeRecord] {
        try open().query(
            """
            SELECT account_id, from_status, to_status, reason, actor_role, actor_uid, channel, at
            FROM status_history WHERE account_id = ? ORDER BY id
            """, [.text(accountID.uuidString)]
        ) { row throws(StoreError) in
            let uid = row.integer(5)
            guard let actorUID = UInt32(exactly: uid) else { throw corrupt("status actor uid \(uid)") }
            return StatusChangeRecord(
                accountID: try Self.uuid(row.text(0), "status account id"),
                from: try Self.value(row.text(1), "status"), to: try Self.value(row.text(2), "status"),
                reason: row.text(3), actorRole: row.text(4), actorUID: actorUID,
                channel: row.text(6), at: Date(milliseconds: row.integer(7)))
        }
    }

    // MARK: Guardianship

    func saveGuardianLink(_ link: GuardianLinkRecord) throws(StoreError) {
        do {
            try open().run(
                """
                INSERT INTO guardian_links (account_id, guardian_account_id, enrollment_id, created_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (account_id) DO UPDATE SET guardian_account_id = excluded.guardian_account_id,
                    enrollment_id = excluded.enrollment_id, created_at = excluded.created_at
                """,
                [
                    .text(link.accountID.uuidString), .text(link.guardianAccountID.uuidString),
                    .text(link.enrollmentID.uuidString), .integer(link.createdAt.milliseconds),
                ])
        } catch let .database(code, _) where code == SQLiteResultCode.constraintForeignKey {
            throw .notFound("account \(link.accountID.uuidString) or \(link.guardianAccountID.uuidString)")
        }
    }

    func guardianLink(accountID: UUID) throws(StoreError) -> GuardianLinkRecord? {
        try open().query(
            """
            SELECT account_id, guardian_account_id, enrollment_id, created_at FROM guardian_links WHERE account_id = ?
            """, [.text(accountID.uuidString)]
        ) { row throws(StoreError) in
            GuardianLinkRecord(
                accountID: try Self.uuid(row.text(0), "guardian link account id"),
                guardianAccountID: try Self.uuid(row.text(1), "guardian account id"),
                enrollmentID: try Self.uuid(row.text(2), "guardian link enrollment id"),
                createdAt: Date(milliseconds: row.integer(3)))
        }.first
    }
}
