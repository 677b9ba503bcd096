import EnrollAPIModel
import UnixHTTP
import Foundation
import MRTD
import OpenSSLKit

extension Daemon {
    /// `GET /v1/trust` and `POST /v1/trust/import`.
    func addTrustRoutes(to router: inout Router) {
        router.add(Route("GET", "/v1/trust", .respond { [unowned self] _ in
            .json(TrustCommands.listing(cardReader.authenticity))
        }))
        router.add(Route("POST", "/v1/trust/import", .respond { [unowned self] context throws(Problem) in
            let request = try context.decodeBody(TrustImportRequest.self)
            guard let data = Data(base64Encoded: request.data, options: .ignoreUnknownCharacters), !data.isEmpty,
                  data.count <= TrustStore.maxFileSize else {
                throw Problem(.invalidBody, detail: "data must be base64 of a master list, CSCA certificate or CRL (up to 4 MiB)")
            }
            var response = try TrustCommands.importFile([UInt8](data), checker: cardReader.authenticity)
            reload()
            response.cscaCertificates = cardReader.authenticity.cscaCount
            return .json(response)
        }))
    }
}

/// The trust store operations behind the routes (testable without a daemon).
public enum TrustCommands {
    public static func listing(_ checker: AuthenticityChecker) -> TrustStoreListing {
        let store = checker.currentTrustStore
        return TrustStoreListing(
            directory: checker.directory,
            cscaCertificates: store.cscaCertificates.map {
                TrustedCertificateInfo(subject: "\($0.subject)", issuer: "\($0.issuer)", notBefore: iso($0.notBefore),
                                       notAfter: iso($0.notAfter), fingerprint: $0.fingerprint, selfSigned: $0.isSelfSigned)
            },
            documentSignerCertificates: store.documentSignerCertificates.count,
            crls: store.crls.map {
                TrustedCRLInfo(issuer: "\($0.issuer)", thisUpdate: iso($0.thisUpdate), nextUpdate: iso($0.nextUpdate),
                               revokedCertificates: $0.entries.count)
            },
            skippedFiles: store.report.skippedFiles.map { "\($0.file): \($0.reason)" })
    }

    /// Imports into the checker's trust directory: a CSCA master list whose signer chains to a trusted CSCA,
    /// a single CSCA certificate (an operator's explicit decision), or a CRL signed by a trusted CSCA.
    /// The caller reloads afterwards. Throws 422 problems naming why the file was refused.
    public static func importFile(_ bytes: [UInt8], checker: AuthenticityChecker) throws(Problem) -> TrustImportResponse {
        var store = checker.currentTrustStore
        let directory = checker.directory
        let text = String(decoding: bytes.prefix(100_000), as: UTF8.self)
        let isPEM = text.contains("-----BEGIN ")
        if isPEM ? text.contains("BEGIN X509 CRL") : (try? CertificateRevocationList(der: bytes)) != nil {
            let crl: CertificateRevocationList
            do {
                crl = isPEM ? try CertificateRevocationList(pem: String(decoding: bytes, as: UTF8.self))
                    : try CertificateRevocationList(der: bytes)
            } catch {
                throw refused("the CRL does not parse: \(error)")
            }
            let keys = store.cscaCertificates.compactMap { try? $0.publicKey() }
            guard keys.contains(where: { crl.isSigned(by: $0) }) else {
                throw refused("the CRL is not signed by a trusted CSCA (issuer \(crl.issuer))")
            }
            let name = "crl-\(hexPrefix(crl.der)).crl"
            let path = try write(crl.der, name: name, directory: directory)
            return TrustImportResponse(kind: "crl", added: 1, alreadyTrusted: 0, writtenFiles: [path], cscaCertificates: 0)
        }
        let certificates: [X509Certificate]? = isPEM
            ? (text.contains("BEGIN CERTIFICATE") ? try? X509Certificate.certificates(pem: String(decoding: bytes, as: UTF8.self)) : nil)
            : (try? X509Certificate(der: bytes)).map { [$0] }
        if let certificates, certificates.count == 1, let certificate = certificates.first {
            guard certificate.isCertificateAuthority || certificate.keyUsage?.contains(.keyCertSign) == true else {
                throw refused("the certificate is not a CA certificate: only CSCA certificates are trust anchors")
            }
            if store.cscaCertificates.contains(certificate) {
                return TrustImportResponse(kind: "csca-certificate", added: 0, alreadyTrusted: 1, writtenFiles: [],
                                           cscaCertificates: 0)
            }
            let path = try write(certificate.der, name: "csca-\(certificate.fingerprint.prefix(16)).der",
                                 directory: directory)
            return TrustImportResponse(kind: "csca-certificate", added: 1, alreadyTrusted: 0, writtenFiles: [path],
                                       cscaCertificates: 0)
        }
        if certificates != nil {
            throw refused("give one CSCA certificate per import (or a master list)")
        }
        var der = bytes
        if isPEM, let decoded = pemBody(text) { der = decoded }
        do {
            let report = try store.importMasterList(data: der, into: directory)
            return TrustImportResponse(kind: "master-list", added: report.added.count,
                                       alreadyTrusted: report.alreadyTrusted, writtenFiles: report.writtenFiles,
                                       cscaCertificates: 0)
        } catch {
            throw refused("\(error)")
        }
    }

    private static func iso(_ date: Date?) -> String? {
        date.map { ISO8601DateFormatter().string(from: $0) }
    }

    private static func refused(_ detail: String) -> Problem {
        Problem(.trustImportRefused, detail: detail)
    }

    private static func hexPrefix(_ bytes: [UInt8]) -> String {
        ((try? Digest.hash(bytes, using: .sha256)) ?? []).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The base64 body of the first PEM block.
    private static func pemBody(_ text: String) -> [UInt8]? {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN ") }),
              let end = lines[(start + 1)...].firstIndex(where: { $0.hasPrefix("-----END ") }) else { return nil }
        return Data(base64Encoded: lines[(start + 1)..<end].joined()).map { [UInt8]($0) }
    }

    private static func write(_ bytes: [UInt8], name: String, directory: String) throws(Problem) -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw Problem(.trustStoreWriteFailed, detail: "cannot write \(path): \(error.localizedDescription)")
        }
        return path
    }
}
