import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard
import XCTest

/// Shared fixtures for the anti-clone tests: a personalised virtual eMRTD read in process.
enum AntiCloneFixture {
    static let mrz = "I<UTOD231458907<<<<<<<<<<<<<<<\n9008124F3204153UTO<<<<<<<<<<<0\nSALLEY<<JOHN<<<<<<<<<<<<<<<<<<"

    static func personalisation(
        activeAuthentication: ActiveAuthenticationConfiguration? = nil,
        chipAuthentication: ChipAuthenticationConfiguration? = nil,
        pace: PACEConfiguration? = nil
    ) throws -> EMRTDPersonalisation {
        var personalisation = EMRTDPersonalisation(mrz: try MRZ(parsing: mrz), portraits: [])
        personalisation.activeAuthentication = activeAuthentication
        personalisation.chipAuthentication = chipAuthentication
        personalisation.pace = pace
        return personalisation
    }

    static func read(
        _ personalisation: EMRTDPersonalisation, extendedLength: Bool = true,
        options: DocumentReader.Options = .init()
    ) throws -> DocumentReadResult {
        let profile = try personalisation.makeProfile()
        let channel = InMemoryCardChannel(applet: EMRTDApplet(profile: profile), supportsExtendedLength: extendedLength)
        let key = try profile.accessKey()
        return try DocumentReader(channel: channel, options: options).read(access: .mrz(key))
    }
}

final class ActiveAuthenticationTests: XCTestCase {
    static let challenge: [UInt8] = [0x1F, 0x2E, 0x3D, 0x4C, 0x5B, 0x6A, 0x79, 0x88]

    // MARK: ISO/IEC 9796-2 scheme 1

    /// The message representative laid out by hand (9796-2 §8.1, ICAO 9303-11 §6.1.2.2): '6A' || M1 ||
    /// SHA-1(M1 || M2) || 'BC', signed with the raw RSA private operation, opens to M1.
    func testHandBuiltBlockWithImplicitTrailerOpens() throws {
        let key = try PrivateKey.generate(.rsa(bits: 1024))
        let m1 = (0..<106).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let block = [0x6A] + m1 + (try Digest.hash(m1 + Self.challenge, using: .sha1)) + [0xBC]
        XCTAssertEqual(block.count, 128)
        let signature = try key.rsaRawPrivate(block)
        let publicKey = try key.publicKey()
        XCTAssertEqual(try publicKey.rsaRawPublic(signature), block)
        let opened = try ISO9796Scheme1.verify(signature: signature, nonRecoverable: Self.challenge, key: publicKey)
        XCTAssertEqual(opened.recoveredMessage, m1)
        XCTAssertEqual(opened.digest, .sha1)
        XCTAssertTrue(opened.implicitTrailer)
    }

    func testExplicitTrailer34CCMeansSHA256() throws {
        let key = try PrivateKey.generate(.rsa(bits: 2048))
        let signature = try ISO9796Scheme1.sign(
            nonRecoverable: Self.challenge, key: key, digest: .sha256,
            implicitTrailer: false)
        let publicKey = try key.publicKey()
        let block = try publicKey.rsaRawPublic(signature)
        XCTAssertEqual(Array(block.suffix(2)), [0x34, 0xCC])
        XCTAssertEqual(block.first, 0x6A)
        let opened = try ISO9796Scheme1.verify(signature: signature, nonRecoverable: Self.challenge, key: publicKey)
        XCTAssertEqual(opened.digest, .sha256)
        XCTAssertFalse(opened.implicitTrailer)
        XCTAssertEqual(opened.recoveredMessage.count, 256 - 1 - 32 - 2)
    }

    func testWrongChallengeTamperedSignatureAndWrongKeyFail() throws {
        let key = try PrivateKey.generate(.rsa(bits: 1024))
        let publicKey = try key.publicKey()
        let signature = try ISO9796Scheme1.sign(
            nonRecoverable: Self.challenge, key: key, digest: .sha1,
            implicitTrailer: true)
        XCTAssertThrowsError(
            try ISO9796Scheme1.verify(
                signature: signature, nonRecoverable: [0, 0, 0, 0, 0, 0, 0, 0],
                key: publicKey)
        ) {
            XCTAssertEqual($0 as? ISO9796Error, .hashMismatch)
        }
        var tampered = signature
        tampered[40] ^= 0x01
        XCTAssertThrowsError(
            try ISO9796Scheme1.verify(
                signature: tampered, nonRecoverable: Self.challenge,
                key: publicKey))
        let other = try PrivateKey.generate(.rsa(bits: 1024)).publicKey()
        XCTAssertThrowsError(
            try ISO9796Scheme1.verify(signature: signature, nonRecoverable: Self.challenge, key: other))
        XCTAssertThrowsError(
            try ISO9796Scheme1.verify(
                signature: signature + [0], nonRecoverable: Self.challenge,
                key: publicKey)
        ) {
            guard case .signatureLength = $0 as? ISO9796Error else { return XCTFail("\($0)") }
        }
        let ec = try PrivateKey.generate(.p256).publicKey()
        XCTAssertThrowsError(try ISO9796Scheme1.verify(signature: signature, nonRecoverable: Self.challenge, key: ec)) {
            XCTAssertEqual($0 as? ISO9796Error, .notRSA)
        }
    }

