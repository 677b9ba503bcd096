import DaemonCore
import Foundation
import XCTest

/// `Configuration.table` is the one definition of enrolld.conf: the shipped file, the manual page generated from
/// it, the parser and the `Configuration` struct must all agree with it.
final class ConfigurationTableTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let shippedFile = root.appendingPathComponent("Packaging/enrolld.conf")

    /// The table's keys as (section, name, default), the way a file or page lists them.
    static var tableEntries: [Entry] {
        Configuration.allKeys.map { Entry(section: $0.section, name: $0.name, value: $0.defaultValue) }
    }

    struct Entry: Hashable, CustomStringConvertible {
        var section: String
        var name: String
        var value: String
        var description: String { "[\(section)] \(name) = \(value)" }
    }

    // MARK: Known answers

    func testKnownDefaultsAndWhatTheyAccept() throws {
        let expected: [String: (String, String)] = [
            "api.socket": ("/run/enrolld/api.sock", "an absolute path under 108 bytes"),
            "api.socket_mode": ("0660", "octal permission bits such as 0660"),
            "api.socket_group": ("", "a group name or number"),
            "roles.admin": ("uid:0", "comma-separated uid:N, user:NAME, gid:N or group:NAME (empty: nobody)"),
            "daemon.log_level": ("info", "error, warning, notice, info or debug"),
            "readers.pcsc_retry_seconds": ("1", "0.1 to 60 seconds"),
            "face.threshold": ("0.5", "a distance in (0, 1.5]"),
            "face.minimum_face_size": ("60", "20 to 2000 pixels"),
            "trust.directory": ("/var/lib/enrolld/trust", "an absolute path"),
            "authenticity.require_anti_clone": ("false", "true or false"),
            "enrollment.max_photo_attempts": ("3", "1 to 10"),
            "passcode.lockout_seconds": ("3600", "1 to 604800 seconds"),
            "passcode.max_total_failures": ("20", "1 to 1000"),
            "passcode.kiosk_budget": ("50", "1 to 100000"),
            "audit.head_interval_seconds": ("300", "1 to 86400 seconds"),
            "audit.syslog": ("false", "true or false"),
            "ca.validity_years": ("3", "1 to 10 years"),
            "ca.certificate_policies": ("", "comma-separated dotted OIDs"),
            "store.backend": ("sqlite", "sqlite or postgresql"),
            "store.sslmode": ("", "disable, allow, prefer, require, verify-ca or verify-full"),
            "ca.ca_issuers_url": ("", "an http(s) URL"),
            "ocsp.response_validity_seconds": ("86400", "60 to 864000 seconds"),
            "ocsp.cache_capacity": ("100000", "64 to 10000000"),
            "crl.validity_seconds": ("86400", "300 to 2678400 seconds"),
            "trust_list.territory": ("", "an ISO 3166-1 alpha-2 code such as HK"),
            "trust_list.directory": ("/var/lib/enrolld/trust-lists", "an absolute path"),
            "trust_list.pinned_signers": ("", "comma-separated absolute paths of PEM files"),
            "face.workers": ("2", "1 to 64"),
            "face.probe_max_pixels": ("12000000", "100000 to 100000000 pixels"),
            "face.reference_max_pixels": ("2000000", "100000 to 100000000 pixels"),
            "liveness.required_for": ("signing", "none, signing or all"),
            "liveness.max_attempts": ("3", "1 to 10"),
            "liveness.report_only": ("", "comma-separated check names"),
        ]
        for (name, (value, accepts)) in expected {
            let parts = name.split(separator: ".").map(String.init)
            let key = try XCTUnwrap(Configuration.key(parts[0], parts[1]), name)
            XCTAssertEqual(key.defaultValue, value, name)
            XCTAssertEqual(key.type.expected, accepts, name)
        }
        XCTAssertEqual(Configuration.allKeys.count, 147)
    }

    func testAnInvalidValueSaysWhatTheKeyAccepts() {
        let cases: [(String, String)] = [
            (
                "[api]\nsocket_mode = 999",
                "f:2: '999' is not valid for api.socket_mode: expected octal permission bits such as 0660"
            ),
            ("[face]\n\nthreshold = 0", "f:3: '0' is not valid for face.threshold: expected a distance in (0, 1.5]"),
            ("[face]\nthreshold = 1.6", "f:2: '1.6' is not valid for face.threshold: expected a distance in (0, 1.5]"),
            (
                "[enrollment]\nmax_photo_attempts = 11",
                "f:2: '11' is not valid for enrollment.max_photo_attempts: expected 1 to 10"
            ),
            ("[passcode]\nenabled = maybe", "f:2: 'maybe' is not valid for passcode.enabled: expected true or false"),
            ("[ca]\nocsp_url = ftp://x", "f:2: 'ftp://x' is not valid for ca.ocsp_url: expected an http(s) URL"),
            (
                "[trust_list]\nterritory = hk",
                "f:2: 'hk' is not valid for trust_list.territory: expected an ISO 3166-1 alpha-2 code such as HK"
            ),
            (
                "[trust_list]\npinned_signers = signer.pem",
                "f:2: 'signer.pem' is not valid for trust_list.pinned_signers: "
                    + "expected comma-separated absolute paths of PEM files"
            ),
            (
                "[ca]\ncertificate_policies = 1.2,x",
                "f:2: '1.2,x' is not valid for ca.certificate_policies: "
                    + "expected comma-separated dotted OIDs"
            ),
            ("[tiers]\nbasic_name =", "f:2: '' is not valid for tiers.basic_name: expected a name"),
            (
                "[daemon]\nlog_level = loud",
                "f:2: 'loud' is not valid for daemon.log_level: "
                    + "expected error, warning, notice, info or debug"
            ),
            (
                "[readers]\nread_timeout_seconds = nan",
                "f:2: 'nan' is not valid for readers.read_timeout_seconds: "
                    + "expected 0.5 to 600 seconds"
            ),
            (
                "[api]\nsocket = /" + String(repeating: "s", count: 107),
                "f:2: '/\(String(repeating: "s", count: 107))' "
                    + "is not valid for api.socket: expected an absolute path under 108 bytes"
            ),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try Configuration.parse(text, source: "f"), text) {
                XCTAssertEqual("\($0)", message)
            }
        }
    }

    func testOptionalSettingsAreUnsetByAnEmptyValue() throws {
        let configuration = try Configuration.parse(
            """
            [api]
            socket_group =
            [ca]
            ocsp_url =
            crl_distribution_point = "https://ca.example/crl"
            [store]
            sslmode = VERIFY-FULL
            password_file =
            """)
        XCTAssertNil(configuration.socketGroup)
        XCTAssertNil(configuration.ocspURL)
        XCTAssertNil(configuration.storePasswordFile)
        XCTAssertEqual(configuration.crlDistributionPoint, "https://ca.example/crl", "quotes are taken off")
        XCTAssertEqual(configuration.storeSSLMode, "verify-full", "libpq gets the word in its own spelling")
    }

    // MARK: The table against the shipped file and the manual page

    /// Packaging/enrolld.conf is exactly what `enrolld --print-default-config` writes.
    func testShippedFileIsTheTablesDefaultFile() throws {
        let shipped = try String(contentsOf: Self.shippedFile, encoding: .utf8)
        let written = Configuration.defaultFileText()
        let shippedLines = shipped.components(separatedBy: "\n")
        let writtenLines = written.components(separatedBy: "\n")
        let firstDifference = zip(shippedLines, writtenLines).enumerated().first { $0.element.0 != $0.element.1 }
        let fix = "run `enrolld --print-default-config > Packaging/enrolld.conf`"
        if let index = firstDifference?.offset {
            XCTFail(
                "Packaging/enrolld.conf line \(index + 1) is '\(shippedLines[index])', the table writes "
                    + "'\(writtenLines[index])': \(fix)")
        } else {
            XCTAssertEqual(
                shippedLines.count, writtenLines.count,
                "Packaging/enrolld.conf has other lines at its end: \(fix)")
        }
    }

    /// Read the way an operator reads it: every `#key = default` line, by section.
    func testShippedFileListsEveryKeyWithItsDefault() throws {
        var entries: [Entry] = []
        var section = ""
        for line in try String(contentsOf: Self.shippedFile, encoding: .utf8).components(separatedBy: "\n") {
            if line.hasPrefix("[") && line.hasSuffix("]") { section = String(line.dropFirst().dropLast()) }
            guard line.hasPrefix("#"), !line.hasPrefix("# "), let equals = line.range(of: " =") else { continue }
            let name = String(line[line.index(after: line.startIndex)..<equals.lowerBound])
            let value = line[equals.upperBound...].trimmingCharacters(in: .whitespaces)
            entries.append(Entry(section: section, name: name, value: value))
        }
        assertSameEntries(entries, in: "Packaging/enrolld.conf")
    }

    /// enrolld.conf(5) as scripts/build-deb.sh makes it: docs/enrolld.conf.5.py over the shipped file.
    func testManualPageListsEveryKeyWithItsDefault() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        let generator = Self.root.appendingPathComponent("docs/enrolld.conf.5.py")
        process.arguments = [generator.path, Self.shippedFile.path, "test"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let page = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "docs/enrolld.conf.5.py failed")

        var entries: [Entry] = []
        var section = ""
        for line in page.components(separatedBy: "\n") {
            if line.hasPrefix(".SH ["), line.hasSuffix("]") { section = String(line.dropFirst(5).dropLast()) }
            guard line.hasPrefix(".BR "), let quote = line.firstIndex(of: "\""), line.hasSuffix("\"") else { continue }
            let name = line.dropFirst(4)[..<quote].trimmingCharacters(in: .whitespaces)
            var value = String(line[line.index(after: quote)..<line.index(before: line.endIndex)])
            guard value.hasPrefix(" =") else { continue }
            value = String(value.dropFirst(2)).trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\\&") { value.removeFirst(2) }
            value = value.replacingOccurrences(of: "\\-", with: "-").replacingOccurrences(of: "\\\\", with: "\\")
            entries.append(Entry(section: section, name: name, value: value))
        }
        assertSameEntries(entries, in: "enrolld.conf(5)")
    }

    private func assertSameEntries(_ entries: [Entry], in document: String, line: UInt = #line) {
        let table = Self.tableEntries
        func same(_ a: Entry, _ b: Entry) -> Bool { a.section == b.section && a.name == b.name }
        let missing = table.filter { entry in !entries.contains { same($0, entry) } }
        let extra = entries.filter { entry in !table.contains { same($0, entry) } }
        let differing = entries.filter { entry in
            table.contains { same($0, entry) && $0.value != entry.value }
        }
        XCTAssertEqual(missing, [], "keys of the table missing from \(document)", line: line)
        XCTAssertEqual(extra, [], "keys in \(document) the table does not know", line: line)
        XCTAssertEqual(differing, [], "defaults in \(document) that differ from the table", line: line)
        let twice = entries.filter { entry in entries.filter { same($0, entry) }.count > 1 }
        XCTAssertEqual(twice, [], "keys listed twice in \(document)", line: line)
    }

    // MARK: The table against the parser and the struct

    func testKeysAreUniqueAndDocumented() {
        let names = Configuration.allKeys.map(\.key)
        XCTAssertEqual(Set(names).count, names.count, "a key listed twice")
        XCTAssertEqual(
            Set(Configuration.table.map(\.name)).count, Configuration.table.count,
            "a section listed twice")
        for key in Configuration.allKeys {
            XCTAssertTrue(key.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, key.key)
            XCTAssertFalse(key.summary.contains("\n"), "\(key.key): the summary is one line")
            XCTAssertTrue(key.summary.hasSuffix("."), "\(key.key): the summary is a sentence")
        }
    }

    /// Writing a key's default, or its example, changes nothing but that key.
    func testEveryDefaultAndExampleParses() throws {
        let defaults = Configuration()
        for key in Configuration.allKeys {
            let parsed = try Configuration.parse("[\(key.section)]\n\(key.name) = \(key.defaultValue)\n")
            for other in Configuration.allKeys {
                XCTAssertEqual(
                    other.value(in: parsed), other.value(in: defaults),
                    "writing \(key.key)'s default changed \(other.key)")
            }
            if let example = key.example {
                let withExample = try Configuration.parse(
                    "[\(key.section)]\n\(key.name) = \(example)\n"
                        + (key.key == "store.backend" ? "conninfo = x\n" : ""))
                XCTAssertEqual(key.value(in: withExample), example, key.key)
            }
        }
        XCTAssertEqual(
            try Configuration.parse(Configuration.defaultFileText()), defaults,
            "the commented default file is the defaults")
    }

    /// Every stored property of `Configuration` is set by some key, so no setting exists only in code.
    func testEveryPropertyIsSetByAKey() throws {
        let defaults = Configuration()
        var covered: Set<String> = []
        for key in Configuration.allKeys {
            let value = try XCTUnwrap(Self.otherValue(for: key), "\(key.key): no test value for \(key.type)")
            let text =
                "[\(key.section)]\n\(key.name) = \(value)\n"
                + (key.key == "store.backend" ? "conninfo = host=db\n" : "")
                + (key.key == "api.max_connections" ? "reserved_connections = 0\n" : "")
            let changed = try Configuration.parse(text)
            XCTAssertEqual(key.value(in: changed), value, "\(key.key) reads back as written")
            let before = Dictionary(
                uniqueKeysWithValues: Mirror(reflecting: defaults).children
                    .map { ($0.label ?? "", String(describing: $0.value)) })
            let properties = Mirror(reflecting: changed).children
                .filter { before[$0.label ?? ""] != String(describing: $0.value) }
            XCTAssertFalse(properties.isEmpty, "\(key.key) = \(value) changed no property")
            covered.formUnion(properties.compactMap(\.label))
        }
        let all = Set(Mirror(reflecting: defaults).children.compactMap(\.label))
        XCTAssertEqual(
            all.subtracting(covered), [],
            "properties of Configuration that no key sets: add them to Configuration.table")
    }

    /// The settings in effect, written and read back, are the same settings.
    func testSettingsInEffectReadBack() throws {
        let configuration = try Configuration.parse(
            """
            [api]
            socket_group = kiosk
            [roles]
            kiosk = uid:1001, group:kiosk
            [face]
            threshold = 0.45
            [ca]
            certificate_policies = 1.2.3, 1.2.4
            [tiers]
            basic_name = iAM Smart
            [store]
            backend = postgresql
            conninfo = postgresql://enrolld@db/enrolld
            """)
        let text = configuration.fileText(source: "test")
        let again = try Configuration.parse(text)
        XCTAssertEqual(again.fileText(source: "test"), text)
        XCTAssertEqual(again.roles.principals[.kiosk], [.uid(1001), .group("kiosk")])
        XCTAssertEqual(again.certificatePolicies, ["1.2.3", "1.2.4"])
        XCTAssertEqual(again.basicTierName, "iAM Smart")
        XCTAssertTrue(text.contains("\n[store]\nbackend = postgresql\n"), text)
    }

    /// A valid value other than the default, from the key's type.
    static func otherValue(for key: ConfigurationKey) -> String? {
        let current = key.defaultValue
        switch key.type {
        case .boolean: return current == "true" ? "false" : "true"
        case let .integer(range, _):
            return String(current == String(range.lowerBound) ? range.upperBound : range.lowerBound)
        case let .decimal(range, _, _):
            let high =
                range.upperBound == range.upperBound.rounded()
                ? String(Int(range.upperBound))
                : String(range.upperBound)
            return current == high ? "0.75" : high
        case .permissionBits: return current == "0600" ? "0640" : "0600"
        case .absolutePath: return "/srv/enrolld-test/\(key.name)"
        case .url: return "https://\(key.name).example/"
        case let .choice(words): return words.first { $0 != current }
        case .list: return key.example ?? "1.2.840.1, 1.2.840.2"
        case .text:
            return key.section == "roles" ? "uid:4242, group:test" : key.example ?? "test-\(key.name)"
        }
    }
}
