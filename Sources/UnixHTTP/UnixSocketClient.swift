import Foundation

/// A minimal HTTP/1.1 client over a Unix socket, for `enrollctl` and tests.
public struct UnixSocketClient: Sendable {
    public let path: String
    /// Seconds to wait for a whole response (not for streams).
    public var timeout: TimeInterval

    public init(path: String, timeout: TimeInterval = 60) {
        self.path = path
        self.timeout = timeout
    }

    /// Sends one request and returns the whole response.
    public func send(_ request: HTTPRequest) throws(ClientError) -> HTTPResponse {
        let fd = try connect()
        defer { close(fd) }
        do {
            try write(fd, request.encoded())
        } catch {
            // A server that refuses a connection at once (503 server-busy) answers and closes without reading the
            // request: its answer is still there to read.
            if let response = try? Self.readResponse(fd) { return response }
            throw error
        }
        guard let response = try Self.readResponse(fd) else {
            throw .io("reading the response: the connection closed before an answer")
        }
        return response
    }

    /// Reads one response: to its Content-Length, or to the end of the connection without one; nil when
    /// the connection closes before a byte arrives.
    static func readResponse(_ fd: Int32) throws(ClientError) -> HTTPResponse? {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .io("reading the response: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            received += chunk[..<n]
            if let response = try? Self.parseResponse(received), let length = response.header("Content-Length"),
                let count = Int(length), response.body.count >= count
            {
                break
            }
        }
        if received.isEmpty { return nil }
        return try Self.parseResponse(received)
    }

    /// Who serves the socket (SO_PEERCRED of a fresh connection): the daemon's pid, uid and gid.
    public func serverCredentials() throws(ClientError) -> PeerCredentials {
        let fd = try connect()
        defer { close(fd) }
        return UnixSocketServer.peerCredentials(fd)
    }

    /// Convenience: GET a path.
    public func get(_ path: String, query: [(name: String, value: String)] = []) throws(ClientError) -> HTTPResponse {
        try send(HTTPRequest(method: "GET", path: path, query: query))
    }

    /// Convenience: POST a JSON body.
    public func post(_ path: String, json: [UInt8]) throws(ClientError) -> HTTPResponse {
        try send(HTTPRequest(method: "POST", path: path, headers: [("Content-Type", "application/json")], body: json))
    }

