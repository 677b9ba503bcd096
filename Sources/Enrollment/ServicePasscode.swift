import EnrollAPIModel
import Foundation
import OpenSSLKit
import Store

/// The optional service passcode: exactly 4 digits, scrypt (N=2^15, r=8, p=1) with a 16-byte per-account salt,
/// compared in constant time; `passcodeMaxAttempts` consecutive wrong entries lock it for `passcodeLockout`.
/// A forgotten passcode is reset only through a card-and-face re-verification (purpose `passcode-reset`).
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
            return try Scrypt.deriveKey(password: Array(passcode.utf8), salt: salt, parameters: scryptParameters,
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
        return PasscodeRecord(accountID: accountID, salt: salt, hash: try derive(passcode, salt: salt),
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
        return PasscodeStatus(set: record?.enabled ?? false, enabled: policy.passcodeEnabled,
                              failedAttempts: lockOver ? 0 : record?.failedAttempts ?? 0,
                              lockedUntil: locked)
    }

    /// Sets (or changes) the passcode. Changing an enabled passcode needs the current one, which counts as an
    /// entry (wrong entries count towards the lock).
    public func setPasscode(accountID: UUID, passcode: String, current: String?,
                            actor: UsageActor) throws(EnrollmentError) -> PasscodeStatus {
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

    /// Turns the passcode off: with the current passcode, or by an operator at a counter.
    public func disablePasscode(accountID: UUID, current: String?,
                                actor: UsageActor) throws(EnrollmentError) -> PasscodeStatus {
        if !actor.isStaff {
            try requireCurrentPasscode(accountID: accountID, current: current, actor: actor, purpose: "disable")
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
    private func requireCurrentPasscode(accountID: UUID, current: String?, actor: UsageActor,
                                        purpose: String) throws(EnrollmentError) {
        let existing = try run { tx in try tx.passcode(accountID: accountID) }
        guard let existing, existing.enabled else { return }
        guard let current else {
            throw EnrollmentError(.passcodeRequired, "give the current passcode to \(purpose) it (forgotten: re-verify with card "
                                      + "and face, purpose passcode-reset)")
        }
        let check = try verifyPasscode(accountID: accountID, passcode: current, actor: actor)
        guard check.isOK else { throw Self.refusal(check) }
    }

    /// The refusal a wrong or locked entry means.
    public static func refusal(_ check: PasscodeCheck) -> EnrollmentError {
        if check.result == "locked" {
            return EnrollmentError(.passcodeLocked, "the passcode is locked after too many wrong entries until "
                                       + "\(check.unlocksAt ?? "later")")
        }
        return EnrollmentError(.passcodeWrong, "wrong passcode: \(check.attemptsLeft ?? 0) attempt(s) left")
    }

    /// Checks a passcode entry: ok (the count of wrong entries restarts), wrong (attempts left; the last one
    /// locks), or locked (until when) without even comparing.
    public func verifyPasscode(accountID: UUID, passcode: String,
                               actor: UsageActor) throws(EnrollmentError) -> PasscodeCheck {
        try requirePasscodesEnabled()
        let at = now()
        let policy = self.policy
        return try run { tx in
            guard let account = try tx.account(id: accountID) else { throw EnrollmentError.accountNotFound(accountID) }
            if account.status == .cancelled { throw EnrollmentError.accountCancelled }
            guard var record = try tx.passcode(accountID: accountID), record.enabled else {
                throw EnrollmentError(.passcodeNotSet, "the account has no passcode")
            }
            let iso = ISO8601DateFormatter()
            if let until = record.lockedUntil {
                if until > at {
                    try UsageChain.append(tx, at: at, accountID: accountID, event: "passcode-verify", actor: actor,
                                          outcome: "locked")
                    return PasscodeCheck(result: "locked", attemptsLeft: 0, unlocksAt: iso.string(from: until))
                }
                record.lockedUntil = nil
                record.failedAttempts = 0
            }
            let entered = (try? Self.validate(passcode)) == nil ? [] : try Self.derive(passcode, salt: record.salt)
            record.updatedAt = at
            if !entered.isEmpty && MessageAuthentication.constantTimeEquals(entered, record.hash) {
                record.failedAttempts = 0
                try tx.savePasscode(record)
                try UsageChain.append(tx, at: at, accountID: accountID, event: "passcode-verify", actor: actor)
                return PasscodeCheck(result: "ok")
            }
            record.failedAttempts += 1
            let left = max(0, policy.passcodeMaxAttempts - record.failedAttempts)
            var unlocksAt: String?
            if left == 0 {
                let until = at.addingTimeInterval(policy.passcodeLockout)
                record.lockedUntil = until
                unlocksAt = iso.string(from: until)
            }
            try tx.savePasscode(record)
            try UsageChain.append(tx, at: at, accountID: accountID, event: "passcode-verify", actor: actor,
                                  outcome: "wrong", detail: "\(record.failedAttempts) consecutive")
            if let unlocksAt {
                try UsageChain.append(tx, at: at, accountID: accountID, event: "passcode-locked", actor: actor,
                                      outcome: "locked", detail: "until \(unlocksAt)")
            }
            return PasscodeCheck(result: "wrong", attemptsLeft: left, unlocksAt: unlocksAt)
        }
    }

    /// After a card-and-face re-verification (purpose `passcode-reset`): sets the new passcode, or, without one,
    /// clears the lock and the count of wrong entries.
    static func resetPasscode(_ tx: any StoreTransaction, accountID: UUID, newPasscode: String?, actor: UsageActor,
                              enrollmentID: UUID, at: Date) throws {
        if let newPasscode {
            try tx.savePasscode(try newPasscodeRecord(newPasscode, accountID: accountID, at: at))
        } else if var record = try tx.passcode(accountID: accountID) {
            record.failedAttempts = 0
            record.lockedUntil = nil
            record.updatedAt = at
            try tx.savePasscode(record)
        }
        try UsageChain.append(tx, at: at, accountID: accountID, enrollmentID: enrollmentID, event: "passcode-reset",
                              actor: actor, detail: newPasscode == nil ? "unlocked" : "new passcode")
    }
}
