import XCTest

@testable import FaceMatch

final class FaceMatcherTests: XCTestCase {
    func testJPEG2000PortraitMatchesALiveJPEGOfTheSamePerson() throws {
        let matcher = try FaceFixtures.matcher()
        let reference = try FaceFixtures.portrait("John_Salley", 0).encoded(as: .jp2, quality: 81)
        let live = try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Salley", 5), 360, 460, 250)])
        let comparison = try matcher.compare(reference: reference, probe: try live.encoded(as: .jpeg, quality: 90))
        print("same person, JP2 portrait vs live JPEG: \(comparison)")
        XCTAssertTrue(comparison.isMatch)
        XCTAssertGreaterThan(comparison.score, 0.5)
        XCTAssertEqual(comparison.reference.format, .jp2)
        XCTAssertEqual(comparison.reference.width, 300)
        XCTAssertEqual(comparison.reference.height, 400)
        XCTAssertEqual(comparison.reference.analysedWidth, 300, "the reference portrait is never downscaled")
        XCTAssertEqual(comparison.probe.format, .jpeg)
        XCTAssertEqual(comparison.probe.analysedWidth, 1000, "the live photo is downscaled to 1000 px")
        XCTAssertEqual(comparison.probe.faceCount, 1)
        let face = try XCTUnwrap(comparison.probe.chosenFace)
        XCTAssertGreaterThan(face.size, 150, "face size is reported in original pixels")
    }

    func testRawJ2KCodestreamPortraitMatches() throws {
        let matcher = try FaceFixtures.matcher()
        let reference = try FaceFixtures.portrait("John_Simm", 1).encoded(as: .j2k, quality: 100)
        XCTAssertEqual(Array(reference.prefix(4)), [0xFF, 0x4F, 0xFF, 0x51])
        let live = try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Simm", 7), 400, 300, 200)])
        let comparison = try matcher.compare(reference: reference, probe: try live.encoded(as: .jpeg))
        XCTAssertEqual(comparison.reference.format, .j2k)
        XCTAssertTrue(comparison.isMatch, "\(comparison)")
    }

    func testDifferentPeopleDoNotMatch() throws {
        let matcher = try FaceFixtures.matcher()
        let reference = try FaceFixtures.portrait("John_Salley", 0).encoded(as: .jp2, quality: 81)
        let live = try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Savage", 3), 360, 460, 250)])
        let comparison = try matcher.compare(reference: reference, probe: try live.encoded(as: .jpeg))
        print("different people: \(comparison)")
        XCTAssertFalse(comparison.isMatch)
        XCTAssertLessThan(comparison.score, 0.5)
    }

    func testImageWithoutAFaceIsRefused() throws {
        let matcher = try FaceFixtures.matcher()
        let flat = try FaceFixtures.grey(width: 640, height: 480).encoded(as: .png)
        XCTAssertThrowsError(try matcher.analyse(flat, role: .probe)) { error in
            XCTAssertEqual(error as? FaceMatchError, .noFace(.probe))
        }
    }

    func testCorruptImagesAreUndecodable() throws {
        let matcher = try FaceFixtures.matcher()
        let jpeg = try FaceFixtures.portrait("John_Salley", 0).encoded(as: .jpeg)
        var corrupt = Array(jpeg.prefix(3))
        corrupt += [UInt8](repeating: 0x5A, count: 400)
        assertUndecodable(try matcher.analyse(corrupt, role: .probe))
        let jp2 = try FaceFixtures.portrait("John_Salley", 0).encoded(as: .jp2)
        assertUndecodable(try matcher.analyse(Array(jp2.prefix(60)), role: .reference))
        let png = try FaceFixtures.grey(width: 64, height: 64).encoded(as: .png)
        var badPNG = png
        for index in 40..<min(badPNG.count, 80) { badPNG[index] ^= 0xA5 }
        assertUndecodable(try matcher.analyse(badPNG, role: .probe))
    }

