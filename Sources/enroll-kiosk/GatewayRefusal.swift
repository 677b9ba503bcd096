import Foundation
import UnixHTTP

/// A request the gateway itself refuses, answered as an RFC 9457 problem of the same shape as the daemon's (so the
/// apps handle both alike), with type `urn:enroll-kiosk:problem:<code>`.
struct GatewayRefusal: Error, Codable, Equatable {
    var type: String
    var title: String
    var status: Int
    var code: String
    var detail: String

    init(_ status: Int, _ code: String, _ title: String, _ detail: String) {
        type = "urn:enroll-kiosk:problem:\(code)"
        self.title = title
        self.status = status
        self.code = code
        self.detail = detail
    }

    static let sessionRequired = GatewayRefusal(
        401, "session-required", "Session required",
        "open the start URL enroll-kiosk printed when it started (it works once); restart enroll-kiosk for a new one")
    static let startTokenWrong = GatewayRefusal(
        403, "start-token-invalid", "Start token invalid", "open the exact start URL enroll-kiosk printed")
    static let startTokenUsed = GatewayRefusal(
        403, "start-token-used", "Start token already used",
        "the start URL works once: restart enroll-kiosk to get a new one")
    static func foreignHost(_ host: String?, expected: String) -> GatewayRefusal {
        GatewayRefusal(
            421, "foreign-host", "Wrong host",
            "address the gateway as http://\(expected)/ (Host was '\(host?.prefix(80) ?? "missing")')")
    }
    static func foreignOrigin(_ origin: String?) -> GatewayRefusal {
        GatewayRefusal(
            403, "foreign-origin", "Cross-site request refused",
            "only the gateway's own pages may send this request (Origin was '\(origin?.prefix(80) ?? "missing")')")
    }
    static let crossSite = GatewayRefusal(
        403, "cross-site", "Cross-site request refused", "only the gateway's own pages may load this")
    static func routeNotOffered(_ method: String, _ path: String, app: String) -> GatewayRefusal {
        GatewayRefusal(
            404, "route-not-offered", "Route not offered",
            "the \(app) gateway does not forward \(method) \(path.prefix(80))")
    }
    static let notFound = GatewayRefusal(404, "not-found", "Not found", "there is no such page")
    static func daemonUnreachable(_ reason: String) -> GatewayRefusal {
        GatewayRefusal(
            502, "daemon-unreachable", "enrolld unreachable",
            "check that enrolld is running; ask staff for help (\(reason.prefix(160)))")
    }

    var response: HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(self)).map { [UInt8]($0) } ?? []
        return HTTPResponse(status: status, headers: [("Content-Type", "application/problem+json")], body: body)
    }
}
