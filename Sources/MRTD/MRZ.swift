import Foundation

/// The layouts of a machine readable zone (ICAO 9303 Parts 4, 5, 6 and 7).
public enum MRZFormat: String, Sendable, CaseIterable {
    /// ID-1 size cards: 3 lines of 30 characters (9303-5).
    case td1
    /// ID-2 size documents: 2 lines of 36 characters (9303-6).
    case td2
    /// Passport booklets: 2 lines of 44 characters (9303-4).
    case td3
    /// Visa format A: 2 lines of 44 characters, no composite check digit (9303-7).
    case mrvA
    /// Visa format B: 2 lines of 36 characters, no composite check digit (9303-7).
    case mrvB

    public var lineCount: Int { self == .td1 ? 3 : 2 }

    public var lineLength: Int {
        switch self {
        case .td1: return 30
        case .td2, .mrvB: return 36
        case .td3, .mrvA: return 44
        }
    }
}

/// The fields protected by an MRZ check digit.
public enum MRZCheckedField: String, Sendable, CustomStringConvertible {
    case documentNumber = "document number"
    case birthDate = "date of birth"
    case expiryDate = "date of expiry"
    case optionalData = "optional data (personal number)"
    case composite = "composite"

    public var description: String { rawValue }
}

/// The holder's sex as printed in the MRZ.
public enum MRZSex: String, Sendable, CaseIterable {
    case male = "M"
    case female = "F"
    /// `X`: unspecified.
    case unspecified = "X"
    /// `<`: not given (filler).
    case notGiven = "<"
}

/// Why an MRZ (or one of its fields) was refused.
public enum MRZError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The line count or line lengths match none of TD1 (3×30), TD2 (2×36) or TD3 (2×44).
    case invalidLayout(lineLengths: [Int])
    /// A character outside `A`–`Z`, `0`–`9` and `<`; line and position are 1-based.
    case invalidCharacter(line: Int, position: Int, character: Character)
    /// A check digit does not match the data it protects.
    case checkDigitMismatch(field: MRZCheckedField, expected: Character, found: Character)
    /// A check digit position holds something other than a digit (or an allowed filler).
    case invalidCheckDigit(field: MRZCheckedField, found: Character)
    /// A TD1/TD2 long document number (check digit position `<`) whose remainder is missing.
    case malformedLongDocumentNumber
    /// A date field (or date value) that is not a valid YYMMDD date.
    case invalidDate(field: String, value: String)
    /// The sex position holds something other than `M`, `F`, `X` or `<`.
    case invalidSex(Character)
    /// A field given to the encoder does not fit its MRZ position.
    case fieldTooLong(field: String, length: Int, maximum: Int)
    /// A field given to the encoder contains a character that cannot be written in an MRZ.
    case invalidFieldCharacter(field: String, character: Character)
    /// The encoder was asked for a layout it does not produce.
    case unsupportedFormat(MRZFormat)

    public var description: String {
        switch self {
        case let .invalidLayout(lengths):
            return "MRZ has \(lengths.count) line(s) of length \(lengths.map(String.init).joined(separator: "/")); "
                + "expected 3×30 (TD1, ID card), 2×36 (TD2) or 2×44 (TD3, passport)"
        case let .invalidCharacter(line, position, character):
            let hint = character.isLowercase ? " (MRZ text is upper case only)" : ""
            return "MRZ line \(line) position \(position): character '\(character)' is not allowed\(hint); "
                + "only A-Z, 0-9 and '<' may appear"
        case let .checkDigitMismatch(field, expected, found):
            return "MRZ \(field) check digit is '\(found)' but the data gives '\(expected)': "
                + "re-scan or re-type the MRZ"
        case let .invalidCheckDigit(field, found):
            return "MRZ \(field) check digit position holds '\(found)', which is not a digit"
        case .malformedLongDocumentNumber:
            return "MRZ document number is marked as longer than 9 characters but its remainder and check digit "
                + "are missing from the optional data"
        case let .invalidDate(field, _):
            return "MRZ \(field) is not a valid YYMMDD date"
        case let .invalidSex(character):
            return "MRZ sex '\(character)' is not one of M, F, X or '<'"
        case let .fieldTooLong(field, length, maximum):
            return "MRZ \(field) has \(length) characters; at most \(maximum) fit"
        case let .invalidFieldCharacter(field, character):
            return "MRZ \(field) contains '\(character)', which cannot be written in an MRZ"
        case let .unsupportedFormat(format):
            return "MRZ encoding of \(format.rawValue) is not supported"
        }
    }
}

