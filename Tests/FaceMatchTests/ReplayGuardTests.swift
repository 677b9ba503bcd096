import Foundation
import XCTest

@testable import FaceMatch

/// The replay check for every live photo (photo step, /v1/faces/compare), with or without the liveness step.
final class ReplayGuardTests: XCTestCase {
    func fingerprint(_ bytes: [UInt8]) throws -> ReplayFingerprint {
        let analysis = try FaceFixtures.matcher().analyse(bytes, role: .probe)
        return try ReplayFingerprint(image: bytes, embedding: analysis.embedding)
    }

    func testPhotoByteIdenticalToTheChipPortraitIsASuspectedReplay() throws {
        let portrait = try FaceFixtures.portrait("John_Salley", 0).encoded(as: .jpeg, quality: 90)
        let guardCache = ReplayGuard()
        let print = try fingerprint(portrait)
        XCTAssertEqual(print.digest.count, 32, "SHA-256")
        XCTAssertEqual(guardCache.suspicion(of: print, portrait: print, session: "a"), .identicalToPortrait)
        XCTAssertEqual(ReplaySuspicion.identicalToPortrait.description, "byte-identical to the chip portrait")
    }

    func testReEncodedOrRescaledPortraitIsUnderTheFloorButAnotherPhotoIsNot() throws {
        let portraitImage = try FaceFixtures.portrait("John_Salley", 0)
        let portrait = try fingerprint(try portraitImage.encoded(as: .jp2, quality: 81))
        let guardCache = ReplayGuard()
        let copies = [
            try portraitImage.encoded(as: .jpeg, quality: 70),
            try portraitImage.resized(width: 450, height: 600).encoded(as: .png),
            try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Salley", 0), 380, 400, 200)]).encoded(as: .jpeg),
        ]
        for copy in copies {
            guard
                case .nearPortrait(let distance, let floor)? = guardCache.suspicion(
                    of: try fingerprint(copy), portrait: portrait, session: "a")
            else {
                return XCTFail("a copy of the portrait must be suspected")
            }
            print("copy of the portrait: distance \(distance)")
            XCTAssertLessThan(distance, floor)
        }
        for index in 1...4 {
            let other = try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Salley", index), 380, 400, 200)])
            XCTAssertNil(
                guardCache.suspicion(
                    of: try fingerprint(try other.encoded(as: .jpeg)), portrait: portrait,
                    session: "a"), "another photo of the same person is no replay")
        }
    }

    func testPhotoUsedInAnotherSessionIsSuspectedAndTheCacheIsBounded() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let guardCache = ReplayGuard(configuration: .init(capacity: 2, lifetime: 3600))
        let photo = try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Simm", 2), 380, 400, 200)])
        let bytes = try photo.encoded(as: .jpeg, quality: 90)
        let first = try fingerprint(bytes)
        guardCache.record([first], session: "a", now: start)
        XCTAssertNil(guardCache.suspicion(of: first, portrait: nil, session: "a", now: start), "same session")
        XCTAssertEqual(
            guardCache.suspicion(of: first, portrait: nil, session: "b", now: start),
            .identicalToEarlierCapture)
        let recompressed = try fingerprint(try photo.encoded(as: .jpeg, quality: 60))
        guard
            case .nearEarlierCapture? = guardCache.suspicion(
                of: recompressed, portrait: nil, session: "b",
                now: start)
        else {
            return XCTFail("a re-compressed copy of another session's photo must be suspected")
        }
        let others = try (3...4).map { index in
            try fingerprint(
                try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Savage", index), 380, 400, 200)])
                    .encoded(as: .jpeg))
        }
        guardCache.record(others, session: "c", now: start)
        XCTAssertEqual(guardCache.count(now: start), 2, "capacity 2: the oldest entry went first")
        XCTAssertNil(guardCache.suspicion(of: first, portrait: nil, session: "b", now: start))
        XCTAssertEqual(guardCache.count(now: start.addingTimeInterval(3601)), 0, "entries expire")
    }
}

/// The MiniFASNet models through OpenCV's dnn module.
final class PresentationAttackModelTests: XCTestCase {
    func testScoresAreSoftmaxProbabilitiesOfBothModels() throws {
        let model = try PresentationAttackModel()
        let frame = try SyntheticBursts.head(chip: try FaceFixtures.chip("John_Salley", 3), pose: .init(), seed: 1)
        let face = try XCTUnwrap(
            try FaceFixtures.engine().analyseFrame(frame, detectScale: 1, minimumFaceSize: 80)
                .faces.first)
        let score = try model.score(frame, face: face)
        XCTAssertEqual(score.v2.count, 3)
        XCTAssertEqual(score.v1se.count, 3)
        XCTAssertEqual(Double(score.v2.reduce(0, +)), 1, accuracy: 1e-4)
        XCTAssertEqual(Double(score.v1se.reduce(0, +)), 1, accuracy: 1e-4)
        XCTAssertEqual(score.real, Double(score.v2[1] + score.v1se[1]) / 2, accuracy: 1e-6)
        let edge = try model.score(frame, face: FaceRegion(left: -500, top: 470, width: 40, height: 4000))
        XCTAssertTrue((0...1).contains(edge.real), "a box outside the frame is clipped, not a crash")
    }

    func testMissingModelsAreReportedWithWhatToDo() {
        XCTAssertThrowsError(try PresentationAttackModel(modelDirectory: "/nonexistent/models")) { error in
            guard case .modelMissing? = error as? LivenessError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("scripts/install-models.sh"))
        }
    }
}
