import OpenSSLKit
import SmartCard

/// A chip authentication protocol named by an `id-CA-*` OID (BSI TR-03110-3 §A.1.1.2, ICAO 9303-11 §9.2.5):
/// DH or ECDH, and the cipher of the new secure messaging session.
public struct ChipAuthenticationAlgorithm: Sendable, Equatable, CustomStringConvertible {
    public let keyAgreement: PACEKeyAgreement
    public let cipher: SecureMessagingCipherSuite.Algorithm

    static let arc = "0.4.0.127.0.7.2.2.3"

    public init(keyAgreement: PACEKeyAgreement, cipher: SecureMessagingCipherSuite.Algorithm) {
        self.keyAgreement = keyAgreement
        self.cipher = cipher
    }

    public init?(oid: String) {
        guard oid.hasPrefix(Self.arc + ".") else { return nil }
        let arcs = oid.dropFirst(Self.arc.count + 1).split(separator: ".").compactMap { Int($0) }
        guard arcs.count == 2 else { return nil }
        switch arcs[0] {
        case 1: keyAgreement = .dh
        case 2: keyAgreement = .ecdh
        default: return nil
        }
        switch arcs[1] {
        case 1: cipher = .tripleDES
        case 2: cipher = .aes128
        case 3: cipher = .aes192
        case 4: cipher = .aes256
        default: return nil
        }
    }

    public var oid: String {
        let cipherArc: Int
        switch cipher {
        case .tripleDES: cipherArc = 1
        case .aes128: cipherArc = 2
        case .aes192: cipherArc = 3
        case .aes256: cipherArc = 4
        }
        return "\(Self.arc).\(keyAgreement == .dh ? 1 : 2).\(cipherArc)"
    }

    public var oidBytes: [UInt8] { DER.encodeOID(oid) ?? [] }

    /// E.g. `ECDH AES-128`.
    public var description: String { "\(keyAgreement.rawValue) \(cipher.rawValue)" }
}

/// How the terminal handed the chip its ephemeral key (ICAO 9303-11 §6.2.4, BSI TR-03110-3 §B.1.1).
public enum ChipAuthenticationCommand: String, Sendable, Equatable {
    /// MSE:Set KAT with the key in DO'91': only for 3DES keys of version 1 (the original protocol).
    case setKAT = "MSE:Set KAT"
    /// MSE:Set AT naming the protocol, then GENERAL AUTHENTICATE with the key in DO'80': every AES key (version 1
    /// or 2), and version 2 with 3DES.
    case setATGeneralAuthenticate = "MSE:Set AT + GENERAL AUTHENTICATE"

    /// The command a chip expects: chosen by the cipher, as issued passports require (a chip that declares
    /// `id-CA-ECDH-AES-CBC-CMAC-*` with version 1 refuses MSE:Set KAT), and by the version for 3DES.
    public static func forAlgorithm(
        _ algorithm: ChipAuthenticationAlgorithm, version: Int
    )
        -> ChipAuthenticationCommand
    {
        algorithm.cipher == .tripleDES && version < 2 ? .setKAT : .setATGeneralAuthenticate
    }
}

/// What a successful chip authentication key agreement established (not yet proven: the chip proves it
/// by answering correctly under the new session).
public struct ChipAuthenticationResult {
    public let algorithm: ChipAuthenticationAlgorithm
    public let version: Int
    public let keyID: Int?
    public let domain: PACEDomain
    /// The command that carried the terminal's key.
    public let command: ChipAuthenticationCommand
    /// The new session: keys from the shared secret, SSC zero.
    public let session: SecureMessagingSession

    /// E.g. `CA v1 ECDH AES-128 NIST P-256`.
    public var description: String { "CA v\(version) \(algorithm) \(domain)" }
}

/// Chip authentication, terminal side (ICAO 9303-11 §6.2, BSI TR-03110-1 §3.4): static-ephemeral DH or ECDH
/// with the chip's key from DG14. The command follows the cipher, not the declared version: 3DES keys get MSE:Set
/// KAT, AES keys (version 1 as in issued passports, or 2) MSE:Set AT + GENERAL AUTHENTICATE. Both continue secure
/// messaging with KS_enc = KDF(K, 1), KS_mac = KDF(K, 2) and SSC = 0. Key references are sent as minimal unsigned
/// bytes (`84 01 C3` for key 195).
public enum ChipAuthentication {
    /// The protocol to run: the strongest ChipAuthenticationInfo whose key is present, with its public key
    /// (a DG14 with a key but no info means CA v1 with 3DES). Nil when DG14 offers no chip authentication.
    public static func selectProtocol(
        in dg14: DG14
    )
        -> (
            info: ChipAuthenticationInfo?, algorithm: ChipAuthenticationAlgorithm, key: ChipAuthenticationPublicKeyInfo
        )?
    {
        let keys = dg14.chipAuthenticationPublicKeys
        guard !keys.isEmpty else { return nil }
        let candidates = dg14.chipAuthenticationInfos.compactMap {
            info -> (
                ChipAuthenticationInfo,
                ChipAuthenticationAlgorithm,
                ChipAuthenticationPublicKeyInfo
            )? in
            guard let algorithm = ChipAuthenticationAlgorithm(oid: info.oid), (1...2).contains(info.version),
                let key = keys.first(where: { info.keyID == nil || $0.keyID == nil || $0.keyID == info.keyID }),
                key.oid.hasSuffix(algorithm.keyAgreement == .dh ? ".1" : ".2")
            else { return nil }
            return (info, algorithm, key)
        }
        if let best = candidates.max(by: { rank($0.1) < rank($1.1) }) { return best }
        guard dg14.chipAuthenticationInfos.isEmpty, let key = keys.first else { return nil }
        return (
            nil,
            ChipAuthenticationAlgorithm(
                keyAgreement: key.oid.hasSuffix(".1") ? .dh : .ecdh,
                cipher: .tripleDES), key
        )
    }