/// A calendar date resolved from an MRZ YYMMDD field.
public struct MRZDate: Sendable, Equatable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Validates the date on the proleptic Gregorian calendar.
    /// - Throws: `MRZError.invalidDate` when the month or day does not exist.
    public init(year: Int, month: Int, day: Int) throws(MRZError) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...MRZDate.daysIn(month: month, year: year)).contains(day)
        else { throw .invalidDate(field: "date", value: "\(year)-\(month)-\(day)") }
        self.year = year
        self.month = month
        self.day = day
    }

    public static func < (lhs: MRZDate, rhs: MRZDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// ISO 8601 (`YYYY-MM-DD`).
    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Today's date in UTC.
    public static func today(now: Date = Date()) -> MRZDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        let fallback = MRZDate(unchecked: 2000, 1, 1)
        guard let year = parts.year, let month = parts.month, let day = parts.day else { return fallback }
        return (try? MRZDate(year: year, month: month, day: day)) ?? fallback
    }

    /// Resolves a YYMMDD birth date: the latest century that does not put the date after `today`.
    public static func birthDate(yymmdd: String, today: MRZDate = .today()) throws(MRZError) -> MRZDate {
        let (yy, month, day) = try split(yymmdd, field: "date of birth")
        let recent = 2000 + yy
        if let date = try? MRZDate(year: recent, month: month, day: day), date <= today { return date }
        do {
            return try MRZDate(year: 1900 + yy, month: month, day: day)
        } catch {
            throw .invalidDate(field: "date of birth", value: yymmdd)
        }
    }

    /// Resolves a YYMMDD expiry date in the 20xx window.
    public static func expiryDate(yymmdd: String) throws(MRZError) -> MRZDate {
        let (yy, month, day) = try split(yymmdd, field: "date of expiry")
        do {
            return try MRZDate(year: 2000 + yy, month: month, day: day)
        } catch {
            throw .invalidDate(field: "date of expiry", value: yymmdd)
        }
    }

    private init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    private static func split(_ yymmdd: String, field: String) throws(MRZError) -> (Int, Int, Int) {
        let digits = Array(yymmdd.utf8)
        guard digits.count == 6, digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .invalidDate(field: field, value: yymmdd)
        }
        let value = digits.map { Int($0 - 0x30) }
        return (value[0] * 10 + value[1], value[2] * 10 + value[3], value[4] * 10 + value[5])
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// The fields of an MRZ, as given to the encoder and as read back by the parser.
///
/// Text fields hold the MRZ characters without trailing fillers; names use spaces between
/// components. Dates are `YYMMDD`.
public struct MRZFields: Sendable, Equatable {
    /// e.g. `P`, `I`, `ID`, `AC`.
    public var documentCode: String
    /// Three-letter code (9303-3 §5), e.g. `UTO`, `D`.
    public var issuingState: String
    public var primaryIdentifier: String
    public var secondaryIdentifier: String
    /// The full document number (may exceed 9 characters for TD1/TD2).
    public var documentNumber: String
    public var nationality: String
    public var birthDate: String
    public var sex: MRZSex
    public var expiryDate: String
    /// TD3: personal number; TD1: optional data of line 1 (after a long document number);
    /// TD2 and visas: the optional data.
    public var optionalData: String
    /// TD1 only: the optional data of line 2.
    public var optionalData2: String

    public init(
        documentCode: String, issuingState: String, primaryIdentifier: String,
        secondaryIdentifier: String, documentNumber: String, nationality: String,
        birthDate: String, sex: MRZSex, expiryDate: String,
        optionalData: String = "", optionalData2: String = ""
    ) {
        self.documentCode = documentCode
        self.issuingState = issuingState
        self.primaryIdentifier = primaryIdentifier
        self.secondaryIdentifier = secondaryIdentifier
        self.documentNumber = documentNumber
        self.nationality = nationality
        self.birthDate = birthDate
        self.sex = sex
        self.expiryDate = expiryDate
        self.optionalData = optionalData
        self.optionalData2 = optionalData2
    }
}

