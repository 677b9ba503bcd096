import SmartCard

/// DG12, additional document details (ICAO 9303-10 §4.7.12). Every field is optional; text is UTF-8.
public struct DG12: Sendable, Equatable {
    public static let tag: UInt32 = 0x6C

    /// 5F19
    public var issuingAuthority: String?
    /// 5F26: date of issue, YYYYMMDD (stored as 8 ASCII digits or 4 BCD bytes).
    public var dateOfIssue: String?
    /// 5F1A inside A0: names of other persons.
    public var otherPersons: [String]
    /// 5F1B: endorsements and observations.
    public var endorsements: String?
    /// 5F1C: tax and exit requirements.
    public var taxOrExitRequirements: String?
    /// 5F1D: image of the front of the document (binary).
    public var imageOfFront: [UInt8]?
    /// 5F1E: image of the rear of the document (binary).
    public var imageOfRear: [UInt8]?
    /// 5F55: date and time of personalisation, YYYYMMDDhhmmss (14 ASCII digits or 7 BCD bytes).
    public var personalisationTime: String?
    /// 5F56: serial number of the personalisation system.
    public var personalisationDeviceSerial: String?

    public init(
        issuingAuthority: String? = nil, dateOfIssue: String? = nil, otherPersons: [String] = [],
        endorsements: String? = nil, taxOrExitRequirements: String? = nil, imageOfFront: [UInt8]? = nil,
        imageOfRear: [UInt8]? = nil, personalisationTime: String? = nil,
        personalisationDeviceSerial: String? = nil
    ) {
        self.issuingAuthority = issuingAuthority
        self.dateOfIssue = dateOfIssue
        self.otherPersons = otherPersons
        self.endorsements = endorsements
        self.taxOrExitRequirements = taxOrExitRequirements
        self.imageOfFront = imageOfFront
        self.imageOfRear = imageOfRear
        self.personalisationTime = personalisationTime
        self.personalisationDeviceSerial = personalisationDeviceSerial
    }

    /// Parses DG12. The tag list (5C) must be present; its content is informational.
    /// - Throws: `LDSError` for a wrong template, malformed TLV, non-UTF-8 text, a bad date or a
    ///   count (02) in A0 that disagrees with the names present.
    public static func parse(_ bytes: [UInt8], limits: LDSLimits = .default) throws(LDSError) -> DG12 {
        let file = "DG12"
        let body = try LDSCoding.template(bytes, tag: tag, file: file, limits: limits)
        _ = try body.required(0x5C)
        var result = DG12()
        result.issuingAuthority = try body.optionalText(0x5F19)
        result.endorsements = try body.optionalText(0x5F1B)
        result.taxOrExitRequirements = try body.optionalText(0x5F1C)
        result.personalisationDeviceSerial = try body.optionalText(0x5F56)
        result.imageOfFront = body.optional(0x5F1D)?.value
        result.imageOfRear = body.optional(0x5F1E)?.value
        if let date = body.optional(0x5F26) {
            result.dateOfIssue = try LDSCoding.dateText(date.value, tag: 0x5F26, file: file, bcdLength: 4)
        }
        if let time = body.optional(0x5F55) {
            result.personalisationTime = try LDSCoding.dateText(time.value, tag: 0x5F55, file: file, bcdLength: 7)
        }
        result.otherPersons = try LDSCoding.countedTexts(body, itemTag: 0x5F1A, element: "other persons")
        return result
    }

    /// 6C { 5C tag list, fields in tag order, A0 { 02 count, 5F1A … } }.
    public var encoded: [UInt8] {
        let fields: [TLV?] = [
            LDSCoding.textObject(0x5F19, issuingAuthority),
            LDSCoding.textObject(0x5F26, dateOfIssue),
            LDSCoding.textObject(0x5F1B, endorsements),
            LDSCoding.textObject(0x5F1C, taxOrExitRequirements),
            imageOfFront.map { TLV(tag: 0x5F1D, value: $0) },
            imageOfRear.map { TLV(tag: 0x5F1E, value: $0) },
            LDSCoding.textObject(0x5F55, personalisationTime),
            LDSCoding.textObject(0x5F56, personalisationDeviceSerial),
        ]
        var objects = fields.compactMap { $0 }
        var listed = objects
        if let persons = LDSCoding.countedTextsObject(otherPersons, itemTag: 0x5F1A) {
            objects.append(persons)
            listed.append(TLV(tag: 0x5F1A, value: []))
        }
        return TLV(tag: DG12.tag, children: [LDSCoding.tagList(listed)] + objects).encoded
    }
}
