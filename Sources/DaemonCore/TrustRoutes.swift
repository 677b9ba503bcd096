import EnrollAPIModel
import UnixHTTP
import Foundation
import MRTD
import OpenSSLKit

extension Daemon {
    /// `GET /v1/trust` and `POST /v1/trust/import`.
    func addTrustRoutes(to router: inout Router) {
        router.add(
            Route(
                "GET", "/v1/trust",
                .respond { [unowned self] _ in
                    .json(TrustStoreListing(cardReader.trust))
                }))
        router.add(
            Route(
                "POST", "/v1/trust/import",
                .respond { [unowned self] context throws(Problem) in
                    let request = try context.decodeBody(TrustImportRequest.self)
                    guard let data = Data(base64Encoded: request.data, options: .ignoreUnknownCharacters),
                        !data.isEmpty,
                        data.count <= TrustStore.maxFileSize
                    else {
                        throw Problem(
                            .invalidBody,
                            detail: "data must be base64 of a master list, CSCA certificate or CRL "
                                + "(up to 4 MiB)")
                    }
                    let report: TrustImportReport
                    do throws(TrustImportError) {
                        report = try cardReader.trust.importFile([UInt8](data), states: request.states)
                    } catch let .refused(reason) {
                        throw Problem(.trustImportRefused, detail: reason)
                    } catch {
                        throw Problem(.trustStoreWriteFailed, detail: error.description)
                    }
                    let count = cardReader.trust.cscaCount
                    let scope = report.states.isEmpty ? "" : " for \(report.states.joined(separator: ", "))"
                    Log.notice(
                        "trust store import (\(report.kind.rawValue))\(scope): \(report.added) added, "
                            + "\(report.skipped.count) skipped; \(count) CSCA certificate(s) trusted")
                    for skipped in report.skipped {
                        Log.info("trust store import skipped \(skipped.subject): \(skipped.reason ?? "")")
                    }
                    events.publish(.trustStoreReloaded(cscaCertificates: count))
                    func entry(_ entry: TrustImportReport.Entry) -> TrustImportEntry {
                        TrustImportEntry(subject: entry.subject, fingerprint: entry.fingerprint, reason: entry.reason)
                    }
                    return .json(
                        TrustImportResponse(
                            kind: report.kind.rawValue, added: report.added,
                            alreadyTrusted: report.alreadyTrusted, writtenFiles: report.writtenFiles,
                            cscaCertificates: cardReader.trust.cscaCount,
                            addedCertificates: report.addedCertificates.map(entry),
                            skipped: report.skipped.map(entry), states: report.states))
                }))
    }
}

extension TrustStoreListing {
    /// What `GET /v1/trust` shows of the trust store.
    init(_ trust: TrustAnchors) {
        let store = trust.current
        func iso(_ date: Date?) -> String? { date.map { ISO8601DateFormatter().string(from: $0) } }
        self.init(
            directory: trust.directory,
            cscaCertificates: store.cscaCertificates.map {
                TrustedCertificateInfo(
                    subject: "\($0.subject)", issuer: "\($0.issuer)", notBefore: iso($0.notBefore),
                    notAfter: iso($0.notAfter), fingerprint: $0.fingerprint, selfSigned: $0.isSelfSigned)
            },
            documentSignerCertificates: store.documentSignerCertificates.count,
            crls: store.crls.map {
                TrustedCRLInfo(
                    issuer: "\($0.issuer)", thisUpdate: iso($0.thisUpdate), nextUpdate: iso($0.nextUpdate),
                    revokedCertificates: $0.entries.count)
            },
            skippedFiles: store.report.skippedFiles.map { "\($0.file): \($0.reason)" })
    }
}
