import Foundation
@testable import PostgresStore
import PostgresTestCluster
import Store
import XCTest

/// One private PostgreSQL cluster per test class (scripts/pg-cluster.sh); each test gets an empty schema of it.
enum SharedPostgres {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cluster: PostgresTestCluster?
    nonisolated(unsafe) private static var failure: String?

    static func start() {
        lock.withLock {
            guard cluster == nil, failure == nil else { return }
            do {
                cluster = try PostgresTestCluster()
            } catch {
                failure = String(describing: error)
            }
        }
    }

    static func stop() {
        lock.withLock {
            cluster?.stop()
            cluster = nil
            failure = nil
        }
    }

    /// A connection string for a new empty schema.
    static func newSchema() throws -> String {
        let started = lock.withLock { (cluster, failure) }
        guard let cluster = started.0 else {
            let failure = started.1
            throw PostgresTestClusterError(description: "no PostgreSQL cluster: \(failure ?? "not started")")
        }
        return try cluster.newSchema()
    }
}

/// The conformance suite (and its lifecycle part) on PostgreSQL.
final class PostgresStoreConformanceTests: StoreConformanceTests {
    private var conninfo = ""
    private var stores: [PostgresStore] = []

    override class func setUp() {
        super.setUp()
        SharedPostgres.start()
    }

    override class func tearDown() {
        SharedPostgres.stop()
        super.tearDown()
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        conninfo = try SharedPostgres.newSchema()
    }

    override func tearDown() {
        stores.forEach { $0.close() }
        super.tearDown()
    }

    override func makeStore() throws -> any Store {
        let store = try PostgresStore(settings: PostgresSettings(conninfo: conninfo))
        stores.append(store)
        return store
    }

    override func reopen(_ store: any Store) throws -> any Store {
        try XCTUnwrap(store as? PostgresStore).close()
        return try makeStore()
    }

    // Linux test discovery lists inherited tests only for classes that declare one of their own.
    func testLocationNamesTheServerNotThePassword() throws {
        let store = try makeStore()
        XCTAssertTrue(store.location.hasPrefix("postgresql:host="), store.location)
        XCTAssertTrue(store.location.contains("user=enrolld"), store.location)
    }
}

/// What only PostgreSQL has: several daemons on one database, advisory-lock migrations, serialization failures.
final class PostgresStoreTests: XCTestCase {
    private var conninfo = ""
    private var stores: [PostgresStore] = []
    private static let t0 = Date(timeIntervalSince1970: 1_790_000_000.123)
    private var t0: Date { Self.t0 }

    override class func setUp() {
        super.setUp()
        SharedPostgres.start()
    }

    override class func tearDown() {
        SharedPostgres.stop()
        super.tearDown()
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        conninfo = try SharedPostgres.newSchema()
    }

    override func tearDown() {
        stores.forEach { $0.close() }
        super.tearDown()
    }

    /// A store with its own connections, as another daemon on another machine would have.
    private func daemonStore(protector: DataProtector? = nil, poolSize: Int = 2) throws -> PostgresStore {
        let store = try PostgresStore(
            settings: PostgresSettings(conninfo: conninfo, poolSize: poolSize), protector: protector)
        stores.append(store)
        return store
    }

    private func account(_ identity: UInt8) -> AccountRecord { Self.account(identity) }

    private static func account(_ identity: UInt8) -> AccountRecord {
        AccountRecord(
            tier: .basic, identityKey: [UInt8](repeating: identity, count: 32), sealedPersonalData: [identity],
            createdAt: t0, updatedAt: t0)
    }

