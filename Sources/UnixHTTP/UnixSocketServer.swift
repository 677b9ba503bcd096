import CSystem
import EnrollAPIModel
import Foundation

/// Who is on the other end of a Unix socket: pid, uid and primary gid from SO_PEERCRED, and the supplementary
/// groups the process had when it connected from SO_PEERGROUPS (Linux 4.13+; empty where the kernel lacks it).
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    /// Credentials that match no one (SO_PEERCRED failed).
    public static let unknown = PeerCredentials(pid: 0, uid: UInt32.max, gid: UInt32.max)
}

/// One accepted connection. A handler answers with `respond` once, or opens a stream with
/// `startStream` and then `write`s to it until it returns false (the client went away).
public final class HTTPConnection: @unchecked Sendable {
    let fd: Int32
    public let peer: PeerCredentials
    private var closed = false
    private let lock = NSLock()
    /// Set by the server per request: the response says `Connection: keep-alive` and the connection stays open.
    var keepAlive = false
    /// Whether the current request got a complete response (not a stream) the connection can follow.
    private(set) var answered = false

    init(fd: Int32, peer: PeerCredentials) {
        self.fd = fd
        self.peer = peer
    }

    public func respond(_ response: HTTPResponse) {
        let persistent = lock.withLock { keepAlive }
        answered = writeAll(response.head(keepAlive: persistent) + response.body)
    }

    /// Sends the head of a response whose body runs until the connection closes (SSE).
    @discardableResult
    public func startStream(status: Int = 200, headers: [(name: String, value: String)]) -> Bool {
        lock.withLock { keepAlive = false }
        return writeAll(HTTPResponse(status: status, headers: headers).head(streaming: true))
    }

    /// Writes bytes; false once the peer has gone.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        writeAll(bytes)
    }

    /// Prepares for the next request on a persistent connection.
    func next(keepAlive persistent: Bool) {
        lock.withLock { keepAlive = persistent }
        answered = false
    }

    var canContinue: Bool { lock.withLock { keepAlive && !closed } && answered }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return false }
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                closed = true
                return false
            }
            sent += n
        }
        return true
    }
}

/// Errors from setting up the API socket.
public enum SocketError: Error, CustomStringConvertible {
    case pathTooLong(String)
    case system(call: String, path: String, code: Int32)
    case unknownGroup(String)

    public var description: String {
        switch self {
        case let .pathTooLong(path): return "socket path '\(path)' is longer than 107 bytes"
        case let .unknownGroup(name):
            return "socket group '\(name)' does not exist: create it or change api.socket_group"
        case let .system(call, path, code): return "\(call) \(path): \(String(cString: strerror(code)))"
        }
    }
}

/// An HTTP/1.1 server on a Unix stream socket; one thread per connection (connections are few:
/// kiosk software, the CLI, monitoring), at most `maxConnections` at once. Connections persist
/// (HTTP/1.1 keep-alive) until the client closes them or stays idle for `keepAliveIdleTimeout`.
public final class UnixSocketServer: @unchecked Sendable {
    public typealias Handler = @Sendable (HTTPRequest, HTTPConnection) -> Void

    private let listener: Int32
    public let path: String
    private let limits: HTTPLimits
    private let handler: Handler
    private let lock = NSLock()
    private var stopped = false
    private var ownsPath: Bool
    /// Descriptors of the connections being served (their threads close them).
    private var open: Set<Int32> = []
    /// How long a client may take to send a request once it has started (each read).
    public var requestTimeout: TimeInterval = 10
    /// How long a persistent connection may wait for its next request before it is closed.
    public var keepAliveIdleTimeout: TimeInterval = 5
    /// Connections served at once, event streams included; one more gets 503 `server-busy` and is closed.
    public var maxConnections = 64

