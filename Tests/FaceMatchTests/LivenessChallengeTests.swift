import Foundation
import XCTest

@testable import FaceMatch

/// Challenges and the burst limits checked before any frame is decoded.
final class LivenessChallengeTests: XCTestCase {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func testRandomChallengeHasANonceTwoOrThreeDistinctPromptsAndAnExpiry() {
        var generator = SystemRandomNumberGenerator()
        var seen = Set<[LivenessPrompt]>()
        for _ in 0..<200 {
            let challenge = LivenessChallenge.random(using: &generator, now: start)
            XCTAssertEqual(challenge.nonce.count, 16)
            XCTAssertTrue((2...3).contains(challenge.prompts.count))
            XCTAssertEqual(Set(challenge.prompts).count, challenge.prompts.count, "prompts are distinct")
            XCTAssertEqual(challenge.expiresAt.timeIntervalSince(challenge.issuedAt), 20)
            seen.insert(challenge.prompts)
        }
        XCTAssertGreaterThan(seen.count, 20, "order and choice of prompts vary (36 sequences exist)")
        let a = LivenessChallenge.random(using: &generator, now: start)
        let b = LivenessChallenge.random(using: &generator, now: start)
        XCTAssertNotEqual(a.nonce, b.nonce)
    }

    func testSeededChallengesRepeatAndNoncesRoundTripAsHex() {
        var one = SeededGenerator(seed: 3)
        var two = SeededGenerator(seed: 3)
        let a = LivenessChallenge.random(using: &one, now: start, promptCount: 3...3)
        XCTAssertEqual(a, LivenessChallenge.random(using: &two, now: start, promptCount: 3...3))
        XCTAssertEqual(a.prompts.count, 3)
        XCTAssertEqual(a.nonceHex.count, 32)
        XCTAssertEqual(LivenessChallenge.nonce(fromHex: a.nonceHex), a.nonce)
        XCTAssertNil(LivenessChallenge.nonce(fromHex: "abc"))
        XCTAssertNil(LivenessChallenge.nonce(fromHex: String(repeating: "zz", count: 16)))
        XCTAssertEqual(LivenessPrompt.turnLeft.instruction, "turn your head slowly to the left")
        XCTAssertEqual(LivenessPrompt.comeCloser.instruction, "hold still, closer to the camera")
    }

    func burst(count: Int, bytes: Int = 100, interval: TimeInterval = 0.2) -> LivenessBurst {
        LivenessBurst(
            nonce: [],
            frames: (0..<count).map {
                LivenessFrame(
                    image: [UInt8](repeating: 0xFF, count: bytes),
                    capturedAt: start.addingTimeInterval(Double($0) * interval))
            })
    }

    func assertRefused(
        _ burst: LivenessBurst, _ expected: LivenessError, limits: LivenessLimits = LivenessLimits(),
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try limits.validate(burst), file: file, line: line) { error in
            XCTAssertEqual(error as? LivenessError, expected, file: file, line: line)
            XCTAssertFalse("\(error)".isEmpty)
        }
    }

    func testBurstLimits() throws {
        XCTAssertNoThrow(try LivenessLimits().validate(burst(count: 15)))
        assertRefused(burst(count: 7), .tooFewFrames(count: 7, minimum: 8))
        assertRefused(burst(count: 31), .tooManyFrames(count: 31, maximum: 30))
        assertRefused(burst(count: 0), .tooFewFrames(count: 0, minimum: 8))
        var big = burst(count: 10)
        big.frames[4].image = [UInt8](repeating: 0, count: (2 << 20) + 1)
        assertRefused(big, .frameTooLarge(index: 4, bytes: (2 << 20) + 1, limit: 2 << 20))
        assertRefused(
            burst(count: 12, bytes: 1000), .burstTooLarge(bytes: 12_000, limit: 10_000),
            limits: LivenessLimits(maximumBurstBytes: 10_000))
        XCTAssertThrowsError(try LivenessLimits().validate(burst(count: 10, interval: 0.05))) { error in
            guard case .burstTooShort(let seconds, 1)? = error as? LivenessError else { return XCTFail("\(error)") }
            XCTAssertEqual(seconds, 0.45, accuracy: 1e-6)
        }
        XCTAssertThrowsError(try LivenessLimits().validate(burst(count: 10, interval: 2.4))) { error in
            guard case .burstTooLong(let seconds, 20)? = error as? LivenessError else { return XCTFail("\(error)") }
            XCTAssertEqual(seconds, 21.6, accuracy: 1e-6)
        }
        assertRefused(burst(count: 10, interval: 3), .gapTooLong(index: 1, seconds: 3, maximum: 2.5))
    }

    func testTimestampsMustIncreaseAndBeFinite() {
        var swapped = burst(count: 10)
        swapped.frames.swapAt(3, 4)
        assertRefused(swapped, .timestampsNotIncreasing(index: 4))
        var same = burst(count: 10)
        same.frames[6].capturedAt = same.frames[5].capturedAt
        assertRefused(same, .timestampsNotIncreasing(index: 6))
        var broken = burst(count: 10)
        broken.frames[2].capturedAt = Date(timeIntervalSince1970: .nan)
        assertRefused(broken, .timestampInvalid(index: 2))
        var infinite = burst(count: 10)
        infinite.frames[0].capturedAt = Date(timeIntervalSince1970: -.infinity)
        assertRefused(infinite, .timestampInvalid(index: 0))
    }

    func testRefusedChallengeNamesTheCheckAndWhatToDo() {
        let decision = LivenessDecision.challengeRefused(.reused, detail: "already answered")
        XCTAssertFalse(decision.isLive)
        XCTAssertEqual(decision.failingCheck?.check, .challenge)
        XCTAssertTrue(decision.failingCheck?.detail.hasPrefix("reused") ?? false)
        XCTAssertEqual(
            decision.instruction,
            "the prompts have changed: start the liveness step again and follow the new prompts")
    }

    /// The session keeps the evidence as JSON: every check's value and threshold, never an image.
    func testDecisionEvidenceRoundTripsAsJSON() throws {
        let decision = LivenessDecision(
            checks: [
                LivenessCheckResult(
                    check: .depth, value: 0.004, threshold: 0.02, comparison: .atLeast,
                    detail: "largest parallax residual at frame 3", frame: 3),
                LivenessCheckResult(check: .samePerson, value: 0.31, threshold: 0.6, comparison: .atMost, detail: "ok"),
            ], frameCount: 12)
        XCTAssertEqual(decision.failingCheck?.check, .depth)
        let json = try JSONEncoder().encode(decision)
        let text = String(decoding: json, as: UTF8.self)
        XCTAssertTrue(text.contains("\"check\":\"depth\""), text)
        XCTAssertTrue(text.contains("\"comparison\":\"at-least\""), text)
        XCTAssertEqual(try JSONDecoder().decode(LivenessDecision.self, from: json), decision)
    }
}
