import CLivenessEngine

/// One face's passive presentation-attack score from the two MiniFASNet models.
public struct PresentationAttackScore: Sendable, Equatable {
    /// Softmax of MiniFASNetV2 (face box x2.7): index 1 is "real", 0 and 2 attack classes.
    public var v2: [Float]
    /// Softmax of MiniFASNetV1SE (face box x4.0).
    public var v1se: [Float]
    /// Mean of the two models' "real" probability, 0...1.
    public var real: Double
    public var milliseconds: Double
}

/// The passive presentation-attack models (MiniFASNetV2 and MiniFASNetV1SE, ONNX, Apache 2.0) run by OpenCV's dnn
/// module. A single-image texture signal: one check among several, never the only one (prints without visible
/// edges and curled photos are known to pass it).
///
/// Thread safety: shared freely; the C engine guards each network with its own mutex (per instance), hence
/// `@unchecked Sendable`.
public final class PresentationAttackModel: @unchecked Sendable {
    private let handle: OpaquePointer
    public let modelDirectory: String

    /// dlib's HOG boxes are tighter than the detector MiniFASNet was trained with; the box is widened by this
    /// factor around its centre before the models' own x2.7 and x4.0 crops.
    public static let boxWidening = 1.2

    /// Loads `MiniFASNetV2.onnx` and `MiniFASNetV1SE.onnx` (installed by `scripts/install-models.sh`).
    /// - Throws: `LivenessError.modelMissing`, `.modelInvalid`, `.engineFailure`.
    public init(modelDirectory: String = FaceEngine.defaultModelDirectory) throws(LivenessError) {
        var message = [CChar](repeating: 0, count: Int(ENROLLD_LIVENESS_MESSAGE_CAPACITY))
        var pointer: OpaquePointer?
        let status = enrolld_pad_engine_create(modelDirectory, &pointer, &message, message.count)
        let text = FaceEngine.string(from: message)
        switch status {
        case ENROLLD_LIVENESS_OK:
            guard let pointer else { throw .engineFailure(reason: "PAD engine creation returned no engine") }
            handle = pointer
            self.modelDirectory = modelDirectory
        case ENROLLD_LIVENESS_MODEL_MISSING:
            throw .modelMissing(reason: text)
        case ENROLLD_LIVENESS_MODEL_INVALID:
            throw .modelInvalid(reason: text)
        default:
            throw .engineFailure(reason: text)
        }
    }

    deinit {
        enrolld_pad_engine_destroy(handle)
    }

    /// Scores the face in `box` (a detection box of `image`).
    /// - Throws: `LivenessError.engineFailure`.
    public func score(_ image: RGBImage, face box: FaceRegion) throws(LivenessError) -> PresentationAttackScore {
        let widened = box.width * Self.boxWidening
        let tall = box.height * Self.boxWidening
        var region = enrolld_liveness_box(
            left: box.left - (widened - box.width) / 2,
            top: box.top - (tall - box.height) / 2, width: widened, height: tall)
        var result = enrolld_pad_score()
        var message = [CChar](repeating: 0, count: Int(ENROLLD_LIVENESS_MESSAGE_CAPACITY))
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            enrolld_pad_engine_score(
                handle, pixels.baseAddress, UInt32(clamping: image.width),
                UInt32(clamping: image.height), &region, &result, &message, message.count)
        }
        guard status == ENROLLD_LIVENESS_OK else {
            throw .engineFailure(reason: "presentation-attack model: \(FaceEngine.string(from: message))")
        }
        let v2 = withUnsafeBytes(of: result.v2) { Array($0.bindMemory(to: Float.self)) }
        let v1se = withUnsafeBytes(of: result.v1se) { Array($0.bindMemory(to: Float.self)) }
        return PresentationAttackScore(
            v2: v2, v1se: v1se, real: Double(result.real),
            milliseconds: result.milliseconds)
    }
}

/// Follows corners of the first frame's face through a burst (pyramidal Lucas-Kanade with a forward-backward
/// check). One tracker per burst, used by one caller.
final class PointTracker {
    private let handle: OpaquePointer
    let maximumPoints: Int

    init(scale: Double, maximumPoints: Int) throws(LivenessError) {
        var pointer: OpaquePointer?
        let status = enrolld_point_tracker_create(scale, UInt32(clamping: maximumPoints), &pointer)
        guard status == ENROLLD_LIVENESS_OK, let pointer else {
            throw .engineFailure(reason: "point tracker: bad arguments (scale \(scale), \(maximumPoints) points)")
        }
        handle = pointer
        self.maximumPoints = maximumPoints
    }

    deinit {
        enrolld_point_tracker_destroy(handle)
    }

    /// The tracked points in this frame (nil where lost); the first frame picks them inside `face`.
    func add(_ image: RGBImage, face: FaceRegion) throws(LivenessError) -> [FacePoint?] {
        var box = enrolld_liveness_box(left: face.left, top: face.top, width: face.width, height: face.height)
        var coordinates = [Double](repeating: 0, count: maximumPoints * 2)
        var valid = [UInt8](repeating: 0, count: maximumPoints)
        var count: UInt32 = 0
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            coordinates.withUnsafeMutableBufferPointer { points in
                valid.withUnsafeMutableBufferPointer { flags in
                    enrolld_point_tracker_add(
                        handle, pixels.baseAddress, UInt32(clamping: image.width),
                        UInt32(clamping: image.height), &box, points.baseAddress,
                        flags.baseAddress, &count)
                }
            }
        }
        guard status == ENROLLD_LIVENESS_OK else {
            throw .engineFailure(reason: "point tracker refused a \(image.width)x\(image.height) frame")
        }
        return (0..<Int(count)).map { index in
            valid[index] != 0 ? FacePoint(x: coordinates[2 * index], y: coordinates[2 * index + 1]) : nil
        }
    }
}
