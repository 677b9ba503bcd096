import Foundation
import MRTD

/// What kind of card face the photo showed.
public enum ScannedLayout: String, Sendable, Equatable, CaseIterable {
    /// ID-1 card, reverse: 3 x 30 MRZ (ICAO 9303-5).
    case td1
    /// ID-2 document: 2 x 36 MRZ (9303-6).
    case td2
    /// Passport data page: 2 x 44 MRZ (9303-4).
    case td3
    /// ID-1 card front with the CAN printed (9303-11 §9.7.3) and no MRZ.
    case cardFront

    init?(_ format: MRZFormat) {
        switch format {
        case .td1: self = .td1
        case .td2: self = .td2
        case .td3: self = .td3
        default: return nil
        }
    }
}

/// The check-digit result of one MRZ field (ICAO 9303-3 §4.9).
public struct MRZFieldCheck: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        /// The field passes as read.
        case passed
        /// It passes after the correction changed this many characters (check digit included).
        case corrected(characters: Int)
        /// No reading of the field passes.
        case failed
    }

    public let field: MRZCheckedField
    public let status: Status

    public init(field: MRZCheckedField, status: Status) {
        self.field = field
        self.status = status
    }
}

/// One access key the photo yields, with how sure the reader is of it.
public struct AccessKeyCandidate: Sendable, Equatable, CustomStringConvertible {
    public let key: AccessKey
    /// 0...1: the reader's estimate that this key opens the chip (candidates are ranked by it).
    public let confidence: Double
    /// MRZ keys: whether the composite check digit passes too (nil for a CAN, and for layouts without one).
    public let compositeCheckPassed: Bool?

    public init(key: AccessKey, confidence: Double, compositeCheckPassed: Bool?) {
        self.key = key
        self.confidence = confidence
        self.compositeCheckPassed = compositeCheckPassed
    }

    /// Log-safe: the kind of key and the confidence, never the key.
    public var description: String { String(format: "%@ candidate (confidence %.3f)", key.kind, confidence) }
}

/// Where time went in one scan, in milliseconds.
public struct CardScanTimings: Sendable, Equatable {
    public var decode: Double = 0
    public var locate: Double = 0
    public var read: Double = 0
    public var correct: Double = 0
    public var total: Double = 0
}

/// What one photo of a card gave: the layout, the MRZ lines or the CAN, the check-digit result of every MRZ field,
/// ranked access-key candidates and the time taken.
///
/// Contains personal data (the MRZ text, the keys): it is the only place the text appears. Nothing is logged
/// or kept by the scanner; `description` is log-safe.
public struct CardScanResult: Sendable, CustomStringConvertible {
    /// nil: neither an MRZ nor a CAN could be read.
    public let layout: ScannedLayout?
    /// The MRZ lines as read and corrected for the first candidate (MRZ layouts only).
    public let mrzLines: [String]
    /// The MRZ as the recogniser read it, before the check digits corrected it.
    public let uncorrectedLines: [String]
    /// The MRZ parsed with every check digit passing (nil when the composite or another check still fails).
    public let mrz: MRZ?
    /// The CAN as read (card fronts only).
    public let can: String?
    /// The check-digit result of every checked field (MRZ layouts only).
    public let fieldChecks: [MRZFieldCheck]
    /// Best first. Empty when nothing usable was read.
    public let candidates: [AccessKeyCandidate]
    public let timings: CardScanTimings
    /// Per-digit evidence of a CAN reading, for combining two photos.
    let canEvidence: [GlyphEvidence]

    init(
        layout: ScannedLayout?, mrzLines: [String] = [], uncorrectedLines: [String] = [], mrz: MRZ? = nil,
        can: String? = nil,
        fieldChecks: [MRZFieldCheck] = [], candidates: [AccessKeyCandidate] = [], timings: CardScanTimings,
        canEvidence: [GlyphEvidence] = []
    ) {
        self.layout = layout
        self.mrzLines = mrzLines
        self.uncorrectedLines = uncorrectedLines
        self.mrz = mrz
        self.can = can
        self.fieldChecks = fieldChecks
        self.candidates = candidates
        self.timings = timings
        self.canEvidence = canEvidence
    }

    /// The candidates, or `.unreadable` with what to retake when there are none.
    public func requireCandidates() throws(CardScanError) -> [AccessKeyCandidate] {
        guard !candidates.isEmpty else { throw .unreadable(hint: CardScanError.retakeHint) }
        return candidates
    }

    /// Log-safe: layout, number of candidates, the first's confidence, time.
    public var description: String {
        let first = candidates.first.map { String(format: "%.3f", $0.confidence) } ?? "-"
        return "CardScanResult(\(layout?.rawValue ?? "none"), \(candidates.count) candidates, first \(first), "
            + String(format: "%.1f ms)", timings.total)
    }
}
