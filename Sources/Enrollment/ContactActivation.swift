import EnrollAPIModel
import Foundation
import OpenSSLKit
import Store

/// Activation through the registered contact (`[enrollment] activation`): which tiers need it, and the one-time
/// codes' shape and limits. Safe defaults; every one configurable.
public struct ActivationPolicy: Sendable, Equatable {
    /// Whether completing at the signing tier leaves the account `pending-activation` with its certificate on hold
    /// until the holder enters the code sent to the contact.
    public var requiredForSigning = true
    /// Transports the daemon can deliver through (`email` with SMTP configured, `sms` with a gateway): activation
    /// applies only when one is configured, and then needs a contact of one of them.
    public var transports: Set<ContactKind> = []
    /// Digits of a code (6 to 8).
    public var codeDigits = 6
    /// How long a code can be entered.
    public var codeLifetime: TimeInterval = 900
    /// Wrong entries of one code before it is spent (an activation code then expires at once).
    public var maxAttempts = 5
    /// The language of messages when the contact names none (`language` contact field).
    public var defaultLanguage = "en"
    /// How long wrong entries of a code outlive it: a code issued in its place within this time (from the last
    /// entry) starts with them, so asking for new codes does not buy new attempts.
    public var failureMemory: TimeInterval = 86_400

    public init() {}

    /// Whether a completion at the signing tier needs activation.
    public var appliesToSigning: Bool { requiredForSigning && !transports.isEmpty }
}

/// What an outbox message carries, sealed (AES-256-GCM, context `outbox:ID`): where to, in which language, and the
/// template's parameters. Nothing else of the holder: no name, no document.
public struct ContactMessage: Codable, Sendable, Equatable {
    public var transport: ContactKind.RawValue
    public var recipient: String
    /// `en`, `zh-Hant`, `vi`, `pt`.
    public var language: String
    /// The template: `activation-code`, `passcode-reset-code`.
    public var template: String
    public var code: String
    public var expiresAt: Date

    /// Languages with message templates.
    public static let languages = ["en", "zh-Hant", "vi", "pt"]

    public func sealed(id: UUID, protector: PersonalDataProtecting) throws(EnrollmentError) -> [UInt8] {
        let plaintext: [UInt8]
        do {
            plaintext = [UInt8](try JSONEncoder().encode(self))
        } catch {
            throw EnrollmentError(.internalError, "cannot encode an outbox message")
        }
        return try protector.seal(plaintext, context: "outbox:" + id.uuidString)
    }

    public static func open(
        _ record: OutboxMessageRecord, protector: PersonalDataProtecting
    ) throws(EnrollmentError) -> ContactMessage {
        let plaintext = try protector.open(record.sealedPayload, context: "outbox:" + record.id.uuidString)
        do {
            return try JSONDecoder().decode(ContactMessage.self, from: Data(plaintext))
        } catch {
            throw EnrollmentError(.personalDataUnreadable, "outbox message \(record.id.uuidString) is not readable")
        }
    }
}

/// One-time codes sent to a contact: issued in the transaction of the state change that needs them (with their
/// outbox message), kept only as a keyed hash, compared in constant time.
public enum ContactCodes {
    public static let activation = "activation"
    public static let passcodeReset = "passcode-reset"

