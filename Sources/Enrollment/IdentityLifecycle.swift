import EnrollAPIModel
import Foundation
import MRTD
import Store

/// Settings of the identity lifecycle; safe defaults, every one configurable.
public struct LifecyclePolicy: Sendable, Equatable {
    /// Whether service passcodes are offered at all.
    public var passcodeEnabled = true
    /// Consecutive wrong passcode entries before the passcode locks.
    public var passcodeMaxAttempts = 5
    /// How long the first lock lasts; each later one (until a correct entry) twice as long as the one before.
    public var passcodeLockout: TimeInterval = 3600
    /// Wrong entries in total (since the passcode was set or reset) that lock it for good.
    public var passcodeMaxTotalFailures = 20
    /// Failed entries a caller that is not staff (a kiosk's uid) may make across all accounts per
    /// `passcodeCallerWindow`.
    public var passcodeCallerBudget = 50
    public var passcodeCallerWindow: TimeInterval = 86400
    /// Below this age an account can only be registered linked to a guardian who is present.
    public var registrationMinimumAge = 14
    /// A card-and-face re-verification proves the holder for this long (e.g. to unbind a device).
    public var reverificationValidity: TimeInterval = 900
    /// One-time codes to the contact: their limits (activation, passcode reset by contact).
    public var activation = ActivationPolicy()

    public init() {}
}

/// A document the account was verified with before, kept sealed with the personal data.
public struct PreviousDocument: Codable, Sendable, Equatable {
    public var documentNumber: String
    public var documentType: String
    public var documentExpiry: String
    /// `replaced` (a newer document of the same identity was verified) or `expired`.
    public var state: String
    public var replacedAt: String
}

/// The identity lifecycle of accounts: status (normal, expired, invalid, cancelled), device binding,
/// service passcode, guardianship and the usage log. Every state change is one store transaction that also
/// appends its usage record(s).
public final class IdentityLifecycle: Sendable {
    public let store: any Store
    public let policy: LifecyclePolicy
    let protector: any PersonalDataProtecting
    let now: @Sendable () -> Date
    /// Told about every revocation this service commits (cancellation, device rebinding and unbinding).
    let statusObserver: (any CertificateStatusObserver)?
    /// This host's name: kiosks' passcode budgets are per uid and host (uids mean nothing across hosts).
    let host: String
    /// Told of failed entries, locks and callers locked out (metrics, log), after their transaction committed.
    let onPasscodeEvent: @Sendable (PasscodeEvent) -> Void
    /// Told of activations, wrong codes and expiries (metrics), after their transaction committed.
    let onActivationEvent: @Sendable (ActivationEvent) -> Void

    public init(
        store: any Store, policy: LifecyclePolicy, protector: any PersonalDataProtecting,
        now: @escaping @Sendable () -> Date = { Date() },
        statusObserver: (any CertificateStatusObserver)? = nil, host: String = IdentityLifecycle.hostName(),
        onPasscodeEvent: @escaping @Sendable (PasscodeEvent) -> Void = { _ in },
        onActivationEvent: @escaping @Sendable (ActivationEvent) -> Void = { _ in }
    ) {
        self.onActivationEvent = onActivationEvent
        self.store = store
        self.policy = policy
        self.protector = protector
        self.now = now
        self.statusObserver = statusObserver
        self.host = host
        self.onPasscodeEvent = onPasscodeEvent
    }

    /// gethostname(2), or `localhost`.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    /// After a commit that revoked `serials`.
    func revoked(_ serials: [String]) {
        if !serials.isEmpty { statusObserver?.certificatesRevoked(serials) }
    }

    @discardableResult
    func write<T>(_ body: (any StoreTransaction) throws(StoreError) -> T) throws(EnrollmentError) -> T {
        try store.domainTransaction { tx in try body(tx) }
    }

    @discardableResult
    func run<T>(_ body: (any StoreTransaction) throws -> T) throws(EnrollmentError) -> T {
        try store.domainTransaction(body)
    }

    // MARK: Status

