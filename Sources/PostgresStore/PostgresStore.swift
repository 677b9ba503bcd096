import CLibPQ
import Foundation
import Store

/// How to reach the fleet's PostgreSQL: a libpq connection string or URL, the password (read from a file by the
/// caller, never written in the connection string) and TLS options passed through to libpq.
public struct PostgresSettings: Sendable, Equatable {
    /// `postgresql://user@host:5432/enrolld?target_session_attrs=read-write` or `host=... dbname=...`.
    public var conninfo: String
    public var password: String?
    /// libpq `sslmode`: disable, allow, prefer, require, verify-ca, verify-full.
    public var sslMode: String?
    public var sslRootCert: String?
    public var sslCert: String?
    public var sslKey: String?
    /// Connections per daemon; transactions beyond it wait for a free one.
    public var poolSize = 4

    public init(
        conninfo: String, password: String? = nil, sslMode: String? = nil, sslRootCert: String? = nil,
        sslCert: String? = nil, sslKey: String? = nil, poolSize: Int = 4
    ) {
        self.conninfo = conninfo
        self.password = password
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
        self.sslCert = sslCert
        self.sslKey = sslKey
        self.poolSize = poolSize
    }

    /// libpq keywords in order: the connection string first (expanded by libpq), then what overrides it.
    var parameters: [(keyword: String, value: String)] {
        var parameters = [(keyword: "dbname", value: conninfo), ("application_name", "enrolld")]
        let optional: [(String, String?)] = [
            ("password", password), ("sslmode", sslMode), ("sslrootcert", sslRootCert),
            ("sslcert", sslCert), ("sslkey", sslKey),
        ]
        for case let (keyword, value?) in optional { parameters.append((keyword, value)) }
        return parameters
    }

    /// Refuses a connection string libpq cannot parse, or one that carries a password (it belongs in a file of
    /// mode 0600, not in a configuration file many can read).
    func validate() throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &message) else {
            let reason =
                message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "out of memory"
            PQfreemem(message)
            throw .schema("the PostgreSQL connection string does not parse: \(reason)")
        }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password", let value = option.pointee.val, value.pointee != 0 {
                throw .schema("the PostgreSQL connection string carries a password: put it in [store] password_file")
            }
            option += 1
        }
    }
}

/// A failure from libpq or from decoding, as the store reports it.
func storeError(_ error: any Error) -> StoreError {
    if let failure = error as? PostgresFailure { return failure.storeError }
    if let refusal = error as? StoreError { return refusal }
    return .aborted(String(describing: error))
}

/// The PostgreSQL implementation of `Store`, for fleets of kiosks and counters sharing one account registry.
///
/// Every transaction is `SERIALIZABLE`: whatever two daemons on two machines do at once, the outcome is one of
/// the orders they could have run in one after the other. PostgreSQL refuses the loser of a conflict with a
/// serialization failure (SQLSTATE 40001) or a deadlock (40P01); `transaction` then rolls back and runs the body
/// again, up to `maxAttempts` times. The body must therefore do nothing but store work (it may run more than once).
///
/// The one global usage chain: `lastUsageRecord` locks `usage_chain_head` (SHARE ROW EXCLUSIVE, which conflicts
/// with itself), so appenders queue instead of deadlocking on each other's sequence numbers; one whose snapshot
/// predates the previous append collides on the sequence number and runs again, and a retried attempt takes that
/// lock before its snapshot (LOCK takes none), so it reads the true head and does not collide again.
///
/// Unique constraints do the rest: one account per identity key (`.duplicateIdentity`), one certificate per serial
/// (`.duplicateSerial`), one usage record per sequence number. A statement that fails inside a transaction is
/// rolled back to a savepoint, so the body can handle the refusal and go on, as on SQLite.
public final class PostgresStore: Store, @unchecked Sendable {
    /// Key of the session advisory lock migrations run under (`pg_advisory_lock`): "enrolld" in ASCII.
    public static let migrationLockKey: Int64 = 0x65_6E_72_6F_6C_6C_64
    /// How many times a transaction runs before giving up with `.busy`.
    public let maxAttempts: Int
    public let location: String

    private let settings: PostgresSettings
    private let protector: DataProtector?
    private let pool = NSCondition()
    private var idle: [PostgresConnection] = []
    private var openConnections = 0
    private var isClosed = false
    private var retried = 0
    private let nestingKey: String

