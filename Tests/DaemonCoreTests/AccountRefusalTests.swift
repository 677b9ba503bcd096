import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// What the account routes refuse: unknown accounts, holder proofs that prove nothing, device, contact, status and
/// passcode changes that are malformed or not allowed, queries out of range, and a failing store.
final class AccountRefusalTests: XCTestCase {
    static let account = "GET /v1/accounts/{id}"
    static let devices = "POST /v1/accounts/{id}/devices"
    static let unbind = "DELETE /v1/accounts/{id}/devices/{device}"
    static let contact = "PUT /v1/accounts/{id}/contact"
    static let status = "POST /v1/accounts/{id}/status"
    static let holderName = "POST /v1/accounts/{id}/holder-name"
    static let usage = "GET /v1/accounts/{id}/usage"
    static let setPasscode = "POST /v1/accounts/{id}/passcode"
    static let disablePasscode = "DELETE /v1/accounts/{id}/passcode"
    static let verifyPasscode = "POST /v1/accounts/{id}/passcode/verify"
    static let revoke = "POST /v1/certificates/{serial}/revoke"
    static let lookup = "POST /v1/accounts/lookup"

    /// A route of `{id}` for an account no one has, as an operator: `account-not-found`.
    static func unknownAccount(_ route: String, body: (@Sendable () throws -> any Encodable)? = nil) -> Refusal {
        let (method, path) = RoleAndRequestRefusalTests.path(route)
        return Refusal(route, .accountNotFound, "an account no one has") { b in
            if let body { return try b.daemon.call(method, path, json: try body(), as: .operator) }
            return b.daemon.call(method, path, as: .operator)
        }
    }

    static let unknownAccounts: [Refusal] = [
        unknownAccount("GET /v1/accounts/{id}"),
        unknownAccount("GET /v1/accounts/{id}/certificates"),
        unknownAccount("GET /v1/accounts/{id}/devices"),
        unknownAccount(devices) { DeviceBindBody(deviceId: "phone-b", publicKey: try InProcessDaemon.makeDeviceKey()) },
        unknownAccount(unbind),
        unknownAccount(contact) { ["contact": ["phone": "+41790000001"]] },
        unknownAccount("GET /v1/accounts/{id}/status-history"),
        unknownAccount(usage),
        unknownAccount("GET /v1/accounts/{id}/passcode"),
        unknownAccount(setPasscode) { PasscodeBody(passcode: "1234") },
        unknownAccount(disablePasscode),
        unknownAccount(verifyPasscode) { PasscodeBody(passcode: "1234") },
        unknownAccount(status) { StatusChangeBody(status: "invalid", reason: "lost") },
    ]

