import Foundation
import UnixHTTP

/// Bytes on a Unix socket as they are, for requests no HTTP client would send (malformed, stalled, oversized).
enum RawUnixSocket {
    /// Connects to `path`, sends `bytes` (and nothing more), reads until the server closes (at most `seconds`), and
    /// parses what came back as an HTTP/1.1 response.
    static func exchange(_ path: String, _ bytes: [UInt8], seconds: Int = 5) throws -> HTTPResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DecodeFailure(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { throw DecodeFailure(description: "connect \(path): \(errno)") }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += chunk[..<n]
        }
        return try parse(received)
    }

    /// The status, headers and body of an HTTP/1.1 response.
    static func parse(_ bytes: [UInt8]) throws -> HTTPResponse {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else {
            throw DecodeFailure(description: "no HTTP response: \(text.prefix(200))")
        }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusLine = head.first?.split(separator: " ") ?? []
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw DecodeFailure(description: "no status line: \(head.first ?? "")")
        }
        let headers = head.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return HTTPResponse(status: status, headers: headers, body: Array(text[split.upperBound...].utf8))
    }
}
