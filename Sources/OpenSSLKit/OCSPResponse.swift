import COpenSSL
import Foundation

/// OCSPResponseStatus (RFC 6960 §4.2.1).
public enum OCSPResponseStatus: Int, Sendable, CaseIterable, CustomStringConvertible {
    case successful = 0
    case malformedRequest = 1
    case internalError = 2
    case tryLater = 3
    case sigRequired = 5
    case unauthorized = 6

    public var description: String {
        switch self {
        case .successful: return "successful"
        case .malformedRequest: return "malformedRequest"
        case .internalError: return "internalError"
        case .tryLater: return "tryLater"
        case .sigRequired: return "sigRequired"
        case .unauthorized: return "unauthorized"
        }
    }
}

/// CertStatus of one SingleResponse (RFC 6960 §4.2.1).
public enum OCSPCertificateStatus: Sendable, Equatable, CustomStringConvertible {
    case good
    /// `reason` nil: the revocationReason field is absent (as it is for `unspecified`, which is never written).
    case revoked(at: Date, reason: CRLReason?)
    case unknown

    public var description: String {
        switch self {
        case .good: return "good"
        case let .revoked(at, reason): return "revoked at \(at) (\(reason?.description ?? "no reason"))"
        case .unknown: return "unknown"
        }
    }
}

/// One SingleResponse (RFC 6960 §4.2.1).
public struct OCSPSingleResponse: Sendable, Equatable {
    public var certificateID: OCSPCertificateID
    public var status: OCSPCertificateStatus
    public var thisUpdate: Date
    public var nextUpdate: Date?

    public init(
        certificateID: OCSPCertificateID, status: OCSPCertificateStatus, thisUpdate: Date,
        nextUpdate: Date?
    ) {
        self.certificateID = certificateID
        self.status = status
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
    }
}

/// Builds and signs a BasicOCSPResponse inside an OCSPResponse (RFC 6960 §4.2.1), with the responder named by
/// the SHA-1 hash of its key (byKey, RFC 5019 §2.2.3) and producedAt set to the moment of signing.
public struct OCSPResponseBuilder: Sendable {
    public var responses: [OCSPSingleResponse]
    /// A request's nonce extension value (`OCSPRequest.nonceExtensionValue`), echoed verbatim.
    public var nonceExtensionValue: [UInt8]?

    public init(responses: [OCSPSingleResponse], nonceExtensionValue: [UInt8]? = nil) {
        self.responses = responses
        self.nonceExtensionValue = nonceExtensionValue
    }

    /// Signs the response as `responder` with `key`.
    /// - Parameters:
    ///   - includeResponderCertificate: put `responder` in the response's certs (a delegated responder must,
    ///     RFC 6960 §4.2.2.2, so that clients can check its authorisation).
    /// - Throws: `OpenSSLError` naming the step that failed (no responses, a key that does not match, …).
    public func sign(
        responder: X509Certificate, key: PrivateKey, scheme: SignatureScheme? = nil,
        includeResponderCertificate: Bool = true
    ) throws(OpenSSLError) -> [UInt8] {
        guard !responses.isEmpty else {
            throw OpenSSLError(operation: "OCSP response", queue: ["no single responses"])
        }
        guard let basic = OCSP_BASICRESP_new() else { throw OpenSSLError.capture("OCSP_BASICRESP_new") }
        defer { OCSP_BASICRESP_free(basic) }
        for single in responses { try add(single, to: basic) }
        if let nonceExtensionValue {
            guard let value = ASN1_OCTET_STRING_new() else { throw OpenSSLError.capture("OCSP nonce") }
            defer { ASN1_OCTET_STRING_free(value) }
            guard ASN1_OCTET_STRING_set(value, nonceExtensionValue, Int32(nonceExtensionValue.count)) == 1,
                let ext = X509_EXTENSION_create_by_NID(nil, NID_id_pkix_OCSP_Nonce, 0, value)
            else { throw OpenSSLError.capture("OCSP nonce") }
            defer { X509_EXTENSION_free(ext) }
            guard OCSP_BASICRESP_add_ext(basic, ext, -1) == 1 else { throw OpenSSLError.capture("OCSP nonce") }
        }
        let signingScheme = scheme ?? key.defaultScheme()
        let context = try key.signingContext(scheme: signingScheme)
        defer { EVP_MD_CTX_free(context) }
        var flags = UInt(OCSP_RESPID_KEY)
        if !includeResponderCertificate { flags |= UInt(OCSP_NOCERTS) }
        guard OCSP_basic_sign_ctx(basic, responder.pointer, context, nil, flags) == 1 else {
            throw OpenSSLError.capture("OCSP response sign (\(signingScheme))")
        }
        guard let response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic) else {
            throw OpenSSLError.capture("OCSP_response_create")
        }
        defer { OCSP_RESPONSE_free(response) }
        return try encodeDER("OCSP response DER encode") { i2d_OCSP_RESPONSE(response, $0) }
    }

    private func add(_ single: OCSPSingleResponse, to basic: OpaquePointer) throws(OpenSSLError) {
        let id = try single.certificateID.makePointer()
        defer { OCSP_CERTID_free(id) }
        let thisUpdate = try makeTime(single.thisUpdate)
        defer { ASN1_TIME_free(thisUpdate) }
        var nextUpdate: UnsafeMutablePointer<ASN1_TIME>?
        if let next = single.nextUpdate { nextUpdate = try makeTime(next) }
        defer { if let nextUpdate { ASN1_TIME_free(nextUpdate) } }
        var revocationTime: UnsafeMutablePointer<ASN1_TIME>?
        defer { if let revocationTime { ASN1_TIME_free(revocationTime) } }
        let status: Int32
        var reason = Int32(OCSP_REVOKED_STATUS_NOSTATUS)
        switch single.status {
        case .good: status = V_OCSP_CERTSTATUS_GOOD
        case .unknown: status = V_OCSP_CERTSTATUS_UNKNOWN
        case let .revoked(at, revocationReason):
            status = V_OCSP_CERTSTATUS_REVOKED
            revocationTime = try makeTime(at)
            if let revocationReason, revocationReason != .unspecified { reason = Int32(revocationReason.rawValue) }
        }
        guard OCSP_basic_add1_status(basic, id, status, reason, revocationTime, thisUpdate, nextUpdate) != nil else {
            throw OpenSSLError.capture("OCSP single response \(single.status)")
        }
    }

    /// An OCSPResponse without responseBytes: every status but `successful` (RFC 6960 §4.2.1), unsigned.
    public static func errorResponse(_ status: OCSPResponseStatus) -> [UInt8] {
        // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED }: 30 03 0A 01 xx.
        [0x30, 0x03, 0x0A, 0x01, UInt8(status.rawValue)]
    }
}

