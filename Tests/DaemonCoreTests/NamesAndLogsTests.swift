@testable import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// Names and logs (issue 18): a reader name a caller sends is one the monitor knows, and no string a caller chose can
/// forge a journal line or fill the journal.
final class NamesAndLogsTests: XCTestCase {
    // MARK: Known answers

    func testControlCharactersAreEscapedSoNoCallerTextStartsALine() {
        let forged = "Virtual PCD 00 00\n<5>certificate 4f2a signed for account 1\r\u{1b}[2K\u{2028}x\\"
        let escaped = Log.escaped(forged)
        XCTAssertEqual(
            escaped, "Virtual PCD 00 00\\x0a<5>certificate 4f2a signed for account 1\\x0d\\x1b[2K\\u{2028}x\\\\")
        XCTAssertFalse(escaped.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x2028 })
        XCTAssertEqual(
            Log.escaped("reader added: ACS ACR1252 1S CL Reader [Ü] 00 00"),
            "reader added: ACS ACR1252 1S CL Reader [Ü] 00 00", "ordinary text is unchanged")
    }

    func testAMessageIsCutAtTheCapSayingHowLongItWas() {
        let huge = String(repeating: "A", count: 2 * 1024 * 1024)
        let escaped = Log.escaped("reader added: " + huge)
        XCTAssertLessThanOrEqual(escaped.utf8.count, Log.maximumMessageBytes + 64)
        XCTAssertTrue(escaped.hasSuffix("... (cut: 2097166 bytes in all)"))
    }

    // MARK: The routes

    func testAReaderTheMonitorDoesNotKnowIsNotFoundAndNotEchoed() throws {
        let daemon = try InProcessDaemon()
        let holder = TestHolder.random()
        try daemon.insertCard(holder)
        let names = [
            "Virtual PCD 00 00\n<5>certificate 4f2a signed", String(repeating: "R", count: 200_000),
            "Unplugged Reader 00 00", "", "Virtual PCD 00 00\u{202e}",
        ]
        for name in names {
            let body = CardReadRequest(reader: name, accessKey: holder.accessKey)
            let response = try daemon.call("POST", "/v1/cards/read", json: body)
            XCTAssertEqual(response.status, 404, String(name.prefix(40)))
            let problem = try JSONDecoder().decode(Problem.self, from: Data(response.body))
            XCTAssertEqual(problem.code, "reader-not-found")
            XCTAssertFalse(String(decoding: response.body, as: UTF8.self).contains("certificate 4f2a"))
            XCTAssertLessThan(response.body.count, 1024, "the name is not echoed")
            let start = try daemon.start(holder, reader: name)
            XCTAssertEqual(start.status, 404, "enrollment start: \(String(name.prefix(40)))")
            let lookup = try daemon.call(
                "POST", "/v1/accounts/lookup", json: AccountLookupBody(reader: name, accessKey: holder.accessKey),
                as: .operator)
            XCTAssertEqual(lookup.status, 404, "the counter's look-up by card: \(String(name.prefix(40)))")
            XCTAssertFalse(String(decoding: lookup.body, as: UTF8.self).contains("certificate 4f2a"))
        }
        let known = try daemon.call(
            "POST", "/v1/cards/read",
            json: CardReadRequest(
                reader: InProcessDaemon.reader,
                accessKey: holder.accessKey))
        XCTAssertEqual(known.status, 200, "the reader the monitor knows still reads")
    }

    func testAKioskUsesOnlyTheReadersAssignedToIt() throws {
        let daemon = try InProcessDaemon(extraConfiguration: "[readers]\nkiosk_readers = uid:2001=Virtual PCD 00 01")
        let holder = TestHolder.random()
        try daemon.insertCard(holder)
        func read(_ reader: String, as caller: InProcessDaemon.Caller) throws -> HTTPResponse {
            try daemon.call(
                "POST", "/v1/cards/read", json: CardReadRequest(reader: reader, accessKey: holder.accessKey),
                as: caller)
        }
        for (reader, caller) in [
            (InProcessDaemon.reader, InProcessDaemon.Caller.kiosk), ("Virtual PCD 00 01", .otherKiosk),
        ] {
            let refused = try read(reader, as: caller)
            XCTAssertEqual(refused.status, 403)
            XCTAssertEqual(try JSONDecoder().decode(Problem.self, from: Data(refused.body)).code, "reader-not-yours")
        }
        XCTAssertEqual(try daemon.start(holder, reader: InProcessDaemon.reader).status, 403, "nor to enroll")
        XCTAssertEqual(try read(InProcessDaemon.reader, as: .operator).status, 200, "staff use any reader")
        let own = try read("Virtual PCD 00 01", as: .kiosk)
        XCTAssertEqual(
            try JSONDecoder().decode(Problem.self, from: Data(own.body)).code, "no-card",
            "its own reader is served (and empty)")
    }

    // MARK: The journal itself

    /// End to end, at the bytes the daemon writes to stderr (what journald turns into lines): a hostile reader
    /// (a USB device names itself) whose name holds CR, LF, a priority prefix, an escape sequence and a line
    /// separator, and a kiosk sending that name, leave only lines that start with the daemon's own `<N>` prefix;
    /// the forged "certificate ... signed" text is inside an escaped line, never a line of its own.
    func testNoCallerStringProducesALineOfItsOwnInTheDaemonsLog() throws {
        let forged = "Forged Reader 00 00\n<5>certificate 4f2a signed for account 1\r\n<3>x\u{1b}[2K\u{2028}y\u{85}z"
        let daemon = try InProcessDaemon()
        let holder = TestHolder.random()
        let previous = Log.shared.level
        Log.shared.level = .info
        defer { Log.shared.level = previous }
        let log = try capturingStandardError { () throws in
            // The hostile reader appears as the monitor starts (in process: the terminal reports to the daemon).
            try daemon.insertCard(holder, in: forged)
            daemon.terminal.start()
            daemon.terminal.remove(from: forged)
            let read = try daemon.call(
                "POST", "/v1/cards/read", json: CardReadRequest(reader: forged, accessKey: holder.accessKey))
            XCTAssertEqual(read.status, 404, "a name with control characters is refused before anything logs it")
            XCTAssertEqual(try daemon.start(holder, reader: forged).status, 404)
            Log.error("incident 1: a caller's text: \(forged)")
        }
        let lines = log.split(separator: "\n", omittingEmptySubsequences: true)
        XCTAssertGreaterThanOrEqual(lines.count, 4, log)
        for line in lines {
            XCTAssertNotNil(
                line.wholeMatch(of: /<[0-7]>[^\r\u{2028}\u{2029}\u{85}\u{1b}]*/), "a line of its own: \(line)")
            XCTAssertFalse(line.hasPrefix("<5>certificate"), "forged line: \(line)")
            XCTAssertFalse(line.hasPrefix("<3>x"), "forged line: \(line)")
        }
        let escaped =
            "Forged Reader 00 00\\x0a<5>certificate 4f2a signed for account 1\\x0d\\x0a<3>x\\x1b[2K\\u{2028}y\\x85z"
        XCTAssertTrue(lines.contains("<6>reader added: \(escaped)"), log)
        XCTAssertTrue(lines.contains("<6>card inserted in \(escaped)"), log)
        XCTAssertTrue(lines.contains("<6>card removed from \(escaped)"), log)
        XCTAssertTrue(lines.contains("<3>incident 1: a caller's text: \(escaped)"), log)
        XCTAssertEqual(lines.filter { $0.contains("certificate 4f2a") }.count, 4, "only the four escaped lines")
    }

    /// Runs `body` with file descriptor 2 sent to a file, and returns what was written to it.
    private func capturingStandardError(_ body: () throws -> Void) throws -> String {
        let path = NSTemporaryDirectory() + "enrolld-stderr-\(UUID().uuidString).log"
        defer { unlink(path) }
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        XCTAssertGreaterThanOrEqual(file, 0)
        let saved = dup(2)
        dup2(file, 2)
        close(file)
        do {
            try body()
        } catch {
            dup2(saved, 2)
            close(saved)
            throw error
        }
        dup2(saved, 2)
        close(saved)
        return String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
    }

    // MARK: Secrets

    func testTheProcessMakesItselfUndumpable() {
        XCTAssertTrue(ProcessHardening.disableCoreDumps(), "prctl(PR_SET_DUMPABLE, 0)")
        XCTAssertFalse(ProcessHardening.isDumpable, "PR_GET_DUMPABLE reads 0: no core dump, no same-uid ptrace")
    }
}
