import Foundation
import Synchronization

/// Severity, with journald's priority numbers (sd-daemon(3) prefixes such as `<6>`).
public enum LogLevel: Int, Sendable, Comparable {
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7

    public init?(name: String) {
        switch name.lowercased() {
        case "error": self = .error
        case "warning": self = .warning
        case "notice": self = .notice
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Logs to stderr with journald priority prefixes. Callers must never pass personal data:
/// document and identity numbers go through `Log.pseudonym`, names never appear.
public final class Log: Sendable {
    public static let shared = Log()
    /// The threshold; the lock also keeps lines whole when threads log at once.
    private let threshold = Mutex(LogLevel.info)

    public var level: LogLevel {
        get { threshold.withLock { $0 } }
        set { threshold.withLock { $0 = newValue } }
    }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level <= self.level else { return }
        let line = "<\(level.rawValue)>\(Self.escaped(message()))\n"
        threshold.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// Longest message a line carries, in bytes of UTF-8 (after escaping); the rest is cut and counted.
    public static let maximumMessageBytes = 2048

    /// One journal line, whatever a caller put into the message: control characters (C0, DEL, C1, and the Unicode
    /// line and paragraph separators) become `\xNN` / `\u{NNNN}` and a backslash becomes `\\`, so no text a caller
    /// chose (a reader name, a channel) can start a line of its own or pose as another line's priority prefix;
    /// messages longer than `maximumMessageBytes` are cut, saying how much was cut.
    public static func escaped(_ message: String) -> String {
        var out = ""
        var bytes = 0
        for scalar in message.unicodeScalars {
            let piece: String
            switch scalar.value {
            case 0x5C: piece = "\\\\"
            case 0..<0x20, 0x7F..<0xA0: piece = "\\x" + String(format: "%02x", scalar.value)
            case 0x2028, 0x2029, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF:
                piece = "\\u{" + String(scalar.value, radix: 16) + "}"
            default: piece = String(scalar)
            }
            let size = piece.utf8.count
            if bytes + size > maximumMessageBytes {
                out += "... (cut: \(message.utf8.count) bytes in all)"
                return out
            }
            out += piece
            bytes += size
        }
        return out
    }

    public static func error(_ message: @autoclosure () -> String) { shared.log(.error, message()) }
    public static func warning(_ message: @autoclosure () -> String) { shared.log(.warning, message()) }
    public static func notice(_ message: @autoclosure () -> String) { shared.log(.notice, message()) }
    public static func info(_ message: @autoclosure () -> String) { shared.log(.info, message()) }
    public static func debug(_ message: @autoclosure () -> String) { shared.log(.debug, message()) }
}
