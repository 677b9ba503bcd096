import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation
import VirtualCard
import XCTest

/// Passive authentication through real pcscd + vpcd: a card whose EF.SOD is signed by the bench
/// PKI's document signer reads as genuine; forged cards are refused with the right reason.
final class AuthenticityReadTests: XCTestCase {
    private var bench: Bench!
    private var pki: URL!

    override func setUpWithError() throws {
        bench = try Bench()
        pki = bench.workDirectory.appendingPathComponent("pki")
        _ = try BenchPKI.create(directory: pki.path)
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    private func read(signer: String, extra: [String: Any] = [:], trust: String? = nil) throws -> CardFaceResponse {
        var object: [String: Any] = [
            "kind": "emrtd", "mrz": CardReadTests.td1,
            "portrait": "@" + CardReadTests.johns.appendingPathComponent("John_Salley/000179_02159509.jpg").path,
            "documentSigner": [
                "certificate": "@\(pki.path)/\(signer)/dsc.pem".replacingOccurrences(of: "//", with: "/"),
                "key": "@\(pki.path)/\(signer)/dsc.key".replacingOccurrences(of: "//", with: "/"),
            ],
        ]
        object.merge(extra) { $1 }
        let profile = bench.workDirectory.appendingPathComponent("card.json")
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        try bench.startCard(profile: profile.path)
        let (_, client) = try bench.startDaemon(
            configuration: "[trust]\ndirectory = \(trust ?? pki.appendingPathComponent("trust").path)\n")
        try bench.waitForCard(in: Bench.reader0, client: client)
        let body = try JSONEncoder().encode(
            CardReadRequest(
                reader: Bench.reader0,
                accessKey: AccessKeyRequest(mrz: CardReadTests.td1.joined(separator: "\n"))))
        let response = try client.post("/v1/cards/read", json: [UInt8](body))
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        return try JSONDecoder().decode(CardFaceResponse.self, from: Data(response.body))
    }

    func testGenuineCardPassesPassiveAuthentication() throws {
        let result = try read(signer: "")
        XCTAssertTrue(result.authenticity.genuine, "\(result.authenticity)")
        XCTAssertTrue(result.filesRead.contains("EF.SOD"))
        XCTAssertEqual(result.authenticity.checks.first?.outcome, "passed")
    }

    func testDataGroupAlteredAfterSigningIsCaught() throws {
        let result = try read(signer: "", extra: ["alterAfterSigning": "DG2"])
        XCTAssertFalse(result.authenticity.genuine)
        XCTAssertTrue(result.authenticity.reasons.joined().contains("DG2"), "\(result.authenticity.reasons)")
    }

    func testSignerUnderUntrustedCSCAIsRefused() throws {
        let result = try read(signer: "rogue")
        XCTAssertFalse(result.authenticity.genuine)
        XCTAssertTrue(
            result.authenticity.checks.contains { $0.outcome == "failed" && $0.name.lowercased().contains("chain") },
            "\(result.authenticity.checks)")
    }

    func testEmptyTrustStoreProvesNothing() throws {
        let empty = bench.workDirectory.appendingPathComponent("empty-trust")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let result = try read(signer: "", trust: empty.path)
        XCTAssertFalse(result.authenticity.genuine)
    }
}
