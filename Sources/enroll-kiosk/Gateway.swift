import EnrollAPIModel
import Foundation
import UnixHTTP

/// What one gateway serves: which app, where its files are, which daemon it forwards to, and the apps' settings.
struct GatewaySettings: Sendable {
    var app: String
    var webRoot: URL
    var socketPath: String
    var port: UInt16
    /// Seconds without a touch or key after which the kiosk returns to its start screen and forgets everything.
    var idleSeconds: Int
    /// The reader the app uses; nil: the one a card is placed on.
    var reader: String?
    var maxBodyBytes: Int
    var urlFile: String?
}

/// The gateway's request handling: checks (`RequestGuard`, then the session cookie), then the start URL, the apps'
/// settings (`/config.json`), the API (`/api/v1/...` forwarded) and static files. Every answer carries the
/// security headers: a strict Content-Security-Policy (this origin only, no inline script or style), no framing,
/// no referrer, no caching of API answers, the camera allowed for this origin alone.
struct Gateway: Sendable {
    let settings: GatewaySettings
    let session: BrowserSession
    let guardrail: RequestGuard
    let files: StaticFiles
    let forwarder: APIForwarder
    let probe: UnixSocketClient

    init(settings: GatewaySettings, session: BrowserSession) {
        self.settings = settings
        self.session = session
        guardrail = RequestGuard(port: settings.port)
        files = StaticFiles(root: settings.webRoot, app: settings.app)
        forwarder = APIForwarder(
            client: UnixSocketClient(path: settings.socketPath, timeout: 120), app: settings.app,
            channel: "\(settings.app)-web")
        probe = UnixSocketClient(path: settings.socketPath, timeout: 5)
    }

    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:", "connect-src 'self'", "font-src 'self'", "manifest-src 'self'",
        "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    static let securityHeaders: [(name: String, value: String)] = [
        ("Content-Security-Policy", contentSecurityPolicy),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), usb=(), payment=()"),
    ]

    var startURL: String { "http://\(guardrail.authority)/start?token=\(session.startTokenHex)" }

    func handle(_ request: HTTPRequest, _ connection: HTTPConnection) {
        if request.method == "GET", request.path == "/api/v1/events", admitted(request) == nil {
            forwarder.relayEvents(request, path: "/v1/events", to: connection, headers: Self.securityHeaders)
            return
        }
        connection.respond(secured(answer(request)))
    }

    /// The guard's and the cookie's verdict: nil when the request may proceed.
    private func admitted(_ request: HTTPRequest, navigation: Bool = false) -> GatewayRefusal? {
        do {
            try guardrail.check(request, navigationAllowed: navigation)
        } catch {
            return error
        }
        return session.admits(cookieHeader: request.header("Cookie")) ? nil : .sessionRequired
    }

    func answer(_ request: HTTPRequest) -> HTTPResponse {
        if request.path == "/start" {
            return start(request)
        }
        let navigation = request.method == "GET" && request.path == "/"
        if let refusal = admitted(request, navigation: navigation) { return refusal.response }
        if request.path.hasPrefix("/api/") {
            let path = String(request.path.dropFirst(4))
            guard ForwardedRoutes.offers(request.method, path, in: ForwardedRoutes.table(for: settings.app)) else {
                return GatewayRefusal.routeNotOffered(request.method, path, app: settings.app).response
            }
            var response = forwarder.forward(request, path: path)
            response.headers.append(("Cache-Control", "no-store"))
            return response
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            return GatewayRefusal(405, "method-not-allowed", "Method not allowed", "pages are read with GET").response
        }
        if request.path == "/config.json" {
            return configuration()
        }
        return files.response(for: request.path) ?? GatewayRefusal.notFound.response
    }

    /// `GET /start?token=...`: the one-time start token for the session cookie, then on to the app.
    private func start(_ request: HTTPRequest) -> HTTPResponse {
        do {
            try guardrail.check(request, navigationAllowed: true)
        } catch {
            return error.response
        }
        guard request.method == "GET" else { return GatewayRefusal.notFound.response }
        switch session.exchange(presented: request.queryValue("token") ?? "") {
        case let .cookie(cookie):
            log("start token exchanged for a session cookie")
            return HTTPResponse(
                status: 303,
                headers: [
                    ("Location", "/"), ("Set-Cookie", cookie),
                    ("Cache-Control", "no-store"),
                ])
        case .wrongToken:
            return GatewayRefusal.startTokenWrong.response
        case .alreadyUsed:
            return GatewayRefusal.startTokenUsed.response
        }
    }

    /// The apps' settings and which optional daemon steps this daemon offers (probed per request: a route that is
    /// not there answers `not-found`, one that is answers something else, e.g. a refused empty body).
    private func configuration() -> HTTPResponse {
        struct Features: Encodable {
            var scan: Bool
            var liveness: Bool
        }
        struct Settings: Encodable {
            var app: String
            var idleSeconds: Int
            var reader: String?
            var languages: [String]
            var features: Features
        }
        let features = Features(
            scan: offered(
                HTTPRequest(
                    method: "POST", path: "/v1/cards/scan",
                    headers: [("Content-Type", "application/json")], body: Array("{}".utf8))),
            liveness: offered(
                HTTPRequest(
                    method: "POST",
                    path: "/v1/enrollments/00000000-0000-4000-8000-000000000000/liveness/challenge",
                    headers: [("Content-Type", "application/json")], body: Array("{}".utf8))))
        var response = HTTPResponse.json(
            Settings(
                app: settings.app, idleSeconds: settings.idleSeconds,
                reader: settings.reader, languages: ["en", "zh-Hant", "vi", "pt"],
                features: features))
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    private func offered(_ request: HTTPRequest) -> Bool {
        guard let answer = try? probe.send(request) else { return false }
        guard answer.status == 404 || answer.status == 405 else { return true }
        let problem = try? JSONDecoder().decode(Problem.self, from: Data(answer.body))
        return problem.map { $0.code != ProblemCode.notFound.code && $0.code != ProblemCode.methodNotAllowed.code }
            ?? false
    }

    private func secured(_ response: HTTPResponse) -> HTTPResponse {
        var response = response
        response.headers += Self.securityHeaders
        return response
    }
}

/// Log lines on standard error: never the start token, the cookie or anything a page sent.
func log(_ message: String) {
    FileHandle.standardError.write(Data("enroll-kiosk: \(message)\n".utf8))
}
