import EnrollAPIModel
import FaceMatch
import Foundation
import Secrets

/// The liveness step (presentation-attack detection): the session asks for a fresh challenge, the kiosk shows its
/// prompts while it captures a burst, and posts the burst once. Each challenge is one attempt
/// (`EnrollmentPolicy.maxLivenessAttempts`), answered or not, so a prepared recording of one prompt sequence cannot
/// wait for its sequence to come up. A challenge answers one burst: a second burst for it is refused as `reused`,
/// a burst naming another challenge's nonce (another session's) or arriving after the expiry is refused before any
/// frame is looked at. A live burst that matches the chip portrait is the session's face match; after a live burst
/// the step is done (both routes answer `enrollment-wrong-state`).
extension EnrollmentService {
    /// Issues a new challenge for session `id`, replacing any earlier one.
    /// - Throws: `enrollment-wrong-state` after the face step's state, `no-portrait`, `attempts-exhausted` (the
    ///   session ends) when every attempt was used.
    public func issueLivenessChallenge(id: UUID) throws(EnrollmentError) -> LivenessChallengeResponse {
        try step(id) { session throws(EnrollmentError) in
            try requireLivenessState(session)
            guard session.livenessAttempts < policy.maxLivenessAttempts else {
                try fail(&session, code: ProblemCode.attemptsExhausted.code)
                throw EnrollmentError(
                    .attemptsExhausted,
                    "the liveness check did not pass in "
                        + "\(policy.maxLivenessAttempts) attempts: the session has ended")
            }
            session.livenessAttempts += 1
            var generator = RandomBytesGenerator(random)
            let challenge = LivenessChallenge.random(
                using: &generator, now: now(),
                lifetime: policy.livenessChallengeLifetime,
                promptCount: policy.livenessPrompts)
            session.livenessChallenge = challenge
            session.livenessChallengeAnswered = false
            let format = ISO8601DateFormatter()
            format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return LivenessChallengeResponse(
                nonceHex: challenge.nonceHex, prompts: challenge.prompts.map(\.rawValue),
                instructions: challenge.prompts.map(\.instruction), issuedAt: format.string(from: challenge.issuedAt),
                expiresAt: format.string(from: challenge.expiresAt),
                attemptsLeft: policy.maxLivenessAttempts - session.livenessAttempts)
        }
    }

    /// Evaluates the burst for the session's current challenge. Live: the evidence is kept and, when the burst
    /// matched the chip portrait, the session is `face-matched`.
    /// - Throws: `liveness-failed` naming the check (the evidence keeps every check), `attempts-exhausted` when that
    ///   was the last attempt, `liveness-challenge-required` without a challenge, `invalid-burst` for a malformed
    ///   burst (the challenge is spent), `face-engine-busy` (the challenge is not spent: post it again).
    public func submitLiveness(id: UUID, burst: LivenessBurst) throws(EnrollmentError) -> EnrollmentView {
        try step(id) { session throws(EnrollmentError) in
            try requireLivenessState(session)
            guard let challenge = session.livenessChallenge else {
                throw EnrollmentError(
                    .livenessChallengeRequired,
                    "no liveness challenge was requested in this session: request one first")
            }
            let at = now()
            let decision: LivenessDecision
            if session.livenessChallengeAnswered {
                decision = .challengeRefused(.reused, detail: "this challenge was already answered: request a new one")
            } else if let refusal = challenge.refusal(answering: burst, at: at) {
                session.livenessChallengeAnswered = true
                decision = refusal
            } else {
                session.livenessChallengeAnswered = true
                var portrait = session.portrait.copiedArray()
                defer { SecretBytes.wipe(&portrait) }
                do throws(EnrollmentError) {
                    decision = try liveness.check(
                        burst, challenge: challenge, portrait: portrait,
                        session: session.id, callerUID: session.callerUID, now: at)
                } catch {
                    if error.kind == .faceEngineBusy {
                        // Nothing was evaluated: the same burst may come again while the challenge lasts.
                        session.livenessChallengeAnswered = false
                        throw error
                    }
                    if session.livenessAttempts >= policy.maxLivenessAttempts, error.kind == .invalidBurst {
                        try fail(&session, code: ProblemCode.attemptsExhausted.code)
                    }
                    throw error
                }
            }
            session.liveness = LivenessEvidence(decision, attempts: session.livenessAttempts, at: at)
            guard decision.isLive else { return try refuse(&session, decision) }
            let wasMatched = session.state == .faceMatched
            if !wasMatched, let match = decision.result(.matchesPortrait), match.passed {
                let score = FaceMatcher.score(distance: match.value, threshold: match.threshold)
                session.face = FaceEvidence(
                    distance: match.value, score: score, threshold: match.threshold,
                    isMatch: true, probeFaces: 1)
                session.state = .faceMatched
            }
            try persist(session, state: session.state, event: UsageEventKind.enrollmentLivenessPassed.rawValue)
            publish(.enrollment(.enrollmentLivenessPassed, session: id.uuidString))
            if !wasMatched && session.state == .faceMatched {
                publish(.enrollment(.enrollmentFaceMatched, session: id.uuidString))
            }
            return view(session)
        }
    }

