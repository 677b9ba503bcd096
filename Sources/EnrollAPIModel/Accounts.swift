import Foundation

/// A certificate as the API lists it.
public struct CertificateView: Codable, Sendable, Equatable {
    public var serial: String
    public var state: String
    public var notBefore: String
    public var notAfter: String
    public var revokedAt: String?
    public var revocationReason: String?
    public var deviceId: String?
    public var pem: String?

    public init(
        serial: String, state: String, notBefore: String, notAfter: String, revokedAt: String? = nil,
        revocationReason: String? = nil, deviceId: String? = nil, pem: String? = nil
    ) {
        self.serial = serial
        self.state = state
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.revokedAt = revokedAt
        self.revocationReason = revocationReason
        self.deviceId = deviceId
        self.pem = pem
    }
}

/// An account as `GET /v1/accounts/{id}` shows it.
public struct AccountView: Codable, Sendable, Equatable {
    public var id: String
    public var tier: String
    /// The tier's display name from configuration (e.g. "iAM Smart+").
    public var tierName: String
    public var status: String
    public var surname: String
    public var givenNames: String
    public var documentType: String
    public var issuingState: String
    public var documentExpiry: String
    public var createdAt: String
    public var updatedAt: String
    public var certificates: [CertificateView]
    /// The documents of the account's identity verified for it (a passport and an ID card with one personal
    /// number are one account's two documents); the fields above are those of the one verified last.
    public var documents: [AccountDocumentView]?
    /// `pending-activation` while the signing certificate is on hold until the holder enters the code sent to the
    /// contact (with `activationExpiresAt`); absent otherwise.
    public var activation: String?
    public var activationExpiresAt: String?

    public init(
        id: String, tier: String, tierName: String, status: String, surname: String, givenNames: String,
        documentType: String, issuingState: String, documentExpiry: String, createdAt: String, updatedAt: String,
        certificates: [CertificateView], documents: [AccountDocumentView]? = nil, activation: String? = nil,
        activationExpiresAt: String? = nil
    ) {
        self.activation = activation
        self.activationExpiresAt = activationExpiresAt
        self.documents = documents
        self.id = id
        self.tier = tier
        self.tierName = tierName
        self.status = status
        self.surname = surname
        self.givenNames = givenNames
        self.documentType = documentType
        self.issuingState = issuingState
        self.documentExpiry = documentExpiry
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.certificates = certificates
    }
}

/// A document an account lists: never its number, only the number's keyed hash (HMAC-SHA-256 under the server's
/// identity key, hex), which tells two documents apart without revealing either.
public struct AccountDocumentView: Codable, Sendable, Equatable {
    /// The MRZ document code without fillers (`P`, `ID`, `I`, `AC`...).
    public var documentType: String
    public var issuingState: String
    /// ISO 8601 date: the document's last valid day.
    public var expiry: String
    public var numberHash: String
    public var firstVerifiedAt: String
    public var lastVerifiedAt: String

    public init(
        documentType: String, issuingState: String, expiry: String, numberHash: String, firstVerifiedAt: String,
        lastVerifiedAt: String
    ) {
        self.documentType = documentType
        self.issuingState = issuingState
        self.expiry = expiry
        self.numberHash = numberHash
        self.firstVerifiedAt = firstVerifiedAt
        self.lastVerifiedAt = lastVerifiedAt
    }
}

/// `POST /v1/accounts/{id}/devices` body.
public struct DeviceBindBody: Codable, Sendable {
    public var deviceId: String
    /// PEM public key of the device.
    public var publicKey: String
    public var label: String?

    public init(deviceId: String, publicKey: String, label: String? = nil) {
        self.deviceId = deviceId
        self.publicKey = publicKey
        self.label = label
    }
}

/// `DELETE /v1/accounts/{id}/devices/{deviceId}` body (optional for operators).
public struct DeviceUnbindBody: Codable, Sendable {
    /// The holder's passcode.
    public var passcode: String?
    /// A card-and-face session of this account completed in the last minutes.
    public var enrollmentId: String?

