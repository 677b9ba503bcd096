import Foundation

/// Thresholds and bounds of the liveness checks (the `[liveness]` policy maps onto this).
public struct LivenessConfiguration: Sendable, Equatable {
    public var limits: LivenessLimits
    /// Tolerance between the kiosk's capture clock and the daemon's.
    public var clockSkew: TimeInterval
    /// The first frame's detection runs on a copy with at most this long side.
    public var firstDetectionLongSide: Int
    /// Later frames are detected on a copy scaled so that the first face is about this wide (HOG needs ~80 px).
    public var detectionFaceWidth: Double
    /// Smallest face box (original pixels) whose chip is embedded.
    public var minimumFaceSize: Int
    /// A further face counts against "single face" when its box has at least this share of the largest's area.
    public var secondFaceShare: Double
    /// Largest embedding distance between two frames of one burst.
    public var samePersonThreshold: Double
    /// Largest embedding distance of the best frontal frame to the chip portrait (FaceMatch's threshold).
    public var matchThreshold: Double
    /// A frame is frontal for the portrait match while its yaw is within this of the baseline (eye spans).
    public var frontalYaw: Double
    public var prompts: PromptThresholds
    /// Smallest parallax residual (eye spans) of the frame that moved most.
    public var depthThreshold: Double
    /// Two frames are copies when their 32x32 face thumbnails differ by less than this (mean grey levels).
    public var duplicateFloor: Double
    /// Largest share of frames that may have a copy elsewhere in the burst (a person holding still makes a few).
    public var duplicateShare: Double
    /// Embedding distance to the chip portrait under which a frame is the portrait itself (ReplayGuard's floor).
    public var portraitFloor: Double
    /// Smallest mean "real" probability of the passive models.
    public var passiveThreshold: Double
    /// Frames scored by the passive models, spread over the burst.
    public var passiveFrames: Int
    /// Frames embedded (first, last, each prompt's frame, then spread evenly); all frames when fewer.
    public var maximumEmbeddedFrames: Int
    /// Points followed by the tracker for the depth check.
    public var trackedPoints: Int
    /// The tracker works on frames scaled so that the first face is about this wide.
    public var trackingFaceWidth: Double
    /// Checks that decide; the others are computed and reported only.
    public var requiredChecks: Set<LivenessCheck>

    public init(
        limits: LivenessLimits = LivenessLimits(), clockSkew: TimeInterval = 2,
        firstDetectionLongSide: Int = 640, detectionFaceWidth: Double = 110, minimumFaceSize: Int = 80,
        secondFaceShare: Double = 0.2, samePersonThreshold: Double = 0.6, matchThreshold: Double = 0.5,
        frontalYaw: Double = 0.04, prompts: PromptThresholds = PromptThresholds(),
        depthThreshold: Double = 0.02, duplicateFloor: Double = 0.35, duplicateShare: Double = 0.5,
        portraitFloor: Double = 0.10, passiveThreshold: Double = 0.3, passiveFrames: Int = 5,
        maximumEmbeddedFrames: Int = 8, trackedPoints: Int = 40, trackingFaceWidth: Double = 180,
        requiredChecks: Set<LivenessCheck> = Set(LivenessCheck.allCases)
    ) {
        self.limits = limits
        self.clockSkew = clockSkew
        self.firstDetectionLongSide = firstDetectionLongSide
        self.detectionFaceWidth = detectionFaceWidth
        self.minimumFaceSize = minimumFaceSize
        self.secondFaceShare = secondFaceShare
        self.samePersonThreshold = samePersonThreshold
        self.matchThreshold = matchThreshold
        self.frontalYaw = frontalYaw
        self.prompts = prompts
        self.depthThreshold = depthThreshold
        self.duplicateFloor = duplicateFloor
        self.duplicateShare = duplicateShare
        self.portraitFloor = portraitFloor
        self.passiveThreshold = passiveThreshold
        self.passiveFrames = passiveFrames
        self.maximumEmbeddedFrames = maximumEmbeddedFrames
        self.trackedPoints = trackedPoints
        self.trackingFaceWidth = trackingFaceWidth
        self.requiredChecks = requiredChecks
    }
}

