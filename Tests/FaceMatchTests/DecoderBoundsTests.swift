import Foundation
import XCTest

@testable import FaceMatch

/// What one image may make the face engine spend (issue 18): pixel caps by the image's role checked from the header,
/// a memory bound on every decoder, and large photos decoded reduced and area-averaged down before detection, with
/// faces still reported in the declared image's pixels.
final class DecoderBoundsTests: XCTestCase {
    /// A small PNG whose IHDR claims `width` x `height` (the pixel data is only the small image's).
    static func pngDeclaring(width: UInt32, height: UInt32) throws -> [UInt8] {
        var bytes = try RGBImage(width: 16, height: 16, red: 9, green: 9, blue: 9).encoded(as: .png)
        for (offset, value) in [(16, width), (20, height)] {
            for index in 0..<4 { bytes[offset + index] = UInt8((value >> (8 * (3 - UInt32(index)))) & 0xFF) }
        }
        return bytes
    }

    /// A J2K codestream declaring `width` x `height` in tiles of `tile` pixels.
    static func tiledJ2K(width: Int, height: Int, tile: Int) -> [UInt8] {
        func be(_ value: Int, _ count: Int) -> [UInt8] {
            (0..<count).reversed().map { UInt8((value >> (8 * $0)) & 0xFF) }
        }
        func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] { [0xFF, marker] + be(body.count + 2, 2) + body }
        let siz =
            be(0, 2) + be(width, 4) + be(height, 4) + be(0, 8) + be(tile, 4) + be(tile, 4) + be(0, 8) + be(1, 2)
            + [7, 1, 1]
        return [0xFF, 0x4F] + segment(0x51, siz) + segment(0x52, [0, 0, 0, 1, 0, 0, 4, 4, 0, 1])
            + segment(0x5C, [0x40, 0x40]) + [0xFF, 0xD9]
    }

    /// A JPEG header (SOF0, then a first scan of component 1) with `components` components of 8x8 pixels each.
    static func jpegWithComponents(_ components: Int) -> [UInt8] {
        func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] {
            [0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)] + body
        }
        var sof: [UInt8] = [8, 0, 8, 0, 8, UInt8(components)]
        for id in 1...components { sof += [UInt8(id), 0x11, 0] }
        let sos: [UInt8] = [1, 1, 0x00, 0, 63, 0]
        let table = [UInt8(1)] + [UInt8](repeating: 0, count: 15)
        return [0xFF, 0xD8] + segment(0xDB, [0x00] + [UInt8](repeating: 1, count: 64)) + segment(0xC0, sof)
            + segment(0xC4, [0x00] + table + [0x00]) + segment(0xC4, [0x10] + table + [0x00]) + segment(0xDA, sos)
            + [0x00, 0x00, 0xFF, 0xD9]
    }

    /// The attack of issue 18: a small PNG declaring 40 megapixels. Both roles refuse it from the header, before any
    /// pixel is allocated; a reference is held to 2 MP, a live photo to 12 MP.
    func testPixelCapsDependOnTheImageRoleAndAreCheckedFromTheHeader() throws {
        let matcher = try FaceFixtures.matcher()
        let bomb = try Self.pngDeclaring(width: 8000, height: 5000)
        XCTAssertLessThan(bomb.count, 1024)
        for role in [FaceImageRole.reference, .probe] {
            XCTAssertThrowsError(try matcher.analyse(bomb, role: role)) { error in
                guard case let .imageTooManyPixels(refused, reason)? = error as? FaceMatchError else {
                    return XCTFail("\(role): \(error)")
                }
                XCTAssertEqual(refused, role)
                XCTAssertTrue(reason.contains("8000x5000"), reason)
            }
        }
        // 3 MP: over the reference cap, under the probe cap.
        let photo = try FaceFixtures.livePhoto([(try FaceFixtures.chip("John_Salley", 1), 600, 700, 400)])
            .resized(width: 2000, height: 1500).encoded(as: .jpeg, quality: 85)
        XCTAssertThrowsError(try matcher.analyse(photo, role: .reference)) {
            guard case .imageTooManyPixels(.reference, _)? = $0 as? FaceMatchError else { return XCTFail("\($0)") }
        }
        XCTAssertNotNil(try matcher.analyse(photo, role: .probe).embedding)
        var configuration = FaceMatchConfiguration()
        configuration.referenceMaximumPixels = 4_000_000
        XCTAssertNotNil(
            try FaceFixtures.matcher(configuration).analyse(photo, role: .reference).embedding,
            "the caps are configurable")
    }

    /// Each format decodes a large photo at a reduced resolution (JPEG DCT scaling, JPEG 2000 resolution levels) or
    /// area-averages it down; the face box and landmarks come back in the declared image's pixels, and the match
    /// still holds.
    func testLargePhotosAreWorkedOnReducedAndReportedInOriginalPixels() throws {
        let matcher = try FaceFixtures.matcher()
        let reference = try matcher.analyse(
            try FaceFixtures.portrait("John_Salley", 0).encoded(as: .jp2, quality: 81),
            role: .reference)
        let chip = try FaceFixtures.chip("John_Salley", 1)
        let scene = try SyntheticFaceImages.livePhoto(
            [.init(chip: chip, size: 900, x: 1700, y: 900)], width: 3400,
            height: 2400)
        for format in [FaceImageFormat.jpeg, .png, .jp2] {
            let bytes = try scene.encoded(as: format, quality: format == .jp2 ? 91 : 90)
            let analysis = try matcher.analyse(bytes, role: .probe)
            XCTAssertEqual([analysis.width, analysis.height], [3400, 2400], "\(format): the declared size")
            XCTAssertLessThanOrEqual(max(analysis.analysedWidth, analysis.analysedHeight), 1000, "\(format)")
            let face = try XCTUnwrap(analysis.chosenFace, "\(format)")
            XCTAssertTrue((1700.0...2600.0).contains(face.centerX), "\(format): face at x \(face.centerX)")
            XCTAssertTrue((900.0...1800.0).contains(face.top + face.height / 2), "\(format): face at y \(face.top)")
            XCTAssertTrue((300.0...900.0).contains(face.width), "\(format): face \(face.width) px wide")
            let nose = try XCTUnwrap(analysis.landmarks?.noseBase)
            XCTAssertTrue((1700.0...2600.0).contains(nose.x), "\(format): landmarks in original pixels")
            XCTAssertTrue(try matcher.compare(reference: reference, probe: analysis).isMatch, "\(format)")
        }
    }

    /// A 30 KB progressive JPEG of 16 MP: libjpeg keeps a progressive file's coefficients for the whole image; the
    /// memory bound ends the decode before it allocates them.
    func testProgressiveJPEGCoefficientBuffersAreBounded() throws {
        let bytes = RGBImageCodecTests.progressiveJPEG(width: 4000, height: 4000, scans: 9)
        XCTAssertLessThan(bytes.count, 40_000)
        XCTAssertThrowsError(
            try RGBImage(
                decoding: bytes, maximumPixels: 20_000_000,
                maximumDecoderBytes: 16 << 20)
        ) {
            guard case let .imageTooManyPixels(_, reason)? = $0 as? FaceMatchError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("memory bound"), reason)
        }
        let decoded = try RGBImage(decoding: bytes, maximumPixels: 20_000_000, maximumDecoderBytes: 128 << 20)
        XCTAssertEqual([decoded.width, decoded.height], [4000, 4000], "within the bound it decodes")
    }

    func testPNGOutputIsBoundedBeforeDecoding() throws {
        let bytes = try RGBImage(width: 1200, height: 1000, red: 3, green: 4, blue: 5).encoded(as: .png)
        XCTAssertThrowsError(try RGBImage(decoding: bytes, maximumDecoderBytes: 2 << 20)) {
            guard case let .imageTooManyPixels(_, reason)? = $0 as? FaceMatchError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("memory bound"), reason)
        }
        XCTAssertEqual(try RGBImage(decoding: bytes, maximumDecoderBytes: 8 << 20).width, 1200)
    }

    /// OpenJPEG allocates coding parameters for every declared tile while it reads the main header; the SIZ segment
    /// is read first and a codestream of tens of thousands of tiles is refused before OpenJPEG sees it.
    func testJPEG2000WithThousandsOfTilesIsRefusedFromItsSIZ() throws {
        let bytes = Self.tiledJ2K(width: 1000, height: 1000, tile: 4)
        XCTAssertLessThan(bytes.count, 100)
        XCTAssertThrowsError(try RGBImage(decoding: bytes)) {
            guard case let .undecodableImage(_, reason)? = $0 as? FaceMatchError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("62500 tiles"), reason)
        }
        XCTAssertThrowsError(
            try RGBImage(
                decoding: Self.tiledJ2K(width: 8000, height: 6000, tile: 8000),
                maximumPixels: 12_000_000)
        ) {
            guard case .imageTooManyPixels? = $0 as? FaceMatchError else { return XCTFail("\($0)") }
        }
    }

    /// Only greyscale and three-component JPEGs can become RGB; every other component is another coefficient plane.
    func testJPEGWithFourOrMoreComponentsIsRefusedFromItsHeader() throws {
        for count in [4, 10] {
            XCTAssertThrowsError(try RGBImage(decoding: Self.jpegWithComponents(count))) {
                guard case let .undecodableImage(_, reason)? = $0 as? FaceMatchError else { return XCTFail("\($0)") }
                XCTAssertTrue(reason.contains("\(count) colour components"), reason)
            }
        }
    }

    /// A copy of the engine (another worker's) has the same models: the same embedding for the same image.
    func testAnEngineCopyEmbedsAsTheOriginal() throws {
        let engine = try FaceFixtures.engine()
        let copy = try engine.copy()
        XCTAssertFalse(copy === engine)
        let image = try FaceFixtures.portrait("John_Simm", 2).encoded(as: .jpeg)
        let options = FaceMatchConfiguration().analysisOptions(for: .reference)
        XCTAssertEqual(
            try copy.analyse(image, role: .reference, options: options).embedding,
            try engine.analyse(image, role: .reference, options: options).embedding)
    }
}
