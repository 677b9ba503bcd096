import Foundation
import OpenSSLKit

/// What the caller records before a certificate is signed: its serial and validity (so that an issuance that
/// crashes half-way is still accounted for).
public struct IssuanceIntent: Sendable, Equatable, Codable {
    /// 16 bytes, big-endian, first byte 0x01…0x7F: a positive 128-bit INTEGER with 127 random bits or so.
    public let serialNumber: [UInt8]
    public let notBefore: Date
    public let notAfter: Date

    public init(serialNumber: [UInt8], notBefore: Date, notAfter: Date) {
        self.serialNumber = serialNumber
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    /// Rebuilds an intent recorded with its hex serial (as `serialHex` wrote it).
    /// - Throws: `.invalidSerial` for text that is not 1–20 bytes of hex.
    public init(serialHex: String, notBefore: Date, notAfter: Date) throws(CertificateAuthorityError) {
        self.init(
            serialNumber: try IssuingAuthority.serialBytes(hex: serialHex), notBefore: notBefore,
            notAfter: notAfter)
    }

    /// The serial as upper-case hex, as `openssl x509 -serial` prints it.
    public var serialHex: String { serialNumber.upperHex }
}

/// A signed end-entity certificate.
public struct IssuedCertificate: Sendable {
    public let certificate: X509Certificate
    public var der: [UInt8] { certificate.der }
    public var pem: String { certificate.pem }
    public let serialNumber: [UInt8]
    public var serialHex: String { serialNumber.upperHex }
}

/// The loaded certificate authority: the issuing key, its certificate and the end-entity profile.
/// Safe to share between tasks; signing does not mutate it.
public struct IssuingAuthority: Sendable {
    public let certificate: X509Certificate
    public let profile: SigningCertificateProfile
    public let requestPolicy: SigningRequestPolicy
    let key: PrivateKey
    /// ECDSA with SHA-256/384/512 by curve size, or RSA PKCS#1 v1.5 with SHA-256.
    let scheme: SignatureScheme
    /// What every certificate of this profile shares, pre-encoded (`CertificateTemplate`).
    let template: CertificateTemplate

    /// - Throws: `.certificateDoesNotMatchKey`, `.certificateNotUsableForIssuing`, `.invalidConfiguration`.
    public init(
        certificate: X509Certificate, key: PrivateKey, profile: SigningCertificateProfile = .init(),
        requestPolicy: SigningRequestPolicy = .init()
    ) throws(CertificateAuthorityError) {
        try profile.validate()
        try Self.checkIssuing(certificate: certificate, key: key)
        self.certificate = certificate
        self.key = key
        self.profile = profile
        self.requestPolicy = requestPolicy
        self.scheme = Self.scheme(for: key)
        self.template = try Self.template(certificate: certificate, key: key, profile: profile, scheme: scheme)
    }

    /// The profile's template, from a prototype OpenSSL builds and signs once (for the CA's own public key).
    static func template(
        certificate: X509Certificate, key: PrivateKey, profile: SigningCertificateProfile, scheme: SignatureScheme
    ) throws(CertificateAuthorityError) -> CertificateTemplate {
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let prototype = try builtByOpenSSL(
            certificate: certificate, key: key, profile: profile, scheme: scheme,
            subject: DistinguishedName([.init("CN", "template")]),
            serialNumber: [0x01] + [UInt8](repeating: 0, count: 15),
            notBefore: now, notAfter: now + 86_400,
            publicKey: try crypto { () throws(OpenSSLError) in try key.publicKey() })
        return try CertificateTemplate(prototype: prototype.der)
    }

    /// A certificate of `profile` built and signed by OpenSSL's `CertificateBuilder`: what the template's bytes
    /// come from, and what tests compare the template's certificates with.
    static func builtByOpenSSL(
        certificate: X509Certificate, key: PrivateKey, profile: SigningCertificateProfile, scheme: SignatureScheme,
        subject: DistinguishedName, serialNumber: [UInt8], notBefore: Date, notAfter: Date, publicKey: PublicKey
    ) throws(CertificateAuthorityError) -> X509Certificate {
        var builder = CertificateBuilder(
            subject: subject, serialNumber: serialNumber, notBefore: notBefore, notAfter: notAfter,
            publicKey: publicKey, basicConstraints: (isCA: false, pathLength: nil),
            keyUsage: [.digitalSignature, .nonRepudiation])
        builder.extraExtensions = try profile.extraExtensions()
        return try crypto { () throws(OpenSSLError) in
            try builder.sign(issuer: certificate, key: key, scheme: scheme)
        }
    }

