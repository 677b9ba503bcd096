@testable import MRTD
import SmartCard
import VirtualCard
import XCTest

/// The document reader against the virtual eMRTD applet through an in-memory channel.
final class DocumentReaderTests: XCTestCase {
    /// The sizes the spec asks for, on the files a reader reads. DG2 is the big one (B1 above offset 32767).
    static let sizes: [(file: FileID, tag: UInt8, size: Int)] = [
        (.dg1, 0x61, 231), (.dg2, 0x75, 40_000), (.dg11, 0x6B, 200), (.dg12, 0x6C, 1), (.dg14, 0x6E, 0),
        (.dg15, 0x6F, 232), (.sod, 0x77, 16_000),
    ]

    /// A file of exactly `size` bytes: a TLV with that total length when it fits a header, raw bytes otherwise.
    static func file(tag: UInt8, size: Int) -> [UInt8] {
        guard size >= 4 else { return [UInt8](repeating: 0x42, count: size) }
        for headerLength in 2...5 {
            let valueLength = size - headerLength
            if 1 + TLV.encode(length: valueLength).count == headerLength {
                let value = (0..<valueLength).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
                return TLV(tag: UInt32(tag), value: value).encoded
            }
        }
        return []
    }

    static func profile(extendedLength: Bool = true, maxShortResponse: Int = 256) -> EMRTDProfile {
        var files: [FileID: [UInt8]] = [:]
        for item in sizes { files[item.file] = file(tag: item.tag, size: item.size) }
        files[.com] =
            TLV(
                tag: 0x60,
                children: [
                    TLV(tag: 0x5F01, value: Array("0107".utf8)), TLV(tag: 0x5F36, value: Array("040000".utf8)),
                    TLV(tag: 0x5C, value: [0x61, 0x75, 0x6B, 0x6C, 0x6E, 0x6F]),
                ]
            ).encoded
        return EMRTDProfile(
            documentNumber: "L898902C", birthDate: "690806", expiryDate: "940623", files: files,
            extendedLength: extendedLength, maxShortResponse: maxShortResponse)
    }

    static func key() throws -> BACKey {
        try BACKey(documentNumber: "L898902C<", birthDate: "690806", expiryDate: "940623")
    }

    /// SELECT application + GET CHALLENGE + EXTERNAL AUTHENTICATE, then per file one SELECT and
    /// max(1, ceil(size / chunk)) reads (B1 chunks carry a DO'53' header, so they hold a few bytes less).
    static func expectedAPDUs(files: [FileID: [UInt8]], chunk: Int) -> Int {
        var count = 3
        for content in files.values {
            count += 1
            var offset = 0
            var reads = 0
            repeat {
                let size = offset > 0x7FFF ? chunk - (chunk - 3 >= 0x80 ? 3 : 2) : chunk
                offset += size
                reads += 1
            } while offset < content.count
            count += reads
        }
        return count
    }

    func read(
        _ profile: EMRTDProfile, channelExtended: Bool = true, options: DocumentReader.Options = .init()
    )
        throws -> (DocumentReadResult, InMemoryCardChannel)
    {
        let channel = InMemoryCardChannel(
            applet: EMRTDApplet(profile: profile),
            supportsExtendedLength: channelExtended)
        let result = try DocumentReader(channel: channel, options: options).read(accessKey: try Self.key())
        return (result, channel)
    }

    func testReadsEveryFileWithExtendedLength() throws {
        let profile = Self.profile()
        let (result, _) = try read(profile)
        XCTAssertEqual(result.files, profile.files)
        XCTAssertEqual(result.accessProtocol, .bac)
        XCTAssertTrue(result.usedExtendedLength)
        XCTAssertTrue(result.skippedFiles.isEmpty)
        XCTAssertEqual(result.statistics.apdus, 3 + 2 * profile.files.count)
        print("extended length: \(result.statistics)")
    }

    func testReadsEveryFileWithShortLengthUnderSecureMessaging() throws {
        let profile = Self.profile(extendedLength: false)
        let (result, _) = try read(profile, channelExtended: false)
        XCTAssertEqual(result.files, profile.files)
        XCTAssertFalse(result.usedExtendedLength)
        XCTAssertEqual(result.readChunkSize, 0xE7)
        XCTAssertEqual(result.statistics.apdus, Self.expectedAPDUs(files: profile.files, chunk: 0xE7))
        print("short length: \(result.statistics)")
    }

    func testCardWithoutExtendedLengthMakesTheReaderStepDownOnce() throws {
        let profile = Self.profile(extendedLength: false)
        let (result, _) = try read(profile, channelExtended: true)
        XCTAssertEqual(result.files, profile.files)
        XCTAssertFalse(result.usedExtendedLength)
        XCTAssertEqual(result.statistics.apdus, Self.expectedAPDUs(files: profile.files, chunk: 0xE7) + 1)
        print("extended refused by the card, stepped down: \(result.statistics)")
    }

