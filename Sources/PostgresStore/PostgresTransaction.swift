import Foundation
import Store

/// The operations of one open PostgreSQL transaction. Valid only inside the `transaction` body.
final class PostgresTransaction: StoreTransaction {
    private let connection: PostgresConnection
    let protector: DataProtector?
    var isOpen = true
    /// Set when a statement failed in a way that running the whole transaction again can cure.
    var retryCause: StoreError?

    func usageChainMAC(_ message: [UInt8]) throws(StoreError) -> [UInt8]? {
        try protector?.usageChainMAC(message)
    }

    init(connection: PostgresConnection, protector: DataProtector?) {
        self.connection = connection
        self.protector = protector
    }

    private func open() throws(StoreError) -> PostgresConnection {
        guard isOpen else {
            throw .database(
                code: SQLState.protocolViolation.code,
                message: "the transaction has ended: use it inside its body")
        }
        return connection
    }

    private func note(_ failure: PostgresFailure) -> StoreError {
        let error = failure.storeError
        if failure.state.isRetryable { retryCause = error }
        return error
    }

    /// A query; a failure here ends the transaction (reads do not fail for reasons a caller could handle).
    func read(_ sql: String, _ values: [PostgresValue] = []) throws(StoreError) -> PostgresResult {
        let connection = try open()
        do {
            return try connection.run(sql, values)
        } catch {
            throw note(error)
        }
    }

    /// Maps every row of a query.
    func rows<T>(
        _ sql: String, _ values: [PostgresValue] = [],
        _ decode: (PostgresResult, Int) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        let result = try read(sql, values)
        var rows: [T] = []
        rows.reserveCapacity(result.rowCount)
        for row in 0..<result.rowCount { rows.append(try decode(result, row)) }
        return rows
    }

    /// A statement that may be refused (constraints): run under a savepoint, so a refusal leaves the transaction
    /// usable, as on SQLite. `refusal` turns a failure into the domain's error (nil: the database error as is).
    @discardableResult
    func write(
        _ sql: String, _ values: [PostgresValue],
        refusal: (PostgresFailure) throws(StoreError) -> StoreError? = { _ in nil }
    ) throws(StoreError)
        -> PostgresResult
    {
        let connection = try open()
        let failure: PostgresFailure
        do {
            try connection.execute("SAVEPOINT enrolld_statement")
            let result = try connection.run(sql, values)
            try connection.execute("RELEASE SAVEPOINT enrolld_statement")
            return result
        } catch {
            failure = error
        }
        try? connection.execute("ROLLBACK TO SAVEPOINT enrolld_statement")
        try? connection.execute("RELEASE SAVEPOINT enrolld_statement")
        let error = note(failure)
        if failure.state.isRetryable { throw error }
        throw try refusal(failure) ?? error
    }

    /// A unique key taken by a transaction that committed after this one's snapshot: invisible here, so the
    /// refusal cannot name the holder. Running the transaction again sees it.
    private func concurrentCommit(_ what: String) -> StoreError {
        let error = StoreError.database(
            code: SQLState.serializationFailure.code,
            message: "\(what) was taken by a concurrent transaction (SQLSTATE 40001)")
        retryCause = error
        return error
    }

    /// Unique violations a transaction must not handle as a plain refusal when it cannot see the row it
    /// collided with: `visible` looks for that row.
    func uniqueRefusal(
        _ failure: PostgresFailure, constraint: String, what: String,
        visible: () throws(StoreError) -> StoreError?
    ) throws(StoreError) -> StoreError? {
        guard failure.state == .uniqueViolation, failure.constraint == constraint else { return nil }
        return try visible() ?? concurrentCommit(what)
    }

    // MARK: Accounts

    private static let accountColumns =
        "id, tier, status, identity_key, sealed, created_at, updated_at, legacy_identity_key"

    func account(id: UUID) throws(StoreError) -> AccountRecord? {
        try rows(
            "SELECT \(Self.accountColumns) FROM accounts WHERE id = $1", [.text(id.uuidString)],
            Self.decodeAccount
        ).first
    }

