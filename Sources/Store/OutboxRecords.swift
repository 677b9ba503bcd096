import Foundation

/// Where a message of the outbox is: written with the state change that needs it (`queued`), taken by one worker
/// (`sending`, until its lease ends), then `sent` once, or `failed` after its last attempt (kept, to be retried by an
/// operator: nothing is lost).
public enum OutboxState: String, Sendable, Codable, CaseIterable {
    case queued
    case sending
    case sent
    case failed
}

/// One message of the transactional outbox. The recipient and the text are sealed by the domain (they are personal
/// data and carry a one-time code); the store sees only what it needs to schedule delivery.
public struct OutboxMessageRecord: Sendable, Equatable {
    public var id: UUID
    /// The account the message is about, when any (no personal data: an identifier).
    public var accountID: UUID?
    /// What the message is: `activation-code`, `passcode-reset-code`.
    public var kind: String
    /// `email` or `sms`.
    public var transport: String
    /// The recipient, language and parameters, sealed (`OutboxPayload` in Enrollment).
    public var sealedPayload: [UInt8]
    public var state: OutboxState
    /// Delivery attempts made so far.
    public var attempts: Int
    /// Not before this time (backoff after a failed attempt).
    public var nextAttemptAt: Date
    /// The worker holding the message while `sending`, and until when: past it, another worker may take it.
    public var claimedBy: String?
    public var claimedUntil: Date?
    /// The last transport error, without personal data (an SMTP reply code, an HTTP status).
    public var lastError: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var sentAt: Date?

    public init(
        id: UUID = UUID(), accountID: UUID?, kind: String, transport: String, sealedPayload: [UInt8],
        state: OutboxState = .queued, attempts: Int = 0, nextAttemptAt: Date, claimedBy: String? = nil,
        claimedUntil: Date? = nil, lastError: String? = nil, createdAt: Date, updatedAt: Date, sentAt: Date? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.kind = kind
        self.transport = transport
        self.sealedPayload = sealedPayload
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.claimedBy = claimedBy
        self.claimedUntil = claimedUntil
        self.lastError = lastError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.sentAt = sentAt
    }
}

/// Where a one-time code is: waiting for its holder, used once, expired, or spent by too many wrong entries.
public enum ActivationCodeState: String, Sendable, Codable, CaseIterable {
    case pending
    case used
    case expired
    case exhausted
}

/// A one-time code sent to an account's contact: activation of a new signing tier, or a passcode reset. Only a
/// keyed hash of the code is kept; one code per account and purpose (a new one replaces the old).
public struct ActivationCodeRecord: Sendable, Equatable {
    public var accountID: UUID
    /// `activation` or `passcode-reset`.
    public var purpose: String
    /// HMAC-SHA-256 of the code under the server's identity key.
    public var codeHash: [UInt8]
    /// The certificate on hold until activation (purpose `activation`).
    public var certificateSerial: String?
    /// The tier the account returns to when the code expires unused.
    public var previousTier: AccountTier
    public var enrollmentID: UUID?
    public var state: ActivationCodeState
    public var failedAttempts: Int
    public var createdAt: Date
    public var expiresAt: Date
    public var updatedAt: Date

    public init(
        accountID: UUID, purpose: String, codeHash: [UInt8], certificateSerial: String? = nil,
        previousTier: AccountTier, enrollmentID: UUID? = nil, state: ActivationCodeState = .pending,
        failedAttempts: Int = 0, createdAt: Date, expiresAt: Date, updatedAt: Date
    ) {
        self.accountID = accountID
        self.purpose = purpose
        self.codeHash = codeHash
        self.certificateSerial = certificateSerial
        self.previousTier = previousTier
        self.enrollmentID = enrollmentID
        self.state = state
        self.failedAttempts = failedAttempts
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.updatedAt = updatedAt
    }
}
