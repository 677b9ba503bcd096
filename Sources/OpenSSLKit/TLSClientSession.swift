import COpenSSL
import Foundation

/// A TLS client session over a connected socket (the SMTP transport's STARTTLS, an HTTPS SMS gateway): TLS 1.2 or
/// newer, the server's certificate verified against the system's trust store (or `trustFile`) and matched to
/// `host` (RFC 6125 through OpenSSL's `SSL_set1_host`), SNI sent. The socket stays the caller's to close.
///
/// Not for concurrent use: one thread reads and writes a session at a time.
public final class TLSClientSession: @unchecked Sendable {
    private let context: OpaquePointer
    private let ssl: OpaquePointer

    /// Handshakes on `descriptor`. Throws with OpenSSL's error queue and the verification result when the
    /// handshake or the certificate check fails.
    public init(descriptor: Int32, host: String, trustFile: String? = nil) throws(OpenSSLError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .capture("SSL_CTX_new") }
        self.context = context
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw .capture("SSL_new")
        }
        self.ssl = ssl
        // TLS1_2_VERSION: the SSL_CTX_set_min_proto_version macro's control.
        SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        let loaded =
            trustFile.map { SSL_CTX_load_verify_locations(context, $0, nil) }
            ?? SSL_CTX_set_default_verify_paths(context)
        guard loaded == 1 else { throw .capture("loading the TLS trust store \(trustFile ?? "(system)")") }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        guard SSL_set1_host(ssl, host) == 1, enrolld_ssl_set_host_name(ssl, host) == 1,
            SSL_set_fd(ssl, descriptor) == 1
        else { throw .capture("TLS session setup for \(host)") }
        guard SSL_connect(ssl) == 1 else {
            let verification = SSL_get_verify_result(ssl)
            let reason =
                verification == X509_V_OK
                ? "TLS handshake with \(host)"
                : "TLS handshake with \(host): certificate "
                    + String(cString: X509_verify_cert_error_string(Int(verification)))
            throw .capture(reason)
        }
    }

    deinit {
        SSL_shutdown(ssl)
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Writes all of `bytes`; false when the connection failed.
    public func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { pointer in
                SSL_write(ssl, pointer.baseAddress, Int32(min(pointer.count, Int(Int32.max))))
            }
            guard written > 0 else { return false }
            offset += Int(written)
        }
        return true
    }

    /// Reads up to `count` bytes; empty at the end of the stream or on failure (a timeout included).
    public func read(upTo count: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let read = buffer.withUnsafeMutableBytes { pointer in SSL_read(ssl, pointer.baseAddress, Int32(count)) }
        guard read > 0 else { return [] }
        return Array(buffer.prefix(Int(read)))
    }
}
