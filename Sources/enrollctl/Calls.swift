import EnrollAPIModel
import Foundation
import UnixHTTP

/// enrolld's API as enrollctl calls it: one socket, and on every request the role it acts in, the channel it
/// names and the holder's proof (`--role`, `--channel`, `--holder-session`, `--holder-passcode`).
struct API {
    let client: UnixSocketClient
    let headers: [(String, String)]

    init(_ invocation: Invocation, environment: [String: String]) {
        client = UnixSocketClient(path: invocation.socketPath)
        var headers: [(String, String)] = []
        if let role = invocation.value("--role") ?? environment["ENROLLD_ROLE"] {
            headers.append(("X-Enrolld-Role", role))
        }
        if let channel = invocation.value("--channel") ?? environment["ENROLLD_CHANNEL"] {
            headers.append(("X-Enrolld-Channel", channel))
        }
        if let session = invocation.value("--holder-session") { headers.append(("X-Enrolld-Enrollment", session)) }
        if let passcode = invocation.value("--holder-passcode") { headers.append(("X-Enrolld-Passcode", passcode)) }
        self.headers = headers
    }

    /// Sends a request; prints the problem and exits non-zero when the daemon refuses (a status outside 2xx and
    /// `accept`).
    func call(_ request: HTTPRequest, accept: Set<Int> = []) -> HTTPResponse {
        var request = request
        request.headers += headers
        let response: HTTPResponse
        do {
            response = try client.send(request)
        } catch {
            fail(error.description)
        }
        guard (200..<300).contains(response.status) || accept.contains(response.status) else {
            if let problem = try? JSONDecoder().decode(Problem.self, from: Data(response.body)) {
                fail("\(problem.title): \(problem.detail)")
            }
            fail("enrolld answered \(response.status)")
        }
        return response
    }

    func get(_ path: String, query: [(name: String, value: String)] = []) -> HTTPResponse {
        call(HTTPRequest(method: "GET", path: path, query: query))
    }

    /// A request with a JSON body.
    func send<T: Encodable>(_ method: String, _ path: String, _ body: T, accept: Set<Int> = []) -> HTTPResponse {
        guard let encoded = try? JSONEncoder().encode(body) else { fail("cannot encode the request") }
        return call(
            HTTPRequest(
                method: method, path: path, headers: [("Content-Type", "application/json")],
                body: [UInt8](encoded)), accept: accept)
    }

    func post<T: Encodable>(_ path: String, _ body: T, accept: Set<Int> = []) -> HTTPResponse {
        send("POST", path, body, accept: accept)
    }

    /// Follows a Server-Sent Events stream until `onEvent` returns false or the daemon closes it.
    func stream(_ path: String, onEvent: (String, String) -> Bool) {
        do {
            try client.stream(path, onEvent: onEvent)
        } catch {
            fail(error.description)
        }
    }
}

/// The response body as `T`; exits when it is not one.
func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse) -> T {
    guard let value = try? JSONDecoder().decode(T.self, from: Data(response.body)) else {
        fail("enrolld sent a response this enrollctl does not understand")
    }
    return value
}
