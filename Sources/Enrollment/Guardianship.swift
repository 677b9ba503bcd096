import EnrollAPIModel
import Foundation
import MRTD
import Secrets
import Store

/// Minors and guardians: below `registrationMinimumAge` a registration names the guardian's account
/// (`guardianAccountID`), the guardian's own card is read and authenticated in the same session (`addGuardian`),
/// and the guardian's live photo is matched against that card's chip portrait (`submitGuardianPhoto`): the guardian
/// is seen, not only carried. Only then can the account be created; it is linked to the guardian's.
/// Below `signingMinimumAge` an account stays basic (enforced at completion).
extension EnrollmentService {
    /// The guardian a registration needs, or nil when the holder is old enough.
    func guardianRequirement(
        _ request: EnrollmentStart, facts: DocumentFacts,
        on date: Date
    ) throws(EnrollmentError) -> UUID? {
        guard request.purpose == .register,
            facts.age(on: MRZDate.today(now: date)) < policy.registrationMinimumAge
        else { return nil }
        guard let guardianID = request.guardianAccountID else {
            throw EnrollmentError(
                .guardianRequired,
                "the holder is under \(policy.registrationMinimumAge): register with a "
                    + "guardian present (give guardianAccountId and read the guardian's card)")
        }
        let guardian = try read { tx throws(StoreError) in try tx.account(id: guardianID) }
        guard let guardian, guardian.status == .normal else {
            throw EnrollmentError(
                .guardianNotEligible, "the guardian's account \(guardianID.uuidString) does not exist or is not normal")
        }
        return guardianID
    }

    /// Reads and authenticates the guardian's card in `reader`; it must be the identity of the session's
    /// guardian account, and an adult.
    public func addGuardian(
        id: UUID, reader: String, key: BACKey,
        actor: UsageActor? = nil
    ) throws(EnrollmentError) -> EnrollmentView {
        try step(id) { session throws(EnrollmentError) in
            try verifyGuardian(&session, reader: reader, key: key, actor: actor ?? session.actor)
        }
    }

    private func verifyGuardian(
        _ session: inout LiveSession, reader: String, key: BACKey,
        actor: UsageActor
    ) throws(EnrollmentError) -> EnrollmentView {
        let id = session.id
        guard let guardianID = session.guardianAccountID else {
            throw EnrollmentError(.guardianNotNeeded, "this session does not need a guardian")
        }
        let at = now()
        do throws(EnrollmentError) {
            let document = try cards.read(reader: reader, key: key)
            let facts = try DocumentFacts(document: document.data, rules: policy.identityRules)
            if !document.authenticity.genuine { throw EnrollmentError.notGenuine(document.authenticity.reasons) }
            if facts.expiryDate < MRZDate.today(now: at) { throw EnrollmentError.documentExpired }
            let keys = try IdentityResolution.keys(facts, protector: protector)
            let protector = self.protector
            let guardian = try lifecycleWrite { tx in
                try IdentityResolution.account(
                    tx, keys: keys, facts: facts, protector: protector, actor: actor, enrollmentID: id, at: at)
            }
            guard let guardian, guardian.id == guardianID else {
                throw EnrollmentError(
                    .guardianMismatch,
                    "the card read is not the guardian's (account \(guardianID.uuidString))")
            }
            guard facts.age(on: MRZDate.today(now: at)) >= policy.signingMinimumAge, guardian.status == .normal else {
                throw EnrollmentError(.guardianNotEligible, "the guardian must be an adult with a normal account")
            }
            guard var portrait = document.data.portrait?.imageData, !portrait.isEmpty else {
                throw EnrollmentError(
                    .noPortrait,
                    "the guardian's chip holds no portrait to match the guardian's face against: the guardian "
                        + "reads another document of theirs")
            }
            session.guardianPortrait = SecretBytes(wiping: &portrait)
        } catch {
            _ = try? write { tx throws(StoreError) in
                try UsageChain.append(
                    tx, at: at, accountID: guardianID, enrollmentID: id, event: "guardian-verified",
                    actor: actor, outcome: "refused", detail: error.code)
            }
            throw error
        }
        try write { tx throws(StoreError) in
            try UsageChain.append(
                tx, at: at, accountID: guardianID, enrollmentID: id, event: "guardian-verified",
                actor: actor, outcome: "ok")
        }
        // A new card read starts the guardian's face step again (another card, another portrait).
        session.guardianCardRead = true
        session.guardianPresent = false
        session.guardianPhotoAttempts = 0
        return view(session)
    }

