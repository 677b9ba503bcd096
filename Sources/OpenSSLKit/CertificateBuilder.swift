import COpenSSL
import Foundation

/// Builds and signs X.509 v3 certificates (RFC 5280): test PKIs (CSCA, link, DSC, master list signer)
/// and the enrollment CA's certificates.
public struct CertificateBuilder: Sendable {
    public var subject: DistinguishedName
    /// Serial number magnitude, big-endian (a positive INTEGER; up to 20 bytes).
    public var serialNumber: [UInt8]
    public var notBefore: Date
    public var notAfter: Date
    public var publicKey: PublicKey
    /// basicConstraints: nil leaves the extension out; `pathLength` nil means unlimited.
    public var basicConstraints: (isCA: Bool, pathLength: Int?)?
    public var keyUsage: KeyUsage?
    /// Adds subjectKeyIdentifier (SHA-1 of the public key, RFC 5280 §4.2.1.2 method 1).
    public var includeSubjectKeyIdentifier = true
    /// Adds authorityKeyIdentifier (the issuer's key identifier) when the issuer has one.
    public var includeAuthorityKeyIdentifier = true
    /// Extra extensions in OpenSSL configuration syntax, by name: `("extendedKeyUsage", "clientAuth")`.
    public var extraExtensions: [(name: String, value: String)] = []

    public init(
        subject: DistinguishedName, serialNumber: [UInt8], notBefore: Date, notAfter: Date,
        publicKey: PublicKey, basicConstraints: (isCA: Bool, pathLength: Int?)? = nil,
        keyUsage: KeyUsage? = nil
    ) {
        self.subject = subject
        self.serialNumber = serialNumber
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.publicKey = publicKey
        self.basicConstraints = basicConstraints
        self.keyUsage = keyUsage
    }

    /// Signs the certificate. With `issuer` nil the certificate is self-signed (issuer = subject).
    /// - Parameters:
    ///   - key: the issuer's private key (the subject's own for a self-signed certificate).
    ///   - scheme: signature scheme; defaults to ECDSA or RSA PKCS#1 v1.5 with SHA-256 by key type.
    /// - Throws: `OpenSSLError` naming the step that failed.
    public func sign(
        issuer: X509Certificate? = nil, key: PrivateKey,
        scheme: SignatureScheme? = nil
    ) throws(OpenSSLError) -> X509Certificate {
        guard let certificate = X509_new() else { throw OpenSSLError.capture("X509_new") }
        var owned = true
        defer { if owned { X509_free(certificate) } }

        guard X509_set_version(certificate, 2) == 1 else { throw OpenSSLError.capture("certificate version") }
        try setSerial(certificate)
        let name = try subject.makeName()
        defer { X509_NAME_free(name) }
        guard X509_set_subject_name(certificate, name) == 1 else { throw OpenSSLError.capture("subject name") }
        let issuerName = issuer.map { X509_get_subject_name($0.pointer) } ?? name
        guard X509_set_issuer_name(certificate, issuerName) == 1 else { throw OpenSSLError.capture("issuer name") }
        let start = try makeTime(notBefore)
        defer { ASN1_TIME_free(start) }
        let end = try makeTime(notAfter)
        defer { ASN1_TIME_free(end) }
        guard X509_set1_notBefore(certificate, start) == 1, X509_set1_notAfter(certificate, end) == 1 else {
            throw OpenSSLError.capture("validity")
        }
        guard X509_set_pubkey(certificate, publicKey.pointer) == 1 else { throw OpenSSLError.capture("public key") }

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer?.pointer ?? certificate, certificate, nil, nil, 0)
        var extensions: [(Int32?, String, String)] = []
        if let basicConstraints {
            var value = "critical,CA:\(basicConstraints.isCA ? "TRUE" : "FALSE")"
            if basicConstraints.isCA, let length = basicConstraints.pathLength { value += ",pathlen:\(length)" }
            extensions.append((NID_basic_constraints, "basicConstraints", value))
        }
        if let keyUsage, !keyUsage.isEmpty {
            extensions.append((NID_key_usage, "keyUsage", "critical," + keyUsage.configNames.joined(separator: ",")))
        }
        if includeSubjectKeyIdentifier {
            extensions.append((NID_subject_key_identifier, "subjectKeyIdentifier", "hash"))
        }
        if includeAuthorityKeyIdentifier, let issuer, issuer.subjectKeyIdentifier != nil {
            extensions.append((NID_authority_key_identifier, "authorityKeyIdentifier", "keyid:always"))
        }
        for extra in extraExtensions { extensions.append((nil, extra.name, extra.value)) }
        for (nid, label, value) in extensions {
            let made: OpaquePointer?
            if let nid {
                made = X509V3_EXT_conf_nid(nil, &context, nid, value)
            } else {
                made = X509V3_EXT_conf(nil, &context, label, value)
            }
            guard let made else { throw OpenSSLError.capture("extension \(label)=\(value)") }
            defer { X509_EXTENSION_free(made) }
            guard X509_add_ext(certificate, made, -1) == 1 else { throw OpenSSLError.capture("add \(label)") }
        }

