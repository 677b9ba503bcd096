import Foundation
import IssuingStates
import OpenSSLKit
import SmartCard

/// Why a CSCA master list was refused.
public enum MasterListError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not a CMS SignedData ContentInfo.
    case notSignedData(OpenSSLError)
    /// eContentType is not id-icao-cscaMasterList (2.23.136.1.1.2).
    case wrongContentType(String)
    /// The CscaMasterList content is not `SEQUENCE { version INTEGER, certList SET OF Certificate }`.
    case malformedContent(String)
    /// No SignerInfo, or the signer's certificate is not in the SignedData.
    case signerCertificateMissing
    /// The messageDigest attribute does not match the content: the list was altered after signing.
    case contentDigestMismatch
    /// The signature over the signed attributes does not verify with the signer certificate.
    case signatureInvalid
    /// The master list signer certificate does not chain to a trusted CSCA (or the given anchor).
    case signerNotTrusted(String)
    /// The master list signer certificate was not valid when the list was signed.
    case signerNotValid(String)

    public var description: String {
        switch self {
        case let .notSignedData(error): return "not a CMS SignedData structure (\(error))"
        case let .wrongContentType(type): return "content type \(type) is not id-icao-cscaMasterList (2.23.136.1.1.2)"
        case let .malformedContent(reason): return "CscaMasterList content is malformed: \(reason)"
        case .signerCertificateMissing: return "the master list signer certificate is missing"
        case .contentDigestMismatch: return "the list's content does not match its signed digest (tampered)"
        case .signatureInvalid: return "the master list signature does not verify (tampered or wrong signer)"
        case let .signerNotTrusted(reason): return "the master list signer is not trusted: \(reason)"
        case let .signerNotValid(reason): return "the master list signer certificate is not valid: \(reason)"
        }
    }
}

/// An ICAO CSCA master list (ICAO 9303-12 §9): CMS SignedData, content type id-icao-cscaMasterList,
/// content `CscaMasterList ::= SEQUENCE { version INTEGER, certList SET OF Certificate }`.
public struct CSCAMasterList: Sendable {
    public static let contentType = "2.23.136.1.1.2"

    public var version: Int
    /// The CSCA (and link) certificates the list carries.
    public var certificates: [X509Certificate]
    /// The master list signer certificate that verified the list.
    public var signer: X509Certificate
    public var signingTime: Date?

    /// Parses a master list and verifies its signature and its signer: the signer certificate must chain
    /// to a CSCA in `trustStore`, or to `signerAnchor` (a CSCA, or the signer certificate itself).
    /// - Throws: `MasterListError`; nothing of a refused list should be trusted.
    public static func verify(
        der: [UInt8], trustStore: TrustStore, signerAnchor: X509Certificate? = nil,
        at date: Date = Date()
    ) throws(MasterListError) -> CSCAMasterList {
        let cms: CMSSignedData
        do {
            cms = try CMSSignedData(der: der)
        } catch {
            throw .notSignedData(error)
        }
        guard cms.contentType == contentType else { throw .wrongContentType(cms.contentType) }
        guard let content = cms.content else { throw .malformedContent("no encapsulated content") }
        let (version, certificates) = try parseContent(content)

        guard let info = cms.signers.first,
            let signer = cms.certificates.first(where: { cms.signer(info, matches: $0) })
        else { throw .signerCertificateMissing }
        guard let digest = info.digestAlgorithm, let messageDigest = info.messageDigest,
            let computed = try? Digest.hash(content, using: digest),
            MessageAuthentication.constantTimeEquals(computed, messageDigest)
        else { throw .contentDigestMismatch }
        guard cms.verifySignature(of: info, with: signer) else { throw .signatureInvalid }

        let signedAt = info.signingTime ?? date
        guard signer.isValid(at: signedAt) else {
            throw .signerNotValid(
                "not valid at \(signedAt) (valid \(signer.notBefore.map { "\($0)" } ?? "?") – "
                    + "\(signer.notAfter.map { "\($0)" } ?? "?"))")
        }
        if signerAnchor != signer {
            let anchors = signerAnchor.map { TrustStore(certificates: [$0]) } ?? trustStore
            if case let .failure(reason) = anchors.certificationPath(for: signer) {
                throw .signerNotTrusted(reason.description)
            }
        }
        return CSCAMasterList(
            version: version, certificates: certificates, signer: signer,
            signingTime: info.signingTime)
    }

