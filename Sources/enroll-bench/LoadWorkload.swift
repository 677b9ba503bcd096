import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Enrollment
import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard

/// Face photos for the load: per person a chip portrait and a live photo of the same person.
struct LoadFaces {
    struct Person {
        var surname: String
        var portrait: [UInt8]
        var live: [UInt8]
        /// Every photo of the person, for face-compare traffic.
        var photos: [[UInt8]]
    }

    var people: [Person]

    /// Loads `johns/<First_Last>/*.jpg`: the first photo is the portrait, the second the live photo.
    init(directory: String) throws {
        let manager = FileManager.default
        let folders = (try? manager.contentsOfDirectory(atPath: directory))?.sorted() ?? []
        people = []
        for folder in folders {
            let path = directory + "/" + folder
            let names = ((try? manager.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".jpg") }
                .sorted()
            // A photo that is byte for byte another one of the set is a replay to the daemon (422 suspected-replay,
            // as it should be): each photo counts once, so a face compare never sends a pair of one file.
            var seen = Set<[UInt8]>()
            let photos = names.compactMap { manager.contents(atPath: path + "/" + $0).map { [UInt8]($0) } }
                .filter { seen.insert($0).inserted }
            guard photos.count >= 2 else { continue }
            let surname = String(folder.split(separator: "_").last ?? "DOE").uppercased().filter(\.isLetter)
            people.append(Person(surname: surname, portrait: photos[0], live: photos[1], photos: photos))
        }
        guard !people.isEmpty else { throw BenchError("no face photos under \(directory) (use --faces DIR)") }
    }
}

/// New people for the virtual cards: a fresh document number (the identity number of a card without DG11)
/// per tap, so every enrollment creates a new account. The run's random prefix keeps runs against the same
/// database apart.
final class IdentitySource: @unchecked Sendable {
    private let lock = NSLock()
    private var counter = 0
    private let prefix: String

    init() {
        let letters = Array("ABCDEFGHJKLMNPRSTUVWXYZ")
        prefix = String((0..<3).map { _ in letters.randomElement()! })
    }

    /// The next identity's MRZ (TD1, adult, valid for years) and which face it carries.
    func next(people: Int) throws -> (mrz: MRZ, person: Int) {
        let number = lock.withLock { () -> Int in
            counter += 1
            return counter
        }
        let person = number % people
        let birthYear = 60 + number % 40
        let fields = MRZFields(
            documentCode: "I", issuingState: "UTO", primaryIdentifier: "LOAD",
            secondaryIdentifier: "PERSON", documentNumber: prefix + String(format: "%06d", number % 1_000_000),
            nationality: "UTO", birthDate: String(format: "%02d%02d%02d", birthYear, 1 + number % 12, 1 + number % 28),
            sex: number % 2 == 0 ? .female : .male, expiryDate: "341231")
        return (try MRZ(encoding: fields, format: .td1), person)
    }
}

/// Card presence per reader as the daemon reports it: from `/v1/events` (card-inserted, card-removed), with
/// `GET /v1/readers` as a fallback while an event is late.
final class CardPresence: @unchecked Sendable {
    private let condition = NSCondition()
    private var present: [String: Bool] = [:]
    /// Counts the events applied, so that a `GET /v1/readers` answer that was on its way while an event arrived
    /// does not undo the newer event.
    private var eventsApplied = 0
    private var running = true
    private let client: UnixSocketClient
    private let recorder: LoadRecorder

    private let ended = DispatchSemaphore(value: 0)

    init(client: UnixSocketClient, recorder: LoadRecorder) {
        self.client = client
        self.recorder = recorder
        let thread = Thread { [self] in
            watch()
            ended.signal()
        }
        thread.name = "load.events"
        thread.start()
    }

