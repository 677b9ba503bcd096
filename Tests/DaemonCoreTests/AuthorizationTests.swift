import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation
import XCTest

/// Roles from configuration and SO_PEERCRED credentials, and the permission table route by route.
final class RoleMappingTests: XCTestCase {
    func testPrincipalsParseEveryForm() {
        XCTAssertEqual(RolePrincipal("uid:1001"), .uid(1001))
        XCTAssertEqual(RolePrincipal("UID: 1001"), .uid(1001))
        XCTAssertEqual(RolePrincipal("user:kiosk"), .user("kiosk"))
        XCTAssertEqual(RolePrincipal("root"), .user("root"))
        XCTAssertEqual(RolePrincipal("1002"), .uid(1002))
        XCTAssertEqual(RolePrincipal("gid:990"), .gid(990))
        XCTAssertEqual(RolePrincipal("group:enrolld-operators"), .group("enrolld-operators"))
        XCTAssertEqual(RolePrincipal("group:990"), .gid(990))
        for bad in ["", "uid:", "uid:x", "uid:-1", "gid:99999999999", "host:a", "group:a b", "user:-rf", "a:b:c"] {
            XCTAssertNil(RolePrincipal(bad), bad)
        }
    }

    func testRolesSectionParsesAndDefaultsToRootAsAdmin() throws {
        XCTAssertEqual(Configuration().roles.principals, [.admin: [.uid(0)]], "root is admin by default")
        let configuration = try Configuration.parse(
            """
            [roles]
            kiosk = uid:1001, group:kiosk
            operator = group:enrolld-operators
            admin = root, gid:0
            """)
        XCTAssertEqual(configuration.roles.principals[.kiosk], [.uid(1001), .group("kiosk")])
        XCTAssertEqual(configuration.roles.principals[.operator], [.group("enrolld-operators")])
        XCTAssertEqual(configuration.roles.principals[.admin], [.user("root"), .gid(0)])
        XCTAssertEqual(try Configuration.parse("[roles]\nadmin =").roles.principals[.admin], [], "empty: nobody")
        XCTAssertThrowsError(try Configuration.parse("[roles]\nkiosk = uid:1001, host:x", source: "f")) {
            guard case let .invalidValue(_, line, key, _, expected) = $0 as? ConfigurationError else {
                return XCTFail("\($0)")
            }
            XCTAssertEqual(line, 2)
            XCTAssertEqual(key, "roles.kiosk")
            XCTAssertTrue(expected.contains("group:NAME"), expected)
        }
        XCTAssertThrowsError(try Configuration.parse("[roles]\nholder = uid:1")) {
            guard case .unknownKey = $0 as? ConfigurationError else { return XCTFail("\($0)") }
        }
    }

    func testPeerRoleIsTheHighestOfUidPrimaryGroupAndSupplementaryGroups() {
        var assignments = RoleAssignments()
        assignments.principals = [
            .kiosk: [.uid(1001), .gid(500)], .operator: [.gid(600), .uid(1003)],
            .admin: [.uid(0)],
        ]
        let roles = assignments.resolved(daemonUID: 4242)
        XCTAssertNil(roles.role(of: PeerCredentials(pid: 1, uid: 1000, gid: 1000)), "in no role")
        XCTAssertEqual(roles.role(of: PeerCredentials(pid: 1, uid: 1001, gid: 1001)), .kiosk)
        XCTAssertEqual(roles.role(of: PeerCredentials(pid: 1, uid: 1000, gid: 500)), .kiosk, "primary gid")
        XCTAssertEqual(
            roles.role(of: PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [7, 600])), .operator,
            "supplementary group (SO_PEERGROUPS)")
        XCTAssertEqual(
            roles.role(of: PeerCredentials(pid: 1, uid: 1001, gid: 1000, groups: [600])), .operator,
            "the highest role wins")
        XCTAssertEqual(roles.role(of: PeerCredentials(pid: 1, uid: 1003, gid: 500)), .operator)
        XCTAssertEqual(roles.role(of: PeerCredentials(pid: 1, uid: 0, gid: 0)), .admin)
        XCTAssertEqual(roles.role(of: PeerCredentials(pid: 1, uid: 4242, gid: 4242)), .admin, "the daemon's own user")
        XCTAssertNil(roles.role(of: .unknown), "failed SO_PEERCRED matches no one")

