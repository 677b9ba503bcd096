import CertificateAuthority
import DaemonCore
import EnrollAPIModel
import FaceMatch
import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import Store
import Synchronization
import UnixHTTP
import VirtualCard
import XCTest

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date()) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A face comparator that needs no models: a portrait belongs to the person it was registered for, a live photo
/// `live:<person>:<capture>` shows that person; the same person matches. It counts comparisons and can be made slow,
/// so concurrency tests can see how many ran and widen the window in which steps overlap.
///
/// Embeddings are consistent with that, so the daemon's replay check sees what it would see with dlib: a person's
/// portrait sits at the person's point, each live capture 0.3 from it in its own direction (two captures of one
/// person about 0.4 apart, other people about 1.4), a `copy:<person>` 0.03 from the portrait (a re-encoding).
///
/// Liveness: a burst's frames are `live:<person>:<prompts>:<index>` (`livenessFrames`) for a person following the
/// prompts in front of the camera, `flat:<person>:<prompts>:<index>` for a print moved to fake them (no depth),
/// or any other bytes (the chip portrait replayed). The challenge, the bounds and the replay cache are the real
/// ones (`LivenessChallenge.refusal`, `LivenessLimits`, `ReplayGuard`); only the image signals are faked.
final class FakeFaces: FaceComparator {
    private struct State {
        var portraits: [[UInt8]: String] = [:]
        var failures: [[UInt8]: FaceMatchError] = [:]
        var comparisons = 0
        var bursts = 0
        var delay: TimeInterval = 0
        var gate: Gate?
        var busy: FaceWorkBusy?
    }

    private let state = Mutex(State())
    let limits = LivenessLimits()

    func register(portrait: [UInt8], person: String) {
        state.withLock { $0.portraits[portrait] = person }
    }

    /// Comparing `probe` fails as the engine would fail on such an image (too small a face, several faces, ...).
    func fail(probe: [UInt8], with error: FaceMatchError) {
        state.withLock { $0.failures[probe] = error }
    }

    /// Every comparison and burst is refused as the pool would refuse it while the workers are taken.
    func refuseAsBusy(_ busy: FaceWorkBusy?) {
        state.withLock { $0.busy = busy }
    }

    var comparisons: Int { state.withLock { $0.comparisons } }
    var bursts: Int { state.withLock { $0.bursts } }
    func slow(_ seconds: TimeInterval) { state.withLock { $0.delay = seconds } }

    /// The next comparison waits at the returned gate (a face match in progress).
    func holdNextComparison() -> Gate {
        let gate = Gate()
        state.withLock { $0.gate = gate }
        return gate
    }

    /// A new live capture of `person` (its bytes differ from every other capture's).
    static func livePhoto(_ person: String) -> [UInt8] { Array("live:\(person):\(UUID().uuidString)".utf8) }

    /// `person` following `prompts` (`live`), or a print of them moved to fake them (`flat`).
    static func livenessFrames(_ person: String, prompts: [String], count: Int = 8, flat: Bool = false) -> [[UInt8]] {
        let capture = UUID().uuidString
        return (0..<count).map {
            Array("\(flat ? "flat" : "live"):\(person):\(prompts.joined(separator: "+")):\(capture)-\($0)".utf8)
        }
    }

    /// The person a portrait, live photo or frame shows, and whether it is a live capture.
    private func parse(_ image: [UInt8], portraits: [[UInt8]: String]) -> (person: String?, live: Bool, copy: Bool) {
        if let owner = portraits[image] { return (owner, false, false) }
        let parts = String(decoding: image, as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return (nil, false, false) }
        switch parts[0] {
        case "live", "flat": return (String(parts[1]), true, false)
        case "copy": return (String(parts[1]), false, true)
        default: return (nil, false, false)
        }
    }

    static func embedding(person: String, capture: [UInt8]?, offset: Double) -> FaceEmbedding {
        func unit(_ seed: [UInt8]) -> [Double] {
            let hash = seed.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
            var generator = SeededGenerator(seed: hash)
            let raw = (0..<128).map { _ in Double.random(in: -1...1, using: &generator) }
            let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return raw.map { $0 / norm }
        }
        var point = unit(Array(person.utf8))
        if let capture {
            point = zip(point, unit(capture)).map { $0 + offset * $1 }
        }
        return FaceEmbedding(values: point.map(Float.init))
    }

