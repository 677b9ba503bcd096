import Enrollment
import Foundation
import MRTD

/// What a configuration key accepts. `expected` is the one phrase used by error messages
/// (`ConfigurationError.invalidValue`), the commented default file and enrolld.conf(5).
public enum ConfigurationValueType: Sendable, Equatable {
    /// `true`/`false` (also `yes`/`no`, `on`/`off`, `1`/`0`).
    case boolean
    /// A whole number in a range, with an optional unit ("years", "pixels").
    case integer(ClosedRange<Int>, unit: String?)
    /// A decimal number in a range, with an optional unit ("seconds"); `lowerBoundExcluded` for `(0, 1.5]`.
    case decimal(ClosedRange<Double>, unit: String?, lowerBoundExcluded: Bool)
    /// Octal permission bits, `0000` to `0777`.
    case permissionBits
    /// An absolute path, optionally shorter than `shorterThan` bytes (a socket path's `sun_path` limit).
    case absolutePath(shorterThan: Int?)
    /// An http(s) URL.
    case url
    /// One of a fixed set of words, compared without case.
    case choice([String])
    /// Comma-separated items, each described by the phrase (e.g. "dotted OIDs").
    case list(of: String)
    /// Free text the phrase describes (e.g. "a name").
    case text(String)

    /// What a valid value looks like, e.g. "1 to 10 years" or "true or false".
    public var expected: String {
        switch self {
        case .boolean: return "true or false"
        case let .integer(range, unit):
            return "\(range.lowerBound) to \(range.upperBound)" + (unit.map { " \($0)" } ?? "")
        case let .decimal(range, unit, lowerBoundExcluded):
            let low = ConfigurationKey.written(range.lowerBound)
            let high = ConfigurationKey.written(range.upperBound)
            if lowerBoundExcluded { return "a \(unit ?? "number") in (\(low), \(high)]" }
            return "\(low) to \(high)" + (unit.map { " \($0)" } ?? "")
        case .permissionBits: return "octal permission bits such as 0660"
        case let .absolutePath(limit):
            return "an absolute path" + (limit.map { " under \($0) bytes" } ?? "")
        case .url: return "an http(s) URL"
        case let .choice(words):
            guard let last = words.last else { return "nothing" }
            return words.count == 1 ? last : words.dropLast().joined(separator: ", ") + " or " + last
        case let .list(item): return "comma-separated \(item)"
        case let .text(phrase): return phrase
        }
    }
}

/// A setting whose value is one of a few words: `log_level = info`, `backend = sqlite`.
public protocol ConfigurationChoice: CaseIterable, Sendable {
    /// The word the file uses for this value.
    var configurationName: String { get }
}

/// One key of enrolld.conf: its section and name, what it accepts, its documentation, and how its text
/// sets a `Configuration` property. Its default is what `written` shows for `Configuration()`, so the default
/// lives in one place, the property's initial value.
public struct ConfigurationKey: Sendable {
    /// The `[section]` the key belongs to; set by the `ConfigurationSection` that holds the key.
    public internal(set) var section = ""
    /// The key's name within its section, e.g. `max_photo_attempts`.
    public let name: String
    public let type: ConfigurationValueType
    /// One line: what the setting means.
    public let summary: String
    /// Further explanation for the commented file and the manual page; nil when the summary says it all.
    public let details: String?
    /// A value to show for a key that is unset by default (`conninfo = postgresql://...`).
    public private(set) var example: String?
    /// Sets the property from the file's text; false when the text is not a valid value.
    let assign: @Sendable (inout Configuration, String) -> Bool
    /// The property's value as the file writes it; empty when the setting is unset (and means none).
    let written: @Sendable (Configuration) -> String

    /// Any key, for settings the typed constructors below do not cover.
    public init(
        _ name: String, _ type: ConfigurationValueType, _ summary: String, details: String? = nil,
        assign: @escaping @Sendable (inout Configuration, String) -> Bool,
        written: @escaping @Sendable (Configuration) -> String
    ) {
        self.name = name
        self.type = type
        self.summary = summary
        self.details = details
        self.assign = assign
        self.written = written
    }

