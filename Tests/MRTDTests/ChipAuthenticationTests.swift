import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard
import XCTest

final class ChipAuthenticationTests: XCTestCase {
    func testAlgorithmOIDs() {
        XCTAssertEqual(
            ChipAuthenticationAlgorithm(oid: "0.4.0.127.0.7.2.2.3.2.2"),
            ChipAuthenticationAlgorithm(keyAgreement: .ecdh, cipher: .aes128))
        XCTAssertEqual(
            ChipAuthenticationAlgorithm(oid: "0.4.0.127.0.7.2.2.3.1.1"),
            ChipAuthenticationAlgorithm(keyAgreement: .dh, cipher: .tripleDES))
        XCTAssertEqual(ChipAuthenticationAlgorithm(keyAgreement: .ecdh, cipher: .aes256).oid, "0.4.0.127.0.7.2.2.3.2.4")
        XCTAssertNil(ChipAuthenticationAlgorithm(oid: "0.4.0.127.0.7.2.2.3.2.5"))
        XCTAssertNil(ChipAuthenticationAlgorithm(oid: "0.4.0.127.0.7.2.2.4.2.2"))
    }

    func testDG14RoundTripSelectsTheProtocolAndKey() throws {
        let key = try PrivateKey.generate(.p256)
        let configuration = try ChipAuthenticationConfiguration(privateKey: key, cipher: .aes256, keyID: 7)
        let bytes = DG14.encode(
            chipAuthentication: configuration.info, chipAuthenticationKey: try key.publicKey().derEncoded(),
            activeAuthentication: nil)
        let dg14 = try DG14(parsing: bytes)
        let selected = try XCTUnwrap(ChipAuthentication.selectProtocol(in: dg14))
        XCTAssertEqual(selected.algorithm, ChipAuthenticationAlgorithm(keyAgreement: .ecdh, cipher: .aes256))
        XCTAssertEqual(selected.key.keyID, 7)
        let chipKey = try ChipAuthentication.chipKey(selected.key)
        guard case let .ec(curve, point) = try key.publicKey().keyAgreementComponents() else { return XCTFail() }
        XCTAssertEqual(chipKey.domain, .ec(try ECGroup(curve: curve)))
        XCTAssertEqual(chipKey.publicKey, point)
    }

    func testAKeyWithoutChipAuthenticationInfoMeansVersion1With3DES() throws {
        let key = try PrivateKey.generate(.p256)
        let dg14 = try DG14(
            parsing: DG14.encode(
                chipAuthentication: nil, chipAuthenticationKey: try key.publicKey().derEncoded(),
                activeAuthentication: nil))
        let selected = try XCTUnwrap(ChipAuthentication.selectProtocol(in: dg14))
        XCTAssertNil(selected.info)
        XCTAssertEqual(selected.algorithm.cipher, .tripleDES)
    }

    /// Both sides derive the same keys from the static-ephemeral agreement (9303-11 §6.2.3, KDF counters 1/2).
    func testBothSidesDeriveTheSameSessionKeys() throws {
        let chip = try PrivateKey.generate(.brainpoolP256r1)
        let (publicKey, chipPrivate) = try chip.keyAgreementComponents()
        guard case let .ec(curve, chipPoint) = publicKey else { return XCTFail() }
        let domain = PACEDomain.ec(try ECGroup(curve: curve))
        let terminalPrivate = try domain.randomPrivateKey()
        let terminalPublic = try domain.publicKey(privateKey: terminalPrivate, generator: try domain.generator())
        let terminalSide = try domain.sharedSecret(try domain.agree(privateKey: terminalPrivate, peer: chipPoint))
        let chipSide = try domain.sharedSecret(try domain.agree(privateKey: chipPrivate, peer: terminalPublic))
        XCTAssertEqual(terminalSide, chipSide)
        XCTAssertEqual(terminalSide.count, 32)
        XCTAssertEqual(
            try PACE.sessionSuite(sharedSecret: terminalSide, cipher: .aes128),
            try PACE.sessionSuite(sharedSecret: chipSide, cipher: .aes128))
    }

    // MARK: Reader against the virtual chip

    private func readWithCA(
        _ configuration: ChipAuthenticationConfiguration,
        aa: ActiveAuthenticationConfiguration? = nil,
        pace: PACEConfiguration? = nil
    ) throws -> DocumentReadResult {
        try AntiCloneFixture.read(
            try AntiCloneFixture.personalisation(
                activeAuthentication: aa,
                chipAuthentication: configuration, pace: pace))
    }

