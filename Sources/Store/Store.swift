import Foundation

/// Persistence behind a protocol: SQLite first (`SQLiteStore`), PostgreSQL later for fleets.
/// Domain code changes state only inside `transaction`, so every state change is atomic.
public protocol Store: Sendable {
    /// Applies pending versioned migrations. Called once at start-up.
    func migrate() throws(StoreError)

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws
    /// (the error is rethrown as is when it is a `StoreError`, else wrapped in `.aborted`).
    func transaction<T>(_ body: (any StoreTransaction) throws -> T) throws(StoreError) -> T

    /// A short description for logs and health ("sqlite:/var/lib/enrolld/enrolld.db").
    var location: String { get }
}

/// The operations available inside a transaction.
public protocol StoreTransaction {
    // Accounts.
    func account(id: UUID) throws(StoreError) -> AccountRecord?
    func account(identityKey: [UInt8]) throws(StoreError) -> AccountRecord?
    /// The account whose pre-typed identity key (`AccountRecord.legacyIdentityKey`) is `legacyIdentityKey`.
    func account(legacyIdentityKey: [UInt8]) throws(StoreError) -> AccountRecord?
    /// Inserts; throws `.duplicateIdentity(existing:)` when the identity already has an account.
    func insertAccount(_ account: AccountRecord) throws(StoreError)
    /// Replaces the stored row with the same id; throws `.notFound` when there is none.
    func updateAccount(_ account: AccountRecord) throws(StoreError)
    func accounts(status: IdentityStatus?) throws(StoreError) -> [AccountRecord]
    /// Inserts or replaces by account and document key.
    func saveAccountDocument(_ document: AccountDocumentRecord) throws(StoreError)
    /// Removes the account's document with this key (a replaced document); nothing when there is none.
    func deleteAccountDocument(accountID: UUID, documentKey: [UInt8]) throws(StoreError)
    /// The account's documents, first verified first.
    func accountDocuments(accountID: UUID) throws(StoreError) -> [AccountDocumentRecord]

    // Certificates.
    /// Inserts; throws `.duplicateSerial` when the serial was ever used.
    func insertCertificate(_ certificate: CertificateRecord) throws(StoreError)
    func updateCertificate(_ certificate: CertificateRecord) throws(StoreError)
    /// Bulk issuance: inserts a batch's intents, as `insertCertificate` does each (the same refusals), in as few
    /// statements as the store can. A refusal may leave others of the batch written: throw it out of the
    /// transaction.
    func insertCertificates(_ certificates: [CertificateRecord]) throws(StoreError)
    /// Bulk issuance: updates a batch's certificates, as `updateCertificate` does each (the same refusals).
    func updateCertificates(_ certificates: [CertificateRecord]) throws(StoreError)
    func certificate(serial: String) throws(StoreError) -> CertificateRecord?
    func certificates(accountID: UUID) throws(StoreError) -> [CertificateRecord]
    func certificates(state: CertificateState) throws(StoreError) -> [CertificateRecord]
    /// Bulk renewal's scan: issued certificates (with their DER) created before `createdBefore`, in serial order
    /// (the primary key's: a page costs what it reads, however many certificates there are), after `afterSerial`
    /// when it is given, at most `limit` of them.
    func issuedCertificates(
        createdBefore: Date, afterSerial: String?, limit: Int
    ) throws(StoreError) -> [CertificateRecord]
    /// Status facts of the certificates in `states`, without their DER (nothing is unsealed: what the OCSP
    /// responder and the CRL need, at the cost of an index scan), newest first: only those revoked at or after
    /// `revokedSince` when it is given, at most `limit` when it is given.
    func certificateStatuses(
        states: [CertificateState], revokedSince: Date?,
        limit: Int?
    ) throws(StoreError) -> [CertificateRecord]

    // Enrollment sessions.
    /// Inserts or replaces by id.
    func saveEnrollment(_ enrollment: EnrollmentRecord) throws(StoreError)
    func enrollment(id: UUID) throws(StoreError) -> EnrollmentRecord?
    func enrollments(state: EnrollmentState) throws(StoreError) -> [EnrollmentRecord]

    // Counters (CRL numbers and the like); returns the incremented value.
    func nextValue(counter: String) throws(StoreError) -> Int

    // Identity lifecycle: device bindings (history kept; at most one active per account).
    func insertDeviceBinding(_ binding: DeviceBindingRecord) throws(StoreError)
    /// Replaces the binding with the same id; throws `.notFound` when there is none.
    func updateDeviceBinding(_ binding: DeviceBindingRecord) throws(StoreError)
    /// All bindings of the account, oldest first.
    func deviceBindings(accountID: UUID) throws(StoreError) -> [DeviceBindingRecord]

    // Usage records: the caller computes the chain; the store keeps records and the chain's head, and lends the
    // chain's key (its `DataProtector`'s, from a key file outside the database) without giving it out.
    /// HMAC-SHA-256 of `message` under the usage-chain key; nil when the store has none (an unkeyed chain).
    func usageChainMAC(_ message: [UInt8]) throws(StoreError) -> [UInt8]?
    /// Inserts; throws `.database` when the sequence number is taken.
    func appendUsageRecord(_ record: UsageRecord) throws(StoreError)
    /// The record with the highest sequence number.
    func lastUsageRecord() throws(StoreError) -> UsageRecord?
    /// Records matching `query`, by ascending sequence.
    func usageRecords(_ query: UsageQuery) throws(StoreError) -> [UsageRecord]
    /// The chain's head as last appended (sequence and hash), to detect deletion of the newest records.
    func usageChainHead() throws(StoreError) -> (sequence: Int64, hash: [UInt8])?
    func setUsageChainHead(sequence: Int64, hash: [UInt8]) throws(StoreError)