/// The trusted portrait a burst is compared with (the chip's DG2 image): its bytes and its face embedding.
public struct LivenessPortrait: Sendable, Equatable {
    public var image: [UInt8]
    public var embedding: FaceEmbedding

    public init(image: [UInt8], embedding: FaceEmbedding) {
        self.image = image
        self.embedding = embedding
    }

    /// Analyses the portrait as a reference image.
    /// - Throws: the matcher's `FaceMatchError`.
    public static func analysing(_ image: [UInt8], with matcher: FaceMatcher) throws(FaceMatchError) -> Self {
        let analysis = try matcher.analyse(image, role: .reference)
        guard let embedding = analysis.embedding else { throw .noFace(.reference) }
        return LivenessPortrait(image: image, embedding: embedding)
    }
}

/// Evaluates a burst against its challenge and the chip portrait: every check of `LivenessCheck` with its value
/// and threshold, and the decision. Frames are decoded one at a time (memory holds one decoded frame, the
/// 150x150 chips and the landmarks); the ResNet runs on at most `maximumEmbeddedFrames` chips and the passive
/// models on `passiveFrames` frames.
///
/// Thread safety: a checker is a value; the engines it holds are shared safely (their own per-instance locks).
public struct LivenessChecker: Sendable {
    public let engine: FaceEngine
    public let passiveModel: PresentationAttackModel
    public var configuration: LivenessConfiguration
    /// When set, frames are checked against photos of other sessions and recorded (`session` names the caller's).
    public var replayGuard: ReplayGuard?

    public init(
        engine: FaceEngine, passiveModel: PresentationAttackModel,
        configuration: LivenessConfiguration = LivenessConfiguration(), replayGuard: ReplayGuard? = nil
    ) {
        self.engine = engine
        self.passiveModel = passiveModel
        self.configuration = configuration
        self.replayGuard = replayGuard
    }

    /// What one frame showed.
    struct FrameEvidence {
        var analysis: FaceFrameAnalysis
        var significantFaces: Int
        var pose: HeadPose?
        var tracked: [FacePoint?]
        var passive: PresentationAttackScore?
        var embedding: FaceEmbedding?
    }

    /// Evaluates `burst` for `challenge` at time `now`.
    /// - Throws: `LivenessError` for a malformed burst (counts, sizes, timestamps, undecodable frames) or an
    ///   engine failure. Failed checks are not errors: see `LivenessDecision.failingCheck`.
    public func evaluate(
        burst: LivenessBurst, challenge: LivenessChallenge, portrait: LivenessPortrait,
        now: Date = Date(), session: String = ""
    ) throws(LivenessError) -> LivenessDecision {
        try configuration.limits.validate(burst)
        if let refusal = challengeRefusal(burst: burst, challenge: challenge, now: now) { return refusal }
        var timings = LivenessStageTimings()
        var evidence = try analyseFrames(burst, timings: &timings)
        let start = ContinuousClock.now
        let poses = evidence.map(\.pose)
        let sequence = PromptSequenceResult.evaluate(
            poses: poses, prompts: challenge.prompts,
            thresholds: configuration.prompts)
        let sequenceMilliseconds = milliseconds(since: start)
        let embedStart = ContinuousClock.now
        for index in framesToEmbed(evidence, promptFrames: sequence.frames) {
            guard let chip = evidence[index].analysis.alignedChip else { continue }
            do {
                evidence[index].embedding = try engine.embed(chip: chip)
            } catch {
                throw .engineFailure(reason: "\(error)")
            }
        }
        timings.embed = milliseconds(since: embedStart)
        let decideStart = ContinuousClock.now
        var checks = [
            LivenessCheckResult(
                check: .challenge, value: 1, threshold: 1, comparison: .atLeast,
                detail: "nonce, expiry and capture window match"),
            singleFaceCheck(evidence),
        ]
        checks += identityChecks(evidence, portrait: portrait)
        checks.append(promptCheck(sequence, prompts: challenge.prompts))
        checks.append(depthCheck(evidence))
        checks.append(duplicateCheck(evidence))
        checks.append(try replayCheck(evidence, burst: burst, portrait: portrait, session: session, now: now))
        checks.append(passiveCheck(evidence))
        for index in checks.indices {
            checks[index].required = configuration.requiredChecks.contains(checks[index].check)
        }
        timings.decide = sequenceMilliseconds + milliseconds(since: decideStart)
        return LivenessDecision(checks: checks, timings: timings, frameCount: burst.frames.count)
    }