    /// Connects (one connection now, so a wrong address or password shows at start-up; more on demand up to
    /// `settings.poolSize`). Call `migrate()` before the first transaction. `protector` seals certificate DER.
    public init(settings: PostgresSettings, protector: DataProtector? = nil, maxAttempts: Int = 12) throws(StoreError) {
        try settings.validate()
        self.settings = settings
        self.protector = protector
        self.maxAttempts = max(1, maxAttempts)
        let first = try PostgresConnection(parameters: settings.parameters)
        location = "postgresql:" + first.summary
        idle = [first]
        openConnections = 1
        nestingKey = "enrolld.postgres.transaction.\(UUID().uuidString)"
    }

    /// Closes the idle connections; later transactions throw. Connections in use close when returned.
    public func close() {
        pool.lock()
        isClosed = true
        idle.forEach { $0.close() }
        openConnections -= idle.count
        idle = []
        pool.broadcast()
        pool.unlock()
    }

    /// Transactions run again after a serialization failure or deadlock, since this store opened.
    public var retriedTransactions: Int { pool.withLock { retried } }

    // MARK: Connections

    private func checkOut() throws(StoreError) -> PostgresConnection {
        pool.lock()
        while !isClosed && idle.isEmpty && openConnections >= max(1, settings.poolSize) { pool.wait() }
        if isClosed {
            pool.unlock()
            throw .database(code: SQLState.connectionFailure.code, message: "the store is closed")
        }
        if let connection = idle.popLast() {
            pool.unlock()
            // After a restart or failover of the server, reconnect before use.
            if connection.isHealthy || connection.reset() { return connection }
            discard(connection)
            throw .database(
                code: SQLState.connectionFailure.code,
                message: "lost the connection to PostgreSQL and "
                    + "could not reconnect (\(location)): check that the server is up")
        }
        openConnections += 1
        pool.unlock()
        do {
            return try PostgresConnection(parameters: settings.parameters)
        } catch {
            pool.withLock {
                openConnections -= 1
                pool.signal()
            }
            throw error
        }
    }

    private func checkIn(_ connection: PostgresConnection) {
        guard connection.isHealthy else { return discard(connection) }
        pool.lock()
        if isClosed {
            connection.close()
            openConnections -= 1
        } else {
            idle.append(connection)
        }
        pool.signal()
        pool.unlock()
    }

    private func discard(_ connection: PostgresConnection) {
        connection.close()
        pool.withLock {
            openConnections -= 1
            pool.signal()
        }
    }