    func testPasswordInTheConnectionStringIsRefused() {
        XCTAssertThrowsError(try PostgresStore(settings: PostgresSettings(conninfo: conninfo + " password=secret"))) {
            error in
            guard case let .schema(reason) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("password_file"), reason)
        }
        XCTAssertThrowsError(
            try PostgresStore(settings: PostgresSettings(conninfo: "postgresql://u:secret@localhost/db")))
        XCTAssertThrowsError(
            try PostgresStore(settings: PostgresSettings(conninfo: "host=/nonexistent port=1 dbname=x"))
        ) {
            error in
            guard case let .database(_, message) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("cannot connect"), message)
        }
    }

    func testBytesSurviveUnchanged() throws {
        let store = try daemonStore()
        try store.migrate()
        // NUL, backslashes, quotes and invalid UTF-8: parameters are binary, never SQL text.
        var record = account(1)
        record.identityKey = [0, 0x5C, 0x27, 0xFF, 0xFE, 0x00, 0x22] + [UInt8](repeating: 0, count: 25)
        record.sealedPersonalData = []
        try store.transaction { tx in try tx.insertAccount(record) }
        XCTAssertEqual(try store.transaction { tx in try tx.account(identityKey: record.identityKey) }, record)
    }

    func testSchemaVersionAndNewerSchemaIsRefused() throws {
        let store = try daemonStore()
        XCTAssertEqual(try store.schemaVersion(), 0)
        try store.migrate()
        XCTAssertEqual(try store.schemaVersion(), PostgresMigrations.latestVersion)
        let connection = try PostgresConnection(parameters: [("dbname", conninfo)])
        try connection.execute("UPDATE enrolld_schema SET version = version + 1")
        XCTAssertThrowsError(try daemonStore().migrate()) { error in
            guard case let .schema(reason) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("upgrade enrolld"), reason)
        }
    }

    /// A database at version 4 (untyped identity keys), as the previous enrolld left it: migrating with the store's
    /// keys re-keys the row its sealed document number proves, keeps the other's old key as its alias, and lists
    /// both accounts' documents.
    func testTypedIdentityMigrationOfAVersion4Database() throws {
        let connection = try PostgresConnection(parameters: [("dbname", conninfo)])
        try connection.execute(
            """
            CREATE TABLE enrolld_schema (id BIGINT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
            INSERT INTO enrolld_schema (id, version) VALUES (1, 4);
            """)
        for migration in PostgresMigrations.all where migration.version <= 4 { try connection.execute(migration.sql) }
        let protector = try DataProtector(
            identityKey: [UInt8](repeating: 7, count: 32), dataKey: [UInt8](repeating: 8, count: 32))
        var ids: [String: UUID] = [:]
        for (number, document) in [("N19K27C55", "N19K27C55"), ("P7734019", "L01X00T47")] {
            let id = UUID()
            ids[document] = id
            let personal = #"""
                {"surname":"S","givenNames":"G","birthDate":"1980-01-01","documentNumber":"\#(document)",\#
                "documentType":"I<","documentExpiry":"2034-12-31","issuingState":"UTO","nationality":"UTO","contact":{}}
                """#
            _ = try connection.run(
                """
                INSERT INTO accounts (id, tier, status, identity_key, sealed, created_at, updated_at)
                VALUES ($1, 'basic', 'normal', $2, $3, 1790000000000, 1790000000000)
                """,
                [
                    .text(id.uuidString),
                    .bytes(try protector.legacyIdentityKey(issuingState: "UTO", identityNumber: number)),
                    .bytes(try protector.seal(Array(personal.utf8), context: id.uuidString)),
                ])
        }
        let store = try daemonStore(protector: protector)
        try store.migrate()
        XCTAssertEqual(try store.schemaVersion(), PostgresMigrations.latestVersion)
        try store.transaction { tx in
            let byDocument = try XCTUnwrap(try tx.account(id: XCTUnwrap(ids["N19K27C55"])))
            XCTAssertEqual(
                byDocument.identityKey,
                try protector.identityKey(issuingState: "UTO", kind: .documentNumber, number: "N19K27C55"))
            let legacy = try protector.legacyIdentityKey(issuingState: "UTO", identityNumber: "P7734019")
            let byPersonal = try XCTUnwrap(try tx.account(legacyIdentityKey: legacy))
            XCTAssertEqual(byPersonal.id, ids["L01X00T47"])
            XCTAssertEqual(byPersonal.identityKey, legacy)
            for id in ids.values {
                XCTAssertEqual(try tx.accountDocuments(accountID: id).map(\.documentType), ["I"])
            }
        }
    }

    func testMigrationsWaitForTheAdvisoryLockAndRunOnceAcrossDaemons() throws {
        // Another daemon holds the migration lock: ours must wait, not race it.
        let holder = try PostgresConnection(parameters: [("dbname", conninfo)])
        _ = try holder.run("SELECT pg_advisory_lock($1)", [.integer(PostgresStore.migrationLockKey)])
        let daemons = try (0..<3).map { _ in try daemonStore() }
        let failures = FailureLog()
        let group = DispatchGroup()
        for daemon in daemons {
            DispatchQueue.global().async(group: group) {
                do { try daemon.migrate() } catch { failures.record(error) }
            }
        }
        XCTAssertEqual(
            group.wait(timeout: .now() + 0.5), .timedOut, "migrations ran while another daemon held the lock")
        XCTAssertEqual(try daemons[0].schemaVersion(), 0)
        _ = try holder.run("SELECT pg_advisory_unlock($1)", [.integer(PostgresStore.migrationLockKey)])
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(failures.errors, [])
        XCTAssertEqual(try daemons[1].schemaVersion(), PostgresMigrations.latestVersion)
        try daemons[2].transaction { tx in try tx.insertAccount(self.account(1)) }
    }

    func testSameIdentityFromTwoDaemonsAtOnceMakesOneAccount() throws {
        let first = try daemonStore()
        try first.migrate()
        let second = try daemonStore()
        let rounds = 20
        let outcomes = OutcomeLog()
        for round in 0..<rounds {
            let identity = UInt8(round + 1)
            let start = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            for store in [first, second] {
                DispatchQueue.global().async(group: group) {
                    start.wait()
                    do {
                        try store.transaction { tx in
                            // As enrollment does: look first, then insert; the other daemon does the same.
                            if try tx.account(identityKey: [UInt8](repeating: identity, count: 32)) != nil {
                                throw StoreError.duplicateIdentity(existing: UUID())
                            }
                            try tx.insertAccount(Self.account(identity))
                        }
                        outcomes.record("created")
                    } catch let error as StoreError {
                        if case .duplicateIdentity = error {
                            outcomes.record("duplicate")
                        } else {
                            outcomes.record("\(error)")
                        }
                    } catch {
                        outcomes.record("\(error)")
                    }
                }
            }
            start.signal()
            start.signal()
            group.wait()
        }
        XCTAssertEqual(outcomes.count("created"), rounds, outcomes.all.joined(separator: "\n"))
        XCTAssertEqual(outcomes.count("duplicate"), rounds, outcomes.all.joined(separator: "\n"))
        XCTAssertEqual(try first.transaction { tx in try tx.accounts(status: nil).count }, rounds)
    }

    func testTwoDaemonsClaimingTheOutboxAtOnceTakeEachMessageOnce() throws {
        let first = try daemonStore()
        try first.migrate()
        let second = try daemonStore()
        let count = 40
        try first.transaction { tx in
            for n in 0..<count {
                try tx.enqueueOutboxMessage(
                    OutboxMessageRecord(
                        accountID: nil, kind: "activation-code", transport: "email", sealedPayload: [UInt8(n)],
                        nextAttemptAt: Self.t0, createdAt: Self.t0, updatedAt: Self.t0))
            }
        }
        let claims = Box<[String: [UUID]]>([:])
        let lock = NSLock()
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for (name, store) in [("a", first), ("b", second)] {
            DispatchQueue.global().async(group: group) {
                start.wait()
                // Small batches, as the worker takes them, until nothing is due.
                while true {
                    let batch =
                        (try? store.transaction { tx in
                            try tx.claimOutboxMessages(
                                worker: name, at: Self.t0, leaseUntil: Self.t0.addingTimeInterval(60), limit: 3)
                        }) ?? []
                    if batch.isEmpty { break }
                    lock.lock()
                    claims.value[name, default: []] += batch.map(\.id)
                    lock.unlock()
                }
            }
        }
        start.signal()
        start.signal()
        group.wait()
        let all = claims.value.values.flatMap { $0 }
        XCTAssertEqual(all.count, count, "every message claimed exactly once across the two daemons")
        XCTAssertEqual(Set(all).count, count)
        XCTAssertEqual(try first.transaction { tx in try tx.outboxMessages(state: .queued, limit: 100).count }, 0)
    }

    func testBlindInsertOfADuplicateNamesTheAccountTheOtherDaemonCommitted() throws {
        let first = try daemonStore()
        try first.migrate()
        let second = try daemonStore()
        let winner = account(7)
        let inserted = DispatchSemaphore(value: 0)
        let snapshotTaken = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        let attempts = Box(0)
        let outcome = Box<Result<Void, StoreError>>(.success(()))
        DispatchQueue.global().async(group: group) {
            do throws(StoreError) {
                try second.transaction { tx in
                    attempts.value += 1
                    _ = try tx.accounts(status: .cancelled)  // the snapshot predates the other daemon's commit
                    if attempts.value == 1 {
                        snapshotTaken.signal()
                        inserted.wait()
                    }
                    try tx.insertAccount(Self.account(7))
                }
            } catch {
                outcome.value = .failure(error)
            }
        }
        snapshotTaken.wait()
        try first.transaction { tx in try tx.insertAccount(winner) }
        inserted.signal()
        group.wait()
        XCTAssertThrowsError(try outcome.value.get()) { error in
            XCTAssertEqual(error as? StoreError, .duplicateIdentity(existing: winner.id))
        }
        XCTAssertEqual(attempts.value, 2, "the loser runs again to see the winner's account")
        XCTAssertGreaterThanOrEqual(second.retriedTransactions, 1)
    }

    func testSerializationFailureRunsTheBodyAgain() throws {
        let first = try daemonStore()
        try first.migrate()
        let second = try daemonStore()
        _ = try first.transaction { tx in try tx.nextValue(counter: "crl") }
        let secondRead = DispatchSemaphore(value: 0)
        let firstCommitted = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        let attempts = Box(0)
        let secondValue = Box<Result<Int, StoreError>>(.success(0))
        DispatchQueue.global().async(group: group) {
            secondValue.value = Result { () throws(StoreError) -> Int in
                try second.transaction { tx in
                    attempts.value += 1
                    let before = try tx.nextValue(counter: "other")  // takes the snapshot
                    if attempts.value == 1 {
                        secondRead.signal()
                        firstCommitted.wait()
                    }
                    return try tx.nextValue(counter: "crl") + before * 0
                }
            }
        }
        secondRead.wait()
        XCTAssertEqual(try first.transaction { tx in try tx.nextValue(counter: "crl") }, 2)
        firstCommitted.signal()
        group.wait()
        XCTAssertEqual(try secondValue.value.get(), 3, "the retried body sees the other daemon's increment")
        XCTAssertEqual(attempts.value, 2)
        XCTAssertEqual(
            try first.transaction { tx in try tx.nextValue(counter: "other") }, 2,
            "the first attempt's increment of 'other' was rolled back")
    }

    func testRetriesAreBounded() throws {
        let store = try PostgresStore(settings: PostgresSettings(conninfo: conninfo), maxAttempts: 3)
        stores.append(store)
        try store.migrate()
        var attempts = 0
        XCTAssertThrowsError(
            try store.serializable { tx in
                attempts += 1
                // What PostgreSQL says to the loser of a conflict, every time.
                try tx.write(
                    "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$", [])
            }
        ) { error in
            guard case let .database(code, message) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(code, SQLState.serializationFailure.code)
            XCTAssertTrue(message.contains("3 times"), message)
        }
        XCTAssertEqual(attempts, 3)
    }

    func testConcurrentUsageAppendsFromSeveralDaemonsKeepOneValidChain() throws {
        let daemons = try (0..<4).map { _ in try daemonStore() }
        try daemons[0].migrate()
        let perDaemon = 15
        let failures = FailureLog()
        DispatchQueue.concurrentPerform(iterations: daemons.count * 2) { worker in
            let store = daemons[worker % daemons.count]
            for index in 0..<perDaemon {
                do {
                    try store.transaction { tx in
                        // Half the workers take their snapshot before reaching the chain, as enrollment does.
                        if worker % 2 == 0 { _ = try tx.account(id: UUID()) }
                        let last = try tx.lastUsageRecord()
                        let sequence = (last?.sequence ?? 0) + 1
                        let previous = last?.hash ?? [UInt8](repeating: 0, count: 32)
                        let record = UsageRecord(
                            sequence: sequence, at: Date(), accountID: nil, enrollmentID: nil,
                            event: "e-\(worker)-\(index)", channel: "kiosk-\(worker)",
                            actorRole: "kiosk", actorUID: 1, outcome: "ok", detail: "",
                            previousHash: previous, hash: Self.link(previous, worker, index))
                        try tx.appendUsageRecord(record)
                        try tx.setUsageChainHead(sequence: sequence, hash: record.hash)
                    }
                } catch {
                    failures.record(error)
                }
            }
        }
        XCTAssertEqual(failures.errors, [])
        let records = try daemons[0].transaction { tx in try tx.usageRecords(UsageQuery()) }
        XCTAssertEqual(records.count, daemons.count * 2 * perDaemon)
        XCTAssertEqual(records.map(\.sequence), Array(1...Int64(records.count)), "no gaps, no duplicates")
        var previous = [UInt8](repeating: 0, count: 32)
        for record in records {
            XCTAssertEqual(record.previousHash, previous, "record \(record.sequence) links to its predecessor")
            previous = record.hash
        }
        let head = try XCTUnwrap(try daemons[1].transaction { tx in try tx.usageChainHead() })
        XCTAssertEqual(head.sequence, Int64(records.count))
        XCTAssertEqual(head.hash, previous)
    }

    private static func link(_ previous: [UInt8], _ worker: Int, _ index: Int) -> [UInt8] {
        var hasher = Hasher()
        hasher.combine(previous)
        hasher.combine(worker)
        hasher.combine(index)
        return withUnsafeBytes(of: hasher.finalize()) { Array($0) } + [UInt8](repeating: 1, count: 24)
    }

    func testCertificateSerialsNeverCollideAcrossDaemons() throws {
        let first = try daemonStore()
        try first.migrate()
        let second = try daemonStore()
        let holder = account(1)
        try first.transaction { tx in try tx.insertAccount(holder) }
        let outcomes = OutcomeLog()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            let store = worker == 0 ? first : second
            for serial in 0..<30 {
                let record = CertificateRecord(
                    serial: String(format: "%04X", serial), accountID: holder.id,
                    state: .intent, notBefore: Self.t0,
                    notAfter: Self.t0.addingTimeInterval(86_400))
                do {
                    try store.transaction { tx in try tx.insertCertificate(record) }
                    outcomes.record("inserted")
                } catch let error as StoreError {
                    if case .duplicateSerial = error {
                        outcomes.record("duplicate")
                    } else {
                        outcomes.record("\(error)")
                    }
                } catch {
                    outcomes.record("\(error)")
                }
            }
        }
        XCTAssertEqual(outcomes.count("inserted"), 30, outcomes.all.joined(separator: "\n"))
        XCTAssertEqual(outcomes.count("duplicate"), 30, outcomes.all.joined(separator: "\n"))
        XCTAssertEqual(try first.transaction { tx in try tx.certificates(accountID: holder.id).count }, 30)
    }

    func testFleetKeyCheckRefusesAHostWithOtherKeys() throws {
        let fleet = try DataProtector(
            identityKey: [UInt8](repeating: 1, count: 32), dataKey: [UInt8](repeating: 2, count: 32))
        let stranger = try DataProtector(
            identityKey: [UInt8](repeating: 3, count: 32), dataKey: [UInt8](repeating: 2, count: 32))
        let first = try daemonStore(protector: fleet)
        try first.migrate()
        try first.claimKeyCheck(try fleet.keyCheck())
        try daemonStore(protector: fleet).claimKeyCheck(try fleet.keyCheck())
        XCTAssertThrowsError(try daemonStore(protector: stranger).claimKeyCheck(try stranger.keyCheck())) { error in
            guard case let .protection(reason) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("copy them"), reason)
        }
    }

    func testCertificateDERIsSealedInTheDatabase() throws {
        let protector = try DataProtector(
            identityKey: [UInt8](repeating: 1, count: 32), dataKey: [UInt8](repeating: 2, count: 32))
        let store = try daemonStore(protector: protector)
        try store.migrate()
        let holder = account(1)
        let der = Array("CN=CHAN TAI MAN certificate body".utf8)
        let certificate = CertificateRecord(
            serial: "0A", accountID: holder.id, state: .issued, der: der, notBefore: t0,
            notAfter: t0.addingTimeInterval(60), createdAt: t0)
        try store.transaction { tx in
            try tx.insertAccount(holder)
            try tx.insertCertificate(certificate)
        }
        XCTAssertEqual(try store.transaction { tx in try tx.certificate(serial: "0A") }, certificate)
        let raw = try PostgresConnection(parameters: [("dbname", conninfo)]).run("SELECT der FROM certificates")
        XCTAssertNil(Data(raw.bytes(0, 0)).range(of: Data("CHAN TAI MAN".utf8)))
        XCTAssertThrowsError(try daemonStore().transaction { tx in try tx.certificate(serial: "0A") }) { error in
            guard case .protection = error as? StoreError else { return XCTFail("\(error)") }
        }
    }

    func testNestedTransactionIsRefusedEvenWithFreeConnections() throws {
        let store = try daemonStore(poolSize: 4)
        try store.migrate()
        XCTAssertThrowsError(
            try store.transaction { _ in
                try store.transaction { inner in _ = try inner.nextValue(counter: "x") }
            })
        XCTAssertEqual(try store.transaction { tx in try tx.nextValue(counter: "x") }, 1)
    }
}

/// Outcomes collected from several threads.
final class OutcomeLog: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [String] = []

    func record(_ outcome: String) { lock.withLock { outcomes.append(outcome) } }
    var all: [String] { lock.withLock { outcomes } }
    func count(_ outcome: String) -> Int { all.filter { $0 == outcome }.count }
}

/// A value shared with another thread, which the test orders with semaphores.
final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
