import CSQLite
import Foundation

/// A value bound to a statement parameter: always bound, never interpolated into SQL.
enum SQLiteValue {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null

    static func integer(_ value: Int64?) -> SQLiteValue { value.map { .integer($0) } ?? .null }
    static func text(_ value: String?) -> SQLiteValue { value.map { .text($0) } ?? .null }
    static func blob(_ value: [UInt8]?) -> SQLiteValue { value.map { .blob($0) } ?? .null }
}

/// Extended result codes we map to domain errors (sqlite3.h builds them with macros Swift cannot import).
enum SQLiteResultCode {
    static let constraintForeignKey: Int32 = 787
    static let constraintPrimaryKey: Int32 = 1555
    static let constraintUnique: Int32 = 2067
    static let misuse: Int32 = 21
    static let corrupt: Int32 = 11
}

/// One SQLite connection (`sqlite3*`), closed on deinit. Not thread-safe by itself: `SQLiteStore` serialises
/// every use under its lock.
final class SQLiteConnection {
    private var handle: OpaquePointer?

    /// Opens (creating when absent) the database at `path` with extended result codes.
    init(path: String) throws(StoreError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "cannot open"
            sqlite3_close_v2(handle)
            throw .database(code: code, message: "\(message) (\(path))")
        }
        sqlite3_extended_result_codes(handle, 1)
        self.handle = handle
    }

    deinit { close() }

    /// Closes the connection; later calls fail with a misuse error. Statements are finalized by then.
    func close() {
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    var isOpen: Bool { handle != nil }

    func openHandle() throws(StoreError) -> OpaquePointer {
        guard let handle else { throw .database(code: SQLiteResultCode.misuse, message: "the store is closed") }
        return handle
    }

    /// Runs SQL text without parameters (pragmas, transaction control, migration scripts).
    func execute(_ sql: String) throws(StoreError) {
        let handle = try openHandle()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        let message = errorMessage.map { String(cString: $0) } ?? ""
        sqlite3_free(errorMessage)
        guard code == SQLITE_OK else { throw Self.error(code: code, message: message) }
    }

    /// Rows the last statement changed.
    var changes: Int { (try? openHandle()).map { Int(sqlite3_changes($0)) } ?? 0 }

    /// Runs one statement with bound `values`; returns the number of rows changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLiteValue] = []) throws(StoreError) -> Int {
        let statement = try SQLiteStatement(connection: self, sql: sql)
        try statement.bind(values)
        while try statement.step() {}
        return Int(sqlite3_changes(try openHandle()))
    }

    /// Runs one query with bound `values` and maps every row.
    func query<T>(
        _ sql: String, _ values: [SQLiteValue] = [],
        row: (SQLiteStatement) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        let statement = try SQLiteStatement(connection: self, sql: sql)
        try statement.bind(values)
        var rows: [T] = []
        while try statement.step() { rows.append(try row(statement)) }
        return rows
    }

    func lastError(code: Int32) -> StoreError {
        let message = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? ""
        return Self.error(code: code, message: message)
    }

    static func error(code: Int32, message: String) -> StoreError {
        switch code & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy
        default: return .database(code: code, message: message)
        }
    }
}

/// A prepared statement, finalized on deinit.
final class SQLiteStatement {
    private let pointer: OpaquePointer
    private let connection: SQLiteConnection

    init(connection: SQLiteConnection, sql: String) throws(StoreError) {
        let handle = try connection.openHandle()
        var pointer: OpaquePointer?
        let code = sqlite3_prepare_v2(handle, sql, -1, &pointer, nil)
        guard code == SQLITE_OK, let pointer else {
            sqlite3_finalize(pointer)
            throw connection.lastError(code: code)
        }
        self.pointer = pointer
        self.connection = connection
    }

    deinit { sqlite3_finalize(pointer) }

    /// Makes the statement ready to run again with new bindings (one statement for a batch of rows).
    func reset() {
        sqlite3_reset(pointer)
        sqlite3_clear_bindings(pointer)
    }

    func bind(_ values: [SQLiteValue]) throws(StoreError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case let .integer(number): code = sqlite3_bind_int64(pointer, index, number)
            case let .text(text): code = sqlite3_bind_text(pointer, index, text, -1, enrolld_sqlite_transient())
            case let .blob(bytes) where bytes.isEmpty:
                // A NULL data pointer would bind NULL, not an empty blob.
                code = sqlite3_bind_zeroblob(pointer, index, 0)
            case let .blob(bytes):
                code = sqlite3_bind_blob(pointer, index, bytes, Int32(bytes.count), enrolld_sqlite_transient())
            case .null: code = sqlite3_bind_null(pointer, index)
            }
            guard code == SQLITE_OK else { throw connection.lastError(code: code) }
        }
    }

    /// Advances; true when a row is available.
    func step() throws(StoreError) -> Bool {
        let code = sqlite3_step(pointer)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.lastError(code: code)
        }
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(pointer, column) == SQLITE_NULL }

    func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(pointer, column) }

    func optionalInteger(_ column: Int32) -> Int64? { isNull(column) ? nil : integer(column) }

    func text(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(pointer, column) else { return "" }
        let count = Int(sqlite3_column_bytes(pointer, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(pointer, column))
        guard count > 0, let bytes = sqlite3_column_blob(pointer, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    func optionalBlob(_ column: Int32) -> [UInt8]? { isNull(column) ? nil : blob(column) }
}
