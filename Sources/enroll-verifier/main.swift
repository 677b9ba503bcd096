import EnrollAPIModel
import Foundation
import OpenSSLKit
import UnixHTTP
import VerifierClient

/// The reference verifier: reads a holder's presentation QR code from an image (Debian's `zbarimg`, package
/// zbar-tools), asks the daemon's TLS listener for data elements with its client certificate, waits for the
/// holder's consent, opens the release (CMS EnvelopedData to its key, then the daemon's SignedData checked to the CA
/// certificate) and prints the released elements, one `name=value` a line.
///
/// Exit status: 0 released, 2 usage, 3 refused by the daemon, 4 no answer in time, 5 the holder refused, 6 the
/// release did not open or verify.
struct Options {
    var qr: String?
    var token: String?
    var elements: [String] = []
    var purpose = "identity check"
    var server = "127.0.0.1:8443"
    var serverName = "localhost"
    var certificate = ""
    var key = ""
    var caFile = ""
    var releaseCA: String?
    var wait: TimeInterval = 120
    var out: String?
}

func fail(_ status: Int32, _ message: String) -> Never {
    FileHandle.standardError.write(Data(("enroll-verifier: " + message + "\n").utf8))
    exit(status)
}

let usage = """
    usage: enroll-verifier decode IMAGE
           enroll-verifier request (--qr IMAGE | --token TOKEN) --elements a,b --cert FILE --key FILE --ca FILE
                                   [--purpose TEXT] [--server HOST:PORT] [--server-name NAME] [--release-ca FILE]
                                   [--wait SECONDS] [--out RELEASE.der]
      --ca          CA certificate(s) the listener's TLS certificate chains to
      --release-ca  the daemon's CA certificate, to verify the release's signature (default: --ca)
    """

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    var index = 0
    func value() -> String {
        index += 1
        guard index < arguments.count else { fail(2, "\(arguments[index - 1]) needs a value\n" + usage) }
        return arguments[index]
    }
    while index < arguments.count {
        switch arguments[index] {
        case "--qr": options.qr = value()
        case "--token": options.token = value()
        case "--elements": options.elements = value().split(separator: ",").map(String.init)
        case "--purpose": options.purpose = value()
        case "--server": options.server = value()
        case "--server-name": options.serverName = value()
        case "--cert": options.certificate = value()
        case "--key": options.key = value()
        case "--ca": options.caFile = value()
        case "--release-ca": options.releaseCA = value()
        case "--wait": options.wait = TimeInterval(value()) ?? 120
        case "--out": options.out = value()
        default: fail(2, "unknown option \(arguments[index])\n" + usage)
        }
        index += 1
    }
    return options
}

/// The QR code's text, read by zbarimg.
func decodeQR(_ image: String) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/zbarimg")
    process.arguments = ["--raw", "-q", "-Sdisable", "-Sqrcode.enable", image]
    let pipe = Pipe()
    process.standardOutput = pipe
    do {
        try process.run()
    } catch {
        fail(2, "cannot run /usr/bin/zbarimg (apt-get install zbar-tools): \(error)")
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard process.terminationStatus == 0, !text.isEmpty, !text.contains("\n") else {
        fail(3, "no single QR code found in \(image)")
    }
    return text
}

func problem(_ response: HTTPResponse) -> String {
    if let problem = try? JSONDecoder().decode(Problem.self, from: Data(response.body)) {
        return "\(problem.code): \(problem.detail)"
    }
    return "HTTP \(response.status)"
}

func request(_ options: Options) -> Never {
    guard !options.certificate.isEmpty, !options.key.isEmpty, !options.caFile.isEmpty, !options.elements.isEmpty
    else { fail(2, usage) }
    let token: String
    if let given = options.token {
        token = given
    } else if let image = options.qr {
        token = decodeQR(image)
    } else {
        fail(2, "give --qr IMAGE or --token TOKEN")
    }
    let parts = options.server.split(separator: ":")
    guard parts.count == 2, let port = UInt16(parts[1]) else { fail(2, "--server is HOST:PORT") }
    let context: TLSContext
    let certificate: X509Certificate
    let key: PrivateKey
    let trusted: [X509Certificate]
    do {
        context = try TLSContext.client(
            caFile: options.caFile, certificateFile: options.certificate, keyFile: options.key)
        certificate = try X509Certificate(pem: try String(contentsOfFile: options.certificate, encoding: .utf8))
        key = try PrivateKey(pem: try String(contentsOfFile: options.key, encoding: .utf8))
        trusted = [
            try X509Certificate(pem: try String(contentsOfFile: options.releaseCA ?? options.caFile, encoding: .utf8))
        ]
    } catch {
        fail(2, "credentials: \(error)")
    }
    let client = VerifierClient(host: String(parts[0]), port: port, serverName: options.serverName, context: context)
    do {
        let sent = try client.post(
            "/v1/verifier/requests",
            json: VerifierRequestBody(token: token, elements: options.elements, purpose: options.purpose))
        guard sent.status == 201,
            let status = try? JSONDecoder().decode(VerifierRequestStatus.self, from: Data(sent.body))
        else { fail(3, "request refused: " + problem(sent)) }
        print("request \(status.requestId) \(status.state): \(status.elements.joined(separator: ","))")
        let deadline = Date().addingTimeInterval(options.wait)
        while Date() < deadline {
            let polled = try client.get("/v1/verifier/requests/\(status.requestId)")
            guard polled.status == 200,
                let now = try? JSONDecoder().decode(VerifierRequestStatus.self, from: Data(polled.body))
            else { fail(3, "status refused: " + problem(polled)) }
            switch now.state {
            case "released":
                let fetched = try client.get("/v1/verifier/requests/\(status.requestId)/release")
                guard fetched.status == 200 else { fail(3, "release refused: " + problem(fetched)) }
                if let out = options.out { FileManager.default.createFile(atPath: out, contents: Data(fetched.body)) }
                let opened: ReleaseOpening.Released
                do {
                    opened = try ReleaseOpening.open(
                        fetched.body, certificate: certificate, key: key, trusted: trusted)
                } catch {
                    fail(6, "the release did not open or verify: \(error)")
                }
                guard opened.requestId == status.requestId else { fail(6, "the release names another request") }
                print("released \(opened.requestId) at \(opened.releasedAt) to \(opened.verifierId)")
                for name in opened.elements.keys.sorted() { print("\(name)=\(opened.elements[name] ?? "")") }
                exit(0)
            case "refused":
                fail(5, "the holder refused request \(status.requestId)")
            default:
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        fail(4, "no consent within \(Int(options.wait)) s")
    } catch {
        fail(3, "\(error)")
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "decode":
    guard arguments.count == 2 else { fail(2, usage) }
    print(decodeQR(arguments[1]))
case "request":
    request(parse(Array(arguments.dropFirst())))
case "--help", "-h", "help":
    print(usage)
default:
    fail(2, usage)
}