    /// A code of `digits` decimal digits, uniform, from the system's CSPRNG (getrandom(2)).
    static func newCode(digits: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String(
            (0..<min(max(digits, 6), 8)).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
    }

    /// HMAC-SHA-256 under the server's identity key, bound to the account and the purpose: a database reader
    /// cannot test the 10^6–10^8 candidates without the key file.
    static func hash(
        _ code: String, accountID: UUID, purpose: String, protector: PersonalDataProtecting
    ) throws(EnrollmentError) -> [UInt8] {
        try protector.identityKey(canonical: "CODE:\(purpose):\(accountID.uuidString):\(code)")
    }

    /// Whether `entered` is `record`'s code: its keyed hash compared in constant time (a malformed entry is hashed
    /// too, so it takes as long as a wrong one).
    static func matches(
        _ entered: String, _ record: ActivationCodeRecord, protector: PersonalDataProtecting
    ) throws(EnrollmentError) -> Bool {
        let code = entered.trimmingCharacters(in: .whitespaces)
        let wellFormed = (6...8).contains(code.count) && code.allSatisfy { $0.isASCII && $0.isNumber }
        let hash = try hash(
            wellFormed ? code : "-", accountID: record.accountID, purpose: record.purpose, protector: protector)
        return wellFormed && MessageAuthentication.constantTimeEquals(hash, record.codeHash)
    }

    /// The contact field a code goes to: the verified one first when `verifiedOnly`, e-mail before phone, of a
    /// transport the daemon has; nil when there is none.
    static func destination(
        _ personal: PersonalData, transports: Set<ContactKind>, verifiedOnly: Bool
    ) -> (field: String, kind: ContactKind, value: String)? {
        let candidates = personal.contact.compactMap { field, value -> (String, ContactKind, String)? in
            guard let kind = ContactKind(field: field), transports.contains(kind),
                let canonical = kind.normalized(value)
            else { return nil }
            if verifiedOnly && !personal.isVerified(field) { return nil }
            return (field, kind, canonical)
        }
        return candidates.sorted { ($0.1 == .email ? 0 : 1, $0.0) < ($1.1 == .email ? 0 : 1, $1.0) }.first
    }

    /// The wrong entries of `previous` (the code a new one replaces) that the new one inherits, and until when: none
    /// once it was used, or when its last entry is older than `failureMemory`.
    static func carriedFailures(
        _ previous: ActivationCodeRecord?, policy: ActivationPolicy, at: Date
    ) -> (failures: Int, until: Date) {
        guard let previous, previous.state != .used else { return (0, at) }
        let until = previous.updatedAt.addingTimeInterval(policy.failureMemory)
        return until > at ? (previous.failedAttempts, until) : (0, at)
    }

    /// Issues a code for `purpose` (replacing any earlier one; its wrong entries carry over, `carriedFailures`) and queues its message, in `tx`. Appends the usage
    /// record `contact-code-sent` (purpose and transport, never the address). Returns the code's expiry.
    @discardableResult
    static func issue(
        _ tx: any StoreTransaction, account: AccountRecord, personal: PersonalData, purpose: String,
        destination: (field: String, kind: ContactKind, value: String), certificateSerial: String?,
        previousTier: AccountTier, enrollmentID: UUID?, policy: ActivationPolicy,
        protector: PersonalDataProtecting, actor: UsageActor, at: Date
    ) throws -> Date {
        let carried = carriedFailures(
            try tx.activationCode(accountID: account.id, purpose: purpose), policy: policy, at: at)
        if purpose == passcodeReset, carried.failures >= policy.maxAttempts {
            throw EnrollmentError(
                .activationNotPending,
                "the passcode-reset codes of this account were entered wrongly too often: a new code can be sent after "
                    + ISO8601DateFormatter().string(from: carried.until))
        }
        let code = newCode(digits: policy.codeDigits)
        let expiresAt = at.addingTimeInterval(policy.codeLifetime)
        try tx.saveActivationCode(
            ActivationCodeRecord(
                accountID: account.id, purpose: purpose,
                codeHash: try hash(code, accountID: account.id, purpose: purpose, protector: protector),
                certificateSerial: certificateSerial, previousTier: previousTier, enrollmentID: enrollmentID,
                // An activation code is re-issued only by a new card-and-face enrollment: it keeps one attempt.
                failedAttempts: min(carried.failures, max(policy.maxAttempts - 1, 0)),
                createdAt: at, expiresAt: expiresAt, updatedAt: at))
        let requested = personal.contact["language"].flatMap { wanted in
            ContactMessage.languages.first { $0.lowercased() == wanted.lowercased() }
        }
        let message = ContactMessage(
            transport: destination.kind.rawValue, recipient: destination.value,
            language: requested ?? policy.defaultLanguage, template: purpose + "-code", code: code,
            expiresAt: expiresAt)
        let id = UUID()
        try tx.enqueueOutboxMessage(
            OutboxMessageRecord(
                id: id, accountID: account.id, kind: purpose + "-code", transport: destination.kind.rawValue,
                sealedPayload: try message.sealed(id: id, protector: protector), nextAttemptAt: at, createdAt: at,
                updatedAt: at))
        try UsageChain.append(
            tx, at: at, accountID: account.id, enrollmentID: enrollmentID,
            event: UsageEventKind.contactCodeSent.rawValue, actor: actor,
            detail: "\(purpose) \(destination.kind.rawValue)")
        return expiresAt
    }
}

/// Whether an account waits for its holder's activation (`GET /v1/accounts/{id}` field `activation`).
public enum ActivationState: String, Sendable, Codable {
    case pendingActivation = "pending-activation"
    case active
}

/// What activation did, for the daemon's metrics and log (no personal data).
public enum ActivationEvent: Sendable, Equatable {
    case activated
    case wrongCode
    /// The code expired, or was entered wrongly too often: the certificate revoked, the tier restored.
    case expired
}

extension IdentityLifecycle {
    /// What ending an activation in a transaction came to: a refusal to throw once the transaction committed (the
    /// counts and usage records of a wrong or expired code must survive the refusal), or success.
    private enum ActivationOutcome {
        case activated(serial: String?)
        case refused(EnrollmentError, revoked: String?)
    }

