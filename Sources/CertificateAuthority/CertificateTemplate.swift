import Foundation
import OpenSSLKit

/// The end-entity certificate as pre-encoded DER, so that issuing one costs its signature and little else.
///
/// Everything an issued certificate shares with every other — version, signature algorithm, issuer name,
/// basicConstraints, keyUsage, authorityKeyIdentifier and the profile's policies, CRL distribution point and
/// authority information access — is taken once, from a prototype OpenSSL builds with the same profile
/// (`CertificateBuilder`), so the bytes are OpenSSL's own. Per certificate only the serial, the validity, the
/// subject, the public key and its subjectKeyIdentifier (SHA-1 of the key bits, RFC 5280 §4.2.1.2 method 1, as
/// OpenSSL's `hash`) are encoded, then the TBSCertificate is signed and wrapped. Without the template every
/// certificate paid for OpenSSL parsing the extensions' configuration text, building an `X509`, and encoding it.
struct CertificateTemplate: Sendable {
    /// `[0] { INTEGER 2 }`.
    let version: [UInt8]
    /// The TBSCertificate's signature AlgorithmIdentifier (the same as the certificate's outer one).
    let signatureAlgorithm: [UInt8]
    let issuer: [UInt8]
    /// The encoded extensions before subjectKeyIdentifier, the SKI extension up to its key identifier, and the
    /// extensions after it.
    let extensionsBefore: [UInt8]
    let keyIdentifierPrefix: [UInt8]
    let extensionsAfter: [UInt8]

    /// Takes the shared parts from `prototype`, a certificate OpenSSL signed with the profile's extensions.
    /// - Throws: `.crypto` when the prototype does not have the shape OpenSSL gives an end-entity certificate.
    init(prototype: [UInt8]) throws(CertificateAuthorityError) {
        func malformed(_ what: String) -> CertificateAuthorityError {
            .crypto(OpenSSLError(operation: "certificate template", queue: [what]))
        }
        guard let certificate = DERReader.children(of: prototype), certificate.count == 3,
            let tbs = DERReader.children(of: certificate[0]), tbs.count == 8,
            tbs[0].first == 0xA0, tbs[7].first == 0xA3,
            let wrapped = DERReader.children(of: tbs[7]), wrapped.count == 1,
            let extensions = DERReader.children(of: wrapped[0])
        else { throw malformed("not a v3 TBSCertificate with extensions") }
        version = Array(tbs[0])
        signatureAlgorithm = Array(tbs[2])
        guard signatureAlgorithm == Array(certificate[1]) else { throw malformed("signature algorithms differ") }
        issuer = Array(tbs[3])
        let skiOID: [UInt8] = [0x06, 0x03, 0x55, 0x1D, 0x0E]
        guard let index = extensions.firstIndex(where: { Array($0.dropFirst(2).prefix(5)) == skiOID }),
            extensions[index].count == 2 + 5 + 2 + 2 + 20
        else { throw malformed("no 20-byte subjectKeyIdentifier") }
        extensionsBefore = extensions[..<index].flatMap { Array($0) }
        keyIdentifierPrefix = Array(extensions[index].dropLast(20))
        extensionsAfter = extensions[(index + 1)...].flatMap { Array($0) }
    }

    /// The TBSCertificate for one holder: serial (a positive INTEGER's magnitude, first byte below 0x80), validity,
    /// subject name DER and SubjectPublicKeyInfo DER.
    func toBeSigned(
        serial: [UInt8], notBefore: Date, notAfter: Date, subject: [UInt8], publicKeyInfo: [UInt8]
    ) throws(CertificateAuthorityError) -> [UInt8] {
        guard let keyBits = Self.keyBits(of: publicKeyInfo) else {
            throw .crypto(OpenSSLError(operation: "certificate template", queue: ["public key DER is not SPKI"]))
        }
        let keyIdentifier = try crypto { () throws(OpenSSLError) in try Digest.hash(Array(keyBits), using: .sha1) }
        let validity = DERWriter.element(0x30, Self.time(notBefore) + Self.time(notAfter))
        let extensions = DERWriter.element(
            0xA3, DERWriter.element(0x30, extensionsBefore + keyIdentifierPrefix + keyIdentifier + extensionsAfter))
        var content = version
        content += DERWriter.element(0x02, serial)
        content += signatureAlgorithm
        content += issuer
        content += validity
        content += subject
        content += publicKeyInfo
        content += extensions
        return DERWriter.element(0x30, content)
    }

