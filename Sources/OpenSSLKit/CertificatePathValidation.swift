import COpenSSL
import Foundation

/// Why a certification path did not validate: OpenSSL's verification error code and text, and the depth in the
/// chain where it was found (0 is the certificate being validated).
public struct CertificatePathError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int32
    public var reason: String
    public var depth: Int

    public var description: String { "certification path invalid at depth \(depth): \(reason) (X509_V_ERR \(code))" }
}

/// RFC 5280 §6 path validation through OpenSSL's `X509_verify_cert`, with the checks made strict
/// (`X509_V_FLAG_X509_STRICT`) and the validation time given rather than read from the clock.
public enum CertificatePath {
    /// Validates `certificate` up to one of `anchors` at `date`.
    ///
    /// An anchor need not be self-signed (the other jurisdiction's issuing CA may itself sit under a root that is
    /// not ours to trust): the path may end at any anchor (`X509_V_FLAG_PARTIAL_CHAIN`). Revocation is not checked
    /// here; the caller asks the issuer's OCSP responder or CRL.
    /// - Parameters:
    ///   - intermediates: untrusted certificates the path may pass through.
    /// - Returns: the path, the certificate first and the anchor last.
    /// - Throws: `CertificatePathError` with OpenSSL's verification error.
    public static func validate(
        _ certificate: X509Certificate, anchors: [X509Certificate],
        intermediates: [X509Certificate] = [], at date: Date
    )
        throws(CertificatePathError) -> [X509Certificate]
    {
        guard !anchors.isEmpty else {
            throw CertificatePathError(
                code: X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, reason: "no trust anchor",
                depth: 0)
        }
        guard let store = X509_STORE_new() else { throw failure("X509_STORE_new") }
        defer { X509_STORE_free(store) }
        for anchor in anchors where X509_STORE_add_cert(store, anchor.pointer) != 1 {
            _ = OpenSSLError.drainErrorQueue()
        }
        guard let untrusted = OPENSSL_sk_new_null() else { throw failure("certificate stack") }
        defer { OPENSSL_sk_free(untrusted) }
        for intermediate in intermediates { OPENSSL_sk_push(untrusted, UnsafeRawPointer(intermediate.pointer)) }
        guard let context = X509_STORE_CTX_new() else { throw failure("X509_STORE_CTX_new") }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, certificate.pointer, untrusted) == 1 else {
            throw failure("X509_STORE_CTX_init")
        }
        let parameters = X509_STORE_CTX_get0_param(context)
        X509_VERIFY_PARAM_set_flags(parameters, UInt(X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT))
        X509_VERIFY_PARAM_set_time(parameters, time_t(date.timeIntervalSince1970.rounded(.down)))
        let result = X509_verify_cert(context)
        _ = OpenSSLError.drainErrorQueue()
        guard result == 1 else {
            let code = X509_STORE_CTX_get_error(context)
            let reason = X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "unknown error"
            throw CertificatePathError(code: code, reason: reason, depth: Int(X509_STORE_CTX_get_error_depth(context)))
        }
        guard let chain = X509_STORE_CTX_get0_chain(context) else { throw failure("verified chain") }
        var path: [X509Certificate] = []
        for index in 0..<max(0, OPENSSL_sk_num(chain)) {
            guard let raw = OPENSSL_sk_value(chain, index), X509_up_ref(OpaquePointer(raw)) == 1 else { continue }
            if let link = try? X509Certificate(owning: OpaquePointer(raw)) { path.append(link) }
        }
        return path
    }

    private static func failure(_ step: String) -> CertificatePathError {
        let queue = OpenSSLError.drainErrorQueue()
        return CertificatePathError(
            code: X509_V_ERR_UNSPECIFIED, reason: ([step] + queue).joined(separator: ": "),
            depth: 0)
    }
}
