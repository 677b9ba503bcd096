import Foundation
import IssuingStates
import OpenSSLKit
import SmartCard

/// Why EF.SOD could not be read as a signed LDS security object. Carried in
/// `PassiveAuthenticationResult.parseError`; the `sodParsed` check then fails with its description.
public enum PassiveAuthenticationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The 0x77 wrapper, the DER or the LDS security object is malformed.
    case malformedSOD(LDSError)
    /// OpenSSL does not read the content as CMS SignedData.
    case malformedCMS(OpenSSLError)
    /// SignedData without encapsulated content (detached), which EF.SOD never is.
    case missingContent
    /// SignedData without a SignerInfo.
    case noSigner
    /// A digest the LDS security object or SignerInfo names that we do not support.
    case unsupportedDigest(String)
    /// eContentType is not id-icao-mrtd-security-ldsSecurityObject, nor a legacy type the policy accepts.
    case unexpectedContentType(String)
    /// SHA-1 where the policy does not allow it.
    case sha1NotAllowed(String)

    public var description: String {
        switch self {
        case let .malformedSOD(error): return "\(error)"
        case let .malformedCMS(error): return "EF.SOD is not CMS SignedData: \(error)"
        case .missingContent: return "EF.SOD has no encapsulated LDS security object"
        case .noSigner: return "EF.SOD has no SignerInfo"
        case let .unsupportedDigest(oid): return "EF.SOD uses an unsupported digest algorithm \(oid)"
        case let .unexpectedContentType(type):
            return "EF.SOD's eContentType is \(type), not id-icao-mrtd-security-ldsSecurityObject (2.23.136.1.1.1); "
                + "a legacy type is accepted only when trust.legacy_sod_content_types lists it"
        case let .sha1NotAllowed(what): return "\(what) use SHA-1 and trust.allow_sha1 is off"
        }
    }
}

/// One step of passive authentication and its outcome.
public struct PassiveAuthenticationCheck: Sendable, Equatable, CustomStringConvertible {
    public enum Status: String, Sendable, Equatable {
        case pass, fail, notChecked
    }

    public var status: Status
    /// What was checked and why it passed or failed, for the operator (no personal data).
    public var reason: String

    public static func pass(_ reason: String) -> Self { .init(status: .pass, reason: reason) }
    public static func fail(_ reason: String) -> Self { .init(status: .fail, reason: reason) }
    public static func notChecked(_ reason: String) -> Self { .init(status: .notChecked, reason: reason) }

    public var description: String { "\(status.rawValue): \(reason)" }
}

/// Passive authentication outcome (ICAO 9303-11 §5.1): every check with its status and reason.
public struct PassiveAuthenticationResult: Sendable {
    public var sodParsed: PassiveAuthenticationCheck
    /// messageDigest attribute = hash of the LDS security object, and the DSC's signature over the signed
    /// attributes.
    public var signatureValid: PassiveAuthenticationCheck
    /// DSC → trusted CSCA, DSC valid when the document was signed.
    public var dscChainValid: PassiveAuthenticationCheck
    public var dscNotRevoked: PassiveAuthenticationCheck
    /// The issuing state (DG1) maps to the countryName of the DSC and of every CSCA on its path (ICAO 9303-12 §7.1).
    public var issuingStateAnchored: PassiveAuthenticationCheck
    /// Per data group: pass (hash matches), fail (mismatch, or read but not in the SOD), notChecked
    /// (in the SOD but not read).
    public var dataGroupHashes: [DataGroup: PassiveAuthenticationCheck]
    /// True when the SOD parsed, its signature and DSC chain are valid, the DSC is not revoked, the issuing state's
    /// binding to the anchor did not fail, and every data group supplied (at least one) matches its hash.
    public var passed: Bool
    public var parseError: PassiveAuthenticationError?

    public var documentSigner: X509Certificate?
    /// How the document signer certificate was found (exactly, loosely by name, the only one embedded, or in the
    /// trust store); nil when none was.
    public var signerCertificateSource: SignerCertificateSource?
    /// The trusted CSCA that signed the DSC, and the whole path (DSC first) up to a self-signed root.
    public var csca: X509Certificate?
    public var certificationPath: [X509Certificate]
    public var dscSubject: DistinguishedName? { documentSigner?.subject }
    public var cscaSubject: DistinguishedName? { csca?.subject }
    /// e.g. `SHA-256` (of the data groups).
    public var hashAlgorithm: String?
    /// e.g. `ECDSA with SHA256`, `RSA-PSS with SHA256`.
    public var signatureAlgorithm: String?
    public var signingTime: Date?
    public var ldsSecurityObject: LDSSecurityObject?
    /// The issuing state bound to the anchor (ICAO code, normalised), nil when none was known.
    public var issuingState: String?
    /// Where SHA-1 was used and accepted by the policy (`data group hashes`, `EF.SOD signature`, `DSC signature`).
    public var sha1Uses: [String] = []

