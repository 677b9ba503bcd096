import EnrollAPIModel
import Foundation

/// An HTTP/1.1 request as the strict parser accepted it.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query, percent-decoding not applied (routes use plain ASCII).
    public var path: String
    /// Query parameters in order of appearance, percent-decoded.
    public var query: [(name: String, value: String)]
    /// Header fields with lower-cased names, in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// `HTTP/1.1` or `HTTP/1.0`: decides whether the connection persists by default.
    public var version: String

    public init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], body: [UInt8] = [], version: String = "HTTP/1.1"
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.version = version
    }

    /// Whether the client lets the connection carry another request (RFC 9112 §9.3): HTTP/1.1 unless it
    /// says `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    public var allowsPersistentConnection: Bool {
        let options = (header("Connection") ?? "").lowercased().split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if options.contains("close") { return false }
        return version == "HTTP/1.1" || options.contains("keep-alive")
    }

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// The path split into segments: `/v1/readers` → `["v1", "readers"]`.
    public var pathSegments: [Substring] { path.split(separator: "/") }

    /// Encodes the request for sending (client side); `keepAlive` asks the server to keep the connection.
    public func encoded(host: String = "localhost", keepAlive: Bool = false) -> [UInt8] {
        var target = path
        if !query.isEmpty {
            target += "?" + query.map { "\(percentEncode($0.name))=\(percentEncode($0.value))" }.joined(separator: "&")
        }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        head += keepAlive ? "\r\n" : "Connection: close\r\n\r\n"
        return Array(head.utf8) + body
    }
}

/// An HTTP response.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// A JSON response from an encodable value (sorted keys, so output is stable).
    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(value)).map { [UInt8]($0) } ?? Array("{}".utf8)
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    /// An RFC 9457 problem document.
    public static func problem(_ problem: Problem) -> HTTPResponse {
        var response = json(problem, status: problem.status)
        response.headers = [("Content-Type", "application/problem+json")]
        if let seconds = problem.retryAfter { response.headers.append(("Retry-After", String(max(0, seconds)))) }
        return response
    }

    /// The status line and headers (with Content-Length unless `streaming`); `keepAlive` leaves the
    /// connection open for the next request.
    public func head(streaming: Bool = false, keepAlive: Bool = false) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(HTTPResponse.reason(status))\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !streaming { text += "Content-Length: \(body.count)\r\n" }
        text += keepAlive && !streaming ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    public var encoded: [UInt8] { head() + body }

    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 415: return "Unsupported Media Type"
        case 422: return "Unprocessable Content"
        case 423: return "Locked"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}

extension Problem {
    public static func methodNotAllowed(_ method: String, allowed: [String]) -> Problem {
        Problem(.methodNotAllowed, detail: "\(method) is not allowed here; use \(allowed.joined(separator: " or "))")
    }
}

func percentEncode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}
