import CCardScan
import FaceMatch
import Foundation
import MRTD

/// Settings of a card scanner: the recogniser, where its files are, the limits every photo is checked against and
/// the card fronts whose CAN it looks for.
public struct CardScanConfiguration: Sendable, Equatable {
    public enum Engine: String, Sendable, Equatable, CaseIterable {
        /// Our classifier over templates rendered from the OCR-B font (the default: it measures better).
        case ocrb
        /// Tesseract's LSTM with Debian's eng.traineddata, on the same straightened lines.
        case tesseract
    }

    public var engine: Engine
    /// Debian `fonts-ocr-b`.
    public var ocrbFontPath: String
    /// Debian `tesseract-ocr-eng` (the Tesseract engine only).
    public var tessdataPath: String
    /// Encoded photos above this are refused before decoding.
    public var maximumBytes: Int
    /// Photos whose header claims more pixels are refused before decoding.
    public var maximumPixels: Int
    /// The card fronts whose CAN is looked for when the photo shows no MRZ.
    public var cardFronts: [CardFrontLayout]
    /// Candidates returned at most (the daemon tries at most two on the chip).
    public var maximumCandidates: Int

    public static let defaultFontPath = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"
    public static let defaultTessdataPath = "/usr/share/tesseract-ocr/5/tessdata"

    public init(
        engine: Engine = .ocrb, ocrbFontPath: String = defaultFontPath,
        tessdataPath: String = defaultTessdataPath, maximumBytes: Int = 10 << 20,
        maximumPixels: Int = 16_000_000, cardFronts: [CardFrontLayout] = [.utopia],
        maximumCandidates: Int = 4
    ) {
        self.engine = engine
        self.ocrbFontPath = ocrbFontPath
        self.tessdataPath = tessdataPath
        self.maximumBytes = maximumBytes
        self.maximumPixels = maximumPixels
        self.cardFronts = cardFronts
        self.maximumCandidates = maximumCandidates
    }
}

/// An 8-bit greyscale image, rows top to bottom.
public struct GreyImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let pixels: [UInt8]

    public init?(width: Int, height: Int, pixels: [UInt8]) {
        guard width > 0, height > 0, pixels.count == width * height else { return nil }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// ITU-R BT.601 luma of an RGB image.
    public init(_ image: RGBImage) {
        var grey = [UInt8](repeating: 0, count: image.width * image.height)
        image.pixels.withUnsafeBufferPointer { rgb in
            grey.withUnsafeMutableBufferPointer { out in
                enrolld_scan_rgb_to_grey(rgb.baseAddress, UInt32(image.width), UInt32(image.height), out.baseAddress)
            }
        }
        self.width = image.width
        self.height = image.height
        self.pixels = grey
    }
}

/// Reads the access key from one photo of a card: the MRZ of a TD1, TD2 or TD3 document (ICAO 9303-3 §4, Parts
/// 4–6), or the CAN of an ID-1 card front (9303-11 §9.7.3), with check-digit-driven correction (9303-3 §4.9).
///
/// Shares one engine between threads: the C reader is immutable after creation and documents that concurrent
/// reads are safe (`CCardScan.h`), hence `@unchecked Sendable`. Nothing of the image or its text is logged or
/// kept; the result is the only place the text appears.
public final class CardScanner: @unchecked Sendable {
    private let handle: OpaquePointer
    public let configuration: CardScanConfiguration

    /// Loads the engine: renders the OCR-B templates (and loads Tesseract for that engine).
    /// - Throws: `.fontMissing`, `.fontUnusable`, `.engineUnavailable`, `.engineFailure`.
    public init(configuration: CardScanConfiguration = CardScanConfiguration()) throws(CardScanError) {
        self.configuration = configuration
        var message = [CChar](repeating: 0, count: Int(ENROLLD_SCAN_MESSAGE_CAPACITY))
        var pointer: OpaquePointer?
        let status = configuration.ocrbFontPath.withCString { font in
            configuration.tessdataPath.withCString { tessdata in
                var options = enrolld_scan_reader_options(
                    engine: configuration.engine == .tesseract
                        ? ENROLLD_SCAN_ENGINE_TESSERACT : ENROLLD_SCAN_ENGINE_OCRB,
                    ocrb_font_path: font, tessdata_path: tessdata,
                    max_pixels: UInt64(max(0, configuration.maximumPixels)))
                return enrolld_scan_reader_create(&options, &pointer, &message, message.count)
            }
        }
        let text = Self.string(from: message)
        switch status {
        case ENROLLD_SCAN_OK: break
        case ENROLLD_SCAN_FONT_MISSING: throw .fontMissing(path: configuration.ocrbFontPath)
        case ENROLLD_SCAN_FONT_INVALID: throw .fontUnusable(reason: text)
        case ENROLLD_SCAN_ENGINE_UNAVAILABLE: throw .engineUnavailable(reason: text)
        default: throw .engineFailure(reason: text)
        }
        guard let pointer else { throw .engineFailure(reason: "the engine returned no reader") }
        handle = pointer
    }