    /// The account with its status brought up to date: a normal account whose document has expired becomes
    /// expired (evaluated on every access and by `sweepExpired`).
    public func refreshedAccount(id: UUID) throws(EnrollmentError) -> AccountRecord {
        let at = now()
        let protector = self.protector
        return try run { tx in
            guard let account = try tx.account(id: id) else { throw EnrollmentError.accountNotFound(id) }
            return try Self.applyExpiry(tx, account, protector: protector, at: at)
        }
    }

    /// Marks every normal account whose document has expired. Returns how many changed.
    @discardableResult
    public func sweepExpired() throws(EnrollmentError) -> Int {
        let at = now()
        let protector = self.protector
        return try run { tx in
            var changed = 0
            for account in try tx.accounts(status: .normal) {
                if try Self.applyExpiry(tx, account, protector: protector, at: at).status == .expired { changed += 1 }
            }
            return changed
        }
    }

    static func applyExpiry(
        _ tx: any StoreTransaction, _ account: AccountRecord, protector: PersonalDataProtecting,
        at: Date
    ) throws -> AccountRecord {
        guard account.status == .normal else { return account }
        let personal = try openPersonal(account, protector: protector)
        guard personal.documentExpiry < MRZDate.today(now: at).description else { return account }
        return try changeStatus(tx, account, to: .expired, reason: "document-expired", actor: .system, at: at)
    }

    /// Sets the status, records the change in the history and the usage log.
    static func changeStatus(
        _ tx: any StoreTransaction, _ account: AccountRecord, to status: IdentityStatus,
        reason: String, actor: UsageActor, at: Date,
        enrollmentID: UUID? = nil
    ) throws(StoreError) -> AccountRecord {
        var changed = account
        changed.status = status
        changed.updatedAt = at
        try tx.updateAccount(changed)
        try tx.appendStatusChange(
            StatusChangeRecord(
                accountID: account.id, from: account.status, to: status,
                reason: reason, actorRole: actor.role, actorUID: actor.uid,
                channel: actor.channel, at: at))
        try UsageChain.append(
            tx, at: at, accountID: account.id, enrollmentID: enrollmentID, event: "status-changed",
            actor: actor, detail: "\(account.status.rawValue)->\(status.rawValue) \(reason)")
        return changed
    }

    /// An operator or admin sets `invalid` (document reported lost or replaced) or `cancelled` (card cancelled or
    /// holder deceased: irreversible; every certificate is revoked and the device binding ends).
    ///
    /// Cancellation revokes with `cessationOfOperation` when the reason says the holder died (`deceased`,
    /// `died`, `death`), else with `privilegeWithdrawn`.
    public func setStatus(
        accountID: UUID, to status: IdentityStatus, reason: String,
        actor: UsageActor
    ) throws(EnrollmentError) -> StatusView {
        guard actor.isStaff else {
            throw EnrollmentError(.forbidden, "only an operator or admin can change an identity's status")
        }
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 200 else {
            throw EnrollmentError(.reasonRequired, "give a reason (up to 200 characters)")
        }
        guard status == .cancelled || status == .invalid else {
            throw EnrollmentError(
                .invalidStatus,
                "an operator sets cancelled or invalid; expired follows the document, and "
                    + "normal returns only by re-verifying with card and face")
        }
        let at = now()
        let revokedSerials = try run { tx -> [String] in
            guard let account = try tx.account(id: accountID) else { throw EnrollmentError.accountNotFound(accountID) }
            if account.status == .cancelled { throw EnrollmentError.accountCancelled }
            if account.status == status { return [] }
            _ = try Self.changeStatus(tx, account, to: status, reason: trimmed, actor: actor, at: at)
            var serials: [String] = []
            if status == .cancelled {
                let lowered = trimmed.lowercased()
                let deceased = ["deceased", "died", "death"].contains { lowered.contains($0) }
                let revocation: RevocationReason = deceased ? .cessationOfOperation : .privilegeWithdrawn
                serials = try Self.revokeCertificates(
                    tx, accountID: accountID, reason: revocation, actor: actor,
                    at: at
                ) { _ in true }
                if var binding = try tx.deviceBindings(accountID: accountID).first(where: { $0.unboundAt == nil }) {
                    binding.unboundAt = at
                    binding.unbindReason = "cancelled"
                    try tx.updateDeviceBinding(binding)
                    try UsageChain.append(
                        tx, at: at, accountID: accountID, event: "device-unbound", actor: actor,
                        detail: "\(binding.deviceID) cancelled")
                }
            }
            return serials
        }
        revoked(revokedSerials)
        return try statusView(accountID: accountID)
    }

