import CCardScan
import FaceMatch
import Foundation
import MRTD

/// How hard a generated photo is to read.
public enum DegradationLevel: String, Sendable, CaseIterable {
    /// ±5°, light blur and noise, JPEG 70–90: a kiosk camera on a good day.
    case mild
    /// ±20°, perspective, motion blur, glare, low light, JPEG 30–50.
    case harsh
}

/// One generated photo and what it shows. Contains the (fictional) key: test data only.
public struct SyntheticCardPhoto: Sendable {
    public let seed: UInt64
    public let level: DegradationLevel
    public let layout: ScannedLayout
    /// JPEG.
    public let image: [UInt8]
    public let width: Int
    public let height: Int
    /// The key that opens the card's chip.
    public let key: AccessKey
    public let mrzLines: [String]
    public let can: String?
}

/// A deterministic random number generator (SplitMix64): the same seed gives the same card and photo.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Test cards: TD1 (back with the MRZ, front with the CAN), TD2 and TD3 documents of the fictional issuer "UTO"
/// with valid MRZs (MRTD's encoder) in OCR-B, random names, dates and numbers, a portrait from the Johns chips,
/// varied backgrounds, then a camera's degradations by level. Everything is generated here from Debian's fonts
/// (OCR-B: public domain; DejaVu Sans: free) and public-domain faces, so the photos are ours to commit.
public struct SyntheticCards: Sendable {
    public let ocrbFontPath: String
    public let textFontPath: String
    public let portraits: [RGBImage]
    public var width = 1280
    public var height = 960

    public static let defaultTextFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

    public init(
        ocrbFontPath: String = CardScanConfiguration.defaultFontPath,
        textFontPath: String = defaultTextFontPath, portraits: [RGBImage] = []
    ) {
        self.ocrbFontPath = ocrbFontPath
        self.textFontPath = textFontPath
        self.portraits = portraits
    }

    /// Face chips from a folder of people's folders (`johns/<person>/<file>.jpg`), sorted, at most `limit`.
    public static func portraits(from folder: String, limit: Int = 64) -> [RGBImage] {
        let manager = FileManager.default
        var images: [RGBImage] = []
        for person in ((try? manager.contentsOfDirectory(atPath: folder)) ?? []).sorted() {
            for file in ((try? manager.contentsOfDirectory(atPath: "\(folder)/\(person)")) ?? []).sorted()
            where images.count < limit {
                guard let data = manager.contents(atPath: "\(folder)/\(person)/\(file)"),
                    let image = try? RGBImage(decoding: [UInt8](data))
                else { continue }
                images.append(image)
            }
        }
        return images
    }

    /// The photo for `seed` at `level`; the layout cycles TD1, card front, TD2, TD3 with the seed unless given.
    public func photo(
        seed: UInt64, level: DegradationLevel, layout: ScannedLayout? = nil
    ) throws(CardScanError)
        -> SyntheticCardPhoto
    {
        var random = SeededGenerator(seed: seed &* 0x2545_F491_4F6C_DD1D &+ (level == .harsh ? 1 : 0))
        let layouts: [ScannedLayout] = [.td1, .cardFront, .td2, .td3]
        let chosen = layout ?? layouts[Int(seed % UInt64(layouts.count))]
        let identity = SyntheticIdentity(random: &random)
        let format: MRZFormat = chosen == .td2 ? .td2 : chosen == .td3 ? .td3 : .td1
        let mrz: MRZ
        do {
            mrz = try MRZ(encoding: identity.fields(for: format), format: format)
        } catch {
            throw .engineFailure(reason: "test card MRZ: \(error)")
        }
        let can = (0..<6).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined()
        let card = try renderCard(chosen, mrz: mrz, can: can, identity: identity, random: &random)
        let scene = try compose(card, level: level, random: &random)
        let quality = level == .mild ? Int.random(in: 70...90, using: &random) : Int.random(in: 30...50, using: &random)
        let jpeg: [UInt8]
        do {
            jpeg = try scene.encoded(as: .jpeg, quality: quality)
        } catch {
            throw .engineFailure(reason: "test photo encoding: \(error)")
        }
        let key: AccessKey
        do {
            key =
                chosen == .cardFront
                ? .can(try CardAccessNumber(can))
                : .mrz(
                    try BACKey(
                        documentNumber: mrz.documentNumber, birthDate: mrz.birthDate,
                        expiryDate: mrz.expiryDate))
        } catch {
            throw .engineFailure(reason: "test card key: \(error)")
        }
        return SyntheticCardPhoto(
            seed: seed, level: level, layout: chosen, image: jpeg, width: scene.width,
            height: scene.height, key: key, mrzLines: chosen == .cardFront ? [] : mrz.lines,
            can: chosen == .cardFront ? can : nil)
    }

