import Foundation

/// One binding of an account to a device (identity lifecycle). An account has at most one active
/// binding (`unboundAt == nil`); older bindings stay as history.
public struct DeviceBindingRecord: Sendable, Equatable {
    public var id: UUID
    public var accountID: UUID
    /// The device's identifier as the holder's app reports it.
    public var deviceID: String
    /// The device's public key, PEM (SubjectPublicKeyInfo).
    public var publicKey: String
    public var label: String
    public var boundAt: Date
    public var unboundAt: Date?
    /// Why the binding ended: `superseded`, `holder`, `operator`, `cancelled`.
    public var unbindReason: String?

    public init(
        id: UUID = UUID(), accountID: UUID, deviceID: String, publicKey: String, label: String, boundAt: Date,
        unboundAt: Date? = nil, unbindReason: String? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.deviceID = deviceID
        self.publicKey = publicKey
        self.label = label
        self.boundAt = boundAt
        self.unboundAt = unboundAt
        self.unbindReason = unbindReason
    }
}

/// One usage record: a link of the global hash chain (see `UsageChain` in Enrollment).
/// No personal data: events, outcomes and identifiers only.
public struct UsageRecord: Sendable, Equatable {
    /// Position in the global chain, from 1, without gaps.
    public var sequence: Int64
    public var at: Date
    public var accountID: UUID?
    /// The enrollment session the record belongs to, when any.
    public var enrollmentID: UUID?
    /// What happened: `enrollment-started`, `certificate-issued`, `device-bound`, `passcode-wrong`, ...
    public var event: String
    /// Kiosk or counter id (`X-Enrolld-Channel`), or `system`.
    public var channel: String
    /// `kiosk`, `operator`, `admin`, `holder` or `system`.
    public var actorRole: String
    /// The caller's uid (SO_PEERCRED).
    public var actorUID: UInt32
    /// `ok`, `refused`, `failed`.
    public var outcome: String
    /// Short non-personal detail (serial, device id, reason code).
    public var detail: String
    public var previousHash: [UInt8]
    public var hash: [UInt8]
    /// Whether `hash` is keyed (HMAC-SHA-256 under the usage-chain key) or, for records from before the chain was
    /// keyed, plain SHA-256.
    public var keyed: Bool

    public init(
        sequence: Int64, at: Date, accountID: UUID?, enrollmentID: UUID?, event: String, channel: String,
        actorRole: String, actorUID: UInt32, outcome: String, detail: String, previousHash: [UInt8],
        hash: [UInt8], keyed: Bool = false
    ) {
        self.sequence = sequence
        self.at = at
        self.accountID = accountID
        self.enrollmentID = enrollmentID
        self.event = event
        self.channel = channel
        self.actorRole = actorRole
        self.actorUID = actorUID
        self.outcome = outcome
        self.detail = detail
        self.previousHash = previousHash
        self.hash = hash
        self.keyed = keyed
    }
}

/// Which usage records to list.
public struct UsageQuery: Sendable, Equatable {
    /// Records of this account, including those of its enrollment sessions; nil for all.
    public var accountID: UUID?
    public var since: Date?
    public var until: Date?
    /// Only records after this sequence number (paging).
    public var afterSequence: Int64?
    public var limit: Int?

    public init(
        accountID: UUID? = nil, since: Date? = nil, until: Date? = nil, afterSequence: Int64? = nil,
        limit: Int? = nil
    ) {
        self.accountID = accountID
        self.since = since
        self.until = until
        self.afterSequence = afterSequence
        self.limit = limit
    }
}

/// An account's service passcode: scrypt hash with a per-account salt, and its lockout state.
public struct PasscodeRecord: Sendable, Equatable {
    public var accountID: UUID
    public var salt: [UInt8]
    public var hash: [UInt8]
    /// `scrypt:N:r:p`.
    public var parameters: String
    /// Consecutive wrong entries since the last success or lockout end.
    public var failedAttempts: Int
    public var lockedUntil: Date?
    /// False when the holder disabled the passcode (the hash is then empty).
    public var enabled: Bool
    public var updatedAt: Date
    /// Locks since the last correct entry: each lock lasts twice as long as the one before.
    public var lockLevel: Int
    /// Wrong entries since the passcode was set or reset (a correct entry does not clear them).
    public var totalFailures: Int
    /// Locked for good after too many wrong entries in total; only a card-and-face passcode reset clears it.
    public var lockedPermanently: Bool

    public init(
        accountID: UUID, salt: [UInt8], hash: [UInt8], parameters: String, failedAttempts: Int = 0,
        lockedUntil: Date? = nil, enabled: Bool = true, updatedAt: Date, lockLevel: Int = 0,
        totalFailures: Int = 0, lockedPermanently: Bool = false
    ) {
        self.accountID = accountID
        self.salt = salt
        self.hash = hash
        self.parameters = parameters
        self.failedAttempts = failedAttempts
        self.lockedUntil = lockedUntil
        self.enabled = enabled
        self.updatedAt = updatedAt
        self.lockLevel = lockLevel
        self.totalFailures = totalFailures
        self.lockedPermanently = lockedPermanently
    }
}

/// The wrong passcode entries one caller (a kiosk's uid on one host) made across all accounts in the current window,
/// and until when the caller may make no more.
public struct PasscodeBudgetRecord: Sendable, Equatable {
    /// `uid:N@host`.
    public var caller: String
    public var windowStart: Date
    public var failures: Int
    public var lockedUntil: Date?
    public var updatedAt: Date

    public init(caller: String, windowStart: Date, failures: Int = 0, lockedUntil: Date? = nil, updatedAt: Date) {
        self.caller = caller
        self.windowStart = windowStart
        self.failures = failures
        self.lockedUntil = lockedUntil
        self.updatedAt = updatedAt
    }
}

/// One change of an account's identity status.
public struct StatusChangeRecord: Sendable, Equatable {
    public var accountID: UUID
    public var from: IdentityStatus
    public var to: IdentityStatus
    /// Stable reason code or operator's text (never personal data).
    public var reason: String
    public var actorRole: String
    public var actorUID: UInt32
    public var channel: String
    public var at: Date

    public init(
        accountID: UUID, from: IdentityStatus, to: IdentityStatus, reason: String, actorRole: String,
        actorUID: UInt32, channel: String, at: Date
    ) {
        self.accountID = accountID
        self.from = from
        self.to = to
        self.reason = reason
        self.actorRole = actorRole
        self.actorUID = actorUID
        self.channel = channel
        self.at = at
    }
}

/// A minor's account linked to the guardian who was present at registration.
public struct GuardianLinkRecord: Sendable, Equatable {
    public var accountID: UUID
    public var guardianAccountID: UUID
    /// The enrollment session in which both cards were read.
    public var enrollmentID: UUID
    public var createdAt: Date

    public init(accountID: UUID, guardianAccountID: UUID, enrollmentID: UUID, createdAt: Date) {
        self.accountID = accountID
        self.guardianAccountID = guardianAccountID
        self.enrollmentID = enrollmentID
        self.createdAt = createdAt
    }
}