/// A parsed, check-digit-verified machine readable zone (ICAO 9303 Parts 3–7).
public struct MRZ: Sendable, Equatable, CustomStringConvertible {
    public let format: MRZFormat
    /// The MRZ lines exactly as verified.
    public let lines: [String]
    public let fields: MRZFields
    /// The check digit over the full document number (a BAC key input with the number).
    public let documentNumberCheckDigit: Character

    public var documentCode: String { fields.documentCode }
    public var issuingState: String { fields.issuingState }
    /// The full document number without fillers (BAC key input).
    public var documentNumber: String { fields.documentNumber }
    public var primaryIdentifier: String { fields.primaryIdentifier }
    public var secondaryIdentifier: String { fields.secondaryIdentifier }
    public var nationality: String { fields.nationality }
    /// `YYMMDD` (BAC key input).
    public var birthDate: String { fields.birthDate }
    public var sex: MRZSex { fields.sex }
    /// `YYMMDD` (BAC key input).
    public var expiryDate: String { fields.expiryDate }
    public var optionalData: String { fields.optionalData }
    public var optionalData2: String { fields.optionalData2 }

    /// The lines joined without separators, as stored in DG1 (tag 5F1F).
    public var concatenated: String { lines.joined() }

    /// The lines separated by newlines. Contains personal data: never log it.
    public var text: String { lines.joined(separator: "\n") }

    /// A log-safe summary: the layout only, no personal data.
    public var description: String { "MRZ(\(format.rawValue))" }

    /// The birth date resolved to a calendar date (not in the future relative to `today`).
    public func resolvedBirthDate(today: MRZDate = .today()) throws(MRZError) -> MRZDate {
        try MRZDate.birthDate(yymmdd: birthDate, today: today)
    }

    /// The expiry date resolved to a calendar date in the 20xx window.
    public func resolvedExpiryDate() throws(MRZError) -> MRZDate {
        try MRZDate.expiryDate(yymmdd: expiryDate)
    }

    /// Parses MRZ text: lines separated by newlines (surrounding whitespace trimmed, blank lines
    /// ignored), or a single concatenated string of 90 (TD1), 72 (TD2) or 88 (TD3) characters.
    /// - Throws: `MRZError` naming the layout problem, the bad character's position or the failed check.
    public init(parsing text: String) throws(MRZError) {
        let lines = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        try self.init(lines: lines)
    }

    /// Parses MRZ lines (or one concatenated line) and verifies every check digit.
    public init(lines input: [String]) throws(MRZError) {
        for (lineIndex, line) in input.enumerated() {
            for (position, character) in line.enumerated()
            where !(character.asciiValue.map(MRZ.isMRZCharacter) ?? false) {
                throw .invalidCharacter(line: lineIndex + 1, position: position + 1, character: character)
            }
        }
        var raw = input.map { Array($0.utf8) }
        if raw.count == 1 {
            let total = raw[0].count
            let split: (count: Int, length: Int)? =
                total == 90 ? (3, 30) : total == 72 ? (2, 36) : total == 88 ? (2, 44) : nil
            if let split {
                let joined = raw[0]
                raw = (0..<split.count).map { Array(joined[($0 * split.length)..<(($0 + 1) * split.length)]) }
            }
        }
        let format = try MRZ.layout(of: raw)
        self = try MRZParser(format: format, lines: raw).parse()
    }

    fileprivate init(format: MRZFormat, lines: [[UInt8]], fields: MRZFields, documentNumberCheckDigit: Character) {
        self.format = format
        self.lines = lines.map { String(decoding: $0, as: UTF8.self) }
        self.fields = fields
        self.documentNumberCheckDigit = documentNumberCheckDigit
    }

    /// The ICAO 9303-3 §4.9 check digit (weights 7, 3, 1; `<` counts 0, `A`–`Z` count 10–35).
    /// Returns `nil` if `data` holds a character that is not allowed in an MRZ.
    public static func checkDigit(_ data: String) -> Character? {
        guard let digit = checkDigit(bytes: Array(data.utf8)) else { return nil }
        return Character(Unicode.Scalar(digit))
    }

