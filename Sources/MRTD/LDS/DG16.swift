import SmartCard

/// DG16, persons to notify (ICAO 9303-10 §4.7.16): template '70' { '02' count, 'A1' { person }, 'A2' { person }, … },
/// each person { '5F50' date data recorded, '5F51' name, '5F52' telephone, '5F53' address }. Text is UTF-8.
public struct DG16: Sendable, Equatable {
    public static let tag: UInt32 = 0x70

    public struct Person: Sendable, Equatable {
        /// 5F50: date the data was recorded, YYYYMMDD (8 ASCII digits or 4 BCD bytes).
        public var dateRecorded: String?
        /// 5F51: name (primary and secondary identifiers separated by `<<`).
        public var name: String?
        /// 5F52
        public var telephone: String?
        /// 5F53: address, fields separated by `<`.
        public var address: String?

        public init(dateRecorded: String? = nil, name: String? = nil, telephone: String? = nil, address: String? = nil)
        {
            self.dateRecorded = dateRecorded
            self.name = name
            self.telephone = telephone
            self.address = address
        }
    }

    public var persons: [Person]

    public init(persons: [Person]) { self.persons = persons }

    /// Parses DG16. Throws `LDSError` for a wrong template, a count (02) that disagrees with the person templates
    /// (context tags A1…AF), more than `limits.maxFaces` persons, non-UTF-8 text or a bad date.
    public static func parse(_ bytes: [UInt8], limits: LDSLimits = .default) throws(LDSError) -> DG16 {
        let body = try LDSCoding.template(bytes, tag: tag, file: "DG16", limits: limits)
        let templates = body.items.filter { (0xA1...0xAF).contains($0.tag) }
        try LDSCoding.checkCount(body, found: templates.count, element: "person to notify")
        guard templates.count <= limits.maxFaces else {
            throw .invalidValue(file: "DG16", field: "number of persons", reason: "above \(limits.maxFaces)")
        }
        var persons: [Person] = []
        for template in templates {
            let fields = try body.nested(template)
            var person = Person(
                name: try fields.optionalText(0x5F51), telephone: try fields.optionalText(0x5F52),
                address: try fields.optionalText(0x5F53))
            if let date = fields.optional(0x5F50) {
                person.dateRecorded = try LDSCoding.dateText(date.value, tag: 0x5F50, file: "DG16", bcdLength: 4)
            }
            persons.append(person)
        }
        return DG16(persons: persons)
    }

    /// 70 { 02 count, A1 { 5F50, 5F51, 5F52, 5F53 }, A2 { … } }.
    public var encoded: [UInt8] {
        let count = TLV(tag: 0x02, value: [UInt8(truncatingIfNeeded: persons.count)])
        let templates = persons.enumerated().map { index, person in
            TLV(
                tag: 0xA1 + UInt32(min(index, 14)),
                children: [
                    LDSCoding.textObject(0x5F50, person.dateRecorded), LDSCoding.textObject(0x5F51, person.name),
                    LDSCoding.textObject(0x5F52, person.telephone), LDSCoding.textObject(0x5F53, person.address),
                ].compactMap { $0 })
        }
        return TLV(tag: DG16.tag, children: [count] + templates).encoded
    }
}
