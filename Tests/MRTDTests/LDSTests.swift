import Foundation
import SmartCard
import XCTest
@testable import MRTD

/// Fixtures built in code: tiny images that carry only the headers the parsers look at.
enum LDSFixtures {
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...($0 + 1)]), radix: 16)! }
    }

    static func be16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

    static func be32(_ value: Int) -> [UInt8] { be16(value >> 16) + be16(value & 0xFFFF) }

    /// JPEG: SOI, APP0 (JFIF), SOF0 with the size, SOS, some scan bytes, EOI.
    static func jpeg(width: Int, height: Int, payload: Int = 40) -> [UInt8] {
        var out: [UInt8] = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00,
            0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
        ]
        out += [0xFF, 0xC0, 0x00, 0x11, 0x08] + be16(height) + be16(width)
        out += [0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]
        out += [0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00]
        out += (0..<payload).map { UInt8($0 % 200) }
        return out + [0xFF, 0xD9]
    }

    /// JP2 file: signature box, ftyp, jp2h { ihdr } and a stub codestream box.
    static func jp2(width: Int, height: Int) -> [UInt8] {
        var out: [UInt8] = [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A]
        out += be32(20) + Array("ftypjp2 ".utf8) + be32(0) + Array("jp2 ".utf8)
        out += be32(8 + 22) + Array("jp2h".utf8)
        out += be32(22) + Array("ihdr".utf8) + be32(height) + be32(width) + [0x00, 0x03, 0x07, 0x07, 0x00, 0x00]
        out += be32(8 + 6) + Array("jp2c".utf8) + [0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x00]
        return out
    }

    /// Raw JPEG 2000 codestream: SOC, SIZ with the size.
    static func j2k(width: Int, height: Int) -> [UInt8] {
        [0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00] + be32(width) + be32(height) + be32(0) + be32(0)
            + be32(width) + be32(height) + be32(0) + be32(0) + [0x00, 0x03] + [0x07, 0x01, 0x01] + [0x07, 0x01, 0x01]
            + [0x07, 0x01, 0x01] + [0xFF, 0xD9]
    }

    /// A 19794-5 face block written field by field (independent of the encoder).
    static func faceBlock(
        imageType: UInt8, width: Int, height: Int, image: [UInt8], points: Int = 0,
        blockLengthDelta: Int = 0
    ) -> [UInt8] {
        let length = 20 + 8 * points + 12 + image.count + blockLengthDelta
        var out = be32(length) + be16(points)
        out += [0x02, 0x03, 0x04] + [0x00, 0x00, 0x01] + be16(1) + [0x05, 0x06, 0x07] + [0x08, 0x09, 0x0A]
        for index in 0..<points {
            out += [0x01, 0x32 + UInt8(index)] + be16(100 + index) + be16(200 + index) + be16(0)
        }
        out += [0x01, imageType] + be16(width) + be16(height) + [0x01, 0x02] + be16(0x0102) + be16(0x0304)
        return out + image
    }

    static func facialRecord(
        _ blocks: [[UInt8]], version: String = "010\0", magic: String = "FAC\0",
        lengthDelta: Int = 0
    ) -> [UInt8] {
        let body = blocks.flatMap { $0 }
        return Array(magic.utf8) + Array(version.utf8) + be32(14 + body.count + lengthDelta) + be16(blocks.count) + body
    }

    static func dg2(records: [[UInt8]], declaredCount: Int? = nil, dataTag: UInt32 = 0x5F2E) -> [UInt8] {
        let header = TLV(
            tag: 0xA1,
            children: [
                TLV(tag: 0x80, value: [1, 1]), TLV(tag: 0x81, value: [2]),
                TLV(tag: 0x87, value: [1, 1]), TLV(tag: 0x88, value: [0, 8]),
            ])
        let instances = records.map { TLV(tag: 0x7F60, children: [header, TLV(tag: dataTag, value: $0)]) }
        let count = TLV(tag: 0x02, value: [UInt8(declaredCount ?? records.count)])
        return TLV(tag: 0x75, children: [TLV(tag: 0x7F61, children: [count] + instances)]).encoded
    }

    static let specimenDG1 = bytes(
        """
        615B5F1F58503C55544F4552494B53534F4E3C3C414E4E413C4D415249413C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C
        4C38393839303243333655544F3734303831323246313230343135395A45313834323236423C3C3C3C3C3130
        """)
}

final class LDSTests: XCTestCase {
    typealias F = LDSFixtures

