import EnrollAPIModel
import FaceMatch
import Foundation
import MRTD
import Secrets
import Store

/// `POST /v1/enrollments` input.
public struct EnrollmentStart: Sendable {
    public var reader: String
    public var key: BACKey
    public var purpose: EnrollmentPurpose
    /// The account to upgrade (purpose upgrade).
    public var accountID: UUID?
    public var callerUID: UInt32
    /// Who runs the session and where (usage records); by default a kiosk of unknown channel.
    public var actor: UsageActor
    /// The guardian's account, for a registration below the registration age (`Guardianship.swift`).
    public var guardianAccountID: UUID?

    public init(
        reader: String, key: BACKey, purpose: EnrollmentPurpose, accountID: UUID? = nil, callerUID: UInt32,
        actor: UsageActor? = nil, guardianAccountID: UUID? = nil
    ) {
        self.reader = reader
        self.key = key
        self.purpose = purpose
        self.accountID = accountID
        self.callerUID = callerUID
        self.actor = actor ?? UsageActor(role: "kiosk", uid: callerUID, channel: "unknown")
        self.guardianAccountID = guardianAccountID
    }
}

/// Optional parts of completing a session (identity lifecycle).
public struct CompletionOptions: Sendable, Equatable {
    /// The device the certificate's key lives on. When it is not the account's bound device, `devicePublicKey`
    /// binds it (superseding the previous device).
    public var deviceID: String?
    public var devicePublicKey: String?
    public var deviceLabel: String?
    /// Purpose passcode-reset: the new passcode (without one, only the lock is cleared).
    public var passcode: String?
    /// Purpose passcode-reset of an account with a verified contact: the code sent to it.
    public var contactCode: String?

    public init(
        deviceID: String? = nil, devicePublicKey: String? = nil, deviceLabel: String? = nil,
        passcode: String? = nil, contactCode: String? = nil
    ) {
        self.contactCode = contactCode
        self.deviceID = deviceID
        self.devicePublicKey = devicePublicKey
        self.deviceLabel = deviceLabel
        self.passcode = passcode
    }
}

/// Runs enrollment sessions: card → authenticity → face → account and certificate.
///
/// Every state change is one store transaction. A certificate's serial is recorded as an intent
/// before the CA signs, so a crash between signing and committing leaves no certificate the
/// database does not know. Biometric data (chip portrait, live photo) lives only in memory and is
/// wiped when the session completes, fails or times out.
public final class EnrollmentService: Sendable {
    public let store: any Store
    public let policy: EnrollmentPolicy
    let cards: CardReading
    let faces: FaceComparing
    let liveness: LivenessChecking
    private let issuer: CertificateIssuing
    let protector: PersonalDataProtecting
    let now: @Sendable () -> Date
    let publish: @Sendable (DaemonEvent) -> Void
    /// Random bytes (session ids).
    let random: @Sendable (Int) -> [UInt8]
    /// Open sessions, each held by one step at a time.
    let sessions = LiveSessions()
    /// Test benches only: where to freeze the process for a crash test (`CrashPoints.swift`).
    let crashPoints: CrashPoints
    /// Told about every certificate issued and every serial revoked (abandoned intents that may have been signed).
    let statusObserver: (any CertificateStatusObserver)?
    /// Group commit of the completions' two transactions: concurrent completions share their intent commit and
    /// their certificate commit (`GroupCommit`), each still all-or-nothing for its own session.
    let intentCommits: GroupCommit
    let certificateCommits: GroupCommit

    public init(
        store: any Store, policy: EnrollmentPolicy, cards: CardReading, faces: FaceComparing,
        liveness: LivenessChecking = NoLivenessChecking(), issuer: CertificateIssuing,
        protector: PersonalDataProtecting,
        now: @escaping @Sendable () -> Date = { Date() },
        random: @escaping @Sendable (Int) -> [UInt8] = { count in (0..<count).map { _ in UInt8.random(in: 0...255) } },
        publish: @escaping @Sendable (DaemonEvent) -> Void = { _ in },
        crashPoints: CrashPoints = .disabled,
        statusObserver: (any CertificateStatusObserver)? = nil
    ) {
        self.crashPoints = crashPoints
        self.store = store
        self.policy = policy
        self.cards = cards
        self.faces = faces
        self.liveness = liveness
        self.issuer = issuer
        self.protector = protector
        self.now = now
        self.random = random
        self.publish = publish
        self.statusObserver = statusObserver
        intentCommits = GroupCommit(store: store)
        certificateCommits = GroupCommit(
            store: store,
            beforeCommit: { count in
                if count > 1 { crashPoints.reach(.certificateBatchUncommitted) }
            }, gatherMinimum: crashPoints.batchSize, gatherTimeout: CrashPoints.batchGatherTimeout,
            gatherTimedOut: { count in crashPoints.batchGatherTimedOut(holding: count) })
    }

