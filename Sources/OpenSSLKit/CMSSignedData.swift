import COpenSSL
import Foundation

/// How a CMS signer names its certificate (RFC 5652 §5.3 SignerIdentifier).
public enum CMSSignerIdentifier: Sendable, Equatable, CustomStringConvertible {
    case issuerAndSerialNumber(issuer: DistinguishedName, serialNumber: [UInt8])
    case subjectKeyIdentifier([UInt8])

    public var description: String {
        switch self {
        case let .issuerAndSerialNumber(issuer, serial): return "issuer \(issuer), serial \(serial.hexString)"
        case let .subjectKeyIdentifier(keyID): return "subject key identifier \(keyID.hexString)"
        }
    }
}

/// One SignerInfo of a SignedData, as read (RFC 5652 §5.3). Plain values; no signature checked.
public struct CMSSignerInfo: Sendable, Equatable {
    /// Position among the SignedData's signers.
    public var index: Int
    public var identifier: CMSSignerIdentifier
    /// Dotted OID of digestAlgorithm, and the digest when we support it.
    public var digestAlgorithmOID: String
    public var digestAlgorithm: DigestAlgorithm?
    /// Dotted OID of signatureAlgorithm (`rsaEncryption`, `RSASSA-PSS`, `ecdsa-with-SHA256`, …).
    public var signatureAlgorithmOID: String
    /// Human name of the signature scheme, e.g. `ECDSA with SHA256`, `RSA-PSS with SHA256`.
    public var signatureAlgorithmName: String
    public var signature: [UInt8]
    public var signedAttributeCount: Int
    /// The messageDigest signed attribute (RFC 5652 §11.2).
    public var messageDigest: [UInt8]?
    /// The contentType signed attribute, dotted (RFC 5652 §11.1).
    public var contentTypeAttribute: String?
    /// The signingTime signed attribute (RFC 5652 §11.3).
    public var signingTime: Date?
}

/// CMS SignedData (RFC 5652 §5) in a ContentInfo: parse, inspect, verify a signer's signature over
/// its signed attributes, and sign new content. Immutable after init (each verification works on
/// its own decoded copy).
public final class CMSSignedData: @unchecked Sendable {
    private let pointer: OpaquePointer
    /// The DER ContentInfo.
    public let der: [UInt8]
    /// eContentType, dotted.
    public let contentType: String
    /// eContent, or nil when detached.
    public let content: [UInt8]?
    /// The certificates carried in the SignedData.
    public let certificates: [X509Certificate]
    public let signers: [CMSSignerInfo]

    /// Parses a DER ContentInfo holding SignedData; trailing bytes are refused.
    /// - Throws: `OpenSSLError` when the bytes are not CMS SignedData.
    public init(der: [UInt8]) throws(OpenSSLError) {
        guard let parsed = CMSSignedData.decode(der) else { throw OpenSSLError.capture("CMS DER decode") }
        guard OBJ_obj2nid(CMS_get0_type(parsed)) == NID_pkcs7_signed else {
            CMS_ContentInfo_free(parsed)
            throw OpenSSLError(operation: "CMS DER decode", queue: ["content type is not signedData"])
        }
        pointer = parsed
        self.der = der
        contentType = objectText(CMS_get0_eContentType(parsed))
        if let slot = CMS_get0_content(parsed), let octets = slot.pointee {
            content = stringBytes(UnsafePointer(octets))
        } else {
            content = nil
        }
        var certificates: [X509Certificate] = []
        if let stack = CMS_get1_certs(parsed) {
            let count = OPENSSL_sk_num(stack)
            var taken: [OpaquePointer] = []
            for index in 0..<max(0, count) {
                if let raw = OPENSSL_sk_value(stack, index) { taken.append(OpaquePointer(raw)) }
            }
            OPENSSL_sk_free(stack)
            for certificate in taken {
                if let wrapped = try? X509Certificate(owning: certificate) { certificates.append(wrapped) }
            }
        }
        self.certificates = certificates
        var signers: [CMSSignerInfo] = []
        if let stack = CMS_get0_SignerInfos(parsed) {
            for index in 0..<max(0, OPENSSL_sk_num(stack)) {
                guard let raw = OPENSSL_sk_value(stack, index) else { continue }
                signers.append(CMSSignedData.read(signer: OpaquePointer(raw), index: Int(index)))
            }
        }
        self.signers = signers
        _ = OpenSSLError.drainErrorQueue()
    }

    deinit { CMS_ContentInfo_free(pointer) }

    private static func decode(_ der: [UInt8]) -> OpaquePointer? {
        try? decodeDER(der, "CMS", decode: { d2i_CMS_ContentInfo(nil, $0, $1) }, free: CMS_ContentInfo_free)
    }

