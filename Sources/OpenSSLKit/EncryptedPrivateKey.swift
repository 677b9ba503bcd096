import COpenSSL

extension PrivateKey {
    /// Encrypted PKCS#8 PEM (`BEGIN ENCRYPTED PRIVATE KEY`, RFC 5958 §3): PBES2 with PBKDF2-HMAC-SHA256
    /// and AES-256-CBC (RFC 8018 §6.2). The passphrase is bytes; it must not contain NUL so that the
    /// OpenSSL command line (`-passin file:`) can read the same key.
    /// - Throws: `OpenSSLError` for an empty passphrase, a NUL in it, or a failed encoding.
    public func encryptedPEM(passphrase: [UInt8]) throws(OpenSSLError) -> String {
        guard !passphrase.isEmpty, !passphrase.contains(0), passphrase.count <= 1024 else {
            throw OpenSSLError(operation: "encrypted private key PEM encode", queue: ["unusable passphrase"])
        }
        let bio = try MemoryBIO()
        let written = passphrase.withUnsafeBufferPointer { buffer -> Int32 in
            let text = UnsafeMutableRawPointer(mutating: buffer.baseAddress)?.assumingMemoryBound(to: CChar.self)
            return PEM_write_bio_PKCS8PrivateKey(
                bio.pointer, pointer, EVP_aes_256_cbc(), text,
                Int32(buffer.count), nil, nil)
        }
        guard written == 1 else { throw OpenSSLError.capture("encrypted private key PEM encode") }
        return String(decoding: bio.contents, as: UTF8.self)
    }

    /// Parses an encrypted PKCS#8 PEM private key (`BEGIN ENCRYPTED PRIVATE KEY`) with `passphrase`.
    /// Unencrypted PEM is refused, so that a key meant to be protected at rest cannot silently lose that.
    /// - Throws: `OpenSSLError` for a wrong passphrase, a damaged file or an unencrypted key.
    public convenience init(encryptedPEM pem: String, passphrase: [UInt8]) throws(OpenSSLError) {
        let decoded = passphrase.withUnsafeBytes { bytes in
            Result { () throws(OpenSSLError) in try Self.decodeEncrypted(pem: pem, passphrase: bytes) }
        }
        self.init(owning: try decoded.get())
    }

    /// As `init(encryptedPEM:passphrase:)`, reading the passphrase where it lies (an owned, wiped buffer): OpenSSL's
    /// password callback copies it into OpenSSL's own buffer, which OpenSSL cleanses; no other copy is made.
    public convenience init(encryptedPEM pem: String, passphrase: UnsafeRawBufferPointer) throws(OpenSSLError) {
        self.init(owning: try Self.decodeEncrypted(pem: pem, passphrase: passphrase))
    }

    private static func decodeEncrypted(
        pem: String, passphrase: UnsafeRawBufferPointer
    ) throws(OpenSSLError) -> OpaquePointer {
        guard pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") else {
            throw OpenSSLError(operation: "encrypted private key PEM decode", queue: ["not an encrypted PKCS#8 key"])
        }
        guard !passphrase.isEmpty, !passphrase.contains(0), passphrase.count <= 1024 else {
            throw OpenSSLError(operation: "encrypted private key PEM decode", queue: ["unusable passphrase"])
        }
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        var source = passphrase
        let parsed = withUnsafeMutablePointer(to: &source) { user in
            PEM_read_bio_PrivateKey(
                bio.pointer, nil,
                { buffer, size, _, user in
                    guard let buffer, let user else { return -1 }
                    let passphrase = user.assumingMemoryBound(to: UnsafeRawBufferPointer.self).pointee
                    guard let base = passphrase.baseAddress, passphrase.count <= Int(size) else { return -1 }
                    UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: passphrase.count)
                    return Int32(passphrase.count)
                }, user)
        }
        guard let parsed else { throw OpenSSLError.capture("encrypted private key PEM decode") }
        return parsed
    }
}