    /// Reads and authenticates the card and opens a session. A refusal is recorded in the usage log.
    public func start(_ request: EnrollmentStart) throws(EnrollmentError) -> EnrollmentView {
        var identified = request.accountID
        do {
            return try openSession(request, identified: &identified)
        } catch {
            let at = now()
            _ = try? write { tx throws(StoreError) in
                try UsageChain.append(
                    tx, at: at, accountID: identified, event: "enrollment-refused",
                    actor: request.actor, outcome: "refused", detail: error.code)
            }
            throw error
        }
    }

    /// `identified` learns the account of the card's identity, for the usage record of a refusal.
    private func openSession(
        _ request: EnrollmentStart,
        identified: inout UUID?
    ) throws(EnrollmentError) -> EnrollmentView {
        let started = now()
        let document = try cards.read(reader: request.reader, key: request.key)
        let facts = try DocumentFacts(document: document.data, rules: policy.identityRules)
        try Self.checkAccepted(document, facts: facts, policy: policy)
        if policy.refuseExpiredDocuments && facts.expiryDate < MRZDate.today(now: started) {
            throw .documentExpired
        }
        let keys = try IdentityResolution.keys(facts, protector: protector)
        let identityKey = keys.typed
        let sessionID = Self.uuid(random(16))
        let protector = self.protector
        // The account the card reaches, for the usage record even when the holder comparison refuses.
        var reached: UUID?
        defer { if identified == nil { identified = reached } }
        let existing = try lifecycleWrite { tx in
            guard
                let account = try IdentityResolution.account(
                    tx, keys: keys, facts: facts, protector: protector, actor: request.actor,
                    enrollmentID: sessionID, at: started)
            else { return nil as AccountRecord? }
            reached = account.id
            // Before anything of the account changes: the card's holder must be the account's. A registration
            // too: its refusal offers the account's upgrade, and the read could mark the account's document
            // replaced.
            if account.status != .cancelled {
                let sealed = try IdentityLifecycle.openPersonal(account, protector: protector)
                let differences = HolderComparison.differences(sealed: sealed, document: facts.personal)
                if !differences.isEmpty { throw EnrollmentError.holderMismatch(differences) }
            }
            return try IdentityLifecycle.noteDocumentRead(
                tx, account, facts: facts, protector: protector,
                actor: request.actor, enrollmentID: sessionID, at: started)
        }
        if let existing { identified = existing.id }
        var accountID: UUID?
        var offer: UpgradeOffer?
        switch request.purpose {
        case .register:
            if let existing {
                if existing.status == .cancelled { throw .accountCancelled }
                // Refused, but the session stays open for the account's upgrade with a token (never its id).
                offer = UpgradeOffer(accountID: existing.id, token: random(32))
            }
        case .upgrade, .passcodeReset:
            guard let wanted = request.accountID else {
                throw EnrollmentError(.accountRequired, "give the account to \(request.purpose.rawValue)")
            }
            guard let existing, existing.id == wanted else {
                throw EnrollmentError(.identityMismatch, "the card does not belong to account \(wanted.uuidString)")
            }
            if existing.status == .cancelled { throw .accountCancelled }
            accountID = existing.id
        }
        let guardianAccountID = offer == nil ? try guardianRequirement(request, facts: facts, on: started) : nil
        var session = LiveSession(
            id: sessionID, purpose: request.purpose, reader: request.reader, callerUID: request.callerUID,
            accountID: accountID, document: document, facts: facts, identityKey: identityKey,
            createdAt: started, deadline: started.addingTimeInterval(policy.sessionTimeout))
        session.holdPortrait()
        session.actor = request.actor
        session.guardianAccountID = guardianAccountID
        session.upgradeOffer = offer
        crashPoints.reach(.cardRead)
        try persist(session, state: .cardVerified)
        crashPoints.reach(.sessionStored)
        sessions.insert(session)
        publish(.enrollment(.enrollmentCardVerified, session: session.id.uuidString))
        if let token = offer?.tokenText {
            throw EnrollmentError.alreadyEnrolled(session: session.id.uuidString, upgradeToken: token)
        }
        return view(session)
    }

