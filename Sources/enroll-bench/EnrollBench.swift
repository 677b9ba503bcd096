import EnrollAPIModel
import UnixHTTP
import CertificateAuthority
import DaemonCore
import Enrollment
import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard

/// `enroll-bench enroll`: end-to-end enrollment time through pcscd + vpcd, excluding the person's
/// time: card read + passive authentication (`POST /v1/enrollments`), face match (`.../photo`),
/// account and certificate (`.../complete`), over the daemon's Unix socket.
func runEnrollBench(arguments: [String]) {
    var iterations = 10
    var faces = ProcessInfo.processInfo.environment["ENROLLD_FACES"] ?? "../shared/faces/johns"
    var index = 0
    while index < arguments.count {
        let value = index + 1 < arguments.count ? arguments[index + 1] : nil
        switch arguments[index] {
        case "--iterations":
            guard let value, let n = Int(value), n > 0 else { benchFail("--iterations needs a number") }
            iterations = n
            index += 1
        case "--faces":
            guard let value else { benchFail("--faces needs a folder") }
            faces = value
            index += 1
        default: benchFail("unknown option '\(arguments[index])' for enroll")
        }
        index += 1
    }
    let portraitPath = faces + "/John_Salley/000179_02159509.jpg"
    let livePath = faces + "/John_Salley/000194_02159572.jpg"
    guard let portrait = FileManager.default.contents(atPath: portraitPath),
        let live = FileManager.default.contents(atPath: livePath)
    else {
        benchFail("face photos not found under \(faces) (use --faces DIR)")
    }
    let work = NSTemporaryDirectory() + "enroll-bench-enroll-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: work) }
    let pcscd = BenchPCSCD.startOrExit()
    defer { pcscd.stop() }
    let reader = "Virtual PCD 00 00"
    guard pcscd.waitFor(reader: reader) else { benchFail("pcscd does not list '\(reader)'") }

    let mrz = ["I<UTOD231458907<<<<<<<<<<<<<<<", "9008124F3204153UTO<<<<<<<<<<<0", "SALLEY<<JOHN<<<<<<<<<<<<<<<<<<"]
    let daemon: Daemon
    let connection: VPCDConnection
    let csr: String
    do {
        let pki = try BenchPKI.create(directory: work + "/pki")
        _ = try CAStore.initialise(
            directory: URL(fileURLWithPath: work + "/state/ca"),
            subject: DistinguishedName(country: "UT", commonName: "bench CA"))
        var personalisation = EMRTDPersonalisation(mrz: try MRZ(lines: mrz), portraits: [[UInt8](portrait)])
        personalisation.documentSigner = pki.documentSigner
        connection = VPCDConnection(
            port: 35963, atr: VirtualCardProfile.defaultATR,
            applet: EMRTDApplet(profile: try personalisation.makeProfile()))
        var configuration = Configuration()
        configuration.socketPath = work + "/api.sock"
        configuration.stateDirectory = work + "/state"
        configuration.trustDirectory = work + "/pki/trust"
        configuration.pcscRetrySeconds = 0.3
        configuration.logLevel = .warning
        // Every iteration reuses the same live photo (the replay check would refuse it) and no burst is sent: the
        // bench times the card, the face match and the issuance.
        configuration.livenessRequiredFor = .none
        configuration.replayCacheEntries = 0
        Log.shared.level = .warning
        daemon = Daemon(configuration: configuration)
        try daemon.start()
        csr = try CertificateSigningRequest.create(
            subject: DistinguishedName(country: "UT", commonName: "x"),
            key: try PrivateKey.generate(.p256)
        ).pem
    } catch {
        benchFail("cannot set up the bench: \(error)")
    }
    defer { daemon.stop() }
    let thread = Thread { connection.run(reconnect: false) }
    thread.start()
    defer { connection.stop() }
    guard pcscd.waitForCard(in: reader) else { benchFail("the virtual card did not appear") }
    let client = UnixSocketClient(path: daemon.configuration.socketPath, timeout: 30)
    Thread.sleep(forTimeInterval: 1.5)  // face models load in the background at start

    func post<T: Encodable>(_ path: String, _ body: T) -> HTTPResponse {
        guard let encoded = try? JSONEncoder().encode(body),
            let response = try? client.post(path, json: [UInt8](encoded))
        else { benchFail("request to \(path) failed") }
        guard (200..<300).contains(response.status) else {
            benchFail("\(path) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return response
    }

    var totals: [Double] = []
    var reads: [Double] = []
    var matches: [Double] = []
    var issues: [Double] = []
    var account: String?
    for _ in 0..<(iterations + 1) {
        let start = DispatchTime.now()
        let started = post(
            "/v1/enrollments",
            EnrollmentStartBody(
                reader: reader, accessKey: AccessKeyRequest(mrz: mrz.joined(separator: "\n")),
                purpose: account == nil ? "register" : "upgrade", accountId: account))
        let readMs = milliseconds(since: start)
        guard let view = try? JSONDecoder().decode(EnrollmentView.self, from: Data(started.body)) else {
            benchFail("bad answer")
        }
        let photoStart = DispatchTime.now()
        _ = post("/v1/enrollments/\(view.id)/photo", EnrollmentPhotoBody(photo: live.base64EncodedString()))
        let matchMs = milliseconds(since: photoStart)
        let completeStart = DispatchTime.now()
        let completed = post("/v1/enrollments/\(view.id)/complete", EnrollmentCompleteBody(csr: csr))
        let issueMs = milliseconds(since: completeStart)
        let total = milliseconds(since: start)
        guard let outcome = try? JSONDecoder().decode(EnrollmentOutcome.self, from: Data(completed.body)) else {
            benchFail("bad answer")
        }
        if account == nil {
            account = outcome.accountID  // the first run warms caches; later runs upgrade the same account
            continue
        }
        totals.append(total)
        reads.append(readMs)
        matches.append(matchMs)
        issues.append(issueMs)
    }
    print("enroll-bench enroll: end-to-end enrollment through pcscd + vpcd and the daemon's API (n=\(totals.count))")
    print(String(format: "  card read + passive authentication: median %7.1f ms", median(reads)))
    print(String(format: "  face match (chip vs live photo):    median %7.1f ms", median(matches)))
    print(String(format: "  account + certificate:              median %7.1f ms", median(issues)))
    print(
        String(
            format: "  total:                              median %7.1f ms (min %.1f, max %.1f)",
            median(totals), totals.min() ?? 0, totals.max() ?? 0))
}
