import OpenSSLKit

/// PACE Integrated Mapping (ICAO 9303-11 §4.4.3.3.2): instead of a second key agreement, the terminal sends a nonce
/// t and both sides map the chip's nonce s and t straight to a generator through the pseudo-random function R(s, t)
/// and a group-specific encoding. Worked examples: ICAO 9303-11 Appendix H.1 (ECDH) and H.2 (DH).
extension PACE {
    /// Source of the terminal's nonce t (tests inject Appendix H's).
    public typealias NonceSource = (Int) throws(MRTDError) -> [UInt8]

    public static func randomNonce(_ count: Int) throws(MRTDError) -> [UInt8] {
        do {
            return try SecureRandom.bytes(count)
        } catch {
            throw .crypto(error)
        }
    }

    /// l, the output length of one R(s, t) block in bytes: 128 bits for 3DES (counted as a 128-bit key) and AES-128,
    /// 256 bits for AES-192 and AES-256. The chip's nonce s has this length too.
    public static func integratedMappingBlockLength(_ cipher: SecureMessagingCipherSuite.Algorithm) -> Int {
        cipher == .aes192 || cipher == .aes256 ? 32 : 16
    }

    /// The terminal's nonce t: a key of the cipher (k bits: 16 bytes for 3DES and AES-128, 24, 32).
    public static func integratedMappingTerminalNonceLength(_ cipher: SecureMessagingCipherSuite.Algorithm) -> Int {
        cipher.keyLength
    }

    /// c0 and c1 (ICAO 9303-11 §4.4.3.3.2) for l = 128 and l = 256.
    static func integratedMappingConstants(_ length: Int) -> (c0: [UInt8], c1: [UInt8]) {
        if length == 16 {
            return (hexConstant("A668892A7C41E3CA739F40B057D85904"), hexConstant("A4E136AC725F738B01C1F60217C188AD"))
        }
        return (
            hexConstant("D463D65234124EF7897054986DCA0A174E28DF758CBAA03F240616414D5A1676"),
            hexConstant("54BD7255F0AAF831BEC3423FCF39D69B6CBF066677D0FAAE5AADD99DF8E53517")
        )
    }

    /// The pseudo-random function R(s, t) = x₁ ‖ … ‖ xₙ of ICAO 9303-11 §4.4.3.3.2 (Figure 2): k₀ = E(t, s), then
    /// kᵢ = E(kᵢ₋₁, c₀) and xᵢ = E(kᵢ₋₁, c₁), E the session cipher in CBC mode with a zero IV, every key truncated to
    /// the cipher's key size, n the least number of l-bit blocks with n·l ≥ log₂ p + 64.
    /// Throws `.authenticationFailed` for nonces of the wrong size.
    public static func pseudoRandom(
        chipNonce s: [UInt8], terminalNonce t: [UInt8],
        cipher: SecureMessagingCipherSuite.Algorithm, primeBits: Int
    )
        throws(MRTDError) -> [UInt8]
    {
        let keyLength = cipher.keyLength
        let block = integratedMappingBlockLength(cipher)
        let engine: BlockCipher = cipher == .tripleDES ? .tripleDES : .aes
        guard t.count == keyLength else {
            throw .authenticationFailed("the PACE-IM terminal nonce has \(t.count) bytes, not \(keyLength)")
        }
        guard s.count >= keyLength, s.count % engine.blockSize == 0, s.count <= 64 else {
            throw .authenticationFailed(
                "the PACE-IM chip nonce has \(s.count) bytes: it must be at least a key "
                    + "(\(keyLength) bytes) of whole blocks")
        }
        let (c0, c1) = integratedMappingConstants(block)
        let blocks = (primeBits + 64 + block * 8 - 1) / (block * 8)
        do {
            var key = Array(try engine.encrypt(s, key: t).prefix(keyLength))
            var output: [UInt8] = []
            for _ in 0..<blocks {
                output += try engine.encrypt(c1, key: key)
                key = Array(try engine.encrypt(c0, key: key).prefix(keyLength))
            }
            return output
        } catch {
            throw .crypto(error)
        }
    }

    private static func hexConstant(_ text: String) -> [UInt8] {
        let digits = Array(text.utf8).map { $0 <= 0x39 ? $0 - 0x30 : $0 - 0x41 + 10 }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }
}

extension PACEDomain {
    /// Whether ICAO 9303-11 defines Integrated Mapping here: every DH group, and curves with p ≡ 3 mod 4 (all
    /// standardized ones but NIST P-224).
    public var supportsIntegratedMapping: Bool {
        switch self {
        case let .ec(group): return group.curve != .nistP224
        case .dh: return true
        }
    }

    /// The mapped generator of Integrated Mapping: f_G(R_p(s, t)) on a curve, R_p(s, t)^((p−1)/q) for DH
    /// (ICAO 9303-11 §4.4.3.3.2). Throws `.authenticationFailed` for bad nonces or where IM is not defined.
    public func integratedMappedGenerator(
        chipNonce: [UInt8], terminalNonce: [UInt8],
        cipher: SecureMessagingCipherSuite.Algorithm
    ) throws(MRTDError) -> [UInt8] {
        guard supportsIntegratedMapping else {
            throw .authenticationFailed("PACE Integrated Mapping is not defined on \(self)")
        }
        let bits: Int
        switch self {
        case let .ec(group): bits = group.primeBits
        case let .dh(group): bits = group.primeBits
        }
        let random = try PACE.pseudoRandom(
            chipNonce: chipNonce, terminalNonce: terminalNonce, cipher: cipher,
            primeBits: bits)
        do {
            switch self {
            case let .ec(group): return try group.integratedMappingPoint(random).encoded
            case let .dh(group): return try group.integratedMappingGenerator(random)
            }
        } catch {
            throw .authenticationFailed("PACE-IM mapping failed: \(error)")
        }
    }
}
