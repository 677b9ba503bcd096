import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation
import XCTest

/// PACE through real pcscd + vpcd: PACE-only virtual ID cards read with their CAN and their MRZ,
/// the wrong CAN refused with an actionable error, a BAC-only card still read, and `enrollctl probe`.
final class PACEReadTests: XCTestCase {
    private var bench: Bench!

    static let td1 = CardReadTests.td1
    static let can = "491756"
    static let photo = CardReadTests.johns.appendingPathComponent("John_Salley/000179_02159509.jpg")

    override func setUpWithError() throws {
        bench = try Bench()
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    private func writeProfile(_ name: String, pace: [String: Any]?, bac: Bool) throws -> String {
        var object: [String: Any] = [
            "kind": "emrtd", "mrz": Self.td1, "portrait": "@" + Self.photo.path,
            "extendedLength": true, "bac": bac,
        ]
        if let pace { object["pace"] = pace }
        let url = bench.workDirectory.appendingPathComponent(name)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return url.path
    }

    private func read(_ key: [String], socket: String) throws -> CardFaceResponse {
        let run = try bench.runEnrollctl(["read", "--reader", Bench.reader0, "--json"] + key, socket: socket)
        XCTAssertEqual(run.status, 0, run.error)
        return try JSONDecoder().decode(CardFaceResponse.self, from: run.output)
    }

    func testPACEOnlyCardsReadWithCANAndMRZ() throws {
        let (_, client) = try bench.startDaemon()
        let cards: [([String: Any], String)] = [
            (["parameterId": 13, "cipher": "AES-128", "can": Self.can], "PACE-ECDH-GM-AES-128 brainpoolP256r1"),
            (["parameterId": 15, "cipher": "AES-256", "can": Self.can], "PACE-ECDH-GM-AES-256 NIST P-384"),
            (
                ["parameterId": 2, "cipher": "AES-128", "can": Self.can],
                "PACE-DH-GM-AES-128 2048-bit MODP, 256-bit subgroup (RFC 5114)"
            ),
            // PACE-CAM: the reader reads EF.CardSecurity and checks the chip's static key.
            (
                ["parameterId": 13, "cipher": "AES-128", "can": Self.can, "mapping": "CAM"],
                "PACE-ECDH-CAM-AES-128 brainpoolP256r1"
            ),
        ]
        for (index, (pace, expected)) in cards.enumerated() {
            let card = try bench.startCard(profile: try writeProfile("pace\(index).json", pace: pace, bac: false))
            try bench.waitForCard(in: Bench.reader0, client: client)
            for key in [["--can", Self.can], ["--mrz", Self.td1.joined(separator: "\n")]] {
                let result = try read(key, socket: client.path)
                XCTAssertEqual(result.accessProtocol, "PACE", "\(expected) \(key[0])")
                XCTAssertEqual(result.accessParameters, expected, key[0])
                XCTAssertEqual(result.documentNumber, "D23145890")
                XCTAssertEqual(result.surname, "SALLEY")
                XCTAssertEqual(result.portrait?.width, 150)
            }
            bench.stop(card)
            try bench.waitForCard(in: Bench.reader0, present: false, client: client)
        }
    }

    func testWrongCANIsRejectedWithAnActionableError() throws {
        let pace: [String: Any] = ["parameterId": 13, "cipher": "AES-128", "can": Self.can]
        try bench.startCard(profile: try writeProfile("pace.json", pace: pace, bac: false))
        let (daemon, client) = try bench.startDaemon()
        try bench.waitForCard(in: Bench.reader0, client: client)
        let run = try bench.runEnrollctl(["read", "--reader", Bench.reader0, "--can", "123456"], socket: client.path)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.error.contains("the chip rejected the access key: check the CAN"), run.error)
        let body = try JSONEncoder().encode(
            CardReadRequest(
                reader: Bench.reader0,
                accessKey: AccessKeyRequest(can: "123456")))
        let response = try client.post("/v1/cards/read", json: [UInt8](body))
        XCTAssertEqual(response.status, 422)
        XCTAssertEqual(try JSONDecoder().decode(Problem.self, from: Data(response.body)).code, "access-key-rejected")
        // The right CAN still opens the same card afterwards.
        XCTAssertEqual(try read(["--can", Self.can], socket: client.path).accessProtocol, "PACE")
        XCTAssertTrue(daemon.isRunning)
    }

