import EnrollAPIModel
import UnixHTTP
import Foundation

/// What `enroll-bench load` records while it runs: latencies per operation (after warm-up), request
/// counts, errors by kind with their problem details, and the accounts created so far.
final class LoadRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var measuring = false
    private var latencies: [String: [Double]] = [:]
    private var requestCount = 0
    private var measuredRequests = 0
    private var errorKinds: [String: Int] = [:]
    private var errorLines: [String] = []
    private var completed = 0
    private var measuredCompleted = 0
    private var accountIDs: [String] = []
    private var issued: [(account: String, serial: String)] = []
    private var expectedKinds: [String: Int] = [:]
    /// The fault schedule's windows (`--faults`): failures inside one are expected, counted by fault kind.
    var faults: FaultWindows?
    /// Errors printed as they happen (the rest are counted by kind).
    static let printedErrors = 50

    /// From now on latencies and completions count as measured (warm-up is over).
    func startMeasuring() {
        lock.withLock { measuring = true }
    }

    func record(_ operation: String, milliseconds: Double, isRequest: Bool = true) {
        lock.withLock {
            if isRequest { requestCount += 1 }
            guard measuring else { return }
            if isRequest { measuredRequests += 1 }
            latencies[operation, default: []].append(milliseconds)
        }
    }

    /// An error: `kind` groups it (operation and problem code), `detail` is printed for the first few. `expected`
    /// names the fault that caused it when the caller knows (a pulled card); otherwise a failure during a fault
    /// window counts as expected under that fault, any other as unexpected.
    /// `since`: when the failed operation began (a wait of 20 s that began during a fault is that fault's).
    func fail(_ operation: String, kind: String, detail: String, expected: FaultKind? = nil, since: Date = Date()) {
        if let fault = expected ?? faults?.kind(since: since) {
            lock.withLock { expectedKinds["\(fault.rawValue) → \(operation): \(kind)", default: 0] += 1 }
            return
        }
        let line = "\(operation): \(kind): \(detail)"
        let printNow = lock.withLock { () -> Bool in
            errorKinds["\(operation): \(kind)", default: 0] += 1
            errorLines.append(line)
            return errorLines.count <= Self.printedErrors
        }
        if printNow { FileHandle.standardError.write(Data("enroll-bench load: error: \(line)\n".utf8)) }
    }

    func enrolled(accountID: String, serial: String) {
        lock.withLock {
            completed += 1
            if measuring { measuredCompleted += 1 }
            accountIDs.append(accountID)
            issued.append((accountID, serial))
        }
    }

    /// Every certificate serial a kiosk was given, with its account.
    var issuedSerials: [(account: String, serial: String)] { lock.withLock { issued } }

    /// Failures the fault schedule caused, by fault and kind.
    var expectedFailures: [String: Int] { lock.withLock { expectedKinds } }

    func randomAccount<G: RandomNumberGenerator>(using generator: inout G) -> String? {
        lock.withLock { accountIDs.randomElement(using: &generator) }
    }

    var snapshot:
        (
            requests: Int, measuredRequests: Int, enrollments: Int, measuredEnrollments: Int, errors: Int,
            errorKinds: [String: Int], latencies: [String: [Double]]
        )
    {
        lock.withLock {
            (requestCount, measuredRequests, completed, measuredCompleted, errorLines.count, errorKinds, latencies)
        }
    }
}

/// Nearest-rank percentile of a sample (`p` in 0...1).
func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// A process's resident memory, threads and open descriptors, from `/proc/<pid>/status` and `/proc/<pid>/fd`.
struct ProcessSample: Codable {
    /// Seconds since the load started.
    var at: Double
    /// The process sampled (a restarted daemon has a new one).
    var pid: Int32 = 0
    var rssKiB: Int
    var threads: Int
    var fds: Int

    static func take(pid: Int32, at: Double) -> ProcessSample? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Int(line.dropFirst(name.count + 1).split(whereSeparator: \.isWhitespace).first ?? "") ?? 0
        }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count ?? 0
        return ProcessSample(at: at, pid: pid, rssKiB: field("VmRSS"), threads: field("Threads"), fds: fds)
    }
}

/// What a process's descriptors point at (`/proc/<pid>/fd`), with socket and pipe inode numbers dropped so
/// that two lists compare by kind: `/path/enrolld.db`, `socket`, `pipe`, `anon_inode:[eventfd]`.
func descriptorTargets(pid: Int32) -> [String] {
    let directory = "/proc/\(pid)/fd"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + $0) }
        .map { target in
            for kind in ["socket:", "pipe:"] where target.hasPrefix(kind) { return String(kind.dropLast()) }
            return target
        }.sorted()
}

/// Descriptors in `after` that `before` did not have (as a multiset).
func descriptorsAdded(before: [String], after: [String]) -> [String] {
    var remaining = before
    return after.filter { target in
        guard let index = remaining.firstIndex(of: target) else { return true }
        remaining.remove(at: index)
        return false
    }
}

