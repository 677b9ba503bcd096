import CertificateAuthority
import Foundation
import OpenSSLKit
import Synchronization
import UnixHTTP

/// `enroll-bench ocsp`: cached OCSP responses per second and latency from concurrent clients, for our
/// `OCSPResponder` in process and behind `UnixHTTP`'s server on a Unix socket, beside `openssl ocsp` acting as
/// a responder (TCP on loopback) on an index file with the same certificates and statuses, in the same run.
///
/// OpenSSL's responder answers HTTP/1.0 and closes the connection after each response, so it is measured with a
/// connection per request; ours is measured both with persistent connections and with a connection per request.
func runOCSPBench(arguments: [String]) {
    var seconds = 5.0
    var clients = 8
    var certificates = 1000
    var json = false
    var index = 0
    func value(_ option: String) -> String {
        guard index + 1 < arguments.count else { benchFail("\(option) needs a value") }
        index += 1
        return arguments[index]
    }
    while index < arguments.count {
        switch arguments[index] {
        case "--seconds":
            guard let number = Double(value("--seconds")), number > 0 else { benchFail("--seconds needs a number") }
            seconds = number
        case "--clients":
            clients = benchInteger(value("--clients"), "--clients", 1...64)
        case "--certificates":
            certificates = benchInteger(value("--certificates"), "--certificates", 1...1_000_000)
        case "--json": json = true
        default: benchFail("unknown option '\(arguments[index])' for ocsp")
        }
        index += 1
    }
    let work = NSTemporaryDirectory() + "enroll-bench-ocsp-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: work) }
    do {
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let report = try OCSPBenchRun(work: work, certificates: certificates, clients: clients, seconds: seconds).run()
        if json { print(report.json) } else { print(report.text) }
    } catch {
        benchFail("ocsp bench failed: \(error)")
    }
}

/// One measured target.
struct OCSPThroughput {
    var label: String
    var responses: Int
    var errors: Int
    var seconds: Double
    var p50Microseconds: Double
    var p99Microseconds: Double
    var perSecond: Double { Double(responses) / seconds }
}

struct OCSPBenchReport {
    var certificates: Int
    var clients: Int
    var preproduceSeconds: Double
    var signaturesDuringRuns: Int
    var results: [OCSPThroughput]

    var text: String {
        var lines = [
            "enroll-bench ocsp: \(certificates) certificates (10 % revoked), \(clients) concurrent clients, "
                + "requests without nonce for a random certificate each"
        ]
        lines.append(
            String(
                format: "  pre-produced %d responses in %.2f s (%.0f signatures/s)", certificates,
                preproduceSeconds, Double(certificates) / max(preproduceSeconds, 1e-9)))
        lines.append(
            "  " + "target".padding(toLength: 64, withPad: " ", startingAt: 0)
                + "  responses/s    p50 µs    p99 µs  errors")
        for result in results {
            lines.append(
                "  " + result.label.padding(toLength: 64, withPad: " ", startingAt: 0)
                    + String(
                        format: " %12.0f %9.0f %9.0f %7d", result.perSecond, result.p50Microseconds,
                        result.p99Microseconds, result.errors))
        }
        if let openssl = results.first(where: { $0.label.hasPrefix("openssl") }) {
            for ours in results where !ours.label.hasPrefix("openssl") {
                lines.append(
                    String(
                        format: "  %@: %.1f× openssl ocsp", ours.label,
                        ours.perSecond / max(openssl.perSecond, 1)))
            }
        }
        lines.append("  signatures made by our responder while measured: \(signaturesDuringRuns) (all answers cached)")
        return lines.joined(separator: "\n")
    }

    var json: String {
        let entries = results.map { result in
            #"{"target":"\#(result.label)","responsesPerSecond":\#(Int(result.perSecond)),"#
                + #""p50Microseconds":\#(Int(result.p50Microseconds)),"#
                + #""p99Microseconds":\#(Int(result.p99Microseconds)),"#
                + #""errors":\#(result.errors),"responses":\#(result.responses)}"#
        }
        return #"{"ocsp":{"certificates":\#(certificates),"clients":\#(clients),"#
            + #""preproduceSeconds":\#(String(format: "%.3f", preproduceSeconds)),"#
            + #""signaturesDuringRuns":\#(signaturesDuringRuns),"results":[\#(entries.joined(separator: ","))]}}"#
    }
}

