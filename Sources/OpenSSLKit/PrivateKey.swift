import COpenSSL

/// Parameters for generating a key pair.
public enum KeyGenerationParameters: Sendable, Equatable, CustomStringConvertible {
    /// An EC key on a named curve, by OpenSSL name: `P-256`, `P-384`, `P-521`, `brainpoolP256r1`,
    /// `brainpoolP384r1`, `brainpoolP512r1`, …. With `explicitParameters` the key (and any
    /// SubjectPublicKeyInfo made from it) carries the full curve parameters instead of the curve OID,
    /// as some document signer certificates do.
    case ec(curve: String, explicitParameters: Bool = false)
    case rsa(bits: Int)

    public static let p256 = KeyGenerationParameters.ec(curve: "P-256")
    public static let brainpoolP256r1 = KeyGenerationParameters.ec(curve: "brainpoolP256r1")
    public static let rsa2048 = KeyGenerationParameters.rsa(bits: 2048)
    public static let rsa3072 = KeyGenerationParameters.rsa(bits: 3072)

    public var description: String {
        switch self {
        case let .ec(curve, explicit): return explicit ? "EC \(curve) (explicit parameters)" : "EC \(curve)"
        case let .rsa(bits): return "RSA-\(bits)"
        }
    }
}

/// A private key (`EVP_PKEY`), immutable once created. DER/PEM use unencrypted PKCS#8.
public final class PrivateKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }

    /// Generates a fresh key pair.
    /// - Throws: `OpenSSLError` for an unknown curve or a refused size.
    public static func generate(_ parameters: KeyGenerationParameters) throws(OpenSSLError) -> PrivateKey {
        let algorithm: String
        switch parameters {
        case .ec: algorithm = "EC"
        case .rsa: algorithm = "RSA"
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            throw OpenSSLError.capture("\(parameters) key context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw OpenSSLError.capture("\(parameters) keygen init") }
        switch parameters {
        case let .ec(curve, _):
            var name = Array(curve.utf8CString)
            let set = name.withUnsafeMutableBufferPointer { buffer -> Int32 in
                var params = [
                    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, buffer.baseAddress, 0),
                    OSSL_PARAM_construct_end(),
                ]
                return EVP_PKEY_CTX_set_params(context, &params)
            }
            guard set == 1 else { throw OpenSSLError.capture("\(parameters): unknown curve") }
        case let .rsa(bits):
            guard (1024...8192).contains(bits), EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1 else {
                throw OpenSSLError.capture("\(parameters): key size")
            }
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else {
            throw OpenSSLError.capture("\(parameters) key generation")
        }
        if case .ec(_, true) = parameters {
            guard
                EVP_PKEY_set_utf8_string_param(
                    key, OSSL_PKEY_PARAM_EC_ENCODING,
                    OSSL_PKEY_EC_ENCODING_EXPLICIT) == 1
            else {
                EVP_PKEY_free(key)
                throw OpenSSLError.capture("\(parameters): explicit encoding")
            }
        }
        return PrivateKey(owning: key)
    }

    /// Parses a DER private key (PKCS#8, or a traditional RSA/EC structure).
    public convenience init(der: [UInt8]) throws(OpenSSLError) {
        let parsed = try decodeDER(der, "private key", decode: { d2i_AutoPrivateKey(nil, $0, $1) }, free: EVP_PKEY_free)
        self.init(owning: parsed)
    }

    /// Parses an unencrypted PEM private key (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`).
    public convenience init(pem: String) throws(OpenSSLError) {
        let parsed = try decodePEM(pem, "private key") { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        self.init(owning: parsed)
    }

    /// Unencrypted PKCS#8 DER.
    public func derEncoded() throws(OpenSSLError) -> [UInt8] {
        let bio = try MemoryBIO()
        guard i2d_PKCS8PrivateKey_bio(bio.pointer, pointer, nil, nil, 0, nil, nil) == 1 else {
            throw OpenSSLError.capture("private key DER encode")
        }
        return bio.contents
    }

    /// Unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    public func pemEncoded() throws(OpenSSLError) -> String {
        let bio = try MemoryBIO()
        guard PEM_write_bio_PKCS8PrivateKey(bio.pointer, pointer, nil, nil, 0, nil, nil) == 1 else {
            throw OpenSSLError.capture("private key PEM encode")
        }
        return String(decoding: bio.contents, as: UTF8.self)
    }

    /// The matching public key.
    public func publicKey() throws(OpenSSLError) -> PublicKey {
        try PublicKey(der: encodeDER("public key DER encode") { i2d_PUBKEY(pointer, $0) })
    }

    public var keyType: KeyType { KeyType(pkey: pointer) }

    /// The natural scheme for this key with `digest`: ECDSA for EC keys, PKCS#1 v1.5 for RSA.
    public func defaultScheme(digest: DigestAlgorithm = .sha256) -> SignatureScheme {
        if case .rsa = keyType { return .rsaPKCS1v15(digest) }
        return .ecdsa(digest)
    }

    /// Signs `message` (hashed here). ECDSA signatures are DER `Ecdsa-Sig-Value`.
    public func sign(_ message: [UInt8], scheme: SignatureScheme) throws(OpenSSLError) -> [UInt8] {
        let context = try signingContext(scheme: scheme)
        defer { EVP_MD_CTX_free(context) }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else {
            throw OpenSSLError.capture("\(scheme) sign")
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else {
            throw OpenSSLError.capture("\(scheme) sign")
        }
        return Array(signature[..<length])
    }

    /// A digest-sign context set up for `scheme`; the caller frees it with `EVP_MD_CTX_free`.
    func signingContext(scheme: SignatureScheme) throws(OpenSSLError) -> OpaquePointer {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLError.capture("sign context") }
        var keyContext: OpaquePointer?
        guard EVP_DigestSignInit(context, &keyContext, scheme.digest.evpMD, nil, pointer) == 1 else {
            EVP_MD_CTX_free(context)
            throw OpenSSLError.capture("\(scheme) sign init")
        }
        do {
            try scheme.configure(keyContext)
        } catch {
            EVP_MD_CTX_free(context)
            throw error
        }
        return context
    }
}
