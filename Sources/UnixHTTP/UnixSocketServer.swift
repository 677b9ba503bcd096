import CSystem
import EnrollAPIModel
import Foundation
import Synchronization

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
/// `startStream` and then `write`s to it until it returns false (the client went away or stopped reading for
/// longer than the server's send timeout).
public final class HTTPConnection: Sendable {
    let fd: Int32
    public let peer: PeerCredentials

    private struct State {
        var closed = false
        /// Set by the server per request: the response says `Connection: keep-alive` and the connection stays open.
        var keepAlive = false
        /// Whether the current request got a complete response (not a stream) the connection can follow.
        var answered = false
    }

    /// Also serialises writes, so a response is never interleaved with another write.
    private let state = Mutex(State())

    init(fd: Int32, peer: PeerCredentials) {
        self.fd = fd
        self.peer = peer
    }

    public func respond(_ response: HTTPResponse) {
        state.withLock { state in
            state.answered = Self.writeAll(fd, response.head(keepAlive: state.keepAlive) + response.body, &state)
        }
    }

    /// Sends the head of a response whose body runs until the connection closes (SSE).
    @discardableResult
    public func startStream(status: Int = 200, headers: [(name: String, value: String)]) -> Bool {
        state.withLock { state in
            state.keepAlive = false
            return Self.writeAll(fd, HTTPResponse(status: status, headers: headers).head(streaming: true), &state)
        }
    }

    /// Writes bytes; false once the peer has gone.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        state.withLock { Self.writeAll(fd, bytes, &$0) }
    }

    /// Prepares for the next request on a persistent connection.
    func next(keepAlive persistent: Bool) {
        state.withLock { state in
            state.keepAlive = persistent
            state.answered = false
        }
    }

    var canContinue: Bool { state.withLock { $0.keepAlive && !$0.closed && $0.answered } }

    /// Sends every byte or marks the connection closed: the peer left, reset it, or did not read for the socket's
    /// send timeout (SO_SNDTIMEO), so a client that stops reading cannot hold a writer for ever.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ state: inout State) -> Bool {
        guard !state.closed else { return false }
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                state.closed = true
                return false
            }
            sent += n
        }
        return true
    }
}

/// What the server does with a connection, decided from its peer's credentials the moment it is accepted, before
/// a byte of the request is read.
public enum ConnectionAdmission: Sendable {
    /// Served. Privileged connections (operators, admins) may also take the slots reserved for them.
    case admit(privileged: Bool)
    /// Answered with this response at once (from the accept thread) and closed: the caller holds no slot.
    case refuse(HTTPResponse)
}

/// Why the server turned a connection away without serving it (counted in `UnixSocketServer.refusals`).
public enum ConnectionRefusal: String, Sendable, CaseIterable {
    /// The admission said so (a caller in no role).
    case admission
    /// Every slot is taken.
    case busy
    /// Only the slots reserved for privileged callers are left.
    case reserved
    /// The caller's uid holds its maximum of connections.
    case perUID = "per-uid"
    /// A request head that did not arrive in time.
    case headTimeout = "head-timeout"
    /// A request body that arrived slower than the minimum rate.
    case bodyTooSlow = "body-too-slow"
}

/// How many connections the server serves and how long it waits for them.
public struct ConnectionLimits: Sendable, Equatable {
    /// Connections served at once, event streams included; one more gets 503 `server-busy`.
    public var maxConnections = 64
    /// Of `maxConnections`, slots only privileged connections may take.
    public var reservedForPrivileged = 8
    /// Connections one uid may hold at once; one more gets 429 `too-many-connections`.
    public var maxPerUID = 16
    /// The whole request head (request line and header fields) must arrive within this many seconds: of the
    /// connection being accepted for the first request, of its first byte for a later one on a persistent
    /// connection. A slower head gets 408 and the connection closes, however steadily its bytes trickle in.
    public var headTimeout: TimeInterval = 10
    /// Slowest average rate at which a body may arrive: it must be complete within `headTimeout` plus
    /// Content-Length / this many bytes per second of the head's end.
    public var minimumBodyBytesPerSecond = 256 * 1024
    /// How long a persistent connection may wait for its next request before it is closed.
    public var keepAliveIdleTimeout: TimeInterval = 5
    /// How long one write may wait for a client that does not read (SO_SNDTIMEO) before the connection closes.
    public var sendTimeout: TimeInterval = 30

