import Foundation
import XCTest

@testable import FaceMatch

/// Shared fixtures: the engines, John Salley's chip portrait (300x400 JPEG 2000, as DG2), a fixed challenge and
/// bursts composed from another photo of him (SyntheticBursts).
enum LivenessFixtures {
    static let issued = Date(timeIntervalSince1970: 1_800_000_000)
    static let challenge = LivenessChallenge(
        nonce: Array(0..<16), prompts: [.turnLeft, .lookUp, .comeCloser],
        issuedAt: issued, expiresAt: issued.addingTimeInterval(20))
    static let now = issued.addingTimeInterval(6)
    static let passiveModel = Result { () throws(LivenessError) in try PresentationAttackModel() }

    static func checker(
        _ configuration: LivenessConfiguration = LivenessConfiguration(),
        replayGuard: ReplayGuard? = nil
    ) throws -> LivenessChecker {
        guard case .success(let model) = passiveModel else {
            XCTFail(
                "MiniFASNet models not usable in \(FaceEngine.defaultModelDirectory): "
                    + "run scripts/install-models.sh")
            throw LivenessError.modelMissing(reason: "MiniFASNet")
        }
        return LivenessChecker(
            engine: try FaceFixtures.engine(), passiveModel: model, configuration: configuration,
            replayGuard: replayGuard)
    }

    static func portraitBytes() throws -> [UInt8] {
        try FaceFixtures.portrait("John_Salley", 0).encoded(as: .jp2, quality: 81)
    }

    static func portrait() throws -> LivenessPortrait {
        try LivenessPortrait.analysing(try portraitBytes(), with: try FaceFixtures.matcher())
    }

    static func live() throws -> RGBImage { try FaceFixtures.chip("John_Salley", 3) }
}

final class LivenessCheckerTests: XCTestCase {
    typealias F = LivenessFixtures

    func evaluate(
        _ burst: LivenessBurst, checker: LivenessChecker? = nil, challenge: LivenessChallenge = F.challenge,
        now: Date = F.now, session: String = "s1"
    ) throws -> LivenessDecision {
        let decision = try (checker ?? F.checker()).evaluate(
            burst: burst, challenge: challenge,
            portrait: try F.portrait(), now: now, session: session)
        print(
            "\(decision.failingCheck.map { "refused: \($0.check.rawValue) (\($0.detail))" } ?? "live"); "
                + decision.checks.map { "\($0.check.rawValue) \(format($0.value))/\(format($0.threshold))" }
                .joined(separator: ", "))
        return decision
    }

    func testSyntheticHeadFollowingItsChallengePassesEveryGeometricAndIdentityCheck() throws {
        let burst = try SyntheticBursts.genuine(chip: try F.live(), challenge: F.challenge)
        let decision = try evaluate(burst)
        XCTAssertEqual(
            decision.checks.map(\.check),
            [
                .challenge, .singleFace, .samePerson, .matchesPortrait,
                .unlikePortrait, .promptsFollowed, .depth, .distinctFrames,
                .notReplayed, .passiveScore,
            ])
        for check in decision.checks where check.check != .passiveScore {
            XCTAssertTrue(check.passed, "\(check)")
        }
        let passive = try XCTUnwrap(decision.result(.passiveScore))
        XCTAssertTrue((0...1).contains(passive.value), "a probability")
        XCTAssertEqual(decision.frameCount, 15)
        XCTAssertGreaterThan(decision.timings.detect, 0)
        XCTAssertGreaterThan(decision.timings.embed, 0)
        XCTAssertGreaterThan(decision.timings.passive, 0)
        var advisory = LivenessConfiguration()
        advisory.requiredChecks.remove(.passiveScore)
        let relaxed = try evaluate(burst, checker: try F.checker(advisory))
        XCTAssertTrue(relaxed.isLive, "\(String(describing: relaxed.failingCheck))")
        XCTAssertNil(relaxed.instruction)
        XCTAssertFalse(try XCTUnwrap(relaxed.result(.passiveScore)).required)
    }

