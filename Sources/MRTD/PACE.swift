import OpenSSLKit
import SmartCard

/// What a successful PACE run established.
public struct PACEResult {
    public let info: PACEInfo
    public let algorithm: PACEAlgorithm
    public let domain: PACEDomain
    /// The secure messaging session (SSC zero; 16 bytes for AES, 8 for 3DES).
    public let session: SecureMessagingSession
    /// The chip's encrypted chip-authentication data A_IC (DO'8A' of the token answer, PACE-CAM).
    public let chipAuthenticationData: [UInt8]?
    /// The chip's mapping public key PK_Map,IC, which PACE-CAM proves the chip's static key against.
    public let chipMappingPublicKey: [UInt8]
    /// Set once `PACE.verifyChipAuthenticationMapping` accepted the chip's data (PACE-CAM).
    public internal(set) var chipAuthenticated = false

    /// E.g. `PACE-ECDH-GM-AES-128 brainpoolP256r1`; CAM runs not yet verified say so.
    public var description: String {
        let base = "\(algorithm) \(domain)"
        return algorithm.mapping == .chipAuthentication && !chipAuthenticated ? base + " (CAM data not verified)" : base
    }
}

/// PACE, terminal side (ICAO 9303-11 §4.4, BSI TR-03110-2 §3.2): MSE:Set AT, four GENERAL AUTHENTICATE steps
/// (encrypted nonce, mapping, key agreement, mutual authentication tokens), then secure messaging with the derived
/// session keys. The mapping step is Generic Mapping (GM and CAM: a key agreement gives the generator) or Integrated
/// Mapping (IM: the terminal's nonce t and R(s, t) give it, `PACEIntegratedMapping.swift`).
public enum PACE {
    /// Source of the terminal's ephemeral private keys, asked twice (mapping, then key agreement); tests
    /// inject the keys of ICAO 9303-11 Appendix G.
    public typealias PrivateKeySource = (PACEDomain) throws(MRTDError) -> [UInt8]

    public static func randomPrivateKey(_ domain: PACEDomain) throws(MRTDError) -> [UInt8] {
        try domain.randomPrivateKey()
    }

    /// Whether this reader can run `info`: a known Generic, Integrated or Chip Authentication Mapping algorithm with
    /// a standardized parameter ID whose key agreement matches (Integrated Mapping is not defined on NIST P-224).
    public static func supports(_ info: PACEInfo) -> Bool {
        guard let algorithm = info.algorithm, let id = info.parameterID,
            PACEDomain.supportedParameterIDs.contains(id), (id <= 2) == (algorithm.keyAgreement == .dh)
        else {
            return false
        }
        return algorithm.mapping != .integrated || id != 10
    }

    /// The strongest supported PACEInfo: largest session key, then largest group order, ECDH before DH, then CAM
    /// (which also proves the chip) before GM before IM. `policy` leaves out domains below its minimum strength.
    public static func preferredInfo(in infos: SecurityInfos, policy: AccessPolicy = .permissive) -> PACEInfo? {
        func rank(_ info: PACEInfo) -> (Int, Int, Int, Int) {
            let id = info.parameterID ?? 0
            let order =
                [
                    0: 160, 1: 224, 2: 256, 8: 192, 9: 192, 10: 224, 11: 224, 12: 256, 13: 256, 14: 320,
                    15: 384, 16: 384, 17: 512, 18: 521,
                ][id] ?? 0
            let cipher = info.algorithm.map { $0.cipher == .tripleDES ? 0 : $0.cipher.keyLength } ?? 0
            let mapping =
                [PACEMapping.integrated: 0, .generic: 1, .chipAuthentication: 2][
                    info.algorithm?.mapping
                        ?? .integrated] ?? 0
            return (cipher, order, id >= 8 ? 1 : 0, mapping)
        }
        return infos.paceInfos.filter { supports($0) && policy.accepts($0) }.max { rank($0) < rank($1) }
    }