    static func checkDigit(bytes: [UInt8]) -> UInt8? {
        var sum = 0
        for (index, byte) in bytes.enumerated() {
            guard let value = checkDigitValue(of: byte) else { return nil }
            sum += value * checkDigitWeight(at: index)
        }
        return UInt8(0x30 + sum % 10)
    }

    /// A character's value in the check digit sum (ICAO 9303-3 §4.9): `0`–`9` count 0–9, `A`–`Z` 10–35,
    /// `<` 0; `nil` for anything else. For correcting OCR readings field by field.
    public static func checkDigitValue(of byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: return Int(byte - 0x30)
        case 0x41...0x5A: return Int(byte - 0x41) + 10
        case 0x3C: return 0
        default: return nil
        }
    }

    /// The weight of the character at `index` (0-based) of a checked field: 7, 3, 1, repeated (9303-3 §4.9).
    public static func checkDigitWeight(at index: Int) -> Int { [7, 3, 1][index % 3] }

    static func isMRZCharacter(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || byte == 0x3C
    }

    private static func layout(of lines: [[UInt8]]) throws(MRZError) -> MRZFormat {
        let lengths = lines.map(\.count)
        let isVisa = lines.first?.first == UInt8(ascii: "V")
        switch (lines.count, lengths.allSatisfy { $0 == lengths.first }, lengths.first ?? 0) {
        case (3, true, 30): return .td1
        case (2, true, 36): return isVisa ? .mrvB : .td2
        case (2, true, 44): return isVisa ? .mrvA : .td3
        default: throw .invalidLayout(lineLengths: lengths)
        }
    }
}

/// Where each field sits, as ranges over the lines joined together (9303-4 §4.2.2, 9303-5 §4.2.2,
/// 9303-6 §4.2.2, 9303-7 §4.2.2). Public for readers that check fields one by one (OCR correction).
public struct MRZLayout: Sendable {
    public let documentCode: Range<Int>
    public let issuingState: Range<Int>
    public let name: Range<Int>
    public let documentNumber: Range<Int>
    public let documentNumberCheck: Int
    public let nationality: Range<Int>
    public let birthDate: Range<Int>
    public let birthDateCheck: Int
    public let sex: Int
    public let expiryDate: Range<Int>
    public let expiryDateCheck: Int
    /// TD1: optional data of line 1; otherwise the optional data (personal number) of line 2.
    public let optionalData: Range<Int>
    /// TD3 only: the personal number's check digit.
    public let optionalDataCheck: Int?
    /// TD1 only.
    public let optionalData2: Range<Int>?
    /// The spans the composite check digit covers, and where it sits (none on visas).
    public let composite: [Range<Int>]
    public let compositeCheck: Int?
    /// TD1/TD2: numbers above 9 characters continue in the optional data.
    public let allowsLongDocumentNumber: Bool

    public init(_ format: MRZFormat) {
        if format == .td1 {
            (documentCode, issuingState, documentNumber, documentNumberCheck) = (0..<2, 2..<5, 5..<14, 14)
            (optionalData, birthDate, birthDateCheck, sex) = (15..<30, 30..<36, 36, 37)
            (expiryDate, expiryDateCheck, nationality, optionalData2) = (38..<44, 44, 45..<48, 48..<59)
            (composite, compositeCheck, name) = ([5..<30, 30..<37, 38..<45, 48..<59], 59, 60..<90)
            (optionalDataCheck, allowsLongDocumentNumber) = (nil, true)
            return
        }
        let b = format.lineLength
        (documentCode, issuingState, name, optionalData2) = (0..<2, 2..<5, 5..<b, nil)
        (documentNumber, documentNumberCheck, nationality) = (b..<(b + 9), b + 9, (b + 10)..<(b + 13))
        (birthDate, birthDateCheck, sex) = ((b + 13)..<(b + 19), b + 19, b + 20)
        (expiryDate, expiryDateCheck) = ((b + 21)..<(b + 27), b + 27)
        let line2 = [b..<(b + 10), (b + 13)..<(b + 20)]
        switch format {
        case .td2:
            (optionalData, optionalDataCheck) = ((b + 28)..<(b + 35), nil)
            (composite, compositeCheck, allowsLongDocumentNumber) = (line2 + [(b + 21)..<(b + 35)], b + 35, true)
        case .td3:
            (optionalData, optionalDataCheck) = ((b + 28)..<(b + 42), b + 42)
            (composite, compositeCheck, allowsLongDocumentNumber) = (line2 + [(b + 21)..<(b + 43)], b + 43, false)
        default:
            (optionalData, optionalDataCheck) = ((b + 28)..<(2 * b), nil)
            (composite, compositeCheck, allowsLongDocumentNumber) = ([], nil, false)
        }
    }
}

