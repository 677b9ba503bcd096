import EnrollAPIModel
import FaceMatch
import Foundation
import Synchronization
import UnixHTTP

/// `enroll-bench face-attack`: issue 18's face-engine attack on a real `enrolld`. One caller (this process, root)
/// keeps `--hostile N` image comparisons in flight on `POST /v1/faces/compare` (each connection sends the next as
/// soon as the last is answered); meanwhile another kiosk (a child of this bench running as uid 65534, `nobody`,
/// the daemon's `[roles] kiosk`) compares a normal portrait with a normal live photo, one request after the other.
/// Reports the normal kiosk's latencies alone and under attack (p50, p99, max, refusals), what the hostile
/// requests were answered, and the daemon's resident memory (largest sample, every 100 ms, and VmHWM).
///
/// Hostile images (`--images`): `declared-40mp` is the issue's, a PNG of 8000x5000 (about 120 KB, one grey) as
/// reference and probe; `within-caps` the worst the default caps let through, a 2 MP reference and a 12 MP probe
/// PNG that decode in full. `--enrolld PATH` measures another build (the issue's "before" is main before the fix).
/// `--rss-limit-mib` (default 8192) ends the run when the daemon passes it: the hostile connections stop and the
/// daemon is killed (requests already in flight would go on allocating), so a run on a shared machine cannot
/// exhaust its memory; the report says so and when.
///
/// Arguments: `[--hostile N] [--seconds N] [--images declared-40mp|within-caps] [--enrolld PATH] [--faces DIR]
/// [--rss-limit-mib N] [--json]`.
func runFaceAttackBench(arguments: [String]) {
    if arguments.first == "--normal-client" { return runNormalClient(Array(arguments.dropFirst())) }
    var options = FaceAttackOptions()
    var index = 0
    func value() -> String {
        guard index + 1 < arguments.count else { benchFail("\(arguments[index]) needs a value") }
        index += 1
        return arguments[index]
    }
    while index < arguments.count {
        switch arguments[index] {
        case "--hostile": options.hostile = max(1, min(512, Int(value()) ?? options.hostile))
        case "--seconds": options.seconds = max(1, Double(value()) ?? options.seconds)
        case "--images":
            guard let images = FaceAttackOptions.Images(rawValue: value()) else {
                benchFail("--images is declared-40mp or within-caps")
            }
            options.images = images
        case "--enrolld": options.enrolld = value()
        case "--faces": options.faces = value()
        case "--rss-limit-mib": options.rssLimitMiB = max(64, Int(value()) ?? options.rssLimitMiB)
        case "--json": options.json = true
        default: benchFail("unknown option '\(arguments[index])' for face-attack")
        }
        index += 1
    }
    do {
        let figures = try FaceAttack(options: options).run()
        print(figures.text)
        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(figures), as: UTF8.self))
        }
    } catch {
        benchFail("face-attack failed: \(error)")
    }
}

struct FaceAttackOptions {
    enum Images: String, Codable {
        case declared40MP = "declared-40mp"
        case withinCaps = "within-caps"
    }

    var hostile = 64
    var seconds = 30.0
    var images = Images.declared40MP
    var enrolld = LoadDaemon.defaultExecutable()
    var faces = ProcessInfo.processInfo.environment["ENROLLD_FACES"] ?? "../shared/faces/johns"
    var rssLimitMiB = 8192
    var json = false
}

/// What one sequence of normal comparisons saw (the child's answer, as JSON on its standard output).
struct NormalRun: Codable {
    var latencies: [Double] = []
    var refusals: [String: Int] = [:]
}