    deinit {
        enrolld_scan_reader_destroy(handle)
    }

    /// Scans an encoded photo (JPEG or PNG). The byte limit is checked first, the format from the signature,
    /// the pixel limit from the header before decoding.
    /// - Throws: `.imageTooLarge`, `.unsupportedFormat`, `.imageTooManyPixels`, `.undecodable`, `.engineFailure`.
    ///   A photo with no readable card is not an error: its result has no candidates.
    public func scan(image: [UInt8]) throws(CardScanError) -> CardScanResult {
        let start = DispatchTime.now()
        guard image.count <= configuration.maximumBytes else {
            throw .imageTooLarge(bytes: image.count, limit: configuration.maximumBytes)
        }
        guard Self.isJPEG(image) || Self.isPNG(image) else { throw .unsupportedFormat }
        let decoded: RGBImage
        do {
            decoded = try RGBImage(decoding: image, maximumPixels: configuration.maximumPixels)
        } catch {
            switch error {
            case .imageTooManyPixels(_, let reason): throw .imageTooManyPixels(reason: reason)
            case .undecodableImage(_, let reason): throw .undecodable(reason: reason)
            case .unsupportedImageFormat: throw .unsupportedFormat
            default: throw .engineFailure(reason: error.description)
            }
        }
        let grey = GreyImage(decoded)
        let decodeTime = milliseconds(since: start)
        var result = try scan(grey: grey)
        var timings = result.timings
        timings.decode = decodeTime
        timings.total = milliseconds(since: start)
        result = result.with(timings: timings)
        return result
    }

    /// Scans a decoded greyscale photo.
    /// - Throws: `.imageTooManyPixels` over the pixel limit, `.engineFailure`.
    public func scan(grey: GreyImage) throws(CardScanError) -> CardScanResult {
        let start = DispatchTime.now()
        var timings = CardScanTimings()
        let (readings, locate, read) = try readMRZ(grey)
        timings.locate = locate
        timings.read = read
        let correctStart = DispatchTime.now()
        if let mrz = bestMRZ(readings) {
            timings.correct = milliseconds(since: correctStart)
            timings.total = milliseconds(since: start)
            return mrz.with(timings: timings)
        }
        timings.correct = milliseconds(since: correctStart)
        // A clearly read MRZ whose check digits fail is a retake, not a card front: its CAN region holds MRZ or
        // other print, and a wrong CAN costs a PACE attempt like a wrong MRZ key.
        let clearZone = readings.contains { $0.sharpness >= 0.7 && $0.geometry >= 0.2 }
        for layout in configuration.cardFronts where !clearZone {
            let (can, canLocate, canRead) = try readCAN(grey, layout: layout)
            timings.locate += canLocate
            timings.read += canRead
            if let can, can.isClear, !can.candidates().isEmpty {
                timings.total = milliseconds(since: start)
                return CardScanResult(
                    layout: .cardFront, can: can.best.text,
                    candidates: Array(can.candidates().prefix(configuration.maximumCandidates)),
                    timings: timings, canEvidence: can.digits)
            }
        }
        timings.total = milliseconds(since: start)
        return CardScanResult(layout: nil, timings: timings)
    }