    /// Follows the event stream; when it ends (a restarted daemon) the failure is recorded and it subscribes again.
    private func watch() {
        while isRunning {
            do {
                try client.stream("/v1/events") { name, data in
                    if name == "card-inserted" || name == "card-removed",
                        let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any],
                        let reader = object["reader"] as? String
                    {
                        set(reader, name == "card-inserted", fromEvent: true)
                    }
                    return isRunning
                }
                if isRunning { recorder.fail("events", kind: "stream", detail: "the daemon ended the event stream") }
            } catch {
                if isRunning { recorder.fail("events", kind: "stream", detail: "\(error)") }
            }
            if isRunning { Thread.sleep(forTimeInterval: 0.5) }
        }
    }

    private var isRunning: Bool {
        condition.lock()
        defer { condition.unlock() }
        return running
    }

    /// Records what the daemon says; a listing (`since`: the events applied when it was asked for) counts only
    /// when no event came in meanwhile.
    private func set(_ reader: String, _ value: Bool, fromEvent: Bool = false, since: Int? = nil) {
        condition.lock()
        if fromEvent { eventsApplied += 1 }
        if fromEvent || since == eventsApplied {
            present[reader] = value
            condition.broadcast()
        }
        condition.unlock()
    }

    private var eventCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return eventsApplied
    }

    /// Waits until the daemon sees a card in `reader` (or sees it gone); false after `timeout`.
    func wait(reader: String, present wanted: Bool, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            condition.lock()
            if present[reader] == wanted {
                condition.unlock()
                return true
            }
            _ = condition.wait(until: min(deadline, Date().addingTimeInterval(0.5)))
            let done = present[reader] == wanted
            condition.unlock()
            if done { return true }
            // No event yet: ask the daemon directly (an event stream that is not subscribed yet misses events).
            let events = eventCount
            if let response = try? client.get("/v1/readers"),
                let list = try? JSONDecoder().decode(ReaderList.self, from: Data(response.body)),
                let info = list.readers.first(where: { $0.name == reader })
            {
                set(reader, info.cardPresent, since: events)
            }
        }
        return false
    }

    /// Ends the event stream: the stream notices at its next event, so a trust-store reload (which publishes
    /// one) ends it now rather than at the next keep-alive comment.
    func stop() {
        condition.lock()
        running = false
        condition.unlock()
        _ = try? client.send(HTTPRequest(method: "POST", path: "/v1/trust/reload"))
        _ = ended.wait(timeout: .now() + 20)
    }
}

/// One kiosk at one reader: a new person taps a new card, the kiosk enrolls them through the API (read, photo,
/// complete with a fresh key's CSR), the card leaves, the next person comes.
final class KioskLoop: @unchecked Sendable {
    let reader: String
    let port: UInt16
    let faces: LoadFaces
    let identities: IdentitySource
    let signer: TestPKI.Party
    let presence: CardPresence
    let recorder: LoadRecorder
    let session: UnixSocketSession
    private let headers: [(name: String, value: String)]
    // NSLock: the fault injector asks for a pull from its thread; the kiosk's thread takes the request.
    private let pullLock = NSLock()
    private var pullRequested: FaultWindows?
    /// Set for the tap whose card is pulled: its failures are that fault's.
    private var pulled: FaultKind?
    /// Commands the last unpulled tap's card answered (the whole read).
    private var lastTapCommands = 20

    /// Fault injection: the next tap's card leaves the field 50 to 800 ms after the read began.
    func pullNextCard(_ windows: FaultWindows) {
        pullLock.withLock { pullRequested = windows }
    }

    init(
        index: Int, faces: LoadFaces, identities: IdentitySource, signer: TestPKI.Party, presence: CardPresence,
        recorder: LoadRecorder, client: UnixSocketClient
    ) {
        reader = index == 0 ? "Virtual PCD 00 00" : "Virtual PCD 00 01"
        port = UInt16(35963 + index)
        self.faces = faces
        self.identities = identities
        self.signer = signer
        self.presence = presence
        self.recorder = recorder
        session = UnixSocketSession(client: client)
        headers = [("X-Enrolld-Channel", "load-kiosk-\(index)")]
    }

    /// Taps cards until `deadline`.
    func run(until deadline: Date) {
        while Date() < deadline {
            tap()
        }
        session.close()
    }

