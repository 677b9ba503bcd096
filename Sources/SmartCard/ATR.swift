/// What enrolld reads from an answer-to-reset (ISO/IEC 7816-3 §8; historical bytes per 7816-4 §8.1).
public struct ATRInfo: Sendable, Equatable {
    public let bytes: [UInt8]
    /// The historical bytes, when the ATR is well formed.
    public let historicalBytes: [UInt8]
    /// The card-capabilities data object (compact-TLV tag 7, 3 bytes) announces extended Lc/Le.
    public let supportsExtendedLength: Bool

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        let historical = ATRInfo.historical(bytes) ?? []
        historicalBytes = historical
        supportsExtendedLength =
            ATRInfo.cardCapabilities(historical).map { $0.count >= 3 && $0[2] & 0x40 != 0 } ?? false
    }

    /// Walks TS, T0 and the interface bytes to find the historical bytes.
    static func historical(_ atr: [UInt8]) -> [UInt8]? {
        guard atr.count >= 2 else { return nil }
        let count = Int(atr[1] & 0x0F)
        var index = 1
        var y = atr[1] >> 4
        while true {
            var td: UInt8?
            for bit in 0..<4 where y & (1 << bit) != 0 {
                index += 1
                guard index < atr.count else { return nil }
                if bit == 3 { td = atr[index] }
            }
            guard let next = td else { break }
            y = next >> 4
        }
        let start = index + 1
        guard start + count <= atr.count else { return nil }
        return Array(atr[start..<(start + count)])
    }

    /// Finds the card-capabilities object in compact-TLV historical bytes (category 0x80).
    static func cardCapabilities(_ historical: [UInt8]) -> [UInt8]? {
        guard historical.first == 0x80 else { return nil }
        var i = 1
        while i < historical.count {
            let tag = historical[i] >> 4
            let length = Int(historical[i] & 0x0F)
            let start = i + 1
            guard start + length <= historical.count else { return nil }
            if tag == 0x7 { return Array(historical[start..<(start + length)]) }
            i = start + length
        }
        return nil
    }

    /// Builds a contactless-style ATR (PC/SC Part 3 §3.1.3.2.3: 3B 8n 80 01 + historical + TCK).
    public static func contactless(historicalBytes: [UInt8]) -> [UInt8] {
        precondition(historicalBytes.count <= 15, "at most 15 historical bytes")
        var atr: [UInt8] = [0x3B, 0x80 | UInt8(historicalBytes.count), 0x80, 0x01] + historicalBytes
        atr.append(atr.dropFirst().reduce(0, ^))
        return atr
    }
}
