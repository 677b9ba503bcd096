import MRTD

/// What a chip does to its secure messaging session when it answers a failed protected command in plain.
public enum PlainErrorStatus: String, Sendable, CaseIterable {
    /// The session goes on (the chip counted the command in its SSC and protected nothing).
    case sessionKept = "kept"
    /// The chip drops the session: the next protected command gets 6987 in plain.
    case sessionClosed = "closed"
}

/// How a virtual eMRTD is personalised: the BAC key material, the files in the eMRTD application, and the
/// card's transport capabilities (for exercising the reader's adaptive READ BINARY).
public struct EMRTDProfile: Sendable {
    /// Full document number (no check digit), birth date and expiry date `YYMMDD`, as for `BACKey`.
    public var documentNumber: String
    public var birthDate: String
    public var expiryDate: String
    /// Raw file contents by file identifier (EF.COM, DGs, EF.SOD), e.g. from the LDS encoders.
    public var files: [FileID: [UInt8]]
    /// Whether the card accepts extended-length APDUs; when false, an extended APDU gets 6700.
    public var extendedLength: Bool
    /// The largest short Le READ BINARY accepts (a larger one gets 6700), 1...256.
    public var maxShortResponse: Int
    /// The largest response the card sends to an extended READ BINARY (vpcd's 2-byte framing caps it).
    public var maxExtendedResponse: Int
    /// When true (every real eMRTD), plain READ BINARY gets 6982: the files need BAC and secure messaging.
    public var requiresAccessControl: Bool
    /// PACE offered in EF.CardAccess (ICAO 9303-11 §4.4); `nil` for a BAC-only chip.
    public var pace: PACEConfiguration?
    /// Whether BAC is available; `false` makes a PACE-only chip (GET CHALLENGE and EXTERNAL AUTHENTICATE get 6D00).
    public var bacEnabled: Bool
    /// Active authentication (INTERNAL AUTHENTICATE) with this key; `nil` for a chip without AA.
    public var activeAuthentication: ActiveAuthenticationConfiguration?
    /// Chip authentication with this key; `nil` for a chip without CA.
    public var chipAuthentication: ChipAuthenticationConfiguration?
    /// How the chip answers a protected command that fails: `nil` protects the status word (DO'99'); otherwise the
    /// status word alone, without SM, as many issued chips do, keeping or closing the session.
    public var plainErrorStatus: PlainErrorStatus?
    /// EF.ATR/INFO in the master file (ISO 7816-4 §12.2.2, ICAO 9303-10 §3.11.1.2); nil: the chip has none.
    public var atrInfo: [UInt8]?
    /// Master-file EFs served instead of the ones the configuration makes (EF.CardAccess, EF.CardSecurity,
    /// EF.ATR/INFO): a hostile chip that announces what it does not do. Empty: none.
    public var masterFileReplacements: [FileID: [UInt8]] = [:]

    public init(
        documentNumber: String, birthDate: String, expiryDate: String, files: [FileID: [UInt8]],
        extendedLength: Bool = true, maxShortResponse: Int = 256, maxExtendedResponse: Int = 65_000,
        requiresAccessControl: Bool = true, pace: PACEConfiguration? = nil, bacEnabled: Bool = true
    ) {
        self.pace = pace
        self.bacEnabled = bacEnabled
        self.documentNumber = documentNumber
        self.birthDate = birthDate
        self.expiryDate = expiryDate
        self.files = files
        self.extendedLength = extendedLength
        self.maxShortResponse = maxShortResponse
        self.maxExtendedResponse = maxExtendedResponse
        self.requiresAccessControl = requiresAccessControl
    }

    /// Files in the master file, readable in plain: EF.CardAccess (and EF.CardSecurity for CAM) when PACE is
    /// offered, EF.ATR/INFO when the profile has it.
    public var masterFiles: [FileID: [UInt8]] {
        var files: [FileID: [UInt8]] = [:]
        if let pace {
            files[.cardAccess] = pace.cardAccess
            if let key = pace.chipAuthentication { files[.cardSecurity] = key.cardSecurity }
        }
        if let atrInfo { files[.atrInfo] = atrInfo }
        return files.merging(masterFileReplacements) { _, replacement in replacement }
    }

    /// The profile's BAC key. Throws `MRTDError.invalidAccessKey` for data that is not valid MRZ content.
    public func accessKey() throws(MRTDError) -> BACKey {
        try BACKey(documentNumber: documentNumber, birthDate: birthDate, expiryDate: expiryDate)
    }
}
