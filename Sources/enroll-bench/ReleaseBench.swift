import CertificateAuthority
import DaemonCore
import EnrollAPIModel
import Enrollment
import Foundation
import OpenSSLKit
import Store
import Synchronization
import UnixHTTP
import VerifierClient

/// `enroll-bench release`: verifier requests per second and latency from concurrent verifiers on the daemon's
/// TLS 1.3 listener (loopback, real client certificates), with the costs kept apart:
/// - handshake: TCP connect, TLS 1.3 handshake with the client certificate, close;
/// - request over TLS: a new connection, the handshake and one `POST /v1/verifier/requests` with a fresh token
///   (as `enroll-verifier` sends it: the listener serves one request per connection);
/// - request in process: the same request through the verifier router, no TLS (the registry look-up by
///   fingerprint, the token check, the usage record's commit).
/// The holders' accounts are written straight into the store (no card read); tokens are made in process between
/// requests and not timed.
func runReleaseBench(arguments: [String]) {
    var seconds = 5.0
    var clients = 4
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
            guard let number = Double(value("--seconds")), number > 0, number <= 600 else {
                benchFail("--seconds needs a number of seconds (at most 600)")
            }
            seconds = number
        case "--clients": clients = benchInteger(value("--clients"), "--clients", 1...64)
        case "--json": json = true
        default: benchFail("unknown option '\(arguments[index])' for release")
        }
        index += 1
    }
    let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("enroll-bench-release-\(getpid())")
    defer { try? FileManager.default.removeItem(at: work) }
    do {
        let run = try ReleaseBenchRun(work: work, clients: clients)
        defer { run.daemon.verifierListener?.stop() }
        let results = [
            try run.measure("TLS 1.3 handshake with client certificate", seconds: seconds) { _, client, _ in
                let stream = try client.handshake()
                stream.close()
                return true
            },
            try run.measure("POST /v1/verifier/requests over TLS (handshake included)", seconds: seconds) {
                _, client, token in
                let answer = try client.post(
                    "/v1/verifier/requests",
                    json: VerifierRequestBody(token: try token(), elements: ["surname"], purpose: "bench"))
                return answer.status == 201
            },
            try run.measureInProcess(seconds: seconds),
        ]
        if json {
            let rows = results.map {
                "{\"target\":\"\($0.label)\",\"perSecond\":\(Int($0.perSecond)),\"p50Microseconds\":"
                    + "\(Int($0.p50Microseconds)),\"p99Microseconds\":\(Int($0.p99Microseconds)),\"errors\":\($0.errors)}"
            }
            print("{\"clients\":\(clients),\"seconds\":\(seconds),\"results\":[\(rows.joined(separator: ","))]}")
        } else {
            print("enroll-bench release: \(clients) concurrent verifiers, \(seconds) s per target, loopback")
            print(
                "  " + "target".padding(toLength: 60, withPad: " ", startingAt: 0)
                    + "  per second    p50 µs    p99 µs  errors")
            for result in results {
                print(
                    "  " + result.label.padding(toLength: 60, withPad: " ", startingAt: 0)
                        + String(
                            format: "  %10.0f  %8.0f  %8.0f  %6d", result.perSecond, result.p50Microseconds,
                            result.p99Microseconds, result.errors))
            }
        }
    } catch {
        benchFail("release bench failed: \(error)")
    }
}

/// A daemon with the listener on a free port, one account per client, one verifier per client.
final class ReleaseBenchRun: @unchecked Sendable {
    let daemon: Daemon
    let desk: ReleaseDesk
    let accounts: [UUID]
    let verifiers: [VerifierRecord]
    let clients: [VerifierClient]
    let router: Router