    /// Matches the live photo against the chip portrait. The attempt is counted before the comparison runs, and
    /// the session is held for the whole step: a concurrent photo (or any step) on it gets `enrollment-busy`.
    public func submitPhoto(id: UUID, photo: [UInt8]) throws(EnrollmentError) -> EnrollmentView {
        try step(id) { session throws(EnrollmentError) in
            guard session.state == .cardVerified else {
                throw .wrongState(session.state.rawValue, expected: "card-verified")
            }
            guard !session.portrait.isEmpty else {
                throw EnrollmentError(.noPortrait, "the chip holds no portrait to match against")
            }
            session.photoAttempts += 1
            let evidence: FaceEvidence
            do throws(EnrollmentError) {
                // The face engine takes arrays: a transient copy of the portrait, zeroed when the comparison returns.
                var reference = session.portrait.copiedArray()
                defer { SecretBytes.wipe(&reference) }
                evidence = try faces.compare(
                    reference: reference, probe: photo, session: session.id,
                    callerUID: session.callerUID)
            } catch {
                if error.kind == .faceEngineBusy {
                    // Nothing was compared: the attempt does not count.
                    session.photoAttempts -= 1
                    throw error
                }
                try recordFailedAttempt(&session, replay: error.kind == .suspectedReplay)
                throw error
            }
            session.face = evidence
            guard evidence.isMatch else {
                try recordFailedAttempt(&session)
                throw .faceMismatch(attemptsLeft: policy.maxPhotoAttempts - session.photoAttempts)
            }
            session.state = .faceMatched
            crashPoints.reach(.faceMatched)
            try persist(session, state: .faceMatched)
            crashPoints.reach(.faceMatchStored)
            publish(.enrollment(.enrollmentFaceMatched, session: id.uuidString))
            return view(session)
        }
    }

    /// Counts a failed photo attempt; ends the session (`attempts-exhausted`) when none are left, and then throws.
    /// A suspected replay is recorded as such in the usage log.
    private func recordFailedAttempt(_ session: inout LiveSession, replay: Bool = false) throws(EnrollmentError) {
        let left = policy.maxPhotoAttempts - session.photoAttempts
        guard left > 0 else {
            try fail(&session, code: ProblemCode.attemptsExhausted.code)
            throw EnrollmentError(
                .attemptsExhausted,
                "the live photo did not match the chip portrait in "
                    + "\(policy.maxPhotoAttempts) attempts: the session has ended")
        }
        let event = replay ? UsageEventKind.enrollmentReplaySuspected : .enrollmentFaceMismatch
        try persist(session, state: session.state, event: event.rawValue, outcome: "refused")
        publish(
            .enrollment(
                .enrollmentFaceMismatch, session: session.id.uuidString, code: ProblemCode.faceMismatch.code,
                attemptsLeft: left))
    }

    /// Creates or upgrades the account. With a CSR (after a face match) the account reaches the
    /// signing tier and a certificate is issued; without one, a registration creates a basic account.
    public func complete(
        id: UUID, csr: [UInt8]?, contact: [String: String] = [:],
        options: CompletionOptions = CompletionOptions()
    ) throws(EnrollmentError) -> EnrollmentOutcome {
        try step(id) { session throws(EnrollmentError) in
            try complete(&session, csr: csr, contact: contact, options: options)
        }
    }

    private func complete(
        _ session: inout LiveSession, csr: [UInt8]?, contact: [String: String],
        options: CompletionOptions
    ) throws(EnrollmentError) -> EnrollmentOutcome {
        let id = session.id
        let at = now()
        if session.purpose == .register, session.upgradeOffer != nil {
            // The identity has an account: this session can only become its upgrade (`UpgradeOffer.swift`).
            throw .duplicateIdentity
        }
        if let deviceID = options.deviceID {
            try IdentityLifecycle.validateDevice(id: deviceID, label: options.deviceLabel ?? "")
        }
        if let csr {
            guard session.state == .faceMatched else {
                throw .wrongState(session.state.rawValue, expected: "face-matched")
            }
            let age = session.facts.age(on: MRZDate.today(now: at))
            guard age >= policy.signingMinimumAge else {
                try fail(&session, code: "under-age")
                throw .underAge(policy.signingMinimumAge)
            }
            try issuer.validate(csr: csr)
            try requireLiveness(session, signing: true)
            return try completeSigning(&session, csr: csr, contact: contact, options: options, at: at)
        }
        if session.purpose == .passcodeReset {
            try requireLiveness(session, signing: false)
            return try completePasscodeReset(&session, options: options, at: at)
        }
        guard session.purpose == .register else {
            throw EnrollmentError(.csrRequired, "an upgrade needs a CSR for the signing certificate")
        }
        guard session.state == .cardVerified || session.state == .faceMatched else {
            throw .wrongState(session.state.rawValue, expected: "card-verified")
        }
        try requireGuardianIfMinor(&session, on: at)
        let account = try newAccount(session, tier: .basic, contact: contact, at: at)
        let record = enrollmentRecord(session, state: .completed, accountID: account.id, at: at)
        let device = try devicePlan(options, accountID: nil)
        let finished = session
        let crashPoints = self.crashPoints
        let protector = self.protector
        try lifecycleWrite { tx in
            try tx.insertAccount(account)
            try IdentityLifecycle.listDocument(
                tx, accountID: account.id, facts: finished.facts, protector: protector, at: at)
            try tx.saveEnrollment(record)
            try UsageChain.append(
                tx, at: at, accountID: account.id, enrollmentID: finished.id, event: "account-created",
                actor: finished.actor, detail: AccountTier.basic.rawValue)
            try Self.linkGuardian(tx, finished, accountID: account.id, at: at)
            if let device {
                _ = try IdentityLifecycle.bind(
                    tx, account: account, deviceID: device.id, publicKey: device.key,
                    label: device.label, actor: finished.actor, at: at,
                    enrollmentID: finished.id)
            }
            crashPoints.reach(.basicAccountUncommitted)
        }
        crashPoints.reach(.basicAccountCommitted)
        finish(&session, as: .completed)
        publish(.enrollment(.enrollmentCompleted, session: id.uuidString, tier: AccountTier.basic.rawValue))
        return EnrollmentOutcome(
            enrollmentID: id.uuidString, accountID: account.id.uuidString, tier: AccountTier.basic.rawValue,
            status: account.status.rawValue)
    }