    func testUnknownFormatIsRefused() throws {
        let matcher = try FaceFixtures.matcher()
        XCTAssertThrowsError(try matcher.analyse(Array("GIF89a not an image".utf8), role: .probe)) { error in
            XCTAssertEqual(error as? FaceMatchError, .unsupportedImageFormat(.probe))
        }
        XCTAssertThrowsError(try matcher.analyse([], role: .probe)) { error in
            XCTAssertEqual(error as? FaceMatchError, .unsupportedImageFormat(.probe))
        }
    }

    /// A PNG whose header claims 7100x7100 (50.4 megapixels): refused from the header, before decoding.
    func testFiftyMegapixelImageIsRefusedFromItsHeader() throws {
        let matcher = try FaceFixtures.matcher()
        XCTAssertThrowsError(try matcher.analyse(pngHeader(width: 7100, height: 7100), role: .probe)) { error in
            guard case .imageTooManyPixels(.probe, _)? = error as? FaceMatchError else {
                return XCTFail("expected imageTooManyPixels, got \(error)")
            }
        }
    }

    /// A J2K codestream whose SIZ marker is patched to claim 8000x8000 pixels.
    func testOversizedJPEG2000IsRefusedFromItsHeader() throws {
        let matcher = try FaceFixtures.matcher()
        var codestream = try FaceFixtures.grey(width: 64, height: 64).encoded(as: .j2k)
        let big: [UInt8] = [0x00, 0x00, 0x1F, 0x40]
        codestream.replaceSubrange(8..<12, with: big)
        codestream.replaceSubrange(12..<16, with: big)
        XCTAssertThrowsError(try matcher.analyse(codestream, role: .reference)) { error in
            guard case .imageTooManyPixels(.reference, _)? = error as? FaceMatchError else {
                return XCTFail("expected imageTooManyPixels, got \(error)")
            }
        }
    }

    func testImageOverTheByteLimitIsRefused() throws {
        var configuration = FaceMatchConfiguration()
        configuration.maximumImageBytes = 1000
        let matcher = try FaceFixtures.matcher(configuration)
        let image = try FaceFixtures.portrait("John_Salley", 0).encoded(as: .png)
        XCTAssertThrowsError(try matcher.analyse(image, role: .probe)) { error in
            XCTAssertEqual(error as? FaceMatchError, .imageTooLarge(.probe, bytes: image.count, limit: 1000))
        }
    }

    func testLivePhotoWithTwoFacesUsesTheLargest() throws {
        let matcher = try FaceFixtures.matcher()
        let reference = try FaceFixtures.portrait("John_Shimkus", 0).encoded(as: .jp2, quality: 81)
        let live = try FaceFixtures.livePhoto([
            (try FaceFixtures.chip("John_Shimkus", 4), 460, 700, 200),
            (try FaceFixtures.chip("John_Schneider", 2), 220, 100, 300),
        ])
        let comparison = try matcher.compare(reference: reference, probe: try live.encoded(as: .jpeg))
        XCTAssertEqual(comparison.probe.faceCount, 2)
        let chosen = try XCTUnwrap(comparison.probe.chosenFace)
        XCTAssertGreaterThan(chosen.centerX, 640, "the larger face (right) is chosen")
        XCTAssertTrue(comparison.isMatch, "\(comparison)")
    }

    func testLivePhotoWithTwoFacesOfSimilarSizeIsAmbiguous() throws {
        let matcher = try FaceFixtures.matcher()
        let live = try FaceFixtures.livePhoto([
            (try FaceFixtures.chip("John_Shimkus", 4), 360, 100, 250),
            (try FaceFixtures.chip("John_Schneider", 2), 360, 740, 250),
        ])
        XCTAssertThrowsError(try matcher.analyse(try live.encoded(as: .jpeg), role: .probe)) { error in
            guard case .ambiguousFaces(.probe, 2, _, _)? = error as? FaceMatchError else {
                return XCTFail("expected ambiguousFaces, got \(error)")
            }
        }
    }