    /// Runs PACE on `channel` (at master-file level, before selecting the eMRTD application).
    ///
    /// Throws `.accessKeyRejected` when the chip answers 63xx to MSE:Set AT or to the token step (wrong MRZ or
    /// CAN), `.authenticationFailed` when the chip's answers are malformed, its public keys invalid or its
    /// token does not verify (fail closed: no session), `.unexpectedStatus` for other status words.
    public static func authenticate(
        channel: CardChannel, info: PACEInfo, accessKey: AccessKey,
        privateKeys: PrivateKeySource = randomPrivateKey,
        nonces: NonceSource = randomNonce
    )
        throws(MRTDError) -> PACEResult
    {
        guard supports(info), let algorithm = info.algorithm, let parameterID = info.parameterID else {
            throw .authenticationFailed("\(info) is not supported by this reader")
        }
        let domain = try PACEDomain.standardized(parameterID)
        let cipher = algorithm.cipher
        let passwordKey = try accessKey.paceKey(cipher: cipher)

        let template = setAuthenticationTemplate(
            algorithm: algorithm, reference: accessKey.paceReference,
            parameterID: parameterID)
        let setAT = try transmit(channel, CommandAPDU(ins: 0x22, p1: 0xC1, p2: 0xA4, data: template))
        try check(setAT, "MSE:Set AT")
        let large = domain.publicKeyLength + 8 > CommandAPDU.maxShortLc
        let nonceData = try generalAuthenticate(channel, [], last: false, large: false, step: "encrypted nonce")
        let encryptedNonce = try value(0x80, in: nonceData, step: "encrypted nonce")
        let nonce = try decryptNonce(encryptedNonce, key: passwordKey, cipher: cipher)

        let mappedGenerator: [UInt8]
        var chipMappingPublic: [UInt8] = []
        if algorithm.mapping == .integrated {
            // IM (§4.4.3.3.2): the terminal's nonce t in DO'81'; the chip answers an empty 7C.
            let t = try nonces(integratedMappingTerminalNonceLength(cipher))
            let mappingAnswer = try generalAuthenticate(
                channel, TLV(tag: 0x81, value: t).encoded, last: false,
                large: false, step: "mapping")
            try expectEmptyDynamicData(mappingAnswer, step: "integrated mapping")
            mappedGenerator = try domain.integratedMappedGenerator(chipNonce: nonce, terminalNonce: t, cipher: cipher)
        } else {
            let mappingKey = try privateKeys(domain)
            let generator = try domain.generator()
            let mappingPublic = try domain.publicKey(privateKey: mappingKey, generator: generator)
            let mappingAnswer = try generalAuthenticate(
                channel, TLV(tag: 0x81, value: mappingPublic).encoded,
                last: false, large: large, step: "mapping")
            chipMappingPublic = try domain.validatedPublicKey(try value(0x82, in: mappingAnswer, step: "mapping"))
            let mappingSecret = try domain.agree(privateKey: mappingKey, peer: chipMappingPublic)
            mappedGenerator = try domain.mappedGenerator(nonce: nonce, mappingSecret: mappingSecret)
        }

        let ephemeralKey = try privateKeys(domain)
        let ephemeralPublic = try domain.publicKey(privateKey: ephemeralKey, generator: mappedGenerator)
        let agreementAnswer = try generalAuthenticate(
            channel, TLV(tag: 0x83, value: ephemeralPublic).encoded,
            last: false, large: large, step: "key agreement")
        let chipPublic = try domain.validatedPublicKey(try value(0x84, in: agreementAnswer, step: "key agreement"))
        guard chipPublic != ephemeralPublic else {
            throw .authenticationFailed("the chip echoed the terminal's ephemeral PACE public key")
        }
        let shared = try domain.sharedSecret(try domain.agree(privateKey: ephemeralKey, peer: chipPublic))
        let suite = try sessionSuite(sharedSecret: shared, cipher: cipher)

        let terminalToken = try authenticationToken(
            suite: suite, algorithm: algorithm, domain: domain,
            publicKey: chipPublic)
        let tokenAnswer = try generalAuthenticate(
            channel, TLV(tag: 0x85, value: terminalToken).encoded,
            last: true, large: false, step: "mutual authentication")
        let chipToken = try value(0x86, in: tokenAnswer, step: "mutual authentication")
        let expected = try authenticationToken(
            suite: suite, algorithm: algorithm, domain: domain,
            publicKey: ephemeralPublic)
        guard MessageAuthentication.constantTimeEquals(chipToken, expected) else {
            throw .authenticationFailed("the chip's PACE authentication token did not verify")
        }
        let camData = try? value(0x8A, in: tokenAnswer, step: "mutual authentication")
        let session = SecureMessagingSession(suite: suite, ssc: SendSequenceCounter(zeroes: suite.sscLength))
        return PACEResult(
            info: info, algorithm: algorithm, domain: domain, session: session,
            chipAuthenticationData: camData, chipMappingPublicKey: chipMappingPublic)
    }

    /// The MSE:Set AT data: DO'80' protocol OID, DO'83' password reference, DO'84' parameter ID as a minimal
    /// unsigned reference (§4.4.4.1; `84 01 0D` for 13, never a DER INTEGER with a sign byte).
    public static func setAuthenticationTemplate(
        algorithm: PACEAlgorithm, reference: UInt8, parameterID: Int
    )
        -> [UInt8]
    {
        TLV(tag: 0x80, value: algorithm.oidBytes).encoded + TLV(tag: 0x83, value: [reference]).encoded
            + TLV(tag: 0x84, value: TLV.minimalUnsigned(parameterID)).encoded
    }