    func test6700OnABigLeStepsDownAndSucceeds() throws {
        let profile = Self.profile(extendedLength: false, maxShortResponse: 0xDF)
        let (result, _) = try read(profile, channelExtended: false)
        XCTAssertEqual(result.files, profile.files)
        XCTAssertEqual(result.readChunkSize, 0xDF)
        XCTAssertEqual(result.statistics.apdus, Self.expectedAPDUs(files: profile.files, chunk: 0xDF) + 1)
        print("short length, stepped down to 0xDF: \(result.statistics)")
    }

    func testTransportErrorOnExtendedAPDUStepsDownWithoutBreakingSecureMessaging() throws {
        let profile = Self.profile()
        let channel = InMemoryCardChannel(applet: EMRTDApplet(profile: profile), supportsExtendedLength: true)
        channel.fault = { $0.isExtended ? .protocolViolation("the reader cannot send extended APDUs") : nil }
        let result = try DocumentReader(channel: channel).read(accessKey: try Self.key())
        XCTAssertEqual(result.files, profile.files)
        XCTAssertFalse(result.usedExtendedLength)
    }

    func testShortFileIdentifiersSaveTheSelects() throws {
        let profile = Self.profile()
        let (result, _) = try read(profile, options: DocumentReader.Options(shortFileIdentifiers: true))
        XCTAssertEqual(result.files, profile.files)
        XCTAssertEqual(result.statistics.apdus, 3 + profile.files.count)
        print("extended length via short EF identifiers: \(result.statistics)")
    }

    func testOnlyListedAndWantedDataGroupsAreRead() throws {
        var profile = Self.profile()
        profile.files[.dg3] = Self.file(tag: 0x63, size: 50)
        let (result, _) = try read(profile, options: DocumentReader.Options(dataGroups: [1]))
        XCTAssertEqual(Set(result.files.keys), [.com, .dg1, .sod])
    }

    func testDataGroupListedButAbsentIsSkipped() throws {
        var profile = Self.profile()
        profile.files[.dg15] = nil
        let (result, _) = try read(profile)
        XCTAssertEqual(result.skippedFiles, [.dg15: .fileNotFound])
        XCTAssertNil(result.files[.dg15])
    }

    func testPlainStrategyReadsPast32767WithOddINS() throws {
        var profile = Self.profile(extendedLength: false)
        profile.requiresAccessControl = false
        let channel = InMemoryCardChannel(applet: EMRTDApplet(profile: profile), supportsExtendedLength: false)
        channel.recordsLog = true
        try ReadBinaryStrategy.selectApplication(on: channel)
        let strategy = ReadBinaryStrategy(extendedLength: false, secureMessaging: false)
        XCTAssertEqual(try strategy.readFile(.dg2, on: channel), profile.files[.dg2])
        XCTAssertEqual(strategy.chunkSize, 256)
        XCTAssertEqual(channel.log.count, Self.expectedAPDUs(files: [.dg2: profile.files[.dg2] ?? []], chunk: 256) - 2)
        XCTAssertTrue(channel.log.contains { $0.command.count > 1 && $0.command[1] == 0xB1 })
    }

    // Unhappy paths.

    func testWrongKeyIsAnAccessKeyError() throws {
        let channel = InMemoryCardChannel(applet: EMRTDApplet(profile: Self.profile()))
        let wrong = try BACKey(documentNumber: "L898902C<", birthDate: "690807", expiryDate: "940623")
        XCTAssertThrowsError(try DocumentReader(channel: channel).read(accessKey: wrong)) {
            XCTAssertEqual($0 as? MRTDError, .accessKeyRejected(.verificationFailed))
            XCTAssertTrue("\($0)".contains("check document number, birth date and expiry"))
        }
    }

    func testCardRemovedMidDG2IsDistinctAndARetryWorks() throws {
        let profile = Self.profile(extendedLength: false)
        let applet = EMRTDApplet(profile: profile)
        let channel = InMemoryCardChannel(applet: applet, supportsExtendedLength: false)
        var reads = 0
        channel.fault = { command in
            if command.ins == 0xB0 { reads += 1 }
            return reads >= 10 ? .cardRemoved : nil  // EF.COM and DG1 take one read each; DG2 many
        }
        XCTAssertThrowsError(try DocumentReader(channel: channel).read(accessKey: try Self.key())) {
            XCTAssertEqual($0 as? MRTDError, .cardRemoved)
            XCTAssertTrue(($0 as? MRTDError)?.isRetryable ?? false)
        }
        let retry = InMemoryCardChannel(applet: applet, supportsExtendedLength: false)
        XCTAssertEqual(try DocumentReader(channel: retry).read(accessKey: try Self.key()).files, profile.files)
    }