    func testFaceSmallerThanTheMinimumIsRefused() throws {
        var configuration = FaceMatchConfiguration()
        configuration.minimumFaceSize = 400
        let matcher = try FaceFixtures.matcher(configuration)
        let live = try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Simm", 2), 300, 400, 300)])
        XCTAssertThrowsError(try matcher.analyse(try live.encoded(as: .jpeg), role: .probe)) { error in
            guard case .faceTooSmall(.probe, let size, 400)? = error as? FaceMatchError else {
                return XCTFail("expected faceTooSmall, got \(error)")
            }
            XCTAssertLessThan(size, 400)
        }
    }

    /// A tight crop where the face touches the border: found by the pad-and-upsample retry.
    func testTightCropIsFoundByTheSmallImageRetry() throws {
        let matcher = try FaceFixtures.matcher()
        let chip = try FaceFixtures.chip("John_Savage", 0)
        let crop = RGBImage(width: 90, height: 90, red: 0, green: 0, blue: 0).drawing(chip, x: -30, y: -30)
        let analysis = try matcher.analyse(try crop.encoded(as: .png), role: .reference)
        XCTAssertTrue(analysis.usedSmallImageFallback)
        XCTAssertEqual(analysis.faceCount, 1)
        let full = try matcher.analyse(try chip.encoded(as: .png), role: .reference)
        let comparison = try matcher.compare(reference: full, probe: analysis)
        XCTAssertTrue(comparison.isMatch, "\(comparison)")
    }

    func testScoreIsHalfAtTheThresholdAndDecreasing() throws {
        let matcher = try FaceFixtures.matcher()
        XCTAssertEqual(matcher.score(distance: 0.5), 0.5, accuracy: 1e-12)
        XCTAssertGreaterThan(matcher.score(distance: 0.3), 0.95)
        XCTAssertLessThan(matcher.score(distance: 0.7), 0.05)
        XCTAssertGreaterThan(matcher.score(distance: 0.49), matcher.score(distance: 0.51))
    }

    func testMissingModelDirectoryIsReported() {
        XCTAssertThrowsError(try FaceEngine(modelDirectory: "/nonexistent/models")) { error in
            guard case .modelMissing? = error as? FaceMatchError else {
                return XCTFail("expected modelMissing, got \(error)")
            }
            XCTAssertTrue("\(error)".contains("install-models.sh"))
        }
    }

    func testConcurrentComparisonsAgree() throws {
        let matcher = try FaceFixtures.matcher()
        let reference = try FaceFixtures.portrait("John_Salley", 0).encoded(as: .jp2, quality: 81)
        let probe = try FaceFixtures.chip("John_Salley", 5).encoded(as: .jpeg)
        let expected = try matcher.compare(reference: reference, probe: probe).distance
        let distances = UnsafeSendableBox([Double](repeating: -1, count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            let distance = (try? matcher.compare(reference: reference, probe: probe).distance) ?? -1
            distances.set(index, distance)
        }
        for distance in distances.values { XCTAssertEqual(distance, expected, accuracy: 1e-6) }
    }

    private func assertUndecodable(
        _ expression: @autoclosure () throws -> FaceImageAnalysis,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard case .undecodableImage? = error as? FaceMatchError else {
                return XCTFail("expected undecodableImage, got \(error)", file: file, line: line)
            }
        }
    }

    /// PNG signature and an IHDR chunk (CRC not checked before the size limit).
    private func pngHeader(width: UInt32, height: UInt32) -> [UInt8] {
        func bigEndian(_ value: UInt32) -> [UInt8] {
            [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
        }
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        bytes += bigEndian(13) + Array("IHDR".utf8) + bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0]
        bytes += crc32(Array(bytes[12...]))
        return bytes
    }

