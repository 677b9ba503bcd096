import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// The service manager's notification protocol (sd_notify(3)), spoken directly on the
/// `$NOTIFY_SOCKET` datagram socket: `READY=1`, `STOPPING=1`, `RELOADING=1`, `STATUS=...`,
/// `WATCHDOG=1`. A path starting with `@` names a socket in the abstract namespace. Without
/// `$NOTIFY_SOCKET` (not started by systemd) every call does nothing and returns false.
public struct SystemdNotifier: Sendable {
    /// The socket address as systemd passed it, or nil when there is none.
    public let socketPath: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"] ?? ""
        socketPath = (path.hasPrefix("/") || path.hasPrefix("@")) && path.utf8.count > 1 ? path : nil
    }

    public var isEnabled: Bool { socketPath != nil }

    /// Sends one notification datagram (newline-separated `KEY=value` assignments).
    /// Returns whether the whole datagram was sent.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let socketPath else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path[0] == UInt8(ascii: "@") { path[0] = 0 }
        guard path.count <= MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)

        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let message = Array(state.utf8)
        let sent = message.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
        return sent == message.count
    }

    /// `READY=1` with a status line: start-up is finished and the API is listening.
    @discardableResult
    public func ready(status: String) -> Bool { notify("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())") }

    /// `STOPPING=1`: a graceful shutdown has begun.
    @discardableResult
    public func stopping() -> Bool { notify("STOPPING=1\nSTATUS=shutting down") }

    /// `WATCHDOG=1`: the service is alive (`WatchdogSec=` in the unit).
    @discardableResult
    public func watchdog() -> Bool { notify("WATCHDOG=1") }

    /// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3)
    /// recommends; nil when the watchdog is off or meant for another process (`$WATCHDOG_PID`).
    public static func watchdogInterval(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        pid: Int32 = getpid()
    ) -> TimeInterval? {
        guard let microseconds = environment["WATCHDOG_USEC"].flatMap(UInt64.init), microseconds > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], Int32(owner) != pid { return nil }
        return Double(microseconds) / 2e6
    }
}

/// Sends `WATCHDOG=1` on its own thread at a fixed interval until stopped.
public final class SystemdWatchdog: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false

    /// Starts pinging through `notifier` every `interval` seconds.
    public init(notifier: SystemdNotifier, interval: TimeInterval) {
        let thread = Thread { [self] in
            condition.lock()
            defer { condition.unlock() }
            while !stopped {
                notifier.watchdog()
                _ = condition.wait(until: Date().addingTimeInterval(interval))
            }
        }
        thread.name = "enrolld.watchdog"
        thread.start()
    }

    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
