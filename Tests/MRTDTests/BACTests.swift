@testable import MRTD
import OpenSSLKit
import SmartCard
import XCTest

/// ICAO Doc 9303 Part 11, Appendix D (worked example for BAC), then the unhappy paths.
final class BACTests: XCTestCase {
    static let rndIC = "4608F91988702212"
    static let rndIFD = "781723860C06C226"
    static let kIFD = "0B795240CB7049B01C19B33E32804F0B"
    static let kIC = "0B4F80323EB3191CB04970CB4052790B"
    static let externalAuthenticateData =
        "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
        + "5F1448EEA8AD90A7"
    static let chipAnswer = "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"

    static func appendixKey() throws -> BACKey {
        try BACKey(documentNumber: "L898902C<", birthDate: "690806", expiryDate: "940623")
    }

    // D.2: MRZ information, K_seed, K_enc, K_mac.
    func testBasicAccessKeysAppendixD2() throws {
        let key = try Self.appendixKey()
        XCTAssertEqual(key.mrzInformation, "L898902C<369080619406236")
        XCTAssertEqual(try key.keySeed(), hexBytes("239AB9CB282DAF66231DC5A4DF6BFBAE"))
        let keys = try key.derivedKeys()
        XCTAssertEqual(keys.encryption, hexBytes("AB94FDECF2674FDFB9B391F85D7F76F2"))
        XCTAssertEqual(keys.mac, hexBytes("7962D9ECE03D1ACD4C76089DCE131543"))
    }

    func testShortDocumentNumbersArePaddedWithFillers() throws {
        let unpadded = try BACKey(documentNumber: "l898902c", birthDate: "690806", expiryDate: "940623")
        XCTAssertEqual(unpadded.mrzInformation, "L898902C<369080619406236")
    }

    // ICAO 9303-3 §4.2.2 / 9303-11 §9.7.2: numbers longer than 9 characters use the full number and its check digit.
    func testLongDocumentNumberUsesTheFullNumber() throws {
        let key = try BACKey(documentNumber: "D23145890734", birthDate: "340712", expiryDate: "950712")
        XCTAssertEqual(key.mrzInformation, "D23145890734934071279507122")
    }

    // D.3: EXTERNAL AUTHENTICATE command data, the chip's answer, KS_enc, KS_mac and SSC.
    func testMutualAuthenticationAppendixD3() throws {
        let card = ScriptedChannel([
            ("0084000008", Self.rndIC + "9000"),
            ("0082000028" + Self.externalAuthenticateData + "28", Self.chipAnswer + "9000"),
        ])
        let random = FixedRandom([hexBytes(Self.rndIFD), hexBytes(Self.kIFD)])
        let session = try BAC.authenticate(channel: card, key: try Self.appendixKey(), random: random.next)
        XCTAssertTrue(card.isFinished)
        XCTAssertEqual(session.suite.encryptionKey, hexBytes("979EC13B1CBFE9DCD01AB0FED307EAE5"))
        XCTAssertEqual(session.suite.macKey, hexBytes("F1CB1F1FB5ADF208806B89DC579DC1F8"))
        XCTAssertEqual(session.ssc.bytes, hexBytes("887022120C06C226"))
    }

    func testChipAnswerDecryptsToTheAppendixValues() throws {
        let keys = try Self.appendixKey().derivedKeys()
        let plain = try BAC.openCryptogram(hexBytes(Self.chipAnswer), encryptionKey: keys.encryption, macKey: keys.mac)
        XCTAssertEqual(plain, hexBytes(Self.rndIC + Self.rndIFD + Self.kIC))
        let suite = try BAC.sessionSuite(kIFD: hexBytes(Self.kIFD), kIC: hexBytes(Self.kIC))
        XCTAssertEqual(suite.encryptionKey, hexBytes("979EC13B1CBFE9DCD01AB0FED307EAE5"))
        XCTAssertEqual(suite.macKey, hexBytes("F1CB1F1FB5ADF208806B89DC579DC1F8"))
    }

    // Unhappy paths.

    func testSW6300IsAnAccessKeyError() throws {
        let card = ScriptedChannel([("0084000008", Self.rndIC + "9000"), (nil, "6300")])
        let random = FixedRandom([hexBytes(Self.rndIFD), hexBytes(Self.kIFD)])
        XCTAssertThrowsError(try BAC.authenticate(channel: card, key: try Self.appendixKey(), random: random.next)) {
            XCTAssertEqual($0 as? MRTDError, .accessKeyRejected(StatusWord(0x6300)))
            let text = "\($0)"
            let advice = "the chip rejected the access key: check document number, birth date and expiry"
            XCTAssertTrue(text.contains(advice), text)
        }
    }

