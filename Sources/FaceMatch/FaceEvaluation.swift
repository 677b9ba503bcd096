import Foundation

/// Genuine and impostor comparisons over a folder laid out as `person/photo`.
public struct FaceEvaluationReport: Sendable, Equatable, CustomStringConvertible {
    /// An image the matcher refused, with the reason.
    public struct Failure: Sendable, Equatable {
        public var path: String
        public var error: FaceMatchError
    }

    public var threshold: Double
    public var people: Int
    public var images: Int
    public var failures: [Failure]
    public var genuinePairs: Int
    public var impostorPairs: Int
    /// Genuine pairs with `distance > threshold`.
    public var falseNonMatches: Int
    /// Impostor pairs with `distance <= threshold`.
    public var falseMatches: Int
    /// The smallest impostor distance: every threshold below it gives zero false matches.
    public var minimumImpostorDistance: Double?
    public var maximumGenuineDistance: Double?
    public var meanGenuineDistance: Double?
    public var meanImpostorDistance: Double?
    /// Images the small-image retry (pad and upsample) was needed for.
    public var smallImageFallbacks: Int

    public var falseMatchRate: Double { impostorPairs == 0 ? 0 : Double(falseMatches) / Double(impostorPairs) }
    public var falseNonMatchRate: Double {
        genuinePairs == 0 ? 0 : Double(falseNonMatches) / Double(genuinePairs)
    }

    public var description: String {
        var lines = [
            "face evaluation: \(people) people, \(images) images, \(failures.count) refused, "
                + "\(smallImageFallbacks) found by the small-image retry",
            "threshold \(format(threshold)): genuine pairs \(genuinePairs), false non-matches \(falseNonMatches) "
                + "(\(format(falseNonMatchRate * 100, digits: 2))%); impostor pairs \(impostorPairs), false matches "
                + "\(falseMatches) (\(format(falseMatchRate * 100, digits: 2))%)",
            "genuine distance mean \(optional(meanGenuineDistance)), max \(optional(maximumGenuineDistance)); "
                + "impostor distance mean \(optional(meanImpostorDistance)), min \(optional(minimumImpostorDistance))",
            "zero false matches below threshold \(optional(minimumImpostorDistance))",
        ]
        for failure in failures {
            lines.append("refused \(failure.path): \(failure.error)")
        }
        return lines.joined(separator: "\n")
    }

    private func optional(_ value: Double?) -> String {
        value.map { format($0) } ?? "n/a"
    }
}

/// Runs every genuine and impostor pair of a `person/photo` folder through one matcher.
public enum FaceEvaluation {
    /// Embeds every image once, then compares every pair.
    /// - Throws: `engineFailure` when the folder cannot be listed or holds no person folders.
    public static func run(folder: String, matcher: FaceMatcher) throws(FaceMatchError) -> FaceEvaluationReport {
        let people = try listPeople(folder: folder)
        var embeddings: [(person: Int, embedding: FaceEmbedding)] = []
        var failures: [FaceEvaluationReport.Failure] = []
        var imageCount = 0
        var fallbacks = 0
        for (personIndex, person) in people.enumerated() {
            for path in person.images {
                imageCount += 1
                let bytes: [UInt8]
                do {
                    bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                } catch {
                    failures.append(.init(path: path, error: .undecodableImage(.reference, reason: "\(error)")))
                    continue
                }
                do {
                    let analysis = try matcher.analyse(bytes, role: .reference)
                    if analysis.usedSmallImageFallback { fallbacks += 1 }
                    if let embedding = analysis.embedding { embeddings.append((personIndex, embedding)) }
                } catch {
                    failures.append(.init(path: path, error: error))
                }
            }
        }
        let threshold = matcher.configuration.threshold
        var report = FaceEvaluationReport(
            threshold: threshold, people: people.count, images: imageCount, failures: failures, genuinePairs: 0,
            impostorPairs: 0, falseNonMatches: 0, falseMatches: 0, minimumImpostorDistance: nil,
            maximumGenuineDistance: nil, meanGenuineDistance: nil, meanImpostorDistance: nil,
            smallImageFallbacks: fallbacks)
        var genuineSum = 0.0
        var impostorSum = 0.0
        for first in embeddings.indices {
            for second in embeddings.indices where second > first {
                let distance = embeddings[first].embedding.distance(to: embeddings[second].embedding)
                if embeddings[first].person == embeddings[second].person {
                    report.genuinePairs += 1
                    genuineSum += distance
                    if distance > threshold { report.falseNonMatches += 1 }
                    report.maximumGenuineDistance = max(report.maximumGenuineDistance ?? distance, distance)
                } else {
                    report.impostorPairs += 1
                    impostorSum += distance
                    if distance <= threshold { report.falseMatches += 1 }
                    report.minimumImpostorDistance = min(report.minimumImpostorDistance ?? distance, distance)
                }
            }
        }
        if report.genuinePairs > 0 { report.meanGenuineDistance = genuineSum / Double(report.genuinePairs) }
        if report.impostorPairs > 0 { report.meanImpostorDistance = impostorSum / Double(report.impostorPairs) }
        return report
    }

    /// Convenience for the CLI: loads the engine from `modelDirectory` and uses the default policy at `threshold`.
    public static func run(
        folder: String, threshold: Double = FaceMatchConfiguration().threshold,
        modelDirectory: String = FaceEngine.defaultModelDirectory
    )
        throws(FaceMatchError) -> FaceEvaluationReport
    {
        let engine = try FaceEngine(modelDirectory: modelDirectory)
        return try run(
            folder: folder,
            matcher: FaceMatcher(engine: engine, configuration: FaceMatchConfiguration(threshold: threshold)))
    }

    private static func listPeople(folder: String) throws(FaceMatchError) -> [(name: String, images: [String])] {
        let manager = FileManager.default
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: folder).sorted()
        } catch {
            throw .engineFailure(reason: "cannot list \(folder): \(error)")
        }
        var people: [(name: String, images: [String])] = []
        for name in names where !name.hasPrefix(".") {
            let directory = folder + "/" + name
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                continue
            }
            let files = ((try? manager.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { !$0.hasPrefix(".") }.sorted().map { directory + "/" + $0 }
            if !files.isEmpty { people.append((name, files)) }
        }
        if people.isEmpty { throw .engineFailure(reason: "\(folder) has no person/photo folders") }
        return people
    }
}