        var withoutRoot = RoleAssignments()
        withoutRoot.principals[.admin] = [.gid(700)]
        XCTAssertNil(
            withoutRoot.resolved(daemonUID: 4242).role(of: PeerCredentials(pid: 1, uid: 0, gid: 0)),
            "root is admin only by default")
    }

    func testNamesResolveThroughTheSystemAndUnknownNamesAreReported() throws {
        let rootGroup = try XCTUnwrap(getgrgid(0)).pointee.gr_name.map { String(cString: $0) } ?? "root"
        var assignments = RoleAssignments()
        assignments.principals = [
            .admin: [.user("root")], .kiosk: [.group(rootGroup), .group("no-such-group-x1")],
            .operator: [.user("no-such-user-x1")],
        ]
        let roles = assignments.resolved(daemonUID: 4242)
        XCTAssertEqual(roles.uids[0], .admin)
        XCTAssertEqual(roles.gids[0], .kiosk)
        XCTAssertEqual(roles.unknown.count, 2)
        XCTAssertTrue(roles.unknown.contains { $0.contains("no-such-group-x1") && $0.hasPrefix("roles.kiosk") })
        XCTAssertTrue(roles.unknown.contains { $0.contains("no-such-user-x1") && $0.hasPrefix("roles.operator") })
    }

    func testRolesNest() {
        XCTAssertLessThan(Role.kiosk, .operator)
        XCTAssertLessThan(Role.operator, .admin)
    }
}

/// The permission table through the daemon's real router, in-process: each peer against every route.
final class RoutePermissionTests: XCTestCase {
    private static let nobody = PeerCredentials(pid: 1, uid: 4000, gid: 4000)
    private static let kiosk = PeerCredentials(pid: 1, uid: 4001, gid: 4001)
    private static let operatorPeer = PeerCredentials(pid: 1, uid: 4002, gid: 4002, groups: [4100])
    private static let admin = PeerCredentials(pid: 1, uid: 4003, gid: 4003)

    private var directory: URL!
    private var daemon: Daemon!
    private var router: Router!

