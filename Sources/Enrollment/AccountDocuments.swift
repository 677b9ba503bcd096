import EnrollAPIModel
import Foundation
import Store

/// The documents an account lists (`GET /v1/accounts/{id}`, `documents`): every document of the holder's identity
/// that was verified for it, by type, issuing state and expiry, the number only as a keyed hash. A passport and an
/// ID card with one personal number are two documents of one account; a newer document of the same kind and state
/// (another number) takes the older one's place.
extension IdentityLifecycle {
    /// The document kind documents are compared by: the first letter of the MRZ document code (`P` passports; `I`,
    /// `A`, `C` identity cards and other official travel documents).
    static func documentKind(_ documentType: String) -> String {
        String(documentType.replacingOccurrences(of: "<", with: "").prefix(1)).uppercased()
    }

    /// The keyed hash of the document's number (`STATE:DOC:number`).
    static func documentKey(
        _ facts: DocumentFacts, protector: PersonalDataProtecting
    ) throws(EnrollmentError) -> [UInt8] {
        try protector.identityKey(
            canonical: DataProtector.canonicalIdentity(
                issuingState: facts.personal.issuingState, kind: .documentNumber,
                number: facts.personal.documentNumber))
    }

    /// What verifying a document did to the account's list.
    enum DocumentListing: Equatable {
        /// It was listed: its expiry and last verification are brought up to date.
        case known
        /// Another of the holder's documents: listed beside the others.
        case added
        /// It took the place of a listed document of the same kind and state (another number).
        case replacing
    }

    /// In `tx`, after the document was verified for `accountID` (registration, upgrade, re-verification, passcode
    /// reset): listed, or its listing brought up to date. A listed document of the same kind and state with another
    /// number is the one it replaces, and leaves the list.
    @discardableResult
    static func listDocument(
        _ tx: any StoreTransaction, accountID: UUID, facts: DocumentFacts, protector: PersonalDataProtecting,
        at: Date
    ) throws -> DocumentListing {
        let key = try documentKey(facts, protector: protector)
        let listed = try tx.accountDocuments(accountID: accountID)
        let type = facts.personal.documentType.replacingOccurrences(of: "<", with: "")
        let state = DocumentIdentity.normalisedState(facts.personal.issuingState)
        if var known = listed.first(where: { $0.documentKey == key }) {
            (known.expiry, known.lastVerifiedAt, known.documentType) = (facts.personal.documentExpiry, at, type)
            try tx.saveAccountDocument(known)
            return .known
        }
        var listing = DocumentListing.added
        for replaced in listed
        where replaced.issuingState == state && documentKind(replaced.documentType) == documentKind(type) {
            try tx.deleteAccountDocument(accountID: accountID, documentKey: replaced.documentKey)
            listing = .replacing
        }
        try tx.saveAccountDocument(
            AccountDocumentRecord(
                accountID: accountID, documentKey: key, documentType: type, issuingState: state,
                expiry: facts.personal.documentExpiry, firstVerifiedAt: at, lastVerifiedAt: at))
        return listing
    }

    /// Whether the read document replaces one the account lists (same kind and state, another number, expiring no
    /// earlier) rather than being another of the holder's documents. Without a list (a store migrated without its
    /// keys), the sealed document stands for it.
    static func replacesListedDocument(
        _ tx: any StoreTransaction, accountID: UUID, sealed: PersonalData, facts: DocumentFacts,
        protector: PersonalDataProtecting
    ) throws -> Bool {
        let key = try documentKey(facts, protector: protector)
        let type = documentKind(facts.personal.documentType)
        let state = DocumentIdentity.normalisedState(facts.personal.issuingState)
        var listed = try tx.accountDocuments(accountID: accountID).map {
            (key: $0.documentKey, kind: documentKind($0.documentType), state: $0.issuingState, expiry: $0.expiry)
        }
        if listed.isEmpty {
            listed = [
                (
                    key: try protector.identityKey(
                        canonical: DataProtector.canonicalIdentity(
                            issuingState: sealed.issuingState, kind: .documentNumber, number: sealed.documentNumber)),
                    kind: documentKind(sealed.documentType),
                    state: DocumentIdentity.normalisedState(sealed.issuingState),
                    expiry: sealed.documentExpiry
                )
            ]
        }
        guard !listed.contains(where: { $0.key == key }) else { return false }
        return listed.contains { $0.kind == type && $0.state == state && facts.personal.documentExpiry >= $0.expiry }
    }

    /// The account's documents as the API lists them.
    static func documentViews(_ records: [AccountDocumentRecord]) -> [AccountDocumentView] {
        records.map {
            AccountDocumentView(
                documentType: $0.documentType, issuingState: $0.issuingState, expiry: $0.expiry,
                numberHash: $0.documentKey.map { String(format: "%02x", $0) }.joined(),
                firstVerifiedAt: isoText($0.firstVerifiedAt), lastVerifiedAt: isoText($0.lastVerifiedAt))
        }
    }
}
