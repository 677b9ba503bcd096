import FaceMatch
import Foundation

/// `enroll-bench liveness`: time per burst by stage (median and p99) for a 15-frame 640x480 burst of a synthetic
/// head following a 3-prompt challenge, and the peak RSS around one 30-frame burst at the frame size cap
/// (1920x1080 JPEGs). The engines run single-threaded (OpenBLAS and OpenCV pinned to one thread); run it under
/// `taskset -c 0` to hold the whole process to one core.
///
/// Arguments: `[--iterations N] [--frames N] [--models DIR] [--faces DIR] [--json]`.
func runLivenessBench(arguments: [String]) {
    var iterations = 20
    var frames = 15
    var modelDirectory = FaceEngine.defaultModelDirectory
    var faces = findFacesFolder()
    var json = false
    var index = 0
    while index < arguments.count {
        let value = index + 1 < arguments.count ? arguments[index + 1] : nil
        switch arguments[index] {
        case "--iterations":
            iterations = max(1, Int(value ?? "") ?? iterations)
            index += 1
        case "--frames":
            frames = min(30, max(8, Int(value ?? "") ?? frames))
            index += 1
        case "--models":
            modelDirectory = value ?? modelDirectory
            index += 1
        case "--faces":
            faces = value ?? faces
            index += 1
        case "--json": json = true
        default: benchFail("unknown option '\(arguments[index])' for liveness")
        }
        index += 1
    }
    do {
        let figures = try LivenessBenchmark(modelDirectory: modelDirectory, faces: faces).run(
            iterations: iterations,
            frames: frames)
        print(figures.text)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(figures), as: UTF8.self))
        }
    } catch {
        benchFail("liveness bench failed: \(error)")
    }
}

/// `enroll-bench liveness-eval`: ISO/IEC 30107-3 figures over the labelled sets (see `LivenessEvaluation`).
///
/// Arguments: `[--bursts N] [--frames N] [--seed N] [--first-round N] [--models DIR] [--faces DIR]`;
/// `--first-round 4 --seed 7` is the development set the thresholds were chosen on (other photos, other challenges).
func runLivenessEvaluation(arguments: [String]) {
    var bursts = 2
    var frames = 15
    var seed: UInt64 = 19
    var firstRound = 0
    var modelDirectory = FaceEngine.defaultModelDirectory
    var faces = findFacesFolder()
    var index = 0
    while index < arguments.count {
        let value = index + 1 < arguments.count ? arguments[index + 1] : nil
        switch arguments[index] {
        case "--bursts":
            bursts = max(1, Int(value ?? "") ?? bursts)
            index += 1
        case "--frames":
            frames = min(30, max(8, Int(value ?? "") ?? frames))
            index += 1
        case "--seed":
            seed = UInt64(value ?? "") ?? seed
            index += 1
        case "--first-round":
            firstRound = max(0, Int(value ?? "") ?? firstRound)
            index += 1
        case "--models":
            modelDirectory = value ?? modelDirectory
            index += 1
        case "--faces":
            faces = value ?? faces
            index += 1
        default: benchFail("unknown option '\(arguments[index])' for liveness-eval")
        }
        index += 1
    }
    do {
        let engine = try FaceEngine(modelDirectory: modelDirectory)
        let model = try PresentationAttackModel(modelDirectory: modelDirectory)
        let checker = LivenessChecker(engine: engine, passiveModel: model)
        let started = DispatchTime.now()
        let report = try LivenessEvaluation.run(
            folder: faces, checker: checker, matcher: FaceMatcher(engine: engine),
            burstsPerPerson: bursts, frames: frames, seed: seed,
            firstRound: firstRound)
        print(report)
        for set in LivenessEvaluationReport.Set.allCases { print("  \(set.rawValue): \(set.summary)") }
        print(String(format: "took %.1f s", milliseconds(since: started) / 1000))
    } catch {
        benchFail("liveness evaluation failed: \(error)")
    }
}

private func findFacesFolder() -> String {
    let candidates = [
        ProcessInfo.processInfo.environment["ENROLLD_FACES_DIR"], "../shared/faces/johns",
        "/work/shared/faces/johns", "/usr/share/doc/libdlib19.1/examples/johns",
    ]
    for case let candidate? in candidates where FileManager.default.fileExists(atPath: candidate) { return candidate }
    return "../shared/faces/johns"
}

private struct LivenessBenchmark {
    struct Stage: Codable {
        var median: Double
        var p99: Double
    }

    struct Figures: Codable {
        var benchmark = "liveness"
        var iterations: Int
        var frames: Int
        var frameSize: String
        var decision: String
        var stages: [String: Stage]
        var wallMilliseconds: Stage
        /// CPU time of the evaluating thread per burst: what one core spends, whatever else runs on the machine.
        var cpuMilliseconds: Stage
        var capFrames: Int
        var capFrameSize: String
        var capBurstBytes: Int
        var capMilliseconds: Double
        var peakRSSBeforeCapMiB: Double
        var peakRSSAfterCapMiB: Double