    private func tap() {
        let card: VPCDConnection
        let identity: (mrz: MRZ, person: Int)
        let csr: String
        let windows = pullLock.withLock { () -> FaultWindows? in
            defer { pullRequested = nil }
            return pullRequested
        }
        var window: Int?
        let applet: PullingApplet
        do {
            identity = try identities.next(people: faces.people.count)
            var personalisation = EMRTDPersonalisation(
                mrz: identity.mrz, portraits: [faces.people[identity.person].portrait])
            personalisation.documentSigner = signer
            // A pulled card leaves at a random command of the read that an unpulled tap's card answered.
            let pullAt = windows.map { _ in Int.random(in: 2...max(3, lastTapCommands - 1)) }
            applet = PullingApplet(EMRTDApplet(profile: try personalisation.makeProfile()), pullAt: pullAt) {
                if let windows { window = windows.begin(.cardPull) }
            }
            card = VPCDConnection(port: port, atr: VirtualCardProfile.defaultATR, applet: applet)
            csr = try CertificateSigningRequest.create(
                subject: DistinguishedName(country: "UT", commonName: "holder"),
                key: try PrivateKey.generate(.p256)
            ).pem
        } catch {
            recorder.fail("card", kind: "personalisation", detail: "\(error)")
            Thread.sleep(forTimeInterval: 1)
            return
        }
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            card.run(reconnect: true)
            finished.signal()
        }
        thread.name = "load.card-\(port)"
        thread.start()
        let inserted = DispatchTime.now()
        let insertedAt = Date()
        pulled = windows == nil ? nil : .cardPull
        if presence.wait(reader: reader, present: true, timeout: 20) {
            recorder.record("card.detect", milliseconds: milliseconds(since: inserted), isRequest: false)
            enroll(identity.mrz, live: faces.people[identity.person].live, csr: csr)
        } else {
            recorder.fail(
                "card", kind: "not-detected", detail: "the daemon did not see the card in \(reader) within 20 s",
                expected: pulled, since: insertedAt)
        }
        card.stop()
        finished.wait()
        let left = Date()
        if !presence.wait(reader: reader, present: false, timeout: 20) {
            recorder.fail(
                "card", kind: "not-removed", detail: "the daemon still sees a card in \(reader) 20 s after it left",
                since: left)
        }
        if let windows {
            if let window {
                windows.end(window)
            } else {
                windows.skip(.cardPull, reason: "the read ended before the pull point")
            }
        } else if applet.commands > 3 {
            lastTapCommands = applet.commands
        }
        pulled = nil
    }

    private func enroll(_ mrz: MRZ, live: [UInt8], csr: String) {
        let start = DispatchTime.now()
        let body = EnrollmentStartBody(reader: reader, accessKey: AccessKeyRequest(mrz: mrz.text), purpose: "register")
        guard let started: EnrollmentView = call("enroll.read", "/v1/enrollments", body),
            let _: EnrollmentView = call(
                "enroll.photo", "/v1/enrollments/\(started.id)/photo",
                EnrollmentPhotoBody(photo: Data(live).base64EncodedString())),
            let outcome: EnrollmentOutcome = call(
                "enroll.complete", "/v1/enrollments/\(started.id)/complete",
                EnrollmentCompleteBody(csr: csr))
        else { return }
        guard let serial = outcome.certificateSerial else {
            recorder.fail(
                "enroll.complete", kind: "no-certificate", detail: "tier \(outcome.tier) without a certificate",
                expected: pulled)
            return
        }
        recorder.record("enroll.total", milliseconds: milliseconds(since: start), isRequest: false)
        recorder.enrolled(accountID: outcome.accountID, serial: serial)
    }

    private func call<Body: Encodable, Answer: Decodable>(_ operation: String, _ path: String, _ body: Body) -> Answer?
    {
        let start = DispatchTime.now()
        let response: HTTPResponse
        do {
            response = try session.post(path, json: [UInt8](try JSONEncoder().encode(body)), headers: headers)
        } catch {
            recorder.fail(operation, kind: "transport", detail: "\(error)", expected: pulled)
            return nil
        }
        recorder.record(operation, milliseconds: milliseconds(since: start))
        guard (200..<300).contains(response.status) else {
            recordProblem(recorder, operation, response, expected: pulled)
            return nil
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body)) else {
            recorder.fail(
                operation, kind: "bad-answer", detail: String(decoding: response.body.prefix(200), as: UTF8.self),
                expected: pulled)
            return nil
        }
        return answer
    }
}

