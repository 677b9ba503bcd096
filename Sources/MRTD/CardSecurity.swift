import Foundation
import OpenSSLKit
import SmartCard

/// EF.CardSecurity (ICAO 9303-11 §9.2, BSI TR-03110-3 §A.1.2): CMS SignedData with eContentType id-SecurityObject
/// over SecurityInfos, signed by a document signer. It publishes the chip's static keys (PACE-CAM, chip
/// authentication), so its signature and chain are checked exactly as EF.SOD's: same trust store, same rules.
public enum CardSecurity {
    /// id-SecurityObject (BSI TR-03110-3 §A.1.2.5).
    public static let contentType = "0.4.0.127.0.7.3.2.1"
    /// Largest EF.CardSecurity accepted (real ones are 1–4 KB: keys and a certificate).
    public static let maxFileSize = 65_536

    /// The SecurityInfos EF.CardSecurity signs, without checking the signature. Throws `.malformedFile(.cardSecurity)`
    /// when the file is not SignedData holding SecurityInfos.
    public static func securityInfos(_ bytes: [UInt8]) throws(MRTDError) -> SecurityInfos {
        guard bytes.count <= maxFileSize else {
            throw .malformedFile(.cardSecurity, "\(bytes.count) bytes, more than the \(maxFileSize) allowed")
        }
        let signedData: CMSSignedData
        do {
            signedData = try CMSSignedData(der: bytes)
        } catch {
            throw .malformedFile(.cardSecurity, "not a CMS SignedData: \(error)")
        }
        guard let content = signedData.content else {
            throw .malformedFile(.cardSecurity, "the SignedData has no content")
        }
        return try SecurityInfos(parsing: content, file: .cardSecurity)
    }

    /// Verifies EF.CardSecurity's signature, its document signer's path to a trusted CSCA, revocation and the binding
    /// of both to `issuingState` (DG1's; nil while it is not read yet: that check is then `notChecked`), as passive
    /// authentication does for EF.SOD (ICAO 9303-11 §5.1, 9303-12 §7.1). Never throws: every failure is a failed
    /// check.
    public static func verify(
        _ bytes: [UInt8], trustStore: TrustStore, at date: Date = Date(),
        policy: PassiveAuthenticationPolicy = .default,
        issuingState: String? = nil
    ) -> CardSecurityVerification {
        func failed(_ reason: String) -> CardSecurityVerification {
            let notReached = PassiveAuthenticationCheck.notChecked("EF.CardSecurity could not be parsed")
            return CardSecurityVerification(
                parsed: .fail(reason), signatureValid: notReached,
                dscChainValid: notReached, dscNotRevoked: notReached,
                issuingStateAnchored: notReached)
        }
        guard bytes.count <= maxFileSize else { return failed("\(bytes.count) bytes, above \(maxFileSize)") }
        let cms: CMSSignedData
        do {
            cms = try CMSSignedData(der: bytes)
        } catch {
            return failed("EF.CardSecurity is not CMS SignedData: \(error)")
        }
        guard cms.contentType == contentType else {
            return failed("eContentType is \(cms.contentType), not id-SecurityObject (\(contentType))")
        }
        guard let content = cms.content else { return failed("the SignedData has no encapsulated content") }
        let infos: SecurityInfos
        do {
            infos = try SecurityInfos(parsing: content, file: .cardSecurity)
        } catch {
            return failed(error.description)
        }
        guard let signer = cms.signers.first else { return failed("the SignedData has no SignerInfo") }
        let checks = SignerVerification.verify(
            cms: cms, signer: signer, content: content, file: "EF.CardSecurity",
            trustStore: trustStore, at: date, policy: policy,
            issuingState: issuingState)
        var result = CardSecurityVerification(
            parsed: .pass("SignedData over \(infos.infos.count) SecurityInfos"), signatureValid: checks.signatureValid,
            dscChainValid: checks.dscChainValid, dscNotRevoked: checks.dscNotRevoked,
            issuingStateAnchored: checks.issuingStateAnchored)
        result.sha1Uses = checks.sha1Uses
        result.documentSigner = checks.documentSigner
        result.signerCertificateSource = checks.signerCertificateSource
        result.csca = checks.csca
        result.certificationPath = checks.certificationPath
        result.securityInfos = infos
        let revocationOK =
            policy.requireRevocationCheck
            ? result.dscNotRevoked.status == .pass : result.dscNotRevoked.status != .fail
        result.passed =
            result.signatureValid.status == .pass && result.dscChainValid.status == .pass && revocationOK
            && result.issuingStateAnchored.status != .fail
        return result
    }
}

