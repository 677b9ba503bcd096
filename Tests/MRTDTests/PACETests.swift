import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard
import Foundation
import XCTest

/// PACE Generic Mapping: the ICAO 9303-11 Appendix G worked examples byte for byte, then round trips against
/// the virtual card and the unhappy paths.
///
/// Vector sources (cross-checked): ICAO Doc 9303-11 Appendix G.1 (ECDH-GM, brainpoolP256r1, AES-128) and G.2
/// (DH-GM, RFC 5114 1024-bit group, AES-128), as reproduced in the test suites of gmrtd, JMRTD/animamea
/// (PaceDHTest), dmrtd and several independent PACE implementations; all agree on every value below.
final class PACETests: XCTestCase {
    // MARK: Appendix G (shared): MRZ password T22000129 / 640812 / 101031.

    static var mrzKey: AccessKey { .mrz(BACKey.appendixG) }
    static let passwordSecret = "7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD"
    static let passwordKey = "89DED1B26624EC1E634C1989302849DD"

    // MARK: Appendix G.1: PACE-ECDH-GM-AES-CBC-CMAC-128 on brainpoolP256r1 (parameter ID 13).

    enum G1 {
        static let encryptedNonce = "95A3A016522EE98D01E76CB6B98B42C3"
        static let nonce = "3F00C4D39D153F2B2A214A078D899B22"
        static let mappingPrivateIFD = "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99"
        static let mappingPublicIFD =
            "047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"
            + "544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D"
        static let mappingPrivateIC = "498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560"
        static let mappingPublicIC =
            "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57"
            + "30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54"
        static let mappingSecret =
            "0460332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5"
            + "0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181"
        static let mappedGenerator =
            "048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2"
            + "8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522"
        static let ephemeralPrivateIFD = "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595"
        static let ephemeralPublicIFD =
            "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C"
            + "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462"
        static let ephemeralPrivateIC = "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A"
        static let ephemeralPublicIC =
            "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"
            + "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"
        static let sharedSecret = "28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925"
        static let sessionEncryption = "F5F0E35C0D7161EE6724EE513A0D9A7F"
        static let sessionMAC = "FE251C7858B356B24514B3BD5F4297D1"
        static let tokenIFD = "C2B0BD78D94BA866"
        static let tokenIC = "3ABB9674BCE93C08"
        static let info = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .generic, cipher: .aes128),
            parameterID: 13)
    }

    // MARK: Appendix G.2: PACE-DH-GM-AES-CBC-CMAC-128 on the RFC 5114 1024-bit group (parameter ID 0).

    enum G2 {
        static let encryptedNonce = "854D8DF5827FA6852D1A4FA701CDDDCA"
        static let nonce = "FA5B7E3E49753A0DB9178B7B9BD898C8"
        static let mappingPrivateIFD = "5265030F751F4AD18B08AC565FC7AC952E41618D"
        static let mappingPublicIFD =
            "23FB3749EA030D2A25B278D2A562047ADE3F01B74F17A15402CB7352CA7D2B3E"
            + "B71C343DB13D1DEBCE9A3666DBCFC920B49174A602CB47965CAA73DC702489A4"
            + "4D41DB914DE9613DC5E98C94160551C0DF86274B9359BC0490D01B03AD54022D"
            + "CB4F57FAD6322497D7A1E28D46710F461AFE710FBBBC5F8BA166F4311975EC6C"
        static let mappingPrivateIC = "66DDAFEAC1609CB5B963BB0CB3FF8B3E047F336C"
        static let mappingPublicIC =
            "78879F57225AA8080D52ED0FC890A4B25336F699AA89A2D3A189654AF70729E6"
            + "23EA5738B26381E4DA19E004706FACE7B235C2DBF2F38748312F3C98C2DD4882"
            + "A41947B324AA1259AC22579DB93F7085655AF30889DBB845D9E6783FE42C9F24"
            + "49400306254C8AE8EE9DD812A804C0B66E8CAFC14F84D8258950A91B44126EE6"
        static let mappedGenerator =
            "7C9CBFE98F9FBDDA8D143506FA7D9306F4CB17E3C71707AFF5E1C1A123702496"
            + "84D64EE37AF44B8DBD9D45BF6023919CBAA027AB97ACC771666C8E98FF483301"
            + "BFA4872DEDE9034EDFACB70814166B7F360676829B826BEA57291B5AD69FBC84"
            + "EF1E779032A305803F74341793E869742D401325B37EE8565FFCDEE618342DC5"
        static let ephemeralPrivateIFD = "89CCD99B0E8D3B1F11E1296DCA68EC53411CF2CA"
        static let ephemeralPublicIFD =
            "907D89E2D425A178AA81AF4A7774EC8E388C115CAE67031E85EECE520BD91155"
            + "1B9AE4D04369F29A02626C86FBC6747CC7BC352645B6161A2A42D44EDA80A08F"
            + "A8D61B76D3A154AD8A5A51786B0BC07147057871A922212C5F67F43173172236"
            + "B7747D1671E6D692A3C7D40A0C3C5CE397545D015C175EB5130551EDBC2EE5D4"
        static let ephemeralPrivateIC = "A5B780126B7C980E9FCEA1D4539DA1D27C342DFA"
        static let ephemeralPublicIC =
            "075693D9AE941877573E634B6E644F8E60AF17A0076B8B123D9201074D36152B"
            + "D8B3A213F53820C42ADC79AB5D0AEEC3AEFB91394DA476BD97B9B14D0A65C1FC"
            + "71A0E019CB08AF55E1F729005FBA7E3FA5DC41899238A250767A6D46DB974064"
            + "386CD456743585F8E5D90CC8B4004B1F6D866C79CE0584E49687FF61BC29AEA1"
        static let sharedSecret =
            "6BABC7B3A72BCD7EA385E4C62DB2625BD8613B24149E146A629311C4CA6698E3"
            + "8B834B6A9E9CD7184BA8834AFF5043D436950C4C1E7832367C10CB8C314D40E5"
            + "990B0DF7013E64B4549E2270923D06F08CFF6BD3E977DDE6ABE4C31D55C0FA2E"
            + "465E553E77BDF75E3193D3834FC26E8EB1EE2FA1E4FC97C18C3F6CFFFE2607FD"
        static let sessionEncryption = "2F7F46ADCC9E7E521B45D192FAFA9126"
        static let sessionMAC = "805A1D27D45A5116F73C54469462B7D8"
        static let tokenIFD = "B46DD9BD4D98381F"
        static let tokenIC = "917F37B5C0E6D8D1"
        static let info = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .dh, mapping: .generic, cipher: .aes128),
            parameterID: 0)
    }

    /// Hands out the appendix's private keys in order (mapping, then key agreement).
    final class FixedKeys {
        private var keys: [[UInt8]]
        init(_ keys: [String]) { self.keys = keys.map { hexBytes($0) } }
        func next(_ domain: PACEDomain) throws(MRTDError) -> [UInt8] {
            guard !keys.isEmpty else { throw .authenticationFailed("test key source exhausted") }
            return keys.removeFirst()
        }
    }

    func testPasswordKeyFromMRZ() throws {
        XCTAssertEqual(hex(try Self.mrzKey.paceSecret()), Self.passwordSecret)
        XCTAssertEqual(hex(try Self.mrzKey.paceKey(cipher: .aes128)), Self.passwordKey)
        XCTAssertEqual(Self.mrzKey.paceReference, 0x01)
        XCTAssertEqual(AccessKey.can(try CardAccessNumber("123456")).paceReference, 0x02)
        XCTAssertEqual(try AccessKey.can(try CardAccessNumber("123456")).paceSecret(), Array("123456".utf8))
    }

    func testG1NonceMappingKeyAgreementSessionKeysAndTokens() throws {
        XCTAssertEqual(G1.info.algorithm?.oidBytes, hexBytes("04007F00070202040202"))
        XCTAssertEqual(
            hex(
                try PACE.decryptNonce(
                    hexBytes(G1.encryptedNonce), key: hexBytes(Self.passwordKey),
                    cipher: .aes128)), G1.nonce)
        let domain = try PACEDomain.standardized(13)
        XCTAssertEqual(domain.description, "brainpoolP256r1")
        let g = try domain.generator()
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(G1.mappingPrivateIFD), generator: g)),
            G1.mappingPublicIFD)
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(G1.mappingPrivateIC), generator: g)),
            G1.mappingPublicIC)
        let h = try domain.agree(privateKey: hexBytes(G1.mappingPrivateIFD), peer: hexBytes(G1.mappingPublicIC))
        XCTAssertEqual(hex(h), G1.mappingSecret)
        XCTAssertEqual(
            hex(
                try domain.agree(
                    privateKey: hexBytes(G1.mappingPrivateIC),
                    peer: hexBytes(G1.mappingPublicIFD))), G1.mappingSecret)
        let mapped = try domain.mappedGenerator(nonce: hexBytes(G1.nonce), mappingSecret: h)
        XCTAssertEqual(hex(mapped), G1.mappedGenerator)
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(G1.ephemeralPrivateIFD), generator: mapped)),
            G1.ephemeralPublicIFD)
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(G1.ephemeralPrivateIC), generator: mapped)),
            G1.ephemeralPublicIC)
        let shared = try domain.sharedSecret(
            try domain.agree(
                privateKey: hexBytes(G1.ephemeralPrivateIFD),
                peer: hexBytes(G1.ephemeralPublicIC)))
        XCTAssertEqual(hex(shared), G1.sharedSecret)
        XCTAssertEqual(hex(try KeyDerivation.derive(seed: shared, counter: 1, cipher: .aes128)), G1.sessionEncryption)
        XCTAssertEqual(hex(try KeyDerivation.derive(seed: shared, counter: 2, cipher: .aes128)), G1.sessionMAC)
        let suite = try PACE.sessionSuite(sharedSecret: shared, cipher: .aes128)
        let algorithm = try XCTUnwrap(G1.info.algorithm)
        XCTAssertEqual(
            hex(
                PACE.publicKeyDataObject(
                    algorithm: algorithm, domain: domain,
                    publicKey: hexBytes(G1.ephemeralPublicIC)
                ).prefix(17)),
            "7F494F060A04007F000702020402028641")
        XCTAssertEqual(
            hex(
                try PACE.authenticationToken(
                    suite: suite, algorithm: algorithm, domain: domain,
                    publicKey: hexBytes(G1.ephemeralPublicIC))), G1.tokenIFD)
        XCTAssertEqual(
            hex(
                try PACE.authenticationToken(
                    suite: suite, algorithm: algorithm, domain: domain,
                    publicKey: hexBytes(G1.ephemeralPublicIFD))), G1.tokenIC)
    }

    func testG2DiffieHellmanMappingKeyAgreementSessionKeysAndTokens() throws {
        XCTAssertEqual(G2.info.algorithm?.oidBytes, hexBytes("04007F00070202040102"))
        XCTAssertEqual(
            hex(
                try PACE.decryptNonce(
                    hexBytes(G2.encryptedNonce), key: hexBytes(Self.passwordKey),
                    cipher: .aes128)), G2.nonce)
        let domain = try PACEDomain.standardized(0)
        let g = try domain.generator()
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(G2.mappingPrivateIFD), generator: g)),
            G2.mappingPublicIFD)
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(G2.mappingPrivateIC), generator: g)),
            G2.mappingPublicIC)
        let h = try domain.agree(
            privateKey: hexBytes(G2.mappingPrivateIFD),
            peer: try domain.validatedPublicKey(hexBytes(G2.mappingPublicIC)))
        let mapped = try domain.mappedGenerator(nonce: hexBytes(G2.nonce), mappingSecret: h)
        XCTAssertEqual(hex(mapped), G2.mappedGenerator)
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(G2.ephemeralPrivateIFD), generator: mapped)),
            G2.ephemeralPublicIFD)
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(G2.ephemeralPrivateIC), generator: mapped)),
            G2.ephemeralPublicIC)
        let shared = try domain.sharedSecret(
            try domain.agree(
                privateKey: hexBytes(G2.ephemeralPrivateIFD),
                peer: hexBytes(G2.ephemeralPublicIC)))
        XCTAssertEqual(hex(shared), G2.sharedSecret)
        let suite = try PACE.sessionSuite(sharedSecret: shared, cipher: .aes128)
        XCTAssertEqual(hex(try KeyDerivation.derive(seed: shared, counter: 1, cipher: .aes128)), G2.sessionEncryption)
        XCTAssertEqual(hex(try KeyDerivation.derive(seed: shared, counter: 2, cipher: .aes128)), G2.sessionMAC)
        let algorithm = try XCTUnwrap(G2.info.algorithm)
        XCTAssertEqual(
            hex(
                try PACE.authenticationToken(
                    suite: suite, algorithm: algorithm, domain: domain,
                    publicKey: hexBytes(G2.ephemeralPublicIC))), G2.tokenIFD)
        XCTAssertEqual(
            hex(
                try PACE.authenticationToken(
                    suite: suite, algorithm: algorithm, domain: domain,
                    publicKey: hexBytes(G2.ephemeralPublicIFD))), G2.tokenIC)
    }

    /// The terminal side of the G.1 APDU exchange, byte for byte (with DO'84' parameter ID 0D, no Le on MSE).
    static func g1Transcript(chipToken: String = G1.tokenIC, tokenStatus: String = "9000") -> [(String?, String)] {
        [
            ("0022C1A412800A04007F0007020204020283010184010D", "9000"),
            ("10860000027C0000", "7C1280" + "10" + G1.encryptedNonce + "9000"),
            ("10860000457C438141" + G1.mappingPublicIFD + "00", "7C438241" + G1.mappingPublicIC + "9000"),
            ("10860000457C438341" + G1.ephemeralPublicIFD + "00", "7C438441" + G1.ephemeralPublicIC + "9000"),
            (
                "008600000C7C0A8508" + G1.tokenIFD + "00",
                tokenStatus == "9000" ? "7C0A8608" + chipToken + "9000" : tokenStatus
            ),
        ]
    }

    func testG1TranscriptByteForByte() throws {
        let channel = ScriptedChannel(Self.g1Transcript())
        let keys = FixedKeys([G1.mappingPrivateIFD, G1.ephemeralPrivateIFD])
        let result = try PACE.authenticate(
            channel: channel, info: G1.info, accessKey: Self.mrzKey,
            privateKeys: keys.next)
        XCTAssertTrue(channel.isFinished)
        XCTAssertEqual(result.description, "PACE-ECDH-GM-AES-128 brainpoolP256r1")
        XCTAssertEqual(result.session.suite.algorithm, .aes128)
        XCTAssertEqual(result.session.ssc, SendSequenceCounter(zeroes: 16))
        let expected = try SecureMessagingCipherSuite(
            algorithm: .aes128, encryptionKey: hexBytes(G1.sessionEncryption),
            macKey: hexBytes(G1.sessionMAC))
        XCTAssertEqual(result.session.suite, expected)
    }

    func testG2TranscriptByteForByteWithExtraChipObjects() throws {
        let channel = ScriptedChannel([
            ("0022C1A412800A04007F00070202040102830101840100", "9000"),
            ("10860000027C0000", "7C1280" + "10" + G2.encryptedNonce + "9000"),
            (
                "1086000086" + "7C8183818180" + G2.mappingPublicIFD + "00",
                "7C8183828180" + G2.mappingPublicIC + "9000"
            ),
            (
                "1086000086" + "7C8183838180" + G2.ephemeralPublicIFD + "00",
                "7C8183848180" + G2.ephemeralPublicIC + "9000"
            ),
            // The chip may add its CA reference (DO'87') after the token.
            (
                "008600000C7C0A8508" + G2.tokenIFD + "00",
                "7C1B8608" + G2.tokenIC + "870F" + "444554455354435643413030303033" + "9000"
            ),
        ])
        let keys = FixedKeys([G2.mappingPrivateIFD, G2.ephemeralPrivateIFD])
        let result = try PACE.authenticate(
            channel: channel, info: G2.info, accessKey: Self.mrzKey,
            privateKeys: keys.next)
        XCTAssertTrue(channel.isFinished)
        XCTAssertEqual(result.algorithm.description, "PACE-DH-GM-AES-128")
        let expected = try SecureMessagingCipherSuite(
            algorithm: .aes128, encryptionKey: hexBytes(G2.sessionEncryption),
            macKey: hexBytes(G2.sessionMAC))
        XCTAssertEqual(result.session.suite, expected)
    }

    // MARK: Unhappy paths against the scripted G.1 chip.

    func testTamperedChipTokenFailsClosed() throws {
        let channel = ScriptedChannel(Self.g1Transcript(chipToken: "3ABB9674BCE93C09"))
        let keys = FixedKeys([G1.mappingPrivateIFD, G1.ephemeralPrivateIFD])
        XCTAssertThrowsError(
            try PACE.authenticate(
                channel: channel, info: G1.info, accessKey: Self.mrzKey,
                privateKeys: keys.next)
        ) { error in
            XCTAssertEqual(
                error as? MRTDError,
                .authenticationFailed("the chip's PACE authentication token did not verify"))
        }
    }

    func testCAMIsRunAsGenericMappingAndSaysItsChipDataIsUnverified() throws {
        let cam = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .chipAuthentication, cipher: .aes128),
            parameterID: 13)
        var script = Self.g1Transcript()
        script[0].0 = "0022C1A412800A04007F0007020204060283010184010D"
        // The G.1 tokens were computed over the GM OID: recompute them for the CAM OID.
        let domain = try PACEDomain.standardized(13)
        let suite = try PACE.sessionSuite(sharedSecret: hexBytes(G1.sharedSecret), cipher: .aes128)
        let algorithm = try XCTUnwrap(cam.algorithm)
        let terminalToken = try PACE.authenticationToken(
            suite: suite, algorithm: algorithm, domain: domain,
            publicKey: hexBytes(G1.ephemeralPublicIC))
        let chipToken = try PACE.authenticationToken(
            suite: suite, algorithm: algorithm, domain: domain,
            publicKey: hexBytes(G1.ephemeralPublicIFD))
        script[4] = (
            "008600000C7C0A8508" + hex(terminalToken) + "00",
            "7C1C8608" + hex(chipToken) + "8A10" + String(repeating: "AB", count: 16) + "9000"
        )
        let keys = FixedKeys([G1.mappingPrivateIFD, G1.ephemeralPrivateIFD])
        let result = try PACE.authenticate(
            channel: ScriptedChannel(script), info: cam, accessKey: Self.mrzKey,
            privateKeys: keys.next)
        XCTAssertEqual(result.chipAuthenticationData, [UInt8](repeating: 0xAB, count: 16))
        XCTAssertEqual(result.description, "PACE-ECDH-CAM-AES-128 brainpoolP256r1 (CAM data not verified)")
    }

    func testStatus6300AtTheTokenStepIsAccessKeyRejected() throws {
        let channel = ScriptedChannel(Self.g1Transcript(tokenStatus: "6300"))
        let keys = FixedKeys([G1.mappingPrivateIFD, G1.ephemeralPrivateIFD])
        XCTAssertThrowsError(
            try PACE.authenticate(
                channel: channel, info: G1.info, accessKey: Self.mrzKey,
                privateKeys: keys.next)
        ) { error in
            XCTAssertEqual(error as? MRTDError, .accessKeyRejected(StatusWord(0x6300)))
            XCTAssertTrue("\(error)".contains("rejected the access key"))
        }
    }

    func testStatus63CxAtMSESetATIsAccessKeyRejected() throws {
        let channel = ScriptedChannel([("0022C1A412800A04007F0007020204020283010284010D", "63C2")])
        let can = AccessKey.can(try CardAccessNumber("123456"))
        XCTAssertThrowsError(try PACE.authenticate(channel: channel, info: G1.info, accessKey: can)) { error in
            XCTAssertEqual(error as? MRTDError, .accessKeyRejected(StatusWord(0x63C2)))
        }
    }

    func testChipMappingKeyOffTheCurveIsRefused() throws {
        var bad = hexBytes(G1.mappingPublicIC)
        bad[bad.count - 1] ^= 0x01
        let channel = ScriptedChannel([
            Self.g1Transcript()[0], Self.g1Transcript()[1],
            (nil, "7C438241" + hex(bad) + "9000"),
        ])
        let keys = FixedKeys([G1.mappingPrivateIFD, G1.ephemeralPrivateIFD])
        XCTAssertThrowsError(
            try PACE.authenticate(
                channel: channel, info: G1.info, accessKey: Self.mrzKey,
                privateKeys: keys.next)
        ) { error in
            guard case .authenticationFailed = error as? MRTDError else { return XCTFail("\(error)") }
        }
    }

    func testDHValuesOutsideTheSubgroupAreRefused() throws {
        let domain = try PACEDomain.standardized(0)
        for value in [
            [UInt8](repeating: 0, count: 127) + [1], [UInt8](repeating: 0, count: 127) + [2],
            DHGroup.rfc5114_1024_160.prime,
        ] {
            XCTAssertThrowsError(try domain.validatedPublicKey(value))
        }
    }

    func testMalformedGeneralAuthenticateAnswerIsTyped() throws {
        let channel = ScriptedChannel([Self.g1Transcript()[0], (nil, "7C0580039A9B9C9000")])
        XCTAssertThrowsError(try PACE.authenticate(channel: channel, info: G1.info, accessKey: Self.mrzKey)) { error in
            guard case .authenticationFailed = error as? MRTDError else { return XCTFail("\(error)") }
        }
        let truncated = ScriptedChannel([Self.g1Transcript()[0], (nil, "7C1280109000")])
        XCTAssertThrowsError(try PACE.authenticate(channel: truncated, info: G1.info, accessKey: Self.mrzKey))
    }

    func testUnsupportedParametersAreRefusedBeforeTalkingToTheChip() throws {
        let channel = ScriptedChannel([])
        let proprietary = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .generic, cipher: .aes128),
            parameterID: 32)
        XCTAssertFalse(PACE.supports(proprietary))
        XCTAssertThrowsError(try PACE.authenticate(channel: channel, info: proprietary, accessKey: Self.mrzKey))
        let integrated = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .integrated, cipher: .aes128),
            parameterID: 10)
        XCTAssertFalse(PACE.supports(integrated), "IM is not defined on NIST P-224")
        let mismatched = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .dh, mapping: .generic, cipher: .aes128),
            parameterID: 13)
        XCTAssertFalse(PACE.supports(mismatched))
        XCTAssertTrue(channel.sent.isEmpty)
    }

    func testInvalidCANIsRefused() {
        for bad in ["", "12", "12345a", "12345678901"] {
            XCTAssertThrowsError(try CardAccessNumber(bad))
        }
        XCTAssertEqual("\(try CardAccessNumber("123456"))", "CAN (6 digits)")
    }
}