    /// Every check, in order, labelled.
    public var checks: [(name: String, check: PassiveAuthenticationCheck)] {
        [
            ("sodParsed", sodParsed), ("signatureValid", signatureValid), ("dscChainValid", dscChainValid),
            ("dscNotRevoked", dscNotRevoked), ("issuingStateAnchored", issuingStateAnchored),
        ]
            + dataGroupHashes.sorted { $0.key < $1.key }.map { ("dataGroupHash \($0.key)", $0.value) }
    }

    /// The reasons of the failed checks.
    public var failures: [String] {
        checks.filter { $0.check.status == .fail }.map { "\($0.name): \($0.check.reason)" }
    }
}

/// Smallest keys passive authentication accepts, in bits (RSA modulus, EC field size), per certificate role.
public struct KeySizeMinimums: Sendable, Equatable {
    public var cscaRSA: Int
    public var cscaEC: Int
    public var documentSignerRSA: Int
    public var documentSignerEC: Int

    /// RSA 2048 for both; EC 256 for CSCAs, 224 for document signers (older documents in circulation use P-224 and
    /// brainpoolP224r1 DSCs).
    public init(cscaRSA: Int = 2048, cscaEC: Int = 256, documentSignerRSA: Int = 2048, documentSignerEC: Int = 224) {
        self.cscaRSA = cscaRSA
        self.cscaEC = cscaEC
        self.documentSignerRSA = documentSignerRSA
        self.documentSignerEC = documentSignerEC
    }
}

/// What passive authentication accepts: named rules, each with a safe default (ICAO 9303-11 §5.1, 9303-12 §7.1).
public struct PassiveAuthenticationPolicy: Sendable, Equatable {
    /// A DSC that has expired by now (no signingTime to prove when the SOD was signed) still anchors the
    /// document: DSCs usually expire before the documents they signed.
    public var acceptExpiredDocumentSigner = true
    /// Require a verified CRL from the CSCA (otherwise "no CRL" leaves revocation notChecked and passes).
    public var requireRevocationCheck = false
    /// eContentTypes accepted for EF.SOD besides id-icao-mrtd-security-ldsSecurityObject: only those of
    /// `PassiveAuthentication.knownLegacyContentTypes` (default none).
    public var legacyContentTypes: Set<String> = []
    /// SHA-1 in data group hashes, SignerInfos or DSC signatures (default allowed: older documents still in
    /// circulation use it, and inspection-system conformance tests expect it); every use is recorded.
    public var allowSHA1 = true
    public var minimumKeySizes = KeySizeMinimums()
    /// How an issuing state (DG1) maps to the countryName of the CSCA and document signer that may anchor it.
    public var issuingStateCodes = IssuingStateCodes()

    public static let `default` = PassiveAuthenticationPolicy()

    public init(
        acceptExpiredDocumentSigner: Bool = true, requireRevocationCheck: Bool = false,
        legacyContentTypes: Set<String> = [], allowSHA1: Bool = true,
        minimumKeySizes: KeySizeMinimums = KeySizeMinimums(),
        issuingStateCodes: IssuingStateCodes = IssuingStateCodes()
    ) {
        self.acceptExpiredDocumentSigner = acceptExpiredDocumentSigner
        self.requireRevocationCheck = requireRevocationCheck
        self.legacyContentTypes = legacyContentTypes
        self.allowSHA1 = allowSHA1
        self.minimumKeySizes = minimumKeySizes
        self.issuingStateCodes = issuingStateCodes
    }
}

