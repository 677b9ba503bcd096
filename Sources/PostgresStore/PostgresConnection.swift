import CLibPQ
import Foundation
import Store

/// A value bound to a statement parameter: always sent out of band in binary (`PQexecParams`), never
/// interpolated into SQL, so bytes are bytes whatever they contain.
enum PostgresValue {
    case integer(Int64)
    case text(String)
    case bytes([UInt8])
    case boolean(Bool)
    case null

    static func integer(_ value: Int64?) -> PostgresValue { value.map { .integer($0) } ?? .null }
    static func text(_ value: String?) -> PostgresValue { value.map { .text($0) } ?? .null }
    static func bytes(_ value: [UInt8]?) -> PostgresValue { value.map { .bytes($0) } ?? .null }

    /// The type OID (`pg_type`) and the binary send format.
    var wire: (type: Oid, bytes: [UInt8]?) {
        switch self {
        case let .integer(number): return (20, withUnsafeBytes(of: number.bigEndian) { Array($0) })  // int8
        case let .text(text): return (25, Array(text.utf8))  // text
        case let .bytes(bytes): return (17, bytes)  // bytea
        case let .boolean(flag): return (16, [flag ? 1 : 0])  // bool
        case .null: return (0, nil)
        }
    }
}

/// SQLSTATE codes (PostgreSQL appendix A) we act on. `StoreError.database` carries them packed the way the
/// server packs them (six bits per character), and the text in the message.
struct SQLState: Equatable {
    let text: String

    static let uniqueViolation = SQLState(text: "23505")
    static let foreignKeyViolation = SQLState(text: "23503")
    static let serializationFailure = SQLState(text: "40001")
    static let deadlockDetected = SQLState(text: "40P01")
    static let connectionFailure = SQLState(text: "08006")
    static let protocolViolation = SQLState(text: "08P01")
    static let dataCorrupted = SQLState(text: "XX001")

    /// PostgreSQL's `MAKE_SQLSTATE`: what the server's `errcode` is.
    var code: Int32 {
        var packed: Int32 = 0
        for (index, byte) in text.utf8.prefix(5).enumerated() {
            packed |= (Int32(byte &- 0x30) & 0x3F) << (6 * index)
        }
        return packed
    }

    /// A failure the same transaction may succeed at when run again from the start.
    var isRetryable: Bool { self == .serializationFailure || self == .deadlockDetected }

    static func retryable(_ error: StoreError) -> Bool {
        guard case let .database(code, _) = error else { return false }
        return code == serializationFailure.code || code == deadlockDetected.code
    }
}

/// A statement's failure as the server reported it.
struct PostgresFailure: Error {
    let state: SQLState
    let message: String
    let constraint: String?

    var storeError: StoreError { .database(code: state.code, message: "\(message) (SQLSTATE \(state.text))") }
}

/// One libpq connection (`PGconn*`), finished on deinit. Not thread-safe by itself: `PostgresStore` hands each
/// connection to one transaction at a time.
final class PostgresConnection {
    private var handle: OpaquePointer?

