import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import Store
import UnixHTTP
import XCTest

/// An operator revokes a certificate; the CRL, signed by the daemon's CA with a growing number, lists it.
final class RevocationFlowTests: XCTestCase {
    func testARevokedCertificateIsOnTheNextCRL() throws {
        let bench = try InProcessDaemon()
        let (_, outcome) = try bench.newAccount("John_Salley")
        let (_, kept) = try bench.newAccount("John_Savage")
        let serial = try XCTUnwrap(outcome.certificateSerial)
        let ca = try bench.caCertificate()

        func crl(der: Bool = false) throws -> CertificateRevocationList {
            let response = try bench.require(bench.call("GET", "/v1/crl", query: der ? [("format", "der")] : []), 200)
            if der {
                XCTAssertEqual(response.header("Content-Type"), "application/pkix-crl")
                return try CertificateRevocationList(der: response.body)
            }
            XCTAssertEqual(response.header("Content-Type"), "application/x-pem-file")
            return try CertificateRevocationList(pem: String(decoding: response.body, as: UTF8.self))
        }
        let before = try crl()
        XCTAssertTrue(before.isSigned(by: try ca.publicKey()), "a kiosk fetches the CA's CRL")
        XCTAssertEqual(before.entries, [])

        let events = bench.recordEvents()
        let revoked = try bench.decode(
            CertificateView.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/certificates/\(serial)/revoke", json: ["reason": "key-compromise"],
                    as: .operator), 200))
        XCTAssertEqual([revoked.state, revoked.revocationReason], ["revoked", "key-compromise"])
        let revokedAt = try XCTUnwrap(revoked.revokedAt)
        XCTAssertEqual(bench.drain(events).map(\.type), [.certificateRevoked])

        let after = try crl(der: true)
        XCTAssertTrue(after.isSigned(by: try ca.publicKey()))
        let certificate = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))
        XCTAssertNotNil(after.entry(forSerial: certificate.serialNumber), "the revoked serial is listed")
        let other = try X509Certificate(pem: try XCTUnwrap(kept.certificatePEM))
        XCTAssertNil(after.entry(forSerial: other.serialNumber), "the other holder's certificate is not")
        XCTAssertEqual(after.entries.count, 1)
        let text = try InProcessDaemon.run(
            "/usr/bin/openssl", ["crl", "-inform", "DER", "-noout", "-text"],
            input: after.der)
        XCTAssertTrue(text.contains("Key Compromise"), "the entry carries its reason code")

        // Revoking again keeps the first date and reason.
        bench.clock.advance(60)
        let again = try bench.decode(
            CertificateView.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/certificates/\(serial.lowercased())/revoke", json: ["reason": "superseded"],
                    as: .operator), 200))
        XCTAssertEqual([again.revokedAt, again.revocationReason], [revokedAt, "key-compromise"])
        let records = try bench.usage(outcome.accountID).records.filter { $0.event == "certificate-revoked" }
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?.actorRole, "operator")
        XCTAssertEqual(records.first?.detail, "\(serial) key-compromise")
    }

    func testCRLNumbersIncreaseAndABodilessRevocationIsUnspecified() throws {
        let bench = try InProcessDaemon()
        let (_, outcome) = try bench.newAccount("John_Simm")
        let serial = try XCTUnwrap(outcome.certificateSerial)
        let revoked = try bench.decode(
            CertificateView.self,
            try bench.require(
                bench.call("POST", "/v1/certificates/\(serial)/revoke", as: .operator), 200))
        XCTAssertEqual(revoked.revocationReason, "unspecified")

        func number() throws -> Int {
            let pem = try bench.require(bench.call("GET", "/v1/crl"), 200).body
            let text = try InProcessDaemon.run("/usr/bin/openssl", ["crl", "-noout", "-crlnumber"], input: pem)
            return try XCTUnwrap(
                Int(
                    text.replacingOccurrences(of: "crlNumber=0x", with: "")
                        .trimmingCharacters(in: .whitespacesAndNewlines), radix: 16), text)
        }
        let first = try number()
        XCTAssertEqual(try number(), first, "reading the CRL again serves the same cached CRL")
        let (_, another) = try bench.newAccount("John_Salley")
        try bench.require(
            bench.call(
                "POST", "/v1/certificates/\(try XCTUnwrap(another.certificateSerial))/revoke",
                as: .operator), 200)
        let afterRevocation = try number()
        XCTAssertGreaterThan(afterRevocation, first, "a revocation signs a CRL with the next number")

        // A restart (a new daemon on the same state directory and CA) continues the store's counter.
        bench.daemon.stop()
        let state = bench.configuration.stateDirectory
        let caDirectory = bench.configuration.resolvedCADirectory
        let restarted = try InProcessDaemon(
            extraConfiguration: "[ca]\ndirectory = \(caDirectory)", keysOf: state,
            openStore: { _, _ in
                let store = try SQLiteStore(
                    path: state + "/enrolld.db",
                    protector: try DataProtector(stateDirectory: state))
                try store.migrate()
                return store
            })
        let pem = try restarted.require(restarted.call("GET", "/v1/crl"), 200).body
        let text = try InProcessDaemon.run("/usr/bin/openssl", ["crl", "-noout", "-crlnumber"], input: pem)
        let restartedNumber = try XCTUnwrap(
            Int(
                text.replacingOccurrences(of: "crlNumber=0x", with: "")
                    .trimmingCharacters(in: .whitespacesAndNewlines), radix: 16), text)
        XCTAssertGreaterThan(restartedNumber, afterRevocation, "CRL numbers stay monotonic across a restart")
    }
}
