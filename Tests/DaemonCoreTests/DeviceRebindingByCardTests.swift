import DaemonCore
import EnrollAPIModel
import Foundation
import MRTD
import OpenSSLKit
import UnixHTTP
import XCTest

/// Re-binding a device by card (a card-and-face session that completes with another device) compares the card's
/// holder with the sealed record, as an upgrade does: a card of the account's personal number held by someone else
/// cannot move the account to their device.
final class DeviceRebindingByCardTests: XCTestCase {
    private var bench: InProcessDaemon!
    private let personal = DG11(personalNumber: "6600112233")

    override func setUpWithError() throws {
        bench = try InProcessDaemon()
    }

    override func tearDown() {
        bench = nil
    }

    /// A card-and-face session of `holder` (card inserted) completed with a certificate for device `device`.
    private func completeOnDevice(
        _ holder: TestHolder, purpose: String, account: String?, device: String
    ) throws -> EnrollmentOutcome {
        let session = try bench.openSession(holder, purpose: purpose, accountID: account, insert: false)
        try bench.require(bench.photo(session, of: holder.person), 200, "photo")
        try bench.require(bench.liveness(session, of: holder.person).answer, 200, "liveness")
        let key = try PrivateKey.generate(.p256).publicKey().pemEncoded()
        return try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/enrollments/\(session)/complete",
                    json: EnrollmentCompleteBody(
                        csr: try InProcessDaemon.makeCSR(), deviceId: device, devicePublicKey: key)), 200,
                "complete on \(device)"))
    }

    private func devices(_ account: String) throws -> [DeviceView] {
        try bench.decode(
            [DeviceView].self,
            try bench.require(bench.call("GET", "/v1/accounts/\(account)/devices", as: .operator), 200))
    }

    func testAnotherHoldersCardCannotRebindTheDeviceAndTheHoldersOwnCardCan() throws {
        let owner = TestHolder.random("John_Schneider")
        try bench.insertCard(owner) { $0.dg11 = self.personal }
        let registered = try completeOnDevice(owner, purpose: "register", account: nil, device: "phone-1")
        let account = registered.accountID
        let before = try bench.accountView(account)

        var other = TestHolder.random("John_Salley", birthDate: "900101")
        other.surname = "OTHER"
        other.expiryDate = "361231"
        try bench.insertCard(other) { $0.dg11 = self.personal }
        for purpose in ["upgrade", "passcode-reset"] {
            let refused = try bench.start(other, purpose: purpose, accountID: account)
            XCTAssertEqual(refused.status, 403, purpose)
            XCTAssertEqual(bench.problem(refused), "holder-mismatch", purpose)
        }
        XCTAssertEqual(try devices(account).filter { $0.unboundAt == nil }.map(\.deviceId), ["phone-1"])
        XCTAssertEqual(try bench.accountView(account), before, "no certificate revoked, nothing sealed changed")

        var renewed = TestHolder.random("John_Schneider")
        renewed.expiryDate = "361231"
        try bench.insertCard(renewed) { $0.dg11 = self.personal }
        let rebound = try completeOnDevice(renewed, purpose: "upgrade", account: account, device: "phone-2")
        XCTAssertEqual(rebound.accountID, account)
        let bindings = try devices(account)
        XCTAssertEqual(bindings.filter { $0.unboundAt == nil }.map(\.deviceId), ["phone-2"])
        XCTAssertEqual(bindings.first { $0.deviceId == "phone-1" }?.unbindReason, "superseded")
    }
}