    func testUnknownTrailerAndHeaderAreNamed() throws {
        let key = try PrivateKey.generate(.rsa(bits: 1024))
        let publicKey = try key.publicKey()
        let badTrailer = try key.rsaRawPrivate([0x6A] + [UInt8](repeating: 0x11, count: 125) + [0x99, 0xCC])
        XCTAssertThrowsError(
            try ISO9796Scheme1.verify(
                signature: badTrailer, nonRecoverable: Self.challenge,
                key: publicKey)
        ) {
            XCTAssertEqual($0 as? ISO9796Error, .trailer([0x99, 0xCC]))
        }
        let badHeader = try key.rsaRawPrivate([0x4B] + [UInt8](repeating: 0x11, count: 126) + [0xBC])
        XCTAssertThrowsError(
            try ISO9796Scheme1.verify(
                signature: badHeader, nonRecoverable: Self.challenge,
                key: publicKey)
        ) {
            XCTAssertEqual($0 as? ISO9796Error, .header(0x4B))
        }
    }

    // MARK: ECDSA

    func testECDSAPlainAndDERSignaturesVerifyWithTheDG14Hash() throws {
        let key = try PrivateKey.generate(.p256)
        let publicKey = try key.publicKey()
        let der = try key.sign(Self.challenge, scheme: .ecdsa(.sha256))
        let plain = try XCTUnwrap(ActiveAuthentication.ecdsaPlain(der: der, length: 32))
        XCTAssertEqual(plain.count, 64)
        XCTAssertEqual(ActiveAuthentication.ecdsaDER(plain: plain), der)
        let info = ActiveAuthenticationInfo(signatureAlgorithm: "1.2.840.10045.4.3.2")
        XCTAssertTrue(
            try ActiveAuthentication.verify(
                signature: plain, challenge: Self.challenge, publicKey: publicKey,
                info: info
            ).contains("plain"))
        XCTAssertTrue(
            try ActiveAuthentication.verify(
                signature: der, challenge: Self.challenge, publicKey: publicKey,
                info: info
            ).contains("DER"))
        XCTAssertNoThrow(
            try ActiveAuthentication.verify(
                signature: plain, challenge: Self.challenge,
                publicKey: publicKey, info: nil))
        let sha1Info = ActiveAuthenticationInfo(signatureAlgorithm: "1.2.840.10045.4.1")
        XCTAssertThrowsError(
            try ActiveAuthentication.verify(
                signature: plain, challenge: Self.challenge,
                publicKey: publicKey, info: sha1Info))
        var tampered = plain
        tampered[10] ^= 0x80
        XCTAssertThrowsError(
            try ActiveAuthentication.verify(
                signature: tampered, challenge: Self.challenge,
                publicKey: publicKey, info: info))
        XCTAssertThrowsError(
            try ActiveAuthentication.verify(
                signature: Array(plain.prefix(63)),
                challenge: Self.challenge, publicKey: publicKey,
                info: info)
        ) {
            guard case .malformedSignature = $0 as? ActiveAuthenticationFailure else { return XCTFail("\($0)") }
        }
    }

    // MARK: DG15 and DG14

    func testDG15RoundTripAndMalformedDG15IsTyped() throws {
        let key = try PrivateKey.generate(.rsa(bits: 1024)).publicKey()
        let dg15 = try DG15(publicKey: key)
        XCTAssertEqual(try DG15(parsing: dg15.encoded).subjectPublicKeyInfo, try key.derEncoded())
        XCTAssertThrowsError(try DG15(parsing: TLV(tag: 0x6E, value: [0x30, 0x00]).encoded)) {
            XCTAssertEqual($0 as? LDSError, .unexpectedTag(file: "DG15", expected: 0x6F, found: 0x6E))
        }
        XCTAssertThrowsError(
            try DG15(parsing: TLV(tag: 0x6F, children: [TLV(tag: 0x30, value: [0x02, 0x01, 0x01])]).encoded)
        ) {
            guard case .invalidValue(file: "DG15", _, _) = $0 as? LDSError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try DG15(parsing: [0x6F, 0x05, 0x30])) {
            guard case .malformedTLV(file: "DG15", _) = $0 as? LDSError else { return XCTFail("\($0)") }
        }
    }

