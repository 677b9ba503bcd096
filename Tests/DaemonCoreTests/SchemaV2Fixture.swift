import DaemonCore
import EnrollAPIModel
import Foundation
import MRTD
import VirtualCard
import XCTest

/// The holders of `Fixtures/schema-v2/`: a SQLite database (with its key files) written by enrolld at store schema
/// version 2, before identity keys were typed. Each holder's identity was keyed by a different rule of that code:
/// DG11's personal number, the TD1 optional data, the document number.
enum SchemaV2Fixture {
    /// An ID card with DG11 personal number `P7734019` (keyed `UTO:P7734019` then): a signing account.
    static let personalNumber = TestHolder(
        person: "John_Salley", documentNumber: "L01X00T47", birthDate: "800101",
        surname: "SALLEY", givenNames: "JOHN")
    static let personalNumberValue = "P7734019"
    /// An ID card whose TD1 optional data is `4401017734` (keyed `UTO:4401017734` then): a basic account.
    static let optionalData = TestHolder(
        person: "John_Savage", documentNumber: "M44Q91Z08", birthDate: "750505",
        surname: "SAVAGE", givenNames: "JOHN")
    static let optionalDataValue = "4401017734"
    /// An ID card without DG11 or optional data (keyed by its document number, `UTO:N19K27C55`): a signing account.
    static let documentNumber = TestHolder(
        person: "John_Shimkus", documentNumber: "N19K27C55", birthDate: "690909",
        surname: "SHIMKUS", givenNames: "JOHN")

    /// Puts `holder`'s card as the fixture personalised it on the bench's reader.
    static func insertCard(_ holder: TestHolder, on bench: InProcessDaemon) throws {
        let mrz = try holder.mrz
        var fields = mrz.fields
        if holder.documentNumber == optionalData.documentNumber { fields.optionalData = optionalDataValue }
        let card = try MRZ(encoding: fields, format: .td1)
        try bench.insertCard(holder) { personalisation in
            personalisation.mrz = card
            if holder.documentNumber == personalNumber.documentNumber {
                personalisation.dg11 = DG11(personalNumber: personalNumberValue)
            }
        }
    }

    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/schema-v2")
    }
}

/// Writes `Fixtures/schema-v2/` when `ENROLLD_WRITE_SCHEMA_FIXTURE=1` (otherwise skipped). It was run once, at the
/// commit that added it (store schema version 2), so the files are what that code wrote; run at a later commit it
/// would write that commit's schema instead, so do not run it again.
final class SchemaV2FixtureWriter: XCTestCase {
    func testWriteTheFixture() throws {
        try XCTSkipUnless(
            ProcessInfo.processInfo.environment["ENROLLD_WRITE_SCHEMA_FIXTURE"] == "1",
            "writes Fixtures/schema-v2 only when ENROLLD_WRITE_SCHEMA_FIXTURE=1")
        let bench = try InProcessDaemon()
        var accounts: [String: String] = [:]
        for (holder, signing) in [
            (SchemaV2Fixture.personalNumber, true), (SchemaV2Fixture.optionalData, false),
            (SchemaV2Fixture.documentNumber, true),
        ] {
            try SchemaV2Fixture.insertCard(holder, on: bench)
            let started = try bench.require(try bench.start(holder), 201, "start")
            let session = try bench.decode(EnrollmentView.self, started).id
            if signing { try bench.require(try bench.photo(session, of: holder.person), 200, "photo") }
            let done = try bench.require(
                try bench.complete(session, csr: signing ? try InProcessDaemon.makeCSR() : nil),
                200, "complete")
            accounts[holder.documentNumber] = try bench.decode(EnrollmentOutcome.self, done).accountID
        }
        let audit = try bench.decode(
            AuditReport.self,
            try bench.require(
                bench.call("POST", "/v1/audit/verify", as: .operator), 200, "audit"))
        XCTAssertTrue(audit.ok)

        let target = SchemaV2Fixture.directory
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.createDirectory(
            at: target.appendingPathComponent("keys"),
            withIntermediateDirectories: true)
        let state = URL(fileURLWithPath: bench.configuration.stateDirectory)
        _ = try InProcessDaemon.run(
            "/usr/bin/sqlite3",
            [
                state.appendingPathComponent("enrolld.db").path,
                "VACUUM INTO '\(target.appendingPathComponent("enrolld.db").path)'",
            ])
        for key in ["identity.key", "data.key"] {
            try FileManager.default.copyItem(
                at: state.appendingPathComponent("keys/\(key)"),
                to: target.appendingPathComponent("keys/\(key)"))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(accounts).write(to: target.appendingPathComponent("accounts.json"))
    }
}
