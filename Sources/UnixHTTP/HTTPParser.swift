import EnrollAPIModel

/// Limits the request parser enforces before it allocates anything large.
public struct HTTPLimits: Sendable {
    /// Request line plus header fields.
    public var maxHeaderBytes: Int
    public var maxHeaderCount: Int
    public var maxBodyBytes: Int
    /// Routes allowed a larger body than `maxBodyBytes` (a liveness burst of frames), checked against
    /// Content-Length before the body is read.
    public var routeBodyLimits: [RouteBodyLimit]

    public static let `default` = HTTPLimits(
        maxHeaderBytes: 8 * 1024, maxHeaderCount: 64, maxBodyBytes: 16 * 1024 * 1024)

    public init(maxHeaderBytes: Int, maxHeaderCount: Int, maxBodyBytes: Int, routeBodyLimits: [RouteBodyLimit] = []) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.routeBodyLimits = routeBodyLimits
    }

    /// The body limit of a request line's method and target (the query ignored).
    public func maxBodyBytes(method: Substring, target: Substring) -> Int {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? target
        let segments = path.split(separator: "/")
        return routeBodyLimits.first { $0.matches(method: method, segments: segments) }?.maxBodyBytes ?? maxBodyBytes
    }
}

/// A route's own body limit: `POST /v1/enrollments/*/liveness` (`*` stands for one path segment).
public struct RouteBodyLimit: Sendable, Equatable {
    public var method: String
    public var pattern: [String]
    public var maxBodyBytes: Int

    public init(method: String, path: String, maxBodyBytes: Int) {
        self.method = method
        pattern = path.split(separator: "/").map(String.init)
        self.maxBodyBytes = maxBodyBytes
    }

    func matches(method: Substring, segments: [Substring]) -> Bool {
        method == self.method && segments.count == pattern.count
            && zip(pattern, segments).allSatisfy { $0 == "*" || $0 == $1 }
    }
}

/// Why a request was refused, with the HTTP status to answer.
public enum HTTPParseError: Error, Equatable, CustomStringConvertible {
    case headerTooLarge
    case tooManyHeaders
    case malformedRequestLine
    case unsupportedVersion(String)
    case malformedHeader(String)
    case invalidContentLength
    case bodyTooLarge(Int)
    case transferEncodingUnsupported
    case duplicateContentLength
    case missingHost
    /// A header that must appear once (`Host`, `X-Enrolld-*`) appears again.
    case duplicateHeader(String)

    /// The catalogued problem this refusal answers with.
    public var problem: ProblemCode {
        switch self {
        case .headerTooLarge, .tooManyHeaders: return .headersTooLarge
        case .bodyTooLarge: return .bodyTooLarge
        case .transferEncodingUnsupported: return .transferEncodingUnsupported
        case .unsupportedVersion: return .httpVersionUnsupported
        default: return .malformedRequest
        }
    }

    /// The HTTP status to answer.
    public var status: Int { problem.status }

    public var description: String {
        switch self {
        case .headerTooLarge: return "request header section exceeds the limit"
        case .tooManyHeaders: return "too many header fields"
        case .malformedRequestLine: return "malformed request line: expected 'METHOD /path HTTP/1.1'"
        case let .unsupportedVersion(version): return "HTTP version '\(version)' is not supported: use HTTP/1.1"
        case let .malformedHeader(line): return "malformed header field '\(line.prefix(40))'"
        case .invalidContentLength: return "Content-Length must be a decimal number"
        case let .bodyTooLarge(size): return "request body of \(size) bytes exceeds the limit"
        case .transferEncodingUnsupported: return "Transfer-Encoding is not supported: send Content-Length"
        case .duplicateContentLength: return "more than one Content-Length field"
        case .missingHost: return "HTTP/1.1 requests need a Host header"
        case let .duplicateHeader(name): return "the \(name) header may appear only once"
        }
    }
}

/// A strict, incremental HTTP/1.1 request parser (RFC 9112) for local sockets: feed it bytes as
/// they arrive; it answers `nil` until a whole request is there.
public struct HTTPRequestParser {
    public let limits: HTTPLimits
    private var buffer: [UInt8] = []
    private var head: (request: HTTPRequest, bodyLength: Int, headerEnd: Int)?

    public init(limits: HTTPLimits = .default) {
        self.limits = limits
    }

