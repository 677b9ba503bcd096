import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation
import XCTest

/// `POST /v1/faces/compare` and `enrollctl face-compare` against the real daemon and dlib engine.
final class FaceCompareAPITests: XCTestCase {
    private var bench: Bench!
    private let johns = CardReadTests.johns

    override func setUpWithError() throws {
        bench = try Bench()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    private func compare(_ client: UnixSocketClient, _ reference: URL, _ probe: URL) throws -> HTTPResponse {
        let request = FaceCompareRequest(
            reference: try Data(contentsOf: reference).base64EncodedString(),
            probe: try Data(contentsOf: probe).base64EncodedString())
        return try client.post("/v1/faces/compare", json: [UInt8](try JSONEncoder().encode(request)))
    }

    func testSamePersonMatchesAndAnotherDoesNot() throws {
        let (_, client) = try bench.startDaemon()
        let salley1 = johns.appendingPathComponent("John_Salley/000179_02159509.jpg")
        let salley2 = johns.appendingPathComponent("John_Salley/000183_02159543.jpg")
        let savage = johns.appendingPathComponent("John_Savage/000264_01099001.jpg")

        let same = try compare(client, salley1, salley2)
        XCTAssertEqual(same.status, 200, String(decoding: same.body, as: UTF8.self))
        let match = try JSONDecoder().decode(FaceCompareResponse.self, from: Data(same.body))
        XCTAssertEqual(match.decision, "match")
        XCTAssertLessThanOrEqual(match.distance, match.threshold)
        XCTAssertGreaterThan(match.score, 0.5)
        XCTAssertEqual(match.reference.facesFound, 1)
        XCTAssertNotNil(match.probe.faceSize)

        let other = try JSONDecoder().decode(
            FaceCompareResponse.self, from: Data(try compare(client, salley1, savage).body))
        XCTAssertEqual(other.decision, "no-match")
        XCTAssertGreaterThan(other.distance, other.threshold)
        XCTAssertLessThan(other.score, 0.5)
    }

    func testRefusalsAreTypedProblems() throws {
        let (_, client) = try bench.startDaemon()
        let salley = johns.appendingPathComponent("John_Salley/000179_02159509.jpg")
        let corrupt = bench.workDirectory.appendingPathComponent("corrupt.jpg")
        var bytes = [UInt8](try Data(contentsOf: salley))
        bytes = Array(bytes.prefix(200))  // a JPEG cut short
        try Data(bytes).write(to: corrupt)
        let response = try compare(client, salley, corrupt)
        XCTAssertEqual(response.status, 422)
        XCTAssertEqual(try JSONDecoder().decode(Problem.self, from: Data(response.body)).code, "undecodable-image")

        let notBase64 = try client.post("/v1/faces/compare", json: Array(#"{"reference":"***","probe":"***"}"#.utf8))
        XCTAssertEqual(notBase64.status, 400)
    }

    func testEnrollctlFaceCompare() throws {
        let (_, client) = try bench.startDaemon()
        let simm = johns.appendingPathComponent("John_Simm")
        let photos = try FileManager.default.contentsOfDirectory(atPath: simm.path).sorted()
        let run = try bench.runEnrollctl(
            [
                "face-compare", simm.appendingPathComponent(photos[0]).path,
                simm.appendingPathComponent(photos[1]).path, "--json",
            ], socket: client.path)
        XCTAssertEqual(run.status, 0, run.error)
        let output = run.output
        let result = try JSONDecoder().decode(FaceCompareResponse.self, from: output)
        XCTAssertEqual(result.decision, "match")
    }
}
