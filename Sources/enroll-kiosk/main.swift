import Foundation
import UnixHTTP

// enroll-kiosk: the local web gateway of the kiosk app and the counter console. It serves the app's files on
// 127.0.0.1 only and forwards the app's API calls to enrolld's Unix socket as its own uid, so enrolld's
// SO_PEERCRED roles decide (run the kiosk gateway as the kiosk user, the counter gateway as an operator). It links
// only EnrollAPIModel and UnixHTTP, like enrollctl.
let usage = """
    usage: enroll-kiosk [--app kiosk|counter] [--port N] [--socket PATH] [--web DIR] [--reader NAME]
                        [--idle-seconds N] [--max-body-bytes N] [--url-file FILE]
      --app             which app to serve (default kiosk)
      --port            TCP port on 127.0.0.1 (default 8421 for kiosk, 8422 for counter; 0 picks a free one)
      --socket          enrolld's API socket (default $ENROLLD_SOCKET or /run/enrolld/api.sock)
      --web             the apps' files (default /usr/share/enroll-kiosk/web, else web/ beside the source tree)
      --reader          the reader the app uses (default: the one a card is placed on)
      --idle-seconds    kiosk: back to the start screen, everything forgotten, after N idle seconds (default 90)
      --max-body-bytes  largest request body (default 8 MiB for kiosk, 256 KiB for counter)
      --url-file        also write the start URL to FILE (mode 0600) for the browser launcher
    Prints the start URL (http://127.0.0.1:PORT/start?token=...) on standard output; it works once.
    """

func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("enroll-kiosk: \(message)\n".utf8))
    exit(code)
}

func parseSettings(_ arguments: [String], environment: [String: String]) throws(GatewayError) -> GatewaySettings {
    var values: [String: String] = [:]
    var iterator = arguments.makeIterator()
    let known: Set<String> = [
        "--app", "--port", "--socket", "--web", "--reader", "--idle-seconds", "--max-body-bytes",
        "--url-file",
    ]
    while let argument = iterator.next() {
        if argument == "--help" || argument == "-h" { throw .usage(usage) }
        guard known.contains(argument) else { throw .usage("unknown option '\(argument)'\n\(usage)") }
        guard let value = iterator.next() else { throw .usage("\(argument) needs a value") }
        values[argument] = value
    }
    let app = values["--app"] ?? "kiosk"
    guard app == "kiosk" || app == "counter" else { throw .usage("--app is kiosk or counter") }
    func number(_ option: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(GatewayError) -> Int {
        guard let text = values[option] else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw .usage("\(option) is a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
    let port = try number("--port", app == "kiosk" ? 8421 : 8422, 0...65535)
    let idle = try number("--idle-seconds", 90, 5...3600)
    let maxBody = try number(
        "--max-body-bytes", app == "kiosk" ? 8 * 1024 * 1024 : 256 * 1024,
        1024...(64 * 1024 * 1024))
    let installed = URL(fileURLWithPath: "/usr/share/enroll-kiosk/web")
    let sourceTree = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("web")
    let web =
        values["--web"].map { URL(fileURLWithPath: $0) }
        ?? (FileManager.default.fileExists(atPath: installed.path) ? installed : sourceTree)
    guard FileManager.default.fileExists(atPath: web.appendingPathComponent("\(app)/index.html").path) else {
        throw .usage("no \(app)/index.html under \(web.path): give the apps' folder with --web")
    }
    return GatewaySettings(
        app: app, webRoot: web.standardizedFileURL,
        socketPath: values["--socket"] ?? environment["ENROLLD_SOCKET"] ?? "/run/enrolld/api.sock",
        port: UInt16(port), idleSeconds: idle, reader: values["--reader"], maxBodyBytes: maxBody,
        urlFile: values["--url-file"])
}

/// Writes the start URL to `path` with mode 0600 (created anew, so no other user can have it open).
func writeURLFile(_ url: String, to path: String) throws(GatewayError) {
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw .system("open \(path)", errno) }
    defer { close(fd) }
    let bytes = Array((url + "\n").utf8)
    guard write(fd, bytes, bytes.count) == bytes.count else { throw .system("write \(path)", errno) }
}

signal(SIGPIPE, SIG_IGN)
var settings: GatewaySettings
do {
    settings = try parseSettings(
        Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
} catch {
    if case let .usage(text) = error, text == usage {
        FileHandle.standardOutput.write(Data((usage + "\n").utf8))
        exit(0)
    }
    fail(error.description, code: 2)
}
let listener: LoopbackListener
do {
    listener = try LoopbackListener(port: settings.port)
} catch {
    fail(error.description)
}
settings.port = listener.port
let gateway = Gateway(settings: settings, session: BrowserSession())
let limits = HTTPLimits(maxHeaderBytes: 8 * 1024, maxHeaderCount: 48, maxBodyBytes: settings.maxBodyBytes)
let server = UnixSocketServer(listeningDescriptor: listener.descriptor, limits: limits) { request, connection in
    gateway.handle(request, connection)
}
var connectionLimits = ConnectionLimits()
connectionLimits.maxConnections = 32
// One browser on loopback: every connection is the same client, none privileged.
connectionLimits.maxPerUID = 32
connectionLimits.reservedForPrivileged = 0
connectionLimits.headTimeout = 30
server.connectionLimits = connectionLimits
server.start()
if let file = settings.urlFile {
    do {
        try writeURLFile(gateway.startURL, to: file)
    } catch {
        fail(error.description)
    }
}
log("\(settings.app) app on http://127.0.0.1:\(listener.port)/ forwarding to \(settings.socketPath) as uid \(getuid())")
FileHandle.standardOutput.write(Data((gateway.startURL + "\n").utf8))
let stop = DispatchSemaphore(value: 0)
let urlFile = settings.urlFile
let signalSources = [SIGTERM, SIGINT].map { signalNumber in
    signal(signalNumber, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: signalNumber)
    source.setEventHandler {
        server.stop()
        if let urlFile { unlink(urlFile) }
        stop.signal()
    }
    source.resume()
    return source
}
stop.wait()
log("stopped")
