import Foundation
import IssuingStates
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
/// 9303-12 §5, §7.1): the signer's certificate, its signature over the signed attributes and the messageDigest over
/// the content, its path to a trusted CSCA valid at signing time, revocation, and the binding of both certificates to
/// the document's issuing state. Which certificate signed is decided leniently; whether to trust it only by the
/// signature, the chain, the certificates' profile (key usage, key size) and the issuing state.
struct SignerVerification {
    var signatureValid: PassiveAuthenticationCheck
    var dscChainValid: PassiveAuthenticationCheck
    var dscNotRevoked: PassiveAuthenticationCheck
    /// The document's issuing state maps to the countryName of the document signer and of its CSCA.
    var issuingStateAnchored: PassiveAuthenticationCheck = .notChecked("not reached")
    var documentSigner: X509Certificate?
    var signerCertificateSource: SignerCertificateSource?
    var csca: X509Certificate?
    var certificationPath: [X509Certificate] = []
    /// Where SHA-1 was used and accepted (`PassiveAuthenticationPolicy.allowSHA1`): `SignerInfo digest`, ...
    var sha1Uses: [String] = []

    /// Extended key usages that make a certificate a list signer, never a document signer (ICAO 9303-12 §7.1.2):
    /// id-icao-cscaMasterListSigningKey and id-icao-mrtd-security-deviationListSigningKey.
    static let listSignerUsages = ["2.23.136.1.1.3": "master list signer", "2.23.136.1.1.8": "deviation list signer"]

    /// `file` names the object in the reasons (`EF.SOD`, `EF.CardSecurity`); `issuingState` is the document's (DG1,
    /// ICAO code), nil when it is not known yet (the binding is then `notChecked`).
    static func verify(
        cms: CMSSignedData, signer: CMSSignerInfo, content: [UInt8], file: String,
        trustStore: TrustStore, at date: Date, policy: PassiveAuthenticationPolicy,
        issuingState: String?
    ) -> SignerVerification {
        guard let (certificate, source) = signerCertificate(signer, in: cms, trustStore: trustStore) else {
            let none = PassiveAuthenticationCheck.notChecked("no document signer certificate")
            return SignerVerification(
                signatureValid: .fail(
                    "the document signer certificate (\(signer.identifier)) is neither in "
                        + "\(file) nor in the trust store"),
                dscChainValid: none, dscNotRevoked: none, issuingStateAnchored: none)
        }
        var result = SignerVerification(
            signatureValid: .notChecked("not reached"), dscChainValid: .notChecked("not reached"),
            dscNotRevoked: .notChecked("not reached"), documentSigner: certificate, signerCertificateSource: source)
        result.signatureValid = result.checkSignature(
            cms: cms, signer: signer, content: content,
            certificate: certificate, source: source, file: file,
            policy: policy)
        result.dscChainValid = result.checkChain(
            certificate, signingTime: signer.signingTime, at: date, file: file,
            trustStore: trustStore, policy: policy)
        result.dscNotRevoked = checkRevocation(certificate, trustStore: trustStore, at: date)
        result.issuingStateAnchored = checkIssuingState(
            issuingState, documentSigner: certificate,
            path: result.certificationPath, codes: policy.issuingStateCodes)
        return result
    }