extension BACKey {
    /// The MRZ data of ICAO 9303-11 Appendix G (valid constant data: the initializer cannot fail).
    static var appendixG: BACKey {
        guard let key = try? BACKey(documentNumber: "T22000129", birthDate: "640812", expiryDate: "101031") else {
            preconditionFailure("Appendix G MRZ data is valid")
        }
        return key
    }
}

/// PACE between the document reader and the virtual eMRTD applet, in process.
final class PACERoundTripTests: XCTestCase {
    static let can = "123456"

    static func profile(pace: PACEConfiguration?, bac: Bool = false) -> EMRTDProfile {
        let files: [FileID: [UInt8]] = [
            .com: TLV(
                tag: 0x60,
                children: [
                    TLV(tag: 0x5F01, value: Array("0107".utf8)),
                    TLV(tag: 0x5F36, value: Array("040000".utf8)),
                    TLV(tag: 0x5C, value: [0x61]),
                ]
            ).encoded,
            .dg1: TLV(tag: 0x61, value: (0..<90).map { UInt8($0) }).encoded,
            .sod: TLV(tag: 0x77, value: (0..<300).map { UInt8(truncatingIfNeeded: $0 * 3) }).encoded,
        ]
        return EMRTDProfile(
            documentNumber: "T22000129", birthDate: "640812", expiryDate: "101031", files: files,
            pace: pace, bacEnabled: bac)
    }