/// The outcome of verifying EF.CardSecurity against the trust store: a typed fact, check by check.
public struct CardSecurityVerification: Sendable {
    public var parsed: PassiveAuthenticationCheck
    /// messageDigest over the SecurityInfos and the document signer's signature over the signed attributes.
    public var signatureValid: PassiveAuthenticationCheck
    /// Document signer → trusted CSCA, valid at signing time.
    public var dscChainValid: PassiveAuthenticationCheck
    public var dscNotRevoked: PassiveAuthenticationCheck
    /// The document's issuing state maps to the countryName of the signer and its CSCA (`notChecked` before DG1 was
    /// read).
    public var issuingStateAnchored: PassiveAuthenticationCheck
    /// True when it parsed, the signature and chain are valid, the signer is not revoked and the issuing state's
    /// binding did not fail.
    public var passed = false
    /// Where SHA-1 was used and accepted by the policy.
    public var sha1Uses: [String] = []
    public var documentSigner: X509Certificate?
    public var signerCertificateSource: SignerCertificateSource?
    public var csca: X509Certificate?
    public var certificationPath: [X509Certificate] = []
    /// The signed SecurityInfos (when it parsed).
    public var securityInfos: SecurityInfos?

    public init(
        parsed: PassiveAuthenticationCheck, signatureValid: PassiveAuthenticationCheck,
        dscChainValid: PassiveAuthenticationCheck, dscNotRevoked: PassiveAuthenticationCheck,
        issuingStateAnchored: PassiveAuthenticationCheck = .notChecked("the issuing state is not known")
    ) {
        self.parsed = parsed
        self.signatureValid = signatureValid
        self.dscChainValid = dscChainValid
        self.dscNotRevoked = dscNotRevoked
        self.issuingStateAnchored = issuingStateAnchored
    }

    public var checks: [(name: String, check: PassiveAuthenticationCheck)] {
        [
            ("cardSecurityParsed", parsed), ("cardSecuritySignatureValid", signatureValid),
            ("cardSecurityDscChainValid", dscChainValid), ("cardSecurityDscNotRevoked", dscNotRevoked),
            ("cardSecurityIssuingStateAnchored", issuingStateAnchored),
        ]
    }

    public var failures: [String] {
        checks.filter { $0.check.status == .fail }.map { "\($0.name): \($0.check.reason)" }
    }

    /// The issuing state of the CSCA that anchors EF.CardSecurity (its subject's C), upper-cased.
    public var cscaCountry: String? { csca?.subject.value(of: "C")?.uppercased() }

    /// Whether EF.CardSecurity is anchored like EF.SOD: both verified, and their CSCAs are of the same issuing state
    /// (subject C), so a clone cannot bring a CardSecurity signed under another country's CSCA.
    public func anchored(like passive: PassiveAuthenticationResult) -> Bool {
        guard passed, passive.dscChainValid.status == .pass, let mine = cscaCountry,
            let theirs = passive.csca?.subject.value(of: "C")?.uppercased()
        else { return false }
        return mine == theirs
    }
}

