/// ISO/IEC 9797-1 padding method 2: append 0x80, then zeros up to a block boundary (always adds at least one byte).
public enum ISO9797Padding {
    public static func pad(_ data: [UInt8], blockSize: Int) -> [UInt8] {
        var out = data
        out.append(0x80)
        while out.count % blockSize != 0 { out.append(0x00) }
        return out
    }

    /// Removes method-2 padding strictly: the input must be whole blocks, end in 0x80 followed by at most
    /// `blockSize - 1` zeros. Returns `nil` when the padding is malformed.
    public static func unpad(_ data: [UInt8], blockSize: Int) -> [UInt8]? {
        guard !data.isEmpty, data.count % blockSize == 0 else { return nil }
        var index = data.count - 1
        while index >= 0 && data[index] == 0x00 {
            index -= 1
        }
        guard index >= 0, data[index] == 0x80, data.count - index <= blockSize else { return nil }
        return Array(data[..<index])
    }
}