    func testDG14ActiveAuthenticationInfoAndMalformedDG14() throws {
        let bytes = DG14.encode(
            chipAuthentication: nil, chipAuthenticationKey: nil,
            activeAuthentication: ActiveAuthenticationInfo(signatureAlgorithm: "1.2.840.10045.4.3.3"))
        let dg14 = try DG14(parsing: bytes)
        XCTAssertEqual(dg14.activeAuthentication?.digest, .sha384)
        XCTAssertTrue(dg14.chipAuthenticationInfos.isEmpty)
        XCTAssertThrowsError(try DG14(parsing: TLV(tag: 0x6E, children: [TLV(tag: 0x30, value: [])]).encoded)) {
            guard case .invalidValue(file: "DG14", _, _) = $0 as? LDSError else { return XCTFail("\($0)") }
        }
        let brokenInfo = TLV(
            tag: 0x6E,
            children: [
                TLV(
                    tag: 0x31,
                    children: [
                        TLV(
                            tag: 0x30,
                            children: [
                                TLV(tag: 0x06, value: [0x67, 0x81, 0x08, 0x01, 0x01, 0x05]),
                                TLV(tag: 0x02, value: [0x01]),
                            ])
                    ])
            ]
        ).encoded
        XCTAssertThrowsError(try DG14(parsing: brokenInfo)) {
            guard case .invalidValue(file: "DG14", field: "ActiveAuthenticationInfo", _) = $0 as? LDSError else {
                return XCTFail("\($0)")
            }
        }
        XCTAssertThrowsError(try DG14(parsing: [0x6E, 0x03, 0x31, 0x00])) {
            guard case .malformedTLV(file: "DG14", _) = $0 as? LDSError else { return XCTFail("\($0)") }
        }
    }

    // MARK: Reader against the virtual chip

    func testReaderRunsAAWithRSAImplicitAndExplicitTrailers() throws {
        for (bits, digest, implicit) in [(1024, DigestAlgorithm.sha1, true), (2048, .sha256, false)] {
            let aa = try ActiveAuthenticationConfiguration(
                privateKey: try PrivateKey.generate(.rsa(bits: bits)),
                digest: digest, implicitTrailer: implicit)
            let result = try AntiCloneFixture.read(try AntiCloneFixture.personalisation(activeAuthentication: aa))
            XCTAssertNotNil(result.files[.dg15])
            XCTAssertEqual(
                result.activeAuthentication?.outcome, .passed, "\(String(describing: result.activeAuthentication))")
            XCTAssertTrue(
                result.activeAuthentication?.reason.contains(implicit ? "trailer BC" : "trailer 34CC") == true,
                "\(String(describing: result.activeAuthentication))")
            XCTAssertEqual(result.chipAuthentication?.outcome, .notSupported)
        }
    }

    func testReaderRunsAAWithECDSAPlainAndDER() throws {
        for der in [false, true] {
            let aa = try ActiveAuthenticationConfiguration(
                privateKey: try PrivateKey.generate(.brainpoolP256r1),
                digest: .sha256, derSignatures: der)
            let result = try AntiCloneFixture.read(try AntiCloneFixture.personalisation(activeAuthentication: aa))
            XCTAssertEqual(result.activeAuthentication?.outcome, .passed)
            XCTAssertTrue(result.activeAuthentication?.reason.contains(der ? "DER" : "plain") == true)
            XCTAssertNotNil(result.files[.dg14], "ECDSA AA announces its hash in DG14")
        }
    }

    func testCloneWithoutThePrivateKeyFailsAA() throws {
        let genuine = try PrivateKey.generate(.rsa(bits: 1024))
        let aa = try ActiveAuthenticationConfiguration(
            privateKey: try PrivateKey.generate(.rsa(bits: 1024)),
            publishedKey: try genuine.publicKey())
        let result = try AntiCloneFixture.read(try AntiCloneFixture.personalisation(activeAuthentication: aa))
        XCTAssertEqual(result.activeAuthentication?.outcome, .failed)
        XCTAssertTrue(
            result.activeAuthentication?.reason.contains("signature is invalid") == true,
            "\(String(describing: result.activeAuthentication))")
    }

    func testRSA2048AAOverShortLengthOnlyStillAnswers() throws {
        let aa = try ActiveAuthenticationConfiguration(privateKey: try PrivateKey.generate(.rsa(bits: 1024)))
        let result = try AntiCloneFixture.read(
            try AntiCloneFixture.personalisation(activeAuthentication: aa),
            extendedLength: false)
        XCTAssertEqual(result.activeAuthentication?.outcome, .passed)
    }

    func testAntiCloneCanBeSwitchedOff() throws {
        let aa = try ActiveAuthenticationConfiguration(privateKey: try PrivateKey.generate(.p256))
        var options = DocumentReader.Options()
        options.antiClone = false
        let result = try AntiCloneFixture.read(
            try AntiCloneFixture.personalisation(activeAuthentication: aa),
            options: options)
        XCTAssertNil(result.activeAuthentication)
        XCTAssertNil(result.chipAuthentication)
    }
}
