import DaemonCore
import EnrollAPIModel
import FaceMatch
import Foundation
import UnixHTTP
import VirtualCard
import XCTest

/// The liveness step through real pcscd + vpcd, the real daemon (default policy: the signing tier needs it), dlib
/// and the MiniFASNet models (issue 19): a genuine burst that follows its challenge reaches the signing tier; the
/// chip portrait replayed, a print of one photo moved to fake the prompts, a burst made for another session's
/// challenge, an expired and a reused challenge are refused with `liveness-failed` naming the check; a single photo
/// byte-identical to the chip portrait is refused as `suspected-replay` in the photo step and in
/// `POST /v1/faces/compare`.
///
/// Bursts are the engine's synthetic 3D heads (`SyntheticBursts`): John Shimkus's chip 1 as the texture passes every
/// check for each of the 36 prompt sequences; the card's portrait is his chip 0 as a 300x400 JPEG 2000 (DG2).
final class LivenessFlowTests: XCTestCase {
    private var bench: Bench!
    private var pki: URL!
    private var client: UnixSocketClient!
    private var portrait: [UInt8] = []

    static let mrz = EnrollmentFlowTests.salley
    static let person = "John_Shimkus"

    override func setUpWithError() throws {
        bench = try Bench()
        pki = bench.workDirectory.appendingPathComponent("pki")
        _ = try BenchPKI.create(directory: pki.path)
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    static func chip(_ index: Int) throws -> RGBImage {
        let folder = CardReadTests.johns.appendingPathComponent(person)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try RGBImage(decoding: [UInt8](try Data(contentsOf: folder.appendingPathComponent(names[index]))))
    }

    /// The CA, a card whose DG2 is the portrait, and the daemon with the default liveness policy.
    private func start(extraConfig: String = "") throws {
        let state = bench.workDirectory.appendingPathComponent("state")
        let config = "[trust]\ndirectory = \(pki.path)/trust\n[daemon]\nstate_directory = \(state.path)\n\(extraConfig)"
        let configFile = bench.workDirectory.appendingPathComponent("ca.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let ca = try bench.launch(
            try Bench.executable("enrolld"), ["--config", configFile.path, "ca", "init"],
            log: "ca.log")
        ca.waitUntilExit()
        XCTAssertEqual(ca.terminationStatus, 0, bench.log("ca.log"))
        portrait = try SyntheticFaceImages.portrait(from: try Self.chip(0)).encoded(as: .jp2, quality: 81)
        let portraitFile = bench.workDirectory.appendingPathComponent("portrait.jp2")
        try Data(portrait).write(to: portraitFile)
        let card: [String: Any] = [
            "kind": "emrtd", "mrz": Self.mrz, "portrait": "@" + portraitFile.path,
            "documentSigner": ["certificate": "@\(pki.path)/dsc.pem", "key": "@\(pki.path)/dsc.key"],
        ]
        let profile = bench.workDirectory.appendingPathComponent("card.json")
        try JSONSerialization.data(withJSONObject: card).write(to: profile)
        try bench.startCard(profile: profile.path)
        client = try bench.startDaemon(configuration: config, liveness: true).client
        try bench.waitForCard(in: Bench.reader0, client: client)
    }

    private func post<T: Encodable>(_ path: String, _ body: T) throws -> HTTPResponse {
        try client.post(path, json: [UInt8](try JSONEncoder().encode(body)))
    }

    private func problem(_ response: HTTPResponse) -> Problem? {
        try? JSONDecoder().decode(Problem.self, from: Data(response.body))
    }

    private func session() throws -> String {
        let started = try post(
            "/v1/enrollments",
            EnrollmentStartBody(
                reader: Bench.reader0, accessKey: AccessKeyRequest(mrz: Self.mrz.joined(separator: "\n"))))
        XCTAssertEqual(started.status, 201, String(decoding: started.body, as: UTF8.self))
        return try JSONDecoder().decode(EnrollmentView.self, from: Data(started.body)).id
    }

    private func view(_ session: String) throws -> EnrollmentView {
        try JSONDecoder().decode(EnrollmentView.self, from: Data(try client.get("/v1/enrollments/\(session)").body))
    }

    /// A challenge from the daemon, as FaceMatch's type (the nonce, prompts and times the daemon gave).
    private func challenge(_ session: String) throws -> LivenessChallenge {
        let answer = try client.post("/v1/enrollments/\(session)/liveness/challenge", json: [])
        XCTAssertEqual(answer.status, 201, String(decoding: answer.body, as: UTF8.self))
        let wire = try JSONDecoder().decode(LivenessChallengeResponse.self, from: Data(answer.body))
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return LivenessChallenge(
            nonce: try XCTUnwrap(LivenessChallenge.nonce(fromHex: wire.nonceHex)),
            prompts: wire.prompts.compactMap(LivenessPrompt.init(rawValue:)),
            issuedAt: try XCTUnwrap(format.date(from: wire.issuedAt)),
            expiresAt: try XCTUnwrap(format.date(from: wire.expiresAt)))
    }

    /// Posts `burst` to `session` once the capture it stands for is over (its last frame's time has passed, as for a
    /// camera that captured for that long).
    private func send(_ burst: LivenessBurst, to session: String) throws -> HTTPResponse {
        if let last = burst.frames.last?.capturedAt, last > Date() {
            Thread.sleep(forTimeInterval: last.timeIntervalSinceNow + 0.05)
        }
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return try post(
            "/v1/enrollments/\(session)/liveness",
            LivenessBurstBody(
                nonceHex: burst.nonce.map { String(format: "%02x", $0) }.joined(),
                frames: burst.frames.map {
                    LivenessFrameBody(
                        image: Data($0.image).base64EncodedString(),
                        capturedAt: format.string(from: $0.capturedAt))
                }))
    }

    private func genuine(_ challenge: LivenessChallenge) throws -> LivenessBurst {
        try SyntheticBursts.genuine(chip: try Self.chip(1), challenge: challenge, seed: 3)
    }

    /// The refusal's problem: `liveness-failed`, naming a check the session's evidence shows failed, with the
    /// instruction for the person.
    private func assertLivenessFailed(
        _ response: HTTPResponse, session: String, check expected: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> Problem {
        XCTAssertEqual(response.status, 422, String(decoding: response.body, as: UTF8.self), file: file, line: line)
        let refusal = try XCTUnwrap(problem(response), file: file, line: line)
        XCTAssertEqual(refusal.code, "liveness-failed", refusal.detail, file: file, line: line)
        let check = try XCTUnwrap(refusal.check, file: file, line: line)
        if let expected { XCTAssertEqual(check, expected, refusal.detail, file: file, line: line) }
        XCTAssertFalse((refusal.instruction ?? "").isEmpty, file: file, line: line)
        XCTAssertTrue(refusal.detail.contains(check), refusal.detail, file: file, line: line)
        let evidence = try XCTUnwrap(try view(session).liveness, file: file, line: line)
        XCTAssertFalse(evidence.live, file: file, line: line)
        XCTAssertEqual(evidence.failingCheck, check, file: file, line: line)
        XCTAssertEqual(evidence.checks.first { $0.check == check }?.passed, false, file: file, line: line)
        return refusal
    }

    func testASigningEnrollmentPassesWithAGenuineBurstThatFollowsItsChallenge() throws {
        try start()
        let session = try session()
        let early = try post(
            "/v1/enrollments/\(session)/complete",
            EnrollmentCompleteBody(
                csr: try bench.makeHolderKey(
                    "early"
                ).csr))
        XCTAssertEqual(problem(early)?.code, "enrollment-wrong-state", "no face yet")

        let challenge = try challenge(session)
        XCTAssertTrue((2...3).contains(challenge.prompts.count))
        XCTAssertEqual(challenge.expiresAt.timeIntervalSince(challenge.issuedAt), 20, accuracy: 0.01)
        let answer = try send(try genuine(challenge), to: session)
        XCTAssertEqual(answer.status, 200, String(decoding: answer.body, as: UTF8.self))
        let live = try JSONDecoder().decode(EnrollmentView.self, from: Data(answer.body))
        XCTAssertEqual(live.state, "face-matched", "the live burst is the face match")
        let evidence = try XCTUnwrap(live.liveness)
        XCTAssertTrue(evidence.live)
        XCTAssertEqual(evidence.frames, 15)
        XCTAssertEqual(Set(evidence.checks.map(\.check)), Set(LivenessCheck.allCases.map(\.rawValue)))
        for check in evidence.checks {
            XCTAssertTrue(check.passed && check.required, "\(check)")
            XCTAssertNotNil(check.value, check.check)
        }
        XCTAssertLessThanOrEqual(try XCTUnwrap(live.face).distance, 0.5)

        let completed = try post(
            "/v1/enrollments/\(session)/complete",
            EnrollmentCompleteBody(csr: try bench.makeHolderKey("holder").csr))
        XCTAssertEqual(completed.status, 200, String(decoding: completed.body, as: UTF8.self))
        let outcome = try JSONDecoder().decode(EnrollmentOutcome.self, from: Data(completed.body))
        XCTAssertEqual(outcome.tier, "signing")
        XCTAssertNotNil(outcome.certificatePEM)
        let stored = try view(session)
        XCTAssertEqual(stored.state, "completed")
        XCTAssertEqual(stored.liveness, evidence, "the finished session keeps every check's value and threshold")
    }

    func testThePhotoStepAloneDoesNotReachTheSigningTier() throws {
        try start()
        let session = try session()
        let photo = try Self.chip(1).encoded(as: .jpeg, quality: 92)
        let matched = try post(
            "/v1/enrollments/\(session)/photo",
            EnrollmentPhotoBody(photo: Data(photo).base64EncodedString()))
        XCTAssertEqual(matched.status, 200, String(decoding: matched.body, as: UTF8.self))
        let completed = try post(
            "/v1/enrollments/\(session)/complete",
            EnrollmentCompleteBody(csr: try bench.makeHolderKey("holder").csr))
        XCTAssertEqual(completed.status, 409)
        XCTAssertEqual(problem(completed)?.code, "liveness-required")
        let basic = try post("/v1/enrollments/\(session)/complete", EnrollmentCompleteBody())
        XCTAssertEqual(basic.status, 200, "the basic tier may skip the liveness step")
    }

    func testTheChipPortraitReplayedAndAPrintMovedToFakeThePromptsFailNamingTheCheck() throws {
        try start()
        let replayed = try session()
        let first = try challenge(replayed)
        let refusal = try assertLivenessFailed(
            try send(SyntheticBursts.portraitReplay(portrait, challenge: first), to: replayed), session: replayed,
            check: "unlike-portrait")
        XCTAssertEqual(refusal.attemptsLeft, 2)
        let replayEvidence = try XCTUnwrap(try view(replayed).liveness)
        XCTAssertEqual(
            replayEvidence.checks.first { $0.check == "not-replayed" }?.passed, false,
            "byte-identical to the chip portrait")

        let printed = try session()
        let flat = try challenge(printed)
        let print = try SyntheticBursts.printAttack(chip: try Self.chip(2), challenge: flat, seed: 5)
        _ = try assertLivenessFailed(try send(print, to: printed), session: printed)
        let printEvidence = try XCTUnwrap(try view(printed).liveness)
        XCTAssertEqual(
            printEvidence.checks.first { $0.check == "depth" }?.passed, false,
            "every view of a plane is one homography: \(printEvidence.checks)")
    }

    func testChallengesOfAnotherSessionExpiredOrReusedFailNamingTheChallenge() throws {
        try start(extraConfig: "[liveness]\nchallenge_seconds = 8\n")
        // A burst made for session B's challenge, posted to session A.
        let a = try session()
        let b = try session()
        let ours = try challenge(a)
        let theirs = try challenge(b)
        XCTAssertNotEqual(ours.nonce, theirs.nonce)
        let stolen = try assertLivenessFailed(try send(try genuine(theirs), to: a), session: a, check: "challenge")
        XCTAssertTrue(stolen.detail.contains("nonce-mismatch"), stolen.detail)
        XCTAssertEqual(try view(a).state, "card-verified")

        // The same burst, once the challenge is over.
        let late = try session()
        let expiring = try challenge(late)
        let burst = try genuine(expiring)
        Thread.sleep(forTimeInterval: max(0, expiring.expiresAt.timeIntervalSinceNow) + 0.5)
        let expired = try assertLivenessFailed(try send(burst, to: late), session: late, check: "challenge")
        XCTAssertTrue(expired.detail.contains("expired"), expired.detail)

        // A challenge answered once (by a print) and then again (by a genuine burst).
        let again = try session()
        let once = try challenge(again)
        _ = try assertLivenessFailed(
            try send(
                try SyntheticBursts.printAttack(chip: try Self.chip(2), challenge: once),
                to: again), session: again)
        let reused = try assertLivenessFailed(
            try send(try genuine(once), to: again), session: again, check: "challenge")
        XCTAssertTrue(reused.detail.contains("reused"), reused.detail)
        // A fresh challenge is the next attempt, and a genuine burst for it passes.
        let fresh = try challenge(again)
        XCTAssertEqual(try send(try genuine(fresh), to: again).status, 200)
    }

    func testAPhotoByteIdenticalToTheChipPortraitIsASuspectedReplay() throws {
        try start()
        let session = try session()
        let copy = try post(
            "/v1/enrollments/\(session)/photo",
            EnrollmentPhotoBody(photo: Data(portrait).base64EncodedString()))
        XCTAssertEqual(copy.status, 422)
        XCTAssertEqual(problem(copy)?.code, "suspected-replay")
        XCTAssertTrue(problem(copy)?.detail.contains("byte-identical to the chip portrait") == true)
        XCTAssertEqual(try view(session).photoAttemptsLeft, 2, "the copy counted as an attempt")

        let compared = try post(
            "/v1/faces/compare",
            FaceCompareRequest(
                reference: Data(portrait).base64EncodedString(),
                probe: Data(portrait).base64EncodedString()))
        XCTAssertEqual(compared.status, 422)
        XCTAssertEqual(problem(compared)?.code, "suspected-replay")
        // A re-encoding of the portrait is as much a copy (under the 0.10 floor).
        let reencoded = try RGBImage(decoding: portrait).encoded(as: .jpeg, quality: 80)
        let near = try post(
            "/v1/faces/compare",
            FaceCompareRequest(
                reference: Data(portrait).base64EncodedString(),
                probe: Data(reencoded).base64EncodedString()))
        XCTAssertEqual(problem(near)?.code, "suspected-replay", String(decoding: near.body, as: UTF8.self))
        // Another photo of the holder is compared as usual.
        let other = try post(
            "/v1/faces/compare",
            FaceCompareRequest(
                reference: Data(portrait).base64EncodedString(),
                probe: Data(try Self.chip(4).encoded(as: .jpeg, quality: 92)).base64EncodedString()))
        XCTAssertEqual(other.status, 200, String(decoding: other.body, as: UTF8.self))
    }
}