    // MARK: Rendering

    private func renderCard(
        _ layout: ScannedLayout, mrz: MRZ, can: String, identity: SyntheticIdentity,
        random: inout SeededGenerator
    ) throws(CardScanError) -> RGBImage {
        let portrait = portraits.isEmpty ? nil : portraits[Int.random(in: 0..<portraits.count, using: &random)]
        let kind: enrolld_synth_layout
        switch layout {
        case .td1: kind = ENROLLD_SYNTH_TD1_BACK
        case .td2: kind = ENROLLD_SYNTH_TD2
        case .td3: kind = ENROLLD_SYNTH_TD3
        case .cardFront: kind = ENROLLD_SYNTH_TD1_FRONT
        }
        let print = CardFrontLayout.utopiaPrint
        let visual = identity.visualLines(documentNumber: mrz.documentNumber)
        let seed = random.next()
        var output: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0
        var height: UInt32 = 0
        var message = [CChar](repeating: 0, count: Int(ENROLLD_SCAN_MESSAGE_CAPACITY))
        let pixels = portrait?.pixels ?? []
        let status = mrz.text.withCString { mrzText in
            can.withCString { canText in
                visual.withCString { visualText in
                    ocrbFontPath.withCString { ocrb in
                        textFontPath.withCString { sans in
                            pixels.withUnsafeBufferPointer { portraitPixels in
                                var card = enrolld_synth_card(
                                    layout: kind, mrz: mrzText, can: canText,
                                    can_region: enrolld_scan_can_region(
                                        left: Float(print.left), top: Float(print.top), width: Float(print.width),
                                        height: Float(print.height), digit_count: 6),
                                    visual_text: visualText, ocrb_font_path: ocrb, text_font_path: sans,
                                    portrait_rgb: portrait == nil ? nil : portraitPixels.baseAddress,
                                    portrait_width: UInt32(portrait?.width ?? 0),
                                    portrait_height: UInt32(portrait?.height ?? 0), seed: seed, pixels_per_mm: 12)
                                return enrolld_synth_render_card(
                                    &card, &output, &width, &height, &message,
                                    message.count)
                            }
                        }
                    }
                }
            }
        }
        defer { enrolld_scan_free(output) }
        guard status == ENROLLD_SCAN_OK, let output,
            let image = RGBImage(
                width: Int(width), height: Int(height),
                rgb: Array(UnsafeBufferPointer(start: output, count: Int(width * height) * 3)))
        else { throw .engineFailure(reason: "test card rendering: \(CardScanner.string(from: message))") }
        return image
    }

    private func compose(
        _ card: RGBImage, level: DegradationLevel, random: inout SeededGenerator
    )
        throws(CardScanError) -> RGBImage
    {
        func uniform(_ range: ClosedRange<Double>) -> Float { Float(Double.random(in: range, using: &random)) }
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }
        let harsh = level == .harsh
        var scene = enrolld_synth_scene()
        scene.width = UInt32(width)
        scene.height = UInt32(height)
        scene.seed = random.next()
        scene.background = Int32.random(in: 0...3, using: &random)
        scene.rotation_degrees = harsh ? uniform(-20...20) : uniform(-5...5)
        scene.tilt_x = harsh ? uniform(-0.12...0.12) : uniform(-0.02...0.02)
        scene.tilt_y = harsh ? uniform(-0.12...0.12) : uniform(-0.02...0.02)
        // The card fills much of the frame and stays inside it.
        var fraction = Double(harsh ? uniform(0.5...0.8) : uniform(0.55...0.85))
        let aspect = Double(card.width) / Double(card.height)
        let angle = Double(scene.rotation_degrees) * .pi / 180
        func extent(_ f: Double) -> (Double, Double) {
            let w = f * Double(width), h = w / aspect
            return (
                (w * abs(cos(angle)) + h * abs(sin(angle))) / Double(width),
                (w * abs(sin(angle)) + h * abs(cos(angle))) / Double(height)
            )
        }
        while extent(fraction).0 > 0.95 || extent(fraction).1 > 0.95 { fraction *= 0.97 }
        let (spanX, spanY) = extent(fraction)
        scene.card_width_fraction = Float(fraction)
        scene.center_x = uniform((spanX / 2 + 0.02)...(1 - spanX / 2 - 0.02))
        scene.center_y = uniform((spanY / 2 + 0.02)...(1 - spanY / 2 - 0.02))
        scene.blur_sigma = harsh ? uniform(0.6...1.6) : uniform(0.3...1.0)
        scene.motion_length = harsh && chance(0.6) ? uniform(2...7) : 0
        scene.motion_angle_degrees = uniform(0...180)
        scene.noise_sigma = harsh ? uniform(4...10) : uniform(1...4)
        scene.gain = harsh ? uniform(0.35...0.8) : uniform(0.85...1.1)
        if harsh ? chance(0.7) : chance(0.3) {
            scene.glare_strength = harsh ? uniform(0.3...0.8) : uniform(0.05...0.2)
            scene.glare_x = uniform(0.15...0.85)
            scene.glare_y = uniform(0.15...0.85)
            scene.glare_radius = uniform(0.1...0.25)
        }
        scene.shadow_strength = harsh ? uniform(0.2...0.5) : uniform(0...0.15)
        var output: UnsafeMutablePointer<UInt8>?
        var corners = [Float](repeating: 0, count: 8)
        var message = [CChar](repeating: 0, count: Int(ENROLLD_SCAN_MESSAGE_CAPACITY))
        let status = card.pixels.withUnsafeBufferPointer { pixels in
            enrolld_synth_compose(
                pixels.baseAddress, UInt32(card.width), UInt32(card.height), &scene, &output,
                &corners, &message, message.count)
        }
        defer { enrolld_scan_free(output) }
        guard status == ENROLLD_SCAN_OK, let output,
            let image = RGBImage(
                width: width, height: height,
                rgb: Array(UnsafeBufferPointer(start: output, count: width * height * 3)))
        else { throw .engineFailure(reason: "test scene: \(CardScanner.string(from: message))") }
        return image
    }
}

