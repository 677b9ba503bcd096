import CertificateAuthority
import Foundation
import OpenSSLKit
import XCTest

final class RevocationTests: XCTestCase {
    func testCRLRevokesWithReasonAndOpenSSLEnforcesIt() throws {
        let directory = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: directory, subject: CAStoreTests.caSubject)
        let authority = try CAStore.load(directory: directory)
        let openssl = OpenSSLCommandLine(directory: directory)

        var issued: [IssuedCertificate] = []
        for name in ["revoked", "kept"] {
            let accepted = try authority.checkRequest(
                try openssl.makeRequest(
                    [
                        "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256",
                    ], name: name))
            let intent = try authority.prepareIssuance(notAfterLimit: Date() + 86_400 * 1000)
            let certificate = try authority.issue(intent: intent, csr: accepted, holder: IssuanceTests.holder)
            try openssl.write(certificate.pem, to: "\(name)-cert.pem")
            issued.append(certificate)
        }
        let now = Date()
        let crl = try authority.makeCRL(
            revoked: [
                Revocation(serialHex: issued[0].serialHex, date: now - 30, reason: .keyCompromise),
                Revocation(serialHex: "0x0A:BC", date: now - 30, reason: .unspecified),
                Revocation(serialHex: "1234", date: now - 30, reason: .superseded),
            ],
            crlNumber: 42, thisUpdate: now - 60, nextUpdate: now + 86_400 * 7)
        XCTAssertEqual(crl.crl.entries.count, 3)
        XCTAssertNotNil(crl.crl.entry(forSerial: issued[0].serialNumber))
        XCTAssertTrue(crl.crl.isSigned(by: try authority.certificate.publicKey()))
        try openssl.write(crl.pem, to: "crl.pem")

        let text = try openssl.run(["crl", "-in", "crl.pem", "-noout", "-text"])
        XCTAssertEqual(text.status, 0, text.combined)
        XCTAssertTrue(text.output.contains("Serial Number: \(issued[0].serialHex)"), text.output)
        XCTAssertTrue(text.output.contains("Key Compromise"), text.output)
        XCTAssertTrue(text.output.contains("Superseded"), text.output)
        XCTAssertTrue(
            text.output.range(of: #"X509v3 CRL Number:\s+42"#, options: .regularExpression) != nil,
            text.output)
        XCTAssertTrue(text.output.contains("X509v3 Authority Key Identifier"), text.output)
        XCTAssertEqual(
            text.output.components(separatedBy: "CRL Reason Code").count - 1, 2,
            "no reason code extension for unspecified (RFC 5280 §5.3.1)")

        let revoked = try openssl.run([
            "verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile",
            CAStore.certificateFileName, "revoked-cert.pem",
        ])
        XCTAssertNotEqual(revoked.status, 0)
        XCTAssertTrue(revoked.combined.contains("certificate revoked"), revoked.combined)
        let kept = try openssl.run([
            "verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile",
            CAStore.certificateFileName, "kept-cert.pem",
        ])
        XCTAssertEqual(kept.status, 0, kept.combined)
    }

    func testCRLParametersAreChecked() throws {
        let directory = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: directory, subject: CAStoreTests.caSubject)
        let authority = try CAStore.load(directory: directory)
        let now = Date()
        for serial in ["", "xyz", "00", String(repeating: "ff", count: 21)] {
            assertThrows({
                try authority.makeCRL(
                    revoked: [Revocation(serialHex: serial, date: now, reason: .superseded)],
                    crlNumber: 1, thisUpdate: now, nextUpdate: now + 60)
            }) { $0 as? CertificateAuthorityError == .invalidSerial(serial) }
        }
        assertThrows({ try authority.makeCRL(revoked: [], crlNumber: -1, thisUpdate: now, nextUpdate: now + 60) }) {
            guard case .invalidCRLParameters = $0 as? CertificateAuthorityError else { return false }
            return true
        }
        assertThrows({ try authority.makeCRL(revoked: [], crlNumber: 1, thisUpdate: now, nextUpdate: now) }) {
            guard case .invalidCRLParameters = $0 as? CertificateAuthorityError else { return false }
            return true
        }
        let empty = try authority.makeCRL(revoked: [], crlNumber: 1, thisUpdate: now, nextUpdate: now + 3600)
        XCTAssertTrue(empty.crl.entries.isEmpty)
    }
}
