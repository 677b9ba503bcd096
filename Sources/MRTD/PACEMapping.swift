import OpenSSLKit

/// The group PACE runs in: an elliptic curve (ECDH) or a prime-order DH subgroup, chosen by the standardized
/// domain parameter ID (ICAO 9303-11 §9.5.1). Public keys and group elements are byte arrays: uncompressed
/// points for ECDH, big-endian integers padded to the length of p for DH.
public enum PACEDomain: Sendable, Equatable, CustomStringConvertible {
    case ec(ECGroup)
    case dh(DHGroup)

    /// The standardized domain parameters 0–2 (RFC 5114 DH) and 8–18 (ECDH). Throws `.authenticationFailed`
    /// naming the ID for anything else (proprietary parameters are not supported).
    public static func standardized(_ parameterID: Int) throws(MRTDError) -> PACEDomain {
        let curve: ECCurve
        switch parameterID {
        case 0: return .dh(.rfc5114_1024_160)
        case 1: return .dh(.rfc5114_2048_224)
        case 2: return .dh(.rfc5114_2048_256)
        case 8: curve = .nistP192
        case 9: curve = .brainpoolP192r1
        case 10: curve = .nistP224
        case 11: curve = .brainpoolP224r1
        case 12: curve = .nistP256
        case 13: curve = .brainpoolP256r1
        case 14: curve = .brainpoolP320r1
        case 15: curve = .nistP384
        case 16: curve = .brainpoolP384r1
        case 17: curve = .brainpoolP512r1
        case 18: curve = .nistP521
        default: throw .authenticationFailed("PACE domain parameter ID \(parameterID) is not supported")
        }
        do {
            return .ec(try ECGroup(curve: curve))
        } catch {
            throw .crypto(error)
        }
    }

    /// The parameter IDs `standardized(_:)` accepts.
    public static let supportedParameterIDs = [0, 1, 2] + Array(8...18)

    public var keyAgreement: PACEKeyAgreement {
        switch self {
        case .ec: return .ecdh
        case .dh: return .dh
        }
    }

    /// The bit length of the subgroup order: a rough strength to choose between offered parameters.
    public var orderBits: Int {
        switch self {
        case let .ec(group): return group.order.count * 8
        case let .dh(group): return group.order.count * 8
        }
    }

    public var description: String {
        switch self {
        case let .ec(group): return group.curve.rawValue
        case let .dh(group): return group.name
        }
    }

    /// The public-key tag inside the token's 7F49 object: '86' (EC point) or '84' (DH value) (§9.4.2).
    public var publicKeyTag: UInt32 {
        switch self {
        case .ec: return 0x86
        case .dh: return 0x84
        }
    }

    /// The domain's own generator.
    public func generator() throws(MRTDError) -> [UInt8] {
        switch self {
        case let .ec(group): return try crypto { () throws(OpenSSLError) in try group.generator.encoded }
        case let .dh(group): return group.generator
        }
    }

    /// A fresh private key: a scalar in [1, n-1] or an exponent in [1, q-1].
    public func randomPrivateKey() throws(MRTDError) -> [UInt8] {
        switch self {
        case let .ec(group): return try crypto { () throws(OpenSSLError) in try group.randomScalar() }
        case let .dh(group): return try crypto { () throws(OpenSSLError) in try group.randomExponent() }
        }
    }

    /// privateKey · generator (EC) or generator^privateKey (DH).
    public func publicKey(privateKey: [UInt8], generator: [UInt8]) throws(MRTDError) -> [UInt8] {
        switch self {
        case let .ec(group):
            return try crypto { () throws(OpenSSLError) in
                try group.point(generator).multiplied(by: privateKey).encoded
            }
        case let .dh(group):
            return try crypto { () throws(OpenSSLError) in try group.power(generator, privateKey) }
        }
    }

    /// Checks a public key received from the other side: a curve point other than infinity, or a DH value in
    /// the order-q subgroup. Returns it normalised (DH values padded). Throws `.authenticationFailed`.
    public func validatedPublicKey(_ key: [UInt8]) throws(MRTDError) -> [UInt8] {
        do {
            switch self {
            case let .ec(group):
                return try group.point(key).encoded
            case let .dh(group):
                try group.validate(key)
                return [UInt8](repeating: 0, count: group.elementSize - key.count) + key
            }
        } catch {
            throw .authenticationFailed("the other side's PACE public key is invalid: \(error)")
        }
    }

    /// The key agreement result: privateKey · peer (an encoded point) or peer^privateKey (a DH value).
    /// `peer` must already be validated.
    public func agree(privateKey: [UInt8], peer: [UInt8]) throws(MRTDError) -> [UInt8] {
        try publicKey(privateKey: privateKey, generator: peer)
    }

    /// Generic Mapping (ICAO 9303-11 §4.4.3.3.1): G' = s·G + H for ECDH, g' = g^s · h mod p for DH.
    public func mappedGenerator(nonce: [UInt8], mappingSecret: [UInt8]) throws(MRTDError) -> [UInt8] {
        switch self {
        case let .ec(group):
            return try crypto { () throws(OpenSSLError) in
                try group.generator.multiplied(by: nonce, adding: try group.point(mappingSecret)).encoded
            }
        case let .dh(group):
            return try crypto { () throws(OpenSSLError) in
                try group.multiply(try group.power(group.generator, nonce), mappingSecret)
            }
        }
    }

    /// The shared secret K fed to the KDF: the x coordinate (ECDH) or the whole value (DH) (§9.6).
    public func sharedSecret(_ agreement: [UInt8]) throws(MRTDError) -> [UInt8] {
        switch self {
        case let .ec(group):
            return try crypto { () throws(OpenSSLError) in try group.point(agreement).x }
        case .dh:
            return agreement
        }
    }

    private func crypto<T>(_ body: () throws(OpenSSLError) -> T) throws(MRTDError) -> T {
        do {
            return try body()
        } catch {
            throw .crypto(error)
        }
    }
}