    /// The same key with an example value for the documentation.
    public func example(_ value: String) -> ConfigurationKey {
        var key = self
        key.example = value
        return key
    }

    /// `section.name`, as error messages name the key.
    public var key: String { "\(section).\(name)" }

    /// The default as the file writes it (empty: unset).
    public var defaultValue: String { written(Configuration()) }

    /// This key's value in `configuration`, as the file writes it.
    public func value(in configuration: Configuration) -> String { written(configuration) }

    /// Sets this key from the file's text; false when the text is not a valid value.
    func apply(_ text: String, to configuration: inout Configuration) -> Bool { assign(&configuration, text) }

    /// A number as the file writes it: `1`, not `1.0`; `0.5` stays `0.5`.
    static func written(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }
}

/// The typed keys. Each takes the property it sets; an optional property is unset by an empty value.
extension ConfigurationKey {
    public static func boolean(
        _ name: String, _ property: WritableKeyPath<Configuration, Bool> & Sendable,
        _ summary: String, details: String? = nil
    ) -> ConfigurationKey {
        ConfigurationKey(name, .boolean, summary, details: details) { configuration, text in
            switch text.lowercased() {
            case "true", "yes", "on", "1": configuration[keyPath: property] = true
            case "false", "no", "off", "0": configuration[keyPath: property] = false
            default: return false
            }
            return true
        } written: {
            $0[keyPath: property] ? "true" : "false"
        }
    }

    public static func integer(
        _ name: String, _ property: WritableKeyPath<Configuration, Int> & Sendable,
        _ range: ClosedRange<Int>, unit: String? = nil, _ summary: String,
        details: String? = nil
    ) -> ConfigurationKey {
        ConfigurationKey(name, .integer(range, unit: unit), summary, details: details) { configuration, text in
            guard let number = Int(text), range.contains(number) else { return false }
            configuration[keyPath: property] = number
            return true
        } written: {
            String($0[keyPath: property])
        }
    }

    public static func decimal(
        _ name: String, _ property: WritableKeyPath<Configuration, Double> & Sendable,
        _ range: ClosedRange<Double>, unit: String? = nil, lowerBoundExcluded: Bool = false,
        _ summary: String, details: String? = nil
    ) -> ConfigurationKey {
        let type = ConfigurationValueType.decimal(range, unit: unit, lowerBoundExcluded: lowerBoundExcluded)
        return ConfigurationKey(name, type, summary, details: details) { configuration, text in
            guard let number = Double(text), range.contains(number),
                !(lowerBoundExcluded && number == range.lowerBound)
            else { return false }
            configuration[keyPath: property] = number
            return true
        } written: {
            written($0[keyPath: property])
        }
    }

    /// A duration in seconds.
    public static func seconds(
        _ name: String, _ property: WritableKeyPath<Configuration, Double> & Sendable,
        _ range: ClosedRange<Double>, _ summary: String,
        details: String? = nil
    ) -> ConfigurationKey {
        decimal(name, property, range, unit: "seconds", summary, details: details)
    }

    public static func permissionBits(
        _ name: String, _ property: WritableKeyPath<Configuration, UInt32> & Sendable,
        _ summary: String, details: String? = nil
    ) -> ConfigurationKey {
        ConfigurationKey(name, .permissionBits, summary, details: details) { configuration, text in
            guard let mode = UInt32(text, radix: 8), mode <= 0o777 else { return false }
            configuration[keyPath: property] = mode
            return true
        } written: {
            "0" + String($0[keyPath: property], radix: 8)
        }
    }

    public static func path(
        _ name: String, _ property: WritableKeyPath<Configuration, String> & Sendable,
        shorterThan limit: Int? = nil, _ summary: String,
        details: String? = nil
    ) -> ConfigurationKey {
        string(name, property, .absolutePath(shorterThan: limit), summary, details: details) { text in
            text.hasPrefix("/") && (limit.map { text.utf8.count < $0 } ?? true)
        }
    }