    public func statusView(accountID: UUID) throws(EnrollmentError) -> StatusView {
        let account = try refreshedAccount(id: accountID)
        let history = try write { tx throws(StoreError) in try tx.statusHistory(accountID: accountID) }
        return StatusView(
            accountId: accountID.uuidString, status: account.status.rawValue,
            history: history.map {
                StatusView.Change(
                    from: $0.from.rawValue, to: $0.to.rawValue, reason: $0.reason, actorRole: $0.actorRole,
                    actorUid: $0.actorUID, channel: $0.channel,
                    at: ISO8601DateFormatter().string(from: $0.at))
            })
    }

    /// Revokes the account's issued certificates that `matching` selects; returns their serials.
    @discardableResult
    static func revokeCertificates(
        _ tx: any StoreTransaction, accountID: UUID, reason: RevocationReason,
        actor: UsageActor, at: Date,
        matching: (CertificateRecord) -> Bool
    ) throws(StoreError) -> [String] {
        var serials: [String] = []
        for var certificate in try tx.certificates(accountID: accountID)
        where certificate.state == .issued && matching(certificate) {
            certificate.state = .revoked
            certificate.revokedAt = at
            certificate.revocationReason = reason
            try tx.updateCertificate(certificate)
            try UsageChain.append(
                tx, at: at, accountID: accountID, event: "certificate-revoked", actor: actor,
                detail: "\(certificate.serial) \(reason.name)")
            serials.append(certificate.serial)
        }
        return serials
    }

    // MARK: Documents and re-verification

    /// The account's personal data; `personal-data-unreadable` when its sealed bytes do not open (another data key,
    /// or tampered) or do not decode.
    static func openPersonal(
        _ account: AccountRecord,
        protector: PersonalDataProtecting
    ) throws(EnrollmentError) -> PersonalData {
        do {
            let plaintext = try protector.open(account.sealedPersonalData, context: account.id.uuidString)
            return try JSONDecoder().decode(PersonalData.self, from: Data(plaintext))
        } catch {
            throw EnrollmentError(
                .personalDataUnreadable,
                "the sealed data of account \(account.id.uuidString) cannot be opened: check the "
                    + "data key file")
        }
    }

    static func seal(
        _ personal: PersonalData, account: AccountRecord,
        protector: PersonalDataProtecting
    ) throws -> [UInt8] {
        try protector.seal([UInt8](try JSONEncoder().encode(personal)), context: account.id.uuidString)
    }

    /// Called when a card of the account's identity was read: a newer document than one the account lists (same
    /// kind and issuing state, another number, expiring no earlier) means that document was replaced, so the
    /// account becomes invalid until the holder completes a re-verification with the new one. Another kind of
    /// document (an ID card beside the passport, one personal number) is not a replacement.
    static func noteDocumentRead(
        _ tx: any StoreTransaction, _ account: AccountRecord, facts: DocumentFacts,
        protector: PersonalDataProtecting, actor: UsageActor, enrollmentID: UUID,
        at: Date
    ) throws -> AccountRecord {
        guard account.status == .normal || account.status == .expired else { return account }
        let personal = try openPersonal(account, protector: protector)
        guard
            try replacesListedDocument(
                tx, accountID: account.id, sealed: personal, facts: facts, protector: protector)
        else { return account }
        return try changeStatus(
            tx, account, to: .invalid, reason: "document-replaced", actor: actor, at: at,
            enrollmentID: enrollmentID)
    }

