import EnrollAPIModel
import UnixHTTP
import DaemonCore
import FaceMatch
import Foundation
import MRTD
import XCTest

/// Reading card-face data through real pcscd + vpcd: `enroll-vcard` personalised with a profile,
/// `enrollctl read` talking to `enrolld`.
final class CardReadTests: XCTestCase {
    private var bench: Bench!

    static let td1 = [
        "I<UTOD231458907<<<<<<<<<<<<<<<", "9008124F3204153UTO<<<<<<<<<<<0", "SALLEY<<JOHN<<<<<<<<<<<<<<<<<<",
    ]
    static let td3 = ["P<UTOSAVAGE<<JOHN<<<<<<<<<<<<<<<<<<<<<<<<<<<", "L8989021C2UTO8503046M3101012<<<<<<<<<<<<<<06"]
    static let johns = Bench.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/faces/johns")

    override func setUpWithError() throws {
        bench = try Bench()
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    /// Writes an emrtd profile into the bench's folder and returns its path.
    private func writeProfile(
        _ name: String, mrz: [String], portrait: URL, extendedLength: Bool,
        extra: [String: Any] = [:]
    ) throws -> String {
        var object: [String: Any] = [
            "kind": "emrtd", "mrz": mrz, "portrait": "@" + portrait.path,
            "extendedLength": extendedLength,
        ]
        object.merge(extra) { $1 }
        let url = bench.workDirectory.appendingPathComponent(name)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return url.path
    }

    func testTD1IdentityCardWithJPEGPortraitOverExtendedLength() throws {
        let photo = Self.johns.appendingPathComponent("John_Salley/000179_02159509.jpg")
        let profile = try writeProfile(
            "td1.json", mrz: Self.td1, portrait: photo, extendedLength: true,
            extra: [
                "dg11": ["fullName": "SALLEY JOHN", "personalNumber": "UTO-1990-0001"],
                "dg12": ["issuingAuthority": "UTOPIA IDENTITY OFFICE", "dateOfIssue": "20220415"],
            ])
        try bench.startCard(profile: profile)
        let (_, client) = try bench.startDaemon()
        try bench.waitForCard(in: Bench.reader0, client: client)
        let faceOut = bench.workDirectory.appendingPathComponent("face.jpg").path
        let run = try bench.runEnrollctl(
            [
                "read", "--reader", Bench.reader0, "--mrz", Self.td1.joined(separator: "\n"),
                "--face-out", faceOut, "--json",
            ], socket: client.path)
        XCTAssertEqual(run.status, 0, run.error)
        let result = try JSONDecoder().decode(CardFaceResponse.self, from: run.output)
        XCTAssertEqual(result.documentType, "I")
        XCTAssertEqual(result.mrzFormat, "td1")
        XCTAssertEqual(result.issuingState, "UTO")
        XCTAssertEqual(result.documentNumber, "D23145890")
        XCTAssertEqual(result.surname, "SALLEY")
        XCTAssertEqual(result.givenNames, "JOHN")
        XCTAssertEqual(result.nationality, "UTO")
        XCTAssertEqual(result.birthDate, "1990-08-12")
        XCTAssertEqual(result.sex, "F")
        XCTAssertEqual(result.expiryDate, "2032-04-15")
        XCTAssertEqual(result.mrz, Self.td1.joined(separator: "\n"))
        XCTAssertEqual(result.dataGroupsPresent, ["DG1", "DG2", "DG11", "DG12"])
        XCTAssertEqual(result.accessProtocol, "BAC")
        XCTAssertEqual(result.fullName, "SALLEY JOHN")
        XCTAssertEqual(result.personalNumber, "UTO-1990-0001")
        XCTAssertEqual(result.issuingAuthority, "UTOPIA IDENTITY OFFICE")
        XCTAssertEqual(result.portrait?.format, "jpeg")
        XCTAssertEqual(result.portrait?.width, 150)
        XCTAssertEqual(result.portrait?.height, 150)
        XCTAssertTrue(result.statistics.extendedLength, "the card and vpcd allow extended length")
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: faceOut)), try Data(contentsOf: photo),
            "--face-out writes DG2's image byte for byte")
    }

    func testTD3PassportWithJPEG2000PortraitOverShortReads() throws {
        // A 300x400 JPEG 2000 chip portrait made from a Johns photo.
        let source = try Data(contentsOf: Self.johns.appendingPathComponent("John_Savage/000264_01099001.jpg"))
        let chip = try RGBImage(decoding: [UInt8](source))
        let portrait = try SyntheticFaceImages.portrait(from: chip).encoded(as: .jp2)
        let portraitURL = bench.workDirectory.appendingPathComponent("portrait.jp2")
        try Data(portrait).write(to: portraitURL)
        let profile = try writeProfile("td3.json", mrz: Self.td3, portrait: portraitURL, extendedLength: false)
        try bench.startCard(port: Bench.port1, profile: profile)
        let (_, client) = try bench.startDaemon()
        try bench.waitForCard(in: Bench.reader1, client: client)
        let faceOut = bench.workDirectory.appendingPathComponent("face.jp2").path
        let run = try bench.runEnrollctl(
            [
                "read", "--reader", Bench.reader1, "--document-number", "L8989021C", "--birth-date", "850304",
                "--expiry-date", "310101", "--face-out", faceOut, "--json",
            ], socket: client.path)
        XCTAssertEqual(run.status, 0, run.error)
        let result = try JSONDecoder().decode(CardFaceResponse.self, from: run.output)
        XCTAssertEqual(result.documentType, "P")
        XCTAssertEqual(result.mrzFormat, "td3")
        XCTAssertEqual(result.surname, "SAVAGE")
        XCTAssertEqual(result.sex, "M")
        XCTAssertEqual(result.birthDate, "1985-03-04")
        XCTAssertEqual(result.dataGroupsPresent, ["DG1", "DG2"])
        XCTAssertEqual(result.portrait?.format, "jpeg2000")
        XCTAssertEqual(result.portrait?.width, 300)
        XCTAssertEqual(result.portrait?.height, 400)
        XCTAssertFalse(result.statistics.extendedLength, "the card refuses extended length: short reads only")
        XCTAssertLessThanOrEqual(result.statistics.readChunkSize, 0xE7)
        // Short reads: at least ceil(portrait / chunk) READ BINARY commands for DG2 alone.
        XCTAssertGreaterThanOrEqual(result.statistics.apdus, portrait.count / result.statistics.readChunkSize)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: faceOut))), portrait)
    }

    func testWrongAccessKeyIsRejectedWithAnActionableError() throws {
        let photo = Self.johns.appendingPathComponent("John_Salley/000179_02159509.jpg")
        try bench.startCard(profile: try writeProfile("td1.json", mrz: Self.td1, portrait: photo, extendedLength: true))
        let (daemon, client) = try bench.startDaemon()
        try bench.waitForCard(in: Bench.reader0, client: client)
        let run = try bench.runEnrollctl(
            [
                "read", "--reader", Bench.reader0, "--document-number", "D23145890", "--birth-date", "900812",
                "--expiry-date", "320416",
            ], socket: client.path)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(
            run.error.contains("the chip rejected the access key: check document number, birth date and expiry"),
            run.error)
        // The API says the same with a stable code.
        let body = try JSONEncoder().encode(
            CardReadRequest(
                reader: Bench.reader0,
                accessKey: AccessKeyRequest(
                    documentNumber: "D23145890", birthDate: "900812", expiryDate: "320416")))
        let response = try client.post("/v1/cards/read", json: [UInt8](body))
        XCTAssertEqual(response.status, 422)
        let problem = try JSONDecoder().decode(Problem.self, from: Data(response.body))
        XCTAssertEqual(problem.code, "access-key-rejected")
        // And the right key still works on the same card afterwards.
        let ok = try bench.runEnrollctl(
            ["read", "--reader", Bench.reader0, "--mrz", Self.td1.joined(separator: "\n")], socket: client.path)
        XCTAssertEqual(ok.status, 0, ok.error)
        XCTAssertTrue(daemon.isRunning)
    }

    func testNoCardAndUnknownReaderAreDistinctErrors() throws {
        let (_, client) = try bench.startDaemon()
        for (reader, code) in [(Bench.reader1, "no-card"), ("No Such Reader", "reader-not-found")] {
            let body = try JSONEncoder().encode(
                CardReadRequest(reader: reader, accessKey: AccessKeyRequest(mrz: Self.td1.joined(separator: "\n"))))
            let response = try client.post("/v1/cards/read", json: [UInt8](body))
            let problem = try JSONDecoder().decode(Problem.self, from: Data(response.body))
            XCTAssertEqual(problem.code, code, "reader \(reader)")
        }
        let bad = try client.post(
            "/v1/cards/read", json: Array(#"{"reader":"\#(Bench.reader1)","accessKey":{"mrz":"NOT AN MRZ"}}"#.utf8))
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(try JSONDecoder().decode(Problem.self, from: Data(bad.body)).code, "invalid-mrz")
    }
}