    /// ICAO 9303-12 §7.1: the CSCA's and the document signer's countryName is the issuing state's. A document whose
    /// state (DG1) maps to another country than its signer's, or whose signer names another country than its CSCA,
    /// is not genuine: one state's leaked document signer key must not sign another state's documents.
    static func checkIssuingState(
        _ issuingState: String?, documentSigner: X509Certificate,
        path: [X509Certificate], codes: IssuingStateCodes
    ) -> PassiveAuthenticationCheck {
        guard let issuingState else { return .notChecked("the issuing state (DG1) is not known") }
        let state = IssuingStateCodes.normalised(issuingState)
        guard let expected = codes.anchorCountry(forICAO: state) else {
            if IssuingStateCodes.isNationalityOnly(state) {
                return .fail(
                    "the document names \(state) as its issuing state, a nationality code that no state "
                        + "issues documents under")
            }
            return .fail(
                "the issuing state \(state) has no known country code to match its trust anchor against "
                    + "(trust.state_anchor_countries can name it)")
        }
        let signerCountry = country(of: documentSigner)
        guard signerCountry == expected else {
            return .fail(
                "the document's issuing state \(state) (\(expected)) does not match its document signer's "
                    + "country \(signerCountry ?? "(none)")")
        }
        guard path.count > 1 else { return .notChecked("no trusted CSCA anchors the document signer") }
        for authority in path.dropFirst() where country(of: authority) != expected {
            return .fail(
                "the document's issuing state \(state) (\(expected)) does not match its CSCA's country "
                    + "\(country(of: authority) ?? "(none)") (\(authority.subject)); the document signer names "
                    + "\(signerCountry ?? "(none)")")
        }
        return .pass("issuing state \(state) matches the document signer and CSCA (C=\(expected))")
    }

    /// The certificate's subject countryName, upper-cased.
    static func country(of certificate: X509Certificate) -> String? {
        certificate.subject.value(of: "C")?.uppercased()
    }

    /// The certificate `signer` names: an exact match among the embedded ones, then one with the same serial and a
    /// loosely matching issuer, then the only embedded certificate, then the trust store's document signers.
    static func signerCertificate(
        _ signer: CMSSignerInfo, in cms: CMSSignedData, trustStore: TrustStore
    )
        -> (X509Certificate, SignerCertificateSource)?
    {
        if let exact = cms.certificates.first(where: { cms.signer(signer, matches: $0) }) { return (exact, .embedded) }
        if case let .issuerAndSerialNumber(issuer, serial) = signer.identifier,
            let loose = cms.certificates.first(where: {
                $0.serialNumber == serial && $0.issuer.matchesIgnoringOrder(issuer)
            })
        {
            return (loose, .embeddedLooseName)
        }
        if cms.certificates.count == 1, let only = cms.certificates.first { return (only, .onlyEmbeddedCertificate) }
        if let stored = trustStore.documentSignerCertificates.first(where: { cms.signer(signer, matches: $0) }) {
            return (stored, .trustStore)
        }
        return nil
    }

    private mutating func checkSignature(
        cms: CMSSignedData, signer: CMSSignerInfo, content: [UInt8],
        certificate: X509Certificate, source: SignerCertificateSource, file: String,
        policy: PassiveAuthenticationPolicy
    ) -> PassiveAuthenticationCheck {
        guard signer.signedAttributeCount > 0 else {
            return .fail("the SignerInfo has no signed attributes (ICAO 9303-10 requires them)")
        }
        guard let digest = signer.digestAlgorithm else {
            return .fail("unsupported SignerInfo digest algorithm \(signer.digestAlgorithmOID)")
        }
        if digest == .sha1 || signer.signatureAlgorithmName.uppercased().contains("SHA1") {
            guard policy.allowSHA1 else {
                return .fail("the SignerInfo uses SHA-1 (\(signer.signatureAlgorithmName)) and trust.allow_sha1 is off")
            }
            sha1Uses.append("\(file) signature")
        }
        guard let messageDigest = signer.messageDigest else {
            return .fail("the signed attributes have no messageDigest")
        }
        guard let computed = try? Digest.hash(content, using: digest),
            MessageAuthentication.constantTimeEquals(computed, messageDigest)
        else { return .fail("the messageDigest attribute does not match the signed content (altered \(file))") }
        guard cms.verifySignature(of: signer, with: certificate) else {
            return .fail(
                "the \(signer.signatureAlgorithmName) signature does not verify with the document signer "
                    + "certificate \(certificate.subject)")
        }
        var reason = "\(signer.signatureAlgorithmName) signature by \(certificate.subject) verifies"
        switch source {
        case .embedded, .trustStore: break
        case .embeddedLooseName:
            reason +=
                "; note: the SignerInfo names its issuer as \(signer.identifier), matched to the embedded "
                + "certificate by serial and RFC 5280 name rules in another attribute order"
        case .onlyEmbeddedCertificate:
            reason +=
                "; note: the SignerInfo (\(signer.identifier)) names no embedded certificate, the only one was used"
        }
        if let type = signer.contentTypeAttribute, type != cms.contentType {
            reason += "; note: contentType attribute \(type) differs from eContentType \(cms.contentType)"
        }
        return .pass(reason)
    }

