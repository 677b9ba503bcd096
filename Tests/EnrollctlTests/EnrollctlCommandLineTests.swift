import Foundation
import Synchronization
import UnixHTTP
import XCTest

/// The requests a test server received.
private final class Recorder: Sendable {
    let requests = Mutex<[HTTPRequest]>([])
}

/// The built `enrollctl` against a Unix-socket server that records each request and refuses it: every existing
/// command line sends the request it always sent, and a secret given in a file or on standard input sends the
/// same request as on the command line.
final class EnrollctlCommandLineTests: XCTestCase {
    private var server: UnixSocketServer!
    private var socket = ""
    private let recorded = Recorder()
    private var work: URL!

    /// The built executable, beside the test bundle.
    static let enrollctl: URL = {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var products = runner.deletingLastPathComponent()
        if products.lastPathComponent == "MacOS" { products = products.deletingLastPathComponent() }
        return products.appendingPathComponent("enrollctl")
    }()

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("enrollctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        socket = work.appendingPathComponent("api.sock").path
        let recorded = self.recorded
        server = try UnixSocketServer(path: socket, mode: 0o600) { request, connection in
            recorded.requests.withLock { $0.append(request) }
            let body =
                #"{"type":"urn:enrolld:problem:test","title":"Refused by the test","status":409,"#
                + #""detail":"recorded","code":"test"}"#
            connection.respond(
                HTTPResponse(
                    status: 409, headers: [("Content-Type", "application/problem+json")],
                    body: Array(body.utf8)))
        }
        server.start()
    }

    override func tearDown() {
        server?.stop()
        if let work { try? FileManager.default.removeItem(at: work) }
    }

    /// Runs enrollctl; returns its status and standard error, and the one request it sent (nil: none).
    private func run(
        _ arguments: [String], input: String? = nil, environment: [String: String] = [:]
    ) throws
        -> (status: Int32, error: String, request: HTTPRequest?)
    {
        recorded.requests.withLock { $0.removeAll() }
        let process = Process()
        process.executableURL = Self.enrollctl
        process.arguments = ["--socket", socket] + arguments
        process.environment = environment
        let standardInput = Pipe()
        let errorPipe = Pipe()
        process.standardInput = standardInput
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorPipe
        try process.run()
        if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
        try standardInput.fileHandleForWriting.close()
        let error = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let requests = recorded.requests.withLock { $0 }
        XCTAssertLessThanOrEqual(requests.count, 1, "\(arguments): one request, then the refusal ends the run")
        return (process.terminationStatus, error, requests.first)
    }

    private func file(_ name: String, _ content: String) throws -> String {
        let url = work.appendingPathComponent(name)
        try Data(content.utf8).write(to: url)
        return url.path
    }

