import SmartCard

/// EF.COM (ICAO 9303-10 §4.6.1): LDS and Unicode versions and the list of data groups present.
public struct EFCOM: Sendable, Equatable {
    public static let tag: UInt32 = 0x60
    public static let fileIdentifier: UInt16 = 0x011E
    public static let shortFileIdentifier: UInt8 = 0x1E

    /// LDS version as stored (tag 5F01), e.g. `0107` for LDS 1.7.
    public var ldsVersion: String
    /// Unicode version as stored (tag 5F36), e.g. `040000`.
    public var unicodeVersion: String
    /// The data groups listed in tag 5C, in the order stored.
    public var dataGroups: [DataGroup]

    public init(ldsVersion: String = "0107", unicodeVersion: String = "040000", dataGroups: [DataGroup]) {
        self.ldsVersion = ldsVersion
        self.unicodeVersion = unicodeVersion
        self.dataGroups = dataGroups
    }

    /// Parses EF.COM.
    /// - Throws: `LDSError` for a wrong template tag, missing 5F01/5F36/5C, non-digit versions or an
    ///   unknown tag in the list.
    public static func parse(_ bytes: [UInt8], limits: LDSLimits = .default) throws(LDSError) -> EFCOM {
        let file = "EF.COM"
        let body = try LDSCoding.template(bytes, tag: tag, file: file, limits: limits)
        let lds = try LDSCoding.digits(body.required(0x5F01).value, count: 4, field: "LDS version", file: file)
        let unicode = try LDSCoding.digits(
            body.required(0x5F36).value, count: 6, field: "Unicode version",
            file: file)
        var groups: [DataGroup] = []
        for byte in try body.required(0x5C).value {
            guard let group = DataGroup(tag: byte) else { throw .unknownDataGroupTag(byte) }
            guard !groups.contains(group) else {
                throw .invalidValue(file: file, field: "tag list", reason: "\(group) is listed twice")
            }
            groups.append(group)
        }
        return EFCOM(ldsVersion: lds, unicodeVersion: unicode, dataGroups: groups)
    }

    /// The DER-style encoding: 60 { 5F01 version, 5F36 Unicode version, 5C tag list }.
    public var encoded: [UInt8] {
        TLV(
            tag: EFCOM.tag,
            children: [
                TLV(tag: 0x5F01, value: Array(ldsVersion.utf8)),
                TLV(tag: 0x5F36, value: Array(unicodeVersion.utf8)),
                TLV(tag: 0x5C, value: dataGroups.map(\.tag)),
            ]
        ).encoded
    }
}
