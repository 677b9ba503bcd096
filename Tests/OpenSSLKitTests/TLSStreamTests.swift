import Foundation
import OpenSSLKit
import XCTest

/// `TLSStream`'s ownership of its socket: after a failed handshake the descriptor is still the caller's.
final class TLSStreamTests: XCTestCase {
    /// A handshake that fails (the peer sends no TLS) leaves the descriptor open for the caller to close: closing it
    /// in the stream too would close, the second time, whatever another thread opened on that number meanwhile.
    func testAFailedHandshakeLeavesTheDescriptorToTheCaller() throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tls-stream-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try PrivateKey.generate(.p256)
        let builder = CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "localhost"),
            serialNumber: CertificateBuilder.randomSerial(), notBefore: Date().addingTimeInterval(-60),
            notAfter: Date().addingTimeInterval(3600), publicKey: try key.publicKey())
        let certificateFile = directory.appendingPathComponent("server.pem").path
        let keyFile = directory.appendingPathComponent("server.key").path
        try builder.sign(key: key).pem.write(toFile: certificateFile, atomically: true, encoding: .utf8)
        try key.pemEncoded().write(toFile: keyFile, atomically: true, encoding: .utf8)
        let context = try TLSContext.server(
            certificateFile: certificateFile, keyFile: keyFile, clientCAFile: certificateFile)
        var pair: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair), 0)
        defer { close(pair[1]) }
        let garbage = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        XCTAssertEqual(write(pair[1], garbage, garbage.count), garbage.count)
        shutdown(pair[1], Int32(SHUT_WR))
        XCTAssertThrowsError(try TLSStream.accept(pair[0], context: context))
        XCTAssertNotEqual(fcntl(pair[0], F_GETFD), -1, "the failed handshake closed the caller's descriptor")
        XCTAssertEqual(close(pair[0]), 0)
    }
}
