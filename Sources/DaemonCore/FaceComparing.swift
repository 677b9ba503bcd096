import EnrollAPIModel
import UnixHTTP
import FaceMatch
import Foundation
import Synchronization

/// Owns the dlib face engine: loaded once, at start-up or on first use.
public final class FaceService: FaceComparator {
    private let matcher = Mutex<FaceMatcher?>(nil)
    private let modelDirectory: String
    private let configuration: FaceMatchConfiguration

    public init(configuration: Configuration) {
        modelDirectory = configuration.faceModelDirectory ?? FaceEngine.defaultModelDirectory
        self.configuration = FaceMatchConfiguration(threshold: configuration.faceThreshold,
                                                    minimumFaceSize: configuration.faceMinimumSize,
                                                    maximumImageBytes: configuration.maxRequestBodyBytes)
    }

    /// The matcher, loading the models on first use (one caller loads, the others wait for it).
    public func loadedMatcher() throws(FaceMatchError) -> FaceMatcher {
        try matcher.withLock { (loaded: inout FaceMatcher?) throws(FaceMatchError) -> FaceMatcher in
            if let loaded { return loaded }
            let engine = try FaceEngine(modelDirectory: modelDirectory)
            let fresh = FaceMatcher(engine: engine, configuration: configuration)
            loaded = fresh
            Log.info("face models loaded from \(modelDirectory)")
            return fresh
        }
    }

    public func warmUp() {
        _ = try? loadedMatcher()
    }

    /// Compares a reference portrait with a live photo.
    public func compare(reference: [UInt8], probe: [UInt8]) throws(FaceMatchError) -> FaceComparison {
        try loadedMatcher().compare(reference: reference, probe: probe)
    }

}

extension Problem {
    /// Face-match refusals as problems a kiosk can show ("look at the camera", "one person only").
    public init(_ error: FaceMatchError) {
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
        self.init(kind, detail: error.description)
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