    static func parseContent(_ content: [UInt8]) throws(MasterListError) -> (Int, [X509Certificate]) {
        do {
            let outer = try TLV.parse(content)
            guard outer.tag == 0x30 else { throw MasterListError.malformedContent("not a SEQUENCE") }
            var reader = TLVReader(outer.value)
            let version = try reader.read(expecting: 0x02)
            guard let number = DER.smallInteger(version.value) else {
                throw MasterListError.malformedContent("version is not a small INTEGER")
            }
            let set = try reader.read(expecting: 0x31)
            guard reader.isAtEnd else { throw MasterListError.malformedContent("data after certList") }
            var certificates: [X509Certificate] = []
            var certificateReader = TLVReader(set.value)
            while !certificateReader.isAtEnd {
                let element = try certificateReader.read(expecting: 0x30)
                do {
                    certificates.append(try X509Certificate(der: element.encoded))
                } catch {
                    throw MasterListError.malformedContent("certificate \(certificates.count + 1): \(error)")
                }
            }
            return (number, certificates)
        } catch let error as MasterListError {
            throw error
        } catch {
            throw .malformedContent("\(error)")
        }
    }
}

/// The outcome of importing a master list.
public struct MasterListImportReport: Sendable {
    /// A certificate of the list that was not trusted, and why.
    public struct Skipped: Sendable, Equatable {
        public var certificate: X509Certificate
        public var reason: String
    }

    /// CA certificates new to the store (written when a directory was given).
    public var added: [X509Certificate]
    /// Certificates already in the store.
    public var alreadyTrusted: Int
    /// Certificates in the list that are not CA certificates, left out (also listed in `skipped`).
    public var skippedNonCA: Int
    /// Every certificate left out, with the reason: not a CA, another state, a signature that does not verify, a
    /// link certificate without its root, a key below the minimum.
    public var skipped: [Skipped] = []
    /// Paths of the files written.
    public var writtenFiles: [String]
    public var signer: DistinguishedName
}

/// Which issuing states an import adds CSCAs for (ICAO codes as given, e.g. `UTO`, `D`), and the countryNames their
/// CSCAs carry (ICAO 9303-12 §7.1).
public struct TrustImportScope: Sendable, Equatable {
    public var states: [String]
    public var countries: Set<String>

    /// Throws `.refused` naming a state code that maps to no country.
    public init(states: [String], codes: IssuingStateCodes = IssuingStateCodes()) throws(TrustImportError) {
        var countries: Set<String> = []
        var names: [String] = []
        for state in states.map(IssuingStateCodes.normalised) where !state.isEmpty {
            guard let country = codes.anchorCountry(forICAO: state) else {
                throw .refused(
                    "\(state) is not an issuing state with a known country code: give ICAO codes such as "
                        + "UTO, D or FRA")
            }
            countries.insert(country)
            names.append(state)
        }
        guard !names.isEmpty else { throw .refused("name at least one issuing state (e.g. --states UTO,D)") }
        self.states = names
        self.countries = countries
    }

    public var summary: String { states.joined(separator: ", ") }
}

