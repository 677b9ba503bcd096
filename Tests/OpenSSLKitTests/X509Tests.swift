import Foundation
import OpenSSLKit
import XCTest

final class X509Tests: XCTestCase {
    private let now = Date()
    private let year: TimeInterval = 365 * 86_400

    // MARK: Known answers

    /// RFC 3279 / RFC 5754 digest OIDs.
    func testDigestObjectIdentifiers() {
        XCTAssertEqual(DigestAlgorithm.sha1.oid, "1.3.14.3.2.26")
        XCTAssertEqual(DigestAlgorithm.sha256.oid, "2.16.840.1.101.3.4.2.1")
        XCTAssertEqual(DigestAlgorithm(oid: "2.16.840.1.101.3.4.2.3"), .sha512)
        XCTAssertNil(DigestAlgorithm(oid: "1.2.3"))
    }

    /// A fixed P-256 SubjectPublicKeyInfo (the generator point G as public key) parses as a 256-bit key on prime256v1.
    func testKnownPublicKeyDER() throws {
        let der = h(
            "3059301306072a8648ce3d020106082a8648ce3d03010703420004"
                + "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                + "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
        let key = try PublicKey(der: der)
        XCTAssertEqual(key.keyType, .ec(curve: "prime256v1", bits: 256))
        XCTAssertEqual(try key.derEncoded(), der)
    }

    // MARK: Keys and signatures

    func testSignAndVerifyEverySchemeAndDigest() throws {
        let ecKeys = try [KeyGenerationParameters.p256, .brainpoolP256r1, .ec(curve: "P-384")].map {
            try PrivateKey.generate($0)
        }
        let rsa = try PrivateKey.generate(.rsa2048)
        let message = Array("LDS security object".utf8)
        for digest in DigestAlgorithm.allCases {
            var pairs: [(PrivateKey, SignatureScheme)] = ecKeys.map { ($0, .ecdsa(digest)) }
            pairs.append((rsa, .rsaPKCS1v15(digest)))
            pairs.append((rsa, .rsaPSS(digest)))
            for (key, scheme) in pairs {
                let signature = try key.sign(message, scheme: scheme)
                let publicKey = try key.publicKey()
                XCTAssertTrue(try publicKey.verify(signature: signature, message: message, scheme: scheme), "\(scheme)")
                XCTAssertFalse(try publicKey.verify(signature: signature, message: message + [0], scheme: scheme))
                var bad = signature
                bad[bad.count / 2] ^= 0x01
                XCTAssertFalse(try publicKey.verify(signature: bad, message: message, scheme: scheme))
            }
        }
    }

    func testKeyRoundTripsThroughPEMAndDER() throws {
        let key = try PrivateKey.generate(.brainpoolP256r1)
        let fromPEM = try PrivateKey(pem: key.pemEncoded())
        let fromDER = try PrivateKey(der: key.derEncoded())
        XCTAssertEqual(try fromPEM.publicKey().derEncoded(), try key.publicKey().derEncoded())
        XCTAssertEqual(try fromDER.publicKey().derEncoded(), try key.publicKey().derEncoded())
        XCTAssertEqual(fromDER.keyType, .ec(curve: "brainpoolP256r1", bits: 256))
        let publicPEM = try key.publicKey().pemEncoded()
        XCTAssertTrue(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        XCTAssertEqual(try PublicKey(pem: publicPEM).derEncoded(), try key.publicKey().derEncoded())
    }

    func testExplicitCurveParametersAreEncodedAndStillVerify() throws {
        let key = try PrivateKey.generate(.ec(curve: "brainpoolP256r1", explicitParameters: true))
        let spki = try key.publicKey().derEncoded()
        // id-ecPublicKey followed by a SEQUENCE (ECParameters) rather than an OID.
        XCTAssertGreaterThan(spki.count, 200, "explicit parameters make the SubjectPublicKeyInfo long")
        let signature = try key.sign([1, 2, 3], scheme: .ecdsa(.sha256))
        let decoded = try PublicKey(der: spki)
        XCTAssertTrue(try decoded.verify(signature: signature, message: [1, 2, 3], scheme: .ecdsa(.sha256)))
    }

    func testUnknownCurveAndGarbageKeysThrow() {
        XCTAssertThrowsError(try PrivateKey.generate(.ec(curve: "notACurve")))
        XCTAssertThrowsError(try PrivateKey.generate(.rsa(bits: 100)))
        XCTAssertThrowsError(try PublicKey(der: [0x30, 0x03, 0x02, 0x01, 0x00]))
        XCTAssertThrowsError(try PrivateKey(pem: "not a key"))
    }

    // MARK: Certificates and CRLs

    private func makeCA(_ parameters: KeyGenerationParameters = .p256) throws -> (X509Certificate, PrivateKey) {
        let key = try PrivateKey.generate(parameters)
        var builder = CertificateBuilder(
            subject: DistinguishedName(country: "UT", organization: "Utopia", commonName: "CSCA Utopia"),
            serialNumber: [0x01], notBefore: now - year, notAfter: now + 10 * year, publicKey: try key.publicKey(),
            basicConstraints: (true, 0), keyUsage: [.keyCertSign, .cRLSign])
        builder.includeAuthorityKeyIdentifier = false
        return (try builder.sign(key: key), key)
    }

    func testSelfSignedAndIssuedCertificates() throws {
        let (ca, caKey) = try makeCA()
        XCTAssertTrue(ca.isSelfSigned)
        XCTAssertTrue(ca.isCertificateAuthority)
        XCTAssertEqual(ca.keyUsage, [.keyCertSign, .cRLSign])
        XCTAssertEqual(ca.subject.description, "C=UT, O=Utopia, CN=CSCA Utopia")
        XCTAssertEqual(ca.serialNumber, [0x01])
        XCTAssertEqual(ca.subjectKeyIdentifier?.count, 20)

        let leafKey = try PrivateKey.generate(.rsa2048)
        let leaf = try CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "DS 1"), serialNumber: [0x00, 0x9F, 0x10],
            notBefore: now - 86_400, notAfter: now + year, publicKey: try leafKey.publicKey(),
            basicConstraints: (false, nil), keyUsage: [.digitalSignature]
        ).sign(issuer: ca, key: caKey, scheme: .ecdsa(.sha384))
        XCTAssertFalse(leaf.isSelfSigned)
        XCTAssertFalse(leaf.isCertificateAuthority)
        XCTAssertTrue(leaf.isIssued(byName: ca))
        XCTAssertTrue(leaf.isSigned(by: try ca.publicKey()))
        XCTAssertFalse(leaf.isSigned(by: try leafKey.publicKey()))
        XCTAssertEqual(leaf.authorityKeyIdentifier, ca.subjectKeyIdentifier)
        XCTAssertEqual(leaf.serialNumber, [0x9F, 0x10])
        XCTAssertEqual(leaf.signatureAlgorithmName, "ecdsa-with-SHA384")
        XCTAssertTrue(leaf.isValid(at: now))
        XCTAssertFalse(leaf.isValid(at: now + 2 * year))
        XCTAssertEqual(leaf.publicKey_keyType, .rsa(bits: 2048))

        XCTAssertEqual(try X509Certificate(pem: leaf.pem), leaf)
        XCTAssertEqual(try X509Certificate(der: leaf.der), leaf)
        XCTAssertEqual(try X509Certificate.certificates(pem: ca.pem + leaf.pem), [ca, leaf])
    }