    /// Draws the serial and fixes the validity of the next certificate: from now (less the clock-skew allowance)
    /// for `profile.validityYears`, but never past `notAfterLimit` (the identity document's expiry) nor the CA
    /// certificate's own expiry.
    /// - Throws: `.documentExpired` when `notAfterLimit` is not after `now`, `.issuingCertificateExpired`.
    public func prepareIssuance(
        notAfterLimit: Date, now: Date = Date()
    ) throws(CertificateAuthorityError)
        -> IssuanceIntent
    {
        let start = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - profile.clockSkewAllowance).rounded(.down))
        guard notAfterLimit > now else { throw .documentExpired(notAfterLimit: notAfterLimit) }
        guard let caNotAfter = certificate.notAfter, caNotAfter > now else {
            throw .issuingCertificateExpired(notAfter: certificate.notAfter ?? now)
        }
        guard let full = Self.adding(years: profile.validityYears, to: start) else {
            throw .invalidConfiguration("validity of \(profile.validityYears) years cannot be computed")
        }
        let end = Date(timeIntervalSince1970: min(full, notAfterLimit, caNotAfter).timeIntervalSince1970.rounded(.down))
        guard end > start else { throw .documentExpired(notAfterLimit: notAfterLimit) }
        return IssuanceIntent(serialNumber: try Self.randomSerial(), notBefore: start, notAfter: end)
    }

    /// Signs the certificate described by `intent` for the CSR's key and `holder`.
    /// The certificate: subject from `profile.subject(for:)`, keyUsage digitalSignature + nonRepudiation
    /// (critical), basicConstraints CA:FALSE (critical), SKI, AKI, and the profile's policies, CRL
    /// distribution point and authority information access (RFC 5280 §4.2).
    /// - Throws: `.invalidIntent`, `.invalidSubject`, `.crypto`.
    public func issue(
        intent: IssuanceIntent, csr: AcceptedSigningRequest, holder: CertificateHolder
    )
        throws(CertificateAuthorityError) -> IssuedCertificate
    {
        try issue(intent: intent, publicKey: csr.publicKey, holder: holder)
    }

    /// Signs the certificate described by `intent` for a public key the caller already holds for `holder` — one
    /// whose possession the holder proved earlier. The same certificate as `issue(intent:csr:holder:)`.
    /// - Throws: `.invalidIntent`, `.invalidSubject`, `.crypto`.
    public func issue(
        intent: IssuanceIntent, publicKey: PublicKey, holder: CertificateHolder
    )
        throws(CertificateAuthorityError) -> IssuedCertificate
    {
        let publicKeyInfo = try crypto { () throws(OpenSSLError) in try publicKey.derEncoded() }
        let der = try certificateDER(intent: intent, publicKeyInfo: publicKeyInfo, holder: holder)
        let signed = try crypto { () throws(OpenSSLError) in try X509Certificate(der: der) }
        return IssuedCertificate(certificate: signed, serialNumber: intent.serialNumber)
    }

    /// Signs the certificate described by `intent` for a registered key, given as the SubjectPublicKeyInfo DER the
    /// store keeps (bulk renewal under the current CA: the holder proved possession at enrollment and the key passed
    /// `requestPolicy` then), and returns its DER. Built from the pre-encoded template and never parsed back: with
    /// OpenSSL 3.0, encoding a key to DER and decoding a certificate (its key goes through the provider decoders)
    /// each cost more than the signature.
    /// - Throws: `.invalidIntent`, `.invalidSubject`, `.crypto` (also for bytes that are not a SubjectPublicKeyInfo).
    public func certificateDER(
        intent: IssuanceIntent, publicKeyInfo: [UInt8], holder: CertificateHolder
    )
        throws(CertificateAuthorityError) -> [UInt8]
    {
        guard intent.serialNumber.count == 16, (0x01...0x7F).contains(intent.serialNumber[0]) else {
            throw .invalidIntent("serial must be 16 bytes with a first byte of 01…7F; use prepareIssuance")
        }
        guard intent.notBefore < intent.notAfter else { throw .invalidIntent("notBefore is not before notAfter") }
        if let caNotAfter = certificate.notAfter, intent.notAfter > caNotAfter {
            throw .invalidIntent("notAfter is later than the CA certificate's expiry")
        }
        let subject = try profile.subject(for: holder)
        let subjectDER = try crypto { () throws(OpenSSLError) in try subject.derEncoded() }
        return try signedDER(intent: intent, publicKeyInfo: publicKeyInfo, subjectDER: subjectDER)
    }

    /// Re-certifies a certificate this CA (or its predecessor) issued: the same subject Name (its DER, as the old
    /// certificate carries it) and SubjectPublicKeyInfo, under `intent`'s serial and validity and the current key
    /// and profile (bulk renewal after a CA rollover). Checks the intent as `certificateDER(intent:publicKeyInfo:
    /// holder:)` does.
    /// - Throws: `.invalidIntent`, `.crypto` (also for bytes that are not a Name or a SubjectPublicKeyInfo).
    public func certificateDER(
        intent: IssuanceIntent, publicKeyInfo: [UInt8], subjectDER: [UInt8]
    ) throws(CertificateAuthorityError) -> [UInt8] {
        guard intent.serialNumber.count == 16, (0x01...0x7F).contains(intent.serialNumber[0]) else {
            throw .invalidIntent("serial must be 16 bytes with a first byte of 01…7F; use prepareIssuance")
        }
        guard intent.notBefore < intent.notAfter else { throw .invalidIntent("notBefore is not before notAfter") }
        if let caNotAfter = certificate.notAfter, intent.notAfter > caNotAfter {
            throw .invalidIntent("notAfter is later than the CA certificate's expiry")
        }
        guard subjectDER.first == 0x30 else { throw .invalidIntent("the subject is not a DER Name (SEQUENCE)") }
        return try signedDER(intent: intent, publicKeyInfo: publicKeyInfo, subjectDER: subjectDER)
    }

    /// The template's to-be-signed bytes for these fields, signed.
    private func signedDER(
        intent: IssuanceIntent, publicKeyInfo: [UInt8], subjectDER: [UInt8]
    ) throws(CertificateAuthorityError) -> [UInt8] {
        let tbs = try template.toBeSigned(
            serial: intent.serialNumber, notBefore: intent.notBefore, notAfter: intent.notAfter,
            subject: subjectDER, publicKeyInfo: publicKeyInfo)
        let (key, scheme) = (self.key, self.scheme)
        let signature = try crypto { () throws(OpenSSLError) in try key.sign(tbs, scheme: scheme) }
        return template.certificate(toBeSigned: tbs, signature: signature)
    }

    /// Checks `csr` (PEM or DER PKCS#10) against `requestPolicy`, then signs as `issue(intent:csr:holder:)` does.
    public func issue(
        intent: IssuanceIntent, csr: [UInt8], holder: CertificateHolder
    )
        throws(CertificateAuthorityError) -> IssuedCertificate
    {
        try issue(intent: intent, csr: try checkRequest(csr), holder: holder)
    }

    /// Checks `encoded` (PEM or DER PKCS#10) against `requestPolicy`; see `SigningRequestPolicy.check(_:)`.
    public func checkRequest(_ encoded: [UInt8]) throws(CertificateAuthorityError) -> AcceptedSigningRequest {
        try requestPolicy.check(encoded)
    }

    /// A positive 128-bit serial: 16 random bytes, the top bit cleared, the first byte redrawn while zero so
    /// that the DER INTEGER is always 16 bytes long (RFC 5280 §4.1.2.2, CA/B BR §7.1 ≥ 64 random bits).
    static func randomSerial() throws(CertificateAuthorityError) -> [UInt8] {
        var serial = try crypto { () throws(OpenSSLError) in try SecureRandom.bytes(16) }
        serial[0] &= 0x7F
        while serial[0] == 0 {
            serial[0] = try crypto { () throws(OpenSSLError) in try SecureRandom.bytes(1) }[0] & 0x7F
        }
        return serial
    }

    /// `date` plus whole years in the UTC Gregorian calendar (29 February becomes 28 February or 1 March).
    static func adding(years: Int, to date: Date) -> Date? {
        utcCalendar.date(byAdding: .year, value: years, to: date)
    }

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar
    }()

    static func scheme(for key: PrivateKey) -> SignatureScheme {
        switch key.keyType {
        case let .ec(_, bits) where bits > 384: return .ecdsa(.sha512)
        case let .ec(_, bits) where bits > 256: return .ecdsa(.sha384)
        default: return key.defaultScheme(digest: .sha256)
        }
    }

    /// The certificate carries `key`'s public key and may sign certificates and CRLs.
    static func checkIssuing(certificate: X509Certificate, key: PrivateKey) throws(CertificateAuthorityError) {
        let certified = try? certificate.publicKey().derEncoded()
        let own = try? key.publicKey().derEncoded()
        guard let certified, let own, certified == own else { throw .certificateDoesNotMatchKey }
        guard certificate.isCertificateAuthority else {
            throw .certificateNotUsableForIssuing(reason: "basicConstraints does not say CA:TRUE")
        }
        if let usage = certificate.keyUsage, !usage.contains(.keyCertSign) {
            throw .certificateNotUsableForIssuing(reason: "keyUsage lacks keyCertSign")
        }
    }
}

extension Array where Element == UInt8 {
    /// Upper-case hex without separators.
    var upperHex: String {
        let digits = Array("0123456789ABCDEF".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(count * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
