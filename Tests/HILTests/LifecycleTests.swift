import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Enrollment
import Foundation
import MRTD
import VirtualCard
import XCTest

/// The identity lifecycle through real pcscd + vpcd, the real daemon and its API: device binding and the CRL,
/// cancellation, expiry and re-verification with a renewed card, passcode lockout and reset, the audit chain.
final class LifecycleTests: XCTestCase {
    var bench: Bench!
    var pki: URL!
    var state: URL!
    var client: UnixSocketClient!
    var cards: [UInt16: Process] = [:]
    var daemon: Process?

    static let salley = CardReadTests.td1
    static let johns = CardReadTests.johns
    let kiosk = ("kiosk", "kiosk-12")
    /// Kiosk software in the holder's app channel: one account's data needs the holder's proof.
    let holder = ("kiosk", "app")
    let counter = ("operator", "counter-3")

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

    // MARK: Bench

    /// A TD1 MRZ with correct check digits.
    static func td1(document: String, birth: String, expiry: String, name: String) -> [String] {
        func digit(_ text: String) -> String { MRZ.checkDigit(text).map(String.init) ?? "<" }
        func pad(_ text: String, _ count: Int) -> String {
            text + String(repeating: "<", count: max(0, count - text.count))
        }
        let line1 = "I<UTO" + document + digit(document) + pad("", 15)
        var line2 = birth + digit(birth) + "M" + expiry + digit(expiry) + "UTO" + pad("", 11)
        let composite =
            String(line1.dropFirst(5)) + String(line2.prefix(7)) + String(line2.dropFirst(8).prefix(7))
            + String(line2.dropFirst(18).prefix(11))
        line2 += digit(composite)
        return [line1, line2, pad(name, 30)]
    }

    /// A TD3 (passport) MRZ with correct check digits and no personal number in the MRZ.
    static func td3(document: String, birth: String, expiry: String, name: String) -> [String] {
        func digit(_ text: String) -> String { MRZ.checkDigit(text).map(String.init) ?? "<" }
        func pad(_ text: String, _ count: Int) -> String {
            text + String(repeating: "<", count: max(0, count - text.count))
        }
        let optional = pad("", 14)
        var line2 =
            document + digit(document) + "UTO" + birth + digit(birth) + "M" + expiry + digit(expiry) + optional
            + digit(optional)
        let composite =
            String(line2.prefix(10)) + String(line2.dropFirst(13).prefix(7)) + String(line2.dropFirst(21).prefix(22))
        line2 += digit(composite)
        return [pad("P<UTO" + name, 44), line2]
    }

    func photo(_ person: String, _ index: Int) throws -> URL {
        let folder = Self.johns.appendingPathComponent(person)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return folder.appendingPathComponent(names[index])
    }

