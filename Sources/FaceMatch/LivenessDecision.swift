/// The liveness checks, each reported with its value and threshold.
public enum LivenessCheck: String, Sendable, Equatable, CaseIterable, Codable {
    /// The burst answers this challenge (nonce), before it expired, captured inside its window.
    case challenge
    /// Exactly one face in every frame.
    case singleFace = "single-face"
    /// The same person throughout: the largest embedding distance between frames.
    case samePerson = "same-person"
    /// That person is the chip portrait's: the smallest distance of a frontal frame to the portrait.
    case matchesPortrait = "matches-portrait"
    /// The head pose follows the prompts in order.
    case promptsFollowed = "prompts-followed"
    /// The motion has depth: the points do not move as one plane does (parallax residual).
    case depth
    /// The frames are not copies of one another.
    case distinctFrames = "distinct-frames"
    /// No frame is (nearly) the chip portrait itself.
    case unlikePortrait = "unlike-portrait"
    /// No frame was already used in another session (replay cache).
    case notReplayed = "not-replayed"
    /// The passive presentation-attack models' mean "real" probability.
    case passiveScore = "passive-score"
}

/// How a check's value compares with its threshold to pass.
public enum LivenessComparison: String, Sendable, Equatable, Codable {
    case atMost = "at-most"
    case atLeast = "at-least"
}

/// One check's evidence: a number, the threshold it was held to, and a short reason. Never images, never names.
public struct LivenessCheckResult: Sendable, Equatable, Codable {
    public var check: LivenessCheck
    public var passed: Bool
    public var value: Double
    public var threshold: Double
    public var comparison: LivenessComparison
    /// Whether this check decides (configured as required) or is reported only.
    public var required: Bool
    /// What was measured and where, e.g. "frame 7: 2 faces".
    public var detail: String
    /// The frame the check failed on, when one frame is to blame.
    public var frame: Int?
    /// `prompts-followed`: the first prompt not done.
    public var missingPrompt: LivenessPrompt?
    /// `single-face`: how many faces the failing frame showed.
    public var faceCount: Int?

    public init(
        check: LivenessCheck, value: Double, threshold: Double, comparison: LivenessComparison,
        required: Bool = true, detail: String, frame: Int? = nil, missingPrompt: LivenessPrompt? = nil,
        faceCount: Int? = nil
    ) {
        self.check = check
        self.value = value
        self.threshold = threshold
        self.comparison = comparison
        self.required = required
        self.detail = detail
        self.frame = frame
        self.missingPrompt = missingPrompt
        self.faceCount = faceCount
        passed = value.isFinite && (comparison == .atMost ? value <= threshold : value >= threshold)
    }
}

/// Why the challenge itself was refused, before any frame was looked at.
public enum LivenessChallengeProblem: String, Sendable, Equatable, Codable {
    /// The burst names another challenge's nonce (for instance another session's).
    case nonceMismatch = "nonce-mismatch"
    case expired
    /// The challenge was already answered once (the session keeps track; one challenge, one use).
    case reused
    /// The frames' capture times lie outside the challenge's window.
    case outsideWindow = "outside-window"
}

/// Milliseconds per stage of one evaluation.
public struct LivenessStageTimings: Sendable, Equatable, Codable {
    public var decode = 0.0
    public var detect = 0.0
    public var landmarks = 0.0
    public var track = 0.0
    public var passive = 0.0
    public var embed = 0.0
    public var decide = 0.0

    public init() {}

    public var total: Double { decode + detect + landmarks + track + passive + embed + decide }
}

/// The outcome of one liveness evaluation: every check with its evidence, and the decision.
public struct LivenessDecision: Sendable, Equatable, Codable {
    public var checks: [LivenessCheckResult]
    public var timings: LivenessStageTimings
    /// Frames analysed (all frames of the burst; embedded and scored subsets are in the checks' details).
    public var frameCount: Int

    public init(
        checks: [LivenessCheckResult], timings: LivenessStageTimings = LivenessStageTimings(),
        frameCount: Int
    ) {
        self.checks = checks
        self.timings = timings
        self.frameCount = frameCount
    }

    /// Live when every required check passed.
    public var isLive: Bool { failingCheck == nil }

    /// The first required check that failed, in the order of `LivenessCheck.allCases`.
    public var failingCheck: LivenessCheckResult? { checks.first { $0.required && !$0.passed } }

    public func result(_ check: LivenessCheck) -> LivenessCheckResult? { checks.first { $0.check == check } }

    /// What the kiosk tells the person after a failure (nil when live). Attack-type checks get a neutral
    /// instruction that does not teach an attacker which signal failed.
    public var instruction: String? {
        guard let failing = failingCheck else { return nil }
        switch failing.check {
        case .challenge:
            return "the prompts have changed: start the liveness step again and follow the new prompts"
        case .singleFace:
            return failing.faceCount == 0
                ? "keep your whole face in view of the camera, in even light"
                : "only one person may be in front of the camera"
        case .promptsFollowed:
            return failing.missingPrompt?.instruction ?? "follow only the prompts shown, one after the other"
        case .matchesPortrait, .samePerson:
            return "the card holder must be in front of the camera: look straight at it"
        case .depth, .distinctFrames, .unlikePortrait, .notReplayed, .passiveScore:
            return "hold still, closer to the camera, then follow the prompts slowly"
        }
    }

    /// The decision for a challenge refused outright (expired, reused, another challenge's nonce): the session
    /// layer calls this for a reused challenge, `LivenessChecker` for the others.
    public static func challengeRefused(_ problem: LivenessChallengeProblem, detail: String) -> LivenessDecision {
        LivenessDecision(
            checks: [
                LivenessCheckResult(
                    check: .challenge, value: 0, threshold: 1,
                    comparison: .atLeast, detail: "\(problem.rawValue): \(detail)")
            ],
            frameCount: 0)
    }
}
