import CardScan
import FaceMatch
import Foundation
import MRTD

/// Card scanning benchmark: generates photos by seed (`SyntheticCards`: TD1, card front with CAN, TD2, TD3 in
/// turn), scans each on one thread and prints, per degradation level, the share of photos whose first or second
/// candidate is the right key, the share whose first candidate is a wrong key that passes every check digit, and
/// latency percentiles (wall clock and the scanning thread's CPU time). Then one line of JSON.
///
/// Arguments: `[--count N] [--levels mild,harsh] [--seed S] [--engine ocrb|tesseract|both] [--faces DIR]
/// [--write DIR] [--json] [--failures]`.
func runScanBench(arguments: [String]) {
    var options = ScanBenchOptions()
    var index = 0
    while index < arguments.count {
        let value = index + 1 < arguments.count ? arguments[index + 1] : nil
        switch arguments[index] {
        case "--count":
            guard let n = value.flatMap(Int.init), n > 0 else { benchFail("--count needs a number") }
            options.count = n
            index += 1
        case "--levels":
            let levels = (value ?? "").split(separator: ",").compactMap { DegradationLevel(rawValue: String($0)) }
            guard !levels.isEmpty else { benchFail("--levels takes mild, harsh or mild,harsh") }
            options.levels = levels
            index += 1
        case "--seed":
            guard let seed = value.flatMap(UInt64.init) else { benchFail("--seed needs a number") }
            options.seed = seed
            index += 1
        case "--engine":
            switch value {
            case "both": options.engines = CardScanConfiguration.Engine.allCases
            case let name?: options.engines = [CardScanConfiguration.Engine(rawValue: name)].compactMap { $0 }
            default: break
            }
            guard !options.engines.isEmpty else { benchFail("--engine takes ocrb, tesseract or both") }
            index += 1
        case "--faces":
            options.faces = value
            index += 1
        case "--write":
            options.writeDirectory = value
            index += 1
        case "--json":
            options.json = true
        case "--failures":
            options.showFailures = true
        default:
            benchFail("unknown option '\(arguments[index])' for scan")
        }
        index += 1
    }
    do {
        try ScanBenchmark(options: options).run()
    } catch {
        benchFail("scan bench failed: \(error)")
    }
}

struct ScanBenchOptions {
    var count = 1000
    var levels = DegradationLevel.allCases
    var seed: UInt64 = 1
    var engines: [CardScanConfiguration.Engine] = [.ocrb]
    var faces: String?
    var writeDirectory: String?
    var json = false
    /// Print each photo whose right key is not within two candidates (the generated, fictional text).
    var showFailures = false
}

private struct ScanBenchmark {
    let options: ScanBenchOptions

    struct LayoutFigures: Codable {
        var images = 0
        var rightFirst = 0
        var rightWithinTwo = 0
    }

    struct Figures: Codable {
        var engine: String
        var level: String
        var images: Int
        var rightFirstShare: Double
        var rightWithinTwoShare: Double
        /// The first candidate is wrong yet passes every check digit (composite included).
        var wrongPassingEveryCheckShare: Double
        /// The first candidate is wrong (whatever its checks).
        var wrongFirstShare: Double
        var noCandidateShare: Double
        var wallP50: Double
        var wallP90: Double
        var wallP99: Double
        var cpuP50: Double
        var cpuP90: Double
        var cpuP99: Double
        var meanConfidenceRight: Double
        var meanConfidenceWrong: Double
        /// Characters of the uncorrected MRZ that differ from the truth, per 1,000 characters.
        var characterErrorsPerMille: Double
        var layouts: [String: LayoutFigures]
        var confusions: [String: Int]
    }

