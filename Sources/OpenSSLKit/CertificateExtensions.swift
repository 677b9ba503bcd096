import COpenSSL

/// Extension values a relying party needs to check a certificate's status and purpose (RFC 5280 §4.2).
extension X509Certificate {
    /// authorityInfoAccess id-ad-ocsp URIs (RFC 5280 §4.2.2.1), in order.
    public var ocspURLs: [String] {
        guard let stack = X509_get1_ocsp(pointer) else { return [] }
        defer { X509_email_free(stack) }
        return strings(stack)
    }

    /// authorityInfoAccess id-ad-caIssuers URIs (RFC 5280 §4.2.2.1), in order.
    public var caIssuersURLs: [String] {
        guard let raw = X509_get_ext_d2i(pointer, NID_info_access, nil, nil) else { return [] }
        let stack = OpaquePointer(raw)
        defer { AUTHORITY_INFO_ACCESS_free(stack) }
        var urls: [String] = []
        for index in 0..<max(0, OPENSSL_sk_num(stack)) {
            guard let entry = OPENSSL_sk_value(stack, index)?.assumingMemoryBound(to: ACCESS_DESCRIPTION.self),
                OBJ_obj2nid(entry.pointee.method) == NID_ad_ca_issuers,
                let uri = Self.uri(entry.pointee.location)
            else { continue }
            urls.append(uri)
        }
        return urls
    }

    /// crlDistributionPoints fullName URIs (RFC 5280 §4.2.1.13), in order.
    public var crlDistributionPointURLs: [String] {
        guard let raw = X509_get_ext_d2i(pointer, NID_crl_distribution_points, nil, nil) else { return [] }
        let stack = OpaquePointer(raw)
        defer { CRL_DIST_POINTS_free(stack) }
        var urls: [String] = []
        for index in 0..<max(0, OPENSSL_sk_num(stack)) {
            guard let point = OPENSSL_sk_value(stack, index)?.assumingMemoryBound(to: DIST_POINT.self),
                let name = point.pointee.distpoint, name.pointee.type == 0,
                let names = name.pointee.name.fullname
            else { continue }
            for position in 0..<max(0, OPENSSL_sk_num(names)) {
                let general = OPENSSL_sk_value(names, position)?.assumingMemoryBound(to: GENERAL_NAME.self)
                if let uri = Self.uri(general) { urls.append(uri) }
            }
        }
        return urls
    }

    /// extendedKeyUsage purposes as dotted OIDs (`1.3.6.1.5.5.7.3.9` for id-kp-OCSPSigning); nil when absent.
    public var extendedKeyUsageOIDs: [String]? {
        guard let raw = X509_get_ext_d2i(pointer, NID_ext_key_usage, nil, nil) else { return nil }
        let stack = OpaquePointer(raw)
        defer { EXTENDED_KEY_USAGE_free(stack) }
        return (0..<max(0, OPENSSL_sk_num(stack))).compactMap { index in
            OPENSSL_sk_value(stack, index).map { objectText(OpaquePointer($0)) }
        }
    }

    /// certificatePolicies policy identifiers, dotted (RFC 5280 §4.2.1.4); empty when absent.
    public var policyOIDs: [String] {
        guard let raw = X509_get_ext_d2i(pointer, NID_certificate_policies, nil, nil) else { return [] }
        let stack = OpaquePointer(raw)
        defer { CERTIFICATEPOLICIES_free(stack) }
        return (0..<max(0, OPENSSL_sk_num(stack))).compactMap { index in
            OPENSSL_sk_value(stack, index).map {
                objectText($0.assumingMemoryBound(to: POLICYINFO.self).pointee.policyid)
            }
        }
    }

    /// Whether the certificate carries id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1).
    public var hasOCSPNoCheck: Bool { X509_get_ext_by_NID(pointer, NID_id_pkix_OCSP_noCheck, -1) >= 0 }

    private func strings(_ stack: OpaquePointer) -> [String] {
        (0..<max(0, OPENSSL_sk_num(stack))).compactMap { index in
            OPENSSL_sk_value(stack, index).map { String(cString: $0.assumingMemoryBound(to: CChar.self)) }
        }
    }

    private static func uri(_ name: UnsafeMutablePointer<GENERAL_NAME>?) -> String? {
        guard let name, name.pointee.type == GEN_URI, let value = name.pointee.d.uniformResourceIdentifier else {
            return nil
        }
        return String(decoding: stringBytes(UnsafePointer(value)), as: UTF8.self)
    }
}