    func testCAv1ECDHWithEveryCipherThenReadingContinuesUnderTheNewKeys() throws {
        let key = try PrivateKey.generate(.p256)
        for cipher in [SecureMessagingCipherSuite.Algorithm.tripleDES, .aes128, .aes192, .aes256] {
            let aa = try ActiveAuthenticationConfiguration(privateKey: try PrivateKey.generate(.rsa(bits: 1024)))
            let result = try readWithCA(try ChipAuthenticationConfiguration(privateKey: key, cipher: cipher), aa: aa)
            XCTAssertEqual(
                result.chipAuthentication?.outcome, .passed,
                "\(cipher): \(String(describing: result.chipAuthentication))")
            XCTAssertEqual(result.chipAuthentication?.reason, "CA v1 ECDH \(cipher.rawValue) NIST P-256")
            XCTAssertEqual(result.activeAuthentication?.outcome, .passed, "AA runs under the CA session")
        }
    }

    func testCAv2WithKeyIDAndBrainpool() throws {
        let configuration = try ChipAuthenticationConfiguration(
            privateKey: try PrivateKey.generate(.brainpoolP256r1),
            cipher: .aes128, version: 2, keyID: 3)
        let result = try readWithCA(configuration)
        XCTAssertEqual(result.chipAuthentication?.outcome, .passed, "\(String(describing: result.chipAuthentication))")
        XCTAssertEqual(result.chipAuthentication?.reason, "CA v2 ECDH AES-128 brainpoolP256r1")
    }

    func testCAv1DiffieHellman() throws {
        let key = try PrivateKey.generateDH(group: "dh_2048_224")
        let result = try readWithCA(try ChipAuthenticationConfiguration(privateKey: key, cipher: .aes128))
        XCTAssertEqual(result.chipAuthentication?.outcome, .passed, "\(String(describing: result.chipAuthentication))")
        XCTAssertTrue(
            result.chipAuthentication?.reason.hasPrefix("CA v1 DH AES-128 2048-bit MODP, 224-bit") == true,
            "\(String(describing: result.chipAuthentication))")
    }

    func testCAAfterPACESwitchesFromAESToTripleDESSession() throws {
        let key = try PrivateKey.generate(.p256)
        let result = try readWithCA(
            try ChipAuthenticationConfiguration(privateKey: key, cipher: .tripleDES),
            pace: PACEConfiguration(parameterID: 13, cipher: .aes256))
        XCTAssertEqual(result.accessProtocol, .pace)
        XCTAssertEqual(result.chipAuthentication?.outcome, .passed)
    }

    func testCloneWithoutTheCAPrivateKeyFailsClosed() throws {
        let genuine = try PrivateKey.generate(.p256)
        let configuration = try ChipAuthenticationConfiguration(
            privateKey: try PrivateKey.generate(.p256),
            publishedKey: try genuine.publicKey())
        let aa = try ActiveAuthenticationConfiguration(privateKey: try PrivateKey.generate(.p256))
        let result = try readWithCA(configuration, aa: aa)
        XCTAssertEqual(result.chipAuthentication?.outcome, .failed)
        XCTAssertTrue(
            result.chipAuthentication?.reason.contains("does not hold the DG14 private key") == true,
            "\(String(describing: result.chipAuthentication))")
        XCTAssertEqual(result.activeAuthentication?.outcome, .notChecked, "the session is gone after a failed CA")
        XCTAssertNotNil(result.files[.dg1], "the files read before CA are kept for the verdict")
    }

    func testMalformedCAKeyInDG14IsReportedAsAFailure() throws {
        var personalisation = try AntiCloneFixture.personalisation()
        personalisation.chipAuthentication = try ChipAuthenticationConfiguration(
            privateKey: try PrivateKey.generate(.p256),
            publishedKey: try PrivateKey.generate(.rsa(bits: 1024)).publicKey())
        let result = try AntiCloneFixture.read(personalisation)
        XCTAssertEqual(result.chipAuthentication?.outcome, .failed)
        XCTAssertTrue(
            result.chipAuthentication?.reason.contains("cannot be used") == true,
            "\(String(describing: result.chipAuthentication))")
    }
}