    // MARK: Challenge

    func challengeRefusal(burst: LivenessBurst, challenge: LivenessChallenge, now: Date) -> LivenessDecision? {
        if let refusal = challenge.refusal(answering: burst, at: now) { return refusal }
        guard let first = burst.frames.first?.capturedAt, let last = burst.frames.last?.capturedAt else { return nil }
        let skew = configuration.clockSkew
        if first < challenge.issuedAt.addingTimeInterval(-skew)
            || last > min(now, challenge.expiresAt).addingTimeInterval(skew)
        {
            return .challengeRefused(.outsideWindow, detail: "frames captured outside the challenge's window")
        }
        return nil
    }

    // MARK: Frames

    private func analyseFrames(
        _ burst: LivenessBurst,
        timings: inout LivenessStageTimings
    ) throws(LivenessError) -> [FrameEvidence] {
        let limits = configuration.limits
        let passiveIndices = Set(Self.spread(count: configuration.passiveFrames, over: burst.frames.count))
        var evidence: [FrameEvidence] = []
        var tracker: PointTracker?
        var firstSize: (width: Int, height: Int)?
        var detectScale: Double?
        var firstScale = 1.0
        for (index, frame) in burst.frames.enumerated() {
            var start = ContinuousClock.now
            let image: RGBImage
            do {
                image = try RGBImage(
                    decoding: frame.image, maximumPixels: limits.maximumFramePixels,
                    maximumDecoderBytes: limits.maximumDecoderBytes, role: .probe)
            } catch {
                throw .frameUnreadable(index: index, reason: error)
            }
            timings.decode += milliseconds(since: start)
            if let firstSize, firstSize != (image.width, image.height) {
                throw .frameSizeChanged(
                    index: index, width: image.width, height: image.height,
                    expectedWidth: firstSize.width, expectedHeight: firstSize.height)
            }
            if min(image.width, image.height) < limits.minimumFrameSide {
                throw .frameTooSmall(
                    index: index, width: image.width, height: image.height,
                    minimumSide: limits.minimumFrameSide)
            }
            if firstSize == nil {
                firstSize = (image.width, image.height)
                let longSide = Double(max(image.width, image.height))
                firstScale = min(1, Double(configuration.firstDetectionLongSide) / longSide)
            }
            var analysis = try analyse(image, scale: detectScale ?? firstScale)
            if analysis.faces.isEmpty, let scale = detectScale, scale < firstScale {
                analysis = try analyse(image, scale: firstScale)
            }
            timings.detect += analysis.timings.detect
            timings.landmarks += analysis.timings.align
            var item = FrameEvidence(
                analysis: analysis, significantFaces: 0,
                pose: analysis.landmarks.flatMap { HeadPose(landmarks: $0) }, tracked: [],
                passive: nil, embedding: nil)
            if let largest = analysis.faces.first {
                item.significantFaces =
                    analysis.faces.filter {
                        $0.area >= configuration.secondFaceShare * largest.area
                    }.count
                if detectScale == nil {
                    detectScale = min(firstScale, max(0.05, configuration.detectionFaceWidth / largest.width))
                }
                start = ContinuousClock.now
                if tracker == nil {
                    let scale = min(1, max(0.05, configuration.trackingFaceWidth / largest.width))
                    tracker = try PointTracker(
                        scale: scale,
                        maximumPoints: max(1, min(configuration.trackedPoints, 64)))
                }
                if let tracker { item.tracked = try tracker.add(image, face: largest) }
                timings.track += milliseconds(since: start)
                if passiveIndices.contains(index) {
                    item.passive = try passiveModel.score(image, face: largest)
                    timings.passive += item.passive?.milliseconds ?? 0
                }
            }
            evidence.append(item)
        }
        return evidence
    }

