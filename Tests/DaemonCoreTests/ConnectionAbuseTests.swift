import CTestSupport
import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// A raw connection to the daemon's socket as another uid (`enrolld_test_connect_as`): an attacker that sends what it
/// likes, as slowly as it likes, or a kiosk that times its requests.
final class RawConnection: Sendable {
    let fd: Int32

    init(path: String, uid: UInt32) throws {
        let fd = enrolld_test_connect_as(path, uid, uid)
        guard fd >= 0 else {
            throw DecodeFailure(description: "connect as uid \(uid): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// False once the server has closed its end (or reset it).
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Whether the server has answered or closed: something to read, or the end of the stream.
    var serverSpoke: Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0
    }

    /// Everything the server sends until it closes (or `timeout` passes): the status and the body.
    func response(timeout: TimeInterval = 5) -> (status: Int, text: String)? {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while Date() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&entry, 1, remaining) > 0 else { break }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += chunk[..<n]
            if let text = Self.complete(received) { return text }
        }
        return Self.complete(received) ?? Self.status(received).map { ($0, String(decoding: received, as: UTF8.self)) }
    }

    private static func status(_ bytes: [UInt8]) -> Int? {
        let text = String(decoding: bytes.prefix(32), as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }

    /// A response whose body has arrived in full (Content-Length).
    private static func complete(_ bytes: [UInt8]) -> (status: Int, text: String)? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let status = status(bytes), let split = text.range(of: "\r\n\r\n") else { return nil }
        let head = text[..<split.lowerBound].lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
            text.utf8.count - text[..<split.upperBound].utf8.count >= length
        else { return nil }
        return (status, text)
    }
}

/// What one slowloris run saw.
struct SlowlorisFigures: CustomStringConvertible {
    var attackerConnections = 0
    /// Attacker connections the server answered or closed within a second of connecting.
    var attackerRefusedAtOnce = 0
    /// Attacker connections still open, unanswered, when the kiosk stopped.
    var attackerHeldAtEnd = 0
    var kioskRequests = 0
    var kioskServed = 0
    var kioskStatuses: [Int: Int] = [:]
    var kioskMilliseconds: [Double] = []

    func percentile(_ p: Double) -> Double {
        let sorted = kioskMilliseconds.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    var description: String {
        let statuses = kioskStatuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        return "attacker connections \(attackerConnections), refused at once \(attackerRefusedAtOnce), still held at "
            + "the end \(attackerHeldAtEnd); kiosk served \(kioskServed)/\(kioskRequests) (\(statuses)), "
            + String(
                format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms", percentile(0.5), percentile(0.99),
                kioskMilliseconds.max() ?? 0)
    }
}

/// The connection attacks of issue 18, on the daemon in process behind a real socket: callers of other uids
/// trickling request heads and bodies, filling slots, opening streams; kiosks and staff keep being served.
final class ConnectionAbuseTests: XCTestCase {
    private static let attacker: UInt32 = 2999
    private static let kiosk: UInt32 = 2001
    private static let otherKiosk: UInt32 = 2002
    private static let staff: UInt32 = 2101

    private func daemon(_ extra: String = "") throws -> InProcessDaemon {
        try XCTSkipUnless(getuid() == 0, "connecting as other uids needs root (CI runs as root)")
        let daemon = try InProcessDaemon(extraConfiguration: "[api]\nsocket_mode = 0666\n" + extra)
        try daemon.serve()
        return daemon
    }

