import Foundation

/// The fixed catalogue of data elements a verifier may be allowed to ask for, and their values for one account.
///
/// `age_over_NN` (NN from 1 to 99) is derived from the birth date on the day of release and released without it
/// (ISO/IEC 18013-5's `age_over_NN`).
public enum VerifierElement {
    /// Names in catalogue order; `age_over_NN` stands for every derived age.
    public static let fixed = [
        "given_names", "surname", "birth_date", "nationality", "issuing_state", "document_number",
        "document_expiry", "tier", "account_status",
    ]

    /// Whether `name` is in the catalogue (`age_over_18`, `age_over_65` and the like included).
    public static func isKnown(_ name: String) -> Bool {
        fixed.contains(name) || ageThreshold(name) != nil
    }

    /// NN of `age_over_NN` (1 to 99, two digits); nil for any other name.
    public static func ageThreshold(_ name: String) -> Int? {
        guard name.hasPrefix("age_over_") else { return nil }
        let digits = name.dropFirst("age_over_".count)
        guard digits.count == 2, digits.allSatisfy({ ("0"..."9").contains($0) }), let value = Int(digits),
            (1...99).contains(value)
        else { return nil }
        return value
    }

    /// A list of element names, checked against the catalogue, without repeats, in a stable order (the catalogue's,
    /// then derived ages by threshold). Throws `unknown-element` naming the first unknown name.
    public static func normalised(_ names: [String]) throws(EnrollmentError) -> [String] {
        guard !names.isEmpty, names.count <= 32 else {
            throw EnrollmentError(.unknownElement, "name 1 to 32 data elements from the catalogue: " + catalogue)
        }
        for name in names where !isKnown(name) {
            throw EnrollmentError(
                .unknownElement, "'\(name.prefix(40))' is not a data element: use \(catalogue)")
        }
        let unique = Set(names)
        return fixed.filter(unique.contains)
            + unique.compactMap { ageThreshold($0) }.sorted().map { String(format: "age_over_%02d", $0) }
    }

    static let catalogue = fixed.joined(separator: ", ") + ", age_over_NN (NN 01-99)"

    /// Whether a verifier allowed `allowed` may ask for `name`: listed by name (`age_over_18` allows only that
    /// threshold).
    public static func allows(_ allowed: [String], _ name: String) -> Bool { allowed.contains(name) }

    /// The element's value for an account: a string, or a boolean for `age_over_NN`. `day` is the release's date
    /// (UTC), for derived ages.
    public static func value(
        of name: String, personal: PersonalData, tier: String, status: String, on day: Date
    ) -> ReleasedValue? {
        switch name {
        case "given_names": return .text(personal.givenNames)
        case "surname": return .text(personal.surname)
        case "birth_date": return .text(personal.birthDate)
        case "nationality": return .text(personal.nationality)
        case "issuing_state": return .text(personal.issuingState)
        case "document_number": return .text(personal.documentNumber)
        case "document_expiry": return .text(personal.documentExpiry)
        case "tier": return .text(tier)
        case "account_status": return .text(status)
        default:
            guard let threshold = ageThreshold(name), let age = age(birthDate: personal.birthDate, on: day) else {
                return nil
            }
            return .flag(age >= threshold)
        }
    }

    /// Whole years between an ISO 8601 birth date (`YYYY-MM-DD`) and `day` in UTC; nil when the date is unreadable.
    static func age(birthDate: String, on day: Date) -> Int? {
        let parts = birthDate.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let today = calendar.dateComponents([.year, .month, .day], from: day)
        guard let year = today.year, let month = today.month, let date = today.day else { return nil }
        var years = year - parts[0]
        if (month, date) < (parts[1], parts[2]) { years -= 1 }
        return years
    }
}

/// One released value: text, or a derived yes/no.
public enum ReleasedValue: Sendable, Equatable, Codable {
    case text(String)
    case flag(Bool)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .flag(flag)
        } else {
            self = .text(try container.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .text(text): try container.encode(text)
        case let .flag(flag): try container.encode(flag)
        }
    }
}