    /// Binds a new socket at `path` (replacing a stale one) with `mode`, optionally owned by `group`.
    public init(path: String, mode: mode_t = 0o660, group: gid_t? = nil, limits: HTTPLimits = .default,
                handler: @escaping Handler) throws(SocketError) {
        self.path = path
        self.limits = limits
        self.handler = handler
        self.ownsPath = true
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw .pathTooLong(path) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .system(call: "socket", path: path, code: errno) }
        unlink(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw .system(call: "bind", path: path, code: code)
        }
        var failed: String?
        if chmod(path, mode) != 0 {
            failed = "chmod"
        } else if let group, chown(path, uid_t.max, group) != 0 {
            failed = "chown"
        }
        if let failed {
            let code = errno
            close(fd)
            unlink(path)
            throw .system(call: failed, path: path, code: code)
        }
        guard listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw .system(call: "listen", path: path, code: code)
        }
        listener = fd
    }

    /// Adopts an already listening socket (systemd socket activation, `LISTEN_FDS`).
    public init(listeningDescriptor fd: Int32, limits: HTTPLimits = .default, handler: @escaping Handler) {
        listener = fd
        path = "(socket-activated)"
        self.limits = limits
        self.handler = handler
        ownsPath = false
    }

    /// Accepts connections on a background thread.
    public func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "enrolld.api-accept"
        thread.start()
    }

    /// Stops accepting; connections waiting for a request end, those being answered finish their response.
    public func stop() {
        lock.withLock {
            stopped = true
            for fd in open { shutdown(fd, Int32(SHUT_RD)) }
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        if ownsPath { unlink(path) }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// Connections being served now.
    public var openConnections: Int { lock.withLock { open.count } }

    private func acceptLoop() {
        while !isStopped {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if isStopped { return }
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            let admitted = lock.withLock { () -> Bool in
                guard !stopped, open.count < maxConnections else { return false }
                open.insert(client)
                return true
            }
            guard admitted else {
                refuseBusy(client)
                continue
            }
            let thread = Thread { [self] in
                serve(client)
                lock.withLock {
                    open.remove(client)
                    close(client)
                }
            }
            thread.name = "enrolld.api-connection"
            thread.start()
        }
    }

    /// Answers a connection over the cap with 503 from the accept thread (a small response that fits the
    /// socket buffer) and closes it.
    private func refuseBusy(_ fd: Int32) {
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var response = HTTPResponse.problem(Problem(
            .serverBusy, detail: "enrolld is serving its maximum of \(maxConnections) connections; retry in a moment"))
        response.headers.append(("Retry-After", "1"))
        HTTPConnection(fd: fd, peer: .unknown).respond(response)
        close(fd)
    }

    static func peerCredentials(_ fd: Int32) -> PeerCredentials {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        guard enrolld_peer_credentials(fd, &pid, &uid, &gid) == 0 else { return .unknown }
        return PeerCredentials(pid: pid, uid: uid, gid: gid, groups: peerGroups(fd))
    }

    /// The peer's supplementary groups (SO_PEERGROUPS); empty when the kernel does not report them.
    static func peerGroups(_ fd: Int32) -> [UInt32] {
        var groups = [gid_t](repeating: 0, count: 64)
        for _ in 0..<2 {
            var count = Int32(groups.count)
            if enrolld_peer_groups(fd, &groups, &count) == 0 { return Array(groups.prefix(Int(count))) }
            guard errno == ERANGE, count > groups.count, count <= 65536 else { return [] }
            groups = [gid_t](repeating: 0, count: Int(count))
        }
        return []
    }

    /// Serves requests on one connection until it closes, stays idle too long, or a response ends it.
    private func serve(_ fd: Int32) {
        let connection = HTTPConnection(fd: fd, peer: Self.peerCredentials(fd))
        var pending: [UInt8] = []
        var idle = false
        while let request = readRequest(fd, connection, pending: &pending, idle: idle) {
            connection.next(keepAlive: request.allowsPersistentConnection && !isStopped)
            handler(request, connection)
            guard connection.canContinue, !isStopped else { return }
            idle = true
        }
    }

    private static func setReceiveTimeout(_ fd: Int32, _ seconds: TimeInterval) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Reads one request; nil when the connection is done (closed, idle, timed out or malformed, the last two
    /// answered with a problem). `pending` holds bytes of a pipelined request and keeps those after this one.
    private func readRequest(_ fd: Int32, _ connection: HTTPConnection, pending: inout [UInt8],
                             idle: Bool) -> HTTPRequest? {
        var parser = HTTPRequestParser(limits: limits)
        var received = !pending.isEmpty
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        func parse(_ bytes: ArraySlice<UInt8>) -> (request: HTTPRequest?, failed: Bool) {
            do {
                guard let request = try parser.feed(bytes) else { return (nil, false) }
                return (request, false)
            } catch {
                connection.next(keepAlive: false)
                connection.respond(.problem(Problem(error.problem, detail: error.description)))
                return (nil, true)
            }
        }
        var result = parse(pending[...])
        while result.request == nil && !result.failed {
            Self.setReceiveTimeout(fd, idle && !received ? keepAliveIdleTimeout : requestTimeout)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                // An idle persistent connection just ends; a request that stalls gets 408.
                guard received || !idle else { return nil }
                connection.next(keepAlive: false)
                connection.respond(.problem(Problem(.requestTimeout, detail: "the request did not arrive in time")))
                return nil
            }
            guard n > 0 else { return nil }
            received = true
            result = parse(chunk[..<n])
        }
        guard let request = result.request else { return nil }
        pending = parser.remainder
        // No read timeout while the handler works or streams.
        Self.setReceiveTimeout(fd, 0)
        return request
    }
}
