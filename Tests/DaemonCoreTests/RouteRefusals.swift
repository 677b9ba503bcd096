import DaemonCore
import EnrollAPIModel
import Foundation
import MRTD
import OpenSSLKit
import UnixHTTP
import VirtualCard
import XCTest

/// One refusal a route gives: the route as `RoutePermissions` names it (`METHOD /pattern`), the catalogued problem it
/// must answer, what provokes it, and the daemon it needs. `provoke` sends the request; `RefusalRun` checks the
/// answer: the catalogue's status and code, a problem+json body and a detail that says something.
struct Refusal: CustomStringConvertible, Sendable {
    /// The route's name, or `transport` for what the HTTP layer answers before any route.
    var route: String
    var code: ProblemCode
    var cause: String
    var setup: RefusalBench.Setup
    var provoke: @Sendable (RefusalBench) throws -> HTTPResponse

    init(
        _ route: String, _ code: ProblemCode, _ cause: String, on setup: RefusalBench.Setup = .standard,
        _ provoke: @escaping @Sendable (RefusalBench) throws -> HTTPResponse
    ) {
        self.route = route
        self.code = code
        self.cause = cause
        self.setup = setup
        self.provoke = provoke
    }

    var description: String { "\(route) → \(code.code) (\(cause))" }

    static let transport = "transport"
    static let router = "router"
}

/// A daemon for refusals, with the fixtures they share, made when first asked for. Every refusal that changes a
/// fixture for good (a lock, a cancellation) gets its own.
///
/// `@unchecked Sendable`: a test drives it from its own thread; the one request it sends from another thread (a step
/// held at a gate) runs while the test thread waits for it, so the fixtures are never touched from two threads.
final class RefusalBench: @unchecked Sendable {
    enum Setup: Hashable, CaseIterable {
        /// The in-process daemon as configured by default.
        case standard
        /// `passcode.enabled = false`.
        case passcodesOff
        /// `readers.read_timeout_seconds = 0.5`.
        case slowReads
        /// No CA in `[ca]`: enrollment is not set up.
        case noCA
        /// A CA whose certificate has expired.
        case expiredCA
        /// `enrollment.refuse_expired_documents = false`: the CA is the one to refuse an expired document.
        case expiredDocumentsAllowed
        /// `readers.require_pace = always`: BAC-only chips are not read.
        case paceRequired
        /// `trust.accepted_states = D`: the test holders' UTO documents are not accepted for enrollment.
        case onlyGerman
        /// Served on its real Unix socket (transport refusals).
        case socket
        /// Served on its real socket with `api.max_connections = 1`.
        case oneConnection
    }

    let setup: Setup
    let daemon: InProcessDaemon

    init(_ setup: Setup) throws {
        self.setup = setup
        switch setup {
        case .standard, .socket: daemon = try InProcessDaemon()
        case .passcodesOff: daemon = try InProcessDaemon(extraConfiguration: "[passcode]\nenabled = false")
        case .slowReads: daemon = try InProcessDaemon(extraConfiguration: "[readers]\nread_timeout_seconds = 0.5")
        case .noCA: daemon = try InProcessDaemon(ca: .missing)
        case .expiredCA: daemon = try InProcessDaemon(ca: .expired)
        case .expiredDocumentsAllowed:
            daemon = try InProcessDaemon(extraConfiguration: "[enrollment]\nrefuse_expired_documents = false")
        case .paceRequired: daemon = try InProcessDaemon(extraConfiguration: "[readers]\nrequire_pace = always")
        case .onlyGerman: daemon = try InProcessDaemon(extraConfiguration: "[trust]\naccepted_states = D")
        case .oneConnection:
            daemon = try InProcessDaemon(extraConfiguration: "[api]\nmax_connections = 1\nreserved_connections = 0")
        }
        if setup == .socket || setup == .oneConnection { try daemon.serve() }
    }

    static let passcode = "2580"

    // MARK: Fixtures