    func compare(reference: [UInt8], probe: [UInt8], caller: UInt32) throws(FaceMatchError) -> FaceComparison {
        let (portraits, failure, delay, gate, busy) = state.withLock { state in
            state.comparisons += 1
            defer { state.gate = nil }
            return (state.portraits, state.failures[probe], state.delay, state.gate, state.busy)
        }
        if let busy { throw .engineBusy(busy) }
        gate?.pass()
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        if let failure { throw failure }
        guard let owner = portraits[reference] else { throw .noFace(.reference) }
        let shown = parse(probe, portraits: portraits)
        guard let person = shown.person else { throw .noFace(.probe) }
        let match = person == owner
        func analysis(_ role: FaceImageRole, _ embedding: FaceEmbedding) -> FaceImageAnalysis {
            FaceImageAnalysis(
                role: role, format: .jpeg, width: 480, height: 640, analysedWidth: 480,
                analysedHeight: 640, faceCount: 1,
                faces: [FaceRegion(left: 100, top: 100, width: 200, height: 200)],
                embedding: embedding)
        }
        let probeEmbedding =
            shown.live || shown.copy
            ? Self.embedding(person: person, capture: probe, offset: shown.copy ? 0.03 : 0.3)
            : Self.embedding(person: person, capture: nil, offset: 0)
        return FaceComparison(
            distance: match ? 0.3 : 0.9, score: match ? 0.9 : 0.1, threshold: 0.5, isMatch: match,
            reference: analysis(.reference, Self.embedding(person: owner, capture: nil, offset: 0)),
            probe: analysis(.probe, probeEmbedding), totalMilliseconds: 1)
    }

    func checkLiveness(
        _ burst: LivenessBurst, challenge: LivenessChallenge, portrait: [UInt8], session: String,
        caller: UInt32, now: Date, replayGuard: ReplayGuard?
    ) throws(LivenessError) -> LivenessDecision {
        let (portraits, busy) = state.withLock { state in
            state.bursts += 1
            return (state.portraits, state.busy)
        }
        if let busy { throw .engineBusy(busy) }
        try limits.validate(burst)
        if let refusal = challenge.refusal(answering: burst, at: now) { return refusal }
        guard let owner = portraits[portrait] else { throw .portraitUnusable(.noFace(.reference)) }
        let frames = burst.frames.map { parse($0.image, portraits: portraits) }
        let texts = burst.frames.map { String(decoding: $0.image, as: UTF8.self) }
        let wanted = challenge.prompts.map(\.rawValue).joined(separator: "+")
        let people = Set(frames.compactMap(\.person))
        let followed = texts.allSatisfy { $0.split(separator: ":").dropFirst(2).first.map(String.init) == wanted }
        let flat = texts.contains { $0.hasPrefix("flat:") }
        let copies = burst.frames.indices.filter { burst.frames[$0].image == portrait || !frames[$0].live }
        var prints: [ReplayFingerprint] = []
        var replayed: ReplaySuspicion?
        for (index, frame) in burst.frames.enumerated() {
            let print = try ReplayFingerprint(
                image: frame.image,
                embedding: frames[index].person.map {
                    Self.embedding(person: $0, capture: frame.image, offset: 0.3)
                })
            prints.append(print)
            if replayed == nil, let replayGuard {
                replayed = replayGuard.suspicion(of: print, portrait: nil, session: session, now: now)
            }
        }
        replayGuard?.record(prints, session: session, now: now)
        let checks = [
            LivenessCheckResult(check: .challenge, value: 1, threshold: 1, comparison: .atLeast, detail: "fake"),
            LivenessCheckResult(
                check: .singleFace, value: Double(frames.filter { $0.person == nil }.count),
                threshold: 0, comparison: .atMost, detail: "fake", faceCount: 1),
            LivenessCheckResult(
                check: .samePerson, value: people.count <= 1 ? 0.2 : 1.2, threshold: 0.6,
                comparison: .atMost, detail: "fake"),
            LivenessCheckResult(
                check: .matchesPortrait, value: people == [owner] ? 0.3 : 0.9, threshold: 0.5,
                comparison: .atMost, detail: "fake"),
            LivenessCheckResult(
                check: .unlikePortrait, value: copies.isEmpty ? 0.3 : 0, threshold: 0.1,
                comparison: .atLeast, detail: "fake", frame: copies.first),
            LivenessCheckResult(
                check: .promptsFollowed, value: followed ? Double(challenge.prompts.count) : 0,
                threshold: Double(challenge.prompts.count), comparison: .atLeast, detail: "fake",
                missingPrompt: followed ? nil : challenge.prompts.first),
            LivenessCheckResult(
                check: .depth, value: flat || !copies.isEmpty ? 0.01 : 0.05, threshold: 0.02,
                comparison: .atLeast, detail: "fake"),
            LivenessCheckResult(
                check: .distinctFrames, value: Set(texts).count == texts.count ? 0 : 1,
                threshold: 0.5, comparison: .atMost, detail: "fake"),
            LivenessCheckResult(
                check: .notReplayed, value: replayed == nil ? 0 : 1, threshold: 0,
                comparison: .atMost, detail: replayed.map { "\($0)" } ?? "fake"),
            LivenessCheckResult(
                check: .passiveScore, value: 0.8, threshold: 0.3, comparison: .atLeast,
                detail: "fake"),
        ]
        return LivenessDecision(checks: checks, frameCount: burst.frames.count)
    }