    private func read(
        _ profile: EMRTDProfile, _ access: AccessKey, options: DocumentReader.Options = .init()
    )
        throws -> DocumentReadResult
    {
        let channel = InMemoryCardChannel(applet: EMRTDApplet(profile: profile))
        return try DocumentReader(channel: channel, options: options).read(access: access)
    }

    func testEveryDomainCipherAndPassword() throws {
        let can = AccessKey.can(try CardAccessNumber(Self.can))
        for id in PACEDomain.supportedParameterIDs {
            for cipher in [SecureMessagingCipherSuite.Algorithm.tripleDES, .aes128, .aes192, .aes256] {
                let configuration = PACEConfiguration(parameterID: id, cipher: cipher, can: Self.can)
                let profile = Self.profile(pace: configuration)
                for access in [PACETests.mrzKey, can] {
                    let label = "\(configuration.info) \(access.kind)"
                    let result = try read(profile, access)
                    XCTAssertEqual(result.accessProtocol, .pace, label)
                    XCTAssertEqual(result.accessDescription, configuration.info.description, label)
                    XCTAssertEqual(result.files, profile.files, label)
                    XCTAssertEqual(result.securityInfos?.paceInfos, [configuration.info], label)
                }
            }
        }
    }

    func testWrongCANAndWrongMRZAreRejectedAndTheRightKeyStillWorks() throws {
        let profile = Self.profile(pace: PACEConfiguration(parameterID: 13, cipher: .aes128, can: Self.can))
        let applet = EMRTDApplet(profile: profile)
        let reader = DocumentReader(channel: InMemoryCardChannel(applet: applet))
        XCTAssertThrowsError(try reader.read(access: .can(try CardAccessNumber("654321")))) { error in
            XCTAssertEqual(error as? MRTDError, .accessKeyRejected(.verificationFailed))
            XCTAssertTrue("\(error)".contains("the chip rejected the access key"))
        }
        let wrongMRZ = try BACKey(documentNumber: "T22000129", birthDate: "640812", expiryDate: "101030")
        XCTAssertThrowsError(try reader.read(access: .mrz(wrongMRZ))) { error in
            XCTAssertEqual(error as? MRTDError, .accessKeyRejected(.verificationFailed))
        }
        XCTAssertFalse(applet.hasSecureMessagingSession)
        XCTAssertEqual(try reader.read(access: .can(try CardAccessNumber(Self.can))).files, profile.files)
    }

