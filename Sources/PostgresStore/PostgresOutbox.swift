import Foundation
import Store

/// The outbox and one-time code tables of `PostgresTransaction` (schema version 6). A claim locks the rows it
/// takes and skips those another daemon's open claim holds (`FOR UPDATE SKIP LOCKED`): two daemons on one
/// database never send the same message under overlapping leases.
extension PostgresTransaction {
    // MARK: Outbox

    private static let outboxColumns = """
        id, account_id, kind, transport, sealed, state, attempts, next_attempt_at, claimed_by, claimed_until, \
        last_error, created_at, updated_at, sent_at
        """

    private static func outboxValues(_ message: OutboxMessageRecord) -> [PostgresValue] {
        [
            .text(message.id.uuidString), .text(message.accountID?.uuidString), .text(message.kind),
            .text(message.transport), .bytes(message.sealedPayload), .text(message.state.rawValue),
            .integer(Int64(message.attempts)), .integer(message.nextAttemptAt.storeMilliseconds),
            .text(message.claimedBy), .integer(message.claimedUntil?.storeMilliseconds), .text(message.lastError),
            .integer(message.createdAt.storeMilliseconds), .integer(message.updatedAt.storeMilliseconds),
            .integer(message.sentAt?.storeMilliseconds),
        ]
    }

    private static func outboxMessage(_ row: PostgresResult, _ index: Int) throws(StoreError) -> OutboxMessageRecord {
        guard let state = OutboxState(rawValue: row.text(index, 5)) else {
            throw .schema("unknown outbox state \(row.text(index, 5))")
        }
        return OutboxMessageRecord(
            id: try uuid(row.text(index, 0), "outbox id"),
            accountID: try row.optionalText(index, 1).map { text throws(StoreError) in
                try uuid(text, "outbox account id")
            },
            kind: row.text(index, 2), transport: row.text(index, 3), sealedPayload: row.bytes(index, 4),
            state: state, attempts: Int(try row.integer(index, 6)),
            nextAttemptAt: Date(storeMilliseconds: try row.integer(index, 7)), claimedBy: row.optionalText(index, 8),
            claimedUntil: try row.optionalInteger(index, 9).map(Date.init(storeMilliseconds:)),
            lastError: row.optionalText(index, 10), createdAt: Date(storeMilliseconds: try row.integer(index, 11)),
            updatedAt: Date(storeMilliseconds: try row.integer(index, 12)),
            sentAt: try row.optionalInteger(index, 13).map(Date.init(storeMilliseconds:)))
    }

    func enqueueOutboxMessage(_ message: OutboxMessageRecord) throws(StoreError) {
        try write(
            """
            INSERT INTO outbox (\(Self.outboxColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
            $14)
            """, Self.outboxValues(message))
    }

    func updateOutboxMessage(_ message: OutboxMessageRecord) throws(StoreError) {
        let result = try write(
            """
            UPDATE outbox SET account_id = $2, kind = $3, transport = $4, sealed = $5, state = $6, attempts = $7, \
            next_attempt_at = $8, claimed_by = $9, claimed_until = $10, last_error = $11, created_at = $12, \
            updated_at = $13, sent_at = $14 WHERE id = $1
            """, Self.outboxValues(message))
        guard result.affectedRows == 1 else { throw .notFound("outbox message \(message.id.uuidString)") }
    }

    func outboxMessage(id: UUID) throws(StoreError) -> OutboxMessageRecord? {
        try rows("SELECT \(Self.outboxColumns) FROM outbox WHERE id = $1", [.text(id.uuidString)]) {
            row, index throws(StoreError) in try Self.outboxMessage(row, index)
        }.first
    }

    func outboxMessages(state: OutboxState?, limit: Int) throws(StoreError) -> [OutboxMessageRecord] {
        let limitValue = PostgresValue.integer(Int64(max(0, limit)))
        if let state {
            return try rows(
                "SELECT \(Self.outboxColumns) FROM outbox WHERE state = $1 ORDER BY created_at, id LIMIT $2",
                [.text(state.rawValue), limitValue]
            ) { row, index throws(StoreError) in try Self.outboxMessage(row, index) }
        }
        return try rows("SELECT \(Self.outboxColumns) FROM outbox ORDER BY created_at, id LIMIT $1", [limitValue]) {
            row, index throws(StoreError) in try Self.outboxMessage(row, index)
        }
    }

