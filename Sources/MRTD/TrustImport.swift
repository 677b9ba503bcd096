import Foundation
import OpenSSLKit

/// What an import into the trust store was and did.
public struct TrustImportReport: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case masterList = "master-list"
        case cscaCertificate = "csca-certificate"
        case crl
    }

    /// A certificate the import added or skipped: its subject, SHA-256 fingerprint and (skipped) why.
    public struct Entry: Sendable, Equatable {
        public var subject: String
        public var fingerprint: String
        public var reason: String?
    }

    public var kind: Kind
    /// Certificates (or CRLs) newly trusted.
    public var added: Int
    public var alreadyTrusted: Int
    public var writtenFiles: [String]
    /// The certificates added, and those left out with the reason (master lists).
    public var addedCertificates: [Entry] = []
    public var skipped: [Entry] = []
    /// The issuing states the import was limited to (ICAO codes); empty when it was not.
    public var states: [String] = []
}

/// Why an import was refused; nothing was trusted or written (a master list may have written some verified CSCAs
/// before a write failed).
public enum TrustImportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is not acceptable as a trust anchor, with the reason.
    case refused(String)
    /// A file could not be written into the trust directory.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .refused(reason): return reason
        case let .writeFailed(path, reason): return "cannot write \(path): \(reason)"
        }
    }
}

extension TrustStore {
    /// Imports into `directory` (ICAO 9303-12 §5, §9): a CSCA master list whose signer chains to a trusted CSCA, of
    /// which only the CSCAs of the states `scope` names are added (a master list needs a scope), a single CSCA
    /// certificate (an operator's explicit decision; within `scope` when one is given), or a CRL signed by a trusted
    /// CSCA, PEM or DER. Certificates are admitted as `admissionProblem` says: a self-signed root whose signature
    /// verifies, or a link certificate that verifies with a trusted root; a CSCA key of at least `minimumKeySizes`.
    /// The caller reloads the store afterwards.
    public func importFile(
        _ bytes: [UInt8], into directory: String, scope: TrustImportScope? = nil,
        minimumKeySizes: KeySizeMinimums = KeySizeMinimums()
    ) throws(TrustImportError)
        -> TrustImportReport
    {
        let text = String(decoding: bytes.prefix(100_000), as: UTF8.self)
        let isPEM = text.contains("-----BEGIN ")
        if isPEM ? text.contains("BEGIN X509 CRL") : (try? CertificateRevocationList(der: bytes)) != nil {
            return try importCRL(bytes, isPEM: isPEM, into: directory)
        }
        let certificates: [X509Certificate]? =
            isPEM
            ? (text.contains("BEGIN CERTIFICATE")
                ? try? X509Certificate.certificates(pem: String(decoding: bytes, as: UTF8.self)) : nil)
            : (try? X509Certificate(der: bytes)).map { [$0] }
        let states = scope?.states ?? []
        if let certificates, certificates.count == 1, let certificate = certificates.first {
            guard certificate.isCertificateAuthority || certificate.keyUsage?.contains(.keyCertSign) == true else {
                throw .refused("the certificate is not a CA certificate: only CSCA certificates are trust anchors")
            }
            let entry = TrustImportReport.Entry(subject: "\(certificate.subject)", fingerprint: certificate.fingerprint)
            if cscaCertificates.contains(certificate) {
                return TrustImportReport(
                    kind: .cscaCertificate, added: 0, alreadyTrusted: 1, writtenFiles: [],
                    states: states)
            }
            if let problem = admissionProblem(certificate, scope: scope, minimumKeySizes: minimumKeySizes) {
                throw .refused("the CSCA certificate \(certificate.subject) is not trusted: \(problem)")
            }
            let path = try Self.write(
                certificate.der, name: "csca-\(certificate.fingerprint.prefix(16)).der",
                directory: directory)
            return TrustImportReport(
                kind: .cscaCertificate, added: 1, alreadyTrusted: 0, writtenFiles: [path],
                addedCertificates: [entry], states: states)
        }
        if certificates != nil {
            throw .refused("give one CSCA certificate per import (or a master list)")
        }
        guard let scope else {
            throw .refused(
                "a master list is imported only for named issuing states: give them (enrollctl trust "
                    + "import FILE --states UTO,D; API: states)")
        }
        var der = bytes
        if isPEM, let decoded = Self.pemBody(text) { der = decoded }
        var store = self
        do {
            let report = try store.importMasterList(
                data: der, scope: scope, into: directory,
                minimumKeySizes: minimumKeySizes)
            func entry(_ certificate: X509Certificate, _ reason: String? = nil) -> TrustImportReport.Entry {
                .init(subject: "\(certificate.subject)", fingerprint: certificate.fingerprint, reason: reason)
            }
            return TrustImportReport(
                kind: .masterList, added: report.added.count, alreadyTrusted: report.alreadyTrusted,
                writtenFiles: report.writtenFiles, addedCertificates: report.added.map { entry($0) },
                skipped: report.skipped.map { entry($0.certificate, $0.reason) },
                states: scope.states)
        } catch let .writeFailed(path, reason) {
            throw .writeFailed(path: path, reason: reason)
        } catch {
            throw .refused("\(error)")
        }
    }

    private func importCRL(
        _ bytes: [UInt8], isPEM: Bool, into directory: String
    ) throws(TrustImportError)
        -> TrustImportReport
    {
        let crl: CertificateRevocationList
        do {
            crl =
                isPEM
                ? try CertificateRevocationList(pem: String(decoding: bytes, as: UTF8.self))
                : try CertificateRevocationList(der: bytes)
        } catch {
            throw .refused("the CRL does not parse: \(error)")
        }
        let keys = cscaCertificates.compactMap { try? $0.publicKey() }
        guard keys.contains(where: { crl.isSigned(by: $0) }) else {
            throw .refused("the CRL is not signed by a trusted CSCA (issuer \(crl.issuer))")
        }
        let digest = ((try? Digest.hash(crl.der, using: .sha256)) ?? []).prefix(8)
        let name = "crl-\(digest.map { String(format: "%02x", $0) }.joined()).crl"
        let path = try Self.write(crl.der, name: name, directory: directory)
        return TrustImportReport(kind: .crl, added: 1, alreadyTrusted: 0, writtenFiles: [path])
    }

    /// The base64 body of the first PEM block.
    private static func pemBody(_ text: String) -> [UInt8]? {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN ") }),
            let end = lines[(start + 1)...].firstIndex(where: { $0.hasPrefix("-----END ") })
        else { return nil }
        return Data(base64Encoded: lines[(start + 1)..<end].joined()).map { [UInt8]($0) }
    }

    private static func write(_ bytes: [UInt8], name: String, directory: String) throws(TrustImportError) -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .writeFailed(path: path, reason: error.localizedDescription)
        }
        return path
    }
}
