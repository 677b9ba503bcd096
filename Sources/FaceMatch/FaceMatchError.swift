/// Which of the two images of a comparison a result or an error is about.
public enum FaceImageRole: String, Sendable, Equatable, CustomStringConvertible {
    /// The trusted portrait, usually the chip's DG2 image (JPEG or JPEG 2000, small, never downscaled).
    case reference
    /// The live photo from the kiosk camera (downscaled for detection).
    case probe

    public var description: String {
        switch self {
        case .reference: return "reference portrait"
        case .probe: return "live photo"
        }
    }
}

/// Why a face match could not be made. Every case names the image and what the user can do.
public enum FaceMatchError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A model file is absent: run `scripts/install-models.sh`.
    case modelMissing(reason: String)
    /// A model file exists but does not load (truncated, wrong file).
    case modelInvalid(reason: String)
    /// Not a JPEG, PNG, JP2 or J2K image.
    case unsupportedImageFormat(FaceImageRole)
    /// The image is corrupt or uses a feature we do not decode.
    case undecodableImage(FaceImageRole, reason: String)
    /// The encoded image is larger than the configured byte limit.
    case imageTooLarge(FaceImageRole, bytes: Int, limit: Int)
    /// The image header claims more pixels than the configured limit (refused before decoding).
    case imageTooManyPixels(FaceImageRole, reason: String)
    /// No face was detected.
    case noFace(FaceImageRole)
    /// The largest face is narrower than the configured minimum (pixels of the original image).
    case faceTooSmall(FaceImageRole, size: Int, minimum: Int)
    /// Several faces of similar size: the second largest has at least the configured share of the largest's area.
    case ambiguousFaces(FaceImageRole, count: Int, largestSize: Int, secondSize: Int)
    /// The engine failed for a reason outside the image (out of memory, internal error, bad argument).
    case engineFailure(reason: String)
    /// Every face worker is taken (`FaceWorkPool`): retry after the delay it names.
    case engineBusy(FaceWorkBusy)

    public var description: String {
        switch self {
        case .modelMissing(let reason):
            return "face model missing (\(reason)): run scripts/install-models.sh"
        case .modelInvalid(let reason):
            return "face model unusable (\(reason)): reinstall it with scripts/install-models.sh"
        case .unsupportedImageFormat(let role):
            return "\(role) is not a JPEG, PNG or JPEG 2000 image"
        case .undecodableImage(let role, let reason):
            return "\(role) cannot be decoded (\(reason))"
        case .imageTooLarge(let role, let bytes, let limit):
            return "\(role) is \(bytes) bytes, more than the limit of \(limit) bytes"
        case .imageTooManyPixels(let role, let reason):
            return "\(role) is too large (\(reason))"
        case .noFace(let role):
            return "no face found in the \(role): face the camera, uncovered, in even light"
        case .faceTooSmall(let role, let size, let minimum):
            return "face in the \(role) is \(size) px wide, at least \(minimum) px needed: come closer to the camera"
        case .ambiguousFaces(let role, let count, let largest, let second):
            return "\(count) faces of similar size in the \(role) (\(largest) px and \(second) px): "
                + "only one person may be in front of the camera"
        case .engineFailure(let reason):
            return "face engine failure: \(reason)"
        case .engineBusy(let busy):
            return busy.description
        }
    }
}