    /// Decrypts the chip's nonce z with K_π: AES-CBC or 3DES-CBC, zero IV (§4.4.3.1).
    public static func decryptNonce(
        _ encrypted: [UInt8], key: [UInt8], cipher: SecureMessagingCipherSuite.Algorithm
    )
        throws(MRTDError) -> [UInt8]
    {
        guard !encrypted.isEmpty, encrypted.count <= 64 else {
            throw .authenticationFailed("the encrypted PACE nonce has \(encrypted.count) bytes")
        }
        do {
            return try (cipher == .tripleDES ? BlockCipher.tripleDES : .aes).decrypt(encrypted, key: key)
        } catch {
            throw .authenticationFailed("the encrypted PACE nonce does not decrypt: \(error)")
        }
    }

    /// Card side: encrypts the nonce s with K_π.
    public static func encryptNonce(
        _ nonce: [UInt8], key: [UInt8], cipher: SecureMessagingCipherSuite.Algorithm
    )
        throws(MRTDError) -> [UInt8]
    {
        do {
            return try (cipher == .tripleDES ? BlockCipher.tripleDES : .aes).encrypt(nonce, key: key)
        } catch {
            throw .crypto(error)
        }
    }

    /// PACE-CAM (ICAO 9303-11 §4.4.3.5): checks the chip's static public key `chipPublicKey` (from EF.CardSecurity)
    /// against A_IC: CA_IC = D(KS_enc, A_IC) and PK_Map,IC = CA_IC · PK_IC. Throws `.authenticationFailed` when the
    /// data is missing, malformed or does not match (a cloned chip), and marks `result` chip-authenticated.
    public static func verifyChipAuthenticationMapping(
        _ result: inout PACEResult, chipPublicKey: [UInt8]
    )
        throws(MRTDError)
    {
        guard result.algorithm.mapping == .chipAuthentication, case .ec = result.domain else {
            throw .authenticationFailed("\(result.algorithm) is not PACE-CAM")
        }
        guard let encrypted = result.chipAuthenticationData else {
            throw .authenticationFailed("PACE-CAM: the chip sent no chip authentication data (DO'8A')")
        }
        let ca = try decryptChipAuthenticationData(encrypted, suite: result.session.suite)
        let staticKey = try result.domain.validatedPublicKey(chipPublicKey)
        let expected = try result.domain.publicKey(privateKey: ca, generator: staticKey)
        guard MessageAuthentication.constantTimeEquals(expected, result.chipMappingPublicKey) else {
            throw .authenticationFailed("PACE-CAM: the chip's static key does not match its mapping key (clone?)")
        }
        result.chipAuthenticated = true
    }

    /// Card side of PACE-CAM: A_IC = E(KS_enc, CA_IC), AES-CBC with IV = E(KS_enc, -1), padding method 2.
    public static func encryptChipAuthenticationData(
        _ ca: [UInt8], suite: SecureMessagingCipherSuite
    )
        throws(MRTDError) -> [UInt8]
    {
        do {
            return try BlockCipher.aes.encrypt(
                ISO9797Padding.pad(ca, blockSize: 16), key: suite.encryptionKey,
                iv: try chipAuthenticationIV(suite))
        } catch {
            throw .crypto(error)
        }
    }

    /// Terminal side of PACE-CAM: CA_IC = D(KS_enc, A_IC), padding removed strictly. Throws `.authenticationFailed`.
    public static func decryptChipAuthenticationData(
        _ encrypted: [UInt8], suite: SecureMessagingCipherSuite
    )
        throws(MRTDError) -> [UInt8]
    {
        let padded: [UInt8]
        do {
            padded = try BlockCipher.aes.decrypt(
                encrypted, key: suite.encryptionKey,
                iv: try chipAuthenticationIV(suite))
        } catch {
            throw .authenticationFailed("PACE-CAM: the chip authentication data does not decrypt")
        }
        guard let ca = ISO9797Padding.unpad(padded, blockSize: 16), !ca.isEmpty else {
            throw .authenticationFailed("PACE-CAM: the chip authentication data has invalid padding")
        }
        return ca
    }

    /// E(KS_enc, -1): the AES encryption of a block of all one bits.
    private static func chipAuthenticationIV(_ suite: SecureMessagingCipherSuite) throws(OpenSSLError) -> [UInt8] {
        try BlockCipher.aes.encrypt([UInt8](repeating: 0xFF, count: 16), key: suite.encryptionKey, mode: .ecb)
    }

