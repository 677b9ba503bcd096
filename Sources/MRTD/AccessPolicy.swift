/// Which chip access a read accepts (ICAO 9303-11 §4.2, §9.5.1): whether BAC may be used, and how weak a PACE domain
/// may be. Applied by `DocumentReader` to every read, enrollments and card reads alike.
public struct AccessPolicy: Sendable, Equatable {
    /// When BAC is refused.
    public enum PACERequirement: String, Sendable, Equatable, CaseIterable {
        /// BAC whenever PACE cannot run (the chip offers none, or none this reader and policy accept).
        case never
        /// BAC only for chips that offer no PACE at all: neither in EF.CardAccess nor in DG14's signed SecurityInfos
        /// (ICAO 9303-11 §9.2: a PACE chip lists its PACEInfos in DG14 too, so hiding EF.CardAccess is caught).
        case whenOffered = "when-offered"
        /// Never BAC: only PACE chips are read.
        case always
    }

    public var requirePACE: PACERequirement
    /// The weakest PACE domain accepted, as its security strength in bits (NIST SP 800-57 Part 1 §5.6.1): 112 refuses
    /// the 1024-bit MODP group (80) and the 192-bit curves (96).
    public var minimumPACESecurityBits: Int

    public init(requirePACE: PACERequirement = .whenOffered, minimumPACESecurityBits: Int = 112) {
        self.requirePACE = requirePACE
        self.minimumPACESecurityBits = minimumPACESecurityBits
    }

    /// Everything allowed: BAC whenever PACE cannot run, every standardized domain.
    public static let permissive = AccessPolicy(requirePACE: .never, minimumPACESecurityBits: 0)

    /// The security strength in bits of standardized domain `parameterID` (ICAO 9303-11 §9.5.1 Table 6; NIST SP
    /// 800-57 Part 1 Table 2: MODP 1024 → 80, 2048 → 112; a curve of n bits → n/2, P-521 → 256); 0 when unknown.
    public static func securityBits(parameterID: Int) -> Int {
        [
            0: 80, 1: 112, 2: 112, 8: 96, 9: 96, 10: 112, 11: 112, 12: 128, 13: 128, 14: 160, 15: 192, 16: 192,
            17: 256, 18: 256,
        ][parameterID] ?? 0
    }

    /// Whether `info`'s domain is strong enough.
    public func accepts(_ info: PACEInfo) -> Bool {
        Self.securityBits(parameterID: info.parameterID ?? -1) >= minimumPACESecurityBits
    }
}
