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
        guard intent.serialNumber.count == 16, (0x01...0x7F).contains(intent.serialNumber[0]) else {
            throw .invalidIntent("serial must be 16 bytes with a first byte of 01…7F; use prepareIssuance")
        }
        guard intent.notBefore < intent.notAfter else { throw .invalidIntent("notBefore is not before notAfter") }
        if let caNotAfter = certificate.notAfter, intent.notAfter > caNotAfter {
            throw .invalidIntent("notAfter is later than the CA certificate's expiry")
        }
        var builder = CertificateBuilder(
            subject: try profile.subject(for: holder), serialNumber: intent.serialNumber,
            notBefore: intent.notBefore, notAfter: intent.notAfter,
            publicKey: csr.publicKey, basicConstraints: (isCA: false, pathLength: nil),
            keyUsage: [.digitalSignature, .nonRepudiation])
        builder.extraExtensions = try profile.extraExtensions()
        let signed = try crypto { () throws(OpenSSLError) in
            try builder.sign(issuer: certificate, key: key, scheme: scheme)
        }
        return IssuedCertificate(certificate: signed, serialNumber: intent.serialNumber)
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
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar.date(byAdding: .year, value: years, to: date)
    }

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
    var upperHex: String { map { String(format: "%02X", $0) }.joined() }
}