    private func completeSigning(
        _ session: inout LiveSession, csr: [UInt8], contact: [String: String],
        options: CompletionOptions, at: Date
    ) throws(EnrollmentError) -> EnrollmentOutcome {
        let device = try devicePlan(options, accountID: session.accountID)
        // The document's last valid day bounds the certificate.
        let expiry = session.facts.expiryDate
        var limit = DateComponents()
        (limit.year, limit.month, limit.day, limit.hour, limit.minute) = (expiry.year, expiry.month, expiry.day, 23, 59)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let notAfterLimit = calendar.date(from: limit) ?? at
        let plan = try issuer.plan(notAfterLimit: notAfterLimit)

        // Transaction 1: the account exists (a new one at the basic tier: its identity is verified)
        // and the certificate's serial is recorded as an intent, before anything is signed.
        var account: AccountRecord
        if let accountID = session.accountID {
            // A re-verification with a valid document returns an expired or invalid account to normal.
            let (protector, verified) = (self.protector, session)
            let stored = try lifecycleWrite { tx -> AccountRecord? in
                guard let found = try tx.account(id: accountID) else { return nil }
                let stored = try IdentityLifecycle.applyExpiry(tx, found, protector: protector, at: at)
                return try IdentityLifecycle.reverify(
                    tx, stored, facts: verified.facts, protector: protector,
                    actor: verified.actor, enrollmentID: verified.id, at: at)
            }
            guard let stored else {
                throw EnrollmentError(.accountNotFound, "account \(accountID.uuidString) not found")
            }
            guard stored.status == .normal else {
                throw EnrollmentError(
                    .accountNotNormal, "the account is \(stored.status.rawValue): only a normal account can be upgraded"
                )
            }
            account = stored
        } else {
            account = try newAccount(session, tier: .basic, contact: contact, at: at)
        }
        // Activation through the contact: where the code goes is known before anything is signed.
        let activation = try activationPlan(account)
        let previousTier = account.tier
        let intent = CertificateRecord(
            serial: plan.serial, accountID: account.id, state: .intent, notBefore: plan.notBefore,
            notAfter: plan.notAfter, deviceID: options.deviceID, createdAt: at)
        let isNew = session.accountID == nil
        let firstAccount = account
        let sealing = protector
        let opening = session
        // The session is `completing` in the same transaction that records the intent: from here on this session can
        // only end (completed, or failed with its intent abandoned), never be completed a second time.
        let completing = enrollmentRecord(session, state: .completing, accountID: account.id, at: at)
        let crashPoints = self.crashPoints
        try grouped(intentCommits) { tx in
            if isNew {
                try tx.insertAccount(firstAccount)
                try IdentityLifecycle.listDocument(
                    tx, accountID: firstAccount.id, facts: opening.facts, protector: sealing, at: at)
                try UsageChain.append(
                    tx, at: at, accountID: firstAccount.id, enrollmentID: opening.id,
                    event: "account-created", actor: opening.actor, detail: AccountTier.basic.rawValue)
            }
            try tx.insertCertificate(intent)
            try tx.saveEnrollment(completing)
            crashPoints.reach(.intentUncommitted)
        }
        crashPoints.reach(.intentRecorded)
        session.accountID = account.id
        session.state = .completing

        let subject = CertificateSubject(
            commonName: session.facts.personal.displayName,
            pseudonym: "ACCT-" + account.id.uuidString.replacingOccurrences(of: "-", with: ""),
            issuingState: session.facts.personal.issuingState)
        let der: [UInt8]
        do {
            der = try issuer.issue(plan: plan, csr: csr, subject: subject)
        } catch {
            // Nothing was signed: the serial is retired, not revoked.
            try? write { tx throws(StoreError) in
                try Self.abandon(tx, intent, mayBeSigned: false, actor: opening.actor, at: at)
            }
            try fail(&session, code: error.code)
            throw error
        }
        crashPoints.reach(.certificateSigned)

        // Transaction 2: signing tier, certificate issued, session completed.
        account.tier = .signing
        account.updatedAt = at
        var signed = intent
        signed.state = .issued
        signed.der = der
        if activation != nil {
            // On hold until the holder activates (RFC 5280 §5.3.1 certificateHold): on the CRL and in OCSP at once.
            signed.state = .revoked
            signed.revocationReason = .certificateHold
            signed.revokedAt = at
        }
        let issued = signed
        let (activationPolicy, codeProtector) = (policy.activation, protector)
        let record = enrollmentRecord(session, state: .completed, accountID: account.id, at: at)
        let upgraded = account
        let finished = session
        let superseded: [String]
        var activationExpiry: Date?
        do throws(EnrollmentError) {
            superseded = try grouped(certificateCommits) { tx -> [String] in
                var superseded: [String] = []
                var restoreTier = previousTier
                if activation != nil,
                    var pending = try tx.activationCode(accountID: upgraded.id, purpose: ContactCodes.activation),
                    pending.state == .pending
                {
                    // A new signing completion while one waits for activation: the waiting one ends (its held
                    // certificate revoked for good), and the tier an expiry restores stays the one before both.
                    restoreTier = pending.previousTier
                    if let serial = try IdentityLifecycle.endActivation(
                        tx, &pending, state: .expired, actor: finished.actor, at: at)
                    {
                        superseded.append(serial)
                    }
                }
                try tx.updateAccount(upgraded)
                if let device {
                    superseded += try IdentityLifecycle.bind(
                        tx, account: upgraded, deviceID: device.id,
                        publicKey: device.key, label: device.label,
                        actor: finished.actor, at: at,
                        enrollmentID: finished.id
                    ).revokedSerials
                }
                crashPoints.reach(.deviceBoundUncommitted)
                try tx.updateCertificate(issued)
                try tx.saveEnrollment(record)
                try UsageChain.append(
                    tx, at: at, accountID: upgraded.id, enrollmentID: finished.id,
                    event: "certificate-issued", actor: finished.actor,
                    detail: [issued.serial, issued.deviceID].compactMap { $0 }.joined(separator: " "))
                try UsageChain.append(
                    tx, at: at, accountID: upgraded.id, enrollmentID: finished.id,
                    event: "tier-changed", actor: finished.actor, detail: AccountTier.signing.rawValue)
                if let activation {
                    // The code and its message commit with the certificate they release, or not at all.
                    activationExpiry = try ContactCodes.issue(
                        tx, account: upgraded, personal: activation.personal, purpose: ContactCodes.activation,
                        destination: activation.destination, certificateSerial: issued.serial,
                        previousTier: restoreTier, enrollmentID: finished.id, policy: activationPolicy,
                        protector: codeProtector, actor: finished.actor, at: at)
                }
                crashPoints.reach(.usageAppendedUncommitted)
                return superseded
            }
        } catch {
            // Signed but not committed: the certificate never leaves this process, yet its serial goes on the
            // CRL like one a crash interrupted, and the session ends (the account keeps its previous tier).
            if (try? write({ tx throws(StoreError) in
                try Self.abandon(tx, intent, mayBeSigned: true, actor: finished.actor, at: at)
            })) != nil {
                statusObserver?.certificatesRevoked([intent.serial])
            }
            try? fail(&session, code: error.code)
            throw error
        }
        crashPoints.reach(.certificateCommitted)
        if activation == nil {
            statusObserver?.certificatesIssued([issued.serial])
        } else {
            statusObserver?.certificatesRevoked([issued.serial])
        }
        if !superseded.isEmpty { statusObserver?.certificatesRevoked(superseded) }
        finish(&session, as: .completed)
        publish(.enrollment(.enrollmentCompleted, session: session.id.uuidString, tier: AccountTier.signing.rawValue))
        let iso = ISO8601DateFormatter()
        return EnrollmentOutcome(
            enrollmentID: session.id.uuidString, accountID: account.id.uuidString,
            tier: AccountTier.signing.rawValue, certificatePEM: pem(der), certificateSerial: plan.serial,
            notAfter: iso.string(from: plan.notAfter),
            status: account.status.rawValue,
            activation: activation.map { _ in ActivationState.pendingActivation.rawValue },
            activationExpiresAt: activationExpiry.map { iso.string(from: $0) })
    }

