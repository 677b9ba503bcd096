import CardScan
import EnrollAPIModel
import FaceMatch
import Foundation
import MRTD
import UnixHTTP
import VirtualCard
import XCTest

/// Enrollment from a photo of the card through real pcscd + vpcd, the real daemon and enrollctl: the virtual card
/// carries the MRZ printed on a generated card photo, and `enrollctl enroll --scan PHOTO` (no typed key) reaches the
/// signing tier; a photo without a card is `access-key-unreadable`; a photo of another card fails at the chip with
/// the usual `access-key-rejected` after at most two chip attempts.
final class CardScanEnrollmentTests: XCTestCase {
    private var bench: Bench!
    private var pki: URL!
    private var socket: String!
    private var client: UnixSocketClient!

    override func setUpWithError() throws {
        try XCTSkipUnless((try? CardScanner()) != nil, "fonts-ocr-b is not installed (scripts/setup.sh)")
        bench = try Bench()
        pki = bench.workDirectory.appendingPathComponent("pki")
        _ = try BenchPKI.create(directory: pki.path)
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    /// A mild generated photo of `layout` for an adult holder with a valid document, which the scanner reads right
    /// first (the first such seed: the generator and the engine are deterministic).
    static func cardPhoto(_ layout: ScannedLayout) throws -> SyntheticCardPhoto {
        let generator = SyntheticCards(portraits: SyntheticCards.portraits(from: CardReadTests.johns.path, limit: 4))
        let scanner = try CardScanner()
        let thisYear = Calendar(identifier: .gregorian).component(.year, from: Date())
        for seed in UInt64(1)...200 {
            let photo = try generator.photo(seed: seed, level: .mild, layout: layout)
            let mrz = try MRZ(lines: photo.mrzLines)
            guard let birth = try? mrz.resolvedBirthDate(), let expiry = try? mrz.resolvedExpiryDate(),
                birth.year <= thisYear - 20, expiry.year >= thisYear + 2
            else { continue }
            if try scanner.scan(image: photo.image).candidates.first?.key == photo.key { return photo }
        }
        throw BenchError("no generated \(layout) photo that reads right among 200 seeds")
    }

    /// Initialises the CA, starts a card with `mrz` and John Salley's portrait, and the daemon.
    private func start(mrz: [String]) throws {
        let state = bench.workDirectory.appendingPathComponent("state")
        let config = "[trust]\ndirectory = \(pki.path)/trust\n[daemon]\nstate_directory = \(state.path)\n"
        let configFile = bench.workDirectory.appendingPathComponent("ca.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let ca = try bench.launch(
            try Bench.executable("enrolld"), ["--config", configFile.path, "ca", "init"],
            log: "ca.log")
        ca.waitUntilExit()
        XCTAssertEqual(ca.terminationStatus, 0, bench.log("ca.log"))
        let object: [String: Any] = [
            "kind": "emrtd", "mrz": mrz, "portrait": "@" + (try face(0)).path,
            "documentSigner": ["certificate": "@\(pki.path)/dsc.pem", "key": "@\(pki.path)/dsc.key"],
        ]
        let profile = bench.workDirectory.appendingPathComponent("card.json")
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        try bench.startCard(profile: profile.path)
        client = try bench.startDaemon(configuration: config).client
        socket = bench.workDirectory.appendingPathComponent("api.sock").path
        try bench.waitForCard(in: Bench.reader0, client: client)
    }

    private func face(_ index: Int) throws -> URL {
        let folder = CardReadTests.johns.appendingPathComponent("John_Salley")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return folder.appendingPathComponent(names[index])
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = bench.workDirectory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func enrollctl(_ arguments: [String]) throws -> (code: Int32, output: String) {
        try Bench.runTool(try Bench.executable("enrollctl"), ["--socket", socket] + arguments)
    }

    private func csr() throws -> String {
        let key = bench.workDirectory.appendingPathComponent("holder.key").path
        let csr = bench.workDirectory.appendingPathComponent("holder.csr").path
        let made = try Bench.runTool(
            "/usr/bin/openssl",
            [
                "req", "-new", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=holder",
                "-keyout", key, "-out", csr,
            ])
        XCTAssertEqual(made.code, 0, made.output)
        return csr
    }

    /// Chip reads that failed so far (`GET /metrics`).
    private func failedReads() throws -> Int {
        let text = String(decoding: try client.get("/metrics").body, as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("enrolld_card_reads_total{outcome=\"failed\"}") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
    }

    private func enrollsToTheSigningTier(_ layout: ScannedLayout) throws {
        let photo = try Self.cardPhoto(layout)
        try start(mrz: photo.mrzLines)
        let scanned = try enrollctl(["scan", try write(photo.image, "card.jpg"), "--json"])
        XCTAssertEqual(scanned.code, 0, scanned.output)
        XCTAssertTrue(
            scanned.output.contains("\"layout\":\"\(layout.rawValue)\"")
                || scanned.output.contains("\"layout\" : \"\(layout.rawValue)\""), scanned.output)
        let enrolled = try enrollctl([
            "enroll", "--reader", Bench.reader0, "--scan", try write(photo.image, "card.jpg"),
            "--photo", try face(3).path, "--csr", try csr(),
        ])
        XCTAssertEqual(enrolled.code, 0, enrolled.output + bench.log("enrolld.log"))
        XCTAssertTrue(enrolled.output.contains("tier signing"), enrolled.output)
        XCTAssertEqual(try failedReads(), 0, "the right key was the first tried")
        // Nothing of the photo's text reaches the daemon's log.
        let log = bench.log("enrolld.log")
        XCTAssertFalse(log.contains(photo.mrzLines[0]), "MRZ text in the log")
        if case .mrz(let key) = photo.key {
            XCTAssertFalse(log.contains(key.documentNumber), "document number in the log")
        }
    }

    func testATD1CardPhotoWithNoTypedKeyEnrollsToTheSigningTier() throws {
        try enrollsToTheSigningTier(.td1)
    }

    func testATD3PassportPhotoWithNoTypedKeyEnrollsToTheSigningTier() throws {
        try enrollsToTheSigningTier(.td3)
    }

    func testAPhotoWithNoCardIsAccessKeyUnreadableWithWhatToRetake() throws {
        try start(mrz: CardReadTests.td1)
        let empty = try RGBImage(width: 800, height: 600, red: 120, green: 110, blue: 100).encoded(as: .jpeg)
        let result = try enrollctl([
            "enroll", "--reader", Bench.reader0, "--scan", try write(empty, "wall.jpg"),
            "--photo", try face(3).path, "--json",
        ])
        XCTAssertNotEqual(result.code, 0)
        XCTAssertTrue(result.output.contains("Access key unreadable"), result.output)
        XCTAssertTrue(result.output.contains("hold the card flat"), result.output)
        XCTAssertEqual(try failedReads(), 0, "no chip attempt without a key")
    }

    func testAPhotoOfAnotherCardFailsAtTheChipAfterAtMostTwoAttempts() throws {
        try start(mrz: CardReadTests.td1)
        let other = try Self.cardPhoto(.td3)
        let result = try enrollctl([
            "enroll", "--reader", Bench.reader0, "--scan", try write(other.image, "other.jpg"),
            "--photo", try face(3).path, "--json",
        ])
        XCTAssertNotEqual(result.code, 0)
        XCTAssertTrue(result.output.contains("Access key rejected"), result.output)
        let attempts = try failedReads()
        XCTAssertGreaterThanOrEqual(attempts, 1)
        XCTAssertLessThanOrEqual(attempts, 2, "a wrong key costs a PACE attempt: at most two are tried")
        // The chip still opens with its own key afterwards.
        let read = try enrollctl([
            "read", "--reader", Bench.reader0, "--mrz", CardReadTests.td1.joined(separator: "\n"),
        ])
        XCTAssertEqual(read.code, 0, read.output)
    }
}