    /// A signing account with the passcode `passcode`, its certificate's key on device `phone-a`. Refusals may enter
    /// a wrong passcode on it: the count of wrong entries is reset before it could lock.
    var account: (holder: TestHolder, outcome: EnrollmentOutcome) {
        get throws {
            if let made = madeAccount {
                let status = try daemon.decode(
                    PasscodeStatus.self,
                    try daemon.require(
                        daemon.call("GET", "/v1/accounts/\(made.outcome.accountID)/passcode", as: .operator), 200))
                if status.failedAttempts >= 2 {
                    try daemon.require(
                        daemon.call(
                            "POST", "/v1/accounts/\(made.outcome.accountID)/passcode/verify",
                            json: PasscodeBody(passcode: Self.passcode)), 200)
                }
                return made
            }
            let holder = TestHolder.random("John_Salley")
            let session = try daemon.matchedSession(holder)
            let outcome = try daemon.decode(
                EnrollmentOutcome.self,
                try daemon.require(
                    daemon.call(
                        "POST", "/v1/enrollments/\(session)/complete",
                        json: EnrollmentCompleteBody(
                            csr: try InProcessDaemon.makeCSR(), deviceId: "phone-a",
                            devicePublicKey: try InProcessDaemon.makeDeviceKey())), 200))
            try daemon.setPasscode(Self.passcode, on: outcome)
            madeAccount = (holder, outcome)
            return (holder, outcome)
        }
    }

    private var madeAccount: (holder: TestHolder, outcome: EnrollmentOutcome)?

    var accountID: String { get throws { try account.outcome.accountID } }

    /// A basic account without a passcode (also an eligible guardian).
    var plainAccount: (holder: TestHolder, outcome: EnrollmentOutcome) {
        get throws {
            if let madePlain { return madePlain }
            let made = try daemon.newAccount("John_Savage", signing: false)
            madePlain = made
            return made
        }
    }

    private var madePlain: (holder: TestHolder, outcome: EnrollmentOutcome)?

    /// An account whose passcode is locked.
    var lockedAccount: String {
        get throws {
            if let madeLocked { return madeLocked }
            let (_, outcome) = try daemon.newAccount("John_Simm", signing: false)
            try daemon.setPasscode(Self.passcode, on: outcome)
            try daemon.lockPasscode(of: outcome.accountID)
            madeLocked = outcome.accountID
            return outcome.accountID
        }
    }

    private var madeLocked: String?

    /// A cancelled account, and its holder.
    var cancelledAccount: (holder: TestHolder, outcome: EnrollmentOutcome) {
        get throws {
            if let madeCancelled { return madeCancelled }
            let made = try daemon.newAccount("John_Shimkus", signing: false)
            try daemon.setStatus(made.outcome.accountID, "cancelled", reason: "card cancelled by the issuer")
            madeCancelled = made
            return made
        }
    }

    private var madeCancelled: (holder: TestHolder, outcome: EnrollmentOutcome)?

    // MARK: Sessions and requests

    /// A new holder (an adult unless `birthDate` says otherwise).
    func holder(_ person: String = "John_Schneider", birthDate: String = "800101") -> TestHolder {
        TestHolder.random(person, birthDate: birthDate)
    }

    /// A new holder's open registration.
    func session() throws -> String {
        try daemon.openSession(holder())
    }

    /// A new holder's registration, face matched and (`live`) with a passed liveness burst.
    func matchedSession(birthDate: String = "800101", live: Bool = true) throws -> String {
        let holder = holder(birthDate: birthDate)
        let session = try daemon.openSession(holder)
        try daemon.require(daemon.photo(session, of: holder.person), 200, "photo")
        if live { try daemon.require(daemon.liveness(session, of: holder.person).answer, 200, "liveness") }
        return session
    }

    /// A child's registration naming `plainAccount` as the guardian.
    func childSession() throws -> String {
        try daemon.openSession(holder("John_Simm", birthDate: "160101"), guardian: try plainAccount.outcome.accountID)
    }

    func post<T: Encodable>(
        _ path: String, _ body: T, as caller: InProcessDaemon.Caller = .kiosk,
        headers: [(String, String)] = []
    ) throws -> HTTPResponse {
        try daemon.call("POST", path, json: body, as: caller, headers: headers)
    }