    public init(passcode: String? = nil, enrollmentId: String? = nil) {
        self.passcode = passcode
        self.enrollmentId = enrollmentId
    }
}

/// `POST /v1/accounts/{id}/status` body.
public struct StatusChangeBody: Codable, Sendable {
    /// `cancelled` or `invalid`.
    public var status: String
    public var reason: String

    public init(status: String, reason: String) {
        self.status = status
        self.reason = reason
    }
}

/// `POST /v1/accounts/{id}/passcode` body (set or change), `.../passcode/verify` and `DELETE .../passcode`.
public struct PasscodeBody: Codable, Sendable {
    /// The new passcode (set) or the entry (verify).
    public var passcode: String?
    /// The current passcode, to change or disable an enabled one.
    public var currentPasscode: String?

    public init(passcode: String? = nil, currentPasscode: String? = nil) {
        self.passcode = passcode
        self.currentPasscode = currentPasscode
    }
}

/// A passcode entry's answer: 200 ok, 403 wrong (attempts left), 423 locked (when it unlocks). An RFC 9457
/// problem document with the check's fields as extension members when refused.
public struct PasscodeCheckResponse: Codable, Sendable, Equatable {
    public var result: String
    public var attemptsLeft: Int?
    public var unlocksAt: String?
    public var type: String?
    public var title: String?
    public var status: Int?
    public var detail: String?
    public var code: String?

    public init(
        result: String, attemptsLeft: Int? = nil, unlocksAt: String? = nil, type: String? = nil, title: String? = nil,
        status: Int? = nil, detail: String? = nil, code: String? = nil
    ) {
        self.result = result
        self.attemptsLeft = attemptsLeft
        self.unlocksAt = unlocksAt
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
    }
}

/// A page of usage records.
public struct UsagePage: Codable, Sendable, Equatable {
    public var accountId: String
    public var records: [UsageRecordView]
    /// Pass as `after` for the next page; nil on the last page.
    public var next: Int64?

    public init(accountId: String, records: [UsageRecordView], next: Int64? = nil) {
        self.accountId = accountId
        self.records = records
        self.next = next
    }
}

/// A device binding as the API shows it.
public struct DeviceView: Sendable, Codable, Equatable {
    public var deviceId: String
    public var label: String
    public var publicKey: String
    public var boundAt: String
    public var unboundAt: String?
    public var unbindReason: String?
    public var active: Bool

    public init(
        deviceId: String, label: String, publicKey: String, boundAt: String, unboundAt: String? = nil,
        unbindReason: String? = nil, active: Bool
    ) {
        self.deviceId = deviceId
        self.label = label
        self.publicKey = publicKey
        self.boundAt = boundAt
        self.unboundAt = unboundAt
        self.unbindReason = unbindReason
        self.active = active
    }
}

/// The result of binding a device.
public struct DeviceBindingOutcome: Sendable, Codable, Equatable {
    public var device: DeviceView
    /// The binding this one cancelled, if any.
    public var superseded: DeviceView?
    /// Certificates revoked (reason superseded) because their key lived on the superseded device.
    public var revokedSerials: [String]

    public init(device: DeviceView, superseded: DeviceView? = nil, revokedSerials: [String]) {
        self.device = device
        self.superseded = superseded
        self.revokedSerials = revokedSerials
    }
}

/// An account's status and its history, as the API shows them.
public struct StatusView: Sendable, Codable, Equatable {
    public struct Change: Sendable, Codable, Equatable {
        public var from: String
        public var to: String
        public var reason: String
        public var actorRole: String
        public var actorUid: UInt32
        public var channel: String
        public var at: String

        public init(
            from: String, to: String, reason: String, actorRole: String, actorUid: UInt32, channel: String,
            at: String
        ) {
            self.from = from
            self.to = to
            self.reason = reason
            self.actorRole = actorRole
            self.actorUid = actorUid
            self.channel = channel
            self.at = at
        }
    }

