import COpenSSL
import Foundation

/// CMS EnvelopedData (RFC 5652 §6): content encrypted with AES-256-CBC under a random key, the key transported to one
/// recipient's certificate (RSA key transport or ECDH key agreement, as the certificate's key allows), so
/// `openssl cms -decrypt -inform DER -recip cert.pem -inkey key.pem` opens it.
public enum CMSEnvelopedData {
    /// The DER ContentInfo of `content` enveloped to `recipient`.
    public static func encrypt(_ content: [UInt8], to recipient: X509Certificate) throws(OpenSSLError) -> [UInt8] {
        guard let certificates = OPENSSL_sk_new_null() else { throw OpenSSLError.capture("CMS recipients") }
        defer { OPENSSL_sk_free(certificates) }
        guard OPENSSL_sk_push(certificates, UnsafeRawPointer(recipient.pointer)) > 0 else {
            throw OpenSSLError.capture("CMS recipient")
        }
        let data = try MemoryBIO(bytes: content)
        guard
            let cms = CMS_encrypt(
                certificates, data.pointer, EVP_aes_256_cbc(), UInt32(CMS_BINARY))
        else { throw OpenSSLError.capture("CMS encrypt") }
        defer { CMS_ContentInfo_free(cms) }
        return try encodeDER("CMS EnvelopedData encode") { i2d_CMS_ContentInfo(cms, $0) }
    }

    /// Opens an EnvelopedData for `certificate`'s holder with `key`. Throws when it is not EnvelopedData, or not for
    /// this key.
    public static func decrypt(
        _ der: [UInt8], certificate: X509Certificate, key: PrivateKey
    ) throws(OpenSSLError) -> [UInt8] {
        guard der.count <= 1 << 20 else { throw OpenSSLError(operation: "CMS decrypt", queue: ["over 1 MiB"]) }
        let cms = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_CMS_ContentInfo(nil, &cursor, buffer.count)
        }
        guard let cms else { throw OpenSSLError.capture("CMS DER decode") }
        defer { CMS_ContentInfo_free(cms) }
        guard OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_enveloped else {
            throw OpenSSLError(operation: "CMS decrypt", queue: ["content type is not envelopedData"])
        }
        let out = try MemoryBIO()
        guard CMS_decrypt(cms, key.pointer, certificate.pointer, nil, out.pointer, UInt32(CMS_BINARY)) == 1 else {
            throw OpenSSLError.capture("CMS decrypt")
        }
        return out.contents
    }
}

extension CMSSignedData {
    /// Verifies the SignedData's signature and its signer's certificate chain to `trusted` (with `CMS_verify`, as
    /// `openssl cms -verify -CAfile … -purpose any` does); returns the signed content.
    /// - Throws: `OpenSSLError` when the signature or the chain does not verify.
    public static func verifiedContent(_ der: [UInt8], trusted: [X509Certificate]) throws(OpenSSLError) -> [UInt8] {
        let cms = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_CMS_ContentInfo(nil, &cursor, buffer.count)
        }
        guard let cms else { throw OpenSSLError.capture("CMS DER decode") }
        defer { CMS_ContentInfo_free(cms) }
        guard let store = X509_STORE_new() else { throw OpenSSLError.capture("X509_STORE_new") }
        defer { X509_STORE_free(store) }
        for certificate in trusted where X509_STORE_add_cert(store, certificate.pointer) != 1 {
            throw OpenSSLError.capture("trusted certificate")
        }
        // The signer may be a CA certificate itself (a daemon signs releases with its issuer key): no S/MIME
        // purpose is asked of it, as `openssl cms -verify -purpose any`.
        X509_STORE_set_purpose(store, X509_PURPOSE_ANY)
        let out = try MemoryBIO()
        guard CMS_verify(cms, nil, store, nil, out.pointer, UInt32(CMS_BINARY)) == 1 else {
            throw OpenSSLError.capture("CMS verify")
        }
        return out.contents
    }
}