    /// The signed certificate: `SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }`.
    func certificate(toBeSigned tbs: [UInt8], signature: [UInt8]) -> [UInt8] {
        DERWriter.element(0x30, tbs + signatureAlgorithm + DERWriter.element(0x03, [0] + signature))
    }

    /// The subjectPublicKey BIT STRING's bits (without its unused-bits octet) in a SubjectPublicKeyInfo.
    static func keyBits(of publicKeyInfo: [UInt8]) -> ArraySlice<UInt8>? {
        guard let parts = DERReader.children(of: publicKeyInfo), parts.count == 2, parts[1].first == 0x03,
            let bits = DERReader.content(of: parts[1]), bits.first == 0
        else { return nil }
        return bits.dropFirst()
    }

    /// UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5), whole seconds, as OpenSSL's
    /// `ASN1_TIME_set` writes them.
    static func time(_ date: Date) -> [UInt8] {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let year = Int(parts.tm_year) + 1900
        func two(_ value: Int32) -> [UInt8] { [UInt8(48 + value / 10), UInt8(48 + value % 10)] }
        let rest =
            two(parts.tm_mon + 1) + two(parts.tm_mday) + two(parts.tm_hour) + two(parts.tm_min) + two(parts.tm_sec)
            + [0x5A]
        if (1950...2049).contains(year) {
            return DERWriter.element(0x17, two(Int32(year % 100)) + rest)
        }
        return DERWriter.element(0x18, two(Int32(year / 100)) + two(Int32(year % 100)) + rest)
    }
}

/// Definite-length DER encoding of one element.
enum DERWriter {
    static func element(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag] + length(content.count) + content
    }

    static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var rest = count
        while rest > 0 {
            bytes.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }
}

/// Reads the definite-length DER the template takes apart (its own prototype, OpenSSL's encoding).
enum DERReader {
    /// The content octets of the one element that fills `bytes`, nil if it does not.
    static func content<C: RandomAccessCollection<UInt8>>(of bytes: C) -> ArraySlice<UInt8>? where C.Index == Int {
        let slice = ArraySlice(bytes)
        guard let (header, length) = header(slice, at: slice.startIndex),
            header + length == slice.count
        else { return nil }
        return slice[(slice.startIndex + header)...]
    }

    /// The complete child elements (tag, length, content) of the constructed element that fills `bytes`.
    static func children<C: RandomAccessCollection<UInt8>>(of bytes: C) -> [ArraySlice<UInt8>]? where C.Index == Int {
        guard let content = content(of: bytes) else { return nil }
        var children: [ArraySlice<UInt8>] = []
        var index = content.startIndex
        while index < content.endIndex {
            guard let (header, length) = header(content, at: index), index + header + length <= content.endIndex
            else { return nil }
            children.append(content[index..<(index + header + length)])
            index += header + length
        }
        return children
    }

    /// The header's size and the content's length of the element starting at `index` (one-byte tags only).
    private static func header(_ bytes: ArraySlice<UInt8>, at index: Int) -> (Int, Int)? {
        guard index + 1 < bytes.endIndex, bytes[index] & 0x1F != 0x1F else { return nil }
        let first = Int(bytes[index + 1])
        if first < 0x80 { return (2, first) }
        let count = first & 0x7F
        guard (1...3).contains(count), index + 1 + count < bytes.endIndex else { return nil }
        var length = 0
        for offset in 0..<count { length = length << 8 | Int(bytes[index + 2 + offset]) }
        return (2 + count, length)
    }
}
