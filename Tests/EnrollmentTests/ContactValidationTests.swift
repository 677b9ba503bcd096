import EnrollAPIModel
@testable import Enrollment
import XCTest

/// Contact fields on entry: e-mail syntax and length (RFC 5321/5322), phone numbers in E.164, the rest free form.
final class ContactValidationTests: XCTestCase {
    func testValidAddressesAndNumbersAreKeptInCanonicalForm() throws {
        let cases: [(ContactKind, String, String)] = [
            (.email, "holder@example.org", "holder@example.org"),
            (.email, "Anna.Maria+kiosk@Mail.Example.MO", "Anna.Maria+kiosk@mail.example.mo"),
            (.email, " a@b.co ", "a@b.co"),
            (.phone, "+853 2888 1234", "+85328881234"),
            (.phone, "+84 (24) 3823-4567", "+842438234567"),
            (.phone, "+351.21.000.0000", "+351210000000"),
        ]
        for (kind, typed, canonical) in cases {
            XCTAssertEqual(kind.normalized(typed), canonical, typed)
        }
    }

    func testMalformedAddressesAndNumbersAreRefused() {
        let local = String(repeating: "a", count: 65)
        let long =
            String(repeating: "a", count: 60) + "@"
            + (0..<4).map { _ in String(repeating: "b", count: 60) }
            .joined(separator: ".")
        let emails = [
            "", "holder", "@example.org", "holder@", "holder@localhost", "a@@b.org", "a b@example.org",
            ".a@example.org", "a..b@example.org", "a@-example.org", "a@example-.org", "\(local)@example.org", long,
            "a@exa_mple.org", "ä@example.org", "a@example.org\r\nBcc: x@y.org",
        ]
        for email in emails { XCTAssertNil(ContactKind.email.normalized(email), email) }
        let phones = [
            "", "85328881234", "+", "+0853288812", "+1234567", "+1234567890123456", "+853 2888 12a4", "+٣٥١٢١٠٠٠٠٠٠٠",
        ]
        for phone in phones { XCTAssertNil(ContactKind.phone.normalized(phone), phone) }
    }

    func testValidationNormalisesKnownFieldsKeepsOthersAndNamesTheBadField() throws {
        let normalized = try IdentityLifecycle.validateContact(
            ["Phone": "+41 79 000 00 01", "email": "a@b.example", "note": "evenings"])
        XCTAssertEqual(normalized, ["Phone": "+41790000001", "email": "a@b.example", "note": "evenings"])
        XCTAssertThrowsError(try IdentityLifecycle.validateContact(["mobile": "079 000 00 01"])) { error in
            XCTAssertEqual((error as? EnrollmentError)?.kind, .invalidContact)
            XCTAssertTrue("\(error)".contains("E.164"), "\(error)")
        }
        XCTAssertThrowsError(try IdentityLifecycle.validateContact(["e-mail": "nobody"])) { error in
            XCTAssertEqual((error as? EnrollmentError)?.kind, .invalidContact)
        }
    }

    func testAChangedFieldLosesItsVerificationAndAnUnchangedOneKeepsIt() {
        var personal = PersonalData(
            surname: "S", givenNames: "G", birthDate: "1980-01-01", documentNumber: "D", documentType: "ID",
            documentExpiry: "2030-01-01", issuingState: "UTO", nationality: "UTO",
            contact: ["email": "a@b.example", "phone": "+41790000001"])
        let at = Date(timeIntervalSince1970: 1_790_000_000)
        personal.contactVerifiedAt = ["email": at, "phone": at]
        let kept = IdentityLifecycle.keepVerified(
            personal, newContact: ["email": "a@b.example", "phone": "+41790000002"])
        XCTAssertEqual(kept, ["email": at])
        XCTAssertNil(IdentityLifecycle.keepVerified(personal, newContact: [:]))
    }
}
