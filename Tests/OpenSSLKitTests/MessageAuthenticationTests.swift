import OpenSSLKit
import XCTest

final class MessageAuthenticationTests: XCTestCase {
    // RFC 4493 §4 examples 1-4.
    func testAESCMACRFC4493() throws {
        let key = h("2B7E151628AED2A6ABF7158809CF4F3C")
        let message = h(
            "6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51"
                + "30C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710")
        XCTAssertEqual(try MessageAuthentication.aesCMAC(key: key, message: []), h("BB1D6929E95937287FA37D129B756746"))
        XCTAssertEqual(
            try MessageAuthentication.aesCMAC(key: key, message: Array(message[0..<16])),
            h("070A16B46B4D4144F79BDD9DD04A287C"))
        XCTAssertEqual(
            try MessageAuthentication.aesCMAC(key: key, message: Array(message[0..<40])),
            h("DFA66747DE9AE63030CA32611497C827"))
        XCTAssertEqual(
            try MessageAuthentication.aesCMAC(key: key, message: message),
            h("51F0BEBF7E3B9D92FC49741779363CFE"))
    }

    // ICAO 9303-11 Appendix D.3: M_IFD = MAC(K_mac, E_IFD).
    func testRetailMACICAOAppendixD() throws {
        let kMac = h("7962D9ECE03D1ACD4C76089DCE131543")
        let eIFD = h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
        XCTAssertEqual(try MessageAuthentication.retailMAC(key: kMac, message: eIFD), h("5F1448EEA8AD90A7"))
        XCTAssertEqual(
            try MessageAuthentication.retailMAC(
                key: kMac, message: ISO9797Padding.pad(eIFD, blockSize: 8),
                padded: true), h("5F1448EEA8AD90A7"))
    }

    // ICAO 9303-11 Appendix D.4.1: CC over N = SSC || padded header || DO'87' (already padded).
    func testRetailMACICAOAppendixDSecureMessaging() throws {
        let ksMac = h("F1CB1F1FB5ADF208806B89DC579DC1F8")
        let n = h("887022120C06C2270CA4020C800000008709016375432908C044F68000000000")
        XCTAssertEqual(try MessageAuthentication.retailMAC(key: ksMac, message: n, padded: true), h("BF8B92D635FF24F8"))
    }

    func testRetailMACRefusesBadInput() {
        XCTAssertThrowsError(try MessageAuthentication.retailMAC(key: [1, 2, 3], message: [1]))
        XCTAssertThrowsError(
            try MessageAuthentication.retailMAC(
                key: [UInt8](repeating: 1, count: 16), message: [1],
                padded: true))
        XCTAssertThrowsError(try MessageAuthentication.aesCMAC(key: [1], message: [1]))
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(MessageAuthentication.constantTimeEquals([1, 2], [1, 2]))
        XCTAssertFalse(MessageAuthentication.constantTimeEquals([1, 2], [1, 3]))
        XCTAssertFalse(MessageAuthentication.constantTimeEquals([1, 2], [1]))
    }
}