    static let holderProofs: [Refusal] = [
        Refusal(account, .holderProofFailed, "X-Enrolld-Enrollment of a session that never was") { b in
            b.daemon.call(
                "GET", "/v1/accounts/\(try b.accountID)",
                headers: [("X-Enrolld-Enrollment", UUID().uuidString)])
        },
        Refusal(account, .holderProofFailed, "X-Enrolld-Enrollment of another account's session") { b in
            b.daemon.call(
                "GET", "/v1/accounts/\(try b.accountID)",
                headers: [("X-Enrolld-Enrollment", try b.plainAccount.outcome.enrollmentID)])
        },
        Refusal(account, .holderProofFailed, "X-Enrolld-Enrollment of a session another kiosk ran") { b in
            let outcome = try b.account.outcome
            return b.daemon.call(
                "GET", "/v1/accounts/\(outcome.accountID)", as: .otherKiosk,
                headers: [("X-Enrolld-Enrollment", outcome.enrollmentID)])
        },
        Refusal(account, .holderProofFailed, "X-Enrolld-Enrollment of a session still open") { b in
            let holder = try b.account.holder
            let session = try b.daemon.openSession(holder, purpose: "upgrade", accountID: try b.accountID)
            return b.daemon.call("GET", "/v1/accounts/\(try b.accountID)", headers: [("X-Enrolld-Enrollment", session)])
        },
        Refusal(account, .invalidID, "X-Enrolld-Enrollment that is not a UUID") { b in
            b.daemon.call("GET", "/v1/accounts/\(try b.accountID)", headers: [("X-Enrolld-Enrollment", "yesterday")])
        },
        Refusal(account, .holderProofFailed, "X-Enrolld-Passcode wrong") { b in
            b.daemon.call("GET", "/v1/accounts/\(try b.accountID)", headers: [("X-Enrolld-Passcode", "0000")])
        },
        Refusal(account, .holderProofFailed, "X-Enrolld-Passcode of a locked passcode") { b in
            b.daemon.call(
                "GET", "/v1/accounts/\(try b.lockedAccount)",
                headers: [("X-Enrolld-Passcode", RefusalBench.passcode)])
        },
        Refusal(account, .holderProofFailed, "X-Enrolld-Passcode for an account without a passcode") { b in
            b.daemon.call(
                "GET", "/v1/accounts/\(try b.plainAccount.outcome.accountID)",
                headers: [("X-Enrolld-Passcode", "1234")])
        },
        Refusal(
            account, .passcodeDisabled, "X-Enrolld-Passcode where passcodes are turned off",
            on: .passcodesOff
        ) { b in
            b.daemon.call(
                "GET", "/v1/accounts/\(try b.plainAccount.outcome.accountID)",
                headers: [("X-Enrolld-Passcode", "1234")])
        },
        Refusal(account, .invalidChannel, "X-Enrolld-Channel with a quote, beside a passcode") { b in
            b.daemon.call(
                "GET", "/v1/accounts/\(try b.accountID)",
                headers: [("X-Enrolld-Passcode", RefusalBench.passcode), ("X-Enrolld-Channel", "k\"1")])
        },
        Refusal(account, .personalDataUnreadable, "sealed personal data that no longer opens") { b in
            let (_, outcome) = try b.daemon.newAccount("John_Savage", signing: false)
            try b.daemon.sql("UPDATE accounts SET sealed = randomblob(80) WHERE id = '\(outcome.accountID)'")
            return b.daemon.call("GET", "/v1/accounts/\(outcome.accountID)", as: .operator)
        },
        Refusal(account, .storageError, "the database failing") { b in
            let id = try b.accountID
            try b.daemon.store.fail(true)
            defer { try? b.daemon.store.fail(false) }
            return b.daemon.call("GET", "/v1/accounts/\(id)", as: .operator)
        },
        Refusal(account, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            b.daemon.call("GET", "/v1/accounts/\(UUID().uuidString)", as: .operator)
        },
        Refusal(account, .enrollmentUnavailable, "no CA set up, a kiosk with a passcode", on: .noCA) { b in
            b.daemon.call("GET", "/v1/accounts/\(UUID().uuidString)", headers: [("X-Enrolld-Passcode", "1234")])
        },
    ]

    static func bind(
        _ b: RefusalBench, _ body: DeviceBindBody, account: String? = nil,
        headers: [(String, String)] = []
    ) throws -> HTTPResponse {
        try b.post("/v1/accounts/\(try account ?? b.accountID)/devices", body, as: .operator, headers: headers)
    }