    func testChipPortraitReplayedAsEveryFrameIsRefused() throws {
        let burst = SyntheticBursts.portraitReplay(try F.portraitBytes(), challenge: F.challenge)
        let decision = try evaluate(burst)
        XCTAssertFalse(decision.isLive)
        XCTAssertEqual(decision.failingCheck?.check, .unlikePortrait)
        XCTAssertEqual(try XCTUnwrap(decision.result(.unlikePortrait)).value, 0, accuracy: 0.01)
        XCTAssertFalse(try XCTUnwrap(decision.result(.promptsFollowed)).passed)
        XCTAssertFalse(try XCTUnwrap(decision.result(.distinctFrames)).passed)
        let replay = try XCTUnwrap(decision.result(.notReplayed))
        XCTAssertTrue(replay.detail.contains("byte-identical to the chip portrait"), replay.detail)
        XCTAssertEqual(decision.instruction, "hold still, closer to the camera, then follow the prompts slowly")
    }

    /// A flat print tilted about diagonal axes can fake the turns (shear moves the nose against the eyes); it
    /// still moves as one plane.
    func testFlatPrintFakingThePromptsHasNoDepth() throws {
        let burst = try SyntheticBursts.printAttack(chip: try F.live(), challenge: F.challenge)
        let decision = try evaluate(burst)
        XCTAssertFalse(decision.isLive)
        let depth = try XCTUnwrap(decision.result(.depth))
        XCTAssertFalse(depth.passed, "\(depth)")
        XCTAssertLessThan(depth.value, depth.threshold)
    }

    func testPrintShownOnAScreenIsRefused() throws {
        let burst = try SyntheticBursts.printAttack(chip: try F.live(), challenge: F.challenge, screen: true)
        let decision = try evaluate(burst)
        XCTAssertFalse(decision.isLive)
        XCTAssertFalse(try XCTUnwrap(decision.result(.passiveScore)).passed)
    }

    func testRightPersonsPrintWithAnotherPersonDoingThePromptsIsRefused() throws {
        let accomplice = try FaceFixtures.chip("John_Simm", 2)
        let burst = try SyntheticBursts.mixedPeople(
            victim: try F.live(), accomplice: accomplice,
            challenge: F.challenge)
        let decision = try evaluate(burst)
        XCTAssertEqual(decision.failingCheck?.check, .samePerson)
        XCTAssertGreaterThan(try XCTUnwrap(decision.result(.samePerson)).value, 0.6)
        XCTAssertTrue(try XCTUnwrap(decision.result(.matchesPortrait)).passed, "the print alone would match")
    }

    func testAnotherPersonFollowingThePromptsDoesNotMatchThePortrait() throws {
        let other = try FaceFixtures.chip("John_Schneider", 1)
        let burst = try SyntheticBursts.genuine(chip: other, challenge: F.challenge)
        let decision = try evaluate(burst)
        let match = try XCTUnwrap(decision.result(.matchesPortrait))
        XCTAssertFalse(match.passed)
        XCTAssertGreaterThan(match.value, 0.5)
        XCTAssertFalse(decision.isLive)
        XCTAssertEqual(decision.instruction, "the card holder must be in front of the camera: look straight at it")
    }

    func testSecondFaceInTheFramesFailsSingleFace() throws {
        let base = try SyntheticBursts.genuine(chip: try F.live(), challenge: F.challenge, frames: 10)
        let other = try FaceFixtures.chip("John_Savage", 1).resized(width: 140, height: 140)
        var burst = base
        for index in 4..<7 {
            let frame = try RGBImage(decoding: burst.frames[index].image).drawing(other, x: 480, y: 300)
            burst.frames[index].image = try frame.encoded(as: .jpeg, quality: 90)
        }
        let decision = try evaluate(burst)
        let single = try XCTUnwrap(decision.result(.singleFace))
        XCTAssertFalse(single.passed)
        XCTAssertEqual(single.value, 3)
        XCTAssertEqual(single.frame, 4)
        XCTAssertEqual(decision.failingCheck?.check, .singleFace)
        XCTAssertEqual(decision.instruction, "only one person may be in front of the camera")
    }

