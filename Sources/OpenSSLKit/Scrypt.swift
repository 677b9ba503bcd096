import COpenSSL

/// The scrypt password-based key derivation function (RFC 7914).
///
/// Goes through `EVP_PBE_scrypt`, which OpenSSL 3 implements by fetching the `EVP_KDF` "SCRYPT" from the
/// loaded providers.
public enum Scrypt {
    /// Cost parameters: `n` (CPU/memory cost, a power of two > 1), `r` (block size), `p` (parallelism).
    public struct Parameters: Sendable, Equatable {
        public var n: UInt64
        public var r: UInt32
        public var p: UInt32

        public init(n: UInt64, r: UInt32, p: UInt32) {
            self.n = n
            self.r = r
            self.p = p
        }

        /// N = 2^15, r = 8, p = 1: about 32 MiB and tens of milliseconds; for passcodes.
        public static let interactive = Parameters(n: 1 << 15, r: 8, p: 1)
    }

    /// Derives `length` bytes from `password` and `salt`. Throws when the parameters are invalid
    /// (n not a power of two, r · p too large) or need more than `maximumMemory` bytes.
    public static func deriveKey(
        password: [UInt8], salt: [UInt8], parameters: Parameters, length: Int,
        maximumMemory: UInt64 = 256 << 20
    ) throws(OpenSSLError) -> [UInt8] {
        guard length > 0 else { throw OpenSSLError(operation: "scrypt", queue: ["output length \(length)"]) }
        guard parameters.n > 1, parameters.n & (parameters.n - 1) == 0, parameters.r > 0, parameters.p > 0 else {
            throw OpenSSLError(
                operation: "scrypt",
                queue: [
                    "invalid parameters N=\(parameters.n) r=\(parameters.r) "
                        + "p=\(parameters.p)"
                ])
        }
        var output = [UInt8](repeating: 0, count: length)
        let derived = password.withUnsafeBufferPointer { passwordBuffer in
            salt.withUnsafeBufferPointer { saltBuffer in
                passwordBuffer.withMemoryRebound(to: CChar.self) { passwordChars in
                    EVP_PBE_scrypt(
                        passwordChars.baseAddress, passwordChars.count, saltBuffer.baseAddress,
                        saltBuffer.count, parameters.n, UInt64(parameters.r), UInt64(parameters.p),
                        maximumMemory, &output, length)
                }
            }
        }
        guard derived == 1 else { throw OpenSSLError.capture("scrypt derive") }
        return output
    }
}
