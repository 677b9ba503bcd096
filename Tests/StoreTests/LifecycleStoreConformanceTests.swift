import Foundation
import Store
import XCTest

/// Conformance for the identity-lifecycle tables: device bindings, usage records and their chain head,
/// passcodes, status history, guardian links.
extension StoreConformanceTests {
    func testDeviceBindingsKeepHistoryAndAllowOneActive() throws {
        let store = try migratedStore()
        let account = makeAccount(1)
        var first = DeviceBindingRecord(
            accountID: account.id, deviceID: "phone-a", publicKey: "PEM A", label: "A",
            boundAt: t0)
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.insertDeviceBinding(first)
        }
        let second = DeviceBindingRecord(
            accountID: account.id, deviceID: "phone-b", publicKey: "PEM B", label: "B",
            boundAt: t1)
        XCTAssertThrowsError(
            try store.transaction { tx in try tx.insertDeviceBinding(second) },
            "a second active binding is refused")
        first.unboundAt = t1
        first.unbindReason = "superseded"
        try store.transaction { tx in
            try tx.updateDeviceBinding(first)
            try tx.insertDeviceBinding(second)
        }
        XCTAssertEqual(try store.transaction { tx in try tx.deviceBindings(accountID: account.id) }, [first, second])
        XCTAssertThrowsError(
            try store.transaction { tx in
                try tx.insertDeviceBinding(
                    DeviceBindingRecord(
                        accountID: UUID(), deviceID: "x", publicKey: "", label: "",
                        boundAt: t0))
            }
        ) { error in
            guard case .notFound = error as? StoreError else { return XCTFail("\(error)") }
        }
    }

    func testUsageRecordsQueryByAccountTimeAndPage() throws {
        let store = try migratedStore()
        let account = makeAccount(1)
        let other = makeAccount(2)
        let session = EnrollmentRecord(
            purpose: .register, state: .completed, accountID: account.id, reader: "r",
            callerUID: 7, createdAt: t0, updatedAt: t0)
        func record(_ sequence: Int64, _ accountID: UUID?, _ enrollmentID: UUID?, _ at: Date) -> UsageRecord {
            UsageRecord(
                sequence: sequence, at: at, accountID: accountID, enrollmentID: enrollmentID,
                event: "e\(sequence)", channel: "kiosk-1", actorRole: "kiosk", actorUID: 7, outcome: "ok",
                detail: "", previousHash: [UInt8](repeating: UInt8(sequence), count: 32),
                hash: [UInt8](repeating: UInt8(sequence + 1), count: 32))
        }
        let records = [
            record(1, nil, session.id, t0), record(2, account.id, nil, t0), record(3, other.id, nil, t1),
            record(4, account.id, nil, t1),
        ]
        try store.transaction { tx in
            try tx.insertAccount(account)
            try tx.insertAccount(other)
            try tx.saveEnrollment(session)
            for record in records { try tx.appendUsageRecord(record) }
            try tx.setUsageChainHead(sequence: 4, hash: records[3].hash)
        }
        try store.transaction { tx in
            XCTAssertEqual(try tx.lastUsageRecord(), records[3])
            XCTAssertEqual(
                try tx.usageRecords(UsageQuery(accountID: account.id)), [records[0], records[1], records[3]])
            XCTAssertEqual(try tx.usageRecords(UsageQuery(accountID: account.id, since: t1)), [records[3]])
            XCTAssertEqual(try tx.usageRecords(UsageQuery(accountID: account.id, until: t1)), [records[0], records[1]])
            XCTAssertEqual(try tx.usageRecords(UsageQuery(afterSequence: 1, limit: 2)), [records[1], records[2]])
            let head = try XCTUnwrap(try tx.usageChainHead())
            XCTAssertEqual(head.sequence, 4)
            XCTAssertEqual(head.hash, records[3].hash)
            XCTAssertThrowsError(try tx.appendUsageRecord(records[0]), "a sequence number is used once")
        }
    }

    func testPasscodeStatusHistoryAndGuardianLinkRoundTrip() throws {
        let store = try migratedStore()
        let minor = makeAccount(1)
        let guardian = makeAccount(2)
        var passcode = PasscodeRecord(
            accountID: minor.id, salt: [1, 2], hash: [3, 4], parameters: "scrypt:32768:8:1",
            updatedAt: t0)
        let change = StatusChangeRecord(
            accountID: minor.id, from: .normal, to: .expired, reason: "document-expired",
            actorRole: "system", actorUID: 0, channel: "system", at: t1)
        let link = GuardianLinkRecord(
            accountID: minor.id, guardianAccountID: guardian.id, enrollmentID: UUID(),
            createdAt: t0)
        try store.transaction { tx in
            try tx.insertAccount(minor)
            try tx.insertAccount(guardian)
            try tx.savePasscode(passcode)
            try tx.appendStatusChange(change)
            try tx.saveGuardianLink(link)
        }
        passcode.failedAttempts = 5
        passcode.lockedUntil = t2
        try store.transaction { tx in try tx.savePasscode(passcode) }
        try store.transaction { tx in
            XCTAssertEqual(try tx.passcode(accountID: minor.id), passcode)
            XCTAssertNil(try tx.passcode(accountID: guardian.id))
            XCTAssertEqual(try tx.statusHistory(accountID: minor.id), [change])
            XCTAssertEqual(try tx.guardianLink(accountID: minor.id), link)
            XCTAssertNil(try tx.guardianLink(accountID: guardian.id))
        }
    }
}