    func claimOutboxMessages(
        worker: String, at: Date, leaseUntil: Date, limit: Int
    ) throws(StoreError) -> [OutboxMessageRecord] {
        let claimed = try rows(
            """
            UPDATE outbox SET state = 'sending', claimed_by = $1, claimed_until = $2, updated_at = $3
            WHERE id IN (
                SELECT id FROM outbox
                WHERE (state = 'queued' AND next_attempt_at <= $3) OR (state = 'sending' AND claimed_until <= $3)
                ORDER BY created_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
            RETURNING \(Self.outboxColumns)
            """,
            [
                .text(worker), .integer(leaseUntil.storeMilliseconds), .integer(at.storeMilliseconds),
                .integer(Int64(max(0, limit))),
            ]
        ) { row, index throws(StoreError) in try Self.outboxMessage(row, index) }
        return claimed.sorted { ($0.createdAt, $0.id.uuidString) < ($1.createdAt, $1.id.uuidString) }
    }

    // MARK: One-time codes

    private static let codeColumns = """
        account_id, purpose, code_hash, certificate_serial, previous_tier, enrollment_id, state, failed_attempts, \
        created_at, expires_at, updated_at
        """

    private static func activationCode(_ row: PostgresResult, _ index: Int) throws(StoreError) -> ActivationCodeRecord {
        guard let tier = AccountTier(rawValue: row.text(index, 4)),
            let state = ActivationCodeState(rawValue: row.text(index, 6))
        else { throw .schema("unknown tier or code state \(row.text(index, 4)) \(row.text(index, 6))") }
        return ActivationCodeRecord(
            accountID: try uuid(row.text(index, 0), "code account id"), purpose: row.text(index, 1),
            codeHash: row.bytes(index, 2), certificateSerial: row.optionalText(index, 3), previousTier: tier,
            enrollmentID: try row.optionalText(index, 5).map { text throws(StoreError) in
                try uuid(text, "code enrollment")
            },
            state: state, failedAttempts: Int(try row.integer(index, 7)),
            createdAt: Date(storeMilliseconds: try row.integer(index, 8)),
            expiresAt: Date(storeMilliseconds: try row.integer(index, 9)),
            updatedAt: Date(storeMilliseconds: try row.integer(index, 10)))
    }

    func activationCode(accountID: UUID, purpose: String) throws(StoreError) -> ActivationCodeRecord? {
        try rows(
            "SELECT \(Self.codeColumns) FROM activation_codes WHERE account_id = $1 AND purpose = $2",
            [.text(accountID.uuidString), .text(purpose)]
        ) { row, index throws(StoreError) in try Self.activationCode(row, index) }.first
    }

    func saveActivationCode(_ code: ActivationCodeRecord) throws(StoreError) {
        try write(
            """
            INSERT INTO activation_codes (\(Self.codeColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (account_id, purpose) DO UPDATE SET code_hash = excluded.code_hash,
                certificate_serial = excluded.certificate_serial, previous_tier = excluded.previous_tier,
                enrollment_id = excluded.enrollment_id, state = excluded.state,
                failed_attempts = excluded.failed_attempts, created_at = excluded.created_at,
                expires_at = excluded.expires_at, updated_at = excluded.updated_at
            """,
            [
                .text(code.accountID.uuidString), .text(code.purpose), .bytes(code.codeHash),
                .text(code.certificateSerial), .text(code.previousTier.rawValue), .text(code.enrollmentID?.uuidString),
                .text(code.state.rawValue), .integer(Int64(code.failedAttempts)),
                .integer(code.createdAt.storeMilliseconds), .integer(code.expiresAt.storeMilliseconds),
                .integer(code.updatedAt.storeMilliseconds),
            ]
        ) { failure in
            failure.state == .foreignKeyViolation ? .notFound("account \(code.accountID.uuidString)") : nil
        }
    }

    func pendingActivationCodes(expiringBefore: Date, limit: Int) throws(StoreError) -> [ActivationCodeRecord] {
        try rows(
            """
            SELECT \(Self.codeColumns) FROM activation_codes WHERE state = 'pending' AND expires_at <= $1
            ORDER BY expires_at, account_id LIMIT $2
            """, [.integer(expiringBefore.storeMilliseconds), .integer(Int64(max(0, limit)))]
        ) { row, index throws(StoreError) in try Self.activationCode(row, index) }
    }
}