    func account(identityKey: [UInt8]) throws(StoreError) -> AccountRecord? {
        try rows(
            "SELECT \(Self.accountColumns) FROM accounts WHERE identity_key = $1", [.bytes(identityKey)],
            Self.decodeAccount
        ).first
    }

    func account(legacyIdentityKey: [UInt8]) throws(StoreError) -> AccountRecord? {
        try rows(
            "SELECT \(Self.accountColumns) FROM accounts WHERE legacy_identity_key = $1", [.bytes(legacyIdentityKey)],
            Self.decodeAccount
        ).first
    }

    func insertAccount(_ account: AccountRecord) throws(StoreError) {
        try write(
            "INSERT INTO accounts (\(Self.accountColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                .text(account.id.uuidString), .text(account.tier.rawValue), .text(account.status.rawValue),
                .bytes(account.identityKey), .bytes(account.sealedPersonalData),
                .integer(account.createdAt.storeMilliseconds),
                .integer(account.updatedAt.storeMilliseconds), PostgresValue.bytes(account.legacyIdentityKey),
            ]
        ) { failure throws(StoreError) in try accountConflict(failure, account) }
    }

    func updateAccount(_ account: AccountRecord) throws(StoreError) {
        let result = try write(
            """
            UPDATE accounts SET tier = $1, status = $2, identity_key = $3, sealed = $4, created_at = $5, updated_at = $6,
                legacy_identity_key = $8
            WHERE id = $7
            """,
            [
                .text(account.tier.rawValue), .text(account.status.rawValue), .bytes(account.identityKey),
                .bytes(account.sealedPersonalData), .integer(account.createdAt.storeMilliseconds),
                .integer(account.updatedAt.storeMilliseconds), .text(account.id.uuidString),
                PostgresValue.bytes(account.legacyIdentityKey),
            ]
        ) { failure throws(StoreError) in try accountConflict(failure, account) }
        guard result.affectedRows == 1 else { throw .notFound("account \(account.id.uuidString)") }
    }

    func accounts(status: IdentityStatus?) throws(StoreError) -> [AccountRecord] {
        guard let status else {
            return try rows(
                "SELECT \(Self.accountColumns) FROM accounts ORDER BY created_at, id", [], Self.decodeAccount)
        }
        return try rows(
            "SELECT \(Self.accountColumns) FROM accounts WHERE status = $1 ORDER BY created_at, id",
            [.text(status.rawValue)], Self.decodeAccount)
    }

    /// A unique violation on the identity key becomes `.duplicateIdentity` naming the holder.
    private func accountConflict(_ failure: PostgresFailure, _ account: AccountRecord) throws(StoreError) -> StoreError?
    {
        if failure.state == .uniqueViolation, failure.constraint == "accounts_pkey" {
            return .database(code: failure.state.code, message: "account \(account.id.uuidString) already exists")
        }
        return try uniqueRefusal(failure, constraint: "accounts_identity_key_unique", what: "the identity") {
            () throws(StoreError) -> StoreError? in
            try self.account(identityKey: account.identityKey).map { .duplicateIdentity(existing: $0.id) }
        }
    }

    private static func decodeAccount(_ row: PostgresResult, _ index: Int) throws(StoreError) -> AccountRecord {
        AccountRecord(
            id: try uuid(row.text(index, 0), "account id"), tier: try value(row.text(index, 1), "account tier"),
            status: try value(row.text(index, 2), "account status"), identityKey: row.bytes(index, 3),
            sealedPersonalData: row.bytes(index, 4), createdAt: Date(storeMilliseconds: try row.integer(index, 5)),
            updatedAt: Date(storeMilliseconds: try row.integer(index, 6)),
            legacyIdentityKey: row.optionalBytes(index, 7))
    }

    // MARK: Account documents

    private static let documentColumns = """
        account_id, document_key, document_type, issuing_state, expiry, first_verified_at, last_verified_at
        """

    func saveAccountDocument(_ document: AccountDocumentRecord) throws(StoreError) {
        try write(
            """
            INSERT INTO account_documents (\(Self.documentColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (account_id, document_key) DO UPDATE SET document_type = EXCLUDED.document_type,
                issuing_state = EXCLUDED.issuing_state, expiry = EXCLUDED.expiry,
                first_verified_at = EXCLUDED.first_verified_at, last_verified_at = EXCLUDED.last_verified_at
            """,
            [
                .text(document.accountID.uuidString), .bytes(document.documentKey), .text(document.documentType),
                .text(document.issuingState), .text(document.expiry),
                .integer(document.firstVerifiedAt.storeMilliseconds),
                .integer(document.lastVerifiedAt.storeMilliseconds),
            ])
    }

    func deleteAccountDocument(accountID: UUID, documentKey: [UInt8]) throws(StoreError) {
        try write(
            "DELETE FROM account_documents WHERE account_id = $1 AND document_key = $2",
            [.text(accountID.uuidString), .bytes(documentKey)])
    }

    func accountDocuments(accountID: UUID) throws(StoreError) -> [AccountDocumentRecord] {
        try rows(
            """
            SELECT \(Self.documentColumns) FROM account_documents WHERE account_id = $1
            ORDER BY first_verified_at, document_key
            """, [.text(accountID.uuidString)]
        ) { row, index throws(StoreError) in
            AccountDocumentRecord(
                accountID: try Self.uuid(row.text(index, 0), "account id"), documentKey: row.bytes(index, 1),
                documentType: row.text(index, 2), issuingState: row.text(index, 3), expiry: row.text(index, 4),
                firstVerifiedAt: Date(storeMilliseconds: try row.integer(index, 5)),
                lastVerifiedAt: Date(storeMilliseconds: try row.integer(index, 6)))
        }
    }

    // MARK: Certificates

    private static let certificateColumns = """
        serial, account_id, state, der, der_sealed, not_before, not_after, revoked_at, revocation_reason, device_id, \
        created_at
        """

    func insertCertificate(_ certificate: CertificateRecord) throws(StoreError) {
        try write(
            """
            INSERT INTO certificates (\(Self.certificateColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """, try certificateValues(certificate)
        ) { failure throws(StoreError) in
            if failure.state == .foreignKeyViolation { return .notFound("account \(certificate.accountID.uuidString)") }
            guard failure.state == .uniqueViolation, failure.constraint == "certificates_pkey" else { return nil }
            // Whether this snapshot sees the holder or not, the serial is taken for good.
            return .duplicateSerial(certificate.serial)
        }
    }

    func updateCertificate(_ certificate: CertificateRecord) throws(StoreError) {
        let result = try write(
            """
            UPDATE certificates SET account_id = $2, state = $3, der = $4, der_sealed = $5, not_before = $6, \
            not_after = $7, revoked_at = $8, revocation_reason = $9, device_id = $10, created_at = $11 WHERE serial = $1
            """, try certificateValues(certificate)
        ) { failure in
            failure.state == .foreignKeyViolation ? .notFound("account \(certificate.accountID.uuidString)") : nil
        }
        guard result.affectedRows == 1 else { throw .notFound("certificate \(certificate.serial)") }
    }

    /// Most certificates in one bulk statement (11 parameters each; PostgreSQL takes up to 65,535).
    private static let bulkRows = 256

    /// One multi-row INSERT per `bulkRows` (one savepoint and one round trip instead of a savepoint and a round trip
    /// per row); a refused chunk runs again row by row, so the refusal names its serial.
    func insertCertificates(_ certificates: [CertificateRecord]) throws(StoreError) {
        for start in stride(from: 0, to: certificates.count, by: Self.bulkRows) {
            let chunk = Array(certificates[start..<min(start + Self.bulkRows, certificates.count)])
            guard chunk.count > 1 else {
                for certificate in chunk { try insertCertificate(certificate) }
                continue
            }
            var values: [PostgresValue] = []
            var rows: [String] = []
            for certificate in chunk {
                let base = values.count
                rows.append("(" + (1...11).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
                values += try certificateValues(certificate)
            }
            do {
                try write(
                    "INSERT INTO certificates (\(Self.certificateColumns)) VALUES " + rows.joined(separator: ", "),
                    values)
            } catch {
                if retryCause != nil { throw error }
                for certificate in chunk { try insertCertificate(certificate) }
            }
        }
    }

    /// One `UPDATE … FROM (VALUES …)` per `bulkRows`, joined on the serial; a chunk that is refused or does not
    /// find every serial runs again row by row, so the error names its serial.
    func updateCertificates(_ certificates: [CertificateRecord]) throws(StoreError) {
        let types = [
            "text", "text", "text", "bytea", "boolean", "bigint", "bigint", "bigint", "bigint", "text", "bigint",
        ]
        for start in stride(from: 0, to: certificates.count, by: Self.bulkRows) {
            let chunk = Array(certificates[start..<min(start + Self.bulkRows, certificates.count)])
            guard chunk.count > 1 else {
                for certificate in chunk { try updateCertificate(certificate) }
                continue
            }
            var values: [PostgresValue] = []
            var rows: [String] = []
            for certificate in chunk {
                let base = values.count
                let casts = types.enumerated().map { "$\(base + $0.offset + 1)::\($0.element)" }
                rows.append("(" + casts.joined(separator: ", ") + ")")
                values += try certificateValues(certificate)
            }
            let sql =
                "UPDATE certificates AS c SET account_id = v.account_id, state = v.state, der = v.der, "
                + "der_sealed = v.der_sealed, not_before = v.not_before, not_after = v.not_after, "
                + "revoked_at = v.revoked_at, revocation_reason = v.revocation_reason, device_id = v.device_id, "
                + "created_at = v.created_at FROM (VALUES " + rows.joined(separator: ", ")
                + ") AS v(\(Self.certificateColumns)) WHERE c.serial = v.serial"
            do {
                let result = try write(sql, values)
                if result.affectedRows == chunk.count { continue }
            } catch {
                if retryCause != nil { throw error }
            }
            for certificate in chunk { try updateCertificate(certificate) }
        }
    }

    func certificate(serial: String) throws(StoreError) -> CertificateRecord? {
        try rows(
            "SELECT \(Self.certificateColumns) FROM certificates WHERE serial = $1", [.text(serial)],
            decodeCertificate
        ).first
    }

    func certificates(accountID: UUID) throws(StoreError) -> [CertificateRecord] {
        try rows(
            "SELECT \(Self.certificateColumns) FROM certificates WHERE account_id = $1 ORDER BY created_at, serial",
            [.text(accountID.uuidString)], decodeCertificate)
    }

    func certificates(state: CertificateState) throws(StoreError) -> [CertificateRecord] {
        try rows(
            "SELECT \(Self.certificateColumns) FROM certificates WHERE state = $1 ORDER BY created_at, serial",
            [.text(state.rawValue)], decodeCertificate)
    }

    func issuedCertificates(
        createdBefore: Date, afterSerial: String?, limit: Int
    ) throws(StoreError) -> [CertificateRecord] {
        // With the table's statistics (autovacuum), PostgreSQL walks the primary key's index in serial order and
        // stops at the limit (0.4 ms a page of 256 out of 200,000 rows, against 65 ms for sorting them by time).
        try rows(
            """
            SELECT \(Self.certificateColumns) FROM certificates WHERE state = $1 AND created_at < $2 \
            AND serial > $3 ORDER BY serial LIMIT $4
            """,
            [
                .text(CertificateState.issued.rawValue), .integer(createdBefore.storeMilliseconds),
                .text(afterSerial ?? ""), .integer(Int64(max(0, limit))),
            ], decodeCertificate)
    }

    func certificateStatuses(
        states: [CertificateState], revokedSince: Date?,
        limit: Int?
    ) throws(StoreError) -> [CertificateRecord] {
        guard !states.isEmpty else { return [] }
        var values: [PostgresValue] = states.map { .text($0.rawValue) }
        let placeholders = (1...states.count).map { "$\($0)" }.joined(separator: ", ")
        var sql = """
            SELECT serial, account_id, state, NULL::bytea, false, not_before, not_after, revoked_at, \
            revocation_reason, device_id, created_at FROM certificates WHERE state IN (\(placeholders))
            """
        if let revokedSince {
            values.append(.integer(revokedSince.storeMilliseconds))
            sql += " AND revoked_at >= $\(values.count)"
        }
        sql += " ORDER BY created_at DESC, serial"
        if let limit {
            values.append(.integer(Int64(max(0, limit))))
            sql += " LIMIT $\(values.count)"
        }
        return try rows(sql, values, decodeCertificate)
    }

    /// Parameters in column order. Certificate DER names the holder: sealed under the data key (bound to the
    /// serial) when the store has one.
    private func certificateValues(_ certificate: CertificateRecord) throws(StoreError) -> [PostgresValue] {
        var der = certificate.der
        var sealed = false
        if let clear = der, let protector {
            der = try protector.seal(clear, context: Self.certificateContext(certificate.serial))
            sealed = true
        }
        return [
            .text(certificate.serial), .text(certificate.accountID.uuidString), .text(certificate.state.rawValue),
            .bytes(der), .boolean(sealed), .integer(certificate.notBefore.storeMilliseconds),
            .integer(certificate.notAfter.storeMilliseconds), .integer(certificate.revokedAt?.storeMilliseconds),
            .integer(certificate.revocationReason.map { Int64($0.rawValue) }), .text(certificate.deviceID),
            .integer(certificate.createdAt.storeMilliseconds),
        ]
    }

    private static func certificateContext(_ serial: String) -> String { "certificate:\(serial)" }

    private func decodeCertificate(_ row: PostgresResult, _ index: Int) throws(StoreError) -> CertificateRecord {
        let serial = row.text(index, 0)
        var der = row.optionalBytes(index, 3)
        if let sealed = der, try row.boolean(index, 4) {
            guard let protector else {
                throw .protection("certificate \(serial) is sealed but the store has no data key")
            }
            der = try protector.open(sealed, context: Self.certificateContext(serial))
        }
        var reason: RevocationReason?
        if let code = try row.optionalInteger(index, 8) {
            guard let known = RevocationReason(rawValue: Int(code)) else {
                throw postgresCorrupt("revocation reason \(code)")
            }
            reason = known
        }
        return CertificateRecord(
            serial: serial, accountID: try Self.uuid(row.text(index, 1), "certificate account id"),
            state: try Self.value(row.text(index, 2), "certificate state"), der: der,
            notBefore: Date(storeMilliseconds: try row.integer(index, 5)),
            notAfter: Date(storeMilliseconds: try row.integer(index, 6)),
            revokedAt: try row.optionalInteger(index, 7).map(Date.init(storeMilliseconds:)),
            revocationReason: reason, deviceID: row.optionalText(index, 9),
            createdAt: Date(storeMilliseconds: try row.integer(index, 10)))
    }

    // MARK: Enrollments

    private static let enrollmentColumns = """
        id, purpose, state, account_id, reader, caller_uid, evidence, failure_code, created_at, updated_at
        """

    func saveEnrollment(_ enrollment: EnrollmentRecord) throws(StoreError) {
        let result = try write(
            """
            INSERT INTO enrollments (\(Self.enrollmentColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (id) DO UPDATE SET purpose = excluded.purpose, state = excluded.state,
                account_id = excluded.account_id, reader = excluded.reader, caller_uid = excluded.caller_uid,
                evidence = excluded.evidence, failure_code = excluded.failure_code,
                created_at = excluded.created_at, updated_at = excluded.updated_at
            WHERE enrollments.state NOT IN \(EnrollmentState.finishedSQL)
            """,
            [
                .text(enrollment.id.uuidString), .text(enrollment.purpose.rawValue), .text(enrollment.state.rawValue),
                .text(enrollment.accountID?.uuidString), .text(enrollment.reader),
                .integer(Int64(enrollment.callerUID)), .bytes(enrollment.evidence), .text(enrollment.failureCode),
                .integer(enrollment.createdAt.storeMilliseconds), .integer(enrollment.updatedAt.storeMilliseconds),
            ]
        ) {
            failure in
            guard failure.state == .foreignKeyViolation, let accountID = enrollment.accountID else { return nil }
            return .notFound("account \(accountID.uuidString)")
        }
        guard result.affectedRows == 1 else { throw .enrollmentFinished(enrollment.id) }
    }

    func enrollment(id: UUID) throws(StoreError) -> EnrollmentRecord? {
        try rows(
            "SELECT \(Self.enrollmentColumns) FROM enrollments WHERE id = $1", [.text(id.uuidString)],
            Self.decodeEnrollment
        ).first
    }

    func enrollments(state: EnrollmentState) throws(StoreError) -> [EnrollmentRecord] {
        try rows(
            "SELECT \(Self.enrollmentColumns) FROM enrollments WHERE state = $1 ORDER BY created_at, id",
            [.text(state.rawValue)], Self.decodeEnrollment)
    }

    private static func decodeEnrollment(_ row: PostgresResult, _ index: Int) throws(StoreError) -> EnrollmentRecord {
        EnrollmentRecord(
            id: try uuid(row.text(index, 0), "enrollment id"),
            purpose: try value(row.text(index, 1), "enrollment purpose"),
            state: try value(row.text(index, 2), "enrollment state"),
            accountID: try optionalUUID(row.optionalText(index, 3), "enrollment account id"),
            reader: row.text(index, 4), callerUID: try uid(row.integer(index, 5), "caller uid"),
            evidence: row.bytes(index, 6), failureCode: row.optionalText(index, 7),
            createdAt: Date(storeMilliseconds: try row.integer(index, 8)),
            updatedAt: Date(storeMilliseconds: try row.integer(index, 9)))
    }

    // MARK: Counters

    func nextValue(counter: String) throws(StoreError) -> Int {
        let result = try write(
            """
            INSERT INTO counters (name, value) VALUES ($1, 1)
            ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value
            """, [.text(counter)])
        guard result.rowCount == 1 else { throw postgresCorrupt("counter \(counter) returned no value") }
        return Int(try result.integer(0, 0))
    }

    // MARK: Fleet settings

    /// Stores `value` under `name` unless a value is there already; returns the stored one.
    func claimSetting(_ name: String, value: [UInt8]) throws(StoreError) -> [UInt8] {
        try write(
            "INSERT INTO fleet_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            [.text(name), .bytes(value)])
        return try rows("SELECT value FROM fleet_settings WHERE name = $1", [.text(name)]) { row, index in
            row.bytes(index, 0)
        }.first ?? []
    }

    // MARK: Decoding helpers

    static func uuid(_ text: String, _ what: String) throws(StoreError) -> UUID {
        guard let id = UUID(uuidString: text) else { throw postgresCorrupt("\(what) is not a UUID") }
        return id
    }

    static func optionalUUID(_ text: String?, _ what: String) throws(StoreError) -> UUID? {
        guard let text else { return nil }
        return try uuid(text, what)
    }

    static func uid(_ number: Int64, _ what: String) throws(StoreError) -> UInt32 {
        guard let uid = UInt32(exactly: number) else { throw postgresCorrupt("\(what) \(number)") }
        return uid
    }

    static func value<E: RawRepresentable>(_ text: String, _ what: String) throws(StoreError) -> E
    where E.RawValue == String {
        guard let value = E(rawValue: text) else { throw postgresCorrupt("unknown \(what) '\(text)'") }
        return value
    }
}

extension Date {
    /// Milliseconds since 1970-01-01 UTC, the stores' date representation (clamped, never trapping).
    var storeMilliseconds: Int64 {
        let value = (timeIntervalSince1970 * 1000).rounded()
        if let exact = Int64(exactly: value) { return exact }
        return value < 0 ? Int64.min : Int64.max
    }

    init(storeMilliseconds: Int64) { self.init(timeIntervalSince1970: TimeInterval(storeMilliseconds) / 1000) }
}