/// The normal kiosk: `--normal-client SOCKET BODY-FILE SECONDS`, comparisons one after the other for SECONDS.
private func runNormalClient(_ arguments: [String]) {
    guard arguments.count == 3, let seconds = Double(arguments[2]),
        let body = FileManager.default.contents(atPath: arguments[1])
    else {
        benchFail("face-attack --normal-client SOCKET BODY-FILE SECONDS")
    }
    let client = UnixSocketClient(path: arguments[0], timeout: 600)
    var run = NormalRun()
    let end = Date().addingTimeInterval(seconds)
    repeat {
        let start = DispatchTime.now()
        do {
            let response = try client.post("/v1/faces/compare", json: [UInt8](body))
            if response.status == 200 {
                run.latencies.append(milliseconds(since: start))
            } else {
                let code = (try? JSONDecoder().decode(Problem.self, from: Data(response.body)))?.code
                run.refusals["\(response.status) \(code ?? "")", default: 0] += 1
                Thread.sleep(forTimeInterval: 0.2)
            }
        } catch {
            run.refusals["transport: \(error)", default: 0] += 1
            Thread.sleep(forTimeInterval: 0.2)
        }
    } while Date() < end
    guard let data = try? JSONEncoder().encode(run) else { benchFail("cannot encode the normal run") }
    FileHandle.standardOutput.write(data)
}

private struct FaceAttack {
    struct Latency: Codable {
        var count: Int
        var p50: Double
        var p99: Double
        var max: Double
        var refusals: [String: Int]

        init(_ run: NormalRun) {
            count = run.latencies.count
            p50 = percentile(run.latencies, 0.5)
            p99 = percentile(run.latencies, 0.99)
            max = run.latencies.max() ?? 0
            refusals = run.refusals
        }

        var text: String {
            String(format: "n %d, p50 %.0f ms, p99 %.0f ms, max %.0f ms", count, p50, p99, max)
                + (refusals.isEmpty
                    ? ""
                    : ", refused: "
                        + refusals.map { "\($0.key) x\($0.value)" }.sorted()
                        .joined(separator: ", "))
        }
    }

    struct Figures: Codable {
        var benchmark = "face-attack"
        var daemon: String
        var images: FaceAttackOptions.Images
        var hostileBytes: Int
        var hostileInFlight: Int
        var seconds: Double
        var normalAlone: Latency
        var normalUnderAttack: Latency
        var hostileAnswers: [String: Int]
        var hostileMeanMilliseconds: Double
        var peakRSSMiB: Double
        var highWaterRSSMiB: Double
        var rssAtStartMiB: Double
        var stoppedAtRSSLimit: Bool
        var secondsToRSSLimit: Double

