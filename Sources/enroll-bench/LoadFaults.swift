import EnrollAPIModel
import Foundation
import SmartCard
import UnixHTTP

/// A fault `enroll-bench load --faults` injects while the load runs.
enum FaultKind: String, CaseIterable, Codable {
    /// A kiosk's card leaves the field in the middle of the daemon's read (at a random command).
    case cardPull = "card-pull"
    /// pcscd is SIGKILLed and started again (only a pcscd the bench started itself).
    case pcscdRestart = "pcscd-restart"
    /// enrolld is SIGKILLed and started again on the same state directory (only a daemon the bench started).
    case daemonKill = "daemon-kill"
    /// The PostgreSQL primary stops (immediate shutdown, as a crash) and its synchronous streaming standby is
    /// promoted (`--store postgresql`; once per run: afterwards there is no standby left).
    case postgresFailover = "pg-failover"

    /// How long after a fault ends its failures still count as expected: the daemon's reader monitor retries
    /// pcscd every 0.3 s, a restarted daemon loads its face models in the background, and a client notices a
    /// dead connection at its next request.
    var grace: TimeInterval {
        switch self {
        case .cardPull: return 0
        case .pcscdRestart: return 20
        case .daemonKill: return 20
        case .postgresFailover: return 20
        }
    }
}

/// `--faults card-pull=20s,pcscd-restart=150s,daemon-kill=200s` (or `--faults default` for exactly that): each
/// kind at its interval, the first one interval after warm-up.
struct FaultSchedule {
    var intervals: [FaultKind: TimeInterval]

    static let standard = FaultSchedule(intervals: [
        .cardPull: 20, .pcscdRestart: 150, .daemonKill: 200,
        .postgresFailover: 270,
    ])

    init(intervals: [FaultKind: TimeInterval]) {
        self.intervals = intervals
    }

    init?(parsing text: String) {
        if text == "default" {
            self = Self.standard
            return
        }
        var intervals: [FaultKind: TimeInterval] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard let kind = FaultKind(rawValue: parts[0]) else { return nil }
            if parts.count == 1 {
                intervals[kind] = Self.standard.intervals[kind]
            } else {
                guard let seconds = parseDuration(parts[1]), seconds >= 1 else { return nil }
                intervals[kind] = seconds
            }
        }
        guard !intervals.isEmpty else { return nil }
        self.intervals = intervals
    }

    var description: String {
        intervals.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) every \(Int($0.value)) s" }
            .joined(separator: ", ")
    }
}

/// When each fault was in effect, so that the recorder can tell a failure the schedule caused from one it did
/// not. A failure is expected when the failed operation overlapped a window of pcscd, daemon or database faults
/// (or its grace after), or when it was itself hit by the fault (a pulled card's enrollment steps).
final class FaultWindows: @unchecked Sendable {
    // NSLock: the recorder and the injector threads share the windows; every access holds it.
    private let lock = NSLock()
    private var windows: [(kind: FaultKind, start: Date, end: Date?)] = []
    private var injected: [FaultKind: Int] = [:]
    private var skipped: [String: Int] = [:]

    /// A fault begins; returns its index for `end`.
    func begin(_ kind: FaultKind) -> Int {
        lock.withLock {
            injected[kind, default: 0] += 1
            windows.append((kind, Date(), nil))
            return windows.count - 1
        }
    }

    func end(_ index: Int) {
        lock.withLock { windows[index].end = Date() }
    }

    /// A scheduled fault the bench could not inject, with why.
    func skip(_ kind: FaultKind, reason: String) {
        lock.withLock { skipped["\(kind.rawValue): \(reason)", default: 0] += 1 }
    }

