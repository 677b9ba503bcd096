import EnrollAPIModel
import Foundation
import UnixHTTP

/// Forwards the apps' `/api/v1/...` calls to enrolld's Unix socket as the gateway's own uid: the daemon sees this
/// process in SO_PEERCRED and gives it the role `[roles]` grants that uid. What the browser sends in
/// `X-Enrolld-Role` or `X-Enrolld-Channel` never reaches the daemon; the gateway names its own channel.
struct APIForwarder: Sendable {
    let client: UnixSocketClient
    let app: String
    let channel: String

    /// Request headers passed on; everything else the browser sent stays here.
    static let forwardedRequestHeaders = ["content-type", "accept", "x-enrolld-enrollment"]
    /// Response headers passed back.
    static let forwardedResponseHeaders = ["content-type", "retry-after", "allow"]

    func daemonRequest(_ request: HTTPRequest, path: String) -> HTTPRequest {
        var headers = request.headers.filter { Self.forwardedRequestHeaders.contains($0.name) }
        headers.append(("X-Enrolld-Channel", channel))
        return HTTPRequest(
            method: request.method, path: path, query: request.query, headers: headers,
            body: request.body)
    }

    func forward(_ request: HTTPRequest, path: String) -> HTTPResponse {
        do {
            let answer = try client.send(daemonRequest(request, path: path))
            return HTTPResponse(status: answer.status, headers: Self.passedBack(answer.headers), body: answer.body)
        } catch {
            return GatewayRefusal.daemonUnreachable(error.description).response
        }
    }

    /// Relays `GET /v1/events` byte for byte (events, keep-alive comments) until either side goes away: the daemon
    /// closes the stream, or a write to the browser fails (noticed at the latest at the daemon's next keep-alive).
    func relayEvents(
        _ request: HTTPRequest, path: String, to connection: HTTPConnection,
        headers securityHeaders: [(name: String, value: String)]
    ) {
        var started = false
        do {
            try client.relay(
                daemonRequest(request, path: path),
                onHead: { head in
                    if head.status != 200 {
                        var answer = HTTPResponse(
                            status: head.status, headers: Self.passedBack(head.headers),
                            body: head.body)
                        answer.headers += securityHeaders
                        connection.respond(answer)
                        started = true
                        return false
                    }
                    started = true
                    return connection.startStream(headers: [("Content-Type", "text/event-stream")] + securityHeaders)
                }, onBytes: { bytes in connection.write(bytes) })
        } catch {
            guard !started else { return }
            var refusal = GatewayRefusal.daemonUnreachable(error.description).response
            refusal.headers += securityHeaders
            connection.respond(refusal)
        }
    }

    static func passedBack(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        headers.filter { forwardedResponseHeaders.contains($0.name.lowercased()) }
    }
}