    /// Two photos of the same card: candidates both support rise (1 - (1 - a)(1 - b)); two CAN readings are
    /// also fused digit by digit. The first photo's layout and text are kept unless only the second read.
    public func combining(_ first: CardScanResult, _ second: CardScanResult) -> CardScanResult {
        var pool: [AccessKey: (confidence: Double, composite: Bool?)] = [:]
        var merged: [AccessKeyCandidate] = []
        func add(_ candidate: AccessKeyCandidate) {
            if let existing = pool[candidate.key] {
                let confidence = 1 - (1 - existing.confidence) * (1 - candidate.confidence)
                pool[candidate.key] = (confidence, existing.composite ?? candidate.compositeCheckPassed)
            } else {
                pool[candidate.key] = (candidate.confidence, candidate.compositeCheckPassed)
            }
        }
        first.candidates.forEach(add)
        second.candidates.forEach(add)
        if let fused = CANReading.combining(first.canEvidence, second.canEvidence) {
            for candidate in CANReading(digits: fused, geometry: 1).candidates() where pool[candidate.key] == nil {
                pool[candidate.key] = (candidate.confidence * 0.5, nil)
            }
        }
        for (key, value) in pool {
            merged.append(
                AccessKeyCandidate(
                    key: key, confidence: min(1, value.confidence),
                    compositeCheckPassed: value.composite))
        }
        merged.sort { $0.confidence > $1.confidence }
        let base = first.layout != nil || second.layout == nil ? first : second
        var timings = first.timings
        timings.total += second.timings.total
        return CardScanResult(
            layout: base.layout, mrzLines: base.mrzLines, uncorrectedLines: base.uncorrectedLines,
            mrz: base.mrz, can: base.can,
            fieldChecks: base.fieldChecks,
            candidates: Array(merged.prefix(configuration.maximumCandidates)),
            timings: timings, canEvidence: base.canEvidence)
    }

    // MARK: Engine calls

    private func readMRZ(_ grey: GreyImage) throws(CardScanError) -> ([ZoneReading], Double, Double) {
        let result = UnsafeMutablePointer<enrolld_scan_mrz_result>.allocate(capacity: 1)
        defer { result.deallocate() }
        var message = [CChar](repeating: 0, count: Int(ENROLLD_SCAN_MESSAGE_CAPACITY))
        let status = grey.pixels.withUnsafeBufferPointer { pixels in
            enrolld_scan_read_mrz(
                handle, pixels.baseAddress, UInt32(grey.width), UInt32(grey.height), result,
                &message, message.count)
        }
        try Self.check(status, message)
        let count = Int(result.pointee.reading_count)
        var readings: [ZoneReading] = []
        withUnsafeBytes(of: &result.pointee.readings) { raw in
            let zones = raw.bindMemory(to: enrolld_scan_zone_reading.self)
            for index in 0..<min(count, zones.count) {
                if let reading = ZoneReading(zones[index]) { readings.append(reading) }
            }
        }
        return (readings, result.pointee.locate_ms, result.pointee.read_ms)
    }

    private func readCAN(
        _ grey: GreyImage, layout: CardFrontLayout
    ) throws(CardScanError)
        -> (CANReading?, Double, Double)
    {
        var result = enrolld_scan_can_result()
        var region = enrolld_scan_can_region(
            left: Float(layout.left), top: Float(layout.top),
            width: Float(layout.width), height: Float(layout.height),
            digit_count: UInt32(layout.digitCount))
        var message = [CChar](repeating: 0, count: Int(ENROLLD_SCAN_MESSAGE_CAPACITY))
        let status = grey.pixels.withUnsafeBufferPointer { pixels in
            enrolld_scan_read_can(
                handle, pixels.baseAddress, UInt32(grey.width), UInt32(grey.height), &region,
                &result, &message, message.count)
        }
        try Self.check(status, message)
        var best: CANReading?
        let count = Int(result.reading_count)
        withUnsafeBytes(of: &result.readings) { raw in
            let readings = raw.bindMemory(to: enrolld_scan_can_reading.self)
            for index in 0..<min(count, readings.count) {
                let reading = readings[index]
                let digits = Int(reading.digit_count)
                guard digits == layout.digitCount else { continue }
                let glyphs = withUnsafeBytes(of: reading.glyphs) { glyphRaw in
                    Self.glyphs(glyphRaw, count: digits)
                }
                let candidate = CANReading(digits: glyphs, geometry: Double(reading.geometry_score))
                if best.map({ candidate.clarity * candidate.geometry > $0.clarity * $0.geometry }) ?? true {
                    best = candidate
                }
            }
        }
        return (best, result.locate_ms, result.read_ms)
    }