    public var accountId: String
    public var status: String
    public var history: [Change]

    public init(accountId: String, status: String, history: [Change]) {
        self.accountId = accountId
        self.status = status
        self.history = history
    }
}

/// The answer to a passcode entry.
public struct PasscodeCheck: Sendable, Codable, Equatable {
    /// `ok`, `wrong` or `locked` (for staff; a kiosk is told only ok or `holder-proof-failed`).
    public var result: String
    /// Wrong entries left before the passcode locks (when `wrong`).
    public var attemptsLeft: Int?
    /// When a locked passcode unlocks (ISO 8601).
    public var unlocksAt: String?

    public var isOK: Bool { result == "ok" }

    public init(result: String, attemptsLeft: Int? = nil, unlocksAt: String? = nil) {
        self.result = result
        self.attemptsLeft = attemptsLeft
        self.unlocksAt = unlocksAt
    }
}

/// A passcode's state as the API shows it (never the hash).
public struct PasscodeStatus: Sendable, Codable, Equatable {
    public var set: Bool
    public var enabled: Bool
    public var failedAttempts: Int
    public var lockedUntil: String?
    /// Locked for good after too many wrong entries in total: only a card-and-face passcode reset clears it.
    public var lockedPermanently: Bool?
    /// Wrong entries since the passcode was set or reset, of the total that locks it for good.
    public var totalFailures: Int?
    public var maxTotalFailures: Int?

    public init(
        set: Bool, enabled: Bool, failedAttempts: Int, lockedUntil: String? = nil,
        lockedPermanently: Bool? = nil, totalFailures: Int? = nil, maxTotalFailures: Int? = nil
    ) {
        self.set = set
        self.enabled = enabled
        self.failedAttempts = failedAttempts
        self.lockedUntil = lockedUntil
        self.lockedPermanently = lockedPermanently
        self.totalFailures = totalFailures
        self.maxTotalFailures = maxTotalFailures
    }
}

/// The result of walking the usage chain (`POST /v1/audit/verify`, `enrollctl audit verify`).
public struct AuditReport: Sendable, Codable, Equatable {
    public struct Problem: Sendable, Codable, Equatable {
        public var sequence: Int64
        /// `edited`, `inserted` or `deleted`.
        public var kind: String
        public var message: String

        public init(sequence: Int64, kind: String, message: String) {
            self.sequence = sequence
            self.kind = kind
            self.message = message
        }
    }

    /// One signed chain head given to the check, and what the chain says to it.
    public struct HeadCheck: Sendable, Codable, Equatable {
        public var host: String
        public var sequence: Int64
        public var at: String
        /// `matches`, `disagrees` (the record there has another hash, or the chain was keyed elsewhere),
        /// `missing` (the chain no longer reaches it), `untrusted` (unknown key or bad signature: not used).
        public var result: String

        public init(host: String, sequence: Int64, at: String, result: String) {
            self.host = host
            self.sequence = sequence
            self.at = at
            self.result = result
        }
    }

    public var ok: Bool
    public var records: Int
    public var headSequence: Int64
    public var problems: [Problem]
    /// The first record from which the keyed (HMAC) chain starts; records before it are plain SHA-256 from before
    /// the chain was keyed. Nil for a chain that was never keyed.
    public var keyedFrom: Int64?
    /// The signed heads the check was given, when any.
    public var heads: [HeadCheck]?
    /// The first record that disagrees with the chain or with a trusted signed head, when any.
    public var firstDisagreement: Int64?

    public init(
        ok: Bool, records: Int, headSequence: Int64, problems: [Problem], keyedFrom: Int64? = nil,
        heads: [HeadCheck]? = nil, firstDisagreement: Int64? = nil
    ) {
        self.ok = ok
        self.records = records
        self.headSequence = headSequence
        self.problems = problems
        self.keyedFrom = keyedFrom
        self.heads = heads
        self.firstDisagreement = firstDisagreement
    }
}