        var text: String {
            let answers = hostileAnswers.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }
                .joined(separator: ", ")
            return """
                face-attack against \(daemon): \(hostileInFlight) hostile comparisons in flight from one caller \
                (\(images.rawValue), \(hostileBytes / 1024) KiB per request), \(String(format: "%.0f", seconds)) s
                  normal kiosk alone:        \(normalAlone.text)
                  normal kiosk under attack: \(normalUnderAttack.text)
                  hostile answers: \(answers.isEmpty ? "none" : answers); mean \
                \(String(format: "%.0f", hostileMeanMilliseconds)) ms each
                  daemon RSS: \(String(format: "%.0f", rssAtStartMiB)) MiB before, largest sample \
                \(String(format: "%.0f", peakRSSMiB)) MiB, VmHWM \(String(format: "%.0f", highWaterRSSMiB)) MiB\
                \(stoppedAtRSSLimit ? String(format: " (daemon killed at the RSS limit after %.1f s)", secondsToRSSLimit) : "")
                """
        }
    }

    let options: FaceAttackOptions

    func run() throws -> Figures {
        let work = NSTemporaryDirectory() + "enroll-bench-face-attack-\(getpid())"
        try FileManager.default.createDirectory(
            atPath: work, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: work) }
        let normal = try normalRequest(probeChip: 1)
        let hostile = try hostileRequest()
        let bodyFile = work + "/normal.json"
        FileManager.default.createFile(
            atPath: bodyFile, contents: Data(normal),
            attributes: [.posixPermissions: 0o644])
        let daemon = try AttackDaemon.start(executable: options.enrolld, work: work)
        defer { daemon.stop() }
        // Models load on the first comparison: not part of the measurement. Another photo than the normal kiosk's,
        // which would otherwise be a photo of another caller's session to the replay check.
        let warm = UnixSocketClient(path: daemon.socket, timeout: 120)
        guard (try? warm.post("/v1/faces/compare", json: try normalRequest(probeChip: 2)))?.status == 200 else {
            throw BenchError("the daemon does not compare the normal images; see \(daemon.log)")
        }
        let alone = try normalClient(socket: daemon.socket, body: bodyFile, seconds: min(10, options.seconds))
        let startRSS = ProcessSample.take(pid: daemon.pid, at: 0)?.rssKiB ?? 0

        let state = AttackState()
        var threads: [Thread] = []
        for _ in 0..<options.hostile {
            let thread = Thread { [socket = daemon.socket] in
                let client = UnixSocketClient(path: socket, timeout: 600)
                while !state.stopped {
                    let start = DispatchTime.now()
                    state.sent()
                    let answer: String
                    do {
                        let response = try client.post("/v1/faces/compare", json: hostile)
                        let code = (try? JSONDecoder().decode(Problem.self, from: Data(response.body)))?.code
                        let retry = response.headers.first { $0.name.lowercased() == "retry-after" }?.value
                        answer =
                            "\(response.status)" + (code.map { " \($0)" } ?? "")
                            + (retry.map { " (Retry-After \($0))" } ?? "")
                    } catch {
                        answer = "transport"
                        Thread.sleep(forTimeInterval: 0.05)
                    }
                    state.answered(answer, milliseconds: milliseconds(since: start))
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
            threads.append(thread)
        }
        let attackStart = Date()
        let sampler = Thread {
            while !state.stopped {
                if let sample = ProcessSample.take(pid: daemon.pid, at: 0) {
                    state.sampled(rssKiB: sample.rssKiB)
                    if sample.rssKiB / 1024 > options.rssLimitMiB {
                        state.stop(atLimit: true, after: Date().timeIntervalSince(attackStart))
                        kill(daemon.pid, SIGKILL)
                    }
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        sampler.start()
        let deadline = Date().addingTimeInterval(10)
        while state.inFlight < options.hostile && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let attacked = try normalClient(socket: daemon.socket, body: bodyFile, seconds: options.seconds)
        let highWater = Self.highWaterKiB(pid: daemon.pid)
        state.stop(atLimit: false, after: 0)
        let figures = state.figures
        return Figures(
            daemon: options.enrolld, images: options.images, hostileBytes: hostile.count,
            hostileInFlight: options.hostile, seconds: options.seconds, normalAlone: Latency(alone),
            normalUnderAttack: Latency(attacked), hostileAnswers: figures.answers,
            hostileMeanMilliseconds: figures.meanMilliseconds,
            peakRSSMiB: Double(figures.peakKiB) / 1024, highWaterRSSMiB: Double(highWater) / 1024,
            rssAtStartMiB: Double(startRSS) / 1024, stoppedAtRSSLimit: figures.stoppedAtLimit,
            secondsToRSSLimit: figures.secondsToLimit)
    }

    /// The normal kiosk's comparisons, run as uid 65534 in a child of this bench.
    func normalClient(socket: String, body: String, seconds: Double) throws -> NormalRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        process.arguments = [
            "--reuid=65534", "--regid=65534", "--clear-groups", me, "face-attack", "--normal-client",
            socket, body, String(seconds),
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let run = try? JSONDecoder().decode(NormalRun.self, from: data) else {
            throw BenchError("the normal kiosk (setpriv as uid 65534) failed with status \(process.terminationStatus)")
        }
        return run
    }

    static func highWaterKiB(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return Int(line.dropFirst(6).split(whereSeparator: \.isWhitespace).first ?? "") ?? 0
    }

    /// John Salley's chip portrait (300x400 JPEG 2000, as DG2) and a 1280x960 live photo of him (his chip
    /// `probeChip`).
    func normalRequest(probeChip: Int) throws -> [UInt8] {
        let person = options.faces + "/John_Salley"
        let names = try FileManager.default.contentsOfDirectory(atPath: person).filter { $0.hasSuffix(".jpg") }.sorted()
        guard names.count >= 2 else { throw BenchError("no John_Salley photos under \(options.faces) (use --faces)") }
        func chip(_ index: Int) throws -> RGBImage {
            try RGBImage(decoding: [UInt8](try Data(contentsOf: URL(fileURLWithPath: person + "/" + names[index]))))
        }
        let reference = try SyntheticFaceImages.portrait(from: try chip(0)).encoded(as: .jp2, quality: 81)
        let probe = try SyntheticFaceImages.livePhoto([.init(chip: try chip(probeChip), size: 400, x: 440, y: 200)])
            .encoded(as: .jpeg, quality: 90)
        return [UInt8](
            try JSONEncoder().encode(
                FaceCompareRequest(
                    reference: Data(reference).base64EncodedString(),
                    probe: Data(probe).base64EncodedString())))
    }

    func hostileRequest() throws -> [UInt8] {
        // Two greys, so that reference and probe are not byte-identical (the replay check would refuse them
        // before any decoding).
        func png(_ width: Int, _ height: Int, grey: UInt8) throws -> String {
            Data(try RGBImage(width: width, height: height, red: grey, green: grey, blue: grey).encoded(as: .png))
                .base64EncodedString()
        }
        let request: FaceCompareRequest
        switch options.images {
        case .declared40MP:
            request = FaceCompareRequest(
                reference: try png(8000, 5000, grey: 128), probe: try png(8000, 5000, grey: 96))
        case .withinCaps:
            request = FaceCompareRequest(
                reference: try png(1632, 1224, grey: 128),
                probe: try png(4000, 3000, grey: 96))
        }
        return [UInt8](try JSONEncoder().encode(request))
    }
}

/// What the hostile connections and the sampler saw.
private final class AttackState: Sendable {
    struct Figures {
        var answers: [String: Int] = [:]
        var count = 0
        var meanMilliseconds = 0.0
        var inFlight = 0
        var peakKiB = 0
        var stopped = false
        var stoppedAtLimit = false
        var secondsToLimit = 0.0
    }

    private let state = Mutex(Figures())

    var stopped: Bool { state.withLock { $0.stopped } }
    var inFlight: Int { state.withLock { $0.inFlight } }
    var figures: Figures { state.withLock { $0 } }

    func sent() { state.withLock { $0.inFlight += 1 } }

    func answered(_ answer: String, milliseconds: Double) {
        state.withLock {
            $0.inFlight -= 1
            $0.answers[answer, default: 0] += 1
            $0.count += 1
            $0.meanMilliseconds += (milliseconds - $0.meanMilliseconds) / Double($0.count)
        }
    }

    func sampled(rssKiB: Int) { state.withLock { $0.peakKiB = max($0.peakKiB, rssKiB) } }

    func stop(atLimit: Bool, after seconds: Double) {
        state.withLock {
            $0.stopped = true
            if atLimit && !$0.stoppedAtLimit {
                $0.stoppedAtLimit = true
                $0.secondsToLimit = seconds
            }
        }
    }
}

/// The daemon under attack: only keys every enrolld knows (so `--enrolld` can measure an older build), a socket
/// other uids may connect to, uid 65534 as a kiosk, room for every hostile connection and the normal kiosk's.
private struct AttackDaemon {
    let process: Process
    let socket: String
    let log: String
    var pid: Int32 { process.processIdentifier }

    static func start(executable: String, work: String) throws -> AttackDaemon {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("enrolld is not built at \(executable) (run `swift build`, or pass --enrolld PATH)")
        }
        let socket = work + "/api.sock"
        let config = work + "/enrolld.conf"
        try """
        [api]
        socket = \(socket)
        socket_mode = 0666
        max_connections = 1024
        [daemon]
        state_directory = \(work)/state
        log_level = warning
        [roles]
        kiosk = uid:65534

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let log = work + "/enrolld.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--config", config]
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let client = UnixSocketClient(path: socket, timeout: 10)
        let deadline = Date().addingTimeInterval(30)
        while (try? client.get("/v1/health"))?.status != 200 {
            guard process.isRunning, Date() < deadline else {
                if process.isRunning { process.terminate() }
                throw BenchError("enrolld did not answer on \(socket); see \(log)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return AttackDaemon(process: process, socket: socket, log: log)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
