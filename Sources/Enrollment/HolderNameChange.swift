import EnrollAPIModel
import Foundation
import MRTD
import Store

/// A changed name (a surname after marriage, for example) accepted by an operator: the holder comparison refuses
/// it at a kiosk (`holder-mismatch`), so the holder brings the new document to a counter. The operator reads it
/// (genuine, valid, of the account's identity) and gives the reason (the certificate or decision seen); the new name
/// is accepted only when the birth date and sex still match the sealed record. The sealed record keeps the names it
/// had before; the usage log records the reason, never a name.
extension IdentityLifecycle {
    /// Replaces the account's sealed name with the name of the document `facts` describe (read and found genuine by
    /// the caller, its identity under the configured `[identity]` rules).
    /// Throws `holder-mismatch` when the birth date or sex differ, `holder-name-unchanged` when the names already
    /// match, `identity-mismatch` when the document is another identity's. Every answer is a usage record
    /// (`holder-name-changed`).
    public func approveHolderName(
        accountID: UUID, facts: DocumentFacts, reason: String, actor: UsageActor
    ) throws(EnrollmentError) {
        let at = now()
        do throws(EnrollmentError) {
            try acceptName(accountID: accountID, facts: facts, reason: reason, actor: actor, at: at)
        } catch {
            if error.kind != .accountNotFound {
                _ = try? write { tx throws(StoreError) in
                    try UsageChain.append(
                        tx, at: at, accountID: accountID, event: UsageEventKind.holderNameChanged.rawValue,
                        actor: actor, outcome: "refused", detail: error.code)
                }
            }
            throw error
        }
    }

    private func acceptName(
        accountID: UUID, facts: DocumentFacts, reason: String, actor: UsageActor, at: Date
    ) throws(EnrollmentError) {
        guard actor.isStaff else {
            throw EnrollmentError(.forbidden, "only an operator or admin approves a holder's changed name")
        }
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 200, !trimmed.contains(where: \.isNewline) else {
            throw EnrollmentError(
                .reasonRequired,
                "give the reason for the new name in one line of up to 200 characters (e.g. the marriage "
                    + "certificate seen)")
        }
        if facts.expiryDate < MRZDate.today(now: at) { throw EnrollmentError.documentExpired }
        let keys = try IdentityResolution.keys(facts, protector: protector)
        let protector = self.protector
        try run { tx in
            guard var account = try tx.account(id: accountID) else { throw EnrollmentError.accountNotFound(accountID) }
            if account.status == .cancelled { throw EnrollmentError.accountCancelled }
            // The account's typed key, or the untyped one a migrated store kept (the alias reaches an account only
            // for the sealed holder, whose name is what changed here; birth date and sex are compared below).
            guard account.identityKey == keys.typed || account.legacyIdentityKey == keys.legacy else {
                throw EnrollmentError(
                    .identityMismatch,
                    "the document read is not of this account's identity: read the holder's new document "
                        + "(with the same personal number)")
            }
            var personal = try Self.openPersonal(account, protector: protector)
            let differences = HolderComparison.differences(sealed: personal, document: facts.personal)
            let person = differences.filter { $0 != "surname" && $0 != "given names" }
            if !person.isEmpty {
                throw EnrollmentError(
                    .holderMismatch,
                    "the document's holder differs from the account's in \(person.joined(separator: ", ")): "
                        + "a new name is accepted only for the same birth date and sex; nothing was changed")
            }
            guard !differences.isEmpty else {
                throw EnrollmentError(
                    .holderNameUnchanged, "the document's name is already the account's: nothing to approve")
            }
            var names = personal.previousNames ?? []
            names.append(
                PreviousName(
                    surname: personal.surname, givenNames: personal.givenNames,
                    changedAt: ISO8601DateFormatter().string(from: at)))
            personal.previousNames = names
            personal.surname = facts.personal.surname
            personal.givenNames = facts.personal.givenNames
            account.sealedPersonalData = try Self.seal(personal, account: account, protector: protector)
            account.updatedAt = at
            try tx.updateAccount(account)
            try UsageChain.append(
                tx, at: at, accountID: accountID, event: UsageEventKind.holderNameChanged.rawValue, actor: actor,
                detail: trimmed)
        }
    }
}

/// A name the account's holder had before an operator accepted a changed one, kept sealed with the personal data.
public struct PreviousName: Codable, Sendable, Equatable {
    public var surname: String
    public var givenNames: String
    public var changedAt: String
}
