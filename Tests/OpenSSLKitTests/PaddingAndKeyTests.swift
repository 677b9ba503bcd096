import OpenSSLKit
import XCTest

final class PaddingAndKeyTests: XCTestCase {
    // ICAO 9303-11 Appendix D.4.1: '011E' padded to one 3DES block.
    func testISO9797Method2Pad() {
        XCTAssertEqual(ISO9797Padding.pad(h("011E"), blockSize: 8), h("011E800000000000"))
        XCTAssertEqual(ISO9797Padding.pad([], blockSize: 8), h("8000000000000000"))
        XCTAssertEqual(ISO9797Padding.pad([UInt8](repeating: 1, count: 8), blockSize: 8).count, 16)
        XCTAssertEqual(ISO9797Padding.pad(h("01"), blockSize: 16).count, 16)
    }

    func testISO9797Method2UnpadIsStrict() {
        XCTAssertEqual(ISO9797Padding.unpad(h("60145F0180000000"), blockSize: 8), h("60145F01"))
        XCTAssertEqual(ISO9797Padding.unpad(h("8000000000000000"), blockSize: 8), [])
        XCTAssertNil(ISO9797Padding.unpad(h("60145F0100000000"), blockSize: 8), "no 0x80 marker")
        XCTAssertNil(ISO9797Padding.unpad(h("60145F0180000001"), blockSize: 8), "non-zero after marker")
        XCTAssertNil(ISO9797Padding.unpad(h("60145F0180"), blockSize: 8), "not whole blocks")
        XCTAssertNil(ISO9797Padding.unpad([], blockSize: 8))
        XCTAssertNil(
            ISO9797Padding.unpad(h("8000000000000000 0000000000000000"), blockSize: 8),
            "padding longer than a block")
    }

    // ICAO 9303-11 Appendix D.1: K_enc before and after parity adjustment.
    func testDESParityAdjustment() {
        XCTAssertEqual(
            DESKey.adjustParity(h("AB94FCEDF2664EDFB9B291F85D7F77F2")),
            h("AB94FDECF2674FDFB9B391F85D7F76F2"))
        for byte in DESKey.adjustParity((0...255).map { UInt8($0) }) {
            XCTAssertEqual(byte.nonzeroBitCount % 2, 1)
        }
    }

    func testSecureRandom() throws {
        let a = try SecureRandom.bytes(16)
        let b = try SecureRandom.bytes(16)
        XCTAssertEqual(a.count, 16)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(try SecureRandom.bytes(0), [])
        XCTAssertThrowsError(try SecureRandom.bytes(-1))
    }
}