    func testBACOnlyCardStillReadsAndRefusesACAN() throws {
        try bench.startCard(profile: try writeProfile("bac.json", pace: nil, bac: true))
        let (_, client) = try bench.startDaemon()
        try bench.waitForCard(in: Bench.reader0, client: client)
        let result = try read(["--mrz", Self.td1.joined(separator: "\n")], socket: client.path)
        XCTAssertEqual(result.accessProtocol, "BAC")
        XCTAssertEqual(result.accessParameters, "BAC")
        // A kiosk policy that insists on PACE refuses the BAC fallback.
        let paceOnly = try JSONEncoder().encode(
            CardReadRequest(
                reader: Bench.reader0, accessKey: AccessKeyRequest(mrz: Self.td1.joined(separator: "\n")),
                allowBAC: false))
        let refused = try client.post("/v1/cards/read", json: [UInt8](paceOnly))
        XCTAssertEqual(refused.status, 422)
        XCTAssertEqual(
            try JSONDecoder().decode(Problem.self, from: Data(refused.body)).code,
            "access-protocol-unsupported")
        let body = try JSONEncoder().encode(
            CardReadRequest(
                reader: Bench.reader0,
                accessKey: AccessKeyRequest(can: Self.can)))
        let response = try client.post("/v1/cards/read", json: [UInt8](body))
        XCTAssertEqual(response.status, 422)
        XCTAssertEqual(
            try JSONDecoder().decode(Problem.self, from: Data(response.body)).code,
            "access-protocol-unsupported")
    }

    func testProbeReportsCardAccessAndTheProtocolThatOpensTheChip() throws {
        let pace: [String: Any] = ["parameterId": 16, "cipher": "AES-192", "can": Self.can]
        try bench.startCard(profile: try writeProfile("pace.json", pace: pace, bac: false))
        try bench.startCard(port: Bench.port1, profile: try writeProfile("bac.json", pace: nil, bac: true))
        let (_, client) = try bench.startDaemon()
        try bench.waitForCard(in: Bench.reader0, client: client)
        try bench.waitForCard(in: Bench.reader1, client: client)

        let run = try bench.runEnrollctl(
            ["probe", "--reader", Bench.reader0, "--can", Self.can, "--json"],
            socket: client.path)
        XCTAssertEqual(run.status, 0, run.error)
        let probe = try JSONDecoder().decode(CardProbeResponse.self, from: run.output)
        XCTAssertTrue(probe.cardAccessPresent)
        XCTAssertTrue(probe.extendedLength)
        XCTAssertFalse(probe.atr.isEmpty)
        XCTAssertEqual(
            probe.securityInfos,
            [
                SecurityInfoSummary(
                    type: "PACEInfo", oid: "0.4.0.127.0.7.2.2.4.2.3",
                    description: "PACE-ECDH-GM-AES-192 brainpoolP384r1",
                    version: 2, parameterId: 16, supported: true)
            ])
        XCTAssertEqual(probe.preferredPACE, "PACE-ECDH-GM-AES-192 brainpoolP384r1")
        XCTAssertEqual(probe.accessProtocol, "PACE")
        XCTAssertEqual(probe.accessParameters, "PACE-ECDH-GM-AES-192 brainpoolP384r1")
        XCTAssertEqual(probe.emrtdApplicationPresent, true)

        let wrong = try bench.runEnrollctl(
            ["probe", "--reader", Bench.reader0, "--can", "000000", "--json"],
            socket: client.path)
        let rejected = try JSONDecoder().decode(CardProbeResponse.self, from: wrong.output)
        XCTAssertTrue(rejected.accessError?.hasPrefix("access-key-rejected") ?? false, "\(rejected)")

        let mrz = Self.td1.joined(separator: "\n")
        let bac = try bench.runEnrollctl(
            ["probe", "--reader", Bench.reader1, "--mrz", mrz, "--json"],
            socket: client.path)
        let bacProbe = try JSONDecoder().decode(CardProbeResponse.self, from: bac.output)
        XCTAssertFalse(bacProbe.cardAccessPresent)
        XCTAssertEqual(bacProbe.accessProtocol, "BAC")
        XCTAssertEqual(bacProbe.emrtdApplicationPresent, true)

        let text = try bench.runEnrollctl(["probe", "--reader", Bench.reader0], socket: client.path)
        let output = String(decoding: text.output, as: UTF8.self)
        XCTAssertTrue(output.contains("PACE choice:     PACE-ECDH-GM-AES-192 brainpoolP384r1"), output)
        XCTAssertTrue(output.contains("eMRTD app:       present"), output)
    }
}
