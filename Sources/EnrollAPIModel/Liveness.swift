import Foundation

/// The answer of `POST /v1/enrollments/{id}/liveness/challenge`: what the kiosk shows while it captures the burst.
public struct LivenessChallengeResponse: Codable, Sendable, Equatable {
    /// 32 hex digits; the burst names them (`LivenessBurstBody.nonceHex`).
    public var nonceHex: String
    /// The prompts in order: `turn-left`, `turn-right`, `look-up`, `come-closer` (the person's own left and right).
    public var prompts: [String]
    /// What the kiosk shows or says for each prompt, in the same order.
    public var instructions: [String]
    /// ISO 8601 UTC: frames must be captured between these (give or take the configured clock skew).
    public var issuedAt: String
    public var expiresAt: String
    /// Challenges this session may still request after this one.
    public var attemptsLeft: Int

    public init(
        nonceHex: String, prompts: [String], instructions: [String], issuedAt: String, expiresAt: String,
        attemptsLeft: Int
    ) {
        self.nonceHex = nonceHex
        self.prompts = prompts
        self.instructions = instructions
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.attemptsLeft = attemptsLeft
    }
}

/// One captured frame of a burst.
public struct LivenessFrameBody: Codable, Sendable, Equatable {
    /// The camera's unmirrored frame, base64 JPEG or PNG.
    public var image: String
    /// Capture time by the kiosk's clock, ISO 8601 with fractional seconds (`2026-01-31T12:00:00.250Z`).
    public var capturedAt: String

    public init(image: String, capturedAt: String) {
        self.image = image
        self.capturedAt = capturedAt
    }
}

/// `POST /v1/enrollments/{id}/liveness` body: the frames captured while the challenge's prompts were shown, in
/// capture order.
public struct LivenessBurstBody: Codable, Sendable, Equatable {
    /// The nonce of the challenge this burst answers.
    public var nonceHex: String
    public var frames: [LivenessFrameBody]

    public init(nonceHex: String, frames: [LivenessFrameBody]) {
        self.nonceHex = nonceHex
        self.frames = frames
    }
}

/// One liveness check as evidence: its value against its threshold (no images, no embeddings).
public struct LivenessCheckEvidence: Codable, Sendable, Equatable {
    /// `challenge`, `single-face`, `same-person`, `matches-portrait`, `unlike-portrait`, `prompts-followed`,
    /// `depth`, `distinct-frames`, `not-replayed`, `passive-score`.
    public var check: String
    public var passed: Bool
    /// Whether the check decides (`[liveness] report_only` lists those that do not).
    public var required: Bool
    /// The measured value; null when it could not be measured (no usable face to measure it on).
    public var value: Double?
    public var threshold: Double
    /// `at-most` or `at-least`: how the value must compare with the threshold to pass.
    public var comparison: String
    /// What was measured and where, e.g. "frame 7: 2 faces".
    public var detail: String

    public init(
        check: String, passed: Bool, required: Bool, value: Double?, threshold: Double, comparison: String,
        detail: String
    ) {
        self.check = check
        self.passed = passed
        self.required = required
        self.value = value
        self.threshold = threshold
        self.comparison = comparison
        self.detail = detail
    }
}

/// The liveness step's evidence on a session: the last burst's decision with every check.
public struct LivenessEvidence: Codable, Sendable, Equatable {
    public var live: Bool
    /// The check that decided a refusal.
    public var failingCheck: String?
    public var checks: [LivenessCheckEvidence]
    public var frames: Int
    /// Challenges requested in this session.
    public var attempts: Int
    /// ISO 8601 UTC.
    public var decidedAt: String

    public init(
        live: Bool, failingCheck: String? = nil, checks: [LivenessCheckEvidence], frames: Int, attempts: Int,
        decidedAt: String
    ) {
        self.live = live
        self.failingCheck = failingCheck
        self.checks = checks
        self.frames = frames
        self.attempts = attempts
        self.decidedAt = decidedAt
    }
}
