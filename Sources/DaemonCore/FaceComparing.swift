import EnrollAPIModel
import Enrollment
import UnixHTTP
import FaceMatch
import Foundation
import Synchronization

/// Owns the dlib and MiniFASNet engines: the models load once (at start-up or on first use) into a pool of
/// workers, each with engines of its own (`FaceWorkPool`): comparisons, portrait analyses and liveness bursts all
/// run on a worker, within the caller's share, the bounded queue and the longest wait of `[face]`.
public final class FaceService: FaceComparator {
    private let pool = Mutex<FaceWorkPool?>(nil)
    private let modelDirectory: String
    private let configuration: FaceMatchConfiguration
    private let limits: FaceWorkLimits
    private let liveness: LivenessConfiguration

    public init(configuration: Configuration) {
        modelDirectory = configuration.faceModelDirectory ?? FaceEngine.defaultModelDirectory
        self.configuration = configuration.faceMatchConfiguration
        limits = configuration.faceWorkLimits
        liveness = configuration.livenessConfiguration
    }

    /// The workers, loading the models on first use (one caller loads, the others wait for it).
    public func loadedPool() throws(FaceMatchError) -> FaceWorkPool {
        try pool.withLock { (loaded: inout FaceWorkPool?) throws(FaceMatchError) -> FaceWorkPool in
            if let loaded { return loaded }
            let fresh = try FaceWorkPool(engine: try FaceEngine(modelDirectory: modelDirectory), limits: limits)
            loaded = fresh
            Log.info("face models loaded from \(modelDirectory) for \(limits.workers) worker(s)")
            return fresh
        }
    }

    public func warmUp() {
        _ = try? loadedPool()
    }

    /// Jobs running and waiting now, refusals so far (for `/metrics`); nil before the models are loaded.
    public var load: (running: Int, waiting: Int, refused: [FaceWorkBusy.Reason: Int])? {
        pool.withLock { $0?.load }
    }

    /// Compares a reference portrait with a live photo on a worker of `caller`'s share.
    public func compare(reference: [UInt8], probe: [UInt8], caller: UInt32) throws(FaceMatchError) -> FaceComparison {
        let pool = try loadedPool()
        let lease: FaceWorkLease
        do throws(FaceWorkBusy) {
            lease = try pool.acquire(caller: caller)
        } catch {
            throw .engineBusy(error)
        }
        defer { lease.release() }
        return try FaceMatcher(engine: lease.worker.engine, configuration: configuration)
            .compare(reference: reference, probe: probe)
    }

    /// Analyses the chip portrait and evaluates the burst on one worker (its face engine and its MiniFASNet
    /// models), checking and recording frames in `replayGuard` under `session`.
    public func checkLiveness(
        _ burst: LivenessBurst, challenge: LivenessChallenge, portrait: [UInt8],
        session: String, caller: UInt32, now: Date,
        replayGuard: ReplayGuard?
    ) throws(LivenessError) -> LivenessDecision {
        // Bounds that need no decoding come first: a malformed burst never waits for a worker.
        try liveness.limits.validate(burst)
        let pool: FaceWorkPool
        do throws(FaceMatchError) {
            pool = try loadedPool()
        } catch {
            switch error {
            case .modelMissing(let reason): throw .modelMissing(reason: reason)
            case .modelInvalid(let reason): throw .modelInvalid(reason: reason)
            default: throw .engineFailure(reason: "\(error)")
            }
        }
        let lease: FaceWorkLease
        do throws(FaceWorkBusy) {
            lease = try pool.acquire(caller: caller)
        } catch {
            throw .engineBusy(error)
        }
        defer { lease.release() }
        let engine = lease.worker.engine
        let reference: LivenessPortrait
        do throws(FaceMatchError) {
            reference = try LivenessPortrait.analysing(
                portrait,
                with: FaceMatcher(
                    engine: engine,
                    configuration: configuration))
        } catch {
            throw .portraitUnusable(error)
        }
        let checker = LivenessChecker(
            engine: engine, passiveModel: try lease.worker.presentationAttackModel(),
            configuration: liveness, replayGuard: replayGuard)
        return try checker.evaluate(
            burst: burst, challenge: challenge, portrait: reference, now: now,
            session: session)
    }
}

extension Configuration {
    /// `[face]` as the matcher's policy: threshold, face size, body and pixel caps, the decoders' memory bound.
    public var faceMatchConfiguration: FaceMatchConfiguration {
        FaceMatchConfiguration(
            threshold: faceThreshold, minimumFaceSize: faceMinimumSize,
            maximumImageBytes: maxRequestBodyBytes, probeMaximumPixels: faceProbeMaxPixels,
            referenceMaximumPixels: faceReferenceMaxPixels,
            maximumDecoderBytes: faceDecoderMemoryMiB << 20)
    }

    /// `[face]` workers, queue, caller share and wait.
    public var faceWorkLimits: FaceWorkLimits {
        FaceWorkLimits(
            workers: faceWorkers, queueLength: faceQueueLength, perCaller: faceJobsPerCaller,
            maximumWait: faceQueueWaitSeconds)
    }

