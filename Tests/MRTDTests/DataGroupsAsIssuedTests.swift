import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard
import XCTest

/// LDS files as issued documents store them (ICAO 9303-10 §4.7): DG11 other names outside their A0 template, 19794-5
/// headers that disagree with their image, DG7, DG13 and DG16, and EF.ATR/INFO read before the first READ BINARY.
final class DataGroupsAsIssuedTests: XCTestCase {
    func testDG11OtherNamesAsBare5F0FOutsideAnA0Template() throws {
        let bytes = TLV(
            tag: 0x6B,
            children: [
                TLV(tag: 0x5C, value: [0x5F, 0x0E, 0x5F, 0x0F]),
                TLV(tag: 0x5F0E, value: Array("SALLEY<<JOHN".utf8)),
                TLV(tag: 0x5F0F, value: Array("SALLY<<JON".utf8)),
                TLV(tag: 0x5F0F, value: Array("SALLIE<<JOHNNY".utf8)),
            ]
        ).encoded
        let dg11 = try DG11.parse(bytes)
        XCTAssertEqual(dg11.fullName, "SALLEY<<JOHN")
        XCTAssertEqual(dg11.otherNames, ["SALLY<<JON", "SALLIE<<JOHNNY"])
        XCTAssertTrue(dg11.otherNamesOutsideTemplate)
        XCTAssertEqual(dg11.encoded, bytes, "re-encoded as stored")
        XCTAssertEqual(try DG11.parse(dg11.encoded), dg11)
        // Both forms at once (an A0 template and a stray bare name) read all names.
        var both = DG11(fullName: "A", otherNames: ["B"])
        let withTemplate = both.encoded
        both.otherNamesOutsideTemplate = true
        XCTAssertNotEqual(withTemplate, both.encoded)
        XCTAssertFalse(try DG11.parse(withTemplate).otherNamesOutsideTemplate)
    }

    func testDG7DisplayedSignatures() throws {
        let images: [[UInt8]] = [[0xFF, 0xD8, 0xFF, 0xE0, 1, 2], [0xFF, 0x4F, 0xFF, 0x51, 3]]
        let dg7 = DG7(images: images)
        XCTAssertEqual(hex(Array(dg7.encoded.prefix(5))), "6714020102")
        let parsed = try DG7.parse(dg7.encoded)
        XCTAssertEqual(parsed.images, images)
        XCTAssertEqual(parsed.formats, [.jpeg, .jpeg2000])
        let wrongCount = TLV(tag: 0x67, children: [TLV(tag: 0x02, value: [2]), TLV(tag: 0x5F43, value: [1])]).encoded
        XCTAssertThrowsError(try DG7.parse(wrongCount)) {
            XCTAssertEqual(
                $0 as? LDSError,
                .countMismatch(
                    file: "DG7", element: "displayed signature", declared: 2,
                    found: 1))
        }
        XCTAssertThrowsError(try DG7.parse(TLV(tag: 0x6D, value: []).encoded))
    }

    func testDG13IsKeptAsIssuerDefinedBytes() throws {
        let content = TLV(tag: 0x5F01, value: [0x41, 0x42]).encoded + TLV(tag: 0xC1, value: [0x01]).encoded
        let dg13 = try DG13.parse(TLV(tag: 0x6D, value: content).encoded)
        XCTAssertEqual(dg13.content, content)
        XCTAssertEqual(dg13.objects?.map(\.tag), [0x5F01, 0xC1])
        XCTAssertNil(DG13(content: [0x01]).objects, "not BER-TLV: kept, not interpreted")
        XCTAssertEqual(try DG13.parse(DG13(content: [0x01]).encoded).content, [0x01])
    }

