/// A BER-TLV data object (ISO/IEC 8825-1 as profiled by ISO/IEC 7816-4 §5.2).
///
/// Tags are kept as their encoded bytes packed into a `UInt32` (e.g. `0x5F1F`, `0x7F61`), the way
/// ICAO 9303 writes them.
public struct TLV: Sendable, Equatable {
    public var tag: UInt32
    /// The value field. For constructed objects these are the encoded children.
    public var value: [UInt8]

    public init(tag: UInt32, value: [UInt8]) {
        self.tag = tag
        self.value = value
    }

    /// Builds a constructed object from its children.
    public init(tag: UInt32, children: [TLV]) {
        self.tag = tag
        self.value = children.flatMap { $0.encoded }
    }

    /// Bit 6 of the first tag byte: the value holds nested data objects.
    public var isConstructed: Bool { TLV.isConstructed(tag: tag) }

    public static func isConstructed(tag: UInt32) -> Bool {
        var first = tag
        while first > 0xFF { first >>= 8 }
        return first & 0x20 != 0
    }

    /// The children of a constructed object, parsed strictly.
    public func children(limits: TLVLimits = .default) throws(TLVError) -> [TLV] {
        var reader = TLVReader(value, limits: limits)
        return try reader.readAll()
    }

    /// The first child with `tag`, or `nil`.
    public func child(_ tag: UInt32) throws(TLVError) -> TLV? {
        try children().first { $0.tag == tag }
    }

    public var encoded: [UInt8] { TLV.encode(tag: tag) + TLV.encode(length: value.count) + value }

    public static func encode(tag: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        var t = tag
        repeat {
            out.insert(UInt8(t & 0xFF), at: 0)
            t >>= 8
        } while t != 0
        return out
    }

    /// A non-negative number as unsigned big-endian bytes in minimal form, at least one byte: the encoding of key
    /// and parameter references in MSE data objects (DO'83', DO'84'; ISO 7816-4 §7.5.11, BSI TR-03110-3 §B.1),
    /// e.g. `[0xC3]` for 195. Unlike a DER INTEGER it has no sign byte. Negative values encode as `[0x00]`.
    public static func minimalUnsigned(_ value: Int) -> [UInt8] {
        var out: [UInt8] = []
        var rest = max(0, value)
        repeat {
            out.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        } while rest > 0
        return out
    }

    /// DER length encoding: short form below 128, long form (81, 82, 83, 84) above.
    public static func encode(length: Int) -> [UInt8] {
        precondition(length >= 0, "negative TLV length")
        if length < 0x80 { return [UInt8(length)] }
        var out: [UInt8] = []
        var l = length
        while l > 0 {
            out.insert(UInt8(l & 0xFF), at: 0)
            l >>= 8
        }
        return [0x80 | UInt8(out.count)] + out
    }

    /// Parses exactly one object that spans all of `bytes`.
    public static func parse(_ bytes: [UInt8], limits: TLVLimits = .default) throws(TLVError) -> TLV {
        var reader = TLVReader(bytes, limits: limits)
        let tlv = try reader.read()
        guard reader.isAtEnd else { throw .trailingBytes(offset: reader.offset, count: bytes.count - reader.offset) }
        return tlv
    }
}

/// Bounds that a parser of untrusted TLV enforces.
public struct TLVLimits: Sendable {
    /// The largest value length accepted (eMRTD files are at most a few hundred KiB).
    public var maxLength: Int
    /// The deepest nesting `TLVReader.validateNesting` descends.
    public var maxDepth: Int
    /// The longest tag in bytes.
    public var maxTagBytes: Int

    public static let `default` = TLVLimits(maxLength: 1 << 24, maxDepth: 16, maxTagBytes: 4)

    public init(maxLength: Int, maxDepth: Int, maxTagBytes: Int) {
        self.maxLength = maxLength
        self.maxDepth = maxDepth
        self.maxTagBytes = maxTagBytes
    }
}

/// Why a BER-TLV input was refused, with the byte offset where it went wrong.
public enum TLVError: Error, Equatable, CustomStringConvertible {
    case truncatedTag(offset: Int)
    case tagTooLong(offset: Int)
    case truncatedLength(offset: Int)
    case indefiniteLength(offset: Int)
    case lengthTooLarge(offset: Int, length: Int)
    case nonMinimalLength(offset: Int)
    case truncatedValue(offset: Int, declared: Int, available: Int)
    case trailingBytes(offset: Int, count: Int)
    case nestingTooDeep(depth: Int)
    case unexpectedTag(expected: UInt32, found: UInt32)
    case missingTag(UInt32)

