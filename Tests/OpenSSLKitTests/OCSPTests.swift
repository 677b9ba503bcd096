import Foundation
import OpenSSLKit
import XCTest

final class OCSPTests: XCTestCase {
    // MARK: Known answers

    /// An OCSPRequest written out by hand from the ASN.1 of RFC 6960 §4.1.1 (one CertID with SHA-1 and NULL
    /// parameters, serial 0x0123) with the nonce extension of RFC 8954 §2.1 (16 bytes inside an OCTET STRING):
    /// parsed field by field, and encoded back to the same bytes.
    func testHandEncodedRequestWithNonce() throws {
        let nameHash = [UInt8](repeating: 0x11, count: 20)
        let keyHash = [UInt8](repeating: 0x22, count: 20)
        let nonce = Array(0x30...0x3F).map(UInt8.init)
        let certID =
            h("303B" + "300906052B0E03021A0500") + [0x04, 0x14] + nameHash + [0x04, 0x14] + keyHash
            + h("02020123")
        let request =
            h("3068" + "3066" + "303F" + "303D") + certID
            + h("A223" + "3021" + "301F" + "06092B0601050507300102" + "0412" + "0410") + nonce

        let parsed = try OCSPRequest(der: request)
        XCTAssertEqual(parsed.certificateIDs.count, 1)
        let id = try XCTUnwrap(parsed.certificateIDs.first)
        XCTAssertEqual(id.der, certID)
        XCTAssertEqual(id.hashAlgorithmOID, "1.3.14.3.2.26")
        XCTAssertEqual(id.hashAlgorithm, .sha1)
        XCTAssertEqual(id.issuerNameHash, nameHash)
        XCTAssertEqual(id.issuerKeyHash, keyHash)
        XCTAssertEqual(id.serialNumber, [0x01, 0x23])
        XCTAssertEqual(parsed.nonce, nonce)
        XCTAssertEqual(parsed.nonceExtensionValue, [0x04, 0x10] + nonce)
        XCTAssertFalse(parsed.isSigned)
        XCTAssertTrue(parsed.unsupportedCriticalExtensions.isEmpty)
        XCTAssertEqual(try OCSPRequest.encode(certificateIDs: [id], nonce: nonce), request)
    }

    /// Unsuccessful responses are the five-byte `SEQUENCE { ENUMERATED }` of RFC 6960 §4.2.1.
    func testErrorResponsesHaveOnlyAStatus() throws {
        XCTAssertEqual(OCSPResponseBuilder.errorResponse(.malformedRequest), h("30030A0101"))
        XCTAssertEqual(OCSPResponseBuilder.errorResponse(.unauthorized), h("30030A0106"))
        for status in OCSPResponseStatus.allCases where status != .successful {
            let parsed = try OCSPResponse(der: OCSPResponseBuilder.errorResponse(status))
            XCTAssertEqual(parsed.status, status)
            XCTAssertTrue(parsed.responses.isEmpty)
        }
    }

    /// The CertID's hashes are those of RFC 6960 §4.1.1: the issuer's DER subject name and its public key bits.
    func testCertificateIDHashesTheIssuerNameAndKeyBits() throws {
        let (issuer, _) = try makeCA()
        let id = try OCSPCertificateID(serialNumber: [0x00, 0x7F, 0x01], issuer: issuer, hashAlgorithm: .sha256)
        XCTAssertEqual(id.serialNumber, [0x7F, 0x01], "leading zeros are not part of the magnitude")
        XCTAssertEqual(id.issuerNameHash, try Digest.hash(issuer.subjectNameDER, using: .sha256))
        let spki = try issuer.publicKey().derEncoded()
        // The P-256 SubjectPublicKeyInfo ends with BIT STRING 03 42 00 || 65-byte point.
        XCTAssertEqual(id.issuerKeyHash, try Digest.hash(Array(spki.suffix(65)), using: .sha256))
        XCTAssertEqual(try OCSPCertificateID(der: id.der), id)
        let hashes = try OCSPCertificateID.issuerHashes(of: issuer, using: .sha256)
        XCTAssertEqual(hashes.name, id.issuerNameHash)
        XCTAssertEqual(hashes.key, id.issuerKeyHash)
    }

    // MARK: Round trips and verification

