import SmartCard

/// What EF.ATR/INFO (ISO/IEC 7816-4 §8.2.1.1 and §12.7.1; ICAO 9303-10 §3.11.1, LDS 1.8) says about the
/// transport before the first READ BINARY: extended length support (card capabilities DO'47', third byte bit 7) and
/// the largest command and response (extended length information DO'7F66').
public struct CardCapabilities: Sendable, Equatable {
    /// Whether the chip takes extended Lc/Le; nil when the file does not say.
    public var extendedLength: Bool?
    /// The largest command and response APDU, in bytes (DO'7F66' { 02 command, 02 response }).
    public var maxCommandLength: Int?
    public var maxResponseLength: Int?

    public init(extendedLength: Bool? = nil, maxCommandLength: Int? = nil, maxResponseLength: Int? = nil) {
        self.extendedLength = extendedLength
        self.maxCommandLength = maxCommandLength
        self.maxResponseLength = maxResponseLength
    }

    /// The largest EF.ATR/INFO read (real ones are tens of bytes).
    static let maxFileSize = 1024

    /// Parses the content: a sequence of BER-TLV data objects, unknown ones skipped. Throws
    /// `.malformedFile(.atrInfo)` for content that is not BER-TLV.
    public init(parsing bytes: [UInt8]) throws(MRTDError) {
        var reader = TLVReader(bytes, limits: TLVLimits(maxLength: Self.maxFileSize, maxDepth: 4, maxTagBytes: 2))
        let objects: [TLV]
        do {
            objects = try reader.readAll()
        } catch {
            throw .malformedFile(.atrInfo, "\(error)")
        }
        self.init()
        for object in objects {
            switch object.tag {
            case 0x47 where object.value.count >= 3:
                extendedLength = object.value[2] & 0x40 != 0
            case 0x7F66:
                let sizes = ((try? object.children()) ?? []).filter { $0.tag == 0x02 }
                    .compactMap {
                        $0.value.count <= 3 && !$0.value.isEmpty ? $0.value.reduce(0) { $0 << 8 | Int($1) } : nil
                    }
                if sizes.count >= 2 {
                    maxCommandLength = sizes[0]
                    maxResponseLength = sizes[1]
                    if extendedLength == nil { extendedLength = max(sizes[0], sizes[1]) > 261 }
                }
            default:
                continue
            }
        }
    }

    /// DO'47' { 00 00 xx } and, when sizes are given, DO'7F66' { 02 command, 02 response }.
    public var encoded: [UInt8] {
        var out = TLV(tag: 0x47, value: [0x00, 0x00, extendedLength == true ? 0x40 : 0x00]).encoded
        if let maxCommandLength, let maxResponseLength {
            out +=
                TLV(
                    tag: 0x7F66,
                    children: [
                        TLV(tag: 0x02, value: TLV.minimalUnsigned(maxCommandLength)),
                        TLV(tag: 0x02, value: TLV.minimalUnsigned(maxResponseLength)),
                    ]
                ).encoded
        }
        return out
    }

    /// Reads EF.ATR/INFO in plain from the master file (SELECT 2F01, then READ BINARY until the file ends). Returns
    /// nil when the chip has none (any error status word); throws transport failures and a malformed file.
    public static func read(from channel: CardChannel) throws(MRTDError) -> CardCapabilities? {
        let strategy = ReadBinaryStrategy(extendedLength: false, secureMessaging: false)
        do {
            try strategy.select(.atrInfo, on: channel)
        } catch {
            if case .unexpectedStatus = error { return nil }
            throw error
        }
        var content: [UInt8] = []
        while content.count < maxFileSize {
            let command = CommandAPDU(
                ins: 0xB0, p1: UInt8(content.count >> 8), p2: UInt8(content.count & 0xFF),
                le: CommandAPDU.maxShortLe)
            let response = try ReadBinaryStrategy.exchange(channel, command)
            guard response.statusWord.isSuccess || response.statusWord == .warningEndOfFile else {
                if content.isEmpty { return nil }
                break
            }
            content += response.data
            if response.data.count < CommandAPDU.maxShortLe || !response.statusWord.isSuccess { break }
        }
        guard content.count <= maxFileSize else {
            throw .malformedFile(.atrInfo, "longer than \(maxFileSize) bytes")
        }
        return try CardCapabilities(parsing: content)
    }
}