/// `POST /v1/audit/verify`'s optional body: signed chain heads as the daemons logged them (journal lines that hold
/// `enrolld-audit-head v1 ...`; other lines are skipped).
public struct AuditVerifyBody: Codable, Sendable, Equatable {
    public var heads: [String]?

    public init(heads: [String]? = nil) {
        self.heads = heads
    }
}

/// `POST /v1/accounts/{id}/holder-name` body: the holder's new document, read at the counter, and why the changed
/// name is accepted.
public struct HolderNameChangeBody: Codable, Sendable {
    public var reader: String
    public var accessKey: AccessKeyRequest
    /// Why the new name is accepted (e.g. "marriage certificate seen"): one line, up to 200 characters; recorded
    /// in the usage log.
    public var reason: String

    public init(reader: String, accessKey: AccessKeyRequest, reason: String) {
        self.reader = reader
        self.accessKey = accessKey
        self.reason = reason
    }
}

/// A usage record as the API shows it (no hashes: `enrollctl audit verify` checks those).
public struct UsageRecordView: Sendable, Codable, Equatable {
    public var sequence: Int64
    public var at: String
    public var accountId: String?
    public var enrollmentId: String?
    public var event: String
    public var channel: String
    public var actorRole: String
    public var actorUid: UInt32
    public var outcome: String
    public var detail: String

    public init(
        sequence: Int64, at: String, accountId: String? = nil, enrollmentId: String? = nil, event: String,
        channel: String, actorRole: String, actorUid: UInt32, outcome: String, detail: String
    ) {
        self.sequence = sequence
        self.at = at
        self.accountId = accountId
        self.enrollmentId = enrollmentId
        self.event = event
        self.channel = channel
        self.actorRole = actorRole
        self.actorUid = actorUid
        self.outcome = outcome
        self.detail = detail
    }
}

/// `POST /v1/accounts/lookup` body: the holder's card on a reader, with its access key (the counter finds the
/// account by tapping the card).
public struct AccountLookupBody: Codable, Sendable {
    public var reader: String
    public var accessKey: AccessKeyRequest

    public init(reader: String, accessKey: AccessKeyRequest) {
        self.reader = reader
        self.accessKey = accessKey
    }
}

/// The account of the identity a genuine card proves (`POST /v1/accounts/lookup`).
public struct AccountLookup: Codable, Sendable, Equatable {
    public var accountId: String
    public var tier: String
    public var status: String

    public init(accountId: String, tier: String, status: String) {
        self.accountId = accountId
        self.tier = tier
        self.status = status
    }
}

/// `POST /v1/accounts/{id}/activate` answer.
public struct ActivationView: Sendable, Codable, Equatable {
    public var accountId: String
    /// `active`.
    public var activation: String

    public init(accountId: String, activation: String) {
        self.accountId = accountId
        self.activation = activation
    }
}

/// One message of the outbox as `GET /v1/outbox` lists it: its delivery state, never its recipient or text.
public struct OutboxMessageView: Sendable, Codable, Equatable {
    public var id: String
    public var accountId: String?
    /// `activation-code`, `passcode-reset-code`.
    public var kind: String
    /// `email` or `phone`.
    public var transport: String
    /// `queued`, `sending`, `sent`, `failed`.
    public var state: String
    public var attempts: Int
    public var nextAttemptAt: String
    /// The last transport error (an SMTP reply code, an HTTP status), when any.
    public var lastError: String?
    public var createdAt: String
    public var sentAt: String?

    public init(
        id: String, accountId: String?, kind: String, transport: String, state: String, attempts: Int,
        nextAttemptAt: String, lastError: String?, createdAt: String, sentAt: String?
    ) {
        self.id = id
        self.accountId = accountId
        self.kind = kind
        self.transport = transport
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.sentAt = sentAt
    }
}

/// `GET /v1/outbox` answer, oldest first.
public struct OutboxPage: Sendable, Codable, Equatable {
    public var messages: [OutboxMessageView]

    public init(messages: [OutboxMessageView]) { self.messages = messages }
}