    private func assertLDSError<T>(
        _ expression: @autoclosure () throws -> T, _ expected: LDSError,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? LDSError, expected, file: file, line: line)
            XCTAssertFalse("\(error)".isEmpty, file: file, line: line)
        }
    }

    // MARK: Data groups and EF.COM

    func testDataGroupMapping() {
        XCTAssertEqual(DataGroup.dg1.tag, 0x61)
        XCTAssertEqual(DataGroup.dg2.tag, 0x75)
        XCTAssertEqual(DataGroup.dg4.tag, 0x76)
        XCTAssertEqual(DataGroup.dg11.tag, 0x6B)
        XCTAssertEqual(DataGroup.dg15.tag, 0x6F)
        XCTAssertEqual(DataGroup.dg16.tag, 0x70)
        XCTAssertEqual(DataGroup.dg1.fileIdentifier, 0x0101)
        XCTAssertEqual(DataGroup.dg14.fileIdentifier, 0x010E)
        XCTAssertEqual(DataGroup.dg16.fileIdentifier, 0x0110)
        XCTAssertEqual(DataGroup.dg16.shortFileIdentifier, 0x10)
        XCTAssertEqual(DataGroup(tag: 0x6E), .dg14)
        XCTAssertNil(DataGroup(tag: 0x77))
        XCTAssertEqual(DataGroup(number: 12), .dg12)
        XCTAssertNil(DataGroup(number: 17))
        XCTAssertEqual(Set(DataGroup.allCases.map(\.tag)).count, 16)
        XCTAssertEqual(DataGroup.dg11.fileID, FileID.dg11)
        XCTAssertEqual(DataGroup(fileID: .dg2), .dg2)
        XCTAssertNil(DataGroup(fileID: .com))
        XCTAssertEqual(EFCOM.fileIdentifier, FileID.com.rawValue)
        XCTAssertEqual(SOD.fileIdentifier, FileID.sod.rawValue)
        XCTAssertEqual(SOD.fileIdentifier, 0x011D)
    }

    /// A typical EF.COM as found in public test suites: LDS 1.7, Unicode 4.0.0, DG1 2 3 7 11 12 14 15.
    func testEFCOMKnownAnswer() throws {
        let bytes = F.bytes("601A5F0104303130375F36063034303030305C08617563676B6C6E6F")
        let com = try EFCOM.parse(bytes)
        XCTAssertEqual(com.ldsVersion, "0107")
        XCTAssertEqual(com.unicodeVersion, "040000")
        XCTAssertEqual(com.dataGroups, [.dg1, .dg2, .dg3, .dg7, .dg11, .dg12, .dg14, .dg15])
        XCTAssertEqual(com.encoded, bytes)
        XCTAssertEqual(try EFCOM.parse(EFCOM(dataGroups: DataGroup.allCases).encoded).dataGroups, DataGroup.allCases)
    }

    func testEFCOMErrors() {
        assertLDSError(
            try EFCOM.parse(F.bytes("60165F0104303130375F36063034303030305C046175776B")),
            .unknownDataGroupTag(0x77))
        assertLDSError(
            try EFCOM.parse(F.bytes("61165F0104303130375F36063034303030305C0461756B6C")),
            .unexpectedTag(file: "EF.COM", expected: 0x60, found: 0x61))
        assertLDSError(
            try EFCOM.parse(F.bytes("60105F0104303130375F3606303430303030")),
            .missingField(file: "EF.COM", tag: 0x5C))
        assertLDSError(
            try EFCOM.parse(F.bytes("60165F0104303130375F36063034303030305C046175")),
            .malformedTLV(file: "EF.COM", .truncatedValue(offset: 2, declared: 22, available: 20)))
        assertLDSError(
            try EFCOM.parse(F.bytes("60155F01033130375F36063034303030305C0461756B6C")),
            .invalidValue(file: "EF.COM", field: "LDS version", reason: "expected 4 ASCII digits"))
        assertLDSError(
            try EFCOM.parse(F.bytes("60165F0104303130375F36063034303030305C046175616C")),
            .invalidValue(file: "EF.COM", field: "tag list", reason: "DG1 is listed twice"))
        assertLDSError(
            try EFCOM.parse(F.bytes("60165F0104303130375F36063034303030305C0461756B6C00")),
            .malformedTLV(file: "EF.COM", .trailingBytes(offset: 24, count: 1)))
    }

    // MARK: DG1

    /// The ICAO 9303-4 specimen TD3 MRZ wrapped as DG1 (61 5B 5F1F 58 …).
    func testDG1KnownAnswer() throws {
        let dg1 = try DG1.parse(F.specimenDG1)
        XCTAssertEqual(dg1.mrz.lines, MRZTests.td3)
        XCTAssertEqual(dg1.mrz.documentNumber, "L898902C3")
        XCTAssertEqual(dg1.encoded, F.specimenDG1)
        let td1 = try DG1(mrz: MRZ(lines: MRZTests.td1))
        XCTAssertEqual(Array(td1.encoded.prefix(5)), [0x61, 0x5D, 0x5F, 0x1F, 0x5A])
        XCTAssertEqual(try DG1.parse(td1.encoded), td1)
    }

    func testDG1Errors() {
        var corrupted = F.specimenDG1
        corrupted[5 + 44 + 9] = UInt8(ascii: "5")
        assertLDSError(
            try DG1.parse(corrupted),
            .invalidMRZ(.checkDigitMismatch(field: .documentNumber, expected: "6", found: "5")))
        assertLDSError(
            try DG1.parse(TLV(tag: 0x61, children: [TLV(tag: 0x5F1F, value: Array("P<UTO".utf8))]).encoded),
            .invalidMRZ(.invalidLayout(lineLengths: [5])))
        assertLDSError(
            try DG1.parse(TLV(tag: 0x61, children: [TLV(tag: 0x5F20, value: [0x41])]).encoded),
            .missingField(file: "DG1", tag: 0x5F1F))
        assertLDSError(
            try DG1.parse(TLV(tag: 0x61, children: [TLV(tag: 0x5F1F, value: [0xC3, 0x84])]).encoded),
            .invalidText(file: "DG1", tag: 0x5F1F))
    }

    // MARK: DG2

    /// Bytes written field by field (not by the encoder) parse into the values written.
    func testDG2ParsesHandWrittenRecord() throws {
        let jpeg = F.jpeg(width: 480, height: 640)
        let bytes = F.dg2(records: [
            F.facialRecord([
                F.faceBlock(
                    imageType: 0, width: 480, height: 640, image: jpeg,
                    points: 2)
            ])
        ])
        let dg2 = try DG2.parse(bytes)
        XCTAssertEqual(dg2.templates.count, 1)
        XCTAssertEqual(dg2.templates[0].header, .iso19794Face)
        let face = try XCTUnwrap(dg2.faces.first)
        XCTAssertEqual(face.format, .jpeg)
        XCTAssertEqual(face.width, 480)
        XCTAssertEqual(face.height, 640)
        XCTAssertEqual(face.imageData, jpeg)
        XCTAssertEqual(face.gender, 2)
        XCTAssertEqual(face.eyeColour, 3)
        XCTAssertEqual(face.hairColour, 4)
        XCTAssertEqual(face.featureMask, 1)
        XCTAssertEqual(face.expression, 1)
        XCTAssertEqual(face.poseAngles, FacePoseAngles(yaw: 5, pitch: 6, roll: 7))
        XCTAssertEqual(face.poseAngleUncertainty, FacePoseAngles(yaw: 8, pitch: 9, roll: 10))
        XCTAssertEqual(
            face.featurePoints,
            [
                FacialFeaturePoint(code: 0x32, x: 100, y: 200),
                FacialFeaturePoint(code: 0x33, x: 101, y: 201),
            ])
        XCTAssertEqual(face.faceImageType, 1)
        XCTAssertEqual(face.colourSpace, 1)
        XCTAssertEqual(face.sourceType, 2)
        XCTAssertEqual(face.deviceType, 0x0102)
        XCTAssertEqual(face.quality, 0x0304)
        XCTAssertEqual(dg2.encoded, bytes, "the encoder writes the same bytes")
    }

    func testDG2TwoFacesJPEGAndJPEG2000RoundTrip() throws {
        let jpeg = F.jpeg(width: 300, height: 400)
        let jp2 = F.jp2(width: 240, height: 320)
        let first = try FaceImage(encodedImage: jpeg)
        var second = try FaceImage(encodedImage: jp2)
        second.featurePoints = [FacialFeaturePoint(code: 0xC1, x: 120, y: 150)]
        XCTAssertEqual(first.format, .jpeg)
        XCTAssertEqual(second.format, .jpeg2000)
        XCTAssertEqual([first.width, first.height, second.width, second.height], [300, 400, 240, 320])

        let dg2 = DG2(faces: [first, second])
        let encoded = dg2.encoded
        let parsed = try DG2.parse(encoded)
        XCTAssertEqual(parsed, dg2)
        XCTAssertEqual(parsed.faces.map(\.imageData), [jpeg, jp2])

        // One 19794-5 record with both faces: record length = 14 + (32 + jpeg) + (32 + 8 + jp2).
        let shared = DG2(templates: [DG2.BiometricTemplate(faces: [first, second])])
        let record = try XCTUnwrap(TLVReaderPath.biometricDataBlock(shared.encoded))
        XCTAssertEqual(Array(record[8..<12]), F.be32(14 + 32 + jpeg.count + 40 + jp2.count))
        XCTAssertEqual(Array(record[12..<14]), [0x00, 0x02])
        XCTAssertEqual(Array(record[14..<18]), F.be32(32 + jpeg.count))
        XCTAssertEqual(try DG2.parse(shared.encoded), shared)
    }

    func testFaceImageSizesFromHeaders() throws {
        let j2k = try FaceImage(encodedImage: F.j2k(width: 413, height: 531))
        XCTAssertEqual([j2k.width, j2k.height], [413, 531])
        XCTAssertEqual(j2k.format, .jpeg2000)
        XCTAssertEqual(FaceImageEncoding.detect([0xFF, 0xD8, 0xFF, 0xDB]), .jpeg)
        XCTAssertNil(FaceImageEncoding.detect([0x89, 0x50, 0x4E, 0x47]))
        assertLDSError(try FaceImage(encodedImage: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A]), .unrecognisedImageData)
        assertLDSError(try FaceImage(encodedImage: [0xFF, 0xD8, 0xFF, 0xD9]), .unrecognisedImageData)
        assertLDSError(
            try FaceImage(
                encodedImage: F.jpeg(width: 10, height: 10),
                limits: LDSLimits(maxFileSize: 1 << 20, maxImageSize: 16, maxFaces: 4)),
            .tooLarge(
                file: "DG2", element: "face image", size: F.jpeg(width: 10, height: 10).count,
                limit: 16))
    }

    /// A real JPEG from the shared face set, when present on this machine.
    func testDG2WithRealJPEG() throws {
        let roots = ["/work/shared/faces/johns", "/usr/share/doc/libdlib19.1/examples/johns"]
        let found = roots.lazy.compactMap { root -> String? in
            let files = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
            return files.sorted().first { $0.lowercased().hasSuffix(".jpg") }.map { root + "/" + $0 }
        }.first
        guard let path = found else { throw XCTSkip("no shared face images on this machine") }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let face = try FaceImage(encodedImage: bytes)
        XCTAssertGreaterThan(face.width, 0)
        XCTAssertGreaterThan(face.height, 0)
        XCTAssertEqual(try DG2.parse(DG2(faces: [face]).encoded).faces, [face])
    }

    /// A tag-based ISO/IEC 39794-5 block: 65 { A0 version, A1 { 30 { 80 id, A1 { A0 { A0 { 80 image,
    /// A1 info } } } } … } }; the second representation is a 3D shape and is skipped.
    static func iso39794(images: [[UInt8]], wrapped: Bool = false) -> [UInt8] {
        let version = TLV(tag: 0xA0, children: [TLV(tag: 0x80, value: [3]), TLV(tag: 0x81, value: [0x07, 0xE3])])
        var blocks = images.enumerated().map { index, image in
            let twoD = TLV(
                tag: 0xA0,
                children: [
                    TLV(tag: 0x80, value: image),
                    TLV(
                        tag: 0xA1,
                        children: [
                            TLV(
                                tag: 0xA0,
                                children: [
                                    TLV(tag: 0x80, value: [0])
                                ])
                        ]),
                ])
            return TLV(
                tag: 0x30,
                children: [
                    TLV(tag: 0x80, value: [UInt8(index)]),
                    TLV(tag: 0xA1, children: [TLV(tag: 0xA0, children: [twoD])]),
                ])
        }
        blocks.append(
            TLV(
                tag: 0x30,
                children: [
                    TLV(tag: 0x80, value: [9]),
                    TLV(
                        tag: 0xA1,
                        children: [
                            TLV(
                                tag: 0xA0,
                                children: [
                                    TLV(tag: 0xA1, value: [])
                                ])
                        ]),
                ]))
        let dataBlock = TLV(tag: 0x65, children: [version, TLV(tag: 0xA1, children: blocks)])
        return wrapped ? TLV(tag: 0xA1, children: [dataBlock]).encoded : dataBlock.encoded
    }

    func testDG2ReadsISO39794Faces() throws {
        let jpeg = F.jpeg(width: 360, height: 480)
        let j2k = F.j2k(width: 200, height: 250)
        for wrapped in [false, true] {
            let dg2 = try DG2.parse(
                F.dg2(
                    records: [Self.iso39794(images: [jpeg, j2k], wrapped: wrapped)],
                    dataTag: 0x7F2E))
            XCTAssertEqual(dg2.templates.first?.encoding, .iso39794_5)
            XCTAssertEqual(dg2.faces.map(\.imageData), [jpeg, j2k])
            XCTAssertEqual(dg2.faces.map(\.format), [.jpeg, .jpeg2000])
            XCTAssertEqual(dg2.faces.map(\.width), [360, 200])
            XCTAssertEqual(dg2.faces.map(\.height), [480, 250])
        }
        assertLDSError(
            try DG2.parse(F.dg2(records: [Self.iso39794(images: [])], dataTag: 0x7F2E)),
            .invalidValue(file: "DG2", field: "ISO/IEC 39794-5 data block", reason: "no 2D face image"))
        assertLDSError(
            try DG2.parse(F.dg2(records: [Self.iso39794(images: [[1, 2, 3]])], dataTag: 0x7F2E)),
            .unrecognisedImageData)
        assertLDSError(
            try DG2.parse(F.dg2(records: [TLV(tag: 0x64, value: []).encoded], dataTag: 0x7F2E)),
            .invalidValue(
                file: "DG2", field: "ISO/IEC 39794-5 data block",
                reason: "no face image data block (tag 65)"))
        assertLDSError(
            try DG2.parse(
                F.dg2(records: [Self.iso39794(images: [jpeg])], dataTag: 0x7F2E),
                limits: LDSLimits(maxFileSize: 1 << 20, maxImageSize: 16, maxFaces: 4)),
            .tooLarge(file: "DG2", element: "face 1 image", size: jpeg.count, limit: 16))
    }

    func testDG2StructuralErrors() {
        let jpeg = F.jpeg(width: 10, height: 10)
        let good = F.dg2(records: [F.facialRecord([F.faceBlock(imageType: 0, width: 10, height: 10, image: jpeg)])])
        assertLDSError(
            try DG2.parse(Array(good.dropLast())),
            .malformedTLV(
                file: "DG2",
                .truncatedValue(
                    offset: 3, declared: good.count - 3,
                    available: good.count - 4)))
        assertLDSError(
            try DG2.parse(good + [0x00]),
            .malformedTLV(file: "DG2", .trailingBytes(offset: good.count, count: 1)))
        var wrongTag = good
        wrongTag[0] = 0x76
        assertLDSError(try DG2.parse(wrongTag), .unexpectedTag(file: "DG2", expected: 0x75, found: 0x76))
        let record = F.facialRecord([F.faceBlock(imageType: 0, width: 10, height: 10, image: jpeg)])
        assertLDSError(
            try DG2.parse(F.dg2(records: [record], declaredCount: 2)),
            .countMismatch(file: "DG2", element: "biometric template", declared: 2, found: 1))
        // A binary 19794-5 record under the tag-based 7F2E is not BER-TLV.
        XCTAssertThrowsError(try DG2.parse(F.dg2(records: [record], dataTag: 0x7F2E))) { error in
            guard case .malformedTLV(file: "DG2", _)? = error as? LDSError else { return XCTFail("\(error)") }
        }
        assertLDSError(
            try DG2.parse(good, limits: LDSLimits(maxFileSize: 64, maxImageSize: 1 << 20, maxFaces: 4)),
            .tooLarge(file: "DG2", element: "file", size: good.count, limit: 64))
        assertLDSError(
            try DG2.parse(TLV(tag: 0x75, children: [TLV(tag: 0x7F61, children: [])]).encoded),
            .missingField(file: "DG2", tag: 0x02))
    }

    func testDG2FacialRecordErrors() {
        let jpeg = F.jpeg(width: 10, height: 10)
        let block = F.faceBlock(imageType: 0, width: 10, height: 10, image: jpeg)
        func parse(_ record: [UInt8], limits: LDSLimits = .default) throws -> DG2 {
            try DG2.parse(F.dg2(records: [record]), limits: limits)
        }
        assertLDSError(
            try parse(F.facialRecord([block], magic: "FAD\0")),
            .invalidFacialRecordMagic(Array("FAD\0".utf8)))
        assertLDSError(
            try parse(F.facialRecord([block], version: "030\0")),
            .unsupportedFacialRecordVersion(Array("030\0".utf8)))
        assertLDSError(
            try parse(F.facialRecord([block], lengthDelta: 1)),
            .facialRecordLengthMismatch(
                element: "facial record", declared: 14 + block.count + 1,
                actual: 14 + block.count))
        assertLDSError(
            try parse(Array(F.facialRecord([block]).prefix(10))),
            .facialRecordTruncated(element: "facial record header", needed: 4, available: 2))
        // Image length beyond its container: the block claims 5 bytes more than the record holds.
        let long = F.faceBlock(imageType: 0, width: 10, height: 10, image: jpeg, blockLengthDelta: 5)
        assertLDSError(
            try parse(F.facialRecord([long])),
            .facialRecordTruncated(element: "face 1 block", needed: long.count + 5, available: long.count))
        // A block shorter than its own headers.
        var short = block
        short.replaceSubrange(0..<4, with: F.be32(31))
        assertLDSError(
            try parse(F.facialRecord([short])),
            .facialRecordLengthMismatch(element: "face 1 block (headers need 32)", declared: 31, actual: 32))
        // Block lengths that leave bytes unaccounted for.
        let shrunk = F.faceBlock(imageType: 0, width: 10, height: 10, image: jpeg, blockLengthDelta: -2)
        assertLDSError(
            try parse(F.facialRecord([shrunk])),
            .facialRecordLengthMismatch(
                element: "facial record (sum of face blocks)",
                declared: 14 + shrunk.count - 2, actual: 14 + shrunk.count))
        // Two faces declared, one present.
        var oneOfTwo = F.facialRecord([block])
        oneOfTwo.replaceSubrange(12..<14, with: [0x00, 0x02])
        assertLDSError(
            try parse(oneOfTwo),
            .facialRecordTruncated(element: "face 2 facial information", needed: 4, available: 0))
        var none = F.facialRecord([])
        none.replaceSubrange(12..<14, with: [0x00, 0x00])
        assertLDSError(try parse(none), .invalidValue(file: "DG2", field: "number of faces", reason: "zero"))
        // A header whose image data type disagrees with the bytes, as issued documents have it: the bytes decide,
        // the disagreement is noted.
        for (type, image, detected) in [
            (UInt8(2), jpeg, FaceImageEncoding.jpeg), (1, jpeg, .jpeg),
            (0, F.j2k(width: 10, height: 10), .jpeg2000),
        ] {
            let face = try? parse(F.facialRecord([F.faceBlock(imageType: type, width: 10, height: 10, image: image)]))
                .faces.first
            XCTAssertEqual(face?.format, detected, "type \(type)")
            XCTAssertEqual(face?.headerImageDataType, type)
            XCTAssertEqual(face?.headerDisagreesWithImage, true)
            XCTAssertEqual(face?.imageData, image)
        }
        assertLDSError(
            try parse(F.facialRecord([F.faceBlock(imageType: 2, width: 10, height: 10, image: [1, 2, 3])])),
            .unsupportedImageDataType(2))
        assertLDSError(
            try parse(
                F.facialRecord([
                    F.faceBlock(
                        imageType: 0, width: 10, height: 10,
                        image: [1, 2, 3, 4])
                ])),
            .unrecognisedImageData)
        assertLDSError(
            try parse(F.facialRecord([F.faceBlock(imageType: 0, width: 10, height: 10, image: [])])),
            .unrecognisedImageData)
        assertLDSError(
            try parse(
                F.facialRecord([block]),
                limits: LDSLimits(
                    maxFileSize: 1 << 20, maxImageSize: 8,
                    maxFaces: 4)),
            .tooLarge(file: "DG2", element: "face 1 image", size: jpeg.count, limit: 8))
        assertLDSError(
            try parse(
                F.facialRecord([block, block]),
                limits: LDSLimits(
                    maxFileSize: 1 << 20,
                    maxImageSize: 1 << 20,
                    maxFaces: 1)),
            .invalidValue(file: "DG2", field: "number of faces", reason: "2 above 1"))
    }

    // MARK: DG11 and DG12

    func testDG11RoundTripAndBCDDate() throws {
        let dg11 = DG11(
            fullName: "ERIKSSON<<ANNA<MARIA", otherNames: ["ANNA ERIKSDOTTER", "Änne Eriksson"],
            personalNumber: "123456782", fullDateOfBirth: "19740812", placeOfBirth: "ZENITH<UTOPIA",
            address: "Hauptstraße 1<Zenith<UTO", telephone: "+1 555 0100", profession: "ENGINEER",
            title: "DR", personalSummary: "—", proofOfCitizenship: [0xFF, 0xD8, 0xFF, 0x00],
            otherValidTDNumbers: "X12345678<Y87654321", custodyInformation: "none")
        let encoded = dg11.encoded
        XCTAssertEqual(encoded.first, 0x6B)
        XCTAssertEqual(try DG11.parse(encoded), dg11)
        XCTAssertEqual(try DG11.parse(DG11().encoded), DG11())

        let bcd = TLV(
            tag: 0x6B,
            children: [
                TLV(tag: 0x5C, value: [0x5F, 0x0E, 0x5F, 0x2B]),
                TLV(tag: 0x5F0E, value: Array("SMITH<<JOHN".utf8)),
                TLV(tag: 0x5F2B, value: [0x19, 0x74, 0x08, 0x12]),
            ]
        ).encoded
        let parsed = try DG11.parse(bcd)
        XCTAssertEqual(parsed.fullName, "SMITH<<JOHN")
        XCTAssertEqual(parsed.fullDateOfBirth, "19740812")
        XCTAssertNil(parsed.address)
        XCTAssertEqual(parsed.otherNames, [])
    }

    func testDG11Errors() {
        assertLDSError(
            try DG11.parse(TLV(tag: 0x6B, children: [TLV(tag: 0x5F0E, value: [0x41])]).encoded),
            .missingField(file: "DG11", tag: 0x5C))
        assertLDSError(
            try DG11.parse(
                TLV(
                    tag: 0x6B,
                    children: [
                        TLV(tag: 0x5C, value: [0x5F, 0x0E]),
                        TLV(tag: 0x5F0E, value: [0x41, 0xFF]),
                    ]
                ).encoded),
            .invalidText(file: "DG11", tag: 0x5F0E))
        let names = TLV(tag: 0xA0, children: [TLV(tag: 0x02, value: [3]), TLV(tag: 0x5F0F, value: [0x41])])
        assertLDSError(
            try DG11.parse(TLV(tag: 0x6B, children: [TLV(tag: 0x5C, value: [0x5F, 0x0F]), names]).encoded),
            .countMismatch(file: "DG11", element: "other names", declared: 3, found: 1))
        assertLDSError(
            try DG11.parse(
                TLV(
                    tag: 0x6B,
                    children: [
                        TLV(tag: 0x5C, value: []),
                        TLV(tag: 0x5F2B, value: [0x19, 0x7A, 0x08, 0x12]),
                    ]
                )
                .encoded),
            .invalidText(file: "DG11", tag: 0x5F2B))
        assertLDSError(try DG11.parse(DG12().encoded), .unexpectedTag(file: "DG11", expected: 0x6B, found: 0x6C))
    }

    func testDG12RoundTripAndBCDTime() throws {
        let dg12 = DG12(
            issuingAuthority: "UTOPIA PASSPORT OFFICE", dateOfIssue: "20120415",
            otherPersons: ["ERIKSSON<<LARS", "ERIKSSON<<ELSA"], endorsements: "none",
            taxOrExitRequirements: "exempt", imageOfFront: [1, 2, 3], imageOfRear: [4, 5],
            personalisationTime: "20120415103000", personalisationDeviceSerial: "PERSO-0042")
        XCTAssertEqual(try DG12.parse(dg12.encoded), dg12)
        let bcd = TLV(
            tag: 0x6C,
            children: [
                TLV(tag: 0x5C, value: [0x5F, 0x55]),
                TLV(tag: 0x5F55, value: [0x20, 0x12, 0x04, 0x15, 0x10, 0x30, 0x00]),
                TLV(tag: 0x5F26, value: [0x20, 0x12, 0x04, 0x15]),
            ]
        ).encoded
        let parsed = try DG12.parse(bcd)
        XCTAssertEqual(parsed.personalisationTime, "20120415103000")
        XCTAssertEqual(parsed.dateOfIssue, "20120415")
        let persons = TLV(
            tag: 0xA0,
            children: [
                TLV(tag: 0x02, value: [1]), TLV(tag: 0x5F1A, value: [0x41]),
                TLV(tag: 0x5F1A, value: [0x42]),
            ])
        assertLDSError(
            try DG12.parse(TLV(tag: 0x6C, children: [TLV(tag: 0x5C, value: []), persons]).encoded),
            .countMismatch(file: "DG12", element: "other persons", declared: 1, found: 2))
    }

    // MARK: EF.SOD

    /// An LDSSecurityObject (version 0, SHA-256) over the specimen DG1 from a public test suite; its
    /// DG1 hash equals SHA-256 of `LDSFixtures.specimenDG1` (checked independently).
    static let eContent = LDSFixtures.bytes(
        """
        3062020100300d06096086480165030402010500304e30250201010420432bc07d1c637793f4d77e0b756865f7aec3756f98d
        6ec6eb767eda371904651302502010204208602578350f117185d85c3255c672a528b88adda60e7b2d4c3cbb6e77b50f40c
        """)

    static func contentInfo(
        eContent: [UInt8],
        contentOID: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02],
        eContentTag: UInt32 = 0x04
    ) -> [UInt8] {
        let sha256 = TLV(tag: 0x30, children: [TLV(tag: 0x06, value: LDSFixtures.bytes("608648016503040201"))])
        let encap = TLV(
            tag: 0x30,
            children: [
                TLV(tag: 0x06, value: [0x67, 0x81, 0x08, 0x01, 0x01, 0x01]),
                TLV(tag: 0xA0, children: [TLV(tag: eContentTag, value: eContent)]),
            ])
        let signedData = TLV(
            tag: 0x30,
            children: [
                TLV(tag: 0x02, value: [3]), TLV(tag: 0x31, children: [sha256]),
                encap, TLV(tag: 0x31, children: []),
            ])
        return TLV(
            tag: 0x30,
            children: [
                TLV(tag: 0x06, value: contentOID),
                TLV(tag: 0xA0, children: [signedData]),
            ]
        ).encoded
    }

    func testSODSecurityObjectKnownAnswer() throws {
        let cms = Self.contentInfo(eContent: Self.eContent)
        let sod = try SOD.parse(TLV(tag: 0x77, value: cms).encoded)
        XCTAssertEqual(sod.cms, cms)
        XCTAssertEqual(sod.encoded, TLV(tag: 0x77, value: cms).encoded)
        let content = try sod.encapsulatedContent()
        XCTAssertEqual(content.contentType, "2.23.136.1.1.1")
        XCTAssertEqual(content.content, Self.eContent)
        let lso = try sod.securityObject()
        XCTAssertEqual(lso.version, 0)
        XCTAssertEqual(lso.hashAlgorithm, "2.16.840.1.101.3.4.2.1")
        XCTAssertEqual(lso.hashAlgorithmName, "SHA-256")
        XCTAssertEqual(lso.dataGroupHashes.map(\.dataGroup), [.dg1, .dg2])
        XCTAssertEqual(lso.hash(of: .dg1), F.bytes("432bc07d1c637793f4d77e0b756865f7aec3756f98d6ec6eb767eda371904651"))
        XCTAssertNil(lso.hash(of: .dg11))
        let der = try XCTUnwrap(lso.der)
        XCTAssertEqual(try LDSSecurityObject.parse(der: der), lso)
        var v1 = lso
        v1.version = 1
        v1.ldsVersion = "0108"
        v1.unicodeVersion = "040000"
        XCTAssertEqual(try LDSSecurityObject.parse(der: XCTUnwrap(v1.der)), v1)
    }

    func testSODErrors() {
        let cms = Self.contentInfo(eContent: Self.eContent)
        assertLDSError(
            try SOD.parse(TLV(tag: 0x76, value: cms).encoded),
            .unexpectedTag(file: "EF.SOD", expected: 0x77, found: 0x76))
        assertLDSError(
            try SOD.parse(TLV(tag: 0x77, value: [0x04, 0x01, 0x00]).encoded),
            .unexpectedTag(file: "EF.SOD", expected: 0x30, found: 0x04))
        assertLDSError(
            try SOD.parse(Array(TLV(tag: 0x77, value: cms).encoded.dropLast())),
            .malformedTLV(
                file: "EF.SOD",
                .truncatedValue(
                    offset: 3, declared: cms.count,
                    available: cms.count - 1)))
        let notSigned = SOD(
            cms: Self.contentInfo(
                eContent: Self.eContent,
                contentOID: [
                    0x2A, 0x86, 0x48, 0x86, 0xF7,
                    0x0D, 0x01, 0x07, 0x01,
                ]))
        assertLDSError(
            try notSigned.securityObject(),
            .invalidSecurityObject("ContentInfo type is not signedData (1.2.840.113549.1.7.2)"))
        assertLDSError(
            try SOD(cms: Self.contentInfo(eContent: Self.eContent, eContentTag: 0x0C)).securityObject(),
            .invalidSecurityObject("eContent is not an OCTET STRING"))
        var badGroup = Self.eContent
        badGroup[26] = 0x11
        assertLDSError(
            try SOD(cms: Self.contentInfo(eContent: badGroup)).securityObject(),
            .invalidSecurityObject("DataGroupHash is not { 1…16, OCTET STRING }"))
    }

    /// Deterministic mutations (byte changes, truncations, insertions) of valid files: every parser
    /// either succeeds or throws its typed error, and never traps.
    func testMutatedInputsNeverTrap() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(max(bound, 1)))
        }
        let face = FaceImage(
            format: .jpeg, width: 10, height: 10, imageData: F.jpeg(width: 10, height: 10),
            featurePoints: [FacialFeaturePoint(code: 0x11, x: 1, y: 2)])
        let samples: [([UInt8], ([UInt8]) throws -> Void)] = [
            (DG2(faces: [face, face]).encoded, { _ = try DG2.parse($0) }),
            (
                F.dg2(records: [Self.iso39794(images: [F.jpeg(width: 10, height: 10)])], dataTag: 0x7F2E),
                { _ = try DG2.parse($0) }
            ),
            (EFCOM(dataGroups: [.dg1, .dg2, .dg11]).encoded, { _ = try EFCOM.parse($0) }),
            (F.specimenDG1, { _ = try DG1.parse($0) }),
            (
                DG11(fullName: "A<<B", otherNames: ["C"], fullDateOfBirth: "19740812").encoded,
                { _ = try DG11.parse($0) }
            ),
            (
                DG12(issuingAuthority: "X", otherPersons: ["Y"], personalisationTime: "20120415103000").encoded,
                { _ = try DG12.parse($0) }
            ),
            (
                TLV(tag: 0x77, value: Self.contentInfo(eContent: Self.eContent)).encoded,
                { _ = try SOD.parse($0).securityObject() }
            ),
        ]
        for (original, parse) in samples {
            for _ in 0..<600 {
                var bytes = original
                switch next(3) {
                case 0:
                    for _ in 0...next(3) { bytes[next(bytes.count)] = UInt8(next(256)) }
                case 1:
                    bytes = Array(bytes.prefix(next(bytes.count)))
                default:
                    bytes.insert(UInt8(next(256)), at: next(bytes.count))
                }
                do {
                    try parse(bytes)
                } catch is LDSError {
                } catch {
                    XCTFail("untyped error \(error)")
                }
            }
        }
    }

    func testDEROIDs() {
        XCTAssertEqual(DER.oid(F.bytes("2A864886F70D010702")), "1.2.840.113549.1.7.2")
        XCTAssertEqual(DER.oid([0x67, 0x81, 0x08, 0x01, 0x01, 0x01]), "2.23.136.1.1.1")
        XCTAssertEqual(DER.encodeOID("1.3.14.3.2.26"), [0x2B, 0x0E, 0x03, 0x02, 0x1A])
        XCTAssertNil(DER.oid([0x2A, 0x86]))
        XCTAssertNil(DER.oid([0x80, 0x01]))
        XCTAssertNil(DER.encodeOID("3.1"))
    }
}

/// Finds DG2's first biometric data block (5F2E) without going through the parser under test.
enum TLVReaderPath {
    static func biometricDataBlock(_ dg2: [UInt8]) -> [UInt8]? {
        guard let outer = try? TLV.parse(dg2), let group = try? outer.child(0x7F61),
            let instance = try? group.child(0x7F60), let block = try? instance.child(0x5F2E)
        else { return nil }
        return block.value
    }
}
