import API
import DaemonCore
import Foundation

/// enrollctl: the command line over enrolld's API socket.
let usage = """
    usage: enrollctl [--socket PATH] COMMAND [OPTIONS]

    commands:
      health [--json]          daemon status
      readers [--json]         readers and cards present
      watch [--json]           print reader and card events as they arrive (Ctrl-C to stop)

    --socket PATH defaults to $ENROLLD_SOCKET or /run/enrolld/api.sock.
    """

func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("enrollctl: \(message)\n".utf8))
    exit(code)
}

var socketPath = ProcessInfo.processInfo.environment["ENROLLD_SOCKET"] ?? "/run/enrolld/api.sock"
var positional: [String] = []
var json = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--socket":
        guard let value = arguments.next() else { fail("--socket needs a path", code: 2) }
        socketPath = value
    case "--json":
        json = true
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        if argument.hasPrefix("-") { fail("unknown option '\(argument)'\n\(usage)", code: 2) }
        positional.append(argument)
    }
}

let client = UnixSocketClient(path: socketPath)

/// Sends a request; prints the problem and exits non-zero when the daemon refuses.
func call(_ request: HTTPRequest) -> HTTPResponse {
    let response: HTTPResponse
    do {
        response = try client.send(request)
    } catch {
        fail(error.description)
    }
    guard (200..<300).contains(response.status) else {
        if let problem = try? JSONDecoder().decode(Problem.self, from: Data(response.body)) {
            fail("\(problem.title): \(problem.detail)")
        }
        fail("enrolld answered \(response.status)")
    }
    return response
}

func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse) -> T {
    guard let value = try? JSONDecoder().decode(T.self, from: Data(response.body)) else {
        fail("enrolld sent a response this enrollctl does not understand")
    }
    return value
}

/// Writes a line unbuffered, so `watch` output reaches pipes as events happen.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func printRaw(_ response: HTTPResponse) {
    FileHandle.standardOutput.write(Data(response.body + [10]))
}

switch positional.first {
case "health":
    let response = call(HTTPRequest(method: "GET", path: "/v1/health"))
    if json { printRaw(response); break }
    let health = decode(Health.self, response)
    print("enrolld \(health.version): \(health.status), pcscd \(health.pcscAvailable ? "available" : "NOT available"), "
          + "\(health.readers) reader(s), up \(health.uptimeSeconds) s")
case "readers":
    let response = call(HTTPRequest(method: "GET", path: "/v1/readers"))
    if json { printRaw(response); break }
    let list = decode(ReaderList.self, response)
    if !list.pcscAvailable { print("pcscd is not running: start it (readers appear when it is up)") }
    if list.readers.isEmpty && list.pcscAvailable { print("no readers connected") }
    for reader in list.readers {
        print("\(reader.name)\t\(reader.cardPresent ? "card present, ATR \(reader.atr ?? "")" : "no card")")
    }
case "watch":
    do {
        try client.stream("/v1/events") { name, data in
            if json {
                emit(data)
            } else if let event = try? JSONDecoder().decode(DaemonEvent.self, from: Data(data.utf8)) {
                let reader = event.reader.map { " \($0)" } ?? ""
                let atr = event.atr.map { " ATR \($0)" } ?? ""
                let detail = event.detail.map { ": \($0)" } ?? ""
                emit("\(event.time) \(name)\(reader)\(atr)\(detail)")
            }
            return true
        }
    } catch {
        fail(error.description)
    }
case nil:
    fail("no command given\n\(usage)", code: 2)
case let command?:
    fail("unknown command '\(command)'\n\(usage)", code: 2)
}