/// The daemon under load: an `enrolld` process this bench starts (temporary state directory, SQLite, a CA
/// from `enrolld ca init`, the bench PKI's CSCA as trust store), or one already running on `--socket`.
final class LoadDaemon: @unchecked Sendable {
    // NSLock: the fault injector restarts the daemon while the sampler reads its pid; both hold it.
    private let lock = NSLock()
    private var currentPID: Int32
    let socket: String
    let startedHere: Bool
    private var process: Process?
    let logPath: String?
    private let executable: String?
    private let config: String?
    /// How many times the bench SIGKILLed and restarted the daemon.
    private(set) var restarts = 0
    /// Between the SIGKILL and the new daemon's first answer.
    private var restarting = false

    private init(
        pid: Int32, socket: String, process: Process?, logPath: String?, executable: String? = nil,
        config: String? = nil
    ) {
        self.currentPID = pid
        self.socket = socket
        self.process = process
        self.startedHere = process != nil
        self.logPath = logPath
        self.executable = executable
        self.config = config
    }

    /// The daemon's current pid (a new one after each restart).
    var pid: Int32 { lock.withLock { currentPID } }

    /// The `enrolld` built beside this executable.
    static func defaultExecutable() -> String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("enrolld").path
    }

    /// `postgres`: the store's connection string (else SQLite in the state directory).
    static func start(
        executable: String, work: String, trustDirectory: String, postgres: String? = nil
    ) throws
        -> LoadDaemon
    {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("enrolld is not built at \(executable) (run `swift build`, or pass --enrolld PATH)")
        }
        let socket = work + "/api.sock"
        let config = work + "/enrolld.conf"
        let text = """
            [api]
            socket = \(socket)
            [daemon]
            state_directory = \(work)/state
            log_level = notice
            [trust]
            directory = \(trustDirectory)
            [readers]
            pcsc_retry_seconds = 0.3
            [face]
            # Every kiosk and client of the bench is one uid: the per-caller share is per uid.
            jobs_per_caller = 64
            queue = 64
            [liveness]
            # The load reuses a handful of photos on purpose (a second use of a photo is refused as a suspected
            # replay, as it should be) and compares random pairs of one person's photos, three of which are frames
            # of one event 0.05-0.08 apart; it measures cards, matches and issuance, not liveness bursts.
            required_for = none
            replay_cache_entries = 0
            replay_floor = 0.04

            """ + (postgres.map { "[store]\nbackend = postgresql\nconninfo = \($0)\nsslmode = disable\n" } ?? "")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let logPath = work + "/enrolld.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let ca = try launch(executable, ["--config", config, "ca", "init"], log: logPath)
        ca.waitUntilExit()
        guard ca.terminationStatus == 0 else { throw BenchError("`enrolld ca init` failed; see \(logPath)") }
        let process = try launchAndWait(executable, config: config, socket: socket, log: logPath)
        return LoadDaemon(
            pid: process.processIdentifier, socket: socket, process: process, logPath: logPath,
            executable: executable, config: config)
    }

    private static func launchAndWait(
        _ executable: String, config: String, socket: String, log: String
    ) throws
        -> Process
    {
        let process = try launch(executable, ["--config", config], log: log)
        let client = UnixSocketClient(path: socket, timeout: 10)
        let deadline = Date().addingTimeInterval(20)
        while (try? client.get("/v1/health"))?.status != 200 {
            guard process.isRunning, Date() < deadline else {
                if process.isRunning { process.terminate() }
                throw BenchError("enrolld did not answer on \(socket); see \(log)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return process
    }

    /// Fault injection: SIGKILLs the daemon this bench started (no chance to finish anything) and starts it again
    /// on the same configuration and state; returns once the new one answers `/v1/health`.
    func killAndRestart() throws {
        guard let executable, let config, let logPath, let old = lock.withLock({ process }) else {
            throw BenchError("the bench did not start this enrolld")
        }
        lock.withLock { restarting = true }
        defer { lock.withLock { restarting = false } }
        kill(old.processIdentifier, SIGKILL)
        old.waitUntilExit()
        let fresh = try Self.launchAndWait(executable, config: config, socket: socket, log: logPath)
        lock.withLock {
            process = fresh
            currentPID = fresh.processIdentifier
            restarts += 1
        }
    }

    /// A daemon already running: its pid from the socket's peer credentials.
    static func attach(socket: String) throws -> LoadDaemon {
        let client = UnixSocketClient(path: socket, timeout: 10)
        guard (try? client.get("/v1/health"))?.status == 200 else {
            throw BenchError("no enrolld answers on \(socket)")
        }
        let peer = try client.serverCredentials()
        return LoadDaemon(pid: peer.pid, socket: socket, process: nil, logPath: nil)
    }

    private static func launch(_ path: String, _ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Whether the daemon runs (or is being restarted by the bench).
    var isRunning: Bool {
        if let process = lock.withLock({ restarting ? nil : process }) { return process.isRunning }
        if lock.withLock({ restarting }) { return true }
        return kill(pid, 0) == 0
    }

    /// Stops a daemon this bench started (SIGTERM) and returns its exit status; nil for an attached one.
    func stop() -> Int32? {
        guard let process = lock.withLock({ process }) else { return nil }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return process.terminationStatus
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