    init(work: URL, clients count: Int) throws {
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        _ = try CAStore.initialise(
            directory: work.appendingPathComponent("ca"),
            subject: DistinguishedName(country: "UT", commonName: "Bench CA"))
        let serverKey = try PrivateKey.generate(.p256)
        var builder = CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "localhost"),
            serialNumber: CertificateBuilder.randomSerial(), notBefore: Date().addingTimeInterval(-60),
            notAfter: Date().addingTimeInterval(86_400), publicKey: try serverKey.publicKey())
        builder.extraExtensions = [("subjectAltName", "DNS:localhost,IP:127.0.0.1")]
        let serverPEM = work.appendingPathComponent("server.pem").path
        let serverKeyFile = work.appendingPathComponent("server.key").path
        try builder.sign(key: serverKey).pem.write(toFile: serverPEM, atomically: true, encoding: .utf8)
        try serverKey.pemEncoded().write(toFile: serverKeyFile, atomically: true, encoding: .utf8)
        let configuration = try Configuration.parse(
            """
            [api]
            socket = \(work.appendingPathComponent("api.sock").path)
            [daemon]
            state_directory = \(work.appendingPathComponent("state").path)
            log_level = error
            [ca]
            directory = \(work.appendingPathComponent("ca").path)
            [verifier]
            port = 0
            certificate_file = \(serverPEM)
            key_file = \(serverKeyFile)
            max_connections = 256
            """)
        daemon = Daemon(configuration: configuration)
        daemon.prepare()
        guard let desk = daemon.releases, let registry = daemon.verifierRegistry, let store = daemon.enrollment?.store
        else {
            throw VerifierClient.Failure(description: "the daemon did not prepare: \(configuration.stateDirectory)")
        }
        self.desk = desk
        let protector = try DataProtector(stateDirectory: configuration.stateDirectory)
        var accounts: [UUID] = []
        var verifiers: [VerifierRecord] = []
        var clients: [VerifierClient] = []
        for index in 0..<count {
            let id = UUID()
            let personal = PersonalData(
                surname: "BENCH", givenNames: "HOLDER \(index)", birthDate: "1980-01-01", documentNumber: "B\(index)",
                documentType: "P", documentExpiry: "2035-01-01", issuingState: "UTO", nationality: "UTO")
            let sealed = try protector.seal(Array(try JSONEncoder().encode(personal)), context: id.uuidString)
            let record = AccountRecord(
                id: id, tier: .basic, identityKey: Array(UUID().uuidString.utf8), sealedPersonalData: sealed)
            try store.transaction { tx in try tx.insertAccount(record) }
            accounts.append(id)
            let key = try PrivateKey.generate(.p256)
            let csr = try CertificateSigningRequest.create(
                subject: DistinguishedName(country: "UT", commonName: "bank-\(index)"), key: key
            ).pem
            let view = try registry.add(
                VerifierAddBody(
                    id: "bank-\(index)", legalName: "Bank \(index)", elements: ["surname", "age_over_18"],
                    purpose: "bench", validDays: 1, csr: csr), actor: .system)
            verifiers.append(try registry.verifier(id: view.id))
            let certificateFile = work.appendingPathComponent("bank-\(index).pem").path
            let keyFile = work.appendingPathComponent("bank-\(index).key").path
            try view.certificatePem.write(toFile: certificateFile, atomically: true, encoding: .utf8)
            try key.pemEncoded().write(toFile: keyFile, atomically: true, encoding: .utf8)
            let context = try TLSContext.client(caFile: serverPEM, certificateFile: certificateFile, keyFile: keyFile)
            clients.append(VerifierClient(host: "127.0.0.1", port: 0, context: context))
        }
        self.accounts = accounts
        self.verifiers = verifiers
        let listener = try daemon.startVerifierListener()
        self.clients = clients.map {
            VerifierClient(host: "127.0.0.1", port: listener.port, context: $0.context, timeout: 10)
        }
        router = daemon.makeVerifierRouter()
    }

    /// Fresh tokens for client `index`'s holder: a new presentation every 8 requests (its bound), refreshed between.
    func tokens(_ index: Int) -> () throws -> String {
        var presentation: PresentationQR?
        var used = 0
        return { [self] in
            if presentation == nil || used >= 8 {
                presentation = try desk.open(accountID: accounts[index], actor: .system)
                used = 0
            } else if let current = presentation {
                presentation = try desk.refreshToken(
                    accountID: accounts[index], presentationID: UUID(uuidString: current.presentationId) ?? UUID())
            }
            used += 1
            return presentation?.token ?? ""
        }
    }

    struct Result {
        var label: String
        var count: Int
        var errors: Int
        var seconds: Double
        var p50Microseconds: Double
        var p99Microseconds: Double
        var perSecond: Double { Double(count) / seconds }
    }

    /// Each client on its own thread for `seconds`; only `body` is timed (it gets a token maker, untimed).
    func measure(
        _ label: String, seconds: Double,
        _ body: @escaping @Sendable (Int, VerifierClient, () throws -> String) throws -> Bool
    ) throws -> Result {
        let latencies = Mutex<[Double]>([])
        let errors = Mutex(0)
        let group = DispatchGroup()
        let started = Date()
        for index in clients.indices {
            group.enter()
            let client = clients[index]
            let thread = Thread { [self] in
                defer { group.leave() }
                let maker = tokens(index)
                var mine: [Double] = []
                var pending: String?
                while Date().timeIntervalSince(started) < seconds {
                    do {
                        if pending == nil { pending = try maker() }
                        let token = pending ?? ""
                        pending = nil
                        let begin = DispatchTime.now().uptimeNanoseconds
                        let ok = try body(index, client) { token }
                        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1000
                        if ok { mine.append(elapsed) } else { errors.withLock { $0 += 1 } }
                    } catch {
                        errors.withLock { $0 += 1 }
                    }
                }
                latencies.withLock { $0 += mine }
            }
            thread.start()
        }
        group.wait()
        let elapsed = Date().timeIntervalSince(started)
        let all = latencies.withLock { $0 }.sorted()
        return Result(
            label: label, count: all.count, errors: errors.withLock { $0 }, seconds: elapsed,
            p50Microseconds: percentile(all, 0.5), p99Microseconds: percentile(all, 0.99))
    }

    /// The request's own cost: the verifier router in process, the fingerprint header as the listener sets it.
    func measureInProcess(seconds: Double) throws -> Result {
        let fingerprints = verifiers.map(\.certificateFingerprint)
        let router = self.router
        return try measure("POST /v1/verifier/requests in process (no TLS)", seconds: seconds) { index, _, token in
            let body = Array(
                try JSONEncoder().encode(
                    VerifierRequestBody(token: try token(), elements: ["surname"], purpose: "bench")))
            let request = HTTPRequest(
                method: "POST", path: "/v1/verifier/requests",
                headers: [
                    ("content-type", "application/json"), (VerifierListener.fingerprintHeader, fingerprints[index]),
                ], body: body)
            return router.response(to: request, peer: .unknown).status == 201
        }
    }
}
