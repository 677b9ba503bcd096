import EnrollAPIModel
import Secrets
import UnixHTTP
import DaemonCore
import Foundation
import Store
import XCTest

final class ConfigurationTests: XCTestCase {
    func testDefaultsAndOverrides() throws {
        let configuration = try Configuration.parse(
            """
            # comment
            [api]
            socket = /tmp/x.sock
            socket_mode = 0600
            [daemon]
            log_level = debug
            [readers]
            pcsc_retry_seconds = 0.5
            """)
        XCTAssertEqual(configuration.socketPath, "/tmp/x.sock")
        XCTAssertEqual(configuration.socketMode, 0o600)
        XCTAssertEqual(configuration.logLevel, .debug)
        XCTAssertEqual(configuration.pcscRetrySeconds, 0.5)
        XCTAssertEqual(configuration.stateDirectory, Configuration().stateDirectory)
    }

    func testErrorsNameTheLine() {
        XCTAssertThrowsError(try Configuration.parse("[api]\nsockt = /x", source: "f")) {
            XCTAssertEqual($0 as? ConfigurationError, .unknownKey(source: "f", line: 2, key: "api.sockt"))
        }
        XCTAssertThrowsError(try Configuration.parse("[api]\nsocket_mode = 999", source: "f")) {
            guard case let .invalidValue(_, line, key, _, _) = $0 as? ConfigurationError else {
                return XCTFail("\($0)")
            }
            XCTAssertEqual(line, 2)
            XCTAssertEqual(key, "api.socket_mode")
        }
        XCTAssertThrowsError(try Configuration.parse("[nosuch]\n")) {
            guard case .unknownKey = $0 as? ConfigurationError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Configuration.parse("[api\n")) {
            guard case .syntax = $0 as? ConfigurationError else { return XCTFail("\($0)") }
        }
    }

    func testStoreSectionSelectsPostgreSQLAndReadsThePasswordFile() throws {
        XCTAssertEqual(try Configuration.parse("").storeBackend, .sqlite)
        XCTAssertThrowsError(try Configuration.parse("[store]\nbackend = postgresql\n")) { error in
            XCTAssertTrue("\(error)".contains("conninfo"), "\(error)")
        }
        XCTAssertThrowsError(try Configuration.parse("[store]\nbackend = oracle\n"))
        XCTAssertThrowsError(try Configuration.parse("[store]\nsslmode = maybe\n"))
        XCTAssertThrowsError(try Configuration.parse("[store]\npassword_file = pg.pass\n"), "relative path")

        let directory = NSTemporaryDirectory() + "enrolld-store-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let passwordFile = directory + "/pg.pass"
        FileManager.default.createFile(
            atPath: passwordFile, contents: Data("s3cret pass\n".utf8),
            attributes: [.posixPermissions: 0o600])
        let configuration = try Configuration.parse(
            """
            [store]
            backend = postgresql
            conninfo = postgresql://enrolld@db.example/enrolld
            password_file = \(passwordFile)
            sslmode = verify-full
            sslrootcert = /etc/enrolld/pg-ca.pem
            pool_size = 8
            """)
        let settings = try configuration.postgresSettings()
        XCTAssertEqual(settings.conninfo, "postgresql://enrolld@db.example/enrolld")
        XCTAssertEqual(settings.password, "s3cret pass", "one line, the newline trimmed")
        XCTAssertEqual(settings.sslMode, "verify-full")
        XCTAssertEqual(settings.sslRootCert, "/etc/enrolld/pg-ca.pem")
        XCTAssertEqual(settings.poolSize, 8)

        // A password file others can read is refused, as a key file is.
        chmod(passwordFile, 0o644)
        XCTAssertThrowsError(try configuration.postgresSettings()) { error in
            XCTAssertEqual(error as? KeyFileError, .insecurePermissions(path: passwordFile, mode: 0o644))
        }
    }

    func testShippedConfigurationIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("Packaging/enrolld.conf").path
        XCTAssertNoThrow(try Configuration.load(path: path))
    }
}

