import Foundation

/// The contact kinds enrolld can deliver to, and what their values must look like on entry.
///
/// `email`: RFC 5321's limits (up to 254 characters, a local part of up to 64), a dot-atom local part (RFC 5322
/// §3.2.3) and a domain of LDH labels with at least one dot. `phone`: E.164 (ITU-T E.164 §6), `+` and 8 to 15 digits,
/// the first not 0; spaces, dots, hyphens and parentheses the holder typed between digits are removed. Other
/// fields stay free form (up to 200 characters), as before.
public enum ContactKind: String, Sendable, CaseIterable {
    case email
    case phone

    /// The kind a contact field's name stands for (`email`, `e-mail`, `phone`, `mobile`, any case); nil for a
    /// free-form field.
    public init?(field: String) {
        switch field.lowercased() {
        case "email", "e-mail", "mail": self = .email
        case "phone", "mobile", "sms", "tel": self = .phone
        default: return nil
        }
    }

    /// The value in its canonical form, or nil when it is not a valid value of this kind.
    public func normalized(_ value: String) -> String? {
        switch self {
        case .email: return Self.email(value)
        case .phone: return Self.phone(value)
        }
    }

    private static func email(_ value: String) -> String? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard text.utf8.count <= 254, text.unicodeScalars.allSatisfy(\.isASCII) else { return nil }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...64).contains(parts[0].count) else { return nil }
        let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")
        let local = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard local.allSatisfy({ !$0.isEmpty && $0.allSatisfy(atext.contains) }) else { return nil }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        let ldh = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
        guard labels.count >= 2,
            labels.allSatisfy({
                (1...63).contains($0.count) && $0.allSatisfy(ldh.contains) && $0.first != "-" && $0.last != "-"
            })
        else { return nil }
        // The domain is case-insensitive (RFC 5321 §2.4); the local part is kept as typed.
        return parts[0] + "@" + parts[1].lowercased()
    }

    private static func phone(_ value: String) -> String? {
        let separators = Set(" .-()\u{00A0}")
        let compact = value.trimmingCharacters(in: .whitespaces).filter { !separators.contains($0) }
        guard compact.first == "+" else { return nil }
        let digits = compact.dropFirst()
        guard (8...15).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.first != "0"
        else { return nil }
        return compact
    }
}
