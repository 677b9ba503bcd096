import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Enrollment
import Foundation
import PostgresStore
import PostgresTestCluster
import Store
import VirtualCard
import XCTest

/// A fleet on one bench: two `enrolld` processes, each with its own socket, state directory and reader, sharing
/// one PostgreSQL (a private cluster), one CA and the fleet's data-protection keys. Real pcscd + vpcd, real cards,
/// real dlib and OpenSSL.
final class FleetTests: XCTestCase {
    private var bench: Bench!
    private var cluster: PostgresTestCluster?
    private var pki: URL!
    private let identityKey = (0..<32).map { _ in UInt8.random(in: 0...255) }
    private let dataKey = (0..<32).map { _ in UInt8.random(in: 0...255) }
    private let usageChainKey = (0..<32).map { _ in UInt8.random(in: 0...255) }

    override func setUpWithError() throws {
        bench = try Bench()
        pki = bench.workDirectory.appendingPathComponent("pki")
        _ = try BenchPKI.create(directory: pki.path)
        cluster = try PostgresTestCluster()
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
        cluster?.stop()
    }

    private struct Kiosk {
        let name: String
        let reader: String
        let port: UInt16
        let client: UnixSocketClient
        let socket: String
    }

    private func photo(_ person: String, _ index: Int) throws -> URL {
        let folder = CardReadTests.johns.appendingPathComponent(person)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return folder.appendingPathComponent(names[index])
    }

    private func configuration(state: URL) throws -> String {
        let conninfo = try XCTUnwrap(cluster?.conninfo)
        return "[trust]\ndirectory = \(pki.path)/trust\n[daemon]\nstate_directory = \(state.path)\n"
            + "[store]\nbackend = postgresql\nconninfo = \(conninfo)\npool_size = 2\n"
    }

