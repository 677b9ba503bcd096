import Foundation

/// The outbox and one-time code tables of `SQLiteTransaction` (schema version 5). Every transaction is
/// `BEGIN IMMEDIATE`, so a claim's read and its update are never interleaved with another writer's.
extension SQLiteTransaction {
    // MARK: Outbox

    private static let outboxColumns = """
        id, account_id, kind, transport, sealed, state, attempts, next_attempt_at, claimed_by, claimed_until, \
        last_error, created_at, updated_at, sent_at
        """

    private static func outboxValues(_ message: OutboxMessageRecord) -> [SQLiteValue] {
        [
            .text(message.id.uuidString), .text(message.accountID?.uuidString), .text(message.kind),
            .text(message.transport), .blob(message.sealedPayload), .text(message.state.rawValue),
            .integer(Int64(message.attempts)), .integer(message.nextAttemptAt.milliseconds),
            .text(message.claimedBy), .integer(message.claimedUntil?.milliseconds), .text(message.lastError),
            .integer(message.createdAt.milliseconds), .integer(message.updatedAt.milliseconds),
            .integer(message.sentAt?.milliseconds),
        ]
    }

    private static func outboxMessage(_ row: SQLiteStatement) throws(StoreError) -> OutboxMessageRecord {
        guard let state = OutboxState(rawValue: row.text(5)) else {
            throw .schema("unknown outbox state \(row.text(5))")
        }
        return OutboxMessageRecord(
            id: try uuid(row.text(0), "outbox id"),
            accountID: try row.optionalText(1).map { text throws(StoreError) in try uuid(text, "outbox account id") },
            kind: row.text(2), transport: row.text(3), sealedPayload: row.blob(4), state: state,
            attempts: Int(row.integer(6)), nextAttemptAt: Date(milliseconds: row.integer(7)),
            claimedBy: row.optionalText(8), claimedUntil: row.optionalInteger(9).map(Date.init(milliseconds:)),
            lastError: row.optionalText(10), createdAt: Date(milliseconds: row.integer(11)),
            updatedAt: Date(milliseconds: row.integer(12)),
            sentAt: row.optionalInteger(13).map(Date.init(milliseconds:)))
    }

    func enqueueOutboxMessage(_ message: OutboxMessageRecord) throws(StoreError) {
        try open().run(
            "INSERT INTO outbox (\(Self.outboxColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            Self.outboxValues(message))
    }

    func updateOutboxMessage(_ message: OutboxMessageRecord) throws(StoreError) {
        let values = Self.outboxValues(message)
        let changed = try open().run(
            """
            UPDATE outbox SET account_id = ?, kind = ?, transport = ?, sealed = ?, state = ?, attempts = ?, \
            next_attempt_at = ?, claimed_by = ?, claimed_until = ?, last_error = ?, created_at = ?, updated_at = ?, \
            sent_at = ? WHERE id = ?
            """, Array(values.dropFirst()) + [values[0]])
        guard changed == 1 else { throw .notFound("outbox message \(message.id.uuidString)") }
    }

    func outboxMessage(id: UUID) throws(StoreError) -> OutboxMessageRecord? {
        try open().query(
            "SELECT \(Self.outboxColumns) FROM outbox WHERE id = ?", [.text(id.uuidString)]
        ) { row throws(StoreError) in try Self.outboxMessage(row) }.first
    }

    func outboxMessages(state: OutboxState?, limit: Int) throws(StoreError) -> [OutboxMessageRecord] {
        let filter = state == nil ? "" : "WHERE state = ?"
        let values: [SQLiteValue] = (state.map { [.text($0.rawValue)] } ?? []) + [.integer(Int64(max(0, limit)))]
        return try open().query(
            "SELECT \(Self.outboxColumns) FROM outbox \(filter) ORDER BY created_at, id LIMIT ?", values
        ) { row throws(StoreError) in try Self.outboxMessage(row) }
    }

    func claimOutboxMessages(
        worker: String, at: Date, leaseUntil: Date, limit: Int
    ) throws(StoreError) -> [OutboxMessageRecord] {
        let due = try open().query(
            """
            SELECT \(Self.outboxColumns) FROM outbox
            WHERE (state = 'queued' AND next_attempt_at <= ?) OR (state = 'sending' AND claimed_until <= ?)
            ORDER BY created_at, id LIMIT ?
            """, [.integer(at.milliseconds), .integer(at.milliseconds), .integer(Int64(max(0, limit)))]
        ) { row throws(StoreError) in try Self.outboxMessage(row) }
        return try due.map { message throws(StoreError) in
            var claimed = message
            claimed.state = .sending
            claimed.claimedBy = worker
            claimed.claimedUntil = leaseUntil
            claimed.updatedAt = at
            try updateOutboxMessage(claimed)
            return claimed
        }
    }

    // MARK: One-time codes

    private static let codeColumns = """
        account_id, purpose, code_hash, certificate_serial, previous_tier, enrollment_id, state, failed_attempts, \
        created_at, expires_at, updated_at
        """

    private static func activationCode(_ row: SQLiteStatement) throws(StoreError) -> ActivationCodeRecord {
        guard let tier = AccountTier(rawValue: row.text(4)), let state = ActivationCodeState(rawValue: row.text(6))
        else { throw .schema("unknown tier or code state \(row.text(4)) \(row.text(6))") }
        return ActivationCodeRecord(
            accountID: try uuid(row.text(0), "code account id"), purpose: row.text(1), codeHash: row.blob(2),
            certificateSerial: row.optionalText(3), previousTier: tier,
            enrollmentID: try row.optionalText(5).map { text throws(StoreError) in try uuid(text, "code enrollment") },
            state: state, failedAttempts: Int(row.integer(7)), createdAt: Date(milliseconds: row.integer(8)),
            expiresAt: Date(milliseconds: row.integer(9)), updatedAt: Date(milliseconds: row.integer(10)))
    }

    func activationCode(accountID: UUID, purpose: String) throws(StoreError) -> ActivationCodeRecord? {
        try open().query(
            "SELECT \(Self.codeColumns) FROM activation_codes WHERE account_id = ? AND purpose = ?",
            [.text(accountID.uuidString), .text(purpose)]
        ) { row throws(StoreError) in try Self.activationCode(row) }.first
    }

    func saveActivationCode(_ code: ActivationCodeRecord) throws(StoreError) {
        do {
            try open().run(
                """
                INSERT OR REPLACE INTO activation_codes (\(Self.codeColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(code.accountID.uuidString), .text(code.purpose), .blob(code.codeHash),
                    .text(code.certificateSerial), .text(code.previousTier.rawValue),
                    .text(code.enrollmentID?.uuidString), .text(code.state.rawValue),
                    .integer(Int64(code.failedAttempts)), .integer(code.createdAt.milliseconds),
                    .integer(code.expiresAt.milliseconds), .integer(code.updatedAt.milliseconds),
                ])
        } catch let .database(code: status, message) {
            if status == SQLiteResultCode.constraintForeignKey {
                throw .notFound("account \(code.accountID.uuidString)")
            }
            throw .database(code: status, message: message)
        }
    }

    func pendingActivationCodes(expiringBefore: Date, limit: Int) throws(StoreError) -> [ActivationCodeRecord] {
        try open().query(
            """
            SELECT \(Self.codeColumns) FROM activation_codes WHERE state = 'pending' AND expires_at <= ?
            ORDER BY expires_at, account_id LIMIT ?
            """, [.integer(expiringBefore.milliseconds), .integer(Int64(max(0, limit)))]
        ) { row throws(StoreError) in try Self.activationCode(row) }
    }
}
