import EnrollAPIModel
import Foundation
import UnixHTTP
import VirtualCard
import XCTest

/// The trust chain from chip to account (issue 16) through real pcscd + vpcd, `enroll-vcard` profiles and the real
/// daemon: the issuing state bound to its anchor, withheld data groups, the access-protocol policy, the holder
/// compared on upgrade, and a kiosk that never learns an account id (it upgrades with the refusal's token).
final class TrustChainTests: XCTestCase {
    private var bench: Bench!
    private var pki: URL!
    private var state: URL!
    private var client: UnixSocketClient!
    private var daemon: Process?
    private var card: Process?

    static let salley = CardReadTests.td1
    /// Another person (other document number, birth date, surname) of the same issuing state.
    static let other = [
        "I<UTOQ987654328<<<<<<<<<<<<<<<", "9001011F3612314UTO<<<<<<<<<<<2", "OTHER<<ANNA<<<<<<<<<<<<<<<<<<<",
    ]

    override func setUpWithError() throws {
        bench = try Bench()
        pki = bench.workDirectory.appendingPathComponent("pki")
        state = bench.workDirectory.appendingPathComponent("state")
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    private func photo(_ person: String, _ index: Int) throws -> URL {
        try Bench.photo(person, index)
    }

    /// The bench PKI of `country`, the CA and the daemon (`extraConfig` appended).
    private func startDaemon(country: String = "UT", extraConfig: String = "") throws {
        if !FileManager.default.fileExists(atPath: pki.path) {
            _ = try BenchPKI.create(directory: pki.path, country: country)
        }
        let config = "[trust]\ndirectory = \(pki.path)/trust\n[daemon]\nstate_directory = \(state.path)\n\(extraConfig)"
        let configFile = bench.workDirectory.appendingPathComponent("ca.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        if !FileManager.default.fileExists(atPath: state.appendingPathComponent("ca").path) {
            let ca = try bench.launch(
                try Bench.executable("enrolld"), ["--config", configFile.path, "ca", "init"], log: "ca.log")
            ca.waitUntilExit()
            XCTAssertEqual(ca.terminationStatus, 0, bench.log("ca.log"))
        }
        if let daemon { bench.stop(daemon) }
        (daemon, client) = try bench.startDaemon(configuration: config)
    }

    /// A card of `mrz` with `person`'s portrait, EF.SOD signed by the bench's document signer; `extra` adds profile
    /// options. Replaces the card on the reader.
    private func insertCard(_ mrz: [String], person: String, extra: [String: Any] = [:]) throws {
        if let card {
            bench.stop(card)
            try bench.waitForCard(in: Bench.reader0, present: false, client: client)
        }
        var object: [String: Any] = [
            "kind": "emrtd", "mrz": mrz, "portrait": "@" + (try photo(person, 0)).path,
            "documentSigner": ["certificate": "@\(pki.path)/dsc.pem", "key": "@\(pki.path)/dsc.key"],
        ]
        object.merge(extra) { $1 }
        let profile = bench.workDirectory.appendingPathComponent("card-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        card = try bench.startCard(profile: profile.path)
        try bench.waitForCard(in: Bench.reader0, client: client)
    }

    private func post<T: Encodable>(_ path: String, _ body: T) throws -> HTTPResponse {
        try client.send(
            HTTPRequest(
                method: "POST", path: path,
                headers: [("Content-Type", "application/json"), ("X-Enrolld-Role", "kiosk")],
                body: [UInt8](try JSONEncoder().encode(body))))
    }

    private func problem(_ response: HTTPResponse) -> Problem? {
        try? JSONDecoder().decode(Problem.self, from: Data(response.body))
    }

    private func begin(_ mrz: [String], purpose: String = "register", account: String? = nil) throws -> HTTPResponse {
        try post(
            "/v1/enrollments",
            EnrollmentStartBody(
                reader: Bench.reader0, accessKey: AccessKeyRequest(mrz: mrz.joined(separator: "\n")),
                purpose: purpose, accountId: account))
    }

    /// A basic account for the card on the reader.
    private func register(_ mrz: [String]) throws -> EnrollmentOutcome {
        let started = try begin(mrz)
        XCTAssertEqual(started.status, 201, problem(started)?.detail ?? "")
        let session = try JSONDecoder().decode(EnrollmentView.self, from: Data(started.body))
        let completed = try post("/v1/enrollments/\(session.id)/complete", EnrollmentCompleteBody())
        XCTAssertEqual(completed.status, 200, problem(completed)?.detail ?? "")
        return try JSONDecoder().decode(EnrollmentOutcome.self, from: Data(completed.body))
    }

    private func sql(_ statement: String) throws -> String {
        try Bench.runTool("/usr/bin/sqlite3", [state.appendingPathComponent("enrolld.db").path, statement]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: The issuing state and its anchor

    func testADocumentOfOneStateSignedUnderAnotherStatesCSCAIsRefusedNamingBoth() throws {
        try startDaemon(country: "XY")
        try insertCard(Self.salley, person: "John_Salley")
        let refused = try begin(Self.salley)
        let answer = try XCTUnwrap(problem(refused))
        XCTAssertEqual(answer.code, "document-not-genuine")
        XCTAssertTrue(answer.detail.contains("UTO") && answer.detail.contains("XY"), answer.detail)
        XCTAssertEqual(
            try sql("SELECT event, outcome, detail FROM usage_records ORDER BY sequence DESC LIMIT 1;"),
            "enrollment-refused|refused|document-not-genuine")
    }

    // MARK: Data groups

    func testAChipWithholdingTheDG11ItsEFSODListsIsRefused() throws {
        try startDaemon()
        try insertCard(
            Self.salley, person: "John_Salley",
            extra: ["dg11": ["personalNumber": "4455667788"], "withheld": ["DG11"]])
        let refused = try begin(Self.salley)
        let answer = try XCTUnwrap(problem(refused))
        XCTAssertEqual(answer.code, "data-group-withheld")
        XCTAssertTrue(answer.detail.contains("DG11"), answer.detail)
        XCTAssertEqual(try sql("SELECT count(*) FROM accounts;"), "0")
    }

    // MARK: The access protocol

    /// A chip that offers PACE only on a 96-bit domain (P-192) and also takes BAC: `require_pace = never` lets the
    /// read fall back to BAC; the default (`when-offered`) refuses that BAC read of a PACE card.
    func testRequirePACERefusesABACReadOfAPACECard() throws {
        let pace: [String: Any] = ["pace": ["parameterId": 8, "cipher": "AES-128", "can": "491756"], "bac": true]
        try startDaemon(extraConfig: "[readers]\nrequire_pace = never\n")
        try insertCard(Self.salley, person: "John_Salley", extra: pace)
        let downgraded = try begin(Self.salley)
        XCTAssertEqual(downgraded.status, 201, problem(downgraded)?.detail ?? "")
        XCTAssertEqual(try JSONDecoder().decode(EnrollmentView.self, from: Data(downgraded.body)).accessProtocol, "BAC")

        try startDaemon()
        try bench.waitForCard(in: Bench.reader0, client: client)
        let refused = try begin(Self.salley)
        let answer = try XCTUnwrap(problem(refused))
        XCTAssertEqual(answer.code, "access-policy-refused")
        XCTAssertTrue(answer.detail.contains("minimum_pace_security_bits"), answer.detail)
    }

    // MARK: The holder

    /// A card that reaches an account by its personal number (DG11) but whose holder is someone else: the upgrade
    /// (with the account's id, as an operator would) and the registration are `holder-mismatch`, and nothing of the
    /// account changed.
    func testAnUpgradeWithACardWhoseHolderDiffersIsRefusedAndChangesNothing() throws {
        try startDaemon()
        let personal: [String: Any] = ["dg11": ["personalNumber": "5500112233"]]
        try insertCard(Self.salley, person: "John_Salley", extra: personal)
        let account = try register(Self.salley).accountID
        let row = "SELECT hex(sealed_personal_data), status, tier, updated_at FROM accounts;"
        let before = try sql(row)

        try insertCard(Self.other, person: "John_Schneider", extra: personal)
        for (purpose, named) in [("upgrade", account as String?), ("register", nil)] {
            let refused = try begin(Self.other, purpose: purpose, account: named)
            XCTAssertEqual(refused.status, 403, purpose)
            let answer = try XCTUnwrap(problem(refused), purpose)
            XCTAssertEqual(answer.code, "holder-mismatch", purpose)
            XCTAssertTrue(answer.detail.contains("birth date"), answer.detail)
            XCTAssertNil(answer.upgradeToken, purpose)
        }
        XCTAssertEqual(try sql(row), before, "nothing of the account changed")
        XCTAssertEqual(
            try sql(
                "SELECT detail FROM usage_records WHERE account_id = '\(account.lowercased())' "
                    + "OR account_id = '\(account.uppercased())' ORDER BY sequence DESC LIMIT 2;"),
            "holder-mismatch\nholder-mismatch")
    }

    // MARK: No account id for the kiosk

    /// The kiosk's refusal and every event it can see name no account; the refusal's token upgrades the account
    /// from that session (`enrollctl enroll --upgrade`), and a second registration's token is refused elsewhere.
    func testTheKiosksRefusalAndEventsNameNoAccountAndItsTokenUpgradesFromThatSession() throws {
        try startDaemon()
        try insertCard(Self.salley, person: "John_Salley")
        let account = try register(Self.salley).accountID
        let events = EventCollector(client: client)
        defer { events.stop() }

        let refused = try begin(Self.salley)
        XCTAssertEqual(refused.status, 409)
        XCTAssertFalse(String(decoding: refused.body, as: UTF8.self).lowercased().contains(account.lowercased()))
        let offer = try XCTUnwrap(problem(refused))
        XCTAssertEqual(offer.code, "identity-already-enrolled")
        let session = try XCTUnwrap(offer.enrollmentId)
        let token = try XCTUnwrap(offer.upgradeToken)

        // Another session's token does not work here, and spends nothing of the first session's.
        let second = try XCTUnwrap(problem(try begin(Self.salley)))
        let crossed = try post(
            "/v1/enrollments/\(try XCTUnwrap(second.enrollmentId))/upgrade", EnrollmentUpgradeBody(upgradeToken: token))
        XCTAssertEqual(problem(crossed)?.code, "upgrade-token-invalid")
        let upgraded = try post("/v1/enrollments/\(session)/upgrade", EnrollmentUpgradeBody(upgradeToken: token))
        XCTAssertEqual(upgraded.status, 200, problem(upgraded)?.detail ?? "")
        let view = try JSONDecoder().decode(EnrollmentView.self, from: Data(upgraded.body))
        XCTAssertEqual(view.purpose, "upgrade")
        XCTAssertNil(view.accountID)

        // enrollctl does the same from the command line: a third session, upgraded with its own token.
        let key = try bench.makeHolderKey("holder")
        let csrFile = bench.workDirectory.appendingPathComponent("holder.csr")
        try key.csr.write(to: csrFile, atomically: true, encoding: .utf8)
        let run = try bench.runEnrollctl(
            [
                "enroll", "--reader", Bench.reader0, "--mrz", Self.salley.joined(separator: "\n"), "--photo",
                try photo("John_Salley", 3).path, "--csr", csrFile.path, "--upgrade", "--json", "--role", "kiosk",
            ], socket: client.path)
        XCTAssertEqual(run.status, 0, run.error)
        let outcome = try JSONDecoder().decode(EnrollmentOutcome.self, from: run.output)
        XCTAssertEqual(outcome.accountID, account, "the identity's own account, reached without its id")
        XCTAssertEqual(outcome.tier, "signing")

        Thread.sleep(forTimeInterval: 0.3)
        let seen = events.all
        XCTAssertTrue(seen.contains { $0.type == "enrollment-card-verified" }, "\(seen.map(\.type))")
        for event in seen {
            XCTAssertFalse(
                event.data.lowercased().contains(account.lowercased()), "event \(event.type) names the account")
        }
    }
}