    func run() throws {
        let faces = options.faces ?? findFaces()
        let generator = SyntheticCards(portraits: SyntheticCards.portraits(from: faces))
        var all: [Figures] = []
        for engine in options.engines {
            let scanner = try CardScanner(configuration: CardScanConfiguration(engine: engine))
            for level in options.levels {
                all.append(try measure(scanner, engine: engine, level: level, generator: generator))
                print(describe(all[all.count - 1]))
            }
        }
        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(all), as: UTF8.self))
        }
    }

    private func appendLabel(_ line: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            try Data(
                "# photo\tlayout\tMRZ lines joined by | or the CAN (generated by enroll-bench scan --write)\n".utf8
            )
            .write(to: URL(fileURLWithPath: path))
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.utf8))
    }

    private func measure(
        _ scanner: CardScanner, engine: CardScanConfiguration.Engine, level: DegradationLevel,
        generator: SyntheticCards
    ) throws -> Figures {
        var wall: [Double] = []
        var cpu: [Double] = []
        var rightFirst = 0, rightTwo = 0, wrongPassing = 0, wrongFirst = 0, none = 0
        var confidenceRight: [Double] = []
        var confidenceWrong: [Double] = []
        var characters = 0, characterErrors = 0
        var layouts: [String: LayoutFigures] = [:]
        var confusions: [String: Int] = [:]
        if let directory = options.writeDirectory {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for offset in 0..<options.count {
            let seed = options.seed + UInt64(offset)
            let photo = try generator.photo(seed: seed, level: level)
            if let directory = options.writeDirectory {
                let name = "\(level.rawValue)-\(seed)-\(photo.layout.rawValue).jpg"
                try Data(photo.image).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
                // The label beside the photo: its layout and the printed MRZ lines (joined by '|') or CAN.
                let text = photo.can ?? photo.mrzLines.joined(separator: "|")
                try appendLabel("\(name)\t\(photo.layout.rawValue)\t\(text)\n", to: "\(directory)/labels.tsv")
            }
            let wallStart = DispatchTime.now()
            let cpuStart = threadCPUMilliseconds()
            let result = try scanner.scan(image: photo.image)
            cpu.append(threadCPUMilliseconds() - cpuStart)
            wall.append(milliseconds(since: wallStart))
            var figures = layouts[photo.layout.rawValue] ?? LayoutFigures()
            figures.images += 1
            let keys = result.candidates.map(\.key)
            if let first = result.candidates.first {
                if first.key == photo.key {
                    rightFirst += 1
                    figures.rightFirst += 1
                    confidenceRight.append(first.confidence)
                } else {
                    wrongFirst += 1
                    confidenceWrong.append(first.confidence)
                    if case .mrz = first.key, first.compositeCheckPassed != false { wrongPassing += 1 }
                }
            } else {
                none += 1
            }
            if keys.prefix(2).contains(photo.key) {
                rightTwo += 1
                figures.rightWithinTwo += 1
            } else if options.showFailures {
                func describe(_ key: AccessKey) -> String {
                    switch key {
                    case .mrz(let mrz): return "\(mrz.documentNumber) \(mrz.birthDate) \(mrz.expiryDate)"
                    case .can(let can): return "CAN \(can.digits)"
                    }
                }
                print(
                    "failure seed \(seed) \(level.rawValue) \(photo.layout.rawValue): truth \(describe(photo.key)); "
                        + "read \(result.layout?.rawValue ?? "none"): "
                        + result.candidates.map { describe($0.key) + String(format: " (%.2f)", $0.confidence) }
                        .joined(separator: ", "))
                for (truth, read) in zip(photo.mrzLines, result.uncorrectedLines) where truth != read {
                    print("    \(truth)\n    \(read)")
                }
                if let can = result.can { print("    CAN read \(can)") }
            }
            layouts[photo.layout.rawValue] = figures
            // Character errors before correction, and which glyphs were taken for which.
            let truth = Array(photo.mrzLines.joined().utf8)
            let read = Array(result.uncorrectedLines.joined().utf8)
            if !truth.isEmpty {
                characters += truth.count
                if read.count == truth.count {
                    for (expected, found) in zip(truth, read) where expected != found {
                        characterErrors += 1
                        let pair =
                            String(decoding: [expected], as: UTF8.self) + "->"
                            + String(decoding: [found], as: UTF8.self)
                        confusions[pair, default: 0] += 1
                    }
                } else {
                    characterErrors += truth.count
                }
            }
        }
        let n = Double(options.count)
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int((p * Double(sorted.count - 1)).rounded()))]
        }
        func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
        let topConfusions = confusions.sorted { $0.value > $1.value }.prefix(12)
        return Figures(
            engine: engine.rawValue, level: level.rawValue, images: options.count,
            rightFirstShare: Double(rightFirst) / n, rightWithinTwoShare: Double(rightTwo) / n,
            wrongPassingEveryCheckShare: Double(wrongPassing) / n, wrongFirstShare: Double(wrongFirst) / n,
            noCandidateShare: Double(none) / n, wallP50: percentile(wall, 0.5),
            wallP90: percentile(wall, 0.9), wallP99: percentile(wall, 0.99), cpuP50: percentile(cpu, 0.5),
            cpuP90: percentile(cpu, 0.9), cpuP99: percentile(cpu, 0.99),
            meanConfidenceRight: mean(confidenceRight), meanConfidenceWrong: mean(confidenceWrong),
            characterErrorsPerMille: characters > 0 ? 1000 * Double(characterErrors) / Double(characters) : 0,
            layouts: layouts, confusions: Dictionary(uniqueKeysWithValues: topConfusions.map { ($0.key, $0.value) }))
    }

    private func describe(_ f: Figures) -> String {
        func percent(_ value: Double) -> String { String(format: "%6.2f %%", 100 * value) }
        var lines = [
            "scan \(f.engine) \(f.level): \(f.images) photos (seeds \(options.seed)...\(options.seed + UInt64(f.images) - 1))",
            "  right key first          \(percent(f.rightFirstShare))",
            "  right key within two     \(percent(f.rightWithinTwoShare))",
            "  wrong key passing checks \(percent(f.wrongPassingEveryCheckShare))   (wrong first candidate "
                + "\(percent(f.wrongFirstShare).trimmingCharacters(in: .whitespaces)), none "
                + "\(percent(f.noCandidateShare).trimmingCharacters(in: .whitespaces)))",
            String(format: "  latency wall  p50 %6.1f  p90 %6.1f  p99 %6.1f ms", f.wallP50, f.wallP90, f.wallP99),
            String(
                format: "  latency CPU   p50 %6.1f  p90 %6.1f  p99 %6.1f ms (one thread)", f.cpuP50, f.cpuP90,
                f.cpuP99),
            String(
                format: "  confidence of the first candidate: right %.3f, wrong %.3f; uncorrected MRZ "
                    + "character errors %.2f per 1000", f.meanConfidenceRight, f.meanConfidenceWrong,
                f.characterErrorsPerMille),
        ]
        for (layout, figures) in f.layouts.sorted(by: { $0.key < $1.key }) {
            let share = figures.images > 0 ? Double(figures.rightWithinTwo) / Double(figures.images) : 0
            lines.append(
                "  \(layout.padding(toLength: 9, withPad: " ", startingAt: 0)) \(figures.images) photos, "
                    + "right within two \(percent(share).trimmingCharacters(in: .whitespaces))")
        }
        if !f.confusions.isEmpty {
            let pairs = f.confusions.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }
            lines.append("  most frequent misreadings (before correction): " + pairs.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    private func findFaces() -> String {
        let candidates = [
            ProcessInfo.processInfo.environment["ENROLLD_FACES_DIR"], "../shared/faces/johns",
            "/work/shared/faces/johns", "/usr/share/doc/libdlib19.1/examples/johns",
        ]
        for case let candidate? in candidates where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        return "../shared/faces/johns"
    }
}

/// CPU time of the calling thread, in milliseconds.
func threadCPUMilliseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
}
