import CSQLite
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// The SQLite implementation of `Store`: one connection in WAL mode, serialised by a lock, every
/// transaction `BEGIN IMMEDIATE` so writers queue up front instead of failing at commit.
///
/// Durability: `synchronous=FULL` by default, so a committed transaction (an issued certificate, a consumed
/// serial) survives power loss, not only a crash of the process. Privacy: the file holds no personal data in
/// clear: identities are HMACs, personal data arrives sealed, and certificate DER (which names the holder) is
/// sealed here when the store has a `DataProtector`. The file is created with mode 0600 and SQLite gives the
/// `-wal` and `-shm` files the same mode; deleted content is overwritten (`secure_delete`).
public final class SQLiteStore: Store, @unchecked Sendable {
    /// SQLite's `synchronous` setting in WAL mode.
    public enum Synchronous: String, Sendable {
        /// fsync at every commit: committed transactions survive power loss.
        case full = "FULL"
        /// fsync at checkpoints only: committed transactions survive a crash of the process, but the last ones
        /// may roll back after power loss.
        case normal = "NORMAL"
    }

    /// How long a transaction waits for another process's write lock before failing with `.busy`.
    public static let busyTimeoutMilliseconds: Int32 = 5000

    public let path: String
    public var location: String { "sqlite:\(path)" }

    private let lock = NSRecursiveLock()
    private var connection: SQLiteConnection?
    private var inTransaction = false
    private let protector: DataProtector?

    /// Opens (creating with mode 0600 when absent) the database at `path` and configures the connection.
    /// Call `migrate()` before the first transaction. `protector` seals certificate DER at rest.
    public init(path: String, protector: DataProtector? = nil, synchronous: Synchronous = .full) throws(StoreError) {
        self.path = path
        self.protector = protector
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .database(code: SQLITE_CANTOPEN, message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        Glibc.close(descriptor)
        let connection = try SQLiteConnection(path: path)
        sqlite3_busy_timeout(try connection.openHandle(), Self.busyTimeoutMilliseconds)
        let journalMode = try connection.query("PRAGMA journal_mode=WAL") { row in row.text(0) }
        guard journalMode.first?.lowercased() == "wal" else {
            throw .database(
                code: SQLITE_CANTOPEN,
                message: "cannot switch \(path) to WAL (journal mode \(journalMode))")
        }
        try connection.execute(
            "PRAGMA foreign_keys=ON; PRAGMA synchronous=\(synchronous.rawValue); "
                + "PRAGMA secure_delete=ON;")
        self.connection = connection
    }

    deinit { connection?.close() }

    /// Closes the connection; later calls throw. Waits for a running transaction on another thread.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        connection?.close()
        connection = nil
    }

    /// The schema version this database is at (`PRAGMA user_version`).
    public func schemaVersion() throws(StoreError) -> Int {
        try withConnection { connection throws(StoreError) in try Self.userVersion(connection) }
    }

