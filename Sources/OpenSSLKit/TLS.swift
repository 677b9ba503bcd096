import COpenSSL
import Foundation

/// A TLS 1.3 configuration (`SSL_CTX`): a server that requires client certificates chaining to a CA file, or a
/// client that presents one and checks the server against a CA file. Nothing older than TLS 1.3 is spoken.
public final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer

    private init(method: OpaquePointer?) throws(OpenSSLError) {
        // OpenSSL writes to the socket with write(2) and send(2) without MSG_NOSIGNAL (close_notify to a peer that
        // left, too): a process speaking TLS ignores SIGPIPE, as enrolld and enroll-kiosk already do, and gets EPIPE.
        signal(SIGPIPE, SIG_IGN)
        guard let context = SSL_CTX_new(method) else { throw OpenSSLError.capture("SSL_CTX_new") }
        pointer = context
        guard enrolld_ssl_ctx_tls13_only(context) == 1 else { throw OpenSSLError.capture("TLS 1.3 only") }
    }

    deinit { SSL_CTX_free(pointer) }

    /// A server with `certificateFile` (PEM, its chain after it) and `keyFile`, requiring a client certificate that
    /// chains to `clientCAFile` (the handshake fails without one).
    public static func server(
        certificateFile: String, keyFile: String, clientCAFile: String
    ) throws(OpenSSLError) -> TLSContext {
        let context = try TLSContext(method: TLS_server_method())
        try context.useCredentials(certificateFile: certificateFile, keyFile: keyFile)
        guard SSL_CTX_load_verify_locations(context.pointer, clientCAFile, nil) == 1 else {
            throw OpenSSLError.capture("client CA file \(clientCAFile)")
        }
        if let names = SSL_load_client_CA_file(clientCAFile) { SSL_CTX_set_client_CA_list(context.pointer, names) }
        SSL_CTX_set_verify(context.pointer, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        // No session tickets: every connection proves its certificate afresh.
        SSL_CTX_set_num_tickets(context.pointer, 0)
        return context
    }

    /// A client checking the server against `caFile`, presenting `certificateFile` and `keyFile` when given.
    public static func client(
        caFile: String, certificateFile: String? = nil, keyFile: String? = nil
    ) throws(OpenSSLError) -> TLSContext {
        let context = try TLSContext(method: TLS_client_method())
        if let certificateFile, let keyFile {
            try context.useCredentials(certificateFile: certificateFile, keyFile: keyFile)
        }
        guard SSL_CTX_load_verify_locations(context.pointer, caFile, nil) == 1 else {
            throw OpenSSLError.capture("CA file \(caFile)")
        }
        SSL_CTX_set_verify(context.pointer, SSL_VERIFY_PEER, nil)
        return context
    }

    private func useCredentials(certificateFile: String, keyFile: String) throws(OpenSSLError) {
        guard SSL_CTX_use_certificate_chain_file(pointer, certificateFile) == 1 else {
            throw OpenSSLError.capture("certificate file \(certificateFile)")
        }
        guard SSL_CTX_use_PrivateKey_file(pointer, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw OpenSSLError.capture("key file \(keyFile)")
        }
        guard SSL_CTX_check_private_key(pointer) == 1 else {
            throw OpenSSLError.capture("the key does not match the certificate")
        }
    }
}

/// One TLS connection over a connected socket it owns once the handshake succeeded (closed on `close()` or deinit;
/// when `accept` or `connect` throws, the descriptor stays the caller's to close). Reads and writes block within the
/// socket's timeouts (SO_RCVTIMEO, SO_SNDTIMEO), which the caller sets.
public final class TLSStream: @unchecked Sendable {
    let ssl: OpaquePointer
    public let descriptor: Int32
    private var closed = false

    private init(context: TLSContext, descriptor: Int32) throws(OpenSSLError) {
        guard let ssl = SSL_new(context.pointer) else { throw OpenSSLError.capture("SSL_new") }
        self.ssl = ssl
        self.descriptor = descriptor
        guard SSL_set_fd(ssl, descriptor) == 1 else {
            let error = OpenSSLError.capture("SSL_set_fd")
            abandon()
            throw error
        }
    }

    deinit { close() }

    /// Frees the connection after a failed handshake, leaving the descriptor open: the caller closes it (closing it
    /// here too would close whatever another thread opened on the same number meanwhile).
    private func abandon() {
        guard !closed else { return }
        closed = true
        SSL_free(ssl)
    }

    /// The server's handshake on an accepted socket; throws when the client has no acceptable certificate.
    public static func accept(_ descriptor: Int32, context: TLSContext) throws(OpenSSLError) -> TLSStream {
        let stream = try TLSStream(context: context, descriptor: descriptor)
        guard SSL_accept(stream.ssl) == 1 else {
            let error = OpenSSLError.capture("TLS handshake")
            stream.abandon()
            throw error
        }
        return stream
    }

    /// The client's handshake on a connected socket, checking the server's certificate names `host`.
    public static func connect(
        _ descriptor: Int32, context: TLSContext, host: String
    ) throws(OpenSSLError) -> TLSStream {
        let stream = try TLSStream(context: context, descriptor: descriptor)
        _ = enrolld_ssl_set_host_name(stream.ssl, host)
        guard SSL_set1_host(stream.ssl, host) == 1 else {
            let error = OpenSSLError.capture("TLS host name")
            stream.abandon()
            throw error
        }
        guard SSL_connect(stream.ssl) == 1 else {
            let error = OpenSSLError.capture("TLS handshake")
            stream.abandon()
            throw error
        }
        return stream
    }

    /// The peer's certificate (verified by the handshake), nil when it sent none.
    public var peerCertificate: X509Certificate? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        return try? X509Certificate(owning: certificate)
    }

    /// Up to `maximum` bytes; empty at the end of the stream, nil on an error or timeout.
    public func read(maximum: Int = 16 * 1024) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: maximum)
        var count = 0
        let result = SSL_read_ex(ssl, &buffer, maximum, &count)
        if result == 1 { return Array(buffer[..<count]) }
        let error = SSL_get_error(ssl, 0)
        _ = OpenSSLError.drainErrorQueue()
        return error == SSL_ERROR_ZERO_RETURN ? [] : nil
    }

    /// Writes every byte; false when the peer went away or the write timed out.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            var written = 0
            let result = bytes[offset...].withUnsafeBytes { SSL_write_ex(ssl, $0.baseAddress, $0.count, &written) }
            guard result == 1 else {
                _ = OpenSSLError.drainErrorQueue()
                return false
            }
            offset += written
        }
        return true
    }

    /// Sends close_notify, frees the connection and closes the socket (once).
    public func close() {
        guard !closed else { return }
        closed = true
        SSL_shutdown(ssl)
        SSL_free(ssl)
        _ = OpenSSLError.drainErrorQueue()
        Glibc.close(descriptor)
    }
}