    /// The kind of fault in effect at some time from `start` to now (an operation that overlapped a fault, or its
    /// grace after it), if any.
    func kind(since start: Date) -> FaultKind? {
        let now = Date()
        return lock.withLock {
            // A card pull is the pulled tap's alone: that kiosk names it (`expected:`), no other operation shares it.
            windows.last { window in
                window.kind != .cardPull && window.start <= now
                    && start <= (window.end ?? .distantFuture).addingTimeInterval(window.kind.grace)
            }?.kind
        }
    }

    var counts: (injected: [String: Int], skipped: [String: Int]) {
        lock.withLock { (Dictionary(uniqueKeysWithValues: injected.map { ($0.key.rawValue, $0.value) }), skipped) }
    }
}

/// Injects the schedule's faults until the deadline: card pulls through the kiosks, pcscd and daemon restarts
/// through their owners. Runs on its own thread.
final class FaultInjector: @unchecked Sendable {
    private let schedule: FaultSchedule
    private let windows: FaultWindows
    private let kiosks: [KioskLoop]
    private let pcscd: BenchPCSCD
    private let daemon: LoadDaemon
    private let recorder: LoadRecorder
    private let replica: BenchReplica?

    init(
        schedule: FaultSchedule, windows: FaultWindows, kiosks: [KioskLoop], pcscd: BenchPCSCD, daemon: LoadDaemon,
        recorder: LoadRecorder, replica: BenchReplica?
    ) {
        self.replica = replica
        self.schedule = schedule
        self.windows = windows
        self.kiosks = kiosks
        self.pcscd = pcscd
        self.daemon = daemon
        self.recorder = recorder
    }

    /// Faults from `start` on (the first of each kind one interval later), none in the last 30 s of the run so
    /// that the daemon settles before the final checks.
    func run(from start: Date, until deadline: Date) {
        var next = schedule.intervals.mapValues { start.addingTimeInterval($0) }
        let lastFault = deadline.addingTimeInterval(-30)
        while Date() < lastFault {
            guard let (kind, at) = next.min(by: { $0.value < $1.value }) else { return }
            if at > lastFault { return }
            let wait = at.timeIntervalSinceNow
            if wait > 0 {
                Thread.sleep(forTimeInterval: min(wait, 1))
                continue
            }
            next[kind] = at.addingTimeInterval(schedule.intervals[kind] ?? 60)
            inject(kind)
        }
    }

    private func inject(_ kind: FaultKind) {
        switch kind {
        case .cardPull:
            guard let kiosk = kiosks.randomElement() else { return windows.skip(kind, reason: "no kiosk") }
            kiosk.pullNextCard(windows)
        case .pcscdRestart:
            guard pcscd.startedHere else {
                return windows.skip(kind, reason: "pcscd was running before the bench (not ours to kill)")
            }
            let window = windows.begin(kind)
            let started = pcscd.killAndRestart()
            windows.end(window)
            if !started { recorder.fail("fault", kind: "pcscd-restart", detail: "pcscd did not start again") }
        case .daemonKill:
            guard daemon.startedHere else {
                return windows.skip(kind, reason: "enrolld was not started by the bench (--socket)")
            }
            let window = windows.begin(kind)
            do {
                try daemon.killAndRestart()
            } catch {
                recorder.fail("fault", kind: "daemon-restart", detail: "\(error)")
            }
            windows.end(window)
        case .postgresFailover:
            guard let replica else { return windows.skip(kind, reason: "the store is not PostgreSQL (--store)") }
            guard !replica.failedOver else { return windows.skip(kind, reason: "no standby left to promote") }
            let window = windows.begin(kind)
            do {
                try replica.failover()
            } catch {
                recorder.fail("fault", kind: "pg-failover", detail: "\(error)")
            }
            windows.end(window)
        }
    }
}

/// The PostgreSQL primary and its synchronous streaming standby on loopback (`scripts/pg-replica.sh`).
final class BenchReplica: @unchecked Sendable {
    // `failedOver` changes once, on the injector thread; the report reads it after that thread ended.
    let directory: String
    let conninfo: String
    private(set) var failedOver = false