    // Service passcodes.
    func passcode(accountID: UUID) throws(StoreError) -> PasscodeRecord?
    /// Inserts or replaces by account.
    func savePasscode(_ passcode: PasscodeRecord) throws(StoreError)
    /// A caller's budget of wrong passcode entries across all accounts.
    func passcodeBudget(caller: String) throws(StoreError) -> PasscodeBudgetRecord?
    /// Inserts or replaces by caller.
    func savePasscodeBudget(_ budget: PasscodeBudgetRecord) throws(StoreError)

    // Settings the domain keeps with its data (the usage chain's keying); small values by name.
    func setting(_ name: String) throws(StoreError) -> [UInt8]?
    /// Inserts or replaces.
    func saveSetting(_ name: String, value: [UInt8]) throws(StoreError)

    // Identity status history.
    func appendStatusChange(_ change: StatusChangeRecord) throws(StoreError)
    /// Oldest first.
    func statusHistory(accountID: UUID) throws(StoreError) -> [StatusChangeRecord]

    // Guardianship.
    func saveGuardianLink(_ link: GuardianLinkRecord) throws(StoreError)
    func guardianLink(accountID: UUID) throws(StoreError) -> GuardianLinkRecord?

    // Transactional outbox (`OutboxRecords.swift`): written in the transaction of the state change that needs it.
    /// Inserts; throws `.database` when the id is taken.
    func enqueueOutboxMessage(_ message: OutboxMessageRecord) throws(StoreError)
    /// Replaces the stored row with the same id; throws `.notFound` when there is none.
    func updateOutboxMessage(_ message: OutboxMessageRecord) throws(StoreError)
    func outboxMessage(id: UUID) throws(StoreError) -> OutboxMessageRecord?
    /// Messages in `state` (all when nil), oldest first, at most `limit`.
    func outboxMessages(state: OutboxState?, limit: Int) throws(StoreError) -> [OutboxMessageRecord]
    /// Takes up to `limit` messages due at `at` (queued and past their backoff, or sending with an ended lease) for
    /// `worker` until `leaseUntil`, oldest first, and returns them as claimed. Two workers on one database never
    /// take the same message with overlapping leases (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
    func claimOutboxMessages(
        worker: String, at: Date, leaseUntil: Date, limit: Int
    ) throws(StoreError) -> [OutboxMessageRecord]

    // One-time codes to a contact (activation, passcode reset).
    func activationCode(accountID: UUID, purpose: String) throws(StoreError) -> ActivationCodeRecord?
    /// Inserts or replaces by account and purpose.
    func saveActivationCode(_ code: ActivationCodeRecord) throws(StoreError)
    /// Pending codes that expire at or before `expiringBefore`, soonest first, at most `limit`.
    func pendingActivationCodes(expiringBefore: Date, limit: Int) throws(StoreError) -> [ActivationCodeRecord]
    // Verifier registry.
    /// Inserts or replaces by id; throws `.database` when another verifier has the same certificate fingerprint.
    func saveVerifier(_ verifier: VerifierRecord) throws(StoreError)
    func verifier(id: String) throws(StoreError) -> VerifierRecord?
    func verifier(fingerprint: String) throws(StoreError) -> VerifierRecord?
    /// Every verifier, by id.
    func verifiers() throws(StoreError) -> [VerifierRecord]
}

/// Why the store refused or failed.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case duplicateIdentity(existing: UUID)
    case duplicateSerial(String)
    case notFound(String)
    /// The enrollment session is finished (completed, failed or expired); its record no longer changes.
    case enrollmentFinished(UUID)
    /// The database is busy beyond the timeout.
    case busy
    /// A migration failed or the schema is newer than this enrolld.
    case schema(String)
    /// The underlying database reported an error.
    case database(code: Int32, message: String)
    /// The transaction body threw something that is not a `StoreError`.
    case aborted(String)
    /// Sealed data could not be opened (wrong key or tampered) or sealed.
    case protection(String)

    public var description: String {
        switch self {
        case let .duplicateIdentity(existing): return "this identity already has an account (\(existing.uuidString))"
        case let .duplicateSerial(serial): return "certificate serial \(serial) was already used"
        case let .notFound(what): return "\(what) not found"
        case let .enrollmentFinished(id): return "enrollment \(id.uuidString) is finished and can no longer change"
        case .busy: return "the database is busy: try again"
        case let .schema(reason): return "database schema problem: \(reason)"
        case let .database(code, message): return "database error \(code): \(message)"
        case let .aborted(reason): return "transaction aborted: \(reason)"
        case let .protection(reason): return "data protection failed: \(reason)"
        }
    }
}

extension StoreTransaction {
    /// One statement per certificate.
    public func insertCertificates(_ certificates: [CertificateRecord]) throws(StoreError) {
        for certificate in certificates { try insertCertificate(certificate) }
    }

    /// One statement per certificate.
    public func updateCertificates(_ certificates: [CertificateRecord]) throws(StoreError) {
        for certificate in certificates { try updateCertificate(certificate) }
    }
}
