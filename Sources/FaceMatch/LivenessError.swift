/// A burst that cannot be evaluated, or an engine that cannot run. A burst that is well formed but fails a check
/// is not an error: it gets a `LivenessDecision` naming the check.
public enum LivenessError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A MiniFASNet model file is absent: run `scripts/install-models.sh`.
    case modelMissing(reason: String)
    case modelInvalid(reason: String)
    case tooFewFrames(count: Int, minimum: Int)
    case tooManyFrames(count: Int, maximum: Int)
    /// One encoded frame is over the byte limit.
    case frameTooLarge(index: Int, bytes: Int, limit: Int)
    /// All frames together are over the byte limit.
    case burstTooLarge(bytes: Int, limit: Int)
    /// The frame does not decode, is not JPEG or PNG, or has more pixels than the limit (refused from its header).
    case frameUnreadable(index: Int, reason: FaceMatchError)
    /// A frame's pixel size differs from the first frame's: a burst comes from one camera mode.
    case frameSizeChanged(index: Int, width: Int, height: Int, expectedWidth: Int, expectedHeight: Int)
    /// The frame is smaller than the minimum size on either side.
    case frameTooSmall(index: Int, width: Int, height: Int, minimumSide: Int)
    /// Capture timestamps must increase strictly, frame after frame.
    case timestampsNotIncreasing(index: Int)
    /// A capture timestamp is not a finite time.
    case timestampInvalid(index: Int)
    /// The burst spans less time than a person needs to follow the prompts.
    case burstTooShort(seconds: Double, minimum: Double)
    /// The burst spans more time than the challenge allows.
    case burstTooLong(seconds: Double, maximum: Double)
    /// Two consecutive frames are further apart than the limit.
    case gapTooLong(index: Int, seconds: Double, maximum: Double)
    case engineFailure(reason: String)
    /// The chip portrait the burst is compared with cannot be used (no face in it, undecodable, too large).
    case portraitUnusable(FaceMatchError)
    /// Every face worker is taken (`FaceWorkPool`): retry after the delay it names.
    case engineBusy(FaceWorkBusy)

    public var description: String {
        switch self {
        case .modelMissing(let reason):
            return "presentation-attack model missing (\(reason)): run scripts/install-models.sh"
        case .modelInvalid(let reason):
            return "presentation-attack model unusable (\(reason)): reinstall it with scripts/install-models.sh"
        case .tooFewFrames(let count, let minimum):
            return "burst has \(count) frames, at least \(minimum) needed: capture while the prompts are shown"
        case .tooManyFrames(let count, let maximum):
            return "burst has \(count) frames, at most \(maximum) allowed: send fewer frames"
        case .frameTooLarge(let index, let bytes, let limit):
            return "frame \(index) is \(bytes) bytes, more than the limit of \(limit): send smaller JPEGs"
        case .burstTooLarge(let bytes, let limit):
            return "burst is \(bytes) bytes, more than the limit of \(limit): send fewer or smaller frames"
        case .frameUnreadable(let index, let reason):
            return "frame \(index) cannot be used: \(reason)"
        case .frameSizeChanged(let index, let width, let height, let expectedWidth, let expectedHeight):
            return "frame \(index) is \(width)x\(height), the burst's first frame \(expectedWidth)x\(expectedHeight): "
                + "capture every frame in one camera mode"
        case .frameTooSmall(let index, let width, let height, let minimumSide):
            return "frame \(index) is \(width)x\(height), at least \(minimumSide) px on each side needed"
        case .timestampsNotIncreasing(let index):
            return "frame \(index) is not captured after frame \(index - 1): send frames in capture order with "
                + "their capture times"
        case .timestampInvalid(let index):
            return "frame \(index) has no valid capture time"
        case .burstTooShort(let seconds, let minimum):
            return "burst spans \(format(seconds, digits: 2)) s, at least \(format(minimum, digits: 1)) s needed: "
                + "capture while the person follows every prompt"
        case .burstTooLong(let seconds, let maximum):
            return "burst spans \(format(seconds, digits: 2)) s, at most \(format(maximum, digits: 1)) s allowed"
        case .gapTooLong(let index, let seconds, let maximum):
            return "frames \(index - 1) and \(index) are \(format(seconds, digits: 2)) s apart, at most "
                + "\(format(maximum, digits: 1)) s allowed: capture at a steady rate"
        case .engineFailure(let reason):
            return "liveness engine failure: \(reason)"
        case .portraitUnusable(let reason):
            return "the chip portrait cannot be compared: \(reason)"
        case .engineBusy(let busy):
            return busy.description
        }
    }
}
