import Foundation
@testable import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard
import XCTest

/// Chips that answer a failed protected command with the status word alone, without secure messaging (ICAO 9303-11
/// §9.8; issued chips do it for 6700, 6A82, 6B00): the reader takes the status word as the chip's answer, never data
/// without SM, steps the read size down, opens a new session when the chip closed its own and resumes at the same
/// offset, all bounded and counted.
final class SessionRecoveryTests: XCTestCase {
    private func profile(cap: Int = 0xDF, plain: PlainErrorStatus?) -> EMRTDProfile {
        var profile = DocumentReaderTests.profile(extendedLength: false, maxShortResponse: cap)
        profile.plainErrorStatus = plain
        return profile
    }

    private func read(_ profile: EMRTDProfile, pace: Bool = false) throws -> DocumentReadResult {
        let card = InMemoryCardChannel(applet: EMRTDApplet(profile: profile), supportsExtendedLength: false)
        if pace {
            return try DocumentReader(channel: card).read(access: .can(try CardAccessNumber(PACERoundTripTests.can)))
        }
        return try DocumentReader(channel: card).read(accessKey: try DocumentReaderTests.key())
    }

    // MARK: The session's rules

    func testOnlyErrorStatusWordsWithoutDataAreTakenInPlain() {
        XCTAssertTrue(SecureMessagingSession.isPlainErrorAnswer(ResponseAPDU(statusWord: .wrongLength)))
        XCTAssertTrue(SecureMessagingSession.isPlainErrorAnswer(ResponseAPDU(statusWord: .fileNotFound)))
        XCTAssertTrue(SecureMessagingSession.isPlainErrorAnswer(ResponseAPDU(statusWord: .wrongP1P2)))
        XCTAssertFalse(
            SecureMessagingSession.isPlainErrorAnswer(ResponseAPDU(statusWord: .success)), "success needs SM")
        XCTAssertFalse(SecureMessagingSession.isPlainErrorAnswer(ResponseAPDU(statusWord: .warningEndOfFile)))
        XCTAssertFalse(
            SecureMessagingSession.isPlainErrorAnswer(ResponseAPDU(statusWord: .smDataObjectsIncorrect)),
            "6988 ends the session")
        XCTAssertFalse(
            SecureMessagingSession.isPlainErrorAnswer(ResponseAPDU(data: [0x01], statusWord: .fileNotFound)),
            "never data without SM")
    }

