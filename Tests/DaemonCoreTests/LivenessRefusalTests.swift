import DaemonCore
import EnrollAPIModel
import FaceMatch
import Foundation
import UnixHTTP
import XCTest

/// What the liveness routes refuse, and the replay and busy refusals of every route that looks at a face: a
/// challenge for a session that cannot take one, a burst that is malformed, answers no challenge or is not live, a
/// photo that is a copy of the chip portrait or of another session's photo, face work beyond the workers.
final class LivenessRefusalTests: XCTestCase {
    /// The person `RefusalBench.session()` enrolls.
    static let holder = "John_Schneider"
    static let challenge = "POST /v1/enrollments/{id}/liveness/challenge"
    static let burst = "POST /v1/enrollments/{id}/liveness"
    static let photo = EnrollmentRefusalTests.photo
    static let complete = EnrollmentRefusalTests.complete
    static let compare = "POST /v1/faces/compare"

    /// A session with a challenge, and the challenge.
    static func challenged(_ b: RefusalBench) throws -> (session: String, challenge: LivenessChallengeResponse) {
        let session = try b.session()
        let issued = try b.daemon.require(b.daemon.challenge(session), 201)
        return (session, try b.daemon.decode(LivenessChallengeResponse.self, issued))
    }

    /// The challenge's holder following its prompts, with `change` applied to the body.
    static func post(
        _ b: RefusalBench, _ session: String, _ challenge: LivenessChallengeResponse,
        _ change: (inout LivenessBurstBody) -> Void = { _ in }
    ) throws -> HTTPResponse {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let start = (format.date(from: challenge.issuedAt) ?? Date()).addingTimeInterval(0.5)
        var body = LivenessBurstBody(
            nonceHex: challenge.nonceHex,
            frames: FakeFaces.livenessFrames(
                holder, prompts: challenge.prompts
            ).enumerated().map {
                LivenessFrameBody(
                    image: Data($0.element).base64EncodedString(),
                    capturedAt: format.string(from: start.addingTimeInterval(Double($0.offset) * 0.2)))
            })
        change(&body)
        return try b.post("/v1/enrollments/\(session)/liveness", body)
    }

    static let challenging: [Refusal] = [
        Refusal(challenge, .enrollmentNotFound, "a session that never was") { b in
            try b.daemon.challenge(UUID().uuidString)
        },
        Refusal(challenge, .enrollmentNotFound, "another kiosk's session") { b in
            try b.daemon.challenge(try b.session(), as: .otherKiosk)
        },
        Refusal(challenge, .invalidID, "a session id that is not a UUID") { b in
            try b.daemon.challenge("session-1")
        },
        Refusal(challenge, .enrollmentExpired, "a session past its deadline") { b in
            let session = try b.session()
            b.daemon.clock.advance(301)
            defer { b.daemon.clock.advance(-301) }
            return try b.daemon.challenge(session)
        },
        Refusal(challenge, .enrollmentWrongState, "a completed session") { b in
            let session = try b.session()
            try b.daemon.require(b.daemon.complete(session), 200)
            return try b.daemon.challenge(session)
        },
        Refusal(challenge, .enrollmentBusy, "a challenge while the session's photo is compared") { b in
            let session = try b.session()
            return try b.whileComparing(session) { try b.daemon.challenge(session) }
        },
        Refusal(challenge, .noPortrait, "a chip without a portrait") { b in
            let holder = b.holder()
            try b.daemon.insertCard(holder) { $0.portraits = [] }
            return try b.daemon.challenge(try b.daemon.openSession(holder, insert: false))
        },
        Refusal(challenge, .attemptsExhausted, "a fourth challenge (3 attempts)") { b in
            let session = try b.session()
            for _ in 0..<3 { try b.daemon.require(b.daemon.challenge(session), 201) }
            return try b.daemon.challenge(session)
        },
        Refusal(challenge, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            try b.daemon.challenge(UUID().uuidString)
        },
    ]

