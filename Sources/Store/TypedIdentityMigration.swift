import Foundation

/// The part of the typed-identity migration (SQLite version 4, PostgreSQL version 5) that needs the keys: SQL alone
/// cannot compute an HMAC, so it runs in the migration's own transaction, after its SQL, when the store has a
/// `DataProtector`.
///
/// What it can re-key: an old key is `HMAC(STATE:NUMBER)`, one-way, so a row is re-keyed only from what its sealed
/// personal data holds, which is the issuing state and the document number (not DG11's personal number, not the
/// TD1 optional data). A row whose old key is the HMAC of `STATE:documentNumber` was keyed by its document number
/// and gets the typed key `STATE:DOC:documentNumber` now. Every other row (keyed by a personal number or optional
/// data) keeps its old key, as `legacy_identity_key` and as its identity key, until the holder's next visit: the
/// card then gives both the typed key and the old one, the old one finds the row, and the typed key replaces it
/// (`IdentityResolution` in Enrollment). Each account also gets its current document listed.
public enum TypedIdentityMigration {
    /// The fields of the sealed personal data this step reads (a subset of Enrollment's `PersonalData`).
    struct SealedDocument: Decodable {
        var documentNumber: String
        var documentType: String
        var documentExpiry: String
        var issuingState: String
    }

    /// Re-keys what it can and lists each account's document. Rows whose sealed data does not open (another data
    /// key) are left with their alias: nothing is lost, the next visit re-keys them.
    public static func apply(_ tx: any StoreTransaction, protector: DataProtector) throws(StoreError) {
        for var account in try tx.accounts(status: nil) {
            guard let legacy = account.legacyIdentityKey, account.identityKey == legacy else { continue }
            guard let sealed = try? protector.open(account.sealedPersonalData, context: account.id.uuidString),
                let document = try? JSONDecoder().decode(SealedDocument.self, from: Data(sealed))
            else { continue }
            let byDocument = try protector.legacyIdentityKey(
                issuingState: document.issuingState, identityNumber: document.documentNumber)
            if byDocument == legacy {
                account.identityKey = try protector.identityKey(
                    issuingState: document.issuingState, kind: .documentNumber, number: document.documentNumber)
                try tx.updateAccount(account)
            }
            if try tx.accountDocuments(accountID: account.id).isEmpty {
                try tx.saveAccountDocument(
                    AccountDocumentRecord(
                        accountID: account.id,
                        documentKey: try protector.documentKey(
                            issuingState: document.issuingState, documentNumber: document.documentNumber),
                        documentType: document.documentType.replacingOccurrences(of: "<", with: ""),
                        issuingState: document.issuingState, expiry: document.documentExpiry,
                        firstVerifiedAt: account.createdAt, lastVerifiedAt: account.updatedAt))
            }
        }
    }
}
