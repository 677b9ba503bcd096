import SmartCard

/// DG13, optional details (ICAO 9303-10 §4.7.13): issuer-defined content in template '6D', kept as stored — no
/// structure is assumed, so any issuer's layout reads.
public struct DG13: Sendable, Equatable {
    public static let tag: UInt32 = 0x6D

    /// The template's value, byte for byte.
    public var content: [UInt8]

    public init(content: [UInt8]) { self.content = content }

    /// The data objects in the content when it is BER-TLV (as most issuers write it); nil otherwise.
    public var objects: [TLV]? {
        var reader = TLVReader(content)
        return try? reader.readAll()
    }

    /// Parses DG13. Throws `LDSError` for a wrong template tag, malformed TLV or a size above the limit.
    public static func parse(_ bytes: [UInt8], limits: LDSLimits = .default) throws(LDSError) -> DG13 {
        guard bytes.count <= limits.maxFileSize else {
            throw .tooLarge(file: "DG13", element: "file", size: bytes.count, limit: limits.maxFileSize)
        }
        let outer: TLV
        do {
            outer = try TLV.parse(bytes)
        } catch {
            throw .malformedTLV(file: "DG13", error)
        }
        guard outer.tag == tag else { throw .unexpectedTag(file: "DG13", expected: tag, found: outer.tag) }
        return DG13(content: outer.value)
    }

    public var encoded: [UInt8] { TLV(tag: DG13.tag, value: content).encoded }
}