    func testTamperedChipCryptogramFailsClosed() throws {
        var answer = hexBytes(Self.chipAnswer)
        answer[39] ^= 0x01
        let card = ScriptedChannel([("0084000008", Self.rndIC + "9000"), (nil, hex(answer) + "9000")])
        let random = FixedRandom([hexBytes(Self.rndIFD), hexBytes(Self.kIFD)])
        XCTAssertThrowsError(try BAC.authenticate(channel: card, key: try Self.appendixKey(), random: random.next)) {
            guard case .authenticationFailed = $0 as? MRTDError else { return XCTFail("\($0)") }
        }
    }

    func testWrongRNDIFDEchoFailsClosed() throws {
        let keys = try Self.appendixKey().derivedKeys()
        let forged = try BAC.cryptogram(
            hexBytes(Self.rndIC + "0000000000000000" + Self.kIC),
            encryptionKey: keys.encryption, macKey: keys.mac)
        XCTAssertThrowsError(
            try BAC.session(
                fromChipAnswer: forged, encryptionKey: keys.encryption, macKey: keys.mac,
                rndIC: hexBytes(Self.rndIC), rndIFD: hexBytes(Self.rndIFD),
                kIFD: hexBytes(Self.kIFD))
        ) {
            XCTAssertEqual($0 as? MRTDError, .authenticationFailed("the chip did not echo RND.IFD"))
        }
    }

    func testShortChipAnswersAndChallengesAreRejected() throws {
        let keys = try Self.appendixKey().derivedKeys()
        XCTAssertThrowsError(
            try BAC.session(
                fromChipAnswer: [1, 2, 3], encryptionKey: keys.encryption,
                macKey: keys.mac, rndIC: [], rndIFD: [], kIFD: []))
        let card = ScriptedChannel([("0084000008", "46089000")])
        XCTAssertThrowsError(try BAC.authenticate(channel: card, key: try Self.appendixKey())) {
            guard case .authenticationFailed = $0 as? MRTDError else { return XCTFail("\($0)") }
        }
    }

    func testInvalidKeyInputIsRefused() {
        XCTAssertThrowsError(try BACKey(documentNumber: "L898902C", birthDate: "69080", expiryDate: "940623"))
        XCTAssertThrowsError(try BACKey(documentNumber: "L89*902C", birthDate: "690806", expiryDate: "940623"))
        XCTAssertThrowsError(try BACKey(documentNumber: "", birthDate: "690806", expiryDate: "940623"))
        XCTAssertThrowsError(try BACKey(documentNumber: "L898902C", birthDate: "690806", expiryDate: "9406AB"))
    }

    func testCardRemovedDuringBACIsDistinct() throws {
        let card = ScriptedChannel([])
        card.failure = .cardRemoved
        XCTAssertThrowsError(try BAC.authenticate(channel: card, key: try Self.appendixKey())) {
            XCTAssertEqual($0 as? MRTDError, .cardRemoved)
        }
    }
}

// MARK: Test support shared by the MRTD tests.

/// Decodes a hex literal; fails the test instead of crashing on a malformed one.
func hexBytes(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
    guard let value = bytes(hex: text) else {
        XCTFail("malformed hex literal \(text)", file: file, line: line)
        return []
    }
    return value
}

/// A card that answers a fixed script; an expected command of `nil` matches anything.
final class ScriptedChannel: CardChannel {
    private var script: [(command: String?, response: String)]
    private(set) var sent: [[UInt8]] = []
    var failure: CardError?
    let supportsExtendedLength = true
    let atr: [UInt8] = [0x3B, 0x80, 0x80, 0x01, 0x01]

    init(_ script: [(String?, String)]) {
        self.script = script.map { (command: $0.0, response: $0.1) }
    }

    var isFinished: Bool { script.isEmpty }

    func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        if let failure { throw failure }
        let encoded = (try? command.encoded()) ?? []
        sent.append(encoded)
        guard !script.isEmpty else { throw .protocolViolation("script exhausted") }
        let step = script.removeFirst()
        if let expected = step.command {
            XCTAssertEqual(hex(encoded), expected)
        }
        guard let raw = bytes(hex: step.response), let response = try? ResponseAPDU(bytes: raw) else {
            throw .protocolViolation("bad scripted response")
        }
        return response
    }
}

/// Hands out fixed "random" values in order.
final class FixedRandom {
    private var values: [[UInt8]]

    init(_ values: [[UInt8]]) {
        self.values = values
    }

    func next(_ count: Int) throws(MRTDError) -> [UInt8] {
        guard !values.isEmpty else { return [UInt8](repeating: 0x5A, count: count) }
        return values.removeFirst()
    }
}
