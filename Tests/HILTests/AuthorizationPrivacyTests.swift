import API
import DaemonCore
import Enrollment
import Foundation
import XCTest

/// Roles through the real socket with callers of other uids and groups, and what a whole enrollment and the
/// lifecycle leave behind in the log, the event stream, the database and on disk.
extension LifecycleTests {
    /// Runs the built enrollctl as `uid`/`gid` with `groups` (none: cleared) through setpriv, like kiosk software
    /// or an operator's shell would run it.
    private func enrollctl(as uid: UInt32, gid: UInt32 = 65534, groups: [UInt32] = [], _ arguments: [String],
                           binary: String) throws -> (status: Int32, output: String) {
        let groupOption = groups.isEmpty ? "--clear-groups" : "--groups=" + groups.map(String.init).joined(separator: ",")
        let result = try Bench.runTool("/usr/bin/setpriv", ["--reuid=\(uid)", "--regid=\(gid)", groupOption, "--",
                                                            binary, "--socket", socket] + arguments)
        return (result.code, result.output)
    }

    func testKioskOperatorAndCallerInNoRoleThroughTheSocketAsOtherUsers() throws {
        try XCTSkipUnless(getuid() == 0, "needs root to run clients as other uids (CI runs as root)")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "setpriv (util-linux) missing")
        // Clients of uid 65534 reach the socket through its group; everything on the way must be traversable.
        chmod(bench.workDirectory.path, 0o755)
        let binary = bench.workDirectory.appendingPathComponent("enrollctl").path
        try FileManager.default.copyItem(atPath: try Bench.executable("enrollctl"), toPath: binary)
        chmod(binary, 0o755)
        try startDaemon(extraConfig: """
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

        try insertCard(mrz: Self.salley, person: "John_Salley")
        let mine = try enroll(Self.salley, person: "John_Salley", complete: EnrollmentCompleteBody(csr: try makeKey("a").csr))
        let serial = try XCTUnwrap(mine.certificateSerial)
        let other = Self.td1(document: "E12345678", birth: "800101", expiry: "350101", name: "SCHNEIDER<<JOHN")
        try insertCard(mrz: other, person: "John_Schneider")
        let theirs = try enroll(other, person: "John_Schneider")

        // No role: health only, and a refusal that says who the caller is and what to do.
        XCTAssertEqual(try enrollctl(as: 65533, ["health"], binary: binary).status, 0)
        let stranger = try enrollctl(as: 65533, ["readers"], binary: binary)
        XCTAssertNotEqual(stranger.status, 0)
        XCTAssertTrue(stranger.output.contains("uid 65533") && stranger.output.contains("[roles]"), stranger.output)

        // A kiosk (uid 65534, no groups): readers yes; another account's records, revocation, cancellation no.
        XCTAssertEqual(try enrollctl(as: 65534, ["readers"], binary: binary).status, 0)
        let noProof = try enrollctl(as: 65534, ["usage", mine.accountID], binary: binary)
        XCTAssertNotEqual(noProof.status, 0)
        XCTAssertTrue(noProof.output.contains("only for its holder"), noProof.output)
        let own = try enrollctl(as: 65534, ["--holder-session", mine.enrollmentID, "usage", mine.accountID, "--json"],
                                binary: binary)
        XCTAssertEqual(own.status, 0, own.output)
        let page = try JSONDecoder().decode(UsagePage.self, from: Data(own.output.utf8))
        XCTAssertTrue(page.records.contains { $0.event == "certificate-issued" })
        let another = try enrollctl(as: 65534, ["--holder-session", mine.enrollmentID, "usage", theirs.accountID],
                                    binary: binary)
        XCTAssertNotEqual(another.status, 0, "a kiosk serving one holder cannot read another account's usage records")
        XCTAssertTrue(another.output.contains("not a completed card-and-face verification of this account"), another.output)
        let revoke = try enrollctl(as: 65534, ["certs", "revoke", serial, "--reason", "key-compromise"], binary: binary)
        XCTAssertNotEqual(revoke.status, 0)
        XCTAssertTrue(revoke.output.contains("needs the operator role"), revoke.output)
        let cancel = try enrollctl(as: 65534, ["accounts", "cancel", theirs.accountID, "--reason", "card cancelled"],
                                   binary: binary)
        XCTAssertNotEqual(cancel.status, 0)
        XCTAssertTrue(cancel.output.contains("needs the operator role"), cancel.output)
        let claimed = try enrollctl(as: 65534, ["--role", "operator", "accounts", "cancel", theirs.accountID,
                                                "--reason", "card cancelled"], binary: binary)
        XCTAssertTrue(claimed.output.contains("has the kiosk role, not operator"), claimed.output)

        // An operator (same uid, supplementary group 4242): any account, revocation, cancellation; not the trust store.
        let operatorGroups: [UInt32] = [4242]
        XCTAssertEqual(try enrollctl(as: 65534, groups: operatorGroups, ["usage", theirs.accountID], binary: binary).status, 0)
        let revoked = try enrollctl(as: 65534, groups: operatorGroups, ["--channel", "counter-3", "certs", "revoke", serial,
                                                                       "--reason", "key-compromise"], binary: binary)
        XCTAssertEqual(revoked.status, 0, revoked.output)
        let cancelled = try enrollctl(as: 65534, groups: operatorGroups, ["--channel", "counter-3", "accounts", "cancel",
                                                                         theirs.accountID, "--reason", "card cancelled"],
                                      binary: binary)
        XCTAssertEqual(cancelled.status, 0, cancelled.output)
        let certificate = bench.workDirectory.appendingPathComponent("csca.pem")
        try Data(contentsOf: URL(fileURLWithPath: "\(pki.path)/dsc.pem")).write(to: certificate)
        chmod(certificate.path, 0o644)
        let trust = try enrollctl(as: 65534, groups: operatorGroups, ["trust", "import", certificate.path], binary: binary)
        XCTAssertTrue(trust.output.contains("needs the admin role"), trust.output)

        let records = try usage(theirs.accountID)
        let change = try XCTUnwrap(records.first { $0.event == "status-changed" })
        XCTAssertEqual([change.actorRole, change.channel, String(change.actorUid)], ["operator", "counter-3", "65534"])
        let revocation = try XCTUnwrap(try usage(mine.accountID).first { $0.event == "certificate-revoked" })
        XCTAssertEqual([revocation.actorRole, String(revocation.actorUid)], ["operator", "65534"])
        XCTAssertEqual(try decode(AccountView.self, try client.get("/v1/accounts/\(theirs.accountID)")).status, "cancelled")
    }
}