    func testCANOnACardWithoutCANIsRefusedByTheChip() throws {
        let profile = Self.profile(pace: PACEConfiguration(parameterID: 12, cipher: .aes128, can: nil))
        XCTAssertThrowsError(try read(profile, .can(try CardAccessNumber(Self.can)))) { error in
            XCTAssertEqual(
                error as? MRTDError,
                .unexpectedStatus(operation: "PACE MSE:Set AT", statusWord: StatusWord(0x6A88)))
        }
    }

    func testBACOnlyCardIsReadWithBACAndRefusesACAN() throws {
        let profile = Self.profile(pace: nil, bac: true)
        let result = try read(profile, PACETests.mrzKey)
        XCTAssertEqual(result.accessProtocol, .bac)
        XCTAssertEqual(result.accessDescription, "BAC")
        XCTAssertNil(result.securityInfos)
        XCTAssertEqual(result.files, profile.files)
        XCTAssertThrowsError(try read(profile, .can(try CardAccessNumber(Self.can)))) { error in
            guard case .invalidAccessKey = error as? MRTDError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try read(profile, PACETests.mrzKey, options: .init(allowBAC: false)))
    }

    func testPACEOnlyCardRefusesBACAndPolicyCanForceBAC() throws {
        let paceOnly = Self.profile(pace: PACEConfiguration(parameterID: 13, cipher: .aes128, can: Self.can))
        XCTAssertThrowsError(try read(paceOnly, PACETests.mrzKey, options: .init(allowPACE: false))) { error in
            XCTAssertEqual(
                error as? MRTDError,
                .unexpectedStatus(operation: "GET CHALLENGE", statusWord: .insNotSupported))
        }
        let both = Self.profile(pace: PACEConfiguration(parameterID: 13, cipher: .aes128, can: Self.can), bac: true)
        XCTAssertEqual(try read(both, PACETests.mrzKey, options: .init(allowPACE: false)).accessProtocol, .bac)
        XCTAssertEqual(try read(both, PACETests.mrzKey).accessProtocol, .pace)
    }