    private mutating func checkChain(
        _ documentSigner: X509Certificate, signingTime: Date?, at date: Date,
        file: String, trustStore: TrustStore, policy: PassiveAuthenticationPolicy
    )
        -> PassiveAuthenticationCheck
    {
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
        if let profileProblem = Self.documentSignerProfileProblem(
            documentSigner, path: path.certificates,
            policy: policy)
        {
            return .fail(profileProblem)
        }
        if documentSigner.signatureAlgorithmName.uppercased().contains("SHA1") {
            guard policy.allowSHA1 else {
                return .fail(
                    "the DSC is signed with SHA-1 (\(documentSigner.signatureAlgorithmName)) and "
                        + "trust.allow_sha1 is off")
            }
            sha1Uses.append("DSC signature")
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

    /// Why the document signer (and the CAs above it) may not sign documents (ICAO 9303-12 §7.1): keyUsage without
    /// digitalSignature (or none at all), a list signer's extended key usage, a key below the policy's minimum.
    static func documentSignerProfileProblem(
        _ documentSigner: X509Certificate, path: [X509Certificate],
        policy: PassiveAuthenticationPolicy
    ) -> String? {
        guard let usage = documentSigner.keyUsage else {
            return "the DSC has no keyUsage extension (ICAO 9303-12 requires digitalSignature)"
        }
        guard usage.contains(.digitalSignature) else { return "the DSC's keyUsage lacks digitalSignature" }
        for oid in documentSigner.extendedKeyUsageOIDs ?? [] {
            if let role = listSignerUsages[oid] {
                return "the signer certificate is a \(role) (extendedKeyUsage \(oid)), not a document signer"
            }
        }
        let minimums = policy.minimumKeySizes
        if let problem = keySizeProblem(
            documentSigner, role: "DSC", rsa: minimums.documentSignerRSA,
            ec: minimums.documentSignerEC)
        {
            return problem
        }
        for authority in path.dropFirst() {
            if let problem = keySizeProblem(
                authority, role: "CSCA \(authority.subject)", rsa: minimums.cscaRSA,
                ec: minimums.cscaEC)
            {
                return problem
            }
        }
        return nil
    }

    /// Why `certificate`'s key is too small for `role`, nil when it is large enough.
    static func keySizeProblem(_ certificate: X509Certificate, role: String, rsa: Int, ec: Int) -> String? {
        guard let key = try? certificate.publicKey() else { return "the \(role)'s public key cannot be read" }
        switch key.keyType {
        case let .rsa(bits) where bits < rsa:
            return "the \(role)'s RSA key has \(bits) bits, below the \(rsa) the trust policy requires"
        case let .ec(curve, bits) where bits < ec:
            return "the \(role)'s EC key (\(curve ?? "explicit curve")) has \(bits) bits, below the \(ec) the trust "
                + "policy requires"
        case let .other(name):
            return "the \(role)'s key is \(name), neither RSA nor EC"
        default:
            return nil
        }
    }

    private static func checkRevocation(
        _ documentSigner: X509Certificate, trustStore: TrustStore,
        at date: Date
    ) -> PassiveAuthenticationCheck {
        let (verified, unverified) = trustStore.verifiedCRLs(for: documentSigner)
        guard !verified.isEmpty else {
            if unverified > 0 {
                return .notChecked(
                    "\(unverified) CRL(s) from \(documentSigner.issuer) found but none verifies "
                        + "with the CSCA key")
            }
            return .notChecked("no CRL from \(documentSigner.issuer) in the trust store")
        }
        for crl in verified {
            if let entry = crl.entry(forSerial: documentSigner.serialNumber) {
                let when = entry.revocationDate.map { " on \($0)" } ?? ""
                return .fail(
                    "the DSC (serial \(hex(documentSigner.serialNumber))) was revoked\(when) by "
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