/// Sets up the CA, the records, our responder and OpenSSL's, then measures each in turn.
struct OCSPBenchRun {
    let work: String
    let certificates: Int
    let clients: Int
    let seconds: Double

    func run() throws -> OCSPBenchReport {
        let caDirectory = URL(fileURLWithPath: work + "/ca")
        _ = try CAStore.initialise(
            directory: caDirectory, algorithm: .p256,
            subject: DistinguishedName(country: "UT", commonName: "bench OCSP CA"))
        let authority = try CAStore.load(directory: caDirectory)
        let records = InMemoryCertificateRecords()
        var serials: [[UInt8]] = []
        var index = ""
        let expiry = opensslIndexTime(Date() + 86_400 * 365)
        let revokedAt = opensslIndexTime(Date() - 3600)
        for number in 0..<certificates {
            var serial = try SecureRandom.bytes(16)
            serial[0] = 0x10 | (serial[0] & 0x6F)
            let hex = serial.map { String(format: "%02X", $0) }.joined()
            serials.append(serial)
            if number % 10 == 9 {
                records.set(.revoked(at: Date() - 3600, reason: .keyCompromise), serialHex: hex)
                index += "R\t\(expiry)\t\(revokedAt),keyCompromise\t\(hex)\tunknown\t/CN=holder \(number)\n"
            } else {
                records.set(.issued, serialHex: hex)
                index += "V\t\(expiry)\t\t\(hex)\tunknown\t/CN=holder \(number)\n"
            }
        }
        let requests = try serials.map {
            try OCSPRequest.encode(certificateIDs: [
                try OCSPCertificateID(
                    serialNumber: $0,
                    issuer: authority.certificate)
            ])
        }

        let responder = try OCSPResponder(
            authority: authority, source: records,
            configuration: .init(
                cacheCapacity: max(64, certificates * 2),
                unknownCacheCapacity: 16))
        let started = DispatchTime.now()
        try responder.preproduce(serialHexes: serials.map { $0.map { String(format: "%02X", $0) }.joined() })
        let preproduceSeconds = milliseconds(since: started) / 1000
        let signaturesBefore = responder.statistics.signatures

        var results: [OCSPThroughput] = []
        results.append(
            measure(
                "enrolld OCSPResponder, in process", requests: requests,
                authority: authority
            ) { request in
                responder.respond(toRequest: request).der
            })

        let socket = work + "/ocsp.sock"
        let server = try UnixSocketServer(path: socket, mode: 0o600) { request, connection in
            guard request.method == "POST", request.path == "/ocsp" else {
                connection.respond(HTTPResponse(status: 404))
                return
            }
            let answer = responder.respond(toRequest: request.body)
            connection.respond(HTTPResponse(status: 200, headers: answer.httpHeaders(), body: answer.der))
        }
        server.connectionLimits.maxConnections = clients + 8
        server.connectionLimits.maxPerUID = clients + 8
        server.start()
        defer { server.stop() }
        results.append(
            measure(
                "enrolld, UnixHTTP socket, persistent connections", requests: requests,
                authority: authority
            ) { request in
                try BenchHTTPConnection.shared(.unix(socket)).post(request)
            })
        results.append(
            measure(
                "enrolld, UnixHTTP socket, connection per request", requests: requests,
                authority: authority
            ) { request in
                try BenchHTTPConnection.once(.unix(socket), request)
            })
        let signaturesDuringRuns = responder.statistics.signatures - signaturesBefore

        // OpenSSL's responder on the same index, signing with its own delegated responder certificate.
        let openssl = try DelegatedSignerFiles(authority: authority, directory: work)
        try index.write(toFile: work + "/index.txt", atomically: true, encoding: .utf8)
        try "unique_subject = no\n".write(toFile: work + "/index.txt.attr", atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        let arguments = [
            "ocsp", "-index", work + "/index.txt", "-port", "\(port)", "-rsigner", openssl.certificate,
            "-rkey", openssl.key,
            "-CA", caDirectory.appendingPathComponent(CAStore.certificateFileName).path,
            "-nmin", "60", "-ignore_err",
        ]
        process.arguments = arguments
        let log = work + "/openssl-ocsp.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? logHandle.close() }
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        defer {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
        try waitForListener(log: log)
        let label = "openssl ocsp (one process), TCP loopback"
        results.append(
            measure(
                label + ", connection per request", requests: requests,
                authority: authority
            ) { request in
                try BenchHTTPConnection.once(.tcp(port), request)
            })
        return OCSPBenchReport(
            certificates: certificates, clients: clients, preproduceSeconds: preproduceSeconds,
            signaturesDuringRuns: signaturesDuringRuns, results: results)
    }

    /// Runs `clients` threads for `seconds` (after a quarter-second warm-up), each sending requests for random
    /// certificates through `send`; the first answer of each thread is parsed and verified against the CA.
    func measure(
        _ label: String, requests: [[UInt8]], authority: IssuingAuthority,
        send: @escaping @Sendable ([UInt8]) throws -> [UInt8]
    ) -> OCSPThroughput {
        let collected = Mutex<(latencies: [Double], errors: Int)>(([], 0))
        let warmUp = 0.25
        let begin = DispatchTime.now()
        let group = DispatchGroup()
        for _ in 0..<clients {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                var latencies: [Double] = []
                latencies.reserveCapacity(200_000)
                var errors = 0
                var generator = SystemRandomNumberGenerator()
                var checked = false
                while true {
                    let elapsed = milliseconds(since: begin) / 1000
                    if elapsed >= warmUp + seconds { break }
                    let pick = Int.random(in: 0..<requests.count, using: &generator)
                    let start = DispatchTime.now()
                    do {
                        let answer = try send(requests[pick])
                        let took = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1000
                        if !checked {
                            checked = true
                            let id = try OCSPRequest(der: requests[pick]).certificateIDs[0]
                            _ = try OCSPResponse(der: answer).verify(for: id, issuer: authority.certificate)
                        }
                        if elapsed >= warmUp { latencies.append(took) }
                    } catch {
                        if elapsed >= warmUp { errors += 1 }
                    }
                }
                BenchHTTPConnection.closeShared()
                let measured = latencies
                let failed = errors
                collected.withLock {
                    $0.latencies += measured
                    $0.errors += failed
                }
            }
            thread.start()
        }
        group.wait()
        let (latencies, errors) = collected.withLock { ($0.latencies, $0.errors) }
        return OCSPThroughput(
            label: label, responses: latencies.count, errors: errors, seconds: seconds,
            p50Microseconds: percentile(latencies, 0.5), p99Microseconds: percentile(latencies, 0.99))
    }

    /// `YYMMDDHHMMSSZ`, as OpenSSL's CA index writes times.
    func opensslIndexTime(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%02d%02d%02d%02d%02d%02dZ", parts.tm_year % 100, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    /// Waits until OpenSSL says it listens. Probing the port instead would hang it: OpenSSL 3.0's responder spins
    /// on a connection closed before a request arrived (seen with 3.0.19).
    func waitForListener(log: String) throws {
        let deadline = Date() + 10
        while Date() < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8),
                text.contains("waiting for OCSP client connections")
            {
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw BenchHTTPError("openssl ocsp did not start listening (see \(log))")
    }

    /// A port nothing listens on now (bound to 0 and released; OpenSSL binds it a moment later).
    func freeLoopbackPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchHTTPError("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw BenchHTTPError("bind: \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }
}

/// The responder certificate and key files OpenSSL's responder signs with: a delegated OCSP signer our CA issued.
struct DelegatedSignerFiles {
    let certificate: String
    let key: String

    init(authority: IssuingAuthority, directory: String) throws {
        let signer = try authority.issueDelegatedSigner(for: .ocspSigning, validity: 86_400)
        certificate = directory + "/openssl-responder.pem"
        key = directory + "/openssl-responder-key.pem"
        try signer.certificate.pem.write(toFile: certificate, atomically: true, encoding: .utf8)
        try signer.key.pemEncoded().write(toFile: key, atomically: true, encoding: .utf8)
        chmod(key, 0o600)
    }
}

struct BenchHTTPError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A minimal HTTP/1.1 client for the bench: POST an OCSP request, read the response to its Content-Length (or to
/// the end of the connection for HTTP/1.0 without keep-alive).
final class BenchHTTPConnection {
    enum Endpoint: Sendable {
        case unix(String)
        case tcp(UInt16)
    }

    private var fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    private init(fd: Int32) { self.fd = fd }

    deinit { if fd >= 0 { close(fd) } }

    /// This thread's persistent connection to `endpoint`.
    static func shared(_ endpoint: Endpoint) throws -> BenchHTTPConnection {
        let key = "enroll-bench.ocsp-connection"
        if let existing = Thread.current.threadDictionary[key] as? BenchHTTPConnection, existing.fd >= 0 {
            return existing
        }
        let made = BenchHTTPConnection(fd: try connect(endpoint))
        Thread.current.threadDictionary[key] = made
        return made
    }

    static func closeShared() {
        Thread.current.threadDictionary["enroll-bench.ocsp-connection"] = nil
    }

    /// One request on a new connection, closed after.
    static func once(_ endpoint: Endpoint, _ body: [UInt8]) throws -> [UInt8] {
        let connection = BenchHTTPConnection(fd: try connect(endpoint))
        return try connection.post(body, keepAlive: false)
    }

    func post(_ body: [UInt8], keepAlive: Bool = true) throws -> [UInt8] {
        guard fd >= 0 else { throw BenchHTTPError("connection closed") }
        let head =
            "POST /ocsp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/ocsp-request\r\n"
            + "Content-Length: \(body.count)\r\n" + (keepAlive ? "" : "Connection: close\r\n") + "\r\n"
        let message = Array(head.utf8) + body
        var sent = 0
        while sent < message.count {
            let n = message[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return try fail("send") }
            sent += n
        }
        var received: [UInt8] = []
        var headerEnd: Int?
        var contentLength: Int?
        var closes = !keepAlive
        while true {
            if let end = headerEnd, let length = contentLength, received.count >= end + length {
                if closes { shut() }
                return Array(received[end..<(end + length)])
            }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                shut()
                guard let end = headerEnd, contentLength == nil || received.count >= end + (contentLength ?? 0) else {
                    throw BenchHTTPError("connection closed before the response ended")
                }
                return Array(received[end...])
            }
            received += buffer[..<n]
            if headerEnd == nil, let end = Self.headerEnd(received) {
                headerEnd = end
                // Byte-level parsing: the client shares the CPU with the server it measures.
                let head = received[..<end]
                guard head.count > 12, head.starts(with: Array("HTTP/1.".utf8)),
                    head[head.startIndex + 9] == UInt8(ascii: "2"), head[head.startIndex + 10] == UInt8(ascii: "0"),
                    head[head.startIndex + 11] == UInt8(ascii: "0")
                else {
                    shut()
                    throw BenchHTTPError("HTTP \(String(decoding: head.prefix(20), as: UTF8.self))")
                }
                contentLength = Self.contentLength(head)
                if head[head.startIndex + 7] == UInt8(ascii: "0") || Self.find("connection: close", in: head) != nil {
                    closes = true
                }
            }
        }
    }

    /// The index after `field` (matched ASCII case-insensitively), if present.
    static func find(_ field: String, in head: ArraySlice<UInt8>) -> Int? {
        let pattern = Array(field.utf8)
        guard head.count >= pattern.count else { return nil }
        var index = head.startIndex
        while index + pattern.count <= head.endIndex {
            var matches = true
            for offset in 0..<pattern.count where head[index + offset] | 0x20 != pattern[offset] | 0x20 {
                matches = false
                break
            }
            if matches { return index + pattern.count }
            index += 1
        }
        return nil
    }

    static func contentLength(_ head: ArraySlice<UInt8>) -> Int? {
        guard var index = find("content-length:", in: head) else { return nil }
        while index < head.endIndex, head[index] == UInt8(ascii: " ") { index += 1 }
        var value = 0
        var digits = 0
        while index < head.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(head[index]), digits < 9 {
            value = value * 10 + Int(head[index] - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        return digits > 0 ? value : nil
    }

    private func fail(_ what: String) throws -> [UInt8] {
        let code = errno
        shut()
        throw BenchHTTPError("\(what): \(String(cString: strerror(code)))")
    }

    private func shut() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    /// A connected socket with 5 s send and receive timeouts, so that a stuck server shows as errors, not a hang.
    static func connect(_ endpoint: Endpoint) throws -> Int32 {
        let fd = try open(endpoint)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    private static func open(_ endpoint: Endpoint) throws -> Int32 {
        switch endpoint {
        case let .unix(path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw BenchHTTPError("socket: \(errno)") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (offset, byte) in path.utf8.enumerated() where offset < raw.count - 1 { raw[offset] = byte }
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard result == 0 else {
                close(fd)
                throw BenchHTTPError("connect \(path): \(errno)")
            }
            return fd
        case let .tcp(port):
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw BenchHTTPError("socket: \(errno)") }
            var noDelay: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = port.bigEndian
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else {
                close(fd)
                throw BenchHTTPError("connect 127.0.0.1:\(port): \(errno)")
            }
            return fd
        }
    }
}
