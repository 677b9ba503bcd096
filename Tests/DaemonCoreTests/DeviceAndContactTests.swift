import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// Device binding (one device at a time; binding another supersedes the first and revokes its certificates;
/// unbinding revokes the device's certificates) and contact details (which never touch the binding).
final class DeviceAndContactTests: XCTestCase {
    private var bench: InProcessDaemon!

    override func setUpWithError() throws {
        bench = try InProcessDaemon()
    }

    override func tearDown() {
        bench = nil
    }

    /// Registers a holder whose certificate's key lives on `device`, bound at completion.
    private func enrollOnDevice(_ device: String) throws -> EnrollmentOutcome {
        let holder = TestHolder.random("John_Schneider")
        let session = try bench.matchedSession(holder)
        return try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/enrollments/\(session)/complete",
                    json: EnrollmentCompleteBody(
                        csr: try InProcessDaemon.makeCSR(), deviceId: device,
                        devicePublicKey: try InProcessDaemon.makeDeviceKey(),
                        deviceLabel: "Phone A")), 200))
    }

    private func devices(_ account: String) throws -> [DeviceView] {
        try bench.decode(
            [DeviceView].self,
            try bench.require(
                bench.call("GET", "/v1/accounts/\(account)/devices", as: .operator), 200))
    }

    private func certificates(_ account: String) throws -> [CertificateView] {
        try bench.decode(
            [CertificateView].self,
            try bench.require(
                bench.call("GET", "/v1/accounts/\(account)/certificates", as: .operator), 200))
    }

    func testBindingAnotherDeviceSupersedesTheFirstAndRevokesItsCertificates() throws {
        let outcome = try enrollOnDevice("phone-a")
        let account = outcome.accountID
        XCTAssertEqual(try devices(account).map(\.deviceId), ["phone-a"])
        XCTAssertEqual(try certificates(account).first?.deviceId, "phone-a")

        let events = bench.recordEvents()
        let bound = try bench.decode(
            DeviceBindingOutcome.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/accounts/\(account)/devices",
                    json: DeviceBindBody(
                        deviceId: "phone-b", publicKey: try InProcessDaemon.makeDeviceKey(),
                        label: "Phone B"),
                    headers: [("X-Enrolld-Enrollment", outcome.enrollmentID)]), 201))
        XCTAssertEqual(bound.device.deviceId, "phone-b")
        XCTAssertTrue(bound.device.active)
        XCTAssertEqual(bound.superseded?.deviceId, "phone-a")
        XCTAssertEqual(bound.revokedSerials, [outcome.certificateSerial])
        let published = bench.drain(events)
        XCTAssertEqual(published.map(\.type), [.deviceBound, .certificateRevoked])
        XCTAssertEqual(published.last?.reason, "superseded")

        let listed = try devices(account)
        XCTAssertEqual(listed.map(\.deviceId), ["phone-a", "phone-b"])
        XCTAssertEqual(listed.map(\.active), [false, true])
        XCTAssertEqual(listed.first?.unbindReason, "superseded")
        let certificate = try XCTUnwrap(try certificates(account).first)
        XCTAssertEqual([certificate.state, certificate.revocationReason], ["revoked", "superseded"])
        XCTAssertEqual(
            try bench.usage(account).records.map(\.event).suffix(3),
            ["device-unbound", "certificate-revoked", "device-bound"])
    }

    func testTheHolderUnbindsWithThePasscodeAndAnOperatorWithoutProof() throws {
        let outcome = try enrollOnDevice("phone-a")
        let account = outcome.accountID
        try bench.setPasscode("1357", on: outcome)
        let withoutProof = try bench.call("DELETE", "/v1/accounts/\(account)/devices/phone-a", json: DeviceUnbindBody())
        XCTAssertEqual(bench.problem(withoutProof), "holder-proof-required")
        let wrong = try bench.call(
            "DELETE", "/v1/accounts/\(account)/devices/phone-a",
            json: DeviceUnbindBody(passcode: "0000"))
        XCTAssertEqual(bench.problem(wrong), "holder-proof-failed")

        let unbound = try bench.decode(
            DeviceView.self,
            try bench.require(
                bench.call(
                    "DELETE", "/v1/accounts/\(account)/devices/phone-a", json: DeviceUnbindBody(passcode: "1357")),
                200))
        XCTAssertFalse(unbound.active)
        XCTAssertEqual(unbound.unbindReason, "holder")
        let certificate = try XCTUnwrap(try certificates(account).first)
        XCTAssertEqual([certificate.state, certificate.revocationReason], ["revoked", "cessation-of-operation"])
        XCTAssertEqual(
            bench.problem(
                try bench.call(
                    "DELETE", "/v1/accounts/\(account)/devices/phone-a",
                    json: DeviceUnbindBody(passcode: "1357"))),
            "device-not-bound", "unbinding twice")

        // An operator at a counter needs no proof; the holder's fresh card-and-face session is proof too.
        try bench.require(
            bench.call(
                "POST", "/v1/accounts/\(account)/devices",
                json: DeviceBindBody(
                    deviceId: "phone-c", publicKey: try InProcessDaemon.makeDeviceKey()), as: .operator), 201)
        XCTAssertEqual(
            try bench.decode(
                DeviceView.self,
                try bench.require(
                    bench.call("DELETE", "/v1/accounts/\(account)/devices/phone-c", as: .operator), 200)
            ).unbindReason,
            "operator")
        try bench.require(
            bench.call(
                "POST", "/v1/accounts/\(account)/devices",
                json: DeviceBindBody(
                    deviceId: "phone-d", publicKey: try InProcessDaemon.makeDeviceKey()), as: .operator), 201)
        XCTAssertEqual(
            try bench.call(
                "DELETE", "/v1/accounts/\(account)/devices/phone-d",
                json: DeviceUnbindBody(enrollmentId: outcome.enrollmentID)
            ).status, 200)
    }

    func testContactDetailsChangeWithoutTouchingTheBindingAndTheRecordNamesOnlyTheFields() throws {
        let outcome = try enrollOnDevice("phone-a")
        let account = outcome.accountID
        let before = try devices(account)
        let changed = try bench.call(
            "PUT", "/v1/accounts/\(account)/contact",
            json: ["contact": ["phone": "+41 79 123 45 67", "email": "holder@example.org"]],
            headers: [
                ("X-Enrolld-Enrollment", outcome.enrollmentID),
                ("X-Enrolld-Channel", "kiosk-7"),
            ])
        XCTAssertEqual(changed.status, 204)
        XCTAssertEqual(try devices(account), before, "the binding is untouched")
        XCTAssertEqual(try certificates(account).first?.state, "issued")
        let record = try XCTUnwrap(try bench.usage(account).records.last)
        XCTAssertEqual([record.event, record.detail, record.channel], ["contact-changed", "email,phone", "kiosk-7"])
    }
}