/// Known answer for the chip authentication key agreement on brainpoolP256r1: RFC 7027 Appendix A.1 (the
/// ECDH test vector for the curve), run as CA v1 with the RFC's A as the terminal and B as the chip.
final class ChipAuthenticationKnownAnswerTests: XCTestCase {
    static let dA = "81DB1EE100150FF2EA338D708271BE38300CB54241D79950F77B063039804F1D"
    static let qA =
        "04" + "44106E913F92BC02A1705D9953A8414DB95E1AAA49E81D9E85F929A8E3100BE5"
        + "8AB4846F11CACCB73CE49CBDD120F5A900A69FD32C272223F789EF10EB089BDC"
    static let dB = "55E40BC41E37E3E2AD25C3C6654511FFA8474A91A0032087593852D3E7D76BD3"
    static let qB =
        "04" + "8D2D688C6CF93E1160AD04CC4429117DC2C41825E1E9FCA0ADDD34E6F1B39F7B"
        + "990C57520812BE512641E47034832106BC7D3E8DD0E4C7F1136D7006547CEC6A"
    static let zX = "89AFC39D41D3B327814B80940B042590F96556EC91E6AE7939BCE31F3A18BF2B"

    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).compactMap {
            UInt8(String(decoding: digits[$0..<($0 + 2)], as: UTF8.self), radix: 16)
        }
    }

    /// SEC 1 ECPrivateKey { 1, d, [0] brainpoolP256r1 } (OpenSSL derives the public key).
    static func chipKey() throws -> PrivateKey {
        let oid = TLV(tag: 0x06, value: bytes("2B2403030208010107"))
        return try PrivateKey(
            der: TLV(
                tag: 0x30,
                children: [
                    TLV(tag: 0x02, value: [1]), TLV(tag: 0x04, value: bytes(dB)),
                    TLV(tag: 0xA0, children: [oid]),
                ]
            ).encoded)
    }

    func testRFC7027AgreementDrivesTheCASessionKeys() throws {
        let chip = try Self.chipKey()
        guard case let .ec(curve, point) = try chip.keyAgreementComponents().publicKey else { return XCTFail() }
        XCTAssertEqual(curve, .brainpoolP256r1)
        XCTAssertEqual(point, Self.bytes(Self.qB))
        let domain = PACEDomain.ec(try ECGroup(curve: .brainpoolP256r1))
        XCTAssertEqual(
            try domain.publicKey(privateKey: Self.bytes(Self.dA), generator: try domain.generator()),
            Self.bytes(Self.qA))
        XCTAssertEqual(
            try domain.sharedSecret(try domain.agree(privateKey: Self.bytes(Self.dA), peer: point)),
            Self.bytes(Self.zX))

        let card = try AntiCloneFixture.personalisation(
            chipAuthentication: try ChipAuthenticationConfiguration(privateKey: chip, cipher: .aes128))
        let profile = try card.makeProfile()
        let reader = DocumentReader(channel: InMemoryCardChannel(applet: EMRTDApplet(profile: profile)))
        let access = try reader.openSession(access: .mrz(try profile.accessKey()))
        let dg14 = try DG14(parsing: profile.files[.dg14] ?? [])
        let result = try ChipAuthentication.authenticate(channel: access.channel, dg14: dg14) { _ in Self.bytes(Self.dA)
        }
        let expected = try PACE.sessionSuite(sharedSecret: Self.bytes(Self.zX), cipher: .aes128)
        XCTAssertEqual(result.session.suite, expected)
        XCTAssertEqual(result.session.ssc, SendSequenceCounter(zeroes: 16))
        let com = try ReadBinaryStrategy(extendedLength: true, secureMessaging: true)
            .readFile(.com, on: SecureMessagingChannel(base: access.channel.base, session: result.session))
        XCTAssertEqual(com, profile.files[.com])
    }
}

/// What issued chips do that the first readers did not: CA version 1 with AES over MSE:Set AT, key references in
/// minimal unsigned form, keys named by standardized domain parameter ID, DH keys with PKCS#3 parameters.
final class ChipAuthenticationVariantTests: XCTestCase {
    /// Reads `personalisation` with the MRZ and returns the result with the protected MSE commands' P1-P2.
    private func readLogging(_ personalisation: EMRTDPersonalisation) throws -> (DocumentReadResult, [String]) {
        let profile = try personalisation.makeProfile()
        let channel = InMemoryCardChannel(applet: EMRTDApplet(profile: profile))
        channel.recordsLog = true
        let result = try DocumentReader(channel: channel).read(access: .mrz(try profile.accessKey()))
        let mse = channel.log.map(\.command).filter { $0.count > 4 && $0[0] == 0x0C && $0[1] == 0x22 }
            .map { hex(Array($0[2...3])) }
        return (result, mse)
    }