/// Reads the fields of a layout-checked MRZ and verifies its check digits.
private struct MRZParser {
    let format: MRZFormat
    let lines: [[UInt8]]

    func parse() throws(MRZError) -> MRZ {
        let layout = MRZLayout(format)
        let mrz = Array(lines.joined())
        let number: String
        let numberCheck: Character
        let optional: String
        if layout.allowsLongDocumentNumber {
            (number, numberCheck, optional) = try documentNumber(
                mrz[layout.documentNumber], check: mrz[layout.documentNumberCheck], optional: mrz[layout.optionalData])
        } else {
            try verify(.documentNumber, mrz[layout.documentNumber], check: mrz[layout.documentNumberCheck])
            number = text(mrz[layout.documentNumber])
            numberCheck = Character(Unicode.Scalar(mrz[layout.documentNumberCheck]))
            optional = text(mrz[layout.optionalData])
        }
        try verify(.birthDate, mrz[layout.birthDate], check: mrz[layout.birthDateCheck])
        try verify(.expiryDate, mrz[layout.expiryDate], check: mrz[layout.expiryDateCheck])
        if let check = layout.optionalDataCheck {
            try verify(.optionalData, mrz[layout.optionalData], check: mrz[check], fillerAllowed: true)
        }
        if let check = layout.compositeCheck {
            try verify(.composite, layout.composite.flatMap { mrz[$0] }, check: mrz[check])
        }
        let (primary, secondary) = names(mrz[layout.name])
        let fields = MRZFields(
            documentCode: text(mrz[layout.documentCode]), issuingState: text(mrz[layout.issuingState]),
            primaryIdentifier: primary, secondaryIdentifier: secondary,
            documentNumber: number, nationality: text(mrz[layout.nationality]),
            birthDate: try date(mrz[layout.birthDate], field: "date of birth"), sex: try sex(mrz[layout.sex]),
            expiryDate: try date(mrz[layout.expiryDate], field: "date of expiry"),
            optionalData: optional, optionalData2: layout.optionalData2.map { text(mrz[$0]) } ?? "")
        return MRZ(format: format, lines: lines, fields: fields, documentNumberCheckDigit: numberCheck)
    }

    /// TD1/TD2 document number, including the long form of 9303-5 §4.2.2 (note j): the check
    /// digit position holds `<` and the optional data starts with the rest of the number, then
    /// its check digit, then `<`.
    private func documentNumber(
        _ first: ArraySlice<UInt8>, check: UInt8, optional: ArraySlice<UInt8>
    )
        throws(MRZError) -> (String, Character, String)
    {
        guard check == UInt8(ascii: "<") else {
            try verify(.documentNumber, first, check: check)
            return (text(first), Character(Unicode.Scalar(check)), text(optional))
        }
        let filler = UInt8(ascii: "<")
        let end = optional.firstIndex(of: filler) ?? optional.endIndex
        let overflow = optional[optional.startIndex..<end]
        guard overflow.count >= 2, !first.contains(filler) else { throw .malformedLongDocumentNumber }
        let remainder = overflow.dropLast()
        let digit = overflow[overflow.endIndex - 1]
        let full = Array(first) + Array(remainder)
        try verify(.documentNumber, full, check: digit)
        let rest = end < optional.endIndex ? optional[(end + 1)...] : []
        return (text(full), Character(Unicode.Scalar(digit)), text(rest))
    }

