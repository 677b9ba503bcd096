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
        let dg1Hash = try Digest.hash(dataGroups[.dg1] ?? [], using: .sha256)
        XCTAssertEqual(result.ldsSecurityObject?.hash(of: .dg1), dg1Hash)
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
                let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: store)
                XCTAssertTrue(result.passed)
            }
            let milliseconds = Date().timeIntervalSince(start) * 1000 / Double(rounds)
            print("passive authentication (\(label)): \(String(format: "%.2f", milliseconds)) ms per document")
        }
    }

    func testConcurrentVerificationsShareOneTrustStore() throws {
        let pki = try TestPKI()
        let sod = try pki.sod(dataGroups: dataGroups)
        let forged = try pki.forgedDocument(.tamperedSignature, dataGroups: dataGroups).sod
        let store = pki.trustStore()
        let groups = dataGroups
        let outcomes = OutcomeCounter()
        DispatchQueue.concurrentPerform(iterations: 64) { index in
            let bytes = index.isMultiple(of: 2) ? sod : forged
            let result = PassiveAuthentication.verify(sodFile: bytes, dataGroups: groups, trustStore: store)
            outcomes.record(result.passed == index.isMultiple(of: 2))
        }
        XCTAssertEqual(outcomes.correct, 64)
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
            let result = PassiveAuthentication.verify(
                sodFile: sod, dataGroups: dataGroups,
                trustStore: pki.trustStore())
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
        XCTAssertGreaterThan(
            try pki.documentSigner.certificate.publicKey().derEncoded().count, 200,
            "the DSC's SubjectPublicKeyInfo carries explicit parameters")
        for hash in [DigestAlgorithm.sha1, .sha224, .sha256, .sha384, .sha512] {
            let sod = try pki.sod(dataGroups: dataGroups, hash: hash)
            let result = PassiveAuthentication.verify(
                sodFile: sod, dataGroups: dataGroups,
                trustStore: pki.trustStore())
            XCTAssertTrue(result.passed, "\(hash): \(result.failures)")
        }
    }

    func testSignerIdentifiedBySubjectKeyIdentifierOrIssuerAndSerial() throws {
        let pki = try TestPKI()
        for identification in [CMSSignedData.SignerIdentification.subjectKeyIdentifier, .issuerAndSerialNumber] {
            let sod = try pki.sod(dataGroups: dataGroups, options: .init(identification: identification))
            let cms = try CMSSignedData(der: SOD.parse(sod).cms)
            switch (identification, cms.signers.first?.identifier) {
            case (.subjectKeyIdentifier, .subjectKeyIdentifier?), (.issuerAndSerialNumber, .issuerAndSerialNumber?):
                break
            default: XCTFail("signer identifier is not \(identification)")
            }
            let result = PassiveAuthentication.verify(
                sodFile: sod, dataGroups: dataGroups,
                trustStore: pki.trustStore())
            XCTAssertTrue(result.passed, "\(identification): \(result.failures)")
        }
    }

    func testLegacyContentTypeAndLDSV1() throws {
        let pki = try TestPKI()
        let legacy = try pki.sod(dataGroups: dataGroups, options: .init(contentType: "1.2.840.113549.1.7.1"))
        let strict = PassiveAuthentication.verify(sodFile: legacy, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertFalse(strict.passed, "by default only id-icao-mrtd-security-ldsSecurityObject")
        XCTAssertEqual(strict.parseError, .unexpectedContentType("1.2.840.113549.1.7.1 (id-data)"))
        let lenient = PassiveAuthenticationPolicy(legacyContentTypes: ["1.2.840.113549.1.7.1"])
        let legacyResult = PassiveAuthentication.verify(
            sodFile: legacy, dataGroups: dataGroups,
            trustStore: pki.trustStore(), policy: lenient)
        XCTAssertTrue(legacyResult.passed, "\(legacyResult.failures)")
        XCTAssertTrue(legacyResult.sodParsed.reason.contains("legacy content type 1.2.840.113549.1.7.1 (id-data)"))
        let unknown = try pki.sod(dataGroups: dataGroups, options: .init(contentType: "1.2.3.4"))
        let listedButUnknown = PassiveAuthenticationPolicy(legacyContentTypes: ["1.2.3.4"])
        XCTAssertFalse(
            PassiveAuthentication.verify(
                sodFile: unknown, dataGroups: dataGroups,
                trustStore: pki.trustStore(), policy: listedButUnknown
            ).passed,
            "only known legacy types can be accepted")

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
        let result = PassiveAuthentication.verify(
            sodFile: sod, dataGroups: dataGroups,
            trustStore: pki.trustStore(includeCRL: false))
        XCTAssertTrue(result.passed, "\(result.failures)")
        XCTAssertTrue(result.dscChainValid.reason.contains("still anchors"), result.dscChainValid.reason)
        XCTAssertEqual(result.dscNotRevoked.status, .notChecked)
    }

    func testWithoutSigningTimeAnExpiredDSCIsAcceptedUnlessPolicyRefuses() throws {
        let fiveYearsAgo = Date() - 5 * 365 * 86_400
        let pki = try TestPKI(now: fiveYearsAgo)
        XCTAssertFalse(pki.documentSigner.certificate.isValid(at: Date()), "the DSC has expired")
        for scheme in [SignatureScheme.ecdsa(.sha256), .ecdsa(.sha1)] {
            let sod = try pki.sod(dataGroups: dataGroups, options: .init(scheme: scheme, omitSigningTime: true))
            let cms = try CMSSignedData(der: SOD.parse(sod).cms)
            XCTAssertEqual(cms.signers.first?.signedAttributeCount, 2, "contentType and messageDigest only")
            let result = PassiveAuthentication.verify(
                sodFile: sod, dataGroups: dataGroups,
                trustStore: pki.trustStore(includeCRL: false))
            XCTAssertTrue(result.passed, "\(result.failures)")
            XCTAssertNil(result.signingTime)
            XCTAssertTrue(result.dscChainValid.reason.contains("DSC expired"), result.dscChainValid.reason)

            let strict = PassiveAuthentication.verify(
                sodFile: sod, dataGroups: dataGroups,
                trustStore: pki.trustStore(includeCRL: false),
                policy: .init(acceptExpiredDocumentSigner: false))
            XCTAssertFalse(strict.passed)
            XCTAssertEqual(strict.dscChainValid.status, .fail)
        }
        // Validated "now" before the DSC's validity began: refused whatever the policy.
        let sod = try pki.sod(dataGroups: dataGroups, options: .init(omitSigningTime: true))
        let early = PassiveAuthentication.verify(
            sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore(),
            at: fiveYearsAgo - 365 * 86_400)
        XCTAssertEqual(early.dscChainValid.status, .fail)
        XCTAssertTrue(early.dscChainValid.reason.contains("not yet valid"), early.dscChainValid.reason)
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
        let result = PassiveAuthentication.verify(
            sodFile: forged.sod, dataGroups: forged.dataGroups,
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
        let result = PassiveAuthentication.verify(
            sodFile: forged.sod, dataGroups: forged.dataGroups,
            trustStore: forged.trustStore)
        XCTAssertFalse(result.passed)
        XCTAssertEqual(result.signatureValid.status, .pass, "the rogue DSC did sign it")
        XCTAssertEqual(result.dscChainValid.status, .fail)
        XCTAssertTrue(result.dscChainValid.reason.contains("does not verify"), result.dscChainValid.reason)

        let emptyStore = PassiveAuthentication.verify(
            sodFile: forged.sod, dataGroups: forged.dataGroups,
            trustStore: TrustStore(certificates: []))
        XCTAssertTrue(emptyStore.dscChainValid.reason.contains("no trusted CSCA"), emptyStore.dscChainValid.reason)
    }

    func testRevokedDocumentSignerFails() throws {
        let pki = try TestPKI()
        let forged = try pki.forgedDocument(.revokedDocumentSigner, dataGroups: dataGroups)
        let result = PassiveAuthentication.verify(
            sodFile: forged.sod, dataGroups: forged.dataGroups,
            trustStore: forged.trustStore)
        XCTAssertFalse(result.passed)
        XCTAssertEqual(result.dscChainValid.status, .pass)
        XCTAssertEqual(result.dscNotRevoked.status, .fail)
        XCTAssertTrue(result.dscNotRevoked.reason.contains("revoked"), result.dscNotRevoked.reason)

        var options = TestPKI.Options()
        options.revokeDocumentSigner = true
        let revokedPKI = try TestPKI(options: options)
        let sod = try revokedPKI.sod(dataGroups: dataGroups)
        XCTAssertEqual(
            PassiveAuthentication.verify(
                sodFile: sod, dataGroups: dataGroups,
                trustStore: revokedPKI.trustStore()
            ).dscNotRevoked.status, .fail)
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

        let strict = PassiveAuthentication.verify(
            sodFile: sod, dataGroups: dataGroups, trustStore: store,
            policy: .init(requireRevocationCheck: true))
        XCTAssertFalse(strict.passed)
    }

    func testTamperedSignatureFails() throws {
        let pki = try TestPKI()
        let forged = try pki.forgedDocument(.tamperedSignature, dataGroups: dataGroups)
        let result = PassiveAuthentication.verify(
            sodFile: forged.sod, dataGroups: forged.dataGroups,
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
        let garbage: [[UInt8]] = [
            [], [0x77], [0x77, 0x00], [0x77, 0x03, 0x30, 0x01, 0x00], [0x30, 0x00],
            Array(repeating: 0xFF, count: 300), [0x77, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
        ]
        for bytes in garbage {
            let result = PassiveAuthentication.verify(sodFile: bytes, dataGroups: dataGroups, trustStore: store)
            XCTAssertFalse(result.passed)
            XCTAssertNotNil(result.parseError, "\(bytes.prefix(8))")
            XCTAssertEqual(result.sodParsed.status, .fail)
        }
        if case .malformedSOD? = PassiveAuthentication.verify(
            sodFile: [0x30, 0x00], dataGroups: [:],
            trustStore: store
        ).parseError {
        } else {
            XCTFail("a wrong outer tag is a malformed SOD")
        }
        for length in stride(from: 0, to: sod.count - 1, by: 3) {
            let result = PassiveAuthentication.verify(
                sodFile: Array(sod.prefix(length)), dataGroups: dataGroups,
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

    // MARK: Known answers from public specimens

    func testBSIReferenceSODSignatureAndDataGroupHashes() throws {
        let groups: [DataGroup: [UInt8]] = [.dg1: Specimens.bsiDG1, .dg14: Specimens.bsiDG14]
        let result = PassiveAuthentication.verify(
            sodFile: Specimens.bsiSOD, dataGroups: groups,
            trustStore: TrustStore(certificates: []))
        XCTAssertEqual(result.sodParsed.status, .pass)
        XCTAssertEqual(result.signatureValid.status, .pass, result.signatureValid.reason)
        XCTAssertEqual(result.signatureAlgorithm, "RSA-PSS with SHA256")
        XCTAssertEqual(result.hashAlgorithm, "SHA-256")
        XCTAssertEqual(result.dscSubject?.value(of: "CN"), "HJP PB DS")
        XCTAssertNil(result.signingTime)
        XCTAssertEqual(result.ldsSecurityObject?.dataGroupHashes.map(\.dataGroup), [.dg1, .dg2, .dg3, .dg14, .dg4])
        XCTAssertEqual(
            result.ldsSecurityObject?.hash(of: .dg1),
            Self.hex("4170CA879FCE6A22FFEF1567FF88079F415C66EAD250AB5F23781AC2CDBF42B6"))
        XCTAssertEqual(result.dataGroupHashes[.dg1]?.status, .pass)
        XCTAssertEqual(result.dataGroupHashes[.dg14]?.status, .pass)
        XCTAssertEqual(result.dataGroupHashes[.dg2]?.status, .notChecked)
        // The reference CSCA ("HJP PB CS") is not public: the chain cannot be built.
        XCTAssertEqual(result.dscChainValid.status, .fail)
        XCTAssertTrue(result.dscChainValid.reason.contains("CN=HJP PB CS"), result.dscChainValid.reason)
        XCTAssertFalse(result.passed)

        var altered = Specimens.bsiDG1
        altered[altered.count - 1] ^= 0x01
        let forged = PassiveAuthentication.verify(
            sodFile: Specimens.bsiSOD, dataGroups: [.dg1: altered],
            trustStore: TrustStore(certificates: []))
        XCTAssertEqual(forged.dataGroupHashes[.dg1]?.status, .fail)
    }

    func testAustrianSODWithExplicitBrainpoolDSCChainsToItsCSCA() throws {
        let store = TrustStore(certificates: [try X509Certificate(der: Specimens.austriaCSCA)])
        let result = PassiveAuthentication.verify(sodFile: Specimens.austriaSOD, dataGroups: [:], trustStore: store)
        XCTAssertEqual(result.sodParsed.status, .pass)
        XCTAssertEqual(result.signatureValid.status, .pass, result.signatureValid.reason)
        XCTAssertEqual(result.dscChainValid.status, .pass, result.dscChainValid.reason)
        XCTAssertEqual(result.signatureAlgorithm, "ECDSA with SHA256")
        XCTAssertEqual(result.cscaSubject?.description, "C=AT, O=GV, OU=BMI, CN=CSCA-AUSTRIA")
        XCTAssertEqual(result.signingTime, Date(timeIntervalSince1970: 1_679_060_418))
        XCTAssertEqual(result.dataGroupHashes.count, 6)
        XCTAssertTrue(result.dataGroupHashes.values.allSatisfy { $0.status == .notChecked })
        XCTAssertFalse(result.passed, "no data group was compared")
        let dscKey = try XCTUnwrap(result.documentSigner).publicKey()
        guard case .ec(curve: _, bits: 256) = dscKey.keyType else { return XCTFail("DSC key \(dscKey.keyType)") }
        XCTAssertGreaterThan(try dscKey.derEncoded().count, 250, "explicit curve parameters")

        let cms = try CMSSignedData(der: SOD.parse(Specimens.austriaSOD).cms)
        let signature = try XCTUnwrap(cms.signers.first?.signature)
        let start = try XCTUnwrap(Self.index(of: signature, in: Specimens.austriaSOD))
        var tampered = Specimens.austriaSOD
        tampered[start + signature.count - 1] ^= 0x01
        let forged = PassiveAuthentication.verify(sodFile: tampered, dataGroups: [:], trustStore: store)
        XCTAssertEqual(forged.signatureValid.status, .fail)
    }

    func testNewZealandBERSODWithIndefiniteLengthsVerifies() throws {
        // SOD.parse reads the BER ContentInfo (indefinite lengths) as passive authentication does.
        let sod = try SOD.parse(Specimens.newZealandSOD)
        XCTAssertTrue(sod.isIndefiniteLength)
        XCTAssertEqual(try sod.securityObject().dataGroupHashes.count, 6)
        let store = TrustStore(certificates: [try X509Certificate(der: Specimens.newZealandCSCA)])
        let result = PassiveAuthentication.verify(sodFile: Specimens.newZealandSOD, dataGroups: [:], trustStore: store)
        XCTAssertEqual(result.sodParsed.status, .pass, result.sodParsed.reason)
        XCTAssertEqual(result.signatureValid.status, .pass, result.signatureValid.reason)
        XCTAssertEqual(result.dscChainValid.status, .pass, result.dscChainValid.reason)
        XCTAssertEqual(result.signatureAlgorithm, "RSA PKCS#1 v1.5 with SHA256")
        XCTAssertEqual(result.dataGroupHashes.count, 6)
    }

    static func hex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = text.startIndex
        while let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex), index < text.endIndex {
            out.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return out
    }

    // MARK: Cross-check with the OpenSSL command line

    func testOpenSSLCommandLineAgreesOnGenuineAndTamperedSODs() throws {
        let openssl = "/usr/bin/openssl"
        guard FileManager.default.isExecutableFile(atPath: openssl) else { throw XCTSkip("no \(openssl)") }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("pa-openssl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var explicit = TestPKI.Options()
        explicit.cscaKey = .brainpoolP256r1
        explicit.dscKey = .ec(curve: "brainpoolP256r1", explicitParameters: true)
        let profiles = [
            ("EC", TestPKI.Options()), ("RSA-PSS", Self.rsaOptions(scheme: .rsaPSS(.sha256))),
            ("explicit-brainpool", explicit),
        ]
        for (label, options) in profiles {
            let pki = try TestPKI(options: options)
            let caFile = directory.appendingPathComponent("csca-\(label).pem")
            try Data(pki.csca.certificate.pem.utf8).write(to: caFile)
            var sodOptions = SODBuilder.Options()
            if label == "RSA-PSS" { sodOptions.scheme = .rsaPSS(.sha256) }
            let genuine = try pki.sod(dataGroups: dataGroups, options: sodOptions)
            if label != "RSA-PSS" {
                let noTime = try pki.sod(dataGroups: dataGroups, options: .init(omitSigningTime: true))
                let status = try runCMSVerify(
                    openssl, sod: noTime, caFile: caFile, in: directory,
                    signatureOnly: label == "explicit-brainpool")
                XCTAssertEqual(status, 0, "\(label), no signingTime")
            }
            let tampered = try pki.forgedDocument(.tamperedSignature, dataGroups: dataGroups).sod
            let untrusted = try pki.forgedDocument(.untrustedCSCA, dataGroups: dataGroups).sod

            XCTAssertTrue(
                PassiveAuthentication.verify(
                    sodFile: genuine, dataGroups: dataGroups,
                    trustStore: pki.trustStore()
                ).passed)
            XCTAssertFalse(
                PassiveAuthentication.verify(
                    sodFile: untrusted, dataGroups: dataGroups,
                    trustStore: pki.trustStore()
                ).passed)
            // OpenSSL's chain verifier refuses certificates whose key has explicit EC parameters
            // (X509_V_ERR_EC_KEY_EXPLICIT_PARAMS), as issued DSCs often have: that is why passive authentication
            // builds the DSC -> CSCA chain itself. For that profile the command checks the signature only.
            let explicitDSC = label == "explicit-brainpool"
            XCTAssertEqual(
                try runCMSVerify(
                    openssl, sod: genuine, caFile: caFile, in: directory,
                    signatureOnly: explicitDSC), 0, label)
            XCTAssertNotEqual(
                try runCMSVerify(
                    openssl, sod: tampered, caFile: caFile, in: directory,
                    signatureOnly: explicitDSC), 0, label)
            if explicitDSC {
                XCTAssertNotEqual(
                    try runCMSVerify(openssl, sod: genuine, caFile: caFile, in: directory), 0,
                    "OpenSSL's verifier accepted a DSC with explicit parameters")
            } else {
                XCTAssertNotEqual(try runCMSVerify(openssl, sod: untrusted, caFile: caFile, in: directory), 0, label)
            }
        }
    }

    private func runCMSVerify(
        _ openssl: String, sod: [UInt8], caFile: URL, in directory: URL,
        signatureOnly: Bool = false
    ) throws -> Int32 {
        let cmsFile = directory.appendingPathComponent("sod-\(UUID().uuidString).der")
        try Data(SOD.parse(sod).cms).write(to: cmsFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments =
            [
                "cms", "-verify", "-inform", "DER", "-in", cmsFile.path, "-CAfile", caFile.path,
                "-purpose", "any", "-binary", "-out", "/dev/null",
            ] + (signatureOnly ? ["-noverify"] : [])
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

private final class OutcomeCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func record(_ correct: Bool) {
        lock.lock()
        if correct { count += 1 }
        lock.unlock()
    }

    var correct: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}

/// Public specimens (data only). BSI TR-03105-5 ReferenceDataSet (as published in ZeroPass/pymrtd's tests): EF.SOD
/// signed with RSA-PSS/SHA-256 by "HJP PB DS" (its CSCA is not public), DG1 and DG14. An Austrian EF.SOD (ECDSA
/// over brainpoolP256r1 with explicit parameters in the DSC) and a New Zealand EF.SOD (BER, indefinite lengths)
/// from gmrtd/gmrtd's passive-authentication tests, with their CSCAs taken from the German CSCA master list
/// that gmrtd ships (verified against DE_ROOT_CA_CSCA07 with our master list code).
enum Specimens {
    static func bytes(_ base64: String) -> [UInt8] {
        [UInt8](Data(base64Encoded: base64.filter { !$0.isWhitespace }) ?? Data())
    }

    /// BSI TR-03105-5 EF_SOD.bin.
    static let bsiSOD = bytes(
        """
        d4IHijCCB4YGCSqGSIb3DQEHAqCCB3cwggdzAgEDMQ8wDQYJYIZIAWUDBAIBBQAwgekGBmeBCAEBAaCB3gSB2zCB2AIBADANBglg
        hkgBZQMEAgEFADCBwzAlAgEBBCBBcMqHn85qIv/vFWf/iAefQVxm6tJQq18jeBrCzb9CtjAlAgECBCCpobCd/VmAh6s/zkri7GWx
        oVJb0li/wn30QZ+KZeVHRTAlAgEDBCBAPk0Xwm68gyQRiYFh2P1dmcWO6GXLN1m1Kap4LH7eADAlAgEOBCDPUAT/zNZOGovTpC/V
        OBTsPUSBZAvhkG0Oz+sBbvamrjAlAgEEBCBMeg8N2qRzEjg08bBxPtlFPR0dWLzkR/sXNtQKB2HBe6CCBGUwggRhMIIClaADAgEC
        AgYBQv1c+ScwQQYJKoZIhvcNAQEKMDSgDzANBglghkgBZQMEAgEFAKEcMBoGCSqGSIb3DQEBCDANBglghkgBZQMEAgEFAKIDAgEg
        MFMxCzAJBgNVBAYTAkRFMRcwFQYDVQQKDA5ISlAgQ29uc3VsdGluZzEXMBUGA1UECwwOQ291bnRyeSBTaWduZXIxEjAQBgNVBAMM
        CUhKUCBQQiBDUzAeFw0xMzEyMTYyMTQzMThaFw0xNDEyMTEyMTQzMThaMFQxCzAJBgNVBAYTAkRFMRcwFQYDVQQKDA5ISlAgQ29u
        c3VsdGluZzEYMBYGA1UECwwPRG9jdW1lbnQgU2lnbmVyMRIwEAYDVQQDDAlISlAgUEIgRFMwggEiMA0GCSqGSIb3DQEBAQUAA4IB
        DwAwggEKAoIBAQCefLsGU3cEEjKRWgRN063CGZrUwUvI5YwkqJnb1iqYTurioABsHVNDkkameplk11m8e5QmzmxMB4NjMGz2ZkXx
        LznZUP4sBBAOb/U8MQtS90zR7YmTFJbzdtOEq2BKVwEpRF8BX8w1leFht8WRy1IGvBZHfYzewJSA2/YmJpb2KXDaCXiAfbozDud3
        v1TUca4eslcJDxN54Zii0VAzRIRzR75Gdk+gDE6Tus0yFDsuBMbDac7OeUP9QUUhhJUz+c25heQnZ/HdeS5+/tNlHjx134aPohAd
        9FzV09lVsjqI3TCnUvT7n06EtRjgyg+PK6zmXWH5gRWg6ojdOjQWAXyjAgMBAAGjUjBQMB8GA1UdIwQYMBaAFB5NV1YMEpAjZqj9
        4RQIo39w631lMB0GA1UdDgQWBBSDHDC+h4/fVycwEOWziVDldvewijAOBgNVHQ8BAf8EBAMCB4AwQQYJKoZIhvcNAQEKMDSgDzAN
        BglghkgBZQMEAgEFAKEcMBoGCSqGSIb3DQEBCDANBglghkgBZQMEAgEFAKIDAgEgA4IBgQAphNxDAog5uyR4akycnDfnY2j/YmRw
        eXDlsA95NIQJBO2Q40sBjV1jTXU25Jr+ew6HL10JPm0RvzHJEGhqkQb593P1nFeu/5g95jNbXLQD4P99MFXwmUiHj4vhvBhPKgPI
        LBQJf8Gd7dzPYaLq5vi/GmS+TAJTzgvDWtQeENb/CMHuhyNJ6NAqci9IFEyrZl0PrfnbOza/srFa5KOxPcTPZBM7WZzbOvijZaxi
        KAlomf6o1Wok+Q2nKz6VuX/YLEuO+cu0mcPZ8JBTpf3dUelKE6AEUw10990bDIgWP5v6CYkj3IHSR9deM8rDx+J66sYnuZqxjmsD
        04Jg4tzPodY40XYUdzvBProNU+Lj6aIC4HQsJd9HEHLNoqiLorJWSJcLwxEy3oT3Aqu8mHQLT+58Zs0Ul1WnY7gB3PncG1IZGjrM
        UUJExR0pfzXlrqMouGQbM9VNx8UNJGb53dzpinXydtSNYUtsT6Z1wgF4JL7XzCe0b8vluCzktDPjSq7S6+4xggIGMIICAgIBATBd
        MFMxCzAJBgNVBAYTAkRFMRcwFQYDVQQKDA5ISlAgQ29uc3VsdGluZzEXMBUGA1UECwwOQ291bnRyeSBTaWduZXIxEjAQBgNVBAMM
        CUhKUCBQQiBDUwIGAUL9XPknMA0GCWCGSAFlAwQCAQUAoEgwFQYJKoZIhvcNAQkDMQgGBmeBCAEBATAvBgkqhkiG9w0BCQQxIgQg
        tGoNBeKA85jv7uv/Z+eMc2rdFedWcLGtTGxTToGHudYwQQYJKoZIhvcNAQEKMDSgDzANBglghkgBZQMEAgEFAKEcMBoGCSqGSIb3
        DQEBCDANBglghkgBZQMEAgEFAKIDAgEgBIIBAHYRBun70u0bL3UCfa8Tl1pMet/FTWddLdK7p2K8Bz2SiK9LG4e6eYfVP6HTIdGU
        P1hXP0kTQk4rzdCAwtiSephb4r3K9rj+IeyZ2CJ/BS7RGLfq5gKfV4icpyORIHaRY1UGjrvPRvGcP7tJ3PHp87EN8R4nD6wRvG0e
        PFrfaODkY4GkX3N+ke6fiJ221BiqLGwyE8R/vCeH8BNDhLNDzJIamgOHjrp5ugCQERVJWULD57Dk2gngkWwXIiitKNnb7JFfMuWN
        dDFIBEMDDCw9He+EAiP+1BqSxbMKos6e00bLuLsXKi7/c+C4z+yJBxoH3GJidCH4CNpUGlihpXLnWD8=
        """)
    /// BSI TR-03105-5 DG1 (specimen MRZ).
    static let bsiDG1 = bytes(
        """
        YVtfH1hQPEQ8PE1VU1RFUk1BTk48PEVSSUtBPDw8PDw8PDw8PDw8PDw8PDw8PDw8PEMxMVQwMDJKTTREPDw5NjA4MTIyRjIzMTAz
        MTQ8PDw8PDw8PDw8PDw8PDw0
        """)
    /// BSI TR-03105-5 DG14.
    static let bsiDG14 = bytes(
        """
        boIBSjGCAUYwggEiBgkEAH8ABwICAQIwggETMIHUBgcqhkjOPQIBMIHIAgEBMCgGByqGSM49AQECHQDXwTSqJkNmhioYMCV10deH
        sJ8HV5faifV+yMD/MDwEHGil5iypzmwcKZgDpsFTC1FOGCrYsAQqWcrSn0MEHCWA9jzP5EE4hwcTsakjaeM+ITXSZtuzcjhsQAsE
        OQQNkCmtLH5c9DQII7KofcaMnkzjF0webv3uEsB9WKpW93LAcm8kxrieTs2sJDVLnpnKo/bTdhQCzQIdANfBNKomQ2aGKhgwJXXQ
        +5jRFrxLbd68o6Wnk58CAQEDOgAEqEfwIPcd8z04a+fJIjo1TWrHcnAYsm4oHG/7lqg7FCqvMDwj8rzyzeRwbBTkWRSpvkLBW8tn
        oB8wDwYKBAB/AAcCAgMCAQIBATANBggEAH8ABwICAgIBAQ==
        """)
    /// Austrian EF.SOD (gmrtd test data).
    static let austriaSOD = bytes(
        """
        d4IGTTCCBkkGCSqGSIb3DQEHAqCCBjowggY2AgEDMQ8wDQYJYIZIAWUDBAIBBQAwggESBgZngQgBAQGgggEGBIIBAjCB/wIBADAN
        BglghkgBZQMEAgEFADCB6jAlAgEBBCCQRizUgkvCTOHOd+DkDaUDtfJQY+YaeOIsOsBOSbICQzAlAgECBCAROIi937ialFIpWfPP
        QQB7sSQeL9+lhdj0gDF+tkghXzAlAgEDBCBcHE+l/T2QZiqS1cbH7pQDCufu2QcKbY8ds3ayaNmfgzAlAgELBCAqFwT6M8WzpXYO
        uLSP8P+ReOZHDcUlt5sTvcvJXZ2D1TAlAgEMBCDJZzgAxEoYo9blMA5q01q4c33N+58lnkO8/wybai14qTAlAgEOBCCv+MkhMwcu
        1XA6hKWm9f4UjwKoazay1Ydhk71IJDzS8qCCA+MwggPfMIIDZqADAgECAghhidsYtu3oVzAKBggqhkjOPQQDAzA/MQswCQYDVQQG
        EwJBVDELMAkGA1UECgwCR1YxDDAKBgNVBAsMA0JNSTEVMBMGA1UEAwwMQ1NDQS1BVVNUUklBMB4XDTIzMDEzMTA4MDQwMloXDTMz
        MDUwNjA4MDQwMlowVDELMAkGA1UEBhMCQVQxCzAJBgNVBAoMAkdWMQwwCgYDVQQLDANCTUkxDzANBgNVBAUTBjAwNDAxNTEZMBcG
        A1UEAwwQRFMtQVVTVFJJQS1lTVJURDCCATMwgewGByqGSM49AgEwgeACAQEwLAYHKoZIzj0BAQIhAKn7V9uh7qm8PmYKkJ2DjXJu
        O/Yj1SYgKCATSB0fblN3MEQEIH1aCXX8LDBX7vZ1MEF6/+f7gFXBJtxcbOlKS0TzMLXZBCAm3Fxs6UpLRPMwtdm713y/lYQWKVz3
        4c5rzNwY/4wHtgRBBIvSrrnLflfLLEtIL/yBt6+53ifh470jwjpEU72azjJiVH74NcPaxP2X+EYaFGEdycJ3RRMt7Y5UXB1Uxy8E
        aZcCIQCp+1fboe6pvD5mCpCdg41xjDl6o7VhpveQHg6Cl0hWpwIBAQNCAASIk5BRk/MV7i4vHu4/1aSW9mN96zd4z+fML2x/BoKs
        x5WwKQJlosuDEZNDVE8rv+QpdBWax3sRPa++6GDCUjwGo4IBWTCCAVUwHQYDVR0OBBYEFOduqlZ6z2VoxmDJhXF8PIpQvQJLMB8G
        A1UdIwQYMBaAFCaSx+OYq/vjUZLT8m6aMX0f7VO9MBoGA1UdEAQTMBGBDzIwMjMwNTA2MDgwNDAyWjAWBgNVHSAEDzANMAsGCSoo
        AAoBAgEBATA+BgNVHR8ENzA1MDOgMaAvhi1odHRwOi8vd3d3LmJtaS5ndi5hdC9jc2NhL2NybC9DU0NBQVVTVFJJQS5jcmwwDgYD
        VR0PAQH/BAQDAgeAMDcGA1UdEgQwMC6kEDAOMQwwCgYDVQQHDANBVVSGGmh0dHA6Ly93d3cuYm1pLmd2LmF0L2NzY2EvMDcGA1Ud
        EQQwMC6kEDAOMQwwCgYDVQQHDANBVVSGGmh0dHA6Ly93d3cuYm1pLmd2LmF0L2NzY2EvMB0GB2eBCAEBBgIEEjAQAgEAMQsTAVAT
        AkFSEwJJRDAKBggqhkjOPQQDAwNnADBkAjA6964xymuPr8puxRmFmX9xGfsubSDWG1Mn1XQBCaoxC0EL+0TzVOCG8gf8q3Ieaa4C
        MEbGj7eQn5lDUKLRyE0a5d/4wA3m2Gt4kabPkM7qCRWUAubi7T+lSNso0zFGMZ7v2jGCASEwggEdAgEBMEswPzELMAkGA1UEBhMC
        QVQxCzAJBgNVBAoMAkdWMQwwCgYDVQQLDANCTUkxFTATBgNVBAMMDENTQ0EtQVVTVFJJQQIIYYnbGLbt6FcwDQYJYIZIAWUDBAIB
        BQCgZjAVBgkqhkiG9w0BCQMxCAYGZ4EIAQEBMBwGCSqGSIb3DQEJBTEPFw0yMzAzMTcxMzQwMThaMC8GCSqGSIb3DQEJBDEiBCDr
        XdGbloh1FGGz5hycgPHoSNke7CEASKymZTJ5x8N8djAMBggqhkjOPQQDAgUABEYwRAIgJWeVnBGe4V0UUg6rG1J8K8STJT1nM7vs
        MCla9X486wcCIGFNzqO6kkmeIhK5zUFZdYzUmuJA50s+INjUkYPtH+sJ
        """)
    /// CSCA-AUSTRIA from the German master list.
    static let austriaCSCA = bytes(
        """
        MIIEPzCCA8SgAwIBAgICBH8wDAYIKoZIzj0EAwMFADA/MQswCQYDVQQGEwJBVDELMAkGA1UECgwCR1YxDDAKBgNVBAsMA0JNSTEV
        MBMGA1UEAwwMQ1NDQS1BVVNUUklBMB4XDTE5MDkwMjA3MTM0NFoXDTMwMDEwNTA4NTMyOVowPzELMAkGA1UEBhMCQVQxCzAJBgNV
        BAoMAkdWMQwwCgYDVQQLDANCTUkxFTATBgNVBAMMDENTQ0EtQVVTVFJJQTCCAbUwggFNBgcqhkjOPQIBMIIBQAIBATA8BgcqhkjO
        PQEBAjEAjLkegqM4bSgPXW9+UOZB3xUvcQntVFa0ErHaGX+3ESOs06cpkB0acYdHABMxB+xTMGQEMHvDgsY9jBUMPHIICs4Fr6DC
        vqKOT7InhxORZe+6kfkPiqWBSlA61OsEqMfdIs4oJgQwBKjH3SLOKCaLObVUFvBEfC+3feEH3NKmLogOpT7rYtV8tDkCldvJlDq3
        hpb6UEwRBGEEHRxk8GjPRf+ipjqBt8E/a4hHo+d+8U/j23/K/gy9EOjoJuA0NtZGqu+HsuJH1K8eir4ddSD5wqRcseuOlc/VUmK3
        Cyn+7Fhk4ZwFT/mRKSgORkYhd5GBEUKCA0EmPFMVAjEAjLkegqM4bSgPXW9+UOZB3xUvcQntVFazHxZubKwEJafPOrava3/DEDuI
        MgLpBGVlAgEBA2IABEPDxgJnFuCqMAs7GTPoWmOawYNIjCNezTxT6rAbkbbQxt4hhwseqS4sr4qXAJbPgoxeyxB4LFuWl2cqHlHb
        ZIg+PsSq4jAC3dxxdsfplDk+PCBtz1E3EKgsotcK5S1jbaOCAU4wggFKMBoGA1UdEAQTMBGBDzIwMjQxMjA5MDcxMzQ0WjAOBgNV
        HQ8BAf8EBAMCAQYwHQYDVR0OBBYEFCaSx+OYq/vjUZLT8m6aMX0f7VO9MD4GA1UdHwQ3MDUwM6AxoC+GLWh0dHA6Ly93d3cuYm1p
        Lmd2LmF0L2NzY2EvY3JsL0NTQ0FBVVNUUklBLmNybDAWBgNVHSAEDzANMAsGCSooAAoBAgEBATASBgNVHRMBAf8ECDAGAQH/AgEA
        MDcGA1UdEgQwMC6kEDAOMQwwCgYDVQQHDANBVVSGGmh0dHA6Ly93d3cuYm1pLmd2LmF0L2NzY2EvMDcGA1UdEQQwMC6kEDAOMQww
        CgYDVQQHDANBVVSGGmh0dHA6Ly93d3cuYm1pLmd2LmF0L2NzY2EvMB8GA1UdIwQYMBaAFP+N6oavGO7li6LWuoz6qzmhaa9bMAwG
        CCqGSM49BAMDBQADZwAwZAIwYEg6Bzva7SUs7jMyI7HCmRw6oHbFKZeleZQgo26O0KUpn9p2S1y1UxkaTmeM1yk1AjBJpc2c12bt
        2VPbM/GY/twUAD9bgo+eSo7jFphllNIfTrchqBp8mxU6cIjkYDVYBWQ=
        """)
    /// New Zealand EF.SOD, BER with indefinite lengths (gmrtd test data).
    static let newZealandSOD = bytes(
        """
        d4IIUjCABgkqhkiG9w0BBwKggDCAAgEDMQ8wDQYJYIZIAWUDBAIBBQAwgAYGZ4EIAQEBoIAEggEAMIH9AgEAMAsGCWCGSAFlAwQC
        ATCB6jAlAgEBBCDDS5YIjJGksH3uyEHVWohrUeHHr9efBY9CFx+kmPlfJDAlAgECBCDCv7fpsUzpYP4aw7RVkTYk0eHtSrkubi0g
        pp7JhhFnhzAlAgEMBCACL/1aCocewolH7JQPsnn9vLSyXvA0ZeZTvNPdXDcKXzAlAgENBCD91zrvhMT5/Eq4B/Lvrb0BNFLx7nIA
        KHrd7VPtzF0rtzAlAgEOBCA8gTTPWphYY1GbaL2Ppe4u3K18N1JHOT4C2EwNvXk50zAlAgEPBCCl7WwqCT5UijDwvvkaxMB9EuVz
        PfJSrx4k/O0Ozla/mQAAAACgggUDMIIE/zCCAuegAwIBAgIEQuV6QTANBgkqhkiG9w0BAQsFADBtMQswCQYDVQQGEwJOWjEiMCAG
        A1UECgwZR292ZXJubWVudCBvZiBOZXcgWmVhbGFuZDESMBAGA1UECwwJUGFzc3BvcnRzMSYwJAYDVQQLDB1JZGVudGl0eSBTZXJ2
        aWNlcyBQYXNzcG9ydCBDQTAeFw0xNzEwMDEyMDM5NTZaFw0yODAyMTIxMTAwMDBaMHsxCzAJBgNVBAYTAk5aMSIwIAYDVQQKDBlH
        b3Zlcm5tZW50IG9mIE5ldyBaZWFsYW5kMRIwEAYDVQQLDAlQYXNzcG9ydHMxDTALBgNVBAsMBE1SVEQxJTAjBgNVBAMMHERvY3Vt
        ZW50IFNpZ25lciAyMDE3MTAwMjAwMDEwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDAKHveYkDjeuyXQdZJR3WLK7vN
        WKh0KUQvpsFO5kgflNKiITUuZj1MHq7IlvGMI1Fg1HtUjltEWUjJdmFNJjxlaOqdCOpQT9kw2XddnOgqOoNMTv3i1rqwTEmQRaPC
        Xc8pyOm6TFiVgwDGhzIwZqKtnqVMiiPUqnXbyvCuXPyBdqlLiRrZfDKMoDGGwRUdTrPcu8q++Kn3f1CVm/4wiRYFp3Jb9t5ZJA3R
        gYxsvUtxyaQcjQqMd+yhVZs8oSSgn3W7RBeKF+KdXIcdoNxaUNrShzMh/e/oN0q/5B+w/CzCy08lWqX7PWFLGP7j/jNGyOD59z3m
        Y0jgEaF76IUcWdMlAgMBAAGjgZgwgZUwDgYDVR0PAQH/BAQDAgeAMCsGA1UdEAQkMCKADzIwMTcxMDAxMjAzOTU2WoEPMjAxODAy
        MTIxMTAwMDBaMBYGA1UdIAQPMA0wCwYJYIQqZYJsAQEBMB8GA1UdIwQYMBaAFPnWyWn+l9GE7vLB1+UgtmAyvj33MB0GA1UdDgQW
        BBQkdX9CsQ7glkCXif+tLZFQ7P3FvjANBgkqhkiG9w0BAQsFAAOCAgEADWQCX7ObuxYGx2rmIR3Xc7CwJnXQeevDKDqOhMdjAkRx
        RjJystw4nbLLKCoJMbxXYnufT+d0ugMcl/Nx+ppQ/bDzY/6FeG3azD4yZDFzErxTgRbRZkqEtkHoJg8j3WuNXrQjmbLqlE7iDa+q
        B0yvyfk/666k0XyKLeMgCjNboyYNWUqF2F25xdI5H7kZD0vzCDXR6ZZesi+zXX6DgKe9AU+XV+TUk09UjUfjW4ePwsfcQRwB6lTr
        M8sLkeyI2RtntFwwsCH22ahmAAqAaGBHyDZbG4EJn8q1rzZCmTSYvItmeBKHIxntY5XDnUGDwhvBzXv+U4FHl3Wv+ozpst6DR8Ri
        M4IyC75EZtcAlBF1oIAq4BguyIL/JsU1G3VCcMMSmJWljmWWkHdMXBdbmQOjP7ER0Q+Fb21FLz1Yqby7QUzzAX+APnGEcABxIMZS
        Va7/9SahUpe1GRoevM62NoADnFsE0I6nOd8GKOoQm0L4dBFVP7ortKI/ZOAS8Mffr7Xtev59xHT4enQeAaA6Ca+E9ef1yhWgEUw3
        f2sAEt+D+eaU6DnRkGWJRb9wFPpp5cxq51yW3Tq5jOY22e9CqA1aJOw9g8bhGV4u/NY7M129MnF/cYWNUJmMODKR1TDxv41cfs9n
        Sh8gD5idJYn7amNGZu654zRBq9sGDd8FdkIPTQoxggIIMIICBAIBATB1MG0xCzAJBgNVBAYTAk5aMSIwIAYDVQQKDBlHb3Zlcm5t
        ZW50IG9mIE5ldyBaZWFsYW5kMRIwEAYDVQQLDAlQYXNzcG9ydHMxJjAkBgNVBAsMHUlkZW50aXR5IFNlcnZpY2VzIFBhc3Nwb3J0
        IENBAgRC5XpBMA0GCWCGSAFlAwQCAQUAoGYwFQYJKoZIhvcNAQkDMQgGBmeBCAEBATAcBgkqhkiG9w0BCQUxDxcNMTcxMTE1MDAz
        NjEyWjAvBgkqhkiG9w0BCQQxIgQgccsEE9rHYnjgS/MKPfE6/A1wbjyVzOHRYlC2rjaU7v0wDQYJKoZIhvcNAQEBBQAEggEANZMZ
        XohBAyl9/mKNwQIwBjvO9u3xM2lJns4lmuH3DBpZzOnxtESy+dEsfCyHfXvhuBtho2gnhipZaFNBLRhJyjbm5d4JXHqNUFeElVrT
        IcvMvnpvUXK8JuMsnwHIxdfPOM8zqlOk4XTLyG1eGKkxKi1TdwJ6J00AKlq09f7fs8xa+etLfWFYqL7xamJ76IBYNCaDaZ5ys+Lz
        X1p+QUUdRYrpKm0m2mk99L1NnYpJigcyOTT7UMm5vMoBPpjocpN644dfumZl47ks8i8zoQh8XLZVckof/xg/S+WYDjvBmkb5ZW74
        GtLtbuPw503JHsccGoL8HbTh7Y3V7vmmNhy4SQAAAAAAAA==
        """)
    /// NZ Identity Services Passport CA from the German master list.
    static let newZealandCSCA = bytes(
        """
        MIIFyjCCA7KgAwIBAgIEQuV48TANBgkqhkiG9w0BAQsFADBtMQswCQYDVQQGEwJOWjEiMCAGA1UECgwZR292ZXJubWVudCBvZiBO
        ZXcgWmVhbGFuZDESMBAGA1UECwwJUGFzc3BvcnRzMSYwJAYDVQQLDB1JZGVudGl0eSBTZXJ2aWNlcyBQYXNzcG9ydCBDQTAeFw0x
        NTA4MjUwMjMxMTJaFw0yOTAzMjUwMzAxMTJaMG0xCzAJBgNVBAYTAk5aMSIwIAYDVQQKDBlHb3Zlcm5tZW50IG9mIE5ldyBaZWFs
        YW5kMRIwEAYDVQQLDAlQYXNzcG9ydHMxJjAkBgNVBAsMHUlkZW50aXR5IFNlcnZpY2VzIFBhc3Nwb3J0IENBMIICIjANBgkqhkiG
        9w0BAQEFAAOCAg8AMIICCgKCAgEAmeBfx3cAZFGQoeb5n3oPBuV9ckZy30OdNgdtYMqHTMNnt2piq5lcGPPTDLybbEbpyZaHedab
        35sabStiv8cKd4JSuTzz13WGD0Z/6KnvKOyfrSkZMKx3f9o+eoDbol2N7iWZXbdk+aF4GadD/rkROhC0V0LrQk4n71jpsAD+wvBO
        fCm25gqYsy8o24eS5jcFJh1UEcDK0D1Fh7QrHZr21eVg1bdzg6u4Wrtl20h25eIWcNGfDM7aTP86qulMW3alcvydg/YsWEHPf6+k
        OkMqy++D8LQRIaPuhTyVBry0MQ1yeu7pZvNULQcJwLqhud/dlNAAe3CMQkyO0BH9+AYxZJ/+VLSbQgD7TPwVm2Ijv0YWi9BPwhpI
        GjaWZZDv2Wr7NjnRGdhLS5f32XwQwNWMMkGHFW7yl/LpBbIt9Sfi+FDjd+uMpx0IyLCKe46YfuR+XTwfyj9K4gOCshFiKqp3moa2
        BHBtfGhi/sW9L+Gt0ynDGlXWV5+1gLU9whRIh6OnEIUfnSS0ApGLuumrGfJHHBWm6htulc7sGqM2XqF5KucjH/B7hOSanJmukpA1
        di7hkrlpl+OzWoxkbFMlnbnDG0xxnAitIy9Ve77IirELjPUosQRsXKWQX4xVJHr0S0RUFB9k7VV3s7U+2t0KNMu7pdeICxYQjmlE
        Le+XOopb4mECAwEAAaNyMHAwEgYDVR0TAQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwKwYDVR0QBCQwIoAPMjAxNTA4MjUw
        MjMxMTJagQ8yMDE4MTAwOTAzMDExMlowHQYDVR0OBBYEFPnWyWn+l9GE7vLB1+UgtmAyvj33MA0GCSqGSIb3DQEBCwUAA4ICAQCT
        3pueHpcwhQKbYJo6fZ/o1IxvHfySBePfD5sxAgPPwlTVQFoMdHLd3R4rsUtfUFv53I0gxIWFdYqm8eCw1gYc3QTmoBmH2Lm1jyYi
        vJcGbhnUbbdUchSAOYTjgVL+1N7LURqTgPef4B1+mcNYIhtKS+iSvRXDbkaK/hrZ70Bb2xESrq5KKFHjiRRbE1gvj+4U5rJGMprL
        oenMeNywOPvhQSsWT5t13tKNP45ln1hlgzT4FHmrqOst4MlZ5JStabLDf7w+mPq4/22Gy+iPuKqItGUa/qkHIqdTKeiWaFu+naFd
        TM9YojgLzBuA+tCEdh/SqYa8XHM1iTImQCoT2TD6gSYE4cm2Anf4U6biyCep0vBrPNyrgzbloHPLB5Pm6WYrfIyKhcr5NEfTS3Tw
        //z92qJozrKOjXxJYDBLulL5TTPbwB0szGJli8EDHlq9eFT8VVWN8J4BhYMSiMEVbrgjKXBwEHuEBjWROxcfe7QWQ2ZSNUQ9xnpG
        dc5gVksU7JCtSsnkgkk3P+Mqib28SZoWHl5b+AgNSI+vE9TgR6apZEXcgSt7DVgkTd/iyDRk/gDUfBXTOtNvaxltSpHYk0x6OUFm
        fATBbbKwsQOcwwX2jybdIPsvgY5vWUEHCOTYm5v5j5So8IQ0/PGkpC2OJDG19jtuqXshdqfI3vOrCnZP+g==
        """)
}
