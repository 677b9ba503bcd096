import SmartCard
import XCTest

/// How the reader monitor reads `SCardGetStatusChange` states (pcsc-lite's winscard_clnt.c and eventhandler.c):
/// the SCARD_STATE_* bits, and the event counter pcscd's event thread keeps in the upper 16 bits.
final class ReaderStateTests: XCTestCase {
    static let changed: UInt32 = 0x0002
    static let empty: UInt32 = 0x0010
    static let present: UInt32 = 0x0020
    static let inUse: UInt32 = 0x0100
    static let mute: UInt32 = 0x0200

    /// A state acknowledged as `current` and reported now as `event`, with the event counters given.
    static func state(
        _ current: UInt32, _ currentCounter: UInt32, _ event: UInt32, _ eventCounter: UInt32
    )
        -> ReaderState
    {
        var state = ReaderState(name: "Virtual PCD 00 00", currentState: current | currentCounter << 16)
        state.eventState = event | eventCounter << 16 | changed
        return state
    }

    func testAnInsertionTheEventThreadCountedIsACard() {
        let inserted = Self.state(Self.empty, 7, Self.present, 8)
        XCTAssertTrue(inserted.cardPresent)
        XCTAssertFalse(inserted.insertionUncounted)
        XCTAssertEqual(inserted.eventCounter, 8)
    }

    func testACardInAReaderLastSeenEmptyWithTheCounterUnmovedIsNotACard() {
        // pcscd's SCardDisconnect(SCARD_RESET_CARD) asked vpcd, took a card that had come back, and wrote PRESENT
        // without its event thread: the counter stays where the removal left it.
        XCTAssertTrue(Self.state(Self.empty, 8, Self.present, 8).insertionUncounted)
        XCTAssertTrue(Self.state(Self.empty, 8, Self.present | Self.inUse, 8).insertionUncounted)
    }

    func testCardsAlreadySeenAndFirstLooksAreTakenAsTheyAre() {
        // Sharing and power changes of a card the monitor already saw.
        XCTAssertFalse(Self.state(Self.present, 8, Self.present | Self.inUse, 8).insertionUncounted)
        // A mute card powered up by a connection (no insertion, and it was not empty).
        XCTAssertFalse(Self.state(Self.present | Self.mute, 8, Self.present, 8).insertionUncounted)
        // The first look at a reader (SCARD_STATE_UNAWARE): whatever pcscd says.
        XCTAssertFalse(Self.state(0, 0, Self.present, 0).insertionUncounted)
        // An empty reader staying empty.
        XCTAssertFalse(Self.state(Self.empty, 8, Self.empty, 8).insertionUncounted)
    }

    func testAcknowledgingKeepsTheCounterSoTheNextEventWakesTheWait() {
        var state = Self.state(Self.empty, 8, Self.present, 9)
        state.acknowledge()
        XCTAssertEqual(state.currentState, Self.present | 9 << 16)
    }
}