    func warmUp() {}
}

/// A person the tests enroll: an MRZ and a portrait from `../shared/faces/johns`.
struct TestHolder {
    var person: String
    var documentNumber: String
    var birthDate: String
    var expiryDate = "341231"
    var surname = "HOLDER"
    var givenNames = "TEST"
    /// A passport (TD3, document code `P`) rather than an ID card (TD1, `I`).
    var passport = false

    var mrz: MRZ {
        get throws {
            try MRZ(
                encoding: MRZFields(
                    documentCode: passport ? "P" : "I", issuingState: "UTO", primaryIdentifier: surname,
                    secondaryIdentifier: givenNames, documentNumber: documentNumber,
                    nationality: "UTO", birthDate: birthDate, sex: .female,
                    expiryDate: expiryDate), format: passport ? .td3 : .td1)
        }
    }

    var accessKey: AccessKeyRequest {
        AccessKeyRequest(documentNumber: documentNumber, birthDate: birthDate, expiryDate: expiryDate)
    }

    static func random(_ person: String = "John_Salley", birthDate: String = "800101") -> TestHolder {
        let letters = Array("ABCDEFGHJKLMNPRSTUVWXYZ")
        let number =
            String((0..<3).map { _ in letters[Int.random(in: 0..<letters.count)] })
            + String(format: "%06d", Int.random(in: 0..<1_000_000))
        return TestHolder(person: person, documentNumber: number, birthDate: birthDate)
    }
}

/// A daemon with its ports in process (`DaemonEnvironment`): virtual cards in memory readers, `FakeFaces`, a
/// temporary state directory with its own CA and the test PKI's CSCA trusted, a clock the test moves. Requests go
/// through the real router and authorizer as a caller with the given credentials; `serve()` also puts it on a real
/// Unix socket.
final class InProcessDaemon: Sendable {
    static let reader = "Virtual PCD 00 00"
    static let secondReader = "Virtual PCD 00 01"

    /// Callers by role ([roles] of the configuration below).
    enum Caller {
        case kiosk, otherKiosk, `operator`, admin, nobody

        var peer: PeerCredentials {
            switch self {
            case .kiosk: return PeerCredentials(pid: 10, uid: 2001, gid: 2001)
            case .otherKiosk: return PeerCredentials(pid: 11, uid: 2002, gid: 2002)
            case .operator: return PeerCredentials(pid: 12, uid: 2101, gid: 2101)
            case .admin: return PeerCredentials(pid: 13, uid: 2201, gid: 2201)
            case .nobody: return PeerCredentials(pid: 14, uid: 2999, gid: 2999)
            }
        }
    }

