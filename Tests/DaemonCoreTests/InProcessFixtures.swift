import CertificateAuthority
import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import Synchronization
import UnixHTTP
import XCTest

/// Steps and fixtures the flow and refusal tests share, on top of `InProcessDaemon`'s enrollment steps. Each one
/// throws (naming the problem) when the daemon refuses, so a fixture that breaks fails the test that uses it.
extension InProcessDaemon {
    /// `response` when it has `status`, else a failure naming what came back.
    @discardableResult
    func require(_ response: HTTPResponse, _ status: Int, _ what: String = "") throws -> HTTPResponse {
        guard response.status == status else {
            throw DecodeFailure(
                description: "\(what.isEmpty ? "request" : what): expected \(status), got "
                    + problem(response))
        }
        return response
    }

    /// Opens a session for `holder` (its card put on the reader first, unless `insert` is false); the session id.
    func openSession(
        _ holder: TestHolder, purpose: String = "register", accountID: String? = nil,
        guardian: String? = nil, insert: Bool = true, reader: String = InProcessDaemon.reader,
        as caller: Caller = .kiosk
    ) throws -> String {
        if insert { try insertCard(holder, in: reader) }
        let started = try require(
            try start(
                holder, purpose: purpose, accountID: accountID, guardian: guardian,
                reader: reader, as: caller), 201, "start")
        return try decode(EnrollmentView.self, started).id
    }

    /// A session whose live photo matched the chip portrait and (`live`) whose liveness burst passed.
    func matchedSession(
        _ holder: TestHolder, purpose: String = "register", accountID: String? = nil,
        live: Bool = true, as caller: Caller = .kiosk
    ) throws -> String {
        let session = try openSession(holder, purpose: purpose, accountID: accountID, as: caller)
        try require(try photo(session, of: holder.person, as: caller), 200, "photo")
        if live { try require(try liveness(session, of: holder.person, as: caller).answer, 200, "liveness") }
        return session
    }

    /// A new account for a new holder: signing tier (with a certificate) or basic.
    func newAccount(
        _ person: String = "John_Salley", birthDate: String = "800101",
        signing: Bool = true
    ) throws -> (holder: TestHolder, outcome: EnrollmentOutcome) {
        let holder = TestHolder.random(person, birthDate: birthDate)
        return (holder, try enroll(holder, signing: signing).outcome)
    }

    /// Sets the account's passcode as the holder at the kiosk, proven by the enrollment that created the account.
    func setPasscode(_ passcode: String, on outcome: EnrollmentOutcome) throws {
        try require(
            try call(
                "POST", "/v1/accounts/\(outcome.accountID)/passcode",
                json: PasscodeBody(passcode: passcode),
                headers: [("X-Enrolld-Enrollment", outcome.enrollmentID)]), 200, "set passcode")
    }

    /// Enters a wrong passcode until the lock closes (`passcode.max_attempts` entries).
    func lockPasscode(of accountID: String) throws {
        for _ in 0...configuration.passcodeMaxAttempts {
            let entry = try call(
                "POST", "/v1/accounts/\(accountID)/passcode/verify",
                json: PasscodeBody(passcode: "0000"), as: .operator)
            if problem(entry) == "passcode-locked" { return }
        }
        throw DecodeFailure(description: "the passcode of \(accountID) did not lock")
    }

    /// An operator sets the account's status.
    @discardableResult
    func setStatus(_ accountID: String, _ status: String, reason: String = "reported lost") throws -> StatusView {
        try decode(
            StatusView.self,
            try require(
                try call(
                    "POST", "/v1/accounts/\(accountID)/status", json: StatusChangeBody(status: status, reason: reason),
                    as: .operator), 200, "set status"))
    }

    /// The session's view (the kiosk's).
    func sessionView(_ id: String, as caller: Caller = .kiosk) throws -> EnrollmentView {
        try decode(EnrollmentView.self, try require(call("GET", "/v1/enrollments/\(id)", as: caller), 200))
    }

    /// The account as an operator sees it.
    func accountView(_ accountID: String) throws -> AccountView {
        try decode(AccountView.self, try require(call("GET", "/v1/accounts/\(accountID)", as: .operator), 200))
    }

    /// The account's usage records (one page) as an operator sees them.
    func usage(_ accountID: String, query: [(name: String, value: String)] = []) throws -> UsagePage {
        try decode(
            UsagePage.self,
            try require(
                call(
                    "GET", "/v1/accounts/\(accountID)/usage", as: .operator,
                    query: query), 200))
    }

    /// The issuing CA's certificate (what `/v1/crl` and issued certificates chain to).
    func caCertificate() throws -> X509Certificate {
        let path = directory.appendingPathComponent("ca").appendingPathComponent(CAStore.certificateFileName)
        return try X509Certificate(pem: String(contentsOf: path, encoding: .utf8))
    }

    /// Events published from now on.
    func recordEvents() -> EventSubscription {
        daemon.events.subscribe()
    }

    /// The events `subscription` holds now.
    func drain(_ subscription: EventSubscription) -> [DaemonEvent] {
        var events: [DaemonEvent] = []
        while case let .event(event) = subscription.next(timeout: 0.05) { events.append(event) }
        return events
    }

    /// Runs `statement` on the daemon's SQLite database with the sqlite3 tool (as someone with the file, or a broken
    /// disk, would change it).
    func sql(_ statement: String) throws {
        let database = configuration.stateDirectory + "/enrolld.db"
        _ = try Self.run("/usr/bin/sqlite3", ["-cmd", ".timeout 5000", database, statement])
    }

    /// Runs a command-line tool (sqlite3, openssl: independent readers of what the daemon wrote) with `input` on
    /// its standard input; its standard output. Throws when it exits with a failure.
    static func run(_ tool: String, _ arguments: [String], input: [UInt8] = []) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let command = ([tool] + arguments).joined(separator: " ")
            throw DecodeFailure(description: "\(command) exited \(process.terminationStatus)")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// A device key as a phone would send it: a P-256 public key in PEM.
    static func makeDeviceKey() throws -> String {
        try PrivateKey.generate(.p256).publicKey().pemEncoded()
    }

    /// Runs `request` on another thread while `gate` holds the step it starts, calls `meanwhile` once the step is
    /// held, then opens the gate; returns what `meanwhile` returned and the held request's answer.
    func whileHeld<T>(
        _ gate: Gate, _ request: @escaping @Sendable () -> HTTPResponse,
        meanwhile: () throws -> T
    ) throws -> (meanwhile: T, held: HTTPResponse) {
        let answer = HeldAnswer()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            answer.set(request())
            done.signal()
        }
        guard gate.waitUntilReached() else {
            gate.open()
            _ = done.wait(timeout: .now() + 10)
            throw DecodeFailure(description: "the request never reached the gate: \(problem(answer.value))")
        }
        let result: T
        do {
            result = try meanwhile()
        } catch {
            gate.open()
            _ = done.wait(timeout: .now() + 10)
            throw error
        }
        gate.open()
        guard done.wait(timeout: .now() + 10) == .success else {
            throw DecodeFailure(description: "the held request did not finish")
        }
        return (result, answer.value)
    }
}

/// The answer of a request run on another thread.
final class HeldAnswer: Sendable {
    private let box = Mutex(HTTPResponse(status: 0))
    func set(_ response: HTTPResponse) { box.withLock { $0 = response } }
    var value: HTTPResponse { box.withLock { $0 } }
}