    static let deviceChanges: [Refusal] = [
        Refusal(devices, .invalidDeviceID, "a device id of 129 characters") { b in
            try bind(
                b,
                DeviceBindBody(
                    deviceId: String(repeating: "a", count: 129),
                    publicKey: try InProcessDaemon.makeDeviceKey()))
        },
        Refusal(devices, .invalidDeviceLabel, "a label of 101 characters") { b in
            try bind(
                b,
                DeviceBindBody(
                    deviceId: "phone-b", publicKey: try InProcessDaemon.makeDeviceKey(),
                    label: String(repeating: "l", count: 101)))
        },
        Refusal(devices, .invalidDeviceKey, "a certificate instead of a public key") { b in
            try bind(b, DeviceBindBody(deviceId: "phone-b", publicKey: try XCTUnwrap(b.account.outcome.certificatePEM)))
        },
        Refusal(devices, .accountCancelled, "binding to a cancelled account") { b in
            try bind(
                b, DeviceBindBody(deviceId: "phone-b", publicKey: try InProcessDaemon.makeDeviceKey()),
                account: try b.cancelledAccount.outcome.accountID)
        },
        Refusal(devices, .invalidChannel, "an empty X-Enrolld-Channel") { b in
            try bind(
                b, DeviceBindBody(deviceId: "phone-b", publicKey: try InProcessDaemon.makeDeviceKey()),
                headers: [("X-Enrolld-Channel", "")])
        },
        Refusal(unbind, .holderProofRequired, "a kiosk without passcode or session") { b in
            b.daemon.call("DELETE", "/v1/accounts/\(try b.accountID)/devices/phone-a")
        },
        Refusal(unbind, .holderProofFailed, "a kiosk with a wrong passcode") { b in
            try b.daemon.call(
                "DELETE", "/v1/accounts/\(try b.accountID)/devices/phone-a",
                json: DeviceUnbindBody(passcode: "0000"))
        },
        Refusal(unbind, .holderProofFailed, "a kiosk with a locked passcode") { b in
            try b.daemon.call(
                "DELETE", "/v1/accounts/\(try b.lockedAccount)/devices/phone-a",
                json: DeviceUnbindBody(passcode: RefusalBench.passcode))
        },
        Refusal(unbind, .holderProofFailed, "an enrollmentId of another account's session") { b in
            try b.daemon.call(
                "DELETE", "/v1/accounts/\(try b.accountID)/devices/phone-a",
                json: DeviceUnbindBody(enrollmentId: try b.plainAccount.outcome.enrollmentID))
        },
        Refusal(unbind, .holderProofFailed, "an enrollmentId another kiosk ran") { b in
            let outcome = try b.account.outcome
            return try b.daemon.call(
                "DELETE", "/v1/accounts/\(outcome.accountID)/devices/phone-a",
                json: DeviceUnbindBody(enrollmentId: outcome.enrollmentID), as: .otherKiosk)
        },
        Refusal(unbind, .invalidID, "an enrollmentId that is not a UUID") { b in
            try b.daemon.call(
                "DELETE", "/v1/accounts/\(try b.accountID)/devices/phone-a",
                json: DeviceUnbindBody(enrollmentId: "last-tuesday"))
        },
        Refusal(unbind, .deviceNotBound, "a device never bound") { b in
            b.daemon.call("DELETE", "/v1/accounts/\(try b.accountID)/devices/phone-q", as: .operator)
        },
        Refusal(unbind, .invalidChannel, "an X-Enrolld-Channel with a semicolon") { b in
            b.daemon.call(
                "DELETE", "/v1/accounts/\(try b.accountID)/devices/phone-a", as: .operator,
                headers: [("X-Enrolld-Channel", "a;b")])
        },
        Refusal(contact, .invalidContact, "eleven contact fields") { b in
            let fields = Dictionary(uniqueKeysWithValues: (0..<11).map { ("field\($0)", "x") })
            return try b.daemon.call(
                "PUT", "/v1/accounts/\(try b.accountID)/contact", json: ["contact": fields],
                as: .operator)
        },
        Refusal(contact, .invalidContact, "a value of 201 characters") { b in
            try b.daemon.call(
                "PUT", "/v1/accounts/\(try b.accountID)/contact",
                json: ["contact": ["note": String(repeating: "n", count: 201)]], as: .operator)
        },
        Refusal(contact, .invalidBody, "contact as a string") { b in
            try b.daemon.call(
                "PUT", "/v1/accounts/\(try b.accountID)/contact", json: ["contact": "phone"],
                as: .operator)
        },
        Refusal(contact, .accountCancelled, "a cancelled account") { b in
            try b.daemon.call(
                "PUT", "/v1/accounts/\(try b.cancelledAccount.outcome.accountID)/contact",
                json: ["contact": ["phone": "+41790000001"]], as: .operator)
        },
        Refusal(contact, .invalidChannel, "an X-Enrolld-Channel of a space") { b in
            try b.daemon.call(
                "PUT", "/v1/accounts/\(try b.accountID)/contact", json: ["contact": ["phone": "+41790000001"]],
                as: .operator, headers: [("X-Enrolld-Channel", " ")])
        },
    ]

    static func setStatus(
        _ b: RefusalBench, _ body: StatusChangeBody, account: String? = nil,
        headers: [(String, String)] = []
    ) throws -> HTTPResponse {
        try b.post(
            "/v1/accounts/\(try account ?? b.plainAccount.outcome.accountID)/status", body, as: .operator,
            headers: headers)
    }