    func testSignedResponseVerifiesAgainstTheIssuerThroughADelegatedResponder() throws {
        let (issuer, issuerKey) = try makeCA()
        let (responder, responderKey) = try makeResponder(issuer: issuer, key: issuerKey, ocspSigning: true)
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let good = try OCSPCertificateID(serialNumber: [0x01, 0x02], issuer: issuer)
        let revoked = try OCSPCertificateID(serialNumber: [0x03], issuer: issuer)
        let nonce: [UInt8] = [9, 8, 7, 6, 5, 4, 3, 2]
        let request = try OCSPRequest(der: try OCSPRequest.encode(certificateIDs: [good, revoked], nonce: nonce))
        let builder = OCSPResponseBuilder(
            responses: [
                OCSPSingleResponse(certificateID: good, status: .good, thisUpdate: now, nextUpdate: now + 3600),
                OCSPSingleResponse(
                    certificateID: revoked, status: .revoked(at: now - 60, reason: .keyCompromise),
                    thisUpdate: now, nextUpdate: now + 3600),
            ], nonceExtensionValue: request.nonceExtensionValue)
        let response = try OCSPResponse(der: try builder.sign(responder: responder, key: responderKey))
        XCTAssertEqual(response.status, .successful)
        XCTAssertEqual(response.nonce, nonce)
        XCTAssertEqual(response.certificates, [responder])
        XCTAssertEqual(
            response.responderKeyHash,
            try Digest.hash(Array(try responder.publicKey().derEncoded().suffix(65)), using: .sha1))
        XCTAssertEqual(try response.verify(for: good, issuer: issuer, at: now, nonce: nonce).status, .good)
        XCTAssertEqual(
            try response.verify(for: revoked, issuer: issuer, at: now).status,
            .revoked(at: now - 60, reason: .keyCompromise))

        XCTAssertThrowsError(try response.verify(for: good, issuer: issuer, at: now, nonce: [1])) {
            XCTAssertEqual($0 as? OCSPVerificationError, .nonceMismatch)
        }
        XCTAssertThrowsError(try response.verify(for: good, issuer: issuer, at: now + 7200)) {
            XCTAssertEqual($0 as? OCSPVerificationError, .expired(nextUpdate: now + 3600))
        }
        XCTAssertThrowsError(try response.verify(for: good, issuer: issuer, at: now - 3600)) {
            guard case .notYetValid = $0 as? OCSPVerificationError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(
            try response.verify(for: good, issuer: issuer, at: now + 2 * 86_400),
            "the responder certificate has expired by then: the validation time is honoured"
        ) {
            guard case .untrustedSigner = $0 as? OCSPVerificationError else { return XCTFail("\($0)") }
        }
        let other = try OCSPCertificateID(serialNumber: [0x04], issuer: issuer)
        XCTAssertThrowsError(try response.verify(for: other, issuer: issuer, at: now)) {
            XCTAssertEqual($0 as? OCSPVerificationError, .noResponseForCertificate)
        }
        let (stranger, _) = try makeCA(name: "Stranger CA")
        XCTAssertThrowsError(try response.verify(for: good, issuer: stranger, at: now)) {
            guard case .untrustedSigner = $0 as? OCSPVerificationError else { return XCTFail("\($0)") }
        }
    }

    /// RFC 6960 §4.2.2.2: a responder certificate the CA issued without id-kp-OCSPSigning is not authorised.
    func testResponderWithoutOCSPSigningIsRefused() throws {
        let (issuer, issuerKey) = try makeCA()
        let (impostor, impostorKey) = try makeResponder(issuer: issuer, key: issuerKey, ocspSigning: false)
        let now = Date()
        let id = try OCSPCertificateID(serialNumber: [0x05], issuer: issuer)
        let builder = OCSPResponseBuilder(responses: [
            OCSPSingleResponse(certificateID: id, status: .good, thisUpdate: now, nextUpdate: now + 60)
        ])
        let response = try OCSPResponse(der: try builder.sign(responder: impostor, key: impostorKey))
        XCTAssertThrowsError(try response.verify(for: id, issuer: issuer, at: now)) {
            guard case .untrustedSigner = $0 as? OCSPVerificationError else { return XCTFail("\($0)") }
        }
    }

    func testMalformedInputIsRefused() {
        XCTAssertThrowsError(try OCSPRequest(der: []))
        XCTAssertThrowsError(try OCSPRequest(der: h("3003020101")))
        XCTAssertThrowsError(try OCSPResponse(der: h("30030A0104")), "responseStatus 4 is not defined")
        XCTAssertThrowsError(try OCSPRequest.encode(certificateIDs: []))
    }

    /// Some clients put the nonce bytes straight into extnValue (RFC 8954 §2.1 calls it out): read them as they
    /// are, and echo the extension value unchanged.
    func testRawNonceWithoutInnerOctetString() throws {
        let certID =
            h("303B" + "300906052B0E03021A0500") + [0x04, 0x14] + [UInt8](repeating: 0x11, count: 20)
            + [0x04, 0x14] + [UInt8](repeating: 0x22, count: 20) + h("02020123")
        let request =
            h("3058" + "3056" + "303F" + "303D") + certID
            + h("A213" + "3011" + "300F" + "06092B0601050507300102" + "0402" + "AABB")
        let parsed = try OCSPRequest(der: request)
        XCTAssertEqual(parsed.nonce, [0xAA, 0xBB])
        XCTAssertEqual(parsed.nonceExtensionValue, [0xAA, 0xBB])
    }

    // MARK: Fixtures

    private func makeCA(name: String = "OCSP Test CA") throws -> (X509Certificate, PrivateKey) {
        let key = try PrivateKey.generate(.p256)
        let now = Date()
        let builder = CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: name),
            serialNumber: CertificateBuilder.randomSerial(), notBefore: now - 3600,
            notAfter: now + 86_400 * 30, publicKey: try key.publicKey(),
            basicConstraints: (isCA: true, pathLength: 0),
            keyUsage: [.keyCertSign, .cRLSign])
        return (try builder.sign(key: key), key)
    }

    private func makeResponder(
        issuer: X509Certificate, key issuerKey: PrivateKey,
        ocspSigning: Bool
    ) throws -> (X509Certificate, PrivateKey) {
        let key = try PrivateKey.generate(.p256)
        let now = Date()
        var builder = CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "responder"),
            serialNumber: CertificateBuilder.randomSerial(), notBefore: now - 3600,
            notAfter: now + 86_400, publicKey: try key.publicKey(),
            basicConstraints: (isCA: false, pathLength: nil),
            keyUsage: [.digitalSignature])
        if ocspSigning { builder.extraExtensions = [("extendedKeyUsage", "OCSPSigning"), ("noCheck", "ignored")] }
        let certificate = try builder.sign(issuer: issuer, key: issuerKey)
        XCTAssertEqual(certificate.extendedKeyUsageOIDs, ocspSigning ? ["1.3.6.1.5.5.7.3.9"] : nil)
        XCTAssertEqual(certificate.hasOCSPNoCheck, ocspSigning)
        return (certificate, key)
    }
}
