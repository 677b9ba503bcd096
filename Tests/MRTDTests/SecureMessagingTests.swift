@testable import MRTD
import SmartCard
import XCTest

/// ICAO Doc 9303 Part 11, Appendix D.4 (3DES secure messaging), an AES vector, then the unhappy paths.
final class SecureMessagingTests: XCTestCase {
    static func appendixSession() throws -> SecureMessagingSession {
        let suite = try SecureMessagingCipherSuite(
            algorithm: .tripleDES,
            encryptionKey: hexBytes("979EC13B1CBFE9DCD01AB0FED307EAE5"),
            macKey: hexBytes("F1CB1F1FB5ADF208806B89DC579DC1F8"))
        return SecureMessagingSession(suite: suite, ssc: SendSequenceCounter(bytes: hexBytes("887022120C06C226")))
    }

    static func response(_ text: String) throws -> ResponseAPDU {
        try ResponseAPDU(bytes: hexBytes(text))
    }

    // D.4: SELECT EF.COM, READ BINARY of 4 bytes, READ BINARY of the remaining 18 bytes.
    func testAppendixD4SelectAndReadEFCOM() throws {
        let session = try Self.appendixSession()

        let select = try session.protect(CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: hexBytes("011E")))
        XCTAssertEqual(hex(try select.encoded()), "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
        XCTAssertEqual(session.ssc.bytes, hexBytes("887022120C06C227"))
        let selected = try session.unprotect(try Self.response("990290008E08FA855A5D4C50A8ED9000"))
        XCTAssertEqual(selected, ResponseAPDU(data: [], statusWord: .success))
        XCTAssertEqual(session.ssc.bytes, hexBytes("887022120C06C228"))

        let readHeader = try session.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 4))
        XCTAssertEqual(hex(try readHeader.encoded()), "0CB000000D9701048E08ED6705417E96BA5500")
        let header = try session.unprotect(try Self.response("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"))
        XCTAssertEqual(header.data, hexBytes("60145F01"))
        XCTAssertEqual(session.ssc.bytes, hexBytes("887022120C06C22A"))

        let readRest = try session.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 4, le: 0x12))
        XCTAssertEqual(hex(try readRest.encoded()), "0CB000040D9701128E082EA28A70F3C7B53500")
        let rest = try session.unprotect(
            try Self.response(
                "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000"))
        XCTAssertEqual(rest.data, hexBytes("04303130365F36063034303030305C026175"))
        XCTAssertEqual(session.ssc.bytes, hexBytes("887022120C06C22C"))
    }

    // The same exchange through the CardChannel wrapper: callers send plain APDUs.
    func testSecureMessagingChannelCarriesPlainAPDUs() throws {
        let card = ScriptedChannel([
            ("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800", "990290008E08FA855A5D4C50A8ED9000"),
            ("0CB000000D9701048E08ED6705417E96BA5500", "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"),
        ])
        let channel = SecureMessagingChannel(base: card, session: try Self.appendixSession())
        XCTAssertEqual(
            try channel.transmit(CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: [0x01, 0x1E])).statusWord,
            .success)
        XCTAssertEqual(try channel.transmit(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 4)).data, hexBytes("60145F01"))
    }

    // AES-128 secure messaging: MSE:Set AT protected with SSC 5, its response with SSC 6 (values from the BSI
    // TR-03110 worked example as used in the animamea test suite).
    func testAESSecureMessagingVector() throws {
        let suite = try SecureMessagingCipherSuite(
            algorithm: .aes128,
            encryptionKey: hexBytes("68406B4162100563D9C901A6154D2901"),
            macKey: hexBytes("73FF268784F72AF833FDC9464049AFC9"))
        var ssc = SendSequenceCounter(zeroes: 16)
        for _ in 0..<4 { ssc.increment() }
        let session = SecureMessagingSession(suite: suite, ssc: ssc)
        let plain = try CommandAPDU(bytes: hexBytes("002281B60F830D44455445535444564445303139"))
        XCTAssertEqual(
            hex(try session.protect(plain).encoded()),
            "0C2281B61D871101A7BB8F230FFF9221162AD673B9F319A88E08D8713E9B7A600B4900")
        let answer = try session.unprotect(try Self.response("990290008E08C8488F79FEF386C79000"))
        XCTAssertEqual(answer.statusWord, .success)
    }

    // Card side and reader side agree, including extended lengths (DO'87' long form, two-byte Le in DO'97').
    func testExtendedLengthRoundTrip() throws {
        for algorithm in [SecureMessagingCipherSuite.Algorithm.tripleDES, .aes256] {
            let length = algorithm.keyLength
            let suite = try SecureMessagingCipherSuite(
                algorithm: algorithm,
                encryptionKey: [UInt8](repeating: 0x11, count: length),
                macKey: [UInt8](repeating: 0x22, count: length))
            var ssc = SendSequenceCounter(zeroes: suite.sscLength)
            ssc.increment()
            let read = CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 40_000)
            let protected = try suite.protectCommand(read, ssc: ssc)
            XCTAssertTrue(protected.isExtended)
            XCTAssertEqual(protected.data.prefix(4), [0x97, 0x02, 0x9C, 0x40])
            let recovered = try suite.unprotectCommand(try CommandAPDU(bytes: try protected.encoded()), ssc: ssc)
            XCTAssertEqual(recovered.le, 40_000)
            XCTAssertEqual(recovered.ins, 0xB0)

            let update = CommandAPDU(ins: 0xD6, p1: 0, p2: 0, data: [UInt8](repeating: 7, count: 300))
            let protectedUpdate = try suite.protectCommand(update, ssc: ssc)
            XCTAssertEqual(protectedUpdate.data.prefix(2), [0x87, 0x82])
            XCTAssertEqual(try suite.unprotectCommand(protectedUpdate, ssc: ssc).data, update.data)

            ssc.increment()
            let content = (0..<40_000).map { UInt8($0 & 0xFF) }
            let answer = try suite.protectResponse(
                ResponseAPDU(data: content, statusWord: .success),
                oddInstruction: false, ssc: ssc)
            XCTAssertEqual(try suite.unprotectResponse(answer, ssc: ssc).data, content)
        }
    }

    func testSendSequenceCounterCarries() {
        var ssc = SendSequenceCounter(bytes: [0x00, 0xFF, 0xFF])
        ssc.increment()
        XCTAssertEqual(ssc.bytes, [0x01, 0x00, 0x00])
        ssc.decrement()
        XCTAssertEqual(ssc.bytes, [0x00, 0xFF, 0xFF])
    }

    // Unhappy paths: every one ends the session.

    func testTamperedResponseMACEndsTheSession() throws {
        let session = try Self.appendixSession()
        _ = try session.protect(CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: hexBytes("011E")))
        XCTAssertThrowsError(try session.unprotect(try Self.response("990290008E08FA855A5D4C50A8EE9000"))) {
            XCTAssertEqual($0 as? MRTDError, .secureMessaging(.macMismatch))
        }
        XCTAssertFalse(session.isActive)
        XCTAssertThrowsError(try session.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 4))) {
            XCTAssertEqual($0 as? MRTDError, .secureMessaging(.sessionEnded))
        }
    }

    func testMissingDO99IsASecurityError() throws {
        let session = try Self.appendixSession()
        _ = try session.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 4))
        var ssc = session.ssc
        ssc.increment()
        // A response with a valid MAC over DO'87' alone: still refused, DO'99' is mandatory.
        let do87 = "8709019FF0EC34F9922651"
        let mac = try session.suite.mac(hexBytes(do87), ssc: ssc)
        XCTAssertThrowsError(try session.unprotect(try Self.response(do87 + "8E08" + hex(mac) + "9000"))) {
            XCTAssertEqual($0 as? MRTDError, .secureMessaging(.missingStatus))
        }
        XCTAssertFalse(session.isActive)
    }

    func testBareStatusWordsAreRefused() throws {
        let plain = try Self.appendixSession()
        _ = try plain.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 4))
        XCTAssertThrowsError(try plain.unprotect(try Self.response("9000"))) {
            XCTAssertEqual($0 as? MRTDError, .secureMessaging(.missingStatus))
        }
        let aborted = try Self.appendixSession()
        _ = try aborted.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 4))
        XCTAssertThrowsError(try aborted.unprotect(try Self.response("6988"))) {
            XCTAssertEqual($0 as? MRTDError, .secureMessaging(.abortedByCard(.smDataObjectsIncorrect)))
        }
    }

    func testMalformedResponsesGiveTypedErrors() throws {
        let valid = "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D74"
        let malformed =
            [
                "99029000",  // no DO'8E'
                "990290008E05FA855A5D4C",  // short checksum
                "8E08FA855A5D4C50A8ED99029000",  // DO'8E' not last
                "FF",  // garbage
                "8709",  // truncated
                "990290009902900000",  // repeated and truncated
                "8709029FF0EC34F9922651990290008E08AD55CC17140B2DED",  // wrong padding indicator
            ] + (1..<(valid.count / 2)).map { String(valid.prefix($0 * 2)) }  // every truncation
        for text in malformed {
            let session = try Self.appendixSession()
            _ = try session.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 4, le: 0x12))
            XCTAssertThrowsError(try session.unprotect(try Self.response(text + "9000")), text) {
                guard case .secureMessaging = $0 as? MRTDError else { return XCTFail("\(text): \($0)") }
            }
            XCTAssertFalse(session.isActive, text)
        }
    }

    func testBadPaddingInsideAValidMACIsRefused() throws {
        let session = try Self.appendixSession()
        _ = try session.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 8))
        var ssc = session.ssc
        ssc.increment()
        let cryptogram = try session.suite.encrypt([1, 2, 3, 4, 5, 6, 7, 8], ssc: ssc).prefix(8)  // drop the pad block
        let objects = TLV(tag: 0x87, value: [0x01] + cryptogram).encoded + hexBytes("99029000")
        let mac = try session.suite.mac(objects, ssc: ssc)
        let data = objects + TLV(tag: 0x8E, value: mac).encoded
        XCTAssertThrowsError(try session.unprotect(ResponseAPDU(data: data, statusWord: .success))) {
            XCTAssertEqual($0 as? MRTDError, .secureMessaging(.badPadding))
        }
    }

    func testCardSideRejectsTamperedCommands() throws {
        let session = try Self.appendixSession()
        var protected = try session.protect(CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: hexBytes("011E")))
        protected.p2 = 0x00
        XCTAssertThrowsError(try session.suite.unprotectCommand(protected, ssc: session.ssc)) {
            XCTAssertEqual($0 as? MRTDError, .secureMessaging(.macMismatch))
        }
        let plain = CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 4)
        XCTAssertThrowsError(try session.suite.unprotectCommand(plain, ssc: session.ssc))
    }
}
