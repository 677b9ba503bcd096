import EnrollAPIModel
import UnixHTTP
import Foundation

/// What a route handler sees of a request.
public struct RequestContext: Sendable {
    public var request: HTTPRequest
    public var peer: PeerCredentials
    /// Values of `{name}` segments in the route's pattern.
    public var parameters: [String: String]
    /// The role the caller acts in (from its credentials and `[roles]`; kiosk when no authorizer is set).
    public var role: Role = .kiosk

    public init(request: HTTPRequest, peer: PeerCredentials, parameters: [String: String] = [:]) {
        self.request = request
        self.peer = peer
        self.parameters = parameters
    }

    /// Decodes the JSON body, or throws a 400 problem that says what is wrong.
    public func decodeBody<T: Decodable>(_ type: T.Type) throws(Problem) -> T {
        guard !request.body.isEmpty else { throw Problem(.missingBody, detail: "the request needs a JSON body") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(request.body))
        } catch let DecodingError.keyNotFound(key, _) {
            throw Problem(.invalidBody, detail: "the JSON body lacks the field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw Problem(.invalidBody, detail: "the field '\(field)' has the wrong type")
        } catch {
            throw Problem(.invalidBody, detail: "the body is not valid JSON for this request")
        }
    }
}

/// A route: method, path pattern (segments, `{name}` captures one) and handler.
public struct Route: Sendable {
    public enum Handler: Sendable {
        /// Answers with one response; a thrown `Problem` becomes application/problem+json.
        case respond(@Sendable (RequestContext) throws(Problem) -> HTTPResponse)
        /// Keeps the connection (event streams).
        case stream(@Sendable (RequestContext, HTTPConnection) -> Void)
    }

    public var method: String
    public var pattern: [String]
    public var handler: Handler
    /// Who may call it, from `RoutePermissions`.
    public var access: RouteAccess

    public init(_ method: String, _ path: String, _ handler: Handler) {
        self.method = method
        self.pattern = path.split(separator: "/").map(String.init)
        self.handler = handler
        self.access = RoutePermissions.access(method, path)
    }

    /// `METHOD /pattern`, as `RoutePermissions` names it.
    public var name: String { "\(method) /\(pattern.joined(separator: "/"))" }

    func match(_ segments: [Substring]) -> [String: String]? {
        guard segments.count == pattern.count else { return nil }
        var parameters: [String: String] = [:]
        for (part, segment) in zip(pattern, segments) {
            if part.hasPrefix("{") && part.hasSuffix("}") {
                let value = segment.removingPercentEncoding ?? String(segment)
                guard !value.isEmpty else { return nil }
                parameters[String(part.dropFirst().dropLast())] = value
            } else if part != segment {
                return nil
            }
        }
        return parameters
    }
}

/// Dispatches requests to routes: 404 for unknown paths, 405 with the allowed methods, 403 when the
/// authorizer refuses the caller.
public struct Router: Sendable {
    public private(set) var routes: [Route] = []
    /// Checks every request against its route's access; without one every caller acts as a kiosk.
    public var authorizer: RequestAuthorizer?

    public init(authorizer: RequestAuthorizer? = nil) {
        self.authorizer = authorizer
    }

    public mutating func add(_ route: Route) {
        routes.append(route)
    }

    public func handle(_ request: HTTPRequest, _ connection: HTTPConnection) {
        switch resolve(request, peer: connection.peer) {
        case let .response(response):
            connection.respond(response)
        case let .stream(handler, context):
            handler(context, connection)
        }
    }

    /// Answers a request in-process as a caller with `peer` would see it (streams answer 200 with no body).
    public func response(to request: HTTPRequest, peer: PeerCredentials) -> HTTPResponse {
        switch resolve(request, peer: peer) {
        case let .response(response): return response
        case .stream: return HTTPResponse(status: 200)
        }
    }

    private enum Resolution {
        case response(HTTPResponse)
        case stream(@Sendable (RequestContext, HTTPConnection) -> Void, RequestContext)
    }

    private func resolve(_ request: HTTPRequest, peer: PeerCredentials) -> Resolution {
        let segments = request.pathSegments
        var allowed: [String] = []
        for route in routes {
            guard let parameters = route.match(segments) else { continue }
            guard route.method == request.method else {
                allowed.append(route.method)
                continue
            }
            var context = RequestContext(request: request, peer: peer, parameters: parameters)
            do {
                if let authorizer {
                    context.role = try authorizer.authorize(route.access, route: route.name, context) ?? .kiosk
                }
                switch route.handler {
                case let .respond(handler):
                    return .response(try handler(context))
                case let .stream(handler):
                    return .stream(handler, context)
                }
            } catch {
                return .response(.problem(error))
            }
        }
        if allowed.isEmpty {
            return .response(.problem(Problem(.notFound, detail: "no such resource: \(request.path)")))
        }
        var response = HTTPResponse.problem(.methodNotAllowed(request.method, allowed: allowed))
        response.headers.append(("Allow", allowed.joined(separator: ", ")))
        return .response(response)
    }
}
