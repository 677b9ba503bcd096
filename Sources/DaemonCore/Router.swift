import API
import Foundation

/// What a route handler sees of a request.
public struct RequestContext: Sendable {
    public var request: HTTPRequest
    public var peer: PeerCredentials
    /// Values of `{name}` segments in the route's pattern.
    public var parameters: [String: String]

    /// Decodes the JSON body, or throws a 400 problem that says what is wrong.
    public func decodeBody<T: Decodable>(_ type: T.Type) throws(Problem) -> T {
        guard !request.body.isEmpty else { throw Problem.badRequest("the request needs a JSON body", code: "missing-body") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(request.body))
        } catch let DecodingError.keyNotFound(key, _) {
            throw Problem.badRequest("the JSON body lacks the field '\(key.stringValue)'", code: "invalid-body")
        } catch let DecodingError.typeMismatch(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw Problem.badRequest("the field '\(field)' has the wrong type", code: "invalid-body")
        } catch {
            throw Problem.badRequest("the body is not valid JSON for this request", code: "invalid-body")
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

    public init(_ method: String, _ path: String, _ handler: Handler) {
        self.method = method
        self.pattern = path.split(separator: "/").map(String.init)
        self.handler = handler
    }

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

/// Dispatches requests to routes: 404 for unknown paths, 405 with the allowed methods.
public struct Router: Sendable {
    public private(set) var routes: [Route] = []

    public init() {}

    public mutating func add(_ route: Route) {
        routes.append(route)
    }

    public func handle(_ request: HTTPRequest, _ connection: HTTPConnection) {
        let segments = request.pathSegments
        var allowed: [String] = []
        for route in routes {
            guard let parameters = route.match(segments) else { continue }
            guard route.method == request.method else {
                allowed.append(route.method)
                continue
            }
            let context = RequestContext(request: request, peer: connection.peer, parameters: parameters)
            switch route.handler {
            case let .respond(handler):
                do {
                    connection.respond(try handler(context))
                } catch {
                    connection.respond(.problem(error))
                }
            case let .stream(handler):
                handler(context, connection)
            }
            return
        }
        if allowed.isEmpty {
            connection.respond(.problem(.notFound("no such resource: \(request.path)")))
        } else {
            var response = HTTPResponse.problem(.methodNotAllowed(request.method, allowed: allowed))
            response.headers.append(("Allow", allowed.joined(separator: ", ")))
            connection.respond(response)
        }
    }
}
