import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard
import XCTest

/// Issued passports' and ID cards' protocol variants and quirks through real pcscd + vpcd: `enroll-vcard` serves each
/// as a profile option; the document reader reads the card through PC/SC in this process (to check the typed facts the
/// genuineness policy needs) and `enrolld` reads some end to end.
final class RealChipBehaviourTests: XCTestCase {
    private var bench: Bench!
    private var pki: URL!
    private var card: Process?

    static let td1 = CardReadTests.td1
    static let can = "491756"
    static let portrait = CardReadTests.johns.appendingPathComponent("John_Salley/000179_02159509.jpg")

    override func setUpWithError() throws {
        bench = try Bench()
        pki = bench.workDirectory.appendingPathComponent("pki")
        _ = try BenchPKI.create(directory: pki.path)
        try bench.startPCSCD()
    }

    override func tearDown() {
        bench?.stopAll()
    }

    // MARK: Bench helpers

    /// A card signed by the bench PKI's document signer, with `extra` profile options, plugged into reader 0.
    @discardableResult
    private func insert(_ extra: [String: Any], faults: [String] = [], signer: String = "") throws -> String {
        if let card {
            bench.stop(card)
            try waitForCard(present: false)
        }
        var object: [String: Any] = [
            "kind": "emrtd", "mrz": Self.td1, "portrait": "@" + Self.portrait.path,
            "documentSigner": [
                "certificate": "@" + pki.appendingPathComponent(signer + "/dsc.pem").path,
                "key": "@" + pki.appendingPathComponent(signer + "/dsc.key").path,
            ],
        ]
        object.merge(extra) { $1 }
        let profile = bench.workDirectory.appendingPathComponent("card-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: object).write(to: profile)
        card = try bench.startCard(profile: profile.path, extra: faults.flatMap { ["--fault", $0] })
        try waitForCard(present: true)
        return profile.path
    }

    private func waitForCard(present: Bool) throws {
        try bench.waitFor(present ? "a card in \(Bench.reader0)" : "the card to leave", timeout: 10) {
            guard let context = try? PCSCContext() else { return false }
            var states = [ReaderState(name: Bench.reader0)]
            _ = try? context.waitForChange(&states, timeout: 0)
            return (states[0].cardPresent && !states[0].mute) == present
        }
    }

    private var trustStore: TrustStore {
        get throws { try TrustStore.load(directory: pki.appendingPathComponent("trust").path) }
    }

    private var mrzKey: AccessKey {
        get throws {
            let mrz = try MRZ(parsing: Self.td1.joined(separator: "\n"))
            return .mrz(
                try BACKey(
                    documentNumber: mrz.documentNumber, birthDate: mrz.birthDate,
                    expiryDate: mrz.expiryDate))
        }
    }

    /// Reads the card in reader 0 through PC/SC with the document reader, recording every command's header and
    /// answer's status word.
    private func read(
        _ access: AccessKey? = nil, options: DocumentReader.Options = .init()
    )
        throws -> (result: DocumentReadResult, log: RecordingChannel)
    {
        let context = try PCSCContext()
        let channel = try context.connect(reader: Bench.reader0)
        defer { channel.disconnect() }
        let recording = RecordingChannel(base: channel)
        let result = try DocumentReader(channel: recording, options: options).read(access: try access ?? mrzKey)
        return (result, recording)
    }

    private func passive(_ result: DocumentReadResult) throws -> PassiveAuthenticationResult {
        var groups: [DataGroup: [UInt8]] = [:]
        for (file, bytes) in result.files { if let group = DataGroup(fileID: file) { groups[group] = bytes } }
        return PassiveAuthentication.verify(
            sodFile: result.files[.sod] ?? [], dataGroups: groups,
            trustStore: try trustStore)
    }

    private func writeKey(_ key: PrivateKey, _ name: String) throws -> String {
        let url = pki.appendingPathComponent(name)
        try key.pemEncoded().write(to: url, atomically: true, encoding: .utf8)
        return "@" + url.path
    }

    // MARK: Chip authentication as issued

    /// CA version 1 with AES (MSE:Set AT + GENERAL AUTHENTICATE), key reference 195 sent as `84 01 C3`, keys by
    /// standardized parameter ID and a DH key with PKCS#3 parameters; the chip refuses MSE:Set KAT for AES.
    func testChipAuthenticationVersion1WithAESKeyReferencesAndKeyFormats() throws {
        let cases: [(key: String, format: String, parameterID: Int)] = [
            ("@" + pki.appendingPathComponent("ca.key").path, "standardized-id", 12),
            (try writeKey(try PrivateKey.generateDH(group: "dh_2048_256"), "dh.key"), "pkcs3", 2),
        ]
        for (key, format, parameterID) in cases {
            try insert([
                "chipAuthentication": [
                    "key": key, "version": 1, "cipher": "AES-128", "keyId": 195,
                    "publicKeyFormat": format,
                ]
            ])
            let (result, log) = try read()
            XCTAssertEqual(
                result.chipAuthentication?.outcome, .passed,
                "\(format): \(String(describing: result.chipAuthentication))")
            XCTAssertEqual(result.chipAuthenticationRun?.command, .setATGeneralAuthenticate)
            XCTAssertEqual(result.chipAuthenticationRun?.version, 1)
            XCTAssertEqual(result.chipAuthenticationRun?.keyID, 195)
            XCTAssertEqual(result.chipAuthenticationRun?.parameterID, parameterID)
            XCTAssertEqual(
                log.entries.filter { $0.header.starts(with: [0x0C, 0x22, 0x41]) }.map { $0.header[3] }, [0xA4],
                "MSE:Set AT, never Set KAT")
        }
    }

    /// Through enrolld: such a chip is genuine (chip authentication passes), as it is not with a reader that sends
    /// MSE:Set KAT for every version-1 key.
    func testTheDaemonReadsAnAESVersion1ChipAsGenuine() throws {
        try insert([
            "chipAuthentication": [
                "key": "@" + pki.appendingPathComponent("ca.key").path, "version": 1,
                "cipher": "AES-256", "keyId": 195, "publicKeyFormat": "standardized-id",
            ],
            "sod": ["reorderedIssuerName": true, "indefiniteLength": true],
        ])
        let (_, client) = try bench.startDaemon(
            configuration: "[trust]\ndirectory = \(pki.appendingPathComponent("trust").path)\n")
        try bench.waitForCard(in: Bench.reader0, client: client)
        let body = try JSONEncoder().encode(
            CardReadRequest(
                reader: Bench.reader0,
                accessKey: AccessKeyRequest(mrz: Self.td1.joined(separator: "\n"))))
        let response = try client.post("/v1/cards/read", json: [UInt8](body))
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        let read = try JSONDecoder().decode(CardFaceResponse.self, from: Data(response.body))
        XCTAssertTrue(read.authenticity.genuine, "\(read.authenticity)")
        XCTAssertEqual(read.authenticity.checks.first { $0.name == "chip-authentication" }?.outcome, "passed")
        XCTAssertEqual(
            read.authenticity.checks.first { $0.name == "passive-authentication" }?.outcome, "passed",
            "a BER SOD whose signer names its issuer in another order")
    }

    // MARK: PACE

    /// PACE-IM (ECDH and DH) and PACE-CAM with several CA keys and EF.CardSecurity signed by the document signer.
    func testIntegratedMappingAndChipAuthenticationMappingWithTheRightKey() throws {
        for (pace, mapping) in [
            (["parameterId": 13, "cipher": "AES-128", "can": Self.can, "mapping": "IM"], "IM"),
            (["parameterId": 2, "cipher": "AES-128", "can": Self.can, "mapping": "IM"], "IM"),
            (
                [
                    "parameterId": 12, "cipher": "AES-256", "can": Self.can, "mapping": "CAM",
                    "cardSecurity": ["decoyKeysFirst": true],
                ] as [String: Any], "CAM"
            ),
        ] {
            try insert(["pace": pace, "bac": false])
            var options = DocumentReader.Options()
            options.trustStore = try trustStore
            let (result, _) = try read(.can(try CardAccessNumber(Self.can)), options: options)
            XCTAssertEqual(result.pace?.mapping.rawValue, mapping)
            XCTAssertEqual(result.pace?.parameterID, pace["parameterId"] as? Int)
            XCTAssertNotNil(result.files[.dg2])
            if mapping == "CAM" {
                let cam = try XCTUnwrap(result.chipAuthenticationMapping)
                XCTAssertEqual(cam.keyID, 12, "not the generic CA key listed first")
                XCTAssertTrue(
                    cam.provesChip(anchoredLike: try passive(result)),
                    "\(cam.cardSecurityVerification?.failures ?? [])")
                let decision = GenuinenessPolicy(requireAntiClone: true)
                    .decide(GenuinenessFacts(read: result, passive: try passive(result)))
                XCTAssertTrue(decision.genuine, "PACE-CAM counts: \(decision.reasons)")
                XCTAssertEqual(decision.outcome(of: "pace-cam"), .passed)
            }
        }
    }

    /// A forged EF.CardSecurity (signed under a CSCA nobody trusts, or a key swapped after signing): PACE-CAM runs
    /// but does not prove the chip.
    func testAForgedCardSecurityMakesPACECAMNotCount() throws {
        let rogue = [
            "certificate": "@" + pki.appendingPathComponent("rogue/dsc.pem").path,
            "key": "@" + pki.appendingPathComponent("rogue/dsc.key").path,
        ]
        for layout in [["signer": rogue], ["alterAfterSigning": true]] as [[String: Any]] {
            try insert([
                "pace": [
                    "parameterId": 13, "cipher": "AES-128", "can": Self.can, "mapping": "CAM",
                    "cardSecurity": layout,
                ], "bac": false,
            ])
            let (unverified, _) = try read(.can(try CardAccessNumber(Self.can)))
            var result = unverified
            XCTAssertNil(result.chipAuthenticationMapping?.cardSecurityVerification)
            result.verifyCardSecurity(trustStore: try trustStore)
            let cam = try XCTUnwrap(result.chipAuthenticationMapping)
            let passive = try passive(result)
            XCTAssertTrue(passive.passed, "the EF.SOD itself is genuine: \(passive.failures)")
            XCTAssertFalse(cam.cardSecurityVerification?.passed ?? true, "\(layout)")
            XCTAssertFalse(cam.provesChip(anchoredLike: passive), "\(layout)")
            let decision = GenuinenessPolicy().decide(GenuinenessFacts(read: result, passive: passive))
            XCTAssertFalse(decision.genuine, "\(layout)")
            XCTAssertEqual(decision.outcome(of: "pace-cam"), .failed, "\(layout)")
        }
    }

    // MARK: Plain status words under secure messaging

    /// A chip whose short reads are capped below 0xE7 and that answers the larger Le with a plain 6700 is read
    /// completely, keeping or closing its session, with no extra APDU on any file after the first.
    func testShortLeCapAnsweredWithAPlain6700() throws {
        for session in ["kept", "closed"] {
            try insert([
                "extendedLength": false, "maxShortResponse": 0xDF, "plainStatusWords": session,
                "dg11": ["fullName": "SALLEY JOHN", "personalNumber": "UTO-1990-0001"],
            ])
            let (result, log) = try read()
            XCTAssertEqual(result.readChunkSize, 0xDF, session)
            XCTAssertEqual(result.statistics.plainStatusAnswers, 1, session)
            XCTAssertEqual(result.statistics.sessionsReestablished, session == "kept" ? 0 : 1, session)
            XCTAssertTrue(result.skippedFiles.isEmpty, "\(session): \(result.skippedFiles)")
            XCTAssertEqual(Set(result.files.keys), [.com, .dg1, .dg2, .dg11, .sod], session)
            // Per file after the first: one SELECT and ceil(size / 0xDF) reads, nothing more.
            let selects = log.protectedFileSelections()
            XCTAssertEqual(selects.count, 5, "\(session): \(selects)")
            for (file, commands) in selects.dropFirst() {
                let size = try XCTUnwrap(result.files[file]).count
                XCTAssertEqual(commands, 1 + (size + 0xDF - 1) / 0xDF, "\(session) \(file)")
            }
        }
    }

    /// A chip that never answers the size asked: bounded retries, then a clear error (in process and through
    /// enrolld); data in plain after SM started is refused however lenient the reader is about status words.
    func testAChipThatNeverAnswersAndPlainDataAreRefused() throws {
        try insert(["extendedLength": false, "maxShortResponse": 100, "plainStatusWords": "kept"])
        XCTAssertThrowsError(try read()) { error in
            guard case .secureMessaging(.recoveryExhausted(_, let reestablished, let last)) = error as? MRTDError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(reestablished, PlainStatusLimits.default.maxReestablishments)
            XCTAssertEqual(last, .wrongLength)
        }
        let (_, client) = try bench.startDaemon()
        try bench.waitForCard(in: Bench.reader0, client: client)
        let body = try JSONEncoder().encode(
            CardReadRequest(
                reader: Bench.reader0,
                accessKey: AccessKeyRequest(mrz: Self.td1.joined(separator: "\n"))))
        let refused = try client.post("/v1/cards/read", json: [UInt8](body))
        XCTAssertEqual(refused.status, 502)
        let problem = try JSONDecoder().decode(Problem.self, from: Data(refused.body))
        XCTAssertEqual(problem.code, "chip-security-error")
        XCTAssertTrue(problem.detail.contains("gives up"), problem.detail)

        for session in ["kept", "closed"] {
            try insert(["plainStatusWords": session], faults: ["plain-data:during=dg2"])
            XCTAssertThrowsError(try read(), session) { error in
                guard case .secureMessaging = error as? MRTDError else { return XCTFail("\(session): \(error)") }
            }
        }
    }

    // MARK: Files as issued

    func testDataGroupsAndEFATRInfoAsIssued() throws {
        let signature = bench.workDirectory.appendingPathComponent("signature.jpg")
        try FileManager.default.copyItem(at: Self.portrait, to: signature)
        try insert([
            "pace": ["parameterId": 13, "cipher": "AES-128", "can": Self.can], "bac": false,
            "extendedLength": true, "atrInfo": ["extendedLength": true, "maxCommand": 1000, "maxResponse": 1000],
            "portraitHeaderType": 1, "dg7": ["@" + signature.path], "dg13": "5F0103414243",
            "dg16": [["name": "DOE<<JANE", "telephone": "+1 555 0100", "dateRecorded": "20240115"]],
            "dg11": ["fullName": "SALLEY JOHN", "otherNames": ["SALLY<<JON"], "otherNamesBare": true],
        ])
        let (result, _) = try read(.can(try CardAccessNumber(Self.can)))
        XCTAssertEqual(result.cardCapabilities?.maxResponseLength, 1000)
        XCTAssertTrue(result.usedExtendedLength)
        XCTAssertEqual(result.readChunkSize, 1000 - 64, "answers sized by EF.ATR/INFO from the first READ BINARY")
        let data = try DocumentData(files: result.files)
        XCTAssertEqual(data.portrait?.format, .jpeg)
        XCTAssertTrue(data.portrait?.headerDisagreesWithImage == true, "header says JPEG 2000; the bytes decide")
        XCTAssertEqual(data.dg7?.formats, [.jpeg])
        XCTAssertEqual(data.dg13?.content, [0x5F, 0x01, 0x03, 0x41, 0x42, 0x43])
        XCTAssertEqual(data.dg16?.persons.first?.name, "DOE<<JANE")
        XCTAssertEqual(data.dg11?.otherNames, ["SALLY<<JON"])
        XCTAssertTrue(try passive(result).passed, "every data group matches its hash")
    }
}

/// Wraps a channel and records every command's header and the answer's status word (tests count APDUs per file).
final class RecordingChannel: CardChannel {
    struct Entry {
        var header: [UInt8]
        var statusWord: StatusWord?
    }