    /// Whether the account waits for activation.
    public func activationState(accountID: UUID) throws(EnrollmentError) -> ActivationState {
        let code = try run { tx in try tx.activationCode(accountID: accountID, purpose: ContactCodes.activation) }
        return code?.state == .pending ? .pendingActivation : .active
    }

    /// `POST /v1/accounts/{id}/activate`: the code sent to the contact releases the certificate's hold (RFC 5280
    /// §5.3.1 certificateHold: the serial is dropped from the next full CRL and OCSP answers good again; enrolld
    /// publishes no delta CRLs, so no removeFromCRL entry is written) and marks the contact field verified. A wrong
    /// code counts (per code, and against the kiosk's budget of wrong passcode entries); the last allowed wrong
    /// entry, or an entry after expiry, ends the activation as `expireActivations` does.
    public func activate(
        accountID: UUID, code: String, actor: UsageActor
    ) throws(EnrollmentError) {
        let at = now()
        let (policy, protector) = (self.policy, self.protector)
        let caller = budgetKey(actor)
        let budgeted = !actor.isStaff
        var events: [ActivationEvent] = []
        var passcodeEvents: [PasscodeEvent] = []
        let outcome: ActivationOutcome = try run { tx in
            events = []
            passcodeEvents = []
            if budgeted, let budget = try tx.passcodeBudget(caller: caller), let until = budget.lockedUntil,
                until > at
            {
                return .refused(Self.callerLockedOut(until: until), revoked: nil)
            }
            guard let account = try tx.account(id: accountID) else { throw EnrollmentError.accountNotFound(accountID) }
            guard var record = try tx.activationCode(accountID: accountID, purpose: ContactCodes.activation),
                record.state == .pending
            else {
                return .refused(
                    EnrollmentError(.activationNotPending, "account \(accountID.uuidString) has no activation pending"),
                    revoked: nil)
            }
            if account.status == .cancelled { return .refused(EnrollmentError.accountCancelled, revoked: nil) }
            if record.expiresAt <= at {
                let serial = try Self.endActivation(tx, &record, state: .expired, actor: actor, at: at)
                events.append(.expired)
                return .refused(Self.activationExpired, revoked: serial)
            }
            guard try ContactCodes.matches(code, record, protector: protector) else {
                record.failedAttempts += 1
                record.updatedAt = at
                events.append(.wrongCode)
                if budgeted { passcodeEvents += try Self.countCallerFailure(tx, caller, actor, policy, at) }
                try UsageChain.append(
                    tx, at: at, accountID: accountID, enrollmentID: record.enrollmentID,
                    event: UsageEventKind.contactCodeWrong.rawValue, actor: actor, outcome: "wrong",
                    detail: "activation \(record.failedAttempts) of \(policy.activation.maxAttempts)")
                if record.failedAttempts >= policy.activation.maxAttempts {
                    let serial = try Self.endActivation(tx, &record, state: .exhausted, actor: actor, at: at)
                    events.append(.expired)
                    return .refused(Self.activationExpired, revoked: serial)
                }
                try tx.saveActivationCode(record)
                let left = policy.activation.maxAttempts - record.failedAttempts
                return .refused(
                    EnrollmentError(
                        .activationCodeWrong, "wrong activation code: \(left) attempt(s) left before it is spent"),
                    revoked: nil)
            }
            if record.certificateSerial != nil, try Self.heldCertificate(tx, record) == nil {
                // Revoked for good meanwhile (an operator, a cancellation): nothing to release; the activation ends.
                _ = try Self.endActivation(tx, &record, state: .expired, actor: actor, at: at)
                events.append(.expired)
                return .refused(
                    EnrollmentError(
                        .activationExpired, "the certificate waiting for this activation was revoked: enroll again"),
                    revoked: nil)
            }
            record.state = .used
            record.updatedAt = at
            try tx.saveActivationCode(record)
            var released: String?
            if var certificate = try Self.heldCertificate(tx, record) {
                let serial = certificate.serial
                certificate.state = .issued
                certificate.revokedAt = nil
                certificate.revocationReason = nil
                try tx.updateCertificate(certificate)
                released = serial
            }
            var personal = try Self.openPersonal(account, protector: protector)
            // The field the code went to (chosen as at issue, among the configured transports), not any e-mail.
            let verified = ContactCodes.destination(
                personal, transports: policy.activation.transports, verifiedOnly: false)
            if let verified {
                var times = personal.contactVerifiedAt ?? [:]
                times[verified.field] = at
                personal.contactVerifiedAt = times
                var updated = account
                updated.sealedPersonalData = try Self.seal(personal, account: account, protector: protector)
                updated.updatedAt = at
                try tx.updateAccount(updated)
            }
            try UsageChain.append(
                tx, at: at, accountID: accountID, enrollmentID: record.enrollmentID,
                event: UsageEventKind.accountActivated.rawValue, actor: actor,
                detail: [released.map { "released \($0)" }, verified.map { "verified \($0.field)" }]
                    .compactMap { $0 }.joined(separator: "; "))
            events.append(.activated)
            return .activated(serial: released)
        }
        for event in events { onActivationEvent(event) }
        for event in passcodeEvents { onPasscodeEvent(event) }
        switch outcome {
        case let .activated(serial):
            // Re-signs the serial's OCSP responses (good) and the CRL (without it).
            revoked(serial.map { [$0] } ?? [])
        case let .refused(error, serial):
            revoked(serial.map { [$0] } ?? [])
            throw error
        }
    }