    public var description: String {
        switch self {
        case let .truncatedTag(offset): return "TLV tag truncated at offset \(offset)"
        case let .tagTooLong(offset): return "TLV tag at offset \(offset) is longer than allowed"
        case let .truncatedLength(offset): return "TLV length truncated at offset \(offset)"
        case let .indefiniteLength(offset): return "TLV indefinite length (0x80) at offset \(offset) is not allowed"
        case let .lengthTooLarge(offset, length): return "TLV length \(length) at offset \(offset) exceeds the limit"
        case let .nonMinimalLength(offset): return "TLV length at offset \(offset) uses a malformed long form"
        case let .truncatedValue(offset, declared, available):
            return "TLV value at offset \(offset) declares \(declared) bytes but only \(available) remain"
        case let .trailingBytes(offset, count):
            return "\(count) unexpected bytes after the TLV object at offset \(offset)"
        case let .nestingTooDeep(depth): return "TLV nesting deeper than \(depth) levels"
        case let .unexpectedTag(expected, found):
            return
                "expected TLV tag \(String(expected, radix: 16, uppercase: true)), found \(String(found, radix: 16, uppercase: true))"
        case let .missingTag(tag): return "required TLV tag \(String(tag, radix: 16, uppercase: true)) is missing"
        }
    }
}

/// A strict, bounded, sequential BER-TLV reader.
public struct TLVReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    public let limits: TLVLimits

    public init(_ bytes: [UInt8], limits: TLVLimits = .default) {
        self.bytes = bytes
        self.offset = 0
        self.limits = limits
    }

    public var isAtEnd: Bool { offset >= bytes.count }

    /// Reads a tag. Skips no padding: 00 and FF are rejected by callers that care.
    public mutating func readTag() throws(TLVError) -> UInt32 {
        let start = offset
        guard offset < bytes.count else { throw .truncatedTag(offset: start) }
        var tag = UInt32(bytes[offset])
        offset += 1
        if tag & 0x1F == 0x1F {
            var count = 1
            while true {
                guard offset < bytes.count else { throw .truncatedTag(offset: start) }
                let byte = bytes[offset]
                offset += 1
                count += 1
                guard count <= limits.maxTagBytes else { throw .tagTooLong(offset: start) }
                tag = tag << 8 | UInt32(byte)
                if byte & 0x80 == 0 { break }
            }
        }
        return tag
    }

    /// Reads a definite length in short or long form (up to 4 length bytes).
    public mutating func readLength() throws(TLVError) -> Int {
        let start = offset
        guard offset < bytes.count else { throw .truncatedLength(offset: start) }
        let first = bytes[offset]
        offset += 1
        if first < 0x80 { return Int(first) }
        if first == 0x80 { throw .indefiniteLength(offset: start) }
        let count = Int(first & 0x7F)
        guard count <= 4 else { throw .nonMinimalLength(offset: start) }
        guard offset + count <= bytes.count else { throw .truncatedLength(offset: start) }
        var length = 0
        for _ in 0..<count {
            length = length << 8 | Int(bytes[offset])
            offset += 1
        }
        guard length <= limits.maxLength else { throw .lengthTooLarge(offset: start, length: length) }
        return length
    }

    /// Reads the next complete object.
    public mutating func read() throws(TLVError) -> TLV {
        let tag = try readTag()
        let length = try readLength()
        let available = bytes.count - offset
        guard length <= available else { throw .truncatedValue(offset: offset, declared: length, available: available) }
        let value = Array(bytes[offset..<(offset + length)])
        offset += length
        return TLV(tag: tag, value: value)
    }

    /// Reads the next object and checks its tag.
    public mutating func read(expecting tag: UInt32) throws(TLVError) -> TLV {
        let tlv = try read()
        guard tlv.tag == tag else { throw .unexpectedTag(expected: tag, found: tlv.tag) }
        return tlv
    }

    /// Reads every remaining object.
    public mutating func readAll() throws(TLVError) -> [TLV] {
        var out: [TLV] = []
        while !isAtEnd { out.append(try read()) }
        return out
    }

    /// Parses the header (tag and length) at the start of `prefix` without needing the value:
    /// returns the tag, the value length and the header length. Used to learn a file's size from
    /// its first bytes.
    public static func header(
        of prefix: [UInt8], limits: TLVLimits = .default
    ) throws(TLVError)
        -> (tag: UInt32, length: Int, headerLength: Int)
    {
        var reader = TLVReader(prefix, limits: limits)
        let tag = try reader.readTag()
        let length = try reader.readLength()
        return (tag, length, reader.offset)
    }

    /// Checks that `bytes` is a sequence of well-formed objects nested no deeper than the limit,
    /// descending into every constructed object.
    public static func validateNesting(_ bytes: [UInt8], limits: TLVLimits = .default) throws(TLVError) {
        try validate(bytes, depth: 1, limits: limits)
    }

    private static func validate(_ bytes: [UInt8], depth: Int, limits: TLVLimits) throws(TLVError) {
        guard depth <= limits.maxDepth else { throw .nestingTooDeep(depth: limits.maxDepth) }
        var reader = TLVReader(bytes, limits: limits)
        while !reader.isAtEnd {
            let tlv = try reader.read()
            if tlv.isConstructed { try validate(tlv.value, depth: depth + 1, limits: limits) }
        }
    }
}
