import Foundation
import OpenSSLKit
import Store

/// A usage-chain head signed by one daemon with its own key (`<state>/keys/audit-head.key`, ECDSA P-256, never
/// shared), written to the journal at an interval. A database writer can rewrite records, truncate the chain or
/// rewrite it as if it had never been keyed; it cannot sign a head or change what the journal already holds, so
/// `audit verify` with the heads finds the first record that disagrees with them.
///
/// The line: `enrolld-audit-head v1 host=H seq=N hash=HEX keyed-from=K at=ISO8601 key=KEYID sig=BASE64`; the signature
/// covers `enrolld-audit-head v1` and the six values, one per line. KEYID is the first 16 bytes of SHA-256 over the
/// signer's SubjectPublicKeyInfo, in hex.
public struct SignedChainHead: Sendable, Equatable {
    public var host: String
    public var sequence: Int64
    public var hash: [UInt8]
    /// Where the keyed chain starts (nil: not keyed).
    public var keyedFrom: Int64?
    /// When it was signed (ISO 8601).
    public var at: String
    public var keyID: String
    public var signature: [UInt8]

    public static let marker = "enrolld-audit-head v1"

    /// The bytes the signature covers.
    public var signedBytes: [UInt8] {
        Array(
            [Self.marker, host, String(sequence), Self.hex(hash), keyedFrom.map(String.init) ?? "-", at, keyID]
                .joined(separator: "\n").utf8)
    }

    /// The journal line.
    public var line: String {
        "\(Self.marker) host=\(host) seq=\(sequence) hash=\(Self.hex(hash)) keyed-from=\(keyedFrom.map(String.init) ?? "-") "
            + "at=\(at) key=\(keyID) sig=\(Data(signature).base64EncodedString())"
    }

    /// Parses the head out of a journal line (any prefix, such as journalctl's, is skipped); nil when the line holds
    /// none or a malformed one.
    public init?(line: String) {
        guard let start = line.range(of: Self.marker) else { return nil }
        var fields: [String: String] = [:]
        for token in line[start.upperBound...].split(separator: " ") {
            let parts = token.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            fields[String(parts[0])] = String(parts[1])
        }
        guard let host = fields["host"], Self.isSafe(host), let sequenceText = fields["seq"],
            let sequence = Int64(sequenceText), let hash = fields["hash"].flatMap(Self.bytes(hex:)),
            let keyedText = fields["keyed-from"], let at = fields["at"], Self.isSafe(at),
            let keyID = fields["key"], Self.isSafe(keyID),
            let signature = fields["sig"].flatMap({ Data(base64Encoded: $0) })
        else { return nil }
        let keyedFrom = keyedText == "-" ? nil : Int64(keyedText)
        guard keyedText == "-" || keyedFrom != nil else { return nil }
        self.init(
            host: host, sequence: sequence, hash: hash, keyedFrom: keyedFrom, at: at, keyID: keyID,
            signature: [UInt8](signature))
    }

    public init(
        host: String, sequence: Int64, hash: [UInt8], keyedFrom: Int64?, at: String, keyID: String,
        signature: [UInt8]
    ) {
        self.host = host
        self.sequence = sequence
        self.hash = hash
        self.keyedFrom = keyedFrom
        self.at = at
        self.keyID = keyID
        self.signature = signature
    }

    static func isSafe(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 255
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-._:+".unicodeScalars.contains($0))
            }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0, digits.count <= 128 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        return bytes
    }
}

/// Signs this daemon's chain heads with its own key.
public struct ChainHeadSigner: Sendable {
    public static let keyFile = "audit-head.key"
    public static let publicKeyFile = "audit-head.pub"

    let key: PrivateKey
    public let host: String
    public let keyID: String
    /// The public key, PEM: copy it to the other hosts' head-key directory so they trust this host's heads.
    public let publicKeyPEM: String

