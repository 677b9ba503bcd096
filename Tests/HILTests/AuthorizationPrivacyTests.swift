import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Enrollment
import Foundation
import XCTest

/// Roles through the real socket with callers of other uids and groups, and what a whole enrollment and the
/// lifecycle leave behind in the log, the event stream, the database and on disk.
extension LifecycleTests {
    /// Runs `tool` as `uid`/`gid` with `groups` (none: cleared) through setpriv, like kiosk software or an
    /// operator's shell would run it.
    private func run(
        as uid: UInt32, gid: UInt32 = 65534, groups: [UInt32] = [], _ tool: String,
        _ arguments: [String]
    ) throws -> (status: Int32, output: String) {
        let groupOption =
            groups.isEmpty ? "--clear-groups" : "--groups=" + groups.map(String.init).joined(separator: ",")
        let result = try Bench.runTool(
            "/usr/bin/setpriv",
            ["--reuid=\(uid)", "--regid=\(gid)", groupOption, "--", tool]
                + arguments)
        return (result.code, result.output)
    }

    /// The built enrollctl (copied where uid 65534 may run it) as another user.
    private func enrollctl(
        as uid: UInt32, groups: [UInt32] = [], _ arguments: [String],
        binary: String
    ) throws -> (status: Int32, output: String) {
        try run(as: uid, groups: groups, binary, ["--socket", socket] + arguments)
    }

