import COpenSSL
import Foundation

/// An X.509 certificate revocation list (`X509_CRL`, RFC 5280 §5), immutable once parsed.
public final class CertificateRevocationList: @unchecked Sendable, CustomStringConvertible {
    /// One revoked certificate.
    public struct Entry: Sendable, Equatable {
        /// Serial number magnitude, big-endian, no leading zeros.
        public var serialNumber: [UInt8]
        public var revocationDate: Date?
        /// The reasonCode entry extension (RFC 5280 §5.3.1); nil when absent.
        public var reason: CRLReason?
    }

    let pointer: OpaquePointer
    public let der: [UInt8]
    /// The revoked certificates, read once at parse time.
    public let entries: [Entry]

    init(owning pointer: OpaquePointer) throws(OpenSSLError) {
        self.pointer = pointer
        do {
            der = try encodeDER("CRL DER encode") { i2d_X509_CRL(pointer, $0) }
        } catch {
            X509_CRL_free(pointer)
            throw error
        }
        var entries: [Entry] = []
        if let revoked = X509_CRL_get_REVOKED(pointer) {
            let stack = revoked
            for index in 0..<max(0, OPENSSL_sk_num(stack)) {
                guard let raw = OPENSSL_sk_value(stack, index) else { continue }
                let entry = OpaquePointer(raw)
                var reason: CRLReason?
                if let raw = X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nil, nil) {
                    let code = raw.assumingMemoryBound(to: ASN1_ENUMERATED.self)
                    reason = CRLReason(rawValue: ASN1_ENUMERATED_get(code))
                    ASN1_ENUMERATED_free(code)
                }
                entries.append(
                    Entry(
                        serialNumber: integerBytes(X509_REVOKED_get0_serialNumber(entry)),
                        revocationDate: date(X509_REVOKED_get0_revocationDate(entry)), reason: reason))
            }
        }
        self.entries = entries
    }

    deinit { X509_CRL_free(pointer) }

    /// Parses one DER CRL; trailing bytes are refused.
    public convenience init(der: [UInt8]) throws(OpenSSLError) {
        let parsed = try decodeDER(der, "CRL", decode: { d2i_X509_CRL(nil, $0, $1) }, free: X509_CRL_free)
        try self.init(owning: parsed)
    }

    /// Parses the first PEM `X509 CRL` block.
    public convenience init(pem: String) throws(OpenSSLError) {
        let parsed = try decodePEM(pem, "CRL") { PEM_read_bio_X509_CRL($0, nil, nil, nil) }
        try self.init(owning: parsed)
    }

    public var pem: String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN X509 CRL-----\n\(base64)\n-----END X509 CRL-----\n"
    }

    public var issuer: DistinguishedName { DistinguishedName(name: X509_CRL_get_issuer(pointer)) }
    public var issuerNameDER: [UInt8] { nameDER(X509_CRL_get_issuer(pointer)) }
    public var thisUpdate: Date? { date(X509_CRL_get0_lastUpdate(pointer)) }
    public var nextUpdate: Date? { date(X509_CRL_get0_nextUpdate(pointer)) }

    /// The cRLNumber extension (RFC 5280 §5.2.3), when present and small enough for an `Int`.
    public var crlNumber: Int? {
        guard let raw = X509_CRL_get_ext_d2i(pointer, NID_crl_number, nil, nil) else { return nil }
        let number = raw.assumingMemoryBound(to: ASN1_INTEGER.self)
        defer { ASN1_INTEGER_free(number) }
        var value: Int64 = 0
        guard ASN1_INTEGER_get_int64(&value, number) == 1 else { return nil }
        return Int(exactly: value)
    }

    /// Whether `certificate`'s issuer name is this CRL's issuer.
    public func covers(_ certificate: X509Certificate) -> Bool {
        X509_NAME_cmp(X509_CRL_get_issuer(pointer), X509_get_issuer_name(certificate.pointer)) == 0
    }

    /// Whether the CRL's signature verifies with `key`.
    public func isSigned(by key: PublicKey) -> Bool {
        let result = X509_CRL_verify(pointer, key.pointer)
        _ = OpenSSLError.drainErrorQueue()
        return result == 1
    }

    /// The entry revoking `serialNumber` (magnitude bytes), if any.
    public func entry(forSerial serialNumber: [UInt8]) -> Entry? {
        let wanted = Array(serialNumber.drop { $0 == 0 })
        return entries.first { Array($0.serialNumber.drop { $0 == 0 }) == wanted }
    }

    public var description: String { "CRL(\(issuer), \(entries.count) revoked)" }
}
