import Foundation

/// Why a status location could not be fetched.
public struct StatusFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    public var url: String
    public var reason: String

    public init(url: String, reason: String) {
        self.url = url
        self.reason = reason
    }

    public var description: String { "\(url): \(reason)" }
}

/// The seam through which the validator reaches another jurisdiction's OCSP responders and CRLs (RFC 6960
/// Appendix A, RFC 5280 §4.2.1.13). `HTTPStatusFetcher` is the real one; tests may count or fail calls.
public protocol StatusFetcher: Sendable {
    /// `POST` of a DER OCSP request with `Content-Type: application/ocsp-request`; the response body.
    func postOCSPRequest(_ request: [UInt8], to url: String) throws(StatusFetchError) -> [UInt8]
    /// `GET` of a CRL; the body (DER, or PEM from servers that send it).
    func fetchCRL(from url: String) throws(StatusFetchError) -> [UInt8]
}

/// Plain HTTP/1.1 over TCP (status URLs are `http:`, RFC 5280 §4.2.1.13 and RFC 6960 Appendix A: the responses
/// are signed, TLS adds nothing to them), bounded in time and size, with no redirects followed.
public struct HTTPStatusFetcher: StatusFetcher {
    /// Seconds for connecting, and for each read and write.
    public var timeout: TimeInterval
    public var maximumOCSPResponse: Int
    public var maximumCRL: Int
    /// When set, only these hosts are contacted (a configured allow-list of the other jurisdictions' servers).
    public var allowedHosts: Set<String>?

    public init(
        timeout: TimeInterval = 5, maximumOCSPResponse: Int = 64 * 1024, maximumCRL: Int = 16 * 1024 * 1024,
        allowedHosts: Set<String>? = nil
    ) {
        self.timeout = timeout
        self.maximumOCSPResponse = maximumOCSPResponse
        self.maximumCRL = maximumCRL
        self.allowedHosts = allowedHosts
    }

    public func postOCSPRequest(_ request: [UInt8], to url: String) throws(StatusFetchError) -> [UInt8] {
        try exchange(
            url, method: "POST",
            headers: [
                ("Content-Type", "application/ocsp-request"),
                ("Accept", "application/ocsp-response"),
            ],
            body: request, limit: maximumOCSPResponse)
    }

    public func fetchCRL(from url: String) throws(StatusFetchError) -> [UInt8] {
        try exchange(url, method: "GET", headers: [("Accept", "application/pkix-crl")], body: [], limit: maximumCRL)
    }

    struct Target {
        var host: String
        var port: UInt16
        var pathAndQuery: String
    }

    static func target(_ url: String) throws(StatusFetchError) -> Target {
        guard url.utf8.count <= 1024, let parsed = URLComponents(string: url), let host = parsed.host, !host.isEmpty
        else { throw StatusFetchError(url: url, reason: "not a URL") }
        guard parsed.scheme?.lowercased() == "http" else {
            throw StatusFetchError(url: url, reason: "only http: status URLs are fetched (the answers are signed)")
        }
        guard parsed.user == nil, parsed.password == nil else {
            throw StatusFetchError(url: url, reason: "credentials in a status URL are refused")
        }
        let port = parsed.port ?? 80
        guard (1...65_535).contains(port) else { throw StatusFetchError(url: url, reason: "bad port") }
        var path = parsed.percentEncodedPath.isEmpty ? "/" : parsed.percentEncodedPath
        if let query = parsed.percentEncodedQuery { path += "?" + query }
        return Target(host: host, port: UInt16(port), pathAndQuery: path)
    }

