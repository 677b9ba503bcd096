import EnrollAPIModel
import Foundation
import OpenSSLKit
import UnixHTTP

/// A verifier's side of the TLS listener: TLS 1.3 with its client certificate, one request per connection (as the
/// listener serves them). Used by `enroll-verifier`, the tests and `enroll-bench release`.
public struct VerifierClient: Sendable {
    public let host: String
    public let port: UInt16
    /// The name the server's certificate must carry.
    public let serverName: String
    public let context: TLSContext
    public let timeout: TimeInterval

    public init(
        host: String, port: UInt16, serverName: String = "localhost", context: TLSContext, timeout: TimeInterval = 10
    ) {
        self.host = host
        self.port = port
        self.serverName = serverName
        self.context = context
        self.timeout = timeout
    }

    /// Why a call failed before any HTTP answer.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) { self.description = description }
    }

    /// A connected TCP socket with send and receive timeouts.
    public func connectSocket() throws(Failure) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port.bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw Failure(description: "\(host) is not an IPv4 address")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var time = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        // The request follows the handshake's last flight at once (no Nagle wait for a delayed ACK).
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "cannot reach \(host):\(port): \(reason)")
        }
        return fd
    }

    /// Connects and completes the TLS handshake.
    public func handshake() throws(Failure) -> TLSStream {
        let fd = try connectSocket()
        do {
            return try TLSStream.connect(fd, context: context, host: serverName)
        } catch {
            close(fd)
            throw Failure(description: "TLS handshake with \(host):\(port) failed: \(error)")
        }
    }

    /// Sends one request on `stream` (or a new connection) and reads the answer to the end.
    public func send(_ request: HTTPRequest, on stream: TLSStream? = nil) throws(Failure) -> HTTPResponse {
        let connection: TLSStream
        if let stream { connection = stream } else { connection = try handshake() }
        defer { connection.close() }
        guard connection.write(request.encoded(host: serverName)) else {
            throw Failure(description: "the listener closed the connection while the request was sent")
        }
        var bytes: [UInt8] = []
        while bytes.count < 4 << 20, let chunk = connection.read(), !chunk.isEmpty { bytes += chunk }
        do {
            return try UnixSocketClient.parseResponse(bytes)
        } catch {
            throw Failure(description: "no answer from the listener (\(bytes.count) bytes): \(error)")
        }
    }

    public func post<T: Encodable>(_ path: String, json: T) throws(Failure) -> HTTPResponse {
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(json))
        } catch {
            throw Failure(description: "JSON encoding failed")
        }
        return try send(
            HTTPRequest(
                method: "POST", path: path, headers: [("content-type", "application/json")], body: body))
    }

    public func get(_ path: String) throws(Failure) -> HTTPResponse {
        try send(HTTPRequest(method: "GET", path: path))
    }
}

/// What a verifier does with a release: open the envelope with its key, check the daemon's signature to the CA
/// certificate, and read the document.
public enum ReleaseOpening {
    public struct Released: Sendable {
        public var verifierId: String
        public var requestId: String
        public var releasedAt: String
        /// Element name → JSON value (a string, or a boolean for `age_over_NN`).
        public var elements: [String: String]
        public var signedData: [UInt8]
    }

    /// Decrypts `envelope` (CMS EnvelopedData DER) and verifies the SignedData inside against `trusted`.
    public static func open(
        _ envelope: [UInt8], certificate: X509Certificate, key: PrivateKey, trusted: [X509Certificate]
    ) throws -> Released {
        let signed = try CMSEnvelopedData.decrypt(envelope, certificate: certificate, key: key)
        let content = try CMSSignedData.verifiedContent(signed, trusted: trusted)
        let document = try JSONDecoder().decode(Document.self, from: Data(content))
        return Released(
            verifierId: document.verifierId, requestId: document.requestId, releasedAt: document.releasedAt,
            elements: document.elements.mapValues(\.text), signedData: signed)
    }

    struct Document: Decodable {
        var verifierId: String
        var requestId: String
        var releasedAt: String
        var elements: [String: Value]
    }

    /// A string, or a boolean written `true`/`false`.
    struct Value: Decodable {
        var text: String

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) {
                text = flag ? "true" : "false"
            } else {
                text = try container.decode(String.self)
            }
        }
    }
}
