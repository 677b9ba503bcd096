import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation
import MRTD
import SmartCard
import VirtualCard
import XCTest

/// Fault injection end to end: `enroll-vcard --fault ...` behind real pcscd + vpcd, read by one `enrolld`.
/// Every fault must end the read with a typed problem (`POST /v1/cards/read`) and a `card-read-failed` event
/// naming the same code, leave no read or card connection open (`/metrics`), and the next tap of a clean card
/// must read through the same daemon. One pcscd and one daemon serve the whole class.
final class FaultReadTests: XCTestCase {
    /// The bench, daemon and event stream the tests share; created by the first test, stopped after the last.
    final class Shared: @unchecked Sendable {
        let bench: Bench
        let client: UnixSocketClient
        let events: EventCollector
        let bacProfile: String
        let paceProfile: String

        init() throws {
            bench = try Bench()
            do {
                try bench.startPCSCD()
                let pki = bench.workDirectory.appendingPathComponent("pki")
                _ = try BenchPKI.create(directory: pki.path)
                bacProfile = try Self.writeProfile(pki.appendingPathComponent("bac.json"), pace: nil)
                paceProfile = try Self.writeProfile(
                    pki.appendingPathComponent("pace.json"),
                    pace: [
                        "parameterId": 13, "cipher": "AES-128", "can": "491756",
                    ])
                let trust = pki.appendingPathComponent("trust").path
                (_, client) = try bench.startDaemon(
                    configuration: """
                        [readers]
                        read_timeout_seconds = \(FaultReadTests.readTimeout)
                        [trust]
                        directory = \(trust)
                        """)
                events = EventCollector(client: client)
            } catch {
                bench.stopAll()
                throw error
            }
        }

        /// A TD1 card with passive, active and chip authentication, read in short chunks so DG2 takes many
        /// READ BINARY commands; with `pace`, a PACE-only card.
        static func writeProfile(_ url: URL, pace: [String: Any]?) throws -> String {
            var object: [String: Any] = [
                "kind": "emrtd", "mrz": CardReadTests.td1, "extendedLength": false,
                "portrait": "@" + CardReadTests.johns.appendingPathComponent("John_Salley/000179_02159509.jpg").path,
                "documentSigner": ["certificate": "@dsc.pem", "key": "@dsc.key"],
                "activeAuthentication": ["key": "@aa.key"], "chipAuthentication": ["key": "@ca.key"],
            ]
            if let pace {
                object["pace"] = pace
                object["bac"] = false
            }
            try JSONSerialization.data(withJSONObject: object).write(to: url)
            return url.path
        }
    }

    static let readTimeout = 4
    private static let lock = NSLock()
    nonisolated(unsafe) private static var sharedBench: Shared?

    private func shared() throws -> Shared {
        try Self.lock.withLock {
            if let shared = Self.sharedBench { return shared }
            let shared = try Shared()
            Self.sharedBench = shared
            return shared
        }
    }

    override class func tearDown() {
        lock.withLock {
            sharedBench?.events.stop()
            sharedBench?.bench.stopAll()
            sharedBench = nil
        }
        super.tearDown()
    }

    // MARK: Helpers

    private func readRequest() throws -> [UInt8] {
        [UInt8](
            try JSONEncoder().encode(
                CardReadRequest(
                    reader: Bench.reader0, accessKey: AccessKeyRequest(mrz: CardReadTests.td1.joined(separator: "\n"))))
        )
    }

    /// Starts a card, waits until the daemon sees it.
    @discardableResult
    private func insert(_ profile: String, _ extra: [String] = []) throws -> Process {
        let shared = try shared()
        let card = try shared.bench.startCard(profile: profile, extra: extra)
        try shared.bench.waitForCard(in: Bench.reader0, client: shared.client)
        return card
    }

    /// Stops a card and waits until the daemon sees the reader empty.
    private func remove(_ card: Process) throws {
        let shared = try shared()
        shared.bench.stop(card)
        try shared.bench.waitForCard(in: Bench.reader0, present: false, client: shared.client)
    }

    /// The value of an unlabelled gauge on `/metrics`.
    private func gauge(_ name: String) throws -> Int? {
        let text = String(decoding: try shared().client.get("/metrics").body, as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Int($0.split(separator: " ")[1]) }
    }

