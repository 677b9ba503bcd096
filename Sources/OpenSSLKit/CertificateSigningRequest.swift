import COpenSSL
import Foundation

/// A PKCS#10 certificate signing request (`X509_REQ`, RFC 2986), immutable once parsed or built.
public final class CertificateSigningRequest: @unchecked Sendable, CustomStringConvertible {
    let pointer: OpaquePointer
    /// The DER encoding as parsed or built.
    public let der: [UInt8]

    /// Takes ownership of `pointer`.
    init(owning pointer: OpaquePointer) throws(OpenSSLError) {
        self.pointer = pointer
        do {
            der = try encodeDER("CSR DER encode") { i2d_X509_REQ(pointer, $0) }
        } catch {
            X509_REQ_free(pointer)
            throw error
        }
    }

    deinit { X509_REQ_free(pointer) }

    /// Parses one DER `CertificationRequest`; trailing bytes are refused.
    public convenience init(der: [UInt8]) throws(OpenSSLError) {
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            let request = d2i_X509_REQ(nil, &cursor, buffer.count)
            if let request, let start = buffer.baseAddress, cursor != start + buffer.count {
                X509_REQ_free(request)
                return nil
            }
            return request
        }
        guard let parsed else { throw OpenSSLError.capture("CSR DER decode") }
        try self.init(owning: parsed)
    }

    /// Parses the first PEM `CERTIFICATE REQUEST` (or `NEW CERTIFICATE REQUEST`) block.
    public convenience init(pem: String) throws(OpenSSLError) {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        guard let parsed = PEM_read_bio_X509_REQ(bio.pointer, nil, nil, nil) else {
            throw OpenSSLError.capture("CSR PEM decode")
        }
        try self.init(owning: parsed)
    }

    /// Builds and signs a request for `key`'s public key with the given subject and no attributes.
    /// - Throws: `OpenSSLError` naming the step that failed.
    public static func create(
        subject: DistinguishedName, key: PrivateKey,
        scheme: SignatureScheme? = nil
    ) throws(OpenSSLError) -> CertificateSigningRequest {
        guard let request = X509_REQ_new() else { throw OpenSSLError.capture("X509_REQ_new") }
        var owned = true
        defer { if owned { X509_REQ_free(request) } }
        guard X509_REQ_set_version(request, 0) == 1 else { throw OpenSSLError.capture("CSR version") }
        let name = try subject.makeName()
        defer { X509_NAME_free(name) }
        guard X509_REQ_set_subject_name(request, name) == 1 else { throw OpenSSLError.capture("CSR subject") }
        guard X509_REQ_set_pubkey(request, key.pointer) == 1 else { throw OpenSSLError.capture("CSR public key") }
        let signingScheme = scheme ?? key.defaultScheme()
        let context = try key.signingContext(scheme: signingScheme)
        defer { EVP_MD_CTX_free(context) }
        guard X509_REQ_sign_ctx(request, context) > 0 else { throw OpenSSLError.capture("CSR sign (\(signingScheme))") }
        owned = false
        return try CertificateSigningRequest(owning: request)
    }

    public var pem: String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN CERTIFICATE REQUEST-----\n\(base64)\n-----END CERTIFICATE REQUEST-----\n"
    }

    /// The subject the requester asked for (informational: issuers usually set their own).
    public var subject: DistinguishedName { DistinguishedName(name: X509_REQ_get_subject_name(pointer)) }

    /// The requested public key.
    public func publicKey() throws(OpenSSLError) -> PublicKey {
        guard let key = X509_REQ_get_pubkey(pointer) else { throw OpenSSLError.capture("CSR public key") }
        return PublicKey(owning: key)
    }

    /// Whether the request's signature verifies with its own public key: the requester's proof of
    /// possession of the private key (RFC 2986 §3).
    public var isSelfSignatureValid: Bool {
        guard let key = X509_REQ_get0_pubkey(pointer) else {
            _ = OpenSSLError.drainErrorQueue()
            return false
        }
        let result = X509_REQ_verify(pointer, key)
        _ = OpenSSLError.drainErrorQueue()
        return result == 1
    }

    public var description: String { "CertificateSigningRequest(\(subject))" }
}
