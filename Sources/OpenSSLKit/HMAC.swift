import COpenSSL
import Foundation

/// HMAC (RFC 2104, FIPS 198-1) through OpenSSL's `EVP_MAC`.
public enum HMAC {
    /// HMAC of `message` under `key` with `digest` (SHA-256 unless told otherwise).
    public static func authenticate(
        _ message: [UInt8], key: [UInt8],
        digest: DigestAlgorithm = .sha256
    ) throws(OpenSSLError) -> [UInt8] {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { throw OpenSSLError.capture("HMAC fetch") }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { throw OpenSSLError.capture("HMAC context") }
        defer { EVP_MAC_CTX_free(context) }
        // OSSL_PARAM keeps pointers to its key and value: both must outlive EVP_MAC_init.
        guard let name = strdup("digest"), let value = strdup(digest.rawValue) else {
            throw OpenSSLError(operation: "HMAC", queue: ["out of memory"])
        }
        defer {
            free(name)
            free(value)
        }
        var params = [OSSL_PARAM_construct_utf8_string(name, value, 0), OSSL_PARAM_construct_end()]
        // A zero-length key still needs a valid pointer.
        let keyBytes = key.isEmpty ? [0] : key
        guard EVP_MAC_init(context, keyBytes, key.count, &params) == 1 else {
            throw OpenSSLError.capture("HMAC-\(digest.rawValue) init")
        }
        guard EVP_MAC_update(context, message, message.count) == 1 else {
            throw OpenSSLError.capture("HMAC-\(digest.rawValue) update")
        }
        var output = [UInt8](repeating: 0, count: digest.outputLength)
        var length = 0
        guard EVP_MAC_final(context, &output, &length, output.count) == 1, length == digest.outputLength else {
            throw OpenSSLError.capture("HMAC-\(digest.rawValue) final")
        }
        return output
    }

    /// HMAC-SHA-256 (RFC 4231).
    public static func sha256(_ message: [UInt8], key: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        try authenticate(message, key: key, digest: .sha256)
    }

    /// Whether `mac` is the HMAC of `message`, compared in constant time.
    public static func isValid(
        _ mac: [UInt8], for message: [UInt8], key: [UInt8],
        digest: DigestAlgorithm = .sha256
    ) throws(OpenSSLError) -> Bool {
        let expected = try authenticate(message, key: key, digest: digest)
        return MessageAuthentication.constantTimeEquals(expected, mac)
    }
}