    private func verify<C: Collection>(
        _ field: MRZCheckedField, _ data: C, check: UInt8,
        fillerAllowed: Bool = false
    ) throws(MRZError) where C.Element == UInt8 {
        let found = Character(Unicode.Scalar(check))
        if fillerAllowed, check == UInt8(ascii: "<"), data.allSatisfy({ $0 == UInt8(ascii: "<") }) { return }
        guard (0x30...0x39).contains(check) else { throw .invalidCheckDigit(field: field, found: found) }
        guard let expected = MRZ.checkDigit(bytes: Array(data)) else {
            throw .invalidCheckDigit(field: field, found: found)
        }
        guard expected == check else {
            throw .checkDigitMismatch(field: field, expected: Character(Unicode.Scalar(expected)), found: found)
        }
    }

    private func date(_ bytes: ArraySlice<UInt8>, field: String) throws(MRZError) -> String {
        guard bytes.allSatisfy({ (0x30...0x39).contains($0) || $0 == UInt8(ascii: "<") }) else {
            throw .invalidDate(field: field, value: String(decoding: bytes, as: UTF8.self))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func sex(_ byte: UInt8) throws(MRZError) -> MRZSex {
        let character = Character(Unicode.Scalar(byte))
        guard let sex = MRZSex(rawValue: String(character)) else { throw .invalidSex(character) }
        return sex
    }

    /// Field text without trailing fillers.
    private func text<C: BidirectionalCollection>(_ bytes: C) -> String where C.Element == UInt8 {
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[bytes.index(before: end)] == UInt8(ascii: "<") {
            end = bytes.index(before: end)
        }
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }

    /// Primary and secondary identifiers, split on the first `<<`, fillers turned into spaces.
    private func names(_ bytes: ArraySlice<UInt8>) -> (String, String) {
        let filler = UInt8(ascii: "<")
        var split: Int?
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            if bytes[index] == filler, bytes[index + 1] == filler {
                split = index
                break
            }
            index += 1
        }
        func words(_ part: ArraySlice<UInt8>) -> String {
            part.split(separator: filler).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        }
        guard let split else { return (words(bytes), "") }
        return (words(bytes[bytes.startIndex..<split]), words(bytes[(split + 2)...]))
    }
}

extension MRZ {
    /// Builds a valid TD1, TD2 or TD3 MRZ from fields, computing every check digit (9303-4 §4.2,
    /// 9303-5 §4.2, 9303-6 §4.2). Names are upper-cased, spaces and hyphens become fillers,
    /// apostrophes are dropped, and a name that is too long is cut to fit. Document numbers longer
    /// than 9 characters use the TD1/TD2 long form.
    /// - Throws: `MRZError.fieldTooLong` or `.invalidFieldCharacter` for a field that cannot be written;
    ///   `.unsupportedFormat` for visa layouts.
    public init(encoding fields: MRZFields, format: MRZFormat) throws(MRZError) {
        guard format == .td1 || format == .td2 || format == .td3 else { throw .unsupportedFormat(format) }
        let encoder = MRZEncoder(fields: fields, layout: MRZLayout(format))
        let bytes = try encoder.encode(length: format.lineLength * format.lineCount)
        let lines = (0..<format.lineCount).map { line in
            String(decoding: bytes[(line * format.lineLength)..<((line + 1) * format.lineLength)], as: UTF8.self)
        }
        try self.init(lines: lines)
    }
}

private struct MRZEncoder {
    let fields: MRZFields
    let layout: MRZLayout
    private static let filler = UInt8(ascii: "<")