    static let activationExpired = EnrollmentError(
        .activationExpired,
        "the activation code expired or was entered wrongly too often: the certificate is revoked and the account "
            + "is back at its previous tier; enroll again")

    /// Ends every pending activation past its expiry (the daemon's sweep): each in its own transaction. Returns how
    /// many ended.
    @discardableResult
    public func expireActivations(limit: Int = 500) throws(EnrollmentError) -> Int {
        let at = now()
        let due = try run { tx in try tx.pendingActivationCodes(expiringBefore: at, limit: limit) }
        var ended = 0
        for code in due where code.purpose == ContactCodes.activation {
            let serial = try run { tx -> String? in
                guard var current = try tx.activationCode(accountID: code.accountID, purpose: code.purpose),
                    current.state == .pending, current.expiresAt <= at
                else { return nil }
                return try Self.endActivation(tx, &current, state: .expired, actor: .system, at: at) ?? ""
            }
            guard let serial else { continue }
            ended += 1
            onActivationEvent(.expired)
            if !serial.isEmpty { revoked([serial]) }
        }
        for code in due where code.purpose != ContactCodes.activation {
            try run { tx in
                guard var current = try tx.activationCode(accountID: code.accountID, purpose: code.purpose),
                    current.state == .pending
                else { return }
                current.state = .expired
                current.updatedAt = at
                try tx.saveActivationCode(current)
            }
        }
        return ended
    }

    /// The certificate `record` holds back, while it is still on hold (certificateHold); nil once it is released or
    /// revoked for good.
    static func heldCertificate(
        _ tx: any StoreTransaction, _ record: ActivationCodeRecord
    ) throws(StoreError) -> CertificateRecord? {
        guard let serial = record.certificateSerial, let certificate = try tx.certificate(serial: serial),
            certificate.state == .revoked, certificate.revocationReason == .certificateHold
        else { return nil }
        return certificate
    }

