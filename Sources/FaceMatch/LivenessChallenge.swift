import Foundation

/// One thing the person is asked to do in front of the camera.
public enum LivenessPrompt: String, Sendable, Equatable, CaseIterable, Codable {
    /// Turn the head to the person's own left (in an unmirrored camera frame the nose moves to the image's right).
    case turnLeft = "turn-left"
    /// Turn the head to the person's own right.
    case turnRight = "turn-right"
    case lookUp = "look-up"
    /// Come closer to the camera: the face grows in the frame.
    case comeCloser = "come-closer"

    /// What the kiosk shows or says.
    public var instruction: String {
        switch self {
        case .turnLeft: return "turn your head slowly to the left"
        case .turnRight: return "turn your head slowly to the right"
        case .lookUp: return "look up slowly, then back at the camera"
        case .comeCloser: return "hold still, closer to the camera"
        }
    }
}

/// A fresh challenge for one liveness attempt: a nonce, 2 or 3 distinct prompts in random order, and an expiry.
/// One challenge answers one burst: the session marks it used (see `LivenessDecision.challengeRefused`).
public struct LivenessChallenge: Sendable, Equatable {
    /// 16 random bytes; the burst must name them (`LivenessBurst.nonce`).
    public var nonce: [UInt8]
    public var prompts: [LivenessPrompt]
    public var issuedAt: Date
    public var expiresAt: Date

    public init(nonce: [UInt8], prompts: [LivenessPrompt], issuedAt: Date, expiresAt: Date) {
        self.nonce = nonce
        self.prompts = prompts
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }

    /// Default lifetime: long enough to read the prompts and move, short enough that a prepared answer is hard.
    public static let defaultLifetime: TimeInterval = 20

    /// A challenge drawn from `generator` (the daemon passes `SystemRandomNumberGenerator`, backed by the
    /// kernel's CSPRNG): 2 or 3 distinct prompts (`promptCount`, clamped to 2...4) in random order.
    public static func random<Generator: RandomNumberGenerator>(
        using generator: inout Generator, now: Date = Date(), lifetime: TimeInterval = defaultLifetime,
        promptCount: ClosedRange<Int> = 2...3
    ) -> LivenessChallenge {
        let nonce = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let lower = min(max(promptCount.lowerBound, 2), 4)
        let upper = min(max(promptCount.upperBound, lower), 4)
        let count = Int.random(in: lower...upper, using: &generator)
        let prompts = Array(LivenessPrompt.allCases.shuffled(using: &generator).prefix(count))
        return LivenessChallenge(
            nonce: nonce, prompts: prompts, issuedAt: now,
            expiresAt: now.addingTimeInterval(max(1, lifetime)))
    }

    /// The refusal of a burst that names another challenge's nonce or comes after the expiry, before any frame is
    /// looked at (the capture window is `LivenessChecker`'s, with its clock skew); nil when neither applies.
    public func refusal(answering burst: LivenessBurst, at now: Date) -> LivenessDecision? {
        if burst.nonce != nonce {
            return .challengeRefused(.nonceMismatch, detail: "the burst answers another challenge")
        }
        if now > expiresAt {
            let late = String(format: "%.1f", now.timeIntervalSince(expiresAt))
            return .challengeRefused(.expired, detail: "expired \(late) s ago")
        }
        return nil
    }

    /// The nonce as lowercase hex (as the API carries it).
    public var nonceHex: String { nonce.map { String(format: "%02x", $0) }.joined() }

    /// Parses a hex nonce; nil unless it is 32 hex digits.
    public static func nonce(fromHex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 32 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 32, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        return bytes
    }
}
