import SmartCard

/// An elementary file identifier in the eMRTD application or the master file (ICAO 9303-10 §3.11, §4.6).
public struct FileID: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// EF.COM: the LDS version and the list of data groups present.
    public static let com = FileID(rawValue: 0x011E)
    /// EF.SOD: the document security object (passive authentication).
    public static let sod = FileID(rawValue: 0x011D)
    /// EF.CardAccess in the master file (PACE parameters).
    public static let cardAccess = FileID(rawValue: 0x011C)
    /// EF.CardSecurity in the master file.
    public static let cardSecurity = FileID(rawValue: 0x011D)
    /// EF.ATR/INFO in the master file (ISO 7816-4 §8.2.1.1): extended-length and buffer-size information.
    public static let atrInfo = FileID(rawValue: 0x2F01)

    public static let dg1 = FileID(rawValue: 0x0101)
    public static let dg2 = FileID(rawValue: 0x0102)
    public static let dg3 = FileID(rawValue: 0x0103)
    public static let dg7 = FileID(rawValue: 0x0107)
    public static let dg11 = FileID(rawValue: 0x010B)
    public static let dg12 = FileID(rawValue: 0x010C)
    public static let dg13 = FileID(rawValue: 0x010D)
    public static let dg14 = FileID(rawValue: 0x010E)
    public static let dg15 = FileID(rawValue: 0x010F)
    public static let dg16 = FileID(rawValue: 0x0110)

    /// The file of data group `number` (1...16), or `nil`.
    public static func dataGroup(_ number: Int) -> FileID? {
        guard (1...16).contains(number) else { return nil }
        return FileID(rawValue: 0x0100 | UInt16(number))
    }

    /// The data group number of this file (1...16), or `nil` when it is not a data group.
    public var dataGroupNumber: Int? {
        let low = Int(rawValue & 0xFF)
        return rawValue & 0xFF00 == 0x0100 && (1...16).contains(low) ? low : nil
    }

    /// The data group file for an LDS tag as listed in EF.COM (ICAO 9303-10 Table 34: '61' DG1, '75' DG2, ...).
    public init?(dataGroupTag tag: UInt8) {
        let tags: [UInt8] = [
            0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68,
            0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70,
        ]
        guard let index = tags.firstIndex(of: tag), let file = FileID.dataGroup(index + 1) else { return nil }
        self = file
    }

    /// The short EF identifier (ICAO 9303-10 Table 39): DGn → n, EF.SOD → 0x1D, EF.COM → 0x1E.
    public var shortFileIdentifier: UInt8? {
        if let number = dataGroupNumber { return UInt8(number) }
        switch rawValue {
        case 0x011E: return 0x1E
        case 0x011D: return 0x1D
        case 0x011C: return 0x1C
        default: return nil
        }
    }

    /// The file with short EF identifier `sfi` in the eMRTD application, or `nil`.
    public init?(shortFileIdentifier sfi: UInt8) {
        switch sfi {
        case 1...16: self.init(rawValue: 0x0100 | UInt16(sfi))
        case 0x1D, 0x1E: self.init(rawValue: 0x0100 | UInt16(sfi))
        default: return nil
        }
    }

    /// The two FID bytes as sent in SELECT.
    public var bytes: [UInt8] { [UInt8(rawValue >> 8), UInt8(rawValue & 0xFF)] }

    public static func < (lhs: FileID, rhs: FileID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        if let number = dataGroupNumber { return "DG\(number)" }
        switch rawValue {
        case 0x011E: return "EF.COM"
        case 0x011D: return "EF.SOD"
        case 0x011C: return "EF.CardAccess"
        case 0x2F01: return "EF.ATR/INFO"
        default: return "EF " + hex(bytes)
        }
    }
}
