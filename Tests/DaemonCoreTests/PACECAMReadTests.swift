import DaemonCore
import EnrollAPIModel
import Foundation
import MRTD
import VirtualCard
import XCTest

/// PACE-CAM through the daemon (issue 17): its EF.CardSecurity is verified against the trust store, so a genuine
/// chip's CAM counts as anti-clone proof and a forged EF.CardSecurity makes the document not genuine.
final class PACECAMReadTests: XCTestCase {
    private static let can = "123456"

    private func read(alteredAfterSigning: Bool) throws -> CardFaceResponse {
        let bench = try InProcessDaemon(extraConfiguration: "[authenticity]\nrequire_anti_clone = true\n")
        try bench.insertCard(TestHolder.random()) { card in
            card.pace = PACEConfiguration(
                parameterID: 13, cipher: .aes128, can: Self.can, mapping: .chipAuthentication,
                cardSecurity: CardSecurityLayout(alteredAfterSigning: alteredAfterSigning))
        }
        let response = try bench.call(
            "POST", "/v1/cards/read",
            json: CardReadRequest(
                reader: InProcessDaemon.reader,
                accessKey: AccessKeyRequest(can: Self.can)))
        XCTAssertEqual(response.status, 200, bench.problem(response))
        return try bench.decode(CardFaceResponse.self, response)
    }

    private func outcome(_ name: String, _ read: CardFaceResponse) -> String? {
        read.authenticity.checks.first { $0.name == name }?.outcome
    }

    func testAGenuineCAMChipIsProvenByPACECAMAlone() throws {
        let read = try read(alteredAfterSigning: false)
        XCTAssertTrue(read.accessParameters?.contains("CAM") ?? false, "\(read.accessParameters ?? "")")
        XCTAssertEqual(outcome("pace-cam", read), "passed", "\(read.authenticity.checks)")
        XCTAssertTrue(read.authenticity.genuine, "\(read.authenticity.reasons)")
    }

    func testAForgedCardSecurityMakesTheDocumentNotGenuine() throws {
        let read = try read(alteredAfterSigning: true)
        XCTAssertEqual(outcome("pace-cam", read), "failed", "\(read.authenticity.checks)")
        XCTAssertFalse(read.authenticity.genuine)
        XCTAssertTrue(read.authenticity.reasons.contains { $0.hasPrefix("pace-cam") }, "\(read.authenticity.reasons)")
    }
}
