import COpenSSL
import Foundation

/// An X.509 distinguished name as an ordered list of (attribute short name, value), e.g.
/// `[("C", "UT"), ("O", "Utopia"), ("CN", "CSCA Utopia")]`.
public struct DistinguishedName: Sendable, Equatable, CustomStringConvertible {
    public struct Attribute: Sendable, Equatable {
        /// OpenSSL short name (`C`, `O`, `OU`, `CN`, `serialNumber`, …) or a dotted OID.
        public var type: String
        public var value: String

        public init(_ type: String, _ value: String) {
            self.type = type
            self.value = value
        }

        /// `type=value` with the value prepared for caseIgnoreMatch (RFC 4518 §2, simplified to case folding and
        /// insignificant space handling).
        var normalized: String {
            let words = value.lowercased().split(whereSeparator: { $0.isWhitespace })
            return type.lowercased() + "=" + words.joined(separator: " ")
        }
    }

    public var attributes: [Attribute]

    public init(_ attributes: [Attribute]) { self.attributes = attributes }

    /// Convenience for the usual CSCA/DSC shape.
    public init(country: String, organization: String? = nil, organizationalUnit: String? = nil, commonName: String) {
        var attributes = [Attribute("C", country)]
        if let organization { attributes.append(Attribute("O", organization)) }
        if let organizationalUnit { attributes.append(Attribute("OU", organizationalUnit)) }
        attributes.append(Attribute("CN", commonName))
        self.attributes = attributes
    }

    public func value(of type: String) -> String? { attributes.first { $0.type == type }?.value }

    /// RFC 5280 §7.1 name matching: the same attributes in the same order, values compared as LDAP StringPrep does
    /// for caseIgnoreMatch (case folded, leading and trailing space removed, inner runs of space collapsed). The
    /// string type (PrintableString, UTF8String, …) does not matter: values are compared as text.
    public func matches(_ other: DistinguishedName) -> Bool {
        attributes.count == other.attributes.count
            && zip(attributes, other.attributes).allSatisfy { $0.normalized == $1.normalized }
    }

    /// `matches(_:)` with the attributes in any order: how issued SODs sometimes name their signer's issuer.
    public func matchesIgnoringOrder(_ other: DistinguishedName) -> Bool {
        attributes.count == other.attributes.count
            && attributes.map(\.normalized).sorted() == other.attributes.map(\.normalized).sorted()
    }

    /// The DER encoding of this name (attributes as UTF8String, except those X.520 fixes to PrintableString).
    public func derEncoded() throws(OpenSSLError) -> [UInt8] {
        let name = try makeName()
        defer { X509_NAME_free(name) }
        return try encodeDER("X509_NAME encode") { i2d_X509_NAME(name, $0) }
    }

    /// RFC 4514 style, most significant first as written: `C=UT, O=Utopia, CN=CSCA Utopia`.
    public var description: String { attributes.map { "\($0.type)=\($0.value)" }.joined(separator: ", ") }

    /// Reads an `X509_NAME`.
    init(name: OpaquePointer?) {
        var attributes: [Attribute] = []
        guard let name else {
            self.attributes = []
            return
        }
        for index in 0..<X509_NAME_entry_count(name) {
            guard let entry = X509_NAME_get_entry(name, index) else { continue }
            let object = X509_NAME_ENTRY_get_object(entry)
            let nid = OBJ_obj2nid(object)
            let type = nid != NID_undef ? (OBJ_nid2sn(nid).map { String(cString: $0) } ?? "") : objectText(object)
            var utf8: UnsafeMutablePointer<UInt8>?
            let length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry))
            var value = ""
            if length >= 0, let utf8 {
                value = String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
                enrolld_openssl_free(utf8)
            }
            attributes.append(Attribute(type, value))
        }
        _ = OpenSSLError.drainErrorQueue()
        self.attributes = attributes
    }

    /// Builds a new `X509_NAME`; the caller frees it with `X509_NAME_free`.
    func makeName() throws(OpenSSLError) -> OpaquePointer {
        guard let name = X509_NAME_new() else { throw OpenSSLError.capture("X509_NAME_new") }
        for attribute in attributes {
            let bytes = Array(attribute.value.utf8)
            guard X509_NAME_add_entry_by_txt(name, attribute.type, MBSTRING_UTF8, bytes, Int32(bytes.count), -1, 0) == 1
            else {
                X509_NAME_free(name)
                throw OpenSSLError.capture("name attribute \(attribute.type)")
            }
        }
        return name
    }
}