    func testTamperedResponseMidReadEndsTheSession() throws {
        let inner = InMemoryCardChannel(applet: EMRTDApplet(profile: Self.profile()))
        let tampering = TamperingChannel(base: inner) { index, response in
            guard index == 6 else { return response }
            var changed = response
            changed.data[changed.data.count - 1] ^= 0x01
            return changed
        }
        XCTAssertThrowsError(try DocumentReader(channel: tampering).read(accessKey: try Self.key())) {
            XCTAssertEqual($0 as? MRTDError, .secureMessaging(.macMismatch))
        }
    }

    func testResponseWithoutDO99MidReadIsASecurityError() throws {
        let inner = InMemoryCardChannel(applet: EMRTDApplet(profile: Self.profile()))
        let stripping = TamperingChannel(base: inner) { index, response in
            index == 5 ? ResponseAPDU(data: [], statusWord: .success) : response
        }
        XCTAssertThrowsError(try DocumentReader(channel: stripping).read(accessKey: try Self.key())) {
            XCTAssertEqual($0 as? MRTDError, .secureMessaging(.missingStatus))
        }
    }

    func testTruncatedProtectedResponsesNeverCrash() throws {
        for cut in [1, 5, 17, 40, 120] {
            let inner = InMemoryCardChannel(applet: EMRTDApplet(profile: Self.profile()))
            let truncating = TamperingChannel(base: inner) { index, response in
                guard index == 6, response.data.count > cut else { return response }
                return ResponseAPDU(data: Array(response.data.prefix(cut)), statusWord: response.statusWord)
            }
            XCTAssertThrowsError(try DocumentReader(channel: truncating).read(accessKey: try Self.key())) {
                guard case .secureMessaging = $0 as? MRTDError else { return XCTFail("cut \(cut): \($0)") }
            }
        }
    }

    func testFileShorterThanItsHeaderIsMalformed() throws {
        var profile = Self.profile()
        profile.files[.dg11] = Array(Self.file(tag: 0x6B, size: 200).prefix(150))
        XCTAssertThrowsError(try read(profile)) {
            guard case .malformedFile(.dg11, _) = $0 as? MRTDError else { return XCTFail("\($0)") }
        }
    }

    // The applet on its own (ISO 7816-4 READ BINARY semantics).

    func testAppletRefusesPlainReadsOfProtectedFiles() {
        let applet = EMRTDApplet(profile: Self.profile())
        XCTAssertEqual(
            applet.process(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: eMRTDApplicationID)).statusWord,
            .success)
        XCTAssertEqual(
            applet.process(CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: [0x01, 0x1E])).statusWord,
            .success)
        XCTAssertEqual(
            applet.process(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 4)).statusWord,
            .securityStatusNotSatisfied)
    }

    func testAppletEndOfFileBehaviour() {
        var profile = Self.profile(extendedLength: false)
        profile.requiresAccessControl = false
        let applet = EMRTDApplet(profile: profile)
        _ = applet.process(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: eMRTDApplicationID))
        _ = applet.process(CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: FileID.dg11.bytes))
        let tail = applet.process(CommandAPDU(ins: 0xB0, p1: 0, p2: 190, le: 20))
        XCTAssertEqual(tail.data.count, 10)
        XCTAssertEqual(tail.statusWord, .warningEndOfFile)
        XCTAssertEqual(applet.process(CommandAPDU(ins: 0xB0, p1: 0, p2: 201, le: 20)).statusWord, .wrongP1P2)
        XCTAssertEqual(applet.process(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 300)).statusWord, .wrongLength)
        let odd = applet.process(CommandAPDU(ins: 0xB1, p1: 0, p2: 0, data: [0x54, 0x01, 0xC0], le: 12))
        XCTAssertEqual(odd.data, TLV(tag: 0x53, value: Array(Self.file(tag: 0x6B, size: 200)[192..<200])).encoded)
        XCTAssertEqual(odd.statusWord, .warningEndOfFile)
    }
}

/// Passes APDUs through and lets a test rewrite the response to the n-th command (0-based).
final class TamperingChannel: CardChannel {
    let base: CardChannel
    let rewrite: (Int, ResponseAPDU) -> ResponseAPDU
    private var index = 0

    init(base: CardChannel, rewrite: @escaping (Int, ResponseAPDU) -> ResponseAPDU) {
        self.base = base
        self.rewrite = rewrite
    }

    var supportsExtendedLength: Bool { base.supportsExtendedLength }
    var atr: [UInt8] { base.atr }

    func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        let response = try base.transmit(command)
        defer { index += 1 }
        return rewrite(index, response)
    }
}