    private func analyse(_ image: RGBImage, scale: Double) throws(LivenessError) -> FaceFrameAnalysis {
        do {
            return try engine.analyseFrame(image, detectScale: scale, minimumFaceSize: configuration.minimumFaceSize)
        } catch {
            throw .engineFailure(reason: "\(error)")
        }
    }

    /// `count` indices spread evenly over `0..<total`, first and last included.
    static func spread(count: Int, over total: Int) -> [Int] {
        guard total > 0, count > 0 else { return [] }
        guard count < total else { return Array(0..<total) }
        guard count > 1 else { return [0] }
        return (0..<count).map { Int((Double($0) * Double(total - 1) / Double(count - 1)).rounded()) }
    }

    /// First, last, each prompt's frame, the most frontal frame, then frames spread evenly, up to the maximum.
    func framesToEmbed(_ evidence: [FrameEvidence], promptFrames: [Int]) -> [Int] {
        let candidates = evidence.indices.filter { evidence[$0].analysis.alignedChip != nil }
        let maximum = max(2, configuration.maximumEmbeddedFrames)
        guard candidates.count > maximum else { return candidates }
        var chosen: [Int] = []
        func add(_ index: Int?) {
            if let index, candidates.contains(index), !chosen.contains(index), chosen.count < maximum {
                chosen.append(index)
            }
        }
        add(candidates.first)
        add(candidates.last)
        promptFrames.forEach { add($0) }
        if let baseline = candidates.compactMap({ evidence[$0].pose }).first {
            add(
                candidates.min {
                    abs((evidence[$0].pose?.yaw ?? 9) - baseline.yaw)
                        < abs((evidence[$1].pose?.yaw ?? 9) - baseline.yaw)
                })
        }
        for position in Self.spread(count: maximum, over: candidates.count) { add(candidates[position]) }
        return chosen.sorted()
    }

    // MARK: Checks

    private func singleFaceCheck(_ evidence: [FrameEvidence]) -> LivenessCheckResult {
        let bad = evidence.indices.filter { evidence[$0].significantFaces != 1 }
        guard let first = bad.first else {
            return LivenessCheckResult(
                check: .singleFace, value: 0, threshold: 0, comparison: .atMost,
                detail: "one face in each of \(evidence.count) frames")
        }
        let faces = evidence[first].significantFaces
        return LivenessCheckResult(
            check: .singleFace, value: Double(bad.count), threshold: 0, comparison: .atMost,
            detail: "\(bad.count) frames without exactly one face; frame \(first): "
                + (faces == 0 ? "no face" : "\(faces) faces"), frame: first,
            faceCount: faces)
    }