    func testDG16PersonsToNotify() throws {
        let dg16 = DG16(persons: [
            DG16.Person(
                dateRecorded: "20240115", name: "DOE<<JANE", telephone: "+1 555 0100", address: "1 MAIN ST<TOWN"),
            DG16.Person(name: "ROE<<RICHARD"),
        ])
        let bytes = dg16.encoded
        XCTAssertEqual(bytes[0], 0x70)
        XCTAssertEqual(try DG16.parse(bytes), dg16)
        // The date as 4 BCD bytes reads the same.
        let bcd = TLV(
            tag: 0x70,
            children: [
                TLV(tag: 0x02, value: [1]),
                TLV(
                    tag: 0xA1,
                    children: [
                        TLV(tag: 0x5F50, value: [0x20, 0x24, 0x01, 0x15]),
                        TLV(tag: 0x5F51, value: Array("DOE<<JANE".utf8)),
                    ]),
            ]
        ).encoded
        XCTAssertEqual(try DG16.parse(bcd).persons.first?.dateRecorded, "20240115")
        var miscounted = bytes
        miscounted[4] = 3
        XCTAssertThrowsError(try DG16.parse(miscounted))
    }

    func testTheReadResultParsesDG7DG13AndDG16() throws {
        var personalisation = try AntiCloneFixture.personalisation()
        personalisation.dg7 = DG7(images: [[0xFF, 0xD8, 0xFF, 0xE0, 9]])
        personalisation.dg13 = DG13(content: [0x5F, 0x01, 0x01, 0x41])
        personalisation.dg16 = DG16(persons: [DG16.Person(name: "DOE<<JANE")])
        let result = try AntiCloneFixture.read(personalisation)
        let data = try DocumentData(files: result.files)
        XCTAssertEqual(data.dg7, personalisation.dg7)
        XCTAssertEqual(data.dg13, personalisation.dg13)
        XCTAssertEqual(data.dg16, personalisation.dg16)
    }

    // MARK: EF.ATR/INFO

    func testCardCapabilitiesFromEFATRInfo() throws {
        let info = try CardCapabilities(parsing: hexBytes("4703000040" + "7F660802020800020207D0" + "E00100"))
        XCTAssertEqual(info, CardCapabilities(extendedLength: true, maxCommandLength: 2048, maxResponseLength: 2000))
        XCTAssertEqual(try CardCapabilities(parsing: hexBytes("4703000000")).extendedLength, false)
        XCTAssertEqual(try CardCapabilities(parsing: info.encoded), info)
        XCTAssertThrowsError(try CardCapabilities(parsing: [0x47, 0x05, 0x00])) { error in
            guard case .malformedFile(.atrInfo, _) = error as? MRTDError else { return XCTFail("\(error)") }
        }
    }

    private func paceProfile(cardExtended: Bool, atrInfo: CardCapabilities?) -> EMRTDProfile {
        var profile = DocumentReaderTests.profile(extendedLength: cardExtended)
        profile.pace = PACEConfiguration(parameterID: 13, cipher: .aes128, can: PACERoundTripTests.can)
        profile.bacEnabled = false
        profile.atrInfo = atrInfo?.encoded
        if let limit = atrInfo?.maxResponseLength { profile.maxExtendedResponse = limit }
        return profile
    }

    private func read(_ profile: EMRTDProfile) throws -> (DocumentReadResult, InMemoryCardChannel) {
        let channel = InMemoryCardChannel(applet: EMRTDApplet(profile: profile), supportsExtendedLength: true)
        channel.recordsLog = true
        let result = try DocumentReader(channel: channel).read(
            access: .can(try CardAccessNumber(PACERoundTripTests.can)))
        return (result, channel)
    }

    /// A chip without extended length that says so in EF.ATR/INFO is read with short APDUs from the first READ
    /// BINARY: no extended attempt refused with 6700.
    func testEFATRInfoTurnsExtendedLengthOffBeforeTheFirstRead() throws {
        let (result, channel) = try read(
            paceProfile(cardExtended: false, atrInfo: CardCapabilities(extendedLength: false)))
        XCTAssertEqual(result.cardCapabilities?.extendedLength, false)
        XCTAssertFalse(result.usedExtendedLength)
        let (without, plainChannel) = try read(paceProfile(cardExtended: false, atrInfo: nil))
        XCTAssertNil(without.cardCapabilities)
        XCTAssertEqual(result.files, without.files)
        // Without EF.ATR/INFO the first READ BINARY goes extended and is refused (the short ladder's own 6700s, for
        // AES padding, are the same in both reads); with it, that attempt is saved and the file's READ paid instead.
        func refusals(_ channel: InMemoryCardChannel) -> Int {
            channel.log.filter { $0.response.suffix(2) == [0x67, 0x00] }.count
        }
        XCTAssertEqual(refusals(channel), refusals(plainChannel) - 1)
        XCTAssertEqual(result.statistics.apdus, without.statistics.apdus)
    }

