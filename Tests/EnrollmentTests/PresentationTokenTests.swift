import Foundation
import XCTest

@testable import Enrollment

/// The QR payload and the element catalogue.
final class PresentationTokenTests: XCTestCase {
    let key = [UInt8](repeating: 7, count: 32)
    let token = PresentationToken(
        presentationID: UUID(uuidString: "7D444840-9DC0-11D1-B245-5FFDCE74FAD2") ?? UUID(), counter: 258,
        expiry: Date(timeIntervalSince1970: 1_800_000_000))

    func testATokenRoundTripsAndIsShortAndNamesNoOneOnItsFace() throws {
        let text = try token.encoded(key: key)
        XCTAssertTrue(text.hasPrefix("EP1."))
        XCTAssertEqual(text.count, 84)
        XCTAssertEqual(try PresentationToken.parse(text, key: key), token)
        // The 28 body bytes: id, counter 258 = 00 00 01 02, expiry 1_800_000_000 = 00 00 00 00 6B 49 D2 00.
        XCTAssertEqual(Array(token.bodyBytes[16...]), [0, 0, 1, 2, 0, 0, 0, 0, 0x6B, 0x49, 0xD2, 0x00])
    }

    func testAnotherKeyATruncatedOrAlteredTokenIsRefused() throws {
        let text = try token.encoded(key: key)
        for bad in [
            try token.encoded(key: [UInt8](repeating: 8, count: 32)), String(text.dropLast(4)), text + "AAAA",
            "EP2." + text.dropFirst(4), text.replacingOccurrences(of: "EP1.", with: ""), "",
            String(repeating: "A", count: 500),
        ] {
            XCTAssertThrowsError(try PresentationToken.parse(bad, key: key)) { error in
                XCTAssertEqual((error as? EnrollmentError)?.kind, .tokenInvalid)
            }
        }
        var bytes = Array(text.utf8)
        bytes[10] = bytes[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertThrowsError(try PresentationToken.parse(String(decoding: bytes, as: UTF8.self), key: key))
    }

    func testElementsAreNormalisedAgainstTheCatalogue() throws {
        XCTAssertEqual(
            try VerifierElement.normalised(["age_over_65", "surname", "given_names", "surname", "age_over_18"]),
            ["given_names", "surname", "age_over_18", "age_over_65"])
        for bad in [
            ["shoe_size"], [], ["age_over_100"], ["age_over_1"], ["age_over_00"], ["age_over_١٨"], ["age_over_+1"],
            ["age_over_ 1"],
        ] {
            XCTAssertThrowsError(try VerifierElement.normalised(bad), "\(bad)")
        }
        // Case, width and combining-mark look-alikes are no catalogue names (Swift's == is canonical equivalence: a
        // digit with a combining mark sorts between "0" and "9" but is no digit).
        for trick in [
            "Surname", "SURNAME", "ｓurname", "surname\u{301}", "age_over_1\u{301}8", "age_over_１８", "age_over_018",
            " surname",
        ] {
            XCTAssertThrowsError(try VerifierElement.normalised([trick]), trick)
        }
    }

    func testAgeOverIsDerivedOnTheDayWithoutTheBirthDate() throws {
        var personal = PersonalData(
            surname: "S", givenNames: "G", birthDate: "2008-06-15", documentNumber: "1", documentType: "P",
            documentExpiry: "2030-01-01", issuingState: "UTO", nationality: "UTO")
        let dayBefore = try XCTUnwrap(ISO8601DateFormatter().date(from: "2026-06-14T23:59:00Z"))
        let birthday = try XCTUnwrap(ISO8601DateFormatter().date(from: "2026-06-15T00:00:00Z"))
        func value(_ day: Date) -> ReleasedValue? {
            VerifierElement.value(of: "age_over_18", personal: personal, tier: "basic", status: "normal", on: day)
        }
        XCTAssertEqual(value(dayBefore), .flag(false))
        XCTAssertEqual(value(birthday), .flag(true))
        personal.birthDate = "unreadable"
        XCTAssertNil(value(birthday))
    }
}
