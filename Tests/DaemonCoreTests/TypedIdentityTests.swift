import DaemonCore
import Enrollment
import EnrollAPIModel
import Foundation
import MRTD
import Store
import UnixHTTP
import VirtualCard
import XCTest

/// The typed identity (issue 16): an account is keyed by `STATE:PN:number` or `STATE:DOC:number`, so a document
/// number never reaches the account of someone whose personal number it equals; one personal number on several
/// documents reaches one account, which lists them; TD1 optional data is an identity only where a state's rule says.
final class TypedIdentityTests: XCTestCase {
    /// A card of `holder` with DG11 personal number `personalNumber` and TD1 optional data `optionalData`.
    private func insert(
        _ holder: TestHolder, personalNumber: String? = nil, optionalData: String? = nil, on bench: InProcessDaemon
    ) throws {
        var fields = try holder.mrz.fields
        if let optionalData { fields.optionalData = optionalData }
        let mrz = try MRZ(encoding: fields, format: holder.passport ? .td3 : .td1)
        try bench.insertCard(holder) { personalisation in
            personalisation.mrz = mrz
            if let personalNumber { personalisation.dg11 = DG11(personalNumber: personalNumber) }
        }
    }

    /// A session on the inserted card: started with `purpose`, then (with `signing`) face, liveness and a CSR.
    private func enroll(
        _ holder: TestHolder, purpose: String = "register", accountID: String? = nil, signing: Bool = false,
        on bench: InProcessDaemon
    ) throws -> HTTPResponse {
        let started = try bench.start(holder, purpose: purpose, accountID: accountID)
        guard started.status == 201 else { return started }
        let session = try bench.decode(EnrollmentView.self, started).id
        if signing {
            try bench.require(try bench.photo(session, of: holder.person), 200, "photo")
            try bench.require(try bench.liveness(session, of: holder.person).answer, 200, "liveness")
        }
        return try bench.complete(session, csr: signing ? try InProcessDaemon.makeCSR() : nil)
    }

    private func accountID(_ response: HTTPResponse, on bench: InProcessDaemon) throws -> String {
        try bench.decode(EnrollmentOutcome.self, try bench.require(response, 200, "complete")).accountID
    }

    func testOnesDocumentNumberEqualToAnothersPersonalNumberGivesTwoAccounts() throws {
        let bench = try InProcessDaemon()
        // A's card has no personal number: A is keyed by A's document number, UTO:DOC:K55T10R42.
        let first = TestHolder(
            person: "John_Salley", documentNumber: "K55T10R42", birthDate: "800101", surname: "SALLEY",
            givenNames: "JOHN")
        try insert(first, on: bench)
        let a = try accountID(try enroll(first, on: bench), on: bench)
        // B's personal number is the same text: UTO:PN:K55T10R42, another identity (the untyped key was one).
        let second = TestHolder(
            person: "John_Savage", documentNumber: "M20P33Q71", birthDate: "750505", surname: "SAVAGE",
            givenNames: "JOHN")
        try insert(second, personalNumber: "K55T10R42", on: bench)
        let b = try accountID(try enroll(second, on: bench), on: bench)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(try bench.accountView(a).surname, "SALLEY", "A's sealed data is A's")
        XCTAssertEqual(try bench.accountView(b).surname, "SAVAGE")

        // And the other way round: B's card reaches B's account, A's card A's.
        try insert(second, personalNumber: "K55T10R42", on: bench)
        let again = try bench.start(second)
        XCTAssertEqual(again.status, 409)
        XCTAssertEqual(bench.problem(again), "identity-already-enrolled")
        let upgradeB = try enroll(second, purpose: "upgrade", accountID: b, signing: true, on: bench)
        XCTAssertEqual(try accountID(upgradeB, on: bench), b)
        try insert(first, on: bench)
        let crossed = try bench.start(first, purpose: "upgrade", accountID: b)
        XCTAssertEqual(crossed.status, 403, "A's card does not belong to B's account: \(bench.problem(crossed))")
    }