    /// Applies the migrations this database lacks, each in its own transaction. Refuses a database whose schema
    /// is newer than this enrolld knows.
    public func migrate() throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            for migration in SQLiteMigrations.all {
                try connection.execute("BEGIN IMMEDIATE")
                do throws(StoreError) {
                    let current = try Self.userVersion(connection)
                    guard current <= SQLiteMigrations.latestVersion else {
                        throw StoreError.schema(
                            "the database is at schema version \(current), this enrolld knows up "
                                + "to \(SQLiteMigrations.latestVersion): upgrade enrolld")
                    }
                    if current < migration.version {
                        try connection.execute(migration.sql)
                        if migration.rekeysIdentities, let protector {
                            let transaction = SQLiteTransaction(connection: connection, protector: protector)
                            defer { transaction.isOpen = false }
                            try TypedIdentityMigration.apply(transaction, protector: protector)
                        }
                        // A constant from our own table, not an input.
                        try connection.execute("PRAGMA user_version=\(migration.version)")
                    }
                    try connection.execute("COMMIT")
                } catch {
                    try? connection.execute("ROLLBACK")
                    if case .schema = error { throw error }
                    throw .schema("migration \(migration.version) (\(migration.summary)) failed: \(error)")
                }
            }
        }
    }

    public func transaction<T>(_ body: (any StoreTransaction) throws -> T) throws(StoreError) -> T {
        try withConnection { connection throws(StoreError) in
            guard !inTransaction else {
                throw .database(
                    code: SQLiteResultCode.misuse,
                    message: "nested transactions are not supported: use the enclosing transaction")
            }
            try connection.execute("BEGIN IMMEDIATE")
            inTransaction = true
            defer { inTransaction = false }
            let transaction = SQLiteTransaction(connection: connection, protector: protector)
            defer { transaction.isOpen = false }
            let result: T
            do {
                result = try body(transaction)
            } catch let error as StoreError {
                try? connection.execute("ROLLBACK")
                throw error
            } catch {
                try? connection.execute("ROLLBACK")
                throw .aborted(String(describing: error))
            }
            do throws(StoreError) {
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
            return result
        }
    }

    private func withConnection<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        guard let connection else { throw .database(code: SQLiteResultCode.misuse, message: "the store is closed") }
        return try body(connection)
    }

    private static func userVersion(_ connection: SQLiteConnection) throws(StoreError) -> Int {
        Int(try connection.query("PRAGMA user_version") { row in row.integer(0) }.first ?? 0)
    }
}

/// The operations of one open SQLite transaction. Valid only inside the `transaction` body.
final class SQLiteTransaction: StoreTransaction {
    private let connection: SQLiteConnection
    private let protector: DataProtector?
    var isOpen = true

    func usageChainMAC(_ message: [UInt8]) throws(StoreError) -> [UInt8]? {
        try protector?.usageChainMAC(message)
    }

    init(connection: SQLiteConnection, protector: DataProtector?) {
        self.connection = connection
        self.protector = protector
    }

    func open() throws(StoreError) -> SQLiteConnection {
        guard isOpen else {
            throw .database(code: SQLiteResultCode.misuse, message: "the transaction has ended: use it inside its body")
        }
        return connection
    }

    // MARK: Accounts

    private static let accountColumns =
        "id, tier, status, identity_key, sealed, created_at, updated_at, legacy_identity_key"

    func account(id: UUID) throws(StoreError) -> AccountRecord? {
        try open().query(
            "SELECT \(Self.accountColumns) FROM accounts WHERE id = ?", [.text(id.uuidString)],
            row: Self.decodeAccount
        ).first
    }

    func account(identityKey: [UInt8]) throws(StoreError) -> AccountRecord? {
        try open().query(
            "SELECT \(Self.accountColumns) FROM accounts WHERE identity_key = ?", [.blob(identityKey)],
            row: Self.decodeAccount
        ).first
    }

    func account(legacyIdentityKey: [UInt8]) throws(StoreError) -> AccountRecord? {
        try open().query(
            "SELECT \(Self.accountColumns) FROM accounts WHERE legacy_identity_key = ?", [.blob(legacyIdentityKey)],
            row: Self.decodeAccount
        ).first
    }

