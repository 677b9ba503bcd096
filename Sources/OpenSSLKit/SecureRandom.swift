import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's default DRBG.
public enum SecureRandom {
    public static func bytes(_ count: Int) throws(OpenSSLError) -> [UInt8] {
        guard count >= 0 else { throw OpenSSLError(operation: "RAND_bytes", queue: ["negative count"]) }
        var output = [UInt8](repeating: 0, count: count)
        if count == 0 { return output }
        guard RAND_bytes(&output, Int32(count)) == 1 else { throw OpenSSLError.capture("RAND_bytes") }
        return output
    }
}