    func testKeyAndParameterReferencesAreMinimalUnsignedBytes() throws {
        XCTAssertEqual(TLV.minimalUnsigned(195), [0xC3], "not the DER INTEGER 00 C3")
        XCTAssertEqual(TLV.minimalUnsigned(0), [0x00])
        XCTAssertEqual(TLV.minimalUnsigned(127), [0x7F])
        XCTAssertEqual(TLV.minimalUnsigned(256), [0x01, 0x00])
        let algorithm = PACEAlgorithm(keyAgreement: .ecdh, mapping: .generic, cipher: .aes128)
        XCTAssertEqual(
            hex(PACE.setAuthenticationTemplate(algorithm: algorithm, reference: 1, parameterID: 13)),
            "800A04007F00070202040202830101" + "84010D")
    }

    /// BSI TR-03110-3 §B.1: MSE:Set KAT belongs to 3DES; every AES key, version 1 included, takes MSE:Set AT and
    /// GENERAL AUTHENTICATE. The virtual chip behaves as issued ones: it refuses MSE:Set KAT for AES keys.
    func testVersion1CommandFollowsTheCipher() throws {
        let key = try PrivateKey.generate(.p256)
        for cipher in [SecureMessagingCipherSuite.Algorithm.tripleDES, .aes128, .aes192, .aes256] {
            let configuration = try ChipAuthenticationConfiguration(privateKey: key, cipher: cipher, version: 1)
            let (result, mse) = try readLogging(try AntiCloneFixture.personalisation(chipAuthentication: configuration))
            XCTAssertEqual(
                result.chipAuthentication?.outcome, .passed,
                "\(cipher): \(String(describing: result.chipAuthentication))")
            let expected: ChipAuthenticationCommand = cipher == .tripleDES ? .setKAT : .setATGeneralAuthenticate
            XCTAssertEqual(result.chipAuthenticationRun?.command, expected, "\(cipher)")
            XCTAssertEqual(result.chipAuthenticationRun?.version, 1)
            XCTAssertEqual(mse, [cipher == .tripleDES ? "41A6" : "41A4"], "\(cipher)")
        }
    }

    func testAnAESVersion1ChipRefusesMSESetKATAsIssuedChipsDo() throws {
        let configuration = try ChipAuthenticationConfiguration(privateKey: try PrivateKey.generate(.p256), version: 1)
        let profile = try AntiCloneFixture.personalisation(chipAuthentication: configuration).makeProfile()
        let reader = DocumentReader(channel: InMemoryCardChannel(applet: EMRTDApplet(profile: profile)))
        let access = try reader.openSession(access: .mrz(try profile.accessKey()))
        let ephemeral = try PACEDomain.ec(try ECGroup(curve: .nistP256)).generator()
        let kat = CommandAPDU(ins: 0x22, p1: 0x41, p2: 0xA6, data: TLV(tag: 0x91, value: ephemeral).encoded)
        XCTAssertEqual(try access.channel.send(kat).statusWord, .conditionsNotSatisfied)
    }

    func testKeyID195IsSentAs8401C3AndASignByteIsRefused() throws {
        let configuration = try ChipAuthenticationConfiguration(
            privateKey: try PrivateKey.generate(.p256),
            cipher: .aes128, version: 1, keyID: 195)
        let personalisation = try AntiCloneFixture.personalisation(chipAuthentication: configuration)
        let (result, _) = try readLogging(personalisation)
        XCTAssertEqual(result.chipAuthentication?.outcome, .passed, "\(String(describing: result.chipAuthentication))")
        XCTAssertEqual(result.chipAuthenticationRun?.keyID, 195)

        let profile = try personalisation.makeProfile()
        let reader = DocumentReader(channel: InMemoryCardChannel(applet: EMRTDApplet(profile: profile)))
        let access = try reader.openSession(access: .mrz(try profile.accessKey()))
        let oid = TLV(tag: 0x80, value: configuration.algorithm.oidBytes).encoded
        let signed = CommandAPDU(ins: 0x22, p1: 0x41, p2: 0xA4, data: oid + [0x84, 0x02, 0x00, 0xC3])
        XCTAssertEqual(try access.channel.send(signed).statusWord, .incorrectData, "DER INTEGER form refused")
        let minimal = CommandAPDU(ins: 0x22, p1: 0x41, p2: 0xA4, data: oid + [0x84, 0x01, 0xC3])
        XCTAssertEqual(try access.channel.send(minimal).statusWord, .success)
    }

