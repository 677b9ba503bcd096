import EnrollAPIModel
import Enrollment
import CertificateAuthority
import Foundation
import OpenSSLKit
import Store
import Synchronization
import UnixHTTP

/// The verifiers' TCP listener: TLS 1.3 with required client certificates (the handshake fails without one that
/// chains to the client CA file), one HTTP/1.1 request per connection, served by a router holding only the verifier
/// routes. Bounded like the Unix socket server: at most `maxConnections` at once (one more is closed before its
/// handshake), and `timeout` for the handshake and the request together (socket timeouts bound each read and write).
///
/// The peer's certificate reaches the routes as `X-Enrolld-Verifier-Fingerprint` (lower-case hex SHA-256 of its
/// DER), set here after removing any header of that name the client sent.
public final class VerifierListener: Sendable {
    public static let fingerprintHeader = "x-enrolld-verifier-fingerprint"

    let descriptor: Int32
    public let port: UInt16
    let context: TLSContext
    let router: Router
    let limits: HTTPLimits
    let maxConnections: Int
    let timeout: TimeInterval
    private struct State {
        var open = 0
        var stopping = false
        var handshakeFailures = 0
    }
    private let state = Mutex(State())

    /// Binds `address:port` (port 0: any free one) and prepares TLS; `start()` accepts.
    public init(
        address: String, port: Int, context: TLSContext, router: Router, maxConnections: Int, timeout: TimeInterval,
        maxBodyBytes: Int = 64 * 1024
    ) throws(SocketError) {
        let (fd, bound) = try Self.bind(address: address, port: port)
        descriptor = fd
        self.port = bound
        self.context = context
        self.router = router
        self.maxConnections = maxConnections
        self.timeout = timeout
        limits = HTTPLimits(maxHeaderBytes: 8 * 1024, maxHeaderCount: 32, maxBodyBytes: maxBodyBytes)
    }

    /// Connections whose handshake failed (no or an untrusted client certificate, not TLS 1.3, timeouts).
    public var handshakeFailures: Int { state.withLock { $0.handshakeFailures } }

    static func bind(address: String, port: Int) throws(SocketError) -> (Int32, UInt16) {
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let isV6 = address.contains(":")
        if isV6 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, address, &v6.sin6_addr) == 1 else {
                throw .system(call: "verifier.address", path: address, code: EINVAL)
            }
        } else {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, address, &v4.sin_addr) == 1 else {
                throw .system(call: "verifier.address", path: address, code: EINVAL)
            }
        }
        let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(call: "socket", path: address, code: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let result: Int32
        if isV6 {
            result = withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            result = withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard result == 0, listen(fd, 128) == 0 else {
            let code = errno
            close(fd)
            throw .system(call: "bind", path: "\(address):\(port)", code: code)
        }
        var bound = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        // sin_port and sin6_port sit at the same offset.
        return (fd, UInt16(bigEndian: bound.sin6_port))
    }

    public func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "enrolld.verifier-listener"
        thread.start()
    }

    /// Stops accepting (connections being served finish on their own, within `timeout`).
    public func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return !state.stopping
        }
        if first {
            shutdown(descriptor, Int32(SHUT_RDWR))
            close(descriptor)
        }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(descriptor, nil, nil)
            if fd < 0 {
                if state.withLock({ $0.stopping }) { return }
                if errno == EINTR || errno == ECONNABORTED { continue }
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let admitted = state.withLock { state -> Bool in
                guard state.open < maxConnections else { return false }
                state.open += 1
                return true
            }
            guard admitted else {
                close(fd)
                continue
            }
            let worker = Thread { [self] in
                serve(fd)
                state.withLock { $0.open -= 1 }
            }
            worker.name = "enrolld.verifier-connection"
            worker.start()
        }
    }

    private func serve(_ fd: Int32) {
        let deadline = Date().addingTimeInterval(timeout)
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        // Small TLS records each way: without it Nagle holds the answer for the client's delayed ACK (~40 ms).
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // The socket timeouts bound each read; a client trickling a byte at a time is cut at the deadline.
        let watch = ConnectionDeadline(fd)
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { watch.expire() }
        let stream: TLSStream
        do {
            stream = try TLSStream.accept(fd, context: context)
        } catch {
            watch.finish()
            close(fd)
            state.withLock { $0.handshakeFailures += 1 }
            Log.info("verifier listener: TLS handshake refused: \(error)")
            return
        }
        defer {
            watch.finish()
            stream.close()
        }
        guard let certificate = stream.peerCertificate else { return }
        let response: HTTPResponse
        switch readRequest(stream, deadline: deadline) {
        case let .failure(problem):
            response = .problem(problem)
        case var .success(request):
            request.headers.removeAll { $0.name == Self.fingerprintHeader }
            request.headers.append((Self.fingerprintHeader, VerifierRegistry.fingerprint(certificate)))
            response = router.response(to: request, peer: .unknown)
        }
        stream.write(response.head(keepAlive: false) + response.body)
    }

    private func readRequest(_ stream: TLSStream, deadline: Date) -> Result<HTTPRequest, Problem> {
        var parser = HTTPRequestParser(limits: limits)
        while Date() < deadline {
            guard let bytes = stream.read(), !bytes.isEmpty else { break }
            do {
                if let request = try parser.feed(bytes) { return .success(request) }
            } catch {
                return .failure(Problem(error.problem, detail: error.description))
            }
        }
        return .failure(Problem(.requestTimeout, detail: "the request did not arrive complete in time"))
    }
}

