/// Why a photo of a card could not be scanned. Each case says what the user or the operator can do.
///
/// A photo that decodes but shows no readable MRZ or CAN is not an error of `CardScanner.scan(image:)`: its
/// result has no candidates and `CardScanResult.requireCandidates()` throws `.unreadable`.
public enum CardScanError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The OCR-B font (Debian `fonts-ocr-b`) is not installed where the configuration says.
    case fontMissing(path: String)
    /// The font file exists but does not load or lacks a character.
    case fontUnusable(reason: String)
    /// The Tesseract engine was chosen but its data (Debian `tesseract-ocr-eng`) is missing.
    case engineUnavailable(reason: String)
    /// Not a JPEG or PNG image.
    case unsupportedFormat
    /// The encoded image is larger than the configured byte limit.
    case imageTooLarge(bytes: Int, limit: Int)
    /// The image header claims more pixels than the limit (refused before decoding).
    case imageTooManyPixels(reason: String)
    /// The image is corrupt or uses a feature the decoder refuses.
    case undecodable(reason: String)
    /// No MRZ or CAN could be read with passing check digits: what to retake.
    case unreadable(hint: String)
    /// The engine failed for a reason outside the image (out of memory, internal error).
    case engineFailure(reason: String)

    /// What the kiosk should ask for when the key could not be read from the photo.
    public static let retakeHint = "hold the card flat, fill the frame, avoid glare; or type the MRZ or the CAN"

    public var description: String {
        switch self {
        case .fontMissing(let path):
            return "OCR-B font \(path) not found: install the Debian package fonts-ocr-b"
        case .fontUnusable(let reason):
            return "OCR-B font unusable (\(reason)): reinstall fonts-ocr-b"
        case .engineUnavailable(let reason):
            return "Tesseract engine unavailable (\(reason)): install tesseract-ocr-eng or use the OCR-B engine"
        case .unsupportedFormat:
            return "the card photo is not a JPEG or PNG image"
        case .imageTooLarge(let bytes, let limit):
            return "the card photo is \(bytes) bytes, more than the limit of \(limit) bytes"
        case .imageTooManyPixels(let reason):
            return "the card photo is too large (\(reason))"
        case .undecodable(let reason):
            return "the card photo cannot be decoded (\(reason))"
        case .unreadable(let hint):
            return "no access key could be read from the photo: \(hint)"
        case .engineFailure(let reason):
            return "card scanning failed: \(reason)"
        }
    }
}
