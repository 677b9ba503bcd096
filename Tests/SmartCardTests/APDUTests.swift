import SmartCard
import XCTest

final class APDUTests: XCTestCase {
    // ISO/IEC 7816-4 §5.1: the four cases, short form.
    func testShortCasesEncode() throws {
        XCTAssertEqual(try CommandAPDU(ins: 0x84, p1: 0, p2: 0).encoded(), [0x00, 0x84, 0x00, 0x00])
        XCTAssertEqual(try CommandAPDU(ins: 0x84, p1: 0, p2: 0, le: 8).encoded(), [0x00, 0x84, 0x00, 0x00, 0x08])
        XCTAssertEqual(try CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 256).encoded(), [0x00, 0xB0, 0x00, 0x00, 0x00])
        XCTAssertEqual(
            try CommandAPDU(ins: 0xA4, p1: 2, p2: 0x0C, data: [0x01, 0x1E]).encoded(),
            [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E])
        XCTAssertEqual(
            try CommandAPDU(ins: 0x82, p1: 0, p2: 0, data: [1, 2, 3], le: 40).encoded(),
            [0x00, 0x82, 0x00, 0x00, 0x03, 1, 2, 3, 0x28])
    }

    func testExtendedCasesEncode() throws {
        XCTAssertEqual(
            try CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 65_536).encoded(), [0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00])
        XCTAssertEqual(
            try CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 1000).encoded(), [0x00, 0xB0, 0x00, 0x00, 0x00, 0x03, 0xE8])
        let data = [UInt8](repeating: 0xAA, count: 300)
        let case3 = try CommandAPDU(ins: 0xDA, p1: 0, p2: 0, data: data).encoded()
        XCTAssertEqual(Array(case3.prefix(7)), [0x00, 0xDA, 0x00, 0x00, 0x00, 0x01, 0x2C])
        XCTAssertEqual(case3.count, 7 + 300)
        let case4 = try CommandAPDU(ins: 0x86, p1: 0, p2: 0, data: data, le: 65_536).encoded()
        XCTAssertEqual(Array(case4.suffix(2)), [0x00, 0x00])
        XCTAssertEqual(case4.count, 7 + 300 + 2)
        // Short data but extended forced: Lc and Le both extended.
        XCTAssertEqual(
            try CommandAPDU(ins: 0xB1, p1: 0, p2: 0, data: [0x54, 0x01, 0x00], le: 200, forceExtended: true).encoded(),
            [0x00, 0xB1, 0x00, 0x00, 0x00, 0x00, 0x03, 0x54, 0x01, 0x00, 0x00, 0xC8])
    }

    func testRoundTripAllCases() throws {
        let samples = [
            CommandAPDU(ins: 0x84, p1: 1, p2: 2),
            CommandAPDU(ins: 0x84, p1: 0, p2: 0, le: 8),
            CommandAPDU(ins: 0x84, p1: 0, p2: 0, le: 256),
            CommandAPDU(ins: 0xA4, p1: 4, p2: 0x0C, data: [0xA0, 0, 0, 2, 0x47, 0x10, 0x01]),
            CommandAPDU(ins: 0x82, p1: 0, p2: 0, data: [1, 2, 3], le: 255),
            CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 65_536),
            CommandAPDU(ins: 0xDA, p1: 0, p2: 0, data: [UInt8](repeating: 7, count: 1000)),
            CommandAPDU(ins: 0x86, p1: 0, p2: 0, data: [UInt8](repeating: 7, count: 1000), le: 300),
        ]
        for apdu in samples {
            let parsed = try CommandAPDU(bytes: apdu.encoded())
            XCTAssertEqual(parsed.data, apdu.data, "\(apdu)")
            XCTAssertEqual(parsed.le, apdu.le, "\(apdu)")
            XCTAssertEqual([parsed.cla, parsed.ins, parsed.p1, parsed.p2], [apdu.cla, apdu.ins, apdu.p1, apdu.p2])
        }
    }

    func testEncodeRejectsOutOfRangeLengths() {
        XCTAssertThrowsError(
            try CommandAPDU(ins: 0xDA, p1: 0, p2: 0, data: [UInt8](repeating: 0, count: 65_536)).encoded()
        ) {
            XCTAssertEqual($0 as? APDUError, .dataTooLong(65_536))
        }
        XCTAssertThrowsError(try CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 0).encoded()) {
            XCTAssertEqual($0 as? APDUError, .invalidLe(0))
        }
        XCTAssertThrowsError(try CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 65_537).encoded()) {
            XCTAssertEqual($0 as? APDUError, .invalidLe(65_537))
        }
    }

    func testParseRejectsTruncatedAndInconsistent() {
        XCTAssertThrowsError(try CommandAPDU(bytes: [0x00, 0xA4, 0x04])) {
            XCTAssertEqual($0 as? APDUError, .truncated(expected: 4, actual: 3))
        }
        // Lc says 5, only 2 data bytes.
        XCTAssertThrowsError(try CommandAPDU(bytes: [0x00, 0xA4, 0x04, 0x0C, 0x05, 0xA0, 0x00])) {
            XCTAssertEqual($0 as? APDUError, .inconsistentLength(lc: 5, bodyLength: 3))
        }
        // Lc 2 with two extra bytes (over-long).
        XCTAssertThrowsError(try CommandAPDU(bytes: [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E, 0x00, 0x00])) {
            XCTAssertEqual($0 as? APDUError, .inconsistentLength(lc: 2, bodyLength: 5))
        }
        // Extended Lc of 0 is not a valid encoding.
        XCTAssertThrowsError(try CommandAPDU(bytes: [0x00, 0xDA, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01])) {
            XCTAssertEqual($0 as? APDUError, .inconsistentLength(lc: 0, bodyLength: 4))
        }
        // Extended header truncated.
        XCTAssertThrowsError(try CommandAPDU(bytes: [0x00, 0xDA, 0x00, 0x00, 0x00, 0x01])) {
            XCTAssertEqual($0 as? APDUError, .truncated(expected: 3, actual: 2))
        }
    }

    func testResponseParsing() throws {
        let response = try ResponseAPDU(bytes: [0x01, 0x02, 0x90, 0x00])
        XCTAssertEqual(response.data, [1, 2])
        XCTAssertTrue(response.statusWord.isSuccess)
        XCTAssertEqual(response.encoded, [0x01, 0x02, 0x90, 0x00])
        XCTAssertThrowsError(try ResponseAPDU(bytes: [0x90])) {
            XCTAssertEqual($0 as? APDUError, .truncated(expected: 2, actual: 1))
        }
    }

    func testStatusWordMeanings() {
        XCTAssertEqual(StatusWord(0x6300).meaning, "verification failed (wrong access key)")
        XCTAssertEqual(StatusWord(0x63C2).meaning, "verification failed, 2 tries left")
        XCTAssertEqual(StatusWord(0x6C10).correctLength, 16)
        XCTAssertTrue(StatusWord(0x6110).hasMoreData)
        XCTAssertEqual(StatusWord(0x6982).description, "6982")
    }

    func testHexHelpers() {
        XCTAssertEqual(hex([0x00, 0xAB, 0xFF]), "00ABFF")
        XCTAssertEqual(bytes(hex: "00 ab:FF"), [0x00, 0xAB, 0xFF])
        XCTAssertNil(bytes(hex: "ABC"))
        XCTAssertNil(bytes(hex: "ZZ"))
    }
}