    /// `connections` callers of `uid` each trickle a request head, one byte every `interval` seconds, while a kiosk
    /// (uid 2001) asks for the readers on a fresh connection every 200 ms for `window` seconds.
    private func slowloris(
        _ daemon: InProcessDaemon, uid: UInt32, connections: Int, interval: TimeInterval,
        window: TimeInterval, probe: UInt32 = ConnectionAbuseTests.kiosk
    ) -> SlowlorisFigures {
        let path = daemon.configuration.socketPath
        var figures = SlowlorisFigures()
        let head = Array(
            "GET /v1/readers HTTP/1.1\r\nHost: localhost\r\nX-Padding: \(String(repeating: "a", count: 64))")
        var attackers: [RawConnection] = []
        for _ in 0..<connections {
            guard let connection = try? RawConnection(path: path, uid: uid) else { continue }
            connection.send(String(head[0]))
            attackers.append(connection)
        }
        figures.attackerConnections = attackers.count
        let opened = attackers
        Thread.sleep(forTimeInterval: 1)
        figures.attackerRefusedAtOnce = attackers.filter(\.serverSpoke).count
        let stop = Date().addingTimeInterval(window)
        let trickler = Thread {
            var position = 1
            var next = Date().addingTimeInterval(interval)
            while Date() < stop {
                Thread.sleep(forTimeInterval: 0.05)
                guard Date() >= next else { continue }
                for connection in opened where !connection.serverSpoke {
                    connection.send(String(head[position % head.count]))
                }
                position += 1
                next = Date().addingTimeInterval(interval)
            }
        }
        trickler.start()
        while Date() < stop {
            let started = Date()
            figures.kioskRequests += 1
            if let connection = try? RawConnection(path: path, uid: probe),
                connection.send("GET /v1/readers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
                let answer = connection.response()
            {
                figures.kioskStatuses[answer.status, default: 0] += 1
                if answer.status == 200 {
                    figures.kioskServed += 1
                    figures.kioskMilliseconds.append(Date().timeIntervalSince(started) * 1000)
                }
            } else {
                figures.kioskStatuses[0, default: 0] += 1
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        figures.attackerHeldAtEnd = attackers.filter { !$0.serverSpoke }.count
        return figures
    }

    func testNoRoleSlowlorisLeavesKiosksServed() throws {
        let daemon = try daemon()
        let figures = slowloris(
            daemon, uid: Self.attacker, connections: daemon.configuration.maxConnections,
            interval: 8, window: 12)
        print("no-role slowloris (\(daemon.configuration.maxConnections) connections, a byte every 8 s): \(figures)")
        XCTAssertEqual(
            figures.attackerRefusedAtOnce, figures.attackerConnections,
            "every caller in no role is answered and closed at once")
        XCTAssertEqual(figures.attackerHeldAtEnd, 0)
        XCTAssertEqual(figures.kioskServed, figures.kioskRequests, "the kiosk is served throughout: \(figures)")
    }
}

extension ConnectionAbuseTests {
    func testKioskSlowlorisIsHeldToItsShareAndCutAtTheHeadDeadline() throws {
        let daemon = try daemon("head_timeout_seconds = 2\n")
        let figures = slowloris(daemon, uid: Self.otherKiosk, connections: 64, interval: 0.5, window: 4)
        print("kiosk slowloris (64 connections of one kiosk uid, a byte every 0.5 s): \(figures)")
        XCTAssertEqual(
            figures.attackerRefusedAtOnce, 64 - daemon.configuration.maxConnectionsPerUID,
            "one uid holds at most max_connections_per_uid connections")
        XCTAssertEqual(figures.attackerHeldAtEnd, 0, "every trickled head is cut at the head deadline")
        XCTAssertEqual(figures.kioskServed, figures.kioskRequests, "another kiosk is served throughout: \(figures)")
        let refusals = try XCTUnwrap(daemon.daemon.apiRefusals)
        XCTAssertEqual(refusals[.perUID], 64 - daemon.configuration.maxConnectionsPerUID)
        XCTAssertEqual(refusals[.headTimeout], daemon.configuration.maxConnectionsPerUID)
        let metrics = daemon.daemon.metricsText()
        XCTAssertTrue(metrics.contains(#"enrolld_api_connections_refused_total{reason="per-uid"} 48"#), metrics)
        XCTAssertTrue(metrics.contains(#"enrolld_api_connections_refused_total{reason="head-timeout"} 16"#), metrics)
    }

    func testTheRefusalsSayWhatHappened() throws {
        let daemon = try daemon("head_timeout_seconds = 1\nmax_connections_per_uid = 1\n")
        let path = daemon.configuration.socketPath
        let stranger = try RawConnection(path: path, uid: Self.attacker)
        let noRole = try XCTUnwrap(stranger.response())
        XCTAssertEqual(noRole.status, 403)
        XCTAssertTrue(
            noRole.text.contains(#""code":"no-role""#) && noRole.text.contains("uid 2999")
                && noRole.text.contains("[roles]"), noRole.text)

        let first = try RawConnection(path: path, uid: Self.kiosk)
        first.send("GET /v1/rea")
        let second = try RawConnection(path: path, uid: Self.kiosk)
        let perUID = try XCTUnwrap(second.response())
        XCTAssertEqual(perUID.status, 429)
        XCTAssertTrue(
            perUID.text.contains(#""code":"too-many-connections""#) && perUID.text.contains("Retry-After: 1"),
            perUID.text)
        let slow = try XCTUnwrap(first.response(timeout: 5))
        XCTAssertEqual(slow.status, 408)
        XCTAssertTrue(slow.text.contains("did not arrive within 1 seconds"), slow.text)
        // The server frees the slot as it closes the connection, just after the 408 went out: wait for the close.
        XCTAssertTrue(first.closedByServer(timeout: 5), "the server closes a connection it cut")
        XCTAssertEqual(
            try XCTUnwrap(RawConnection(path: path, uid: Self.kiosk).sendAndRead(Self.readers)).status, 200,
            "the kiosk's slot is free again")
    }

    /// `[roles] public` lets the nginx front's user in for the routes anyone may call (the CA certificate, OCSP, the
    /// CRL), and only for those; any other caller in no role is still refused as it connects.
    func testAPublicCallerReachesOnlyTheRoutesAnyoneMayCall() throws {
        let daemon = try daemon("[roles]\npublic = uid:\(Self.front)\n")
        let path = daemon.configuration.socketPath
        let certificate = "GET /v1/ca/certificate HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        XCTAssertEqual(try XCTUnwrap(RawConnection(path: path, uid: Self.front).sendAndRead(certificate)).status, 200)
        let readers = try XCTUnwrap(RawConnection(path: path, uid: Self.front).sendAndRead(Self.readers))
        XCTAssertEqual(readers.status, 403)
        XCTAssertTrue(readers.text.contains(#""code":"no-role""#), readers.text)
        let stranger = try XCTUnwrap(RawConnection(path: path, uid: Self.attacker).response())
        XCTAssertEqual(stranger.status, 403, "a caller neither in a role nor public is refused before it sends")
    }

    private static let readers = "GET /v1/readers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    private static let front: UInt32 = 2998

    func testSlotsReservedForStaffStayFreeWhenKiosksFillTheRest() throws {
        let daemon = try daemon("max_connections = 12\nreserved_connections = 4\nmax_connections_per_uid = 64\n")
        let path = daemon.configuration.socketPath
        var held: [RawConnection] = []
        for _ in 0..<8 {
            let connection = try RawConnection(path: path, uid: Self.otherKiosk)
            connection.send("GET")
            held.append(connection)
        }
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertTrue(held.allSatisfy { !$0.serverSpoke }, "8 kiosk connections fill the ordinary slots")
        let kiosk = try XCTUnwrap(try RawConnection(path: path, uid: Self.kiosk).sendAndRead(Self.readers))
        XCTAssertEqual(kiosk.status, 503)
        XCTAssertTrue(kiosk.text.contains("kept for operators and admins"), kiosk.text)
        for _ in 0..<4 {
            let staff = try XCTUnwrap(try RawConnection(path: path, uid: Self.staff).sendAndRead(Self.readers))
            XCTAssertEqual(staff.status, 200, "an operator is served on a reserved slot")
        }
        XCTAssertEqual(try XCTUnwrap(daemon.daemon.apiRefusals)[.reserved], 1)
    }

    func testABodyTrickledBelowTheMinimumRateIsCut() throws {
        let daemon = try daemon("head_timeout_seconds = 1\nmin_body_bytes_per_second = 1000\n")
        let connection = try RawConnection(path: daemon.configuration.socketPath, uid: Self.kiosk)
        connection.send(
            "POST /v1/faces/compare HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: 2000\r\n\r\n{")
        let started = Date()
        var answer: (status: Int, text: String)?
        while answer == nil && Date().timeIntervalSince(started) < 10 {
            connection.send("\"")
            if connection.serverSpoke { answer = connection.response() }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let cut = try XCTUnwrap(answer, "a 2000-byte body at 10 bytes/s must be cut (deadline 1 s + 2000/1000 s)")
        XCTAssertEqual(cut.status, 408)
        XCTAssertTrue(cut.text.contains("slower than 1000 bytes per second"), cut.text)
        XCTAssertEqual(try XCTUnwrap(daemon.daemon.apiRefusals)[.bodyTooSlow], 1)
    }

    func testEventStreamsAreLimitedPerUID() throws {
        let daemon = try daemon("max_event_streams_per_uid = 2\n")
        let path = daemon.configuration.socketPath
        let request = "GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n"
        let first = try RawConnection(path: path, uid: Self.kiosk)
        let second = try RawConnection(path: path, uid: Self.kiosk)
        for stream in [first, second] {
            stream.send(request)
            XCTAssertTrue(try XCTUnwrap(stream.head()).hasPrefix("HTTP/1.1 200"))
        }
        let third = try XCTUnwrap(try RawConnection(path: path, uid: Self.kiosk).sendAndRead(request))
        XCTAssertEqual(third.status, 429)
        XCTAssertTrue(
            third.text.contains(#""code":"too-many-event-streams""#) && third.text.contains("uid 2001"),
            third.text)
        let other = try RawConnection(path: path, uid: Self.otherKiosk)
        other.send(request)
        XCTAssertTrue(try XCTUnwrap(other.head()).hasPrefix("HTTP/1.1 200"), "another uid has streams of its own")
    }

    func testAStreamThatStopsReadingIsClosedAndHoldsNoMoreThanItsByteCap() throws {
        let daemon = try daemon("send_timeout_seconds = 1\nevent_queue_bytes = 4096\n")
        let stream = try RawConnection(path: daemon.configuration.socketPath, uid: Self.kiosk)
        var small = Int32(4096)
        setsockopt(stream.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        stream.send("GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let deadline = Date().addingTimeInterval(5)
        while daemon.daemon.events.subscriberCount == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertEqual(daemon.daemon.events.subscriberCount, 1)
        // The client reads nothing: the socket buffers fill, the write waits, and after the send timeout the stream ends.
        let name = String(repeating: "R", count: 200)
        var published = 0
        while daemon.daemon.events.subscriberCount > 0 && Date() < deadline.addingTimeInterval(10) {
            for _ in 0..<200 { daemon.daemon.events.publish(.readerAdded(name)) }
            published += 200
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(
            daemon.daemon.events.subscriberCount, 0,
            "a stream whose client stopped reading ends after send_timeout_seconds (\(published) events)")
    }
}

extension RawConnection {
    /// Sends `request` and reads the answer; nil when there was none.
    func sendAndRead(_ request: String) -> (status: Int, text: String)? {
        send(request)
        return response()
    }

    /// Whether the server closes its end within `timeout` (whatever else it still sends is read and dropped).
    func closedByServer(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) > 0 else { return false }
            if chunk.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) <= 0 { return true }
        }
        return false
    }

    /// The head of a streamed response (up to its blank line).
    func head(timeout: TimeInterval = 5) -> String? {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var byte: UInt8 = 0
        while Date() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) >= 0 else { return nil }
            guard entry.revents != 0 else { continue }
            guard recv(fd, &byte, 1, 0) == 1 else { return nil }
            received.append(byte)
            if received.suffix(4) == [13, 10, 13, 10] { return String(decoding: received, as: UTF8.self) }
        }
        return nil
    }
}
