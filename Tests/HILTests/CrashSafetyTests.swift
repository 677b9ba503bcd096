import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Enrollment
import Foundation
import VirtualCard
import XCTest

/// Crash safety with a real process and a real database file: for every named step of an enrollment
/// (`CrashPoint`), enrolld runs with `ENROLLD_TEST_STOP_AT` through real pcscd + vpcd, stops itself there
/// (SIGSTOP), is killed with SIGKILL, and restarts on the same SQLite file. After each restart: the
/// interrupted session reads as failed, no account is at the signing tier without a committed certificate,
/// every serial the CA signed is known to the database (issued, or abandoned and on the CRL), the file
/// passes `PRAGMA integrity_check`, the usage chain verifies, and the same person then enrolls.
final class CrashSafetyTests: XCTestCase {
    private var bench: Bench!
    private var pki: URL!
    private var state: URL!
    private var client: UnixSocketClient!
    private var daemon: Process?
    private var config = ""

    static let salley = CardReadTests.td1

    override func setUpWithError() throws {
        bench = try Bench()
        pki = bench.workDirectory.appendingPathComponent("pki")
        _ = try BenchPKI.create(directory: pki.path)
        try bench.startPCSCD()
        let profile = bench.workDirectory.appendingPathComponent("card.json")
        let object: [String: Any] = [
            "kind": "emrtd", "mrz": Self.salley, "portrait": "@" + (try Bench.photo("John_Salley", 0)).path,
            "documentSigner": ["certificate": "@\(pki.path)/dsc.pem", "key": "@\(pki.path)/dsc.key"],
        ]
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        // One card for every run: the daemons come and go, the card and pcscd stay.
        try bench.startCard(profile: profile.path)
    }

    override func tearDown() {
        bench?.stopAll()
    }

    /// What the interrupted session does.
    private enum Scenario: String {
        /// A registration with a CSR: a new account at the signing tier.
        case register
        /// A basic account, then an upgrade with a CSR.
        case upgrade
        /// A registration without a CSR: a basic account.
        case basic
    }

    /// The steps of a registration with a certificate, in order.
    private static let signingPath = CrashPoint.allCases.filter {
        !$0.rawValue.hasPrefix("basic-") && !$0.rawValue.hasPrefix("outbox-") && $0 != .certificateBatchUncommitted
    }

    func testSIGKILLAtEveryStepOfARegistrationRestartsConsistently() throws {
        for point in Self.signingPath {
            try crashAndRecover(at: point, .register)
        }
    }

    func testSIGKILLDuringAnUpgradeLeavesNoHalfUpgradedAccount() throws {
        let points: [CrashPoint] = [
            .intentUncommitted, .intentRecorded, .certificateSigned, .deviceBoundUncommitted,
            .usageAppendedUncommitted, .certificateCommitted,
        ]
        for point in points {
            try crashAndRecover(at: point, .upgrade)
        }
    }

    func testSIGKILLDuringABasicRegistrationRestartsConsistently() throws {
        for point in [CrashPoint.sessionStored, .basicAccountUncommitted, .basicAccountCommitted, .responseSent] {
            try crashAndRecover(at: point, .basic)
        }
    }

