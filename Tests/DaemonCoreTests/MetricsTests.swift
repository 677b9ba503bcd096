import DaemonCore
import EnrollAPIModel
import Foundation
import XCTest

final class MetricsTests: XCTestCase {
    func testExpositionFormatCountsEventsWithoutPersonalData() {
        let metrics = Metrics()
        let session = UUID().uuidString
        metrics.record(.cardReadStarted("R"))
        metrics.record(.cardReadCompleted("R", apdus: 40, milliseconds: 1500))
        metrics.record(.cardReadStarted("R"))
        metrics.record(.cardReadFailed("R", problem: Problem(.accessKeyRejected), milliseconds: 100))
        metrics.record(.enrollment(.enrollmentCompleted, session: session, tier: "signing"))
        metrics.record(.enrollment(.enrollmentCompleted, session: session, tier: "basic"))
        metrics.record(.enrollment(.enrollmentFailed, session: session, code: "face-mismatch"))
        metrics.record(.enrollment(.enrollmentFailed, session: session, code: "Jane Doe P<UTO123"))
        metrics.record(.enrollment(.enrollmentExpired, session: session, code: "timeout"))
        metrics.record(.certificateRevoked(serial: "0A1B2C", reason: "key-compromise"))
        metrics.observeFaceMatch(seconds: 0.3)
        metrics.certificateIssued()

        let text = metrics.render(
            readersPresent: 2, pcscAvailable: true, version: "1.2.3", uptimeSeconds: 42,
            cardActivity: CardActivity(activeReads: 1, openConnections: 2), apiConnections: 3,
            enrollmentSessions: 4)
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            "# TYPE enrolld_card_reads_active gauge", "enrolld_card_reads_active 1",
            "# TYPE enrolld_card_connections_open gauge", "enrolld_card_connections_open 2",
            "# TYPE enrolld_api_connections_open gauge", "enrolld_api_connections_open 3",
            "# TYPE enrolld_enrollment_sessions_open gauge", "enrolld_enrollment_sessions_open 4",
            "# TYPE enrolld_enrollments_total counter",
            #"enrolld_enrollments_total{outcome="completed",reason="signing"} 1"#,
            #"enrolld_enrollments_total{outcome="completed",reason="basic"} 1"#,
            #"enrolld_enrollments_total{outcome="failed",reason="face-mismatch"} 1"#,
            #"enrolld_enrollments_total{outcome="failed",reason="other"} 1"#,
            #"enrolld_enrollments_total{outcome="expired",reason="timeout"} 1"#,
            #"enrolld_card_reads_total{outcome="completed"} 1"#,
            #"enrolld_card_reads_total{outcome="failed"} 1"#,
            "# TYPE enrolld_card_read_seconds histogram",
            #"enrolld_card_read_seconds_bucket{le="0.25"} 1"#,
            #"enrolld_card_read_seconds_bucket{le="1"} 1"#,
            #"enrolld_card_read_seconds_bucket{le="2"} 2"#,
            #"enrolld_card_read_seconds_bucket{le="+Inf"} 2"#,
            "enrolld_card_read_seconds_sum 1.6",
            "enrolld_card_read_seconds_count 2",
            #"enrolld_face_match_seconds_bucket{le="0.25"} 0"#,
            #"enrolld_face_match_seconds_bucket{le="0.5"} 1"#,
            "enrolld_face_match_seconds_count 1",
            "enrolld_certificates_issued_total 1",
            #"enrolld_certificates_revoked_total{reason="key-compromise"} 1"#,
            "enrolld_readers_present 2",
            "enrolld_pcsc_available 1",
            #"enrolld_build_info{version="1.2.3"} 1"#,
            "enrolld_uptime_seconds 42",
        ] {
            XCTAssertTrue(lines.contains(expected), "missing line: \(expected)\n\(text)")
        }
        // Session ids, serials and anything that is not a stable code never reach a label.
        for leaked in [session, "0A1B2C", "Jane", "UTO123"] {
            XCTAssertFalse(text.contains(leaked), "\(leaked) leaked into the metrics")
        }
        // Every sample belongs to a family announced with HELP and TYPE.
        let families = Set(lines.filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        for line in lines where !line.hasPrefix("#") {
            var name = String(line.prefix { $0 != "{" && $0 != " " })
            if !families.contains(name), let suffix = ["_bucket", "_sum", "_count"].first(where: name.hasSuffix) {
                name = String(name.dropLast(suffix.count))
            }
            XCTAssertTrue(families.contains(name), "sample without a TYPE line: \(line)")
        }
    }

