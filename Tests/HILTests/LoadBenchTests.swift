import Foundation
import XCTest

/// A short `enroll-bench load` on the real bench (pcscd + vpcd, both readers, a real enrolld), so the load
/// bench cannot rot: it must finish without a single error and complete enrollments. No timing assertions:
/// the figures are the bench's to print.
final class LoadBenchTests: XCTestCase {
    func testShortLoadRunHasNoErrorsAndCompletesEnrollments() throws {
        let bench = try Bench()
        defer { bench.stopAll() }
        try bench.startPCSCD()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Bench.executable("enroll-bench"))
        process.arguments = ["load", "--duration", "12s", "--warmup", "3s", "--clients", "2", "--json",
                             "--faces", CardReadTests.johns.path]
        var environment = ProcessInfo.processInfo.environment
        environment["ENROLLD_BENCH_LOCK_HELD"] = "1"  // this test holds the bench lock
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let json = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, errorText)

        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: Any], errorText)
        XCTAssertEqual(report["errors"] as? Int, 0, "\(report["errorKinds"] ?? "") \(errorText)")
        XCTAssertGreaterThan(report["enrollments"] as? Int ?? 0, 0, "no enrollment completed: \(errorText)")
        XCTAssertEqual(report["readers"] as? Int, 2)
        let operations = (report["latencies"] as? [[String: Any]] ?? []).compactMap { $0["operation"] as? String }
        for operation in ["enroll.read", "enroll.photo", "enroll.complete", "enroll.total"] {
            XCTAssertTrue(operations.contains(operation), "no \(operation) latency in \(operations)")
        }
        XCTAssertTrue(operations.contains("account") || operations.contains("health"), "\(operations)")
        let daemon = try XCTUnwrap(report["daemon"] as? [String: Any])
        let start = try XCTUnwrap(daemon["start"] as? [String: Any])
        XCTAssertGreaterThan(start["rssKiB"] as? Int ?? 0, 0, "RSS read from /proc/<pid>/status")
        XCTAssertGreaterThan(start["fds"] as? Int ?? 0, 0)
        XCTAssertEqual(report["daemonExitStatus"] as? Int, 0, "enrolld stops cleanly after the load")
    }
}
