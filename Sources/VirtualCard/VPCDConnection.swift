import Foundation
import SmartCard

/// The card end of vsmartcard's vpcd protocol: a TCP client that connects to the vpcd driver
/// inside pcscd and answers its requests with a `CardApplet`.
///
/// Framing: every message is a 2-byte big-endian length and a payload. A 1-byte payload is a
/// control message (0 power off, 1 power on, 2 reset, 4 get ATR); anything else is a command
/// APDU. Closing the connection looks to pcscd like the card leaving the reader.
public final class VPCDConnection: @unchecked Sendable {
    public let host: String
    public let port: UInt16
    public let atr: [UInt8]
    private let applet: CardApplet
    private let lock = NSLock()
    private var socket: Int32 = -1
    private var stopped = false
    /// Set when the applet left the field (fault injection): the connection closes and stays closed this long,
    /// so pcscd's polling sees the card gone before it comes back (the next tap).
    public var awayAfterRemoval: TimeInterval = 1.5
    private var removedByApplet = false

    /// vpcd's own limit: a 2-byte length frame.
    static let maxFrame = 65_535

    public init(host: String = "127.0.0.1", port: UInt16, atr: [UInt8], applet: CardApplet) {
        self.host = host
        self.port = port
        self.atr = atr
        self.applet = applet
    }

    /// Connects and serves until `stop()` or until vpcd closes the connection; when
    /// `reconnect` is set, keeps reconnecting (pcscd restarts) until stopped.
    public func run(reconnect: Bool = true, log: @Sendable (String) -> Void = { _ in }) {
        var announcedWaiting = false
        while !isStopped {
            do {
                let fd = try connect()
                announcedWaiting = false
                log("connected to vpcd at \(host):\(port)")
                serve(fd)
                log("vpcd connection closed")
            } catch {
                if !announcedWaiting {
                    log("waiting for vpcd at \(host):\(port): \(error)")
                    announcedWaiting = true
                }
            }
            closeSocket()
            if !reconnect || isStopped { break }
            let removed = lock.withLock { () -> Bool in
                defer { removedByApplet = false }
                return removedByApplet
            }
            if removed { log("the card left the field (fault injection); back in \(awayAfterRemoval) s") }
            Thread.sleep(forTimeInterval: removed ? awayAfterRemoval : 0.2)
        }
    }

    /// Closes the connection: pcscd sees the card removed.
    public func stop() {
        let fd = lock.withLock { () -> Int32 in
            stopped = true
            return socket
        }
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func closeSocket() {
        let fd = lock.withLock { () -> Int32 in
            let fd = socket
            socket = -1
            return fd
        }
        if fd >= 0 { close(fd) }
    }

    private func connect() throws -> Int32 {
        let fd = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw VPCDError.socket(errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw VPCDError.badAddress(host)
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw VPCDError.connect(code)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        Self.rearmQuickAck(fd)
        lock.withLock { socket = fd }
        if isStopped { throw VPCDError.stopped }
        return fd
    }

    /// Linux clears TCP_QUICKACK after a while; without it bookworm's vpcd, which writes the
    /// length and the APDU separately, waits for a delayed ACK (~40 ms) on every command.
    private static func rearmQuickAck(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), 12 /* TCP_QUICKACK */, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func serve(_ fd: Int32) {
        while !isStopped {
            guard let header = readExactly(fd, count: 2) else { return }
            let length = Int(header[0]) << 8 | Int(header[1])
            guard let payload = readExactly(fd, count: length) else { return }
            if length == 1 {
                switch payload[0] {
                case 0x00, 0x01, 0x02:
                    applet.reset()
                case 0x04:
                    guard write(fd, frame: atr) else { return }
                default:
                    break
                }
                continue
            }
            let answer: CardAnswer
            do {
                answer = applet.answer(try CommandAPDU(bytes: payload))
            } catch {
                answer = .response(ResponseAPDU(statusWord: .wrongLength))
            }
            guard var encoded = answer.encoded else {
                // The card leaves the field: closing the connection makes vpcd report it absent.
                lock.withLock { removedByApplet = true }
                return
            }
            if encoded.count > Self.maxFrame {
                encoded = ResponseAPDU(statusWord: .wrongLength).encoded
            }
            guard write(fd, frame: encoded) else { return }
            if applet.hasLeftField {
                // The card answered (or its reader did) as it left the field.
                lock.withLock { removedByApplet = true }
                return
            }
        }
    }

    private func readExactly(_ fd: Int32, count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            got += n
            Self.rearmQuickAck(fd)
        }
        return buffer
    }

    private func write(_ fd: Int32, frame: [UInt8]) -> Bool {
        let message = [UInt8(frame.count >> 8), UInt8(frame.count & 0xFF)] + frame
        var sent = 0
        while sent < message.count {
            let n = message.withUnsafeBytes {
                send(fd, $0.baseAddress! + sent, message.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}

/// Why the virtual card could not reach vpcd.
public enum VPCDError: Error, CustomStringConvertible {
    case socket(Int32)
    case badAddress(String)
    case connect(Int32)
    case stopped

    public var description: String {
        switch self {
        case let .socket(code): return "cannot create a socket: \(String(cString: strerror(code)))"
        case let .badAddress(host): return "'\(host)' is not an IPv4 address"
        case let .connect(code):
            return "cannot connect to vpcd: \(String(cString: strerror(code))) (is pcscd running with vsmartcard-vpcd?)"
        case .stopped: return "stopped"
        }
    }
}