    private func identityChecks(_ evidence: [FrameEvidence], portrait: LivenessPortrait) -> [LivenessCheckResult] {
        let embedded = evidence.indices.filter { evidence[$0].embedding != nil }
        var largest = 0.0
        var pair = (0, 0)
        for (position, a) in embedded.enumerated() {
            for b in embedded[(position + 1)...] {
                guard let x = evidence[a].embedding, let y = evidence[b].embedding else { continue }
                let distance = x.distance(to: y)
                if distance > largest {
                    largest = distance
                    pair = (a, b)
                }
            }
        }
        let same =
            embedded.count < 2
            ? LivenessCheckResult(
                check: .samePerson, value: .infinity, threshold: configuration.samePersonThreshold,
                comparison: .atMost, detail: "fewer than 2 frames with a usable face")
            : LivenessCheckResult(
                check: .samePerson, value: largest, threshold: configuration.samePersonThreshold,
                comparison: .atMost,
                detail: "largest distance between \(embedded.count) embedded "
                    + "frames: frames \(pair.0) and \(pair.1)", frame: pair.1)
        let baseline = evidence.compactMap(\.pose).first
        let frontal = embedded.filter { index in
            guard let pose = evidence[index].pose, let baseline else { return false }
            return abs(pose.yaw - baseline.yaw) <= configuration.frontalYaw
        }
        let pool = frontal.isEmpty ? embedded : frontal
        func distances(_ frames: [Int]) -> [(Int, Double)] {
            frames.compactMap { index in
                evidence[index].embedding.map { (index, $0.distance(to: portrait.embedding)) }
            }
        }
        let best = distances(pool).min { $0.1 < $1.1 }
        let match =
            best.map {
                LivenessCheckResult(
                    check: .matchesPortrait, value: $0.1, threshold: configuration.matchThreshold,
                    comparison: .atMost,
                    detail: "best of \(pool.count) \(frontal.isEmpty ? "" : "frontal ")frames: "
                        + "frame \($0.0)",
                    frame: $0.0)
            }
            ?? LivenessCheckResult(
                check: .matchesPortrait, value: .infinity, threshold: configuration.matchThreshold,
                comparison: .atMost, detail: "no frame with a usable face")
        let nearest = distances(embedded).min { $0.1 < $1.1 }
        let unlike = LivenessCheckResult(
            check: .unlikePortrait, value: nearest?.1 ?? .infinity, threshold: configuration.portraitFloor,
            comparison: .atLeast,
            detail: nearest.map { "nearest frame to the chip portrait: frame \($0.0)" }
                ?? "no frame with a usable face",
            frame: nearest?.0)
        // The mean over frames would let a close portrait copy hide among good frames; the nearest one decides.
        return [same, match, unlike]
    }

    private func promptCheck(_ sequence: PromptSequenceResult, prompts: [LivenessPrompt]) -> LivenessCheckResult {
        let peaks = zip(prompts, sequence.peaks).map { "\($0.0.rawValue) \(format($0.1, digits: 2))" }
            .joined(separator: ", ")
        var detail: String
        if let missing = sequence.missing {
            detail =
                "\(missing.rawValue) not done after \(sequence.followed) of \(prompts.count) prompts "
                + "(peak progress: \(peaks))"
        } else if let unrequested = sequence.unrequested {
            detail = "unrequested \(unrequested.prompt.rawValue) at frame \(unrequested.frame)"
        } else {
            detail =
                "\(prompts.map(\.rawValue).joined(separator: ", ")) at frames "
                + sequence.frames.map(String.init).joined(separator: ", ")
        }
        let value =
            sequence.unrequested == nil
            ? Double(sequence.followed)
            : Double(min(sequence.followed, prompts.count - 1))
        return LivenessCheckResult(
            check: .promptsFollowed, value: value, threshold: Double(prompts.count),
            comparison: .atLeast, detail: detail, frame: sequence.unrequested?.frame,
            missingPrompt: sequence.missing)
    }

    private func depthCheck(_ evidence: [FrameEvidence]) -> LivenessCheckResult {
        guard let reference = evidence.firstIndex(where: { $0.pose != nil && !$0.tracked.isEmpty }),
            let eyeSpan = evidence[reference].pose?.eyeSpan
        else {
            return LivenessCheckResult(
                check: .depth, value: 0, threshold: configuration.depthThreshold,
                comparison: .atLeast, detail: "no trackable face")
        }
        let points: [[FacePoint?]] = evidence.map { item in
            let landmarks: [FacePoint?] = item.analysis.landmarks?.points ?? Array(repeating: nil, count: 5)
            return landmarks + item.tracked
        }
        let score = PlanarMotion.burstScore(points: points, reference: reference, eyeSpan: eyeSpan)
        let detail =
            score.comparedFrames == 0
            ? "too few points followed through the burst (\(evidence[reference].tracked.count) picked)"
            : "largest parallax residual at frame \(score.frame ?? 0) over \(score.comparedFrames) frames, "
                + "at least \(score.fewestPoints) points each"
        return LivenessCheckResult(
            check: .depth, value: score.score, threshold: configuration.depthThreshold,
            comparison: .atLeast, detail: detail, frame: score.frame)
    }