    func testAPlainAnswerCountsTheCommandOnlyAndAwaitsProof() throws {
        let suite = try SecureMessagingCipherSuite(
            algorithm: .aes128, encryptionKey: [UInt8](repeating: 1, count: 16),
            macKey: [UInt8](repeating: 2, count: 16))
        let reader = SecureMessagingSession(suite: suite, ssc: SendSequenceCounter(zeroes: 16))
        _ = try reader.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 0xE7))
        XCTAssertEqual(try reader.unprotect(ResponseAPDU(statusWord: .wrongLength)).statusWord, .wrongLength)
        XCTAssertEqual(reader.ssc.bytes.last, 1, "the chip consumed the command and protected nothing")
        XCTAssertTrue(reader.awaitingProof && reader.lastAnswerWasPlain && reader.isActive)
        _ = try reader.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 0xDF))
        var chipSSC = SendSequenceCounter(zeroes: 16)
        chipSSC.increment()
        chipSSC.increment()
        chipSSC.increment()
        let answer = try suite.protectResponse(
            ResponseAPDU(data: [0x42], statusWord: .success), oddInstruction: false,
            ssc: chipSSC)
        XCTAssertEqual(try reader.unprotect(answer).data, [0x42])
        XCTAssertFalse(reader.awaitingProof, "a verified answer proves the session")
        // Data without SM is still refused, and ends the session.
        _ = try reader.protect(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 4))
        XCTAssertThrowsError(try reader.unprotect(ResponseAPDU(data: [1, 2, 3, 4], statusWord: .success)))
        XCTAssertFalse(reader.isActive)
    }

    // MARK: A short-Le cap answered with a plain 6700

    /// The chip takes short reads up to 0xDF and answers Le 0xE7 with a plain 6700: one extra APDU for the first
    /// file, none after (the reader keeps the size it learned).
    func testCappedChipKeepingItsSessionCostsOneAPDU() throws {
        let capped = profile(plain: .sessionKept)
        let result = try read(capped)
        XCTAssertEqual(result.files, capped.files)
        XCTAssertEqual(result.readChunkSize, 0xDF)
        XCTAssertEqual(result.statistics.plainStatusAnswers, 1)
        XCTAssertEqual(result.statistics.sessionsReestablished, 0)
        XCTAssertEqual(result.statistics.apdus, DocumentReaderTests.expectedAPDUs(files: capped.files, chunk: 0xDF) + 1)
        XCTAssertEqual(
            result.plainStatusRecovery.events,
            [.init(instruction: 0xB0, statusWord: .wrongLength, action: .accepted)])
        print("capped chip, session kept: \(result.statistics)")
    }

    /// The same chip closing its session with the 6700: the next protected command gets 6987, the reader runs BAC
    /// again, selects EF.COM again and resumes at the same offset.
    func testCappedChipClosingItsSessionIsReadAgainUnderANewSession() throws {
        let capped = profile(plain: .sessionClosed)
        let result = try read(capped)
        XCTAssertEqual(result.files, capped.files)
        XCTAssertEqual(result.statistics.plainStatusAnswers, 1)
        XCTAssertEqual(result.statistics.sessionsReestablished, 1)
        // 6700, 6987, SELECT + GET CHALLENGE + EXTERNAL AUTHENTICATE, SELECT EF.COM again: six APDUs, all on EF.COM.
        XCTAssertEqual(result.statistics.apdus, DocumentReaderTests.expectedAPDUs(files: capped.files, chunk: 0xDF) + 6)
        XCTAssertEqual(result.plainStatusRecovery.events.map(\.action), [.accepted, .sessionReestablished])
    }

    func testPACEChipClosingItsSessionGetsPACEAgain() throws {
        var capped = PACERoundTripTests.profile(
            pace: PACEConfiguration(
                parameterID: 13, cipher: .aes128,
                can: PACERoundTripTests.can))
        capped.extendedLength = false
        capped.maxShortResponse = 0xC0
        capped.plainErrorStatus = .sessionClosed
        let result = try read(capped, pace: true)
        XCTAssertEqual(result.files, capped.files)
        XCTAssertGreaterThanOrEqual(result.statistics.sessionsReestablished, 1)
        XCTAssertEqual(result.pace?.mapping, .generic)
    }

    /// Capped below 0xDF as well: two plain answers in a row may mean a closed session, so the reader opens a new
    /// one once and goes on.
    func testTwoPlainAnswersInARowOpenANewSessionOnce() throws {
        let capped = profile(cap: 0xC8, plain: .sessionKept)
        let result = try read(capped)
        XCTAssertEqual(result.files, capped.files)
        XCTAssertEqual(result.readChunkSize, 192)
        XCTAssertEqual(result.statistics.sessionsReestablished, 1)
        XCTAssertEqual(result.statistics.plainStatusAnswers, 3)
    }

    // MARK: Bounds and refusals

    func testAChipThatNeverAnswersEndsInAClearBoundedError() throws {
        for behaviour in PlainErrorStatus.allCases {
            let never = profile(cap: 100, plain: behaviour)
            let card = InMemoryCardChannel(applet: EMRTDApplet(profile: never), supportsExtendedLength: false)
            let counting = CountingCardChannel(base: card)
            XCTAssertThrowsError(
                try DocumentReader(channel: counting).read(accessKey: try DocumentReaderTests.key()),
                "\(behaviour)"
            ) { error in
                guard case let .secureMessaging(.recoveryExhausted(plain, reestablished, last)) = error as? MRTDError
                else { return XCTFail("\(behaviour): \(error)") }
                XCTAssertEqual(reestablished, PlainStatusLimits.default.maxReestablishments, "\(behaviour)")
                XCTAssertGreaterThanOrEqual(plain, 3)
                XCTAssertEqual(last, .wrongLength)
                XCTAssertTrue("\(error)".contains("gives up"), "\(error)")
            }
            XCTAssertLessThan(counting.statistics.apdus, 40, "\(behaviour): bounded")
        }
        var strict = DocumentReader.Options()
        strict.plainStatusLimits = PlainStatusLimits(maxPlainAnswers: 1, maxReestablishments: 0)
        let card = InMemoryCardChannel(
            applet: EMRTDApplet(profile: profile(cap: 0xC8, plain: .sessionKept)),
            supportsExtendedLength: false)
        XCTAssertThrowsError(
            try DocumentReader(channel: card, options: strict).read(accessKey: try DocumentReaderTests.key())
        ) {
            guard case .secureMessaging(.recoveryExhausted) = $0 as? MRTDError else { return XCTFail("\($0)") }
        }
    }

    func testAbsentFilesAnsweredInPlainAreSkippedAndMarkedUnverified() throws {
        var absent = profile(plain: .sessionKept)
        absent.files[.dg12] = nil
        let result = try read(absent)
        XCTAssertEqual(result.skippedFiles[.dg12], .fileNotFound)
        XCTAssertEqual(result.plainStatusRecovery.unprotectedRefusals, [.dg12])
        XCTAssertNotNil(result.files[.dg14], "the session went on")
    }

    /// A relay that forges a plain 6A82 for a READ BINARY: the file is skipped as unverified, the chip's session
    /// (whose SSC no longer matches) is opened again, and every other file is read.
    func testAnInjectedPlainRefusalIsRecordedAsUnverified() throws {
        let profile = DocumentReaderTests.profile()
        let card = FaultInjectingApplet(
            base: EMRTDApplet(profile: profile),
            faults: [CardFault(.statusWord(.fileNotFound), during: .read, at: 3)])
        let result = try DocumentReader(channel: InMemoryCardChannel(applet: card)).read(
            accessKey: try DocumentReaderTests.key())
        XCTAssertEqual(result.skippedFiles.count, 1)
        XCTAssertEqual(Set(result.skippedFiles.keys), result.plainStatusRecovery.unprotectedRefusals)
        XCTAssertEqual(result.statistics.sessionsReestablished, 1)
        XCTAssertEqual(result.files.count, profile.files.count - 1)
    }

    /// Data in plain after SM started is refused whatever the chip's plain-status habits.
    func testDataWithoutSecureMessagingIsStillRefused() throws {
        for behaviour in [nil, PlainErrorStatus.sessionKept] {
            let card = PlainDataApplet(base: EMRTDApplet(profile: profile(plain: behaviour)))
            XCTAssertThrowsError(
                try DocumentReader(channel: InMemoryCardChannel(applet: card, supportsExtendedLength: false))
                    .read(accessKey: try DocumentReaderTests.key())
            ) { error in
                guard case .secureMessaging = error as? MRTDError else { return XCTFail("\(error)") }
            }
        }
    }
}

/// A chip (or relay) that answers protected READ BINARY with the file's bytes in plain and 9000.
private final class PlainDataApplet: CardApplet {
    let base: CardApplet
    init(base: CardApplet) { self.base = base }
    func reset() { base.reset() }
    func process(_ command: CommandAPDU) -> ResponseAPDU {
        let response = base.process(command)
        guard command.cla & 0x0C == 0x0C, command.ins == 0xB0 else { return response }
        return ResponseAPDU(data: [0x60, 0x03, 0x5F, 0x01, 0x00], statusWord: .success)
    }
}