        var text: String {
            var lines = [
                "liveness: \(frames) frames \(frameSize), \(iterations) bursts, one thread per engine; "
                    + "decision: \(decision)"
            ]
            for name in ["decode", "detect", "landmarks", "track", "passive", "embed", "decide", "total"] {
                guard let stage = stages[name] else { continue }
                lines.append(
                    "  " + name.padding(toLength: 10, withPad: " ", startingAt: 0)
                        + String(format: " median %7.1f ms   p99 %7.1f ms", stage.median, stage.p99))
            }
            lines.append(
                String(
                    format: "  wall       median %7.1f ms   p99 %7.1f ms", wallMilliseconds.median,
                    wallMilliseconds.p99))
            lines.append(
                String(
                    format: "  thread CPU median %7.1f ms   p99 %7.1f ms (stages are wall-clock)",
                    cpuMilliseconds.median, cpuMilliseconds.p99))
            lines.append(
                String(
                    format: "size cap: %d frames %@ (%.1f MiB of JPEG) in %.0f ms; "
                        + "peak RSS %.1f MiB before, "
                        + "%.1f MiB after", capFrames, capFrameSize as NSString,
                    Double(capBurstBytes) / 1_048_576, capMilliseconds, peakRSSBeforeCapMiB,
                    peakRSSAfterCapMiB))
            return lines.joined(separator: "\n")
        }
    }

    let modelDirectory: String
    let faces: String

    func run(iterations: Int, frames: Int) throws -> Figures {
        let engine = try FaceEngine(modelDirectory: modelDirectory)
        let matcher = FaceMatcher(engine: engine)
        let checker = LivenessChecker(
            engine: engine,
            passiveModel: try PresentationAttackModel(modelDirectory: modelDirectory))
        let person = faces + "/John_Salley"
        let names = try FileManager.default.contentsOfDirectory(atPath: person).sorted()
        guard names.count >= 4 else { throw FaceMatchError.engineFailure(reason: "\(person) needs 4 photos") }
        func chip(_ index: Int) throws -> RGBImage {
            try RGBImage(decoding: [UInt8](try Data(contentsOf: URL(fileURLWithPath: person + "/" + names[index]))))
        }
        let portrait = try LivenessPortrait.analysing(
            try SyntheticFaceImages.portrait(from: try chip(0))
                .encoded(as: .jp2, quality: 81), with: matcher)
        let issued = Date()
        let challenge = LivenessChallenge(
            nonce: Array(repeating: 1, count: 16),
            prompts: [.turnLeft, .lookUp, .comeCloser], issuedAt: issued,
            expiresAt: issued.addingTimeInterval(20))
        let burst = try SyntheticBursts.genuine(chip: try chip(3), challenge: challenge, frames: frames)
        let now = issued.addingTimeInterval(8)
        var decision = try checker.evaluate(burst: burst, challenge: challenge, portrait: portrait, now: now)
        var timings: [LivenessStageTimings] = []
        var walls: [Double] = []
        var cpu: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now()
            let cpuStart = threadCPUMilliseconds()
            decision = try checker.evaluate(burst: burst, challenge: challenge, portrait: portrait, now: now)
            cpu.append(threadCPUMilliseconds() - cpuStart)
            walls.append(milliseconds(since: start))
            timings.append(decision.timings)
        }
        let stageValues: [String: [Double]] = [
            "decode": timings.map(\.decode), "detect": timings.map(\.detect), "landmarks": timings.map(\.landmarks),
            "track": timings.map(\.track), "passive": timings.map(\.passive), "embed": timings.map(\.embed),
            "decide": timings.map(\.decide), "total": timings.map(\.total),
        ]
        let before = peakRSSMiB()

        // 30 frames at the pixel cap: the same motion, each frame scaled to 1440x1080 and centred on 1920x1080.
        let limits = checker.configuration.limits
        let capChallenge = challenge
        var cap = try SyntheticBursts.genuine(chip: try chip(3), challenge: capChallenge, frames: limits.maximumFrames)
        for index in cap.frames.indices {
            let frame = try RGBImage(decoding: cap.frames[index].image).resized(width: 1440, height: 1080)
            cap.frames[index].image = try RGBImage(width: 1920, height: 1080, red: 90, green: 100, blue: 110)
                .drawing(frame, x: 240, y: 0).encoded(as: .jpeg, quality: 90)
        }
        let capStart = DispatchTime.now()
        let capDecision = try checker.evaluate(burst: cap, challenge: capChallenge, portrait: portrait, now: now)
        let capMilliseconds = milliseconds(since: capStart)
        _ = capDecision
        return Figures(
            iterations: iterations, frames: frames, frameSize: "640x480 JPEG",
            decision: decision.failingCheck.map { "refused (\($0.check.rawValue))" } ?? "live",
            stages: stageValues.mapValues { Stage(median: median($0), p99: percentile($0, 0.99)) },
            wallMilliseconds: Stage(median: median(walls), p99: percentile(walls, 0.99)),
            cpuMilliseconds: Stage(median: median(cpu), p99: percentile(cpu, 0.99)),
            capFrames: cap.frames.count, capFrameSize: "1920x1080 JPEG", capBurstBytes: cap.totalBytes,
            capMilliseconds: capMilliseconds, peakRSSBeforeCapMiB: before, peakRSSAfterCapMiB: peakRSSMiB())
    }

    /// Nearest-rank percentile.
    private func percentile(_ values: [Double], _ share: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, max(0, Int((share * Double(sorted.count)).rounded(.up)) - 1))]
    }

    private func threadCPUMilliseconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
    }

    private func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
