import COpenSSL

/// A signature scheme with its hash: RSA PKCS#1 v1.5, RSA-PSS (MGF1 with the same hash) or ECDSA.
public enum SignatureScheme: Sendable, Equatable, CustomStringConvertible {
    case rsaPKCS1v15(DigestAlgorithm)
    /// `saltLength` nil means "as long as the digest", the usual choice (RFC 4055 §3.1).
    case rsaPSS(DigestAlgorithm, saltLength: Int? = nil)
    case ecdsa(DigestAlgorithm)

    public var digest: DigestAlgorithm {
        switch self {
        case let .rsaPKCS1v15(digest), let .rsaPSS(digest, _), let .ecdsa(digest): return digest
        }
    }

    public var description: String {
        switch self {
        case let .rsaPKCS1v15(digest): return "RSA PKCS#1 v1.5 with \(digest.rawValue)"
        case let .rsaPSS(digest, _): return "RSA-PSS with \(digest.rawValue)"
        case let .ecdsa(digest): return "ECDSA with \(digest.rawValue)"
        }
    }

    /// Applies padding and salt length to a digest-sign or digest-verify context.
    func configure(_ context: OpaquePointer?) throws(OpenSSLError) {
        guard case let .rsaPSS(digest, saltLength) = self else { return }
        guard EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PSS_PADDING) == 1,
            EVP_PKEY_CTX_set_rsa_pss_saltlen(context, Int32(saltLength ?? digest.outputLength)) == 1,
            EVP_PKEY_CTX_set_rsa_mgf1_md(context, digest.evpMD) == 1
        else { throw OpenSSLError.capture("RSA-PSS parameters") }
    }
}

extension DigestAlgorithm {
    /// The algorithm's OBJECT IDENTIFIER in dotted form (RFC 3279 / RFC 5754).
    public var oid: String {
        switch self {
        case .sha1: return "1.3.14.3.2.26"
        case .sha224: return "2.16.840.1.101.3.4.2.4"
        case .sha256: return "2.16.840.1.101.3.4.2.1"
        case .sha384: return "2.16.840.1.101.3.4.2.2"
        case .sha512: return "2.16.840.1.101.3.4.2.3"
        }
    }

    /// The digest named by a dotted OID, or nil.
    public init?(oid: String) {
        guard let match = DigestAlgorithm.allCases.first(where: { $0.oid == oid }) else { return nil }
        self = match
    }

    /// The digest for an OpenSSL NID (digest NIDs only).
    init?(nid: Int32) {
        switch nid {
        case NID_sha1: self = .sha1
        case NID_sha224: self = .sha224
        case NID_sha256: self = .sha256
        case NID_sha384: self = .sha384
        case NID_sha512: self = .sha512
        default: return nil
        }
    }
}

/// The key algorithm behind an `EVP_PKEY`.
public enum KeyType: Sendable, Equatable {
    case rsa(bits: Int)
    /// `curve` is OpenSSL's short name (`prime256v1`, `brainpoolP256r1`, …) or nil for explicit parameters
    /// that match no named curve.
    case ec(curve: String?, bits: Int)
    case other(String)
}

