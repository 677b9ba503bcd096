import SmartCard

/// The sixteen LDS data groups (ICAO 9303-10 §4.6, Table 34): number ↔ template tag ↔ file
/// identifier ↔ short EF identifier.
public enum DataGroup: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case dg1 = 1
    case dg2, dg3, dg4, dg5, dg6, dg7, dg8, dg9, dg10, dg11, dg12, dg13, dg14, dg15, dg16

    /// The data group number, 1…16.
    public var number: Int { rawValue }

    public init?(number: Int) { self.init(rawValue: number) }

    /// The template tag that starts the file and names it in EF.COM's tag list.
    public var tag: UInt8 {
        switch self {
        case .dg1: return 0x61
        case .dg2: return 0x75
        case .dg3: return 0x63
        case .dg4: return 0x76
        case .dg5: return 0x65
        case .dg6: return 0x66
        case .dg7: return 0x67
        case .dg8: return 0x68
        case .dg9: return 0x69
        case .dg10: return 0x6A
        case .dg11: return 0x6B
        case .dg12: return 0x6C
        case .dg13: return 0x6D
        case .dg14: return 0x6E
        case .dg15: return 0x6F
        case .dg16: return 0x70
        }
    }

    public init?(tag: UInt8) {
        guard let group = DataGroup.allCases.first(where: { $0.tag == tag }) else { return nil }
        self = group
    }

    /// File identifier in the eMRTD application: 0101 (DG1) … 0110 (DG16).
    public var fileIdentifier: UInt16 { 0x0100 + UInt16(rawValue) }

    /// Short EF identifier: 01 … 10 (hex).
    public var shortFileIdentifier: UInt8 { UInt8(rawValue) }

    /// The file identifier as the reader's `FileID`.
    public var fileID: FileID { FileID(rawValue: fileIdentifier) }

    /// The data group stored in `fileID`, or nil if it is not a data group file.
    public init?(fileID: FileID) {
        guard let number = fileID.dataGroupNumber else { return nil }
        self.init(rawValue: number)
    }

    public static func < (lhs: DataGroup, rhs: DataGroup) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "DG\(rawValue)" }
}

/// Helpers shared by the LDS parsers and encoders.
enum LDSCoding {
    /// Parses `bytes` as exactly one object with `tag`, bounded by `limits`.
    static func template(
        _ bytes: [UInt8], tag: UInt32, file: String, limits: LDSLimits
    ) throws(LDSError)
        -> TLVChildren
    {
        guard bytes.count <= limits.maxFileSize else {
            throw .tooLarge(file: file, element: "file", size: bytes.count, limit: limits.maxFileSize)
        }
        let outer: TLV
        do {
            outer = try TLV.parse(bytes)
        } catch {
            throw .malformedTLV(file: file, error)
        }
        guard outer.tag == tag else { throw .unexpectedTag(file: file, expected: tag, found: outer.tag) }
        return try TLVChildren(outer, file: file)
    }

    /// Decodes UTF-8 text.
    static func text(_ bytes: [UInt8], tag: UInt32, file: String) throws(LDSError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidText(file: file, tag: tag) }
        return text
    }

    /// A date (or date and time) stored either as ASCII digits or as BCD bytes (9303-10 allows both
    /// in DG11/DG12), returned as text: `bcdLength` bytes that are not all ASCII digits are read
    /// as BCD; anything else as UTF-8 text.
    static func dateText(_ bytes: [UInt8], tag: UInt32, file: String, bcdLength: Int) throws(LDSError) -> String {
        guard bytes.count == bcdLength, bytes.contains(where: { $0 < 0x30 || $0 > 0x39 }) else {
            return try text(bytes, tag: tag, file: file)
        }
        var out = ""
        for byte in bytes {
            guard byte >> 4 < 10, byte & 0x0F < 10 else { throw .invalidText(file: file, tag: tag) }
            out += String(byte >> 4) + String(byte & 0x0F)
        }
        return out
    }

    /// ASCII digits of an exact length (EF.COM versions).
    static func digits(_ bytes: [UInt8], count: Int, field: String, file: String) throws(LDSError) -> String {
        guard bytes.count == count, bytes.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .invalidValue(file: file, field: field, reason: "expected \(count) ASCII digits")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Builds a tag list object (5C) naming the tags of `objects`.
    static func tagList(_ objects: [TLV]) -> TLV {
        TLV(tag: 0x5C, value: objects.flatMap { TLV.encode(tag: $0.tag) })
    }

    static func textObject(_ tag: UInt32, _ value: String?) -> TLV? {
        value.map { TLV(tag: tag, value: Array($0.utf8)) }
    }
}

/// The children of a constructed object, with typed look-ups.
struct TLVChildren {
    let file: String
    let tag: UInt32
    let items: [TLV]

    init(_ tlv: TLV, file: String) throws(LDSError) {
        self.file = file
        self.tag = tlv.tag
        do {
            items = try tlv.children()
        } catch {
            throw .malformedTLV(file: file, error)
        }
    }

    func optional(_ tag: UInt32) -> TLV? { items.first { $0.tag == tag } }

    func all(_ tag: UInt32) -> [TLV] { items.filter { $0.tag == tag } }

    func required(_ tag: UInt32) throws(LDSError) -> TLV {
        guard let found = optional(tag) else { throw .missingField(file: file, tag: tag) }
        return found
    }

    func optionalText(_ tag: UInt32) throws(LDSError) -> String? {
        guard let found = optional(tag) else { return nil }
        return try LDSCoding.text(found.value, tag: tag, file: file)
    }

    func nested(_ tlv: TLV) throws(LDSError) -> TLVChildren { try TLVChildren(tlv, file: file) }
}

extension LDSCoding {
    /// Texts kept in A0 templates as `{ 02 count, <itemTag> text … }` (DG11 other names, DG12 other
    /// persons). Several A0 templates are accepted; the first count must match the total.
    static func countedTexts(_ body: TLVChildren, itemTag: UInt32, element: String) throws(LDSError) -> [String] {
        var texts: [String] = []
        var declared: Int?
        for template in body.all(0xA0) {
            let inner = try body.nested(template)
            if declared == nil, let count = inner.optional(0x02) {
                guard count.value.count == 1 else {
                    throw .invalidValue(file: body.file, field: "\(element) count", reason: "expected one byte")
                }
                declared = Int(count.value[0])
            }
            for item in inner.all(itemTag) { texts.append(try text(item.value, tag: itemTag, file: body.file)) }
        }
        if let declared, declared != texts.count {
            throw .countMismatch(file: body.file, element: element, declared: declared, found: texts.count)
        }
        return texts
    }

    /// Checks the count object (02) of a template against the `found` items it counts, when the count is present.
    static func checkCount(_ body: TLVChildren, found: Int, element: String) throws(LDSError) {
        guard let count = body.optional(0x02) else { return }
        guard count.value.count == 1 else {
            throw .invalidValue(file: body.file, field: "number of \(element)s (02)", reason: "expected one byte")
        }
        guard Int(count.value[0]) == found else {
            throw .countMismatch(file: body.file, element: element, declared: Int(count.value[0]), found: found)
        }
    }

    static func countedTextsObject(_ texts: [String], itemTag: UInt32) -> TLV? {
        guard !texts.isEmpty else { return nil }
        let count = TLV(tag: 0x02, value: [UInt8(truncatingIfNeeded: texts.count)])
        return TLV(tag: 0xA0, children: [count] + texts.map { TLV(tag: itemTag, value: Array($0.utf8)) })
    }
}