    func testBurstFollowingAnotherChallengeIsRefusedBeforeAnyFrameIsDecoded() throws {
        let other = LivenessChallenge(
            nonce: Array(repeating: 9, count: 16), prompts: [.turnRight, .lookUp],
            issuedAt: F.issued, expiresAt: F.issued.addingTimeInterval(20))
        let burst = try SyntheticBursts.genuine(chip: try F.live(), challenge: other, frames: 8)
        let decision = try evaluate(burst)
        XCTAssertEqual(decision.failingCheck?.check, .challenge)
        XCTAssertTrue(decision.failingCheck?.detail.hasPrefix("nonce-mismatch") ?? false)
        XCTAssertEqual(decision.timings.total, 0)
        // The same prompts under this session's nonce still fail: the poses follow the other prompts.
        var relabelled = burst
        relabelled.nonce = F.challenge.nonce
        let followed = try evaluate(relabelled)
        XCTAssertFalse(followed.isLive)
        let prompts = try XCTUnwrap(followed.result(.promptsFollowed))
        XCTAssertFalse(prompts.passed)
        XCTAssertEqual(prompts.missingPrompt, .turnLeft)
        XCTAssertEqual(followed.failingCheck?.check, .promptsFollowed)
        XCTAssertEqual(followed.instruction, "turn your head slowly to the left")
    }

    func testExpiredChallengeAndFramesOutsideItsWindowAreRefused() throws {
        let burst = SyntheticBursts.portraitReplay(try F.portraitBytes(), challenge: F.challenge, frames: 8)
        let late = try evaluate(burst, now: F.challenge.expiresAt.addingTimeInterval(1))
        XCTAssertTrue(late.failingCheck?.detail.hasPrefix("expired") ?? false)
        let early = SyntheticBursts.portraitReplay(
            try F.portraitBytes(), challenge: F.challenge, frames: 8,
            start: F.issued.addingTimeInterval(-30))
        let outside = try evaluate(early)
        XCTAssertTrue(outside.failingCheck?.detail.hasPrefix("outside-window") ?? false)
    }

    func testMalformedFramesGetTypedErrors() throws {
        let checker = try F.checker()
        var burst = SyntheticBursts.portraitReplay(try F.portraitBytes(), challenge: F.challenge, frames: 8)
        burst.frames[2].image = Array("not an image".utf8)
        XCTAssertThrowsError(
            try checker.evaluate(
                burst: burst, challenge: F.challenge, portrait: try F.portrait(),
                now: F.now)
        ) { error in
            XCTAssertEqual(error as? LivenessError, .frameUnreadable(index: 2, reason: .unsupportedImageFormat(.probe)))
        }
        burst = SyntheticBursts.portraitReplay(try F.portraitBytes(), challenge: F.challenge, frames: 8)
        burst.frames[5].image = try FaceFixtures.grey(width: 320, height: 240).encoded(as: .png)
        XCTAssertThrowsError(
            try checker.evaluate(
                burst: burst, challenge: F.challenge, portrait: try F.portrait(),
                now: F.now)
        ) { error in
            XCTAssertEqual(
                error as? LivenessError,
                .frameSizeChanged(
                    index: 5, width: 320, height: 240, expectedWidth: 300,
                    expectedHeight: 400))
        }
        burst.frames[5].image = try FaceFixtures.grey(width: 300, height: 200).encoded(as: .png)
        var limits = LivenessConfiguration()
        limits.limits.maximumFramePixels = 100_000
        XCTAssertThrowsError(
            try F.checker(limits).evaluate(
                burst: burst, challenge: F.challenge,
                portrait: try F.portrait(), now: F.now)
        ) { error in
            guard case .frameUnreadable(0, .imageTooManyPixels)? = error as? LivenessError else {
                return XCTFail("expected the pixel cap from the first frame's header, got \(error)")
            }
        }
    }

