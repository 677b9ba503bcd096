import OpenSSLKit
import SmartCard

/// Basic Access Control (ICAO 9303-11 §4.3): mutual authentication with the keys derived from the MRZ,
/// establishing 3DES secure messaging.
public enum BAC {
    /// Source of RND.IFD and K.IFD; tests inject the Appendix D values.
    public typealias RandomSource = (Int) throws(MRTDError) -> [UInt8]

    /// Secure random bytes from OpenSSL.
    public static func secureRandom(_ count: Int) throws(MRTDError) -> [UInt8] {
        do {
            return try SecureRandom.bytes(count)
        } catch {
            throw .crypto(error)
        }
    }

    /// Runs GET CHALLENGE and EXTERNAL AUTHENTICATE on `channel` (the eMRTD application must be selected)
    /// and returns the secure messaging session. Throws `.accessKeyRejected` on SW 63xx (wrong MRZ data),
    /// `.authenticationFailed` when the chip's answer does not verify, `.cardRemoved`/`.transport` on transport
    /// failures.
    public static func authenticate(
        channel: CardChannel, key: BACKey, random: RandomSource = secureRandom
    )
        throws(MRTDError) -> SecureMessagingSession
    {
        let keys = try key.derivedKeys()
        let challenge = try transmit(channel, CommandAPDU(ins: 0x84, p1: 0, p2: 0, le: 8))
        guard challenge.statusWord.isSuccess else {
            throw .unexpectedStatus(operation: "GET CHALLENGE", statusWord: challenge.statusWord)
        }
        guard challenge.data.count == 8 else {
            throw .authenticationFailed("GET CHALLENGE returned \(challenge.data.count) bytes instead of 8")
        }
        let rndIFD = try random(8)
        let kIFD = try random(16)
        guard rndIFD.count == 8, kIFD.count == 16 else {
            throw .authenticationFailed("random source returned short output")
        }
        let data = try externalAuthenticateData(
            encryptionKey: keys.encryption, macKey: keys.mac,
            rndIC: challenge.data, rndIFD: rndIFD, kIFD: kIFD)
        let answer = try transmit(channel, CommandAPDU(ins: 0x82, p1: 0, p2: 0, data: data, le: 40))
        if answer.statusWord.sw1 == 0x63 { throw .accessKeyRejected(answer.statusWord) }
        guard answer.statusWord.isSuccess else {
            throw .unexpectedStatus(operation: "EXTERNAL AUTHENTICATE", statusWord: answer.statusWord)
        }
        return try session(
            fromChipAnswer: answer.data, encryptionKey: keys.encryption, macKey: keys.mac,
            rndIC: challenge.data, rndIFD: rndIFD, kIFD: kIFD)
    }

    /// The EXTERNAL AUTHENTICATE command data E_IFD || M_IFD, where E_IFD = 3DES(K_enc, RND.IFD || RND.IC || K.IFD)
    /// and M_IFD = MAC(K_mac, E_IFD) (ICAO 9303-11 §4.3.3.1, Appendix D.3).
    public static func externalAuthenticateData(
        encryptionKey: [UInt8], macKey: [UInt8], rndIC: [UInt8],
        rndIFD: [UInt8], kIFD: [UInt8]
    ) throws(MRTDError) -> [UInt8] {
        try cryptogram(rndIFD + rndIC + kIFD, encryptionKey: encryptionKey, macKey: macKey)
    }

    /// E || MAC(E) with E = 3DES-CBC(encryptionKey, plain): the form of both BAC cryptograms.
    public static func cryptogram(
        _ plain: [UInt8], encryptionKey: [UInt8], macKey: [UInt8]
    )
        throws(MRTDError) -> [UInt8]
    {
        do {
            let encrypted = try BlockCipher.tripleDES.encrypt(plain, key: encryptionKey)
            return encrypted + (try MessageAuthentication.retailMAC(key: macKey, message: encrypted))
        } catch {
            throw .crypto(error)
        }
    }

    /// Verifies the MAC of a 40-byte BAC cryptogram E || MAC(E) and returns the 32 decrypted bytes, or `nil`
    /// when the length or the MAC is wrong.
    public static func openCryptogram(
        _ data: [UInt8], encryptionKey: [UInt8], macKey: [UInt8]
    ) throws(MRTDError)
        -> [UInt8]?
    {
        guard data.count == 40 else { return nil }
        let encrypted = Array(data[0..<32])
        do {
            let expected = try MessageAuthentication.retailMAC(key: macKey, message: encrypted)
            guard MessageAuthentication.constantTimeEquals(expected, Array(data[32..<40])) else { return nil }
            return try BlockCipher.tripleDES.decrypt(encrypted, key: encryptionKey)
        } catch {
            throw .crypto(error)
        }
    }

    /// Verifies the chip's answer E_IC || M_IC (MAC first, then the RND.IC and RND.IFD echoes) and derives
    /// KS_enc, KS_mac from K.IFD ⊕ K.IC and the SSC from RND.IC and RND.IFD (ICAO 9303-11 §4.3.3.2, §9.8.2).
    public static func session(
        fromChipAnswer answer: [UInt8], encryptionKey: [UInt8], macKey: [UInt8],
        rndIC: [UInt8], rndIFD: [UInt8], kIFD: [UInt8]
    )
        throws(MRTDError) -> SecureMessagingSession
    {
        guard answer.count == 40 else {
            throw .authenticationFailed("EXTERNAL AUTHENTICATE returned \(answer.count) bytes instead of 40")
        }
        guard let plain = try openCryptogram(answer, encryptionKey: encryptionKey, macKey: macKey) else {
            throw .authenticationFailed("the chip's cryptogram MAC did not verify")
        }
        guard MessageAuthentication.constantTimeEquals(Array(plain[0..<8]), rndIC) else {
            throw .authenticationFailed("the chip did not echo its own challenge RND.IC")
        }
        guard MessageAuthentication.constantTimeEquals(Array(plain[8..<16]), rndIFD) else {
            throw .authenticationFailed("the chip did not echo RND.IFD")
        }
        let suite = try sessionSuite(kIFD: kIFD, kIC: Array(plain[16..<32]))
        return SecureMessagingSession(suite: suite, ssc: initialSSC(rndIC: rndIC, rndIFD: rndIFD))
    }

    /// KS_enc and KS_mac from K_seed = K.IFD ⊕ K.IC (ICAO 9303-11 §4.3.3.3).
    public static func sessionSuite(kIFD: [UInt8], kIC: [UInt8]) throws(MRTDError) -> SecureMessagingCipherSuite {
        let seed = zip(kIFD, kIC).map { $0 ^ $1 }
        let encryptionKey = try KeyDerivation.derive(
            seed: seed, counter: KeyDerivation.encryptionCounter,
            cipher: .tripleDES)
        let macKey = try KeyDerivation.derive(seed: seed, counter: KeyDerivation.macCounter, cipher: .tripleDES)
        return try SecureMessagingCipherSuite(algorithm: .tripleDES, encryptionKey: encryptionKey, macKey: macKey)
    }

    /// SSC = the four least significant bytes of RND.IC || those of RND.IFD.
    public static func initialSSC(rndIC: [UInt8], rndIFD: [UInt8]) -> SendSequenceCounter {
        SendSequenceCounter(bytes: Array(rndIC.suffix(4)) + Array(rndIFD.suffix(4)))
    }

    private static func transmit(_ channel: CardChannel, _ command: CommandAPDU) throws(MRTDError) -> ResponseAPDU {
        do {
            return try channel.transmit(command)
        } catch {
            throw MRTDError(error)
        }
    }
}
