import OpenSSLKit
import XCTest

final class BlockCipherTests: XCTestCase {
    // FIPS 197 Appendix C example vectors.
    func testAESFIPS197ECB() throws {
        let plain = h("00112233445566778899AABBCCDDEEFF")
        let cases: [(key: String, cipher: String)] = [
            ("000102030405060708090A0B0C0D0E0F", "69C4E0D86A7B0430D8CDB78070B4C55A"),
            ("000102030405060708090A0B0C0D0E0F1011121314151617", "DDA97CA4864CDFE06EAF70A0EC0D7191"),
            ("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "8EA2B7CA516745BFEAFC49904B496089"),
        ]
        for item in cases {
            let encrypted = try BlockCipher.aes.encrypt(plain, key: h(item.key), mode: .ecb)
            XCTAssertEqual(encrypted, h(item.cipher))
            XCTAssertEqual(try BlockCipher.aes.decrypt(encrypted, key: h(item.key), mode: .ecb), plain)
        }
    }

    // NIST SP 800-38A F.2.1 CBC-AES128.Encrypt, first two blocks.
    func testAESCBCSP80038A() throws {
        let key = h("2B7E151628AED2A6ABF7158809CF4F3C")
        let iv = h("000102030405060708090A0B0C0D0E0F")
        let plain = h("6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51")
        let cipher = h("7649ABAC8119B246CEE98E9B12E9197D5086CB9B507219EE95DB113A917678B2")
        XCTAssertEqual(try BlockCipher.aes.encrypt(plain, key: key, iv: iv), cipher)
        XCTAssertEqual(try BlockCipher.aes.decrypt(cipher, key: key, iv: iv), plain)
    }

    // ICAO 9303-11 Appendix D.3: E_IFD = 3DES-CBC(K_enc, S) with a zero IV.
    func testTwoKeyTripleDESICAOAppendixD() throws {
        let key = h("AB94FDECF2674FDFB9B391F85D7F76F2")
        let plain = h("781723860C06C2264608F919887022120B795240CB7049B01C19B33E32804F0B")
        let cipher = h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
        XCTAssertEqual(try BlockCipher.tripleDES.encrypt(plain, key: key), cipher)
        XCTAssertEqual(try BlockCipher.tripleDES.decrypt(cipher, key: key), plain)
    }

    func testThreeKeyTripleDESWithRepeatedKeyEqualsTwoKey() throws {
        let key = h("AB94FDECF2674FDFB9B391F85D7F76F2")
        let plain = h("0011223344556677")
        let threeKey = key + Array(key[0..<8])
        XCTAssertEqual(
            try BlockCipher.tripleDES.encrypt(plain, key: threeKey),
            try BlockCipher.tripleDES.encrypt(plain, key: key))
    }

    func testRefusesPartialBlocksAndBadKeys() {
        XCTAssertThrowsError(try BlockCipher.aes.encrypt([1, 2, 3], key: [UInt8](repeating: 0, count: 16)))
        XCTAssertThrowsError(try BlockCipher.aes.encrypt([UInt8](repeating: 0, count: 16), key: [1, 2]))
        XCTAssertThrowsError(
            try BlockCipher.tripleDES.encrypt(
                [UInt8](repeating: 0, count: 8),
                key: [UInt8](repeating: 0, count: 8)))
        XCTAssertThrowsError(
            try BlockCipher.aes.encrypt(
                [UInt8](repeating: 0, count: 16),
                key: [UInt8](repeating: 0, count: 16), iv: [0]))
        do {
            _ = try BlockCipher.aes.encrypt([1], key: [UInt8](repeating: 0, count: 16))
        } catch {
            XCTAssertTrue(error.description.contains("AES-128-CBC"), error.description)
        }
    }
}