    public init() {}
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
/// kiosk software, the CLI, monitoring), at most `connectionLimits.maxConnections` at once, some of them reserved for
/// privileged callers, at most `maxPerUID` per uid. Each connection is admitted or refused from its peer's credentials
/// as it is accepted (`admission`). Connections persist (HTTP/1.1 keep-alive) until the client closes them or stays
/// idle too long; a request's head must arrive within a deadline and its body at a minimum rate, so a caller trickling
/// bytes holds a slot for seconds, not for ever.
public final class UnixSocketServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest, HTTPConnection) -> Void
    public typealias Admission = @Sendable (PeerCredentials) -> ConnectionAdmission

    private let listener: Int32
    public let path: String
    private let limits: HTTPLimits
    private let handler: Handler
    private let ownsPath: Bool

    /// A connection being served (its thread closes it).
    private struct Slot {
        var uid: UInt32
        var privileged: Bool
    }

    private struct State {
        var stopped = false
        var open: [Int32: Slot] = [:]
        var connectionLimits = ConnectionLimits()
        var admission: Admission = { _ in .admit(privileged: false) }
        var refusals: [ConnectionRefusal: Int] = [:]
    }

    private let state = Mutex(State())

    /// The connection limits and timeouts; set before `start()` (later changes apply to new connections).
    public var connectionLimits: ConnectionLimits {
        get { state.withLock { $0.connectionLimits } }
        set { state.withLock { $0.connectionLimits = newValue } }
    }

    /// Decides each connection from its peer's credentials as it is accepted; by default every one is admitted,
    /// none privileged.
    public var admission: Admission {
        get { state.withLock { $0.admission } }
        set { state.withLock { $0.admission = newValue } }
    }

    /// Binds a new socket at `path` (replacing a stale one) with `mode`, optionally owned by `group`.
    public init(
        path: String, mode: mode_t = 0o660, group: gid_t? = nil, limits: HTTPLimits = .default,
        handler: @escaping Handler
    ) throws(SocketError) {
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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
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
        state.withLock { state in
            state.stopped = true
            for fd in state.open.keys { shutdown(fd, Int32(SHUT_RD)) }
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        if ownsPath { unlink(path) }
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    /// Connections being served now.
    public var openConnections: Int { state.withLock { $0.open.count } }

    /// Connections turned away or cut short since the start, by reason.
    public var refusals: [ConnectionRefusal: Int] { state.withLock { $0.refusals } }

    private func count(_ refusal: ConnectionRefusal) {
        state.withLock { $0.refusals[refusal, default: 0] += 1 }
    }

    private func acceptLoop() {
        while !isStopped {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if isStopped { return }
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            let peer = Self.peerCredentials(client)
            let (limits, admission) = state.withLock { ($0.connectionLimits, $0.admission) }
            let privileged: Bool
            switch admission(peer) {
            case let .refuse(response):
                count(.admission)
                refuse(client, response)
                continue
            case let .admit(isPrivileged):
                privileged = isPrivileged
            }
            if let refusal = reserveSlot(client, uid: peer.uid, privileged: privileged) {
                count(refusal)
                refuse(client, Self.refusalResponse(refusal, limits))
                continue
            }
            Self.setTimeout(client, SO_SNDTIMEO, limits.sendTimeout)
            let thread = Thread { [self] in
                serve(client, peer: peer, limits: limits)
                state.withLock { state in
                    state.open[client] = nil
                    close(client)
                }
            }
            thread.name = "enrolld.api-connection"
            thread.start()
        }
    }

    /// Takes a slot for the connection, or says why there is none for it.
    private func reserveSlot(_ fd: Int32, uid: UInt32, privileged: Bool) -> ConnectionRefusal? {
        state.withLock { state in
            let limits = state.connectionLimits
            guard !state.stopped, state.open.count < limits.maxConnections else { return .busy }
            if !privileged {
                let ordinary = state.open.values.count { !$0.privileged }
                guard ordinary < limits.maxConnections - limits.reservedForPrivileged else { return .reserved }
            }
            guard state.open.values.count(where: { $0.uid == uid }) < limits.maxPerUID else { return .perUID }
            state.open[fd] = Slot(uid: uid, privileged: privileged)
            return nil
        }
    }

    static func refusalResponse(_ refusal: ConnectionRefusal, _ limits: ConnectionLimits) -> HTTPResponse {
        var response: HTTPResponse
        switch refusal {
        case .perUID:
            response = .problem(
                Problem(
                    .tooManyConnections,
                    detail: "this user already holds its maximum of \(limits.maxPerUID) connections: "
                        + "close idle ones or reuse a keep-alive connection, then retry"))
        case .reserved:
            response = .problem(
                Problem(
                    .serverBusy,
                    detail: "enrolld's remaining \(limits.reservedForPrivileged) connections are kept for "
                        + "operators and admins; retry in a moment"))
        default:
            response = .problem(
                Problem(
                    .serverBusy,
                    detail: "enrolld is serving its maximum of \(limits.maxConnections) connections; retry in a moment")
            )
        }
        response.headers.append(("Retry-After", "1"))
        return response
    }

    /// Answers a connection that is not served from the accept thread (a small response that fits the socket
    /// buffer; a client that does not read gets at most 200 ms) and closes it.
    private func refuse(_ fd: Int32, _ response: HTTPResponse) {
        Self.setTimeout(fd, SO_SNDTIMEO, 0.2)
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
    private func serve(_ fd: Int32, peer: PeerCredentials, limits: ConnectionLimits) {
        let connection = HTTPConnection(fd: fd, peer: peer)
        var pending: [UInt8] = []
        var idle = false
        while let request = readRequest(fd, connection, limits: limits, pending: &pending, idle: idle) {
            connection.next(keepAlive: request.allowsPersistentConnection && !isStopped)
            handler(request, connection)
            guard connection.canContinue, !isStopped else { return }
            idle = true
        }
    }

    private static func setTimeout(_ fd: Int32, _ option: Int32, _ seconds: TimeInterval) {
        let clamped = max(0, seconds)
        var timeout = timeval(tv_sec: Int(clamped), tv_usec: Int((clamped - clamped.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, option, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Seconds on a clock that only moves forward.
    private static func monotonicSeconds() -> TimeInterval {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return TimeInterval(now.tv_sec) + TimeInterval(now.tv_nsec) / 1e9
    }

    /// Reads one request; nil when the connection is done (closed, idle, too slow or malformed, the last two
    /// answered with a problem). `pending` holds bytes of a pipelined request and keeps those after this one.
    ///
    /// Deadlines, not per-read timeouts: a first request's head must be complete `headTimeout` after the
    /// connection was accepted, a later one's `headTimeout` after its first byte (before that byte the connection
    /// is idle: `keepAliveIdleTimeout`); the body `headTimeout` + Content-Length / `minimumBodyBytesPerSecond` after
    /// the head. A byte every few seconds no longer keeps a connection open.
    private func readRequest(
        _ fd: Int32, _ connection: HTTPConnection, limits: ConnectionLimits,
        pending: inout [UInt8], idle: Bool
    ) -> HTTPRequest? {
        var parser = HTTPRequestParser(limits: self.limits)
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
        let now = Self.monotonicSeconds()
        var headDeadline: TimeInterval? = idle && !received ? nil : now + limits.headTimeout
        let idleDeadline = now + limits.keepAliveIdleTimeout
        var bodyDeadline: TimeInterval?
        var result = parse(pending[...])
        while result.request == nil && !result.failed {
            let now = Self.monotonicSeconds()
            if bodyDeadline == nil, let length = parser.announcedBodyLength {
                let rate = Double(max(1, limits.minimumBodyBytesPerSecond))
                bodyDeadline = now + limits.headTimeout + Double(length) / rate
            }
            let deadline = bodyDeadline ?? headDeadline ?? idleDeadline
            let remaining = deadline - now
            if remaining > 0 {
                Self.setTimeout(fd, SO_RCVTIMEO, max(0.001, remaining))
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                if n > 0 {
                    if headDeadline == nil { headDeadline = Self.monotonicSeconds() + limits.headTimeout }
                    received = true
                    result = parse(chunk[..<n])
                    continue
                }
                guard n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) else { return nil }
            }
            // An idle persistent connection just ends; a request that is too slow gets 408.
            guard received || !idle else { return nil }
            let slowBody = bodyDeadline != nil
            count(slowBody ? .bodyTooSlow : .headTimeout)
            connection.next(keepAlive: false)
            let detail =
                slowBody
                ? "the request body arrived slower than \(limits.minimumBodyBytesPerSecond) bytes per second"
                : "the request head did not arrive within \(ConnectionLimits.seconds(limits.headTimeout)) seconds"
            connection.respond(.problem(Problem(.requestTimeout, detail: detail)))
            return nil
        }
        guard let request = result.request else { return nil }
        pending = parser.remainder
        // No read timeout while the handler works or streams.
        Self.setTimeout(fd, SO_RCVTIMEO, 0)
        return request
    }
}

extension ConnectionLimits {
    /// Seconds as a person writes them: 10, 2.5.
    static func seconds(_ value: TimeInterval) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