    /// No read and no PC/SC card connection is left open once a read has ended.
    private func assertNothingLeaked(_ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(
            try gauge("enrolld_card_reads_active"), 0, "\(label): a read is still registered", file: file, line: line)
        XCTAssertEqual(
            try gauge("enrolld_card_connections_open"), 0, "\(label): a card connection leaked",
            file: file, line: line)
    }

    /// Reads expecting failure `code` with an actionable detail, and the same code on the event stream.
    @discardableResult
    /// `event`: whether a read started and so ended with a `card-read-failed` event (a reader the monitor does not
    /// know is refused before any read).
    private func expectFailure(
        _ code: String, status: Int, label: String, event expectsEvent: Bool = true, file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> Problem {
        let shared = try shared()
        let mark = shared.events.all.count
        let response = try shared.client.post("/v1/cards/read", json: try readRequest())
        let body = String(decoding: response.body, as: UTF8.self)
        XCTAssertEqual(response.status, status, "\(label): \(body)", file: file, line: line)
        let problem = try JSONDecoder().decode(Problem.self, from: Data(response.body))
        XCTAssertEqual(problem.code, code, "\(label): \(problem.detail)", file: file, line: line)
        if expectsEvent {
            XCTAssertTrue(
                shared.events.waitFor(
                    "card-read-failed", mentioning: "\"detail\":\"\(code)\"", after: mark, timeout: 5),
                "\(label): no card-read-failed event with \(code); got \(shared.events.all.dropFirst(mark).map(\.data))",
                file: file, line: line)
            let event = shared.events.all.dropFirst(mark).first { $0.type == "card-read-failed" }
            XCTAssertTrue(
                event?.data.contains("message") == true, "\(label): the event says what to do", file: file, line: line)
        } else {
            XCTAssertFalse(problem.detail.isEmpty, "\(label): the answer says what to do")
        }
        try assertNothingLeaked(label, file: file, line: line)
        return problem
    }

    /// A clean card on the reader reads through the same daemon.
    private func assertNextTapReads(
        _ profile: String, label: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let card = try insert(profile)
        defer { try? remove(card) }
        let response = try shared().client.post("/v1/cards/read", json: try readRequest())
        XCTAssertEqual(
            response.status, 200, "next tap after \(label): \(String(decoding: response.body, as: UTF8.self))",
            file: file, line: line)
        let result = try JSONDecoder().decode(CardFaceResponse.self, from: Data(response.body))
        XCTAssertTrue(
            result.authenticity.genuine, "next tap after \(label): \(result.authenticity.reasons)", file: file,
            line: line)
        try assertNothingLeaked("after the next tap", file: file, line: line)
    }

    /// One card with `fault`: the read fails with `code`; then a clean card reads.
    private func check(
        _ fault: String, profile: String, code: String, status: Int, file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> Problem {
        let card = try insert(profile, ["--fault", fault, "--once"])
        let problem = try expectFailure(code, status: status, label: fault, file: file, line: line)
        if card.isRunning { try remove(card) }
        try shared().bench.waitForCard(in: Bench.reader0, present: false, client: try shared().client)
        XCTAssertTrue(
            try shared().bench.log("vcard-\(Bench.port0).log").contains(
                "injecting faults: \(try CardFault(parsing: fault))"))
        try assertNextTapReads(profile, label: fault, file: file, line: line)
        return problem
    }

    // MARK: The card leaves the field

    func testCardRemovedDuringBACPACEDG2ActiveAndChipAuthentication() throws {
        let shared = try shared()
        let cases = [
            ("card-removed:during=bac:at=2", shared.bacProfile), ("card-removed:during=pace:at=3", shared.paceProfile),
            ("card-removed:during=dg2:at=10", shared.bacProfile), ("card-removed:during=aa", shared.bacProfile),
            ("card-removed:during=ca", shared.paceProfile),
            // The reader answers 6300 as the card leaves during EXTERNAL AUTHENTICATE or a PACE step: not a wrong key.
            ("card-removed:6300:during=bac:at=2", shared.bacProfile),
            ("card-removed:6300:during=pace:at=4", shared.paceProfile),
        ]
        for (fault, profile) in cases {
            let problem = try check(fault, profile: profile, code: "card-removed", status: 409)
            XCTAssertEqual(
                problem.detail,
                "card removed during reading: hold the card on the reader until the read "
                    + "completes, then tap again", fault)
        }
    }

    func testARemovedCardComesBackCleanAndTheSameCardReads() throws {
        let shared = try shared()
        let mark = shared.events.all.count
        // Without --once the card returns to the field 1.5 s after leaving it, its fault spent: the next tap.
        let card = try insert(shared.bacProfile, ["--fault", "card-removed:during=dg2:at=5"])
        defer { try? remove(card) }
        try expectFailure("card-removed", status: 409, label: "card pulled mid-DG2")
        XCTAssertTrue(
            shared.events.waitFor("card-removed", mentioning: Bench.reader0, after: mark, timeout: 10),
            "pcscd sees the card leave; got \(shared.events.all.dropFirst(mark).map(\.type))")
        let removed = shared.events.all.dropFirst(mark).firstIndex { $0.type == "card-removed" } ?? mark
        XCTAssertTrue(
            shared.events.waitFor("card-inserted", mentioning: Bench.reader0, after: removed, timeout: 10),
            "and come back; got \(shared.events.all.dropFirst(mark).map(\.type))")
        try shared.bench.waitForCard(in: Bench.reader0, client: shared.client)
        let response = try shared.client.post("/v1/cards/read", json: try readRequest())
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        try assertNothingLeaked("after the card came back")
    }

    /// How often the vcard's log says it reached vpcd.
    private func vpcdConnections() throws -> Int {
        try shared().bench.log("vcard-\(Bench.port0).log").components(separatedBy: "connected to vpcd").count - 1
    }

    /// pcscd's own view of the first reader: whether it lists a (not mute) card.
    private func pcscdListsACard() -> Bool {
        guard let context = try? PCSCContext() else { return false }
        var states = [ReaderState(name: Bench.reader0)]
        _ = try? context.waitForChange(&states, timeout: 0)
        return states[0].cardPresent && !states[0].mute
    }

    func testACardBackDuringTheDisconnectOfItsFailedReadIsNotListedOnceItLeaves() throws {
        // The card leaves at its first command and comes back 1.5 s later; the connection of the failed exchange ends
        // just after it came back (vpcd holds it, pcscd has not looked yet), and the card leaves for good at once.
        // Resetting the card at that disconnect makes pcscd ask vpcd, take the card and write "present" behind its
        // event thread, which then never reports it leaving: the reader stayed listed with a card (the load bench's
        // `card: not-removed`). The channel leaves a card that left alone; the monitor does not take a card pcscd's
        // event thread did not count (forced here with a reset).
        let shared = try shared()
        for resetCard in [false, true, false, true] {
            let card = try insert(shared.bacProfile, ["--fault", "card-removed"])
            let connections = try vpcdConnections()
            let channel = try PCSCContext().connect(reader: Bench.reader0)
            XCTAssertThrowsError(
                try channel.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: eMRTDApplicationID))
            ) {
                XCTAssertEqual($0 as? CardError, .cardRemoved)
            }
            // pcscd looks for the card every 0.4 s: the disconnect must come first, so the log is watched closely.
            let deadline = Date().addingTimeInterval(10)
            while (try? vpcdConnections()) ?? 0 <= connections, Date() < deadline { usleep(2_000) }
            if resetCard { channel.disconnect(resetCard: true) } else { channel.disconnect() }
            shared.bench.stop(card)
            Thread.sleep(forTimeInterval: 1.5)
            let stale = pcscdListsACard()
            if !resetCard { XCTAssertFalse(stale, "pcscd lists the card that left (the disconnect left it alone)") }
            try shared.bench.waitForCard(in: Bench.reader0, present: false, client: shared.client)
        }
        XCTAssertEqual(PCSCCardChannel.openConnections, 0)
        try assertNextTapReads(shared.bacProfile, label: "a card back during a disconnect")
    }