    func testKeysNamedByStandardizedParameterIDAndPKCS3DiffieHellman() throws {
        let cases: [(PrivateKey, ChipAuthenticationKeyFormat, Int?)] = [
            (try PrivateKey.generate(.brainpoolP256r1), .standardizedParameters, 13),
            (try PrivateKey.generate(.ec(curve: "P-384")), .standardizedParameters, 15),
            (try PrivateKey.generateDH(group: "dh_2048_224"), .standardizedParameters, 1),
            (try PrivateKey.generateDH(group: "dh_1024_160"), .pkcs3, 0),
        ]
        for (key, format, id) in cases {
            let configuration = try ChipAuthenticationConfiguration(
                privateKey: key, cipher: .aes128, version: 1,
                publicKeyFormat: format)
            let personalisation = try AntiCloneFixture.personalisation(chipAuthentication: configuration)
            let dg14 = try DG14(parsing: try personalisation.makeProfile().files[.dg14] ?? [])
            let published = try XCTUnwrap(dg14.chipAuthenticationPublicKeys.first)
            let parsed = try ChipAuthenticationKey(published)
            XCTAssertEqual(parsed.parameterID, id, "\(format)")
            let (result, _) = try readLogging(personalisation)
            XCTAssertEqual(
                result.chipAuthentication?.outcome, .passed,
                "\(format) \(String(describing: id)): \(String(describing: result.chipAuthentication))")
            XCTAssertEqual(result.chipAuthenticationRun?.parameterID, id)
        }
    }

    /// BSI TR-03105-5's DG14 (a public specimen) spells brainpoolP224r1 out as explicit parameters: recognised as the
    /// named curve, standardized parameter ID 11.
    func testExplicitCurveParametersOfTheBSISpecimenAreRecognised() throws {
        let dg14 = try DG14(parsing: Specimens.bsiDG14)
        let info = try XCTUnwrap(dg14.chipAuthenticationPublicKeys.first)
        let key = try ChipAuthenticationKey(info)
        XCTAssertEqual(key.domain, .ec(try ECGroup(curve: .brainpoolP224r1)))
        XCTAssertEqual(key.parameterID, 11)
        XCTAssertEqual(key.publicKey.count, 57)
        XCTAssertEqual(
            ChipAuthentication.selectProtocol(in: dg14)?.algorithm,
            ChipAuthenticationAlgorithm(keyAgreement: .ecdh, cipher: .tripleDES))
    }

    func testUnusableStandardizedOrPKCS3KeysAreTypedFailures() throws {
        let point = try PACEDomain.ec(try ECGroup(curve: .brainpoolP256r1)).generator()
        let unknownID = ChipAuthenticationKey.standardizedSubjectPublicKeyInfo(
            parameterID: 99, publicKey: point,
            keyAgreement: .ecdh)
        let offCurve = ChipAuthenticationKey.standardizedSubjectPublicKeyInfo(
            parameterID: 13, publicKey: Array(point.dropLast()) + [point[point.count - 1] ^ 1], keyAgreement: .ecdh)
        var otherPrime = DHGroup.rfc5114_1024_160.prime
        otherPrime[otherPrime.count - 1] ^= 0x02
        let foreignGroup = DHGroup(
            name: "foreign", prime: otherPrime, generator: DHGroup.rfc5114_1024_160.generator,
            order: DHGroup.rfc5114_1024_160.order)
        let pkcs3 = ChipAuthenticationKey.pkcs3SubjectPublicKeyInfo(
            group: foreignGroup,
            publicKey: DHGroup.rfc5114_1024_160.generator)
        for spki in [unknownID, offCurve, pkcs3] {
            let info = ChipAuthenticationPublicKeyInfo(
                oid: "0.4.0.127.0.7.2.2.1.2", subjectPublicKeyInfo: spki,
                keyID: nil)
            XCTAssertThrowsError(try ChipAuthenticationKey(info)) { error in
                guard case .authenticationFailed = error as? MRTDError else { return XCTFail("\(error)") }
            }
        }
    }
}
