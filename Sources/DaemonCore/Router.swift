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

/// A route: method, path pattern (segments, `{name}` captures one; with `capturesRest` the last `{name}` captures
/// the rest of the path as sent, slashes and empty segments included: an OCSP GET request is base64, which may
/// hold `/`) and handler.
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
    /// The last `{name}` takes the rest of the path.
    public var capturesRest: Bool

    public init(_ method: String, _ path: String, capturesRest: Bool = false, _ handler: Handler) {
        self.method = method
        self.pattern = path.split(separator: "/").map(String.init)
        self.handler = handler
        self.access = RoutePermissions.access(method, path)
        self.capturesRest = capturesRest
    }

    /// `METHOD /pattern`, as `RoutePermissions` names it.
    public var name: String { "\(method) /\(pattern.joined(separator: "/"))" }

    func match(_ segments: [Substring], path: String) -> [String: String]? {
        if capturesRest, let last = pattern.last, last.hasPrefix("{"), last.hasSuffix("}") {
            return matchRest(segments, path: path, name: String(last.dropFirst().dropLast()))
        }
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

    /// The fixed segments before the capture match one by one; the capture is the raw rest of `path` after them
    /// (not percent-decoded: the handler decodes), and must not be empty.
    private func matchRest(_ segments: [Substring], path: String, name: String) -> [String: String]? {
        let fixed = pattern.dropLast()
        guard segments.count > fixed.count, zip(fixed, segments).allSatisfy({ $0 == $1 }) else { return nil }
        var rest = Substring(path)
        for part in fixed {
            while rest.hasPrefix("/") { rest = rest.dropFirst() }
            guard rest.hasPrefix(part) else { return nil }
            rest = rest.dropFirst(part.count)
        }
        guard rest.hasPrefix("/") else { return nil }
        rest = rest.dropFirst()
        guard !rest.isEmpty else { return nil }
        return [name: String(rest)]
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
            guard let parameters = route.match(segments, path: request.path) else { continue }
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