    /// A completed card-and-face verification: the account lists the verified document and seals its fields as the
    /// current document (one it replaces, same kind and state, goes to the sealed history), and an expired or
    /// invalid account returns to normal when the document is valid.
    static func reverify(
        _ tx: any StoreTransaction, _ account: AccountRecord, facts: DocumentFacts,
        protector: PersonalDataProtecting, actor: UsageActor, enrollmentID: UUID,
        at: Date
    ) throws -> AccountRecord {
        var updated = account
        var personal = try openPersonal(account, protector: protector)
        let differences = HolderComparison.differences(sealed: personal, document: facts.personal)
        if !differences.isEmpty { throw EnrollmentError.holderMismatch(differences) }
        let listing = try listDocument(tx, accountID: account.id, facts: facts, protector: protector, at: at)
        var replaced = false
        if personal.documentNumber != facts.personal.documentNumber {
            // The sealed fields are the document verified last; the one before goes to the history only when this
            // one replaces it (same kind and state), else it stays one of the documents the account lists.
            replaced =
                documentKind(personal.documentType) == documentKind(facts.personal.documentType)
                && DocumentIdentity.normalisedState(personal.issuingState)
                    == DocumentIdentity.normalisedState(facts.personal.issuingState)
            var history = personal.previousDocuments ?? []
            if replaced {
                history.append(
                    PreviousDocument(
                        documentNumber: personal.documentNumber, documentType: personal.documentType,
                        documentExpiry: personal.documentExpiry, state: "replaced",
                        replacedAt: ISO8601DateFormatter().string(from: at)))
            }
            let contact = personal.contact
            personal = facts.personal
            personal.contact = contact
            personal.previousDocuments = history
            updated.sealedPersonalData = try seal(personal, account: account, protector: protector)
            updated.updatedAt = at
            try tx.updateAccount(updated)
        }
        if replaced || listing == .replacing {
            try UsageChain.append(
                tx, at: at, accountID: account.id, enrollmentID: enrollmentID,
                event: "document-replaced", actor: actor)
        } else if listing == .added {
            try UsageChain.append(
                tx, at: at, accountID: account.id, enrollmentID: enrollmentID,
                event: UsageEventKind.documentAdded.rawValue, actor: actor,
                detail: Self.documentKind(facts.personal.documentType))
        }
        let valid = facts.personal.documentExpiry >= MRZDate.today(now: at).description
        if (updated.status == .expired || updated.status == .invalid) && valid {
            updated = try changeStatus(
                tx, updated, to: .normal, reason: "reverified", actor: actor, at: at,
                enrollmentID: enrollmentID)
        }
        return updated
    }

    // MARK: Contact details

    /// What contact details may hold, wherever they come from (`PUT .../contact`, or enrollment completion): up to 10
    /// fields, names of 1 to 32 and values of up to 200 characters, none with a control character; an e-mail or phone
    /// field (`ContactKind`) must hold a valid address or an E.164 number. Returns the contact with those values in
    /// canonical form (what is stored and delivered to).
    @discardableResult
    public static func validateContact(_ contact: [String: String]) throws(EnrollmentError) -> [String: String] {
        func plain(_ text: String) -> Bool {
            text.unicodeScalars.allSatisfy { !($0.value < 0x20 || (0x7F..<0xA0).contains($0.value)) }
        }
        guard contact.count <= 10,
            contact.allSatisfy({
                (1...32).contains($0.key.count) && $0.value.count <= 200 && plain($0.key) && plain($0.value)
            })
        else {
            throw EnrollmentError(
                .invalidContact,
                "contact holds up to 10 fields, names up to 32 and values up to 200 "
                    + "characters, without control characters")
        }
        var normalized: [String: String] = [:]
        for (field, value) in contact {
            guard let kind = ContactKind(field: field) else {
                normalized[field] = value
                continue
            }
            guard let canonical = kind.normalized(value) else {
                throw EnrollmentError(
                    .invalidContact,
                    kind == .email
                        ? "contact field \(field) is not an e-mail address (name@domain.example, up to 254 characters)"
                        : "contact field \(field) is not a phone number in international form: + country code and "
                            + "number, 8 to 15 digits (E.164)")
            }
            normalized[field] = canonical
        }
        return normalized
    }

