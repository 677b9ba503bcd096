import Enrollment
import Foundation

/// E-mail through an SMTP relay (RFC 5321), written over a plain socket: EHLO, STARTTLS (RFC 3207, the server's
/// certificate verified and matched to the host), AUTH PLAIN (RFC 4616) or LOGIN, MAIL FROM, RCPT TO, DATA with
/// dot-stuffing, QUIT. Replies 4xx and socket failures are transient (the outbox retries); 5xx are refusals.
struct SMTPTransport: MessageTransport {
    struct Settings: Sendable, Equatable {
        var host: String
        var port: Int = 587
        /// Whether STARTTLS is required (`starttls`) or the session stays plaintext (`none`: a relay on loopback).
        var requireTLS = true
        var username: String?
        var password: String?
        /// The envelope and header sender.
        var from: String
        /// The name this host gives in EHLO.
        var heloName: String = "localhost"
        var timeout: TimeInterval = 30
        /// A CA file to verify the relay's certificate with instead of the system's trust store.
        var trustFile: String?
    }

    let settings: Settings
    var kind: ContactKind { .email }

    func deliver(_ message: RenderedMessage) throws(DeliveryError) {
        let connection = try TransportConnection(host: settings.host, port: settings.port, timeout: settings.timeout)
        try expect(connection, 220, "greeting")
        var extensions = try hello(connection)
        if settings.requireTLS {
            guard extensions.contains(where: { $0.uppercased() == "STARTTLS" }) else {
                throw DeliveryError(
                    reason: "\(settings.host) offers no STARTTLS (smtp_security = starttls)", permanent: false)
            }
            try connection.write("STARTTLS\r\n")
            try expect(connection, 220, "STARTTLS")
            try connection.startTLS(trustFile: settings.trustFile)
            // RFC 3207 §4.2: forget what was learnt before TLS and ask again.
            extensions = try hello(connection)
        }
        if let username = settings.username {
            try authenticate(connection, extensions: extensions, username: username, password: settings.password ?? "")
        }
        try connection.write("MAIL FROM:<\(settings.from)>\r\n")
        try expect(connection, 250, "MAIL FROM")
        try connection.write("RCPT TO:<\(message.recipient)>\r\n")
        try expect(connection, 250, "RCPT TO", alsoAccept: [251])
        try connection.write("DATA\r\n")
        try expect(connection, 354, "DATA")
        try connection.write(Self.content(message, from: settings.from, heloName: settings.heloName))
        try expect(connection, 250, "end of data")
        try? connection.write("QUIT\r\n")
    }

    /// EHLO; returns the extension keywords (`STARTTLS`, `AUTH PLAIN LOGIN`, ...).
    private func hello(_ connection: TransportConnection) throws(DeliveryError) -> [String] {
        try connection.write("EHLO \(settings.heloName)\r\n")
        let lines = try reply(connection, 250, "EHLO")
        return lines.dropFirst().map { $0 }
    }

    private func authenticate(
        _ connection: TransportConnection, extensions: [String], username: String, password: String
    ) throws(DeliveryError) {
        let mechanisms = Set(
            extensions.filter { $0.uppercased().hasPrefix("AUTH") }
                .flatMap { $0.uppercased().split(separator: " ").dropFirst().map(String.init) })
        if mechanisms.contains("PLAIN") {
            let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
            try connection.write("AUTH PLAIN \(token)\r\n")
            try expect(connection, 235, "AUTH PLAIN")
        } else if mechanisms.contains("LOGIN") {
            try connection.write("AUTH LOGIN\r\n")
            try expect(connection, 334, "AUTH LOGIN")
            try connection.write(Data(username.utf8).base64EncodedString() + "\r\n")
            try expect(connection, 334, "AUTH LOGIN username")
            try connection.write(Data(password.utf8).base64EncodedString() + "\r\n")
            try expect(connection, 235, "AUTH LOGIN password")
        } else {
            throw DeliveryError(reason: "\(settings.host) offers neither AUTH PLAIN nor LOGIN", permanent: true)
        }
    }

    private func expect(
        _ connection: TransportConnection, _ code: Int, _ step: String, alsoAccept: Set<Int> = []
    ) throws(DeliveryError) {
        _ = try reply(connection, code, step, alsoAccept: alsoAccept)
    }

