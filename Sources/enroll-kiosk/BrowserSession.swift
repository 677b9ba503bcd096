import Foundation
import Synchronization

/// The hand-over from the start URL to a cookie. Each start of the gateway draws a random start token (256 bits)
/// that appears once, in the start URL it prints; the first request that presents it gets a session cookie
/// (another 256-bit value, `HttpOnly; SameSite=Strict`) and the start token is spent, so the URL seen on a command
/// line or in a log afterwards opens nothing. Every other request needs the cookie.
final class BrowserSession: Sendable {
    static let cookieName = "enroll_kiosk_session"

    private struct State {
        var startToken: [UInt8]?
        var sessionValue: [UInt8]?
    }

    private let state: Mutex<State>
    /// The start token as the start URL carries it (hex).
    let startTokenHex: String

    init() {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        startTokenHex = Self.hex(token)
        state = Mutex(State(startToken: token))
    }

    enum Exchange: Equatable {
        /// The `Set-Cookie` value to send.
        case cookie(String)
        case wrongToken
        case alreadyUsed
    }

    /// Spends the start token for a session cookie; only once per start.
    func exchange(presented: String) -> Exchange {
        state.withLock { state in
            guard let token = state.startToken else { return .alreadyUsed }
            guard Self.constantTimeEqual(Array(presented.utf8), Array(Self.hex(token).utf8)) else {
                return .wrongToken
            }
            var generator = SystemRandomNumberGenerator()
            let value = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            state.startToken = nil
            state.sessionValue = value
            return .cookie("\(Self.cookieName)=\(Self.hex(value)); Path=/; HttpOnly; SameSite=Strict")
        }
    }

    /// Whether the request's `Cookie` header carries the session cookie.
    func admits(cookieHeader: String?) -> Bool {
        guard let cookieHeader else { return false }
        let presented = cookieHeader.split(separator: ";").compactMap { pair -> String? in
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return parts.count == 2 && parts[0] == Self.cookieName ? parts[1] : nil
        }
        guard presented.count == 1 else { return false }
        return state.withLock { state in
            guard let value = state.sessionValue else { return false }
            return Self.constantTimeEqual(Array(presented[0].utf8), Array(Self.hex(value).utf8))
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Compares without stopping at the first difference, so timing tells nothing about the token.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