    /// Provisions the fleet as README's Deployment section says: one `enrolld ca init`, its directory copied to
    /// every host, and the same key files on every host. Then starts both daemons.
    private func startFleet() throws -> [Kiosk] {
        let states = ["a", "b"].map { bench.workDirectory.appendingPathComponent("state-\($0)") }
        let caConfig = bench.workDirectory.appendingPathComponent("ca.conf")
        try configuration(state: states[0]).write(to: caConfig, atomically: true, encoding: .utf8)
        let ca = try bench.launch(
            try Bench.executable("enrolld"), ["--config", caConfig.path, "ca", "init"], log: "ca.log")
        ca.waitUntilExit()
        XCTAssertEqual(ca.terminationStatus, 0, bench.log("ca.log"))
        try FileManager.default.createDirectory(
            at: states[1], withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let copied = try Bench.runTool(
            "/bin/cp",
            [
                "-a", states[0].appendingPathComponent("ca").path,
                states[1].appendingPathComponent("ca").path,
            ])
        XCTAssertEqual(copied.code, 0, copied.output)
        for state in states {
            let keys = state.appendingPathComponent("keys")
            try FileManager.default.createDirectory(
                at: keys, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            for (file, key) in [
                (DataProtector.identityKeyFile, identityKey), (DataProtector.dataKeyFile, dataKey),
                (DataProtector.usageChainKeyFile, usageChainKey),
            ] {
                XCTAssertTrue(
                    FileManager.default.createFile(
                        atPath: keys.appendingPathComponent(file).path,
                        contents: Data(key), attributes: [.posixPermissions: 0o600]))
            }
        }
        var kiosks: [Kiosk] = []
        for (index, state) in states.enumerated() {
            let name = ["a", "b"][index]
            let started = try bench.startDaemon(
                configuration: try configuration(state: state), log: "enrolld-\(name).log",
                name: "-\(name)")
            kiosks.append(
                Kiosk(
                    name: name, reader: index == 0 ? Bench.reader0 : Bench.reader1,
                    port: index == 0 ? Bench.port0 : Bench.port1, client: started.client,
                    socket: bench.workDirectory.appendingPathComponent("api-\(name).sock").path))
        }
        return kiosks
    }

    /// Personalises a card for `kiosk`'s reader (replacing the one there).
    private func insertCard(
        _ kiosk: Kiosk, mrz: [String], person: String, replacing card: Process? = nil
    ) throws -> Process {
        if let card {
            bench.stop(card)
            try bench.waitForCard(in: kiosk.reader, present: false, client: kiosk.client)
        }
        let object: [String: Any] = [
            "kind": "emrtd", "mrz": mrz, "portrait": "@" + (try photo(person, 0)).path,
            "documentSigner": ["certificate": "@\(pki.path)/dsc.pem", "key": "@\(pki.path)/dsc.key"],
        ]
        let profile = bench.workDirectory.appendingPathComponent("card-\(kiosk.name)-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        let process = try bench.startCard(port: kiosk.port, profile: profile.path)
        try bench.waitForCard(in: kiosk.reader, client: kiosk.client)
        return process
    }

    private func post<T: Encodable>(_ kiosk: Kiosk, _ path: String, _ body: T) throws -> HTTPResponse {
        try kiosk.client.post(path, json: [UInt8](try JSONEncoder().encode(body)))
    }

    private func makeCSR(_ name: String) throws -> String {
        let key = bench.workDirectory.appendingPathComponent("holder-\(name).key").path
        let csr = bench.workDirectory.appendingPathComponent("holder-\(name).csr").path
        let result = try Bench.runTool(
            "/usr/bin/openssl",
            [
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-subj", "/CN=holder", "-keyout", key, "-out", csr,
            ])
        XCTAssertEqual(result.code, 0, result.output)
        return try String(contentsOfFile: csr, encoding: .utf8)
    }

    /// Reads the card and matches the face through `kiosk`; returns the session id.
    private func verify(_ kiosk: Kiosk, mrz: [String], person: String, photo index: Int) throws -> String {
        let started = try post(
            kiosk, "/v1/enrollments",
            EnrollmentStartBody(reader: kiosk.reader, accessKey: AccessKeyRequest(mrz: mrz.joined(separator: "\n"))))
        XCTAssertEqual(started.status, 201, "kiosk \(kiosk.name): " + String(decoding: started.body, as: UTF8.self))
        let session = try JSONDecoder().decode(EnrollmentView.self, from: Data(started.body))
        let matched = try post(
            kiosk, "/v1/enrollments/\(session.id)/photo",
            EnrollmentPhotoBody(photo: try Data(contentsOf: try photo(person, index)).base64EncodedString()))
        XCTAssertEqual(matched.status, 200, "kiosk \(kiosk.name): " + String(decoding: matched.body, as: UTF8.self))
        return session.id
    }

    /// Completes the sessions on their kiosks at the same moment (one thread each, released together).
    private func completeTogether(_ sessions: [(Kiosk, String)]) throws -> [HTTPResponse] {
        let csrs = try sessions.map { try makeCSR($0.0.name) }
        let responses = ResponseLog(count: sessions.count)
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for (index, (kiosk, session)) in sessions.enumerated() {
            let body = [UInt8]((try? JSONEncoder().encode(EnrollmentCompleteBody(csr: csrs[index]))) ?? Data())
            let client = kiosk.client
            DispatchQueue.global().async(group: group) {
                start.wait()
                responses.set(index, Result { try client.post("/v1/enrollments/\(session)/complete", json: body) })
            }
        }
        for _ in sessions { start.signal() }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success)
        return try responses.all()
    }

    private func problemCode(_ response: HTTPResponse) -> String {
        (try? JSONDecoder().decode(Problem.self, from: Data(response.body)))?.code ?? "status \(response.status)"
    }

    func testTwoDaemonsOnOnePostgreSQLMakeOneAccountPerIdentityUniqueSerialsAndValidChains() throws {
        let kiosks = try startFleet()
        let salley = CardReadTests.td1

        // The same identity on both kiosks at the same moment: both read the card before either completes, so
        // neither daemon sees an account yet; the database lets exactly one through.
        var cards = try kiosks.map { try insertCard($0, mrz: salley, person: "John_Salley") }
        let sameIdentity = try kiosks.map { try verify($0, mrz: salley, person: "John_Salley", photo: 3) }
        let raced = try completeTogether(Array(zip(kiosks, sameIdentity)))
        let winners = raced.filter { $0.status == 200 }
        XCTAssertEqual(winners.count, 1, raced.map { "\($0.status) \(problemCode($0))" }.joined(separator: ", "))
        XCTAssertEqual(
            raced.filter { problemCode($0) == "identity-already-enrolled" }.count, 1,
            raced.map { "\($0.status) \(problemCode($0))" }.joined(separator: ", "))
        let first = try JSONDecoder().decode(EnrollmentOutcome.self, from: Data(try XCTUnwrap(winners.first).body))

        // Each daemon sees the account the other made, and refuses a second registration of that identity.
        for kiosk in kiosks {
            let account = try kiosk.client.get("/v1/accounts/\(first.accountID)")
            XCTAssertEqual(account.status, 200, "kiosk \(kiosk.name) reads the fleet's account")
            XCTAssertEqual(try JSONDecoder().decode(AccountView.self, from: Data(account.body)).surname, "SALLEY")
        }
        let again = try post(
            kiosks[1], "/v1/enrollments",
            EnrollmentStartBody(
                reader: kiosks[1].reader,
                accessKey: AccessKeyRequest(mrz: salley.joined(separator: "\n"))))
        XCTAssertEqual(problemCode(again), "identity-already-enrolled")

        // Two other identities, one through each kiosk, at the same moment.
        let savage = LifecycleTests.td1(document: "F47110815", birth: "850304", expiry: "310101", name: "SAVAGE<<JOHN")
        let shimkus = LifecycleTests.td1(
            document: "G08154711", birth: "790611", expiry: "300909", name: "SHIMKUS<<JOHN")
        cards[0] = try insertCard(kiosks[0], mrz: savage, person: "John_Salley", replacing: cards[0])
        cards[1] = try insertCard(kiosks[1], mrz: shimkus, person: "John_Shimkus", replacing: cards[1])
        let sessions = [
            try verify(kiosks[0], mrz: savage, person: "John_Salley", photo: 2),
            try verify(kiosks[1], mrz: shimkus, person: "John_Shimkus", photo: 2),
        ]
        let outcomes = try completeTogether(Array(zip(kiosks, sessions)))
        XCTAssertEqual(outcomes.map(\.status), [200, 200], outcomes.map { problemCode($0) }.joined(separator: ", "))

        // The shared database: one account per identity, every serial once, one certificate per account.
        let protector = try DataProtector(identityKey: identityKey, dataKey: dataKey)
        let store = try PostgresStore(
            settings: PostgresSettings(conninfo: try XCTUnwrap(cluster?.conninfo)),
            protector: protector)
        defer { store.close() }
        let (accounts, issued) = try store.transaction { tx in
            (try tx.accounts(status: nil), try tx.certificates(state: .issued))
        }
        XCTAssertEqual(accounts.count, 3)
        XCTAssertEqual(Set(accounts.map(\.identityKey)).count, 3)
        XCTAssertEqual(issued.count, 3)
        XCTAssertEqual(Set(issued.map(\.serial)).count, 3, "serials are unique across the fleet")
        XCTAssertEqual(Set(issued.map(\.accountID)), Set(accounts.map(\.id)))

        // One usage chain, valid whichever daemon walks it.
        for kiosk in kiosks {
            let audit = try bench.runEnrollctl(["audit", "verify", "--json"], socket: kiosk.socket)
            XCTAssertEqual(
                audit.status, 0,
                "kiosk \(kiosk.name): \(audit.error) "
                    + String(decoding: audit.output, as: UTF8.self))
            let report = try JSONDecoder().decode(AuditReport.self, from: audit.output)
            XCTAssertTrue(report.ok)
            XCTAssertGreaterThanOrEqual(report.records, 6, "account-created, certificate-issued and tier-changed each")
        }
        XCTAssertTrue(bench.log("enrolld-a.log").contains("store postgresql:"), bench.log("enrolld-a.log"))
    }
}

/// Responses gathered from several threads.
private final class ResponseLog: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<HTTPResponse, any Error>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<HTTPResponse, any Error>) { lock.withLock { results[index] = result } }

    func all() throws -> [HTTPResponse] {
        try lock.withLock { results }.map { result in
            guard let result else { throw BenchError("a request did not finish") }
            return try result.get()
        }
    }
}
