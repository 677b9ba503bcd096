import DaemonCore
import EnrollAPIModel
import Foundation
import MRTD
import Store
import XCTest

/// The typed-identity migration on a database the previous schema wrote (`Fixtures/schema-v2`, untyped identity
/// keys): what it re-keys from sealed data, what it keeps as an alias until the holder's visit, and that the
/// migrated store enrolls, upgrades and still verifies its audit chain.
final class TypedIdentityMigrationTests: XCTestCase {
    private var accounts: [String: String] = [:]

    override func setUpWithError() throws {
        accounts = try JSONDecoder().decode(
            [String: String].self,
            from: Data(contentsOf: SchemaV2Fixture.directory.appendingPathComponent("accounts.json")))
    }

    private func record(_ documentNumber: String, in bench: InProcessDaemon) throws -> AccountRecord {
        let id = try XCTUnwrap(UUID(uuidString: try XCTUnwrap(accounts[documentNumber])))
        return try XCTUnwrap(try bench.store.transaction { tx in try tx.account(id: id) })
    }

    private func protector(of bench: InProcessDaemon) throws -> DataProtector {
        try DataProtector(stateDirectory: bench.configuration.stateDirectory)
    }

    func testMigrationReKeysDocumentNumberRowsAndKeepsTheOthersAsAliases() throws {
        let bench = try InProcessDaemon(stateFrom: SchemaV2Fixture.directory)
        let keys = try protector(of: bench)
        let version = try InProcessDaemon.run(
            "/usr/bin/sqlite3", [bench.configuration.stateDirectory + "/enrolld.db", "PRAGMA user_version"])
        // Every migration ran: the typed identity (4) and those after it (5: the outbox and contact codes;
        // 6: the verifier registry).
        XCTAssertEqual(version.trimmingCharacters(in: .whitespacesAndNewlines), "6")

        // Keyed by its document number then: provably so (the HMAC of the sealed number), so re-keyed now.
        let byDocument = try record(SchemaV2Fixture.documentNumber.documentNumber, in: bench)
        XCTAssertEqual(
            byDocument.identityKey,
            try keys.identityKey(issuingState: "UTO", kind: .documentNumber, number: "N19K27C55"))
        XCTAssertEqual(
            byDocument.legacyIdentityKey, try keys.legacyIdentityKey(issuingState: "UTO", identityNumber: "N19K27C55"))
        // Keyed by a personal number or optional data, which nothing sealed holds: the old key stays, as an alias.
        let byPersonal = try record(SchemaV2Fixture.personalNumber.documentNumber, in: bench)
        let legacyPersonal = try keys.legacyIdentityKey(
            issuingState: "UTO", identityNumber: SchemaV2Fixture.personalNumberValue)
        XCTAssertEqual(byPersonal.identityKey, legacyPersonal)
        XCTAssertEqual(byPersonal.legacyIdentityKey, legacyPersonal)
        let byOptional = try record(SchemaV2Fixture.optionalData.documentNumber, in: bench)
        XCTAssertEqual(
            byOptional.legacyIdentityKey,
            try keys.legacyIdentityKey(issuingState: "UTO", identityNumber: SchemaV2Fixture.optionalDataValue))
        // Every account lists the document it was registered with.
        for (number, id) in accounts {
            let documents = try XCTUnwrap(try bench.accountView(id).documents, number)
            XCTAssertEqual(documents.map(\.documentType), ["I"], number)
            XCTAssertEqual(
                documents.first?.numberHash,
                try keys.documentKey(issuingState: "UTO", documentNumber: number).map { String(format: "%02x", $0) }
                    .joined(), number)
        }
    }

    func testAMigratedStoreEnrollsUpgradesAndVerifiesItsAuditChain() throws {
        let bench = try InProcessDaemon(stateFrom: SchemaV2Fixture.directory)
        let keys = try protector(of: bench)

        // A new registration on the migrated store.
        let newcomer = TestHolder.random("John_Schneider")
        let (_, created) = try bench.enroll(newcomer, signing: false)
        XCTAssertEqual(created.tier, "basic")

        // The basic account keyed by TD1 optional data: by default that is no identity any more, so the card's typed
        // key is UTO:DOC:M44Q91Z08; the alias finds the account, the holder matches, the upgrade re-keys it.
        let optional = SchemaV2Fixture.optionalData
        let optionalID = try XCTUnwrap(accounts[optional.documentNumber])
        try SchemaV2Fixture.insertCard(optional, on: bench)
        let started = try bench.require(
            try bench.start(optional, purpose: "upgrade", accountID: optionalID), 201, "upgrade")
        let session = try bench.decode(EnrollmentView.self, started).id
        try bench.require(try bench.photo(session, of: optional.person), 200, "photo")
        try bench.require(try bench.liveness(session, of: optional.person).answer, 200, "liveness")
        let upgraded = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(try bench.complete(session, csr: try InProcessDaemon.makeCSR()), 200, "complete"))
        XCTAssertEqual(upgraded.accountID, optionalID)
        XCTAssertEqual(upgraded.tier, "signing")
        let rekeyed = try record(optional.documentNumber, in: bench)
        XCTAssertEqual(
            rekeyed.identityKey,
            try keys.identityKey(issuingState: "UTO", kind: .documentNumber, number: optional.documentNumber))
        XCTAssertNil(rekeyed.legacyIdentityKey, "the alias is gone once the typed key took over")
        XCTAssertTrue(try bench.usage(optionalID).records.map(\.event).contains("identity-rekeyed"))

        // The signing account keyed by DG11's personal number: a second registration is refused (the alias finds
        // it) and the visit re-keys it as UTO:PN:P7734019.
        let personal = SchemaV2Fixture.personalNumber
        try SchemaV2Fixture.insertCard(personal, on: bench)
        let again = try bench.start(personal)
        XCTAssertEqual(again.status, 409, bench.problem(again))
        XCTAssertEqual(
            try record(personal.documentNumber, in: bench).identityKey,
            try keys.identityKey(
                issuingState: "UTO", kind: .personalNumber, number: SchemaV2Fixture.personalNumberValue))
        // The account re-keyed from sealed data is found by its typed key.
        try SchemaV2Fixture.insertCard(SchemaV2Fixture.documentNumber, on: bench)
        XCTAssertEqual(try bench.start(SchemaV2Fixture.documentNumber).status, 409)

        // A stranger whose personal number is the text of a migrated holder's document number (one old key for
        // both): the alias matches, the holder does not, so the stranger gets an account of their own.
        let stranger = TestHolder(
            person: "John_Salley", documentNumber: "Z98Y76X54", birthDate: "910303", surname: "STRANGER",
            givenNames: "JANE")
        try bench.insertCard(stranger) { $0.dg11 = DG11(personalNumber: "N19K27C55") }
        let strangerSession = try bench.decode(
            EnrollmentView.self, try bench.require(try bench.start(stranger), 201, "stranger"))
        let strangerAccount = try bench.decode(
            EnrollmentOutcome.self, try bench.require(try bench.complete(strangerSession.id), 200, "stranger"))
        XCTAssertFalse(accounts.values.contains(strangerAccount.accountID))
        XCTAssertEqual(try bench.accountView(accounts["N19K27C55"] ?? "").surname, "SHIMKUS", "untouched")

        let audit = try bench.decode(
            AuditReport.self, try bench.require(bench.call("POST", "/v1/audit/verify", as: .operator), 200, "audit"))
        XCTAssertTrue(audit.ok, "\(audit)")
    }
}
