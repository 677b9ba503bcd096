import Foundation
@testable import Store
import XCTest

/// Account documents and the typed-identity migration step, for every backend (`StoreConformanceTests`).
extension StoreConformanceTests {
    var identityProtector: DataProtector {
        get throws {
            try DataProtector(
                identityKey: [UInt8](repeating: 7, count: 32), dataKey: [UInt8](repeating: 8, count: 32))
        }
    }

    /// An account as the untyped schema keyed it: `HMAC(UTO:number)`, the key also its legacy alias, and sealed
    /// personal data naming document `documentNumber`.
    func legacyAccount(number: String, documentNumber: String, protector: DataProtector) throws -> AccountRecord {
        let id = UUID()
        let personal = #"""
            {"surname":"S","givenNames":"G","birthDate":"1980-01-01","documentNumber":"\#(documentNumber)",\#
            "documentType":"I<","documentExpiry":"2034-12-31","issuingState":"UTO","nationality":"UTO","contact":{}}
            """#
        let key = try protector.legacyIdentityKey(issuingState: "UTO", identityNumber: number)
        return AccountRecord(
            id: id, tier: .basic, identityKey: key,
            sealedPersonalData: try protector.seal(Array(personal.utf8), context: id.uuidString), createdAt: t0,
            updatedAt: t1, legacyIdentityKey: key)
    }

    func testTypedIdentityMigrationStepReKeysWhatSealedDataProves() throws {
        let store = try migratedStore()
        let protector = try identityProtector
        let byDocument = try legacyAccount(number: "N19K27C55", documentNumber: "N19K27C55", protector: protector)
        let byPersonal = try legacyAccount(number: "P7734019", documentNumber: "L01X00T47", protector: protector)
        try store.transaction { tx in
            try tx.insertAccount(byDocument)
            try tx.insertAccount(byPersonal)
        }
        for _ in 0..<2 {  // idempotent
            try store.transaction { tx in try TypedIdentityMigration.apply(tx, protector: protector) }
        }
        try store.transaction { tx in
            let rekeyed = try XCTUnwrap(try tx.account(id: byDocument.id))
            XCTAssertEqual(
                rekeyed.identityKey,
                try protector.identityKey(issuingState: "UTO", kind: .documentNumber, number: "N19K27C55"))
            XCTAssertEqual(rekeyed.legacyIdentityKey, byDocument.identityKey, "the alias stays until a visit")
            XCTAssertEqual(try tx.account(legacyIdentityKey: byDocument.identityKey)?.id, byDocument.id)
            XCTAssertEqual(try tx.account(id: byPersonal.id), byPersonal, "nothing sealed proves a personal number")
            for account in [byDocument, byPersonal] {
                let documents = try tx.accountDocuments(accountID: account.id)
                XCTAssertEqual(documents.map(\.documentType), ["I"])
                XCTAssertEqual(documents.map(\.expiry), ["2034-12-31"])
                XCTAssertEqual(documents.map(\.firstVerifiedAt), [t0])
            }
        }
    }

    func testAccountDocumentsSaveReplaceAndDelete() throws {
        let store = try migratedStore()
        let account = makeAccount(3)
        let passport = AccountDocumentRecord(
            accountID: account.id, documentKey: [UInt8](repeating: 1, count: 32), documentType: "P",
            issuingState: "UTO", expiry: "2030-01-01", firstVerifiedAt: t1, lastVerifiedAt: t1)
        var card = passport
        (card.documentKey, card.documentType, card.firstVerifiedAt) = ([UInt8](repeating: 2, count: 32), "I", t0)
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.saveAccountDocument(passport)
            try tx.saveAccountDocument(card)
        }
        XCTAssertEqual(
            try store.transaction { tx in try tx.accountDocuments(accountID: account.id) }, [card, passport])
        var renewed = passport
        (renewed.expiry, renewed.lastVerifiedAt) = ("2035-01-01", t2)
        try store.transaction { tx in
            try tx.saveAccountDocument(renewed)
            try tx.deleteAccountDocument(accountID: account.id, documentKey: card.documentKey)
        }
        XCTAssertEqual(try store.transaction { tx in try tx.accountDocuments(accountID: account.id) }, [renewed])
        XCTAssertEqual(try store.transaction { tx in try tx.accountDocuments(accountID: UUID()) }, [])
    }
}
