import COpenSSL

/// Why an ISO/IEC 9796-2 signature did not open or verify.
public enum ISO9796Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key is not an RSA key.
    case notRSA
    /// The signature is longer than the modulus or not below it.
    case signatureLength(Int, modulus: Int)
    /// The recovered block does not start with the header '6A' (partial recovery, no padding).
    case header(UInt8)
    /// The trailer is neither 'BC' nor a known 'xxCC' hash identifier.
    case trailer([UInt8])
    /// The block is too short for the hash and the trailer.
    case blockTooShort(Int)
    /// H in the block is not the hash of M1 || M2.
    case hashMismatch
    case crypto(OpenSSLError)

    public var description: String {
        switch self {
        case .notRSA: return "the key is not an RSA key"
        case let .signatureLength(length, modulus):
            return "the signature has \(length) bytes for a \(modulus)-byte modulus"
        case let .header(byte): return String(format: "the recovered block starts with %02X, not 6A", byte)
        case let .trailer(bytes):
            return "unknown trailer " + bytes.map { String(format: "%02X", $0) }.joined()
        case let .blockTooShort(length): return "the recovered block of \(length) bytes is too short"
        case .hashMismatch: return "the hash in the recovered block does not match M1 || M2"
        case let .crypto(error): return "\(error)"
        }
    }
}

/// ISO/IEC 9796-2 digital signature scheme 1 with partial message recovery, as active authentication uses it
/// (ICAO 9303-11 §6.1): F = '6A' || M1 || H(M1 || M2) || trailer, signature = F^d mod n. The trailer is 'BC'
/// (implicit SHA-1) or 'xxCC' with the ISO/IEC 10118-3 hash identifier xx.
public enum ISO9796Scheme1 {
    /// What opening a signature recovered.
    public struct Opened: Sendable, Equatable {
        /// The recoverable part M1.
        public let recoveredMessage: [UInt8]
        public let digest: DigestAlgorithm
        /// Whether the trailer was the implicit 'BC'.
        public let implicitTrailer: Bool
    }

    /// The ISO/IEC 10118-3 hash identifier used in an explicit trailer 'xxCC'.
    public static func hashIdentifier(_ digest: DigestAlgorithm) -> UInt8 {
        switch digest {
        case .sha1: return 0x33
        case .sha256: return 0x34
        case .sha512: return 0x35
        case .sha384: return 0x36
        case .sha224: return 0x38
        }
    }

    static func digest(forIdentifier identifier: UInt8) -> DigestAlgorithm? {
        DigestAlgorithm.allCases.first { hashIdentifier($0) == identifier }
    }

    /// Opens `signature` with the RSA public key and checks H against M1 || `nonRecoverable` (M2).
    /// Throws `ISO9796Error` naming the failed step.
    public static func verify(
        signature: [UInt8], nonRecoverable: [UInt8], key: PublicKey
    )
        throws(ISO9796Error) -> Opened
    {
        guard case .rsa = key.keyType else { throw .notRSA }
        let modulusLength = key.modulusLength
        guard !signature.isEmpty, signature.count <= modulusLength else {
            throw .signatureLength(signature.count, modulus: modulusLength)
        }
        var block: [UInt8]
        do {
            block = try key.rsaRawPublic(signature)
        } catch {
            throw .signatureLength(signature.count, modulus: modulusLength)
        }
        while block.first == 0 && block.count > 1 { block.removeFirst() }
        guard let last = block.last, block.count >= 4 else { throw .blockTooShort(block.count) }
        let digest: DigestAlgorithm
        let trailerLength: Int
        if last == 0xBC {
            (digest, trailerLength) = (.sha1, 1)
        } else if last == 0xCC, let found = Self.digest(forIdentifier: block[block.count - 2]) {
            (digest, trailerLength) = (found, 2)
        } else {
            throw .trailer(Array(block.suffix(2)))
        }
        guard block[0] == 0x6A else { throw .header(block[0]) }
        let hashStart = block.count - trailerLength - digest.outputLength
        guard hashStart > 1 else { throw .blockTooShort(block.count) }
        let recovered = Array(block[1..<hashStart])
        let hash = Array(block[hashStart..<(hashStart + digest.outputLength)])
        let expected: [UInt8]
        do {
            expected = try Digest.hash(recovered + nonRecoverable, using: digest)
        } catch {
            throw .crypto(error)
        }
        guard MessageAuthentication.constantTimeEquals(hash, expected) else { throw .hashMismatch }
        return Opened(recoveredMessage: recovered, digest: digest, implicitTrailer: trailerLength == 1)
    }

