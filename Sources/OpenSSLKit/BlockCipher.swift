import COpenSSL

/// Block ciphers used by ICAO 9303 (BAC, PACE, secure messaging): 3DES and AES, CBC or ECB, never padded.
///
/// Callers pad with `ISO9797Padding` themselves; input that is not a whole number of blocks is refused.
public enum BlockCipher: Sendable, Equatable {
    /// Two-key (16-byte key, K1 K2 K1) or three-key (24-byte key) triple DES in EDE mode.
    case tripleDES
    /// AES-128, AES-192 or AES-256, chosen by the key length.
    case aes

    public enum Mode: Sendable, Equatable {
        case cbc
        case ecb
    }

    public var blockSize: Int { self == .tripleDES ? 8 : 16 }

    /// Encrypts whole blocks. `iv` defaults to zero (the ICAO 9303 convention for 3DES); ignored for ECB.
    public func encrypt(
        _ data: [UInt8], key: [UInt8], iv: [UInt8]? = nil, mode: Mode = .cbc
    )
        throws(OpenSSLError) -> [UInt8]
    {
        try run(data, key: key, iv: iv, mode: mode, encrypt: true)
    }

    /// Decrypts whole blocks. `iv` defaults to zero; ignored for ECB.
    public func decrypt(
        _ data: [UInt8], key: [UInt8], iv: [UInt8]? = nil, mode: Mode = .cbc
    )
        throws(OpenSSLError) -> [UInt8]
    {
        try run(data, key: key, iv: iv, mode: mode, encrypt: false)
    }

    func algorithmName(keyLength: Int, mode: Mode) -> String {
        let suffix = mode == .cbc ? "CBC" : "ECB"
        switch self {
        case .tripleDES: return keyLength == 16 ? "DES-EDE-\(suffix)" : "DES-EDE3-\(suffix)"
        case .aes: return "AES-\(keyLength * 8)-\(suffix)"
        }
    }

    func evpCipher(keyLength: Int, mode: Mode) -> OpaquePointer? {
        switch (self, keyLength, mode) {
        case (.tripleDES, 16, .cbc): return EVP_des_ede_cbc()
        case (.tripleDES, 16, .ecb): return EVP_des_ede_ecb()
        case (.tripleDES, 24, .cbc): return EVP_des_ede3_cbc()
        case (.tripleDES, 24, .ecb): return EVP_des_ede3_ecb()
        case (.aes, 16, .cbc): return EVP_aes_128_cbc()
        case (.aes, 16, .ecb): return EVP_aes_128_ecb()
        case (.aes, 24, .cbc): return EVP_aes_192_cbc()
        case (.aes, 24, .ecb): return EVP_aes_192_ecb()
        case (.aes, 32, .cbc): return EVP_aes_256_cbc()
        case (.aes, 32, .ecb): return EVP_aes_256_ecb()
        default: return nil
        }
    }

    private func run(
        _ data: [UInt8], key: [UInt8], iv: [UInt8]?, mode: Mode, encrypt: Bool
    )
        throws(OpenSSLError) -> [UInt8]
    {
        let name = algorithmName(keyLength: key.count, mode: mode) + (encrypt ? " encrypt" : " decrypt")
        guard let cipher = evpCipher(keyLength: key.count, mode: mode) else {
            throw OpenSSLError(operation: name, queue: ["unsupported key length \(key.count) for \(self)"])
        }
        guard data.count % blockSize == 0 else {
            throw OpenSSLError(
                operation: name,
                queue: ["input of \(data.count) bytes is not a multiple of \(blockSize)"])
        }
        let ivBytes = iv ?? [UInt8](repeating: 0, count: blockSize)
        guard ivBytes.count == blockSize else {
            throw OpenSSLError(operation: name, queue: ["IV of \(ivBytes.count) bytes, expected \(blockSize)"])
        }
        if data.isEmpty { return [] }
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSLError.capture(name) }
        defer { EVP_CIPHER_CTX_free(context) }
        guard EVP_CipherInit_ex(context, cipher, nil, key, mode == .cbc ? ivBytes : nil, encrypt ? 1 : 0) == 1,
            EVP_CIPHER_CTX_set_padding(context, 0) == 1
        else {
            throw OpenSSLError.capture(name)
        }
        var output = [UInt8](repeating: 0, count: data.count + blockSize)
        var written: Int32 = 0
        var finalWritten: Int32 = 0
        let ok = output.withUnsafeMutableBufferPointer { out -> Bool in
            guard let base = out.baseAddress else { return false }
            guard EVP_CipherUpdate(context, base, &written, data, Int32(data.count)) == 1 else { return false }
            return EVP_CipherFinal_ex(context, base + Int(written), &finalWritten) == 1
        }
        guard ok else { throw OpenSSLError.capture(name) }
        return Array(output[..<Int(written + finalWritten)])
    }
}