    /// Group commit: two completions (two cards, two readers) share one certificate transaction; the kill falls
    /// after both certificates were signed and written into it, before its commit. After the restart every
    /// serial of the batch is known to the database, abandoned with a revocation date and on the CRL, no
    /// account is at the signing tier, and the file and the usage chain are intact.
    ///
    /// The daemon's certificate commits wait (`ENROLLD_TEST_BATCH_SIZE=2`, at most
    /// `CrashPoints.batchGatherTimeout`) until both completions are in one, so the stop point is reached however far
    /// apart the two card reads and face matches end on a loaded machine.
    func testSIGKILLInsideABatchOfCompletionsLeavesEverySerialAbandonedAndOnTheCRL() throws {
        let point = CrashPoint.certificateBatchUncommitted
        state = bench.workDirectory.appendingPathComponent("state-batch")
        config = "[trust]\ndirectory = \(pki.path)/trust\n[daemon]\nstate_directory = \(state.path)\n"
        let configFile = bench.workDirectory.appendingPathComponent("crash.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let ca = try bench.launch(
            try Bench.executable("enrolld"), ["--config", configFile.path, "ca", "init"],
            log: "ca-batch.log")
        ca.waitUntilExit()
        XCTAssertEqual(ca.terminationStatus, 0, bench.log("ca-batch.log"))
        let shimkus = LifecycleTests.td1(
            document: "G08154711", birth: "790611", expiry: "300909",
            name: "SHIMKUS<<JOHN")
        let profile = bench.workDirectory.appendingPathComponent("card-shimkus.json")
        let object: [String: Any] = [
            "kind": "emrtd", "mrz": shimkus, "portrait": "@" + (try Bench.photo("John_Shimkus", 0)).path,
            "documentSigner": ["certificate": "@\(pki.path)/dsc.pem", "key": "@\(pki.path)/dsc.key"],
        ]
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        _ = try bench.startCard(port: Bench.port1, profile: profile.path)

        try startDaemon(stopAt: point, log: "enrolld-batch-crashed.log", batch: 2)
        try bench.waitForCard(in: Bench.reader1, client: client)
        let flows = [(Bench.reader0, Self.salley, "John_Salley", 3), (Bench.reader1, shimkus, "John_Shimkus", 2)]
        let interrupted = flows.map { _ in InterruptedFlow() }
        let group = DispatchGroup()
        for (index, flow) in flows.enumerated() {
            let holder = try bench.makeHolderKey("holder-batch-\(index)")
            let complete = EnrollmentCompleteBody(
                csr: holder.csr, deviceId: "phone-batch-\(index)",
                devicePublicKey: holder.publicKey, deviceLabel: "Phone")
            let photo = try Data(contentsOf: Bench.photo(flow.2, flow.3))
            let flowClient = client!
            let run = interrupted[index]
            group.enter()
            Thread.detachNewThread {
                run.run(
                    client: flowClient, purpose: "register", account: nil, photo: photo, complete: complete,
                    reader: flow.0, mrz: flow.1)
                group.leave()
            }
        }
        let process = try XCTUnwrap(daemon)
        do {
            try bench.waitFor("enrolld to stop inside the batch", timeout: CrashPoints.batchGatherTimeout + 60) {
                Bench.isStopped(process.processIdentifier) || interrupted.allSatisfy { $0.failure != nil }
            }
        } catch {
            XCTFail(
                "\(error); the flows: \(interrupted.map { $0.failure ?? "no failure" }); "
                    + bench.log("enrolld-batch-crashed.log"))
            throw error
        }
        XCTAssertTrue(
            Bench.isStopped(process.processIdentifier),
            "both flows failed before the batch: \(interrupted.map { $0.failure ?? "" })")
        let crashedLog = bench.log("enrolld-batch-crashed.log")
        XCTAssertTrue(crashedLog.contains("stopping at crash point \(point.rawValue)\n"), crashedLog)
        bench.crash(process)
        daemon = nil
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success, "the clients did not return after the kill")
        XCTAssertEqual(interrupted.filter(\.completed).count, 0, "no completion of the batch was answered")