    func testKioskOperatorAndCallerInNoRoleThroughTheSocketAsOtherUsers() throws {
        try XCTSkipUnless(getuid() == 0, "needs root to run clients as other uids (CI runs as root)")
        try XCTSkipUnless(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "setpriv (util-linux) missing")
        // Clients of uid 65534 reach the socket through its group; everything on the way must be traversable.
        chmod(bench.workDirectory.path, 0o755)
        let binary = bench.workDirectory.appendingPathComponent("enrollctl").path
        try FileManager.default.copyItem(atPath: try Bench.executable("enrollctl"), toPath: binary)
        chmod(binary, 0o755)
        try startDaemon(
            extraConfig: """
                [api]
                socket_mode = 0660
                socket_group = 65534
                [roles]
                kiosk = uid:65534
                operator = gid:4242
                """)
        var info = stat()
        XCTAssertEqual(stat(socket, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660, "the socket's mode is as configured")
        XCTAssertEqual(info.st_gid, 65534, "the socket's group is as configured")

        // Another kiosk (root acting as kiosk) registers one holder; the kiosk of uid 65534 enrolls the next itself.
        let other = Self.td1(document: "E12345678", birth: "800101", expiry: "350101", name: "SCHNEIDER<<JOHN")
        try insertCard(mrz: other, person: "John_Schneider")
        let theirs = try enroll(other, person: "John_Schneider")
        try insertCard(mrz: Self.salley, person: "John_Salley")
        let livePhoto = bench.workDirectory.appendingPathComponent("live.jpg")
        try FileManager.default.copyItem(at: try photo("John_Salley", 3), to: livePhoto)
        _ = try makeKey("a")
        let csr = bench.workDirectory.appendingPathComponent("a.csr").path
        for file in [livePhoto.path, csr] { chmod(file, 0o644) }
        let enrolled = try enrollctl(
            as: 65534,
            [
                "enroll", "--reader", Bench.reader0, "--mrz", Self.salley.joined(separator: "\n"),
                "--photo", livePhoto.path, "--csr", csr, "--json",
            ], binary: binary)
        XCTAssertEqual(enrolled.status, 0, enrolled.output)
        let mine = try JSONDecoder().decode(EnrollmentOutcome.self, from: Data(enrolled.output.utf8))
        let serial = try XCTUnwrap(mine.certificateSerial)

        // No role: refused as it connects, health included, with a refusal that says who the caller is and what to do.
        for command in ["health", "readers"] {
            let stranger = try enrollctl(as: 65533, [command], binary: binary)
            XCTAssertNotEqual(stranger.status, 0, command)
            XCTAssertTrue(stranger.output.contains("uid 65533") && stranger.output.contains("[roles]"), stranger.output)
        }

        // A kiosk (uid 65534, no groups): readers yes; another account's records, revocation, cancellation no.
        XCTAssertEqual(try enrollctl(as: 65534, ["readers"], binary: binary).status, 0)
        let noProof = try enrollctl(as: 65534, ["usage", mine.accountID], binary: binary)
        XCTAssertNotEqual(noProof.status, 0)
        XCTAssertTrue(noProof.output.contains("only for its holder"), noProof.output)
        let own = try enrollctl(
            as: 65534, ["--holder-session", mine.enrollmentID, "usage", mine.accountID, "--json"],
            binary: binary)
        XCTAssertEqual(own.status, 0, own.output)
        let page = try JSONDecoder().decode(UsagePage.self, from: Data(own.output.utf8))
        XCTAssertTrue(page.records.contains { $0.event == "certificate-issued" })
        let another = try enrollctl(
            as: 65534, ["--holder-session", mine.enrollmentID, "usage", theirs.accountID],
            binary: binary)
        XCTAssertNotEqual(another.status, 0, "a kiosk serving one holder cannot read another account's usage records")
        // Kiosks get one uniform answer for every failed holder proof (no hint of why it failed).
        XCTAssertTrue(another.output.contains("Holder proof failed"), another.output)
        let foreignProof = try enrollctl(
            as: 65534, ["--holder-session", theirs.enrollmentID, "usage", theirs.accountID],
            binary: binary)
        XCTAssertNotEqual(foreignProof.status, 0, "a session another uid ran proves nothing to this kiosk")
        XCTAssertTrue(foreignProof.output.contains("Holder proof failed"), foreignProof.output)
        func sessionStatus(_ id: String, groups: [UInt32] = []) throws -> String {
            try run(
                as: 65534, groups: groups, "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "--unix-socket", socket, "http://localhost/v1/enrollments/\(id)",
                ]
            ).output
        }
        XCTAssertEqual(try sessionStatus(mine.enrollmentID), "200")
        XCTAssertEqual(try sessionStatus(theirs.enrollmentID), "404", "another uid's session is not found for a kiosk")
        XCTAssertEqual(try sessionStatus(theirs.enrollmentID, groups: [4242]), "200", "an operator sees every session")
        let revoke = try enrollctl(
            as: 65534, ["certs", "revoke", serial, "--reason", "key-compromise"], binary: binary)
        XCTAssertNotEqual(revoke.status, 0)
        XCTAssertTrue(revoke.output.contains("needs the operator role"), revoke.output)
        let cancel = try enrollctl(
            as: 65534, ["accounts", "cancel", theirs.accountID, "--reason", "card cancelled"],
            binary: binary)
        XCTAssertNotEqual(cancel.status, 0)
        XCTAssertTrue(cancel.output.contains("needs the operator role"), cancel.output)
        let claimed = try enrollctl(
            as: 65534,
            [
                "--role", "operator", "accounts", "cancel", theirs.accountID,
                "--reason", "card cancelled",
            ], binary: binary)
        XCTAssertTrue(claimed.output.contains("has the kiosk role, not operator"), claimed.output)

        // An operator (same uid, supplementary group 4242): any account, revocation, cancellation; not the trust store.
        let operatorGroups: [UInt32] = [4242]
        XCTAssertEqual(
            try enrollctl(as: 65534, groups: operatorGroups, ["usage", theirs.accountID], binary: binary).status, 0)
        let revoked = try enrollctl(
            as: 65534, groups: operatorGroups,
            [
                "--channel", "counter-3", "certs", "revoke", serial,
                "--reason", "key-compromise",
            ], binary: binary)
        XCTAssertEqual(revoked.status, 0, revoked.output)
        let cancelled = try enrollctl(
            as: 65534, groups: operatorGroups,
            [
                "--channel", "counter-3", "accounts", "cancel",
                theirs.accountID, "--reason", "card cancelled",
            ],
            binary: binary)
        XCTAssertEqual(cancelled.status, 0, cancelled.output)
        let certificate = bench.workDirectory.appendingPathComponent("csca.pem")
        try Data(contentsOf: URL(fileURLWithPath: "\(pki.path)/dsc.pem")).write(to: certificate)
        chmod(certificate.path, 0o644)
        let trust = try enrollctl(
            as: 65534, groups: operatorGroups, ["trust", "import", certificate.path], binary: binary)
        XCTAssertTrue(trust.output.contains("needs the admin role"), trust.output)

        let records = try usage(theirs.accountID)
        let change = try XCTUnwrap(records.first { $0.event == "status-changed" })
        XCTAssertEqual(
            [change.actorRole, change.channel, String(change.actorUid)], ["operator", "counter-3", "65534"])
        let revocation = try XCTUnwrap(try usage(mine.accountID).first { $0.event == "certificate-revoked" })
        XCTAssertEqual([revocation.actorRole, String(revocation.actorUid)], ["operator", "65534"])
        XCTAssertEqual(
            try decode(AccountView.self, try client.get("/v1/accounts/\(theirs.accountID)")).status, "cancelled")
    }
}