    func encode(length: Int) throws(MRZError) -> [UInt8] {
        var mrz = [UInt8](repeating: Self.filler, count: length)
        /// Writes `value` (already checked to fit) at the start of `range`; the rest stays filler.
        func put(_ value: [UInt8], _ range: Range<Int>) {
            mrz.replaceSubrange(range.lowerBound..<(range.lowerBound + value.count), with: value)
        }
        put(try padded(fields.documentCode, "document code", layout.documentCode.count), layout.documentCode)
        put(try padded(fields.issuingState, "issuing state", layout.issuingState.count), layout.issuingState)
        put(try name(width: layout.name.count), layout.name)
        put(try padded(fields.nationality, "nationality", layout.nationality.count), layout.nationality)
        put(try date(fields.birthDate, "date of birth"), layout.birthDate)
        put(try date(fields.expiryDate, "date of expiry"), layout.expiryDate)
        mrz[layout.sex] = Array(fields.sex.rawValue.utf8)[0]
        if let range = layout.optionalData2 {
            put(try padded(fields.optionalData2, "optional data 2", range.count), range)
        }
        let number = try characters(fields.documentNumber, "document number")
        let optionalWidth = layout.optionalData.count
        if number.count > layout.documentNumber.count, layout.allowsLongDocumentNumber {
            put(Array(number[0..<9]), layout.documentNumber)
            var overflow = Array(number[9...]) + [digit(number)]
            let optional = try characters(fields.optionalData, "optional data")
            if !optional.isEmpty { overflow += [Self.filler] + optional }
            guard overflow.count <= optionalWidth else {
                throw .fieldTooLong(
                    field: "document number and optional data",
                    length: number.count + optional.count, maximum: 9 + optionalWidth - 2)
            }
            put(overflow, layout.optionalData)
        } else {
            put(try padded(fields.documentNumber, "document number", 9), layout.documentNumber)
            mrz[layout.documentNumberCheck] = digit(Array(mrz[layout.documentNumber]))
            put(try padded(fields.optionalData, "optional data", optionalWidth), layout.optionalData)
        }
        mrz[layout.birthDateCheck] = digit(Array(mrz[layout.birthDate]))
        mrz[layout.expiryDateCheck] = digit(Array(mrz[layout.expiryDate]))
        if let check = layout.optionalDataCheck {
            let personal = Array(mrz[layout.optionalData])
            mrz[check] = personal.allSatisfy { $0 == Self.filler } ? Self.filler : digit(personal)
        }
        if let check = layout.compositeCheck { mrz[check] = digit(layout.composite.flatMap { mrz[$0] }) }
        return mrz
    }

    private func name(width: Int) throws(MRZError) -> [UInt8] {
        let primary = try nameCharacters(fields.primaryIdentifier, "primary identifier")
        let secondary = try nameCharacters(fields.secondaryIdentifier, "secondary identifier")
        var out = primary
        if !secondary.isEmpty { out += [Self.filler, Self.filler] + secondary }
        return Array(out.prefix(width))
    }

    private func nameCharacters(_ value: String, _ field: String) throws(MRZError) -> [UInt8] {
        var out: [UInt8] = []
        for character in value.uppercased() {
            if character == " " || character == "-" {
                out.append(Self.filler)
            } else if character == "'" {
                continue
            } else if let ascii = character.asciiValue, MRZ.isMRZCharacter(ascii) {
                out.append(ascii)
            } else {
                throw .invalidFieldCharacter(field: field, character: character)
            }
        }
        return out
    }

    private func characters(_ value: String, _ field: String) throws(MRZError) -> [UInt8] {
        var out: [UInt8] = []
        for character in value {
            guard let ascii = character.asciiValue, MRZ.isMRZCharacter(ascii) else {
                throw .invalidFieldCharacter(field: field, character: character)
            }
            out.append(ascii)
        }
        return out
    }

    /// The field's characters, checked to fit `width` (the rest stays filler).
    private func padded(_ value: String, _ field: String, _ width: Int) throws(MRZError) -> [UInt8] {
        let bytes = try characters(value, field)
        guard bytes.count <= width else { throw .fieldTooLong(field: field, length: bytes.count, maximum: width) }
        return bytes
    }

    private func date(_ value: String, _ field: String) throws(MRZError) -> [UInt8] {
        let bytes = Array(value.utf8)
        guard bytes.count == 6, bytes.allSatisfy({ (0x30...0x39).contains($0) || $0 == Self.filler }) else {
            throw .invalidDate(field: field, value: value)
        }
        return bytes
    }

    /// Only called on bytes already checked to be MRZ characters.
    private func digit(_ data: [UInt8]) -> UInt8 { MRZ.checkDigit(bytes: data) ?? UInt8(ascii: "0") }
}
