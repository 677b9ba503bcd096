import EnrollAPIModel
import UnixHTTP
import Foundation
import VirtualCard

/// `enroll-bench load` options.
struct LoadOptions {
    var clients = 4
    var duration: TimeInterval = 60
    var warmup: TimeInterval?
    var readers = 2
    var socket: String?
    var json = false
    var faces = ProcessInfo.processInfo.environment["ENROLLD_FACES"] ?? "../shared/faces/johns"
    var thinkTime: TimeInterval = 0.1
    var enrolld = LoadDaemon.defaultExecutable()
    var faults: FaultSchedule?
    /// The store of a daemon the bench starts: SQLite, or PostgreSQL with a synchronous standby.
    var postgres = false

    init(_ arguments: [String]) {
        var index = 0
        func value(_ option: String) -> String {
            guard index + 1 < arguments.count else { benchFail("\(option) needs a value") }
            index += 1
            return arguments[index]
        }
        func seconds(_ option: String) -> TimeInterval {
            let text = value(option)
            guard let seconds = parseDuration(text) else {
                benchFail("\(option) takes a duration such as 600s, 10m or 90")
            }
            return seconds
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--clients":
                guard let n = Int(value("--clients")), (0...256).contains(n) else {
                    benchFail("--clients needs 0 to 256")
                }
                clients = n
            case "--duration": duration = seconds("--duration")
            case "--warmup": warmup = seconds("--warmup")
            case "--think": thinkTime = seconds("--think")
            case "--readers":
                guard let n = Int(value("--readers")), (0...2).contains(n) else { benchFail("--readers is 0, 1 or 2") }
                readers = n
            case "--socket": socket = value("--socket")
            case "--faces": faces = value("--faces")
            case "--enrolld": enrolld = value("--enrolld")
            case "--json": json = true
            case "--store":
                switch value("--store") {
                case "sqlite": postgres = false
                case "postgresql": postgres = true
                default: benchFail("--store is sqlite or postgresql")
                }
            case "--faults":
                guard let schedule = FaultSchedule(parsing: value("--faults")) else {
                    benchFail(
                        "--faults takes 'default' or kinds with intervals, e.g. card-pull=20s,pcscd-restart=150s,"
                            + "daemon-kill=200s (kinds: \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                faults = schedule
            default: benchFail("unknown option '\(arguments[index])' for load")
            }
            index += 1
        }
        guard duration > 0 else { benchFail("--duration must be positive") }
        if !postgres { faults?.intervals[.postgresFailover] = nil }
    }

    /// Warm-up: a tenth of the run, at most a minute, unless given.
    var resolvedWarmup: TimeInterval { min(warmup ?? min(duration / 10, 60), duration / 2) }
}

/// `600s`, `10m`, `250ms`, `1.5h` or plain seconds.
func parseDuration(_ text: String) -> TimeInterval? {
    let units: [(suffix: String, factor: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for unit in units where text.hasSuffix(unit.suffix) {
        guard let number = Double(text.dropLast(unit.suffix.count)), number >= 0 else { return nil }
        return number * unit.factor
    }
    guard let number = Double(text), number >= 0 else { return nil }
    return number
}

/// What `--json` prints; the text report shows the same figures.
struct LoadReport: Codable {
    struct Latency: Codable {
        var operation: String
        var count: Int
        var p50Ms: Double
        var p99Ms: Double
        var maxMs: Double
    }

    struct Resources: Codable {
        var start: ProcessSample
        var afterWarmup: ProcessSample
        var end: ProcessSample
        /// RSS growth from after warm-up to the end, in percent.
        var rssGrowthAfterWarmupPercent: Double
        var peakRSSKiB: Int
        /// Every 10 s.
        var timeline: [ProcessSample]
        /// Descriptors open at the end that were not at the start (sockets and pipes by kind).
        var fdsAddedDuringRun: [String]
        /// Per daemon process (one per restart): RSS after its warm-up and at its last sample.
        var instances: [Instance]?
    }

    struct Instance: Codable {
        var pid: Int32
        var measuredSeconds: Double
        var rssAfterWarmupKiB: Int
        var rssEndKiB: Int
        var growthPercent: Double
    }

    /// `--faults`: what was scheduled and injected, the failures it caused, and the checks after the load.
    struct Faults: Codable {
        var schedule: String
        var injected: [String: Int]
        var skipped: [String: Int]
        var expectedFailures: [String: Int]
        var daemonRestarts: Int
    }

    var durationSeconds: Double
    var warmupSeconds: Double
    var readers: Int
    var clients: Int
    var daemonPID: Int32
    var daemonStartedByBench: Bool
    var enrollments: Int
    var enrollmentsAfterWarmup: Int
    var enrollmentsPerSecond: Double
    var requests: Int
    var requestsPerSecondAfterWarmup: Double
    var latencies: [Latency]
    var errors: Int
    var errorKinds: [String: Int]
    var daemon: Resources
    var daemonExitStatus: Int32?
    /// What the daemon still holds once the load is over (from `/metrics`): enrollment sessions, card reads and
    /// PC/SC connections should be 0, API connections 1 (the metrics request itself).
    var daemonAtEnd: [String: Double]
    var faults: Faults?
    /// Every issued serial in the database, the audit chain valid (always checked for a daemon the bench started).
    var integrity: LoadIntegrity?
}

/// RSS growth per daemon process: from the first sample a warm-up after it started (the bench's warm-up sample
/// for the first) to its last sample; only processes measured for at least a minute.
private func instanceGrowth(
    _ timeline: [ProcessSample], warmup: Double, baseline: ProcessSample
)
    -> [LoadReport.Instance]
{
    var order: [Int32] = []
    var byPID: [Int32: [ProcessSample]] = [:]
    for sample in timeline where sample.rssKiB > 0 {
        if byPID[sample.pid] == nil { order.append(sample.pid) }
        byPID[sample.pid, default: []].append(sample)
    }
    return order.compactMap { pid in
        guard let samples = byPID[pid], let first = samples.first, let last = samples.last else { return nil }
        let start = pid == baseline.pid ? baseline : samples.first { $0.at >= first.at + warmup }
        guard let start, last.at - start.at >= 60 else { return nil }
        return LoadReport.Instance(
            pid: pid, measuredSeconds: last.at - start.at, rssAfterWarmupKiB: start.rssKiB,
            rssEndKiB: last.rssKiB,
            growthPercent: Double(last.rssKiB - start.rssKiB) / Double(start.rssKiB) * 100)
    }
}

/// The `/metrics` gauges that show what is left open after the load.
private func leftoverGauges(_ client: UnixSocketClient) -> [String: Double] {
    guard let response = try? client.get("/metrics") else { return [:] }
    let names = [
        "enrolld_enrollment_sessions_open", "enrolld_card_reads_active", "enrolld_card_connections_open",
        "enrolld_api_connections_open",
    ]
    var gauges: [String: Double] = [:]
    for line in String(decoding: response.body, as: UTF8.self).split(separator: "\n") {
        let parts = line.split(separator: " ")
        guard parts.count == 2, names.contains(String(parts[0])), let value = Double(parts[1]) else { continue }
        gauges[String(parts[0])] = value
    }
    return gauges
}

func runLoadBench(arguments: [String]) {
    let options = LoadOptions(arguments)
    let work = NSTemporaryDirectory() + "enroll-bench-load-\(getpid())"
    let keep = ProcessInfo.processInfo.environment["ENROLLD_KEEP_BENCH"] != nil
    let faces: LoadFaces
    let pki: TestPKI
    do {
        faces = try LoadFaces(directory: options.faces)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        pki = try BenchPKI.create(directory: work + "/pki")
    } catch {
        benchFail("cannot set up the bench: \(error)")
    }
    let pcscd = BenchPCSCD.startOrExit()
    let readers = ["Virtual PCD 00 00", "Virtual PCD 00 01"].prefix(options.readers)
    for reader in readers where !pcscd.waitFor(reader: reader) { benchFail("pcscd does not list '\(reader)'") }

    let daemon: LoadDaemon
    var replica: BenchReplica?
    do {
        if let socket = options.socket {
            daemon = try LoadDaemon.attach(socket: socket)
            try trustBenchCSCA(pki, socket: socket)
        } else {
            if options.postgres { replica = try BenchReplica() }
            daemon = try LoadDaemon.start(
                executable: options.enrolld, work: work, trustDirectory: work + "/pki/trust",
                postgres: replica?.conninfo)
        }
    } catch {
        replica?.stop()
        benchFail("\(error)")
    }
    // The daemon answers before it has finished starting (signal handlers, face models in the background).
    if daemon.startedHere { Thread.sleep(forTimeInterval: 2) }
    let client = UnixSocketClient(path: daemon.socket, timeout: 60)
    let recorder = LoadRecorder()
    let began = Date()
    func sample() -> ProcessSample {
        ProcessSample.take(pid: daemon.pid, at: Date().timeIntervalSince(began))
            ?? ProcessSample(at: Date().timeIntervalSince(began), rssKiB: 0, threads: 0, fds: 0)
    }
    let start = sample()
    let startDescriptors = descriptorTargets(pid: daemon.pid)
    let warmup = options.resolvedWarmup
    let deadline = began.addingTimeInterval(options.duration)
    if !options.json {
        print(
            "enroll-bench load: \(Int(options.duration)) s (warm-up \(Int(warmup)) s), \(readers.count) reader(s), "
                + "\(options.clients) API client(s), enrolld pid \(daemon.pid)"
                + (daemon.startedHere
                    ? " (started by the bench: temporary state, "
                        + (replica == nil ? "SQLite)" : "PostgreSQL primary + synchronous standby)")
                    : " on \(daemon.socket)"))
        if let faults = options.faults { print("  faults: \(faults.description), from the end of warm-up") }
    }
    let windows = FaultWindows()
    if options.faults != nil { recorder.faults = windows }

    let presence = CardPresence(client: client, recorder: recorder)
    let identities = IdentitySource()
    let group = DispatchGroup()
    func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        let thread = Thread {
            body()
            group.leave()
        }
        thread.name = name
        thread.start()
    }
    var kiosks: [KioskLoop] = []
    for index in readers.indices {
        let kiosk = KioskLoop(
            index: index, faces: faces, identities: identities, signer: pki.documentSigner,
            presence: presence, recorder: recorder, client: client)
        kiosks.append(kiosk)
        spawn("load.kiosk-\(index)") { kiosk.run(until: deadline) }
    }
    if let schedule = options.faults {
        let injector = FaultInjector(
            schedule: schedule, windows: windows, kiosks: kiosks, pcscd: pcscd, daemon: daemon,
            recorder: recorder, replica: replica)
        let from = began.addingTimeInterval(warmup)
        spawn("load.faults") { injector.run(from: from, until: deadline) }
    }
    for index in 0..<options.clients {
        let loop = APIClientLoop(
            index: index, faces: faces, recorder: recorder, client: client, thinkTime: options.thinkTime)
        spawn("load.client-\(index)") { loop.run(until: deadline) }
    }

    // Samples every 10 s; the one at the end of warm-up is the baseline for growth.
    var timeline = [start]
    var afterWarmup: ProcessSample?
    var nextSample = began.addingTimeInterval(10)
    var nextProgress = began.addingTimeInterval(60)
    while group.wait(timeout: .now() + 0.25) == .timedOut {
        let now = Date()
        if afterWarmup == nil, now >= began.addingTimeInterval(warmup) {
            recorder.startMeasuring()
            afterWarmup = sample()
            timeline.append(afterWarmup!)
        }
        if now >= nextSample {
            timeline.append(sample())
            nextSample = nextSample.addingTimeInterval(10)
        }
        if now >= nextProgress {
            let state = recorder.snapshot
            let last = timeline.last!
            FileHandle.standardError.write(
                Data(
                    String(
                        format:
                            "enroll-bench load: [%4.0f s] %d enrollments, %d requests, %d errors; enrolld RSS %.1f MiB, %d fds, %d threads\n",
                        now.timeIntervalSince(began), state.enrollments, state.requests, state.errors,
                        Double(last.rssKiB) / 1024,
                        last.fds, last.threads
                    ).utf8))
            nextProgress = nextProgress.addingTimeInterval(60)
        }
        if !daemon.isRunning {
            recorder.fail("daemon", kind: "exited", detail: "enrolld (pid \(daemon.pid)) is gone")
            break
        }
    }
    let loadEnded = Date()
    presence.stop()
    // Let the daemon's connection threads finish with the connections the clients closed: an event stream
    // notices its client has gone at its next keep-alive comment (api.event_keepalive_seconds, 15 s).
    let settle = Date().addingTimeInterval(17)
    Thread.sleep(forTimeInterval: 0.5)
    while Date() < settle, (ProcessSample.take(pid: daemon.pid, at: 0)?.fds ?? 0) > start.fds {
        Thread.sleep(forTimeInterval: 0.25)
    }
    let end = sample()
    let added = descriptorsAdded(before: startDescriptors, after: descriptorTargets(pid: daemon.pid))
    let gauges = leftoverGauges(client)
    let integrity =
        daemon.startedHere || options.faults != nil
        ? LoadIntegrity.check(recorder.issuedSerials, client: client) : nil
    timeline.append(end)
    let baseline = afterWarmup ?? start
    let exitStatus = daemon.stop()
    if let exitStatus, exitStatus != 0 {
        recorder.fail("daemon", kind: "exit-status", detail: "enrolld exited with status \(exitStatus); see its log")
    }

    let state = recorder.snapshot
    let measured = max(loadEnded.timeIntervalSince(began.addingTimeInterval(warmup)), 0.001)
    let order =
        ["enroll.total", "enroll.read", "enroll.photo", "enroll.complete", "card.detect"]
        + APIClientLoop.mix.map(\.operation)
    let latencies = order.compactMap { operation -> LoadReport.Latency? in
        guard let values = state.latencies[operation], !values.isEmpty else { return nil }
        return LoadReport.Latency(
            operation: operation, count: values.count, p50Ms: percentile(values, 0.5),
            p99Ms: percentile(values, 0.99), maxMs: values.max() ?? 0)
    }
    var growth = baseline.rssKiB > 0 ? Double(end.rssKiB - baseline.rssKiB) / Double(baseline.rssKiB) * 100 : 0
    let instances = instanceGrowth(timeline, warmup: warmup, baseline: baseline)
    // With restarts the end is another process than the baseline: the largest growth of any one process counts.
    if daemon.restarts > 0 { growth = instances.map(\.growthPercent).max() ?? 0 }
    let counts = windows.counts
    let faults = options.faults.map { schedule in
        LoadReport.Faults(
            schedule: schedule.description, injected: counts.injected, skipped: counts.skipped,
            expectedFailures: recorder.expectedFailures, daemonRestarts: daemon.restarts)
    }
    let report = LoadReport(
        durationSeconds: loadEnded.timeIntervalSince(began), warmupSeconds: warmup, readers: readers.count,
        clients: options.clients, daemonPID: daemon.pid, daemonStartedByBench: daemon.startedHere,
        enrollments: state.enrollments, enrollmentsAfterWarmup: state.measuredEnrollments,
        enrollmentsPerSecond: Double(state.measuredEnrollments) / measured, requests: state.requests,
        requestsPerSecondAfterWarmup: Double(state.measuredRequests) / measured, latencies: latencies,
        errors: state.errors, errorKinds: state.errorKinds,
        daemon: .init(
            start: start, afterWarmup: baseline, end: end, rssGrowthAfterWarmupPercent: growth,
            peakRSSKiB: timeline.map(\.rssKiB).max() ?? 0, timeline: timeline,
            fdsAddedDuringRun: added, instances: instances),
        daemonExitStatus: exitStatus, daemonAtEnd: gauges, faults: faults, integrity: integrity)
    if options.json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self))
    } else {
        printLoadReport(report)
    }
    if state.errors > 0, let log = daemon.logPath, keep {
        FileHandle.standardError.write(Data("enroll-bench load: the daemon's log is \(log)\n".utf8))
    }
    // exit() skips `defer`: clean up here.
    pcscd.stop()
    replica?.stop()
    if !keep { try? FileManager.default.removeItem(atPath: work) }
    exit(state.errors == 0 && integrity?.passed != false ? 0 : 1)
}