    /// An activation that will not complete: the held certificate revoked (privilegeWithdrawn: the signing tier was
    /// never confirmed), the account back at its previous tier, both usage records. Returns the revoked serial.
    static func endActivation(
        _ tx: any StoreTransaction, _ record: inout ActivationCodeRecord, state: ActivationCodeState,
        actor: UsageActor, at: Date
    ) throws -> String? {
        record.state = state
        record.updatedAt = at
        try tx.saveActivationCode(record)
        var revoked: String?
        if var certificate = try heldCertificate(tx, record) {
            let serial = certificate.serial
            certificate.revocationReason = .privilegeWithdrawn
            certificate.revokedAt = at
            try tx.updateCertificate(certificate)
            revoked = serial
        }
        if var account = try tx.account(id: record.accountID), account.tier != record.previousTier {
            account.tier = record.previousTier
            account.updatedAt = at
            try tx.updateAccount(account)
            try UsageChain.append(
                tx, at: at, accountID: account.id, enrollmentID: record.enrollmentID,
                event: UsageEventKind.tierChanged.rawValue, actor: actor, detail: record.previousTier.rawValue)
        }
        try UsageChain.append(
            tx, at: at, accountID: record.accountID, enrollmentID: record.enrollmentID,
            event: UsageEventKind.activationExpired.rawValue, actor: actor, outcome: "expired",
            detail: [state.rawValue, revoked.map { "revoked \($0)" }].compactMap { $0 }.joined(separator: "; "))
        return revoked
    }

    /// Counts a failed code entry against the caller's budget of wrong passcode entries (one budget for every
    /// secret a kiosk can guess); returns the events to report after the commit.
    static func countCallerFailure(
        _ tx: any StoreTransaction, _ caller: String, _ actor: UsageActor, _ policy: LifecyclePolicy, _ at: Date
    ) throws -> [PasscodeEvent] {
        var budget =
            try tx.passcodeBudget(caller: caller)
            ?? PasscodeBudgetRecord(caller: caller, windowStart: at, updatedAt: at)
        if at.timeIntervalSince(budget.windowStart) >= policy.passcodeCallerWindow || budget.lockedUntil != nil {
            budget = PasscodeBudgetRecord(caller: caller, windowStart: at, updatedAt: at)
        }
        return [.failedEntry] + (try spend(tx, &budget, actor, policy, at))
    }

    /// One failed entry off `budget` (in its current window), saved; when that uses it up the caller is locked out
    /// until the window ends (usage record `passcode-entries-exhausted`). Returns the lock-out event, if any.
    static func spend(
        _ tx: any StoreTransaction, _ budget: inout PasscodeBudgetRecord, _ actor: UsageActor,
        _ policy: LifecyclePolicy, _ at: Date
    ) throws -> [PasscodeEvent] {
        var events: [PasscodeEvent] = []
        budget.failures += 1
        budget.updatedAt = at
        if budget.failures >= policy.passcodeCallerBudget {
            let until = budget.windowStart.addingTimeInterval(policy.passcodeCallerWindow)
            budget.lockedUntil = until
            events.append(.callerLockedOut(actor: actor, until: until))
            try UsageChain.append(
                tx, at: at, accountID: nil, event: UsageEventKind.passcodeEntriesExhausted.rawValue, actor: actor,
                outcome: "locked",
                detail: "\(budget.failures) failed entries; until " + ISO8601DateFormatter().string(from: until))
        }
        try tx.savePasscodeBudget(budget)
        return events
    }
}

extension EnrollmentService {
    /// `POST /v1/enrollments/{id}/contact-code`: in a passcode-reset session whose card was read, sends a code to the
    /// account's verified contact (e-mail first) through the outbox, replacing an earlier one. Usage record
    /// `contact-code-sent`. Throws `contact-required` when the account has no verified contact of a configured
    /// transport (then card and face alone reset the passcode).
    public func sendPasscodeResetCode(id: UUID) throws(EnrollmentError) -> ContactCodeView {
        try step(id) { session throws(EnrollmentError) in
            guard session.purpose == .passcodeReset else {
                throw EnrollmentError(.invalidPurpose, "a contact code is sent only in a passcode-reset session")
            }
            guard session.state == .cardVerified || session.state == .faceMatched else {
                throw .wrongState(session.state.rawValue, expected: "card-verified")
            }
            guard let accountID = session.accountID else { throw .wrongState("without account", expected: "open") }
            let at = now()
            let (policy, protector, actor, enrollmentID) = (
                self.policy.activation, self.protector, session.actor, session.id
            )
            let sent = try lifecycleWrite { tx -> (ContactKind, Date) in
                guard let account = try tx.account(id: accountID) else {
                    throw EnrollmentError.accountNotFound(accountID)
                }
                let personal = try IdentityLifecycle.openPersonal(account, protector: protector)
                guard
                    let destination = ContactCodes.destination(
                        personal, transports: policy.transports, verifiedOnly: true)
                else {
                    throw EnrollmentError(
                        .contactRequired,
                        "the account has no verified e-mail or phone this system can send to: reset with card and face")
                }
                let expiry = try ContactCodes.issue(
                    tx, account: account, personal: personal, purpose: ContactCodes.passcodeReset,
                    destination: destination, certificateSerial: nil, previousTier: account.tier,
                    enrollmentID: enrollmentID, policy: policy, protector: protector, actor: actor, at: at)
                return (destination.kind, expiry)
            }
            return ContactCodeView(transport: sent.0.rawValue, expiresAt: ISO8601DateFormatter().string(from: sent.1))
        }
    }

