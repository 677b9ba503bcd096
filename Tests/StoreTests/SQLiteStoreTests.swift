import Foundation
@testable import Store
import XCTest

/// The conformance suite on SQLite, plus what only SQLite has: files, pragmas, several connections.
final class SQLiteStoreTests: StoreConformanceTests {
    private var directory = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = try makeTemporaryDirectory(for: self)
    }

    private var databasePath: String { (directory as NSString).appendingPathComponent("enrolld.db") }

    override func makeStore() throws -> any Store { try SQLiteStore(path: databasePath) }

    override func reopen(_ store: any Store) throws -> any Store {
        let sqlite = try XCTUnwrap(store as? SQLiteStore)
        sqlite.close()
        return try SQLiteStore(path: sqlite.path)
    }

    func testLocationNamesTheFile() throws {
        XCTAssertEqual(try makeStore().location, "sqlite:\(databasePath)")
    }

    func testSchemaVersionAfterMigration() throws {
        let store = try SQLiteStore(path: databasePath)
        XCTAssertEqual(try store.schemaVersion(), 0)
        try store.migrate()
        XCTAssertEqual(try store.schemaVersion(), SQLiteMigrations.latestVersion)
    }

    func testNewerSchemaIsRefused() throws {
        let store = try SQLiteStore(path: databasePath)
        try store.migrate()
        store.close()
        let connection = try SQLiteConnection(path: databasePath)
        try connection.execute("PRAGMA user_version=\(SQLiteMigrations.latestVersion + 1)")
        connection.close()

        let newer = try SQLiteStore(path: databasePath)
        XCTAssertThrowsError(try newer.migrate()) { error in
            guard case let .schema(reason) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("upgrade enrolld"), reason)
        }
    }

    func testClosedStoreRefusesTransactions() throws {
        let store = try SQLiteStore(path: databasePath)
        try store.migrate()
        store.close()
        XCTAssertThrowsError(try store.transaction { tx in try tx.nextValue(counter: "c") })
    }

    func testTransactionCannotBeUsedAfterItsBody() throws {
        let store = try SQLiteStore(path: databasePath)
        try store.migrate()
        let escaped = try store.transaction { tx in tx }
        XCTAssertThrowsError(try escaped.nextValue(counter: "c"))
    }

    func testTwoConnectionsOnOneFileQueueWithoutBusyErrors() throws {
        let first = try SQLiteStore(path: databasePath)
        try first.migrate()
        let second = try SQLiteStore(path: databasePath)
        let stores = [first, second, first, second]
        let failures = FailureLog()
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            for _ in 0..<50 {
                do {
                    _ = try stores[index].transaction { tx in try tx.nextValue(counter: "shared") }
                } catch {
                    failures.record(error)
                }
            }
        }
        XCTAssertEqual(failures.errors, [])
        XCTAssertEqual(try second.transaction { tx in try tx.nextValue(counter: "shared") }, 201)
    }

    func testFilesAreOwnerOnly() throws {
        let store = try SQLiteStore(path: databasePath)
        try store.migrate()
        try store.transaction { tx in _ = try tx.nextValue(counter: "c") }
        XCTAssertEqual(try fileMode(databasePath), 0o600)
        XCTAssertEqual(try fileMode(databasePath + "-wal"), 0o600)
    }

    func testUnreadableRowIsATypedErrorNotACrash() throws {
        let store = try SQLiteStore(path: databasePath)
        try store.migrate()
        let account = makeAccount(1)
        try store.transaction { tx in try tx.insertAccount(account) }
        let connection = try SQLiteConnection(path: databasePath)
        try connection.run("UPDATE accounts SET tier = 'platinum'")
        connection.close()
        XCTAssertThrowsError(try store.transaction { tx in try tx.account(id: account.id) }) { error in
            guard case .database = error as? StoreError else { return XCTFail("\(error)") }
        }
    }

    func testCertificateDERIsSealedWhenTheStoreHasAProtector() throws {
        let protector = try DataProtector(
            identityKey: [UInt8](repeating: 1, count: 32),
            dataKey: [UInt8](repeating: 2, count: 32))
        let store = try SQLiteStore(path: databasePath, protector: protector)
        try store.migrate()
        let account = makeAccount(1)
        let der = Array("CN=CHAN TAI MAN certificate body".utf8)
        let certificate = CertificateRecord(
            serial: "0A", accountID: account.id, state: .issued, der: der,
            notBefore: t0, notAfter: t2, createdAt: t0)
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.insertCertificate(certificate)
        }
        XCTAssertEqual(try store.transaction { tx in try tx.certificate(serial: "0A") }, certificate)
        store.close()

        let raw = try Data(contentsOf: URL(fileURLWithPath: databasePath))
        XCTAssertNil(raw.range(of: Data("CHAN TAI MAN".utf8)))

        let withoutKey = try SQLiteStore(path: databasePath)
        XCTAssertThrowsError(try withoutKey.transaction { tx in try tx.certificate(serial: "0A") }) { error in
            guard case .protection = error as? StoreError else { return XCTFail("\(error)") }
        }
    }
}