    private func json(_ request: HTTPRequest?) -> NSDictionary? {
        guard let body = request?.body, !body.isEmpty else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(body)) as? NSDictionary
    }

    // MARK: Existing command lines

    func testEveryCommandSendsItsRequest() throws {
        let photo = try file("photo.jpg", "JPEG")
        let key = try file("device.pem", "PEM")
        let mrz = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
        let photoBase64 = Data("JPEG".utf8).base64EncodedString()
        let cases: [([String], String, String, [String: Any]?)] = [
            (["health"], "GET", "/v1/health", nil),
            (["readers", "--json"], "GET", "/v1/readers", nil),
            (
                ["read", "--reader", "R", "--can", "123456"], "POST", "/v1/cards/read",
                ["reader": "R", "accessKey": ["can": "123456"], "includePortrait": false]
            ),
            (
                ["read", "--reader", "R", "--mrz", mrz, "--face-out", "f.jpg", "--json"], "POST", "/v1/cards/read",
                ["reader": "R", "accessKey": ["mrz": mrz], "includePortrait": true]
            ),
            (
                [
                    "read", "--reader", "R", "--document-number", "L8989021C", "--birth-date", "850304",
                    "--expiry-date", "310101",
                ], "POST", "/v1/cards/read",
                [
                    "reader": "R", "includePortrait": false,
                    "accessKey": ["documentNumber": "L8989021C", "birthDate": "850304", "expiryDate": "310101"],
                ]
            ),
            (["probe", "--reader", "R"], "POST", "/v1/cards/probe", ["reader": "R"]),
            (
                ["probe", "--reader", "R", "--can", "1"], "POST", "/v1/cards/probe",
                ["reader": "R", "accessKey": ["can": "1"]]
            ),
            (
                ["enroll", "--reader", "R", "--can", "1", "--photo", photo, "--account", "A"], "POST",
                "/v1/enrollments",
                ["reader": "R", "accessKey": ["can": "1"], "purpose": "upgrade", "accountId": "A"]
            ),
            (["accounts", "show", "A"], "GET", "/v1/accounts/A", nil),
            (["accounts", "activate", "A", "--code", "123456"], "POST", "/v1/accounts/A/activate", ["code": "123456"]),
            (["outbox", "list", "--state", "failed"], "GET", "/v1/outbox", nil),
            (["outbox", "retry", "M"], "POST", "/v1/outbox/M/retry", [:]),
            (["accounts", "status", "A"], "GET", "/v1/accounts/A/status-history", nil),
            (
                ["accounts", "cancel", "A", "--reason", "deceased"], "POST", "/v1/accounts/A/status",
                ["status": "cancelled", "reason": "deceased"]
            ),
            (
                ["accounts", "invalidate", "A", "--reason", "lost"], "POST", "/v1/accounts/A/status",
                ["status": "invalid", "reason": "lost"]
            ),
            (["certs", "list", "A"], "GET", "/v1/accounts/A/certificates", nil),
            (
                ["certs", "revoke", "0A", "--reason", "superseded"], "POST", "/v1/certificates/0A/revoke",
                ["reason": "superseded"]
            ),
            (["certs", "renew", "--all"], "POST", "/v1/certificates/renewals", ["limit": 10_000]),
            (
                ["certs", "renew", "--issued-before", "2026-01-01T00:00:00Z", "--limit", "5"], "POST",
                "/v1/certificates/renewals", ["issuedBefore": "2026-01-01T00:00:00Z", "limit": 5]
            ),
            (["crl", "--out", "crl.pem"], "GET", "/v1/crl", nil),
            (["usage", "A", "--limit", "5", "--after", "9"], "GET", "/v1/accounts/A/usage", nil),
            (["audit", "verify"], "POST", "/v1/audit/verify", nil),
            (["devices", "list", "A"], "GET", "/v1/accounts/A/devices", nil),
            (
                ["devices", "bind", "A", "--device-id", "D", "--public-key", key, "--label", "phone"], "POST",
                "/v1/accounts/A/devices", ["deviceId": "D", "publicKey": "PEM", "label": "phone"]
            ),
            (
                ["devices", "unbind", "A", "D", "--passcode", "1234"], "DELETE", "/v1/accounts/A/devices/D",
                ["passcode": "1234"]
            ),
            (["passcode", "status", "A"], "GET", "/v1/accounts/A/passcode", nil),
            (
                ["passcode", "set", "A", "--passcode", "1111", "--current", "2222"], "POST",
                "/v1/accounts/A/passcode",
                ["passcode": "1111", "currentPasscode": "2222"]
            ),
            (
                ["passcode", "disable", "A", "--current", "2222"], "DELETE", "/v1/accounts/A/passcode",
                ["currentPasscode": "2222"]
            ),
            (
                ["passcode", "verify", "A", "--passcode", "1111"], "POST", "/v1/accounts/A/passcode/verify",
                ["passcode": "1111"]
            ),
            (["trust", "list"], "GET", "/v1/trust", nil),
            (
                [
                    "verifiers", "add", "bank-a", "--name", "Bank A", "--elements", "surname,age_over_18", "--purpose",
                    "kyc", "--days", "30", "--csr", key,
                ], "POST", "/v1/verifiers",
                [
                    "id": "bank-a", "legalName": "Bank A", "elements": ["surname", "age_over_18"], "purpose": "kyc",
                    "validDays": 30, "csr": "PEM",
                ]
            ),
            (["verifiers", "list"], "GET", "/v1/verifiers", nil),
            (["verifiers", "show", "bank-a"], "GET", "/v1/verifiers/bank-a", nil),
            (
                ["verifiers", "suspend", "bank-a", "--reason", "audit"], "POST", "/v1/verifiers/bank-a/status",
                ["status": "suspended", "reason": "audit"]
            ),
            (["verifiers", "revoke", "bank-a"], "POST", "/v1/verifiers/bank-a/status", ["status": "revoked"]),
            (["trust", "import", photo], "POST", "/v1/trust/import", ["data": photoBase64]),
            (
                ["face-compare", photo, photo, "--json"], "POST", "/v1/faces/compare",
                ["reference": photoBase64, "probe": photoBase64]
            ),
            (["liveness", "challenge", "S"], "POST", "/v1/enrollments/S/liveness/challenge", nil),
            (["liveness", "run", "S", "--frames", work.path], "POST", "/v1/enrollments/S/liveness/challenge", nil),
            (
                ["enroll", "--reader", "R", "--can", "1", "--frames", work.path], "POST", "/v1/enrollments",
                ["reader": "R", "accessKey": ["can": "1"], "purpose": "register"]
            ),
        ]
        for (arguments, method, path, body) in cases {
            let result = try run(arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.error)")
            XCTAssertEqual(result.error, "enrollctl: Refused by the test: recorded\n", "\(arguments)")
            XCTAssertEqual(result.request?.method, method, "\(arguments)")
            XCTAssertEqual(result.request?.path, path, "\(arguments)")
            XCTAssertEqual(json(result.request), body.map { $0 as NSDictionary }, "\(arguments)")
        }
        let usage = try run(["usage", "A", "--limit", "5", "--after", "9"])
        XCTAssertEqual(usage.request?.query.map { "\($0.name)=\($0.value)" }, ["limit=5", "after=9"])
    }

    /// A burst from a directory of frames: the prompt sequence's subdirectory when there is one, frames in file-name
    /// order, each stamped as it is taken.
    func testLivenessSendPostsTheFramesOfTheChallengesPromptsInOrder() throws {
        let sequence = work.appendingPathComponent("frames/turn-left+look-up")
        try FileManager.default.createDirectory(at: sequence, withIntermediateDirectories: true)
        for index in [2, 0, 1] {
            try Data("frame \(index)".utf8).write(to: sequence.appendingPathComponent("\(index).jpg"))
        }
        try Data("other".utf8).write(to: work.appendingPathComponent("frames/x.jpg"))
        let nonce = String(repeating: "ab", count: 16)
        let result = try run([
            "liveness", "send", "S", "--nonce", nonce, "--frames", work.path + "/frames",
            "--prompts", "turn-left,look-up", "--interval", "20",
        ])
        XCTAssertEqual(result.request?.path, "/v1/enrollments/S/liveness")
        let body = try JSONDecoder().decode(WireBurst.self, from: Data(try XCTUnwrap(result.request?.body)))
        XCTAssertEqual(body.nonceHex, nonce)
        XCTAssertEqual(
            body.frames.map { String(decoding: Data(base64Encoded: $0.image) ?? Data(), as: UTF8.self) },
            ["frame 0", "frame 1", "frame 2"])
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let times = body.frames.compactMap { format.date(from: $0.capturedAt) }
        XCTAssertEqual(times.count, 3)
        XCTAssertEqual(times, times.sorted())
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(times.last).timeIntervalSince(try XCTUnwrap(times.first)), 0.039)
        let flat = try run(["liveness", "send", "S", "--nonce", nonce, "--frames", work.path + "/frames"])
        let other = try JSONDecoder().decode(WireBurst.self, from: Data(try XCTUnwrap(flat.request?.body)))
        XCTAssertEqual(other.frames.count, 1, "without a matching sequence, the directory's own frames")
    }

    private struct WireBurst: Decodable {
        struct Frame: Decodable {
            var image: String
            var capturedAt: String
        }

        var nonceHex: String
        var frames: [Frame]
    }

    func testRoleChannelAndHolderProofTravelAsHeaders() throws {
        let result = try run(
            ["accounts", "show", "A", "--holder-session", "S1", "--holder-passcode", "1234"],
            environment: ["ENROLLD_ROLE": "kiosk", "ENROLLD_CHANNEL": "kiosk-7"])
        let headers = result.request?.headers.filter { $0.name.hasPrefix("x-enrolld-") }
            .map { "\($0.name): \($0.value)" }
        XCTAssertEqual(
            headers,
            [
                "x-enrolld-role: kiosk", "x-enrolld-channel: kiosk-7", "x-enrolld-enrollment: S1",
                "x-enrolld-passcode: 1234",
            ])
        let overridden = try run(
            ["health", "--role", "operator", "--channel", "counter-1"],
            environment: ["ENROLLD_ROLE": "kiosk"])
        XCTAssertEqual(overridden.request?.headers.first { $0.name == "x-enrolld-role" }?.value, "operator")
        XCTAssertEqual(overridden.request?.headers.first { $0.name == "x-enrolld-channel" }?.value, "counter-1")
    }

    func testUsageErrorsExitWithTwoAndSendNothing() throws {
        for (arguments, message) in [
            (["read", "--can", "1"], "read needs --reader NAME (see 'enrollctl readers')"),
            (
                ["read", "--reader", "R"],
                "read needs --scan PHOTO, --mrz, --can, or --document-number with --birth-date and --expiry-date"
            ),
            (["accounts", "show"], "usage: enrollctl accounts show|status|cancel|invalidate|holder-name|activate ID"),
            (["passcode", "set", "A"], "passcode set needs --passcode NNNN"),
            (["read", "--reader"], "--reader needs a value"),
            (
                ["enroll", "--reader", "R", "--can", "1"],
                "enroll needs --photo FILE (the live photo), --frames DIR (a liveness burst), or both"
            ),
            (["liveness", "challenge"], "liveness needs challenge, send or run and an enrollment SESSION"),
            (["certs", "renew"], "usage: enrollctl certs renew --all | --issued-before TIME [--limit N]"),
            (
                ["certs", "renew", "--all", "--issued-before", "2026-01-01T00:00:00Z"],
                "usage: enrollctl certs renew --all | --issued-before TIME [--limit N]"
            ),
            (["certs", "renew", "--all", "--limit", "0"], "--limit is a positive number"),
            (["liveness", "send", "S", "--frames", "x"], "liveness send needs --nonce HEX (the challenge's nonceHex)"),
            (["verifiers", "add", "bank-a", "--elements", "surname"], "verifiers add needs --name LEGAL-NAME"),
        ] {
            let result = try run(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments)")
            XCTAssertEqual(result.error, "enrollctl: \(message)\n", "\(arguments)")
            XCTAssertNil(result.request, "\(arguments)")
        }
        let unknown = try run(["frobnicate"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.error.hasPrefix("enrollctl: unknown command 'frobnicate'\nusage: enrollctl"))
    }

    // MARK: Secrets off the command line

    /// Each secret option as OPTION VALUE, OPTION-file FILE and OPTION-stdin sends the same request.
    func testSecretsFromAFileOrStandardInputSendTheSameRequest() throws {
        let mrz = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
        let cases: [(command: [String], option: String, value: String, stored: String)] = [
            (["read", "--reader", "R"], "--can", "123456", "123456"),
            (["read", "--reader", "R"], "--mrz", mrz.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n", mrz),
            (
                ["probe", "--reader", "R", "--birth-date", "850304", "--expiry-date", "310101"],
                "--document-number", "L8989021C\n", "L8989021C"
            ),
            (
                ["read", "--reader", "R", "--document-number", "L8989021C", "--expiry-date", "310101"],
                "--birth-date", "  850304\n", "850304"
            ),
            (
                ["read", "--reader", "R", "--document-number", "L8989021C", "--birth-date", "850304"],
                "--expiry-date", "310101", "310101"
            ),
            (["passcode", "verify", "A"], "--passcode", "0042\n", "0042"),
            (["passcode", "disable", "A"], "--current", "0042\n", "0042"),
            (["accounts", "show", "A"], "--holder-passcode", "0042\n", "0042"),
            (["accounts", "activate", "A"], "--code", "123456\n", "123456"),
        ]
        for (command, option, value, stored) in cases {
            let direct = try run(command + [option, stored])
            let path = try file("secret", value)
            let fromFile = try run(command + [option + "-file", path])
            let fromInput = try run(command + [option + "-stdin"], input: value)
            for (source, result) in [("-file", fromFile), ("-stdin", fromInput)] {
                XCTAssertEqual(result.status, 1, "\(option)\(source): \(result.error)")
                XCTAssertEqual(result.request?.path, direct.request?.path, "\(option)\(source)")
                XCTAssertEqual(json(result.request), json(direct.request), "\(option)\(source)")
                XCTAssertEqual(
                    result.request?.headers.first { $0.name == "x-enrolld-passcode" }?.value,
                    direct.request?.headers.first { $0.name == "x-enrolld-passcode" }?.value)
            }
        }
        // Two secrets at once: one from standard input, one from a file.
        let current = try file("current", "2222\n")
        let both = try run(["passcode", "set", "A", "--passcode-stdin", "--current-file", current], input: "1111\n")
        XCTAssertEqual(json(both.request), ["passcode": "1111", "currentPasscode": "2222"] as NSDictionary)
    }

    /// A secret that cannot be used ends the run before anything is sent or read from a terminal.
    func testUnusableSecretSourcesAreRefusedBeforeAnyRequest() throws {
        let oversized = try file("big", String(repeating: "1", count: 5000))
        let twoLines = try file("two", "1234\n5678\n")
        let blank = try file("blank", " \n")
        let cases: [([String], String?, String)] = [
            (
                ["--can-stdin", "--mrz-stdin"], "1\n",
                "--can-stdin, --mrz-stdin: only one option can read standard "
                    + "input; give the others -file"
            ),
            (
                ["--can", "1", "--can-stdin"], "2",
                "--can given twice (on the command line, in a file or on standard "
                    + "input): give it once"
            ),
            (
                ["--can-file", twoLines, "--can-file", twoLines], nil,
                "--can given twice (on the command line, in a "
                    + "file or on standard input): give it once"
            ),
            (["--can-stdin"], "", "--can-stdin: standard input holds no CAN"),
            (["--can-file", blank], nil, "--can-file: \(blank) holds no CAN"),
            (
                ["--can-file", twoLines], nil,
                "--can-file: \(twoLines) holds more than one line; expected the CAN alone"
            ),
            (
                ["--mrz-file", oversized], nil,
                "--mrz-file: \(oversized) holds more than 4096 bytes; expected the MRZ"
            ),
            (
                ["--can-file", work.appendingPathComponent("missing").path], nil,
                "--can-file: cannot read \(work.appendingPathComponent("missing").path)"
            ),
            (["--can-file"], nil, "--can-file needs a value"),
            (["--reader-stdin"], nil, "unknown option '--reader-stdin'"),
        ]
        for (arguments, input, message) in cases {
            let result = try run(["read", "--reader", "R"] + arguments, input: input)
            XCTAssertEqual(result.status, 2, "\(arguments)")
            XCTAssertTrue(result.error.hasPrefix("enrollctl: \(message)\n"), "\(arguments): \(result.error)")
            XCTAssertNil(result.request, "\(arguments)")
        }
    }

    /// `--help`, enrollctl(1) and the README name every secret option and both other forms.
    func testTheSchemeIsDocumented() throws {
        let help = Pipe()
        let process = Process()
        process.executableURL = Self.enrollctl
        process.arguments = ["--help"]
        process.standardOutput = help
        try process.run()
        let usage = String(decoding: help.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("docs/enrollctl.1"), encoding: .utf8)
            .replacingOccurrences(of: "\\-", with: "-")
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let secrets = [
            "--mrz", "--can", "--document-number", "--birth-date", "--expiry-date", "--passcode",
            "--current", "--holder-passcode",
        ]
        for (name, text) in [("--help", usage), ("enrollctl(1)", page), ("README.md", readme)] {
            for option in secrets { XCTAssertTrue(text.contains(option), "\(name) lists \(option)") }
            XCTAssertTrue(text.contains("OPTION") && text.contains("-file") && text.contains("-stdin"), name)
        }
    }
}
