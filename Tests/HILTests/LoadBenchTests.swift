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
        process.arguments = [
            "load", "--duration", "12s", "--warmup", "3s", "--clients", "2", "--json",
            "--faces", CardReadTests.johns.path,
        ]
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

    /// The fault schedule: cards pulled mid-read and the daemon SIGKILLed and restarted by the bench. Every failure
    /// must be one the faults explain, every serial a kiosk was given must be in the database, the audit chain valid.
    func testLoadWithCardPullsAndADaemonKillLosesNoIssuance() throws {
        let bench = try Bench()
        defer { bench.stopAll() }
        try bench.startPCSCD()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Bench.executable("enroll-bench"))
        // Faults from the end of warm-up (5 s) until 30 s before the end: pulls at 8, 11, 14 s, a kill at 13 s.
        process.arguments = [
            "load", "--duration", "45s", "--warmup", "5s", "--clients", "2", "--json",
            "--faults", "card-pull=3s,daemon-kill=8s", "--faces", CardReadTests.johns.path,
        ]
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
        XCTAssertEqual(report["errors"] as? Int, 0, "unexpected: \(report["errorKinds"] ?? "") \(errorText)")
        XCTAssertGreaterThan(report["enrollments"] as? Int ?? 0, 0, errorText)
        let faults = try XCTUnwrap(report["faults"] as? [String: Any], "no fault section")
        let injected = faults["injected"] as? [String: Int] ?? [:]
        XCTAssertEqual(injected["daemon-kill"], 1, "\(faults)")
        XCTAssertEqual(faults["daemonRestarts"] as? Int, 1)
        XCTAssertGreaterThan(injected["card-pull"] ?? 0, 0, "no card was pulled mid-read: \(faults)")
        let expected = faults["expectedFailures"] as? [String: Int] ?? [:]
        XCTAssertTrue(expected.keys.contains { $0.hasPrefix("card-pull → enroll.read") }, "\(expected)")
        let integrity = try XCTUnwrap(report["integrity"] as? [String: Any])
        XCTAssertEqual(integrity["serialsFound"] as? Int, integrity["issuedSerials"] as? Int, "\(integrity)")
        XCTAssertEqual(integrity["issuedSerials"] as? Int, report["enrollments"] as? Int)
        XCTAssertEqual(integrity["auditOK"] as? Bool, true, "\(integrity)")
        XCTAssertEqual(report["daemonExitStatus"] as? Int, 0, "the restarted enrolld stops cleanly")
    }
}
