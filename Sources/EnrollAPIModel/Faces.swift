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

    public init(left: Int, top: Int, width: Int, height: Int) {
        self.left = left
        self.top = top
        self.width = width
        self.height = height
    }
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

    public init(
        format: String, width: Int, height: Int, facesFound: Int, chosenFace: FaceBox? = nil, faceSize: Int? = nil,
        timingsMs: [String: Double]
    ) {
        self.format = format
        self.width = width
        self.height = height
        self.facesFound = facesFound
        self.chosenFace = chosenFace
        self.faceSize = faceSize
        self.timingsMs = timingsMs
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

    public init(
        score: Double, distance: Double, threshold: Double, decision: String, reference: FaceImageReport,
        probe: FaceImageReport, totalMs: Double
    ) {
        self.score = score
        self.distance = distance
        self.threshold = threshold
        self.decision = decision
        self.reference = reference
        self.probe = probe
        self.totalMs = totalMs
    }
}

/// The part of a face comparison kept as evidence (no images, no embeddings).
public struct FaceEvidence: Sendable, Codable, Equatable {
    public var distance: Double
    public var score: Double
    public var threshold: Double
    public var isMatch: Bool
    public var probeFaces: Int

    public init(distance: Double, score: Double, threshold: Double, isMatch: Bool, probeFaces: Int) {
        self.distance = distance
        self.score = score
        self.threshold = threshold
        self.isMatch = isMatch
        self.probeFaces = probeFaces
    }
}
