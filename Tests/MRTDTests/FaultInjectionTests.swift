import Foundation
@testable import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard
import XCTest

/// The document reader against a virtual card that misbehaves on purpose (`FaultInjectingApplet`), in process.
/// Every fault ends the read with a typed error, and the next tap of the same card reads cleanly.
final class FaultInjectionTests: XCTestCase {
    // MARK: Fault descriptions

    func testFaultDescriptionsParseAndPrintBack() throws {
        for text in [
            "card-removed:during=dg2:at=3", "corrupt-mac", "status-word:6A82:ins=A4", "truncate:during=read",
            "oversize:during=pace:at=2", "card-removed:during=aa", "card-removed:during=ca", "plain-data:during=dg2",
            "card-removed:6300:during=bac:at=2",
        ] {
            XCTAssertEqual(try CardFault(parsing: text).description, text)
        }
        let fault = try CardFault(parsing: "status-word:6982:during=read:at=4:ins=B0")
        XCTAssertEqual(fault, CardFault(.statusWord(StatusWord(0x6982)), during: .read, at: 4, instruction: 0xB0))
    }

    func testBadFaultDescriptionsSayWhatIsWrong() {
        let cases = [
            ("card-gone", "unknown fault 'card-gone'"), ("status-word", "needs the status word"),
            ("status-word:69", "not a status word"), ("truncate:during=dg7", "unknown step 'dg7'"),
            ("oversize:at=0", "at= needs a number"), ("corrupt-mac:when=now", "unknown option 'when'"),
            ("truncate:ins=B", "ins= needs one byte"), ("card-removed:63", "not a status word"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try CardFault(parsing: text), text) {
                XCTAssertTrue(($0 as? CardFaultError)?.description.contains(reason) == true, "\($0)")
            }
        }
    }

    // MARK: Fixtures

    /// A BAC card whose DG2 takes many short reads.
    static let bacProfile = DocumentReaderTests.profile(extendedLength: false)
    static let paceProfile = PACERoundTripTests.profile(
        pace: PACEConfiguration(
            parameterID: 13, cipher: .aes128,
            can: PACERoundTripTests.can))

    /// A card with active and chip authentication (P-256 keys).
    static func antiCloneProfile() throws -> EMRTDProfile {
        try AntiCloneFixture.personalisation(
            activeAuthentication: try ActiveAuthenticationConfiguration(privateKey: try PrivateKey.generate(.p256)),
            chipAuthentication: try ChipAuthenticationConfiguration(privateKey: try PrivateKey.generate(.p256))
        ).makeProfile()
    }

    /// One tap: a fresh channel over `card` (power-on), a full read with the profile's MRZ key.
    static func tap(
        _ card: CardApplet, _ profile: EMRTDProfile, extendedLength: Bool = true,
        timeout: Double? = nil
    ) throws -> DocumentReadResult {
        let inMemory = InMemoryCardChannel(applet: card, supportsExtendedLength: extendedLength)
        let channel: CardChannel = timeout.map { DeadlineCardChannel(base: inMemory, seconds: $0) } ?? inMemory
        return try DocumentReader(channel: channel).read(access: .mrz(try profile.accessKey()))
    }

    /// Reads through `fault`: the read must fail as `expected` says, the fault must have fired, and the next tap
    /// must read every file.
    func assertFault(
        _ fault: CardFault, on profile: EMRTDProfile, extendedLength: Bool = true,
        file: StaticString = #filePath, line: UInt = #line, _ expected: (MRTDError) -> Bool
    ) throws {
        let card = FaultInjectingApplet(base: EMRTDApplet(profile: profile), faults: [fault])
        XCTAssertThrowsError(
            try Self.tap(card, profile, extendedLength: extendedLength), "\(fault)",
            file: file, line: line
        ) { error in
            guard let error = error as? MRTDError else {
                return XCTFail("\(fault): untyped \(error)", file: file, line: line)
            }
            XCTAssertTrue(expected(error), "\(fault): \(error)", file: file, line: line)
        }
        XCTAssertEqual(card.firedFaults, [fault], file: file, line: line)
        let next = try Self.tap(card, profile, extendedLength: extendedLength)
        XCTAssertEqual(
            next.files.keys.sorted(), profile.files.keys.sorted(), "next tap after \(fault)", file: file, line: line)
    }

