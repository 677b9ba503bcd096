import Foundation

/// enrolld.conf as text, written from `Configuration.table`: the commented default file the package installs
/// (`enrolld --print-default-config`, committed as `Packaging/enrolld.conf`) and the settings in effect
/// (`enrolld --print-config`).
extension Configuration {
    /// Width of the comment paragraphs in the written file.
    static let commentWidth = 100

    /// The commented default configuration: every key with its meaning, what it accepts and its default,
    /// commented out. docs/enrolld.conf.5.py turns this text into enrolld.conf(5).
    public static func defaultFileText() -> String {
        var lines =
            [
                "# enrolld configuration (enrolld.conf(5))."
            ]
            + comment(
                """
                Every setting is shown with its default, commented out; an empty value means unset or none. Unknown \
                sections and keys are errors: run `enrolld --check-config` after editing. This file is the output of \
                `enrolld --print-default-config`.
                """)
        for section in table {
            lines += ["", "[\(section.name)]"]
            if let about = section.about { lines += comment(about) + [""] }
            for key in section.keys {
                let text = [key.summary, key.details, "Accepts \(key.type.expected)."].compactMap { $0 }
                lines += comment(text.joined(separator: " "))
                if let example = key.example { lines.append("# Example: \(key.name) = \(example)") }
                lines.append("#" + assignment(key.name, key.defaultValue))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The settings in effect, every key uncommented; parsing this text gives the same settings back.
    public func fileText(source: String) -> String {
        var lines = ["# enrolld configuration in effect (\(source)); enrolld.conf(5) explains every key."]
        for section in Self.table {
            lines += ["", "[\(section.name)]"]
            lines += section.keys.map { Self.assignment($0.name, $0.value(in: self)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func assignment(_ name: String, _ value: String) -> String {
        value.isEmpty ? "\(name) =" : "\(name) = \(value)"
    }

    /// `text` as `# ` comment lines of at most `commentWidth` columns (a longer word gets a line of its own).
    static func comment(_ text: String) -> [String] {
        var lines: [String] = []
        var line = "#"
        for word in text.split(whereSeparator: \.isWhitespace) {
            if line.count + 1 + word.count > commentWidth && line != "#" {
                lines.append(line)
                line = "#"
            }
            line += " " + word
        }
        if line != "#" { lines.append(line) }
        return lines
    }
}