    /// `POST /v1/cards/read` on the first reader.
    func read(
        _ key: AccessKeyRequest, reader: String = InProcessDaemon.reader, allowBAC: Bool? = nil,
        headers: [(String, String)] = []
    ) throws -> HTTPResponse {
        try post(
            "/v1/cards/read", CardReadRequest(reader: reader, accessKey: key, allowBAC: allowBAC),
            headers: headers)
    }

    /// `POST /v1/cards/probe` on the first reader.
    func probe(_ key: AccessKeyRequest? = nil, reader: String = InProcessDaemon.reader) throws -> HTTPResponse {
        try post("/v1/cards/probe", CardProbeRequest(reader: reader, accessKey: key))
    }

    /// Completes `session` with `body`.
    func complete(_ session: String, _ body: EnrollmentCompleteBody) throws -> HTTPResponse {
        try post("/v1/enrollments/\(session)/complete", body)
    }

    /// Reads `holder`'s card on the second reader as the guardian of `session`.
    func guardian(
        _ session: String, _ holder: TestHolder, key: AccessKeyRequest? = nil,
        insert: Bool = true
    ) throws -> HTTPResponse {
        if insert { try daemon.insertCard(holder, in: InProcessDaemon.secondReader) }
        return try post(
            "/v1/enrollments/\(session)/guardian",
            GuardianCardBody(reader: InProcessDaemon.secondReader, accessKey: key ?? holder.accessKey))
    }

    /// The guardian's live photo (of `person`) in `session`.
    func seeGuardian(_ session: String, _ person: String) throws -> HTTPResponse {
        try post(
            "/v1/enrollments/\(session)/guardian/photo",
            EnrollmentPhotoBody(photo: Data(FakeFaces.livePhoto(person)).base64EncodedString()))
    }

    /// A CSR for a fresh key of `parameters`, as PEM.
    static func csr(_ parameters: KeyGenerationParameters) throws -> String {
        try CertificateSigningRequest.create(
            subject: DistinguishedName(country: "UT", commonName: "device"),
            key: try PrivateKey.generate(parameters)
        ).pem
    }

    /// A P-256 CSR whose signature no longer verifies (its last byte flipped), as base64 DER.
    static func csrWithoutProofOfPossession() throws -> String {
        let pem = try csr(.p256)
        var der = [UInt8](
            try XCTUnwrap(
                Data(
                    base64Encoded: pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }
                        .joined())))
        der[der.count - 1] ^= 0x01
        return Data(der).base64EncodedString()
    }

    /// An Ed25519 CSR (made once with `openssl req -newkey ed25519`): a key type the CA does not accept.
    static let ed25519CSR = """
        -----BEGIN CERTIFICATE REQUEST-----
        MIGYMEwCAQAwGTEXMBUGA1UEAwwOZWQyNTUxOSBkZXZpY2UwKjAFBgMrZXADIQCU
        xGIaHQIZKQlijwx+v5f0Bhu//dbj0nZBuZFDNFozK6AAMAUGAytlcANBAHW01io5
        V1yR3EvNO7WQV/3s9LN3kN1umPzZaPHor1ljxGVrtV8OxhVq24AJljbe/figl1vc
        bYgBTijcP0UEYwE=
        -----END CERTIFICATE REQUEST-----
        """

    // MARK: Held steps

    /// Sends `request` while the next card command on the first reader is held, runs `meanwhile`, then lets the
    /// card answer; the held request's answer and what `meanwhile` returned.
    func whileReading<T>(
        _ request: @escaping @Sendable () throws -> HTTPResponse,
        meanwhile: () throws -> T
    ) throws -> (meanwhile: T, held: HTTPResponse) {
        let gate = daemon.cards.holdNextCommand(on: InProcessDaemon.reader)
        return try daemon.whileHeld(gate, { (try? request()) ?? HTTPResponse(status: 0) }, meanwhile: meanwhile)
    }

    /// Sends a photo for `session` while its face comparison is held, runs `meanwhile`, then lets it finish.
    func whileComparing<T>(_ session: String, meanwhile: () throws -> T) throws -> T {
        let gate = daemon.faces.holdNextComparison()
        let daemon = self.daemon
        let photo: @Sendable () -> HTTPResponse = {
            (try? daemon.photo(session, of: "John_Schneider")) ?? HTTPResponse(status: 0)
        }
        return try daemon.whileHeld(gate, photo, meanwhile: meanwhile).meanwhile
    }
}