    func testEFATRInfoMaxResponseSizesTheExtendedReads() throws {
        let profile = paceProfile(
            cardExtended: true,
            atrInfo: CardCapabilities(
                extendedLength: true, maxCommandLength: 1000,
                maxResponseLength: 1000))
        let (result, _) = try read(profile)
        XCTAssertTrue(result.usedExtendedLength)
        XCTAssertEqual(result.readChunkSize, 1000 - 64)
        XCTAssertEqual(result.cardCapabilities?.maxResponseLength, 1000)
        XCTAssertEqual(result.files[.dg2], profile.files[.dg2], "40,000 bytes, B1 above offset 32767 included")
    }
}

/// Every real-world behaviour is a profile option of `enroll-vcard`, checked here as the JSON loader reads it.
final class RealWorldProfileTests: XCTestCase {
    func testProfileOptionsReachTheVirtualChip() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("real-world-profile-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1]).write(to: folder.appendingPathComponent("signature.jpg"))
        let ca = try PrivateKey.generate(.p256)
        try ca.pemEncoded().write(to: folder.appendingPathComponent("ca.key"), atomically: true, encoding: .utf8)
        let json: [String: Any] = [
            "kind": "emrtd", "mrz": AntiCloneFixture.mrz, "bac": false,
            "pace": [
                "parameterId": 13, "cipher": "AES-128", "can": "123456", "mapping": "CAM",
                "cardSecurity": ["decoyKeysFirst": true],
            ],
            "plainStatusWords": "closed", "maxShortResponse": 200,
            "atrInfo": ["extendedLength": false],
            "sod": ["reorderedIssuerName": true, "indefiniteLength": true],
            "dg7": ["@signature.jpg"], "dg13": "5F010141", "portraitHeaderType": 1,
            "dg16": [["name": "DOE<<JANE"]],
            "dg11": ["fullName": "SALLEY JOHN", "otherNames": ["SALLY<<JON"], "otherNamesBare": true],
            "chipAuthentication": [
                "key": "@ca.key", "version": 1, "cipher": "AES-256", "keyId": 195,
                "commands": "standard", "publicKeyFormat": "standardized-id",
            ],
        ]
        let url = folder.appendingPathComponent("card.json")
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        let profile = try XCTUnwrap(try VirtualCardProfile.load(path: url.path).emrtd)
        XCTAssertEqual(profile.plainErrorStatus, .sessionClosed)
        XCTAssertEqual(profile.maxShortResponse, 200)
        XCTAssertEqual(try CardCapabilities(parsing: try XCTUnwrap(profile.atrInfo)).extendedLength, false)
        XCTAssertEqual(profile.pace?.mapping, .chipAuthentication)
        XCTAssertTrue(profile.pace?.cardSecurity.decoyKeysFirst == true)
        XCTAssertEqual(profile.chipAuthentication?.keyID, 195)
        XCTAssertEqual(profile.chipAuthentication?.publicKeyFormat, .standardizedParameters)
        let files = try DocumentData(files: profile.files)
        XCTAssertEqual(files.dg7?.images.count, 1)
        XCTAssertEqual(files.dg13?.content, [0x5F, 0x01, 0x01, 0x41])
        XCTAssertEqual(files.dg16?.persons.first?.name, "DOE<<JANE")
        XCTAssertTrue(files.dg11?.otherNamesOutsideTemplate == true)
        XCTAssertNil(profile.files[.sod], "no document signer, no EF.SOD (its options apply when there is one)")
        for bad: [String: Any] in [
            ["plainStatusWords": "sometimes"], ["atrInfo": ["maxResponse": 0]],
            ["dg13": "XYZ"], ["portraitHeaderType": 300],
            ["pace": ["parameterId": 10, "mapping": "IM"]],
            ["chipAuthentication": ["key": "@ca.key", "commands": "kat-only"]],
        ] {
            try JSONSerialization.data(withJSONObject: json.merging(bad) { $1 }).write(to: url)
            XCTAssertThrowsError(try VirtualCardProfile.load(path: url.path), "\(bad)")
        }
    }
}
