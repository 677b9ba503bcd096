import SmartCard

/// DG1 (ICAO 9303-10 §4.7.1): the MRZ as printed, in template 61 / 5F1F.
public struct DG1: Sendable, Equatable {
    public static let tag: UInt32 = 0x61

    public var mrz: MRZ

    public init(mrz: MRZ) { self.mrz = mrz }

    /// Parses DG1 and verifies every MRZ check digit.
    /// - Throws: `LDSError.invalidMRZ` wrapping the `MRZError`, or a structural `LDSError`.
    public static func parse(_ bytes: [UInt8], limits: LDSLimits = .default) throws(LDSError) -> DG1 {
        let body = try LDSCoding.template(bytes, tag: tag, file: "DG1", limits: limits)
        let data = try body.required(0x5F1F).value
        guard data.allSatisfy({ $0 < 0x80 }) else { throw .invalidText(file: "DG1", tag: 0x5F1F) }
        do {
            return DG1(mrz: try MRZ(lines: [String(decoding: data, as: UTF8.self)]))
        } catch {
            throw .invalidMRZ(error)
        }
    }

    /// 61 { 5F1F <MRZ lines concatenated> }.
    public var encoded: [UInt8] {
        TLV(tag: DG1.tag, children: [TLV(tag: 0x5F1F, value: Array(mrz.concatenated.utf8))]).encoded
    }
}