/// Key usage bits (RFC 5280 §4.2.1.3).
public struct KeyUsage: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let digitalSignature = KeyUsage(rawValue: UInt32(KU_DIGITAL_SIGNATURE))
    public static let nonRepudiation = KeyUsage(rawValue: UInt32(KU_NON_REPUDIATION))
    public static let keyEncipherment = KeyUsage(rawValue: UInt32(KU_KEY_ENCIPHERMENT))
    public static let dataEncipherment = KeyUsage(rawValue: UInt32(KU_DATA_ENCIPHERMENT))
    public static let keyAgreement = KeyUsage(rawValue: UInt32(KU_KEY_AGREEMENT))
    public static let keyCertSign = KeyUsage(rawValue: UInt32(KU_KEY_CERT_SIGN))
    public static let cRLSign = KeyUsage(rawValue: UInt32(KU_CRL_SIGN))

    /// Names for `keyUsage` extension values in OpenSSL's configuration syntax.
    var configNames: [String] {
        let names: [(KeyUsage, String)] = [
            (.digitalSignature, "digitalSignature"), (.nonRepudiation, "nonRepudiation"),
            (.keyEncipherment, "keyEncipherment"), (.dataEncipherment, "dataEncipherment"),
            (.keyAgreement, "keyAgreement"), (.keyCertSign, "keyCertSign"), (.cRLSign, "cRLSign"),
        ]
        return names.filter { contains($0.0) }.map(\.1)
    }
}

/// An X.509 certificate (`X509`), immutable once parsed. Identity is the DER encoding.
public final class X509Certificate: @unchecked Sendable, Equatable, Hashable, CustomStringConvertible {
    let pointer: OpaquePointer
    /// The DER encoding as parsed or built.
    public let der: [UInt8]

    /// Takes ownership of `pointer`.
    init(owning pointer: OpaquePointer) throws(OpenSSLError) {
        self.pointer = pointer
        do {
            der = try encodeDER("certificate DER encode") { i2d_X509(pointer, $0) }
        } catch {
            X509_free(pointer)
            throw error
        }
        // Caches extension flags (EXFLAG_*) so later const look-ups are thread-safe.
        _ = X509_check_ca(pointer)
        _ = OpenSSLError.drainErrorQueue()
    }

    deinit { X509_free(pointer) }

    /// Parses one DER certificate; trailing bytes are refused.
    public convenience init(der: [UInt8]) throws(OpenSSLError) {
        let parsed = try decodeDER(der, "certificate", decode: { d2i_X509(nil, $0, $1) }, free: X509_free)
        try self.init(owning: parsed)
    }

    /// Parses the first PEM `CERTIFICATE` block.
    public convenience init(pem: String) throws(OpenSSLError) {
        let parsed = try decodePEM(pem, "certificate") { PEM_read_bio_X509($0, nil, nil, nil) }
        try self.init(owning: parsed)
    }

    /// Every PEM `CERTIFICATE` block in `pem`, in order.
    public static func certificates(pem: String) throws(OpenSSLError) -> [X509Certificate] {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        var out: [X509Certificate] = []
        while let parsed = PEM_read_bio_X509(bio.pointer, nil, nil, nil) {
            out.append(try X509Certificate(owning: parsed))
        }
        _ = OpenSSLError.drainErrorQueue()
        guard !out.isEmpty else { throw OpenSSLError(operation: "certificate PEM decode", queue: ["no certificate"]) }
        return out
    }