    func testHistogramBucketsAreCumulativeUpperBounds() {
        var histogram = DurationHistogram(bounds: [1, 0.5])
        for value in [0.5, 0.6, 1.0, 7.0, -1.0] { histogram.observe(value) }
        XCTAssertEqual(histogram.bounds, [0.5, 1])
        XCTAssertEqual(histogram.counts, [2, 2, 1])
        XCTAssertEqual(histogram.count, 5)
        XCTAssertEqual(histogram.sum, 9.1, accuracy: 1e-9)
    }

    func testMetricsRouteServesTheTextFormat() {
        let daemon = Daemon(configuration: Configuration())
        let text = daemon.metricsText()
        XCTAssertTrue(text.contains(#"enrolld_build_info{version="\#(enrolldVersion)"} 1"#))
        XCTAssertTrue(daemon.makeRouter().routes.contains { $0.method == "GET" && $0.pattern == ["metrics"] })
        XCTAssertEqual(Metrics.contentType.prefix(25), "text/plain; version=0.0.4")
    }
}

final class SystemdNotifyTests: XCTestCase {
    /// A datagram socket standing in for systemd's notification socket.
    private final class ManagerSocket {
        let descriptor: Int32
        let path: String

        init(path: String) throws {
            self.path = path
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            guard descriptor >= 0 else { throw POSIXError(.EIO) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(path.utf8)
            if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
            }
            guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
        }

        deinit {
            close(descriptor)
            if !path.hasPrefix("@") { unlink(path) }
        }
    }

    func testNotificationsReachAPathSocket() throws {
        let path = NSTemporaryDirectory() + "enrolld-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let manager = try ManagerSocket(path: path)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])
        XCTAssertTrue(notifier.ready(status: "listening"))
        XCTAssertEqual(manager.receive(), "READY=1\nSTATUS=listening\nMAINPID=\(getpid())")
        XCTAssertTrue(notifier.watchdog())
        XCTAssertEqual(manager.receive(), "WATCHDOG=1")
        XCTAssertTrue(notifier.stopping())
        XCTAssertEqual(manager.receive(), "STOPPING=1\nSTATUS=shutting down")
    }

    func testAbstractNamespaceSocket() throws {
        let name = "@enrolld-notify-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let manager = try ManagerSocket(path: name)
        XCTAssertTrue(SystemdNotifier(environment: ["NOTIFY_SOCKET": name]).notify("READY=1"))
        XCTAssertEqual(manager.receive(), "READY=1")
    }

    func testWithoutNotifySocketNothingIsSent() {
        let notifier = SystemdNotifier(environment: [:])
        XCTAssertFalse(notifier.isEnabled)
        XCTAssertFalse(notifier.ready(status: "x"))
        XCTAssertNil(SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]).socketPath)
    }

    func testWatchdogIntervalIsHalfOfWatchdogUsecForThisProcess() {
        XCTAssertEqual(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000"], pid: 7), 15)
        XCTAssertEqual(
            SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "7"], pid: 7), 2)
        XCTAssertNil(
            SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "8"], pid: 7))
        XCTAssertNil(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "0"], pid: 7))
        XCTAssertNil(SystemdNotifier.watchdogInterval(environment: [:], pid: 7))
    }

    func testWatchdogThreadPingsUntilStopped() throws {
        let path = NSTemporaryDirectory() + "enrolld-watchdog-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let manager = try ManagerSocket(path: path)
        let watchdog = SystemdWatchdog(notifier: SystemdNotifier(environment: ["NOTIFY_SOCKET": path]), interval: 0.05)
        XCTAssertEqual(manager.receive(), "WATCHDOG=1")
        XCTAssertEqual(manager.receive(), "WATCHDOG=1")
        watchdog.stop()
    }
}