/// Why an OCSP response cannot be relied on.
public enum OCSPVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    case notSuccessful(OCSPResponseStatus)
    /// The signature does not verify or the signer is neither the issuer nor a responder it authorised.
    case untrustedSigner(String)
    case noResponseForCertificate
    case nonceMismatch
    case notYetValid(thisUpdate: Date)
    case expired(nextUpdate: Date)

    public var description: String {
        switch self {
        case let .notSuccessful(status): return "the OCSP responder answered \(status)"
        case let .untrustedSigner(detail):
            return "the OCSP response is not signed by an authorised responder: \(detail)"
        case .noResponseForCertificate: return "the OCSP response says nothing about the certificate asked about"
        case .nonceMismatch: return "the OCSP response does not carry the request's nonce (a replay?)"
        case let .notYetValid(thisUpdate): return "the OCSP response's thisUpdate \(thisUpdate) is in the future"
        case let .expired(nextUpdate): return "the OCSP response expired at its nextUpdate \(nextUpdate)"
        }
    }
}

/// A parsed OCSPResponse (RFC 6960 §4.2.1), immutable; for a successful response the BasicOCSPResponse's fields.
public final class OCSPResponse: @unchecked Sendable {
    /// Owned BasicOCSPResponse, nil unless successful.
    private let basic: OpaquePointer?
    public let der: [UInt8]
    public let status: OCSPResponseStatus
    public let producedAt: Date?
    public let responses: [OCSPSingleResponse]
    /// The nonce extension's value as the response carries it, and the nonce inside it.
    public let nonceExtensionValue: [UInt8]?
    public var nonce: [UInt8]? { nonceExtensionValue.map(OCSPRequest.nonceBytes) }
    /// The certificates the response carries (a delegated responder's certificate).
    public let certificates: [X509Certificate]
    /// ResponderID byKey (SHA-1 of the responder's public key), when the responder is named that way.
    public let responderKeyHash: [UInt8]?