    /// Adds bytes; returns the request once complete. Throws on the first violation.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(HTTPParseError) -> HTTPRequest? {
        buffer.append(contentsOf: bytes)
        if head == nil {
            guard let end = Self.findHeaderEnd(buffer) else {
                // A head within the limit ends, CRLF CRLF included, by maxHeaderBytes + 4 bytes.
                if buffer.count >= limits.maxHeaderBytes + 4 { throw .headerTooLarge }
                return nil
            }
            guard end <= limits.maxHeaderBytes else { throw .headerTooLarge }
            head = try parseHead(Array(buffer[..<end]), headerEnd: end + 4)
        }
        guard let (request, bodyLength, headerEnd) = head else { return nil }
        guard buffer.count - headerEnd >= bodyLength else { return nil }
        var complete = request
        complete.body = Array(buffer[headerEnd..<(headerEnd + bodyLength)])
        return complete
    }

    /// The length of the body the parsed head announced; nil until the whole head has arrived.
    public var announcedBodyLength: Int? { head?.bodyLength }

    /// The bytes received after the request `feed` returned (the start of a pipelined next request).
    public var remainder: [UInt8] {
        guard let (_, bodyLength, headerEnd) = head, buffer.count > headerEnd + bodyLength else { return [] }
        return Array(buffer[(headerEnd + bodyLength)...])
    }

    /// Headers a request may carry once: `Host` (RFC 9112 §3.2) and the daemon's own `X-Enrolld-*`, whose second
    /// copy would otherwise be read by one layer and ignored by another.
    static func singletonHeader(_ lowercasedName: String) -> Bool {
        lowercasedName == "host" || lowercasedName.hasPrefix("x-enrolld-")
    }

    private static func findHeaderEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    private func parseHead(
        _ bytes: [UInt8], headerEnd: Int
    ) throws(HTTPParseError)
        -> (request: HTTPRequest, bodyLength: Int, headerEnd: Int)
    {
        // Only visible ASCII, SP, HTAB and CRLF are allowed in the head.
        for byte in bytes where !(byte == 9 || byte == 10 || byte == 13 || (32...126).contains(byte)) {
            throw .malformedHeader("non-ASCII byte in header section")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst()
        // The request line's parts are tokens and a target of visible ASCII: no CR or LF that a logger or another
        // parser could take for a line end.
        guard !requestLine.contains("\r"), !requestLine.contains("\n"), !requestLine.contains("\t") else {
            throw .malformedRequestLine
        }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isUppercase || $0 == "-" }),
            parts[1].hasPrefix("/")
        else { throw .malformedRequestLine }
        guard parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0" else { throw .unsupportedVersion(String(parts[2])) }
        guard lines.count <= limits.maxHeaderCount else { throw .tooManyHeaders }
        var headers: [(name: String, value: String)] = []
        var contentLength: Int?
        for line in lines {
            // A CR or LF that is not part of a CRLF line end (RFC 9112 §2.2): some peers split lines there.
            guard !line.contains("\r"), !line.contains("\n") else {
                throw .malformedHeader("bare CR or LF in a header line")
            }
            guard let colon = line.firstIndex(of: ":") else { throw .malformedHeader(line) }
            let name = line[..<colon]
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_!#$%&'*+.^`|~".contains($0) })
            else {
                throw .malformedHeader(line)
            }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let lower = name.lowercased()
            if lower == "transfer-encoding" { throw .transferEncodingUnsupported }
            if lower == "content-length" {
                guard contentLength == nil else { throw .duplicateContentLength }
                // 1*DIGIT (RFC 9110 §8.6): no sign, no spaces, no list.
                guard !value.isEmpty, value.count <= 12, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                    let length = Int(value)
                else {
                    throw .invalidContentLength
                }
                guard length <= limits.maxBodyBytes(method: parts[0], target: parts[1]) else {
                    throw .bodyTooLarge(length)
                }
                contentLength = length
            }
            if Self.singletonHeader(lower), headers.contains(where: { $0.name == lower }) {
                throw .duplicateHeader(String(name))
            }
            headers.append((lower, value))
        }
        if parts[2] == "HTTP/1.1", !headers.contains(where: { $0.name == "host" }) { throw .missingHost }
        let target = parts[1]
        let path: Substring
        var query: [(name: String, value: String)] = []
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            for pair in target[target.index(after: mark)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name =
                    String(kv[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[0])
                let raw = kv.count > 1 ? String(kv[1]) : ""
                let value = raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? raw
                query.append((name, value))
            }
        } else {
            path = target
        }
        let request = HTTPRequest(
            method: String(parts[0]), path: String(path), query: query, headers: headers,
            version: String(parts[2]))
        return (request, contentLength ?? 0, headerEnd)
    }
}

import Foundation