    private func duplicateCheck(_ evidence: [FrameEvidence]) -> LivenessCheckResult {
        let thumbnails = evidence.map(\.analysis.thumbnail)
        var copies = Set<Int>()
        var closest = Double.infinity
        for a in thumbnails.indices where !thumbnails[a].isEmpty {
            for b in (a + 1)..<thumbnails.count where thumbnails[b].count == thumbnails[a].count {
                var sum = 0
                for (x, y) in zip(thumbnails[a], thumbnails[b]) { sum += abs(Int(x) - Int(y)) }
                let difference = Double(sum) / Double(thumbnails[a].count)
                closest = min(closest, difference)
                if difference < configuration.duplicateFloor {
                    copies.insert(a)
                    copies.insert(b)
                }
            }
        }
        let share = evidence.isEmpty ? 0 : Double(copies.count) / Double(evidence.count)
        return LivenessCheckResult(
            check: .distinctFrames, value: share, threshold: configuration.duplicateShare,
            comparison: .atMost,
            detail: "\(copies.count) of \(evidence.count) frames have a copy (face thumbnails "
                + "closer than \(format(configuration.duplicateFloor, digits: 2)) grey levels; "
                + "closest pair \(closest.isFinite ? format(closest, digits: 2) : "n/a"))",
            frame: copies.min())
    }

    private func replayCheck(
        _ evidence: [FrameEvidence], burst: LivenessBurst, portrait: LivenessPortrait,
        session: String, now: Date
    ) throws(LivenessError) -> LivenessCheckResult {
        let portraitPrint = try ReplayFingerprint(image: portrait.image, embedding: portrait.embedding)
        var prints: [ReplayFingerprint] = []
        var suspected: (Int, ReplaySuspicion)?
        for (index, frame) in burst.frames.enumerated() {
            let print = try ReplayFingerprint(image: frame.image, embedding: evidence[index].embedding)
            prints.append(print)
            guard suspected == nil else { continue }
            if print.digest == portraitPrint.digest {
                suspected = (index, .identicalToPortrait)
            } else if let replayGuard,
                let suspicion = replayGuard.suspicion(
                    of: print, portrait: nil,
                    session: session, now: now)
            {
                suspected = (index, suspicion)
            }
        }
        replayGuard?.record(prints, session: session, now: now)
        guard let suspected else {
            return LivenessCheckResult(
                check: .notReplayed, value: 0, threshold: 0, comparison: .atMost,
                detail: replayGuard == nil
                    ? "portrait bytes only (no replay cache)"
                    : "no frame matches the portrait's bytes or another session's photos")
        }
        return LivenessCheckResult(
            check: .notReplayed, value: 1, threshold: 0, comparison: .atMost,
            detail: "frame \(suspected.0): \(suspected.1)", frame: suspected.0)
    }

    private func passiveCheck(_ evidence: [FrameEvidence]) -> LivenessCheckResult {
        let scored = evidence.indices.compactMap { index in evidence[index].passive.map { (index, $0.real) } }
        guard !scored.isEmpty else {
            return LivenessCheckResult(
                check: .passiveScore, value: 0, threshold: configuration.passiveThreshold,
                comparison: .atLeast, detail: "no frame with a face to score")
        }
        let mean = scored.reduce(0) { $0 + $1.1 } / Double(scored.count)
        let lowest = scored.min { $0.1 < $1.1 }
        return LivenessCheckResult(
            check: .passiveScore, value: mean, threshold: configuration.passiveThreshold,
            comparison: .atLeast,
            detail: "mean over \(scored.count) frames; lowest \(format(lowest?.1 ?? 0)) "
                + "at frame "
                + "\(lowest?.0 ?? 0)", frame: lowest?.0)
    }
}
