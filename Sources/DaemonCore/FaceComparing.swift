import UnixHTTP
import FaceMatch
import Foundation

/// `POST /v1/faces/compare` body: two images, base64.
public struct FaceCompareRequest: Codable, Sendable {
    /// The trusted portrait (from the chip's DG2): JPEG, JPEG 2000 or PNG.
    public var reference: String
    /// The live photo.
    public var probe: String

    public init(reference: String, probe: String) {
        self.reference = reference
        self.probe = probe
    }
}

/// A detected face's box, in the original image's pixels.
public struct FaceBox: Codable, Sendable, Equatable {
    public var left: Int
    public var top: Int
    public var width: Int
    public var height: Int
}

/// What the engine saw in one image.
public struct FaceImageReport: Codable, Sendable {
    public var format: String
    public var width: Int
    public var height: Int
    public var facesFound: Int
    /// The face used: the largest one.
    public var chosenFace: FaceBox?
    /// Face size in pixels (width of the chosen face's box).
    public var faceSize: Int?
    public var timingsMs: [String: Double]

    init(_ analysis: FaceImageAnalysis) {
        format = analysis.format.rawValue
        width = analysis.width
        height = analysis.height
        facesFound = analysis.faceCount
        chosenFace = analysis.chosenFace.map {
            FaceBox(left: Int($0.left.rounded()), top: Int($0.top.rounded()), width: Int($0.width.rounded()),
                    height: Int($0.height.rounded()))
        }
        faceSize = analysis.chosenFace?.size
        timingsMs = ["decode": analysis.timings.decode, "detect": analysis.timings.detect,
                     "align": analysis.timings.align, "embed": analysis.timings.embed]
    }
}

/// The answer of `POST /v1/faces/compare`.
public struct FaceCompareResponse: Codable, Sendable {
    /// Similarity in [0, 1]; 0.5 at the threshold (logistic in the distance, see FaceMatcher.score).
    public var score: Double
    /// Euclidean distance of the 128-D embeddings.
    public var distance: Double
    public var threshold: Double
    /// `match` or `no-match`.
    public var decision: String
    public var reference: FaceImageReport
    public var probe: FaceImageReport
    public var totalMs: Double

    public init(_ comparison: FaceComparison) {
        score = comparison.score
        distance = comparison.distance
        threshold = comparison.threshold
        decision = comparison.isMatch ? "match" : "no-match"
        reference = FaceImageReport(comparison.reference)
        probe = FaceImageReport(comparison.probe)
        totalMs = comparison.totalMilliseconds
    }
}

/// Owns the face engine: loaded once, at start-up or on first use.
public final class FaceService: @unchecked Sendable {
    private let lock = NSLock()
    private var matcher: FaceMatcher?
    private let modelDirectory: String
    private let configuration: FaceMatchConfiguration

    public init(configuration: Configuration) {
        modelDirectory = configuration.faceModelDirectory ?? FaceEngine.defaultModelDirectory
        self.configuration = FaceMatchConfiguration(threshold: configuration.faceThreshold,
                                                    minimumFaceSize: configuration.faceMinimumSize,
                                                    maximumImageBytes: configuration.maxRequestBodyBytes)
    }

    /// The matcher, loading the models on first use.
    public func loadedMatcher() throws(Problem) -> FaceMatcher {
        lock.lock()
        defer { lock.unlock() }
        if let matcher { return matcher }
        do {
            let engine = try FaceEngine(modelDirectory: modelDirectory)
            let matcher = FaceMatcher(engine: engine, configuration: configuration)
            self.matcher = matcher
            Log.info("face models loaded from \(modelDirectory)")
            return matcher
        } catch {
            throw Problem(status: 503, code: "face-models-missing", title: "Face engine unavailable",
                          detail: "\(error.description): install them with scripts/install-models.sh \(modelDirectory)")
        }
    }

    /// Compares a reference portrait with a live photo.
    public func compare(reference: [UInt8], probe: [UInt8]) throws(Problem) -> FaceComparison {
        let matcher = try loadedMatcher()
        do {
            return try matcher.compare(reference: reference, probe: probe)
        } catch {
            throw Self.problem(for: error)
        }
    }

    /// Face-match refusals as problems a kiosk can show ("look at the camera", "one person only").
    public static func problem(for error: FaceMatchError) -> Problem {
        let code: String
        switch error {
        case .noFace: code = "no-face"
        case .faceTooSmall: code = "face-too-small"
        case .ambiguousFaces: code = "several-faces"
        case .undecodableImage: code = "undecodable-image"
        case .unsupportedImageFormat: code = "unsupported-image-format"
        case .imageTooLarge, .imageTooManyPixels: code = "image-too-large"
        case .modelMissing, .modelInvalid:
            return Problem(status: 503, code: "face-models-missing", title: "Face engine unavailable",
                           detail: error.description)
        case .engineFailure:
            return Problem(status: 500, code: "face-engine-failure", title: "Face engine failure", detail: error.description)
        }
        return Problem(status: 422, code: code, title: "Face match refused", detail: error.description)
    }
}

extension FaceCompareRequest {
    /// Both images decoded from base64, or a 400 naming the field.
    func images() throws(Problem) -> (reference: [UInt8], probe: [UInt8]) {
        guard let reference = Data(base64Encoded: reference, options: .ignoreUnknownCharacters) else {
            throw Problem.badRequest("reference is not base64", code: "invalid-body")
        }
        guard let probe = Data(base64Encoded: probe, options: .ignoreUnknownCharacters) else {
            throw Problem.badRequest("probe is not base64", code: "invalid-body")
        }
        return ([UInt8](reference), [UInt8](probe))
    }
}
