/// Which of enrolld's routes each app's gateway forwards: those its pages call, nothing more. The daemon's roles
/// (SO_PEERCRED of the gateway's uid) still decide what a forwarded call may do; this list only keeps a page that
/// went wrong (or a script injected into it) from reaching routes the app never needs.
enum ForwardedRoutes {
    static let kiosk: [String] = [
        "GET /v1/health",
        "GET /v1/readers",
        "GET /v1/events",
        "POST /v1/cards/scan",
        "POST /v1/enrollments",
        "POST /v1/enrollments/{id}/upgrade",
        "GET /v1/enrollments/{id}",
        "POST /v1/enrollments/{id}/photo",
        "POST /v1/enrollments/{id}/liveness/challenge",
        "POST /v1/enrollments/{id}/liveness",
        "POST /v1/enrollments/{id}/complete",
    ]

    static let counter: [String] = [
        "GET /v1/health",
        "GET /v1/readers",
        "GET /v1/events",
        "POST /v1/cards/scan",
        "POST /v1/cards/read",
        "POST /v1/accounts/lookup",
        "GET /v1/accounts/{id}",
        "GET /v1/accounts/{id}/certificates",
        "GET /v1/accounts/{id}/devices",
        "GET /v1/accounts/{id}/status-history",
        "GET /v1/accounts/{id}/usage",
        "POST /v1/accounts/{id}/status",
        "POST /v1/certificates/{serial}/revoke",
        "POST /v1/audit/verify",
    ]

    static func table(for app: String) -> [String] {
        app == "counter" ? counter : kiosk
    }

    /// Whether `method path` (the daemon's path, `/v1/...`) matches an entry: literal segments equal, `{id}` a
    /// UUID-like id, `{serial}` hexadecimal.
    static func offers(_ method: String, _ path: String, in table: [String]) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard path.hasPrefix("/"), !segments.contains(where: \.isEmpty) else { return false }
        return table.contains { entry in
            let parts = entry.split(separator: " ")
            guard parts[0] == method else { return false }
            let pattern = parts[1].split(separator: "/")
            guard pattern.count == segments.count else { return false }
            return zip(pattern, segments).allSatisfy { want, have in
                switch want {
                case "{id}": return (1...64).contains(have.count) && have.allSatisfy { $0.isHexDigit || $0 == "-" }
                case "{serial}": return (1...64).contains(have.count) && have.allSatisfy(\.isHexDigit)
                default: return want == have
                }
            }
        }
    }
}
