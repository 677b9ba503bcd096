import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Enrollment
import Foundation
import VirtualCard
import XCTest

/// The whole enrollment through real pcscd + vpcd, the real daemon, SQLite, dlib and OpenSSL:
/// card → passive authentication → face match → account and certificate; and every refusal.
final class EnrollmentFlowTests: XCTestCase {
    private var bench: Bench!
    private var pki: URL!
    private var state: URL!
    private var client: UnixSocketClient!

    static let salley = CardReadTests.td1
    static let expired = [
        "I<UTOE123456782<<<<<<<<<<<<<<<", "8001014M2001012UTO<<<<<<<<<<<0", "SCHNEIDER<<JOHN<<<<<<<<<<<<<<<",
    ]
    static let minor = [
        "I<UTOM123456788<<<<<<<<<<<<<<<", "1203015M3201015UTO<<<<<<<<<<<6", "SHIMKUS<<JOHN<<<<<<<<<<<<<<<<<",
    ]
    static let johns = CardReadTests.johns

    override func setUpWithError() throws {
        bench = try Bench()
        pki = bench.workDirectory.appendingPathComponent("pki")
        state = bench.workDirectory.appendingPathComponent("state")
        _ = try BenchPKI.create(directory: pki.path)
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    private func photo(_ person: String, _ index: Int) throws -> URL {
        let folder = Self.johns.appendingPathComponent(person)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return folder.appendingPathComponent(names[index])
    }

    /// Writes the config, initialises the CA with `enrolld ca init`, starts a card and the daemon.
    private func start(
        mrz: [String], person: String, extraProfile: [String: Any] = [:], extraConfig: String = ""
    ) throws {
        let config = "[trust]\ndirectory = \(pki.path)/trust\n[daemon]\nstate_directory = \(state.path)\n\(extraConfig)"
        let configFile = bench.workDirectory.appendingPathComponent("ca.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let ca = try bench.launch(
            try Bench.executable("enrolld"), ["--config", configFile.path, "ca", "init"], log: "ca.log")
        ca.waitUntilExit()
        XCTAssertEqual(ca.terminationStatus, 0, bench.log("ca.log"))
        var object: [String: Any] = [
            "kind": "emrtd", "mrz": mrz, "portrait": "@" + (try photo(person, 0)).path,
            "documentSigner": ["certificate": "@\(pki.path)/dsc.pem", "key": "@\(pki.path)/dsc.key"],
        ]
        object.merge(extraProfile) { $1 }
        let profile = bench.workDirectory.appendingPathComponent("card.json")
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        try bench.startCard(profile: profile.path)
        client = try bench.startDaemon(configuration: config).client
        try bench.waitForCard(in: Bench.reader0, client: client)
    }

    private func post<T: Encodable>(_ path: String, _ body: T) throws -> HTTPResponse {
        try client.post(path, json: [UInt8](try JSONEncoder().encode(body)))
    }

    private func problem(_ response: HTTPResponse) -> String {
        (try? JSONDecoder().decode(Problem.self, from: Data(response.body)))?.code ?? "status \(response.status)"
    }

    private func begin(_ mrz: [String], purpose: String = "register", account: String? = nil) throws -> HTTPResponse {
        try post(
            "/v1/enrollments",
            EnrollmentStartBody(
                reader: Bench.reader0, accessKey: AccessKeyRequest(mrz: mrz.joined(separator: "\n")),
                purpose: purpose, accountId: account))
    }

    private func sendPhoto(_ id: String, _ url: URL) throws -> HTTPResponse {
        try post(
            "/v1/enrollments/\(id)/photo", EnrollmentPhotoBody(photo: try Data(contentsOf: url).base64EncodedString()))
    }

    private func makeCSR(tamper: Bool = false) throws -> String {
        let key = bench.workDirectory.appendingPathComponent("holder.key").path
        let csr = bench.workDirectory.appendingPathComponent("holder.csr").path
        let status = try run(
            "/usr/bin/openssl",
            [
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=whatever the CSR says", "-keyout", key, "-out", csr,
            ])
        XCTAssertEqual(status.code, 0)
        var text = try String(contentsOfFile: csr, encoding: .utf8)
        if tamper {
            // Flip one bit of the signature (the DER's last bytes) so proof of possession fails.
            let base64 = text.components(separatedBy: "\n").filter { !$0.hasPrefix("-----") }.joined()
            var der = [UInt8](Data(base64Encoded: base64) ?? Data())
            der[der.count - 2] ^= 0x01
            text =
                "-----BEGIN CERTIFICATE REQUEST-----\n\(Data(der).base64EncodedString(options: .lineLength64Characters))\n"
                + "-----END CERTIFICATE REQUEST-----\n"
        }
        return text
    }

    @discardableResult
    private func run(_ tool: String, _ arguments: [String]) throws -> (code: Int32, output: String) {
        try Bench.runTool(tool, arguments)
    }

    private func accountCount() throws -> Int {
        let result = try run(
            "/usr/bin/sqlite3", [state.appendingPathComponent("enrolld.db").path, "SELECT count(*) FROM accounts;"])
        return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func testAdultWithMatchingPhotoGetsASigningCertificateThatOpenSSLAccepts() throws {
        try start(mrz: Self.salley, person: "John_Salley")
        let started = try begin(Self.salley)
        XCTAssertEqual(started.status, 201, String(decoding: started.body, as: UTF8.self))
        let session = try JSONDecoder().decode(EnrollmentView.self, from: Data(started.body))
        XCTAssertEqual(session.state, "card-verified")
        XCTAssertTrue(session.authenticity.genuine)
        let matched = try sendPhoto(session.id, try photo("John_Salley", 3))
        XCTAssertEqual(matched.status, 200, String(decoding: matched.body, as: UTF8.self))
        XCTAssertEqual(try JSONDecoder().decode(EnrollmentView.self, from: Data(matched.body)).state, "face-matched")
        let completed = try post("/v1/enrollments/\(session.id)/complete", EnrollmentCompleteBody(csr: try makeCSR()))
        XCTAssertEqual(completed.status, 200, String(decoding: completed.body, as: UTF8.self))
        let outcome = try JSONDecoder().decode(EnrollmentOutcome.self, from: Data(completed.body))
        XCTAssertEqual(outcome.tier, "signing")

        let certFile = bench.workDirectory.appendingPathComponent("cert.pem")
        try XCTUnwrap(outcome.certificatePEM).write(to: certFile, atomically: true, encoding: .utf8)
        let caFile = state.appendingPathComponent("ca/ca.pem").path
        XCTAssertEqual(try run("/usr/bin/openssl", ["verify", "-CAfile", caFile, certFile.path]).code, 0)
        let text = try run("/usr/bin/openssl", ["x509", "-in", certFile.path, "-noout", "-text"]).output
        XCTAssertTrue(text.contains("Digital Signature, Non Repudiation"), text)
        XCTAssertTrue(text.contains("CA:FALSE"))
        XCTAssertTrue(text.contains("CN = JOHN SALLEY") || text.contains("CN=JOHN SALLEY"), text)
        XCTAssertFalse(
            text.contains("whatever the CSR says"), "the CA writes what the chip proved, not the CSR subject")
        XCTAssertFalse(text.contains("D23145890"), "the document number never goes into the certificate")

        let account = try client.get("/v1/accounts/\(outcome.accountID)")
        let view = try JSONDecoder().decode(AccountView.self, from: Data(account.body))
        XCTAssertEqual(view.tier, "signing")
        XCTAssertEqual(view.certificates.count, 1)

        // CRL: parses; after revocation, openssl refuses the certificate.
        let crlFile = bench.workDirectory.appendingPathComponent("crl.pem")
        try Data(try client.get("/v1/crl").body).write(to: crlFile)
        XCTAssertEqual(try run("/usr/bin/openssl", ["crl", "-in", crlFile.path, "-noout"]).code, 0)
        let serial = try XCTUnwrap(outcome.certificateSerial)
        XCTAssertEqual(try post("/v1/certificates/\(serial)/revoke", ["reason": "key-compromise"]).status, 200)
        try Data(try client.get("/v1/crl").body).write(to: crlFile)
        let check = try run(
            "/usr/bin/openssl", ["verify", "-crl_check", "-CRLfile", crlFile.path, "-CAfile", caFile, certFile.path])
        XCTAssertNotEqual(check.code, 0)
        XCTAssertTrue(check.output.contains("revoked"), check.output)

        // No plaintext identity data in the database files.
        for suffix in ["", "-wal"] {
            let path = state.appendingPathComponent("enrolld.db" + suffix).path
            guard let bytes = FileManager.default.contents(atPath: path) else { continue }
            let text = String(decoding: bytes, as: UTF8.self).uppercased()
            XCTAssertFalse(text.contains("SALLEY"), "name in \(path)")
            XCTAssertFalse(text.contains("D23145890"), "document number in \(path)")
        }

        // A second account for the same identity is refused, without naming the first to the kiosk.
        let again = try begin(Self.salley)
        XCTAssertEqual(again.status, 409)
        XCTAssertEqual(problem(again), "identity-already-enrolled")
        XCTAssertFalse(String(decoding: again.body, as: UTF8.self).contains(outcome.accountID))
        XCTAssertEqual(try accountCount(), 1)
    }

    func testForgedCardIsRefused() throws {
        try start(mrz: Self.salley, person: "John_Salley", extraProfile: ["alterAfterSigning": "DG2"])
        let response = try begin(Self.salley)
        XCTAssertEqual(problem(response), "document-not-genuine")
        XCTAssertEqual(try accountCount(), 0)
    }

    func testExpiredDocumentIsRefused() throws {
        try start(mrz: Self.expired, person: "John_Schneider")
        let response = try begin(Self.expired)
        XCTAssertEqual(problem(response), "document-expired")
        XCTAssertEqual(try accountCount(), 0)
    }

    func testUnderAgeHolderIsRefusedTheSigningTier() throws {
        try start(mrz: Self.minor, person: "John_Shimkus")
        let session = try JSONDecoder().decode(EnrollmentView.self, from: Data(try begin(Self.minor).body))
        XCTAssertEqual(try sendPhoto(session.id, try photo("John_Shimkus", 2)).status, 200)
        let completed = try post("/v1/enrollments/\(session.id)/complete", EnrollmentCompleteBody(csr: try makeCSR()))
        XCTAssertEqual(problem(completed), "under-age")
        XCTAssertEqual(try accountCount(), 0)
    }

    func testAnotherPersonsPhotoIsRefusedAndAttemptsRunOut() throws {
        try start(mrz: Self.salley, person: "John_Salley", extraConfig: "[enrollment]\nmax_photo_attempts = 2\n")
        let session = try JSONDecoder().decode(EnrollmentView.self, from: Data(try begin(Self.salley).body))
        let first = try sendPhoto(session.id, try photo("John_Savage", 1))
        XCTAssertEqual(problem(first), "face-mismatch")
        XCTAssertTrue(String(decoding: first.body, as: UTF8.self).contains("1 attempt"))
        // The last attempt ends the session as attempts-exhausted.
        XCTAssertEqual(problem(try sendPhoto(session.id, try photo("John_Simm", 1))), "attempts-exhausted")
        let ended = try JSONDecoder().decode(
            EnrollmentView.self,
            from: Data(try client.get("/v1/enrollments/\(session.id)").body))
        XCTAssertEqual(ended.state, "failed")
        XCTAssertEqual(ended.failureCode, "attempts-exhausted")
        // The session is over: even the right face is too late.
        XCTAssertEqual(problem(try sendPhoto(session.id, try photo("John_Salley", 1))), "enrollment-wrong-state")
        XCTAssertEqual(try accountCount(), 0)
    }

    func testCSRWithoutProofOfPossessionIsRefused() throws {
        try start(mrz: Self.salley, person: "John_Salley")
        let session = try JSONDecoder().decode(EnrollmentView.self, from: Data(try begin(Self.salley).body))
        XCTAssertEqual(try sendPhoto(session.id, try photo("John_Salley", 2)).status, 200)
        let completed = try post(
            "/v1/enrollments/\(session.id)/complete", EnrollmentCompleteBody(csr: try makeCSR(tamper: true)))
        XCTAssertEqual(problem(completed), "csr-proof-of-possession")
        XCTAssertEqual(try accountCount(), 0)
    }

    func testTimedOutSessionIsWipedAndRefused() throws {
        try start(mrz: Self.salley, person: "John_Salley", extraConfig: "[enrollment]\nsession_timeout_seconds = 1\n")
        let session = try JSONDecoder().decode(EnrollmentView.self, from: Data(try begin(Self.salley).body))
        Thread.sleep(forTimeInterval: 2.5)
        let late = try sendPhoto(session.id, try photo("John_Salley", 1))
        XCTAssertEqual(late.status, 410)
        XCTAssertEqual(problem(late), "enrollment-expired")
        XCTAssertEqual(try accountCount(), 0)
    }
}