    static let bursting: [Refusal] = [
        Refusal(burst, .missingBody, "no body") { b in
            b.daemon.call("POST", "/v1/enrollments/\(try b.session())/liveness")
        },
        Refusal(burst, .invalidBody, "frames that are not a list") { b in
            b.daemon.call(
                "POST", "/v1/enrollments/\(try b.session())/liveness",
                body: Array(#"{"nonceHex": "00", "frames": 3}"#.utf8))
        },
        Refusal(burst, .invalidBurst, "a nonce that is not 32 hex digits") { b in
            let (session, challenge) = try challenged(b)
            return try post(b, session, challenge) { $0.nonceHex = "nonce" }
        },
        Refusal(burst, .invalidBurst, "a frame that is not base64") { b in
            let (session, challenge) = try challenged(b)
            return try post(b, session, challenge) { $0.frames[3].image = "***" }
        },
        Refusal(burst, .invalidBurst, "a capture time that is not a time") { b in
            let (session, challenge) = try challenged(b)
            return try post(b, session, challenge) { $0.frames[2].capturedAt = "yesterday" }
        },
        Refusal(burst, .invalidBurst, "two frames") { b in
            let (session, challenge) = try challenged(b)
            return try post(b, session, challenge) { $0.frames = Array($0.frames.prefix(2)) }
        },
        Refusal(burst, .invalidBurst, "frames out of capture order") { b in
            let (session, challenge) = try challenged(b)
            return try post(b, session, challenge) { $0.frames.swapAt(1, 4) }
        },
        Refusal(burst, .invalidBurst, "31 frames (at most 30)") { b in
            let (session, challenge) = try challenged(b)
            return try post(b, session, challenge) { body in
                body.frames = (0..<31).map { body.frames[$0 % body.frames.count] }
            }
        },
        Refusal(burst, .livenessChallengeRequired, "a burst before any challenge") { b in
            let session = try b.session()
            return try b.daemon.burst(
                session, nonceHex: String(repeating: "00", count: 16),
                frames: FakeFaces.livenessFrames(holder, prompts: ["turn-left"]))
        },
        Refusal(burst, .livenessFailed, "the chip portrait replayed as every frame") { b in
            let (session, challenge) = try challenged(b)
            let portrait = try b.daemon.portrait(holder)
            return try b.daemon.burst(
                session, nonceHex: challenge.nonceHex,
                frames: Array(repeating: portrait, count: 8))
        },
        Refusal(burst, .livenessFailed, "a second burst for the same challenge") { b in
            let (session, challenge) = try challenged(b)
            try b.daemon.require(
                b.daemon.burst(
                    session, nonceHex: challenge.nonceHex,
                    frames: FakeFaces.livenessFrames(
                        holder, prompts: challenge.prompts, flat: true)), 422)
            return try post(b, session, challenge)
        },
        Refusal(burst, .enrollmentWrongState, "a burst after the liveness step passed") { b in
            let (session, challenge) = try challenged(b)
            try b.daemon.require(post(b, session, challenge), 200)
            return try post(b, session, challenge)
        },
        Refusal(burst, .attemptsExhausted, "a third refused burst (3 attempts)") { b in
            let session = try b.session()
            for _ in 0..<2 {
                try b.daemon.require(
                    b.daemon.liveness(session, of: holder) { challenge in
                        FakeFaces.livenessFrames(holder, prompts: challenge.prompts, flat: true)
                    }.answer, 422)
            }
            return try b.daemon.liveness(session, of: holder) { challenge in
                FakeFaces.livenessFrames(holder, prompts: challenge.prompts, flat: true)
            }.answer
        },
        Refusal(burst, .faceEngineBusy, "every face worker taken") { b in
            let (session, challenge) = try challenged(b)
            b.daemon.faces.refuseAsBusy(FaceWorkBusy(reason: .queueFull, retryAfterSeconds: 1))
            defer { b.daemon.faces.refuseAsBusy(nil) }
            return try post(b, session, challenge)
        },
        Refusal(burst, .enrollmentNotFound, "another kiosk's session") { b in
            let (session, challenge) = try challenged(b)
            return try b.daemon.burst(
                session, nonceHex: challenge.nonceHex,
                frames: FakeFaces.livenessFrames(holder, prompts: challenge.prompts),
                as: .otherKiosk)
        },
        Refusal(burst, .enrollmentWrongState, "a completed session") { b in
            let (session, challenge) = try challenged(b)
            try b.daemon.require(b.daemon.complete(session), 200)
            return try post(b, session, challenge)
        },
        Refusal(burst, .enrollmentExpired, "a session past its deadline") { b in
            let (session, challenge) = try challenged(b)
            b.daemon.clock.advance(301)
            defer { b.daemon.clock.advance(-301) }
            return try post(b, session, challenge)
        },
        Refusal(burst, .enrollmentBusy, "a burst while the session's photo is compared") { b in
            let (session, challenge) = try challenged(b)
            return try b.whileComparing(session) { try post(b, session, challenge) }
        },
        Refusal(burst, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            try b.daemon.burst(
                UUID().uuidString, nonceHex: String(repeating: "00", count: 16),
                frames: FakeFaces.livenessFrames(holder, prompts: ["turn-left"]))
        },
    ]

    /// The replay check and the workers' bounds of the routes that compare faces, and the completion's gate.
    static let replaying: [Refusal] = [
        Refusal(photo, .suspectedReplay, "the chip portrait's own bytes as the live photo") { b in
            let session = try b.session()
            return try b.post(
                "/v1/enrollments/\(session)/photo",
                EnrollmentPhotoBody(
                    photo: Data(try b.daemon.portrait(holder))
                        .base64EncodedString()))
        },
        Refusal(photo, .suspectedReplay, "a re-encoded copy of the chip portrait") { b in
            try b.post(
                "/v1/enrollments/\(try b.session())/photo",
                EnrollmentPhotoBody(photo: Data("copy:\(holder)".utf8).base64EncodedString()))
        },
        Refusal(photo, .suspectedReplay, "a photo already used in another session") { b in
            let used = FakeFaces.livePhoto(holder)
            let first = try b.session()
            try b.daemon.require(
                b.post(
                    "/v1/enrollments/\(first)/photo",
                    EnrollmentPhotoBody(photo: Data(used).base64EncodedString())), 200)
            return try b.post(
                "/v1/enrollments/\(try b.session())/photo",
                EnrollmentPhotoBody(photo: Data(used).base64EncodedString()))
        },
        Refusal(photo, .faceEngineBusy, "every face worker taken") { b in
            b.daemon.faces.refuseAsBusy(FaceWorkBusy(reason: .callerShare, retryAfterSeconds: 1))
            defer { b.daemon.faces.refuseAsBusy(nil) }
            return try b.daemon.photo(try b.session(), of: holder)
        },
        Refusal(compare, .suspectedReplay, "a probe byte-identical to the reference") { b in
            let portrait = try b.daemon.portrait("John_Salley")
            return try CardAndFaceRefusalTests.compare(b, probe: portrait, reference: portrait)
        },
        Refusal(compare, .suspectedReplay, "a probe that is a frame of an enrollment's burst") { b in
            let session = try b.session()
            let issued = try b.daemon.decode(
                LivenessChallengeResponse.self,
                try b.daemon.require(b.daemon.challenge(session), 201))
            let frames = FakeFaces.livenessFrames(holder, prompts: issued.prompts)
            try b.daemon.require(b.daemon.burst(session, nonceHex: issued.nonceHex, frames: frames), 200)
            return try CardAndFaceRefusalTests.compare(b, probe: frames[3])
        },
        Refusal(compare, .faceEngineBusy, "every face worker taken") { b in
            b.daemon.faces.refuseAsBusy(FaceWorkBusy(reason: .waitedTooLong, retryAfterSeconds: 5))
            defer { b.daemon.faces.refuseAsBusy(nil) }
            return try CardAndFaceRefusalTests.compare(b, probe: FakeFaces.livePhoto("John_Salley"))
        },
        Refusal(complete, .livenessRequired, "a signing completion without the liveness step") { b in
            try b.daemon.complete(try b.matchedSession(live: false), csr: try InProcessDaemon.makeCSR())
        },
    ]

    static var refusals: [Refusal] { challenging + bursting + replaying }

    func testTheChallengeRefusesSessionsThatCannotTakeOne() {
        RefusalRun.check(Self.challenging)
    }

    func testTheBurstRouteRefusesMalformedUnansweredAndUnliveBursts() {
        RefusalRun.check(Self.bursting)
    }

    func testPhotosThatAreCopiesAndFaceWorkBeyondTheWorkersAreRefused() {
        RefusalRun.check(Self.replaying)
    }
}