/// Shuts a connection's socket down when its time is up, unless it finished first (then its descriptor, about to
/// be closed and reused, is never touched).
final class ConnectionDeadline: Sendable {
    private let fd: Int32
    private let open = Mutex(true)

    init(_ fd: Int32) { self.fd = fd }

    func expire() {
        open.withLock { open in
            if open { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Called before the descriptor is closed.
    func finish() { open.withLock { $0 = false } }
}

extension Daemon {
    /// The verifier routes only: what the TLS listener serves.
    public func makeVerifierRouter() -> Router {
        var router = Router()
        addVerifierRequestRoutes(to: &router)
        return router
    }
}

extension Daemon {
    /// The registry (issuing verifier certificates from our CA) and the release desk (sealing with the issuer key,
    /// enveloping to the verifier's certificate), made by `prepare()`.
    func makeReleaseServices(
        _ store: any Store, _ accounts: AccountService, _ authority: IssuingAuthority
    ) -> (registry: VerifierRegistry, desk: ReleaseDesk) {
        let now = environment.now
        let registry = VerifierRegistry(store: store, now: now) {
            csr, id, legalName, elements, until throws(EnrollmentError) -> X509Certificate in
            do throws(CertificateAuthorityError) {
                return try authority.issueVerifierCertificate(
                    csr: Array(csr.utf8), id: id, legalName: legalName, elements: elements, notAfter: until,
                    now: now())
            } catch {
                throw EnrollmentError(.invalidVerifier, "the verifier's CSR was refused: \(error)")
            }
        }
        var settings = ReleaseDesk.Settings()
        settings.tokenLifetime = configuration.verifierTokenSeconds
        settings.refreshInterval = configuration.verifierTokenSeconds / 2
        let desk = ReleaseDesk(
            store: store, accounts: accounts, settings: settings, now: now, tokenKey: environment.randomBytes(32)
        ) { document, certificatePEM in
            let signed = try authority.signedData(document, at: now())
            return try CMSEnvelopedData.encrypt(signed, to: try X509Certificate(pem: certificatePEM))
        }
        return (registry, desk)
    }

    /// Opens the verifiers' TLS listener from `[verifier]` (the client CA file defaults to this daemon's CA
    /// certificate) and starts it.
    @discardableResult
    public func startVerifierListener() throws -> VerifierListener {
        guard let certificate = configuration.verifierCertificateFile, let key = configuration.verifierKeyFile else {
            throw Problem(
                .invalidBody,
                detail: "[verifier] enabled needs certificate_file and key_file (the listener's TLS credentials)")
        }
        let clientCA =
            configuration.verifierClientCAFile
            ?? configuration.resolvedCADirectory + "/" + CAStore.certificateFileName
        let context = try TLSContext.server(certificateFile: certificate, keyFile: key, clientCAFile: clientCA)
        let listener = try VerifierListener(
            address: configuration.verifierAddress, port: configuration.verifierPort, context: context,
            router: makeVerifierRouter(), maxConnections: configuration.verifierMaxConnections,
            timeout: configuration.verifierTimeoutSeconds)
        keepVerifierListener(listener)
        listener.start()
        Log.notice(
            "verifier listener on \(configuration.verifierAddress):\(listener.port) (TLS 1.3, client certificates)")
        return listener
    }
}