    /// The issuing CA the daemon finds in its `[ca]` directory.
    enum CASetup {
        /// A self-signed CA valid for ten years.
        case valid
        /// A CA whose certificate expired a year ago (it loads; it can no longer sign).
        case expired
        /// No CA: `enrolld ca init` was never run, so the enrollment and account routes answer 503.
        case missing
    }

    let directory: URL
    let pki: TestPKI
    let terminal = VirtualTerminal(readers: [InProcessDaemon.reader, InProcessDaemon.secondReader])
    /// The terminal the daemon connects through: `terminal`, with PC/SC faults and gates on demand.
    let cards: FaultyTerminal
    let faces = FakeFaces()
    let clock = TestClock()
    let configuration: Configuration
    let daemon: Daemon
    let router: Router
    private let portraits = Mutex<[String: [UInt8]]>([:])

    /// `extraConfiguration` is appended to the configuration (sections of enrolld.conf); `openStore` replaces the
    /// SQLite store (e.g. with PostgreSQL); either way the store is wrapped in a `FailingStore` (see `store`).
    /// The listening socket `serveLoopback()` serves on, when the daemon was made with one.
    let loopback: LoopbackListener?

    /// `stateFrom`: a directory with `enrolld.db` and `keys/` (a store an earlier enrolld wrote, e.g.
    /// `Fixtures/schema-v2`), copied into the state directory before the daemon opens it.
    /// `keysOf`: the state directory of another daemon of the same store, whose usage-chain key this one shares.
    /// `loopback`: the daemon will be served over HTTP on that TCP socket (`serveLoopback()`), and the certificates
    /// it issues name its OCSP responder, CRL and CA certificate there, as a jurisdiction publishes them.
    init(
        extraConfiguration: String = "", stateFrom seed: URL? = nil, keysOf otherStateDirectory: String? = nil,
        openStore: (@Sendable (Configuration, DataProtector) throws -> any Store)? = nil,
        ca: CASetup = .valid, loopback: LoopbackListener? = nil, territory: String? = "UT",
        sharesDataKeys: Bool = false
    ) throws {
        self.loopback = loopback
        directory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("enrolld-inprocess-\(UUID().uuidString)")
        if let otherStateDirectory {
            // Another host of the same store: it holds the fleet's usage-chain key, as `enrolld` requires.
            let keys = directory.appendingPathComponent("state/keys")
            try FileManager.default.createDirectory(
                at: keys, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o700],
                ofItemAtPath: directory.appendingPathComponent("state").path)
            // `sharesDataKeys`: a host of a fleet, which also holds the identity and data keys (it opens what the
            // others sealed: personal data, outbox messages).
            let files =
                [DataProtector.usageChainKeyFile]
                + (sharesDataKeys ? [DataProtector.identityKeyFile, DataProtector.dataKeyFile] : [])
            for file in files {
                try FileManager.default.copyItem(
                    atPath: otherStateDirectory + "/keys/" + file, toPath: keys.appendingPathComponent(file).path)
            }
        }
        if let seed { try Self.copyState(from: seed, to: directory.appendingPathComponent("state")) }
        let trust = directory.appendingPathComponent("trust")
        try FileManager.default.createDirectory(at: trust, withIntermediateDirectories: true)
        pki = try TestPKI()
        try Data(pki.csca.certificate.der).write(to: trust.appendingPathComponent("csca.der"))
        let caDirectory = directory.appendingPathComponent("ca")
        let caSubject = DistinguishedName(country: "UT", commonName: "Test CA")
        switch ca {
        case .valid:
            _ = try CAStore.initialise(directory: caDirectory, subject: caSubject)
        case .expired:
            _ = try CAStore.initialise(
                directory: caDirectory, subject: caSubject, validityYears: 1,
                now: Date().addingTimeInterval(-2 * 366 * 86_400))
        case .missing:
            break
        }
        configuration = try Configuration.parse(
            """
            [api]
            socket = \(directory.appendingPathComponent("api.sock").path)
            socket_mode = 0600
            [daemon]
            state_directory = \(directory.appendingPathComponent("state").path)
            log_level = error
            [trust]
            directory = \(trust.path)
            [ca]
            directory = \(caDirectory.path)
            [roles]
            kiosk = uid:2001, uid:2002
            operator = uid:2101
            admin = uid:2201
            [trust_list]
            \(territory.map { "territory = \($0)\nscheme_operator = \($0) Test Scheme Operator\n"
                + "information_uri = https://\($0.lowercased()).example/scheme" } ?? "")
            pinned_signers = \(directory.appendingPathComponent("trust-list-signers.pem").path)
            \(loopback.map { """
                [ca]
                ocsp_url = \($0.base)/v1/ocsp
                crl_distribution_point = \($0.base)/v1/crl?format=der
                ca_issuers_url = \($0.base)/v1/ca/certificate
                certificate_policies = 1.3.6.1.4.1.99999.22.1
                """ } ?? "")
            \(extraConfiguration)
            """)
        let terminal = self.terminal
        let clock = self.clock
        cards = FaultyTerminal(base: terminal)
        var environment = DaemonEnvironment(
            terminal: cards,
            readers: { _, onEvent in
                terminal.watch(onEvent)
                return terminal
            }, faces: faces, now: { clock.now })
        let open = openStore ?? environment.openStore
        environment.openStore = { configuration, protector in
            FailingStore(base: try open(configuration, protector))
        }
        daemon = Daemon(configuration: configuration, environment: environment)
        daemon.prepare()
        router = daemon.makeRouter()
    }

    /// Copies `enrolld.db` and the identity and data keys of `seed` into `state`, with the modes enrolld wants (git
    /// does not keep them).
    private static func copyState(from seed: URL, to state: URL) throws {
        let keys = state.appendingPathComponent("keys")
        try FileManager.default.createDirectory(
            at: keys, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: state.path)
        try FileManager.default.copyItem(
            at: seed.appendingPathComponent("enrolld.db"), to: state.appendingPathComponent("enrolld.db"))
        for key in [DataProtector.identityKeyFile, DataProtector.dataKeyFile] {
            let target = keys.appendingPathComponent(key)
            try FileManager.default.copyItem(at: seed.appendingPathComponent("keys/\(key)"), to: target)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target.path)
        }
    }

    /// The daemon's store, which a test can make fail.
    var store: FailingStore {
        get throws {
            guard let store = daemon.enrollment?.store as? FailingStore else {
                let answer = problem(call("GET", "/v1/enrollments/x"))
                throw DecodeFailure(description: "enrollment is not set up: \(answer)")
            }
            return store
        }
    }

    deinit {
        daemon.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A portrait for `person` (a real JPEG face chip), registered with the fake faces.
    func portrait(_ person: String) throws -> [UInt8] {
        if let known = portraits.withLock({ $0[person] }) { return known }
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "shared/faces/johns/\(person)")
        let first = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jpg") }
            .sorted().first
        let bytes = [UInt8](try Data(contentsOf: folder.appendingPathComponent(first ?? "missing.jpg")))
        portraits.withLock { $0[person] = bytes }
        faces.register(portrait: bytes, person: person)
        return bytes
    }

    /// Puts `holder`'s card on `reader`, its EF.SOD signed by the test document signer. `configure` changes the
    /// personalisation, `adjust` the card made from it; `faults` are injected on every power-on.
    /// Trusts `other`'s CSCA too (written to the trust directory, then reloaded as on SIGHUP).
    func trustAlso(_ other: TestPKI) throws {
        let file = directory.appendingPathComponent("trust/csca-\(other.country.lowercased()).der")
        try Data(other.csca.certificate.der).write(to: file)
        daemon.reload()
    }

    func insertCard(
        _ holder: TestHolder, in reader: String = InProcessDaemon.reader,
        faults: [CardFault] = [],
        configure: (inout EMRTDPersonalisation) -> Void = { _ in },
        adjust: (inout EMRTDProfile) -> Void = { _ in }
    ) throws {
        var personalisation = EMRTDPersonalisation(mrz: try holder.mrz, portraits: [try portrait(holder.person)])
        personalisation.documentSigner = pki.documentSigner
        configure(&personalisation)
        var profile = try personalisation.makeProfile()
        adjust(&profile)
        let card = profile
        if faults.isEmpty {
            terminal.insert({ EMRTDApplet(profile: card) }, in: reader)
        } else {
            // A fault that takes the card out of the field takes it off the reader, as pcscd would notice.
            let terminal = self.terminal
            terminal.insert(
                {
                    let applet = FaultInjectingApplet(base: EMRTDApplet(profile: card), faults: faults)
                    applet.onLeavingField = { terminal.remove(from: reader) }
                    return applet
                }, in: reader)
        }
    }

    /// Answers a request through the router as `caller`; after `serve()`, through the real socket (as this
    /// process, in `caller`'s role: kiosks all share this process's uid there).
    func call(
        _ method: String, _ path: String, body: [UInt8] = [], as caller: Caller = .kiosk,
        headers: [(String, String)] = [], query: [(name: String, value: String)] = []
    ) -> HTTPResponse {
        var request = HTTPRequest(
            method: method, path: path, query: query,
            headers: headers.map { ($0.0.lowercased(), $0.1) }, body: body)
        if !body.isEmpty { request.headers.append(("content-type", "application/json")) }
        guard let client = socketClient.withLock({ $0 }) else { return router.response(to: request, peer: caller.peer) }
        switch caller {
        case .kiosk, .otherKiosk, .nobody: request.headers.append(("X-Enrolld-Role", "kiosk"))
        case .operator: request.headers.append(("X-Enrolld-Role", "operator"))
        case .admin: break
        }
        do {
            return try client.send(request)
        } catch {
            return HTTPResponse(status: 599, body: Array("socket: \(error)".utf8))
        }
    }

    private let socketClient = Mutex<UnixSocketClient?>(nil)

    func call<T: Encodable>(
        _ method: String, _ path: String, json: T, as caller: Caller = .kiosk,
        headers: [(String, String)] = []
    ) throws -> HTTPResponse {
        call(method, path, body: [UInt8](try JSONEncoder().encode(json)), as: caller, headers: headers)
    }

    // MARK: The enrollment steps

    func start(
        _ holder: TestHolder, purpose: String = "register", accountID: String? = nil,
        guardian: String? = nil, reader: String = InProcessDaemon.reader,
        as caller: Caller = .kiosk
    ) throws -> HTTPResponse {
        try call(
            "POST", "/v1/enrollments",
            json: EnrollmentStartBody(
                reader: reader, accessKey: holder.accessKey, purpose: purpose,
                accountId: accountID, guardianAccountId: guardian), as: caller)
    }

    func photo(_ session: String, of person: String, as caller: Caller = .kiosk) throws -> HTTPResponse {
        try call(
            "POST", "/v1/enrollments/\(session)/photo",
            json: EnrollmentPhotoBody(photo: Data(FakeFaces.livePhoto(person)).base64EncodedString()), as: caller)
    }

    /// A liveness challenge for `session`.
    func challenge(_ session: String, as caller: Caller = .kiosk) throws -> HTTPResponse {
        call("POST", "/v1/enrollments/\(session)/liveness/challenge", as: caller)
    }

    /// A burst of `frames` captured 0.2 s apart from half a second after `issuedAt`, for the challenge `nonceHex`.
    func burst(
        _ session: String, nonceHex: String, frames: [[UInt8]], issuedAt: Date? = nil,
        as caller: Caller = .kiosk
    ) throws -> HTTPResponse {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let start = (issuedAt ?? clock.now).addingTimeInterval(0.5)
        let body = LivenessBurstBody(
            nonceHex: nonceHex,
            frames: frames.enumerated().map {
                LivenessFrameBody(
                    image: Data($0.element).base64EncodedString(),
                    capturedAt: format.string(from: start.addingTimeInterval(Double($0.offset) * 0.2)))
            })
        return try call("POST", "/v1/enrollments/\(session)/liveness", json: body, as: caller)
    }

    /// A challenge, then `person` following its prompts (or what `frames` makes of them); the burst's answer and the
    /// challenge.
    func liveness(
        _ session: String, of person: String, as caller: Caller = .kiosk,
        frames: (LivenessChallengeResponse) -> [[UInt8]] = { _ in [] }
    ) throws
        -> (answer: HTTPResponse, challenge: LivenessChallengeResponse)
    {
        let issued = try decode(LivenessChallengeResponse.self, try challenge(session, as: caller))
        var images = frames(issued)
        if images.isEmpty { images = FakeFaces.livenessFrames(person, prompts: issued.prompts) }
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return (
            try burst(
                session, nonceHex: issued.nonceHex, frames: images,
                issuedAt: format.date(from: issued.issuedAt), as: caller), issued
        )
    }

    func complete(_ session: String, csr: String? = nil, as caller: Caller = .kiosk) throws -> HTTPResponse {
        try call("POST", "/v1/enrollments/\(session)/complete", json: EnrollmentCompleteBody(csr: csr), as: caller)
    }

    /// Card, face and completion; the session view and the outcome. Fails the test on any refusal.
    func enroll(
        _ holder: TestHolder, purpose: String = "register", accountID: String? = nil,
        signing: Bool = true, file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> (session: EnrollmentView, outcome: EnrollmentOutcome) {
        try insertCard(holder)
        let started = try start(holder, purpose: purpose, accountID: accountID)
        XCTAssertEqual(started.status, 201, problem(started), file: file, line: line)
        let session = try decode(EnrollmentView.self, started)
        if signing || purpose != "register" {
            let matched = try photo(session.id, of: holder.person)
            XCTAssertEqual(matched.status, 200, problem(matched), file: file, line: line)
        }
        if signing {
            let live = try liveness(session.id, of: holder.person).answer
            XCTAssertEqual(live.status, 200, problem(live), file: file, line: line)
        }
        let done = try complete(session.id, csr: signing ? try Self.makeCSR() : nil)
        XCTAssertEqual(done.status, 200, problem(done), file: file, line: line)
        return (session, try decode(EnrollmentOutcome.self, done))
    }

    static func makeCSR() throws -> String {
        try CertificateSigningRequest.create(
            subject: DistinguishedName(country: "UT", commonName: "holder"),
            key: try PrivateKey.generate(.p256)
        ).pem
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw DecodeFailure(
                description: "\(T.self) from \(response.status): "
                    + String(decoding: response.body, as: UTF8.self))
        }
    }

    /// The problem code of a refusal, or a summary of what came back instead.
    func problem(_ response: HTTPResponse) -> String {
        (try? JSONDecoder().decode(Problem.self, from: Data(response.body)))?.code
            ?? "status \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))"
    }

    /// Serves the daemon over HTTP on its loopback TCP socket (`loopback`), as the other jurisdiction publishes
    /// its OCSP responder and CRL; `call` still goes through the router.
    func serveLoopback() throws {
        guard let loopback else { throw DecodeFailure(description: "made without a loopback listener") }
        try daemon.start(listeningDescriptor: loopback.descriptor)
    }

    /// Trusts `certificate` (another jurisdiction's CA or trust list signer) for trust list imports:
    /// `[trust_list] pinned_signers`.
    func pinTrustListSigner(_ certificate: X509Certificate) throws {
        let url = directory.appendingPathComponent("trust-list-signers.pem")
        let existing = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        try (existing + certificate.pem).write(to: url, atomically: true, encoding: .utf8)
    }

    /// Serves the same daemon on a real Unix socket, and sends every later `call` through it; returns a client for
    /// it. The test process connects as itself (root: admin), so a kiosk's requests send `X-Enrolld-Role: kiosk`.
    @discardableResult
    func serve() throws -> UnixSocketClient {
        try daemon.start()
        let client = UnixSocketClient(path: configuration.socketPath)
        socketClient.withLock { $0 = client }
        return client
    }
}

/// A TCP socket listening on 127.0.0.1 on a free port, for serving a daemon (or nginx's upstream) over HTTP.
struct LoopbackListener: Sendable {
    let descriptor: Int32
    let port: UInt16
    var base: String { "http://127.0.0.1:\(port)" }

    static func open() throws -> LoopbackListener {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DecodeFailure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0, listen(fd, 64) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else {
            close(fd)
            throw DecodeFailure(description: "bind/listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        return LoopbackListener(descriptor: fd, port: UInt16(bigEndian: address.sin_port))
    }

    /// A port that was free a moment ago (for a server this process does not start itself, e.g. nginx).
    static func freePort() throws -> UInt16 {
        let listener = try open()
        close(listener.descriptor)
        return listener.port
    }
}

struct DecodeFailure: Error, CustomStringConvertible {
    var description: String
}