/// Runs refusals, one daemon per setup, and checks each answer against the catalogue.
enum RefusalRun {
    static func check(_ refusals: [Refusal], file: StaticString = #filePath, line: UInt = #line) {
        var benches: [RefusalBench.Setup: RefusalBench] = [:]
        let document = try? OpenAPIDocument.load()
        XCTAssertNotNil(document, "\(OpenAPIDocument.path) does not load", file: file, line: line)
        for refusal in refusals {
            do {
                let bench = try benches[refusal.setup] ?? RefusalBench(refusal.setup)
                benches[refusal.setup] = bench
                let response = try refusal.provoke(bench)
                assertAnswer(response, refusal, file: file, line: line)
                // The API document lists the problem under the route's status (kiosk integrators generate from it).
                if let document, let operation = document.operation(refusal.route) {
                    XCTAssertEqual(
                        document.undocumented(response, by: operation), [],
                        "\(OpenAPIDocument.path): \(refusal)", file: file, line: line)
                }
            } catch {
                XCTFail("\(refusal): \(error)", file: file, line: line)
            }
        }
    }

    /// Every refusal is application/problem+json, except a wrong or locked passcode entry: docs/openapi.json
    /// documents it as the `PasscodeCheckResponse` (application/json) that carries the problem's members.
    static func contentType(_ refusal: Refusal) -> String {
        refusal.route == "POST /v1/accounts/{id}/passcode/verify"
            && (refusal.code == .passcodeWrong || refusal.code == .passcodeLocked)
            ? "application/json" : "application/problem+json"
    }

    static func assertAnswer(_ response: HTTPResponse, _ refusal: Refusal, file: StaticString, line: UInt) {
        guard let problem = try? JSONDecoder().decode(Problem.self, from: Data(response.body)) else {
            XCTFail(
                "\(refusal): no problem body, status \(response.status): "
                    + String(decoding: response.body.prefix(300), as: UTF8.self), file: file, line: line)
            return
        }
        XCTAssertEqual(problem.code, refusal.code.code, "\(refusal): \(problem.detail)", file: file, line: line)
        XCTAssertEqual(
            response.status, refusal.code.status, "\(refusal): the catalogue's status",
            file: file, line: line)
        XCTAssertEqual(problem.status, response.status, "\(refusal)", file: file, line: line)
        XCTAssertEqual(problem.title, ProblemCode.named(problem.code)?.title, "\(refusal)", file: file, line: line)
        XCTAssertEqual(problem.type, "urn:enrolld:problem:\(problem.code)", "\(refusal)", file: file, line: line)
        XCTAssertFalse(
            problem.detail.trimmingCharacters(in: .whitespaces).isEmpty, "\(refusal): empty detail",
            file: file, line: line)
        XCTAssertEqual(response.header("Content-Type"), contentType(refusal), "\(refusal)", file: file, line: line)
        if refusal.code == .storageError || refusal.code == .internalError {
            XCTAssertNotNil(problem.incident, "\(refusal): names the incident of its log line", file: file, line: line)
        }
        if refusal.code == .faceEngineBusy {
            // A kiosk beyond the face pool is told when to come back, in the header and in the body alike.
            let header = response.header("Retry-After")
            XCTAssertNotNil(header, "\(refusal): 503 without Retry-After", file: file, line: line)
            XCTAssertEqual(header.flatMap { Int($0) }, problem.retryAfter, "\(refusal)", file: file, line: line)
            XCTAssertGreaterThan(problem.retryAfter ?? 0, 0, "\(refusal)", file: file, line: line)
        }
    }
}
