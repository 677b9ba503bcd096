import EnrollAPIModel
import Foundation
import OpenSSLKit
import Store

/// What happened to passcodes, for the daemon's metrics and log (no personal data: the caller's uid, never the
/// account's holder).
public enum PasscodeEvent: Sendable, Equatable {
    /// A wrong entry (also a failed entry for a missing account, one without a passcode, or a locked one).
    case failedEntry
    /// A passcode locked for `seconds`, or for good (`permanent`).
    case locked(permanent: Bool)
    /// A caller used up its budget of wrong entries across all accounts: it may make no entry until `until`.
    case callerLockedOut(actor: UsageActor, until: Date)
}

/// The optional service passcode: exactly 4 digits, scrypt (N=2^15, r=8, p=1) with a 16-byte per-account salt,
/// compared in constant time. A forgotten or locked passcode is reset only through a card-and-face re-verification
/// (purpose `passcode-reset`).
///
/// Guessing is bounded three ways (LifecyclePolicy):
/// - `passcodeMaxAttempts` consecutive wrong entries lock the passcode; each lock lasts twice as long as the one
///   before (`passcodeLockout`, 2×, 4×, …) until a correct entry, so waiting out a lock no longer buys the same
///   number of guesses again;
/// - `passcodeMaxTotalFailures` wrong entries in total (since the passcode was set or reset; a correct entry does
///   not clear them) lock it for good: only a card-and-face passcode reset clears that;
/// - a caller that is not staff (a kiosk's uid on this host) may make `passcodeCallerBudget` failed entries across all
///   accounts per `passcodeCallerWindow`; then it may make none until the window ends (a usage record, a metric and a
///   log line say so).
///
/// A caller that is not staff learns only "ok" or `holder-proof-failed`: a missing account, a cancelled one, one
/// without a passcode, a wrong entry and a locked passcode answer alike, after the same scrypt work.
extension IdentityLifecycle {
    static let scryptParameters = Scrypt.Parameters.interactive

