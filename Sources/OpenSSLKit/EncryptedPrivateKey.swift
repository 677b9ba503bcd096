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
        guard pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") else {
            throw OpenSSLError(operation: "encrypted private key PEM decode", queue: ["not an encrypted PKCS#8 key"])
        }
        guard !passphrase.isEmpty, !passphrase.contains(0), passphrase.count <= 1024 else {
            throw OpenSSLError(operation: "encrypted private key PEM decode", queue: ["unusable passphrase"])
        }
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        // PEM_def_callback reads the user data as a NUL-terminated string.
        var text = passphrase.map { CChar(bitPattern: $0) } + [0]
        let parsed = text.withUnsafeMutableBufferPointer { buffer in
            PEM_read_bio_PrivateKey(bio.pointer, nil, nil, UnsafeMutableRawPointer(buffer.baseAddress))
        }
        for index in text.indices { text[index] = 0 }
        guard let parsed else { throw OpenSSLError.capture("encrypted private key PEM decode") }
        self.init(owning: parsed)
    }
}
