import Enrollment
import Foundation
import OpenSSLKit

/// A message ready for its transport: the recipient, and the text a template made of the code.
struct RenderedMessage: Sendable, Equatable {
    /// The outbox message's id: the e-mail's Message-ID and the SMS gateway's idempotency key, so a receiver can
    /// tell a resend after a crash from a new message.
    var id: UUID
    var recipient: String
    var subject: String
    var body: String
}

/// Why a delivery attempt failed, without personal data (an SMTP reply code, an HTTP status, a socket error).
struct DeliveryError: Error, Equatable, CustomStringConvertible {
    var reason: String
    /// A refusal that no retry can cure (SMTP 5xx, HTTP 4xx): the message fails at once.
    var permanent: Bool

    var description: String { reason }
}

/// One way out of the outbox (`email` through SMTP, `sms` through an HTTP gateway).
protocol MessageTransport: Sendable {
    var kind: ContactKind { get }
    func deliver(_ message: RenderedMessage) throws(DeliveryError)
}

/// The message templates, one file per template and language (`DIR/LANG/TEMPLATE.txt`): a `Subject:` line, a blank
/// line, then the body; `{code}` and `{minutes}` are replaced. A language without the template falls back to `en`.
struct MessageTemplates: Sendable {
    let directory: String

    /// Renders `message`; throws a permanent delivery error when no template exists (a packaging fault).
    func render(_ message: ContactMessage, id: UUID, at: Date) throws(DeliveryError) -> RenderedMessage {
        let language = ContactMessage.languages.contains(message.language) ? message.language : "en"
        var text: String?
        for candidate in [language, "en"] {
            let path = "\(directory)/\(candidate)/\(message.template).txt"
            if let data = FileManager.default.contents(atPath: path), data.count <= 16 * 1024 {
                text = String(decoding: data, as: UTF8.self)
                break
            }
        }
        guard let text else {
            throw DeliveryError(
                reason: "no template \(message.template) in \(directory)/\(language) or en", permanent: true)
        }
        let minutes = max(1, Int((message.expiresAt.timeIntervalSince(at) / 60).rounded(.up)))
        let filled = text.replacingOccurrences(of: "{code}", with: message.code)
            .replacingOccurrences(of: "{minutes}", with: String(minutes))
        var lines = filled.components(separatedBy: "\n")
        var subject = "enrolld"
        if let first = lines.first, first.hasPrefix("Subject:") {
            subject = first.dropFirst("Subject:".count).trimmingCharacters(in: .whitespaces)
            lines.removeFirst()
            if lines.first?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeFirst() }
        }
        let body = lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        return RenderedMessage(id: id, recipient: message.recipient, subject: subject, body: body)
    }
}

/// A TCP connection with an optional TLS layer, line reads and deadlines: each read and write within `timeout`
/// (SO_RCVTIMEO/SO_SNDTIMEO), the whole exchange within `timeout` × 2 (a relay that trickles one line at a time
/// cannot hold a delivery past the outbox claim's lease): what the SMTP and HTTP transports speak over.
final class TransportConnection {
    private let descriptor: Int32
    private var tls: TLSClientSession?
    private var buffer: [UInt8] = []
    let host: String
    private let deadline: Date
    private let timeout: TimeInterval

    /// Resolves `host` and connects to its first address that answers within `timeout`.
    init(host: String, port: Int, timeout: TimeInterval) throws(DeliveryError) {
        self.host = host
        deadline = Date().addingTimeInterval(timeout * 2)
        self.timeout = timeout
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &results) == 0, let first = results else {
            throw DeliveryError(reason: "cannot resolve \(host)", permanent: false)
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
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                descriptor = fd
                return
            }
            failure = String(cString: strerror(errno))
            close(fd)
        }
        throw DeliveryError(reason: "cannot connect to \(host):\(port): \(failure)", permanent: false)
    }

    deinit {
        tls = nil
        close(descriptor)
    }

    /// Starts TLS on the connection (STARTTLS, or HTTPS from the first byte).
    func startTLS(trustFile: String?) throws(DeliveryError) {
        guard buffer.isEmpty else {
            // Bytes the server sent before the handshake would be injected plaintext (CVE-2011-0411's class).
            throw DeliveryError(reason: "\(host) sent data before the TLS handshake", permanent: false)
        }
        try checkDeadline()
        do {
            tls = try TLSClientSession(descriptor: descriptor, host: host, trustFile: trustFile)
        } catch {
            throw DeliveryError(reason: "\(error)", permanent: false)
        }
    }

    /// Throws past the deadline; otherwise bounds the next read or write by the time left.
    private func checkDeadline() throws(DeliveryError) {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else {
            throw DeliveryError(reason: "\(host) did not finish the exchange in time", permanent: false)
        }
        let bound = min(left, timeout)
        var time = timeval(tv_sec: Int(bound), tv_usec: Int((bound - bound.rounded(.down)) * 1e6))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    func write(_ text: String) throws(DeliveryError) {
        try checkDeadline()
        let bytes = Array(text.utf8)
        if let tls {
            guard tls.write(bytes) else { throw DeliveryError(reason: "\(host): write failed", permanent: false) }
            return
        }
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else {
                throw DeliveryError(reason: "\(host): \(String(cString: strerror(errno)))", permanent: false)
            }
            offset += sent
        }
    }

    private func fill() throws(DeliveryError) {
        try checkDeadline()
        let chunk: [UInt8]
        if let tls {
            chunk = tls.read(upTo: 4096)
        } else {
            var bytes = [UInt8](repeating: 0, count: 4096)
            let read = bytes.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            chunk = read > 0 ? Array(bytes.prefix(read)) : []
        }
        guard !chunk.isEmpty else {
            // A read bounded by the exchange's last moments that times out is the deadline, not a silent peer.
            try checkDeadline()
            throw DeliveryError(reason: "\(host) closed the connection or did not answer in time", permanent: false)
        }
        buffer += chunk
    }

    /// One line without its CRLF; at most 4 KiB.
    func readLine() throws(DeliveryError) -> String {
        while true {
            if let end = buffer.firstIndex(of: 0x0A) {
                let line = buffer[..<end]
                buffer.removeSubrange(...end)
                return String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
            }
            guard buffer.count < 4096 else { throw DeliveryError(reason: "\(host): line too long", permanent: false) }
            try fill()
        }
    }

    /// Everything until the peer closes, at most `limit` bytes.
    func readAll(limit: Int) throws(DeliveryError) -> [UInt8] {
        while buffer.count < limit {
            do { try fill() } catch { break }
        }
        return Array(buffer.prefix(limit))
    }
}