    // MARK: The chip misbehaves

    func testCorruptedMACUnexpectedStatusTruncatedAndOversizedResponses() throws {
        let shared = try shared()
        let mac = try check(
            "corrupt-mac:during=dg2:at=3", profile: shared.bacProfile, code: "chip-security-error", status: 502)
        XCTAssertTrue(mac.detail.contains("MAC") && mac.detail.contains("tap the card again"), mac.detail)
        let status = try check(
            "status-word:6A82:ins=A4:at=2", profile: shared.bacProfile, code: "chip-error", status: 502)
        XCTAssertTrue(status.detail.contains("6A82"), status.detail)
        let protected = try check(
            "status-word:6F00:during=dg2:at=2", profile: shared.paceProfile,
            code: "chip-security-error", status: 502)
        XCTAssertTrue(protected.detail.contains("without secure messaging"), protected.detail)
        _ = try check("truncate:during=dg2:at=4", profile: shared.bacProfile, code: "chip-security-error", status: 502)
        _ = try check("oversize:during=dg2:at=2", profile: shared.bacProfile, code: "chip-security-error", status: 502)
        let plain = try check("oversize:during=read", profile: shared.paceProfile, code: "chip-error", status: 502)
        XCTAssertTrue(plain.detail.contains("EF.CardAccess") && plain.detail.contains("tap it again"), plain.detail)
    }