    /// Parses a DER OCSPResponse; trailing bytes are refused. Nothing is verified here.
    /// - Throws: `OpenSSLError` when the bytes are not an OCSP response or its status is not one RFC 6960 defines.
    public init(der: [UInt8]) throws(OpenSSLError) {
        let response = try decodeDER(
            der, "OCSP response", decode: { d2i_OCSP_RESPONSE(nil, $0, $1) },
            free: OCSP_RESPONSE_free)
        defer { OCSP_RESPONSE_free(response) }
        self.der = der
        guard let status = OCSPResponseStatus(rawValue: Int(OCSP_response_status(response))) else {
            throw OpenSSLError(operation: "OCSP response", queue: ["unknown responseStatus"])
        }
        self.status = status
        guard status == .successful else {
            basic = nil
            producedAt = nil
            responses = []
            nonceExtensionValue = nil
            certificates = []
            responderKeyHash = nil
            return
        }
        guard let basic = OCSP_response_get1_basic(response) else { throw OpenSSLError.capture("OCSP basic response") }
        self.basic = basic
        producedAt = date(OCSP_resp_get0_produced_at(basic))
        var singles: [OCSPSingleResponse] = []
        do throws(OpenSSLError) {
            for index in 0..<max(0, OCSP_resp_count(basic)) {
                guard let single = OCSP_resp_get0(basic, index), let id = OCSP_SINGLERESP_get0_id(single) else {
                    throw OpenSSLError.capture("OCSP single response \(index)")
                }
                var reason: Int32 = -1
                var revoked: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
                var thisUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
                var nextUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
                let code = OCSP_single_get0_status(single, &reason, &revoked, &thisUpdate, &nextUpdate)
                let status: OCSPCertificateStatus
                switch code {
                case V_OCSP_CERTSTATUS_GOOD: status = .good
                case V_OCSP_CERTSTATUS_REVOKED:
                    guard let at = date(revoked) else { throw OpenSSLError(operation: "OCSP revocationTime") }
                    status = .revoked(at: at, reason: reason >= 0 ? CRLReason(rawValue: Int(reason)) : nil)
                case V_OCSP_CERTSTATUS_UNKNOWN: status = .unknown
                default: throw OpenSSLError.capture("OCSP certStatus")
                }
                guard let thisDate = date(thisUpdate) else { throw OpenSSLError(operation: "OCSP thisUpdate") }
                singles.append(
                    OCSPSingleResponse(
                        certificateID: try OCSPCertificateID(reading: id),
                        status: status, thisUpdate: thisDate, nextUpdate: date(nextUpdate)))
            }
        } catch {
            OCSP_BASICRESP_free(basic)
            throw error
        }
        responses = singles
        let position = OCSP_BASICRESP_get_ext_by_NID(basic, NID_id_pkix_OCSP_Nonce, -1)
        nonceExtensionValue =
            position >= 0
            ? stringBytes(UnsafePointer(X509_EXTENSION_get_data(OCSP_BASICRESP_get_ext(basic, position)))) : nil
        var certificates: [X509Certificate] = []
        if let stack = OCSP_resp_get0_certs(basic) {
            for index in 0..<max(0, OPENSSL_sk_num(stack)) {
                guard let raw = OPENSSL_sk_value(stack, index), X509_up_ref(OpaquePointer(raw)) == 1 else { continue }
                if let certificate = try? X509Certificate(owning: OpaquePointer(raw)) {
                    certificates.append(certificate)
                }
            }
        }
        self.certificates = certificates
        var keyHash: UnsafePointer<ASN1_OCTET_STRING>?
        var name: OpaquePointer?
        _ = OCSP_resp_get0_id(basic, &keyHash, &name)
        responderKeyHash = keyHash.map { stringBytes($0) }
        _ = OpenSSLError.drainErrorQueue()
    }

    deinit { if let basic { OCSP_BASICRESP_free(basic) } }

    /// The single response for `id` (same issuer hashes, hash algorithm and serial).
    public func response(for id: OCSPCertificateID) -> OCSPSingleResponse? {
        responses.first {
            $0.certificateID.hashAlgorithmOID == id.hashAlgorithmOID && $0.certificateID.serialNumber == id.serialNumber
                && $0.certificateID.issuerNameHash == id.issuerNameHash
                && $0.certificateID.issuerKeyHash == id.issuerKeyHash
        }
    }

    /// Checks the response as a relying party must before using the status of `id` (RFC 6960 §3.2): successful,
    /// signed by `issuer` itself or by a responder certificate `issuer` issued with id-kp-OCSPSigning (§4.2.2.2),
    /// the responder's chain valid at `date`, a single response for `id` current at `date` (thisUpdate not later
    /// than `date + allowedSkew`, nextUpdate not earlier than `date - allowedSkew`), and `nonce` echoed when given.
    /// - Returns: the single response for `id`.
    /// - Throws: `OCSPVerificationError` naming the failed check.
    public func verify(
        for id: OCSPCertificateID, issuer: X509Certificate, at date: Date = Date(),
        nonce: [UInt8]? = nil, allowedSkew: TimeInterval = 300
    )
        throws(OCSPVerificationError) -> OCSPSingleResponse
    {
        guard status == .successful, let basic else { throw .notSuccessful(status) }
        guard let store = X509_STORE_new() else { throw .untrustedSigner("X509_STORE_new failed") }
        defer { X509_STORE_free(store) }
        guard X509_STORE_add_cert(store, issuer.pointer) == 1 else { throw .untrustedSigner("trust store") }
        // The issuer is the anchor whether or not it is self-signed (an intermediate CA of the other jurisdiction).
        X509_STORE_set_flags(store, UInt(X509_V_FLAG_PARTIAL_CHAIN))
        X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), time_t(date.timeIntervalSince1970))
        let verified = OCSP_basic_verify(basic, nil, store, 0)
        let queue = OpenSSLError.drainErrorQueue()
        guard verified == 1 else { throw .untrustedSigner(queue.last ?? "signature or responder check failed") }
        if let nonce, self.nonce != nonce { throw .nonceMismatch }
        guard let single = response(for: id) else { throw .noResponseForCertificate }
        if single.thisUpdate > date + allowedSkew { throw .notYetValid(thisUpdate: single.thisUpdate) }
        if let next = single.nextUpdate, next < date - allowedSkew { throw .expired(nextUpdate: next) }
        return single
    }
}