    /// The contact fields still verified after `contact` replaces `personal`'s: those whose value did not change.
    static func keepVerified(_ personal: PersonalData, newContact contact: [String: String]) -> [String: Date]? {
        let kept = (personal.contactVerifiedAt ?? [:]).filter { personal.contact[$0.key] == contact[$0.key] }
        return kept.isEmpty ? nil : kept
    }

    /// A verified contact field of a configured transport that `kept` (the verified fields after a change) no longer
    /// holds: what a change by a non-staff caller may not do.
    static func lostVerifiedContact(
        _ personal: PersonalData, kept: [String: Date]?, transports: Set<ContactKind>
    ) -> String? {
        (personal.contactVerifiedAt ?? [:]).keys.sorted().first { field in
            guard let kind = ContactKind(field: field), transports.contains(kind) else { return false }
            return kept?[field] == nil
        }
    }

    /// Replaces the account's contact details (sealed with the personal data). The device binding and the
    /// certificates are untouched; the usage record names the fields changed, never their values.
    public func updateContact(
        accountID: UUID, contact: [String: String],
        actor: UsageActor
    ) throws(EnrollmentError) {
        let contact = try Self.validateContact(contact)
        let at = now()
        let (protector, transports) = (self.protector, policy.activation.transports)
        try run { tx in
            guard var account = try tx.account(id: accountID) else { throw EnrollmentError.accountNotFound(accountID) }
            if account.status == .cancelled { throw EnrollmentError.accountCancelled }
            var personal = try Self.openPersonal(account, protector: protector)
            let kept = Self.keepVerified(personal, newContact: contact)
            if !actor.isStaff, let lost = Self.lostVerifiedContact(personal, kept: kept, transports: transports) {
                // A verified contact is the second factor of a passcode reset: a card-and-face proof alone must
                // not drop it (and then reset with card and face alone).
                throw EnrollmentError(
                    .invalidContact,
                    "contact field \(lost) is verified and guards the passcode reset: an operator changes or removes "
                        + "it (keep its value to change the other fields)")
            }
            personal.contactVerifiedAt = kept
            personal.contact = contact
            account.sealedPersonalData = try Self.seal(personal, account: account, protector: protector)
            account.updatedAt = at
            try tx.updateAccount(account)
            try UsageChain.append(
                tx, at: at, accountID: accountID, event: "contact-changed", actor: actor,
                detail: contact.keys.sorted().joined(separator: ","))
        }
    }

    // MARK: Usage

    /// The account's usage records (including its enrollment sessions'), oldest first.
    public func usage(
        accountID: UUID, since: Date?, until: Date?, after: Int64?,
        limit: Int
    ) throws(EnrollmentError) -> [UsageRecordView] {
        try run { tx in
            guard try tx.account(id: accountID) != nil else { throw EnrollmentError.accountNotFound(accountID) }
            return try tx.usageRecords(
                UsageQuery(
                    accountID: accountID, since: since, until: until, afterSequence: after,
                    limit: limit)
            ).map(UsageRecordView.init)
        }
    }

    /// Walks the usage chain, against the signed heads a trusted key signed (see `UsageChain.verify`).
    public func verifyAudit(
        heads: [SignedChainHead] = [],
        untrusted: [SignedChainHead] = []
    ) throws(EnrollmentError) -> AuditReport {
        do {
            return try UsageChain.verify(store, heads: heads, untrusted: untrusted)
        } catch {
            throw .store(error)
        }
    }
}

extension Store {
    /// One transaction for domain code: an `EnrollmentError` thrown by `body` comes out as is (and rolls back),
    /// store failures become `EnrollmentError.store`.
    @discardableResult
    func domainTransaction<T>(_ body: (any StoreTransaction) throws -> T) throws(EnrollmentError) -> T {
        var domainError: EnrollmentError?
        do {
            return try transaction { tx in
                do {
                    return try body(tx)
                } catch let error as EnrollmentError {
                    domainError = error
                    throw error
                }
            }
        } catch {
            if let domainError { throw domainError }
            throw .store(error)
        }
    }
}

extension EnrollmentError {
    public static func accountNotFound(_ id: UUID) -> EnrollmentError {
        EnrollmentError(.accountNotFound, "no account \(id.uuidString)")
    }
}