    func testOnePersonalNumberOnAPassportAndAnIDCardGivesOneAccountListingBoth() throws {
        let bench = try InProcessDaemon()
        let card = TestHolder(
            person: "John_Shimkus", documentNumber: "C11D22E33", birthDate: "690909", surname: "SHIMKUS",
            givenNames: "JOHN")
        try insert(card, personalNumber: "6909091234", on: bench)
        let account = try accountID(try enroll(card, on: bench), on: bench)
        XCTAssertEqual(try bench.accountView(account).documents?.map(\.documentType), ["I"])

        var passport = card
        passport.passport = true
        passport.documentNumber = "PA7654321"
        passport.expiryDate = "351231"
        try insert(passport, personalNumber: "6909-091234", on: bench)
        let registered = try bench.start(passport)
        XCTAssertEqual(registered.status, 409, "no second account for the same personal number")
        XCTAssertEqual(bench.problem(registered), "identity-already-enrolled")
        let upgraded = try enroll(passport, purpose: "upgrade", accountID: account, signing: true, on: bench)
        XCTAssertEqual(try accountID(upgraded, on: bench), account)

        let view = try bench.accountView(account)
        XCTAssertEqual(view.tier, "signing")
        XCTAssertEqual(view.status, "normal", "a second kind of document replaces nothing")
        let documents = try XCTUnwrap(view.documents).sorted { $0.documentType < $1.documentType }
        XCTAssertEqual(documents.map(\.documentType), ["I", "P"])
        XCTAssertEqual(documents.map(\.issuingState), ["UTO", "UTO"])
        XCTAssertEqual(documents.map(\.expiry), ["2034-12-31", "2035-12-31"])
        XCTAssertEqual(Set(documents.map(\.numberHash)).count, 2)
        XCTAssertTrue(documents.allSatisfy { $0.numberHash.count == 64 })
        let body = String(decoding: try bench.call("GET", "/v1/accounts/\(account)", as: .operator).body, as: UTF8.self)
        XCTAssertFalse(body.contains("C11D22E33") || body.contains("PA7654321"), "no document number in clear")
        let events = try bench.usage(account).records.map(\.event)
        XCTAssertTrue(events.contains("document-added"), "\(events)")
        XCTAssertFalse(events.contains("document-replaced"), "\(events)")

        // Re-verifying with the ID card again lists nothing new.
        try insert(card, personalNumber: "6909091234", on: bench)
        try bench.require(try enroll(card, purpose: "upgrade", accountID: account, signing: true, on: bench), 200)
        XCTAssertEqual(try bench.accountView(account).documents?.count, 2)
    }

    /// Registers `holder`'s card (a basic account), then inserts a second card of the same holder with the same
    /// DG11 personal number and TD1 optional data but document number `secondNumber`, expiring on `expiry`.
    private func registerThenInsertSecondCard(
        _ holder: TestHolder, secondNumber: String, personalNumber: String? = nil, optionalData: String? = nil,
        expiry: String? = nil, on bench: InProcessDaemon
    ) throws -> (account: String, second: TestHolder) {
        try insert(holder, personalNumber: personalNumber, optionalData: optionalData, on: bench)
        let account = try accountID(try enroll(holder, on: bench), on: bench)
        var second = holder
        second.documentNumber = secondNumber
        if let expiry { second.expiryDate = expiry }
        try insert(second, personalNumber: personalNumber, optionalData: optionalData, on: bench)
        return (account, second)
    }

    private let savage = TestHolder(
        person: "John_Savage", documentNumber: "M44Q91Z08", birthDate: "750505", surname: "SAVAGE", givenNames: "JOHN")

    func testANewerDocumentOfTheSameKindReplacesTheListedOne() throws {
        let bench = try InProcessDaemon()
        let old = TestHolder(
            person: "John_Salley", documentNumber: "R10S20T30", birthDate: "800101", surname: "SALLEY",
            givenNames: "JOHN")
        let (account, renewed) = try registerThenInsertSecondCard(
            old, secondNumber: "R40S50T60", personalNumber: "8001011234", expiry: "361231", on: bench)
        try bench.require(try enroll(renewed, purpose: "upgrade", accountID: account, signing: true, on: bench), 200)
        let documents = try XCTUnwrap(try bench.accountView(account).documents)
        XCTAssertEqual(documents.map(\.expiry), ["2036-12-31"], "the renewed card took the old one's place")
        XCTAssertTrue(try bench.usage(account).records.map(\.event).contains("document-replaced"))
    }

    func testTD1OptionalDataIsNoIdentityByDefault() throws {
        let bench = try InProcessDaemon()
        // Another card, the same optional data: under the default rule each card is its own document identity.
        let (a, second) = try registerThenInsertSecondCard(
            savage, secondNumber: "M55R02A19", optionalData: "4401017734", on: bench)
        XCTAssertNotEqual(a, try accountID(try enroll(second, on: bench), on: bench))
    }

