import COpenSSL

/// The reasonCode CRL entry extension (RFC 5280 §5.3.1).
public enum CRLReason: Int, Sendable, CaseIterable, CustomStringConvertible {
    case unspecified = 0
    case keyCompromise = 1
    case cACompromise = 2
    case affiliationChanged = 3
    case superseded = 4
    case cessationOfOperation = 5
    case certificateHold = 6
    case removeFromCRL = 8
    case privilegeWithdrawn = 9
    case aACompromise = 10

    public var description: String {
        switch self {
        case .unspecified: return "unspecified"
        case .keyCompromise: return "keyCompromise"
        case .cACompromise: return "cACompromise"
        case .affiliationChanged: return "affiliationChanged"
        case .superseded: return "superseded"
        case .cessationOfOperation: return "cessationOfOperation"
        case .certificateHold: return "certificateHold"
        case .removeFromCRL: return "removeFromCRL"
        case .privilegeWithdrawn: return "privilegeWithdrawn"
        case .aACompromise: return "aACompromise"
        }
    }
}

extension CRLBuilder {
    /// Signs the CRL like `sign(issuer:key:scheme:)` and gives each entry whose serial appears in
    /// `reasons` a reasonCode extension. `unspecified` adds no extension: RFC 5280 §5.3.1 says the
    /// extension SHOULD be absent rather than carry that value.
    /// - Parameter reasons: reason by serial number magnitude (big-endian, leading zeros ignored).
    /// - Throws: `OpenSSLError` naming the step that failed.
    public func sign(
        issuer: X509Certificate, key: PrivateKey, reasons: [[UInt8]: CRLReason],
        scheme: SignatureScheme? = nil
    ) throws(OpenSSLError) -> CertificateRevocationList {
        let plain = try sign(issuer: issuer, key: key, scheme: scheme)
        let normalised = Dictionary(
            reasons.map { (Array($0.key.drop { $0 == 0 }), $0.value) },
            uniquingKeysWith: { first, _ in first })
        guard normalised.values.contains(where: { $0 != .unspecified }) else { return plain }
        guard let crl = X509_CRL_dup(plain.pointer) else { throw OpenSSLError.capture("X509_CRL_dup") }
        var owned = true
        defer { if owned { X509_CRL_free(crl) } }
        if let revoked = X509_CRL_get_REVOKED(crl) {
            for index in 0..<max(0, OPENSSL_sk_num(revoked)) {
                guard let raw = OPENSSL_sk_value(revoked, index) else { continue }
                let entry = OpaquePointer(raw)
                let serial = Array(integerBytes(X509_REVOKED_get0_serialNumber(entry)).drop { $0 == 0 })
                guard let reason = normalised[serial], reason != .unspecified else { continue }
                guard let value = ASN1_ENUMERATED_new() else { throw OpenSSLError.capture("reasonCode") }
                defer { ASN1_ENUMERATED_free(value) }
                guard ASN1_ENUMERATED_set(value, reason.rawValue) == 1,
                    X509_REVOKED_add1_ext_i2d(entry, NID_crl_reason, UnsafeMutableRawPointer(value), 0, 0) == 1
                else { throw OpenSSLError.capture("reasonCode \(reason)") }
            }
        }
        let signingScheme = scheme ?? key.defaultScheme()
        let signContext = try key.signingContext(scheme: signingScheme)
        defer { EVP_MD_CTX_free(signContext) }
        guard X509_CRL_sign_ctx(crl, signContext) > 0 else { throw OpenSSLError.capture("CRL sign (\(signingScheme))") }
        owned = false
        return try CertificateRevocationList(owning: crl)
    }
}