    override func setUpWithError() throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "enrolld-authz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = try Configuration.parse(
            """
            [roles]
            kiosk = uid:4001
            operator = gid:4100
            admin = uid:4003
            """)
        configuration.stateDirectory = directory.path
        configuration.socketPath = directory.appendingPathComponent("api.sock").path
        daemon = Daemon(configuration: configuration)
        router = daemon.makeRouter()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func send(_ route: String, as peer: PeerCredentials, headers: [(String, String)] = []) -> HTTPResponse {
        let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
        let path = parts[1].replacingOccurrences(of: "{id}", with: UUID().uuidString)
            .replacingOccurrences(of: "{serial}", with: "0A1B").replacingOccurrences(of: "{device}", with: "phone")
        return router.response(
            to: HTTPRequest(
                method: parts[0], path: path,
                headers: headers.map { ($0.0.lowercased(), $0.1) }), peer: peer)
    }

    private func code(_ response: HTTPResponse) -> String {
        (try? JSONDecoder().decode(Problem.self, from: Data(response.body)))?.code ?? "status \(response.status)"
    }

    func testEveryRouteIsInThePermissionTableAndNoMore() {
        let routes = Set(router.routes.map(\.name))
        let table = RoutePermissions.table.map(\.route)
        XCTAssertEqual(Set(table).count, table.count, "no route listed twice")
        XCTAssertEqual(routes.subtracting(table), [], "routes without an entry (they would be admin-only)")
        XCTAssertEqual(Set(table).subtracting(routes), [], "entries without a route")
    }

    func testEachRoleReachesExactlyItsRoutes() {
        for entry in RoutePermissions.table {
            let allowed: [(PeerCredentials, Bool)] = [
                (Self.nobody, entry.access == .anyone),
                (Self.kiosk, entry.access == .anyone || entry.access == .kiosk),
                (Self.operatorPeer, entry.access != .admin),
                (Self.admin, true),
            ]
            for (peer, expected) in allowed {
                let response = send(entry.route, as: peer)
                if expected {
                    XCTAssertNotEqual(response.status, 403, "\(entry.route) as uid \(peer.uid): \(code(response))")
                } else {
                    XCTAssertEqual(response.status, 403, "\(entry.route) as uid \(peer.uid)")
                    XCTAssertEqual(response.header("Content-Type"), "application/problem+json")
                }
            }
        }
    }

    func testCallerInNoRoleIsToldWhoItIsAndHowToGetARole() throws {
        XCTAssertEqual(send("GET /v1/health", as: Self.nobody).status, 200)
        let refused = send("GET /v1/readers", as: PeerCredentials(pid: 9, uid: 4000, gid: 4000, groups: [27, 100]))
        XCTAssertEqual(refused.status, 403)
        let problem = try JSONDecoder().decode(Problem.self, from: Data(refused.body))
        XCTAssertEqual(problem.code, "no-role")
        for part in ["uid 4000", "gid 4000", "groups 27,100", "[roles]", "uid:4000", "kiosk, operator or admin"] {
            XCTAssertTrue(problem.detail.contains(part), "\(part) in \(problem.detail)")
        }
    }

    func testKioskCannotRevokeCancelOrReadAnotherAccountWithoutTheHoldersProof() throws {
        let revoke = send("POST /v1/certificates/{serial}/revoke", as: Self.kiosk)
        XCTAssertEqual(code(revoke), "role-required")
        XCTAssertTrue(try JSONDecoder().decode(Problem.self, from: Data(revoke.body)).detail.contains("operator role"))
        XCTAssertEqual(code(send("POST /v1/accounts/{id}/status", as: Self.kiosk)), "role-required")
        XCTAssertEqual(code(send("GET /v1/accounts/{id}/usage", as: Self.kiosk)), "holder-proof-required")
        XCTAssertEqual(code(send("GET /v1/accounts/{id}", as: Self.kiosk)), "holder-proof-required")
        // With a proof the request gets past authorization to the lifecycle (not set up here: 503).
        let proved = send(
            "GET /v1/accounts/{id}/usage", as: Self.kiosk,
            headers: [("X-Enrolld-Enrollment", UUID().uuidString)])
        XCTAssertEqual(code(proved), "enrollment-unavailable")
        let badProof = send("GET /v1/accounts/{id}/usage", as: Self.kiosk, headers: [("X-Enrolld-Enrollment", "x")])
        XCTAssertEqual(code(badProof), "enrollment-unavailable", "the lifecycle is checked before the proof's form")
        // An operator needs no proof.
        XCTAssertEqual(code(send("GET /v1/accounts/{id}/usage", as: Self.operatorPeer)), "enrollment-unavailable")
        XCTAssertEqual(code(send("POST /v1/accounts/{id}/status", as: Self.operatorPeer)), "missing-body")
        XCTAssertEqual(code(send("POST /v1/trust/import", as: Self.operatorPeer)), "role-required")
    }

    func testRoleHeaderOnlyNarrows() {
        let narrowed = send(
            "POST /v1/certificates/{serial}/revoke", as: Self.admin, headers: [("X-Enrolld-Role", "kiosk")])
        XCTAssertEqual(code(narrowed), "role-required", "an admin acting as kiosk is a kiosk")
        let raised = send("GET /v1/trust", as: Self.kiosk, headers: [("X-Enrolld-Role", "admin")])
        XCTAssertEqual(code(raised), "role-not-granted")
        let noRole = send("GET /v1/readers", as: Self.nobody, headers: [("X-Enrolld-Role", "admin")])
        XCTAssertEqual(code(noRole), "no-role")
        XCTAssertEqual(
            code(send("GET /v1/readers", as: Self.admin, headers: [("X-Enrolld-Role", "holder")])),
            "invalid-role")
        XCTAssertEqual(
            send("GET /v1/readers", as: Self.operatorPeer, headers: [("X-Enrolld-Role", "kiosk")]).status, 200)
    }
}

/// The API socket file as configured.
final class SocketPermissionTests: XCTestCase {
    func testDaemonCreatesTheSocketWithTheConfiguredModeAndGroup() throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "enrolld-sock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Root may give the socket any group; anyone else one of its own.
        let group = getuid() == 0 ? gid_t(65534) : getgid()
        let groupName = getgrgid(group).flatMap { $0.pointee.gr_name.map { String(cString: $0) } }
        for (mode, name) in [(UInt32(0o660), String(group)), (UInt32(0o640), groupName ?? String(group))] {
            var configuration = Configuration()
            configuration.stateDirectory = directory.appendingPathComponent("state").path
            configuration.socketPath = directory.appendingPathComponent("api.sock").path
            configuration.socketMode = mode
            configuration.socketGroup = name
            configuration.pcscRetrySeconds = 60
            let daemon = Daemon(configuration: configuration)
            try daemon.start()
            var info = stat()
            XCTAssertEqual(stat(configuration.socketPath, &info), 0)
            daemon.stop()
            XCTAssertEqual(info.st_mode & 0o7777, mode_t(mode), "mode \(String(mode, radix: 8))")
            XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
            XCTAssertEqual(info.st_gid, group, "group \(name)")
        }

        var configuration = Configuration()
        configuration.stateDirectory = directory.appendingPathComponent("state").path
        configuration.socketPath = directory.appendingPathComponent("api.sock").path
        configuration.socketGroup = "no-such-group-x1"
        XCTAssertThrowsError(try Daemon(configuration: configuration).start()) {
            XCTAssertTrue("\($0)".contains("no-such-group-x1"), "\($0)")
        }
    }
}
