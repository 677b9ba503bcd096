import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// What every route refuses before it looks at its data: callers without its role, role claims, ids that are not
/// UUIDs, missing and malformed JSON bodies; and what the router refuses (unknown paths, other methods).
final class RoleAndRequestRefusalTests: XCTestCase {
    /// Routes whose handler always decodes a JSON body.
    static let requiredBodies: Set<String> = [
        "POST /v1/cards/read", "POST /v1/cards/probe", "POST /v1/faces/compare", "POST /v1/enrollments",
        "POST /v1/enrollments/{id}/photo", "POST /v1/enrollments/{id}/complete", "POST /v1/enrollments/{id}/guardian",
        "POST /v1/accounts/{id}/devices", "PUT /v1/accounts/{id}/contact", "POST /v1/accounts/{id}/passcode",
        "POST /v1/accounts/{id}/passcode/verify", "POST /v1/accounts/{id}/status", "POST /v1/trust/import",
    ]

    /// Routes whose body may be left out, but must be JSON when given.
    static let optionalBodies: Set<String> = [
        "POST /v1/certificates/{serial}/revoke", "DELETE /v1/accounts/{id}/devices/{device}",
        "DELETE /v1/accounts/{id}/passcode",
    ]

    /// A request path for the route's pattern, with a random (well-formed) UUID for `{id}`, or `id` when given.
    static func path(_ route: String, id: String = UUID().uuidString) -> (method: String, path: String) {
        let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
        let path = parts[1].replacingOccurrences(of: "{id}", with: id)
            .replacingOccurrences(of: "{device}", with: "phone-x")
            .replacingOccurrences(of: "{serial}", with: "01AB")
            .replacingOccurrences(of: "{pid}", with: UUID().uuidString)
            .replacingOccurrences(of: "{vid}", with: "bank-x")
        return (parts[0], path)
    }

    /// The least caller the route lets through.
    static func caller(_ access: RouteAccess) -> InProcessDaemon.Caller {
        switch access {
        case .anyone, .kiosk: return .kiosk
        case .holder, .operator: return .operator
        case .admin: return .admin
        }
    }

    static var roleRefusals: [Refusal] {
        var refusals: [Refusal] = []
        for (route, access, _) in RoutePermissions.table where access != .anyone {
            let (method, path) = path(route)
            refusals.append(
                Refusal(route, .noRole, "a caller in no role") { b in
                    b.daemon.call(method, path, as: .nobody)
                })
            refusals.append(
                Refusal(route, .invalidRole, "X-Enrolld-Role names no role") { b in
                    b.daemon.call(method, path, headers: [("X-Enrolld-Role", "root")])
                })
            refusals.append(
                Refusal(route, .roleNotGranted, "a kiosk claims the admin role") { b in
                    b.daemon.call(method, path, headers: [("X-Enrolld-Role", "admin")])
                })
            switch access {
            case .operator, .admin:
                refusals.append(Refusal(route, .roleRequired, "a kiosk") { b in b.daemon.call(method, path) })
                if access == .admin {
                    refusals.append(
                        Refusal(route, .roleRequired, "an operator") { b in
                            b.daemon.call(method, path, as: .operator)
                        })
                    refusals.append(
                        Refusal(route, .roleRequired, "an admin acting as operator") { b in
                            b.daemon.call(method, path, as: .admin, headers: [("X-Enrolld-Role", "operator")])
                        })
                }
            case .holder:
                refusals.append(
                    Refusal(route, .holderProofRequired, "a kiosk without the holder's proof") { b in
                        b.daemon.call(method, path)
                    })
            case .anyone, .kiosk:
                break
            }
        }
        return refusals
    }

    static var requestRefusals: [Refusal] {
        var refusals: [Refusal] = []
        for (route, access, _) in RoutePermissions.table {
            let caller = caller(access)
            if route.contains("{id}") {
                let (method, path) = path(route, id: "not-a-uuid")
                refusals.append(
                    Refusal(route, .invalidID, "an id that is not a UUID") { b in
                        b.daemon.call(method, path, as: caller)
                    })
            }
            let (method, path) = path(route)
            if requiredBodies.contains(route) {
                refusals.append(
                    Refusal(route, .missingBody, "no body") { b in
                        b.daemon.call(method, path, as: caller)
                    })
            }
            if requiredBodies.contains(route) || optionalBodies.contains(route) {
                refusals.append(
                    Refusal(route, .invalidBody, "a body that is not JSON") { b in
                        b.daemon.call(method, path, body: Array("{\"reader\":".utf8), as: caller)
                    })
                refusals.append(
                    Refusal(route, .invalidBody, "a JSON array instead of an object") { b in
                        b.daemon.call(method, path, body: Array("[1, 2]".utf8), as: caller)
                    })
            }
        }
        return refusals
    }

    static let routerRefusals: [Refusal] = [
        Refusal(Refusal.router, .notFound, "a path no route has") { b in b.daemon.call("GET", "/v1/nothing-here") },
        Refusal(Refusal.router, .notFound, "a route's path one segment longer") { b in
            b.daemon.call("GET", "/v1/readers/extra")
        },
        Refusal("GET /v1/health", .methodNotAllowed, "DELETE on a GET route") { b in
            let response = b.daemon.call("DELETE", "/v1/health")
            XCTAssertEqual(response.header("Allow"), "GET", "the Allow header lists the methods")
            return response
        },
        Refusal("POST /v1/enrollments", .methodNotAllowed, "PUT on a POST route") { b in
            b.daemon.call("PUT", "/v1/enrollments")
        },
    ]

    static var refusals: [Refusal] { roleRefusals + requestRefusals + routerRefusals }

    func testEveryRouteRefusesCallersWithoutItsRole() {
        RefusalRun.check(Self.roleRefusals)
    }

    func testEveryRouteRefusesIdsThatAreNotUUIDsAndBodiesThatAreNotItsJSON() {
        RefusalRun.check(Self.requestRefusals)
    }

    func testTheRouterRefusesUnknownPathsAndOtherMethods() {
        RefusalRun.check(Self.routerRefusals)
    }

    /// The role refusal says who the caller is and what to do about it.
    func testTheNoRoleRefusalNamesTheCallerAndTheConfiguration() throws {
        let bench = try InProcessDaemon()
        let refused = try bench.decode(Problem.self, bench.call("GET", "/v1/readers", as: .nobody))
        XCTAssertTrue(refused.detail.contains("uid 2999") && refused.detail.contains("[roles]"), refused.detail)
    }
}