    private func crc32(_ bytes: [UInt8]) -> [UInt8] {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        return [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
    }
}

/// Results written by concurrent workers, each to its own slot.
final class UnsafeSendableBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Double]

    init(_ values: [Double]) {
        self.values = values
    }

    func set(_ index: Int, _ value: Double) {
        lock.lock()
        values[index] = value
        lock.unlock()
    }
}

final class RGBImageCodecTests: XCTestCase {
    func testEveryFormatRoundTrips() throws {
        let image = RGBImage(width: 40, height: 30, red: 200, green: 60, blue: 20)
            .drawing(RGBImage(width: 10, height: 10, red: 10, green: 220, blue: 90), x: 5, y: 5)
        for format in FaceImageFormat.allCases {
            let quality = format == .jpeg ? 95 : 100
            let decoded = try RGBImage(decoding: try image.encoded(as: format, quality: quality))
            XCTAssertEqual(decoded.width, 40, "\(format)")
            XCTAssertEqual(decoded.height, 30, "\(format)")
            let errors = zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }
            if format == .jpeg {
                XCTAssertLessThanOrEqual(errors.reduce(0, +) / errors.count, 8, "JPEG (lossy, chroma subsampled)")
            } else {
                XCTAssertEqual(errors.max(), 0, "\(format) is lossless")
            }
        }
    }

    func testJPEG2000GreyAndSYCCDecodeToRGB() throws {
        let portrait = try FaceFixtures.portrait("John_Simm", 1)
        for format in [FaceImageFormat.jp2, .j2k] {
            let grey = try RGBImage(decoding: try portrait.encodedJPEG2000(format, colour: .grey))
            XCTAssertEqual(grey.width, 300)
            XCTAssertEqual(grey.height, 400)
            let middle = (200 * 300 + 150) * 3
            XCTAssertEqual(grey.pixels[middle], grey.pixels[middle + 1], "grey is replicated to R, G and B")
            XCTAssertEqual(grey.pixels[middle], grey.pixels[middle + 2])
            let ycc = try RGBImage(decoding: try portrait.encodedJPEG2000(format, colour: .sycc420))
            XCTAssertEqual(ycc.width, 300)
            XCTAssertEqual(ycc.height, 400)
            let errors = zip(ycc.pixels, portrait.pixels).map { abs(Int($0) - Int($1)) }
            XCTAssertLessThanOrEqual(errors.reduce(0, +) / errors.count, 6, "\(format) sYCC 4:2:0 converts back to RGB")
        }
    }

    func testSYCCPortraitStillMatches() throws {
        let matcher = try FaceFixtures.matcher()
        let portrait = try FaceFixtures.portrait("John_Simm", 1)
        let live = try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Simm", 7), 400, 300, 200)]).encoded(
            as: .jpeg)
        for colour in [RGBImage.JPEG2000Colour.sycc420, .grey] {
            let comparison = try matcher.compare(
                reference: try portrait.encodedJPEG2000(.jp2, colour: colour, quality: 81),
                probe: live)
            XCTAssertTrue(comparison.isMatch, "\(colour): \(comparison)")
        }
    }

    /// A progressive greyscale JPEG: DC scan, then `scans` AC scans that are one EOB run each (a dozen bytes
    /// per scan, each still a pass over every block).
    static func progressiveJPEG(width: Int, height: Int, scans: Int) -> [UInt8] {
        func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] {
            [0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)] + body
        }
        var out: [UInt8] = [0xFF, 0xD8]
        out += segment(0xDB, [0x00] + [UInt8](repeating: 1, count: 64))
        out += segment(
            0xC2,
            [
                8, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 1,
                1, 0x11, 0,
            ])
        let oneCode = [UInt8(1)] + [UInt8](repeating: 0, count: 15)
        out += segment(0xC4, [0x00] + oneCode + [0x00])
        out += segment(0xC4, [0x10] + oneCode + [0xE0])
        let blocks = ((width + 7) / 8) * ((height + 7) / 8)
        out += segment(0xDA, [1, 1, 0x00, 0, 0, 0]) + [UInt8](repeating: 0, count: (blocks + 7) / 8)
        for _ in 0..<scans {
            out += segment(0xDA, [1, 1, 0x00, 1, 63, 0]) + [0x7F, 0xFF, 0x00]
        }
        return out + [0xFF, 0xD9]
    }

    /// Found reviewing the decoder behind the image fuzz target (slow inputs): thousands of empty progressive scans
    /// in a small file kept it busy for seconds per megapixel (minutes for a 1 MB DG2 at the 40 MP limit).
    func testProgressiveJPEGWithTooManyScansIsUndecodable() throws {
        let normal = try RGBImage(decoding: Self.progressiveJPEG(width: 64, height: 48, scans: 9))
        XCTAssertEqual(normal.width, 64)
        XCTAssertEqual(normal.height, 48)
        XCTAssertThrowsError(try RGBImage(decoding: Self.progressiveJPEG(width: 64, height: 48, scans: 2000))) {
            error in
            guard case let .undecodableImage(_, reason)? = error as? FaceMatchError else {
                return XCTFail("expected undecodableImage, got \(error)")
            }
            XCTAssertTrue(reason.contains("scans"), reason)
        }
    }

    /// A J2K codestream of `components` 8-bit components, one tile, no wavelet levels, empty packets.
    static func multiComponentJ2K(width: Int, height: Int, components: Int) -> [UInt8] {
        func be(_ value: Int, _ count: Int) -> [UInt8] {
            (0..<count).reversed().map { UInt8((value >> (8 * $0)) & 0xFF) }
        }
        func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] { [0xFF, marker] + be(body.count + 2, 2) + body }
        var siz = be(0, 2) + be(width, 4) + be(height, 4) + be(0, 8) + be(width, 4) + be(height, 4) + be(0, 8)
        siz += be(components, 2) + Array([[UInt8]](repeating: [7, 1, 1], count: components).joined())
        var out: [UInt8] = [0xFF, 0x4F] + segment(0x51, siz)
        out += segment(0x52, [0, 0, 0, 1, 0, 0, 4, 4, 0, 1]) + segment(0x5C, [0x40, 0x40])
        let packets = [UInt8](repeating: 0, count: components)
        out += segment(0x90, be(0, 2) + be(14 + packets.count, 4) + [0, 1]) + [0xFF, 0x93] + packets
        return out + [0xFF, 0xD9]
    }

    /// Found reviewing the decoder behind the image fuzz target: a 1.3 KB codestream declaring 300 components
    /// of a megapixel made OpenJPEG allocate 1.3 GB (tens of GB at the 40 MP limit).
    func testJPEG2000WithHundredsOfComponentsIsUndecodable() throws {
        let rgb = try RGBImage(decoding: Self.multiComponentJ2K(width: 64, height: 48, components: 3))
        XCTAssertEqual(rgb.width, 64)
        XCTAssertEqual(rgb.height, 48)
        XCTAssertThrowsError(try RGBImage(decoding: Self.multiComponentJ2K(width: 1024, height: 1024, components: 300)))
        {
            guard case let .undecodableImage(_, reason)? = $0 as? FaceMatchError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("300 image components"), reason)
        }
    }

    func testDecodingRefusesMorePixelsThanTheLimit() throws {
        let data = try RGBImage(width: 100, height: 100, red: 1, green: 2, blue: 3).encoded(as: .jp2)
        XCTAssertThrowsError(try RGBImage(decoding: data, maximumPixels: 9999)) { error in
            guard case .imageTooManyPixels? = error as? FaceMatchError else {
                return XCTFail("expected imageTooManyPixels, got \(error)")
            }
        }
    }
}
