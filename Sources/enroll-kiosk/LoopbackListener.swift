import Foundation

/// A TCP listening socket on 127.0.0.1 only: the browser on this machine is the gateway's one client, so the
/// gateway never listens on another address (and refuses requests naming another host, see `RequestGuard`).
struct LoopbackListener {
    let descriptor: Int32
    let port: UInt16

    /// Binds 127.0.0.1:`port` (0: a free port the kernel picks) and listens.
    init(port: UInt16) throws(GatewayError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw .system("bind 127.0.0.1:\(port)", code)
        }
        guard listen(fd, 32) == 0 else {
            let code = errno
            close(fd)
            throw .system("listen", code)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        self.port = UInt16(bigEndian: actual.sin_port)
    }
}

/// Why the gateway could not start.
enum GatewayError: Error, CustomStringConvertible {
    case system(String, Int32)
    case usage(String)

    var description: String {
        switch self {
        case let .system(call, code): return "\(call): \(String(cString: strerror(code)))"
        case let .usage(text): return text
        }
    }
}
