import Foundation
import MRTD
import OpenSSLKit
import VirtualCard
import XCTest

final class PassiveAuthenticationTests: XCTestCase {
    /// Small stand-ins for data groups: passive authentication hashes the raw files without parsing them.
    static let dataGroups: [DataGroup: [UInt8]] = [
        .dg1: [0x61, 0x07, 0x5F, 0x1F, 0x04, 0x50, 0x3C, 0x55, 0x54],
        .dg2: [0x75, 0x06, 0x7F, 0x61, 0x03, 0x02, 0x01, 0x01],
        .dg14: [0x6E, 0x03, 0x31, 0x01, 0x00],
    ]
    private var dataGroups: [DataGroup: [UInt8]] { Self.dataGroups }

    // MARK: Genuine documents

    func testGenuineECDocumentPassesEveryCheck() throws {
        let pki = try TestPKI()
        let sod = try pki.sod(dataGroups: dataGroups)
        let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertTrue(result.passed, "\(result.failures)")
        XCTAssertEqual(result.sodParsed.status, .pass)
        XCTAssertEqual(result.signatureValid.status, .pass)
        XCTAssertEqual(result.dscChainValid.status, .pass)
        XCTAssertEqual(result.dscNotRevoked.status, .pass, result.dscNotRevoked.reason)
        XCTAssertEqual(result.dataGroupHashes.count, 3)
        XCTAssertTrue(result.dataGroupHashes.values.allSatisfy { $0.status == .pass })
        XCTAssertEqual(result.dscSubject, pki.documentSigner.certificate.subject)
        XCTAssertEqual(result.cscaSubject, pki.csca.certificate.subject)
        XCTAssertEqual(result.hashAlgorithm, "SHA-256")
        XCTAssertEqual(result.signatureAlgorithm, "ECDSA with SHA256")
        XCTAssertEqual(result.ldsSecurityObject?.version, 0)
        // Known answer: the SOD carries SHA-256 of each data group as given.
        XCTAssertEqual(result.ldsSecurityObject?.hash(of: .dg1), try Digest.hash(dataGroups[.dg1] ?? [], using: .sha256))
        XCTAssertNotNil(result.signingTime)
    }

