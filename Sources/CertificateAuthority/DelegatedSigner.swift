import Foundation
import OpenSSLKit

/// A key and the certificate the CA issued for it to sign one kind of object on the CA's behalf: OCSP responses
/// (RFC 6960 §4.2.2.2) or trust lists (ETSI TS 119 612 §5.7.1). The key is made in memory and never written.
public struct DelegatedSigner: Sendable {
    public let certificate: X509Certificate
    public let key: PrivateKey

    public init(certificate: X509Certificate, key: PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    /// ECDSA with SHA-256 for the P-256 keys made here, or the key's natural scheme.
    public var scheme: SignatureScheme { IssuingAuthority.scheme(for: key) }
}

/// What a delegated signer is for.
public enum DelegatedPurpose: Sendable, Equatable {
    /// id-kp-OCSPSigning with id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2, §4.2.2.2.1).
    case ocspSigning
    /// id-tsl-kp-tslSigning, 0.4.0.2231.3.0 (ETSI TS 119 612 §5.7.1).
    case trustListSigning

    var commonNameSuffix: String {
        switch self {
        case .ocspSigning: return "OCSP responder"
        case .trustListSigning: return "trust list signer"
        }
    }

    static let ocspSigningOID = "1.3.6.1.5.5.7.3.9"
    static let trustListSigningOID = "0.4.0.2231.3.0"
}

extension IssuingAuthority {
    /// Issues a delegated signer for `purpose` on a fresh P-256 key: the CA's subject with the common name
    /// "<CA CN> OCSP responder" (or "trust list signer"), basicConstraints CA:FALSE and keyUsage digitalSignature
    /// (both critical; nonRepudiation too for a trust list signer), the purpose's extendedKeyUsage, SKI and AKI,
    /// and for OCSP id-pkix-ocsp-nocheck, so relying parties do not ask about the responder's own status.
    /// Valid from `now` (less one minute for slow clocks) for `validity`, never past the CA's expiry.
    /// - Throws: `.invalidConfiguration` for a validity outside one hour to five years, `.issuingCertificateExpired`,
    ///   `.crypto`.
    public func issueDelegatedSigner(
        for purpose: DelegatedPurpose, validity: TimeInterval, now: Date = Date()
    )
        throws(CertificateAuthorityError) -> DelegatedSigner
    {
        guard (3600...(5 * 366 * 86_400)).contains(validity) else {
            throw .invalidConfiguration("delegated signer validity of \(Int(validity)) s: choose 1 hour to 5 years")
        }
        guard let caNotAfter = certificate.notAfter, caNotAfter > now else {
            throw .issuingCertificateExpired(notAfter: certificate.notAfter ?? now)
        }
        let start = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - 60).rounded(.down))
        let end = Date(timeIntervalSince1970: min(now + validity, caNotAfter).timeIntervalSince1970.rounded(.down))
        var attributes = certificate.subject.attributes.filter { $0.type != "CN" }
        let caName = certificate.subject.value(of: "CN") ?? "enrolld CA"
        attributes.append(.init("CN", String((caName + " " + purpose.commonNameSuffix).prefix(64))))
        let serial = try Self.randomSerial()
        let signerKey = try crypto { () throws(OpenSSLError) in try PrivateKey.generate(.p256) }
        var builder = CertificateBuilder(
            subject: DistinguishedName(attributes), serialNumber: serial,
            notBefore: start, notAfter: end,
            publicKey: try crypto { () throws(OpenSSLError) in try signerKey.publicKey() },
            basicConstraints: (isCA: false, pathLength: nil),
            keyUsage: purpose == .ocspSigning
                ? [.digitalSignature]
                : [.digitalSignature, .nonRepudiation])
        switch purpose {
        case .ocspSigning:
            builder.extraExtensions = [("extendedKeyUsage", "OCSPSigning"), ("noCheck", "ignored")]
        case .trustListSigning:
            builder.extraExtensions = [("extendedKeyUsage", DelegatedPurpose.trustListSigningOID)]
        }
        let signed = try crypto { () throws(OpenSSLError) in
            try builder.sign(issuer: certificate, key: key, scheme: scheme)
        }
        return DelegatedSigner(certificate: signed, key: signerKey)
    }
}
