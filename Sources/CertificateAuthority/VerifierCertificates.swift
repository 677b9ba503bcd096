import Foundation
import OpenSSLKit

/// The verifier profile: client certificates this CA issues to approved verifiers, and the releases it signs.
extension IssuingAuthority {
    /// The certificate policy of the verifier profile (a private arc of this project).
    public static let verifierPolicyOID = "1.3.6.1.4.1.59142.23.1"
    /// A non-critical extension whose value is a UTF8String listing the verifier's allowed elements, comma-separated.
    public static let verifierElementsOID = "1.3.6.1.4.1.59142.23.2"

    /// A TLS client certificate for a verifier (CN its id, O its legal name), valid until `notAfter` (at most the
    /// CA's expiry), naming its allowed elements in `verifierElementsOID`, under `verifierPolicyOID`.
    /// - Throws: `.csrMalformed` and the other request refusals of `checkRequest`, `.invalidIntent`, `.crypto`.
    public func issueVerifierCertificate(
        csr: [UInt8], id: String, legalName: String, elements: [String], notAfter: Date, now: Date = Date()
    ) throws(CertificateAuthorityError) -> X509Certificate {
        let accepted = try checkRequest(csr)
        let end = min(notAfter, certificate.notAfter ?? notAfter)
        guard now < end else { throw .invalidIntent("the verifier's validity ends before it starts") }
        var builder = CertificateBuilder(
            subject: DistinguishedName([.init("CN", id), .init("O", legalName)]),
            serialNumber: try Self.randomSerial(), notBefore: now.addingTimeInterval(-60), notAfter: end,
            publicKey: accepted.publicKey, basicConstraints: (isCA: false, pathLength: nil),
            keyUsage: [.digitalSignature, .keyEncipherment, .keyAgreement])
        // certificatePolicies ::= SEQUENCE OF PolicyInformation ::= SEQUENCE { policyIdentifier } (RFC 5280 §4.2.1.4),
        // as DER: OpenSSL's text form of policies needs a configuration database.
        let oid = try crypto { () throws(OpenSSLError) in try ASN1ObjectIdentifier.der(Self.verifierPolicyOID) }
        let information = [0x30, UInt8(oid.count)] + oid
        let policies = [0x30, UInt8(information.count)] + information
        builder.extraExtensions = [
            ("extendedKeyUsage", "clientAuth"),
            ("certificatePolicies", "DER:" + policies.map { String(format: "%02X", $0) }.joined(separator: ":")),
            (Self.verifierElementsOID, "ASN1:UTF8String:" + elements.joined(separator: ",")),
        ]
        let (key, scheme, issuer) = (self.key, self.scheme, self.certificate)
        return try crypto { () throws(OpenSSLError) in try builder.sign(issuer: issuer, key: key, scheme: scheme) }
    }

    /// A CMS SignedData (DER) over `content` (id-data), signed with the issuer key, carrying the CA certificate.
    public func signedData(_ content: [UInt8], at date: Date = Date()) throws(CertificateAuthorityError) -> [UInt8] {
        let (key, scheme, issuer) = (self.key, self.scheme, self.certificate)
        return try crypto { () throws(OpenSSLError) in
            try CMSSignedData.sign(
                content: content, contentType: "1.2.840.113549.1.7.1", certificate: issuer, key: key, scheme: scheme,
                signingTime: date
            ).der
        }
    }
}
