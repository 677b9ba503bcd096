import CertificateAuthority
@testable import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import XCTest

/// The packaged nginx site (`Packaging/enrolld-nginx.conf`) with Debian's nginx on loopback in front of the
/// daemon's real Unix socket, asked by `openssl ocsp` as a relying party asks: good, then revoked with its reason
/// right after `enrollctl certs revoke`; the response verifies against the delegated responder certificate and
/// carries the request's nonce back. The CRL and the CA certificate are published beside it.
final class NginxFrontTests: XCTestCase {
    static let nginx = "/usr/sbin/nginx"

    /// The built `enrollctl`, beside the test bundle.
    static let enrollctl: URL = {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var products = runner.deletingLastPathComponent()
        if products.lastPathComponent == "MacOS" { products = products.deletingLastPathComponent() }
        return products.appendingPathComponent("enrollctl")
    }()

    /// Runs a tool; its status and its standard output and error together.
    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The packaged site, pointed at `socket` and listening on 127.0.0.1:`port`, inside a minimal nginx.conf.
    static func configure(in directory: URL, socket: String, port: UInt16) throws -> URL {
        let packaged = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Packaging/enrolld-nginx.conf")
        var site = try String(contentsOf: packaged, encoding: .utf8)
        for (from, to) in [
            ("unix:/run/enrolld/api.sock", "unix:" + socket),
            ("listen 80;", "listen 127.0.0.1:\(port);"),
            ("listen [::]:80;", ""),
            ("/var/log/nginx/enrolld-status.log", directory.appendingPathComponent("access.log").path),
        ] {
            XCTAssertTrue(site.contains(from), "the packaged site has \(from)")
            site = site.replacingOccurrences(of: from, with: to)
        }
        try site.write(to: directory.appendingPathComponent("enrolld-site.conf"), atomically: true, encoding: .utf8)
        let path = directory.path
        // Workers as root: the test daemon's socket sits in a 0700 temporary directory (a host adds www-data to the
        // enrolld group instead). The routes need no role either way (CertificateStatusTests asks as nobody).
        let main = """
            user root;
            worker_processes 1;
            pid \(path)/nginx.pid;
            error_log \(path)/error.log warn;
            events { worker_connections 64; }
            http {
                client_body_temp_path \(path)/body;
                proxy_temp_path \(path)/proxy;
                fastcgi_temp_path \(path)/fastcgi;
                uwsgi_temp_path \(path)/uwsgi;
                scgi_temp_path \(path)/scgi;
                include \(path)/enrolld-site.conf;
            }
            """
        let url = directory.appendingPathComponent("nginx.conf")
        try main.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testOpenSSLOCSPThroughTheNginxSiteSaysGoodThenRevokedWithItsReasonAndReturnsTheNonce() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.nginx) else {
            throw XCTSkip("nginx is not installed: run scripts/setup.sh (nginx-light)")
        }
        let port = try LoopbackListener.freePort()
        let base = "http://127.0.0.1:\(port)"
        let bench = try InProcessDaemon(
            extraConfiguration: """
                [ca]
                ocsp_url = \(base)/ocsp
                crl_distribution_point = \(base)/crl
                ca_issuers_url = \(base)/ca.crt
                """)
        let (_, outcome) = try bench.newAccount("John_Salley")
        let serial = try XCTUnwrap(outcome.certificateSerial)
        try bench.serve()

        let directory = URL(fileURLWithPath: bench.configuration.stateDirectory).deletingLastPathComponent()
            .appendingPathComponent("nginx")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configuration = try Self.configure(in: directory, socket: bench.configuration.socketPath, port: port)
        let test = try Self.run(Self.nginx, ["-t", "-p", directory.path, "-c", configuration.path])
        XCTAssertEqual(test.status, 0, test.output)
        let nginx = Process()
        nginx.executableURL = URL(fileURLWithPath: Self.nginx)
        nginx.arguments = ["-p", directory.path, "-c", configuration.path, "-g", "daemon off;"]
        nginx.standardOutput = FileHandle.nullDevice
        nginx.standardError = FileHandle.nullDevice
        try nginx.run()
        defer {
            nginx.terminate()
            nginx.waitUntilExit()
        }
        var up = false
        for _ in 0..<100 where !up {
            up = (try? Self.run("/usr/bin/curl", ["-sf", "-o", "/dev/null", base + "/ca.crt"]))?.status == 0
            if !up { Thread.sleep(forTimeInterval: 0.05) }
        }
        let errors = try? String(contentsOf: directory.appendingPathComponent("error.log"), encoding: .utf8)
        XCTAssertTrue(up, errors ?? "")

