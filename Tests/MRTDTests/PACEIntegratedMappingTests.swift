import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard
import XCTest

/// PACE Integrated Mapping (ICAO 9303-11 §4.4.3.3.2): the Appendix H worked examples byte for byte, then round trips
/// against the virtual card and the unhappy paths.
///
/// Vector source: ICAO Doc 9303 Part 11, Appendix H.1 (PACE-ECDH-IM-AES-CBC-CMAC-128, brainpoolP256r1, parameter ID
/// 13) and H.2 (PACE-DH-IM-AES-CBC-CMAC-128, RFC 5114 1024-bit group, parameter ID 0), both with the CAN 123456.
/// Every value below is a fact the appendix states; cross-checked against several independent PACE test suites.
final class PACEIntegratedMappingTests: XCTestCase {
    static let can = "123456"
    /// K_π = KDF(π, 3) for the CAN 123456, AES-128.
    static let passwordKey = "591468CDA83D65219CCCB8560233600F"

    enum H1 {
        static let encryptedNonce = "143DC40C08C8E891FBED7DEDB92B64AD"
        static let nonce = "2923BE84E16CD6AE529049F1F1BBE9EB"
        static let terminalNonce = "5DD4CBFC96F5453B130D890A1CDBAE32"
        static let pseudoRandom =
            "E4447E2DFB3586BAC05DDB00156B57FBB2179A3949294C97254189800C517BAA"
            + "8DA0FF397ED8C445D3E421E4FEB57322"
        static let reduced = "A2F8FF2DF50E52C6599F386ADCB595D229F6A167ADE2BE5F2C3296ADD5B7430E"
        static let mappedGenerator =
            "048E82D31559ED0FDE92A4D0498ADD3C23BABA94FB77691E31E90AEA77FB17D427"
            + "4C1AE14BD0C3DBAC0C871B7F3608169364437CA30AC243A089D3F266C1E60FAD"
        static let ephemeralPrivateIFD = "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595"
        static let ephemeralPublicIFD =
            "0489CBA23FFE96AA18D824627C3E934E54A9FD0B87A95D1471DC1C0ABFDCD640D4"
            + "6755DE9B7B778280B6BEBD57439ADFEB0E21FD4ED6DF42578C13418A59B34C37"
        static let ephemeralPrivateIC = "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A"
        static let ephemeralPublicIC =
            "0467F78E5F7F7686082B293E8D087E056916D0F74BC01A5F8957D0DE45691E51E8"
            + "932B69A962B52A0985AD2C0A271EE6A13A8ADDDCD1A3A994B9DED257F4D22753"
        static let sharedSecret = "4F150FDE1D4F0E38E95017B891BAE17133A0DF45B0D3E18B60BA7BEAFDC2C713"
        static let sessionEncryption = "0D3FEB33251A6370893D62AE8DAAF51B"
        static let sessionMAC = "B01E89E3D9E8719E586B50B4A7506E0B"
        static let tokenIFD = "450F02B86F6A0909"
        static let tokenIC = "75D4D96E8D5B0308"
        static let info = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .integrated, cipher: .aes128),
            parameterID: 13)
    }

    enum H2 {
        static let encryptedNonce = "9ABB8864CA0FF1551E620D1EF4E13510"
        static let nonce = "FA5B7E3E49753A0DB9178B7B9BD898C8"
        static let terminalNonce = "B3A6DB3C870C3E99245E0D1C06B747DE"
        static let pseudoRandom =
            "EAB98D13E09052952AA729907C3C946184DEA0FE74AD2B3AF506F0A83018459C"
            + "38099CD1F7FF4EA0A078DB1FAC1365505E3DC85500EF95E20B4EEF2E88489233"
            + "BEE0546B472F994B618D168702406791DEEF3CB4810932EC278F3533FDB860EB"
            + "4835C36FA4F1BF3FA0B828A718C96BDE88FBA38A3E6C35AAA10959251EB5FC71"
            + "0FC187258995944C0F926E249373F485"
        static let mappedGenerator =
            "1D7D767F11E333BCD6DBAEF40E799E7A926B96973550656FF3C830726D118D61"
            + "C276CDCC61D475CF03A98E0C0E79CAEBA5BE25578BD4551D0B10903236F0B0F9"
            + "76852FA78EEA14EA0ACA87D1E91F688FE0DFF897BBE35A472621D343564B262F"
            + "34223AE8FC59B664BFEDFA2BFE7516CA5510A6BBB633D517EC25D4E0BBAA16C2"
        static let ephemeralPrivateIFD =
            "4BD0E54740F9A028E6A515BFDAF967848C4F5F5FFF65AA0915947FFD1A0DF2FA"
            + "6981271BC905F3551457B7E03AC3B8066DE4AA406C1171FB43DD939C4BA16175"
            + "103BA3DEE16419AA248118F90CC36A3D6F4C373652E0C3CCE7F0F1D0C5425B36"
            + "00F0F0D6A67F004C8BBA33F2B4733C7252445C1DFC4F1107203F71D2EFB28161"
        static let ephemeralPublicIFD =
            "0F0CC62945A8029251FB7EF3C094E12EC68E4EF07F27CB9D9CD04C5C4250FAE0"
            + "E4F8A951557E929AEB48E5C6DD47F2F5CD7C351A9BD2CD722C07EDE166770F08"
            + "FFCB370262CF308DD7B07F2E0DA9CAAA1492344C852906919538C98A4BA4187E"
            + "76CE9D87832386D319CE2E043C3343AEAE6EDBA1A9894DC5094D22F7FE1351D5"
        static let ephemeralPublicIC =
            "928D9A0F9DBA450F13FC859C6F290D1D36E42431138A4378500BEB4E0401854C"
            + "FF111F71CB6DC1D0335807A11388CC8EAA87B07907AAD9FBA6B169AF6D8C26AF"
            + "8DDDC39ADC3AD2E3FF882B84D23E9768E95A80E4746FB07A9767679FE92133B4"
            + "D379935C771BD7FBED6C7BB4B1708B275EA75679524CDC9C6A91370CC662A2F3"
        static let sessionEncryption = "01AFC10CF87BE36D8179E87370171F07"
        static let sessionMAC = "23F0FBD05FD6C7B8B88F4C8309669061"
        static let tokenIFD = "55D61977CBF5307E"
        static let tokenIC = "C2F04230187E1525"
        static let info = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .dh, mapping: .integrated, cipher: .aes128),
            parameterID: 0)
    }

    static var access: AccessKey {
        get throws { .can(try CardAccessNumber(can)) }
    }

    // MARK: Appendix H.1 (ECDH-IM)

    func testH1PasswordNoncePseudoRandomFunctionAndMappedGenerator() throws {
        XCTAssertEqual(hex(try Self.access.paceKey(cipher: .aes128)), Self.passwordKey)
        XCTAssertEqual(H1.info.algorithm?.oidBytes, hexBytes("04007F00070202040402"))
        XCTAssertEqual(
            hex(
                try PACE.decryptNonce(
                    hexBytes(H1.encryptedNonce), key: hexBytes(Self.passwordKey),
                    cipher: .aes128)), H1.nonce)
        let pseudoRandom = try PACE.pseudoRandom(
            chipNonce: hexBytes(H1.nonce), terminalNonce: hexBytes(H1.terminalNonce),
            cipher: .aes128, primeBits: 256)
        XCTAssertEqual(hex(pseudoRandom), H1.pseudoRandom, "3 blocks: 3 · 128 ≥ 256 + 64")
        let group = try ECGroup(curve: .brainpoolP256r1)
        XCTAssertEqual(group.primeBits, 256)
        XCTAssertEqual(hex(try group.reducedModuloPrime(pseudoRandom)), H1.reduced)
        XCTAssertEqual(hex(try group.integratedMappingPoint(pseudoRandom).encoded), H1.mappedGenerator)
        XCTAssertEqual(
            hex(try group.integratedMappingPoint(hexBytes(H1.reduced)).encoded), H1.mappedGenerator,
            "f_G reduces mod p first")
        let domain = PACEDomain.ec(group)
        let mapped = try domain.integratedMappedGenerator(
            chipNonce: hexBytes(H1.nonce),
            terminalNonce: hexBytes(H1.terminalNonce), cipher: .aes128)
        XCTAssertEqual(hex(mapped), H1.mappedGenerator)
    }

    func testH1KeyAgreementSessionKeysAndTokens() throws {
        let domain = try PACEDomain.standardized(13)
        let mapped = hexBytes(H1.mappedGenerator)
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(H1.ephemeralPrivateIFD), generator: mapped)),
            H1.ephemeralPublicIFD)
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(H1.ephemeralPrivateIC), generator: mapped)),
            H1.ephemeralPublicIC)
        let shared = try domain.sharedSecret(
            try domain.agree(
                privateKey: hexBytes(H1.ephemeralPrivateIFD),
                peer: hexBytes(H1.ephemeralPublicIC)))
        XCTAssertEqual(hex(shared), H1.sharedSecret)
        let suite = try PACE.sessionSuite(sharedSecret: shared, cipher: .aes128)
        XCTAssertEqual(hex(try KeyDerivation.derive(seed: shared, counter: 1, cipher: .aes128)), H1.sessionEncryption)
        XCTAssertEqual(hex(try KeyDerivation.derive(seed: shared, counter: 2, cipher: .aes128)), H1.sessionMAC)
        let algorithm = try XCTUnwrap(H1.info.algorithm)
        XCTAssertEqual(
            hex(
                try PACE.authenticationToken(
                    suite: suite, algorithm: algorithm, domain: domain,
                    publicKey: hexBytes(H1.ephemeralPublicIC))), H1.tokenIFD)
        XCTAssertEqual(
            hex(
                try PACE.authenticationToken(
                    suite: suite, algorithm: algorithm, domain: domain,
                    publicKey: hexBytes(H1.ephemeralPublicIFD))), H1.tokenIC)
    }

    /// The terminal side of the H.1 exchange, byte for byte: DO'81' carries t, the chip answers an empty 7C.
    static func h1Transcript(mappingAnswer: String = "7C009000") -> [(String?, String)] {
        [
            ("0022C1A412800A04007F0007020204040283010284010D", "9000"),
            ("10860000027C0000", "7C128010" + H1.encryptedNonce + "9000"),
            ("10860000147C128110" + H1.terminalNonce + "00", mappingAnswer),
            ("10860000457C438341" + H1.ephemeralPublicIFD + "00", "7C438441" + H1.ephemeralPublicIC + "9000"),
            ("008600000C7C0A8508" + H1.tokenIFD + "00", "7C0A8608" + H1.tokenIC + "9000"),
        ]
    }

    func testH1TranscriptByteForByte() throws {
        let channel = ScriptedChannel(Self.h1Transcript())
        let keys = PACETests.FixedKeys([H1.ephemeralPrivateIFD])
        let result = try PACE.authenticate(
            channel: channel, info: H1.info, accessKey: try Self.access,
            privateKeys: keys.next, nonces: { _ in hexBytes(H1.terminalNonce) })
        XCTAssertTrue(channel.isFinished)
        XCTAssertEqual(result.description, "PACE-ECDH-IM-AES-128 brainpoolP256r1")
        XCTAssertEqual(
            result.session.suite,
            try SecureMessagingCipherSuite(
                algorithm: .aes128, encryptionKey: hexBytes(H1.sessionEncryption), macKey: hexBytes(H1.sessionMAC)))
        // Some chips answer the mapping step with the status word alone.
        let bare = ScriptedChannel(Self.h1Transcript(mappingAnswer: "9000"))
        XCTAssertNoThrow(
            try PACE.authenticate(
                channel: bare, info: H1.info, accessKey: try Self.access,
                privateKeys: PACETests.FixedKeys([H1.ephemeralPrivateIFD]).next,
                nonces: { _ in hexBytes(H1.terminalNonce) }))
    }

    // MARK: Appendix H.2 (DH-IM)

    func testH2PseudoRandomFunctionAndMappedGenerator() throws {
        XCTAssertEqual(H2.info.algorithm?.oidBytes, hexBytes("04007F00070202040302"))
        XCTAssertEqual(
            hex(
                try PACE.decryptNonce(
                    hexBytes(H2.encryptedNonce), key: hexBytes(Self.passwordKey),
                    cipher: .aes128)), H2.nonce)
        let group = DHGroup.rfc5114_1024_160
        XCTAssertEqual(group.primeBits, 1024)
        let pseudoRandom = try PACE.pseudoRandom(
            chipNonce: hexBytes(H2.nonce), terminalNonce: hexBytes(H2.terminalNonce),
            cipher: .aes128, primeBits: 1024)
        XCTAssertEqual(hex(pseudoRandom), H2.pseudoRandom, "9 blocks: 9 · 128 ≥ 1024 + 64")
        XCTAssertEqual(hex(try group.integratedMappingGenerator(pseudoRandom)), H2.mappedGenerator)
        let domain = PACEDomain.dh(group)
        XCTAssertEqual(
            hex(
                try domain.integratedMappedGenerator(
                    chipNonce: hexBytes(H2.nonce),
                    terminalNonce: hexBytes(H2.terminalNonce),
                    cipher: .aes128)), H2.mappedGenerator)
        XCTAssertEqual(
            hex(
                try domain.publicKey(
                    privateKey: hexBytes(H2.ephemeralPrivateIFD),
                    generator: hexBytes(H2.mappedGenerator))), H2.ephemeralPublicIFD)
    }

    func testH2TranscriptByteForByte() throws {
        let channel = ScriptedChannel([
            ("0022C1A412800A04007F00070202040302830102840100", "9000"),
            ("10860000027C0000", "7C128010" + H2.encryptedNonce + "9000"),
            ("10860000147C128110" + H2.terminalNonce + "00", "7C009000"),
            ("10860000867C8183838180" + H2.ephemeralPublicIFD + "00", "7C8183848180" + H2.ephemeralPublicIC + "9000"),
            ("008600000C7C0A8508" + H2.tokenIFD + "00", "7C0A8608" + H2.tokenIC + "9000"),
        ])
        let keys = PACETests.FixedKeys([H2.ephemeralPrivateIFD])
        let result = try PACE.authenticate(
            channel: channel, info: H2.info, accessKey: try Self.access,
            privateKeys: keys.next, nonces: { _ in hexBytes(H2.terminalNonce) })
        XCTAssertTrue(channel.isFinished)
        XCTAssertEqual(result.algorithm.description, "PACE-DH-IM-AES-128")
        XCTAssertEqual(
            result.session.suite,
            try SecureMessagingCipherSuite(
                algorithm: .aes128, encryptionKey: hexBytes(H2.sessionEncryption), macKey: hexBytes(H2.sessionMAC)))
    }

    // MARK: Unhappy paths

    func testAChipThatAnswersTheMappingWithDataOrABadTokenFailsClosed() throws {
        let withData = ScriptedChannel(Self.h1Transcript(mappingAnswer: "7C038201AA9000"))
        XCTAssertThrowsError(
            try PACE.authenticate(
                channel: withData, info: H1.info, accessKey: try Self.access,
                privateKeys: PACETests.FixedKeys([H1.ephemeralPrivateIFD]).next,
                nonces: { _ in hexBytes(H1.terminalNonce) })
        ) { error in
            guard case .authenticationFailed = error as? MRTDError else { return XCTFail("\(error)") }
        }
        var script = Self.h1Transcript()
        script[4].1 = "7C0A8608" + "75D4D96E8D5B0309" + "9000"
        XCTAssertThrowsError(
            try PACE.authenticate(
                channel: ScriptedChannel(script), info: H1.info,
                accessKey: try Self.access,
                privateKeys: PACETests.FixedKeys([H1.ephemeralPrivateIFD]).next,
                nonces: { _ in hexBytes(H1.terminalNonce) })
        ) { error in
            XCTAssertEqual(
                error as? MRTDError,
                .authenticationFailed("the chip's PACE authentication token did not verify"))
        }
    }

    func testNonceSizesAndCurvesWithoutIntegratedMappingAreRefused() throws {
        XCTAssertThrowsError(
            try PACE.pseudoRandom(
                chipNonce: [UInt8](repeating: 1, count: 16),
                terminalNonce: [UInt8](repeating: 2, count: 15), cipher: .aes128,
                primeBits: 256))
        XCTAssertThrowsError(
            try PACE.pseudoRandom(
                chipNonce: [UInt8](repeating: 1, count: 16),
                terminalNonce: [UInt8](repeating: 2, count: 32), cipher: .aes256,
                primeBits: 256), "AES-256 needs a 32-byte s")
        let p224 = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .integrated, cipher: .aes128),
            parameterID: 10)
        XCTAssertFalse(PACE.supports(p224))
        XCTAssertThrowsError(try ECGroup(curve: .nistP224).integratedMappingPoint([1, 2, 3]), "p ≡ 1 mod 4")
        XCTAssertTrue(PACE.supports(H1.info))
        XCTAssertTrue(PACE.supports(H2.info))
    }

    // MARK: Against the virtual card

    func testEveryDomainCipherAndPasswordAgainstTheVirtualCard() throws {
        let can = AccessKey.can(try CardAccessNumber(PACERoundTripTests.can))
        for id in PACEDomain.supportedParameterIDs where id != 10 {
            for cipher in [SecureMessagingCipherSuite.Algorithm.tripleDES, .aes128, .aes192, .aes256] {
                let configuration = PACEConfiguration(
                    parameterID: id, cipher: cipher, can: PACERoundTripTests.can,
                    mapping: .integrated)
                let profile = PACERoundTripTests.profile(pace: configuration)
                for access in [PACETests.mrzKey, can] {
                    let label = "\(configuration.info) \(access.kind)"
                    let channel = InMemoryCardChannel(applet: EMRTDApplet(profile: profile))
                    let result = try DocumentReader(channel: channel).read(access: access)
                    XCTAssertEqual(result.accessDescription, configuration.info.description, label)
                    XCTAssertEqual(result.pace?.mapping, .integrated, label)
                    XCTAssertEqual(result.files, profile.files, label)
                }
            }
        }
    }

    func testAWrongCANIsRejectedByTheIMChip() throws {
        let profile = PACERoundTripTests.profile(
            pace: PACEConfiguration(
                parameterID: 13, cipher: .aes128,
                can: PACERoundTripTests.can,
                mapping: .integrated))
        let reader = DocumentReader(channel: InMemoryCardChannel(applet: EMRTDApplet(profile: profile)))
        XCTAssertThrowsError(try reader.read(access: .can(try CardAccessNumber("654321")))) { error in
            XCTAssertEqual(error as? MRTDError, .accessKeyRejected(.verificationFailed))
        }
    }

    func testAReaderPrefersCAMOverGMOverIMAtEqualStrength() {
        func info(_ mapping: PACEMapping) -> PACEInfo {
            PACEInfo(algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: mapping, cipher: .aes128), parameterID: 13)
        }
        let infos = SecurityInfos([.pace(info(.integrated)), .pace(info(.generic)), .pace(info(.chipAuthentication))])
        XCTAssertEqual(PACE.preferredInfo(in: infos)?.algorithm?.mapping, .chipAuthentication)
        XCTAssertEqual(
            PACE.preferredInfo(in: SecurityInfos([.pace(info(.integrated))]))?.algorithm?.mapping, .integrated)
    }
}
