import Foundation
import XCTest

/// A real SMTP server (Debian's python3-aiosmtpd: STARTTLS required, AUTH PLAIN/LOGIN required after TLS) and an
/// HTTP SMS gateway stand-in, both on loopback, in one Python process the test starts and stops. What they received
/// is appended as JSON lines to files in `directory` (`mail.jsonl`, `sms.jsonl`, `refused.jsonl`), so a test counts
/// deliveries from outside the daemon.
final class ContactStandIns {
    enum Mode: String {
        /// Accept every message.
        case accept = "normal"
        /// SMTP answers 451 to RCPT TO; the gateway answers 503.
        case refuse
    }

    let directory: URL
    let smtpPort: UInt16
    let smsPort: UInt16
    private var process: Process?

    /// The server's certificate (CN and SAN localhost, 127.0.0.1), for `smtp_trust_file`.
    var certificatePath: String { directory.appendingPathComponent("cert.pem").path }

    init(mode: Mode = .accept) throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "enrolld-sink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        smtpPort = try LoopbackListener.freePort()
        smsPort = try LoopbackListener.freePort()
        guard FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/aiosmtpd") else {
            throw XCTSkip("python3-aiosmtpd is not installed (scripts/setup.sh installs it)")
        }
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            directory.appendingPathComponent("key.pem").path, "-out", certificatePath, "-days", "2", "-subj",
            "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try start(mode)
    }

    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Packaging/messages").path

    /// `[outbox]` for these servers: e-mail through its SMTP server (STARTTLS verified against its certificate, AUTH), SMS
    /// through its gateway, a retry after 1 s (of the bench's clock).
    func configuration(
        email: Bool = true, sms: Bool = false, maxAttempts: Int = 8, extra: String = ""
    ) throws -> String {
        let password = directory.appendingPathComponent("smtp.pass")
        try "s3cret\n".write(to: password, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: password.path)
        var text = "[outbox]\n"
        if email {
            text += """
                smtp_host = localhost
                smtp_port = \(smtpPort)
                smtp_username = enrolld
                smtp_password_file = \(password.path)
                smtp_trust_file = \(certificatePath)
                smtp_from = noreply@enrolld.example

                """
        }
        if sms { text += "sms_gateway_url = http://127.0.0.1:\(smsPort)/v1/messages\n" }
        text += """
            max_attempts = \(maxAttempts)
            retry_seconds = 1
            templates_directory = \(Self.templates)
            \(extra)
            """
        return text
    }

    /// Starts the servers (again, after `stop()`: a relay that comes back).
    func start(_ mode: Mode) throws {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("ready"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            Self.scriptPath, String(smtpPort), String(smsPort), directory.path,
            mode.rawValue,
        ]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(15)
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("ready").path) {
            guard Date() < deadline, process.isRunning else { throw XCTSkip("the SMTP stand-in did not start") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Stops the servers: the relay is down.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The JSON lines of `file`.
    func entries(_ file: String) -> [[String: Any]] {
        guard let text = try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8) else {
            return []
        }
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    var mails: [[String: Any]] { entries("mail.jsonl") }
    var texts: [[String: Any]] { entries("sms.jsonl") }
    var refusals: [[String: Any]] { entries("refused.jsonl") }

    /// Waits until `file` holds `count` entries (or `timeout` passes); returns them.
    @discardableResult
    func wait(for count: Int, in file: String, timeout: TimeInterval = 20) -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        while entries(file).count < count && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return entries(file)
    }

    /// The mail's body, decoded (base64, as the SMTP transport sends it).
    static func body(ofMail mail: [String: Any]) -> String {
        let data = mail["data"] as? String ?? ""
        guard let split = data.range(of: "\r\n\r\n") ?? data.range(of: "\n\n") else { return "" }
        let encoded = data[split.upperBound...].components(separatedBy: .whitespacesAndNewlines).joined()
        return Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// The 6-to-8-digit code in a text.
    static func code(in text: String) -> String? {
        guard let range = text.range(of: "[0-9]{6,8}", options: .regularExpression) else { return nil }
        return String(text[range])
    }

    /// The servers' script (also run by the HIL tests): `contact_sink.py SMTP-PORT SMS-PORT DIRECTORY MODE`.
    static let scriptPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/contact_sink.py").path
}