    /// Whether the passcode reset of `session` rests on a contact code too: when the account has a verified contact
    /// of a configured transport. Then `code` must match the pending passcode-reset code; a wrong one counts (in its
    /// own committed transaction) and the last allowed one spends the code. Returns whether a code was checked.
    func checkPasscodeResetCode(_ session: LiveSession, code: String?, at: Date) throws(EnrollmentError) -> Bool {
        guard let accountID = session.accountID else { return false }
        let (policy, protector, actor, enrollmentID) = (
            self.policy.activation, self.protector, session.actor, session.id
        )
        enum Check {
            case notNeeded, ok
            case refused(EnrollmentError)
        }
        let check = try lifecycleWrite { tx -> Check in
            guard let account = try tx.account(id: accountID) else { return .notNeeded }
            let personal = try IdentityLifecycle.openPersonal(account, protector: protector)
            guard ContactCodes.destination(personal, transports: policy.transports, verifiedOnly: true) != nil else {
                return .notNeeded
            }
            guard let code else {
                return .refused(
                    EnrollmentError(
                        .contactCodeRequired,
                        "the account has a verified contact: send a code to it (POST /v1/enrollments/"
                            + "\(enrollmentID.uuidString)/contact-code) and give it as contactCode"))
            }
            guard var record = try tx.activationCode(accountID: accountID, purpose: ContactCodes.passcodeReset),
                record.state == .pending, record.expiresAt > at
            else {
                return .refused(
                    EnrollmentError(.activationNotPending, "no passcode-reset code is waiting: send a new one"))
            }
            if try ContactCodes.matches(code, record, protector: protector) {
                try UsageChain.append(
                    tx, at: at, accountID: accountID, enrollmentID: enrollmentID,
                    event: UsageEventKind.passcodeResetCodeVerified.rawValue, actor: actor)
                return .ok
            }
            record.failedAttempts += 1
            record.updatedAt = at
            if record.failedAttempts >= policy.maxAttempts { record.state = .exhausted }
            try tx.saveActivationCode(record)
            try UsageChain.append(
                tx, at: at, accountID: accountID, enrollmentID: enrollmentID,
                event: UsageEventKind.contactCodeWrong.rawValue, actor: actor, outcome: "wrong",
                detail: "passcode-reset \(record.failedAttempts) of \(policy.maxAttempts)")
            return .refused(
                record.state == .exhausted
                    ? EnrollmentError(.activationNotPending, "the passcode-reset code was entered wrongly too often")
                    : EnrollmentError(.activationCodeWrong, "wrong passcode-reset code"))
        }
        switch check {
        case .notNeeded: return false
        case .ok: return true
        case let .refused(error): throw error
        }
    }
}