    private func withConnection<T>(_ body: (PostgresConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try body(connection)
    }

    // MARK: Migrations

    /// The schema version this database is at (0 before the first migration).
    public func schemaVersion() throws(StoreError) -> Int {
        try withConnection { connection throws(StoreError) in
            do {
                let exists = try connection.run("SELECT to_regclass('enrolld_schema') IS NOT NULL")
                guard try exists.boolean(0, 0) else { return 0 }
                let result = try connection.run("SELECT version FROM enrolld_schema WHERE id = 1")
                return result.rowCount == 0 ? 0 : Int(try result.integer(0, 0))
            } catch {
                throw storeError(error)
            }
        }
    }

    /// Applies the migrations this database lacks, each in its own transaction, holding the session advisory
    /// lock `migrationLockKey` throughout: daemons starting together take turns, and the later ones find the
    /// work done. Refuses a database whose schema is newer than this enrolld knows.
    public func migrate() throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            let key = [PostgresValue.integer(Self.migrationLockKey)]
            do {
                _ = try connection.run("SELECT pg_advisory_lock($1)", key)
            } catch {
                throw .schema("cannot take the migration lock: \(storeError(error))")
            }
            defer { _ = try? connection.run("SELECT pg_advisory_unlock($1)", key) }
            do {
                try connection.execute(
                    """
                    CREATE TABLE IF NOT EXISTS enrolld_schema (id BIGINT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
                    INSERT INTO enrolld_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
                    """)
            } catch {
                throw .schema("cannot create the schema version table: \(storeError(error))")
            }
            for migration in PostgresMigrations.all {
                do {
                    try connection.execute("BEGIN")
                    let current = Int(
                        try connection.run("SELECT version FROM enrolld_schema WHERE id = 1 FOR UPDATE")
                            .integer(0, 0))
                    guard current <= PostgresMigrations.latestVersion else {
                        throw StoreError.schema(
                            "the database is at schema version \(current), this enrolld knows up "
                                + "to \(PostgresMigrations.latestVersion): upgrade enrolld")
                    }
                    if current < migration.version {
                        try connection.execute(migration.sql)
                        if migration.rekeysIdentities, let protector {
                            let transaction = PostgresTransaction(connection: connection, protector: protector)
                            defer { transaction.isOpen = false }
                            try TypedIdentityMigration.apply(transaction, protector: protector)
                        }
                        _ = try connection.run(
                            "UPDATE enrolld_schema SET version = $1 WHERE id = 1",
                            [.integer(Int64(migration.version))])
                    }
                    try connection.execute("COMMIT")
                } catch {
                    try? connection.execute("ROLLBACK")
                    let failure = storeError(error)
                    if case .schema = failure { throw failure }
                    throw .schema("migration \(migration.version) (\(migration.summary)) failed: \(failure)")
                }
            }
        }
    }

    // MARK: Transactions

    public func transaction<T>(_ body: (any StoreTransaction) throws -> T) throws(StoreError) -> T {
        try serializable { tx in try body(tx) }
    }

    /// Runs `body` in a SERIALIZABLE transaction, again from the start after a serialization failure or deadlock.
    func serializable<T>(_ body: (PostgresTransaction) throws -> T) throws(StoreError) -> T {
        let threadState = Thread.current.threadDictionary
        guard threadState[nestingKey] == nil else {
            throw .database(
                code: SQLState.protocolViolation.code,
                message: "nested transactions are not supported: use the enclosing transaction")
        }
        threadState[nestingKey] = true
        defer { threadState.removeObject(forKey: nestingKey) }
        return try withConnection { connection throws(StoreError) in
            var lastFailure = StoreError.busy
            for attempt in 1...maxAttempts {
                if attempt > 1 {
                    pool.withLock { retried += 1 }
                    // Randomised, growing pause so colliding daemons do not collide again in step.
                    usleep(useconds_t(Int.random(in: 0...(1000 << min(attempt, 5)))))
                }
                switch try attemptTransaction(connection, attempt: attempt, body) {
                case let .committed(value): return value
                case let .retry(failure): lastFailure = failure
                }
            }
            throw lastFailure == .busy
                ? .busy
                : .database(
                    code: SQLState.serializationFailure.code,
                    message:
                        "the transaction conflicted with others \(maxAttempts) times (last: \(lastFailure)): try again")
        }
    }

    private enum Attempt<T> {
        case committed(T)
        case retry(StoreError)
    }

    private func attemptTransaction<T>(
        _ connection: PostgresConnection, attempt: Int,
        _ body: (PostgresTransaction) throws -> T
    ) throws(StoreError) -> Attempt<T> {
        do {
            try connection.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            // LOCK takes no snapshot: taken first, it orders this attempt after every appender it collided with.
            if attempt > 1 { try connection.execute("LOCK TABLE usage_chain_head IN SHARE ROW EXCLUSIVE MODE") }
        } catch {
            try? connection.execute("ROLLBACK")
            if error.state.isRetryable { return .retry(error.storeError) }
            throw error.storeError
        }
        let transaction = PostgresTransaction(connection: connection, protector: protector)
        defer { transaction.isOpen = false }
        let value: T
        do {
            value = try body(transaction)
        } catch {
            transaction.isOpen = false
            try? connection.execute("ROLLBACK")
            // A body that failed after a serialization failure saw a broken world: run it again.
            if let cause = transaction.retryCause { return .retry(cause) }
            if let refusal = error as? StoreError { throw refusal }
            throw .aborted(String(describing: error))
        }
        transaction.isOpen = false
        if let cause = transaction.retryCause {
            // The body caught the failure and went on: its view is not one PostgreSQL can commit.
            try? connection.execute("ROLLBACK")
            return .retry(cause)
        }
        do {
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            if error.state.isRetryable { return .retry(error.storeError) }
            throw error.storeError
        }
        return .committed(value)
    }

    // MARK: Fleet

    /// Records the check value of this host's data-protection keys on first use, and refuses a host whose keys
    /// differ from the fleet's: identity look-up keys computed under another identity key could not see that an
    /// identity already has an account, and data sealed under another data key could not be opened.
    public func claimKeyCheck(_ check: [UInt8]) throws(StoreError) {
        let stored = try serializable { tx in try tx.claimSetting("key-check", value: check) }
        guard stored == check else {
            throw .protection(
                "this host's data-protection keys (keys/identity.key, keys/data.key) differ from the "
                    + "fleet's: copy them from a host already in the fleet (see README, Deployment)")
        }
    }
}
