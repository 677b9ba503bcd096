import EnrollAPIModel
import UnixHTTP
import Foundation
import SmartCard
import XCTest

/// The hardware-in-loop bench as tests drive it: real pcscd with the vpcd driver, `enroll-vcard`
/// processes as cards, `enrolld` as the daemon. Stops exactly the processes it started, by pid.
final class Bench: @unchecked Sendable {
    static let reader0 = "Virtual PCD 00 00"
    static let reader1 = "Virtual PCD 00 01"
    static let port0: UInt16 = 35963
    static let port1: UInt16 = 35964

    /// Where `swift build` put the executables: beside the test bundle.
    static let productsDirectory: URL = {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        if directory.lastPathComponent == "MacOS" { directory = directory.deletingLastPathComponent() }
        return directory
    }()

    /// The package root, for profiles and shared fixtures.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    let workDirectory: URL
    private(set) var pcscd: Process?
    private var processes: [Process] = []
    /// An exclusive lock on the machine's one pcscd and its vpcd ports, held from init to `stopAll`:
    /// test runs in other processes (another checkout, a developer's terminal) wait instead of
    /// pulling each other's virtual cards.
    private var benchLock: Int32 = -1
    static let lockPath = "/tmp/enrolld-hil-bench.lock"

    init() throws {
        benchLock = open(Self.lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o666)
        if benchLock >= 0 {
            while flock(benchLock, LOCK_EX) != 0 && errno == EINTR {}
        }
        workDirectory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("enrolld-hil-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
    }

    /// True when this bench started pcscd (and so may kill it).
    var ownsPCSCD: Bool { pcscd != nil }

    static func executable(_ name: String) throws -> String {
        let path = productsDirectory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchError("\(name) is not built at \(path): run `swift build` first")
        }
        return path
    }

    /// A live pcscd answers on its socket; a stale socket file left by a killed one does not.
    static func pcscdRunning() -> Bool {
        (try? PCSCContext()) != nil
    }