    /// The session's current view. A finished session (completed, failed, expired, or failed by a
    /// restart with code `interrupted`) shows its stored state, failure code and evidence; its card-face
    /// data was never stored, so names and document fields are empty.
    public func session(id: UUID) throws(EnrollmentError) -> EnrollmentView {
        expireStale()
        if let session = sessions.snapshot(id) { return view(session) }
        guard let record = try read({ tx throws(StoreError) in try tx.enrollment(id: id) }) else {
            throw .sessionNotFound(id.uuidString)
        }
        return storedView(record)
    }

    /// Sessions in memory now: open ones, until they complete, fail or time out.
    public var openSessions: Int { sessions.count }

    /// The uid of the caller that started session `id` (live or recorded); nil when there is no such session.
    public func sessionOwner(id: UUID) -> UInt32? {
        if let session = sessions.snapshot(id) { return session.callerUID }
        return (try? read({ tx throws(StoreError) in try tx.enrollment(id: id) }))??.callerUID
    }

    /// Ends sessions past their deadline: wiped, recorded as expired. Returns how many.
    @discardableResult
    public func expireStale() -> Int {
        let at = now()
        let stale = sessions.claimExpired(at: at)
        for var session in stale {
            session.failureCode = "timeout"
            finish(&session, as: .expired)
            try? persist(session, state: .expired)
            sessions.release(session)
            publish(.enrollment(.enrollmentExpired, session: session.id.uuidString, code: "timeout"))
        }
        return stale.count
    }