    func testRSAPSSSignedCertificate() throws {
        let (ca, caKey) = try makeCA(.rsa2048)
        let leafKey = try PrivateKey.generate(.p256)
        let leaf = try CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "DS PSS"), serialNumber: [0x02],
            notBefore: now, notAfter: now + year, publicKey: try leafKey.publicKey()
        ).sign(issuer: ca, key: caKey, scheme: .rsaPSS(.sha256))
        XCTAssertEqual(leaf.signatureAlgorithmName, "rsassaPss")
        XCTAssertTrue(leaf.isSigned(by: try ca.publicKey()))
    }

    func testCRLListsRevokedSerialsAndVerifies() throws {
        let (ca, caKey) = try makeCA()
        let crl = try CRLBuilder(
            thisUpdate: now, nextUpdate: now + 30 * 86_400, crlNumber: 7,
            revoked: [.init(serialNumber: [0x42, 0x01], date: now - 3600)]
        )
        .sign(issuer: ca, key: caKey)
        XCTAssertEqual(crl.entries.map(\.serialNumber), [[0x42, 0x01]])
        XCTAssertNotNil(crl.entry(forSerial: [0x00, 0x42, 0x01]))
        XCTAssertNil(crl.entry(forSerial: [0x42]))
        XCTAssertTrue(crl.isSigned(by: try ca.publicKey()))
        XCTAssertFalse(crl.isSigned(by: try PrivateKey.generate(.p256).publicKey()))
        XCTAssertEqual(crl.issuer, ca.subject)
        XCTAssertEqual(try CertificateRevocationList(pem: crl.pem).der, crl.der)
        XCTAssertEqual(try CertificateRevocationList(der: crl.der).entries.count, 1)
    }

    func testGarbageCertificatesAndCRLsThrow() throws {
        let (ca, _) = try makeCA()
        XCTAssertThrowsError(try X509Certificate(der: Array(ca.der.dropLast(5))))
        XCTAssertThrowsError(try X509Certificate(der: ca.der + [0x00]))
        XCTAssertThrowsError(try X509Certificate(der: []))
        XCTAssertThrowsError(try X509Certificate(pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
        XCTAssertThrowsError(try CertificateRevocationList(der: [0x30, 0x00]))
    }

    // MARK: CMS SignedData

    func testCMSSignAndVerifyWithEachSchemeAndIdentifier() throws {
        let (ca, caKey) = try makeCA()
        let schemes: [(KeyGenerationParameters, SignatureScheme)] = [
            (.p256, .ecdsa(.sha256)), (.brainpoolP256r1, .ecdsa(.sha1)),
            (.rsa2048, .rsaPKCS1v15(.sha256)), (.rsa2048, .rsaPSS(.sha512)),
            (.ec(curve: "brainpoolP256r1", explicitParameters: true), .ecdsa(.sha256)),
        ]
        for (parameters, scheme) in schemes {
            let key = try PrivateKey.generate(parameters)
            let signer = try CertificateBuilder(
                subject: DistinguishedName(country: "UT", commonName: "DS"), serialNumber: [0x05],
                notBefore: now, notAfter: now + year, publicKey: try key.publicKey(), keyUsage: [.digitalSignature]
            ).sign(issuer: ca, key: caKey)
            for identification in [CMSSignedData.SignerIdentification.issuerAndSerialNumber, .subjectKeyIdentifier] {
                let signingTime = Date(timeIntervalSince1970: 1_700_000_000)
                let cms = try CMSSignedData.sign(
                    content: [1, 2, 3], contentType: "2.23.136.1.1.1", certificate: signer,
                    key: key, scheme: scheme, identification: identification,
                    signingTime: signingTime)
                let parsed = try CMSSignedData(der: cms.der)
                XCTAssertEqual(parsed.contentType, "2.23.136.1.1.1")
                XCTAssertEqual(parsed.content, [1, 2, 3])
                XCTAssertEqual(parsed.certificates, [signer])
                let info = try XCTUnwrap(parsed.signers.first)
                XCTAssertEqual(info.digestAlgorithm, scheme.digest)
                XCTAssertEqual(info.messageDigest, try Digest.hash([1, 2, 3], using: scheme.digest))
                XCTAssertEqual(info.contentTypeAttribute, "2.23.136.1.1.1")
                XCTAssertEqual(info.signingTime, signingTime)
                XCTAssertTrue(parsed.signer(info, matches: signer))
                XCTAssertFalse(parsed.signer(info, matches: ca))
                XCTAssertTrue(parsed.verifySignature(of: info, with: signer), "\(scheme) \(identification)")
                XCTAssertFalse(parsed.verifySignature(of: info, with: ca))
                switch identification {
                case .subjectKeyIdentifier:
                    XCTAssertEqual(info.identifier, .subjectKeyIdentifier(signer.subjectKeyIdentifier ?? []))
                case .issuerAndSerialNumber:
                    XCTAssertEqual(info.identifier, .issuerAndSerialNumber(issuer: ca.subject, serialNumber: [0x05]))
                }
                if case .rsaPSS = scheme { XCTAssertEqual(info.signatureAlgorithmName, "RSA-PSS with SHA512") }
            }
        }
    }

    func testCMSGarbageThrows() {
        XCTAssertThrowsError(try CMSSignedData(der: []))
        XCTAssertThrowsError(try CMSSignedData(der: [0x30, 0x03, 0x06, 0x01, 0x00]))
        XCTAssertThrowsError(try CMSSignedData(der: Array(repeating: 0xFF, count: 64)))
    }
}

private extension X509Certificate {
    var publicKey_keyType: KeyType? { try? publicKey().keyType }
}