    func testTD1OptionalDataIsTheIdentityWhereTheStatesRuleSaysSo() throws {
        let bench = try InProcessDaemon(
            extraConfiguration: "[identity]\npersonal_number_by_state = UTO:td1-optional1\n")
        let (account, second) = try registerThenInsertSecondCard(
            savage, secondNumber: "M55R02A19", optionalData: "4401017734", on: bench)
        let refused = try bench.start(second)
        XCTAssertEqual(refused.status, 409, "the optional data is UTO's personal number: \(bench.problem(refused))")
        XCTAssertEqual(bench.problem(refused), "identity-already-enrolled")
        // A card without optional data is still keyed by its document number.
        var third = savage
        third.documentNumber = "M66S13B20"
        try insert(third, on: bench)
        XCTAssertNotEqual(try accountID(try enroll(third, on: bench), on: bench), account)
    }

    func testIdentityRulesComeFromConfiguration() throws {
        let configuration = try Configuration.parse(
            "[identity]\npersonal_number = none\npersonal_number_by_state = D<<:td1-optional2, uto:dg11\n")
        XCTAssertEqual(configuration.identityRules.defaultSource, PersonalNumberSource.none)
        XCTAssertEqual(configuration.identityRules.source(for: "D<<"), .td1Optional2)
        XCTAssertEqual(configuration.identityRules.source(for: "UTO"), .dg11)
        XCTAssertEqual(configuration.identityRules.source(for: "ZZZ"), PersonalNumberSource.none)
        for bad in ["UTO", "UTO:td3", "UTOPIA:dg11", "U1O:dg11"] {
            XCTAssertThrowsError(
                try Configuration.parse("[identity]\npersonal_number_by_state = \(bad)\n"), bad)
        }
    }
}

/// `DocumentIdentity` from a chip's data groups, rule by rule.
final class DocumentIdentityTests: XCTestCase {
    private func document(
        code: String = "I", format: MRZFormat = .td1, state: String = "UTO", number: String = "L01X00T47",
        optional: String = "", optional2: String = "", personalNumber: String? = nil
    ) throws -> DocumentData {
        let mrz = try MRZ(
            encoding: MRZFields(
                documentCode: code, issuingState: state, primaryIdentifier: "HOLDER", secondaryIdentifier: "TEST",
                documentNumber: number, nationality: "UTO", birthDate: "800101", sex: .female, expiryDate: "341231",
                optionalData: optional, optionalData2: format == .td1 ? optional2 : ""), format: format)
        var personalisation = EMRTDPersonalisation(mrz: mrz, portraits: [])
        if let personalNumber { personalisation.dg11 = DG11(personalNumber: personalNumber) }
        return try DocumentData(files: try personalisation.makeProfile().files)
    }

    private func identity(_ document: DocumentData, _ rules: IdentityRules = IdentityRules()) -> String {
        DocumentIdentity(document: document, rules: rules).canonical
    }

    func testDG11PersonalNumberIsThePersonsIdentityAndItsSeparatorsDoNotCount() throws {
        XCTAssertEqual(identity(try document(personalNumber: "7734-019 ")), "UTO:PN:7734019")
        XCTAssertEqual(
            identity(try document(code: "P", format: .td3, number: "PA7654321", personalNumber: "7734019")),
            "UTO:PN:7734019", "a passport of the same holder names the same identity")
        XCTAssertEqual(identity(try document(personalNumber: " - ")), "UTO:DOC:L01X00T47", "nothing left: no number")
    }

    func testTD1OptionalDataCountsOnlyUnderItsStatesRule() throws {
        let card = try document(optional: "4401017734", optional2: "99887766")
        XCTAssertEqual(identity(card), "UTO:DOC:L01X00T47")
        XCTAssertEqual(identity(card, IdentityRules(byState: ["UTO": .td1Optional1])), "UTO:PN:4401017734")
        XCTAssertEqual(identity(card, IdentityRules(byState: ["UTO": .td1Optional2])), "UTO:PN:99887766")
        XCTAssertEqual(
            identity(card, IdentityRules(byState: ["ZZZ": .td1Optional1])), "UTO:DOC:L01X00T47",
            "another state's rule")
        let both = try document(optional: "4401017734", personalNumber: "7734019")
        XCTAssertEqual(
            identity(both, IdentityRules(byState: ["UTO": .td1Optional1])), "UTO:PN:7734019", "DG11 comes first")
        XCTAssertEqual(identity(both, IdentityRules(defaultSource: .none)), "UTO:DOC:L01X00T47")
    }

    func testTheLegacyFormIsWhatTheUntypedCodeKeyed() throws {
        XCTAssertEqual(DocumentIdentity.legacyCanonical(document: try document(personalNumber: "P77")), "UTO:P77")
        XCTAssertEqual(
            DocumentIdentity.legacyCanonical(document: try document(optional: "4401017734")), "UTO:4401017734")
        XCTAssertEqual(DocumentIdentity.legacyCanonical(document: try document()), "UTO:L01X00T47")
    }
}