        try startDaemon(stopAt: nil, log: "enrolld-batch-restarted.log")
        let log = bench.log("enrolld-batch-restarted.log")
        XCTAssertEqual(try sql("PRAGMA integrity_check;"), [["ok"]])
        XCTAssertEqual(try enrollctl(["audit", "verify"]).status, 0)
        let signed = Self.signedSerials(in: crashedLog)
        XCTAssertEqual(signed.count, 2, "both completions of the batch were signed before the kill: \(crashedLog)")
        let certificates = try sql("SELECT serial, state, revoked_at IS NOT NULL FROM certificates;")
        XCTAssertEqual(certificates.count, 2, "\(certificates)")
        let known = Dictionary(uniqueKeysWithValues: certificates.map { ($0[0], $0) })
        let crl = try crlSerials()
        for serial in signed {
            let row = try XCTUnwrap(known[serial], "the CA signed \(serial); the database does not know it")
            XCTAssertEqual(row[1], "abandoned", "\(row)")
            XCTAssertEqual(row[2], "1", "abandoned with a revocation date: \(row)")
            XCTAssertTrue(crl.contains(serial), "\(serial) is on the CRL")
        }
        XCTAssertEqual(try sql("SELECT count(*) FROM accounts WHERE tier = 'signing';"), [["0"]])
        XCTAssertTrue(log.contains("2 certificate intent(s) abandoned"), log)
        if let daemon { bench.stop(daemon) }
        daemon = nil
    }

    func testAStopPointOutsideATestBenchIsRefused() throws {
        state = bench.workDirectory.appendingPathComponent("state-refused")
        let configFile = bench.workDirectory.appendingPathComponent("refused.conf")
        try "[daemon]\nstate_directory = \(state.path)\n".write(to: configFile, atomically: true, encoding: .utf8)
        let socket = bench.workDirectory.appendingPathComponent("refused.sock").path
        let cases = [
            ("certificate-signed", "", "for test benches only"),
            ("no-such-point", "1", "unknown ENROLLD_TEST_STOP_AT 'no-such-point'"),
        ]
        for (stopAt, benchFlag, message) in cases {
            let environment = ["ENROLLD_TEST_STOP_AT": stopAt, "ENROLLD_TEST_BENCH": benchFlag]
            let process = try bench.launch(
                try Bench.executable("enrolld"),
                ["--config", configFile.path, "--socket", socket],
                log: "refused-\(stopAt).log", environment: environment)
            process.waitUntilExit()
            let log = bench.log("refused-\(stopAt).log")
            XCTAssertEqual(process.terminationStatus, 2, log)
            XCTAssertTrue(log.contains(message), log)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "the daemon must refuse before it listens")
    }

    // MARK: One crash

    /// What the database must show after the restart, by crash point.
    private struct Expectation {
        /// The interrupted session's state after the restart (nil: it was never stored).
        var session: String?
        var accountTier: String?
        /// Whether a certificate intent was committed (then it is issued or abandoned, never left open).
        var intentCommitted: Bool
        var certificateIssued: Bool
        /// Whether the CA signed before the kill (its issuance log names the serial).
        var signed: Bool

        init(_ point: CrashPoint, _ scenario: Scenario) {
            if scenario == .basic {
                let committed = point == .basicAccountCommitted || point == .responseSent
                (certificateIssued, intentCommitted, signed) = (false, false, false)
                session = point == .cardRead ? nil : committed ? "completed" : "failed"
                accountTier = committed ? "basic" : nil
                return
            }
            let order = CrashSafetyTests.signingPath
            func atOrAfter(_ step: CrashPoint) -> Bool {
                (order.firstIndex(of: point) ?? 0) >= (order.firstIndex(of: step) ?? 0)
            }
            certificateIssued = atOrAfter(.certificateCommitted)
            session = point == .cardRead ? nil : certificateIssued ? "completed" : "failed"
            intentCommitted = atOrAfter(.intentRecorded)
            signed = atOrAfter(.certificateSigned)
            accountTier = certificateIssued ? "signing" : (scenario == .upgrade || intentCommitted) ? "basic" : nil
        }
    }

    private func crashAndRecover(at point: CrashPoint, _ scenario: Scenario) throws {
        let label = "\(scenario.rawValue) at \(point.rawValue)"
        let run = "\(scenario.rawValue)-\(point.rawValue)"
        state = bench.workDirectory.appendingPathComponent("state-\(run)")
        config = "[trust]\ndirectory = \(pki.path)/trust\n[daemon]\nstate_directory = \(state.path)\n"
        let configFile = bench.workDirectory.appendingPathComponent("crash.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let ca = try bench.launch(
            try Bench.executable("enrolld"), ["--config", configFile.path, "ca", "init"],
            log: "ca.log")
        ca.waitUntilExit()
        XCTAssertEqual(ca.terminationStatus, 0, bench.log("ca.log"))

        try startDaemon(stopAt: point, log: "enrolld-\(run)-crashed.log")
        var basicAccount: String?
        if scenario == .upgrade {
            // A basic account first (no CSR: no point of the signing path lies on it).
            let session = try decode(EnrollmentView.self, try begin(purpose: "register", account: nil))
            basicAccount = try decode(
                EnrollmentOutcome.self,
                try post(
                    "/v1/enrollments/\(session.id)/complete",
                    EnrollmentCompleteBody())
            ).accountID
        }
        let holder = try bench.makeHolderKey("holder-\(point.rawValue)")
        let interrupted = InterruptedFlow()
        let flowClient = client!
        let done = DispatchSemaphore(value: 0)
        let account = basicAccount
        let complete =
            scenario == .basic
            ? EnrollmentCompleteBody()
            : EnrollmentCompleteBody(
                csr: holder.csr, deviceId: "phone-\(point.rawValue)", devicePublicKey: holder.publicKey,
                deviceLabel: "Phone")
        Thread.detachNewThread {
            interrupted.run(
                client: flowClient, purpose: scenario == .upgrade ? "upgrade" : "register", account: account,
                photo: (try? Data(contentsOf: Bench.photo("John_Salley", 3))) ?? Data(), complete: complete)
            done.signal()
        }
        let process = try XCTUnwrap(daemon)
        try bench.waitFor("enrolld to stop at \(point.rawValue)", timeout: 60) {
            Bench.isStopped(process.processIdentifier)
        }
        let runLog = bench.log("enrolld-\(run)-crashed.log")
        XCTAssertTrue(runLog.contains("stopping at crash point \(point.rawValue)\n"), "\(label): \(runLog)")
        bench.crash(process)
        daemon = nil
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "\(label): the client did not return after the kill")
        XCTAssertEqual(
            interrupted.completed, point == .responseSent,
            "\(label): only a kill after the response leaves the client with an answer")

        try startDaemon(stopAt: nil, log: "enrolld-\(run)-restarted.log")
        try checkConsistency(
            after: point, scenario, label: label, interruptedSession: interrupted.sessionID,
            crashedLog: runLog, restartedLog: bench.log("enrolld-\(run)-restarted.log"))
        try enrollAgain(label: label)
        XCTAssertEqual(
            try enrollctl(["audit", "verify"]).status, 0, "\(label): usage chain after the fresh enrollment")
        if let daemon { bench.stop(daemon) }
        daemon = nil
    }

    private func checkConsistency(
        after point: CrashPoint, _ scenario: Scenario, label: String,
        interruptedSession: String?, crashedLog: String, restartedLog log: String
    ) throws {
        let expected = Expectation(point, scenario)

        // The file itself.
        XCTAssertEqual(try sql("PRAGMA integrity_check;"), [["ok"]], label)
        XCTAssertEqual(try sql("PRAGMA foreign_key_check;"), [], label)
        let audit = try enrollctl(["audit", "verify"])
        XCTAssertEqual(audit.status, 0, "\(label): \(audit.output)")

        // Sessions: none left open; the interrupted one reads as failed (code interrupted) through the API.
        XCTAssertEqual(
            try sql("SELECT count(*) FROM enrollments WHERE state IN ('card-verified', 'face-matched');"),
            [["0"]], label)
        let sessions = try sql("SELECT id, state, failure_code FROM enrollments ORDER BY created_at;")
        XCTAssertEqual(
            sessions.count, (scenario == .upgrade ? 1 : 0) + (expected.session == nil ? 0 : 1),
            "\(label): \(sessions)")
        if let session = expected.session, let last = sessions.last {
            XCTAssertEqual(last[1], session, "\(label): \(last)")
            if let interruptedSession { XCTAssertEqual(last[0], interruptedSession, label) }
            let view = try decode(EnrollmentView.self, try client.get("/v1/enrollments/\(last[0])"))
            XCTAssertEqual(view.state, session, label)
            XCTAssertEqual(view.failureCode, session == "failed" ? "interrupted" : nil, label)
        }
        if expected.session == "failed" {
            XCTAssertTrue(log.contains("recovered from an interrupted run"), "\(label): \(log)")
        }

        // Accounts: at the signing tier exactly when a committed certificate exists.
        let accounts = try sql(
            """
            SELECT a.id, a.tier, (SELECT count(*) FROM certificates c WHERE c.account_id = a.id AND c.state = 'issued'
                AND c.der IS NOT NULL), (SELECT count(*) FROM device_bindings d WHERE d.account_id = a.id)
            FROM accounts a;
            """)
        XCTAssertEqual(accounts.map { $0[1] }, expected.accountTier.map { [$0] } ?? [], "\(label): \(accounts)")
        for account in accounts {
            let signing = account[1] == "signing"
            XCTAssertEqual(signing, account[2] == "1", "\(label): tier and certificate disagree: \(account)")
            XCTAssertEqual(account[3], signing ? "1" : "0", "\(label): device bound without its certificate")
            let view = try decode(AccountView.self, try client.get("/v1/accounts/\(account[0])"))
            XCTAssertEqual(view.tier, account[1], label)
            XCTAssertEqual(view.certificates.filter { $0.state == "issued" }.count, signing ? 1 : 0, label)
        }

        // Certificates: no intent left open; every signed serial known; abandoned ones that may exist on the CRL.
        let certificates = try sql("SELECT serial, state, revoked_at IS NOT NULL FROM certificates;")
        XCTAssertFalse(certificates.contains { $0[1] == "intent" }, "\(label): \(certificates)")
        XCTAssertEqual(certificates.count, expected.intentCommitted ? 1 : 0, "\(label): \(certificates)")
        if let certificate = certificates.first {
            XCTAssertEqual(certificate[1], expected.certificateIssued ? "issued" : "abandoned", label)
        }
        let signed = Self.signedSerials(in: crashedLog + log)
        XCTAssertEqual(signed.count, expected.signed ? 1 : 0, "\(label): serials in the CA's issuance log: \(signed)")
        let known = Dictionary(uniqueKeysWithValues: certificates.map { ($0[0], $0) })
        for serial in signed {
            let row = try XCTUnwrap(known[serial], "\(label): the CA signed \(serial); the database does not know it")
            XCTAssertTrue(row[1] == "issued" || (row[1] == "abandoned" && row[2] == "1"), "\(label): \(row)")
        }
        let crl = try crlSerials()
        for row in certificates {
            XCTAssertEqual(
                crl.contains(row[0]), row[1] == "abandoned",
                "\(label): \(row) on the CRL: \(crl.contains(row[0]))")
        }
        if expected.intentCommitted && !expected.certificateIssued {
            XCTAssertTrue(log.contains("1 certificate intent(s) abandoned"), "\(label): \(log)")
        }
    }

    /// The same person enrolls after the restart: a registration, or an upgrade of the account the interrupted
    /// run left (the daemon refuses a second registration without naming it; the test finds it in the database).
    private func enrollAgain(label: String) throws {
        var started = try begin(purpose: "register", account: nil)
        if started.status == 409 {
            XCTAssertEqual(problem(started), "identity-already-enrolled", label)
            let account = try XCTUnwrap(try sql("SELECT id FROM accounts;").first?.first, label)
            started = try begin(purpose: "upgrade", account: account)
        }
        let session = try decode(EnrollmentView.self, started)
        let photo = try Data(contentsOf: Bench.photo("John_Salley", 3)).base64EncodedString()
        _ = try decode(
            EnrollmentView.self,
            try post("/v1/enrollments/\(session.id)/photo", EnrollmentPhotoBody(photo: photo)))
        let holder = try bench.makeHolderKey("holder-again")
        let outcome = try decode(
            EnrollmentOutcome.self,
            try post(
                "/v1/enrollments/\(session.id)/complete",
                EnrollmentCompleteBody(
                    csr: holder.csr, deviceId: "phone-again-\(UUID().uuidString.prefix(8))",
                    devicePublicKey: holder.publicKey, deviceLabel: "Phone")))
        XCTAssertEqual(outcome.tier, "signing", label)
        let certificate = bench.workDirectory.appendingPathComponent("again.pem")
        try XCTUnwrap(outcome.certificatePEM, label).write(to: certificate, atomically: true, encoding: .utf8)
        let crl = bench.workDirectory.appendingPathComponent("again-crl.pem")
        try Data(try client.get("/v1/crl").body).write(to: crl)
        let caFile = state.appendingPathComponent("ca/ca.pem").path
        let verify = try Bench.runTool(
            "/usr/bin/openssl",
            [
                "verify", "-crl_check", "-CRLfile", crl.path, "-CAfile", caFile,
                certificate.path,
            ])
        XCTAssertEqual(verify.code, 0, "\(label): \(verify.output)")
        XCTAssertEqual(try sql("SELECT count(*) FROM accounts WHERE tier = 'signing';"), [["1"]], label)
    }

    // MARK: Helpers

    private func startDaemon(stopAt point: CrashPoint?, log: String, batch: Int? = nil) throws {
        var environment = point.map { ["ENROLLD_TEST_STOP_AT": $0.rawValue, "ENROLLD_TEST_BENCH": "1"] } ?? [:]
        if let batch { environment["ENROLLD_TEST_BATCH_SIZE"] = String(batch) }
        let started = try bench.startDaemon(configuration: config, environment: environment, log: log)
        daemon = started.process
        client = started.client
        try bench.waitForCard(in: Bench.reader0, client: client)
    }

    private var socket: String { bench.workDirectory.appendingPathComponent("api.sock").path }

    private func begin(purpose: String, account: String?) throws -> HTTPResponse {
        try post("/v1/enrollments", Self.start(purpose: purpose, account: account))
    }

    static func start(
        purpose: String, account: String?, reader: String = Bench.reader0,
        mrz: [String] = salley
    ) -> EnrollmentStartBody {
        EnrollmentStartBody(
            reader: reader, accessKey: AccessKeyRequest(mrz: mrz.joined(separator: "\n")),
            purpose: purpose, accountId: account)
    }

    private func post<T: Encodable>(_ path: String, _ body: T) throws -> HTTPResponse {
        try client.post(path, json: [UInt8](try JSONEncoder().encode(body)))
    }

    private func decode<T: Decodable>(
        _ type: T.Type, _ response: HTTPResponse,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> T {
        XCTAssertLessThan(response.status, 300, String(decoding: response.body, as: UTF8.self), file: file, line: line)
        return try JSONDecoder().decode(T.self, from: Data(response.body))
    }

    private func problem(_ response: HTTPResponse) -> String {
        (try? JSONDecoder().decode(Problem.self, from: Data(response.body)))?.code ?? "status \(response.status)"
    }

    private func enrollctl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try bench.runEnrollctl(arguments, socket: socket)
        return (result.status, String(decoding: result.output, as: UTF8.self) + result.error)
    }

    /// Rows of a query on the daemon's database file, columns split on '|'.
    private func sql(_ query: String) throws -> [[String]] {
        let result = try Bench.runTool("/usr/bin/sqlite3", [state.appendingPathComponent("enrolld.db").path, query])
        XCTAssertEqual(result.code, 0, result.output)
        return result.output.split(separator: "\n").map {
            $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        }
    }

    /// Serials on the current CRL, upper-case hex as the store writes them.
    private func crlSerials() throws -> Set<String> {
        let crl = bench.workDirectory.appendingPathComponent("crash-crl.pem")
        try Data(try client.get("/v1/crl").body).write(to: crl)
        let text = try Bench.runTool("/usr/bin/openssl", ["crl", "-in", crl.path, "-noout", "-text"])
        XCTAssertEqual(text.code, 0, text.output)
        return Set(
            text.output.split(separator: "\n").compactMap { line -> String? in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix("Serial Number:") else { return nil }
                return trimmed.dropFirst("Serial Number:".count).trimmingCharacters(in: .whitespaces).uppercased()
            })
    }

    /// Serials the CA signed, from its issuance log lines ("certificate SERIAL signed").
    static func signedSerials(in log: String) -> [String] {
        log.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count == 3, words[0].hasSuffix("certificate"), words[2] == "signed" else { return nil }
            return String(words[1])
        }
    }
}