    func insertAccount(_ account: AccountRecord) throws(StoreError) {
        do {
            try open().run(
                "INSERT INTO accounts (\(Self.accountColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    .text(account.id.uuidString), .text(account.tier.rawValue), .text(account.status.rawValue),
                    .blob(account.identityKey), .blob(account.sealedPersonalData),
                    .integer(account.createdAt.milliseconds),
                    .integer(account.updatedAt.milliseconds), account.legacyIdentityKey.map { .blob($0) } ?? .null,
                ])
        } catch {
            throw try accountConflict(error, identityKey: account.identityKey, id: account.id)
        }
    }

    func updateAccount(_ account: AccountRecord) throws(StoreError) {
        let changed: Int
        do {
            changed = try open().run(
                """
                UPDATE accounts SET tier = ?, status = ?, identity_key = ?, sealed = ?, created_at = ?, updated_at = ?,
                    legacy_identity_key = ?
                WHERE id = ?
                """,
                [
                    .text(account.tier.rawValue), .text(account.status.rawValue), .blob(account.identityKey),
                    .blob(account.sealedPersonalData), .integer(account.createdAt.milliseconds),
                    .integer(account.updatedAt.milliseconds), account.legacyIdentityKey.map { .blob($0) } ?? .null,
                    .text(account.id.uuidString),
                ])
        } catch {
            throw try accountConflict(error, identityKey: account.identityKey, id: account.id)
        }
        guard changed == 1 else { throw .notFound("account \(account.id.uuidString)") }
    }

    func accounts(status: IdentityStatus?) throws(StoreError) -> [AccountRecord] {
        guard let status else {
            return try open().query(
                "SELECT \(Self.accountColumns) FROM accounts ORDER BY created_at, id",
                row: Self.decodeAccount)
        }
        return try open().query(
            "SELECT \(Self.accountColumns) FROM accounts WHERE status = ? ORDER BY created_at, id",
            [.text(status.rawValue)], row: Self.decodeAccount)
    }

    /// Turns a unique-constraint failure on `identity_key` into `.duplicateIdentity` with the holder's id.
    private func accountConflict(_ error: StoreError, identityKey: [UInt8], id: UUID) throws(StoreError) -> StoreError {
        guard case let .database(code, _) = error else { return error }
        if code == SQLiteResultCode.constraintPrimaryKey {
            return .database(code: code, message: "account \(id.uuidString) already exists")
        }
        if code == SQLiteResultCode.constraintUnique, let existing = try account(identityKey: identityKey) {
            return .duplicateIdentity(existing: existing.id)
        }
        return error
    }

    private static func decodeAccount(_ row: SQLiteStatement) throws(StoreError) -> AccountRecord {
        AccountRecord(
            id: try uuid(row.text(0), "account id"), tier: try value(row.text(1), "account tier"),
            status: try value(row.text(2), "account status"), identityKey: row.blob(3),
            sealedPersonalData: row.blob(4), createdAt: Date(milliseconds: row.integer(5)),
            updatedAt: Date(milliseconds: row.integer(6)), legacyIdentityKey: row.optionalBlob(7))
    }

    // MARK: Account documents

    private static let documentColumns = """
        account_id, document_key, document_type, issuing_state, expiry, first_verified_at, last_verified_at
        """

    func saveAccountDocument(_ document: AccountDocumentRecord) throws(StoreError) {
        try open().run(
            "INSERT OR REPLACE INTO account_documents (\(Self.documentColumns)) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                .text(document.accountID.uuidString), .blob(document.documentKey), .text(document.documentType),
                .text(document.issuingState), .text(document.expiry),
                .integer(document.firstVerifiedAt.milliseconds), .integer(document.lastVerifiedAt.milliseconds),
            ])
    }

    func deleteAccountDocument(accountID: UUID, documentKey: [UInt8]) throws(StoreError) {
        try open().run(
            "DELETE FROM account_documents WHERE account_id = ? AND document_key = ?",
            [.text(accountID.uuidString), .blob(documentKey)])
    }

    func accountDocuments(accountID: UUID) throws(StoreError) -> [AccountDocumentRecord] {
        try open().query(
            """
            SELECT \(Self.documentColumns) FROM account_documents WHERE account_id = ?
            ORDER BY first_verified_at, document_key
            """, [.text(accountID.uuidString)]
        ) { row throws(StoreError) in
            AccountDocumentRecord(
                accountID: try Self.uuid(row.text(0), "account id"), documentKey: row.blob(1),
                documentType: row.text(2),
                issuingState: row.text(3), expiry: row.text(4), firstVerifiedAt: Date(milliseconds: row.integer(5)),
                lastVerifiedAt: Date(milliseconds: row.integer(6)))
        }
    }

    // MARK: Certificates

    private static let certificateColumns = """
        serial, account_id, state, der, der_sealed, not_before, not_after, revoked_at, revocation_reason, device_id, \
        created_at
        """

    private static let insertCertificateSQL =
        "INSERT INTO certificates (\(certificateColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    private static let updateCertificateSQL =
        "UPDATE certificates SET account_id = ?, state = ?, der = ?, der_sealed = ?, not_before = ?, "
        + "not_after = ?, revoked_at = ?, revocation_reason = ?, device_id = ?, created_at = ? WHERE serial = ?"

    func insertCertificate(_ certificate: CertificateRecord) throws(StoreError) {
        try insertCertificates([certificate])
    }

    func updateCertificate(_ certificate: CertificateRecord) throws(StoreError) {
        try updateCertificates([certificate])
    }

    /// One prepared statement for the whole batch (bulk issuance), run once per certificate.
    func insertCertificates(_ certificates: [CertificateRecord]) throws(StoreError) {
        guard !certificates.isEmpty else { return }
        let connection = try open()
        let statement = try SQLiteStatement(connection: connection, sql: Self.insertCertificateSQL)
        for certificate in certificates {
            let (der, sealed) = try sealDER(certificate)
            do {
                statement.reset()
                try statement.bind([
                    .text(certificate.serial), .text(certificate.accountID.uuidString),
                    .text(certificate.state.rawValue), .blob(der), .integer(sealed ? 1 : 0),
                    .integer(certificate.notBefore.milliseconds), .integer(certificate.notAfter.milliseconds),
                    .integer(certificate.revokedAt?.milliseconds),
                    .integer(certificate.revocationReason.map { Int64($0.rawValue) }),
                    .text(certificate.deviceID), .integer(certificate.createdAt.milliseconds),
                ])
                while try statement.step() {}
            } catch let .database(code, message) {
                switch code {
                case SQLiteResultCode.constraintPrimaryKey: throw .duplicateSerial(certificate.serial)
                case SQLiteResultCode.constraintForeignKey:
                    throw .notFound("account \(certificate.accountID.uuidString)")
                default: throw .database(code: code, message: message)
                }
            }
        }
    }

    /// One prepared statement for the whole batch (bulk issuance), run once per certificate.
    func updateCertificates(_ certificates: [CertificateRecord]) throws(StoreError) {
        guard !certificates.isEmpty else { return }
        let connection = try open()
        let statement = try SQLiteStatement(connection: connection, sql: Self.updateCertificateSQL)
        for certificate in certificates {
            let (der, sealed) = try sealDER(certificate)
            do {
                statement.reset()
                try statement.bind([
                    .text(certificate.accountID.uuidString), .text(certificate.state.rawValue), .blob(der),
                    .integer(sealed ? 1 : 0), .integer(certificate.notBefore.milliseconds),
                    .integer(certificate.notAfter.milliseconds), .integer(certificate.revokedAt?.milliseconds),
                    .integer(certificate.revocationReason.map { Int64($0.rawValue) }), .text(certificate.deviceID),
                    .integer(certificate.createdAt.milliseconds), .text(certificate.serial),
                ])
                while try statement.step() {}
            } catch let .database(code, _) where code == SQLiteResultCode.constraintForeignKey {
                throw .notFound("account \(certificate.accountID.uuidString)")
            }
            guard connection.changes == 1 else { throw .notFound("certificate \(certificate.serial)") }
        }
    }

    func certificate(serial: String) throws(StoreError) -> CertificateRecord? {
        try open().query(
            "SELECT \(Self.certificateColumns) FROM certificates WHERE serial = ?", [.text(serial)],
            row: decodeCertificate
        ).first
    }

    func certificates(accountID: UUID) throws(StoreError) -> [CertificateRecord] {
        try open().query(
            """
            SELECT \(Self.certificateColumns) FROM certificates WHERE account_id = ? ORDER BY created_at, serial
            """, [.text(accountID.uuidString)], row: decodeCertificate)
    }

    func certificates(state: CertificateState) throws(StoreError) -> [CertificateRecord] {
        try open().query(
            """
            SELECT \(Self.certificateColumns) FROM certificates WHERE state = ? ORDER BY created_at, serial
            """, [.text(state.rawValue)], row: decodeCertificate)
    }

    func issuedCertificates(
        createdBefore: Date, afterSerial: String?, limit: Int
    ) throws(StoreError) -> [CertificateRecord] {
        // `+state`: not through `certificates_state` (which would sort every issued row for each page) but along the
        // primary key's index, which gives serial order as it reads.
        try open().query(
            """
            SELECT \(Self.certificateColumns) FROM certificates WHERE +state = ? AND created_at < ? AND serial > ? \
            ORDER BY serial LIMIT ?
            """,
            [
                .text(CertificateState.issued.rawValue), .integer(createdBefore.milliseconds), .text(afterSerial ?? ""),
                .integer(Int64(max(0, limit))),
            ], row: decodeCertificate)
    }

    func certificateStatuses(
        states: [CertificateState], revokedSince: Date?,
        limit: Int?
    ) throws(StoreError) -> [CertificateRecord] {
        guard !states.isEmpty else { return [] }
        var values: [SQLiteValue] = states.map { .text($0.rawValue) }
        var sql = """
            SELECT serial, account_id, state, NULL, 0, not_before, not_after, revoked_at, revocation_reason, \
            device_id, created_at FROM certificates WHERE state IN (\(states.map { _ in "?" }.joined(separator: ", ")))
            """
        if let revokedSince {
            sql += " AND revoked_at >= ?"
            values.append(.integer(revokedSince.milliseconds))
        }
        sql += " ORDER BY created_at DESC, serial"
        if let limit {
            sql += " LIMIT ?"
            values.append(.integer(Int64(max(0, limit))))
        }
        return try open().query(sql, values, row: decodeCertificate)
    }

    /// Certificate DER names the holder: sealed under the data key (bound to the serial) when we have one.
    private func sealDER(_ certificate: CertificateRecord) throws(StoreError) -> (der: [UInt8]?, sealed: Bool) {
        guard let der = certificate.der, let protector else { return (certificate.der, false) }
        return (try protector.seal(der, context: Self.certificateContext(certificate.serial)), true)
    }

    private static func certificateContext(_ serial: String) -> String { "certificate:\(serial)" }

    private func decodeCertificate(_ row: SQLiteStatement) throws(StoreError) -> CertificateRecord {
        let serial = row.text(0)
        var der = row.optionalBlob(3)
        if let sealed = der, row.integer(4) != 0 {
            guard let protector else {
                throw .protection("certificate \(serial) is sealed but the store has no data key")
            }
            der = try protector.open(sealed, context: Self.certificateContext(serial))
        }
        var reason: RevocationReason?
        if let code = row.optionalInteger(8) {
            guard let known = RevocationReason(rawValue: Int(code)) else { throw corrupt("revocation reason \(code)") }
            reason = known
        }
        return CertificateRecord(
            serial: serial, accountID: try Self.uuid(row.text(1), "certificate account id"),
            state: try Self.value(row.text(2), "certificate state"), der: der,
            notBefore: Date(milliseconds: row.integer(5)),
            notAfter: Date(milliseconds: row.integer(6)),
            revokedAt: row.optionalInteger(7).map(Date.init(milliseconds:)),
            revocationReason: reason, deviceID: row.optionalText(9),
            createdAt: Date(milliseconds: row.integer(10)))
    }

    // MARK: Enrollments

    private static let enrollmentColumns = """
        id, purpose, state, account_id, reader, caller_uid, evidence, failure_code, created_at, updated_at
        """

    func saveEnrollment(_ enrollment: EnrollmentRecord) throws(StoreError) {
        let changed: Int
        do {
            changed = try open().run(
                """
                INSERT INTO enrollments (\(Self.enrollmentColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET purpose = excluded.purpose, state = excluded.state,
                    account_id = excluded.account_id, reader = excluded.reader, caller_uid = excluded.caller_uid,
                    evidence = excluded.evidence, failure_code = excluded.failure_code,
                    created_at = excluded.created_at, updated_at = excluded.updated_at
                WHERE enrollments.state NOT IN \(EnrollmentState.finishedSQL)
                """,
                [
                    .text(enrollment.id.uuidString), .text(enrollment.purpose.rawValue),
                    .text(enrollment.state.rawValue), .text(enrollment.accountID?.uuidString),
                    .text(enrollment.reader), .integer(Int64(enrollment.callerUID)), .blob(enrollment.evidence),
                    .text(enrollment.failureCode), .integer(enrollment.createdAt.milliseconds),
                    .integer(enrollment.updatedAt.milliseconds),
                ])
        } catch let .database(code, message) {
            guard code == SQLiteResultCode.constraintForeignKey, let accountID = enrollment.accountID else {
                throw .database(code: code, message: message)
            }
            throw .notFound("account \(accountID.uuidString)")
        }
        guard changed == 1 else { throw .enrollmentFinished(enrollment.id) }
    }

    func enrollment(id: UUID) throws(StoreError) -> EnrollmentRecord? {
        try open().query(
            "SELECT \(Self.enrollmentColumns) FROM enrollments WHERE id = ?", [.text(id.uuidString)],
            row: Self.decodeEnrollment
        ).first
    }

    func enrollments(state: EnrollmentState) throws(StoreError) -> [EnrollmentRecord] {
        try open().query(
            "SELECT \(Self.enrollmentColumns) FROM enrollments WHERE state = ? ORDER BY created_at, id",
            [.text(state.rawValue)], row: Self.decodeEnrollment)
    }

    private static func decodeEnrollment(_ row: SQLiteStatement) throws(StoreError) -> EnrollmentRecord {
        let uid = row.integer(5)
        guard let callerUID = UInt32(exactly: uid) else { throw corrupt("caller uid \(uid)") }
        return EnrollmentRecord(
            id: try uuid(row.text(0), "enrollment id"),
            purpose: try value(row.text(1), "enrollment purpose"),
            state: try value(row.text(2), "enrollment state"),
            accountID: try row.optionalText(3).map { text throws(StoreError) in
                try uuid(text, "enrollment account id")
            },
            reader: row.text(4), callerUID: callerUID, evidence: row.blob(6),
            failureCode: row.optionalText(7), createdAt: Date(milliseconds: row.integer(8)),
            updatedAt: Date(milliseconds: row.integer(9)))
    }

    // MARK: Counters

    func nextValue(counter: String) throws(StoreError) -> Int {
        let values = try open().query(
            """
            INSERT INTO counters (name, value) VALUES (?, 1)
            ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value
            """, [.text(counter)]
        ) { row in row.integer(0) }
        guard let value = values.first else { throw corrupt("counter \(counter) returned no value") }
        return Int(value)
    }

    // MARK: Decoding helpers

    static func uuid(_ text: String, _ what: String) throws(StoreError) -> UUID {
        guard let id = UUID(uuidString: text) else { throw corrupt("\(what) is not a UUID") }
        return id
    }

    static func value<E: RawRepresentable>(_ text: String, _ what: String) throws(StoreError) -> E
    where E.RawValue == String {
        guard let value = E(rawValue: text) else { throw corrupt("unknown \(what) '\(text)'") }
        return value
    }
}

func corrupt(_ what: String) -> StoreError {
    .database(code: SQLiteResultCode.corrupt, message: "unreadable row: \(what)")
}

extension Date {
    /// Milliseconds since 1970-01-01 UTC, the store's date representation (clamped, never trapping).
    var milliseconds: Int64 {
        let value = (timeIntervalSince1970 * 1000).rounded()
        if let exact = Int64(exactly: value) { return exact }
        return value < 0 ? Int64.min : Int64.max
    }

    init(milliseconds: Int64) { self.init(timeIntervalSince1970: TimeInterval(milliseconds) / 1000) }
}