    /// Personalises and inserts a card in reader 0 (or 1), removing the card there.
    func insertCard(mrz: [String], person: String, personalNumber: String? = nil, port: UInt16 = Bench.port0) throws {
        let reader = port == Bench.port0 ? Bench.reader0 : Bench.reader1
        if let card = cards[port] {
            bench.stop(card)
            try bench.waitForCard(in: reader, present: false, client: client)
        }
        var object: [String: Any] = [
            "kind": "emrtd", "mrz": mrz, "portrait": "@" + (try photo(person, 0)).path,
            "documentSigner": ["certificate": "@\(pki.path)/dsc.pem", "key": "@\(pki.path)/dsc.key"],
        ]
        if let personalNumber { object["dg11"] = ["fullName": person, "personalNumber": personalNumber] }
        let profile = bench.workDirectory.appendingPathComponent("card-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        cards[port] = try bench.startCard(port: port, profile: profile.path)
        try bench.waitForCard(in: reader, client: client)
    }

    func startDaemon(extraConfig: String = "", environment: [String: String] = [:], directory: URL? = nil) throws {
        let config = "[trust]\ndirectory = \(pki.path)/trust\n[daemon]\nstate_directory = \(state.path)\n\(extraConfig)"
        let configFile = bench.workDirectory.appendingPathComponent("ca.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let ca = try bench.launch(
            try Bench.executable("enrolld"), ["--config", configFile.path, "ca", "init"], log: "ca.log")
        ca.waitUntilExit()
        XCTAssertEqual(ca.terminationStatus, 0, bench.log("ca.log"))
        let started = try bench.startDaemon(configuration: config, environment: environment, directory: directory)
        client = started.client
        daemon = started.process
    }

    var socket: String { bench.workDirectory.appendingPathComponent("api.sock").path }

    /// Sends as `actor` (role, channel); `proof` is a completed enrollment of the account (X-Enrolld-Enrollment).
    func send(
        _ method: String, _ path: String, _ body: (any Encodable)? = nil,
        as actor: (String, String), proof: String? = nil
    ) throws -> HTTPResponse {
        var headers = [("X-Enrolld-Role", actor.0), ("X-Enrolld-Channel", actor.1)]
        if let proof { headers.append(("X-Enrolld-Enrollment", proof)) }
        var bytes: [UInt8] = []
        if let body {
            headers.append(("Content-Type", "application/json"))
            bytes = [UInt8](try JSONEncoder().encode(body))
        }
        return try client.send(HTTPRequest(method: method, path: path, headers: headers, body: bytes))
    }

    func decode<T: Decodable>(
        _ type: T.Type, _ response: HTTPResponse,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> T {
        XCTAssertLessThan(response.status, 300, String(decoding: response.body, as: UTF8.self), file: file, line: line)
        return try JSONDecoder().decode(T.self, from: Data(response.body))
    }

    func problem(_ response: HTTPResponse) -> String {
        (try? JSONDecoder().decode(Problem.self, from: Data(response.body)))?.code ?? "status \(response.status)"
    }

    /// A P-256 key: its CSR and its public key (PEM).
    func makeKey(_ name: String) throws -> (csr: String, publicKey: String) {
        let key = bench.workDirectory.appendingPathComponent("\(name).key").path
        let csr = bench.workDirectory.appendingPathComponent("\(name).csr").path
        XCTAssertEqual(
            try run(
                "/usr/bin/openssl",
                [
                    "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-subj", "/CN=device", "-keyout", key, "-out", csr,
                ]
            ).code, 0)
        let publicKey = try run("/usr/bin/openssl", ["pkey", "-in", key, "-pubout"]).output
        return (try String(contentsOfFile: csr, encoding: .utf8), publicKey)
    }

    @discardableResult
    func run(_ tool: String, _ arguments: [String]) throws -> (code: Int32, output: String) {
        try Bench.runTool(tool, arguments)
    }

    func enrollctl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try bench.runEnrollctl(arguments, socket: socket)
        return (result.status, String(decoding: result.output, as: UTF8.self) + result.error)
    }

    /// A whole session at kiosk-12: card, live photo (when a CSR or a reset needs it), completion.
    func enroll(
        _ mrz: [String], person: String, purpose: String = "register", account: String? = nil,
        complete: EnrollmentCompleteBody = EnrollmentCompleteBody()
    ) throws -> EnrollmentOutcome {
        let session = try decode(EnrollmentView.self, try begin(mrz, purpose: purpose, account: account))
        if complete.csr != nil || purpose == "passcode-reset" {
            let image = try Data(contentsOf: try photo(person, 3)).base64EncodedString()
            _ = try decode(
                EnrollmentView.self,
                try send(
                    "POST", "/v1/enrollments/\(session.id)/photo",
                    EnrollmentPhotoBody(photo: image), as: kiosk))
        }
        return try decode(
            EnrollmentOutcome.self,
            try send(
                "POST", "/v1/enrollments/\(session.id)/complete", complete,
                as: kiosk))
    }

    func begin(
        _ mrz: [String], purpose: String = "register", account: String? = nil,
        guardian: String? = nil
    ) throws -> HTTPResponse {
        try send(
            "POST", "/v1/enrollments",
            EnrollmentStartBody(
                reader: Bench.reader0, accessKey: AccessKeyRequest(mrz: mrz.joined(separator: "\n")), purpose: purpose,
                accountId: account, guardianAccountId: guardian), as: kiosk)
    }

    func usage(_ account: String) throws -> [UsageRecordView] {
        try decode(UsagePage.self, try client.get("/v1/accounts/\(account)/usage", query: [("limit", "1000")])).records
    }

    /// Whether openssl, given the current CRL, refuses `pem` as revoked.
    func revokedInCRL(_ pem: String) throws -> Bool {
        let certFile = bench.workDirectory.appendingPathComponent("check.pem")
        let crlFile = bench.workDirectory.appendingPathComponent("crl.pem")
        try pem.write(to: certFile, atomically: true, encoding: .utf8)
        try Data(try client.get("/v1/crl").body).write(to: crlFile)
        let caFile = state.appendingPathComponent("ca/ca.pem").path
        let check = try run(
            "/usr/bin/openssl",
            [
                "verify", "-crl_check", "-CRLfile", crlFile.path, "-CAfile", caFile,
                certFile.path,
            ])
        return check.code != 0 && check.output.contains("revoked")
    }

    // MARK: Device binding

    func testBindingDeviceBCancelsDeviceAAndRevokesItsCertificates() throws {
        try startDaemon()
        try insertCard(mrz: Self.salley, person: "John_Salley")
        let deviceA = try makeKey("device-a")
        let outcome = try enroll(
            Self.salley, person: "John_Salley",
            complete: EnrollmentCompleteBody(
                csr: deviceA.csr, deviceId: "phone-A", devicePublicKey: deviceA.publicKey, deviceLabel: "Phone A"))
        let serialA = try XCTUnwrap(outcome.certificateSerial)
        let pemA = try XCTUnwrap(outcome.certificatePEM)
        let account = outcome.accountID
        let listed = try decode([CertificateView].self, try client.get("/v1/accounts/\(account)/certificates"))
        XCTAssertEqual(listed.first?.deviceId, "phone-A")
        XCTAssertFalse(try revokedInCRL(pemA))

        let deviceB = try makeKey("device-b")
        let bound = try decode(
            DeviceBindingOutcome.self,
            try send(
                "POST", "/v1/accounts/\(account)/devices",
                DeviceBindBody(
                    deviceId: "phone-B", publicKey: deviceB.publicKey, label: "Phone B"), as: holder,
                proof: outcome.enrollmentID))
        XCTAssertEqual(bound.superseded?.deviceId, "phone-A")
        XCTAssertEqual(bound.revokedSerials, [serialA])
        XCTAssertTrue(try revokedInCRL(pemA), "device A's certificate is in the CRL")
        let certificate = try decode([CertificateView].self, try client.get("/v1/accounts/\(account)/certificates"))
            .first
        XCTAssertEqual(certificate?.revocationReason, "superseded")
        let devices = try decode([DeviceView].self, try client.get("/v1/accounts/\(account)/devices"))
        XCTAssertEqual(devices.map(\.deviceId), ["phone-A", "phone-B"])
        XCTAssertEqual(devices.map(\.active), [false, true])

        // A holder needs proof to unbind; an operator at a counter does not.
        let refused = try send("DELETE", "/v1/accounts/\(account)/devices/phone-B", as: holder)
        XCTAssertEqual(problem(refused), "holder-proof-required")
        let unbind = try enrollctl([
            "--role", "operator", "--channel", "counter-3", "devices", "unbind", account, "phone-B",
        ])
        XCTAssertEqual(unbind.status, 0, unbind.output)

        let records = try usage(account)
        func record(_ event: String, _ detail: String) -> UsageRecordView? {
            records.first { $0.event == event && $0.detail.contains(detail) }
        }
        XCTAssertEqual(record("device-bound", "phone-A")?.channel, "kiosk-12")
        XCTAssertEqual(record("certificate-issued", serialA)?.actorRole, "kiosk")
        for (event, detail) in [
            ("device-unbound", "phone-A superseded"), ("certificate-revoked", "\(serialA) superseded"),
            ("device-bound", "phone-B"),
        ] {
            let found = record(event, detail)
            XCTAssertEqual(found?.actorRole, "kiosk", "\(event) \(detail)")
            XCTAssertEqual(found?.channel, "app", "\(event) \(detail)")
            XCTAssertEqual(found?.actorUid, getuid())
        }
        XCTAssertEqual(record("device-unbound", "phone-B operator")?.channel, "counter-3")
        XCTAssertEqual(record("device-unbound", "phone-B operator")?.actorRole, "operator")
        XCTAssertTrue(records.contains { $0.event == "enrollment-card-verified" && $0.channel == "kiosk-12" })
    }

    // MARK: Cancellation

    func testCancelledIdentityCannotBeRestoredAndAllItsCertificatesAreRevoked() throws {
        try startDaemon()
        try insertCard(mrz: Self.salley, person: "John_Salley")
        let outcome = try enroll(
            Self.salley, person: "John_Salley",
            complete: EnrollmentCompleteBody(csr: try makeKey("holder").csr))
        let account = outcome.accountID
        let pem = try XCTUnwrap(outcome.certificatePEM)

        let kioskTry = try enrollctl(["--role", "kiosk", "accounts", "cancel", account, "--reason", "card cancelled"])
        XCTAssertNotEqual(kioskTry.status, 0, "a kiosk cannot cancel an identity")
        let cancel = try enrollctl([
            "--role", "operator", "--channel", "counter-3", "accounts", "cancel", account,
            "--reason", "identity card cancelled",
        ])
        XCTAssertEqual(cancel.status, 0, cancel.output)
        XCTAssertTrue(cancel.output.contains("cancelled"), cancel.output)

        let view = try decode(AccountView.self, try client.get("/v1/accounts/\(account)"))
        XCTAssertEqual(view.status, "cancelled")
        XCTAssertEqual(view.certificates.map(\.state), ["revoked"])
        XCTAssertEqual(view.certificates.first?.revocationReason, "privilege-withdrawn")
        XCTAssertTrue(try revokedInCRL(pem))

        // No way back: not by an operator, not by re-verifying, not by registering again.
        for status in ["invalid", "cancelled", "normal"] {
            let again = try send(
                "POST", "/v1/accounts/\(account)/status",
                StatusChangeBody(status: status, reason: "restore"), as: counter)
            XCTAssertGreaterThanOrEqual(again.status, 400, status)
        }
        for purpose in ["upgrade", "passcode-reset", "register"] {
            let started = try begin(Self.salley, purpose: purpose, account: purpose == "register" ? nil : account)
            XCTAssertEqual(problem(started), "account-cancelled", purpose)
        }
        XCTAssertEqual(try decode(AccountView.self, try client.get("/v1/accounts/\(account)")).status, "cancelled")

        let history = try decode(StatusView.self, try client.get("/v1/accounts/\(account)/status-history"))
        XCTAssertEqual(history.history.count, 1)
        let change = try XCTUnwrap(history.history.first)
        XCTAssertEqual(
            [change.from, change.to, change.reason, change.actorRole, change.channel],
            ["normal", "cancelled", "identity card cancelled", "operator", "counter-3"])
        let records = try usage(account)
        let changed = records.first { $0.event == "status-changed" }
        XCTAssertEqual(changed?.actorRole, "operator")
        XCTAssertEqual(changed?.channel, "counter-3")
        XCTAssertEqual(records.first { $0.event == "certificate-revoked" }?.channel, "counter-3")
        XCTAssertEqual(records.filter { $0.event == "enrollment-refused" }.count, 3)
    }

    // MARK: Expiry and re-verification

    func testExpiredDocumentMakesTheAccountExpiredAndARenewedCardMakesItNormal() throws {
        try startDaemon(extraConfig: "[enrollment]\nrefuse_expired_documents = false\n")
        let old = Self.td1(document: "E12345678", birth: "800101", expiry: "200101", name: "SCHNEIDER<<JOHN")
        try insertCard(mrz: old, person: "John_Schneider", personalNumber: "7700112233")
        let registered = try enroll(old, person: "John_Schneider")
        let account = registered.accountID
        XCTAssertEqual(
            try decode(AccountView.self, try client.get("/v1/accounts/\(account)")).status, "expired",
            "the document's expiry is evaluated on access")
        let signing = try send(
            "POST", "/v1/enrollments/\(UUID().uuidString)/complete", EnrollmentCompleteBody(), as: kiosk)
        XCTAssertEqual(signing.status, 404)

        let renewed = Self.td1(document: "E98765432", birth: "800101", expiry: "350101", name: "SCHNEIDER<<JOHN")
        try insertCard(mrz: renewed, person: "John_Schneider", personalNumber: "7700112233")
        let reverified = try enroll(
            renewed, person: "John_Schneider", purpose: "upgrade", account: account,
            complete: EnrollmentCompleteBody(csr: try makeKey("holder").csr))
        XCTAssertEqual(reverified.status, "normal")
        XCTAssertEqual(reverified.tier, "signing")
        let view = try decode(AccountView.self, try client.get("/v1/accounts/\(account)"))
        XCTAssertEqual(view.status, "normal")
        XCTAssertEqual(view.documentExpiry, "2035-01-01")

        let history = try decode(StatusView.self, try client.get("/v1/accounts/\(account)/status-history")).history
        XCTAssertEqual(history.map(\.to), ["expired", "invalid", "normal"])
        XCTAssertEqual(history.map(\.reason), ["document-expired", "document-replaced", "reverified"])
        XCTAssertEqual(history.first?.actorRole, "system")
        XCTAssertEqual(history.last?.channel, "kiosk-12")
        let events = try usage(account).map(\.event)
        XCTAssertTrue(events.contains("document-replaced"), "\(events)")
        XCTAssertEqual(events.filter { $0 == "status-changed" }.count, 3)
    }

    // MARK: Typed identity

    /// Through the virtual card: one holder's document number equal to another's personal number makes two
    /// accounts; the second holder's passport with the same personal number reaches the same account, which then
    /// lists both documents.
    func testTypedIdentityKeepsCollidingNumbersApartAndJoinsOnePersonsDocuments() throws {
        try startDaemon()
        let first = Self.td1(document: "K55T10R42", birth: "800101", expiry: "341231", name: "SALLEY<<JOHN")
        try insertCard(mrz: first, person: "John_Salley")
        let a = try enroll(first, person: "John_Salley").accountID

        let card = Self.td1(document: "M20P33Q71", birth: "690909", expiry: "341231", name: "SCHNEIDER<<JOHN")
        try insertCard(mrz: card, person: "John_Schneider", personalNumber: "K55T10R42")
        let b = try enroll(card, person: "John_Schneider").accountID
        XCTAssertNotEqual(a, b, "A's document number is not B's personal number")

        let passport = Self.td3(document: "PA7654321", birth: "690909", expiry: "351231", name: "SCHNEIDER<<JOHN")
        try insertCard(mrz: passport, person: "John_Schneider", personalNumber: "K55T10R42")
        let registered = try begin(passport)
        XCTAssertEqual(registered.status, 409, problem(registered))
        XCTAssertEqual(problem(registered), "identity-already-enrolled")
        let upgraded = try enroll(
            passport, person: "John_Schneider", purpose: "upgrade", account: b,
            complete: EnrollmentCompleteBody(csr: try makeKey("holder").csr))
        XCTAssertEqual(upgraded.accountID, b)
        XCTAssertEqual(upgraded.tier, "signing")
        let view = try decode(AccountView.self, try client.get("/v1/accounts/\(b)"))
        XCTAssertEqual(view.status, "normal")
        XCTAssertEqual(view.documents?.map(\.documentType).sorted(), ["I", "P"])
        XCTAssertEqual(try decode(AccountView.self, try client.get("/v1/accounts/\(a)")).documents?.count, 1)
        let shown = try enrollctl(["accounts", "show", b])
        XCTAssertEqual(shown.status, 0, shown.output)
        XCTAssertTrue(shown.output.contains("numberHash"), shown.output)
        XCTAssertFalse(shown.output.contains("PA7654321"), "no document number in clear")
    }

    // MARK: Passcode

    func testSixthWrongPasscodeIsLockedTheLockEndsAndAReverificationResetsIt() throws {
        try startDaemon(extraConfig: "[passcode]\nlockout_seconds = 2\n")
        try insertCard(mrz: Self.salley, person: "John_Salley")
        let registered = try enroll(Self.salley, person: "John_Salley")
        let account = registered.accountID
        let withoutProof = try send(
            "POST", "/v1/accounts/\(account)/passcode", PasscodeBody(passcode: "1234"), as: holder)
        XCTAssertEqual(problem(withoutProof), "holder-proof-required")
        _ = try decode(
            PasscodeStatus.self,
            try send(
                "POST", "/v1/accounts/\(account)/passcode",
                PasscodeBody(passcode: "1234"), as: holder,
                proof: registered.enrollmentID))
        // Counter staff are told the reason; a kiosk learns only ok or failed (issue 18).
        let kioskWrong = try send(
            "POST", "/v1/accounts/\(account)/passcode/verify", PasscodeBody(passcode: "0000"),
            as: holder)
        XCTAssertEqual(kioskWrong.status, 403)
        XCTAssertEqual(
            try JSONDecoder().decode(PasscodeCheckResponse.self, from: Data(kioskWrong.body)).result, "failed")
        XCTAssertEqual(
            try send(
                "POST", "/v1/accounts/\(account)/passcode/verify", PasscodeBody(passcode: "1234"),
                as: holder
            ).status, 200, "a right entry clears the count")
        func verify(_ passcode: String) throws -> (status: Int, check: PasscodeCheckResponse) {
            let response = try send(
                "POST", "/v1/accounts/\(account)/passcode/verify", PasscodeBody(passcode: passcode),
                as: counter)
            return (response.status, try JSONDecoder().decode(PasscodeCheckResponse.self, from: Data(response.body)))
        }
        for left in (0..<5).reversed() {
            let wrong = try verify("0000")
            XCTAssertEqual(wrong.status, 403)
            XCTAssertEqual(wrong.check.attemptsLeft, left)
        }
        let locked = try verify("1234")
        XCTAssertEqual(locked.status, 423, "the 6th entry is refused as locked, even the right passcode")
        XCTAssertEqual(locked.check.result, "locked")
        let unlocksAt = try XCTUnwrap(ISO8601DateFormatter().date(from: locked.check.unlocksAt ?? ""))
        XCTAssertLessThanOrEqual(unlocksAt.timeIntervalSinceNow, 2.5)
        Thread.sleep(forTimeInterval: max(0, unlocksAt.timeIntervalSinceNow) + 1.1)
        XCTAssertEqual(try verify("1234").status, 200, "the lock ends after the configured time")

        // Forgotten: lock it again, then reset by re-verifying with card and face.
        for _ in 0..<5 { _ = try verify("0000") }
        XCTAssertEqual(try verify("1234").status, 423)
        let reset = try enroll(
            Self.salley, person: "John_Salley", purpose: "passcode-reset", account: account,
            complete: EnrollmentCompleteBody(passcode: "8642"))
        XCTAssertEqual(reset.status, "normal")
        XCTAssertEqual(try verify("8642").status, 200)
        let cli = try enrollctl(["--role", "operator", "passcode", "verify", account, "--passcode", "1234"])
        XCTAssertEqual(cli.status, 1)
        XCTAssertTrue(cli.output.contains("wrong passcode: 4 attempt(s) left"), cli.output)

        let records = try usage(account)
        let resetRecord = records.first { $0.event == "passcode-reset" }
        XCTAssertEqual(resetRecord?.channel, "kiosk-12")
        XCTAssertNotNil(resetRecord?.enrollmentId)
        XCTAssertEqual(records.filter { $0.event == "passcode-locked" }.count, 2)
        XCTAssertEqual(records.filter { $0.event == "passcode-verify" && $0.outcome == "locked" }.count, 2)
        XCTAssertEqual(records.first { $0.event == "passcode-set" }?.actorRole, "kiosk")
    }

    // MARK: Audit chain

    func testAuditVerifyPassesUntouchedAndNamesEditedInsertedAndDeletedRecords() throws {
        try startDaemon()
        try insertCard(mrz: Self.salley, person: "John_Salley")
        let registered = try enroll(Self.salley, person: "John_Salley")
        let account = registered.accountID
        _ = try send(
            "POST", "/v1/accounts/\(account)/passcode", PasscodeBody(passcode: "1234"), as: holder,
            proof: registered.enrollmentID)
        for passcode in ["1234", "1111", "1234"] {
            _ = try send(
                "POST", "/v1/accounts/\(account)/passcode/verify", PasscodeBody(passcode: passcode), as: holder)
        }
        let listed = try enrollctl(["usage", account, "--since", "2000-01-01", "--limit", "3"])
        XCTAssertEqual(listed.status, 0, listed.output)
        XCTAssertTrue(listed.output.contains("enrollment-card-verified"), listed.output)
        XCTAssertTrue(listed.output.contains("kiosk uid \(getuid()) at kiosk-12"), listed.output)
        XCTAssertTrue(listed.output.contains("more: --after"), listed.output)
        let future = try enrollctl(["usage", account, "--since", "2999-01-01T00:00:00Z", "--json"])
        XCTAssertEqual(try JSONDecoder().decode(UsagePage.self, from: Data(future.output.utf8)).records, [])
        let intact = try enrollctl(["audit", "verify"])
        XCTAssertEqual(intact.status, 0, intact.output)
        XCTAssertTrue(intact.output.contains("intact"), intact.output)

        let database = state.appendingPathComponent("enrolld.db").path
        func sql(_ statement: String) throws {
            let result = try run("/usr/bin/sqlite3", ["-cmd", ".timeout 5000", database, statement])
            XCTAssertEqual(result.code, 0, result.output)
        }
        func audit() throws -> (status: Int32, output: String) { try enrollctl(["audit", "verify"]) }

        try sql("UPDATE usage_records SET outcome = 'refused' WHERE sequence = 3")
        var broken = try audit()
        XCTAssertEqual(broken.status, 1)
        XCTAssertTrue(broken.output.contains("record 3 edited"), broken.output)
        try sql("UPDATE usage_records SET outcome = 'ok' WHERE sequence = 3")
        XCTAssertEqual(try audit().status, 0)

        try sql(
            "CREATE TABLE saved AS SELECT * FROM usage_records WHERE sequence = 4; "
                + "DELETE FROM usage_records WHERE sequence = 4")
        broken = try audit()
        XCTAssertEqual(broken.status, 1)
        XCTAssertTrue(broken.output.contains("record 4 deleted"), broken.output)
        try sql("INSERT INTO usage_records SELECT * FROM saved; DROP TABLE saved")
        XCTAssertEqual(try audit().status, 0)

        try sql(
            """
            INSERT INTO usage_records SELECT sequence + 1, at, account_id, NULL, 'certificate-issued', channel, actor_role, \
            actor_uid, outcome, 'FORGED', hash, randomblob(32), keyed FROM usage_records ORDER BY sequence DESC LIMIT 1
            """)
        let head = try run("/usr/bin/sqlite3", [database, "SELECT max(sequence) FROM usage_records"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        broken = try audit()
        XCTAssertEqual(broken.status, 1)
        XCTAssertTrue(broken.output.contains("record \(head) inserted"), broken.output)
        let json = try bench.runEnrollctl(["audit", "verify", "--json"], socket: socket)
        let report = try JSONDecoder().decode(AuditReport.self, from: json.output)
        XCTAssertEqual(report.problems.map(\.kind), ["inserted"])
        XCTAssertEqual(report.problems.map { String($0.sequence) }, [head])
    }

    // MARK: Minors and guardians

    /// The guardian is read and seen: the guardian's card on the second reader, then the guardian's live photo
    /// against that card's chip portrait (the real face engine); a guardian carried but not seen is refused.
    func testChildBelowTheRegistrationAgeRegistersOnlyWithTheGuardianReadAndSeenInTheSameSession() throws {
        try startDaemon()
        try insertCard(mrz: Self.salley, person: "John_Salley")
        let guardian = try enroll(Self.salley, person: "John_Salley").accountID
        let child = Self.td1(document: "M76543210", birth: "150505", expiry: "300101", name: "SIMM<<JOHN")
        try insertCard(mrz: child, person: "John_Simm")
        try insertCard(mrz: Self.salley, person: "John_Salley", port: Bench.port1)

        XCTAssertEqual(problem(try begin(child)), "guardian-required")
        let session = try decode(EnrollmentView.self, try begin(child, guardian: guardian))
        XCTAssertEqual(session.guardianPresent, false)
        let early = try send("POST", "/v1/enrollments/\(session.id)/complete", EnrollmentCompleteBody(), as: kiosk)
        XCTAssertEqual(problem(early), "guardian-not-present")
        // The child's own card is not the guardian's.
        let wrong = try send(
            "POST", "/v1/enrollments/\(session.id)/guardian",
            GuardianCardBody(
                reader: Bench.reader0, accessKey: AccessKeyRequest(mrz: child.joined(separator: "\n"))), as: kiosk)
        XCTAssertEqual(problem(wrong), "guardian-mismatch")
        let present = try decode(
            EnrollmentView.self,
            try send(
                "POST", "/v1/enrollments/\(session.id)/guardian",
                GuardianCardBody(
                    reader: Bench.reader1, accessKey: AccessKeyRequest(mrz: Self.salley.joined(separator: "\n"))),
                as: kiosk))
        XCTAssertEqual(present.guardianPresent, false, "the guardian's card alone is not the guardian")
        let unseen = try send("POST", "/v1/enrollments/\(session.id)/complete", EnrollmentCompleteBody(), as: kiosk)
        XCTAssertEqual(unseen.status, 409)
        XCTAssertEqual(problem(unseen), "guardian-not-seen")
        func guardianPhoto(_ person: String, _ index: Int) throws -> HTTPResponse {
            let image = try Data(contentsOf: try photo(person, index)).base64EncodedString()
            return try send(
                "POST", "/v1/enrollments/\(session.id)/guardian/photo", EnrollmentPhotoBody(photo: image), as: kiosk)
        }
        // The child in front of the camera is not the guardian.
        XCTAssertEqual(problem(try guardianPhoto("John_Simm", 1)), "face-mismatch")
        XCTAssertEqual(
            problem(
                try send(
                    "POST", "/v1/enrollments/\(session.id)/complete", EnrollmentCompleteBody(), as: kiosk)),
            "guardian-not-seen")
        let seen = try decode(EnrollmentView.self, try guardianPhoto("John_Salley", 2))
        XCTAssertEqual(seen.guardianPresent, true)
        let outcome = try decode(
            EnrollmentOutcome.self,
            try send(
                "POST", "/v1/enrollments/\(session.id)/complete",
                EnrollmentCompleteBody(), as: kiosk))
        XCTAssertEqual(outcome.tier, "basic")

        XCTAssertEqual(try usage(outcome.accountID).first { $0.event == "guardian-linked" }?.detail, guardian)
        let guardianEvents = try usage(guardian).map { "\($0.event) \($0.outcome)" }
        XCTAssertTrue(guardianEvents.contains("guardian-verified refused"), "\(guardianEvents)")
        XCTAssertTrue(guardianEvents.contains("guardian-verified ok"), "\(guardianEvents)")
        XCTAssertTrue(guardianEvents.contains("ward-linked ok"), "\(guardianEvents)")
        XCTAssertEqual(
            try usage(guardian).filter { $0.event == "guardian-seen" }.map { "\($0.outcome) \($0.detail)" },
            [
                "refused guardian-not-present", "refused guardian-not-seen", "refused face-mismatch",
                "refused guardian-not-seen", "ok ",
            ])
    }
}
