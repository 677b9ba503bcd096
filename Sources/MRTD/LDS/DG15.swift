import OpenSSLKit
import SmartCard

/// DG15, the active authentication public key (ICAO 9303-10 §4.7.15, 9303-11 §6.1): template '6F' holding a
/// DER SubjectPublicKeyInfo (RSA or EC).
public struct DG15: Sendable {
    public static let tag: UInt32 = 0x6F

    /// The DER SubjectPublicKeyInfo as stored.
    public let subjectPublicKeyInfo: [UInt8]
    public let publicKey: PublicKey

    /// Parses DG15. Throws `LDSError` for a wrong template, a trailing byte or a key OpenSSL cannot read.
    public init(parsing bytes: [UInt8]) throws(LDSError) {
        let template: TLV
        do {
            template = try TLV.parse(bytes, limits: TLVLimits(maxLength: 16_384, maxDepth: 8, maxTagBytes: 2))
        } catch {
            throw .malformedTLV(file: "DG15", error)
        }
        guard template.tag == Self.tag else {
            throw .unexpectedTag(file: "DG15", expected: Self.tag, found: template.tag)
        }
        let children: [TLV]
        do {
            children = try template.children()
        } catch {
            throw .malformedTLV(file: "DG15", error)
        }
        guard children.count == 1, children[0].tag == 0x30 else {
            throw .invalidValue(
                file: "DG15", field: "SubjectPublicKeyInfo",
                reason: "the template must hold exactly one SEQUENCE")
        }
        let inner = children[0]
        do {
            publicKey = try PublicKey(der: inner.encoded)
        } catch {
            throw .invalidValue(
                file: "DG15", field: "SubjectPublicKeyInfo", reason: "not a usable public key: \(error)")
        }
        switch publicKey.keyType {
        case .rsa, .ec: break
        case let .other(name):
            throw .invalidValue(file: "DG15", field: "SubjectPublicKeyInfo", reason: "\(name) keys cannot sign")
        }
        subjectPublicKeyInfo = inner.encoded
    }

    /// A DG15 for `publicKey` (personalisation).
    public init(publicKey: PublicKey) throws(OpenSSLError) {
        self.publicKey = publicKey
        subjectPublicKeyInfo = try publicKey.derEncoded()
    }

    public var encoded: [UInt8] { TLV(tag: Self.tag, value: subjectPublicKeyInfo).encoded }
}
