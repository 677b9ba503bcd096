import EnrollAPIModel
import UnixHTTP
import FaceMatch
import Foundation

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
            throw Problem(.faceModelsMissing, detail: "\(error.description): install them with scripts/install-models.sh \(modelDirectory)")
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
        let kind: ProblemCode
        switch error {
        case .noFace: kind = .noFace
        case .faceTooSmall: kind = .faceTooSmall
        case .ambiguousFaces: kind = .severalFaces
        case .undecodableImage: kind = .undecodableImage
        case .unsupportedImageFormat: kind = .unsupportedImageFormat
        case .imageTooLarge, .imageTooManyPixels: kind = .imageTooLarge
        case .modelMissing, .modelInvalid: kind = .faceModelsMissing
        case .engineFailure: kind = .faceEngineFailure
        }
        return Problem(kind, detail: error.description)
    }
}

extension FaceCompareRequest {
    /// Both images decoded from base64, or a 400 naming the field.
    func images() throws(Problem) -> (reference: [UInt8], probe: [UInt8]) {
        guard let reference = Data(base64Encoded: reference, options: .ignoreUnknownCharacters) else {
            throw Problem(.invalidBody, detail: "reference is not base64")
        }
        guard let probe = Data(base64Encoded: probe, options: .ignoreUnknownCharacters) else {
            throw Problem(.invalidBody, detail: "probe is not base64")
        }
        return ([UInt8](reference), [UInt8](probe))
    }
}

extension FaceImageReport {
    init(_ analysis: FaceImageAnalysis) {
        self.init(format: analysis.format.rawValue, width: analysis.width, height: analysis.height,
                  facesFound: analysis.faceCount,
                  chosenFace: analysis.chosenFace.map {
                      FaceBox(left: Int($0.left.rounded()), top: Int($0.top.rounded()), width: Int($0.width.rounded()),
                              height: Int($0.height.rounded()))
                  },
                  faceSize: analysis.chosenFace?.size,
                  timingsMs: ["decode": analysis.timings.decode, "detect": analysis.timings.detect,
                              "align": analysis.timings.align, "embed": analysis.timings.embed])
    }
}

extension FaceCompareResponse {
    public init(_ comparison: FaceComparison) {
        self.init(score: comparison.score, distance: comparison.distance, threshold: comparison.threshold,
                  decision: comparison.isMatch ? "match" : "no-match", reference: FaceImageReport(comparison.reference),
                  probe: FaceImageReport(comparison.probe), totalMs: comparison.totalMilliseconds)
    }
}