    func testFramesUsedInAnotherSessionAreSuspectedReplays() throws {
        let guardCache = ReplayGuard()
        let checker = try F.checker(replayGuard: guardCache)
        let burst = try SyntheticBursts.genuine(chip: try F.live(), challenge: F.challenge, frames: 10, seed: 4)
        let first = try evaluate(burst, checker: checker, session: "session-a")
        XCTAssertTrue(try XCTUnwrap(first.result(.notReplayed)).passed)
        XCTAssertEqual(guardCache.count(now: F.now), 10, "every frame is remembered (digest and embedding)")
        let again = try evaluate(burst, checker: checker, session: "session-a")
        XCTAssertTrue(try XCTUnwrap(again.result(.notReplayed)).passed, "a retry in the same session is no replay")
        let replayed = try evaluate(burst, checker: checker, session: "session-b")
        let check = try XCTUnwrap(replayed.result(.notReplayed))
        XCTAssertFalse(check.passed)
        XCTAssertTrue(check.detail.contains("byte-identical to a photo used in another session"), check.detail)
        XCTAssertFalse(replayed.isLive)
    }
}

/// The engine's frame path: decoded RGB in, landmarks, thumbnail and chip out, the ResNet on chosen chips only.
final class FaceFrameAnalysisTests: XCTestCase {
    func testFramePathEmbedsLikeTheImagePath() throws {
        let engine = try FaceFixtures.engine()
        let photo = try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Simm", 4), 380, 400, 200)])
        let frame = try engine.analyseFrame(photo, detectScale: 0.5, minimumFaceSize: 80)
        XCTAssertEqual(frame.faceCount, 1)
        let landmarks = try XCTUnwrap(frame.landmarks)
        XCTAssertGreaterThan(landmarks.imageRightEyeOuter.x, landmarks.imageLeftEyeOuter.x, "dlib's order")
        XCTAssertGreaterThan(landmarks.noseBase.y, landmarks.imageRightEyeInner.y)
        XCTAssertEqual(frame.thumbnail.count, 32 * 32)
        let chip = try XCTUnwrap(frame.alignedChip)
        let fromFrame = try engine.embed(chip: chip)
        let fromImage = try XCTUnwrap(
            try FaceFixtures.matcher().analyse(try photo.encoded(as: .png), role: .probe)
                .embedding)
        XCTAssertLessThan(fromFrame.distance(to: fromImage), 0.05, "same face, same pipeline up to the scale")
        XCTAssertThrowsError(try engine.embed(chip: Array(chip.prefix(100)))) { error in
            guard case .engineFailure? = error as? FaceMatchError else { return XCTFail("\(error)") }
        }
    }

    func testFrameWithoutAFaceHasNoLandmarksThumbnailOrChip() throws {
        let frame = try FaceFixtures.engine().analyseFrame(
            FaceFixtures.grey(width: 640, height: 480), detectScale: 1,
            minimumFaceSize: 80)
        XCTAssertEqual(frame.faceCount, 0)
        XCTAssertNil(frame.landmarks)
        XCTAssertTrue(frame.thumbnail.isEmpty)
        XCTAssertNil(frame.alignedChip)
    }

    func testFaceNarrowerThanTheMinimumKeepsItsLandmarksButNoChip() throws {
        let photo = try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Simm", 4), 200, 400, 200)])
        let frame = try FaceFixtures.engine().analyseFrame(photo, detectScale: 1, minimumFaceSize: 400)
        XCTAssertEqual(frame.faceCount, 1)
        XCTAssertNotNil(frame.landmarks)
        XCTAssertNil(frame.alignedChip)
    }
}