/// Passive authentication (ICAO 9303-11 §5.1, 9303-12): EF.SOD signature, DSC → CSCA chain, revocation,
/// and the data-group hashes.
public enum PassiveAuthentication {
    /// eContentType of an LDS security object (ICAO 9303-10 §4.6.2).
    public static let ldsSecurityObjectType = "2.23.136.1.1.1"
    /// eContentTypes seen in older documents' EF.SOD, accepted only when `PassiveAuthenticationPolicy` lists them:
    /// id-data (RFC 5652 §4), which documents issued before ICAO 9303 fixed the LDS security object's type use.
    public static let knownLegacyContentTypes = ["1.2.840.113549.1.7.1": "id-data"]
    /// OID of SHA-1 (a data-group hash algorithm of older documents).
    static let sha1OID = "1.3.14.3.2.26"

    /// Verifies EF.SOD as read from the chip (tag 77 wrapper included).
    /// The issuing state bound to the trust anchor is `issuingState` when given, else DG1's (when `dataGroups` holds a
    /// DG1 that parses); without either, `issuingStateAnchored` is `notChecked`.
    public static func verify(
        sodFile: [UInt8], dataGroups: [DataGroup: [UInt8]], trustStore: TrustStore,
        at date: Date = Date(), policy: PassiveAuthenticationPolicy = .default,
        issuingState: String? = nil
    ) -> PassiveAuthenticationResult {
        switch unwrap(sodFile) {
        case let .success(sod):
            return verify(
                sod: sod, dataGroups: dataGroups, trustStore: trustStore, at: date, policy: policy,
                issuingState: issuingState)
        case let .failure(error):
            return failedParse(.malformedSOD(error), dataGroups: dataGroups)
        }
    }

    /// `SOD.parse` (which also reads the BER ContentInfo some issued passports store) as a result.
    static func unwrap(_ bytes: [UInt8]) -> Result<SOD, LDSError> {
        do {
            return .success(try SOD.parse(bytes))
        } catch {
            return .failure(error)
        }
    }

    /// Verifies a parsed EF.SOD against the raw data groups read (full files, template tag included).
    /// - Parameters:
    ///   - date: "now": the validation time when the SOD carries no signingTime.
    public static func verify(
        sod: SOD, dataGroups: [DataGroup: [UInt8]], trustStore: TrustStore,
        at date: Date = Date(), policy: PassiveAuthenticationPolicy = .default,
        issuingState: String? = nil
    ) -> PassiveAuthenticationResult {
        let cms: CMSSignedData
        do {
            cms = try CMSSignedData(der: sod.cms)
        } catch {
            return failedParse(.malformedCMS(error), dataGroups: dataGroups)
        }
        guard let content = cms.content else { return failedParse(.missingContent, dataGroups: dataGroups) }
        let securityObject: LDSSecurityObject
        do {
            securityObject = try LDSSecurityObject.parse(der: content)
        } catch {
            return failedParse(.malformedSOD(error), dataGroups: dataGroups)
        }
        guard let signer = cms.signers.first else { return failedParse(.noSigner, dataGroups: dataGroups) }
        guard let hash = DigestAlgorithm(oid: securityObject.hashAlgorithm) else {
            return failedParse(.unsupportedDigest(securityObject.hashAlgorithm), dataGroups: dataGroups)
        }

        if cms.contentType != ldsSecurityObjectType {
            let name = knownLegacyContentTypes[cms.contentType].map { " (\($0))" } ?? ""
            guard policy.legacyContentTypes.contains(cms.contentType),
                knownLegacyContentTypes[cms.contentType] != nil
            else {
                return failedParse(.unexpectedContentType(cms.contentType + name), dataGroups: dataGroups)
            }
        }
        var sha1Uses: [String] = []
        if securityObject.hashAlgorithm == sha1OID {
            guard policy.allowSHA1 else {
                return failedParse(.sha1NotAllowed("the data group hashes"), dataGroups: dataGroups)
            }
            sha1Uses.append("data group hashes")
        }

        var result = PassiveAuthenticationResult(
            sodParsed: .pass(parsedReason(cms: cms, securityObject: securityObject)),
            signatureValid: .notChecked("not reached"), dscChainValid: .notChecked("not reached"),
            dscNotRevoked: .notChecked("not reached"), issuingStateAnchored: .notChecked("not reached"),
            dataGroupHashes: [:], passed: false,
            certificationPath: [], hashAlgorithm: securityObject.hashAlgorithmName,
            signatureAlgorithm: signer.signatureAlgorithmName, signingTime: signer.signingTime,
            ldsSecurityObject: securityObject)
        result.dataGroupHashes = checkDataGroups(dataGroups, securityObject: securityObject, hash: hash)

        let state = issuingState ?? dataGroups[.dg1].flatMap { try? DG1.parse($0) }?.mrz.issuingState
        let checks = SignerVerification.verify(
            cms: cms, signer: signer, content: content, file: "EF.SOD",
            trustStore: trustStore, at: date, policy: policy, issuingState: state)
        result.signatureValid = checks.signatureValid
        result.dscChainValid = checks.dscChainValid
        result.dscNotRevoked = checks.dscNotRevoked
        result.issuingStateAnchored = checks.issuingStateAnchored
        result.issuingState = state.map(IssuingStateCodes.normalised)
        result.sha1Uses = sha1Uses + checks.sha1Uses
        result.documentSigner = checks.documentSigner
        result.signerCertificateSource = checks.signerCertificateSource
        result.csca = checks.csca
        result.certificationPath = checks.certificationPath
        return finish(result, policy: policy)
    }

