import OpenSSLKit
import XCTest

final class CSRTests: XCTestCase {
    let subject = DistinguishedName(country: "UT", commonName: "Request Test")

    func testCreatedRequestRoundTripsAndVerifies() throws {
        for parameters: KeyGenerationParameters in [.p256, .ec(curve: "P-384"), .brainpoolP256r1, .rsa2048] {
            let key = try PrivateKey.generate(parameters)
            let request = try CertificateSigningRequest.create(subject: subject, key: key)
            XCTAssertTrue(request.isSelfSignatureValid, "\(parameters)")
            XCTAssertEqual(request.subject, subject)
            XCTAssertEqual(try request.publicKey().derEncoded(), try key.publicKey().derEncoded())
            XCTAssertEqual(try CertificateSigningRequest(der: request.der).der, request.der)
            XCTAssertEqual(try CertificateSigningRequest(pem: request.pem).der, request.der)
        }
    }

    func testTamperedRequestFailsProofOfPossession() throws {
        let key = try PrivateKey.generate(.p256)
        var der = try CertificateSigningRequest.create(subject: subject, key: key).der
        der[der.count - 1] ^= 0x80
        XCTAssertFalse(try CertificateSigningRequest(der: der).isSelfSignatureValid)
    }

    func testRequestSignedWithAnotherKeyFails() throws {
        // The same TBS structure signed by a different key.
        let requester = try PrivateKey.generate(.p256)
        let other = try PrivateKey.generate(.p256)
        let genuine = try CertificateSigningRequest.create(subject: subject, key: requester)
        let forged = try CertificateSigningRequest.create(subject: subject, key: other)
        XCTAssertTrue(genuine.isSelfSignatureValid && forged.isSelfSignatureValid)
        XCTAssertNotEqual(try genuine.publicKey().derEncoded(), try forged.publicKey().derEncoded())
    }

    func testMalformedInputIsRefused() {
        XCTAssertThrowsError(try CertificateSigningRequest(der: []))
        XCTAssertThrowsError(try CertificateSigningRequest(der: [0x30, 0x00]))
        XCTAssertThrowsError(try CertificateSigningRequest(pem: "-----BEGIN CERTIFICATE REQUEST-----\n-----END"))
    }

    func testTrailingBytesAreRefused() throws {
        let key = try PrivateKey.generate(.p256)
        let der = try CertificateSigningRequest.create(subject: subject, key: key).der
        XCTAssertThrowsError(try CertificateSigningRequest(der: der + [0]))
    }

    func testEncryptedPrivateKeyRoundTrip() throws {
        let key = try PrivateKey.generate(.p256)
        let passphrase = Array("0123456789abcdef0123456789abcdef".utf8)
        let pem = try key.encryptedPEM(passphrase: passphrase)
        XCTAssertTrue(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        let loaded = try PrivateKey(encryptedPEM: pem, passphrase: passphrase)
        XCTAssertEqual(try loaded.publicKey().derEncoded(), try key.publicKey().derEncoded())
        XCTAssertThrowsError(try PrivateKey(encryptedPEM: pem, passphrase: Array("wrong".utf8)))
        XCTAssertThrowsError(
            try PrivateKey(encryptedPEM: try key.pemEncoded(), passphrase: passphrase),
            "an unencrypted key is refused")
        XCTAssertThrowsError(try key.encryptedPEM(passphrase: []))
        XCTAssertThrowsError(try key.encryptedPEM(passphrase: [0x41, 0x00]))
    }

    func testCRLReasonCodesAreWritten() throws {
        let key = try PrivateKey.generate(.p256)
        let now = Date()
        let ca = try CertificateBuilder(
            subject: subject, serialNumber: [1], notBefore: now - 60, notAfter: now + 3600,
            publicKey: try key.publicKey(), basicConstraints: (true, 0),
            keyUsage: [.keyCertSign, .cRLSign]
        ).sign(key: key)
        let builder = CRLBuilder(
            thisUpdate: now, nextUpdate: now + 3600, crlNumber: 7,
            revoked: [
                .init(serialNumber: [0x01, 0x02], date: now),
                .init(serialNumber: [0x03], date: now),
            ])
        let crl = try builder.sign(
            issuer: ca, key: key,
            reasons: [
                [0x00, 0x01, 0x02]: .keyCompromise,
                [0x03]: .unspecified,
            ])
        let plain = try builder.sign(issuer: ca, key: key)
        XCTAssertTrue(crl.isSigned(by: try key.publicKey()))
        XCTAssertEqual(crl.entries.map(\.serialNumber), plain.entries.map(\.serialNumber))
        // The keyCompromise entry carries extension 2.5.29.21 with ENUMERATED 1: 30 0A 06 03 55 1D 15 04 03 0A 01 01.
        let reasonExtension: [UInt8] = [0x06, 0x03, 0x55, 0x1D, 0x15, 0x04, 0x03, 0x0A, 0x01, 0x01]
        XCTAssertNotNil(crl.der.firstRange(of: reasonExtension))
        XCTAssertNil(plain.der.firstRange(of: [0x06, 0x03, 0x55, 0x1D, 0x15]))
        XCTAssertEqual(crl.der.count - plain.der.count >= 12, true)
    }
}

final class CertificatePoliciesTests: XCTestCase {
    func testEncodesPolicyInformationSequence() throws {
        // SEQUENCE { SEQUENCE { OID 1.2.3 } }
        XCTAssertEqual(try CertificatePolicies.extensionValue(policyOIDs: ["1.2.3"]), "DER:3006300406022A03")
        XCTAssertThrowsError(try CertificatePolicies.extensionValue(policyOIDs: []))
        XCTAssertThrowsError(try CertificatePolicies.extensionValue(policyOIDs: ["not an oid"]))
    }
}