    private func bestMRZ(_ readings: [ZoneReading]) -> CardScanResult? {
        struct Ranked {
            var candidate: MRZKeyCandidate
            var correction: MRZCorrection
            var reading: ZoneReading
        }
        var ranked: [Ranked] = []
        for reading in readings {
            let correction = MRZCorrection(format: reading.format, glyphs: reading.glyphs)
            for candidate in correction.candidates(limit: configuration.maximumCandidates) {
                ranked.append(Ranked(candidate: candidate, correction: correction, reading: reading))
            }
        }
        ranked.sort { $0.candidate.cost < $1.candidate.cost }
        var unique: [Ranked] = []
        for entry in ranked where !unique.contains(where: { $0.candidate.key == entry.candidate.key }) {
            unique.append(entry)
        }
        guard let first = unique.first, let layout = ScannedLayout(first.reading.format) else { return nil }
        let chosen = Array(unique.prefix(configuration.maximumCandidates))
        let confidences = MRZConfidence.estimate(
            costs: chosen.map(\.candidate.cost),
            composites: chosen.map(\.candidate.compositePasses),
            sharpness: first.reading.sharpness)
        let candidates = zip(chosen, confidences).map { entry, confidence in
            AccessKeyCandidate(
                key: .mrz(entry.candidate.key), confidence: confidence,
                compositeCheckPassed: entry.candidate.compositePasses)
        }
        let length = first.reading.format.lineLength
        func split(_ joined: [UInt8]) -> [String] {
            (0..<first.reading.format.lineCount).map { line in
                String(decoding: joined[(line * length)..<((line + 1) * length)], as: UTF8.self)
            }
        }
        let lines = split(first.candidate.lines)
        return CardScanResult(
            layout: layout, mrzLines: lines, uncorrectedLines: split(first.correction.asRead),
            mrz: try? MRZ(lines: lines),
            fieldChecks: first.correction.fieldChecks(for: first.candidate),
            candidates: candidates, timings: CardScanTimings())
    }

    // MARK: Helpers

    static func glyphs(_ raw: UnsafeRawBufferPointer, count: Int) -> [GlyphEvidence] {
        let floats = raw.bindMemory(to: Float.self)
        let total = min(count, floats.count / MRZAlphabet.count)
        return (0..<total).map { index in
            GlyphEvidence(probabilities: Array(floats[(index * MRZAlphabet.count)..<((index + 1) * MRZAlphabet.count)]))
        }
    }

    private static func check(_ status: enrolld_scan_status, _ message: [CChar]) throws(CardScanError) {
        switch status {
        case ENROLLD_SCAN_OK: return
        case ENROLLD_SCAN_OVERSIZED: throw .imageTooManyPixels(reason: string(from: message))
        default: throw .engineFailure(reason: string(from: message))
        }
    }

    static func string(from message: [CChar]) -> String {
        let bytes = message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isJPEG(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF
    }

    static func isPNG(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 8 && Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    }
}

/// One MRZ hypothesis from the engine: a layout, an orientation and the evidence for every position.
struct ZoneReading: Sendable {
    let format: MRZFormat
    let upsideDown: Bool
    let geometry: Double
    let sharpness: Double
    let glyphs: [GlyphEvidence]

    init?(_ reading: enrolld_scan_zone_reading) {
        switch (reading.line_count, reading.line_length) {
        case (3, 30): format = .td1
        case (2, 36): format = .td2
        case (2, 44): format = .td3
        default: return nil
        }
        upsideDown = reading.upside_down != 0
        geometry = Double(reading.geometry_score)
        sharpness = Double(reading.sharpness)
        let count = format.lineCount * format.lineLength
        glyphs = withUnsafeBytes(of: reading.glyphs) { CardScanner.glyphs($0, count: count) }
    }
}

/// From correction costs to the probability that a candidate is the key (calibrated on generated cards,
/// enroll-bench scan): a softmax over the candidates' costs, discounted when the composite check fails and when
/// the glyphs matched poorly.
enum MRZConfidence {
    static func estimate(costs: [Double], composites: [Bool?], sharpness: Double) -> [Double] {
        guard let lowest = costs.min() else { return [] }
        let weights = costs.map { exp(-($0 - lowest)) }
        let sum = weights.reduce(0, +)
        let clarity = min(1, max(0, (sharpness - 0.4) / 0.45))
        return zip(weights, composites).map { weight, composite in
            let reliability = composite == false ? 0.6 : 0.99
            return weight / sum * reliability * (0.5 + 0.5 * clarity)
        }
    }
}

extension CardScanResult {
    func with(timings: CardScanTimings) -> CardScanResult {
        CardScanResult(
            layout: layout, mrzLines: mrzLines, uncorrectedLines: uncorrectedLines, mrz: mrz, can: can,
            fieldChecks: fieldChecks,
            candidates: candidates, timings: timings, canEvidence: canEvidence)
    }
}

func milliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}
