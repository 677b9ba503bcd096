import COpenSSL

/// An OCSP request (RFC 6960 §4.1), read once at parse time into plain values.
public struct OCSPRequest: Sendable {
    /// The DER as received.
    public let der: [UInt8]
    /// The certificates asked about, in request order.
    public let certificateIDs: [OCSPCertificateID]
    /// The nonce (RFC 6960 §4.4.1, RFC 8954 §2.1): the content of the Nonce OCTET STRING, or the raw extension
    /// value from clients that omit the inner OCTET STRING.
    public let nonce: [UInt8]?
    /// The nonce extension's extnValue exactly as received, which a response echoes.
    public let nonceExtensionValue: [UInt8]?
    /// Whether the request carries an optionalSignature (RFC 6960 §4.1.2); its signature is not checked.
    public let isSigned: Bool
    /// Dotted OIDs of critical extensions we do not understand, on the request or on one of its entries.
    public let unsupportedCriticalExtensions: [String]

    /// Parses a DER OCSPRequest; trailing bytes are refused.
    /// - Throws: `OpenSSLError` when the bytes are not an OCSP request.
    public init(der: [UInt8]) throws(OpenSSLError) {
        let request = try decodeDER(
            der, "OCSP request", decode: { d2i_OCSP_REQUEST(nil, $0, $1) },
            free: OCSP_REQUEST_free)
        defer { OCSP_REQUEST_free(request) }
        self.der = der
        var identifiers: [OCSPCertificateID] = []
        var unsupported: [String] = []
        let count = OCSP_request_onereq_count(request)
        for index in 0..<max(0, count) {
            guard let one = OCSP_request_onereq_get0(request, index), let id = OCSP_onereq_get0_id(one) else {
                throw OpenSSLError.capture("OCSP request entry \(index)")
            }
            identifiers.append(try OCSPCertificateID(reading: id))
            for position in 0..<max(0, OCSP_ONEREQ_get_ext_count(one)) {
                let ext = OCSP_ONEREQ_get_ext(one, position)
                if X509_EXTENSION_get_critical(ext) != 0 {
                    unsupported.append(objectText(X509_EXTENSION_get_object(ext)))
                }
            }
        }
        var nonceValue: [UInt8]?
        for position in 0..<max(0, OCSP_REQUEST_get_ext_count(request)) {
            let ext = OCSP_REQUEST_get_ext(request, position)
            let object = X509_EXTENSION_get_object(ext)
            if OBJ_obj2nid(object) == NID_id_pkix_OCSP_Nonce {
                nonceValue = stringBytes(UnsafePointer(X509_EXTENSION_get_data(ext)))
            } else if X509_EXTENSION_get_critical(ext) != 0 {
                unsupported.append(objectText(object))
            }
        }
        certificateIDs = identifiers
        nonceExtensionValue = nonceValue
        nonce = nonceValue.map(Self.nonceBytes)
        isSigned = OCSP_request_is_signed(request) == 1
        unsupportedCriticalExtensions = unsupported
        _ = OpenSSLError.drainErrorQueue()
    }

    /// Encodes an unsigned request for `certificateIDs`, with a nonce extension when `nonce` is given
    /// (RFC 8954: 1 to 32 bytes, wrapped in an OCTET STRING).
    /// - Throws: `OpenSSLError` for an empty list or a nonce outside 1…32 bytes.
    public static func encode(
        certificateIDs: [OCSPCertificateID], nonce: [UInt8]? = nil
    )
        throws(OpenSSLError) -> [UInt8]
    {
        guard !certificateIDs.isEmpty else {
            throw OpenSSLError(operation: "OCSP request", queue: ["no certificate to ask about"])
        }
        guard let request = OCSP_REQUEST_new() else { throw OpenSSLError.capture("OCSP_REQUEST_new") }
        defer { OCSP_REQUEST_free(request) }
        for id in certificateIDs {
            let pointer = try id.makePointer()
            guard OCSP_request_add0_id(request, pointer) != nil else {
                OCSP_CERTID_free(pointer)
                throw OpenSSLError.capture("OCSP request entry")
            }
        }
        if let nonce {
            guard (1...32).contains(nonce.count) else {
                throw OpenSSLError(
                    operation: "OCSP request nonce",
                    queue: ["\(nonce.count) bytes; RFC 8954 allows 1 to 32"])
            }
            var bytes = nonce
            guard OCSP_request_add1_nonce(request, &bytes, Int32(bytes.count)) == 1 else {
                throw OpenSSLError.capture("OCSP request nonce")
            }
        }
        return try encodeDER("OCSP request DER encode") { i2d_OCSP_REQUEST(request, $0) }
    }

    /// The nonce inside an extension value: the content of a DER OCTET STRING when the value is exactly one,
    /// otherwise the value itself (RFC 6960 §4.4.1 clients that put the bytes in directly).
    static func nonceBytes(_ value: [UInt8]) -> [UInt8] {
        guard value.count >= 2, value[0] == 0x04 else { return value }
        if value[1] < 0x80, Int(value[1]) == value.count - 2 { return Array(value[2...]) }
        if value[1] == 0x81, value.count >= 3, Int(value[2]) == value.count - 3, value[2] >= 0x80 {
            return Array(value[3...])
        }
        return value
    }
}