    /// Reads one (possibly multi-line) reply; its lines without the codes. Throws unless the code is `code`.
    private func reply(
        _ connection: TransportConnection, _ code: Int, _ step: String, alsoAccept: Set<Int> = []
    ) throws(DeliveryError) -> [String] {
        var lines: [String] = []
        var received = 0
        while lines.count < 100 {
            let line = try connection.readLine()
            guard line.count >= 3, let value = Int(line.prefix(3)) else {
                throw DeliveryError(reason: "\(settings.host): malformed reply to \(step)", permanent: false)
            }
            received = value
            lines.append(String(line.dropFirst(4)))
            if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] != "-" { break }
        }
        guard received == code || alsoAccept.contains(received) else {
            // Only the code: the reply's text may echo the recipient's address.
            throw DeliveryError(reason: "SMTP \(received) to \(step)", permanent: (500..<600).contains(received))
        }
        return lines
    }

    /// Headers and a base64 UTF-8 body (RFC 2045), the subject as an RFC 2047 encoded word, ended by `.`.
    static func content(_ message: RenderedMessage, from: String, heloName: String) -> String {
        let date = Self.dateFormatter.string(from: Date())
        let subject = "=?UTF-8?B?" + Data(message.subject.utf8).base64EncodedString() + "?="
        let encoded = Array(Data(message.body.utf8).base64EncodedString())
        let body = stride(from: 0, to: encoded.count, by: 76).map { String(encoded[$0..<min($0 + 76, encoded.count)]) }
            .joined(separator: "\r\n")
        // Base64 lines never start with ".", but the dot-stuffing rule (RFC 5321 §4.5.2) is kept for every line.
        let headers = [
            "From: <\(from)>", "To: <\(message.recipient)>", "Subject: \(subject)", "Date: \(date)",
            "Message-ID: <\(message.id.uuidString.lowercased())@\(heloName)>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: base64",
            "Auto-Submitted: auto-generated",
        ]
        let lines = (headers + [""] + body.components(separatedBy: "\r\n")).map { $0.hasPrefix(".") ? "." + $0 : $0 }
        return lines.joined(separator: "\r\n") + "\r\n.\r\n"
    }

    private static let dateFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter
    }()
}

/// SMS through an HTTP gateway: `POST` of `{"to": "+…", "text": "…", "id": "…"}` as JSON to the configured URL
/// (http, or https with the server's certificate verified), with `Authorization: Bearer TOKEN` when a token is
/// configured and `Idempotency-Key: ID`. 2xx: sent; 408, 429 and 5xx: transient; other 4xx: refused.
struct SMSGatewayTransport: MessageTransport {
    struct Settings: Sendable, Equatable {
        var url: String
        var token: String?
        var timeout: TimeInterval = 30
        var trustFile: String?
    }

    let settings: Settings
    var kind: ContactKind { .phone }

    func deliver(_ message: RenderedMessage) throws(DeliveryError) {
        guard let url = URLComponents(string: settings.url), let host = url.host,
            let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else { throw DeliveryError(reason: "sms_gateway_url is not an http(s) URL", permanent: true) }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let connection = try TransportConnection(host: host, port: port, timeout: settings.timeout)
        if scheme == "https" { try connection.startTLS(trustFile: settings.trustFile) }
        struct Body: Encodable {
            var to: String
            var text: String
            var id: String
        }
        let body: Data
        do {
            body = try JSONEncoder().encode(Body(to: message.recipient, text: message.body, id: message.id.uuidString))
        } catch {
            throw DeliveryError(reason: "cannot encode the SMS", permanent: true)
        }
        let path =
            (url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath)
            + (url.percentEncodedQuery.map { "?" + $0 } ?? "")
        var head = "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\n"
        head += "Content-Length: \(body.count)\r\nConnection: close\r\nIdempotency-Key: \(message.id.uuidString)\r\n"
        if let token = settings.token { head += "Authorization: Bearer \(token)\r\n" }
        try connection.write(head + "\r\n" + String(decoding: body, as: UTF8.self))
        let status = try connection.readLine()
        let parts = status.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else {
            throw DeliveryError(reason: "the SMS gateway's answer is not HTTP", permanent: false)
        }
        guard (200..<300).contains(code) else {
            let transient = code == 408 || code == 429 || code >= 500
            throw DeliveryError(reason: "SMS gateway HTTP \(code)", permanent: !transient)
        }
    }
}
