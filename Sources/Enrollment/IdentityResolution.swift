import EnrollAPIModel
import Foundation
import Store

/// How a read document reaches its account: by its typed identity key, or, on a store migrated from untyped keys,
/// by the key its identity had then (`TypedIdentityMigration` says which rows keep one).
enum IdentityResolution {
    /// The keyed hashes of a document's identity: typed (what accounts are keyed by now) and legacy (what a
    /// migrated account may still be found by).
    struct Keys: Sendable, Equatable {
        var typed: [UInt8]
        var legacy: [UInt8]
    }

    static func keys(_ facts: DocumentFacts, protector: PersonalDataProtecting) throws(EnrollmentError) -> Keys {
        Keys(
            typed: try protector.identityKey(canonical: facts.identity.canonical),
            legacy: try protector.identityKey(canonical: facts.legacyCanonicalIdentity))
    }

    /// In `tx`, the account `facts` reach. By the typed key first. Else by the legacy alias, but only when the
    /// card's holder is the sealed one (birth date, sex, name: `HolderComparison`): under the untyped rule one
    /// holder's document number could equal another's personal number, and such a stranger must not reach the
    /// account. A legacy match is re-keyed there and then: the typed key replaces the alias, with a usage record.
    /// A typed match drops an alias the account still carried.
    static func account(
        _ tx: any StoreTransaction, keys: Keys, facts: DocumentFacts, protector: PersonalDataProtecting,
        actor: UsageActor, enrollmentID: UUID?, at: Date
    ) throws -> AccountRecord? {
        if var account = try tx.account(identityKey: keys.typed) {
            if account.legacyIdentityKey != nil {
                account.legacyIdentityKey = nil
                try tx.updateAccount(account)
            }
            return account
        }
        guard var account = try tx.account(legacyIdentityKey: keys.legacy) else { return nil }
        let sealed = try IdentityLifecycle.openPersonal(account, protector: protector)
        guard HolderComparison.differences(sealed: sealed, document: facts.personal).isEmpty else { return nil }
        account.identityKey = keys.typed
        account.legacyIdentityKey = nil
        try tx.updateAccount(account)
        try UsageChain.append(
            tx, at: at, accountID: account.id, enrollmentID: enrollmentID,
            event: UsageEventKind.identityRekeyed.rawValue, actor: actor,
            detail: facts.identity.kind.rawValue)
        return account
    }
}
