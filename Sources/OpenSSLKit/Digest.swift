import COpenSSL

/// Hash functions (FIPS 180-4) used by ICAO 9303 key derivation and passive authentication.
public enum DigestAlgorithm: String, Sendable, CaseIterable {
    case sha1 = "SHA1"
    case sha224 = "SHA224"
    case sha256 = "SHA256"
    case sha384 = "SHA384"
    case sha512 = "SHA512"

    /// Digest length in bytes.
    public var outputLength: Int {
        switch self {
        case .sha1: return 20
        case .sha224: return 28
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }

    var evpMD: OpaquePointer? {
        switch self {
        case .sha1: return EVP_sha1()
        case .sha224: return EVP_sha224()
        case .sha256: return EVP_sha256()
        case .sha384: return EVP_sha384()
        case .sha512: return EVP_sha512()
        }
    }
}

/// One-shot message digests.
public enum Digest {
    /// Hashes `data` with `algorithm`. Throws `OpenSSLError` when OpenSSL refuses (e.g. a FIPS-only build).
    public static func hash(_ data: [UInt8], using algorithm: DigestAlgorithm) throws(OpenSSLError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = data.withUnsafeBufferPointer { input in
            EVP_Digest(input.baseAddress, input.count, &output, &length, algorithm.evpMD, nil)
        }
        guard ok == 1, Int(length) == algorithm.outputLength else {
            throw OpenSSLError.capture("\(algorithm.rawValue) digest")
        }
        return Array(output[..<Int(length)])
    }
}
