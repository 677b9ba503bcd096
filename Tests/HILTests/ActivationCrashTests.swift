import DaemonCore
import EnrollAPIModel
import Enrollment
import Foundation
import UnixHTTP
import VirtualCard
import XCTest

/// The outbox with a real process: enrolld (real pcscd + vpcd, SQLite file) is frozen by `ENROLLD_TEST_STOP_AT`
/// between the commit of an activation's code and its delivery, killed with SIGKILL and restarted; a real SMTP
/// server on loopback (python3-aiosmtpd, STARTTLS and AUTH) counts what it received.
final class ActivationCrashTests: XCTestCase {
    private var bench: Bench!
    private var pki: URL!
    private var sink: Process?
    private var sinkDirectory: URL!
    private var smtpPort: UInt16 = 0

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/aiosmtpd") else {
            throw XCTSkip("python3-aiosmtpd is not installed (scripts/setup.sh installs it)")
        }
        bench = try Bench()
        pki = bench.workDirectory.appendingPathComponent("pki")
        _ = try BenchPKI.create(directory: pki.path)
        try bench.startPCSCD()
        let profile = bench.workDirectory.appendingPathComponent("card.json")
        let object: [String: Any] = [
            "kind": "emrtd", "mrz": CrashSafetyTests.salley,
            "portrait": "@" + (try Bench.photo("John_Salley", 0)).path,
            "documentSigner": ["certificate": "@\(pki.path)/dsc.pem", "key": "@\(pki.path)/dsc.key"],
        ]
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        try bench.startCard(profile: profile.path)
        try startSink()
    }

    override func tearDown() {
        if let sink, sink.isRunning {
            sink.terminate()
            sink.waitUntilExit()
        }
        bench?.stopAll()
    }

    /// `Tests/DaemonCoreTests/Fixtures/contact_sink.py` with a certificate for localhost.
    private func startSink() throws {
        sinkDirectory = bench.workDirectory.appendingPathComponent("sink")
        try FileManager.default.createDirectory(at: sinkDirectory, withIntermediateDirectories: true)
        let certificate = try Bench.runTool(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                sinkDirectory.appendingPathComponent("key.pem").path, "-out",
                sinkDirectory.appendingPathComponent("cert.pem").path, "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
        XCTAssertEqual(certificate.code, 0, certificate.output)
        smtpPort = try Self.freePort()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("DaemonCoreTests/Fixtures/contact_sink.py").path
        sink = try bench.launch(
            "/usr/bin/python3", [script, String(smtpPort), String(try Self.freePort()), sinkDirectory.path, "normal"],
            log: "sink.log")
        try bench.waitFor("the SMTP stand-in", timeout: 15) {
            FileManager.default.fileExists(atPath: sinkDirectory.appendingPathComponent("ready").path)
        }
    }

    private static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw XCTSkip("no free loopback port") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// What the SMTP server received: one JSON line per message.
    private var mails: [[String: Any]] {
        let text = (try? String(contentsOf: sinkDirectory.appendingPathComponent("mail.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    private func configuration(state: URL) throws -> String {
        let password = bench.workDirectory.appendingPathComponent("smtp.pass")
        try "s3cret\n".write(to: password, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: password.path)
        let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Packaging/messages").path
        return """
            [trust]
            directory = \(pki.path)/trust
            [daemon]
            state_directory = \(state.path)
            [outbox]
            smtp_host = localhost
            smtp_port = \(smtpPort)
            smtp_username = enrolld
            smtp_password_file = \(password.path)
            smtp_trust_file = \(sinkDirectory.appendingPathComponent("cert.pem").path)
            smtp_from = noreply@enrolld.example
            retry_seconds = 1
            templates_directory = \(templates)

            """
    }

    /// Enrolls at the signing tier with an e-mail contact on a daemon that stops at `point`, kills it there, and
    /// restarts it; returns the restarted daemon's client, its process, the database file and how many mails the
    /// server had received when the daemon was killed.
    private func crashAfterTheCommit(at point: CrashPoint) throws -> (UnixSocketClient, Process, URL, Int) {
        let state = bench.workDirectory.appendingPathComponent("state-\(point.rawValue)")
        let config = try configuration(state: state)
        let configFile = bench.workDirectory.appendingPathComponent("activation.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let ca = try bench.launch(
            try Bench.executable("enrolld"), ["--config", configFile.path, "ca", "init"], log: "ca.log")
        ca.waitUntilExit()
        XCTAssertEqual(ca.terminationStatus, 0, bench.log("ca.log"))

        let crashed = try bench.startDaemon(
            configuration: config, environment: ["ENROLLD_TEST_STOP_AT": point.rawValue, "ENROLLD_TEST_BENCH": "1"],
            log: "enrolld-\(point.rawValue)-crashed.log")
        try bench.waitForCard(in: Bench.reader0, client: crashed.client)
        let holder = try bench.makeHolderKey("holder-\(point.rawValue)")
        let flow = InterruptedFlow()
        let done = DispatchSemaphore(value: 0)
        let client = crashed.client
        Thread.detachNewThread {
            flow.run(
                client: client, purpose: "register", account: nil,
                photo: (try? Data(contentsOf: Bench.photo("John_Salley", 3))) ?? Data(),
                complete: EnrollmentCompleteBody(csr: holder.csr, contact: ["email": "holder@example.org"]))
            done.signal()
        }
        try bench.waitFor("enrolld to stop at \(point.rawValue)", timeout: 90) {
            Bench.isStopped(crashed.process.processIdentifier)
        }
        XCTAssertTrue(
            bench.log("enrolld-\(point.rawValue)-crashed.log").contains("stopping at crash point \(point.rawValue)"))
        bench.crash(crashed.process)
        _ = done.wait(timeout: .now() + 30)
        let atKill = mails.count
        let database = state.appendingPathComponent("enrolld.db")
        let restarted = try bench.startDaemon(configuration: config, log: "enrolld-\(point.rawValue)-restarted.log")
        return (restarted.client, restarted.process, database, atKill)
    }

    private func sql(_ database: URL, _ query: String) throws -> String {
        let result = try Bench.runTool("/usr/bin/sqlite3", [database.path, query])
        XCTAssertEqual(result.code, 0, result.output)
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Killed after the worker claimed the message, before anything was sent: delivered exactly once after the
    /// restart (at once: the dead run's claim is released), and the code activates the account.
    func testSIGKILLBetweenTheCommitAndTheDeliveryDeliversOnceAfterTheRestart() throws {
        let (client, process, database, atKill) = try crashAfterTheCommit(at: .outboxClaimed)
        XCTAssertEqual(atKill, 0, "nothing was sent before the kill")
        try bench.waitFor("the mail after the restart", timeout: 30) { mails.count >= 1 }
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(mails.count, 1, "exactly one message")
        XCTAssertEqual(try sql(database, "SELECT state || ' ' || attempts FROM outbox;"), "sent 1")
        XCTAssertTrue(
            bench.log("enrolld-outbox-claimed-restarted.log").contains("earlier run had claimed queued again"))

        let account = try sql(database, "SELECT id FROM accounts;")
        let data = mails[0]["data"] as? String ?? ""
        let encoded = data.components(separatedBy: "\r\n\r\n").dropFirst().joined()
            .components(separatedBy: .whitespacesAndNewlines).joined()
        let body = Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let range = try XCTUnwrap(body.range(of: "[0-9]{6}", options: .regularExpression), body)
        let activated = try client.post(
            "/v1/accounts/\(account)/activate", json: Array(#"{"code":"\#(body[range])"}"#.utf8))
        XCTAssertEqual(activated.status, 200, String(decoding: activated.body, as: UTF8.self))
        XCTAssertEqual(try sql(database, "SELECT state FROM certificates;"), "issued", "the hold is released")
        bench.stop(process)
    }

    /// Killed after the relay accepted the message and before it was marked: the one window where a message is sent
    /// twice, both times with the same Message-ID (the outbox id), so the receiver can drop the second; never lost.
    func testSIGKILLAfterTheRelayAcceptedResendsWithTheSameMessageID() throws {
        let (_, process, database, atKill) = try crashAfterTheCommit(at: .outboxDeliveredUnmarked)
        XCTAssertEqual(atKill, 1, "the relay had accepted it")
        try bench.waitFor("the resent mail after the restart", timeout: 30) { mails.count >= 2 }
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(mails.count, 2)
        func messageID(_ mail: [String: Any]) -> String? {
            (mail["data"] as? String)?.components(separatedBy: "\r\n").first { $0.hasPrefix("Message-ID:") }
        }
        XCTAssertNotNil(messageID(mails[0]))
        XCTAssertEqual(messageID(mails[0]), messageID(mails[1]))
        XCTAssertEqual(try sql(database, "SELECT state FROM outbox;"), "sent")
        bench.stop(process)
    }
}