// MARK: Privacy

extension LifecycleTests {
    /// Every file under `directory` (recursively), with its bytes.
    private func files(under directory: URL) -> [(path: String, bytes: Data)] {
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else {
            return []
        }
        return walker.compactMap { item -> (String, Data)? in
            guard let url = item as? URL, let bytes = try? Data(contentsOf: url) else { return nil }
            return (url.path, bytes)
        }
    }

    /// Fails for every secret (in its upper, lower and given case) found in `bytes`.
    private func assertAbsent(
        _ secrets: [String], in bytes: Data, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        for secret in secrets {
            for form in Set([secret, secret.uppercased(), secret.lowercased()]) {
                XCTAssertNil(bytes.range(of: Data(form.utf8)), "'\(form)' in \(what)", file: file, line: line)
            }
        }
    }

    /// Three 48-byte pieces from inside an image file: any of them on disk means the image (or most of it) is there.
    private func fingerprints(_ image: URL) throws -> [Data] {
        let bytes = try Data(contentsOf: image)
        return [bytes.count / 4, bytes.count / 2, 3 * bytes.count / 4].map {
            bytes.subdata(in: $0..<min($0 + 48, bytes.count))
        }
    }

    func testLogEventsAndDatabaseHoldNoPersonalDataAndNoFaceImageStaysOnDisk() throws {
        let temporary = bench.workDirectory.appendingPathComponent("daemon-tmp")
        let workingDirectory = bench.workDirectory.appendingPathComponent("daemon-cwd")
        for directory in [temporary, workingDirectory] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        try startDaemon(
            extraConfig: "[daemon]\nlog_level = debug\n", environment: ["TMPDIR": temporary.path],
            directory: workingDirectory)
        let events = EventCollector(client: client)
        let mrz = Self.td1(document: "E12345678", birth: "800101", expiry: "350101", name: "SCHNEIDER<<JOHN")
        try insertCard(mrz: mrz, person: "John_Schneider", personalNumber: "7700112233")
        let livePhoto = try photo("John_Schneider", 3)
        let strangerPhoto = try photo("John_Salley", 3)
        let operatorAtCounter = ("operator", "counter-3")

        // A card read with the portrait, a wrong access key, a face mismatch, then a whole enrollment.
        let read = try send(
            "POST", "/v1/cards/read",
            CardReadRequest(
                reader: Bench.reader0, accessKey: AccessKeyRequest(mrz: mrz.joined(separator: "\n")),
                includePortrait: true),
            as: kiosk)
        XCTAssertEqual(read.status, 200, String(decoding: read.body, as: UTF8.self))
        let wrongKey = Self.td1(document: "E12345679", birth: "800101", expiry: "350101", name: "SCHNEIDER<<JOHN")
        XCTAssertGreaterThanOrEqual(try begin(wrongKey).status, 400)
        let session = try decode(EnrollmentView.self, try begin(mrz))
        let mismatch = try send(
            "POST", "/v1/enrollments/\(session.id)/photo",
            EnrollmentPhotoBody(
                photo: try Data(contentsOf: strangerPhoto).base64EncodedString()), as: kiosk)
        XCTAssertLessThan(mismatch.status, 500)
        _ = try decode(
            EnrollmentView.self,
            try send(
                "POST", "/v1/enrollments/\(session.id)/photo",
                EnrollmentPhotoBody(
                    photo: try Data(contentsOf: livePhoto).base64EncodedString()), as: kiosk))
        let device = try makeKey("device")
        let outcome = try decode(
            EnrollmentOutcome.self,
            try send(
                "POST", "/v1/enrollments/\(session.id)/complete",
                EnrollmentCompleteBody(
                    csr: device.csr, contact: ["email": "john.schneider@example.org"], deviceId: "phone-1",
                    devicePublicKey: device.publicKey), as: kiosk))
        let account = outcome.accountID
        let serial = try XCTUnwrap(outcome.certificateSerial)

        // The lifecycle: another device, contact, passcode, revocation, invalidation, audit, cancellation.
        let second = try makeKey("device-2")
        _ = try decode(
            DeviceBindingOutcome.self,
            try send(
                "POST", "/v1/accounts/\(account)/devices",
                DeviceBindBody(
                    deviceId: "phone-2", publicKey: second.publicKey), as: holder, proof: outcome.enrollmentID))
        struct Contact: Encodable { var contact: [String: String] }
        XCTAssertEqual(
            try send(
                "PUT", "/v1/accounts/\(account)/contact", Contact(contact: ["phone": "+852 5555 0199"]),
                as: holder, proof: outcome.enrollmentID
            ).status, 204)
        _ = try decode(
            PasscodeStatus.self,
            try send(
                "POST", "/v1/accounts/\(account)/passcode",
                PasscodeBody(passcode: "2468"), as: holder, proof: outcome.enrollmentID))
        XCTAssertEqual(
            try send(
                "POST", "/v1/accounts/\(account)/passcode/verify", PasscodeBody(passcode: "1111"),
                as: holder
            ).status, 403)
        XCTAssertEqual(try send("GET", "/v1/accounts/\(account)/usage", as: holder).status, 403)
        let byPasscode = try client.send(
            HTTPRequest(
                method: "GET", path: "/v1/accounts/\(account)/usage",
                headers: [
                    ("X-Enrolld-Role", "kiosk"), ("X-Enrolld-Passcode", "2468"),
                ]))
        XCTAssertEqual(byPasscode.status, 200, "the holder's passcode is a proof too")
        _ = try decode(AccountView.self, try client.get("/v1/accounts/\(account)"))
        _ = try decode(
            CertificateView.self,
            try send(
                "POST", "/v1/certificates/\(serial)/revoke",
                ["reason": "key-compromise"], as: operatorAtCounter))
        _ = try decode(
            StatusView.self,
            try send(
                "POST", "/v1/accounts/\(account)/status",
                StatusChangeBody(status: "invalid", reason: "reported lost"),
                as: operatorAtCounter))
        XCTAssertEqual(try enrollctl(["audit", "verify"]).status, 0)
        _ = try decode(
            StatusView.self,
            try send(
                "POST", "/v1/accounts/\(account)/status",
                StatusChangeBody(status: "cancelled", reason: "holder deceased"),
                as: operatorAtCounter))
        XCTAssertTrue(events.waitFor("account-status-changed", mentioning: "cancelled", timeout: 10))

        let secrets = [
            "E12345678", "E12345679", "7700112233", "SCHNEIDER", "John_Schneider", "SCHNEIDER<<JOHN",
            "john.schneider@example.org", "5555 0199", "I<UTOE12345678",
        ]
        let textSecrets = secrets + ["JOHN", "1980-01-01", "800101"]
        let images = try [livePhoto, strangerPhoto, try photo("John_Schneider", 0)].flatMap(fingerprints)
        func inspectState(_ moment: String) {
            let stored = files(under: state)
            XCTAssertTrue(stored.contains { $0.path.hasSuffix("enrolld.db") }, "the database was inspected")
            for (path, bytes) in stored {
                assertAbsent(secrets, in: bytes, "\(path) (\(moment))")
                for piece in images {
                    XCTAssertNil(bytes.range(of: piece), "part of a face image in \(path) (\(moment))")
                }
                XCTAssertFalse(
                    bytes.starts(with: [0xFF, 0xD8, 0xFF]) || bytes.starts(with: [0, 0, 0, 0x0C, 0x6A, 0x50])
                        || bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "an image file: \(path)")
            }
        }
        // While running (the write-ahead log holds the newest pages), then after a clean stop.
        XCTAssertTrue(FileManager.default.fileExists(atPath: state.appendingPathComponent("enrolld.db-wal").path))
        inspectState("running")
        events.stop()
        let streamed = events.all.map { "event: \($0.type)\ndata: \($0.data)\n" }.joined()
        XCTAssertTrue(streamed.contains("enrollment-completed") && streamed.contains("card-read-completed"), streamed)
        if let daemon { bench.stop(daemon) }
        inspectState("stopped")

        let log = bench.log("enrolld.log")
        XCTAssertTrue(log.contains("read card in") && log.contains("revoked"), "the debug log was captured: \(log)")
        for (what, text) in [("the daemon's log", log), ("the event stream", streamed)] {
            assertAbsent(textSecrets, in: Data(text.utf8), what)
        }
        for directory in [temporary, workingDirectory] {
            let left = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            XCTAssertEqual(left, [], "files left in the daemon's \(directory.lastPathComponent)")
        }
    }
}