extension TrustStore {
    /// Verifies a CSCA master list (see `CSCAMasterList.verify`) and adds the CSCAs of the states `scope` names whose
    /// certificates verify (ICAO 9303-12 §9): self-signed roots whose own signature verifies, and link certificates
    /// whose signature verifies with a root the store already trusts (or one this list adds); each with a key of at
    /// least `minimumKeySizes`' CSCA sizes. Everything else is skipped with its reason. With `directory` (default: the
    /// store's own directory) each new certificate is written there as `csca-<sha256 prefix>.der`. A refused list
    /// changes nothing.
    /// - Throws: `TrustStoreError.masterList` for a refused list, `.writeFailed` when a file cannot be written
    ///   (certificates written before stay; they were verified).
    @discardableResult
    public mutating func importMasterList(
        data: [UInt8], scope: TrustImportScope, into directory: String? = nil,
        signerAnchor: X509Certificate? = nil, at date: Date = Date(),
        minimumKeySizes: KeySizeMinimums = KeySizeMinimums()
    )
        throws(TrustStoreError) -> MasterListImportReport
    {
        let list: CSCAMasterList
        do {
            list = try CSCAMasterList.verify(der: data, trustStore: self, signerAnchor: signerAnchor, at: date)
        } catch {
            throw .masterList(error)
        }
        var report = MasterListImportReport(
            added: [], alreadyTrusted: 0, skippedNonCA: 0, writtenFiles: [],
            signer: list.signer.subject)
        let target = directory ?? self.directory
        // Roots first, so a link certificate of the same list finds the root it links from.
        let ordered = list.certificates.filter(\.isSelfSigned) + list.certificates.filter { !$0.isSelfSigned }
        for certificate in ordered {
            guard TrustStore.isCA(certificate) else {
                report.skippedNonCA += 1
                report.skipped.append(.init(certificate: certificate, reason: "not a CA certificate"))
                continue
            }
            guard !cscaCertificates.contains(certificate) else {
                report.alreadyTrusted += 1
                continue
            }
            if let problem = admissionProblem(certificate, scope: scope, minimumKeySizes: minimumKeySizes) {
                report.skipped.append(.init(certificate: certificate, reason: problem))
                continue
            }
            if let target {
                let path = (target as NSString).appendingPathComponent("csca-\(certificate.fingerprint.prefix(16)).der")
                do {
                    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                    try Data(certificate.der).write(to: URL(fileURLWithPath: path), options: .atomic)
                } catch {
                    throw .writeFailed(path: path, reason: error.localizedDescription)
                }
                report.writtenFiles.append(path)
            }
            add(certificates: [certificate])
            report.added.append(certificate)
        }
        return report
    }

    /// Why `certificate` may not become a trust anchor for `scope` (nil: it may): its country is not one of the named
    /// states', its key is too small, or its signature does not verify (a self-signed root with its own key, a link
    /// certificate with the key of a root this store trusts).
    public func admissionProblem(
        _ certificate: X509Certificate, scope: TrustImportScope?,
        minimumKeySizes: KeySizeMinimums
    ) -> String? {
        let country = certificate.subject.value(of: "C")?.uppercased()
        if let scope {
            guard let country, scope.countries.contains(country) else {
                return "its country \(country ?? "(none)") is not one of the states named (\(scope.summary))"
            }
        }
        if let problem = SignerVerification.keySizeProblem(
            certificate, role: "CSCA", rsa: minimumKeySizes.cscaRSA,
            ec: minimumKeySizes.cscaEC)
        {
            return problem
        }
        if certificate.isSelfSigned { return nil }
        // A link certificate (ICAO 9303-12 §5.1.1): the new CSCA key signed by the old one, whose name it often
        // keeps, so it is told from a root by its signature, not by its names.
        let roots = cscaCertificates.filter { certificate.isIssued(byName: $0) && $0 != certificate }
        guard !roots.isEmpty else {
            if certificate.subject.matches(certificate.issuer) { return "its self-signature does not verify" }
            return "a link certificate from \(certificate.issuer), a CSCA this trust store does not hold"
        }
        guard
            let root = roots.first(where: { root in
                (try? root.publicKey()).map { certificate.isSigned(by: $0) } ?? false
            })
        else {
            return
                "neither self-signed nor a link certificate that verifies with the trusted CSCA \(certificate.issuer)"
        }
        guard root.subject.value(of: "C")?.uppercased() == country else {
            return "a link certificate from another country's CSCA (\(root.subject))"
        }
        return nil
    }
}
