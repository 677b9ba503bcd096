@testable import DaemonCore
import EnrollAPIModel
import Enrollment
import Store
import XCTest

/// How refusals become problems: once, from the catalogue; failures of ours never echoed.
final class ProblemMappingTests: XCTestCase {
    func testStorageAndInternalErrorsAreNotEchoedButCarryAnIncidentID() {
        let leaky = EnrollmentError.store(.database(code: 11, message: "database disk image is malformed at /var/lib"))
        let problem = Problem(leaky)
        XCTAssertEqual(problem.code, "storage-error")
        XCTAssertEqual(problem.status, 500)
        let incident = try? XCTUnwrap(problem.incident)
        XCTAssertEqual(incident?.count, 12)
        XCTAssertFalse(problem.detail.contains("malformed"), problem.detail)
        XCTAssertFalse(problem.detail.contains("/var/lib"), problem.detail)
        XCTAssertTrue(problem.detail.contains(incident ?? "-"), problem.detail)
        XCTAssertNotEqual(Problem(leaky).incident, problem.incident, "each failure its own incident")
        // A refusal the caller can act on keeps its words.
        let refusal = Problem(EnrollmentError.faceMismatch(attemptsLeft: 2))
        XCTAssertNil(refusal.incident)
        XCTAssertTrue(refusal.detail.contains("2 attempt(s) left"))
    }

    func testEveryCatalogueCodeIsUniqueAndWellFormed() {
        var seen = Set<String>()
        for kind in ProblemCode.all {
            XCTAssertTrue(seen.insert(kind.code).inserted, "\(kind.code) listed twice")
            XCTAssertTrue(kind.code.allSatisfy { $0.isLowercase || $0 == "-" }, kind.code)
            XCTAssertTrue((400...599).contains(kind.status), kind.code)
            XCTAssertFalse(kind.title.isEmpty, kind.code)
            XCTAssertFalse(kind.action.isEmpty, kind.code)
            XCTAssertEqual(ProblemCode.named(kind.code), kind)
        }
    }

    func testFinishedSessionsAnswerWrongStateNotAStorageError() {
        let id = UUID()
        XCTAssertEqual(EnrollmentError.store(.enrollmentFinished(id)).code, "enrollment-wrong-state")
    }
}

extension ProblemMappingTests {
    /// A store that cannot be opened at start: the enrollment routes answer 503 with an incident id, never the
    /// driver's message, host names or paths.
    func testAnUnusableStoreAtStartIsNotEchoedEither() throws {
        struct Unreachable: Error, CustomStringConvertible {
            var description: String { "could not connect to server db7.internal.example:5432 (/var/lib/secret)" }
        }
        let daemon = try InProcessDaemon(openStore: { _, _ in throw Unreachable() })
        let response = daemon.call("GET", "/v1/accounts/\(UUID().uuidString)", as: .operator)
        XCTAssertEqual(response.status, 503)
        let problem = try daemon.decode(Problem.self, response)
        XCTAssertEqual(problem.code, "enrollment-unavailable")
        XCTAssertTrue(problem.detail.contains("incident "), problem.detail)
        XCTAssertFalse(problem.detail.contains("db7") || problem.detail.contains("/var/lib"), problem.detail)
    }
}