    /// Opens an event stream and calls `onEvent(name, data)` for each Server-Sent Event until it
    /// returns false or the server closes the stream.
    public func stream(_ path: String, onEvent: (String, String) -> Bool) throws(ClientError) {
        let fd = try connect(receiveTimeout: 0)
        defer { close(fd) }
        try write(fd, HTTPRequest(method: "GET", path: path, headers: [("Accept", "text/event-stream")]).encoded())
        var buffer: [UInt8] = []
        var headDone = false
        var chunk = [UInt8](repeating: 0, count: 8 * 1024)
        var eventName = "message"
        var dataLines: [String] = []
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            buffer += chunk[..<n]
            if !headDone {
                guard let end = Self.headerEnd(buffer) else { continue }
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                guard head.hasPrefix("HTTP/1.1 200") else {
                    throw .status(Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0, head)
                }
                buffer.removeFirst(end + 4)
                headDone = true
            }
            while let newline = buffer.firstIndex(of: 10) {
                var line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                if line.hasSuffix("\r") { line.removeLast() }
                if line.isEmpty {
                    if !dataLines.isEmpty {
                        guard onEvent(eventName, dataLines.joined(separator: "\n")) else { return }
                    }
                    eventName = "message"
                    dataLines = []
                } else if line.hasPrefix("event:") {
                    eventName = line.dropFirst(6).trimmingCharacters(in: .whitespaces)
                } else if line.hasPrefix("data:") {
                    dataLines.append(String(line.dropFirst(5).drop { $0 == " " }))
                }
            }
        }
    }

    /// Relays a streaming response (Server-Sent Events) byte for byte: sends `request`, hands the response head to
    /// `onHead`, then every chunk of the body as it arrives to `onBytes` until it returns false or the server closes
    /// the stream. A response that is not 200 is read whole and handed to `onHead` with its body (no `onBytes`).
    /// The web gateway passes `/v1/events` through with it.
    public func relay(
        _ request: HTTPRequest, onHead: (HTTPResponse) -> Bool,
        onBytes: ([UInt8]) -> Bool
    ) throws(ClientError) {
        let fd = try connect(receiveTimeout: 0)
        defer { close(fd) }
        try write(fd, request.encoded())
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8 * 1024)
        while Self.headerEnd(buffer) == nil {
            guard buffer.count < 16 * 1024 else { throw .malformedResponse("response head too large") }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io("reading the response: the connection closed before an answer") }
            buffer += chunk[..<n]
        }
        let head = try Self.parseResponse(buffer)
        guard head.status == 200 else {
            var timeout = timeval(tv_sec: Int(self.timeout), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var whole = buffer
            let length = head.header("Content-Length").flatMap { Int($0) } ?? 0
            while whole.count - (Self.headerEnd(whole) ?? 0) - 4 < length {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                whole += chunk[..<n]
            }
            _ = onHead(try Self.parseResponse(whole))
            return
        }
        var streamed = head
        streamed.body = []
        guard onHead(streamed) else { return }
        if !head.body.isEmpty { guard onBytes(head.body) else { return } }
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            guard onBytes(Array(chunk[..<n])) else { return }
        }
    }

    func connect(receiveTimeout: TimeInterval? = nil) throws(ClientError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .connect(path, "path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .connect(path, String(cString: strerror(errno))) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .connect(path, reason)
        }
        let seconds = receiveTimeout ?? timeout
        if seconds > 0 {
            var tv = timeval(tv_sec: Int(seconds), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        return fd
    }

    func write(_ fd: Int32, _ bytes: [UInt8]) throws(ClientError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes {
                Foundation.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io("sending the request: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// Parses a response head and body (body runs to Content-Length or to the end).
    public static func parseResponse(_ bytes: [UInt8]) throws(ClientError) -> HTTPResponse {
        guard let end = headerEnd(bytes) else { throw .malformedResponse("incomplete response head") }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/"), let status = Int(statusParts[1]) else {
            throw .malformedResponse("bad status line '\(lines[0])'")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var body = Array(bytes[(end + 4)...])
        if let length = headers.first(where: { $0.name.lowercased() == "content-length" }).flatMap({ Int($0.value) }),
            body.count > length
        {
            body = Array(body.prefix(length))
        }
        return HTTPResponse(status: status, headers: headers, body: body)
    }
}

/// A persistent HTTP/1.1 connection to the daemon (keep-alive), for callers that make many requests: one
/// socket for request after request, reopened when the daemon has closed it (idle timeout, restart).
/// Not for concurrent use: give each thread its own.
public final class UnixSocketSession {
    public let client: UnixSocketClient
    private var fd: Int32 = -1
    /// Connections opened so far (1 while the daemon keeps the first one alive).
    public private(set) var connections = 0

    public init(client: UnixSocketClient) {
        self.client = client
    }

    /// Sends a request on the open connection (or a new one) and returns the whole response. A request
    /// that finds a reused connection already closed by the daemon (idle timeout), before any answer, is
    /// sent once more on a new connection; a timeout is never retried.
    public func send(_ request: HTTPRequest) throws(ClientError) -> HTTPResponse {
        if fd >= 0, let response = try attempt(request, onReused: true) { return response }
        guard let response = try attempt(request, onReused: false) else {
            throw .io("reading the response: the connection closed before an answer")
        }
        return response
    }

    public func get(
        _ path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = []
    ) throws(ClientError) -> HTTPResponse {
        try send(HTTPRequest(method: "GET", path: path, query: query, headers: headers))
    }

    public func post(
        _ path: String, json: [UInt8], headers: [(name: String, value: String)] = []
    ) throws(ClientError)
        -> HTTPResponse
    {
        try send(
            HTTPRequest(
                method: "POST", path: path, headers: [("Content-Type", "application/json")] + headers,
                body: json))
    }

    /// nil when a reused connection turned out closed before the request got an answer.
    private func attempt(_ request: HTTPRequest, onReused: Bool) throws(ClientError) -> HTTPResponse? {
        if fd < 0 {
            fd = try client.connect()
            connections += 1
        }
        do {
            try client.write(fd, request.encoded(keepAlive: true))
        } catch {
            close()
            if onReused { return nil }
            throw error
        }
        let response: HTTPResponse?
        do {
            response = try UnixSocketClient.readResponse(fd)
        } catch {
            close()
            throw error
        }
        guard let response else {
            close()
            return nil
        }
        if response.header("Connection")?.lowercased() != "keep-alive" { close() }
        return response
    }

    /// Closes the connection; the next request opens a new one.
    public func close() {
        if fd >= 0 { Foundation.close(fd) }
        fd = -1
    }

    deinit {
        close()
    }
}

/// Why the client could not get an answer from the daemon.
public enum ClientError: Error, CustomStringConvertible {
    case connect(String, String)
    case io(String)
    case malformedResponse(String)
    case status(Int, String)

    public var description: String {
        switch self {
        case let .connect(path, reason): return "cannot reach enrolld at \(path): \(reason) (is the daemon running?)"
        case let .io(reason): return "connection to enrolld failed while \(reason)"
        case let .malformedResponse(reason): return "enrolld sent a malformed response: \(reason)"
        case let .status(code, head): return "enrolld answered \(code): \(head)"
        }
    }
}
