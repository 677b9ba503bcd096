import Foundation

/// Policy for comparing a reference portrait with a live photo.
public struct FaceMatchConfiguration: Sendable, Equatable {
    /// Decision threshold on the embedding distance: match when `distance <= threshold`. dlib's model card
    /// quotes 0.6 for 99.38% on LFW; we default to the stricter 0.5 (fewer false matches at a kiosk).
    public var threshold: Double
    /// Width of the logistic score curve around the threshold (see `FaceMatcher.score(distance:)`).
    public var scoreScale: Double
    /// Smallest face accepted, detection box width in original pixels.
    public var minimumFaceSize: Int
    /// Refuse an image when its second largest face has at least this share of the largest face's area.
    public var ambiguityRatio: Double
    public var maximumImageBytes: Int
    /// Pixel caps by role, checked from the image header before anything is decoded: a live photo is a camera
    /// frame (12 MP covers every kiosk camera), a reference is a portrait (DG2 images are well under 1 MP).
    public var probeMaximumPixels: Int
    public var referenceMaximumPixels: Int
    /// Both images are detected on a copy downscaled to this long side.
    public var detectionLongSide: Int
    /// Both images are decoded at a reduced resolution where the format allows and area-averaged down to this long
    /// side before detection, alignment and embedding (0: full resolution).
    public var workingLongSide: Int
    /// What one image's decoder may allocate.
    public var maximumDecoderBytes: Int
    /// Images with a shorter long side get the pad-and-upsample retry when no face is found.
    public var smallImageSide: Int

    public init(
        threshold: Double = 0.5, scoreScale: Double = 0.05, minimumFaceSize: Int = 60,
        ambiguityRatio: Double = 0.8, maximumImageBytes: Int = 16 << 20,
        probeMaximumPixels: Int = 12_000_000, referenceMaximumPixels: Int = 2_000_000,
        detectionLongSide: Int = 1000, workingLongSide: Int = 1600, maximumDecoderBytes: Int = 128 << 20,
        smallImageSide: Int = 300
    ) {
        self.threshold = threshold
        self.scoreScale = scoreScale
        self.minimumFaceSize = minimumFaceSize
        self.ambiguityRatio = ambiguityRatio
        self.maximumImageBytes = maximumImageBytes
        self.probeMaximumPixels = probeMaximumPixels
        self.referenceMaximumPixels = referenceMaximumPixels
        self.detectionLongSide = detectionLongSide
        self.workingLongSide = workingLongSide
        self.maximumDecoderBytes = maximumDecoderBytes
        self.smallImageSide = smallImageSide
    }

    /// The pixel cap of an image in `role`.
    public func maximumPixels(for role: FaceImageRole) -> Int {
        role == .probe ? probeMaximumPixels : referenceMaximumPixels
    }

    /// Engine options for an image in the given role: its pixel cap; detection, alignment and embedding at the
    /// same bounded resolutions for both roles.
    public func analysisOptions(for role: FaceImageRole) -> FaceAnalysisOptions {
        FaceAnalysisOptions(
            maximumBytes: maximumImageBytes, maximumPixels: maximumPixels(for: role),
            downscaleLongSide: detectionLongSide, smallImageSide: smallImageSide,
            minimumFaceSize: minimumFaceSize, ambiguityRatio: ambiguityRatio,
            workingLongSide: workingLongSide, maximumDecoderBytes: maximumDecoderBytes)
    }
}

/// The outcome of comparing a reference portrait with a live photo.
public struct FaceComparison: Sendable, Equatable, CustomStringConvertible {
    /// Euclidean distance between the two embeddings (0 identical; same person usually < 0.6).
    public var distance: Double
    /// Similarity in [0, 1]: 0.5 exactly at the threshold, see `FaceMatcher.score(distance:)`.
    public var score: Double
    public var threshold: Double
    /// `distance <= threshold` (equivalently `score >= 0.5`).
    public var isMatch: Bool
    public var reference: FaceImageAnalysis
    public var probe: FaceImageAnalysis
    /// Wall-clock milliseconds for the whole comparison.
    public var totalMilliseconds: Double