    /// At start-up, in one transaction: sessions a previous run left open are failed with code
    /// `interrupted` (their biometric data died with it), and certificate intents that never completed
    /// are abandoned. Such an intent's certificate may have been signed before the crash, so it is also
    /// revoked (reason cessationOfOperation, dated now) and its serial listed on the CRL. Each step is
    /// a usage record.
    ///
    /// `startedBefore` limits this to sessions and intents created before that moment: on a store shared by a
    /// fleet, the open sessions and intents of the other daemons are theirs, alive, and younger than a session
    /// can last; only older ones are leftovers of a crashed host.
    @discardableResult
    public func recoverInterrupted(
        startedBefore cutoff: Date? = nil
    ) throws(EnrollmentError) -> (sessions: Int, intents: Int) {
        let at = now()
        func isLeftover(_ created: Date) -> Bool { cutoff.map { created < $0 } ?? true }
        let recovered = try write { tx throws(StoreError) -> (Int, [String]) in
            var sessions = 0
            for state in [EnrollmentState.cardVerified, .faceMatched, .completing] {
                for var record in try tx.enrollments(state: state) where isLeftover(record.createdAt) {
                    record.state = .failed
                    record.failureCode = "interrupted"
                    record.updatedAt = at
                    try tx.saveEnrollment(record)
                    try UsageChain.append(
                        tx, at: at, accountID: record.accountID, enrollmentID: record.id,
                        event: "enrollment-failed", actor: .system, outcome: "failed",
                        detail: "interrupted")
                    sessions += 1
                }
            }
            var intents: [String] = []
            for certificate in try tx.certificates(state: .intent) where isLeftover(certificate.createdAt) {
                try Self.abandon(tx, certificate, mayBeSigned: true, actor: .system, at: at)
                intents.append(certificate.serial)
            }
            return (sessions, intents)
        }
        if !recovered.1.isEmpty { statusObserver?.certificatesRevoked(recovered.1) }
        return (recovered.0, recovered.1.count)
    }

    /// Retires an intent's serial for good (state abandoned). When the CA may have signed it, the
    /// certificate is also revoked so its serial goes on the CRL, although it was never handed out.
    public static func abandon(
        _ tx: any StoreTransaction, _ intent: CertificateRecord, mayBeSigned: Bool, actor: UsageActor,
        at: Date
    ) throws(StoreError) {
        var abandoned = intent
        abandoned.state = .abandoned
        if mayBeSigned {
            abandoned.revokedAt = at
            abandoned.revocationReason = .cessationOfOperation
        }
        try tx.updateCertificate(abandoned)
        try UsageChain.append(
            tx, at: at, accountID: intent.accountID, event: "certificate-abandoned", actor: actor,
            outcome: "failed", detail: intent.serial + (mayBeSigned ? " revoked" : ""))
    }

    // MARK: - Helpers

    /// Runs one step on session `id`, holding it for the whole step: `enrollment-busy` when another step holds
    /// it, the stored state when it is finished. What the step leaves in `session` is kept (a finished session is
    /// dropped), whether it returns or throws.
    func step<T>(_ id: UUID, _ body: (inout LiveSession) throws(EnrollmentError) -> T) throws(EnrollmentError) -> T {
        expireStale()
        switch sessions.claim(id) {
        case var .claimed(session):
            defer { sessions.release(session) }
            return try body(&session)
        case .busy:
            throw EnrollmentError(
                .enrollmentBusy,
                "another step of enrollment \(id.uuidString) is running: wait for "
                    + "its answer, then continue")
        case .absent:
            if let record = try read({ tx throws(StoreError) in try tx.enrollment(id: id) }) {
                if record.state == .expired { throw .sessionExpired }
                throw .wrongState(record.state.rawValue, expected: "open")
            }
            throw .sessionNotFound(id.uuidString)
        }
    }