    /// Records a refused burst and throws what the kiosk shows: `liveness-failed`, or `attempts-exhausted` when no
    /// challenge is left (the session ends).
    private func refuse(
        _ session: inout LiveSession,
        _ decision: LivenessDecision
    ) throws(EnrollmentError) -> EnrollmentView {
        let failing = decision.failingCheck
        let check = failing?.check.rawValue ?? LivenessCheck.challenge.rawValue
        let instruction = decision.instruction ?? "follow the prompts on the screen, one after the other"
        let left = max(0, policy.maxLivenessAttempts - session.livenessAttempts)
        var error = EnrollmentError.livenessFailed(
            check: check, instruction: instruction,
            detail: failing?.detail ?? "not live", attemptsLeft: left)
        guard left > 0 else {
            try fail(&session, code: ProblemCode.attemptsExhausted.code)
            error.kind = .attemptsExhausted
            error.message = "\(instruction) (liveness check \(check) failed; no attempts left: the session has ended)"
            throw error
        }
        try persist(
            session, state: session.state, event: UsageEventKind.enrollmentLivenessFailed.rawValue,
            outcome: "refused")
        publish(
            .enrollment(
                .enrollmentLivenessFailed, session: session.id.uuidString,
                code: ProblemCode.livenessFailed.code, attemptsLeft: left, message: instruction,
                check: check))
        throw error
    }

    /// The liveness step is for open sessions before completion, and passes once: after a live burst the session's
    /// evidence stays that burst's.
    private func requireLivenessState(_ session: LiveSession) throws(EnrollmentError) {
        guard session.state == .cardVerified || session.state == .faceMatched else {
            throw .wrongState(session.state.rawValue, expected: "card-verified or face-matched")
        }
        guard session.liveness?.live != true else {
            throw EnrollmentError(
                .enrollmentWrongState,
                "the liveness step has already passed in this session: "
                    + "continue with the next step")
        }
        guard !session.portrait.isEmpty else {
            throw EnrollmentError(.noPortrait, "the chip holds no portrait to compare the burst with")
        }
    }

    /// Completion's gate: `liveness-required` unless the policy lets this completion skip the liveness step or a
    /// burst of this session was live.
    func requireLiveness(_ session: LiveSession, signing: Bool) throws(EnrollmentError) {
        guard policy.requiresLiveness(purpose: session.purpose, signing: signing) else { return }
        guard session.liveness?.live == true else {
            throw EnrollmentError(
                .livenessRequired,
                "this completion needs the liveness step: request a challenge "
                    + "(POST /v1/enrollments/\(session.id.uuidString)/liveness/challenge), show its "
                    + "prompts while capturing, and send the burst")
        }
    }
}

extension LivenessEvidence {
    /// The evidence of a decision: every check, its value (nil where nothing could be measured) and threshold.
    init(_ decision: LivenessDecision, attempts: Int, at: Date) {
        let checks = decision.checks.map {
            LivenessCheckEvidence(
                check: $0.check.rawValue, passed: $0.passed, required: $0.required,
                value: $0.value.isFinite ? $0.value : nil, threshold: $0.threshold,
                comparison: $0.comparison.rawValue, detail: $0.detail)
        }
        self.init(
            live: decision.isLive, failingCheck: decision.failingCheck?.check.rawValue, checks: checks,
            frames: decision.frameCount, attempts: attempts, decidedAt: ISO8601DateFormatter().string(from: at))
    }
}

/// A `RandomNumberGenerator` over the service's random-bytes port (the daemon's: OpenSSL's generator).
struct RandomBytesGenerator: RandomNumberGenerator {
    let source: @Sendable (Int) -> [UInt8]

    init(_ source: @escaping @Sendable (Int) -> [UInt8]) {
        self.source = source
    }

    mutating func next() -> UInt64 {
        let bytes = source(8)
        return bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}
