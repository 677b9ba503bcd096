import SmartCard

/// DG11, additional personal details (ICAO 9303-10 §4.7.11). Every field is optional; text is UTF-8.
public struct DG11: Sendable, Equatable {
    public static let tag: UInt32 = 0x6B

    /// 5F0E: full name in national characters (primary and secondary identifiers separated by `<<`).
    public var fullName: String?
    /// 5F0F inside A0: other names (also read where an issuer put them bare, outside any A0 template).
    public var otherNames: [String]
    /// The chip stored the other names as bare 5F0F objects, not in an A0 template (seen in issued documents).
    public var otherNamesOutsideTemplate = false
    /// 5F10
    public var personalNumber: String?
    /// 5F2B: full date of birth, YYYYMMDD (stored as 8 ASCII digits or 4 BCD bytes).
    public var fullDateOfBirth: String?
    /// 5F11
    public var placeOfBirth: String?
    /// 5F42: permanent address, fields separated by `<`.
    public var address: String?
    /// 5F12
    public var telephone: String?
    /// 5F13
    public var profession: String?
    /// 5F14
    public var title: String?
    /// 5F15
    public var personalSummary: String?
    /// 5F16: proof of citizenship, an image (binary).
    public var proofOfCitizenship: [UInt8]?
    /// 5F17: other valid travel document numbers, separated by `<`.
    public var otherValidTDNumbers: String?
    /// 5F18: custody information.
    public var custodyInformation: String?

    public init(
        fullName: String? = nil, otherNames: [String] = [], personalNumber: String? = nil,
        fullDateOfBirth: String? = nil, placeOfBirth: String? = nil, address: String? = nil,
        telephone: String? = nil, profession: String? = nil, title: String? = nil,
        personalSummary: String? = nil, proofOfCitizenship: [UInt8]? = nil,
        otherValidTDNumbers: String? = nil, custodyInformation: String? = nil
    ) {
        self.fullName = fullName
        self.otherNames = otherNames
        self.personalNumber = personalNumber
        self.fullDateOfBirth = fullDateOfBirth
        self.placeOfBirth = placeOfBirth
        self.address = address
        self.telephone = telephone
        self.profession = profession
        self.title = title
        self.personalSummary = personalSummary
        self.proofOfCitizenship = proofOfCitizenship
        self.otherValidTDNumbers = otherValidTDNumbers
        self.custodyInformation = custodyInformation
    }

    private static var textFields: [(UInt32, WritableKeyPath<DG11, String?>)] {
        [
            (0x5F0E, \.fullName), (0x5F10, \.personalNumber), (0x5F11, \.placeOfBirth), (0x5F42, \.address),
            (0x5F12, \.telephone), (0x5F13, \.profession), (0x5F14, \.title), (0x5F15, \.personalSummary),
            (0x5F17, \.otherValidTDNumbers), (0x5F18, \.custodyInformation),
        ]
    }

    /// Parses DG11. The tag list (5C) must be present; its content is informational and not enforced.
    /// - Throws: `LDSError` for a wrong template, malformed TLV, non-UTF-8 text, a bad date or a
    ///   count (02) in A0 that disagrees with the names present.
    public static func parse(_ bytes: [UInt8], limits: LDSLimits = .default) throws(LDSError) -> DG11 {
        let body = try LDSCoding.template(bytes, tag: tag, file: "DG11", limits: limits)
        _ = try body.required(0x5C)
        var result = DG11()
        for (tag, path) in textFields { result[keyPath: path] = try body.optionalText(tag) }
        if let date = body.optional(0x5F2B) {
            result.fullDateOfBirth = try LDSCoding.dateText(date.value, tag: 0x5F2B, file: "DG11", bcdLength: 4)
        }
        result.proofOfCitizenship = body.optional(0x5F16)?.value
        result.otherNames = try LDSCoding.countedTexts(body, itemTag: 0x5F0F, element: "other names")
        let bare = body.all(0x5F0F)
        if !bare.isEmpty {
            for item in bare { result.otherNames.append(try LDSCoding.text(item.value, tag: 0x5F0F, file: "DG11")) }
            result.otherNamesOutsideTemplate = true
        }
        return result
    }

    /// 6B { 5C tag list, fields in tag order, A0 { 02 count, 5F0F … } } (or bare 5F0F objects when
    /// `otherNamesOutsideTemplate`).
    public var encoded: [UInt8] {
        var objects: [TLV] = []
        var listed: [TLV] = []
        let ordered: [(UInt32, TLV?)] = [
            (0x5F0E, LDSCoding.textObject(0x5F0E, fullName)),
            (0x5F10, LDSCoding.textObject(0x5F10, personalNumber)),
            (0x5F2B, LDSCoding.textObject(0x5F2B, fullDateOfBirth)),
            (0x5F11, LDSCoding.textObject(0x5F11, placeOfBirth)),
            (0x5F42, LDSCoding.textObject(0x5F42, address)),
            (0x5F12, LDSCoding.textObject(0x5F12, telephone)),
            (0x5F13, LDSCoding.textObject(0x5F13, profession)),
            (0x5F14, LDSCoding.textObject(0x5F14, title)),
            (0x5F15, LDSCoding.textObject(0x5F15, personalSummary)),
            (0x5F16, proofOfCitizenship.map { TLV(tag: 0x5F16, value: $0) }),
            (0x5F17, LDSCoding.textObject(0x5F17, otherValidTDNumbers)),
            (0x5F18, LDSCoding.textObject(0x5F18, custodyInformation)),
        ]
        for case let (_, object?) in ordered {
            objects.append(object)
            listed.append(object)
        }
        if otherNamesOutsideTemplate {
            objects += otherNames.map { TLV(tag: 0x5F0F, value: Array($0.utf8)) }
            if !otherNames.isEmpty { listed.append(TLV(tag: 0x5F0F, value: [])) }
        } else if let names = LDSCoding.countedTextsObject(otherNames, itemTag: 0x5F0F) {
            objects.append(names)
            listed.append(TLV(tag: 0x5F0F, value: []))
        }
        return TLV(tag: DG11.tag, children: [LDSCoding.tagList(listed)] + objects).encoded
    }
}