    static let statusChanges: [Refusal] = [
        Refusal(status, .invalidStatus, "normal, which only a re-verification sets") { b in
            try setStatus(b, StatusChangeBody(status: "normal", reason: "found again"))
        },
        Refusal(status, .invalidStatus, "expired, which follows the document") { b in
            try setStatus(b, StatusChangeBody(status: "expired", reason: "old"))
        },
        Refusal(status, .invalidStatus, "a status that is none") { b in
            try setStatus(b, StatusChangeBody(status: "frozen", reason: "x"))
        },
        Refusal(status, .reasonRequired, "an empty reason") { b in
            try setStatus(b, StatusChangeBody(status: "invalid", reason: "  "))
        },
        Refusal(status, .reasonRequired, "a reason of 201 characters") { b in
            try setStatus(b, StatusChangeBody(status: "invalid", reason: String(repeating: "r", count: 201)))
        },
        Refusal(status, .accountCancelled, "a cancelled account, which stays cancelled") { b in
            try setStatus(
                b, StatusChangeBody(status: "invalid", reason: "mistake"),
                account: try b.cancelledAccount.outcome.accountID)
        },
        Refusal(status, .invalidChannel, "an X-Enrolld-Channel with a space") { b in
            try setStatus(
                b, StatusChangeBody(status: "invalid", reason: "lost"),
                headers: [("X-Enrolld-Channel", "a b")])
        },
        Refusal(holderName, .holderNameUnchanged, "the account's own document, whose name is the account's") { b in
            let holder = try b.account.holder
            try b.daemon.insertCard(holder)
            return try b.daemon.call(
                "POST", "/v1/accounts/\(try b.accountID)/holder-name",
                json: HolderNameChangeBody(
                    reader: InProcessDaemon.reader, accessKey: holder.accessKey, reason: "marriage certificate seen"),
                as: .operator)
        },
        Refusal(holderName, .reasonRequired, "a reason of two lines") { b in
            let holder = try b.account.holder
            try b.daemon.insertCard(holder)
            return try b.daemon.call(
                "POST", "/v1/accounts/\(try b.accountID)/holder-name",
                json: HolderNameChangeBody(
                    reader: InProcessDaemon.reader, accessKey: holder.accessKey, reason: "seen\nby me"),
                as: .operator)
        },
    ]

    static func usageQuery(_ b: RefusalBench, _ query: [(name: String, value: String)]) throws -> HTTPResponse {
        b.daemon.call("GET", "/v1/accounts/\(try b.accountID)/usage", as: .operator, query: query)
    }

    static let usageQueries: [Refusal] = [
        Refusal(usage, .invalidTime, "since that is no time") { b in
            try usageQuery(b, [("since", "yesterday")])
        },
        Refusal(usage, .invalidTime, "until with a month 13") { b in
            try usageQuery(b, [("until", "2026-13-01")])
        },
        Refusal(usage, .invalidLimit, "limit 0") { b in
            try usageQuery(b, [("limit", "0")])
        },
        Refusal(usage, .invalidLimit, "limit 1001") { b in
            try usageQuery(b, [("limit", "1001")])
        },
        Refusal(usage, .invalidLimit, "limit ten") { b in
            try usageQuery(b, [("limit", "ten")])
        },
        Refusal(usage, .invalidAfter, "after -1") { b in
            try usageQuery(b, [("after", "-1")])
        },
        Refusal(usage, .invalidAfter, "after that is no number") { b in
            try usageQuery(b, [("after", "x")])
        },
    ]

