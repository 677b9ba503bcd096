import COpenSSL

/// Message authentication codes used by ICAO 9303 secure messaging.
public enum MessageAuthentication {
    /// ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC") with DES and padding method 2, as used by BAC and 3DES
    /// secure messaging (ICAO 9303-11 §9.8.6.1). `key` is K1 || K2 (16 bytes); the result is 8 bytes.
    /// Set `padded` when the caller has already applied padding method 2.
    public static func retailMAC(key: [UInt8], message: [UInt8], padded: Bool = false) throws(OpenSSLError) -> [UInt8] {
        guard key.count == 16 else {
            throw OpenSSLError(operation: "retail MAC", queue: ["key of \(key.count) bytes, expected 16"])
        }
        let data = padded ? message : ISO9797Padding.pad(message, blockSize: 8)
        guard !data.isEmpty, data.count % 8 == 0 else {
            throw OpenSSLError(operation: "retail MAC", queue: ["padded message of \(data.count) bytes"])
        }
        let k1 = Array(key[0..<8])
        // Single DES is 3DES with K1 = K2; this keeps us on OpenSSL's default provider.
        let singleDESKey = k1 + k1
        let head = Array(data[..<(data.count - 8)])
        var chain = [UInt8](repeating: 0, count: 8)
        if !head.isEmpty {
            let encrypted = try BlockCipher.tripleDES.encrypt(head, key: singleDESKey)
            chain = Array(encrypted[(encrypted.count - 8)...])
        }
        var last = Array(data[(data.count - 8)...])
        for index in 0..<8 { last[index] ^= chain[index] }
        // Final transformation: E(K1, D(K2, E(K1, x))) is two-key 3DES of the last chained block.
        return try BlockCipher.tripleDES.encrypt(last, key: key, mode: .ecb)
    }

    /// AES-CMAC (NIST SP 800-38B, RFC 4493) over `message` with a 16, 24 or 32-byte key. Returns all 16 bytes;
    /// ICAO secure messaging truncates to 8.
    public static func aesCMAC(key: [UInt8], message: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        let cipherName: String
        switch key.count {
        case 16: cipherName = "AES-128-CBC"
        case 24: cipherName = "AES-192-CBC"
        case 32: cipherName = "AES-256-CBC"
        default: throw OpenSSLError(operation: "AES-CMAC", queue: ["key of \(key.count) bytes"])
        }
        guard let mac = EVP_MAC_fetch(nil, "CMAC", nil) else { throw OpenSSLError.capture("AES-CMAC fetch") }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { throw OpenSSLError.capture("AES-CMAC context") }
        defer { EVP_MAC_CTX_free(context) }
        var nameBuffer = Array(cipherName.utf8CString)
        let initialised = nameBuffer.withUnsafeMutableBufferPointer { name -> Bool in
            var params = [
                OSSL_PARAM_construct_utf8_string("cipher", name.baseAddress, 0),
                OSSL_PARAM_construct_end(),
            ]
            return EVP_MAC_init(context, key, key.count, &params) == 1
        }
        guard initialised else { throw OpenSSLError.capture("AES-CMAC init") }
        guard EVP_MAC_update(context, message, message.count) == 1 else {
            throw OpenSSLError.capture("AES-CMAC update")
        }
        var output = [UInt8](repeating: 0, count: 16)
        var length = 0
        guard EVP_MAC_final(context, &output, &length, output.count) == 1, length == 16 else {
            throw OpenSSLError.capture("AES-CMAC final")
        }
        return output
    }

    /// Compares two MACs in time independent of where they differ.
    public static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.isEmpty { return true }
        return CRYPTO_memcmp(lhs, rhs, lhs.count) == 0
    }
}
