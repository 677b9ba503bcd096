import CardScan
import DaemonCore
import EnrollAPIModel
import Foundation
import MRTD
import XCTest

/// `POST /v1/cards/scan` through the in-process daemon: the committed labelled photos (CardScanTests/Fixtures/cards)
/// give their printed key first; the engine's absence is a problem that names the package.
final class CardScanRouteTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../CardScanTests/Fixtures/cards").standardized.path

    /// (photo, layout, MRZ lines or CAN) from labels.tsv.
    static func labels() throws -> [(String, String, String)] {
        try String(contentsOfFile: "\(fixtures)/labels.tsv", encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.map { row in
                let columns = row.split(separator: "\t").map(String.init)
                return (columns[0], columns[1], columns.count > 2 ? columns[2] : "")
            }
    }

    /// The first mild photo of `layout` in the labelled set, base64.
    static func photo(layout: String) throws -> String {
        guard let (name, _, _) = try labels().first(where: { $0.0.hasPrefix("mild-") && $0.1 == layout }),
            let photo = FileManager.default.contents(atPath: "\(fixtures)/\(name)")
        else {
            throw CocoaError(.fileNoSuchFile)
        }
        return photo.base64EncodedString()
    }

    func testAPhotoOfATD3AndOfACardFrontGiveTheirPrintedKeyFirst() throws {
        guard (try? CardScanner()) != nil else { throw XCTSkip("fonts-ocr-b is not installed (scripts/setup.sh)") }
        let daemon = try InProcessDaemon()
        let labels = try Self.labels()
        for layout in ["td3", "cardFront"] {
            guard let (name, _, text) = labels.first(where: { $0.0.hasPrefix("mild-") && $0.1 == layout }),
                let photo = FileManager.default.contents(atPath: "\(Self.fixtures)/\(name)")
            else {
                return XCTFail("no mild \(layout) photo in the labelled set")
            }
            let response = try daemon.call(
                "POST", "/v1/cards/scan",
                json: CardScanRequest(image: photo.base64EncodedString()), as: .kiosk)
            XCTAssertEqual(response.status, 200, String(decoding: response.body.prefix(300), as: UTF8.self))
            let scan = try JSONDecoder().decode(CardScanResponse.self, from: Data(response.body))
            XCTAssertEqual(scan.layout, layout)
            guard let first = scan.candidates.first else { return XCTFail("\(name): no candidate") }
            if layout == "cardFront" {
                XCTAssertEqual(first.kind, "CAN")
                XCTAssertEqual(first.can, text)
                XCTAssertEqual(scan.can, text)
            } else {
                let mrz = try MRZ(lines: text.split(separator: "|").map(String.init))
                let key = try BACKey(
                    documentNumber: mrz.documentNumber, birthDate: mrz.birthDate,
                    expiryDate: mrz.expiryDate)
                XCTAssertEqual(first.kind, "MRZ")
                XCTAssertEqual(first.documentNumber, key.documentNumber)
                XCTAssertEqual(first.birthDate, key.birthDate)
                XCTAssertEqual(first.expiryDate, key.expiryDate)
                XCTAssertEqual(scan.mrz, mrz.lines)
                XCTAssertFalse(scan.fieldChecks.isEmpty)
                XCTAssertFalse(scan.fieldChecks.contains { $0.status == "failed" })
            }
            XCTAssertGreaterThan(scan.milliseconds, 0)
        }
    }

    func testAMissingFontIsCardScanUnavailableWithThePackageToInstall() {
        let service = CardScanService(configuration: CardScanConfiguration(ocrbFontPath: "/nonexistent/OCRB.otf"))
        XCTAssertThrowsError(try service.scan(image: [0xFF, 0xD8, 0xFF])) { error in
            let problem = error as? Problem
            XCTAssertEqual(problem?.code, ProblemCode.cardScanUnavailable.code)
            XCTAssertEqual(problem?.status, 503)
            XCTAssertTrue(problem?.detail.contains("fonts-ocr-b") ?? false, problem?.detail ?? "")
        }
    }
}