    let base: CardChannel
    private(set) var entries: [Entry] = []

    init(base: CardChannel) { self.base = base }

    var supportsExtendedLength: Bool { base.supportsExtendedLength }
    var atr: [UInt8] { base.atr }

    func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        var entry = Entry(header: [command.cla, command.ins, command.p1, command.p2])
        defer { entries.append(entry) }
        let response = try base.transmit(command)
        entry.statusWord = response.statusWord
        return response
    }

    /// The commands from each protected SELECT of an EF (P1 02) to the next, labelled with the files the reader reads
    /// in order (EF.COM, DG1, DG2, DG11, EF.SOD). A SELECT replayed after a new session (plain commands since the last
    /// SELECT: access control ran again) belongs to the file before.
    func protectedFileSelections(order: [FileID] = [.com, .dg1, .dg2, .dg11, .sod]) -> [(FileID, Int)] {
        var counts: [Int] = []
        var sawPlain = false
        for entry in entries {
            let secure = entry.header[0] & 0x0C == 0x0C
            let isSelect = secure && entry.header[1] == 0xA4 && entry.header[2] == 0x02
            if isSelect && !(sawPlain && !counts.isEmpty) {
                counts.append(1)
                sawPlain = false
                continue
            }
            if !secure { sawPlain = true }
            if isSelect { sawPlain = false }
            if !counts.isEmpty { counts[counts.count - 1] += 1 }
        }
        return counts.enumerated().map { ($0.offset < order.count ? order[$0.offset] : .sod, $0.element) }
    }
}
