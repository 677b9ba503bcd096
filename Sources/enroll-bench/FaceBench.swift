import FaceMatch
import Foundation

/// Face-match benchmark: median per-stage times for a 300x400 JPEG 2000 portrait (reference, as in DG2) and a
/// 1280x960 live JPEG (probe), and the median time of a whole comparison. Both images are composed at run time
/// from the Johns chips. Prints figures, then one line of JSON.
///
/// Arguments: `[--models DIR] [--faces DIR] [--iterations N] [--threshold D]`.
func runFaceBench(arguments: [String]) {
    var modelDirectory = FaceEngine.defaultModelDirectory
    var facesFolder: String?
    var iterations = 20
    var threshold = FaceMatchConfiguration().threshold
    var index = 0
    while index < arguments.count {
        let value = index + 1 < arguments.count ? arguments[index + 1] : nil
        switch arguments[index] {
        case "--models":
            modelDirectory = value ?? modelDirectory
            index += 1
        case "--faces":
            facesFolder = value
            index += 1
        case "--iterations":
            iterations = max(1, Int(value ?? "") ?? iterations)
            index += 1
        case "--threshold":
            threshold = Double(value ?? "") ?? threshold
            index += 1
        default: break
        }
        index += 1
    }
    do {
        let report = try FaceBenchmark(
            modelDirectory: modelDirectory, facesFolder: facesFolder ?? findJohnsFolder(),
            iterations: iterations, threshold: threshold
        ).run()
        print(report.text)
        print(report.json)
    } catch {
        print("face bench failed: \(error)")
    }
}

/// The Johns chips: `ENROLLD_FACES_DIR`, `../shared/faces/johns` from the working directory, or Debian's copy.
private func findJohnsFolder() -> String {
    let candidates = [
        ProcessInfo.processInfo.environment["ENROLLD_FACES_DIR"], "../shared/faces/johns",
        "/work/shared/faces/johns", "/usr/share/doc/libdlib19.1/examples/johns",
    ]
    for case let candidate? in candidates where FileManager.default.fileExists(atPath: candidate) {
        return candidate
    }
    return "../shared/faces/johns"
}

private struct FaceBenchmark {
    struct StageMedians: Codable {
        var decode: Double
        var detect: Double
        var align: Double
        var embed: Double
        var total: Double
    }

    struct Figures: Codable {
        var benchmark = "face-match"
        var iterations: Int
        var blasPinnedToOneThread: Bool
        var referenceImage: String
        var probeImage: String
        var reference: StageMedians
        var probe: StageMedians
        var compareMilliseconds: Double
        var distance: Double
        var isMatch: Bool
    }

    struct Report {
        var text: String
        var json: String
    }

    let modelDirectory: String
    let facesFolder: String
    let iterations: Int
    let threshold: Double

    func run() throws -> Report {
        let engine = try FaceEngine(modelDirectory: modelDirectory)
        let matcher = FaceMatcher(engine: engine, configuration: FaceMatchConfiguration(threshold: threshold))
        let person = facesFolder + "/John_Salley"
        let names = try FileManager.default.contentsOfDirectory(atPath: person).sorted()
        guard names.count >= 2 else { throw FaceMatchError.engineFailure(reason: "\(person) needs two images") }
        let first = try RGBImage(decoding: [UInt8](try Data(contentsOf: URL(fileURLWithPath: person + "/" + names[0]))))
        let second = try RGBImage(
            decoding: [UInt8](try Data(contentsOf: URL(fileURLWithPath: person + "/" + names[1]))))
        let reference = try SyntheticFaceImages.portrait(from: first).encoded(as: .jp2, quality: 81)
        let probe = try SyntheticFaceImages.livePhoto([.init(chip: second, size: 360, x: 460, y: 250)])
            .encoded(as: .jpeg, quality: 90)

        _ = try matcher.compare(reference: reference, probe: probe)
        var comparisons: [FaceComparison] = []
        for _ in 0..<iterations {
            comparisons.append(try matcher.compare(reference: reference, probe: probe))
        }
        guard let last = comparisons.last else { throw FaceMatchError.engineFailure(reason: "no iterations") }
        let figures = Figures(
            iterations: iterations, blasPinnedToOneThread: FaceEngine.isBLASPinned,
            referenceImage: "300x400 JP2, \(reference.count) bytes", probeImage: "1280x960 JPEG, \(probe.count) bytes",
            reference: medians(comparisons.map(\.reference.timings)), probe: medians(comparisons.map(\.probe.timings)),
            compareMilliseconds: median(comparisons.map(\.totalMilliseconds)), distance: last.distance,
            isMatch: last.isMatch)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(figures), as: UTF8.self)
        return Report(text: describe(figures), json: json)
    }

    private func describe(_ figures: Figures) -> String {
        func row(_ name: String, _ stages: StageMedians) -> String {
            String(
                format: "%@  decode %7.2f  detect %7.2f  align %6.2f  embed %7.2f  total %7.2f ms", name,
                stages.decode, stages.detect, stages.align, stages.embed, stages.total)
        }
        return [
            "face match: median of \(figures.iterations) comparisons (OpenBLAS one thread: "
                + "\(figures.blasPinnedToOneThread))",
            row("reference \(figures.referenceImage)", figures.reference),
            row("live      \(figures.probeImage)", figures.probe),
            String(
                format: "compare total %.2f ms; distance %.3f, %@", figures.compareMilliseconds, figures.distance,
                figures.isMatch ? "match" : "no match"),
        ].joined(separator: "\n")
    }

    private func medians(_ timings: [FaceStageTimings]) -> StageMedians {
        StageMedians(
            decode: median(timings.map(\.decode)), detect: median(timings.map(\.detect)),
            align: median(timings.map(\.align)), embed: median(timings.map(\.embed)),
            total: median(timings.map(\.total)))
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