    private func exchange(
        _ url: String, method: String, headers: [(String, String)], body: [UInt8],
        limit: Int
    ) throws(StatusFetchError) -> [UInt8] {
        let target = try Self.target(url)
        if let allowedHosts, !allowedHosts.contains(target.host.lowercased()) {
            throw StatusFetchError(url: url, reason: "host \(target.host) is not in the allowed list")
        }
        let fd = try connect(target, url: url)
        defer { close(fd) }
        var head =
            "\(method) \(target.pathAndQuery) HTTP/1.1\r\nHost: \(target.host)\r\nConnection: close\r\n"
            + "User-Agent: enrolld\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let message = Array(head.utf8) + body
        var sent = 0
        while sent < message.count {
            let n = message[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw StatusFetchError(url: url, reason: "sending failed: \(Self.errnoText())") }
            sent += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let deadline = Date() + timeout * 4
        while true {
            guard Date() < deadline else { throw StatusFetchError(url: url, reason: "the answer took too long") }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw StatusFetchError(url: url, reason: "reading failed: \(Self.errnoText())") }
            if n == 0 { break }
            received += chunk[..<n]
            guard received.count <= limit + 16 * 1024 else {
                throw StatusFetchError(url: url, reason: "the answer is larger than \(limit) bytes")
            }
        }
        return try Self.body(of: received, url: url, limit: limit)
    }

    /// The body of a complete HTTP/1.x response read to the end of the connection: status 200 only, then
    /// Content-Length, chunked transfer coding, or everything after the head.
    static func body(of response: [UInt8], url: String, limit: Int) throws(StatusFetchError) -> [UInt8] {
        guard let end = headEnd(response) else { throw StatusFetchError(url: url, reason: "no complete HTTP response") }
        let head = String(decoding: response[..<end], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let status = lines.first?.split(separator: " ", maxSplits: 2) ?? []
        guard status.count >= 2, status[0].hasPrefix("HTTP/1."), let code = Int(status[1]) else {
            throw StatusFetchError(url: url, reason: "not an HTTP response")
        }
        guard code == 200 else { throw StatusFetchError(url: url, reason: "HTTP \(code) (redirects are not followed)") }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = Array(response[end...])
        if fields["transfer-encoding"]?.lowercased().contains("chunked") == true {
            return try dechunk(rest, url: url, limit: limit)
        }
        if let text = fields["content-length"] {
            if let length = Int(text), length > limit {
                throw StatusFetchError(url: url, reason: "the answer is larger than \(limit) bytes")
            }
            guard let length = Int(text), length >= 0, rest.count >= length else {
                throw StatusFetchError(url: url, reason: "Content-Length \(text) does not match the body")
            }
            return Array(rest[..<length])
        }
        guard rest.count <= limit else { throw StatusFetchError(url: url, reason: "larger than \(limit) bytes") }
        return rest
    }

    static func dechunk(_ bytes: [UInt8], url: String, limit: Int) throws(StatusFetchError) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: index) else {
                throw StatusFetchError(url: url, reason: "truncated chunked body")
            }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw StatusFetchError(url: url, reason: "bad chunk size")
            }
            index = lineEnd + 2
            if size == 0 { return out }
            guard size <= limit - out.count, index + size <= bytes.count else {
                throw StatusFetchError(url: url, reason: "chunked body larger than \(limit) bytes or truncated")
            }
            out += bytes[index..<(index + size)]
            index += size + 2
        }
    }

    static func headEnd(_ bytes: [UInt8]) -> Int? { find([13, 10, 13, 10], in: bytes, from: 0).map { $0 + 4 } }

    static func find(_ pattern: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= pattern.count, start <= bytes.count - pattern.count else { return nil }
        for index in start...(bytes.count - pattern.count)
        where bytes[index..<(index + pattern.count)].elementsEqual(pattern) {
            return index
        }
        return nil
    }

    /// Resolves the host and connects to its first address that answers within the timeout.
    private func connect(_ target: Target, url: String) throws(StatusFetchError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(target.host, String(target.port), &hints, &results)
        guard resolved == 0, let first = results else {
            throw StatusFetchError(url: url, reason: "cannot resolve \(target.host)")
        }
        defer { freeaddrinfo(first) }
        var failure = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
            // Linux bounds connect() by SO_SNDTIMEO.
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            failure = Self.errnoText()
            close(fd)
        }
        throw StatusFetchError(url: url, reason: "cannot connect: \(failure)")
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