    private static func signerInfo(_ cms: OpaquePointer, index: Int) -> OpaquePointer? {
        guard let stack = CMS_get0_SignerInfos(cms), index >= 0, index < Int(OPENSSL_sk_num(stack)),
            let raw = OPENSSL_sk_value(stack, Int32(index))
        else { return nil }
        return OpaquePointer(raw)
    }

    private static func read(signer: OpaquePointer, index: Int) -> CMSSignerInfo {
        var keyID: UnsafeMutablePointer<ASN1_OCTET_STRING>?
        var issuer: OpaquePointer?
        var serial: UnsafeMutablePointer<ASN1_INTEGER>?
        _ = CMS_SignerInfo_get0_signer_id(signer, &keyID, &issuer, &serial)
        let identifier: CMSSignerIdentifier =
            keyID != nil
            ? .subjectKeyIdentifier(stringBytes(UnsafePointer(keyID)))
            : .issuerAndSerialNumber(
                issuer: DistinguishedName(name: issuer),
                serialNumber: integerBytes(UnsafePointer(serial)))

        var digestAlgorithm: UnsafeMutablePointer<X509_ALGOR>?
        var signatureAlgorithm: UnsafeMutablePointer<X509_ALGOR>?
        CMS_SignerInfo_get0_algs(signer, nil, nil, &digestAlgorithm, &signatureAlgorithm)
        let digestOID = algorithmObject(digestAlgorithm)
        let signatureOID = algorithmObject(signatureAlgorithm)
        let digest = DigestAlgorithm(oid: objectText(digestOID))

        let messageDigest = CMS_signed_get0_data_by_OBJ(
            signer, OBJ_nid2obj(NID_pkcs9_messageDigest), -3,
            V_ASN1_OCTET_STRING)
        let contentType = CMS_signed_get0_data_by_OBJ(signer, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT)
        var signingTime: Date?
        for type in [V_ASN1_UTCTIME, V_ASN1_GENERALIZEDTIME] where signingTime == nil {
            if let raw = CMS_signed_get0_data_by_OBJ(signer, OBJ_nid2obj(NID_pkcs9_signingTime), -3, type) {
                signingTime = date(raw.assumingMemoryBound(to: ASN1_TIME.self))
            }
        }
        return CMSSignerInfo(
            index: index,
            identifier: identifier,
            digestAlgorithmOID: objectText(digestOID),
            digestAlgorithm: digest,
            signatureAlgorithmOID: objectText(signatureOID),
            signatureAlgorithmName: schemeName(signatureOID: signatureOID, digest: digest),
            signature: stringBytes(UnsafePointer(CMS_SignerInfo_get0_signature(signer))),
            signedAttributeCount: Int(CMS_signed_get_attr_count(signer)),
            messageDigest: messageDigest.map { stringBytes($0.assumingMemoryBound(to: ASN1_STRING.self)) },
            contentTypeAttribute: contentType.map { objectText(OpaquePointer($0)) },
            signingTime: signingTime)
    }

    private static func algorithmObject(_ algorithm: UnsafeMutablePointer<X509_ALGOR>?) -> OpaquePointer? {
        guard let algorithm else { return nil }
        var object: OpaquePointer?
        X509_ALGOR_get0(&object, nil, nil, algorithm)
        return object
    }

    private static func schemeName(signatureOID: OpaquePointer?, digest: DigestAlgorithm?) -> String {
        let nid = OBJ_obj2nid(signatureOID)
        var keyNID = nid
        var digestNID: Int32 = NID_undef
        if OBJ_find_sigid_algs(nid, &digestNID, &keyNID) == 0 { keyNID = nid }
        let hash = (DigestAlgorithm(nid: digestNID) ?? digest)?.rawValue ?? "unknown digest"
        switch keyNID {
        case NID_rsaEncryption: return "RSA PKCS#1 v1.5 with \(hash)"
        case NID_rsassaPss: return "RSA-PSS with \(hash)"
        case NID_X9_62_id_ecPublicKey: return "ECDSA with \(hash)"
        default:
            let name = OBJ_nid2ln(nid).map { String(cString: $0) } ?? objectText(signatureOID)
            return "\(name) with \(hash)"
        }
    }

    /// Whether `certificate` is the one `signer` names (issuer and serial, or subject key identifier).
    public func signer(_ signer: CMSSignerInfo, matches certificate: X509Certificate) -> Bool {
        guard let info = CMSSignedData.signerInfo(pointer, index: signer.index) else { return false }
        return CMS_SignerInfo_cert_cmp(info, certificate.pointer) == 0
    }

