import DaemonCore
import EnrollAPIModel
import Foundation
import VirtualCard
import XCTest

/// `POST /v1/cards/probe` (what `enrollctl probe` prints): the variants a card offers, the one used, and how the
/// chip answers reads (issue 17).
final class CardProbeTests: XCTestCase {
    func testProbeShowsThePACEVariantsOfferedTheOneUsedAndPlainErrorRetries() throws {
        let bench = try InProcessDaemon()
        let holder = TestHolder.random()
        try bench.insertCard(holder) { card in
            card.pace = PACEConfiguration(parameterID: 13, cipher: .aes128, can: "123456")
            // A chip whose short reads stop at 0xDF and that answers a larger Le with a plain 6700.
            card.extendedLength = false
            card.maxShortResponse = 0xDF
            card.plainErrorStatus = .sessionKept
        }
        let response = try bench.call(
            "POST", "/v1/cards/probe",
            json: CardProbeRequest(
                reader: InProcessDaemon.reader,
                accessKey: AccessKeyRequest(can: "123456")))
        XCTAssertEqual(response.status, 200, bench.problem(response))
        let probe = try bench.decode(CardProbeResponse.self, response)
        let pace = probe.securityInfos.filter { $0.type == "PACEInfo" }
        XCTAssertEqual(pace.count, 1)
        XCTAssertEqual(pace.first?.supported, true)
        XCTAssertEqual(probe.accessProtocol, "PACE")
        XCTAssertTrue(probe.accessParameters?.hasPrefix("PACE-ECDH-GM-AES-128") ?? false, probe.accessParameters ?? "")
        XCTAssertEqual(probe.readChunkSize, 0xDF, "the reader learnt the chip's largest short answer")
        XCTAssertGreaterThanOrEqual(probe.plainStatusAnswers ?? 0, 1, "the plain 6700s are reported")

        // A chip that reads at the first Le answers nothing in plain.
        let plainFree = TestHolder.random()
        try bench.insertCard(plainFree) { card in card.pace = PACEConfiguration(parameterID: 13, can: "123456") }
        let clean = try bench.decode(
            CardProbeResponse.self,
            try bench.call(
                "POST", "/v1/cards/probe",
                json: CardProbeRequest(reader: InProcessDaemon.reader, accessKey: AccessKeyRequest(can: "123456"))))
        XCTAssertEqual(clean.plainStatusAnswers, 0)
        XCTAssertEqual(clean.sessionsReestablished, 0)
    }
}