    public init(key: PrivateKey, host: String) throws(OpenSSLError) {
        self.key = key
        self.host = SignedChainHead.isSafe(host) ? host : "host"
        let publicKey = try key.publicKey()
        keyID = try ChainHeadTrust.keyID(publicKey)
        publicKeyPEM = try publicKey.pemEncoded()
    }

    /// Loads (creating on first start) `<keys>/audit-head.key` (PKCS#8 PEM, mode 0600, checked like every key file)
    /// and writes its public key beside it (`audit-head.pub`, mode 0644).
    public static func load(keysDirectory: String, host: String) throws -> ChainHeadSigner {
        let path = (keysDirectory as NSString).appendingPathComponent(keyFile)
        let pem = try KeyFile.loadOrCreateSecret(path: path, limit: 16 * 1024) {
            Array(try PrivateKey.generate(.p256).pemEncoded().utf8)
        }
        let signer = try ChainHeadSigner(key: try PrivateKey(pem: String(decoding: pem, as: UTF8.self)), host: host)
        let publicPath = (keysDirectory as NSString).appendingPathComponent(publicKeyFile)
        if (try? String(contentsOfFile: publicPath, encoding: .utf8)) != signer.publicKeyPEM {
            try Data(signer.publicKeyPEM.utf8).write(to: URL(fileURLWithPath: publicPath), options: .atomic)
            chmod(publicPath, 0o644)
        }
        return signer
    }

    public func sign(
        sequence: Int64, hash: [UInt8], keyedFrom: Int64?, at: Date
    ) throws(OpenSSLError) -> SignedChainHead {
        var head = SignedChainHead(
            host: host, sequence: sequence, hash: hash, keyedFrom: keyedFrom,
            at: ISO8601DateFormatter().string(from: at), keyID: keyID, signature: [])
        head.signature = try key.sign(head.signedBytes, scheme: .ecdsa(.sha256))
        return head
    }
}

/// The public keys whose signed heads `audit verify` believes: this daemon's own and those of the fleet's other
/// hosts (their `audit-head.pub`, copied into the head-key directory).
public struct ChainHeadTrust: Sendable {
    let keys: [String: PublicKey]

    public init(_ keys: [PublicKey]) throws(OpenSSLError) {
        var byID: [String: PublicKey] = [:]
        for key in keys { byID[try Self.keyID(key)] = key }
        self.keys = byID
    }

    /// The daemon's own key and every `*.pub` / `*.pem` public key in `directory` (unreadable files are skipped and
    /// named in the second value).
    public static func load(own: ChainHeadSigner?, directory: String) -> (trust: ChainHeadTrust, skipped: [String]) {
        var keys: [PublicKey] = []
        var skipped: [String] = []
        if let own, let key = try? own.key.publicKey() { keys.append(key) }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in files.sorted() where file.hasSuffix(".pub") || file.hasSuffix(".pem") {
            let path = (directory as NSString).appendingPathComponent(file)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), text.utf8.count <= 16 * 1024,
                let key = try? PublicKey(pem: text)
            else {
                skipped.append(path)
                continue
            }
            keys.append(key)
        }
        return ((try? ChainHeadTrust(keys)) ?? ChainHeadTrust(empty: ()), skipped)
    }

    private init(empty: Void) { keys = [:] }

    public static func keyID(_ key: PublicKey) throws(OpenSSLError) -> String {
        SignedChainHead.hex(Array(try Digest.hash(try key.derEncoded(), using: .sha256).prefix(16)))
    }

    /// Splits heads into those a trusted key signed and the rest.
    public func check(_ heads: [SignedChainHead]) -> (trusted: [SignedChainHead], untrusted: [SignedChainHead]) {
        var trusted: [SignedChainHead] = []
        var untrusted: [SignedChainHead] = []
        for head in heads {
            if let key = keys[head.keyID],
                (try? key.verify(signature: head.signature, message: head.signedBytes, scheme: .ecdsa(.sha256))) == true
            {
                trusted.append(head)
            } else {
                untrusted.append(head)
            }
        }
        return (trusted, untrusted)
    }
}
