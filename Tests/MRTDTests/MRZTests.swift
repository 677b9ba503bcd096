import XCTest
@testable import MRTD

/// ICAO 9303 specimen MRZs (Part 4 Appendix A, Part 5 Appendix A, Part 6 Appendix A); their check
/// digits were recomputed independently of this code.
final class MRZTests: XCTestCase {
    static let td3 = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ]
    static let td1 = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ]
    static let td2 = [
        "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "D231458907UTO7408122F1204159<<<<<<<6",
    ]
    /// TD1 with a 12-character document number (9303-5 §4.2.2 note j): the check digit position
    /// holds '<', the optional data starts with "123", the check digit 3 and a filler.
    static let td1Long = [
        "I<UTOD23145890<1233<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<2",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ]

    // MARK: Known answers

    func testCheckDigitKnownAnswers() {
        XCTAssertEqual(MRZ.checkDigit("L898902C<"), "3")
        XCTAssertEqual(MRZ.checkDigit("L898902C3"), "6")
        XCTAssertEqual(MRZ.checkDigit("740812"), "2")
        XCTAssertEqual(MRZ.checkDigit("120415"), "9")
        XCTAssertEqual(MRZ.checkDigit("D23145890"), "7")
        XCTAssertEqual(MRZ.checkDigit("ZE184226B<<<<<"), "1")
        XCTAssertEqual(MRZ.checkDigit(""), "0")
        XCTAssertNil(MRZ.checkDigit("abc"))
    }

    /// The specimen holder (ANNA MARIA ERIKSSON of Utopia) as the parser should report her.
    static func specimenFields(code: String, number: String, optionalData: String = "") -> MRZFields {
        MRZFields(
            documentCode: code, issuingState: "UTO", primaryIdentifier: "ERIKSSON",
            secondaryIdentifier: "ANNA MARIA", documentNumber: number, nationality: "UTO",
            birthDate: "740812", sex: .female, expiryDate: "120415", optionalData: optionalData)
    }

    func testTD3Specimen() throws {
        let mrz = try MRZ(parsing: Self.td3.joined(separator: "\n"))
        XCTAssertEqual(mrz.format, .td3)
        XCTAssertEqual(mrz.fields, Self.specimenFields(code: "P", number: "L898902C3", optionalData: "ZE184226B"))
        XCTAssertEqual(mrz.documentNumber, "L898902C3")
        XCTAssertEqual(mrz.documentNumberCheckDigit, "6")
        XCTAssertEqual(mrz.secondaryIdentifier, "ANNA MARIA")
        XCTAssertEqual(mrz.lines, Self.td3)
        XCTAssertEqual(
            try mrz.resolvedBirthDate(today: MRZDate(year: 2026, month: 1, day: 1)),
            try MRZDate(year: 1974, month: 8, day: 12))
        XCTAssertEqual(try mrz.resolvedExpiryDate(), try MRZDate(year: 2012, month: 4, day: 15))
    }

    func testTD1Specimen() throws {
        let mrz = try MRZ(lines: Self.td1)
        XCTAssertEqual(mrz.format, .td1)
        XCTAssertEqual(mrz.fields, Self.specimenFields(code: "I", number: "D23145890"))
        XCTAssertEqual(mrz.documentNumberCheckDigit, "7")
    }

    func testTD2Specimen() throws {
        let mrz = try MRZ(lines: Self.td2)
        XCTAssertEqual(mrz.format, .td2)
        XCTAssertEqual(mrz.fields, Self.specimenFields(code: "I", number: "D23145890"))
        XCTAssertEqual(mrz.documentNumberCheckDigit, "7")
    }

    func testVisaLayoutsHaveNoComposite() throws {
        let mrvA = [
            "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
        ]
        let mrz = try MRZ(lines: mrvA)
        XCTAssertEqual(mrz.format, .mrvA)
        XCTAssertEqual(mrz.documentNumber, "L8988901C")
        XCTAssertEqual(mrz.nationality, "XXX")
        XCTAssertEqual(mrz.optionalData, "6ZE184226B")
        XCTAssertEqual(try MRZ(lines: [String(mrvA[0].prefix(36)), String(mrvA[1].prefix(36))]).format, .mrvB)
    }

    func testTD1LongDocumentNumber() throws {
        let mrz = try MRZ(lines: Self.td1Long)
        XCTAssertEqual(mrz.documentNumber, "D23145890123")
        XCTAssertEqual(mrz.documentNumberCheckDigit, "3")
        XCTAssertEqual(mrz.optionalData, "")
        let encoded = try MRZ(encoding: mrz.fields, format: .td1)
        XCTAssertEqual(encoded.lines, Self.td1Long)
    }

    func testTD2LongDocumentNumberRoundTrip() throws {
        var fields = try MRZ(lines: Self.td2).fields
        fields.documentNumber = "D2314589012"
        fields.optionalData = "X1"
        let mrz = try MRZ(encoding: fields, format: .td2)
        XCTAssertEqual(mrz.lines[1].prefix(10), "D23145890<")
        XCTAssertEqual(mrz.documentNumber, "D2314589012")
        XCTAssertEqual(mrz.optionalData, "X1")
        XCTAssertEqual(mrz.fields, fields)
    }

    func testShortDocumentNumberIsPaddedAndReturnedWithoutFillers() throws {
        var fields = try MRZ(lines: Self.td3).fields
        fields.documentNumber = "AB12"
        let mrz = try MRZ(encoding: fields, format: .td3)
        XCTAssertTrue(mrz.lines[1].hasPrefix("AB12<<<<<" + String(MRZ.checkDigit("AB12<<<<<")!)))
        XCTAssertEqual(mrz.documentNumber, "AB12")
        XCTAssertEqual(try MRZ(lines: mrz.lines).documentNumber, "AB12")
    }

    func testEncoderReproducesSpecimens() throws {
        XCTAssertEqual(try MRZ(encoding: MRZ(lines: Self.td3).fields, format: .td3).lines, Self.td3)
        XCTAssertEqual(try MRZ(encoding: MRZ(lines: Self.td1).fields, format: .td1).lines, Self.td1)
        XCTAssertEqual(try MRZ(encoding: MRZ(lines: Self.td2).fields, format: .td2).lines, Self.td2)
    }

    func testEncoderNormalisesNamesAndEmptyPersonalNumber() throws {
        let fields = MRZFields(
            documentCode: "P", issuingState: "D", primaryIdentifier: "Müller-O'Neil",
            secondaryIdentifier: "Jean Paul", documentNumber: "C01X00T47", nationality: "D",
            birthDate: "640812", sex: .notGiven, expiryDate: "310131")
        XCTAssertThrowsError(try MRZ(encoding: fields, format: .td3)) { error in
            XCTAssertEqual(error as? MRZError, .invalidFieldCharacter(field: "primary identifier", character: "Ü"))
        }
        var ascii = fields
        ascii.primaryIdentifier = "Mueller-O'Neil"
        let mrz = try MRZ(encoding: ascii, format: .td3)
        XCTAssertEqual(mrz.lines[0], "P<D<<MUELLER<ONEIL<<JEAN<PAUL" + String(repeating: "<", count: 15))
        XCTAssertEqual(mrz.primaryIdentifier, "MUELLER ONEIL")
        XCTAssertEqual(mrz.secondaryIdentifier, "JEAN PAUL")
        XCTAssertEqual(Array(mrz.lines[1])[42], "<", "an empty personal number keeps a filler check digit")
        XCTAssertEqual(mrz.sex, .notGiven)
    }

    func testDescriptionIsLogSafe() throws {
        let mrz = try MRZ(lines: Self.td3)
        XCTAssertEqual("\(mrz)", "MRZ(td3)")
        XCTAssertEqual(mrz.text, Self.td3.joined(separator: "\n"))
        XCTAssertFalse("\(MRZError.invalidDate(field: "date of birth", value: "740812"))".contains("740812"))
    }

    func testConcatenatedDG1FormAndWhitespace() throws {
        XCTAssertEqual(try MRZ(parsing: Self.td3.joined()).lines, Self.td3)
        XCTAssertEqual(try MRZ(parsing: Self.td1.joined()).lines, Self.td1)
        let messy = "\r\n  " + Self.td1.joined(separator: "  \r\n\n ") + " \n"
        XCTAssertEqual(try MRZ(parsing: messy).lines, Self.td1)
    }

    func testDates() throws {
        let today = try MRZDate(year: 2026, month: 6, day: 1)
        XCTAssertEqual(try MRZDate.birthDate(yymmdd: "260601", today: today), try MRZDate(year: 2026, month: 6, day: 1))
        XCTAssertEqual(try MRZDate.birthDate(yymmdd: "260602", today: today), try MRZDate(year: 1926, month: 6, day: 2))
        XCTAssertEqual(
            try MRZDate.birthDate(yymmdd: "000229", today: today),
            try MRZDate(year: 2000, month: 2, day: 29))
        XCTAssertEqual(try MRZDate.expiryDate(yymmdd: "991231"), try MRZDate(year: 2099, month: 12, day: 31))
        XCTAssertThrowsError(try MRZDate(year: 2023, month: 2, day: 29))
        XCTAssertThrowsError(try MRZDate.expiryDate(yymmdd: "121315"))
        XCTAssertThrowsError(try MRZDate.birthDate(yymmdd: "74<812", today: today))
        XCTAssertEqual(try MRZDate(year: 1974, month: 8, day: 12).description, "1974-08-12")
    }

    // MARK: Unhappy paths

    private func assertError(
        _ lines: [String], _ expected: MRZError,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try MRZ(lines: lines), file: file, line: line) { error in
            XCTAssertEqual(error as? MRZError, expected, file: file, line: line)
            XCTAssertFalse((error as? MRZError)?.description.isEmpty ?? true, file: file, line: line)
        }
    }

    private func replacing(_ lines: [String], line: Int, at position: Int, with character: Character) -> [String] {
        var out = lines
        var chars = Array(out[line])
        chars[position] = character
        out[line] = String(chars)
        return out
    }

    func testTD3CheckDigitFailures() {
        let l = Self.td3
        assertError(
            replacing(l, line: 1, at: 9, with: "5"),
            .checkDigitMismatch(field: .documentNumber, expected: "6", found: "5"))
        assertError(
            replacing(l, line: 1, at: 19, with: "3"),
            .checkDigitMismatch(field: .birthDate, expected: "2", found: "3"))
        assertError(
            replacing(l, line: 1, at: 27, with: "0"),
            .checkDigitMismatch(field: .expiryDate, expected: "9", found: "0"))
        assertError(
            replacing(l, line: 1, at: 42, with: "2"),
            .checkDigitMismatch(field: .optionalData, expected: "1", found: "2"))
        assertError(
            replacing(l, line: 1, at: 43, with: "1"),
            .checkDigitMismatch(field: .composite, expected: "0", found: "1"))
        assertError(replacing(l, line: 1, at: 9, with: "<"), .invalidCheckDigit(field: .documentNumber, found: "<"))
        // A changed birth date with its own check digit still breaks the composite.
        assertError(
            replacing(replacing(l, line: 1, at: 13, with: "8"), line: 1, at: 19, with: "9"),
            .checkDigitMismatch(field: .composite, expected: "4", found: "0"))
    }

    func testTD1AndTD2CheckDigitFailures() {
        assertError(
            replacing(Self.td1, line: 0, at: 14, with: "8"),
            .checkDigitMismatch(field: .documentNumber, expected: "7", found: "8"))
        assertError(
            replacing(Self.td1, line: 1, at: 29, with: "7"),
            .checkDigitMismatch(field: .composite, expected: "6", found: "7"))
        assertError(
            replacing(Self.td1, line: 1, at: 14, with: "1"),
            .checkDigitMismatch(field: .expiryDate, expected: "9", found: "1"))
        assertError(
            replacing(Self.td2, line: 1, at: 35, with: "0"),
            .checkDigitMismatch(field: .composite, expected: "6", found: "0"))
        assertError(
            replacing(Self.td2, line: 1, at: 19, with: "0"),
            .checkDigitMismatch(field: .birthDate, expected: "2", found: "0"))
    }

    func testLongDocumentNumberFailures() {
        // Wrong check digit at the end of the overflow.
        assertError(
            replacing(Self.td1Long, line: 0, at: 18, with: "4"),
            .checkDigitMismatch(field: .documentNumber, expected: "3", found: "4"))
        // '<' in the check position but nothing in the optional data.
        assertError(replacing(Self.td1, line: 0, at: 14, with: "<"), .malformedLongDocumentNumber)
    }

    func testLayoutAndCharacterErrors() {
        assertError([Self.td3[0]], .invalidLayout(lineLengths: [44]))
        assertError([Self.td3[0], String(Self.td3[1].dropLast())], .invalidLayout(lineLengths: [44, 43]))
        assertError(Self.td1 + ["<"], .invalidLayout(lineLengths: [30, 30, 30, 1]))
        assertError([], .invalidLayout(lineLengths: []))
        assertError(
            replacing(Self.td3, line: 0, at: 5, with: "e"),
            .invalidCharacter(line: 1, position: 6, character: "e"))
        assertError(
            replacing(Self.td1, line: 2, at: 29, with: " "),
            .invalidCharacter(line: 3, position: 30, character: " "))
        assertError(replacing(Self.td3, line: 1, at: 20, with: "Q"), .invalidSex("Q"))
        assertError(
            replacing(Self.td3, line: 0, at: 7, with: "Ä"),
            .invalidCharacter(line: 1, position: 8, character: "Ä"))
        XCTAssertThrowsError(try MRZ(parsing: Self.td3.joined(separator: "\n").lowercased())) { error in
            XCTAssertEqual(error as? MRZError, .invalidCharacter(line: 1, position: 1, character: "p"))
            XCTAssertTrue("\(error)".contains("upper case"))
        }
    }

    /// Every single-character substitution of the specimens is either still valid or a typed error.
    func testSubstitutionsNeverTrap() {
        let alphabet = Array("<0123456789AZaz -Ä")
        for specimen in [Self.td1, Self.td2, Self.td3, Self.td1Long] {
            for line in specimen.indices {
                for position in 0..<specimen[line].count {
                    for character in alphabet {
                        let mutated = replacing(specimen, line: line, at: position, with: character)
                        do {
                            _ = try MRZ(lines: mutated)
                        } catch {
                            XCTAssertFalse(error.description.isEmpty)
                        }
                    }
                }
            }
        }
    }

    func testEncoderRejectsOversizedFields() throws {
        var fields = try MRZ(lines: Self.td3).fields
        fields.documentNumber = "L898902C3X"
        XCTAssertThrowsError(try MRZ(encoding: fields, format: .td3)) { error in
            XCTAssertEqual(error as? MRZError, .fieldTooLong(field: "document number", length: 10, maximum: 9))
        }
        fields = try MRZ(lines: Self.td1).fields
        fields.documentNumber = "D2314589012345678"
        fields.optionalData = "ABCDEFGH"
        XCTAssertThrowsError(try MRZ(encoding: fields, format: .td1))
        fields = try MRZ(lines: Self.td1).fields
        fields.birthDate = "7408"
        XCTAssertThrowsError(try MRZ(encoding: fields, format: .td1)) { error in
            XCTAssertEqual(error as? MRZError, .invalidDate(field: "date of birth", value: "7408"))
        }
        XCTAssertThrowsError(try MRZ(encoding: fields, format: .mrvA)) { error in
            XCTAssertEqual(error as? MRZError, .unsupportedFormat(.mrvA))
        }
    }
}
