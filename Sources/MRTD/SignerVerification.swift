import Foundation
import OpenSSLKit

/// How the document signer certificate of a SignedData was found (RFC 5652 §5.3, ICAO 9303-11 §5.1).
public enum SignerCertificateSource: String, Sendable, Equatable {
    /// An embedded certificate the SignerIdentifier names exactly (issuer and serial, or subject key identifier).
    case embedded
    /// An embedded certificate with the SignerIdentifier's serial whose issuer matches the SignerIdentifier's as
    /// RFC 5280 §7.1 compares names (case and spacing folded, any string type), in any attribute order: how some
    /// issued SODs name their signer.
    case embeddedLooseName = "embedded-loose-name"
    /// The SignerIdentifier names no certificate, and the SignedData embeds exactly one: that one.
    case onlyEmbeddedCertificate = "only-embedded"
    /// A document signer certificate from the trust store, for SignedData that embeds none.
    case trustStore = "trust-store"
}

/// The checks every document-signer-signed object gets, EF.SOD and EF.CardSecurity alike (ICAO 9303-11 §5.1,
/// 9303-12 §5): the signer's certificate, its signature over the signed attributes and the messageDigest over the
/// content, its path to a trusted CSCA valid at signing time, and revocation. Which certificate signed is decided
/// leniently; whether to trust it only by the signature and the chain.
struct SignerVerification {
    var signatureValid: PassiveAuthenticationCheck
    var dscChainValid: PassiveAuthenticationCheck
    var dscNotRevoked: PassiveAuthenticationCheck
    var documentSigner: X509Certificate?
    var signerCertificateSource: SignerCertificateSource?
    var csca: X509Certificate?
    var certificationPath: [X509Certificate] = []

    /// `file` names the object in the reasons (`EF.SOD`, `EF.CardSecurity`).
    static func verify(cms: CMSSignedData, signer: CMSSignerInfo, content: [UInt8], file: String,
                       trustStore: TrustStore, at date: Date, policy: PassiveAuthenticationPolicy)
        -> SignerVerification {
        guard let (certificate, source) = signerCertificate(signer, in: cms, trustStore: trustStore) else {
            let none = PassiveAuthenticationCheck.notChecked("no document signer certificate")
            return SignerVerification(
                signatureValid: .fail("the document signer certificate (\(signer.identifier)) is neither in "
                    + "\(file) nor in the trust store"),
                dscChainValid: none, dscNotRevoked: none)
        }
        var result = SignerVerification(
            signatureValid: checkSignature(cms: cms, signer: signer, content: content, certificate: certificate,
                                           source: source, file: file),
            dscChainValid: .notChecked("not reached"), dscNotRevoked: .notChecked("not reached"),
            documentSigner: certificate, signerCertificateSource: source)
        result.dscChainValid = result.checkChain(certificate, signingTime: signer.signingTime, at: date, file: file,
                                                 trustStore: trustStore, policy: policy)
        result.dscNotRevoked = checkRevocation(certificate, trustStore: trustStore, at: date)
        return result
    }

    /// The certificate `signer` names: an exact match among the embedded ones, then one with the same serial and a
    /// loosely matching issuer, then the only embedded certificate, then the trust store's document signers.
    static func signerCertificate(_ signer: CMSSignerInfo, in cms: CMSSignedData, trustStore: TrustStore)
        -> (X509Certificate, SignerCertificateSource)? {
        if let exact = cms.certificates.first(where: { cms.signer(signer, matches: $0) }) { return (exact, .embedded) }
        if case let .issuerAndSerialNumber(issuer, serial) = signer.identifier,
           let loose = cms.certificates.first(where: {
               $0.serialNumber == serial && $0.issuer.matchesIgnoringOrder(issuer)
           }) {
            return (loose, .embeddedLooseName)
        }
        if cms.certificates.count == 1, let only = cms.certificates.first { return (only, .onlyEmbeddedCertificate) }
        if let stored = trustStore.documentSignerCertificates.first(where: { cms.signer(signer, matches: $0) }) {
            return (stored, .trustStore)
        }
        return nil
    }