    /// An optional path; `shown` writes a derived default (`<state_directory>/trust`) where the property is nil.
    public static func path(
        _ name: String, _ property: WritableKeyPath<Configuration, String?> & Sendable,
        shown: (KeyPath<Configuration, String> & Sendable)? = nil, _ summary: String,
        details: String? = nil
    ) -> ConfigurationKey {
        optionalString(name, property, .absolutePath(shorterThan: nil), summary, details: details, shown: shown) {
            $0.hasPrefix("/")
        }
    }

    public static func url(
        _ name: String, _ property: WritableKeyPath<Configuration, String?> & Sendable,
        _ summary: String, details: String? = nil
    ) -> ConfigurationKey {
        optionalString(name, property, .url, summary, details: details) {
            $0.hasPrefix("http://") || $0.hasPrefix("https://")
        }
    }

    public static func choice<Value: ConfigurationChoice>(
        _ name: String, _ property: WritableKeyPath<Configuration, Value> & Sendable, _ summary: String,
        details: String? = nil
    ) -> ConfigurationKey {
        let words = Value.allCases.map(\.configurationName)
        return ConfigurationKey(name, .choice(words), summary, details: details) { configuration, text in
            guard let value = Value.allCases.first(where: { $0.configurationName == text.lowercased() }) else {
                return false
            }
            configuration[keyPath: property] = value
            return true
        } written: {
            $0[keyPath: property].configurationName
        }
    }