    static let passcodes: [Refusal] = [
        Refusal(setPasscode, .invalidBody, "no passcode field") { b in
            try b.post("/v1/accounts/\(try b.accountID)/passcode", PasscodeBody(), as: .operator)
        },
        Refusal(setPasscode, .invalidPasscode, "letters") { b in
            try b.post(
                "/v1/accounts/\(try b.plainAccount.outcome.accountID)/passcode", PasscodeBody(passcode: "12ab"),
                as: .operator)
        },
        Refusal(setPasscode, .invalidPasscode, "five digits") { b in
            try b.post(
                "/v1/accounts/\(try b.plainAccount.outcome.accountID)/passcode", PasscodeBody(passcode: "12345"),
                as: .operator)
        },
        Refusal(setPasscode, .passcodeRequired, "changing an enabled passcode without the current one") { b in
            try b.post("/v1/accounts/\(try b.accountID)/passcode", PasscodeBody(passcode: "1111"), as: .operator)
        },
        Refusal(setPasscode, .passcodeWrong, "changing it with a wrong current one") { b in
            try b.post(
                "/v1/accounts/\(try b.accountID)/passcode",
                PasscodeBody(passcode: "1111", currentPasscode: "0000"), as: .operator)
        },
        Refusal(setPasscode, .passcodeLocked, "changing a locked passcode") { b in
            try b.post(
                "/v1/accounts/\(try b.lockedAccount)/passcode",
                PasscodeBody(passcode: "1111", currentPasscode: RefusalBench.passcode), as: .operator)
        },
        Refusal(setPasscode, .accountCancelled, "a cancelled account") { b in
            try b.post(
                "/v1/accounts/\(try b.cancelledAccount.outcome.accountID)/passcode",
                PasscodeBody(passcode: "1111"), as: .operator)
        },
        Refusal(setPasscode, .passcodeDisabled, "passcodes turned off", on: .passcodesOff) { b in
            try b.post(
                "/v1/accounts/\(try b.plainAccount.outcome.accountID)/passcode", PasscodeBody(passcode: "1111"),
                as: .operator)
        },
        Refusal(setPasscode, .invalidChannel, "an X-Enrolld-Channel with a space") { b in
            try b.post(
                "/v1/accounts/\(try b.plainAccount.outcome.accountID)/passcode", PasscodeBody(passcode: "1111"),
                as: .operator, headers: [("X-Enrolld-Channel", "a b")])
        },
        Refusal(disablePasscode, .holderProofFailed, "a kiosk without the current passcode") { b in
            b.daemon.call("DELETE", "/v1/accounts/\(try b.accountID)/passcode")
        },
        Refusal(disablePasscode, .holderProofFailed, "a kiosk with a wrong current passcode") { b in
            try b.daemon.call(
                "DELETE", "/v1/accounts/\(try b.accountID)/passcode",
                json: PasscodeBody(currentPasscode: "0000"))
        },
        Refusal(disablePasscode, .holderProofFailed, "a kiosk with a locked passcode") { b in
            try b.daemon.call(
                "DELETE", "/v1/accounts/\(try b.lockedAccount)/passcode",
                json: PasscodeBody(currentPasscode: RefusalBench.passcode))
        },
        Refusal(disablePasscode, .invalidChannel, "an X-Enrolld-Channel with a space") { b in
            b.daemon.call(
                "DELETE", "/v1/accounts/\(try b.accountID)/passcode", as: .operator,
                headers: [("X-Enrolld-Channel", "a b")])
        },
        Refusal(verifyPasscode, .passcodeWrong, "a wrong passcode") { b in
            try b.post("/v1/accounts/\(try b.accountID)/passcode/verify", PasscodeBody(passcode: "0000"), as: .operator)
        },
        Refusal(verifyPasscode, .passcodeWrong, "no passcode at all") { b in
            try b.post("/v1/accounts/\(try b.accountID)/passcode/verify", PasscodeBody(), as: .operator)
        },
        Refusal(verifyPasscode, .passcodeLocked, "a locked passcode, even the right one") { b in
            try b.post(
                "/v1/accounts/\(try b.lockedAccount)/passcode/verify",
                PasscodeBody(passcode: RefusalBench.passcode), as: .operator)
        },
        Refusal(verifyPasscode, .passcodeNotSet, "an account without a passcode") { b in
            try b.post(
                "/v1/accounts/\(try b.plainAccount.outcome.accountID)/passcode/verify",
                PasscodeBody(passcode: "1234"), as: .operator)
        },
        Refusal(verifyPasscode, .accountCancelled, "a cancelled account") { b in
            try b.post(
                "/v1/accounts/\(try b.cancelledAccount.outcome.accountID)/passcode/verify",
                PasscodeBody(passcode: "1234"), as: .operator)
        },
        Refusal(verifyPasscode, .passcodeDisabled, "passcodes turned off", on: .passcodesOff) { b in
            try b.post(
                "/v1/accounts/\(try b.plainAccount.outcome.accountID)/passcode/verify",
                PasscodeBody(passcode: "1234"))
        },
        Refusal(verifyPasscode, .invalidChannel, "an X-Enrolld-Channel with a space") { b in
            try b.post(
                "/v1/accounts/\(try b.accountID)/passcode/verify", PasscodeBody(passcode: RefusalBench.passcode),
                headers: [("X-Enrolld-Channel", "a b")])
        },
    ]