/// A public key (`EVP_PKEY`), immutable once created. DER import/export uses SubjectPublicKeyInfo.
public final class PublicKey: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Takes ownership of `pointer`.
    init(owning pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }

    /// Parses a DER SubjectPublicKeyInfo.
    public convenience init(der: [UInt8]) throws(OpenSSLError) {
        let parsed = try decodeDER(der, "public key", decode: { d2i_PUBKEY(nil, $0, $1) }, free: EVP_PKEY_free)
        self.init(owning: parsed)
    }

    /// Parses a PEM `PUBLIC KEY` block.
    public convenience init(pem: String) throws(OpenSSLError) {
        let parsed = try decodePEM(pem, "public key") { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        self.init(owning: parsed)
    }

    /// DER SubjectPublicKeyInfo.
    public func derEncoded() throws(OpenSSLError) -> [UInt8] {
        try encodeDER("public key DER encode") { i2d_PUBKEY(pointer, $0) }
    }

    public func pemEncoded() throws(OpenSSLError) -> String {
        let bio = try MemoryBIO()
        guard PEM_write_bio_PUBKEY(bio.pointer, pointer) == 1 else { throw OpenSSLError.capture("public key PEM") }
        return String(decoding: bio.contents, as: UTF8.self)
    }

    public var keyType: KeyType { KeyType(pkey: pointer) }

    /// Verifies `signature` over `message` (hashed here). Returns false for a wrong signature;
    /// throws only when the scheme does not fit the key or OpenSSL cannot run the check.
    public func verify(signature: [UInt8], message: [UInt8], scheme: SignatureScheme) throws(OpenSSLError) -> Bool {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLError.capture("verify context") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestVerifyInit(context, &keyContext, scheme.digest.evpMD, nil, pointer) == 1 else {
            throw OpenSSLError.capture("\(scheme) verify init")
        }
        try scheme.configure(keyContext)
        let result = EVP_DigestVerify(context, signature, signature.count, message, message.count)
        _ = OpenSSLError.drainErrorQueue()
        return result == 1
    }
}

extension KeyType {
    init(pkey: OpaquePointer) {
        let bits = Int(EVP_PKEY_get_bits(pkey))
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS:
            self = .rsa(bits: bits)
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 80)
            var length = 0
            let named = EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, &name, name.count, &length)
            _ = OpenSSLError.drainErrorQueue()
            self = .ec(curve: named == 1 ? String(cString: name) : nil, bits: bits)
        default:
            let typeName = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
            self = .other(typeName)
        }
    }
}

/// An OpenSSL memory BIO, freed on deinit.
final class MemoryBIO {
    let pointer: OpaquePointer

    init() throws(OpenSSLError) {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.capture("BIO_new") }
        pointer = bio
    }

    /// A writable memory BIO holding a copy of `bytes` (readable from the start).
    convenience init(bytes: [UInt8]) throws(OpenSSLError) {
        try self.init()
        if !bytes.isEmpty {
            guard BIO_write(pointer, bytes, Int32(bytes.count)) == Int32(bytes.count) else {
                throw OpenSSLError.capture("BIO_write")
            }
        }
    }

    deinit { BIO_free(pointer) }

    /// Everything written and not yet read.
    var contents: [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = BIO_read(pointer, &chunk, Int32(chunk.count))
            if count <= 0 { break }
            out += chunk[..<Int(count)]
        }
        return out
    }
}

/// Calls an `i2d_*` function twice (size, then bytes).
func encodeDER(
    _ operation: String,
    _ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32
)
    throws(OpenSSLError) -> [UInt8]
{
    let length = encode(nil)
    guard length > 0 else { throw OpenSSLError.capture(operation) }
    var out = [UInt8](repeating: 0, count: Int(length))
    let written = out.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var cursor = buffer.baseAddress
        return encode(&cursor)
    }
    guard written == length else { throw OpenSSLError.capture(operation) }
    return out
}

/// Runs a `d2i_*` decoder over all of `der`; an object followed by trailing bytes is refused (and freed).
func decodeDER(
    _ der: [UInt8], _ what: String,
    decode: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> OpaquePointer?,
    free: (OpaquePointer) -> Void
) throws(OpenSSLError) -> OpaquePointer {
    let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
        guard let start = buffer.baseAddress else { return nil }
        var cursor: UnsafePointer<UInt8>? = start
        guard let object = decode(&cursor, buffer.count) else { return nil }
        guard cursor == start + buffer.count else {
            free(object)
            return nil
        }
        return object
    }
    guard let parsed else { throw OpenSSLError.capture("\(what) DER decode") }
    return parsed
}

/// Runs a `PEM_read_bio_*` reader over `pem` and returns the first object.
func decodePEM(
    _ pem: String, _ what: String,
    read: (OpaquePointer) -> OpaquePointer?
) throws(OpenSSLError) -> OpaquePointer {
    let bio = try MemoryBIO(bytes: Array(pem.utf8))
    guard let parsed = read(bio.pointer) else { throw OpenSSLError.capture("\(what) PEM decode") }
    return parsed
}
