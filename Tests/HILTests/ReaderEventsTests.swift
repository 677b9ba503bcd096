import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation
import XCTest

/// The walking skeleton through real pcscd + vpcd + enroll-vcard → enrolld.
final class ReaderEventsTests: XCTestCase {
    private var bench: Bench!

    override func setUpWithError() throws {
        bench = try Bench()
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    private func readers(_ client: UnixSocketClient) throws -> ReaderList {
        let response = try client.get("/v1/readers")
        XCTAssertEqual(response.status, 200)
        return try JSONDecoder().decode(ReaderList.self, from: Data(response.body))
    }

    private func cardPresent(_ client: UnixSocketClient, _ reader: String) -> Bool {
        (try? readers(client))?.readers.first { $0.name == reader }?.cardPresent ?? false
    }

    func testReadersShowTheVirtualCardAndEventsFollowIt() throws {
        let card = try bench.startCard()
        let (_, client) = try bench.startDaemon()
        try bench.waitFor("the card in \(Bench.reader0)", timeout: 10) { cardPresent(client, Bench.reader0) }
        let list = try readers(client)
        XCTAssertTrue(list.pcscAvailable)
        let reader = try XCTUnwrap(list.readers.first { $0.name == Bench.reader0 })
        XCTAssertEqual(reader.atr, "3B8580018073000040B7", "the ATR enroll-vcard presents")
        XCTAssertTrue(list.readers.contains { $0.name == Bench.reader1 && !$0.cardPresent })

        let events = EventCollector(client: client)
        defer { events.stop() }
        Thread.sleep(forTimeInterval: 0.3)
        bench.stop(card)
        XCTAssertTrue(
            events.waitFor("card-removed", mentioning: Bench.reader0, timeout: 10),
            "stopping the virtual card must produce card-removed; got \(events.all.map(\.type))")
        XCTAssertFalse(cardPresent(client, Bench.reader0))
        let mark = events.all.count
        try bench.startCard()
        XCTAssertTrue(
            events.waitFor("card-inserted", mentioning: Bench.reader0, after: mark, timeout: 10),
            "starting the virtual card must produce card-inserted; got \(events.all.map(\.type))")
        XCTAssertTrue(events.all.dropFirst(mark).contains { $0.data.contains("3B8580018073000040B7") })
    }

    func testEnrollctlReadersJSON() throws {
        try bench.startCard(port: Bench.port1)
        let (_, client) = try bench.startDaemon()
        try bench.waitFor("the card in \(Bench.reader1)", timeout: 10) { cardPresent(client, Bench.reader1) }
        let run = try bench.runEnrollctl(["readers", "--json"], socket: client.path)
        XCTAssertEqual(run.status, 0, run.error)
        let output = run.output
        let list = try JSONDecoder().decode(ReaderList.self, from: output)
        XCTAssertEqual(list.readers.first { $0.name == Bench.reader1 }?.cardPresent, true)
        XCTAssertEqual(list.readers.first { $0.name == Bench.reader0 }?.cardPresent, false)
    }

    func testDaemonSurvivesPCSCDRestart() throws {
        try XCTSkipUnless(bench.ownsPCSCD, "a pcscd this test did not start is running; it will not kill it")
        try bench.startCard()
        let (daemon, client) = try bench.startDaemon()
        try bench.waitFor("the card in \(Bench.reader0)", timeout: 10) { cardPresent(client, Bench.reader0) }
        let events = EventCollector(client: client)
        defer { events.stop() }
        Thread.sleep(forTimeInterval: 0.3)

        bench.killPCSCD()
        XCTAssertTrue(events.waitFor("pcsc-unavailable", mentioning: "", timeout: 10), "got \(events.all.map(\.type))")
        XCTAssertTrue(daemon.isRunning, "enrolld must survive pcscd dying")
        let down = try readers(client)
        XCTAssertFalse(down.pcscAvailable)
        XCTAssertTrue(down.readers.isEmpty)
        XCTAssertTrue(events.all.contains { $0.type == "card-removed" })

        try bench.startPCSCD()
        try bench.waitFor("readers to reappear in enrolld", timeout: 15) {
            (try? readers(client))?.readers.contains { $0.name == Bench.reader0 } ?? false
        }
        XCTAssertTrue(events.waitFor("reader-added", mentioning: Bench.reader0, timeout: 5))
        // The virtual card reconnects to the new pcscd by itself.
        try bench.waitFor("the card to come back", timeout: 15) { cardPresent(client, Bench.reader0) }
        XCTAssertTrue(daemon.isRunning)
    }

    func testGracefulShutdownOnSIGTERM() throws {
        let (daemon, client) = try bench.startDaemon()
        bench.stop(daemon)
        XCTAssertEqual(daemon.terminationReason, .exit)
        XCTAssertEqual(daemon.terminationStatus, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: client.path), "the socket is removed on shutdown")
        XCTAssertTrue(bench.log("enrolld.log").contains("shutting down"))
    }
}