    /// KS_enc = KDF(K, 1), KS_mac = KDF(K, 2) for the session cipher (§9.7.1).
    public static func sessionSuite(
        sharedSecret: [UInt8], cipher: SecureMessagingCipherSuite.Algorithm
    )
        throws(MRTDError) -> SecureMessagingCipherSuite
    {
        try SecureMessagingCipherSuite(
            algorithm: cipher,
            encryptionKey: KeyDerivation.derive(
                seed: sharedSecret, counter: KeyDerivation.encryptionCounter,
                cipher: cipher),
            macKey: KeyDerivation.derive(seed: sharedSecret, counter: KeyDerivation.macCounter, cipher: cipher))
    }

    /// The public key data object 7F49 { 06 OID, 86 point | 84 value } the tokens are computed over (§4.4.3.4).
    public static func publicKeyDataObject(
        algorithm: PACEAlgorithm, domain: PACEDomain, publicKey: [UInt8]
    )
        -> [UInt8]
    {
        TLV(
            tag: 0x7F49,
            children: [
                TLV(tag: 0x06, value: algorithm.oidBytes),
                TLV(tag: domain.publicKeyTag, value: publicKey),
            ]
        ).encoded
    }

    /// The authentication token: MAC(KS_mac, 7F49 of the other side's public key), 8 bytes (AES-CMAC
    /// truncated, or the 3DES retail MAC) (§4.4.3.4, §9.4.2).
    public static func authenticationToken(
        suite: SecureMessagingCipherSuite, algorithm: PACEAlgorithm,
        domain: PACEDomain, publicKey: [UInt8]
    ) throws(MRTDError) -> [UInt8] {
        let input = publicKeyDataObject(algorithm: algorithm, domain: domain, publicKey: publicKey)
        do {
            if suite.algorithm == .tripleDES {
                return try MessageAuthentication.retailMAC(key: suite.macKey, message: input)
            }
            return Array(try MessageAuthentication.aesCMAC(key: suite.macKey, message: input)[0..<8])
        } catch {
            throw .crypto(error)
        }
    }

    private static func generalAuthenticate(
        _ channel: CardChannel, _ data: [UInt8], last: Bool, large: Bool,
        step: String
    ) throws(MRTDError) -> [UInt8] {
        let body = TLV(tag: 0x7C, value: data).encoded
        let extended = large || body.count > CommandAPDU.maxShortLc
        let command = CommandAPDU(
            cla: last ? 0x00 : 0x10, ins: 0x86, p1: 0, p2: 0, data: body,
            le: extended ? CommandAPDU.maxExtendedLe : CommandAPDU.maxShortLe,
            forceExtended: extended)
        let response = try transmit(channel, command)
        try check(response, "GENERAL AUTHENTICATE (\(step))")
        return response.data
    }

    private static func check(_ response: ResponseAPDU, _ operation: String) throws(MRTDError) {
        if response.statusWord.sw1 == 0x63 { throw .accessKeyRejected(response.statusWord) }
        guard response.statusWord.isSuccess else {
            throw .unexpectedStatus(operation: "PACE " + operation, statusWord: response.statusWord)
        }
    }

    /// An answer that carries no data objects: nothing, or an empty 7C (the chip's side of IM's mapping step).
    private static func expectEmptyDynamicData(_ data: [UInt8], step: String) throws(MRTDError) {
        guard data.isEmpty || data == [0x7C, 0x00] else {
            throw .authenticationFailed("PACE \(step) answer should be empty dynamic authentication data 7C 00")
        }
    }

    /// The value of `tag` inside the dynamic authentication data 7C of a GA response.
    private static func value(_ tag: UInt32, in data: [UInt8], step: String) throws(MRTDError) -> [UInt8] {
        do {
            let object = try TLV.parse(data, limits: TLVLimits(maxLength: 4096, maxDepth: 2, maxTagBytes: 2))
            guard object.tag == 0x7C else {
                throw MRTDError.authenticationFailed("PACE \(step) answer is not dynamic authentication data 7C")
            }
            guard let child = try object.child(tag) else {
                throw MRTDError.authenticationFailed("PACE \(step) answer lacks DO'\(hex(TLV.encode(tag: tag)))'")
            }
            return child.value
        } catch let error as MRTDError {
            throw error
        } catch {
            throw .authenticationFailed("PACE \(step) answer is malformed: \(error)")
        }
    }

    private static func transmit(_ channel: CardChannel, _ command: CommandAPDU) throws(MRTDError) -> ResponseAPDU {
        do {
            return try channel.transmit(command)
        } catch {
            throw MRTDError(error)
        }
    }
}

extension PACEDomain {
    /// Bytes of an encoded public key.
    var publicKeyLength: Int {
        switch self {
        case let .ec(group): return 1 + 2 * group.coordinateSize
        case let .dh(group): return group.elementSize
        }
    }
}