    // MARK: A slow card

    func testSlowCardReadsAndTheReadDeadlineFreesTheReader() throws {
        let shared = try shared()
        // 20 ms per APDU: slower, still well inside the deadline.
        let slow = try insert(shared.bacProfile, ["--delay-ms", "20"])
        let response = try shared.client.post("/v1/cards/read", json: try readRequest())
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        let result = try JSONDecoder().decode(CardFaceResponse.self, from: Data(response.body))
        XCTAssertGreaterThanOrEqual(result.statistics.milliseconds, 20 * Double(result.statistics.apdus) * 0.9)
        try remove(slow)
        // 400 ms per APDU: the read cannot finish within the deadline and ends cleanly at it.
        let crawling = try insert(shared.bacProfile, ["--delay-ms", "400"])
        let problem = try expectFailure("card-read-timeout", status: 504, label: "--delay-ms 400")
        XCTAssertTrue(
            problem.detail.contains("within \(Self.readTimeout) s") && problem.detail.contains("tap again"),
            problem.detail)
        try remove(crawling)
        try assertNextTapReads(shared.bacProfile, label: "a slow card")
    }

    // MARK: The PC/SC service and the reader go away

    func testPCSCDKilledDuringAReadThenTheReaderMissingThenBack() throws {
        let shared = try shared()
        try XCTSkipUnless(shared.bench.ownsPCSCD, "a pcscd this test did not start is running; it will not kill it")
        let card = try insert(shared.bacProfile, ["--delay-ms", "30"])
        let mark = shared.events.all.count
        let request = try readRequest()
        let outcome = ReadOutcome()
        let reading = Thread { [client = shared.client] in
            outcome.set(try? client.post("/v1/cards/read", json: request))
        }
        reading.start()
        XCTAssertTrue(shared.events.waitFor("card-read-started", mentioning: Bench.reader0, after: mark, timeout: 5))
        Thread.sleep(forTimeInterval: 0.5)
        shared.bench.killPCSCD()
        try shared.bench.waitFor("the read to end", timeout: 15) { outcome.done }
        let response = try XCTUnwrap(outcome.response, "the daemon answered")
        let problem = try JSONDecoder().decode(Problem.self, from: Data(response.body))
        XCTAssertEqual(problem.code, "pcsc-unavailable", problem.detail)
        XCTAssertEqual(response.status, 503)
        XCTAssertTrue(
            shared.events.waitFor("card-read-failed", mentioning: "pcsc-unavailable", after: mark, timeout: 5))
        try assertNothingLeaked("pcscd killed")
        shared.bench.stop(card)

        // pcscd comes back without the virtual readers: the reader is gone, and the daemon says so.
        let empty = shared.bench.workDirectory.appendingPathComponent("no-readers")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try shared.bench.startPCSCD(readerConfiguration: empty.path)
        try shared.bench.waitFor("the daemon to reach pcscd", timeout: 15) {
            guard
                let list = try? JSONDecoder().decode(ReaderList.self, from: Data(shared.client.get("/v1/readers").body))
            else { return false }
            return list.pcscAvailable && !list.readers.contains { $0.name == Bench.reader0 }
        }
        try expectFailure("reader-not-found", status: 404, label: "reader unplugged", event: false)
        shared.bench.killPCSCD()

        // The reader is back: the next tap reads.
        try shared.bench.startPCSCD()
        try assertNextTapReads(shared.bacProfile, label: "pcscd killed and the reader unplugged")
    }
}

/// The answer of a read running on another thread.
private final class ReadOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var result: HTTPResponse??

    func set(_ response: HTTPResponse?) { lock.withLock { result = .some(response) } }
    var done: Bool { lock.withLock { result != nil } }
    var response: HTTPResponse? { lock.withLock { result ?? nil } }
}