        let signingScheme = scheme ?? key.defaultScheme()
        let signContext = try key.signingContext(scheme: signingScheme)
        defer { EVP_MD_CTX_free(signContext) }
        guard X509_sign_ctx(certificate, signContext) > 0 else {
            throw OpenSSLError.capture("certificate sign (\(signingScheme))")
        }
        owned = false
        return try X509Certificate(owning: certificate)
    }

    private func setSerial(_ certificate: OpaquePointer) throws(OpenSSLError) {
        guard !serialNumber.isEmpty, serialNumber.count <= 20,
            let number = BN_bin2bn(serialNumber, Int32(serialNumber.count), nil)
        else { throw OpenSSLError(operation: "serial number", queue: ["\(serialNumber.count) bytes"]) }
        defer { BN_free(number) }
        guard let integer = BN_to_ASN1_INTEGER(number, nil) else { throw OpenSSLError.capture("serial number") }
        defer { ASN1_INTEGER_free(integer) }
        guard X509_set_serialNumber(certificate, integer) == 1 else { throw OpenSSLError.capture("serial number") }
    }

    /// A random positive 16-byte serial (RFC 5280 allows up to 20).
    public static func randomSerial() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        _ = RAND_bytes(&bytes, Int32(bytes.count))
        bytes[0] = (bytes[0] & 0x7F) | 0x01
        return bytes
    }
}

/// Builds and signs X.509 v2 CRLs (RFC 5280 §5) with crlNumber and authorityKeyIdentifier.
public struct CRLBuilder: Sendable {
    public struct Revocation: Sendable {
        public var serialNumber: [UInt8]
        public var date: Date

        public init(serialNumber: [UInt8], date: Date) {
            self.serialNumber = serialNumber
            self.date = date
        }
    }

    public var thisUpdate: Date
    public var nextUpdate: Date?
    public var crlNumber: Int
    public var revoked: [Revocation]

    public init(thisUpdate: Date, nextUpdate: Date?, crlNumber: Int = 1, revoked: [Revocation] = []) {
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.crlNumber = crlNumber
        self.revoked = revoked
    }

    /// Signs the CRL as `issuer` with `key`.
    public func sign(
        issuer: X509Certificate, key: PrivateKey,
        scheme: SignatureScheme? = nil
    ) throws(OpenSSLError) -> CertificateRevocationList {
        guard let crl = X509_CRL_new() else { throw OpenSSLError.capture("X509_CRL_new") }
        var owned = true
        defer { if owned { X509_CRL_free(crl) } }
        guard X509_CRL_set_version(crl, 1) == 1,
            X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer.pointer)) == 1
        else { throw OpenSSLError.capture("CRL version/issuer") }
        let start = try makeTime(thisUpdate)
        defer { ASN1_TIME_free(start) }
        guard X509_CRL_set1_lastUpdate(crl, start) == 1 else { throw OpenSSLError.capture("CRL thisUpdate") }
        if let nextUpdate {
            let end = try makeTime(nextUpdate)
            defer { ASN1_TIME_free(end) }
            guard X509_CRL_set1_nextUpdate(crl, end) == 1 else { throw OpenSSLError.capture("CRL nextUpdate") }
        }
        for revocation in revoked {
            guard let entry = X509_REVOKED_new() else { throw OpenSSLError.capture("X509_REVOKED_new") }
            guard let number = BN_bin2bn(revocation.serialNumber, Int32(revocation.serialNumber.count), nil) else {
                X509_REVOKED_free(entry)
                throw OpenSSLError.capture("revoked serial")
            }
            let integer = BN_to_ASN1_INTEGER(number, nil)
            BN_free(number)
            let when = try? makeTime(revocation.date)
            let ok =
                integer != nil && when != nil && X509_REVOKED_set_serialNumber(entry, integer) == 1
                && X509_REVOKED_set_revocationDate(entry, when) == 1
            ASN1_INTEGER_free(integer)
            ASN1_TIME_free(when)
            guard ok, X509_CRL_add0_revoked(crl, entry) == 1 else {
                X509_REVOKED_free(entry)
                throw OpenSSLError.capture("revoked entry")
            }
        }
        _ = X509_CRL_sort(crl)

        guard let number = ASN1_INTEGER_new() else { throw OpenSSLError.capture("crlNumber") }
        defer { ASN1_INTEGER_free(number) }
        guard ASN1_INTEGER_set(number, crlNumber) == 1,
            X509_CRL_add1_ext_i2d(crl, NID_crl_number, UnsafeMutableRawPointer(number), 0, 0) == 1
        else { throw OpenSSLError.capture("crlNumber") }
        if issuer.subjectKeyIdentifier != nil {
            var context = X509V3_CTX()
            X509V3_set_ctx(&context, issuer.pointer, nil, nil, crl, 0)
            guard let extensionValue = X509V3_EXT_conf_nid(nil, &context, NID_authority_key_identifier, "keyid:always")
            else { throw OpenSSLError.capture("CRL authorityKeyIdentifier") }
            defer { X509_EXTENSION_free(extensionValue) }
            guard X509_CRL_add_ext(crl, extensionValue, -1) == 1 else { throw OpenSSLError.capture("CRL AKI") }
        }

        let signingScheme = scheme ?? key.defaultScheme()
        let signContext = try key.signingContext(scheme: signingScheme)
        defer { EVP_MD_CTX_free(signContext) }
        guard X509_CRL_sign_ctx(crl, signContext) > 0 else { throw OpenSSLError.capture("CRL sign (\(signingScheme))") }
        owned = false
        return try CertificateRevocationList(owning: crl)
    }
}