final class EventHubTests: XCTestCase {
    func testFanOutAndOrdering() {
        let hub = EventHub()
        let a = hub.subscribe()
        let b = hub.subscribe()
        hub.publish(.cardInserted("R", atr: "3B80"))
        hub.publish(.cardRemoved("R"))
        for subscription in [a, b] {
            guard case let .event(first) = subscription.next(timeout: 1),
                case let .event(second) = subscription.next(timeout: 1)
            else {
                return XCTFail("expected two events")
            }
            XCTAssertEqual(first.type, .cardInserted)
            XCTAssertEqual(second.type, .cardRemoved)
            XCTAssertLessThan(first.id, second.id)
        }
        guard case .timeout = a.next(timeout: 0.05) else { return XCTFail("expected timeout") }
        a.cancel()
        XCTAssertEqual(hub.subscriberCount, 1)
        hub.close()
        guard case .closed = b.next(timeout: 1) else { return XCTFail("expected closed") }
    }

    func testSlowSubscriberLosesOldestEvents() {
        let hub = EventHub(queueLimit: 3)
        let subscription = hub.subscribe()
        for i in 0..<5 { hub.publish(.readerAdded("R\(i)")) }
        XCTAssertEqual(subscription.dropped, 2)
        guard case let .event(first) = subscription.next(timeout: 1) else { return XCTFail("expected an event") }
        XCTAssertEqual(first.reader, "R2")
    }

    func testObserversSeeEveryEventEvenWhenSubscribersDropThem() {
        let hub = EventHub(queueLimit: 1)
        let subscription = hub.subscribe()
        let metrics = Metrics()
        metrics.follow(hub)
        for _ in 0..<50 { hub.publish(.cardReadCompleted("R", apdus: 10, milliseconds: 200)) }
        XCTAssertEqual(subscription.dropped, 49)
        XCTAssertTrue(
            metrics.render(readersPresent: 0, pcscAvailable: true, version: "t", uptimeSeconds: 0)
                .contains(#"enrolld_card_reads_total{outcome="completed"} 50"#))
    }
}

final class APIServerTests: XCTestCase {
    func testRouterOverARealSocket() throws {
        let path = NSTemporaryDirectory() + "enrolld-api-\(getpid()).sock"
        var router = Router()
        router.add(
            Route(
                "GET", "/v1/items/{id}",
                .respond { context in
                    .json(["id": context.parameters["id"] ?? "", "uid": String(context.peer.uid)])
                }))
        router.add(
            Route(
                "POST", "/v1/items",
                .respond { context throws(Problem) in
                    struct Body: Decodable { var name: String }
                    let body = try context.decodeBody(Body.self)
                    return .json(["created": body.name], status: 201)
                }))
        let routes = router
        let server = try UnixSocketServer(path: path, mode: 0o600) { routes.handle($0, $1) }
        server.start()
        defer { server.stop() }
        let client = UnixSocketClient(path: path, timeout: 5)

        let ok = try client.get("/v1/items/a%2Fb")
        XCTAssertEqual(ok.status, 200)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ok.body)) as? [String: String])
        XCTAssertEqual(object["id"], "a/b")
        XCTAssertEqual(object["uid"], String(getuid()), "SO_PEERCRED reports the caller's uid")

        XCTAssertEqual(try client.get("/v1/nothing").status, 404)
        let wrongMethod = try client.send(HTTPRequest(method: "DELETE", path: "/v1/items/x"))
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.header("Allow"), "GET")
        XCTAssertEqual(try client.post("/v1/items", json: Array(#"{"name":"n"}"#.utf8)).status, 201)
        let bad = try client.post("/v1/items", json: Array(#"{"nam":"n"}"#.utf8))
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.header("Content-Type"), "application/problem+json")
        XCTAssertTrue(String(decoding: bad.body, as: UTF8.self).contains("name"))

        var attributes = stat()
        XCTAssertEqual(stat(path, &attributes), 0)
        XCTAssertEqual(attributes.st_mode & 0o777, 0o600)
    }
}

extension EventHubTests {
    func testASubscriberHoldsAtMostItsBytesOfEventsAndKeepsTheNewest() {
        let hub = EventHub(queueLimit: 1000, byteLimit: 2000)
        let subscription = hub.subscribe()
        let name = String(repeating: "R", count: 100)
        for i in 0..<100 { hub.publish(.readerAdded("\(name)\(i)")) }
        XCTAssertLessThanOrEqual(subscription.bytesWaiting, 2000)
        XCTAssertGreaterThan(subscription.dropped, 80, "each frame is over 100 bytes: at most 2000 bytes stay")
        var last: DaemonEvent?
        while case let .event(event) = subscription.next(timeout: 0.01) { last = event }
        XCTAssertEqual(last?.reader, "\(name)99", "the newest event is kept")
        XCTAssertEqual(subscription.bytesWaiting, 0)
    }
}