    /// Signs M2 = `nonRecoverable` with a fresh random M1 filling the block (the chip's side of active
    /// authentication). `implicitTrailer` uses 'BC' (SHA-1 only); otherwise 'xxCC'.
    public static func sign(
        nonRecoverable: [UInt8], key: PrivateKey, digest: DigestAlgorithm,
        implicitTrailer: Bool, recoverable: [UInt8]? = nil
    ) throws(ISO9796Error) -> [UInt8] {
        guard case .rsa = key.keyType else { throw .notRSA }
        let implicit = implicitTrailer && digest == .sha1
        let trailer: [UInt8] = implicit ? [0xBC] : [hashIdentifier(digest), 0xCC]
        let modulusLength = key.modulusLength
        let m1Length = modulusLength - 1 - digest.outputLength - trailer.count
        guard m1Length > 0 else { throw .blockTooShort(modulusLength) }
        do {
            let m1 = try recoverable ?? SecureRandom.bytes(m1Length)
            guard m1.count == m1Length else { throw ISO9796Error.blockTooShort(m1.count) }
            let hash = try Digest.hash(m1 + nonRecoverable, using: digest)
            return try key.rsaRawPrivate([0x6A] + m1 + hash + trailer)
        } catch let error as ISO9796Error {
            throw error
        } catch let error as OpenSSLError {
            throw .crypto(error)
        } catch {
            throw .crypto(OpenSSLError(operation: "ISO 9796-2 sign", queue: ["\(error)"]))
        }
    }
}

extension PublicKey {
    /// Bytes of the RSA modulus (0 for other keys).
    public var modulusLength: Int { Int(EVP_PKEY_get_size(pointer)) }

    /// The raw RSA public operation s^e mod n (no padding), left-padded to the modulus length.
    public func rsaRawPublic(_ input: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        let operation = "RSA raw public operation"
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else { throw OpenSSLError.capture(operation) }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_verify_recover_init(context) == 1,
            EVP_PKEY_CTX_set_rsa_padding(context, RSA_NO_PADDING) == 1
        else { throw OpenSSLError.capture(operation) }
        let size = modulusLength
        let padded = [UInt8](repeating: 0, count: max(0, size - input.count)) + input
        var out = [UInt8](repeating: 0, count: size)
        var length = size
        guard EVP_PKEY_verify_recover(context, &out, &length, padded, padded.count) == 1 else {
            throw OpenSSLError.capture(operation)
        }
        return [UInt8](repeating: 0, count: size - length) + out[..<length]
    }
}

extension PrivateKey {
    /// Bytes of the RSA modulus (the signature size for other keys).
    public var modulusLength: Int { Int(EVP_PKEY_get_size(pointer)) }

    /// The raw RSA private operation m^d mod n (no padding); `input` must be below the modulus.
    public func rsaRawPrivate(_ input: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        let operation = "RSA raw private operation"
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else { throw OpenSSLError.capture(operation) }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_sign_init(context) == 1,
            EVP_PKEY_CTX_set_rsa_padding(context, RSA_NO_PADDING) == 1
        else { throw OpenSSLError.capture(operation) }
        let size = modulusLength
        guard input.count <= size else { throw OpenSSLError(operation: operation, queue: ["input longer than n"]) }
        let padded = [UInt8](repeating: 0, count: size - input.count) + input
        var out = [UInt8](repeating: 0, count: size)
        var length = size
        guard EVP_PKEY_sign(context, &out, &length, padded, padded.count) == 1 else {
            throw OpenSSLError.capture(operation)
        }
        return [UInt8](repeating: 0, count: size - length) + out[..<length]
    }
}