    /// Matches the guardian's live photo against the chip portrait of the guardian's card read in this session;
    /// the guardian is then present. A mismatch counts an attempt (`maxPhotoAttempts`, then the session ends), and
    /// every answer is a usage record of the guardian's account (`guardian-seen`).
    public func submitGuardianPhoto(id: UUID, photo: [UInt8]) throws(EnrollmentError) -> EnrollmentView {
        try step(id) { session throws(EnrollmentError) in
            guard let guardianID = session.guardianAccountID else {
                throw EnrollmentError(.guardianNotNeeded, "this session does not need a guardian")
            }
            guard session.guardianCardRead, !session.guardianPortrait.isEmpty else {
                try recordGuardianRefusal(&session, guardianID: guardianID, code: ProblemCode.guardianNotPresent.code)
                throw EnrollmentError(
                    .guardianNotPresent, "read the guardian's card in this session before the guardian's photo")
            }
            if session.guardianPresent { return view(session) }
            session.guardianPhotoAttempts += 1
            do throws(EnrollmentError) {
                // The face engine takes arrays: a transient copy of the portrait, zeroed when the comparison returns.
                var reference = session.guardianPortrait.copiedArray()
                defer { SecretBytes.wipe(&reference) }
                let evidence = try faces.compare(
                    reference: reference, probe: photo, session: session.id, callerUID: session.callerUID)
                guard evidence.isMatch else {
                    let left = policy.maxPhotoAttempts - session.guardianPhotoAttempts
                    throw EnrollmentError(
                        .faceMismatch,
                        left > 0
                            ? "the guardian's live photo does not match the guardian's chip portrait: the guardian "
                                + "looks straight at the camera and tries again (\(left) attempt(s) left)"
                            : "the guardian's live photo does not match the guardian's chip portrait")
                }
            } catch {
                if error.kind == .faceEngineBusy {
                    session.guardianPhotoAttempts -= 1
                    throw error
                }
                try recordGuardianRefusal(&session, guardianID: guardianID, code: error.code)
                if policy.maxPhotoAttempts - session.guardianPhotoAttempts <= 0 {
                    try fail(&session, code: ProblemCode.attemptsExhausted.code)
                    throw EnrollmentError(
                        .attemptsExhausted,
                        "the guardian's live photo did not match the guardian's chip portrait in "
                            + "\(policy.maxPhotoAttempts) attempts: the session has ended")
                }
                throw error
            }
            let at = now()
            try write { tx throws(StoreError) in
                try UsageChain.append(
                    tx, at: at, accountID: guardianID, enrollmentID: id, event: UsageEventKind.guardianSeen.rawValue,
                    actor: session.actor, outcome: "ok")
            }
            session.guardianPresent = true
            publish(.enrollment(.enrollmentGuardianVerified, session: id.uuidString))
            return view(session)
        }
    }

    /// A `guardian-seen` refusal in the guardian's usage log.
    private func recordGuardianRefusal(
        _ session: inout LiveSession, guardianID: UUID, code: String
    ) throws(EnrollmentError) {
        let at = now()
        let (id, actor) = (session.id, session.actor)
        try write { tx throws(StoreError) in
            try UsageChain.append(
                tx, at: at, accountID: guardianID, enrollmentID: id, event: UsageEventKind.guardianSeen.rawValue,
                actor: actor, outcome: "refused", detail: code)
        }
    }

    /// Before a minor's account is created: the guardian's card was read in this session and the guardian's face
    /// matched it. A guardian whose card was not read is refused (`guardian-not-present`), one carried but not seen
    /// too (`guardian-not-seen`); either refusal is a usage record of the guardian's account.
    func requireGuardianIfMinor(_ session: inout LiveSession, on date: Date) throws(EnrollmentError) {
        guard let guardianID = session.guardianAccountID, !session.guardianPresent else { return }
        guard session.guardianCardRead else {
            try recordGuardianRefusal(&session, guardianID: guardianID, code: ProblemCode.guardianNotPresent.code)
            throw EnrollmentError(.guardianNotPresent, "read the guardian's card in this session before completing")
        }
        try recordGuardianRefusal(&session, guardianID: guardianID, code: ProblemCode.guardianNotSeen.code)
        throw EnrollmentError(
            .guardianNotSeen,
            "the guardian's card was read but the guardian's face was not matched: take the guardian's live photo "
                + "(POST /v1/enrollments/\(session.id.uuidString)/guardian/photo) before completing")
    }