    func testTimingOfAFullPassiveAuthentication() throws {
        for (label, options) in [("EC P-256", TestPKI.Options()), ("RSA-2048", Self.rsaOptions())] {
            let pki = try TestPKI(options: options)
            let sod = try pki.sod(dataGroups: dataGroups)
            let store = pki.trustStore()
            let rounds = 20
            let start = Date()
            for _ in 0..<rounds {
                XCTAssertTrue(PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: store).passed)
            }
            let milliseconds = Date().timeIntervalSince(start) * 1000 / Double(rounds)
            print("passive authentication (\(label)): \(String(format: "%.2f", milliseconds)) ms per document")
        }
    }

    static func rsaOptions(scheme: SignatureScheme? = nil) -> TestPKI.Options {
        var options = TestPKI.Options()
        options.cscaKey = .rsa2048
        options.dscKey = .rsa2048
        options.cscaScheme = scheme
        return options
    }

    func testRSAPKCS1AndPSSWithSHA1AndSHA256() throws {
        let pki = try TestPKI(options: Self.rsaOptions(scheme: .rsaPSS(.sha256)))
        let cases: [(DigestAlgorithm, SignatureScheme, String)] = [
            (.sha256, .rsaPKCS1v15(.sha256), "RSA PKCS#1 v1.5 with SHA256"),
            (.sha1, .rsaPKCS1v15(.sha1), "RSA PKCS#1 v1.5 with SHA1"),
            (.sha256, .rsaPSS(.sha256), "RSA-PSS with SHA256"),
            (.sha1, .rsaPSS(.sha1), "RSA-PSS with SHA1"),
            (.sha512, .rsaPSS(.sha512), "RSA-PSS with SHA512"),
        ]
        for (hash, scheme, name) in cases {
            let sod = try pki.sod(dataGroups: dataGroups, hash: hash, options: .init(scheme: scheme))
            let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
            XCTAssertTrue(result.passed, "\(scheme): \(result.failures)")
            XCTAssertEqual(result.signatureAlgorithm, name)
            XCTAssertEqual(result.hashAlgorithm, hash == .sha1 ? "SHA-1" : hash == .sha256 ? "SHA-256" : "SHA-512")
        }
    }

    func testBrainpoolCSCAAndDSCWithExplicitCurveParameters() throws {
        var options = TestPKI.Options()
        options.cscaKey = .brainpoolP256r1
        options.dscKey = .ec(curve: "brainpoolP256r1", explicitParameters: true)
        let pki = try TestPKI(options: options)
        guard case .ec(curve: _, bits: 256) = try pki.documentSigner.certificate.publicKey().keyType else {
            return XCTFail("DSC key is not a 256-bit EC key")
        }
        XCTAssertGreaterThan(try pki.documentSigner.certificate.publicKey().derEncoded().count, 200,
                             "the DSC's SubjectPublicKeyInfo carries explicit parameters")
        for hash in [DigestAlgorithm.sha1, .sha224, .sha256, .sha384, .sha512] {
            let sod = try pki.sod(dataGroups: dataGroups, hash: hash)
            let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
            XCTAssertTrue(result.passed, "\(hash): \(result.failures)")
        }
    }

    func testSignerIdentifiedBySubjectKeyIdentifierOrIssuerAndSerial() throws {
        let pki = try TestPKI()
        for identification in [CMSSignedData.SignerIdentification.subjectKeyIdentifier, .issuerAndSerialNumber] {
            let sod = try pki.sod(dataGroups: dataGroups, options: .init(identification: identification))
            let cms = try CMSSignedData(der: SOD.parse(sod).cms)
            switch (identification, cms.signers.first?.identifier) {
            case (.subjectKeyIdentifier, .subjectKeyIdentifier?), (.issuerAndSerialNumber, .issuerAndSerialNumber?): break
            default: XCTFail("signer identifier is not \(identification)")
            }
            let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
            XCTAssertTrue(result.passed, "\(identification): \(result.failures)")
        }
    }

    func testLegacyContentTypeAndLDSV1() throws {
        let pki = try TestPKI()
        let legacy = try pki.sod(dataGroups: dataGroups, options: .init(contentType: "1.2.840.113549.1.7.1"))
        let legacyResult = PassiveAuthentication.verify(sodFile: legacy, dataGroups: dataGroups,
                                                        trustStore: pki.trustStore())
        XCTAssertTrue(legacyResult.passed, "\(legacyResult.failures)")
        XCTAssertTrue(legacyResult.sodParsed.reason.contains("legacy content type 1.2.840.113549.1.7.1 (id-data)"))

        let v1 = try pki.sod(dataGroups: dataGroups, options: .init(ldsVersion: ("0108", "040000")))
        let v1Result = PassiveAuthentication.verify(sodFile: v1, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertTrue(v1Result.passed, "\(v1Result.failures)")
        XCTAssertEqual(v1Result.ldsSecurityObject?.version, 1)
        XCTAssertEqual(v1Result.ldsSecurityObject?.ldsVersion, "0108")
    }

    func testDocumentSignerTakenFromTrustStoreWhenSODOmitsIt() throws {
        let pki = try TestPKI()
        let sod = try pki.sod(dataGroups: dataGroups, options: .init(includeCertificate: false))
        let without = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertFalse(without.passed)
        XCTAssertEqual(without.signatureValid.status, .fail)
        XCTAssertTrue(without.signatureValid.reason.contains("neither in EF.SOD nor in the trust store"))

        var store = pki.trustStore()
        store.add(certificates: [pki.documentSigner.certificate])
        let with = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: store)
        XCTAssertTrue(with.passed, "\(with.failures)")
    }

    func testExpiredCSCAStillAnchorsAnOldDocument() throws {
        let twelveYearsAgo = Date() - 12 * 365 * 86_400
        let pki = try TestPKI(now: twelveYearsAgo)
        XCTAssertFalse(pki.csca.certificate.isValid(at: Date()), "the CSCA has expired")
        XCTAssertFalse(pki.documentSigner.certificate.isValid(at: Date()), "the DSC has expired")
        let sod = try pki.sod(dataGroups: dataGroups)
        let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups,
                                                  trustStore: pki.trustStore(includeCRL: false))
        XCTAssertTrue(result.passed, "\(result.failures)")
        XCTAssertTrue(result.dscChainValid.reason.contains("still anchors"), result.dscChainValid.reason)
        XCTAssertEqual(result.dscNotRevoked.status, .notChecked)
    }

    func testSODSignedAfterTheDSCExpiredFails() throws {
        let pki = try TestPKI()
        let late = (pki.documentSigner.certificate.notAfter ?? Date()) + 86_400
        let sod = try pki.sod(dataGroups: dataGroups, options: .init(signingTime: late))
        let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertFalse(result.passed)
        XCTAssertEqual(result.dscChainValid.status, .fail)
        XCTAssertTrue(result.dscChainValid.reason.contains("after the DSC expired"), result.dscChainValid.reason)
    }

    func testLinkCertificateBridgesCSCAGenerations() throws {
        let pki = try TestPKI()
        let (newCSCA, link) = try pki.rollOverCSCA()
        XCTAssertFalse(link.isSelfSigned)
        let signer = try pki.issueDocumentSigner(commonName: "DS UT 2", issuer: newCSCA)
        let sod = try SODBuilder.build(dataGroups: dataGroups, signer: signer.certificate, key: signer.key)
        // Only the old CSCA and the link certificate are installed.
        let store = TrustStore(certificates: [pki.csca.certificate, link])
        let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: store)
        XCTAssertTrue(result.passed, "\(result.failures)")
        XCTAssertEqual(result.certificationPath, [signer.certificate, link, pki.csca.certificate])
        // Without the link certificate the new generation is unknown: same name, but the key does not verify.
        let oldOnly = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertEqual(oldOnly.dscChainValid.status, .fail)
        XCTAssertTrue(oldOnly.dscChainValid.reason.contains("does not verify"), oldOnly.dscChainValid.reason)
    }

    func testDataGroupsNotReadAreNotCheckedAndUnlistedOnesFail() throws {
        let pki = try TestPKI()
        let sod = try pki.sod(dataGroups: dataGroups)
        var read = dataGroups
        read[.dg14] = nil
        let partial = PassiveAuthentication.verify(sodFile: sod, dataGroups: read, trustStore: pki.trustStore())
        XCTAssertTrue(partial.passed, "\(partial.failures)")
        XCTAssertEqual(partial.dataGroupHashes[.dg14]?.status, .notChecked)

        read[.dg11] = [0x6B, 0x00]
        let extra = PassiveAuthentication.verify(sodFile: sod, dataGroups: read, trustStore: pki.trustStore())
        XCTAssertFalse(extra.passed)
        XCTAssertEqual(extra.dataGroupHashes[.dg11]?.status, .fail)
        XCTAssertTrue(extra.dataGroupHashes[.dg11]?.reason.contains("DG11") == true)

        let none = PassiveAuthentication.verify(sodFile: sod, dataGroups: [:], trustStore: pki.trustStore())
        XCTAssertFalse(none.passed, "nothing was compared")
    }

    // MARK: Forgeries

    func testAlteredDataGroupIsNamed() throws {
        let pki = try TestPKI()
        let forged = try pki.forgedDocument(.alteredDataGroup(.dg2), dataGroups: dataGroups)
        let result = PassiveAuthentication.verify(sodFile: forged.sod, dataGroups: forged.dataGroups,
                                                  trustStore: forged.trustStore)
        XCTAssertFalse(result.passed)
        XCTAssertEqual(result.signatureValid.status, .pass)
        XCTAssertEqual(result.dataGroupHashes[.dg2]?.status, .fail)
        XCTAssertEqual(result.dataGroupHashes[.dg1]?.status, .pass)
        XCTAssertEqual(result.failures.count, 1)
        XCTAssertTrue(result.failures[0].contains("DG2"), "\(result.failures)")
    }

    func testUntrustedCSCAFailsTheChain() throws {
        let pki = try TestPKI()
        let forged = try pki.forgedDocument(.untrustedCSCA, dataGroups: dataGroups)
        let result = PassiveAuthentication.verify(sodFile: forged.sod, dataGroups: forged.dataGroups,
                                                  trustStore: forged.trustStore)
        XCTAssertFalse(result.passed)
        XCTAssertEqual(result.signatureValid.status, .pass, "the rogue DSC did sign it")
        XCTAssertEqual(result.dscChainValid.status, .fail)
        XCTAssertTrue(result.dscChainValid.reason.contains("does not verify"), result.dscChainValid.reason)

        let emptyStore = PassiveAuthentication.verify(sodFile: forged.sod, dataGroups: forged.dataGroups,
                                                      trustStore: TrustStore(certificates: []))
        XCTAssertTrue(emptyStore.dscChainValid.reason.contains("no trusted CSCA"), emptyStore.dscChainValid.reason)
    }

    func testRevokedDocumentSignerFails() throws {
        let pki = try TestPKI()
        let forged = try pki.forgedDocument(.revokedDocumentSigner, dataGroups: dataGroups)
        let result = PassiveAuthentication.verify(sodFile: forged.sod, dataGroups: forged.dataGroups,
                                                  trustStore: forged.trustStore)
        XCTAssertFalse(result.passed)
        XCTAssertEqual(result.dscChainValid.status, .pass)
        XCTAssertEqual(result.dscNotRevoked.status, .fail)
        XCTAssertTrue(result.dscNotRevoked.reason.contains("revoked"), result.dscNotRevoked.reason)

        var options = TestPKI.Options()
        options.revokeDocumentSigner = true
        let revokedPKI = try TestPKI(options: options)
        let sod = try revokedPKI.sod(dataGroups: dataGroups)
        XCTAssertEqual(PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups,
                                                    trustStore: revokedPKI.trustStore()).dscNotRevoked.status, .fail)
    }

    func testCRLWithABadSignatureIsIgnoredAndPolicyCanRequireOne() throws {
        let pki = try TestPKI()
        let other = try TestPKI()
        // A CRL naming our CSCA but signed by another key: must not be believed either way.
        let rogueIssuer = TestPKI.Party(certificate: pki.csca.certificate, key: other.csca.key)
        let rogueCRL = try pki.makeCRL(revoking: [pki.documentSigner.certificate], issuer: rogueIssuer)
        let sod = try pki.sod(dataGroups: dataGroups)
        let store = TrustStore(certificates: [pki.csca.certificate], crls: [rogueCRL])
        let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: store)
        XCTAssertTrue(result.passed, "\(result.failures)")
        XCTAssertEqual(result.dscNotRevoked.status, .notChecked)
        XCTAssertTrue(result.dscNotRevoked.reason.contains("none verifies"), result.dscNotRevoked.reason)

        let strict = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: store,
                                                  policy: .init(requireRevocationCheck: true))
        XCTAssertFalse(strict.passed)
    }

    func testTamperedSignatureFails() throws {
        let pki = try TestPKI()
        let forged = try pki.forgedDocument(.tamperedSignature, dataGroups: dataGroups)
        let result = PassiveAuthentication.verify(sodFile: forged.sod, dataGroups: forged.dataGroups,
                                                  trustStore: forged.trustStore)
        XCTAssertFalse(result.passed)
        XCTAssertEqual(result.sodParsed.status, .pass)
        XCTAssertEqual(result.signatureValid.status, .fail)
        XCTAssertTrue(result.signatureValid.reason.contains("does not verify"), result.signatureValid.reason)
    }

    func testAlteredSecurityObjectFailsTheMessageDigest() throws {
        let pki = try TestPKI()
        let sod = try pki.sod(dataGroups: dataGroups)
        let hash = try Digest.hash(dataGroups[.dg1] ?? [], using: .sha256)
        guard let start = Self.index(of: hash, in: sod) else { return XCTFail("DG1 hash not found in EF.SOD") }
        var forged = sod
        forged[start] ^= 0xFF
        let result = PassiveAuthentication.verify(sodFile: forged, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertFalse(result.passed)
        XCTAssertEqual(result.signatureValid.status, .fail)
        XCTAssertTrue(result.signatureValid.reason.contains("messageDigest"), result.signatureValid.reason)
    }

    // MARK: Malformed input

    func testGarbageAndTruncatedSODsGiveTypedParseErrors() throws {
        let pki = try TestPKI()
        let sod = try pki.sod(dataGroups: dataGroups)
        let store = pki.trustStore()
        let garbage: [[UInt8]] = [[], [0x77], [0x77, 0x00], [0x77, 0x03, 0x30, 0x01, 0x00], [0x30, 0x00],
                                  Array(repeating: 0xFF, count: 300), [0x77, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]]
        for bytes in garbage {
            let result = PassiveAuthentication.verify(sodFile: bytes, dataGroups: dataGroups, trustStore: store)
            XCTAssertFalse(result.passed)
            XCTAssertNotNil(result.parseError, "\(bytes.prefix(8))")
            XCTAssertEqual(result.sodParsed.status, .fail)
        }
        if case .malformedSOD? = PassiveAuthentication.verify(sodFile: [0x30, 0x00], dataGroups: [:],
                                                              trustStore: store).parseError {
        } else {
            XCTFail("a wrong outer tag is a malformed SOD")
        }
        for length in stride(from: 0, to: sod.count - 1, by: 3) {
            let result = PassiveAuthentication.verify(sodFile: Array(sod.prefix(length)), dataGroups: dataGroups,
                                                      trustStore: store)
            XCTAssertFalse(result.passed, "truncated to \(length)")
            XCTAssertNotNil(result.parseError, "truncated to \(length)")
        }
        // Any bit flip must be survived; inside the signed LDS security object it must also be caught.
        let content = try XCTUnwrap(CMSSignedData(der: SOD.parse(sod).cms).content)
        let contentStart = try XCTUnwrap(Self.index(of: content, in: sod))
        for position in stride(from: 0, to: sod.count, by: 3) {
            var flipped = sod
            flipped[position] ^= 0x40
            let result = PassiveAuthentication.verify(sodFile: flipped, dataGroups: dataGroups, trustStore: store)
            if (contentStart..<(contentStart + content.count)).contains(position) {
                XCTAssertFalse(result.passed, "bit flip in the security object at \(position) passed")
            }
        }
    }

    // MARK: Cross-check with the OpenSSL command line

    func testOpenSSLCommandLineAgreesOnGenuineAndTamperedSODs() throws {
        let openssl = "/usr/bin/openssl"
        guard FileManager.default.isExecutableFile(atPath: openssl) else { throw XCTSkip("no \(openssl)") }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("pa-openssl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        for (label, options) in [("EC", TestPKI.Options()), ("RSA-PSS", Self.rsaOptions(scheme: .rsaPSS(.sha256)))] {
            let pki = try TestPKI(options: options)
            let caFile = directory.appendingPathComponent("csca-\(label).pem")
            try Data(pki.csca.certificate.pem.utf8).write(to: caFile)
            var sodOptions = SODBuilder.Options()
            if label == "RSA-PSS" { sodOptions.scheme = .rsaPSS(.sha256) }
            let genuine = try pki.sod(dataGroups: dataGroups, options: sodOptions)
            let tampered = try pki.forgedDocument(.tamperedSignature, dataGroups: dataGroups).sod
            let untrusted = try pki.forgedDocument(.untrustedCSCA, dataGroups: dataGroups).sod

            XCTAssertTrue(PassiveAuthentication.verify(sodFile: genuine, dataGroups: dataGroups,
                                                       trustStore: pki.trustStore()).passed)
            XCTAssertEqual(try runCMSVerify(openssl, sod: genuine, caFile: caFile, in: directory), 0, label)
            XCTAssertNotEqual(try runCMSVerify(openssl, sod: tampered, caFile: caFile, in: directory), 0, label)
            XCTAssertNotEqual(try runCMSVerify(openssl, sod: untrusted, caFile: caFile, in: directory), 0, label)
        }
    }

    private func runCMSVerify(_ openssl: String, sod: [UInt8], caFile: URL, in directory: URL) throws -> Int32 {
        let cmsFile = directory.appendingPathComponent("sod-\(UUID().uuidString).der")
        try Data(SOD.parse(sod).cms).write(to: cmsFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = ["cms", "-verify", "-inform", "DER", "-in", cmsFile.path, "-CAfile", caFile.path,
                             "-purpose", "any", "-binary", "-out", "/dev/null"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func index(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
