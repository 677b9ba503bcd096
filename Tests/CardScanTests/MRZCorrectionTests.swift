import MRTD
import XCTest
@testable import CardScan

/// Check-digit-driven correction (ICAO 9303-3 §4.9) on the ICAO specimen MRZs (9303-4/5/6 Appendix A), with the
/// glyph evidence a recogniser would give: certain characters, then the confusable pairs.
final class MRZCorrectionTests: XCTestCase {
    static let td1 = [
        "I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ]
    static let td2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"]
    static let td3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
    static let td1Long = [
        "I<UTOD23145890<1233<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<2",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ]

    static func evidence(_ lines: [String]) -> [GlyphEvidence] {
        lines.joined().utf8.map { GlyphEvidence(certain: $0) }
    }

    /// The evidence for `byte` with `other` a close second (`share` of the mass to the second).
    static func ambiguous(_ first: Character, _ second: Character, share: Float = 0.4) -> GlyphEvidence {
        var values = [Float](repeating: 0.0005, count: MRZAlphabet.count)
        if let a = first.asciiValue.flatMap(MRZAlphabet.index(of:)) { values[a] = 1 - share }
        if let b = second.asciiValue.flatMap(MRZAlphabet.index(of:)) { values[b] = share }
        return GlyphEvidence(probabilities: values)
    }

    func key(_ number: String, _ birth: String, _ expiry: String) throws -> BACKey {
        try BACKey(documentNumber: number, birthDate: birth, expiryDate: expiry)
    }

    // MARK: Known answers

    func testSpecimensReadExactlyGiveTheirKeyFirstAndPassEveryCheck() throws {
        let cases: [([String], MRZFormat, BACKey)] = [
            (Self.td1, .td1, try key("D23145890", "740812", "120415")),
            (Self.td2, .td2, try key("D23145890", "740812", "120415")),
            (Self.td3, .td3, try key("L898902C3", "740812", "120415")),
            (Self.td1Long, .td1, try key("D23145890123", "740812", "120415")),
        ]
        for (lines, format, expected) in cases {
            let correction = MRZCorrection(format: format, glyphs: Self.evidence(lines))
            let candidates = correction.candidates(limit: 4)
            XCTAssertEqual(candidates.first?.key, expected, "\(format)")
            XCTAssertEqual(candidates.first?.compositePasses, true, "\(format)")
            let checks = candidates.first.map(correction.fieldChecks(for:)) ?? []
            XCTAssertFalse(checks.isEmpty)
            XCTAssertTrue(checks.allSatisfy { $0.status == .passed }, "\(format): \(checks)")
            XCTAssertEqual(candidates.first.map { String(decoding: $0.lines, as: UTF8.self) }, lines.joined())
        }
    }

    func testLetterOInTheDocumentNumberIsCorrectedToZeroByItsCheckDigit() throws {
        // D23145890 read as D2314589O (O ahead of 0): only the 0 passes the document number's check digit 7.
        var glyphs = Self.evidence(Self.td1)
        glyphs[13] = Self.ambiguous("O", "0")
        let correction = MRZCorrection(format: .td1, glyphs: glyphs)
        let candidates = correction.candidates(limit: 4)
        XCTAssertEqual(candidates.first?.key, try key("D23145890", "740812", "120415"))
        let checks = try XCTUnwrap(candidates.first.map(correction.fieldChecks(for:)))
        XCTAssertEqual(checks.first { $0.field == .documentNumber }?.status, .corrected(characters: 1))
        XCTAssertEqual(checks.first { $0.field == .composite }?.status, .corrected(characters: 1))
    }

    func testLettersInDatesAreReadAsTheirDigitPartners() throws {
        // Dates are digits only: I, S, B, Z, G, O in a date are the 1, 5, 8, 2, 6, 0 they resemble.
        var glyphs = Self.evidence(Self.td3)
        let b = 44  // line 2
        glyphs[b + 13] = Self.ambiguous("I", "7", share: 0.1)  // 7 of 740812: the classifier's second choice
        glyphs[b + 17] = GlyphEvidence(certain: UInt8(ascii: "I"))  // 1 of 740812 read as I
        glyphs[b + 21] = GlyphEvidence(certain: UInt8(ascii: "I"))  // 1 of 120415
        let candidates = MRZCorrection(format: .td3, glyphs: glyphs).candidates(limit: 4)
        XCTAssertEqual(candidates.first?.key, try key("L898902C3", "740812", "120415"))
    }

    func testTheFieldsPassingTheirCheckDigitsRankFirstAmongAmbiguousReadings() throws {
        // Two ambiguous positions in the TD3 document number: 8/B and C/G. Each reading is plausible alone;
        // only L898902C3 passes the check digit 6.
        var glyphs = Self.evidence(Self.td3)
        glyphs[44 + 1] = Self.ambiguous("B", "8")
        glyphs[44 + 7] = Self.ambiguous("G", "C", share: 0.45)
        let candidates = MRZCorrection(format: .td3, glyphs: glyphs).candidates(limit: 4)
        XCTAssertEqual(candidates.first?.key.documentNumber, "L898902C3")
        XCTAssertEqual(candidates.first?.compositePasses, true)
    }

    // MARK: Damage

    func testADamagedCompositeCheckDigitStillGivesTheKey() throws {
        // The composite check digit (last of TD3 line 2) reads as 7: the key comes from the three fields.
        var glyphs = Self.evidence(Self.td3)
        glyphs[87] = GlyphEvidence(certain: UInt8(ascii: "7"))
        let correction = MRZCorrection(format: .td3, glyphs: glyphs)
        let candidates = correction.candidates(limit: 4)
        XCTAssertEqual(candidates.first?.key, try key("L898902C3", "740812", "120415"))
        XCTAssertEqual(candidates.first?.compositePasses, false)
        let checks = try XCTUnwrap(candidates.first.map(correction.fieldChecks(for:)))
        XCTAssertEqual(checks.first { $0.field == .composite }?.status, .failed)
        XCTAssertEqual(checks.first { $0.field == .birthDate }?.status, .passed)
    }

    func testAnImpossibleDateIsNeverOffered() throws {
        // A birth month 13 that passes its check digit is not a date: the candidate is dropped, not ranked.
        let correction = MRZCorrection(
            format: .td3,
            glyphs: Self.evidence([
                "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                "L898902C36UTO7413122F1204159ZE184226B<<<<<10",
            ]))
        XCTAssertFalse(correction.candidates(limit: 4).contains { $0.key.birthDate == "741312" })
    }

    func testNoiseGivesNoCandidate() {
        // Uniform evidence: any check digit can be made to pass, but nothing was read.
        let noise = [GlyphEvidence](repeating: GlyphEvidence(probabilities: []), count: 88)
        XCTAssertTrue(MRZCorrection(format: .td3, glyphs: noise).candidates(limit: 4).isEmpty)
    }

    func testConfusablePartnersAreOfferedEvenWhenTheClassifierGivesThemNothing() {
        let glyph = GlyphEvidence(certain: UInt8(ascii: "O"))
        let alternatives = glyph.alternatives(.anyCharacter).map(\.byte)
        XCTAssertEqual(alternatives.first, UInt8(ascii: "O"))
        XCTAssertTrue(alternatives.contains(UInt8(ascii: "0")))
        XCTAssertEqual(glyph.best(.digit), UInt8(ascii: "0"))
    }
}