extension PACE {
    /// The static key PACE-CAM proves (ICAO 9303-11 §4.4.3.5, BSI TR-03110-3 §A.1.1.1): among the
    /// ChipAuthenticationPublicKeyInfos of EF.CardSecurity, the id-PK-ECDH key on the PACE domain whose keyId equals
    /// the PACEInfo's parameterId; a single id-PK-ECDH key on that domain when none carries that keyId. Never simply
    /// the first key: eID cards list generic chip authentication keys beside the CAM key.
    /// Throws `.malformedFile(.cardSecurity)` when no key fits.
    public static func chipAuthenticationMappingKey(
        in infos: SecurityInfos, for info: PACEInfo, domain: PACEDomain
    )
        throws(MRTDError) -> (key: ChipAuthenticationKey, keyID: Int?)
    {
        var candidates: [(ChipAuthenticationKey, Int?)] = []
        for case let .chipAuthenticationPublicKey(published) in infos.infos where published.keyAgreement == .ecdh {
            guard let key = try? ChipAuthenticationKey(published), key.domain == domain else { continue }
            if let id = info.parameterID, published.keyID == id { return (key, published.keyID) }
            candidates.append((key, published.keyID))
        }
        if candidates.count == 1, let only = candidates.first { return (only.0, only.1) }
        let parameter = info.parameterID.map { "keyId \($0)" } ?? "no parameterId"
        throw .malformedFile(
            .cardSecurity,
            "no ChipAuthenticationPublicKeyInfo for PACE-CAM: \(candidates.count) "
                + "id-PK-ECDH key(s) on \(domain), none with \(parameter)")
    }
}

/// PACE-CAM as the read ran it (ICAO 9303-11 §4.4.3.5): the typed facts the genuineness policy needs.
public struct ChipAuthenticationMappingFacts: Sendable {
    /// keyId of the ChipAuthenticationPublicKeyInfo the chip proved (CA_IC · PK_IC = PK_Map,IC held; a chip whose
    /// data does not match ends the read as a clone, so these facts exist only for a chip that proved its key).
    public var keyID: Int?
    /// EF.CardSecurity exactly as read: the signed object that published the key.
    public var cardSecurity: [UInt8]
    /// Its signature, chain and revocation against the trust store; nil until verified (`Options.trustStore`, or
    /// `DocumentReadResult.verifyCardSecurity`).
    public var cardSecurityVerification: CardSecurityVerification?

    public init(keyID: Int?, cardSecurity: [UInt8], cardSecurityVerification: CardSecurityVerification? = nil) {
        self.keyID = keyID
        self.cardSecurity = cardSecurity
        self.cardSecurityVerification = cardSecurityVerification
    }

    /// Whether PACE-CAM proves the chip genuine: the chip proved the key, EF.CardSecurity verified, and it is anchored
    /// like EF.SOD (same issuing state's CSCA).
    public func provesChip(anchoredLike passive: PassiveAuthenticationResult) -> Bool {
        cardSecurityVerification?.anchored(like: passive) == true
    }

    /// PACE-CAM as an anti-clone check from what is known without EF.SOD: `passed` when EF.CardSecurity verified,
    /// `failed` when it did not (a forged file: the document must not count as genuine), `not-checked` before it was
    /// verified against a trust store.
    public var check: AntiCloneCheck {
        let key = keyID.map { "keyId \($0)" } ?? "the only key"
        guard let verification = cardSecurityVerification else {
            return AntiCloneCheck(
                .notChecked,
                "PACE-CAM: the chip proved the static key (\(key)) in EF.CardSecurity, "
                    + "which was not verified against the trust store: not counted")
        }
        guard verification.passed else {
            return AntiCloneCheck(
                .failed,
                "PACE-CAM: EF.CardSecurity, which publishes the chip's static key, does not "
                    + "verify: " + verification.failures.joined(separator: "; "))
        }
        let country = verification.cscaCountry.map { " under the CSCA of \($0)" } ?? ""
        return AntiCloneCheck(
            .passed,
            "PACE-CAM: the chip proved the static key (\(key)) of an EF.CardSecurity "
                + "verified like EF.SOD\(country)")
    }

    /// `check`, and `failed` when EF.CardSecurity verified under another issuing state's CSCA than EF.SOD (or EF.SOD
    /// did not chain), so a clone cannot bring a key signed by another state's document signer.
    public func check(anchoredLike passive: PassiveAuthenticationResult?) -> AntiCloneCheck {
        let base = check
        guard base.outcome == .passed else { return base }
        guard let passive, provesChip(anchoredLike: passive) else {
            return AntiCloneCheck(
                .failed,
                "PACE-CAM: EF.CardSecurity chains to the CSCA of "
                    + "\(cardSecurityVerification?.cscaCountry ?? "?"), not to EF.SOD's issuing state")
        }
        return base
    }
}