    /// Starts pcscd in the foreground unless one is already running; waits for the virtual readers.
    /// `readerConfiguration` replaces /etc/reader.conf.d (an empty folder: pcscd comes up without the virtual
    /// readers, as if they were unplugged); then it does not wait for readers.
    func startPCSCD(readerConfiguration: String? = nil) throws {
        if !Self.pcscdRunning() {
            // A killed pcscd leaves its socket and pid file behind.
            try? FileManager.default.removeItem(atPath: "/run/pcscd/pcscd.comm")
            try? FileManager.default.removeItem(atPath: "/run/pcscd/pcscd.pid")
            let candidates = ["/usr/sbin/pcscd", "/sbin/pcscd", "/usr/bin/pcscd"]
            guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw BenchError("pcscd is not installed: run scripts/setup.sh")
            }
            let process = try launch(
                path, ["--foreground"] + (readerConfiguration.map { ["--config", $0] } ?? []),
                log: "pcscd.log")
            pcscd = process
        }
        if readerConfiguration != nil {
            return try waitFor("pcscd to answer", timeout: 15) { Self.pcscdRunning() }
        }
        try waitFor("pcscd to list \(Self.reader0)", timeout: 15) {
            guard let context = try? PCSCContext() else { return false }
            return (try? context.listReaders())?.contains(Self.reader0) ?? false
        }
    }

    /// Kills the pcscd this bench started (SIGKILL: as if it crashed).
    func killPCSCD() {
        guard let process = pcscd else { return }
        crash(process)
    }

    /// Kills one process this bench started with SIGKILL (no clean-up runs in it) and reaps it.
    func crash(_ process: Process) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        processes.removeAll { $0 === process }
        if process === pcscd { pcscd = nil }
    }

    /// Whether the process is stopped (state T in /proc/PID/stat), as after `raise(SIGSTOP)`.
    static func isStopped(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("T")
    }

    /// Starts a virtual card on a vpcd port, optionally with a profile.
    @discardableResult
    func startCard(port: UInt16 = Bench.port0, profile: String? = nil, extra: [String] = []) throws -> Process {
        var arguments = ["--port", String(port)]
        if let profile { arguments += ["--profile", profile] }
        return try launch(Self.executable("enroll-vcard"), arguments + extra, log: "vcard-\(port).log")
    }

    /// Starts enrolld on a private socket and waits until it answers; `environment` adds variables and
    /// `directory` is its working directory. Several daemons on one bench each need a `name` (their socket and
    /// configuration file carry it).
    ///
    /// The signing tier needs the liveness step by default; tests that are about something else (reads, crash
    /// safety, the lifecycle, fleets) run with `[liveness] required_for = none` unless `liveness` is set, and
    /// `LivenessFlowTests` runs the default policy with genuine and attack bursts.
    func startDaemon(
        configuration: String = "", environment: [String: String] = [:], directory: URL? = nil,
        log: String = "enrolld.log", name: String = "",
        liveness: Bool = false
    ) throws -> (process: Process, client: UnixSocketClient) {
        let socket = workDirectory.appendingPathComponent("api\(name).sock").path
        let config = workDirectory.appendingPathComponent("enrolld\(name).conf")
        let state = workDirectory.appendingPathComponent("state").path
        let policy = liveness ? "" : "[liveness]\nrequired_for = none\n"
        try "[daemon]\nstate_directory = \(state)\n[readers]\npcsc_retry_seconds = 0.3\n\(policy)\(configuration)"
            .write(to: config, atomically: true, encoding: .utf8)
        let process = try launch(
            Self.executable("enrolld"), ["--config", config.path, "--socket", socket], log: log,
            environment: environment, directory: directory)
        let client = UnixSocketClient(path: socket, timeout: 30)
        try waitFor("enrolld to answer on \(socket)", timeout: 15) { (try? client.get("/v1/health"))?.status == 200 }
        return (process, client)
    }

    func launch(
        _ path: String, _ arguments: [String], log: String, environment: [String: String] = [:],
        directory: URL? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let directory { process.currentDirectoryURL = directory }
        let logURL = workDirectory.appendingPathComponent(log)
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logURL)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes.append(process)
        return process
    }

    /// Stops one process with SIGTERM and waits for it.
    func stop(_ process: Process) {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        processes.removeAll { $0 === process }
        if process === pcscd { pcscd = nil }
    }

    /// Stops everything this bench started, newest first.
    func stopAll() {
        for process in processes.reversed() { stop(process) }
        pcscd = nil
        if ProcessInfo.processInfo.environment["ENROLLD_KEEP_BENCH"] == nil {
            try? FileManager.default.removeItem(at: workDirectory)
        }
        releaseLock()
    }

    private func releaseLock() {
        guard benchLock >= 0 else { return }
        flock(benchLock, LOCK_UN)
        close(benchLock)
        benchLock = -1
    }

    deinit {
        releaseLock()
    }

    func log(_ name: String) -> String {
        (try? String(contentsOf: workDirectory.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }

    func waitFor(_ what: String, timeout: TimeInterval, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw BenchError("timed out after \(timeout) s waiting for \(what)")
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Collects `/v1/events` on a background thread.
final class EventCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [(type: String, data: String)] = []
    private var running = true

    init(client: UnixSocketClient) {
        let thread = Thread { [self] in
            try? client.stream("/v1/events") { name, data in
                lock.withLock { events.append((name, data)) }
                return lock.withLock { running }
            }
        }
        thread.start()
    }

    func stop() {
        lock.withLock { running = false }
    }

    var all: [(type: String, data: String)] { lock.withLock { events } }

    /// Waits for an event of `type` whose data mentions `text`, arriving after `index`.
    func waitFor(_ type: String, mentioning text: String, after index: Int = 0, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if all.dropFirst(index).contains(where: { $0.type == type && (text.isEmpty || $0.data.contains(text)) }) {
                return true
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }
}