    static let certificates: [Refusal] = [
        Refusal(revoke, .invalidReason, "a reason RFC 5280 does not name") { b in
            let serial = try XCTUnwrap(b.account.outcome.certificateSerial)
            return try b.post("/v1/certificates/\(serial)/revoke", ["reason": "lost-interest"], as: .operator)
        },
        Refusal(revoke, .certificateNotFound, "a serial the CA never issued") { b in
            try b.post(
                "/v1/certificates/7F0102030405060708090A0B0C0D0E0F/revoke", ["reason": "superseded"],
                as: .operator)
        },
        Refusal(revoke, .invalidSerial, "a serial that is not hexadecimal") { b in
            try b.post("/v1/certificates/not-a-serial/revoke", ["reason": "superseded"], as: .operator)
        },
        Refusal(revoke, .invalidChannel, "an X-Enrolld-Channel with a space") { b in
            let serial = try XCTUnwrap(b.account.outcome.certificateSerial)
            return try b.post(
                "/v1/certificates/\(serial)/revoke", ["reason": "superseded"], as: .operator,
                headers: [("X-Enrolld-Channel", "a b")])
        },
        Refusal(revoke, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            b.daemon.call("POST", "/v1/certificates/01/revoke", as: .operator)
        },
        Refusal("GET /v1/crl", .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            b.daemon.call("GET", "/v1/crl")
        },
        // The database failing is no refusal of GET /v1/crl: it serves the cached CRL (CertificateStatusTests).
        Refusal("GET /v1/ca/certificate", .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            b.daemon.call("GET", "/v1/ca/certificate", as: .nobody)
        },
        Refusal("POST /v1/audit/verify", .storageError, "the database failing") { b in
            try b.daemon.store.fail(true)
            defer { try? b.daemon.store.fail(false) }
            return b.daemon.call("POST", "/v1/audit/verify", as: .operator)
        },
        Refusal("POST /v1/audit/verify", .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            b.daemon.call("POST", "/v1/audit/verify", as: .operator)
        },
    ]

    /// The counter's look-up by card finds nothing for a card it cannot prove genuine, an identity without an
    /// account, or a reader the terminal does not have.
    static let lookups: [Refusal] = [
        Refusal(lookup, .documentNotGenuine, "an enrolled identity's card altered after EF.SOD was signed") { b in
            let holder = try b.account.holder
            try b.daemon.insertCard(holder) { $0.alteredAfterSigning = .dg2 }
            return try b.daemon.call(
                "POST", "/v1/accounts/lookup",
                json: AccountLookupBody(
                    reader: InProcessDaemon.reader, accessKey: holder.accessKey), as: .operator)
        },
        Refusal(lookup, .accountNotFound, "a genuine card of an identity no one enrolled") { b in
            let holder = b.holder()
            try b.daemon.insertCard(holder)
            return try b.daemon.call(
                "POST", "/v1/accounts/lookup",
                json: AccountLookupBody(
                    reader: InProcessDaemon.reader, accessKey: holder.accessKey), as: .operator)
        },
        Refusal(lookup, .readerNotFound, "a reader the terminal does not have") { b in
            try b.daemon.call(
                "POST", "/v1/accounts/lookup",
                json: AccountLookupBody(
                    reader: "No Such Reader 00 00", accessKey: b.holder().accessKey), as: .operator)
        },
        Refusal(lookup, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            try b.daemon.call(
                "POST", "/v1/accounts/lookup",
                json: AccountLookupBody(
                    reader: InProcessDaemon.reader, accessKey: b.holder().accessKey), as: .operator)
        },
    ]

    static var refusals: [Refusal] {
        unknownAccounts + holderProofs + deviceChanges + statusChanges + usageQueries + passcodes + certificates
            + lookups
    }

    func testTheLookUpByCardFindsNothingForACardItCannotProveOrAnIdentityWithoutAccount() {
        RefusalRun.check(Self.lookups)
    }

    func testEveryAccountRouteRefusesAnAccountNoOneHas() {
        RefusalRun.check(Self.unknownAccounts)
    }

    func testHolderProofsThatProveNothingAreRefused() {
        RefusalRun.check(Self.holderProofs)
    }

    func testDeviceAndContactChangesAreRefusedWhenMalformedOrNotAllowed() {
        RefusalRun.check(Self.deviceChanges)
    }

    func testStatusChangesAreRefusedWhenMalformedOrFinal() {
        RefusalRun.check(Self.statusChanges)
    }

    func testUsageQueriesOutOfRangeAreRefused() {
        RefusalRun.check(Self.usageQueries)
    }

    func testPasscodeEntriesAndChangesAreRefusedWhenWrongLockedOrTurnedOff() {
        RefusalRun.check(Self.passcodes)
    }

    func testRevocationCRLAndAuditRefusals() {
        RefusalRun.check(Self.certificates)
    }
}