/// One enrollment on a background thread, expected to be cut off by the kill: remembers how far it got.
final class InterruptedFlow: @unchecked Sendable {
    private let lock = NSLock()
    private var session: String?
    private var finished = false
    private var refused: String?

    var sessionID: String? { lock.withLock { session } }
    var completed: Bool { lock.withLock { finished } }
    /// The step that was refused (or got no answer) and what the daemon said.
    var failure: String? { lock.withLock { refused } }

    func run(
        client: UnixSocketClient, purpose: String, account: String?, photo: Data,
        complete: EnrollmentCompleteBody, reader: String = Bench.reader0, mrz: [String] = CrashSafetyTests.salley
    ) {
        func post<T: Encodable>(_ path: String, _ body: T) -> HTTPResponse? {
            guard let bytes = try? JSONEncoder().encode(body) else { return nil }
            do {
                let response = try client.post(path, json: [UInt8](bytes))
                guard response.status < 300 else {
                    let said = String(decoding: response.body, as: UTF8.self)
                    lock.withLock { refused = "\(path): \(response.status) \(said)" }
                    return nil
                }
                return response
            } catch {
                lock.withLock { refused = "\(path): \(error)" }
                return nil
            }
        }
        guard
            let started = post(
                "/v1/enrollments",
                CrashSafetyTests.start(
                    purpose: purpose, account: account,
                    reader: reader, mrz: mrz)),
            let view = try? JSONDecoder().decode(EnrollmentView.self, from: Data(started.body))
        else { return }
        lock.withLock { session = view.id }
        guard post("/v1/enrollments/\(view.id)/photo", EnrollmentPhotoBody(photo: photo.base64EncodedString())) != nil,
            post("/v1/enrollments/\(view.id)/complete", complete) != nil
        else { return }
        lock.withLock { finished = true }
    }
}