    /// Where a signing completion's activation code goes (the account's e-mail or phone, of a configured
    /// transport), or nil when activation does not apply. Throws `contact-required` when it applies and the account
    /// has no such contact.
    func activationPlan(
        _ account: AccountRecord
    ) throws(EnrollmentError) -> (
        personal: PersonalData, destination: (field: String, kind: ContactKind, value: String)
    )? {
        guard policy.activation.appliesToSigning else { return nil }
        let personal = try IdentityLifecycle.openPersonal(account, protector: protector)
        guard
            let destination = ContactCodes.destination(
                personal, transports: policy.activation.transports, verifiedOnly: false)
        else {
            let kinds = policy.activation.transports.map(\.rawValue).sorted().joined(separator: " or ")
            throw EnrollmentError(
                .contactRequired,
                "the signing tier is activated with a code sent to the holder's \(kinds): give one in contact")
        }
        return (personal, destination)
    }

    func newAccount(
        _ session: LiveSession, tier: AccountTier, contact: [String: String], at: Date
    )
        throws(EnrollmentError) -> AccountRecord
    {
        let id = UUID()
        var personal = session.facts.personal
        personal.contact = try IdentityLifecycle.validateContact(contact)
        let plaintext: [UInt8]
        do {
            plaintext = [UInt8](try JSONEncoder().encode(personal))
        } catch {
            throw EnrollmentError(.internalError, "cannot encode personal data")
        }
        let sealed = try protector.seal(plaintext, context: id.uuidString)
        return AccountRecord(
            id: id, tier: tier, identityKey: session.identityKey, sealedPersonalData: sealed,
            createdAt: at, updatedAt: at)
    }

    /// Ends the session as failed with `code`: it is finished in memory first, so even when the record cannot be
    /// written the session is gone (and restart recovery fails its record).
    func fail(_ session: inout LiveSession, code: String) throws(EnrollmentError) {
        session.failureCode = code
        finish(&session, as: .failed)
        publish(.enrollment(.enrollmentFailed, session: session.id.uuidString, code: code))
        try persist(session, state: .failed)
    }

    /// Marks the session finished and wipes its biometric data; releasing the step then drops it from memory.
    func finish(_ session: inout LiveSession, as state: EnrollmentState = .completed) {
        session.state = state
        session.wipeBiometrics()
    }

    /// Saves the session's record and appends its usage record (event by default from the state).
    func persist(
        _ session: LiveSession, state: EnrollmentState, event: String? = nil,
        outcome: String? = nil
    ) throws(EnrollmentError) {
        let at = now()
        let record = enrollmentRecord(session, state: state, accountID: session.accountID, at: at)
        let failed = state == .failed || state == .expired
        try write { tx throws(StoreError) in
            try tx.saveEnrollment(record)
            try UsageChain.append(
                tx, at: at, accountID: session.accountID, enrollmentID: session.id,
                event: event ?? "enrollment-\(state.rawValue)", actor: session.actor,
                outcome: outcome ?? (failed ? "failed" : "ok"),
                detail: failed ? session.failureCode ?? "" : session.purpose.rawValue)
        }
    }

    /// A transaction shared with concurrent completions (`GroupCommit`); its body may throw `EnrollmentError` (kept
    /// as is) or `StoreError`.
    @discardableResult
    func grouped<T>(
        _ commits: GroupCommit,
        _ body: @escaping (any StoreTransaction) throws -> T
    ) throws(EnrollmentError) -> T {
        do {
            return try commits.transaction(body)
        } catch let error as EnrollmentError {
            throw error
        } catch let error as StoreError {
            throw .store(error)
        } catch {
            throw .store(.aborted(String(describing: error)))
        }
    }

    /// A transaction whose body may throw `EnrollmentError` (kept as is) or `StoreError`.
    @discardableResult
    func lifecycleWrite<T>(_ body: (any StoreTransaction) throws -> T) throws(EnrollmentError) -> T {
        try store.domainTransaction(body)
    }

    func enrollmentRecord(
        _ session: LiveSession, state: EnrollmentState, accountID: UUID?, at: Date
    ) -> EnrollmentRecord {
        let evidence = Evidence(
            accessProtocol: session.document.accessProtocol, authenticity: session.document.authenticity,
            face: session.face, photoAttempts: session.photoAttempts,
            faceThreshold: session.face?.threshold, signingMinimumAge: policy.signingMinimumAge,
            startedAt: ISO8601DateFormatter().string(from: session.createdAt),
            liveness: session.liveness, livenessAttempts: session.livenessAttempts,
            accountHidden: session.accountNamed ? nil : true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(evidence)).map { [UInt8]($0) } ?? []
        return EnrollmentRecord(
            id: session.id, purpose: session.purpose, state: state, accountID: accountID,
            reader: session.reader, callerUID: session.callerUID, evidence: bytes,
            failureCode: session.failureCode, createdAt: session.createdAt, updatedAt: at)
    }