    static func linkGuardian(
        _ tx: any StoreTransaction, _ session: LiveSession, accountID: UUID,
        at: Date
    ) throws(StoreError) {
        guard let guardianID = session.guardianAccountID, session.guardianPresent else { return }
        try tx.saveGuardianLink(
            GuardianLinkRecord(
                accountID: accountID, guardianAccountID: guardianID,
                enrollmentID: session.id, createdAt: at))
        try UsageChain.append(
            tx, at: at, accountID: accountID, enrollmentID: session.id, event: "guardian-linked",
            actor: session.actor, detail: guardianID.uuidString)
        try UsageChain.append(
            tx, at: at, accountID: guardianID, enrollmentID: session.id, event: "ward-linked",
            actor: session.actor, detail: accountID.uuidString)
    }
}

extension EnrollmentService {
    /// What to bind at completion: nil when no device is named or it is already the account's device.
    func devicePlan(
        _ options: CompletionOptions,
        accountID: UUID?
    ) throws(EnrollmentError) -> (id: String, key: String, label: String)? {
        guard let deviceID = options.deviceID else { return nil }
        if let key = options.devicePublicKey {
            return (deviceID, try IdentityLifecycle.canonicalPublicKey(key), options.deviceLabel ?? "")
        }
        if let accountID {
            let bindings = try read { tx throws(StoreError) in try tx.deviceBindings(accountID: accountID) }
            if bindings.contains(where: { $0.unboundAt == nil && $0.deviceID == deviceID }) { return nil }
        }
        throw EnrollmentError(
            .deviceNotBound, "device \(deviceID) is not bound to the account: give devicePublicKey to bind it")
    }

    /// Purpose passcode-reset, after the face matched: a re-verification (expired or invalid accounts return to
    /// normal with a valid document) that sets the new passcode or clears the lock.
    func completePasscodeReset(
        _ session: inout LiveSession, options: CompletionOptions,
        at: Date
    ) throws(EnrollmentError) -> EnrollmentOutcome {
        guard session.state == .faceMatched else { throw .wrongState(session.state.rawValue, expected: "face-matched") }
        if let passcode = options.passcode { try IdentityLifecycle.validate(passcode) }
        guard let accountID = session.accountID else { throw .wrongState("without account", expected: "open") }
        let record = enrollmentRecord(session, state: .completed, accountID: accountID, at: at)
        let (protector, verified) = (self.protector, session)
        let usesCode = try checkPasscodeResetCode(session, code: options.contactCode, at: at)
        let account = try lifecycleWrite { tx -> AccountRecord in
            if usesCode {
                // Single use, even against a concurrent completion with the same code.
                guard var code = try tx.activationCode(accountID: accountID, purpose: ContactCodes.passcodeReset),
                    code.state == .pending
                else { throw EnrollmentError(.activationNotPending, "the passcode-reset code was already used") }
                code.state = .used
                code.updatedAt = at
                try tx.saveActivationCode(code)
            }
            guard let found = try tx.account(id: accountID) else { throw EnrollmentError.accountNotFound(accountID) }
            let stored = try IdentityLifecycle.applyExpiry(tx, found, protector: protector, at: at)
            let account = try IdentityLifecycle.reverify(
                tx, stored, facts: verified.facts, protector: protector,
                actor: verified.actor, enrollmentID: verified.id, at: at)
            try IdentityLifecycle.resetPasscode(
                tx, accountID: accountID, newPasscode: options.passcode,
                actor: verified.actor, enrollmentID: verified.id, at: at)
            try tx.saveEnrollment(record)
            try UsageChain.append(
                tx, at: at, accountID: accountID, enrollmentID: verified.id,
                event: "enrollment-completed", actor: verified.actor, detail: verified.purpose.rawValue)
            return account
        }
        finish(&session, as: .completed)
        publish(.enrollment(.enrollmentCompleted, session: session.id.uuidString, tier: "passcode-reset"))
        return EnrollmentOutcome(
            enrollmentID: session.id.uuidString, accountID: accountID.uuidString,
            tier: account.tier.rawValue, status: account.status.rawValue)
    }
}