/// Records a non-2xx answer under its problem code, with the problem's detail.
func recordProblem(
    _ recorder: LoadRecorder, _ operation: String, _ response: HTTPResponse,
    expected: FaultKind? = nil
) {
    if let problem = try? JSONDecoder().decode(Problem.self, from: Data(response.body)) {
        recorder.fail(operation, kind: "\(response.status) \(problem.code)", detail: problem.detail, expected: expected)
    } else {
        recorder.fail(
            operation, kind: "\(response.status)", detail: String(decoding: response.body.prefix(200), as: UTF8.self),
            expected: expected)
    }
}

/// One API client doing kiosk and operator traffic beside the enrollments: face compares, account, certificate
/// and usage look-ups, CRL fetches, health, readers and metrics. Even-numbered clients keep their connection
/// alive between requests; odd-numbered ones open one per request (as `enrollctl` and curl do).
final class APIClientLoop: @unchecked Sendable {
    private let faces: LoadFaces
    private let recorder: LoadRecorder
    private let client: UnixSocketClient
    private let session: UnixSocketSession?
    private let thinkTime: TimeInterval
    private let headers: [(name: String, value: String)]
    private var random = SystemRandomNumberGenerator()

    /// Operations and their weights.
    static let mix: [(operation: String, weight: Int)] = [
        ("health", 10), ("readers", 8), ("metrics", 5), ("face-compare", 12), ("account", 20),
        ("certificates", 12), ("usage", 15), ("crl", 6), ("status-history", 6), ("trust", 6),
    ]

    init(index: Int, faces: LoadFaces, recorder: LoadRecorder, client: UnixSocketClient, thinkTime: TimeInterval) {
        self.faces = faces
        self.recorder = recorder
        self.client = client
        session = index % 2 == 0 ? UnixSocketSession(client: client) : nil
        self.thinkTime = thinkTime
        headers = [("X-Enrolld-Channel", "load-client-\(index)")]
    }

    func run(until deadline: Date) {
        let total = Self.mix.reduce(0) { $0 + $1.weight }
        while Date() < deadline {
            var pick = Int.random(in: 0..<total, using: &random)
            var operation = Self.mix[0].operation
            for entry in Self.mix {
                if pick < entry.weight {
                    operation = entry.operation
                    break
                }
                pick -= entry.weight
            }
            perform(operation)
            if thinkTime > 0 { Thread.sleep(forTimeInterval: Double.random(in: 0...(2 * thinkTime), using: &random)) }
        }
        session?.close()
    }

    private func perform(_ operation: String) {
        let account = recorder.randomAccount(using: &random)
        let request: HTTPRequest
        switch operation {
        case "face-compare":
            let person = faces.people.randomElement(using: &random)!
            let pair = person.photos.shuffled(using: &random).prefix(2).map { Data($0).base64EncodedString() }
            let body = (try? JSONEncoder().encode(FaceCompareRequest(reference: pair[0], probe: pair[1]))) ?? Data()
            request = HTTPRequest(
                method: "POST", path: "/v1/faces/compare", headers: [("Content-Type", "application/json")] + headers,
                body: [UInt8](body))
        case "account", "certificates", "usage", "status-history":
            guard let account else {
                perform("health")
                return
            }
            let suffix = [
                "account": "", "certificates": "/certificates", "usage": "/usage", "status-history": "/status-history",
            ]
            let query: [(name: String, value: String)] = operation == "usage" ? [("limit", "20")] : []
            request = HTTPRequest(
                method: "GET", path: "/v1/accounts/\(account)\(suffix[operation] ?? "")", query: query,
                headers: headers)
        case "health": request = HTTPRequest(method: "GET", path: "/v1/health", headers: headers)
        case "readers": request = HTTPRequest(method: "GET", path: "/v1/readers", headers: headers)
        case "metrics": request = HTTPRequest(method: "GET", path: "/metrics", headers: headers)
        case "crl": request = HTTPRequest(method: "GET", path: "/v1/crl", headers: headers)
        default: request = HTTPRequest(method: "GET", path: "/v1/trust", headers: headers)
        }
        let start = DispatchTime.now()
        let response: HTTPResponse
        do {
            if let session {
                response = try session.send(request)
            } else {
                response = try client.send(request)
            }
        } catch {
            recorder.fail(operation, kind: "transport", detail: "\(error)")
            return
        }
        recorder.record(operation, milliseconds: milliseconds(since: start))
        if !(200..<300).contains(response.status) { recordProblem(recorder, operation, response) }
    }
}