    /// Verifies `signer`'s signature over its DER signed attributes with `certificate`'s public key
    /// (RSA PKCS#1 v1.5, RSA-PSS, ECDSA on named or explicit curves). Does not check the
    /// messageDigest attribute against the content, nor the certificate's chain.
    /// Returns false for a wrong signature or when there are no signed attributes.
    public func verifySignature(of signer: CMSSignerInfo, with certificate: X509Certificate) -> Bool {
        guard signer.signedAttributeCount > 0, let copy = CMSSignedData.decode(der) else { return false }
        defer { CMS_ContentInfo_free(copy) }
        guard let info = CMSSignedData.signerInfo(copy, index: signer.index) else { return false }
        CMS_SignerInfo_set1_signer_cert(info, certificate.pointer)
        let result = CMS_SignerInfo_verify(info)
        _ = OpenSSLError.drainErrorQueue()
        return result == 1
    }

    /// How the signer identifies its certificate in a new SignedData.
    public enum SignerIdentification: Sendable {
        case issuerAndSerialNumber
        case subjectKeyIdentifier
    }

    /// Signs `content` as SignedData with eContentType `contentType` (dotted OID), signed attributes
    /// contentType, signingTime and messageDigest.
    /// - Parameters:
    ///   - scheme: defaults to ECDSA or RSA PKCS#1 v1.5 with SHA-256 by key type; its digest is also the
    ///     SignerInfo's digestAlgorithm.
    ///   - includeCertificate: put `certificate` in the SignedData's certificates.
    ///   - signingTime: nil means now.
    public static func sign(
        content: [UInt8], contentType: String, certificate: X509Certificate, key: PrivateKey,
        scheme: SignatureScheme? = nil,
        identification: SignerIdentification = .issuerAndSerialNumber,
        includeCertificate: Bool = true, extraCertificates: [X509Certificate] = [],
        signingTime: Date? = nil
    ) throws(OpenSSLError) -> CMSSignedData {
        let signingScheme = scheme ?? key.defaultScheme()
        var flags = UInt32(CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP)
        if identification == .subjectKeyIdentifier { flags |= UInt32(CMS_USE_KEYID) }
        if !includeCertificate { flags |= UInt32(CMS_NOCERTS) }
        if case .rsaPSS = signingScheme { flags |= UInt32(CMS_KEY_PARAM) }
        guard let cms = CMS_sign(nil, nil, nil, nil, flags) else { throw OpenSSLError.capture("CMS_sign") }
        defer { CMS_ContentInfo_free(cms) }
        guard let type = OBJ_txt2obj(contentType, 1) else { throw OpenSSLError.capture("content type \(contentType)") }
        defer { ASN1_OBJECT_free(type) }
        guard CMS_set1_eContentType(cms, type) == 1 else { throw OpenSSLError.capture("eContentType") }
        guard let info = CMS_add1_signer(cms, certificate.pointer, key.pointer, signingScheme.digest.evpMD, flags)
        else {
            throw OpenSSLError.capture("CMS signer (\(signingScheme))")
        }
        if case .rsaPSS = signingScheme {
            try signingScheme.configure(CMS_SignerInfo_get0_pkey_ctx(info))
        }
        let time = try makeTime(signingTime ?? Date())
        defer { ASN1_TIME_free(time) }
        guard
            CMS_signed_add1_attr_by_NID(
                info, NID_pkcs9_signingTime, ASN1_STRING_type(time),
                UnsafeRawPointer(time), -1) == 1
        else { throw OpenSSLError.capture("signingTime attribute") }
        for extra in extraCertificates where CMS_add1_cert(cms, extra.pointer) != 1 {
            throw OpenSSLError.capture("CMS certificate")
        }
        let data = try MemoryBIO(bytes: content)
        guard CMS_final(cms, data.pointer, nil, UInt32(CMS_BINARY)) == 1 else {
            throw OpenSSLError.capture("CMS final (\(signingScheme))")
        }
        let encoded = try encodeDER("CMS DER encode") { i2d_CMS_ContentInfo(cms, $0) }
        return try CMSSignedData(der: encoded)
    }
}

/// DER encoding of OBJECT IDENTIFIERs through OpenSSL's object table.
public enum ASN1ObjectIdentifier {
    /// The complete DER TLV (`06 len …`) of a dotted OID such as `2.23.136.1.1.1`.
    /// - Throws: `OpenSSLError` when the text is not a valid OID.
    public static func der(_ dotted: String) throws(OpenSSLError) -> [UInt8] {
        guard let object = OBJ_txt2obj(dotted, 1) else { throw OpenSSLError.capture("OID \(dotted)") }
        defer { ASN1_OBJECT_free(object) }
        return try encodeDER("OID \(dotted) encode") { i2d_ASN1_OBJECT(object, $0) }
    }
}