    /// `[liveness]` as the checker's bounds and thresholds (matches-portrait uses `[face] threshold`).
    public var livenessConfiguration: LivenessConfiguration {
        // A maximum under its minimum counts as the minimum.
        let limits = LivenessLimits(
            minimumFrames: livenessMinFrames,
            maximumFrames: max(livenessMinFrames, livenessMaxFrames),
            maximumFrameBytes: livenessMaxFrameBytes,
            maximumBurstBytes: max(livenessMaxFrameBytes, livenessMaxBurstBytes),
            maximumFramePixels: livenessFrameMaxPixels,
            maximumSpan: livenessChallengeSeconds)
        let prompts = PromptThresholds(
            turn: livenessTurnThreshold, lookUp: livenessLookUpThreshold,
            closer: livenessCloserFactor, unrequestedFactor: livenessUnrequestedFactor)
        let reportOnly = Set(livenessReportOnly.compactMap(LivenessCheck.init(rawValue:)))
        return LivenessConfiguration(
            limits: limits, clockSkew: livenessClockSkewSeconds,
            samePersonThreshold: livenessSamePersonThreshold, matchThreshold: faceThreshold,
            prompts: prompts, depthThreshold: livenessDepthThreshold,
            duplicateFloor: livenessDuplicateFloor, duplicateShare: livenessDuplicateShare,
            portraitFloor: replayFloor, passiveThreshold: livenessPassiveThreshold,
            requiredChecks: Set(LivenessCheck.allCases).subtracting(reportOnly))
    }

    /// The replay cache of `[liveness]`.
    public var replayGuardConfiguration: ReplayGuard.Configuration {
        ReplayGuard.Configuration(
            floor: replayFloor, capacity: replayCacheEntries,
            lifetime: replayCacheHours * 3600)
    }

    /// The burst route's body limit: the frames' bytes in base64 (4/3) and 64 KiB of JSON around them.
    public var livenessBodyBytes: Int { max(maxRequestBodyBytes, livenessMaxBurstBytes / 3 * 4 + 4 + (64 << 10)) }
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
        case .engineBusy(let busy):
            self.init(.faceEngineBusy, detail: busy.description)
            retryAfter = busy.retryAfterSeconds
            return
        }
        self.init(kind, detail: error.description)
    }

    /// Refusals of a burst: malformed ones are `invalid-burst` (the detail names the frame and what to do), engine
    /// and model problems are the daemon's, a portrait that cannot be compared is the face problem it has.
    public init(_ error: LivenessError) {
        switch error {
        case .modelMissing, .modelInvalid:
            self.init(.faceModelsMissing, detail: error.description)
        case .engineFailure:
            self.init(.faceEngineFailure, detail: error.description)
        case .engineBusy(let busy):
            self.init(FaceMatchError.engineBusy(busy))
        case .portraitUnusable(let reason):
            self.init(reason)
            detail = error.description
        case .tooFewFrames, .tooManyFrames, .frameTooLarge, .burstTooLarge, .frameUnreadable, .frameSizeChanged,
            .frameTooSmall, .timestampsNotIncreasing, .timestampInvalid, .burstTooShort, .burstTooLong, .gapTooLong:
            self.init(.invalidBurst, detail: error.description)
        }
    }
}

/// The replay check every live photo goes through, in the photo step and in `POST /v1/faces/compare`, with or
/// without the liveness step: a photo byte-identical to the reference (the chip portrait), or closer to it than the
/// floor, or one already used in another session (`ReplayGuard`'s cache), is refused as `suspected-replay`. The
/// bytes are screened before any face work; the embeddings after the comparison, and then the photo is recorded
/// under `session`, refused or not (a photo tried once is used).
struct PhotoReplayCheck {
    let replayGuard: ReplayGuard
    let now: @Sendable () -> Date

    /// Byte-identical copies, before the engine runs.
    func screen(reference: [UInt8], probe: [UInt8], session: String) throws(Problem) {
        let photo = try Self.fingerprint(probe, embedding: nil)
        let portrait = try Self.fingerprint(reference, embedding: nil)
        if let suspicion = replayGuard.suspicion(of: photo, portrait: portrait, session: session, now: now()) {
            replayGuard.record([photo], session: session, now: now())
            throw Self.problem(suspicion)
        }
    }

    /// Near copies, with the comparison's embeddings; records the photo.
    func check(_ comparison: FaceComparison, reference: [UInt8], probe: [UInt8], session: String) throws(Problem) {
        let photo = try Self.fingerprint(probe, embedding: comparison.probe.embedding)
        let portrait = try Self.fingerprint(reference, embedding: comparison.reference.embedding)
        let at = now()
        let suspicion = replayGuard.suspicion(of: photo, portrait: portrait, session: session, now: at)
        replayGuard.record([photo], session: session, now: at)
        if let suspicion { throw Self.problem(suspicion) }
    }

    static func fingerprint(_ image: [UInt8], embedding: FaceEmbedding?) throws(Problem) -> ReplayFingerprint {
        do throws(LivenessError) {
            return try ReplayFingerprint(image: image, embedding: embedding)
        } catch {
            throw Problem(error)
        }
    }

    static func problem(_ suspicion: ReplaySuspicion) -> Problem {
        Problem(
            .suspectedReplay,
            detail: "the live photo is not a live capture (\(suspicion)): take a new photo of "
                + "the person in front of the camera")
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
        self.init(
            format: analysis.format.rawValue, width: analysis.width, height: analysis.height,
            facesFound: analysis.faceCount,
            chosenFace: analysis.chosenFace.map {
                FaceBox(
                    left: Int($0.left.rounded()), top: Int($0.top.rounded()), width: Int($0.width.rounded()),
                    height: Int($0.height.rounded()))
            },
            faceSize: analysis.chosenFace?.size,
            timingsMs: [
                "decode": analysis.timings.decode, "detect": analysis.timings.detect,
                "align": analysis.timings.align, "embed": analysis.timings.embed,
            ])
    }
}

extension FaceCompareResponse {
    public init(_ comparison: FaceComparison) {
        self.init(
            score: comparison.score, distance: comparison.distance, threshold: comparison.threshold,
            decision: comparison.isMatch ? "match" : "no-match", reference: FaceImageReport(comparison.reference),
            probe: FaceImageReport(comparison.probe), totalMs: comparison.totalMilliseconds)
    }
}
