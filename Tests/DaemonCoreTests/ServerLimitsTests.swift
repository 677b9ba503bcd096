import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation
import XCTest

/// The API server under pressure: the connection cap, persistent connections and their idle timeout, and
/// nothing left behind per request.
final class ServerLimitsTests: XCTestCase {
    private var path: String!
    private var server: UnixSocketServer!

    override func setUpWithError() throws {
        path = NSTemporaryDirectory() + "enrolld-limits-\(getpid())-\(UInt16.random(in: 0...UInt16.max)).sock"
        var router = Router()
        router.add(Route("GET", "/v1/ping", .respond { _ in .json(["pong": true]) }))
        let routes = router
        server = try UnixSocketServer(path: path, mode: 0o600) { routes.handle($0, $1) }
    }

    override func tearDown() {
        server?.stop()
    }

    private func waitUntil(_ what: String, timeout: TimeInterval = 5, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("timed out waiting for \(what)")
    }

    func testConnectionsBeyondTheCapGetServerBusyUntilOneCloses() throws {
        server.connectionLimits.maxConnections = 2
        server.connectionLimits.reservedForPrivileged = 0
        server.start()
        let client = UnixSocketClient(path: path, timeout: 5)
        let first = UnixSocketSession(client: client)
        let second = UnixSocketSession(client: client)
        XCTAssertEqual(try first.get("/v1/ping").status, 200)
        XCTAssertEqual(try second.get("/v1/ping").status, 200)
        XCTAssertEqual(server.openConnections, 2, "both sessions keep their connection")

        let refused = try client.get("/v1/ping")
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.header("Content-Type"), "application/problem+json")
        XCTAssertEqual(refused.header("Retry-After"), "1")
        let problem = try JSONDecoder().decode(Problem.self, from: Data(refused.body))
        XCTAssertEqual(problem.code, "server-busy")
        XCTAssertTrue(problem.detail.contains("retry"), problem.detail)

        first.close()
        waitUntil("the server to notice the closed connection") { server.openConnections == 1 }
        XCTAssertEqual(try client.get("/v1/ping").status, 200)
    }

    /// The server refuses a connection over the cap at once, before it reads the request: a client still sending a
    /// large body hits a broken pipe, and must still read the refusal (which says to retry) rather than report the
    /// pipe.
    func testAClientRefusedWhileStillSendingReadsTheRefusal() throws {
        server.connectionLimits.maxConnections = 1
        server.connectionLimits.reservedForPrivileged = 0
        server.start()
        let client = UnixSocketClient(path: path, timeout: 5)
        let held = UnixSocketSession(client: client)
        defer { held.close() }
        XCTAssertEqual(try held.get("/v1/ping").status, 200)
        let refused = try client.post("/v1/ping", json: [UInt8](repeating: 0x20, count: 4 * 1024 * 1024))
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(try JSONDecoder().decode(Problem.self, from: Data(refused.body)).code, "server-busy")
    }

    func testPersistentConnectionsCarryManyRequestsAndCloseWhenIdle() throws {
        server.connectionLimits.keepAliveIdleTimeout = 0.3
        server.start()
        let client = UnixSocketClient(path: path, timeout: 5)
        let session = UnixSocketSession(client: client)
        for _ in 0..<5 {
            let response = try session.get("/v1/ping")
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.header("Connection"), "keep-alive")
        }
        XCTAssertEqual(session.connections, 1)
        XCTAssertEqual(
            try client.get("/v1/ping").header("Connection"), "close", "a client that asks to close gets close")

        waitUntil("the idle connection to be closed") { server.openConnections == 0 }
        XCTAssertEqual(try session.get("/v1/ping").status, 200, "the session reconnects after the server's idle close")
        XCTAssertEqual(session.connections, 2)
    }

    func testNoDescriptorOrConnectionOutlivesItsRequests() throws {
        server.start()
        let client = UnixSocketClient(path: path, timeout: 5)
        _ = try client.get("/v1/ping")
        waitUntil("the warm-up connection to end") { server.openConnections == 0 }
        let before = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        let group = DispatchGroup()
        let failures = ManagedAtomicCounter()
        for worker in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                let session = worker % 2 == 0 ? UnixSocketSession(client: client) : nil
                for _ in 0..<25 {
                    let status = (try? session?.get("/v1/ping") ?? client.get("/v1/ping"))?.status
                    if status != 200 { failures.increment() }
                }
                session?.close()
                group.leave()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(failures.value, 0)
        waitUntil("every connection to end") { server.openConnections == 0 }
        waitUntil("descriptors back to \(before)") {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1) <= before
        }
    }

    func testPersistenceFollowsTheVersionAndConnectionHeader() throws {
        func parse(_ text: String) throws -> (HTTPRequest, [UInt8]) {
            var parser = HTTPRequestParser()
            let request = try XCTUnwrap(try parser.feed(Array(text.utf8)))
            return (request, parser.remainder)
        }
        XCTAssertTrue(try parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n").0.allowsPersistentConnection)
        XCTAssertFalse(try parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").0.allowsPersistentConnection)
        XCTAssertFalse(try parse("GET / HTTP/1.0\r\n\r\n").0.allowsPersistentConnection)
        XCTAssertTrue(try parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").0.allowsPersistentConnection)
        let (first, rest) = try parse("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nokGET /b HTTP/1.1\r\n")
        XCTAssertEqual(first.body, Array("ok".utf8))
        XCTAssertEqual(
            rest, Array("GET /b HTTP/1.1\r\n".utf8), "a pipelined request's bytes are kept for the next parse")
    }

    /// A request that stops arriving half-way is answered 408 once `requestTimeout` passes, and its connection closes
    /// (the daemon's server uses 10 s; here 0.3 s).
    func testARequestThatStallsIsAnsweredRequestTimeout() throws {
        server.connectionLimits.headTimeout = 0.3
        server.start()
        let partial = Array("POST /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc".utf8)
        let response = try RawUnixSocket.exchange(path, partial)
        XCTAssertEqual(response.status, 408)
        XCTAssertEqual(response.header("Content-Type"), "application/problem+json")
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertEqual(try JSONDecoder().decode(Problem.self, from: Data(response.body)).code, "request-timeout")
    }

    func testConfigurationKeys() throws {
        let configuration = try Configuration.parse(
            "[api]\nmax_connections = 8\nreserved_connections = 2\nkeepalive_idle_seconds = 2.5\n")
        XCTAssertEqual(configuration.maxConnections, 8)
        XCTAssertEqual(configuration.connectionLimits.reservedForPrivileged, 2)
        XCTAssertThrowsError(try Configuration.parse("[api]\nmax_connections = 8\n")) { error in
            XCTAssertTrue(
                "\(error)".contains("configuration:2:") && "\(error)".contains("lower reserved_connections"),
                "\(error)")
        }
        XCTAssertEqual(configuration.keepAliveIdleSeconds, 2.5)
        XCTAssertEqual(Configuration().maxConnections, 64)
        XCTAssertThrowsError(try Configuration.parse("[api]\nmax_connections = 0\n"))
        XCTAssertThrowsError(try Configuration.parse("[api]\nkeepalive_idle_seconds = forever\n"))
    }
}

/// A counter shared by test threads.
final class ManagedAtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