    func testCardAccessIsReadableInPlainBySFIAndFileIdentifierButDataGroupsAreNot() throws {
        let configuration = PACEConfiguration(parameterID: 16, cipher: .aes256, can: Self.can)
        let channel = InMemoryCardChannel(applet: EMRTDApplet(profile: Self.profile(pace: configuration)))
        let bySFI = try channel.transmit(CommandAPDU(ins: 0xB0, p1: 0x9C, p2: 0, le: 256))
        XCTAssertEqual(bySFI.data, configuration.cardAccess)
        XCTAssertEqual(try SecurityInfos.read(from: channel)?.paceInfos, [configuration.info])
        _ = try channel.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: eMRTDApplicationID))
        let dg1 = try channel.transmit(CommandAPDU(ins: 0xB0, p1: 0x81, p2: 0, le: 256))
        XCTAssertEqual(dg1.statusWord, .securityStatusNotSatisfied)
    }

    func testChipsThatRefuseEFCardAccessInAnyWayAreReadWithBAC() throws {
        for sw in ["6A82", "6982", "6700", "6D00", "6E00", "6A86"] {
            let channel = ScriptedChannel([("00A4020C02011C", sw)])
            XCTAssertNil(try SecurityInfos.read(from: channel), sw)
        }
        let removed = ScriptedChannel([])
        removed.failure = .cardRemoved
        XCTAssertThrowsError(try SecurityInfos.read(from: removed)) { error in
            XCTAssertEqual(error as? MRTDError, .cardRemoved)
        }
        let malformed = ScriptedChannel([("00A4020C02011C", "9000"), ("00B0000000", "30039000")])
        XCTAssertThrowsError(try SecurityInfos.read(from: malformed))
    }

    func testVirtualCardProfileJSON() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pace-profile-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("card.json")
        let mrz = "I<UTOD231458907<<<<<<<<<<<<<<<\n9008124F3204153UTO<<<<<<<<<<<0\nSALLEY<<JOHN<<<<<<<<<<<<<<<<<<"
        let json: [String: Any] = [
            "kind": "emrtd", "mrz": mrz, "bac": false,
            "pace": ["parameterId": 15, "cipher": "AES-256", "can": "123456"],
        ]
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        let profile = try VirtualCardProfile.load(path: url.path)
        XCTAssertEqual(profile.emrtd?.pace, PACEConfiguration(parameterID: 15, cipher: .aes256, can: "123456"))
        XCTAssertEqual(profile.emrtd?.bacEnabled, false)
        for bad: [String: Any] in [["parameterId": 5], ["cipher": "AES-512"], ["can": "12ab56"]] {
            var object = json
            object["pace"] = bad
            try JSONSerialization.data(withJSONObject: object).write(to: url)
            XCTAssertThrowsError(try VirtualCardProfile.load(path: url.path), "\(bad)")
        }
    }
}

/// The virtual chip's side of PACE refuses what a chip must refuse.
final class CardPACETests: XCTestCase {
    private func channel(_ configuration: PACEConfiguration) -> InMemoryCardChannel {
        InMemoryCardChannel(applet: EMRTDApplet(profile: PACERoundTripTests.profile(pace: configuration)))
    }