    /// Connects with libpq keywords in order: the first may be `dbname` holding a whole connection string or
    /// URL (expanded by libpq); later ones override what it says.
    init(parameters: [(keyword: String, value: String)]) throws(StoreError) {
        let keywords = parameters.map { strdup($0.keyword) } + [nil]
        let values = parameters.map { strdup($0.value) } + [nil]
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let handle = keywords.withUnsafeBufferPointer { keywordPointers in
            values.withUnsafeBufferPointer { valuePointers in
                keywordPointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { keywordBuffer in
                    valuePointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { valueBuffer in
                        PQconnectdbParams(keywordBuffer.baseAddress, valueBuffer.baseAddress, 1)
                    }
                }
            }
        }
        guard let handle else {
            throw .database(code: SQLState.connectionFailure.code, message: "libpq: out of memory")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(handle))
            PQfinish(handle)
            throw .database(code: SQLState.connectionFailure.code, message: "cannot connect to PostgreSQL: \(message)")
        }
        self.handle = handle
    }

    deinit { close() }

    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// False once the server or the network dropped the connection.
    var isHealthy: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Reconnects with the same parameters (after a failover, say); true when that worked.
    func reset() -> Bool {
        guard let handle else { return false }
        PQreset(handle)
        return PQstatus(handle) == CONNECTION_OK
    }

    /// `host=... port=... dbname=... user=...` as connected (never the password).
    var summary: String {
        guard let handle else { return "closed" }
        func value(_ pointer: UnsafeMutablePointer<CChar>?) -> String { pointer.map { String(cString: $0) } ?? "" }
        return "host=\(value(PQhost(handle))) port=\(value(PQport(handle))) dbname=\(value(PQdb(handle))) "
            + "user=\(value(PQuser(handle)))"
    }

    private func openHandle() throws(PostgresFailure) -> OpaquePointer {
        guard let handle else {
            throw PostgresFailure(state: .connectionFailure, message: "the store is closed", constraint: nil)
        }
        return handle
    }

    /// Runs SQL text without parameters (transaction control, migration scripts of several statements).
    func execute(_ sql: String) throws(PostgresFailure) {
        let handle = try openHandle()
        _ = try PostgresResult(PQexec(handle, sql), connection: handle)
    }

    /// Runs one statement with `values` bound as binary parameters `$1, $2, ...`; results come back binary.
    func run(_ sql: String, _ values: [PostgresValue] = []) throws(PostgresFailure) -> PostgresResult {
        let handle = try openHandle()
        let wire = values.map(\.wire)
        let types = wire.map(\.type)
        let lengths = wire.map { Int32($0.bytes?.count ?? 0) }
        let formats = [Int32](repeating: 1, count: wire.count)
        // An empty value still needs a non-null pointer: a null one means SQL NULL.
        let buffers: [UnsafeMutablePointer<CChar>?] = wire.map { item in
            guard let bytes = item.bytes else { return nil }
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { raw in
                if let base = raw.baseAddress {
                    buffer.update(from: base.assumingMemoryBound(to: CChar.self), count: bytes.count)
                }
            }
            return buffer
        }
        defer { buffers.forEach { $0?.deallocate() } }
        let result = buffers.withUnsafeBufferPointer { bufferPointers in
            bufferPointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { valuePointers in
                PQexecParams(handle, sql, Int32(wire.count), types, valuePointers.baseAddress, lengths, formats, 1)
            }
        }
        return try PostgresResult(result, connection: handle)
    }

    static func trimmed(_ pointer: UnsafePointer<CChar>?) -> String {
        (pointer.map { String(cString: $0) } ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A statement's result (`PGresult*`), cleared on deinit. Columns come in binary: int8 as 8 big-endian bytes,
/// text and bytea as their bytes, bool as one byte.
final class PostgresResult {
    private let pointer: OpaquePointer

    init(_ pointer: OpaquePointer?, connection: OpaquePointer) throws(PostgresFailure) {
        guard let pointer else {
            throw PostgresFailure(
                state: .connectionFailure, message: PostgresConnection.trimmed(PQerrorMessage(connection)),
                constraint: nil)
        }
        let status = PQresultStatus(pointer)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            func field(_ code: Character) -> String? {
                PQresultErrorField(pointer, Int32(code.asciiValue ?? 0)).map { String(cString: $0) }
            }
            let message = field("M") ?? PostgresConnection.trimmed(PQresultErrorMessage(pointer))
            let failure = PostgresFailure(
                state: SQLState(text: field("C") ?? SQLState.connectionFailure.text),
                message: message.isEmpty ? "the connection was lost" : message,
                constraint: field("n"))
            PQclear(pointer)
            throw failure
        }
        self.pointer = pointer
    }

    deinit { PQclear(pointer) }

    var rowCount: Int { Int(PQntuples(pointer)) }

    /// Rows an INSERT, UPDATE or DELETE touched.
    var affectedRows: Int { Int(String(cString: PQcmdTuples(pointer))) ?? 0 }

    func isNull(_ row: Int, _ column: Int32) -> Bool { PQgetisnull(pointer, Int32(row), column) != 0 }

    func bytes(_ row: Int, _ column: Int32) -> [UInt8] {
        let count = Int(PQgetlength(pointer, Int32(row), column))
        guard count > 0, let value = PQgetvalue(pointer, Int32(row), column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: value, count: count))
    }

    func optionalBytes(_ row: Int, _ column: Int32) -> [UInt8]? { isNull(row, column) ? nil : bytes(row, column) }

    func text(_ row: Int, _ column: Int32) -> String { String(decoding: bytes(row, column), as: UTF8.self) }

    func optionalText(_ row: Int, _ column: Int32) -> String? { isNull(row, column) ? nil : text(row, column) }

    /// An int8, int4 or int2 column (big-endian binary), or a bool as 0/1.
    func integer(_ row: Int, _ column: Int32) throws(StoreError) -> Int64 {
        let raw = bytes(row, column)
        guard [1, 2, 4, 8].contains(raw.count) else {
            throw postgresCorrupt("column \(column) holds \(raw.count) bytes, not an integer")
        }
        var value = Int64(Int8(bitPattern: raw[0]))  // sign-extend from the first byte
        for byte in raw.dropFirst() { value = value << 8 | Int64(byte) }
        return raw.count == 1 ? Int64(raw[0]) : value
    }

    func optionalInteger(_ row: Int, _ column: Int32) throws(StoreError) -> Int64? {
        isNull(row, column) ? nil : try integer(row, column)
    }

    func boolean(_ row: Int, _ column: Int32) throws(StoreError) -> Bool { try integer(row, column) != 0 }
}

func postgresCorrupt(_ what: String) -> StoreError {
    .database(code: SQLState.dataCorrupted.code, message: "unreadable row: \(what)")
}
