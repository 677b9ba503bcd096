import Foundation
import Synchronization

/// A private PostgreSQL cluster in a temporary directory, for tests and `enroll-bench`: started with
/// `scripts/pg-cluster.sh start` (initdb + pg_ctl on a Unix socket in that directory, as `nobody` under root) and
/// stopped with `scripts/pg-cluster.sh stop` (pg_ctl on its own postmaster.pid). Nothing else is touched.
public final class PostgresTestCluster: Sendable {
    /// The package root, where `scripts/` lives.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
    static var script: String { packageRoot.appendingPathComponent("scripts/pg-cluster.sh").path }

    public let directory: String
    /// libpq connection string of the cluster's `postgres` database (user `enrolld`, trust authentication).
    public let conninfo: String
    private let state = Mutex((running: true, schemas: 0))

    /// Starts a cluster. `durable` keeps fsync on (benches); tests run without it.
    public init(durable: Bool = false) throws {
        directory = (NSTemporaryDirectory() as NSString)
            .appendingPathComponent("enrolld-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let output = try Self.run(["start", directory] + (durable ? ["--durable"] : []))
        conninfo = output
    }

    deinit { stop() }

    /// A connection string for a new, empty schema: each test gets a database of its own without the cost of
    /// CREATE DATABASE.
    public func newSchema() throws -> String {
        let name = state.withLock { state in
            state.schemas += 1
            return "test_\(state.schemas)"
        }
        return try Self.run(["schema", directory, name])
    }

    /// Stops the server and removes its directory. Safe to call twice.
    public func stop() {
        let wasRunning = state.withLock { state in
            defer { state.running = false }
            return state.running
        }
        if wasRunning { _ = try? Self.run(["stop", directory]) }
    }

    private static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PostgresTestClusterError(
                description: "scripts/pg-cluster.sh \(arguments.joined(separator: " ")) "
                    + "failed (\(process.terminationStatus)): \(errorText)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct PostgresTestClusterError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}