    // MARK: Card removed

    func testCardRemovedDuringBAC() throws {
        try assertFault(CardFault(.cardRemoved, during: .bac, at: 2), on: Self.bacProfile) { $0 == .cardRemoved }
    }

    func testCardRemovedDuringPACE() throws {
        try assertFault(CardFault(.cardRemoved, during: .pace, at: 3), on: Self.paceProfile) { $0 == .cardRemoved }
    }

    func testCardRemovedInTheMiddleOfDG2() throws {
        try assertFault(CardFault(.cardRemoved, during: .dg2, at: 20), on: Self.bacProfile, extendedLength: false) {
            $0 == .cardRemoved
        }
    }

    func testCardRemovedDuringActiveAuthentication() throws {
        try assertFault(CardFault(.cardRemoved, during: .aa), on: try Self.antiCloneProfile()) { $0 == .cardRemoved }
    }

    func testCardRemovedDuringChipAuthentication() throws {
        try assertFault(CardFault(.cardRemoved, during: .ca), on: try Self.antiCloneProfile()) { $0 == .cardRemoved }
    }

    func testACardLeavingDuringBACOrPACEWithTheReadersStatusWordIsAwayAfterIt() throws {
        // A contactless reader answers a card that left during EXTERNAL AUTHENTICATE (or a PACE step) with a status
        // word of its own. The document reader cannot tell it from the chip's 6300; the daemon asks the reader
        // whether the card is still there (CardAndFaceRefusalTests: card-removed, not access-key-rejected).
        for (fault, profile) in [
            (CardFault(.cardRemovedAnswering(StatusWord(0x6300)), during: .bac, at: 2), Self.bacProfile),
            (CardFault(.cardRemovedAnswering(StatusWord(0x6300)), during: .pace, at: 4), Self.paceProfile),
        ] {
            let left = LockedFlag()
            let card = FaultInjectingApplet(base: EMRTDApplet(profile: profile), faults: [fault])
            card.onLeavingField = { left.set() }
            let channel = InMemoryCardChannel(applet: card)
            XCTAssertThrowsError(try DocumentReader(channel: channel).read(access: .mrz(try profile.accessKey()))) {
                XCTAssertEqual($0 as? MRTDError, .accessKeyRejected(StatusWord(0x6300)), "\(fault)")
            }
            XCTAssertEqual(card.firedFaults, [fault])
            XCTAssertTrue(left.value, "\(fault): the terminal is told the card left")
            XCTAssertTrue(card.hasLeftField, "\(fault): a transport closes the connection after the answer")
            XCTAssertThrowsError(try channel.transmit(CommandAPDU(ins: 0x84, p1: 0, p2: 0, le: 8))) {
                XCTAssertEqual($0 as? CardError, .cardRemoved, "\(fault): away until the next power-on")
            }
            XCTAssertEqual(try Self.tap(card, profile).files.keys.sorted(), profile.files.keys.sorted(), "next tap")
        }
    }