    private static func rank(_ algorithm: ChipAuthenticationAlgorithm) -> Int {
        algorithm.cipher == .tripleDES ? 0 : algorithm.cipher.keyLength
    }

    /// The key agreement domain and the chip's public key from a ChipAuthenticationPublicKeyInfo (named curve,
    /// X9.42 or PKCS#3 DH, or a standardized domain parameter ID; see `ChipAuthenticationKey`).
    /// Throws `.authenticationFailed` for keys this reader cannot use.
    public static func chipKey(
        _ info: ChipAuthenticationPublicKeyInfo
    ) throws(MRTDError)
        -> (domain: PACEDomain, publicKey: [UInt8])
    {
        let key = try ChipAuthenticationKey(info)
        return (key.domain, key.publicKey)
    }

    /// Runs chip authentication over the current secure messaging `channel`. Returns the new session; the
    /// caller must switch to it and prove it by a read. Throws `.unexpectedStatus` when the chip refuses,
    /// `.authenticationFailed` for unusable keys, SM errors when the old session breaks.
    public static func authenticate(
        channel: SecureMessagingChannel, dg14: DG14,
        privateKeys: PACE.PrivateKeySource = PACE.randomPrivateKey
    )
        throws(MRTDError) -> ChipAuthenticationResult
    {
        guard let selected = selectProtocol(in: dg14) else {
            throw .authenticationFailed("DG14 offers no supported chip authentication protocol")
        }
        let (domain, chipPublic) = try chipKey(selected.key)
        guard domain.keyAgreement == selected.algorithm.keyAgreement else {
            throw .authenticationFailed("the DG14 chip authentication key does not fit \(selected.algorithm)")
        }
        let validatedChipPublic = try domain.validatedPublicKey(chipPublic)
        let ephemeralPrivate = try privateKeys(domain)
        let ephemeralPublic = try domain.publicKey(privateKey: ephemeralPrivate, generator: try domain.generator())
        let keyID = selected.info?.keyID ?? selected.key.keyID
        let version = selected.info?.version ?? 1
        let keyReference = keyID.map { TLV(tag: 0x84, value: TLV.minimalUnsigned($0)).encoded } ?? []
        let command = ChipAuthenticationCommand.forAlgorithm(selected.algorithm, version: version)
        if command == .setKAT {
            let data = TLV(tag: 0x91, value: ephemeralPublic).encoded + keyReference
            try expectSuccess(
                channel.send(
                    CommandAPDU(
                        ins: 0x22, p1: 0x41, p2: 0xA6, data: data,
                        forceExtended: data.count > CommandAPDU.maxShortLc)),
                "MSE:Set KAT")
        } else {
            let setAT = TLV(tag: 0x80, value: selected.algorithm.oidBytes).encoded + keyReference
            try expectSuccess(channel.send(CommandAPDU(ins: 0x22, p1: 0x41, p2: 0xA4, data: setAT)), "MSE:Set AT")
            let body = TLV(tag: 0x7C, children: [TLV(tag: 0x80, value: ephemeralPublic)]).encoded
            let extended = body.count > CommandAPDU.maxShortLc
            let answer = try channel.send(
                CommandAPDU(
                    ins: 0x86, p1: 0, p2: 0, data: body,
                    le: extended ? CommandAPDU.maxExtendedLe : CommandAPDU.maxShortLe,
                    forceExtended: extended))
            try expectSuccess(answer, "GENERAL AUTHENTICATE")
            guard (try? TLV.parse(answer.data))?.tag == 0x7C else {
                throw .authenticationFailed(
                    "the chip's chip authentication answer is not dynamic authentication data 7C")
            }
        }
        let shared = try domain.sharedSecret(try domain.agree(privateKey: ephemeralPrivate, peer: validatedChipPublic))
        let suite = try PACE.sessionSuite(sharedSecret: shared, cipher: selected.algorithm.cipher)
        return ChipAuthenticationResult(
            algorithm: selected.algorithm, version: version, keyID: keyID, domain: domain,
            command: command,
            session: SecureMessagingSession(
                suite: suite,
                ssc: SendSequenceCounter(zeroes: suite.sscLength)))
    }

    private static func expectSuccess(_ response: ResponseAPDU, _ step: String) throws(MRTDError) {
        guard response.statusWord.isSuccess else {
            throw .unexpectedStatus(operation: "chip authentication \(step)", statusWord: response.statusWord)
        }
    }
}
