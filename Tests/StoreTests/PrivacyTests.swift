import Foundation
import Store
import XCTest

/// Nothing personal may be readable in the database files (DESIGN.md, security and privacy rules).
final class PrivacyTests: XCTestCase {
    func testDatabaseFilesHoldNoPersonalDataInClear() throws {
        let directory = try makeTemporaryDirectory(for: self)
        let protector = try DataProtector(stateDirectory: directory)
        let path = (directory as NSString).appendingPathComponent("enrolld.db")
        let store = try SQLiteStore(path: path, protector: protector)
        try store.migrate()

        let name = "CHAN Tai Man"
        let documentNumber = "K12345678"
        let identityNumber = "A1234563"
        let accountID = UUID()
        let personal = Array(#"{"name":"\#(name)","document":"\#(documentNumber)","birth":"1980-02-29"}"#.utf8)
        let account = AccountRecord(
            id: accountID, tier: .signing,
            identityKey: try protector.identityKey(issuingState: "HKG", kind: .personalNumber, number: identityNumber),
            sealedPersonalData: try protector.seal(personal, context: accountID.uuidString))
        let certificate = CertificateRecord(
            serial: "5EED", accountID: accountID, state: .issued,
            der: Array("subject CN=\(name), serialNumber=\(identityNumber)".utf8),
            notBefore: Date(), notAfter: Date().addingTimeInterval(86_400))
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.insertCertificate(certificate)
        }

        // Still readable through the store...
        let stored = try XCTUnwrap(
            try store.transaction { tx in
                try tx.account(
                    identityKey: try protector.identityKey(
                        issuingState: "hkg", kind: .personalNumber, number: identityNumber))
            })
        XCTAssertEqual(try protector.open(stored.sealedPersonalData, context: accountID.uuidString), personal)

        // ...but not in the files: the main file and the write-ahead log before a checkpoint, then after closing.
        try assertNoPersonalData(in: [path, path + "-wal"], [name, "Tai Man", documentNumber, identityNumber])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "-wal"), "the WAL was inspected")
        store.close()
        try assertNoPersonalData(in: [path, path + "-wal"], [name, "Tai Man", documentNumber, identityNumber])
    }

    private func assertNoPersonalData(
        in paths: [String], _ secrets: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        for path in paths where FileManager.default.fileExists(atPath: path) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for secret in secrets {
                for form in [secret, secret.uppercased(), secret.lowercased()] {
                    XCTAssertNil(bytes.range(of: Data(form.utf8)), "\(form) in \(path)", file: file, line: line)
                }
            }
        }
    }
}
