import Foundation

/// Head pose measures from dlib's 5 landmarks (eye corners and nose base), without a 3D model: ratios that a real
/// head changes when it turns, looks up or comes closer.
///
/// - `yaw`: the nose base's offset from the eye corners' centre, along the eye line, in eye spans (outer corner to
///   outer corner). Positive when the nose moves to the image's right, which in an unmirrored frame is the person
///   turning to their own left. About 0.25 x tan(angle) for an average face.
/// - `pitch`: the nose base's distance below the eye line, in eye spans; it shrinks when the person looks up.
/// - `eyeSpan`: pixels; grows when the person comes closer.
///
/// A flat photo moved, scaled or tilted about a vertical or horizontal axis keeps yaw and pitch (an affine map keeps
/// ratios along a line); only shear and strong perspective change them, which the depth check catches.
public struct HeadPose: Sendable, Equatable {
    public var yaw: Double
    public var pitch: Double
    /// Eye-line angle, degrees (0: level).
    public var roll: Double
    public var eyeSpan: Double

    public init(yaw: Double, pitch: Double, roll: Double, eyeSpan: Double) {
        self.yaw = yaw
        self.pitch = pitch
        self.roll = roll
        self.eyeSpan = eyeSpan
    }

    /// Nil when the eye corners coincide (no usable eye line).
    public init?(landmarks: FaceLandmarks) {
        let right = landmarks.imageRightEyeOuter
        let left = landmarks.imageLeftEyeOuter
        let axisX = right.x - left.x
        let axisY = right.y - left.y
        let span = (axisX * axisX + axisY * axisY).squareRoot()
        guard span > 1e-6, span.isFinite else { return nil }
        let unitX = axisX / span
        let unitY = axisY / span
        let corners = [
            landmarks.imageRightEyeOuter, landmarks.imageRightEyeInner, landmarks.imageLeftEyeOuter,
            landmarks.imageLeftEyeInner,
        ]
        let centreX = corners.reduce(0) { $0 + $1.x } / 4
        let centreY = corners.reduce(0) { $0 + $1.y } / 4
        let noseX = landmarks.noseBase.x - centreX
        let noseY = landmarks.noseBase.y - centreY
        // Along the eye line (image left to right) and perpendicular to it (downwards for an upright face).
        yaw = (noseX * unitX + noseY * unitY) / span
        pitch = (-noseX * unitY + noseY * unitX) / span
        roll = atan2(axisY, axisX) * 180 / .pi
        eyeSpan = span
    }
}

/// How far a pose has moved from the burst's first (baseline) pose towards each prompt, as a share of that
/// prompt's threshold: 1 means the prompt is done.
public struct PromptThresholds: Sendable, Equatable {
    /// Yaw change (eye spans) for a turn; 0.08 is about 18 degrees on an average face.
    public var turn: Double
    /// Pitch decrease (eye spans) for looking up.
    public var lookUp: Double
    /// Eye-span growth factor for coming closer.
    public var closer: Double
    /// An unrequested movement counts when it reaches this multiple of its threshold.
    public var unrequestedFactor: Double

    public init(turn: Double = 0.08, lookUp: Double = 0.06, closer: Double = 1.2, unrequestedFactor: Double = 1.6) {
        self.turn = turn
        self.lookUp = lookUp
        self.closer = closer
        self.unrequestedFactor = unrequestedFactor
    }

    /// Progress of `pose` towards `prompt` from `baseline` (1: done; negative: the other way).
    public func progress(of pose: HeadPose, towards prompt: LivenessPrompt, from baseline: HeadPose) -> Double {
        switch prompt {
        case .turnLeft: return (pose.yaw - baseline.yaw) / turn
        case .turnRight: return (baseline.yaw - pose.yaw) / turn
        case .lookUp: return (baseline.pitch - pose.pitch) / lookUp
        case .comeCloser:
            guard baseline.eyeSpan > 0 else { return 0 }
            return (pose.eyeSpan / baseline.eyeSpan - 1) / (closer - 1)
        }
    }
}

/// Whether a sequence of poses follows a challenge's prompts in order.
public struct PromptSequenceResult: Sendable, Equatable {
    /// Prompts completed in order (the challenge's first `followed` prompts).
    public var followed: Int
    /// For each completed prompt, the frame where it was first done.
    public var frames: [Int]
    /// The first prompt not done (nil when all were).
    public var missing: LivenessPrompt?
    /// A movement that no prompt asked for, and where.
    public var unrequested: (prompt: LivenessPrompt, frame: Int)?
    /// Peak progress per prompt of the challenge, in order.
    public var peaks: [Double]

    public var passed: Bool { missing == nil && unrequested == nil }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.followed == rhs.followed && lhs.frames == rhs.frames && lhs.missing == rhs.missing
            && lhs.unrequested?.prompt == rhs.unrequested?.prompt && lhs.unrequested?.frame == rhs.unrequested?.frame
            && lhs.peaks == rhs.peaks
    }

    /// Matches prompts in order: each prompt must be done in a frame after the frame where the previous one was
    /// done. A prompt outside the challenge done strongly (`unrequestedFactor`) anywhere fails the sequence, so
    /// that a recording of every movement does not answer every challenge. Frames without a pose are skipped;
    /// the baseline is the first frame with a pose.
    public static func evaluate(
        poses: [HeadPose?], prompts: [LivenessPrompt],
        thresholds: PromptThresholds
    ) -> PromptSequenceResult {
        var result = PromptSequenceResult(
            followed: 0, frames: [], missing: prompts.first, unrequested: nil,
            peaks: Array(repeating: 0, count: prompts.count))
        guard let baseline = poses.compactMap({ $0 }).first else { return result }
        let others = LivenessPrompt.allCases.filter { !prompts.contains($0) }
        for (index, pose) in poses.enumerated() {
            guard let pose else { continue }
            for (position, prompt) in prompts.enumerated() {
                result.peaks[position] = max(
                    result.peaks[position],
                    thresholds.progress(of: pose, towards: prompt, from: baseline))
            }
            if result.unrequested == nil {
                for prompt in others
                where thresholds.progress(of: pose, towards: prompt, from: baseline) >= thresholds.unrequestedFactor {
                    result.unrequested = (prompt, index)
                    break
                }
            }
            if result.followed < prompts.count,
                thresholds.progress(of: pose, towards: prompts[result.followed], from: baseline) >= 1
            {
                result.frames.append(index)
                result.followed += 1
            }
        }
        result.missing = result.followed < prompts.count ? prompts[result.followed] : nil
        return result
    }
}