    public init(
        distance: Double, score: Double, threshold: Double, isMatch: Bool, reference: FaceImageAnalysis,
        probe: FaceImageAnalysis, totalMilliseconds: Double
    ) {
        self.distance = distance
        self.score = score
        self.threshold = threshold
        self.isMatch = isMatch
        self.reference = reference
        self.probe = probe
        self.totalMilliseconds = totalMilliseconds
    }

    public var description: String {
        let verdict = isMatch ? "match" : "no match"
        return "\(verdict): distance \(format(distance)) (threshold \(format(threshold))), score \(format(score)); "
            + "reference \(reference.faceCount) face(s), \(reference.chosenFace?.size ?? 0) px; "
            + "live \(probe.faceCount) face(s), \(probe.chosenFace?.size ?? 0) px"
    }
}

func format(_ value: Double, digits: Int = 3) -> String {
    String(format: "%.\(digits)f", value)
}

/// Compares a trusted portrait (DG2) with a live photo.
public struct FaceMatcher: Sendable {
    public let engine: FaceEngine
    public var configuration: FaceMatchConfiguration

    public init(engine: FaceEngine, configuration: FaceMatchConfiguration = FaceMatchConfiguration()) {
        self.engine = engine
        self.configuration = configuration
    }

    /// Analyses one image and applies the quality policy.
    /// - Throws: the image-level errors of `FaceEngine.analyse`, and `noFace`, `faceTooSmall`, `ambiguousFaces`.
    public func analyse(_ image: [UInt8], role: FaceImageRole) throws(FaceMatchError) -> FaceImageAnalysis {
        let analysis = try engine.analyse(image, role: role, options: configuration.analysisOptions(for: role))
        switch analysis.refusal {
        case nil:
            return analysis
        case .noFace:
            throw .noFace(role)
        case .tooSmall:
            throw .faceTooSmall(role, size: analysis.faces.first?.size ?? 0, minimum: configuration.minimumFaceSize)
        case .ambiguous:
            throw .ambiguousFaces(
                role, count: analysis.faceCount, largestSize: analysis.faces.first?.size ?? 0,
                secondSize: analysis.faces.dropFirst().first?.size ?? 0)
        }
    }

    /// Compares a reference portrait with a live photo, each within its role's pixel cap.
    /// When the live photo shows several faces the largest is used (unless ambiguous) and reported.
    /// - Throws: `FaceMatchError` naming the image that failed.
    public func compare(reference: [UInt8], probe: [UInt8]) throws(FaceMatchError) -> FaceComparison {
        let start = ContinuousClock.now
        let referenceAnalysis = try analyse(reference, role: .reference)
        let probeAnalysis = try analyse(probe, role: .probe)
        var comparison = try compare(reference: referenceAnalysis, probe: probeAnalysis)
        comparison.totalMilliseconds = milliseconds(since: start)
        return comparison
    }

    /// Compares two analyses that both carry an embedding.
    /// - Throws: `noFace` for an analysis without an embedding.
    public func compare(
        reference: FaceImageAnalysis,
        probe: FaceImageAnalysis
    ) throws(FaceMatchError) -> FaceComparison {
        guard let referenceEmbedding = reference.embedding else { throw .noFace(reference.role) }
        guard let probeEmbedding = probe.embedding else { throw .noFace(probe.role) }
        let distance = referenceEmbedding.distance(to: probeEmbedding)
        return FaceComparison(
            distance: distance, score: score(distance: distance),
            threshold: configuration.threshold, isMatch: distance <= configuration.threshold,
            reference: reference, probe: probe,
            totalMilliseconds: reference.timings.total + probe.timings.total)
    }

    /// Maps an embedding distance to a score in [0, 1], strictly decreasing:
    /// `score = 1 / (1 + exp((distance - threshold) / scoreScale))`.
    /// The score is 0.5 at the threshold, about 0.88 at threshold - 0.1 and 0.12 at threshold + 0.1
    /// (scoreScale 0.05), so `score >= 0.5` is the same decision as `distance <= threshold`.
    public func score(distance: Double) -> Double {
        Self.score(distance: distance, threshold: configuration.threshold, scale: configuration.scoreScale)
    }

    /// The score curve of `score(distance:)` for a given threshold and scale (0.05 when not positive).
    public static func score(distance: Double, threshold: Double, scale: Double = 0.05) -> Double {
        1 / (1 + exp((distance - threshold) / (scale > 0 ? scale : 0.05)))
    }
}

func milliseconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}