    private static func failedParse(
        _ error: PassiveAuthenticationError,
        dataGroups: [DataGroup: [UInt8]]
    ) -> PassiveAuthenticationResult {
        let notReached = PassiveAuthenticationCheck.notChecked("EF.SOD could not be parsed")
        var hashes: [DataGroup: PassiveAuthenticationCheck] = [:]
        for group in dataGroups.keys { hashes[group] = notReached }
        return PassiveAuthenticationResult(
            sodParsed: .fail(error.description), signatureValid: notReached, dscChainValid: notReached,
            dscNotRevoked: notReached, issuingStateAnchored: notReached, dataGroupHashes: hashes, passed: false,
            parseError: error, certificationPath: [])
    }

    private static func parsedReason(cms: CMSSignedData, securityObject: LDSSecurityObject) -> String {
        var reason =
            "LDS security object V\(securityObject.version) with \(securityObject.dataGroupHashes.count) "
            + "data group hashes (\(securityObject.hashAlgorithmName ?? securityObject.hashAlgorithm))"
        if let version = securityObject.ldsVersion { reason += ", LDS \(version)" }
        if cms.contentType != ldsSecurityObjectType {
            let name = knownLegacyContentTypes[cms.contentType].map { " (\($0))" } ?? ""
            reason += "; legacy content type \(cms.contentType)\(name) accepted (trust.legacy_sod_content_types)"
        }
        if cms.signers.count > 1 { reason += "; \(cms.signers.count) signers, the first is checked" }
        return reason
    }

    static func checkDataGroups(
        _ dataGroups: [DataGroup: [UInt8]], securityObject: LDSSecurityObject,
        hash: DigestAlgorithm
    ) -> [DataGroup: PassiveAuthenticationCheck] {
        var checks: [DataGroup: PassiveAuthenticationCheck] = [:]
        for entry in securityObject.dataGroupHashes {
            guard let bytes = dataGroups[entry.dataGroup] else {
                checks[entry.dataGroup] = .notChecked("\(entry.dataGroup) is in EF.SOD but was not read")
                continue
            }
            guard let computed = try? Digest.hash(bytes, using: hash) else {
                checks[entry.dataGroup] = .fail("\(entry.dataGroup) could not be hashed with \(hash.rawValue)")
                continue
            }
            checks[entry.dataGroup] =
                MessageAuthentication.constantTimeEquals(computed, entry.hash)
                ? .pass("\(entry.dataGroup) matches its \(hash.rawValue) hash in EF.SOD")
                : .fail("\(entry.dataGroup) does not match its hash in EF.SOD: the data group was altered")
        }
        for group in dataGroups.keys where checks[group] == nil {
            checks[group] = .fail("\(group) was read from the chip but EF.SOD has no hash for it")
        }
        return checks
    }

    private static func finish(
        _ result: PassiveAuthenticationResult,
        policy: PassiveAuthenticationPolicy
    ) -> PassiveAuthenticationResult {
        var result = result
        let revocationOK =
            policy.requireRevocationCheck
            ? result.dscNotRevoked.status == .pass : result.dscNotRevoked.status != .fail
        result.passed =
            result.sodParsed.status == .pass && result.signatureValid.status == .pass
            && result.dscChainValid.status == .pass && revocationOK && result.issuingStateAnchored.status != .fail
            && result.dataGroupHashes.values.contains { $0.status == .pass }
            && !result.dataGroupHashes.values.contains { $0.status == .fail }
        return result
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined()
    }
}
