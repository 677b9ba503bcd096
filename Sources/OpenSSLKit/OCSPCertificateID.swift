import COpenSSL

/// The CertID of an OCSP request or response (RFC 6960 §4.1.1): a certificate named by the hash of its issuer's
/// name, the hash of its issuer's public key and its serial number.
///
/// Identity is the DER encoding: a response repeats the request's CertID byte for byte (hash algorithm parameters
/// included), so two CertIDs that differ only in how the algorithm's NULL parameters are written are different keys.
public struct OCSPCertificateID: Sendable, Hashable, CustomStringConvertible {
    /// The DER CertID as received or built.
    public let der: [UInt8]
    /// The hashAlgorithm's OID, dotted (`1.3.14.3.2.26` for SHA-1).
    public let hashAlgorithmOID: String
    /// The hash algorithm when we support it (SHA-1, SHA-224, SHA-256, SHA-384, SHA-512).
    public var hashAlgorithm: DigestAlgorithm? { DigestAlgorithm(oid: hashAlgorithmOID) }
    /// Hash of the DER of the issuer's subject name.
    public let issuerNameHash: [UInt8]
    /// Hash of the issuer's subjectPublicKey BIT STRING value (without tag, length and unused-bits byte).
    public let issuerKeyHash: [UInt8]
    /// The serial number's magnitude, big-endian, without leading zeros.
    public let serialNumber: [UInt8]

    /// Reads a CertID that stays owned by the caller.
    init(reading pointer: OpaquePointer) throws(OpenSSLError) {
        der = try encodeDER("OCSP CertID DER encode") { i2d_OCSP_CERTID(pointer, $0) }
        var nameHash: UnsafeMutablePointer<ASN1_OCTET_STRING>?
        var algorithm: OpaquePointer?
        var keyHash: UnsafeMutablePointer<ASN1_OCTET_STRING>?
        var serial: UnsafeMutablePointer<ASN1_INTEGER>?
        guard OCSP_id_get0_info(&nameHash, &algorithm, &keyHash, &serial, pointer) == 1 else {
            throw OpenSSLError.capture("OCSP CertID fields")
        }
        hashAlgorithmOID = objectText(algorithm)
        issuerNameHash = stringBytes(UnsafePointer(nameHash))
        issuerKeyHash = stringBytes(UnsafePointer(keyHash))
        serialNumber = integerBytes(UnsafePointer(serial))
    }

    /// Parses a DER CertID; trailing bytes are refused.
    public init(der: [UInt8]) throws(OpenSSLError) {
        let parsed = try decodeDER(
            der, "OCSP CertID", decode: { d2i_OCSP_CERTID(nil, $0, $1) },
            free: OCSP_CERTID_free)
        defer { OCSP_CERTID_free(parsed) }
        try self.init(reading: parsed)
    }

    /// The CertID of the certificate with `serialNumber` issued by `issuer`, hashed with `hashAlgorithm`
    /// (algorithm parameters written as NULL, as OpenSSL and most clients do).
    /// - Throws: `OpenSSLError` for an empty or over-long serial.
    public init(
        serialNumber: [UInt8], issuer: X509Certificate,
        hashAlgorithm: DigestAlgorithm = .sha1
    ) throws(OpenSSLError) {
        let magnitude = Array(serialNumber.drop { $0 == 0 })
        guard !magnitude.isEmpty, magnitude.count <= 20,
            let number = BN_bin2bn(magnitude, Int32(magnitude.count), nil)
        else { throw OpenSSLError(operation: "OCSP CertID serial", queue: ["\(serialNumber.count) bytes"]) }
        defer { BN_free(number) }
        guard let integer = BN_to_ASN1_INTEGER(number, nil) else { throw OpenSSLError.capture("OCSP CertID serial") }
        defer { ASN1_INTEGER_free(integer) }
        guard
            let made = OCSP_cert_id_new(
                hashAlgorithm.evpMD, X509_get_subject_name(issuer.pointer),
                X509_get0_pubkey_bitstr(issuer.pointer), integer)
        else { throw OpenSSLError.capture("OCSP CertID (\(hashAlgorithm.rawValue))") }
        defer { OCSP_CERTID_free(made) }
        try self.init(reading: made)
    }

    /// The CertID of `certificate` as issued by `issuer`.
    public init(
        certificate: X509Certificate, issuer: X509Certificate,
        hashAlgorithm: DigestAlgorithm = .sha1
    ) throws(OpenSSLError) {
        try self.init(serialNumber: certificate.serialNumber, issuer: issuer, hashAlgorithm: hashAlgorithm)
    }

    /// A new `OCSP_CERTID` decoded from `der`; the caller frees it with `OCSP_CERTID_free`.
    func makePointer() throws(OpenSSLError) -> OpaquePointer {
        try decodeDER(der, "OCSP CertID", decode: { d2i_OCSP_CERTID(nil, $0, $1) }, free: OCSP_CERTID_free)
    }

    /// The issuer name and key hashes a CertID for a certificate of `issuer` carries (RFC 6960 §4.1.1).
    /// - Throws: `OpenSSLError` when the digest fails.
    public static func issuerHashes(
        of issuer: X509Certificate, using algorithm: DigestAlgorithm
    )
        throws(OpenSSLError) -> (name: [UInt8], key: [UInt8])
    {
        let keyBits = stringBytes(UnsafePointer(X509_get0_pubkey_bitstr(issuer.pointer)))
        return (try Digest.hash(issuer.subjectNameDER, using: algorithm), try Digest.hash(keyBits, using: algorithm))
    }

    public static func == (lhs: OCSPCertificateID, rhs: OCSPCertificateID) -> Bool { lhs.der == rhs.der }
    public func hash(into hasher: inout Hasher) { hasher.combine(der) }

    public var description: String {
        "OCSPCertificateID(serial \(serialNumber.hexString), \(hashAlgorithm?.rawValue ?? hashAlgorithmOID))"
    }
}