        let certificate = directory.appendingPathComponent("cert.pem")
        let ca = directory.appendingPathComponent("ca.pem")
        try XCTUnwrap(outcome.certificatePEM).write(to: certificate, atomically: true, encoding: .utf8)
        try bench.caCertificate().pem.write(to: ca, atomically: true, encoding: .utf8)

        // The certificate names the front: AIA (OCSP, caIssuers) and the CRL distribution point.
        let names = try Self.run("/usr/bin/openssl", ["x509", "-in", certificate.path, "-noout", "-ocsp_uri"])
        XCTAssertEqual(names.output.trimmingCharacters(in: .whitespacesAndNewlines), base + "/ocsp")
        let text = try Self.run("/usr/bin/openssl", ["x509", "-in", certificate.path, "-noout", "-text"]).output
        XCTAssertTrue(text.contains("URI:\(base)/crl"), text)
        XCTAssertTrue(text.contains("CA Issuers - URI:\(base)/ca.crt"), text)

        // openssl ocsp sends a nonce by default and warns when none comes back; -CAfile verifies the response
        // through the delegated responder certificate it carries.
        func ask() throws -> String {
            let answer = try Self.run(
                "/usr/bin/openssl",
                [
                    "ocsp", "-issuer", ca.path, "-cert", certificate.path, "-url", base + "/ocsp", "-CAfile", ca.path,
                    "-resp_text",
                ])
            XCTAssertEqual(answer.status, 0, answer.output)
            XCTAssertTrue(answer.output.contains("Response verify OK"), answer.output)
            XCTAssertTrue(answer.output.contains("OCSP Nonce"), "the nonce comes back: \(answer.output)")
            XCTAssertFalse(answer.output.contains("WARNING"), answer.output)
            XCTAssertTrue(
                answer.output.contains("Extended Key Usage") && answer.output.contains("OCSP Signing"),
                "signed by the delegated responder certificate: \(answer.output)")
            return answer.output
        }
        XCTAssertTrue(try ask().contains("cert.pem: good"))

        let revoke = try Self.run(
            Self.enrollctl.path,
            [
                "--socket", bench.configuration.socketPath, "certs", "revoke",
                serial, "--reason", "key-compromise",
            ])
        XCTAssertEqual(revoke.status, 0, revoke.output)
        let revoked = try ask()
        XCTAssertTrue(revoked.contains("cert.pem: revoked"), revoked)
        XCTAssertTrue(revoked.contains("Reason: keyCompromise"), revoked)

        // The RFC 5019 GET form through the front, and the CRL (DER) that lists the revocation.
        let id = try OCSPCertificateID(
            certificate: try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM)),
            issuer: try bench.caCertificate())
        let request = Data(try OCSPRequest.encode(certificateIDs: [id])).base64EncodedString()
            .addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/")))
        let getFile = directory.appendingPathComponent("get.der")
        let get = try Self.run("/usr/bin/curl", ["-sf", "-o", getFile.path, base + "/ocsp/" + (request ?? "")])
        XCTAssertEqual(get.status, 0, get.output)
        let response = try OCSPResponse(der: [UInt8](try Data(contentsOf: getFile)))
        guard case .revoked = try response.verify(for: id, issuer: try bench.caCertificate(), at: Date()).status
        else { return XCTFail("GET: not revoked") }
        let crlFile = directory.appendingPathComponent("crl.der")
        XCTAssertEqual(try Self.run("/usr/bin/curl", ["-sf", "-o", crlFile.path, base + "/crl"]).status, 0)
        let crl = try CertificateRevocationList(der: [UInt8](try Data(contentsOf: crlFile)))
        XCTAssertEqual(crl.entry(forSerial: id.serialNumber)?.reason, .keyCompromise)
        // Nothing but the status routes is reachable through the front.
        XCTAssertNotEqual(try Self.run("/usr/bin/curl", ["-sf", "-o", "/dev/null", base + "/v1/health"]).status, 0)
    }
}