    private func setAT(_ info: PACEInfo, reference: UInt8 = 2, parameterID: Int? = nil) throws -> CommandAPDU {
        let data = PACE.setAuthenticationTemplate(
            algorithm: try XCTUnwrap(info.algorithm), reference: reference,
            parameterID: parameterID ?? info.parameterID ?? 0)
        return CommandAPDU(ins: 0x22, p1: 0xC1, p2: 0xA4, data: data)
    }

    func testMSESetATIsCheckedAgainstTheOfferedProtocol() throws {
        let configuration = PACEConfiguration(parameterID: 13, cipher: .aes128, can: "123456")
        let card = channel(configuration)
        XCTAssertEqual(try card.transmit(try setAT(configuration.info)).statusWord, .success)
        let otherCipher = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .generic, cipher: .aes256),
            parameterID: 13)
        XCTAssertEqual(try card.transmit(try setAT(otherCipher)).statusWord, .incorrectData)
        XCTAssertEqual(try card.transmit(try setAT(configuration.info, parameterID: 12)).statusWord, .incorrectData)
        XCTAssertEqual(try card.transmit(try setAT(configuration.info, reference: 3)).statusWord, StatusWord(0x6A88))
        var wrongP2 = try setAT(configuration.info)
        wrongP2.p2 = 0xA6
        XCTAssertEqual(try card.transmit(wrongP2).statusWord, .incorrectP1P2)
    }

    func testGeneralAuthenticateOutOfOrderIsRefused() throws {
        let configuration = PACEConfiguration(parameterID: 12, cipher: .aes128, can: "123456")
        let card = channel(configuration)
        let empty = CommandAPDU(cla: 0x10, ins: 0x86, p1: 0, p2: 0, data: [0x7C, 0x00], le: 256)
        XCTAssertEqual(try card.transmit(empty).statusWord, .conditionsNotSatisfied, "GA before MSE:Set AT")
        XCTAssertEqual(try card.transmit(try setAT(configuration.info)).statusWord, .success)
        let nonce = try card.transmit(empty)
        XCTAssertEqual(nonce.statusWord, .success)
        XCTAssertEqual(nonce.data.prefix(3), [0x7C, 0x12, 0x80])
        // A mapping key that is not a point of P-256: refused, and the run is over.
        let bogus = TLV(tag: 0x7C, children: [TLV(tag: 0x81, value: [0x04] + [UInt8](repeating: 1, count: 64))])
        let mapping = CommandAPDU(cla: 0x10, ins: 0x86, p1: 0, p2: 0, data: bogus.encoded, le: 256)
        XCTAssertEqual(try card.transmit(mapping).statusWord, .incorrectData)
        XCTAssertEqual(try card.transmit(empty).statusWord, .conditionsNotSatisfied)
    }
}

/// PACE-CAM (ICAO 9303-11 §4.4.3.5): the chip proves its static key from EF.CardSecurity; a clone cannot.
final class PACECAMTests: XCTestCase {
    static func signer() throws -> TestPKI.Party {
        try TestPKI.makeCSCA(
            country: "UT", name: "CAM test signer",
            validity: (Date(), Date().addingTimeInterval(86_400)))
    }

    private func read(_ configuration: PACEConfiguration) throws -> DocumentReadResult {
        let profile = PACERoundTripTests.profile(pace: configuration)
        return try DocumentReader(channel: InMemoryCardChannel(applet: EMRTDApplet(profile: profile)))
            .read(access: .can(try CardAccessNumber(PACERoundTripTests.can)))
    }

    /// ICAO 9303-11 Appendix I.1 (PACE-CAM, brainpoolP256r1, AES-128), cross-checked in three independent test
    /// suites. The appendix gives the static public key only; the static private key is the one CA_IC and
    /// SK_Map,IC fix, and reproducing the public key confirms it.
    enum I1 {
        static let staticPrivate = "86C88A4579CE48135878E6348A734B5D47CE5BC1E54C0E8978687B49FDE2E2C2"
        static let staticPublic =
            "041872709494399E7470A6431BE25E83EEE24FEA568C2ED28DB48E05DB3A610DC8"
            + "84D256A40E35EFCB59BF6753D3A489D28C7A4D973C2DA138A6E7A4A08F68E16F"
        static let mappingPrivateIC = "9E56A6B59C95D06ECE5CD10F983BB2F4F1943528E577F23881D89D8C3BBEE0AA"
        static let mappingPublicIC =
            "04A234236AA9B9621E8EFB73B5245C0E09D2576E5277183C1208BDD55280CAE8B3"
            + "04F365713A356E65A451E165ECC9AC0AC46E3771342C8FE5AEDD092685338E23"
        static let chipAuthenticationData = "85DC3FA93D0952BFA82F5FD189EE75BD82F11D1F0B8ED4BF5319AC9B53C426B3"
        static let sessionEncryption = "0A9DA4DB03BDDE39FC5202BC44B2E89E"
        static let encrypted =
            "1EEA964DAAE372AC990E3EFDE6333353BFC89A6704D93DA8798CF77F5B7A54BD"
            + "10CBA372B42BE0B9B5F28AA8DE2F4F92"
    }