    private static func checkSignature(cms: CMSSignedData, signer: CMSSignerInfo, content: [UInt8],
                                       certificate: X509Certificate, source: SignerCertificateSource, file: String)
        -> PassiveAuthenticationCheck {
        guard signer.signedAttributeCount > 0 else {
            return .fail("the SignerInfo has no signed attributes (ICAO 9303-10 requires them)")
        }
        guard let digest = signer.digestAlgorithm else {
            return .fail("unsupported SignerInfo digest algorithm \(signer.digestAlgorithmOID)")
        }
        guard let messageDigest = signer.messageDigest else {
            return .fail("the signed attributes have no messageDigest")
        }
        guard let computed = try? Digest.hash(content, using: digest),
              MessageAuthentication.constantTimeEquals(computed, messageDigest)
        else { return .fail("the messageDigest attribute does not match the signed content (altered \(file))") }
        guard cms.verifySignature(of: signer, with: certificate) else {
            return .fail("the \(signer.signatureAlgorithmName) signature does not verify with the document signer "
                + "certificate \(certificate.subject)")
        }
        var reason = "\(signer.signatureAlgorithmName) signature by \(certificate.subject) verifies"
        switch source {
        case .embedded, .trustStore: break
        case .embeddedLooseName:
            reason += "; note: the SignerInfo names its issuer as \(signer.identifier), matched to the embedded "
                + "certificate by serial and RFC 5280 name rules in another attribute order"
        case .onlyEmbeddedCertificate:
            reason += "; note: the SignerInfo (\(signer.identifier)) names no embedded certificate, the only one was used"
        }
        if let type = signer.contentTypeAttribute, type != cms.contentType {
            reason += "; note: contentType attribute \(type) differs from eContentType \(cms.contentType)"
        }
        return .pass(reason)
    }

    private mutating func checkChain(_ documentSigner: X509Certificate, signingTime: Date?, at date: Date,
                                     file: String, trustStore: TrustStore, policy: PassiveAuthenticationPolicy)
        -> PassiveAuthenticationCheck {
        let path: TrustStore.CertificationPath
        switch trustStore.certificationPath(for: documentSigner) {
        case let .failure(reason): return .fail("DSC \(documentSigner.subject): \(reason)")
        case let .success(found): path = found
        }
        csca = path.anchor
        certificationPath = path.certificates
        guard let notBefore = documentSigner.notBefore, let notAfter = documentSigner.notAfter else {
            return .fail("the DSC's validity period cannot be read")
        }
        if let usage = documentSigner.keyUsage, !usage.contains(.digitalSignature) {
            return .fail("the DSC's keyUsage lacks digitalSignature")
        }
        var notes: [String] = []
        let validationTime = signingTime ?? date
        let timeSource = signingTime != nil ? "signing time" : "validation time"
        guard notBefore <= validationTime else {
            return .fail("the DSC was not yet valid at the \(timeSource) \(validationTime) (valid from \(notBefore))")
        }
        if validationTime > notAfter {
            let name = file == "EF.SOD" ? "SOD" : file
            if signingTime != nil {
                return .fail("the \(name) was signed at \(validationTime), after the DSC expired (\(notAfter))")
            }
            guard policy.acceptExpiredDocumentSigner else {
                return .fail("the DSC expired on \(notAfter) and the \(name) carries no signing time")
            }
            notes.append("DSC expired on \(notAfter), accepted: documents outlive their DSC")
        }
        if let cscaEnd = path.anchor.notAfter, cscaEnd < date {
            notes.append("CSCA expired on \(cscaEnd) but still anchors documents it signed")
        }
        let chain = path.certificates.map { "\($0.subject)" }.joined(separator: " → ")
        return .pass(([chain] + notes).joined(separator: "; "))
    }

    private static func checkRevocation(_ documentSigner: X509Certificate, trustStore: TrustStore,
                                        at date: Date) -> PassiveAuthenticationCheck {
        let (verified, unverified) = trustStore.verifiedCRLs(for: documentSigner)
        guard !verified.isEmpty else {
            if unverified > 0 {
                return .notChecked("\(unverified) CRL(s) from \(documentSigner.issuer) found but none verifies "
                    + "with the CSCA key")
            }
            return .notChecked("no CRL from \(documentSigner.issuer) in the trust store")
        }
        for crl in verified {
            if let entry = crl.entry(forSerial: documentSigner.serialNumber) {
                let when = entry.revocationDate.map { " on \($0)" } ?? ""
                return .fail("the DSC (serial \(hex(documentSigner.serialNumber))) was revoked\(when) by "
                    + "\(crl.issuer)")
            }
        }
        let newest = verified.compactMap(\.thisUpdate).max()
        var reason = "the DSC is not listed in \(verified.count) verified CRL(s) from \(documentSigner.issuer)"
        if let newest { reason += " (newest issued \(newest))" }
        if verified.allSatisfy({ ($0.nextUpdate ?? .distantFuture) < date }) { reason += "; note: every CRL is stale" }
        return .pass(reason)
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined()
    }
}
