import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import UnixHTTP
import VirtualCard
import XCTest

/// What the trust store refuses to import, and what the daemon's HTTP layer refuses on its real Unix socket before
/// any route runs (malformed requests, oversized heads and bodies, chunked bodies, other HTTP versions, one
/// connection too many).
final class TrustAndTransportRefusalTests: XCTestCase {
    static let trustImport = "POST /v1/trust/import"

    static func importing(_ b: RefusalBench, _ bytes: [UInt8]) throws -> HTTPResponse {
        try b.post("/v1/trust/import", TrustImportRequest(data: Data(bytes).base64EncodedString()), as: .admin)
    }

    static let trust: [Refusal] = [
        Refusal(trustImport, .trustImportRefused, "a document signer certificate, which is no CSCA") { b in
            try importing(b, b.daemon.pki.documentSigner.certificate.der)
        },
        Refusal(trustImport, .trustImportRefused, "bytes that are no certificate, master list or CRL") { b in
            try importing(b, Array("not a certificate".utf8))
        },
        Refusal(trustImport, .trustImportRefused, "a CRL no trusted CSCA signed") { b in
            let stranger = try TestPKI()
            return try importing(b, stranger.crl.der)
        },
        Refusal(trustImport, .trustStoreWriteFailed, "a trust directory that is no longer a directory") { b in
            let directory = URL(fileURLWithPath: b.daemon.configuration.resolvedTrustDirectory)
            let aside = directory.appendingPathExtension("aside")
            try FileManager.default.moveItem(at: directory, to: aside)
            try Data("a file".utf8).write(to: directory)
            defer {
                try? FileManager.default.removeItem(at: directory)
                try? FileManager.default.moveItem(at: aside, to: directory)
            }
            let csca = try TestPKI.makeCSCA(
                country: "UT", name: "CSCA rolled over",
                validity: (Date(), Date().addingTimeInterval(86_400 * 365)))
            return try importing(b, csca.certificate.der)
        },
        Refusal(trustImport, .invalidBody, "data that is not base64") { b in
            try b.post("/v1/trust/import", TrustImportRequest(data: "abc"), as: .admin)
        },
        Refusal(trustImport, .invalidBody, "empty data") { b in
            try b.post("/v1/trust/import", TrustImportRequest(data: ""), as: .admin)
        },
    ]

    /// Sends `bytes` on a new connection to the daemon's socket and reads the answer until the server closes.
    static func exchange(_ b: RefusalBench, _ bytes: [UInt8]) throws -> HTTPResponse {
        try RawUnixSocket.exchange(b.daemon.configuration.socketPath, bytes)
    }

    static let transport: [Refusal] = [
        Refusal(Refusal.transport, .malformedRequest, "a request line without a path", on: .socket) { b in
            try exchange(b, Array("GET health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        },
        Refusal(Refusal.transport, .malformedRequest, "a header line without a colon", on: .socket) { b in
            try exchange(b, Array("GET /v1/health HTTP/1.1\r\nHost x\r\n\r\n".utf8))
        },
        Refusal(Refusal.transport, .headersTooLarge, "a 9 KiB header", on: .socket) { b in
            let padding = String(repeating: "p", count: 9216)
            return try exchange(b, Array("GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: \(padding)\r\n\r\n".utf8))
        },
        Refusal(Refusal.transport, .headersTooLarge, "65 header fields", on: .socket) { b in
            let fields = "Host: x\r\n" + (0..<64).map { "X-\($0): 1\r\n" }.joined()
            return try exchange(b, Array("GET /v1/health HTTP/1.1\r\n\(fields)\r\n".utf8))
        },
        Refusal(Refusal.transport, .bodyTooLarge, "a body longer than api.max_body_bytes", on: .socket) { b in
            try exchange(b, Array("POST /v1/enrollments HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n".utf8))
        },
        Refusal(Refusal.transport, .transferEncodingUnsupported, "a chunked body", on: .socket) { b in
            try exchange(
                b,
                Array(
                    "POST /v1/enrollments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        },
        Refusal(Refusal.transport, .httpVersionUnsupported, "HTTP/2.0", on: .socket) { b in
            try exchange(b, Array("GET /v1/health HTTP/2.0\r\nHost: x\r\n\r\n".utf8))
        },
        Refusal(
            Refusal.transport, .serverBusy, "a second connection beyond api.max_connections = 1",
            on: .oneConnection
        ) { b in
            let client = UnixSocketClient(path: b.daemon.configuration.socketPath, timeout: 5)
            let session = UnixSocketSession(client: client)
            defer { session.close() }
            try b.daemon.require(try session.get("/v1/health"), 200, "the first connection")
            let refused = try exchange(b, Array("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            XCTAssertEqual(refused.header("Retry-After"), "1")
            return refused
        },
    ]

    static var refusals: [Refusal] { trust + transport }

    func testTheTrustStoreRefusesWhatIsNoCSCAAndAStoreItCannotWrite() {
        RefusalRun.check(Self.trust)
    }

    func testTheHTTPLayerRefusesMalformedAndOversizedRequestsOnTheRealSocket() {
        RefusalRun.check(Self.transport)
    }
}
