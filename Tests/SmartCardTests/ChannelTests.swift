import SmartCard
import XCTest

/// A card that answers every command with a fixed sequence of responses, and records commands.
private final class ScriptedApplet: CardApplet {
    var responses: [ResponseAPDU]
    var received: [CommandAPDU] = []

    init(_ responses: [ResponseAPDU]) {
        self.responses = responses
    }

    func reset() {}

    func process(_ command: CommandAPDU) -> ResponseAPDU {
        received.append(command)
        return responses.isEmpty ? ResponseAPDU(statusWord: .unknownError) : responses.removeFirst()
    }
}

final class ChannelTests: XCTestCase {
    func testGetResponseCollectsChainedData() throws {
        let applet = ScriptedApplet([
            ResponseAPDU(data: [1, 2], statusWord: StatusWord(0x6103)),
            ResponseAPDU(data: [3, 4, 5], statusWord: .success),
        ])
        let channel = InMemoryCardChannel(applet: applet)
        let response = try channel.transmitCollecting(CommandAPDU(ins: 0xCA, p1: 0, p2: 0, le: 256))
        XCTAssertEqual(response.data, [1, 2, 3, 4, 5])
        XCTAssertEqual(applet.received.last?.ins, 0xC0)
        XCTAssertEqual(applet.received.last?.le, 3)
    }

    func testWrongLeIsRetriedWithTheExactLength() throws {
        let applet = ScriptedApplet([
            ResponseAPDU(statusWord: StatusWord(0x6C05)), ResponseAPDU(data: [9, 9, 9, 9, 9], statusWord: .success),
        ])
        let channel = InMemoryCardChannel(applet: applet)
        let response = try channel.transmitCollecting(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 256))
        XCTAssertEqual(response.data.count, 5)
        XCTAssertEqual(applet.received.last?.le, 5)
    }

    func testFaultHookSimulatesCardRemoval() {
        let channel = InMemoryCardChannel(applet: ScriptedApplet([]))
        channel.fault = { _ in .cardRemoved }
        XCTAssertThrowsError(try channel.transmit(CommandAPDU(ins: 0x84, p1: 0, p2: 0, le: 8))) {
            XCTAssertEqual($0 as? CardError, .cardRemoved)
        }
    }

    func testExtendedLengthRefusedWhenThePathCannotCarryIt() {
        let channel = InMemoryCardChannel(applet: ScriptedApplet([]), supportsExtendedLength: false)
        XCTAssertThrowsError(try channel.transmit(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 1000))) {
            guard case .protocolViolation = $0 as? CardError else {
                return XCTFail("expected protocolViolation, got \($0)")
            }
        }
    }

    func testATRCardCapabilities() {
        let withExtended = ATRInfo.contactless(historicalBytes: [0x80, 0x73, 0x00, 0x00, 0x40])
        XCTAssertEqual(withExtended, [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x00, 0x00, 0x40, 0xB7])
        XCTAssertTrue(ATRInfo(withExtended).supportsExtendedLength)
        XCTAssertEqual(ATRInfo(withExtended).historicalBytes, [0x80, 0x73, 0x00, 0x00, 0x40])
        XCTAssertFalse(
            ATRInfo(ATRInfo.contactless(historicalBytes: [0x80, 0x73, 0x00, 0x00, 0x00])).supportsExtendedLength)
        XCTAssertFalse(ATRInfo([0x3B]).supportsExtendedLength)
        // Truncated interface bytes: no crash, no historical bytes.
        XCTAssertEqual(ATRInfo([0x3B, 0xF5, 0x11]).historicalBytes, [])
    }

    func testCardErrorsSayWhatToDo() {
        XCTAssertTrue(CardError.noService.description.contains("start pcscd"))
        XCTAssertTrue(
            CardError.cardRemoved.description.contains("hold the card on the reader until the read completes"))
    }
}
