import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation
import OpenSSLKit
import VirtualCard
import XCTest

/// Active and chip authentication and the authenticity policy through real pcscd + vpcd: genuine cards
/// (EC and RSA PKIs) are reported genuine by `POST /v1/cards/read`; forged and cloned cards are refused
/// with the right reason. Also the trust store API (`GET /v1/trust`, `POST /v1/trust/import`).
final class AntiCloneReadTests: XCTestCase {
    private var bench: Bench!
    private var pki: URL!

    override func setUpWithError() throws {
        bench = try Bench()
        pki = bench.workDirectory.appendingPathComponent("pki")
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    private func makePKI(key: KeyGenerationParameters = .p256, revoke: Bool = false) throws {
        _ = try BenchPKI.create(directory: pki.path, revokeDocumentSigner: revoke, key: key)
    }

    private func startReading(
        signer: String = "", aa: [String: Any]? = ["key": "@aa.key"],
        ca: [String: Any]? = ["key": "@ca.key"], extra: [String: Any] = [:],
        configuration: String = ""
    ) throws -> UnixSocketClient {
        var object: [String: Any] = [
            "kind": "emrtd", "mrz": CardReadTests.td1,
            "portrait": "@" + CardReadTests.johns.appendingPathComponent("John_Salley/000179_02159509.jpg").path,
            "documentSigner": [
                "certificate": "@" + pki.appendingPathComponent(signer + "/dsc.pem").path,
                "key": "@" + pki.appendingPathComponent(signer + "/dsc.key").path,
            ],
        ]
        if let aa { object["activeAuthentication"] = aa }
        if let ca { object["chipAuthentication"] = ca }
        object.merge(extra) { $1 }
        let profile = pki.appendingPathComponent("card.json")
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        try bench.startCard(profile: profile.path)
        let (_, client) = try bench.startDaemon(
            configuration: "[trust]\ndirectory = \(pki.appendingPathComponent("trust").path)\n"
                + configuration)
        try bench.waitFor("the card", timeout: 10) {
            guard let response = try? client.get("/v1/readers"),
                let list = try? JSONDecoder().decode(ReaderList.self, from: Data(response.body))
            else { return false }
            return list.readers.contains { $0.name == Bench.reader0 && $0.cardPresent }
        }
        return client
    }

    private func read(_ client: UnixSocketClient) throws -> CardFaceResponse {
        let body = try JSONEncoder().encode(
            CardReadRequest(
                reader: Bench.reader0,
                accessKey: AccessKeyRequest(mrz: CardReadTests.td1.joined(separator: "\n"))))
        let response = try client.post("/v1/cards/read", json: [UInt8](body))
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        return try JSONDecoder().decode(CardFaceResponse.self, from: Data(response.body))
    }

    private func outcome(_ result: CardFaceResponse, _ name: String) -> String? {
        result.authenticity.checks.first { $0.name == name }?.outcome
    }

    func testGenuineECCardWithActiveAndChipAuthenticationIsGenuine() throws {
        try makePKI()
        let result = try read(try startReading())
        XCTAssertTrue(result.authenticity.genuine, "\(result.authenticity)")
        XCTAssertEqual(outcome(result, "access-control"), "passed")
        XCTAssertEqual(outcome(result, "passive-authentication"), "passed")
        XCTAssertEqual(outcome(result, "chip-authentication"), "passed", "\(result.authenticity.checks)")
        XCTAssertEqual(outcome(result, "active-authentication"), "passed", "\(result.authenticity.checks)")
        XCTAssertTrue(result.filesRead.contains("DG14") && result.filesRead.contains("DG15"), "\(result.filesRead)")
    }

    func testGenuineRSACardWithRSA2048ActiveAuthenticationIsGenuine() throws {
        try makePKI(key: .rsa2048)
        let result = try read(try startReading(aa: ["key": "@aa.key", "digest": "SHA256", "trailer": "explicit"]))
        XCTAssertTrue(result.authenticity.genuine, "\(result.authenticity)")
        let aa = result.authenticity.checks.first { $0.name == "active-authentication" }
        XCTAssertEqual(aa?.outcome, "passed")
        XCTAssertTrue(aa?.reason.contains("RSA-2048 ISO 9796-2 SHA256") == true, "\(String(describing: aa))")
    }

    func testDataGroupAlteredAfterSigningIsRefused() throws {
        try makePKI()
        let result = try read(try startReading(extra: ["alterAfterSigning": "DG2"]))
        XCTAssertFalse(result.authenticity.genuine)
        XCTAssertTrue(result.authenticity.reasons.joined().contains("DG2"), "\(result.authenticity.reasons)")
    }

    func testSODSignedUnderAnUntrustedCSCAIsRefused() throws {
        try makePKI()
        let result = try read(try startReading(signer: "rogue"))
        XCTAssertFalse(result.authenticity.genuine)
        XCTAssertEqual(outcome(result, "dscChainValid"), "failed", "\(result.authenticity.checks)")
        XCTAssertEqual(outcome(result, "chip-authentication"), "passed", "the chip itself is fine; its data is not")
    }

    func testRevokedDocumentSignerIsRefused() throws {
        try makePKI(revoke: true)
        let result = try read(try startReading())
        XCTAssertFalse(result.authenticity.genuine)
        XCTAssertEqual(outcome(result, "dscNotRevoked"), "failed", "\(result.authenticity.checks)")
    }

    func testCloneWithoutTheActiveAuthenticationKeyIsRefused() throws {
        try makePKI()
        let result = try read(try startReading(aa: ["key": "@aa.key", "clone": true], ca: nil))
        XCTAssertFalse(result.authenticity.genuine)
        XCTAssertEqual(outcome(result, "passive-authentication"), "passed", "a clone copies the signed data")
        XCTAssertEqual(outcome(result, "active-authentication"), "failed")
        XCTAssertTrue(
            result.authenticity.reasons.contains { $0.hasPrefix("active-authentication") },
            "\(result.authenticity.reasons)")
    }

    func testCloneWithoutTheChipAuthenticationKeyIsRefused() throws {
        try makePKI()
        let result = try read(try startReading(aa: nil, ca: ["key": "@ca.key", "clone": true]))
        XCTAssertFalse(result.authenticity.genuine)
        XCTAssertEqual(outcome(result, "chip-authentication"), "failed")
        XCTAssertTrue(
            result.authenticity.reasons.joined().contains("does not hold the DG14 private key"),
            "\(result.authenticity.reasons)")
    }

    func testPolicyRequiringAntiCloneRefusesAChipWithoutIt() throws {
        try makePKI()
        let result = try read(
            try startReading(
                aa: nil, ca: nil,
                configuration: "[authenticity]\nrequire_anti_clone = true\n"))
        XCTAssertFalse(result.authenticity.genuine)
        XCTAssertEqual(outcome(result, "passive-authentication"), "passed")
        XCTAssertTrue(
            result.authenticity.reasons.joined().contains("require_anti_clone"), "\(result.authenticity.reasons)")
    }

    func testTrustListAndImport() throws {
        try makePKI()
        let client = try startReading(aa: nil, ca: nil)
        let listing = try JSONDecoder().decode(TrustStoreListing.self, from: Data(try client.get("/v1/trust").body))
        XCTAssertEqual(listing.cscaCertificates.count, 1)
        XCTAssertEqual(listing.crls.count, 1)
        XCTAssertEqual(listing.cscaCertificates.first?.fingerprint.count, 64)
        func importFile(_ path: String) throws -> HTTPResponse {
            let data = try Data(contentsOf: pki.appendingPathComponent(path)).base64EncodedString()
            return try client.post(
                "/v1/trust/import", json: [UInt8](try JSONEncoder().encode(TrustImportRequest(data: data))))
        }
        let again = try importFile("csca.pem")
        XCTAssertEqual(again.status, 200, String(decoding: again.body, as: UTF8.self))
        XCTAssertEqual(try JSONDecoder().decode(TrustImportResponse.self, from: Data(again.body)).alreadyTrusted, 1)
        let crl = try importFile("trust/csca.crl")
        XCTAssertEqual(crl.status, 200, String(decoding: crl.body, as: UTF8.self))
        XCTAssertEqual(try importFile("dsc.pem").status, 422, "a document signer is no trust anchor")
        XCTAssertEqual(try importFile("rogue/dsc.key").status, 422)
        let after = try JSONDecoder().decode(TrustStoreListing.self, from: Data(try client.get("/v1/trust").body))
        XCTAssertEqual(after.crls.count, 2)
    }
}
