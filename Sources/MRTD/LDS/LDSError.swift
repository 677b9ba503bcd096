import SmartCard

/// Why an LDS file (EF.COM, a data group, EF.SOD) was refused. Every case names the file and the
/// problem; `description` says what it means for the operator.
public enum LDSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The BER-TLV structure of `file` is broken.
    case malformedTLV(file: String, TLVError)
    /// The outer template (or a required inner object) has the wrong tag.
    case unexpectedTag(file: String, expected: UInt32, found: UInt32)
    /// A required data object is absent.
    case missingField(file: String, tag: UInt32)
    /// The file (or an element of it) is larger than the configured bound.
    case tooLarge(file: String, element: String, size: Int, limit: Int)
    /// A text field is not valid UTF-8 (or ASCII where the standard requires it).
    case invalidText(file: String, tag: UInt32)
    /// A field has a value outside what the standard allows.
    case invalidValue(file: String, field: String, reason: String)
    /// EF.COM lists a tag that is no data group.
    case unknownDataGroupTag(UInt8)
    /// DG1 holds an MRZ that does not parse or whose check digits fail.
    case invalidMRZ(MRZError)
    /// A count field disagrees with the number of objects actually present.
    case countMismatch(file: String, element: String, declared: Int, found: Int)
    /// The biometric data block is not an ISO/IEC 19794-5 facial record (bad magic `FAC\0`).
    case invalidFacialRecordMagic([UInt8])
    /// A 19794-5 version this parser does not read (only `010\0`, the 2005 edition).
    case unsupportedFacialRecordVersion([UInt8])
    /// A length field of the facial record disagrees with the bytes that contain it.
    case facialRecordLengthMismatch(element: String, declared: Int, actual: Int)
    /// The facial record ends before a structure that it declares.
    case facialRecordTruncated(element: String, needed: Int, available: Int)
    /// Image data type other than 0 (JPEG) or 1 (JPEG 2000).
    case unsupportedImageDataType(UInt8)
    /// The image bytes carry no JPEG or JPEG 2000 signature.
    case unrecognisedImageData
    /// The header says one image format, the image bytes another.
    case imageFormatMismatch(declared: FaceImageEncoding, detected: FaceImageEncoding)
    /// EF.SOD's CMS structure or LDS security object is not as ICAO 9303-10 §4.6.2 describes.
    case invalidSecurityObject(String)

    public var description: String {
        switch self {
        case let .malformedTLV(file, error):
            return "\(file): malformed TLV (\(error)); the file read from the chip is corrupt or truncated"
        case let .unexpectedTag(file, expected, found):
            return "\(file): expected tag \(hex(expected)), found \(hex(found))"
        case let .missingField(file, tag):
            return "\(file): required data object \(hex(tag)) is missing"
        case let .tooLarge(file, element, size, limit):
            return "\(file): \(element) is \(size) bytes, above the limit of \(limit) bytes"
        case let .invalidText(file, tag):
            return "\(file): data object \(hex(tag)) is not valid text"
        case let .invalidValue(file, field, reason):
            return "\(file): \(field) is invalid: \(reason)"
        case let .unknownDataGroupTag(tag):
            return "EF.COM: tag list contains \(hex(UInt32(tag))), which is not a data group tag"
        case let .invalidMRZ(error):
            return "DG1: \(error)"
        case let .countMismatch(file, element, declared, found):
            return "\(file): \(element) count says \(declared) but \(found) are present"
        case let .invalidFacialRecordMagic(bytes):
            return "DG2: biometric data block starts with \(hexBytes(bytes)), not the ISO/IEC 19794-5 'FAC\\0' marker"
        case let .unsupportedFacialRecordVersion(bytes):
            return "DG2: ISO/IEC 19794-5 version \(hexBytes(bytes)) is not supported (only '010\\0')"
        case let .facialRecordLengthMismatch(element, declared, actual):
            return "DG2: \(element) length field says \(declared) bytes but \(actual) are present"
        case let .facialRecordTruncated(element, needed, available):
            return "DG2: \(element) needs \(needed) bytes but only \(available) remain"
        case let .unsupportedImageDataType(type):
            return "DG2: image data type \(type) is neither JPEG (0) nor JPEG 2000 (1)"
        case .unrecognisedImageData:
            return "DG2: face image bytes are neither JPEG nor JPEG 2000"
        case let .imageFormatMismatch(declared, detected):
            return "DG2: header declares a \(declared.rawValue) image but the bytes are \(detected.rawValue)"
        case let .invalidSecurityObject(reason):
            return "EF.SOD: \(reason)"
        }
    }
}

private func hex(_ tag: UInt32) -> String { String(tag, radix: 16, uppercase: true) }

private func hexBytes(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
}

/// Size bounds for parsing LDS files read from a chip.
public struct LDSLimits: Sendable, Equatable {
    /// Largest DG2 (or any data group) accepted.
    public var maxFileSize: Int
    /// Largest single face image.
    public var maxImageSize: Int
    /// Most faces or biometric templates accepted in one DG2.
    public var maxFaces: Int

    public static let `default` = LDSLimits(maxFileSize: 2 << 20, maxImageSize: 1 << 20, maxFaces: 16)

    public init(maxFileSize: Int, maxImageSize: Int, maxFaces: Int) {
        self.maxFileSize = maxFileSize
        self.maxImageSize = maxImageSize
        self.maxFaces = maxFaces
    }
}