    init() throws {
        directory = NSTemporaryDirectory() + "enroll-bench-pg-\(getpid())"
        let base = 20_000 + Int(getpid() % 10_000) * 2
        conninfo = try Self.run(["start", directory, "\(base)", "\(base + 1)"])
    }

    func failover() throws {
        _ = try Self.run(["failover", directory])
        failedOver = true
    }

    func stop() {
        _ = try? Self.run(["stop", directory])
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/pg-replica.sh").path
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
            throw BenchError("scripts/pg-replica.sh \(arguments.joined(separator: " ")) failed: \(errorText)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// What the bench checks once the load is over: every serial a kiosk was given is in the database under its
/// account, and the audit chain verifies.
struct LoadIntegrity: Codable {
    var issuedSerials: Int
    var serialsFound: Int
    /// Serials a kiosk received that the daemon does not list (lost issuances), at most 20.
    var missingSerials: [String]
    var lookupErrors: Int
    var auditOK: Bool?
    var auditRecords: Int?
    var auditProblems: [String]

    static func check(_ issued: [(account: String, serial: String)], client: UnixSocketClient) -> LoadIntegrity {
        var byAccount: [String: [String]] = [:]
        for entry in issued { byAccount[entry.account, default: []].append(entry.serial.lowercased()) }
        var found = 0
        var missing: [String] = []
        var lookupErrors = 0
        for (account, serials) in byAccount {
            guard let response = try? client.get("/v1/accounts/\(account)/certificates"),
                response.status == 200,
                let list = try? JSONDecoder().decode([CertificateView].self, from: Data(response.body))
            else {
                lookupErrors += 1
                missing += serials
                continue
            }
            let listed = Set(list.map { $0.serial.lowercased() })
            for serial in serials {
                if listed.contains(serial) { found += 1 } else { missing.append(serial) }
            }
        }
        var integrity = LoadIntegrity(
            issuedSerials: issued.count, serialsFound: found,
            missingSerials: Array(missing.prefix(20)), lookupErrors: lookupErrors,
            auditOK: nil, auditRecords: nil, auditProblems: [])
        if let response = try? client.post("/v1/audit/verify", json: Array("{}".utf8)), response.status == 200,
            let report = try? JSONDecoder().decode(AuditReport.self, from: Data(response.body))
        {
            integrity.auditOK = report.ok
            integrity.auditRecords = report.records
            integrity.auditProblems = report.problems.prefix(10).map { "#\($0.sequence) \($0.kind): \($0.message)" }
        } else {
            integrity.auditProblems = ["POST /v1/audit/verify did not answer 200"]
        }
        return integrity
    }

    var passed: Bool { serialsFound == issuedSerials && lookupErrors == 0 && auditOK == true }
}

/// A tap's card: the real applet, counting the commands it answers; on a tap the schedule pulls, the command
/// numbered `pullAt` (counted from power-on) is answered by leaving the field — in the middle of the daemon's
/// read (PACE or BAC, secure messaging, READ BINARY), not between reads.
final class PullingApplet: CardApplet {
    private let base: CardApplet
    private let pullAt: Int?
    private let onPull: () -> Void
    // The card's serving thread (VPCDConnection) calls in; the kiosk reads `commands` after that thread ended.
    private(set) var commands = 0
    private var pulled = false

    init(_ base: CardApplet, pullAt: Int?, onPull: @escaping () -> Void = {}) {
        self.base = base
        self.pullAt = pullAt
        self.onPull = onPull
    }

    func process(_ command: CommandAPDU) -> ResponseAPDU { base.process(command) }

    func reset() { base.reset() }

    func answer(_ command: CommandAPDU) -> CardAnswer {
        commands += 1
        if let pullAt, pulled || commands >= pullAt {
            if !pulled { onPull() }
            pulled = true
            return .removed
        }
        return base.answer(command)
    }
}