    func testAppendixI1ChipAuthenticationData() throws {
        let group = try ECGroup(curve: .brainpoolP256r1)
        let domain = PACEDomain.ec(group)
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: hexBytes(I1.staticPrivate), generator: domain.generator())),
            I1.staticPublic)
        XCTAssertEqual(
            hex(
                try domain.publicKey(
                    privateKey: hexBytes(I1.mappingPrivateIC),
                    generator: domain.generator())), I1.mappingPublicIC)
        let ca = try group.scalarQuotient(hexBytes(I1.mappingPrivateIC), hexBytes(I1.staticPrivate))
        XCTAssertEqual(hex(ca), I1.chipAuthenticationData)
        let suite = try SecureMessagingCipherSuite(
            algorithm: .aes128, encryptionKey: hexBytes(I1.sessionEncryption),
            macKey: [UInt8](repeating: 0, count: 16))
        XCTAssertEqual(hex(try PACE.encryptChipAuthenticationData(ca, suite: suite)), I1.encrypted)
        let recovered = try PACE.decryptChipAuthenticationData(hexBytes(I1.encrypted), suite: suite)
        XCTAssertEqual(hex(recovered), I1.chipAuthenticationData)
        // The terminal's check: PK_Map,IC = CA_IC · PK_IC.
        XCTAssertEqual(
            hex(try domain.publicKey(privateKey: recovered, generator: hexBytes(I1.staticPublic))),
            I1.mappingPublicIC)
        var tampered = hexBytes(I1.encrypted)
        tampered[0] ^= 1
        XCTAssertNotEqual(try? PACE.decryptChipAuthenticationData(tampered, suite: suite), recovered)
    }

    func testCAMChipIsAuthenticatedOnEveryCurveAndAESCipher() throws {
        let signer = try Self.signer()
        for id in [12, 13, 15, 16, 17, 18] {
            for cipher in [SecureMessagingCipherSuite.Algorithm.aes128, .aes256] {
                let configuration = try PACEConfiguration(
                    parameterID: id, cipher: cipher, can: PACERoundTripTests.can,
                    chipAuthenticationMapping: true
                )
                .withChipAuthenticationKey(signer: signer)
                let result = try read(configuration)
                XCTAssertEqual(result.accessDescription, configuration.info.description, "verified: no caveat")
                XCTAssertTrue(result.accessDescription.contains("-CAM-"))
                XCTAssertEqual(result.files[.dg1], PACERoundTripTests.profile(pace: nil).files[.dg1])
            }
        }
    }

    func testCloneWithAnotherStaticKeyIsRefused() throws {
        let signer = try Self.signer()
        let genuine = try PACEConfiguration(
            parameterID: 13, cipher: .aes128, can: PACERoundTripTests.can,
            chipAuthenticationMapping: true
        ).withChipAuthenticationKey(signer: signer)
        let other = try genuine.withChipAuthenticationKey(signer: signer)
        var clone = genuine
        // The clone copies the genuine EF.CardSecurity but cannot know its private key.
        let otherKey = try XCTUnwrap(other.chipAuthentication).privateKey
        let genuineFile = try XCTUnwrap(genuine.chipAuthentication).cardSecurity
        clone.chipAuthentication = PACEChipAuthenticationKey(privateKey: otherKey, cardSecurity: genuineFile)
        XCTAssertThrowsError(try read(clone)) { error in
            guard case let .authenticationFailed(reason) = error as? MRTDError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("PACE-CAM"), reason)
        }
    }

    func testCAMRefusesDHAnd3DES() throws {
        let signer = try Self.signer()
        XCTAssertThrowsError(
            try PACEConfiguration(parameterID: 0, chipAuthenticationMapping: true)
                .withChipAuthenticationKey(signer: signer))
        XCTAssertThrowsError(
            try PACEConfiguration(parameterID: 13, cipher: .tripleDES, chipAuthenticationMapping: true)
                .withChipAuthenticationKey(signer: signer))
    }
}

/// PACE-CAM on cards as issued: the CAM key picked from several in EF.CardSecurity, and EF.CardSecurity verified
/// exactly like EF.SOD (same trust store, same issuing state) before PACE-CAM may prove the chip genuine.
final class PACECAMCardSecurityTests: XCTestCase {
    private let can = PACERoundTripTests.can

    /// A CAM card signed by `pki`'s document signer (EF.SOD and EF.CardSecurity), read with `options`.
    private func read(
        pki: TestPKI, layout: CardSecurityLayout = CardSecurityLayout(),
        cardSecuritySigner: TestPKI.Party? = nil, options: DocumentReader.Options = .init()
    )
        throws -> (DocumentReadResult, PassiveAuthenticationResult)
    {
        var personalisation = try AntiCloneFixture.personalisation(
            pace: PACEConfiguration(
                parameterID: 13, cipher: .aes128, can: can, chipAuthenticationMapping: true,
                cardSecurity: layout))
        personalisation.documentSigner = pki.documentSigner
        personalisation.cardSecuritySigner = cardSecuritySigner
        let profile = try personalisation.makeProfile()
        let reader = DocumentReader(
            channel: InMemoryCardChannel(applet: EMRTDApplet(profile: profile)), options: options)
        let result = try reader.read(access: .can(try CardAccessNumber(can)))
        var groups: [DataGroup: [UInt8]] = [:]
        for (file, bytes) in result.files { if let group = DataGroup(fileID: file) { groups[group] = bytes } }
        let passive = PassiveAuthentication.verify(
            sodFile: result.files[.sod] ?? [], dataGroups: groups,
            trustStore: pki.trustStore())
        return (result, passive)
    }

    /// A PKI of state UT and one of state XY, and a trust store holding both CSCAs.
    static func twoStates() throws -> (TestPKI, TestPKI, TrustStore) {
        let pki = try TestPKI()
        var abroad = TestPKI.Options()
        abroad.country = "XY"
        let foreign = try TestPKI(options: abroad)
        var store = pki.trustStore()
        store.add(certificates: [foreign.csca.certificate])
        return (pki, foreign, store)
    }

    func testTheCAMKeyIsTheECDHKeyOnThePACEDomainWhoseKeyIdIsTheParameterID() throws {
        let pki = try TestPKI()
        var options = DocumentReader.Options()
        options.trustStore = pki.trustStore()
        let (result, passive) = try read(pki: pki, layout: CardSecurityLayout(decoyKeysFirst: true), options: options)
        XCTAssertEqual(result.pace?.mapping, .chipAuthentication)
        XCTAssertEqual(result.pace?.parameterID, 13)
        XCTAssertEqual(result.pace?.password, "CAN")
        let cam = try XCTUnwrap(result.chipAuthenticationMapping)
        XCTAssertEqual(cam.keyID, 13)
        let infos = try CardSecurity.securityInfos(cam.cardSecurity)
        let keys = infos.infos.compactMap { info -> ChipAuthenticationPublicKeyInfo? in
            if case let .chipAuthenticationPublicKey(key) = info { return key } else { return nil }
        }
        XCTAssertEqual(keys.map(\.keyID), [1, 13, 13, 13], "a generic CA key, another curve, DH, then the CAM key")
        XCTAssertTrue(cam.cardSecurityVerification?.passed == true, "\(cam.cardSecurityVerification?.failures ?? [])")
        XCTAssertTrue(passive.passed, "\(passive.failures)")
        XCTAssertTrue(cam.provesChip(anchoredLike: passive))
    }