    func testARemovedCardStaysAwayUntilTheNextTap() throws {
        let card = FaultInjectingApplet(base: EMRTDApplet(profile: Self.bacProfile), faults: [CardFault(.cardRemoved)])
        let channel = InMemoryCardChannel(applet: card)
        for _ in 0..<3 {
            XCTAssertThrowsError(
                try channel.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: eMRTDApplicationID))
            ) {
                XCTAssertEqual($0 as? CardError, .cardRemoved)
            }
        }
    }

    // MARK: Corrupted MAC

    func testCorruptedMACUnderSecureMessagingEndsTheSession() throws {
        try assertFault(CardFault(.corruptMAC, during: .dg2, at: 5), on: Self.bacProfile, extendedLength: false) {
            $0 == .secureMessaging(.macMismatch)
        }
    }

    func testCorruptedMACOfTheBACAnswerFailsAuthentication() throws {
        try assertFault(CardFault(.corruptMAC, during: .bac, at: 2), on: Self.bacProfile) {
            if case .authenticationFailed = $0 { return true }
            return false
        }
    }

    func testCorruptedMACOfTheActiveAuthenticationAnswerEndsTheSession() throws {
        // AA's answer is protected: a bad MAC is a secure messaging failure and the read ends.
        let profile = try Self.antiCloneProfile()
        let card = FaultInjectingApplet(
            base: EMRTDApplet(profile: profile), faults: [CardFault(.corruptMAC, during: .aa)])
        let result = try Self.tap(card, profile)
        XCTAssertEqual(
            result.activeAuthentication?.outcome, .failed, "\(String(describing: result.activeAuthentication))")
        XCTAssertTrue(result.activeAuthentication?.reason.contains("MAC") == true)
        XCTAssertEqual(try Self.tap(card, profile).activeAuthentication?.outcome, .passed)
    }

    // MARK: Unexpected status words

    func testUnexpectedStatusWordInPlain() throws {
        try assertFault(CardFault(.statusWord(StatusWord(0x6A82)), at: 2, instruction: 0xA4), on: Self.bacProfile) {
            $0 == .unexpectedStatus(operation: "SELECT eMRTD application", statusWord: StatusWord(0x6A82))
        }
        try assertFault(CardFault(.statusWord(StatusWord(0x6985)), during: .pace, at: 2), on: Self.paceProfile) {
            if case let .unexpectedStatus(_, sw) = $0 { return sw == StatusWord(0x6985) }
            return false
        }
    }

    func testUnprotectedStatusWordUnderSecureMessagingEndsTheSession() throws {
        try assertFault(
            CardFault(.statusWord(StatusWord(0x6F00)), during: .dg2, at: 2), on: Self.bacProfile,
            extendedLength: false
        ) {
            $0 == .secureMessaging(.unprotectedStatus(StatusWord(0x6F00)))
        }
    }

    // MARK: Truncated and oversized responses

    func testTruncatedResponses() throws {
        try assertFault(CardFault(.truncate, during: .dg2, at: 3), on: Self.bacProfile, extendedLength: false) {
            if case .secureMessaging = $0 { return true }
            return false
        }
        // EF.CardAccess is read in plain: half of it is a malformed file.
        try assertFault(CardFault(.truncate, during: .read), on: Self.paceProfile) {
            if case .malformedFile(.cardAccess, _) = $0 { return true }
            return false
        }
        // An answer with no data loses SW2: a lone byte is no response at all.
        try assertFault(CardFault(.truncate, instruction: 0xA4), on: Self.bacProfile) {
            if case .transport(.protocolViolation) = $0 { return true }
            return false
        }
    }

    func testOversizedResponses() throws {
        try assertFault(CardFault(.oversize, during: .dg2, at: 2), on: Self.bacProfile, extendedLength: false) {
            if case .secureMessaging = $0 { return true }
            return false
        }
        try assertFault(CardFault(.oversize, during: .read), on: Self.paceProfile) {
            if case let .malformedFile(.cardAccess, reason) = $0 { return reason.contains("bytes for Le") }
            return false
        }
        try assertFault(CardFault(.oversize, during: .bac, at: 2), on: Self.bacProfile) {
            if case .authenticationFailed = $0 { return true }
            return false
        }
    }

    // MARK: A slow card

    func testASlowCardStillReadsAndADeadlineEndsTheReadCleanly() throws {
        let profile = PACERoundTripTests.profile(pace: nil, bac: true)
        let card = FaultInjectingApplet(base: EMRTDApplet(profile: profile), faults: [], delay: 0.02)
        let started = Date()
        let result = try Self.tap(card, profile, timeout: 30)
        XCTAssertEqual(result.files, profile.files)
        XCTAssertGreaterThanOrEqual(
            Date().timeIntervalSince(started), 0.02 * Double(result.statistics.apdus),
            "every APDU waited")
        XCTAssertThrowsError(try Self.tap(card, profile, timeout: 0.1)) {
            XCTAssertEqual($0 as? MRTDError, .transport(.timeout))
        }
        card.delay = 0
        XCTAssertEqual(try Self.tap(card, profile, timeout: 30).files, profile.files)
    }
}

/// A flag set from the card's thread.
private final class LockedFlag: @unchecked Sendable {
    // NSLock guards `flag`.
    private let lock = NSLock()
    private var flag = false

    func set() { lock.withLock { flag = true } }
    var value: Bool { lock.withLock { flag } }
}