/// A random, fictional holder and document.
struct SyntheticIdentity {
    var surname: String
    var givenNames: String
    var documentNumber: String
    var nationality: String
    var birth: (year: Int, month: Int, day: Int)
    var expiry: (year: Int, month: Int, day: Int)
    var sex: MRZSex
    var optional: String

    private static let syllables = [
        "AN", "BER", "CA", "DO", "EL", "FI", "GAR", "HU", "IN", "JO", "KA", "LU", "MAR",
        "NO", "OS", "PE", "QUI", "RA", "SO", "TI", "UL", "VE", "WI", "XA", "YO", "ZE",
    ]
    private static let states = ["UTO", "UTO", "UTO", "D", "FRA", "NLD", "ITA", "ESP", "AUT", "BEL"]
    private static let alphanumeric = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    init(random: inout SeededGenerator) {
        func name(_ parts: ClosedRange<Int>) -> String {
            (0..<Int.random(in: parts, using: &random)).map { _ in Self.syllables.randomElement(using: &random)! }
                .joined()
        }
        surname = name(2...4)
        givenNames = Int.random(in: 0..<3, using: &random) == 0 ? name(2...3) + " " + name(2...3) : name(2...3)
        let length = Int.random(in: 0..<10, using: &random) == 0 ? Int.random(in: 6...8, using: &random) : 9
        documentNumber = String((0..<length).map { _ in Self.alphanumeric.randomElement(using: &random)! })
        nationality = Self.states.randomElement(using: &random)!
        func date(_ years: ClosedRange<Int>) -> (Int, Int, Int) {
            let month = Int.random(in: 1...12, using: &random)
            let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            return (Int.random(in: years, using: &random), month, Int.random(in: 1...days, using: &random))
        }
        birth = date(1940...2008)
        expiry = date(2024...2036)
        sex = [MRZSex.male, .female, .unspecified].randomElement(using: &random)!
        optional =
            Int.random(in: 0..<2, using: &random) == 0
            ? ""
            : String(
                (0..<Int.random(in: 3...10, using: &random)).map { _ in
                    Self.alphanumeric.randomElement(using: &random)!
                })
    }

    func fields(for format: MRZFormat) -> MRZFields {
        func yymmdd(_ date: (year: Int, month: Int, day: Int)) -> String {
            String(format: "%02d%02d%02d", date.year % 100, date.month, date.day)
        }
        let code = format == .td3 ? "P" : format == .td2 ? "I" : "ID"
        let optionalData =
            format == .td2 ? String(optional.prefix(7)) : String(optional.prefix(format == .td3 ? 14 : 15))
        return MRZFields(
            documentCode: code, issuingState: "UTO", primaryIdentifier: surname,
            secondaryIdentifier: givenNames, documentNumber: documentNumber, nationality: nationality,
            birthDate: yymmdd(birth), sex: sex, expiryDate: yymmdd(expiry), optionalData: optionalData)
    }

    /// What the visual zone prints: names, dates, number.
    func visualLines(documentNumber number: String) -> String {
        func dotted(_ date: (year: Int, month: Int, day: Int)) -> String {
            String(format: "%02d.%02d.%04d", date.day, date.month, date.year)
        }
        return [surname, givenNames, dotted(birth), nationality, number, dotted(expiry)].joined(separator: "\n")
    }
}