    /// An optional systemd credential name (`LoadCredentialEncrypted=NAME:...`): letters, digits, `.`, `_`, `-`, no
    /// path; empty leaves it unset.
    public static func credentialName(
        _ name: String, _ property: WritableKeyPath<Configuration, String?> & Sendable, _ summary: String,
        details: String? = nil
    ) -> ConfigurationKey {
        optionalString(name, property, .text("a systemd credential name"), summary, details: details) { text in
            text.count <= 255 && text != "." && text != ".."
                && text.unicodeScalars.allSatisfy {
                    $0.isASCII
                        && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0))
                }
        }
    }

    /// An optional word from `words` (passed through to a library, as libpq's sslmode).
    public static func choice(
        _ name: String, _ property: WritableKeyPath<Configuration, String?> & Sendable,
        _ words: [String], _ summary: String, details: String? = nil
    ) -> ConfigurationKey {
        optionalString(name, property, .choice(words), summary, details: details, stored: { $0.lowercased() }) {
            words.contains($0.lowercased())
        }
    }

    /// Comma-separated items, each checked by `isValid`; empty: none.
    public static func list(
        _ name: String, _ property: WritableKeyPath<Configuration, [String]> & Sendable,
        of items: String, isValid: @escaping @Sendable (String) -> Bool, _ summary: String,
        details: String? = nil
    ) -> ConfigurationKey {
        ConfigurationKey(name, .list(of: items), summary, details: details) { configuration, text in
            let values = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard values.allSatisfy({ !$0.isEmpty && isValid($0) }) else { return false }
            configuration[keyPath: property] = values
            return true
        } written: {
            $0[keyPath: property].joined(separator: ", ")
        }
    }

    /// Text that must not be empty; `expected` describes it ("a name").
    public static func text(
        _ name: String, _ property: WritableKeyPath<Configuration, String> & Sendable,
        expected: String, _ summary: String, details: String? = nil
    ) -> ConfigurationKey {
        string(name, property, .text(expected), summary, details: details) { !$0.isEmpty }
    }

    /// Optional text; empty leaves it unset.
    public static func text(
        _ name: String, _ property: WritableKeyPath<Configuration, String?> & Sendable,
        expected: String, _ summary: String, details: String? = nil
    ) -> ConfigurationKey {
        optionalString(name, property, .text(expected), summary, details: details) { _ in true }
    }

    /// A string setting the file's text sets as it is, when `isValid` accepts it.
    private static func string(
        _ name: String, _ property: WritableKeyPath<Configuration, String> & Sendable, _ type: ConfigurationValueType,
        _ summary: String, details: String?, isValid: @escaping @Sendable (String) -> Bool
    ) -> ConfigurationKey {
        ConfigurationKey(name, type, summary, details: details) { configuration, text in
            guard isValid(text) else { return false }
            configuration[keyPath: property] = text
            return true
        } written: {
            $0[keyPath: property]
        }
    }

    /// An optional string setting: empty unsets it; other text is set (as `stored` has it) when `isValid` accepts
    /// it. `shown` writes a derived default where the property is nil.
    private static func optionalString(
        _ name: String, _ property: WritableKeyPath<Configuration, String?> & Sendable, _ type: ConfigurationValueType,
        _ summary: String, details: String?, shown: (KeyPath<Configuration, String> & Sendable)? = nil,
        stored: @escaping @Sendable (String) -> String = { $0 }, isValid: @escaping @Sendable (String) -> Bool
    ) -> ConfigurationKey {
        ConfigurationKey(name, type, summary, details: details) { configuration, text in
            guard text.isEmpty || isValid(text) else { return false }
            configuration[keyPath: property] = text.isEmpty ? nil : stored(text)
            return true
        } written: { configuration in
            configuration[keyPath: property] ?? shown.map { configuration[keyPath: $0] } ?? ""
        }
    }

    /// Who holds `role` (`[roles]`): `uid:N`, `user:NAME`, `gid:N`, `group:NAME`; empty: nobody.
    public static func principals(_ role: Role, _ summary: String, details: String? = nil) -> ConfigurationKey {
        let type = ConfigurationValueType.text("comma-separated uid:N, user:NAME, gid:N or group:NAME (empty: nobody)")
        return ConfigurationKey(role.rawValue, type, summary, details: details) { configuration, text in
            guard let list = RoleAssignments.parseList(text) else { return false }
            configuration.roles.principals[role] = list
            return true
        } written: {
            ($0.roles.principals[role] ?? []).map(\.description).joined(separator: ", ")
        }
    }

    /// `[roles] public`: callers in no role that are still let in, for the routes anyone may call.
    public static func publicCallers(_ summary: String, details: String? = nil) -> ConfigurationKey {
        let type = ConfigurationValueType.text("comma-separated uid:N, user:NAME, gid:N or group:NAME (empty: nobody)")
        return ConfigurationKey("public", type, summary, details: details) { configuration, text in
            guard let list = RoleAssignments.parseList(text) else { return false }
            configuration.roles.publicCallers = list
            return true
        } written: {
            $0.roles.publicCallers.map(\.description).joined(separator: ", ")
        }
    }
}

/// A `[section]` of enrolld.conf: its keys in the order the file lists them, and what the section is about.
public struct ConfigurationSection: Sendable {
    public let name: String
    /// Said once above the section's keys; nil when the keys explain themselves.
    public let about: String?
    public let keys: [ConfigurationKey]

    public init(_ name: String, about: String? = nil, _ keys: [ConfigurationKey]) {
        self.name = name
        self.about = about
        self.keys = keys.map { key in
            var key = key
            key.section = name
            return key
        }
    }
}

extension LogLevel: ConfigurationChoice {
    public static var allCases: [LogLevel] { [.error, .warning, .notice, .info, .debug] }

    public var configurationName: String {
        switch self {
        case .error: return "error"
        case .warning: return "warning"
        case .notice: return "notice"
        case .info: return "info"
        case .debug: return "debug"
        }
    }
}

extension StoreBackend: ConfigurationChoice {
    public var configurationName: String { rawValue }
}

extension AccessPolicy.PACERequirement: ConfigurationChoice {
    public var configurationName: String { rawValue }
}

extension LivenessRequirement: ConfigurationChoice {
    public var configurationName: String { rawValue }
}

extension PersonalNumberSource: ConfigurationChoice {
    public var configurationName: String { rawValue }
}
