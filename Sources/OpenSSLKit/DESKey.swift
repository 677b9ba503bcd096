/// DES key utilities (FIPS 46-3).
public enum DESKey {
    /// Sets the least significant bit of every byte so that each byte has odd parity, as ICAO 9303-11 §9.7.1
    /// requires for derived 3DES keys.
    public static func adjustParity(_ key: [UInt8]) -> [UInt8] {
        key.map { byte in
            let high = byte & 0xFE
            return high.nonzeroBitCount % 2 == 0 ? high | 0x01 : high
        }
    }
}
