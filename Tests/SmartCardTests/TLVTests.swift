import SmartCard
import XCTest

final class TLVTests: XCTestCase {
    func testLengthEncodingForms() {
        XCTAssertEqual(TLV.encode(length: 0), [0x00])
        XCTAssertEqual(TLV.encode(length: 127), [0x7F])
        XCTAssertEqual(TLV.encode(length: 128), [0x81, 0x80])
        XCTAssertEqual(TLV.encode(length: 255), [0x81, 0xFF])
        XCTAssertEqual(TLV.encode(length: 256), [0x82, 0x01, 0x00])
        XCTAssertEqual(TLV.encode(length: 70_000), [0x83, 0x01, 0x11, 0x70])
    }

    func testMultiByteTags() throws {
        // DG2's biometric template 7F61 and the face data 5F2E.
        let inner = TLV(tag: 0x5F2E, value: [1, 2, 3])
        let outer = TLV(tag: 0x7F61, children: [TLV(tag: 0x02, value: [1]), inner])
        XCTAssertEqual(Array(outer.encoded.prefix(3)), [0x7F, 0x61, 0x09])
        let parsed = try TLV.parse(outer.encoded)
        XCTAssertEqual(parsed.tag, 0x7F61)
        XCTAssertTrue(parsed.isConstructed)
        XCTAssertEqual(try parsed.children(), [TLV(tag: 0x02, value: [1]), inner])
        XCTAssertEqual(try parsed.child(0x5F2E), inner)
        // Three-byte tag.
        let long = TLV(tag: 0x9F_81_01, value: [0xAA])
        XCTAssertEqual(try TLV.parse(long.encoded), long)
    }

    func testLongFormRoundTrip() throws {
        let value = [UInt8](repeating: 0x42, count: 40_000)
        let tlv = TLV(tag: 0x75, value: value)
        XCTAssertEqual(Array(tlv.encoded.prefix(4)), [0x75, 0x82, 0x9C, 0x40])
        XCTAssertEqual(try TLV.parse(tlv.encoded), tlv)
        let header = try TLVReader.header(of: Array(tlv.encoded.prefix(8)))
        XCTAssertEqual(header.tag, 0x75)
        XCTAssertEqual(header.length, 40_000)
        XCTAssertEqual(header.headerLength, 4)
    }

    func testTruncatedInputs() {
        XCTAssertThrowsError(try TLV.parse([])) { XCTAssertEqual($0 as? TLVError, .truncatedTag(offset: 0)) }
        XCTAssertThrowsError(try TLV.parse([0x5F])) { XCTAssertEqual($0 as? TLVError, .truncatedTag(offset: 0)) }
        XCTAssertThrowsError(try TLV.parse([0x61])) { XCTAssertEqual($0 as? TLVError, .truncatedLength(offset: 1)) }
        XCTAssertThrowsError(try TLV.parse([0x61, 0x82, 0x01])) {
            XCTAssertEqual($0 as? TLVError, .truncatedLength(offset: 1))
        }
        XCTAssertThrowsError(try TLV.parse([0x61, 0x05, 0x01, 0x02])) {
            XCTAssertEqual($0 as? TLVError, .truncatedValue(offset: 2, declared: 5, available: 2))
        }
    }

    func testMalformedInputs() {
        XCTAssertThrowsError(try TLV.parse([0x61, 0x80, 0x00, 0x00])) {
            XCTAssertEqual($0 as? TLVError, .indefiniteLength(offset: 1))
        }
        XCTAssertThrowsError(try TLV.parse([0x61, 0x85, 1, 2, 3, 4, 5])) {
            XCTAssertEqual($0 as? TLVError, .nonMinimalLength(offset: 1))
        }
        XCTAssertThrowsError(try TLV.parse([0x5F, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00])) {
            XCTAssertEqual($0 as? TLVError, .tagTooLong(offset: 0))
        }
        XCTAssertThrowsError(try TLV.parse([0x61, 0x00, 0xFF])) {
            XCTAssertEqual($0 as? TLVError, .trailingBytes(offset: 2, count: 1))
        }
        let limits = TLVLimits(maxLength: 100, maxDepth: 4, maxTagBytes: 3)
        XCTAssertThrowsError(try TLV.parse([0x61, 0x81, 0xC8] + [UInt8](repeating: 0, count: 200), limits: limits)) {
            XCTAssertEqual($0 as? TLVError, .lengthTooLarge(offset: 1, length: 200))
        }
    }

    func testOverLongDeclaredLengthIsRefusedWithoutAllocating() {
        // A 4-byte length of 0xFFFFFFFF must be refused by the limit, not trusted.
        XCTAssertThrowsError(try TLV.parse([0x75, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x00])) {
            XCTAssertEqual($0 as? TLVError, .lengthTooLarge(offset: 1, length: 0xFFFF_FFFF))
        }
    }

    func testNestingLimit() {
        var bytes: [UInt8] = [0x04, 0x00]
        for _ in 0..<20 { bytes = TLV(tag: 0x30, value: bytes).encoded }
        XCTAssertThrowsError(try TLVReader.validateNesting(bytes)) {
            XCTAssertEqual($0 as? TLVError, .nestingTooDeep(depth: 16))
        }
        var shallow: [UInt8] = [0x04, 0x00]
        for _ in 0..<5 { shallow = TLV(tag: 0x30, value: shallow).encoded }
        XCTAssertNoThrow(try TLVReader.validateNesting(shallow))
    }

    func testReadExpectingTag() throws {
        var reader = TLVReader([0x61, 0x00, 0x62, 0x00])
        XCTAssertEqual(try reader.read(expecting: 0x61).tag, 0x61)
        XCTAssertThrowsError(try reader.read(expecting: 0x63)) {
            XCTAssertEqual($0 as? TLVError, .unexpectedTag(expected: 0x63, found: 0x62))
        }
    }
}