    func testKeySelectionRules() throws {
        let domain = try PACEDomain.standardized(13)
        let info = PACEInfo(
            algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .chipAuthentication, cipher: .aes128),
            parameterID: 13)
        func key(_ domain: PACEDomain, id: Int, keyID: Int?) throws -> SecurityInfo {
            let point = try domain.publicKey(
                privateKey: try domain.randomPrivateKey(), generator: try domain.generator())
            let spki = ChipAuthenticationKey.standardizedSubjectPublicKeyInfo(
                parameterID: id, publicKey: point,
                keyAgreement: .ecdh)
            return .chipAuthenticationPublicKey(
                ChipAuthenticationPublicKeyInfo(
                    oid: "0.4.0.127.0.7.2.2.1.2",
                    subjectPublicKeyInfo: spki, keyID: keyID))
        }
        // One key on the domain without keyId: that one.
        let single = SecurityInfos([try key(domain, id: 13, keyID: nil)])
        XCTAssertNil(try PACE.chipAuthenticationMappingKey(in: single, for: info, domain: domain).keyID)
        // Two keys on the domain and neither carries the parameter ID: ambiguous, refused.
        let ambiguous = SecurityInfos([try key(domain, id: 13, keyID: 1), try key(domain, id: 13, keyID: 2)])
        XCTAssertThrowsError(try PACE.chipAuthenticationMappingKey(in: ambiguous, for: info, domain: domain)) { error in
            guard case .malformedFile(.cardSecurity, _) = error as? MRTDError else { return XCTFail("\(error)") }
        }
        // A key with the right keyId on another curve does not count.
        let otherCurve = SecurityInfos([try key(try PACEDomain.standardized(12), id: 12, keyID: 13)])
        XCTAssertThrowsError(try PACE.chipAuthenticationMappingKey(in: otherCurve, for: info, domain: domain))
    }

    func testAForgedCardSecurityDoesNotProveTheChip() throws {
        let pki = try TestPKI()
        var options = DocumentReader.Options()
        options.trustStore = pki.trustStore()
        // A clone with its own key pair signs its own EF.CardSecurity: the CAM data matches, the chain does not.
        let rogueCSCA = try TestPKI.makeCSCA(
            country: "UT", name: "CSCA UT", validity: (Date() - 86_400, Date() + 86_400))
        let rogue = try pki.issueDocumentSigner(commonName: "DS UT 1", issuer: rogueCSCA)
        let (forged, passive) = try read(pki: pki, cardSecuritySigner: rogue, options: options)
        XCTAssertTrue(passive.passed, "the copied EF.SOD is genuine")
        let verification = try XCTUnwrap(forged.chipAuthenticationMapping?.cardSecurityVerification)
        XCTAssertFalse(verification.passed)
        XCTAssertEqual(verification.dscChainValid.status, .fail, verification.dscChainValid.reason)
        XCTAssertFalse(forged.chipAuthenticationMapping?.provesChip(anchoredLike: passive) ?? true)

        // The genuine file with the clone's key swapped in: the signature fails.
        let (altered, _) = try read(pki: pki, layout: CardSecurityLayout(alteredAfterSigning: true), options: options)
        let alteredCheck = try XCTUnwrap(altered.chipAuthenticationMapping?.cardSecurityVerification)
        XCTAssertEqual(alteredCheck.signatureValid.status, .fail)
        XCTAssertTrue(
            alteredCheck.signatureValid.reason.contains("altered EF.CardSecurity"), alteredCheck.signatureValid.reason)
        XCTAssertFalse(alteredCheck.passed)
    }

    /// Through the genuineness policy: a verified PACE-CAM counts for anti-clone (a chip with no other protocol is
    /// genuine even where the policy requires one); a forged, foreign or unverified EF.CardSecurity does not.
    func testThePolicyCountsAVerifiedPACECAMAndRefusesAForgedOne() throws {
        let (pki, foreign, store) = try Self.twoStates()
        var options = DocumentReader.Options()
        options.trustStore = store
        let rogueCSCA = try TestPKI.makeCSCA(
            country: "UT", name: "CSCA UT", validity: (Date() - 86_400, Date() + 86_400))
        let rogue = try pki.issueDocumentSigner(commonName: "DS UT 1", issuer: rogueCSCA)
        let policy = GenuinenessPolicy(requireAntiClone: true)
        func decide(_ signer: TestPKI.Party?, options: DocumentReader.Options) throws -> GenuinenessDecision {
            let (result, passive) = try read(pki: pki, cardSecuritySigner: signer, options: options)
            return policy.decide(GenuinenessFacts(read: result, passive: passive))
        }
        let genuine = try decide(nil, options: options)
        XCTAssertTrue(genuine.genuine, "\(genuine.reasons)")
        XCTAssertEqual(genuine.outcome(of: "pace-cam"), .passed)
        for (label, signer) in [("forged", rogue), ("another state's", foreign.documentSigner)] {
            let refused = try decide(signer, options: options)
            XCTAssertFalse(refused.genuine, label)
            XCTAssertEqual(refused.outcome(of: "pace-cam"), .failed, "\(label): \(refused.checks)")
        }
        let unverified = try decide(nil, options: .init())
        XCTAssertEqual(unverified.outcome(of: "pace-cam"), .notChecked)
        XCTAssertFalse(unverified.genuine, "not counted: nothing else proves the chip")
    }

    func testCardSecurityUnderAnotherStatesCSCAIsNotAnchoredLikeEFSOD() throws {
        let (pki, foreign, store) = try Self.twoStates()
        let (result, passive) = try read(pki: pki, cardSecuritySigner: foreign.documentSigner)
        XCTAssertNil(result.chipAuthenticationMapping?.cardSecurityVerification, "no trust store given: not verified")
        var verified = result
        verified.verifyCardSecurity(trustStore: store)
        let check = try XCTUnwrap(verified.chipAuthenticationMapping?.cardSecurityVerification)
        XCTAssertEqual(check.signatureValid.status, .pass)
        XCTAssertEqual(check.dscChainValid.status, .pass, "XY's CSCA is trusted, for XY's documents")
        XCTAssertEqual(check.issuingStateAnchored.status, .fail, "the same rule as EF.SOD's: DG1 says UTO")
        XCTAssertEqual(
            check.issuingStateAnchored.reason,
            "the document's issuing state UTO (UT) does not match its document signer's country XY")
        XCTAssertFalse(check.passed)
        XCTAssertEqual(check.cscaCountry, "XY")
        XCTAssertFalse(check.anchored(like: passive), "EF.SOD chains to UT, EF.CardSecurity to XY")
    }
}