    func view(_ session: LiveSession) -> EnrollmentView {
        let personal = session.facts.personal
        return EnrollmentView(
            id: session.id.uuidString, purpose: session.purpose.rawValue, state: session.state.rawValue,
            accountID: session.accountNamed ? session.accountID?.uuidString : nil, reader: session.reader,
            surname: personal.surname,
            givenNames: personal.givenNames, documentType: personal.documentType,
            issuingState: personal.issuingState, documentExpiry: personal.documentExpiry,
            accessProtocol: session.document.accessProtocol, authenticity: session.document.authenticity,
            photoAttemptsLeft: max(0, policy.maxPhotoAttempts - session.photoAttempts), face: session.face,
            expiresAt: ISO8601DateFormatter().string(from: session.deadline), failureCode: session.failureCode,
            guardianPresent: session.guardianAccountID == nil ? nil : session.guardianPresent,
            liveness: session.liveness,
            livenessAttemptsLeft: max(0, policy.maxLivenessAttempts - session.livenessAttempts),
            livenessRequired: policy.requiresLiveness(purpose: session.purpose, signing: true))
    }

    func storedView(_ record: EnrollmentRecord) -> EnrollmentView {
        let evidence = try? JSONDecoder().decode(Evidence.self, from: Data(record.evidence))
        let deadline = record.createdAt.addingTimeInterval(policy.sessionTimeout)
        return EnrollmentView(
            id: record.id.uuidString, purpose: record.purpose.rawValue, state: record.state.rawValue,
            // An account reached with an upgrade token shows only once the session completed (the outcome named it).
            accountID: evidence?.accountHidden == true && record.state != .completed
                ? nil : record.accountID?.uuidString,
            reader: record.reader, surname: "",
            givenNames: "", documentType: "", issuingState: "", documentExpiry: "",
            accessProtocol: evidence?.accessProtocol ?? "",
            authenticity: evidence?.authenticity ?? AuthenticityVerdict(genuine: false, checks: []),
            photoAttemptsLeft: max(0, policy.maxPhotoAttempts - (evidence?.photoAttempts ?? 0)),
            face: evidence?.face,
            expiresAt: ISO8601DateFormatter().string(from: deadline),
            failureCode: record.failureCode, guardianPresent: nil, liveness: evidence?.liveness,
            livenessAttemptsLeft: max(
                0,
                policy.maxLivenessAttempts
                    - (evidence?.livenessAttempts ?? 0)),
            livenessRequired: policy.requiresLiveness(purpose: record.purpose, signing: true))
    }

    func read<T>(_ body: (any StoreTransaction) throws(StoreError) -> T) throws(EnrollmentError) -> T {
        try write(body)
    }

    @discardableResult
    func write<T>(_ body: (any StoreTransaction) throws(StoreError) -> T) throws(EnrollmentError) -> T {
        do {
            return try store.transaction { tx in try body(tx) }
        } catch {
            throw .store(error)
        }
    }
}

/// What an enrollment record keeps as evidence. No names, numbers or images.
struct Evidence: Codable {
    var accessProtocol: String
    var authenticity: AuthenticityVerdict
    var face: FaceEvidence?
    var photoAttempts: Int
    var faceThreshold: Double?
    var signingMinimumAge: Int
    var startedAt: String
    /// The liveness step's last decision (every check's value and threshold) and the challenges requested.
    var liveness: LivenessEvidence?
    var livenessAttempts: Int?
    /// True when the session reached its account with an upgrade token: its stored view does not show the account
    /// until it completed.
    var accountHidden: Bool?
}

/// PEM armour for a DER certificate.
func pem(_ der: [UInt8]) -> String {
    let base64 = Data(der).base64EncodedString()
    var lines: [String] = []
    var index = base64.startIndex
    while index < base64.endIndex {
        let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
        lines.append(String(base64[index..<end]))
        index = end
    }
    return "-----BEGIN CERTIFICATE-----\n" + lines.joined(separator: "\n") + "\n-----END CERTIFICATE-----\n"
}

extension EnrollmentService {
    /// A version 4 UUID (RFC 9562 §5.4) from 16 random bytes; fewer bytes are padded from the system generator.
    static func uuid(_ random: [UInt8]) -> UUID {
        var bytes = Array(random.prefix(16))
        while bytes.count < 16 { bytes.append(UInt8.random(in: 0...255)) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
