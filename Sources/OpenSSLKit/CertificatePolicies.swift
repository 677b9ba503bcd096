import COpenSSL

/// The certificatePolicies extension (RFC 5280 §4.2.1.4) as a value for `CertificateBuilder.extraExtensions`.
///
/// OpenSSL parses `certificatePolicies = 1.2.3` only with a configuration database, which the builder's
/// context has none of; this encodes the extension itself and hands it over in the generic `DER:` form.
public enum CertificatePolicies {
    /// `DER:<hex>` for a certificatePolicies extension listing `policyOIDs` (dotted), without qualifiers.
    /// - Throws: `OpenSSLError` for an empty list or an OID OpenSSL cannot parse.
    public static func extensionValue(policyOIDs: [String]) throws(OpenSSLError) -> String {
        guard !policyOIDs.isEmpty else {
            throw OpenSSLError(operation: "certificatePolicies", queue: ["no policy identifiers"])
        }
        var policies: [UInt8] = []
        for oid in policyOIDs {
            guard let object = OBJ_txt2obj(oid, 1) else { throw OpenSSLError.capture("policy OID \(oid)") }
            defer { ASN1_OBJECT_free(object) }
            let encoded = try encodeDER("policy OID \(oid)") { i2d_ASN1_OBJECT(object, $0) }
            policies += derTLV(0x30, encoded)
        }
        return "DER:" + derTLV(0x30, policies).map { String(format: "%02X", $0) }.joined()
    }

    /// A DER tag-length-value with a definite length.
    static func derTLV(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var length: [UInt8] = []
        if content.count < 0x80 {
            length = [UInt8(content.count)]
        } else {
            var remaining = content.count
            while remaining > 0 {
                length.insert(UInt8(remaining & 0xFF), at: 0)
                remaining >>= 8
            }
            length.insert(0x80 | UInt8(length.count), at: 0)
        }
        return [tag] + length + content
    }
}