/// Against a running daemon: imports the bench PKI's CSCA (`POST /v1/trust/import`) so its cards pass passive
/// authentication.
private func trustBenchCSCA(_ pki: TestPKI, socket: String) throws {
    let body = try JSONEncoder().encode(["data": Data(pki.csca.certificate.der).base64EncodedString()])
    let response = try UnixSocketClient(path: socket).post("/v1/trust/import", json: [UInt8](body))
    guard (200..<300).contains(response.status) else {
        throw BenchError(
            "the daemon refused the bench CSCA (\(response.status)): \(String(decoding: response.body, as: UTF8.self))")
    }
}

private func printLoadReport(_ report: LoadReport) {
    func mib(_ kib: Int) -> String { String(format: "%.1f MiB", Double(kib) / 1024) }
    print(
        String(
            format: "  enrollments: %d completed, %d after warm-up: %.2f enrollments/s",
            report.enrollments, report.enrollmentsAfterWarmup, report.enrollmentsPerSecond))
    print(
        String(format: "  requests:    %d (%.1f/s after warm-up)", report.requests, report.requestsPerSecondAfterWarmup)
    )
    print("  latency after warm-up      count      p50 ms      p99 ms      max ms")
    for latency in report.latencies {
        let name = latency.operation.padding(toLength: 18, withPad: " ", startingAt: 0)
        print(
            "    " + name
                + String(
                    format: " %7d %11.1f %11.1f %11.1f", latency.count, latency.p50Ms, latency.p99Ms,
                    latency.maxMs))
    }
    print("  errors:      \(report.errors)")
    for (kind, count) in report.errorKinds.sorted(by: { $0.key < $1.key }) { print("    \(count) × \(kind)") }
    let resources = report.daemon
    print(
        "  enrolld RSS: start \(mib(resources.start.rssKiB)), after warm-up \(mib(resources.afterWarmup.rssKiB)), "
            + "end \(mib(resources.end.rssKiB)), peak \(mib(resources.peakRSSKiB)); "
            + ((report.faults?.daemonRestarts ?? 0) > 0 && (resources.instances ?? []).isEmpty
                ? "growth after warm-up not measured (no enrolld process ran a minute past its warm-up)"
                : String(format: "growth after warm-up %+.1f%%", resources.rssGrowthAfterWarmupPercent)
                    + ((report.faults?.daemonRestarts ?? 0) > 0 ? " (the most any one enrolld process grew)" : "")))
    print(
        "  enrolld fds: start \(resources.start.fds), after warm-up \(resources.afterWarmup.fds), end \(resources.end.fds); "
            + "threads: start \(resources.start.threads), after warm-up \(resources.afterWarmup.threads), "
            + "end \(resources.end.threads)")
    if !resources.fdsAddedDuringRun.isEmpty {
        print(
            "  enrolld descriptors open at the end, not at the start: "
                + resources.fdsAddedDuringRun.joined(separator: ", "))
    }
    if !report.daemonAtEnd.isEmpty {
        print(
            "  enrolld at the end: "
                + report.daemonAtEnd.sorted { $0.key < $1.key }
                .map { "\($0.key.replacingOccurrences(of: "enrolld_", with: "")) \(Int($0.value))" }.joined(
                    separator: ", "))
    }
    if let status = report.daemonExitStatus { print("  enrolld exit status after SIGTERM: \(status)") }
    if let instances = resources.instances, (report.faults?.daemonRestarts ?? 0) > 0 {
        for instance in instances {
            print(
                "    enrolld pid \(instance.pid): \(Int(instance.measuredSeconds)) s measured, RSS "
                    + "\(mib(instance.rssAfterWarmupKiB)) → \(mib(instance.rssEndKiB)) "
                    + String(format: "(%+.1f%%)", instance.growthPercent))
        }
    }
    if let faults = report.faults {
        print(
            "  faults (\(faults.schedule)): "
                + faults.injected.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", ")
                + "; daemon restarts \(faults.daemonRestarts)")
        for (reason, count) in faults.skipped.sorted(by: { $0.key < $1.key }) {
            print("    skipped \(count) × \(reason)")
        }
        let expected = faults.expectedFailures.values.reduce(0, +)
        print("  expected failures: \(expected)")
        for (kind, count) in faults.expectedFailures.sorted(by: { $0.key < $1.key }) { print("    \(count) × \(kind)") }
        print("  unexpected errors: \(report.errors)")
    }
    if let integrity = report.integrity {
        print(
            "  issued serials in the database: \(integrity.serialsFound) of \(integrity.issuedSerials)"
                + (integrity.missingSerials.isEmpty
                    ? "" : "; missing: " + integrity.missingSerials.joined(separator: ", "))
                + (integrity.lookupErrors > 0 ? "; \(integrity.lookupErrors) account look-ups failed" : ""))
        print(
            "  audit chain: "
                + (integrity.auditOK == true
                    ? "valid, \(integrity.auditRecords ?? 0) records"
                    : "NOT valid: " + integrity.auditProblems.joined(separator: "; ")))
    }
}
