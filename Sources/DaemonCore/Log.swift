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
        let line = "<\(level.rawValue)>\(message())\n"
        threshold.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    public static func error(_ message: @autoclosure () -> String) { shared.log(.error, message()) }
    public static func warning(_ message: @autoclosure () -> String) { shared.log(.warning, message()) }
    public static func notice(_ message: @autoclosure () -> String) { shared.log(.notice, message()) }
    public static func info(_ message: @autoclosure () -> String) { shared.log(.info, message()) }
    public static func debug(_ message: @autoclosure () -> String) { shared.log(.debug, message()) }
}