    public var pem: String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN CERTIFICATE-----\n\(base64)\n-----END CERTIFICATE-----\n"
    }

    public var subject: DistinguishedName { DistinguishedName(name: X509_get_subject_name(pointer)) }
    public var issuer: DistinguishedName { DistinguishedName(name: X509_get_issuer_name(pointer)) }

    /// The DER encodings of the subject and issuer names (for exact comparison).
    public var subjectNameDER: [UInt8] { nameDER(X509_get_subject_name(pointer)) }
    public var issuerNameDER: [UInt8] { nameDER(X509_get_issuer_name(pointer)) }

    /// The serial number's magnitude, big-endian, without leading zeros.
    public var serialNumber: [UInt8] { integerBytes(X509_get0_serialNumber(pointer)) }

    public var notBefore: Date? { date(X509_get0_notBefore(pointer)) }
    public var notAfter: Date? { date(X509_get0_notAfter(pointer)) }

    public var subjectKeyIdentifier: [UInt8]? {
        X509_get0_subject_key_id(pointer).map { stringBytes(UnsafePointer($0)) }
    }

    public var authorityKeyIdentifier: [UInt8]? {
        X509_get0_authority_key_id(pointer).map { stringBytes(UnsafePointer($0)) }
    }

    /// basicConstraints cA (or a v1 self-signed certificate, which OpenSSL also treats as a CA).
    public var isCertificateAuthority: Bool { X509_check_ca(pointer) != 0 }

    /// The keyUsage extension, or nil when absent (any usage allowed).
    public var keyUsage: KeyUsage? {
        let flags = X509_get_extension_flags(pointer)
        guard flags & UInt32(EXFLAG_KUSAGE) != 0 else { return nil }
        return KeyUsage(rawValue: X509_get_key_usage(pointer) & 0xFFFF)
    }

    /// Subject and issuer names are equal and the certificate verifies with its own key.
    public var isSelfSigned: Bool {
        guard X509_NAME_cmp(X509_get_subject_name(pointer), X509_get_issuer_name(pointer)) == 0 else { return false }
        return (try? isSigned(by: publicKey())) ?? false
    }

    /// The signature algorithm's name, e.g. `ecdsa-with-SHA256`, `RSASSA-PSS`.
    public var signatureAlgorithmName: String {
        OBJ_nid2ln(X509_get_signature_nid(pointer)).map { String(cString: $0) } ?? "unknown"
    }

    public func publicKey() throws(OpenSSLError) -> PublicKey {
        guard let key = X509_get_pubkey(pointer) else { throw OpenSSLError.capture("certificate public key") }
        return PublicKey(owning: key)
    }

    /// Whether the certificate's signature verifies with `key` (RSA, RSA-PSS, ECDSA).
    public func isSigned(by key: PublicKey) -> Bool {
        let result = X509_verify(pointer, key.pointer)
        _ = OpenSSLError.drainErrorQueue()
        return result == 1
    }

    /// Whether `other`'s subject is this certificate's issuer (DER-canonical name comparison).
    public func isIssued(byName other: X509Certificate) -> Bool {
        X509_NAME_cmp(X509_get_issuer_name(pointer), X509_get_subject_name(other.pointer)) == 0
    }

    /// Whether the certificate is valid at `date` (inclusive bounds).
    public func isValid(at date: Date) -> Bool {
        guard let notBefore, let notAfter else { return false }
        return notBefore <= date && date <= notAfter
    }

    /// SHA-256 of the DER, hex: a stable file name and log handle.
    public var fingerprint: String {
        ((try? Digest.hash(der, using: .sha256)) ?? []).map { String(format: "%02x", $0) }.joined()
    }

    public var description: String { "X509Certificate(\(subject), serial \(serialNumber.hexString))" }

    public static func == (lhs: X509Certificate, rhs: X509Certificate) -> Bool { lhs.der == rhs.der }
    public func hash(into hasher: inout Hasher) { hasher.combine(der) }
}

extension Array where Element == UInt8 {
    var hexString: String { map { String(format: "%02X", $0) }.joined() }
}

// MARK: - ASN.1 helpers shared by the X.509, CRL and CMS wrappers

func nameDER(_ name: OpaquePointer?) -> [UInt8] {
    guard let name else { return [] }
    return (try? encodeDER("name DER") { i2d_X509_NAME(name, $0) }) ?? []
}

func stringBytes(_ string: UnsafePointer<ASN1_STRING>?) -> [UInt8] {
    guard let string, let data = ASN1_STRING_get0_data(string) else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string))))
}

/// An ASN1_INTEGER's magnitude, big-endian, no leading zeros (zero is `[0]`).
func integerBytes(_ integer: UnsafePointer<ASN1_INTEGER>?) -> [UInt8] {
    guard let integer, let number = ASN1_INTEGER_to_BN(integer, nil) else { return [] }
    defer { BN_free(number) }
    let count = (Int(BN_num_bits(number)) + 7) / 8
    guard count > 0 else { return [0] }
    var out = [UInt8](repeating: 0, count: count)
    _ = BN_bn2bin(number, &out)
    return out
}

func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
    guard let time else { return nil }
    var parts = tm()
    guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
    return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
}

/// A new ASN1_TIME for `date` (UTCTime up to 2049, GeneralizedTime after, per RFC 5280).
func makeTime(_ date: Date) throws(OpenSSLError) -> UnsafeMutablePointer<ASN1_TIME> {
    guard let time = ASN1_TIME_set(nil, time_t(date.timeIntervalSince1970.rounded(.down))) else {
        throw OpenSSLError.capture("ASN1_TIME_set")
    }
    return time
}

func objectText(_ object: OpaquePointer?) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    let length = OBJ_obj2txt(&buffer, Int32(buffer.count), object, 1)
    guard length > 0 else { return "" }
    return String(cString: buffer)
}
