import XCTest

@testable import FaceMatch

final class FaceEvaluationTests: XCTestCase {
    /// 5 people x 11 chips: 275 genuine pairs, 1210 impostor pairs.
    func testJohnsHaveNoFalseMatchesAtTheDefaultThreshold() throws {
        let matcher = try FaceFixtures.matcher()
        let report = try FaceEvaluation.run(folder: FaceFixtures.johnsFolder, matcher: matcher)
        print(report)
        XCTAssertEqual(report.people, 5)
        XCTAssertEqual(report.images, 55)
        XCTAssertEqual(report.failures, [], "every chip must yield a face")
        XCTAssertEqual(report.genuinePairs, 275)
        XCTAssertEqual(report.impostorPairs, 1210)
        XCTAssertEqual(report.falseMatches, 0, "no impostor pair may be at or under the threshold")
        XCTAssertGreaterThan(report.minimumImpostorDistance ?? 0, report.threshold)
        XCTAssertLessThanOrEqual(report.falseNonMatches, report.genuinePairs / 10, "genuine pairs mostly match")
    }

    func testMissingFolderIsReported() throws {
        let matcher = try FaceFixtures.matcher()
        XCTAssertThrowsError(try FaceEvaluation.run(folder: "/nonexistent/faces", matcher: matcher))
    }
}
