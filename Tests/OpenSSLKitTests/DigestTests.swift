import OpenSSLKit
import XCTest

/// FIPS 180-4 example "abc" and the empty message (NIST CAVP / FIPS 180-2 Appendix values).
final class DigestTests: XCTestCase {
    func testSHAFamilyOnABC() throws {
        let abc = Array("abc".utf8)
        XCTAssertEqual(try Digest.hash(abc, using: .sha1), h("A9993E364706816ABA3E25717850C26C9CD0D89D"))
        XCTAssertEqual(
            try Digest.hash(abc, using: .sha224),
            h("23097D223405D8228642A477BDA255B32AADBCE4BDA0B3F7E36C9DA7"))
        XCTAssertEqual(
            try Digest.hash(abc, using: .sha256),
            h("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"))
        XCTAssertEqual(
            try Digest.hash(abc, using: .sha384),
            h(
                "CB00753F45A35E8BB5A03D699AC65007272C32AB0EDED1631A8B605A43FF5BED"
                    + "8086072BA1E7CC2358BAECA134C825A7"))
        XCTAssertEqual(
            try Digest.hash(abc, using: .sha512),
            h(
                "DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A"
                    + "2192992A274FC1A836BA3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F"))
    }

    func testEmptyMessage() throws {
        XCTAssertEqual(try Digest.hash([], using: .sha1), h("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"))
        XCTAssertEqual(
            try Digest.hash([], using: .sha256),
            h("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"))
    }

    func testOutputLengthsMatchTheAlgorithm() throws {
        for algorithm in DigestAlgorithm.allCases {
            XCTAssertEqual(try Digest.hash([1, 2, 3], using: algorithm).count, algorithm.outputLength)
        }
    }
}
