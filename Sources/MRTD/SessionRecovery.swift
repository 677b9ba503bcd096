import SmartCard

/// How far a read follows a chip that answers protected commands in plain (ICAO 9303-11 §9.8; issued chips do it
/// for `6700`, `6A82`, `6B00` and more): plain status words taken as the chip's answer, and sessions opened again
/// when the chip closed its own. Both are bounded per read.
public struct PlainStatusLimits: Sendable, Equatable {
    /// Plain status words accepted in one read.
    public var maxPlainAnswers: Int
    /// Times access control (PACE or BAC, with the same key) may be run again in one read.
    public var maxReestablishments: Int

    public static let `default` = PlainStatusLimits(maxPlainAnswers: 24, maxReestablishments: 2)

    public init(maxPlainAnswers: Int, maxReestablishments: Int) {
        self.maxPlainAnswers = maxPlainAnswers
        self.maxReestablishments = maxReestablishments
    }
}

/// What a read did about plain status words under secure messaging: typed facts for statistics, `enrollctl probe`
/// and the genuineness policy.
public struct PlainStatusRecovery: Sendable, Equatable {
    /// One plain answer and what the reader did.
    public struct Event: Sendable, Equatable {
        public enum Action: String, Sendable, Equatable {
            /// Taken as the chip's answer (the session went on).
            case accepted
            /// The chip had closed its session: access control ran again and the command was sent once more.
            case sessionReestablished = "session-reestablished"
        }

        /// The command's INS (B0 READ BINARY, A4 SELECT, 22 MSE, …).
        public var instruction: UInt8
        /// The plain status word, or nil when the session failed verification after a plain answer.
        public var statusWord: StatusWord?
        public var action: Action
    }

    /// Status words taken without secure messaging.
    public var plainAnswers = 0
    /// Sessions opened again after the chip closed its own.
    public var sessionsReestablished = 0
    /// The first events, in order (at most `maxEvents` kept).
    public var events: [Event] = []
    /// Files whose absence or refusal only an unprotected status word claims (6A82/6982 in plain): the chip's
    /// word, not verified.
    public var unprotectedRefusals: Set<FileID> = []

    static let maxEvents = 32

    public init() {}

    mutating func record(_ event: Event) {
        if events.count < Self.maxEvents { events.append(event) }
    }
}

/// A secure messaging channel that survives chips answering in plain: a plain error status word is the chip's
/// answer (`SecureMessagingSession`); when the chip then closed its session — the next answer fails verification, or
/// is plain again before any protected answer proved the session — it runs access control again with the same key
/// (`reopen`), selects what was selected and sends the command once more, so a file read resumes at the same offset.
/// Never accepts data without secure messaging; bounded by `PlainStatusLimits`, then fails with
/// `SecureMessagingError.recoveryExhausted`.
public final class RecoveringSecureMessagingChannel: SecureCommandChannel {
    /// Runs access control again at master-file level; `true` asks it to select the eMRTD application as well.
    public typealias Reopen = (_ selectApplication: Bool) throws(MRTDError) -> SecureMessagingChannel

    public private(set) var current: SecureMessagingChannel
    public private(set) var recovery = PlainStatusRecovery()
    public let limits: PlainStatusLimits
    private let reopen: Reopen
    private var applicationSelected: Bool
    /// The last successful SELECT of an EF, replayed after a new session.
    private var fileSelect: CommandAPDU?
    private var lastPlainStatus: StatusWord?

    public init(
        current: SecureMessagingChannel, applicationSelected: Bool, limits: PlainStatusLimits = .default,
        reopen: @escaping Reopen
    ) {
        self.current = current
        self.applicationSelected = applicationSelected
        self.limits = limits
        self.reopen = reopen
    }

    public var supportsExtendedLength: Bool { current.supportsExtendedLength }
    public var atr: [UInt8] { current.atr }
    public var lastAnswerWasPlain: Bool { current.lastAnswerWasPlain }

    public func send(_ command: CommandAPDU) throws(MRTDError) -> ResponseAPDU {
        let suspect = current.session.awaitingProof
        let response: ResponseAPDU
        do {
            response = try current.send(command)
        } catch {
            guard suspect, Self.closedSession(error) else { throw error }
            return try reestablishAndRetry(command, statusWord: nil)
        }
        if current.lastAnswerWasPlain {
            recovery.plainAnswers += 1
            lastPlainStatus = response.statusWord
            guard recovery.plainAnswers <= limits.maxPlainAnswers else { throw exhausted() }
            if suspect {
                // Plain twice with no protected answer between: the chip may have dropped the session.
                return try reestablishAndRetry(command, statusWord: response.statusWord)
            }
            recovery.record(.init(instruction: command.ins, statusWord: response.statusWord, action: .accepted))
            return response
        }
        remember(command, response)
        return response
    }

    /// Notes what a new session must select again.
    private func remember(_ command: CommandAPDU, _ response: ResponseAPDU) {
        guard command.ins == 0xA4, response.statusWord.isSuccess else { return }
        if command.p1 == 0x04 {
            applicationSelected = true
            fileSelect = nil
        } else {
            fileSelect = command
        }
    }

    private func reestablishAndRetry(
        _ command: CommandAPDU, statusWord: StatusWord?
    ) throws(MRTDError)
        -> ResponseAPDU
    {
        guard recovery.sessionsReestablished < limits.maxReestablishments else { throw exhausted() }
        recovery.sessionsReestablished += 1
        recovery.record(.init(instruction: command.ins, statusWord: statusWord, action: .sessionReestablished))
        current = try reopen(applicationSelected)
        if let fileSelect {
            let selected = try current.send(fileSelect)
            guard selected.statusWord.isSuccess else {
                throw ReadBinaryStrategy.failure("SELECT again after a new session", selected.statusWord, on: current)
            }
        }
        let response = try current.send(command)
        if current.lastAnswerWasPlain {
            recovery.plainAnswers += 1
            lastPlainStatus = response.statusWord
            guard recovery.plainAnswers <= limits.maxPlainAnswers else { throw exhausted() }
            recovery.record(.init(instruction: command.ins, statusWord: response.statusWord, action: .accepted))
        } else {
            remember(command, response)
        }
        return response
    }

    private func exhausted() -> MRTDError {
        .secureMessaging(
            .recoveryExhausted(
                plainAnswers: recovery.plainAnswers,
                reestablished: recovery.sessionsReestablished, last: lastPlainStatus))
    }

    /// Failures that mean "the chip is no longer in this session" rather than a transport problem.
    private static func closedSession(_ error: MRTDError) -> Bool {
        guard case let .secureMessaging(reason) = error else { return false }
        switch reason {
        case .macMismatch, .missingStatus, .missingChecksum, .malformedResponse, .badPadding, .abortedByCard,
            .unprotectedStatus:
            return true
        case .sessionEnded, .commandNotProtectable, .recoveryExhausted:
            return false
        }
    }
}