    static func validate(_ passcode: String) throws(EnrollmentError) {
        guard passcode.utf8.count == 4, passcode.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw EnrollmentError(.invalidPasscode, "a passcode is exactly 4 digits")
        }
    }

    func requirePasscodesEnabled() throws(EnrollmentError) {
        guard policy.passcodeEnabled else {
            throw EnrollmentError(.passcodeDisabled, "service passcodes are turned off on this system")
        }
    }

    static func derive(_ passcode: String, salt: [UInt8]) throws -> [UInt8] {
        do {
            return try Scrypt.deriveKey(
                password: Array(passcode.utf8), salt: salt, parameters: scryptParameters,
                length: 32)
        } catch {
            throw EnrollmentError(.internalError, "scrypt failed: \(error)")
        }
    }

    static func newPasscodeRecord(_ passcode: String, accountID: UUID, at: Date) throws -> PasscodeRecord {
        let salt: [UInt8]
        do {
            salt = try SecureRandom.bytes(16)
        } catch {
            throw EnrollmentError(.internalError, "no random bytes: \(error)")
        }
        let parameters = scryptParameters
        return PasscodeRecord(
            accountID: accountID, salt: salt, hash: try derive(passcode, salt: salt),
            parameters: "scrypt:\(parameters.n):\(parameters.r):\(parameters.p)", updatedAt: at)
    }

    /// The passcode's state.
    public func passcodeStatus(accountID: UUID) throws(EnrollmentError) -> PasscodeStatus {
        let record = try run { tx in
            guard try tx.account(id: accountID) != nil else { throw EnrollmentError.accountNotFound(accountID) }
            return try tx.passcode(accountID: accountID)
        }
        let current = now()
        let lockOver = record?.lockedUntil.map { $0 <= current } ?? false
        let locked = record?.lockedUntil.flatMap { $0 > current ? ISO8601DateFormatter().string(from: $0) : nil }
        return PasscodeStatus(
            set: record?.enabled ?? false, enabled: policy.passcodeEnabled,
            failedAttempts: lockOver ? 0 : record?.failedAttempts ?? 0,
            lockedUntil: locked, lockedPermanently: record?.lockedPermanently ?? false,
            totalFailures: record?.totalFailures ?? 0,
            maxTotalFailures: policy.passcodeMaxTotalFailures)
    }

    /// Sets (or changes) the passcode. Changing an enabled passcode needs the current one, which counts as an
    /// entry (wrong entries count towards the lock). A new passcode starts with no wrong entries.
    public func setPasscode(
        accountID: UUID, passcode: String, current: String?,
        actor: UsageActor
    ) throws(EnrollmentError) -> PasscodeStatus {
        try requirePasscodesEnabled()
        try Self.validate(passcode)
        try requireCurrentPasscode(accountID: accountID, current: current, actor: actor, purpose: "change")
        let at = now()
        try run { tx in
            guard let account = try tx.account(id: accountID) else { throw EnrollmentError.accountNotFound(accountID) }
            if account.status == .cancelled { throw EnrollmentError.accountCancelled }
            try tx.savePasscode(try Self.newPasscodeRecord(passcode, accountID: accountID, at: at))
            try UsageChain.append(tx, at: at, accountID: accountID, event: "passcode-set", actor: actor)
        }
        return try passcodeStatus(accountID: accountID)
    }

    /// Turns the passcode off: with the current passcode, or by an operator at a counter. A caller that is not staff
    /// must give the enabled passcode: for an account without one it fails like a wrong entry (it would otherwise tell
    /// a kiosk which accounts exist and which have a passcode).
    public func disablePasscode(
        accountID: UUID, current: String?,
        actor: UsageActor
    ) throws(EnrollmentError) -> PasscodeStatus {
        if !actor.isStaff {
            let check = try verifyPasscode(accountID: accountID, passcode: current ?? "", actor: actor)
            guard check.isOK else { throw Self.refusal(check, for: actor) }
        }
        let at = now()
        try run { tx in
            guard try tx.account(id: accountID) != nil else { throw EnrollmentError.accountNotFound(accountID) }
            guard var record = try tx.passcode(accountID: accountID), record.enabled else { return }
            record.enabled = false
            record.hash = []
            record.failedAttempts = 0
            record.lockedUntil = nil
            record.updatedAt = at
            try tx.savePasscode(record)
            try UsageChain.append(tx, at: at, accountID: accountID, event: "passcode-disabled", actor: actor)
        }
        return try passcodeStatus(accountID: accountID)
    }

    /// When the account has an enabled passcode, `current` must be it.
    private func requireCurrentPasscode(
        accountID: UUID, current: String?, actor: UsageActor,
        purpose: String
    ) throws(EnrollmentError) {
        let existing = try run { tx in try tx.passcode(accountID: accountID) }
        guard let existing, existing.enabled else { return }
        guard let current else {
            throw EnrollmentError(
                .passcodeRequired,
                "give the current passcode to \(purpose) it (forgotten: re-verify with card "
                    + "and face, purpose passcode-reset)")
        }
        let check = try verifyPasscode(accountID: accountID, passcode: current, actor: actor)
        guard check.isOK else { throw Self.refusal(check, for: actor) }
    }

    /// The refusal a wrong or locked entry means: for staff what happened, for anyone else `holder-proof-failed`.
    public static func refusal(_ check: PasscodeCheck, for actor: UsageActor) -> EnrollmentError {
        guard actor.isStaff else { return holderProofFailed }
        if check.result == "locked" {
            guard let until = check.unlocksAt else {
                return EnrollmentError(
                    .passcodeLocked,
                    "the passcode is locked for good after too many wrong entries: "
                        + "reset it by re-verifying with card and face (purpose passcode-reset)")
            }
            return EnrollmentError(
                .passcodeLocked, "the passcode is locked after too many wrong entries until \(until)")
        }
        return EnrollmentError(.passcodeWrong, "wrong passcode: \(check.attemptsLeft ?? 0) attempt(s) left")
    }

    /// The one answer a caller that is not staff gets for any failed passcode entry or holder proof.
    public static let holderProofFailed = EnrollmentError(
        .holderProofFailed,
        "the holder could not be verified: check the passcode with the holder, or re-verify the "
            + "holder with card and face")

    /// `uid:N@host`: the budget's key. Uids are per host; on a shared database hosts keep separate budgets.
    func budgetKey(_ actor: UsageActor) -> String { "uid:\(actor.uid)@\(host)" }

    /// What an entry came to inside its transaction: a check to return, or a refusal to throw once the transaction
    /// has committed (the counts and usage records of a failed entry must survive the refusal).
    private enum EntryOutcome {
        case checked(PasscodeCheck)
        case refused(EnrollmentError)
    }

    /// Checks a passcode entry: ok (the count of wrong entries and the lock level restart), wrong (attempts left; the
    /// last one locks), or locked (until when, or for good) without comparing. For a caller that is not staff, every
    /// outcome but ok throws `holder-proof-failed` (or `passcode-entries-exhausted` once its budget is used up).
    public func verifyPasscode(
        accountID: UUID, passcode: String,
        actor: UsageActor
    ) throws(EnrollmentError) -> PasscodeCheck {
        try requirePasscodesEnabled()
        let at = now()
        let policy = self.policy
        let budgeted = !actor.isStaff
        let caller = budgetKey(actor)
        var events: [PasscodeEvent] = []
        let outcome: EntryOutcome = try run { tx in
            // A transaction the store runs again (a serialization failure) starts from nothing.
            events = []
            var budget: PasscodeBudgetRecord?
            if budgeted {
                var current =
                    try tx.passcodeBudget(caller: caller)
                    ?? PasscodeBudgetRecord(caller: caller, windowStart: at, updatedAt: at)
                if let until = current.lockedUntil, until > at {
                    return .refused(Self.callerLockedOut(until: until))
                }
                if at.timeIntervalSince(current.windowStart) >= policy.passcodeCallerWindow
                    || current.lockedUntil != nil
                {
                    current = PasscodeBudgetRecord(caller: caller, windowStart: at, updatedAt: at)
                }
                budget = current
            }
            /// Counts a failed entry against the caller's budget; locks the caller out when it is used up.
            func countFailure() throws {
                events.append(.failedEntry)
                guard var spent = budget else { return }
                events += try Self.spend(tx, &spent, actor, policy, at)
                budget = spent
            }
            /// A failure found before any comparison still costs one scrypt run, so no answer comes faster.
            func refuse(_ error: EnrollmentError) throws -> EntryOutcome {
                _ = try Self.derive(passcode, salt: Self.decoySalt)
                try countFailure()
                return .refused(error)
            }
            guard let account = try tx.account(id: accountID) else {
                return try refuse(EnrollmentError.accountNotFound(accountID))
            }
            if account.status == .cancelled { return try refuse(EnrollmentError.accountCancelled) }
            guard var record = try tx.passcode(accountID: accountID), record.enabled else {
                return try refuse(EnrollmentError(.passcodeNotSet, "the account has no passcode"))
            }
            let iso = ISO8601DateFormatter()
            if record.lockedPermanently {
                _ = try Self.derive(passcode, salt: Self.decoySalt)
                try countFailure()
                try UsageChain.append(
                    tx, at: at, accountID: accountID, event: "passcode-verify", actor: actor,
                    outcome: "locked", detail: "permanently")
                return .checked(PasscodeCheck(result: "locked", attemptsLeft: 0))
            }
            if let until = record.lockedUntil {
                if until > at {
                    _ = try Self.derive(passcode, salt: Self.decoySalt)
                    try countFailure()
                    try UsageChain.append(
                        tx, at: at, accountID: accountID, event: "passcode-verify", actor: actor,
                        outcome: "locked")
                    return .checked(
                        PasscodeCheck(result: "locked", attemptsLeft: 0, unlocksAt: iso.string(from: until)))
                }
                record.lockedUntil = nil
                record.failedAttempts = 0
            }
            let wellFormed = (try? Self.validate(passcode)) != nil
            let entered = try Self.derive(wellFormed ? passcode : "", salt: record.salt)
            record.updatedAt = at
            if wellFormed && MessageAuthentication.constantTimeEquals(entered, record.hash) {
                record.failedAttempts = 0
                record.lockLevel = 0
                try tx.savePasscode(record)
                try UsageChain.append(tx, at: at, accountID: accountID, event: "passcode-verify", actor: actor)
                return .checked(PasscodeCheck(result: "ok"))
            }
            record.failedAttempts += 1
            record.totalFailures += 1
            try countFailure()
            var left = max(0, policy.passcodeMaxAttempts - record.failedAttempts)
            var unlocksAt: String?
            var lockDetail: String?
            if record.totalFailures >= policy.passcodeMaxTotalFailures {
                record.lockedPermanently = true
                record.lockedUntil = nil
                left = 0
                lockDetail = "permanently after \(record.totalFailures) wrong entries"
                events.append(.locked(permanent: true))
            } else if left == 0 {
                let until = at.addingTimeInterval(policy.lockDuration(level: record.lockLevel))
                record.lockedUntil = until
                record.lockLevel += 1
                unlocksAt = iso.string(from: until)
                lockDetail = "until \(iso.string(from: until)) (lock \(record.lockLevel))"
                events.append(.locked(permanent: false))
            }
            try tx.savePasscode(record)
            try UsageChain.append(
                tx, at: at, accountID: accountID, event: "passcode-verify", actor: actor,
                outcome: "wrong",
                detail: "\(record.failedAttempts) consecutive, "
                    + "\(record.totalFailures) in total")
            if let lockDetail {
                try UsageChain.append(
                    tx, at: at, accountID: accountID, event: "passcode-locked", actor: actor,
                    outcome: "locked", detail: lockDetail)
            }
            return .checked(
                PasscodeCheck(
                    result: record.lockedPermanently ? "locked" : "wrong", attemptsLeft: left,
                    unlocksAt: unlocksAt))
        }
        for event in events { onPasscodeEvent(event) }
        switch outcome {
        case let .refused(error):
            throw budgeted && error.kind != .passcodeEntriesExhausted ? Self.holderProofFailed : error
        case let .checked(check):
            guard budgeted, !check.isOK else { return check }
            throw Self.holderProofFailed
        }
    }

    static func callerLockedOut(until: Date) -> EnrollmentError {
        EnrollmentError(
            .passcodeEntriesExhausted,
            "this kiosk made too many failed passcode entries: it may take no "
                + "passcode until \(ISO8601DateFormatter().string(from: until)); re-verify the holder with "
                + "card and face")
    }

    /// The salt of the scrypt run that stands in for a comparison that cannot happen (no such account, no passcode,
    /// locked): only its cost matters.
    static let decoySalt = [UInt8](repeating: 0x5A, count: 16)

    /// After a card-and-face re-verification (purpose `passcode-reset`): sets the new passcode, or, without one,
    /// clears the lock (a permanent one too), the lock level and the counts of wrong entries.
    static func resetPasscode(
        _ tx: any StoreTransaction, accountID: UUID, newPasscode: String?, actor: UsageActor,
        enrollmentID: UUID, at: Date
    ) throws {
        if let newPasscode {
            try tx.savePasscode(try newPasscodeRecord(newPasscode, accountID: accountID, at: at))
        } else if var record = try tx.passcode(accountID: accountID) {
            record.failedAttempts = 0
            record.lockedUntil = nil
            record.lockLevel = 0
            record.totalFailures = 0
            record.lockedPermanently = false
            record.updatedAt = at
            try tx.savePasscode(record)
        }
        try UsageChain.append(
            tx, at: at, accountID: accountID, enrollmentID: enrollmentID, event: "passcode-reset",
            actor: actor, detail: newPasscode == nil ? "unlocked" : "new passcode")
    }
}

extension LifecyclePolicy {
    /// How long the lock after `level` earlier locks lasts: `passcodeLockout` × 2^level, at most a year.
    public func lockDuration(level: Int) -> TimeInterval {
        min(passcodeLockout * pow(2, Double(min(max(0, level), 30))), 365 * 86400)
    }

    /// The most wrong entries a guesser can make on one account within `window` seconds (from a fresh passcode),
    /// waiting out every lock: the bound the README reports.
    public func maximumWrongEntries(within window: TimeInterval) -> Int {
        var elapsed: TimeInterval = 0
        var entries = 0
        var level = 0
        while entries < passcodeMaxTotalFailures {
            let burst = min(passcodeMaxAttempts, passcodeMaxTotalFailures - entries)
            entries += burst
            guard entries < passcodeMaxTotalFailures else { break }
            elapsed += lockDuration(level: level)
            level += 1
            if elapsed >= window { break }
        }
        return entries
    }
}
