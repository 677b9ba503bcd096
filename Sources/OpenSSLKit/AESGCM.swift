import COpenSSL

/// Why AES-GCM refused to seal or open.
public enum AESGCMError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The key is not 32 bytes (AES-256).
    case invalidKeyLength(Int)
    /// The nonce is not 12 bytes.
    case invalidNonceLength(Int)
    /// The tag is not 16 bytes.
    case invalidTagLength(Int)
    /// The sealed box is shorter than nonce plus tag.
    case truncated(Int)
    /// The tag did not verify: wrong key, wrong associated data, or tampered nonce, ciphertext or tag.
    case authenticationFailed
    /// OpenSSL failed for another reason.
    case openSSL(OpenSSLError)

    public var description: String {
        switch self {
        case let .invalidKeyLength(count): return "AES-256-GCM: key of \(count) bytes, expected 32"
        case let .invalidNonceLength(count): return "AES-256-GCM: nonce of \(count) bytes, expected 12"
        case let .invalidTagLength(count): return "AES-256-GCM: tag of \(count) bytes, expected 16"
        case let .truncated(count): return "AES-256-GCM: sealed box of \(count) bytes is too short"
        case .authenticationFailed: return "AES-256-GCM: authentication failed (wrong key or tampered data)"
        case let .openSSL(error): return "AES-256-GCM: \(error)"
        }
    }
}

/// AES-256 in Galois/Counter Mode (NIST SP 800-38D) with a 96-bit nonce and a 128-bit tag.
///
/// `seal` draws a random nonce and returns `nonce || ciphertext || tag`; `open` takes the same layout back.
/// Random 96-bit nonces are safe for up to 2^32 seals under one key (SP 800-38D §8.3).
public enum AESGCM {
    public static let keyLength = 32
    public static let nonceLength = 12
    public static let tagLength = 16

    /// Encrypts and authenticates `plaintext` (and authenticates `associatedData`) under a fresh random nonce.
    /// Returns `nonce || ciphertext || tag`.
    public static func seal(
        _ plaintext: [UInt8], key: [UInt8],
        associatedData: [UInt8] = []
    ) throws(AESGCMError) -> [UInt8] {
        let nonce: [UInt8]
        do {
            nonce = try SecureRandom.bytes(nonceLength)
        } catch {
            throw .openSSL(error)
        }
        let (ciphertext, tag) = try encrypt(plaintext, key: key, nonce: nonce, associatedData: associatedData)
        return nonce + ciphertext + tag
    }

    /// Verifies and decrypts `nonce || ciphertext || tag` produced by `seal`.
    /// Throws `.authenticationFailed` on any change to the box or the associated data.
    public static func open(
        _ sealed: [UInt8], key: [UInt8],
        associatedData: [UInt8] = []
    ) throws(AESGCMError) -> [UInt8] {
        guard sealed.count >= nonceLength + tagLength else { throw .truncated(sealed.count) }
        let nonce = Array(sealed[..<nonceLength])
        let ciphertext = Array(sealed[nonceLength..<(sealed.count - tagLength)])
        let tag = Array(sealed[(sealed.count - tagLength)...])
        return try decrypt(ciphertext, key: key, nonce: nonce, tag: tag, associatedData: associatedData)
    }

    /// Encrypts with a caller-chosen nonce (known-answer tests, protocols that fix the nonce).
    /// Never reuse a nonce under the same key.
    public static func encrypt(
        _ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8] = []
    )
        throws(AESGCMError) -> (ciphertext: [UInt8], tag: [UInt8])
    {
        let context = try CipherContext(key: key, nonce: nonce, encrypting: true)
        try context.update(associatedData: associatedData)
        let ciphertext = try context.update(plaintext)
        var length: Int32 = 0
        var final = [UInt8](repeating: 0, count: 16)
        guard EVP_EncryptFinal_ex(context.pointer, &final, &length) == 1 else {
            throw .openSSL(.capture("AES-256-GCM encrypt final"))
        }
        var tag = [UInt8](repeating: 0, count: tagLength)
        guard EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_AEAD_GET_TAG, Int32(tagLength), &tag) == 1 else {
            throw .openSSL(.capture("AES-256-GCM get tag"))
        }
        return (ciphertext + final[..<Int(length)], tag)
    }

    /// Decrypts with an explicit nonce and tag; throws `.authenticationFailed` when the tag does not verify.
    public static func decrypt(
        _ ciphertext: [UInt8], key: [UInt8], nonce: [UInt8], tag: [UInt8],
        associatedData: [UInt8] = []
    ) throws(AESGCMError) -> [UInt8] {
        guard tag.count == tagLength else { throw .invalidTagLength(tag.count) }
        let context = try CipherContext(key: key, nonce: nonce, encrypting: false)
        try context.update(associatedData: associatedData)
        let plaintext = try context.update(ciphertext)
        var expected = tag
        guard EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_AEAD_SET_TAG, Int32(tagLength), &expected) == 1 else {
            throw .openSSL(.capture("AES-256-GCM set tag"))
        }
        var length: Int32 = 0
        var final = [UInt8](repeating: 0, count: 16)
        guard EVP_DecryptFinal_ex(context.pointer, &final, &length) == 1 else {
            _ = OpenSSLError.drainErrorQueue()
            throw .authenticationFailed
        }
        return plaintext + final[..<Int(length)]
    }
}

/// One `EVP_CIPHER_CTX` set up for AES-256-GCM; freed on deinit.
private final class CipherContext {
    let pointer: OpaquePointer
    let encrypting: Bool

    init(key: [UInt8], nonce: [UInt8], encrypting: Bool) throws(AESGCMError) {
        guard key.count == AESGCM.keyLength else { throw .invalidKeyLength(key.count) }
        guard nonce.count == AESGCM.nonceLength else { throw .invalidNonceLength(nonce.count) }
        guard let pointer = EVP_CIPHER_CTX_new() else { throw .openSSL(.capture("EVP_CIPHER_CTX_new")) }
        self.pointer = pointer
        self.encrypting = encrypting
        let initialised =
            encrypting
            ? EVP_EncryptInit_ex(pointer, EVP_aes_256_gcm(), nil, key, nonce)
            : EVP_DecryptInit_ex(pointer, EVP_aes_256_gcm(), nil, key, nonce)
        guard initialised == 1 else { throw .openSSL(.capture("AES-256-GCM init")) }
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }

    func update(associatedData: [UInt8]) throws(AESGCMError) {
        guard !associatedData.isEmpty else { return }
        var length: Int32 = 0
        let ok =
            encrypting
            ? EVP_EncryptUpdate(pointer, nil, &length, associatedData, Int32(associatedData.count))
            : EVP_DecryptUpdate(pointer, nil, &length, associatedData, Int32(associatedData.count))
        guard ok == 1 else { throw .openSSL(.capture("AES-256-GCM associated data")) }
    }

    func update(_ input: [UInt8]) throws(AESGCMError) -> [UInt8] {
        guard !input.isEmpty else { return [] }
        guard input.count <= Int(Int32.max) - 16 else {
            throw .openSSL(OpenSSLError(operation: "AES-256-GCM", queue: ["input of \(input.count) bytes"]))
        }
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var length: Int32 = 0
        let ok =
            encrypting
            ? EVP_EncryptUpdate(pointer, &output, &length, input, Int32(input.count))
            : EVP_DecryptUpdate(pointer, &output, &length, input, Int32(input.count))
        guard ok == 1 else { throw .openSSL(.capture("AES-256-GCM update")) }
        return Array(output[..<Int(length)])
    }
}
