import CertificateAuthority
import EnrollAPIModel
import Enrollment
import Foundation
import OpenSSLKit
import Store
import TrustList
import UnixHTTP

extension Daemon {
    /// Mutual recognition: `POST /v1/trust-list/export` (our signed list), `GET /v1/trust-lists`,
    /// `POST /v1/trust-lists/import` (other jurisdictions' lists) and `POST /v1/certificates/validate` (their
    /// signing certificates, against those lists).
    func addTrustListRoutes(to router: inout Router) {
        router.add(
            Route(
                "POST", "/v1/trust-list/export",
                .respond { [unowned self] _ throws(Problem) in
                    let xml = try exportTrustList()
                    return HTTPResponse(
                        status: 200,
                        headers: [
                            ("Content-Type", "application/xml"),
                            ("Cache-Control", "no-store"),
                        ], body: xml)
                }))
        router.add(
            Route(
                "GET", "/v1/trust-lists",
                .respond { [unowned self] _ in
                    .json(
                        TrustListListing(
                            directory: trustLists.directory, lists: trustLists.lists.map(TrustListSummary.init),
                            skippedFiles: trustLists.skippedFiles))
                }))
        router.add(
            Route(
                "POST", "/v1/trust-lists/import",
                .respond { [unowned self] context throws(Problem) in
                    let request = try context.decodeBody(TrustListImportRequest.self)
                    guard let data = Data(base64Encoded: request.data, options: .ignoreUnknownCharacters), !data.isEmpty
                    else {
                        throw Problem(.invalidBody, detail: "data must be base64 of the trust list's signed XML")
                    }
                    do throws(TrustListError) {
                        let imported = try trustLists.importList([UInt8](data), territory: request.territory)
                        Log.notice(
                            "trust list of \(imported.list.territory) imported (sequence \(imported.list.sequenceNumber), "
                                + "\(imported.list.services.count) service(s))")
                        return .json(TrustListSummary(imported))
                    } catch {
                        throw Problem(error)
                    }
                }))
        router.add(
            Route(
                "POST", "/v1/certificates/validate",
                .respond { [unowned self] context throws(Problem) in
                    let request = try context.decodeBody(CertificateValidationRequest.self)
                    let certificate = try parseCertificate(request.certificate, field: "certificate")
                    let intermediates = try (request.intermediates ?? []).prefix(8).map { text throws(Problem) in
                        try parseCertificate(text, field: "intermediates")
                    }
                    let at = try parseTime(request.at, field: "at") ?? environment.now()
                    var fetcher = HTTPStatusFetcher(timeout: 5)
                    if !configuration.statusFetchHosts.isEmpty {
                        fetcher.allowedHosts = Set(configuration.statusFetchHosts)
                    }
                    let validator = ForeignCertificateValidator(lists: trustLists.lists, fetcher: fetcher)
                    do throws(ForeignValidationError) {
                        let validation = try validator.validate(certificate, intermediates: intermediates, at: at)
                        return .json(
                            CertificateValidationResponse(
                                valid: true, territory: validation.territory, schemeOperator: validation.schemeOperator,
                                provider: validation.provider, service: validation.service,
                                path: validation.path.map { "\($0.subject)" },
                                matchedPolicies: validation.matchedPolicies,
                                statusSource: validation.statusSource.description,
                                checkedAt: isoTime(validation.checkedAt)))
                    } catch {
                        throw Problem(error)
                    }
                }))
    }

    /// Signs a trust list of our CA now, with the next value of the store's `trust-list-sequence` counter.
    func exportTrustList() throws(Problem) -> [UInt8] {
        guard let authority, let accounts else {
            throw Problem(.enrollmentUnavailable, detail: enrollmentUnavailableReason)
        }
        guard let territory = configuration.trustListTerritory else {
            throw Problem(
                .trustListNotConfigured,
                detail: "set [trust_list] territory (ISO 3166-1 alpha-2, e.g. HK) "
                    + "in enrolld.conf before exporting")
        }
        let sequence: Int
        do {
            sequence = try accounts.store.transaction { tx in try tx.nextValue(counter: "trust-list-sequence") }
        } catch {
            throw Problem(EnrollmentError.store(error))
        }
        let at = environment.now()
        let list = configuration.trustServiceList(of: authority, territory: territory, sequence: sequence, at: at)
        let validity = TimeInterval(configuration.trustListValidityDays) * 86_400
        do throws(TrustListError) {
            let signer: DelegatedSigner
            do {
                signer = try authority.issueDelegatedSigner(
                    for: .trustListSigning, validity: validity + 86_400,
                    now: at)
            } catch {
                throw TrustListError.signingFailed("\(error)")
            }
            let xml = try TrustListExport.signedXML(list, signer: signer, signingTime: at)
            Log.notice("trust list exported: \(territory), sequence \(sequence)")
            return xml
        } catch {
            throw Problem(error)
        }
    }

    func parseCertificate(_ text: String, field: String) throws(Problem) -> X509Certificate {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count <= 64 * 1024 else {
            throw Problem(.invalidCertificate, detail: "\(field) is longer than 64 KiB")
        }
        if trimmed.hasPrefix("-----BEGIN"), let certificate = try? X509Certificate(pem: trimmed) {
            return certificate
        }
        if let data = Data(base64Encoded: trimmed, options: .ignoreUnknownCharacters),
            let certificate = try? X509Certificate(der: [UInt8](data))
        {
            return certificate
        }
        throw Problem(.invalidCertificate, detail: "\(field) is not an X.509 certificate (PEM or base64 DER)")
    }
}

extension Configuration {
    /// The trust list of our signing CA (ETSI TS 119 612): one provider (the scheme operator) with one service,
    /// the CA — its certificate, the profile's policies, granted since the certificate's notBefore, and the OCSP
    /// and CRL locations the issued certificates name.
    func trustServiceList(
        of authority: IssuingAuthority, territory: String, sequence: Int,
        at: Date
    ) -> TrustServiceList {
        let caName = authority.certificate.subject.value(of: "CN") ?? "enrolld CA"
        let operatorName = trustListOperator ?? authority.certificate.subject.value(of: "O") ?? caName
        let parts = (trustListPostalAddress ?? "").split(separator: ";", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        func part(_ index: Int) -> String { index < parts.count ? parts[index] : "" }
        let address = PostalAddress(
            street: part(0), locality: part(1), postalCode: part(2).isEmpty ? nil : part(2),
            countryName: part(3).isEmpty ? territory : part(3))
        let information = trustListInformationURI ?? trustListDistributionPoint ?? ""
        let electronic = trustListElectronicAddress ?? information
        var locations: [StatusLocation] = []
        if let ocspURL { locations.append(.ocsp(ocspURL)) }
        if let crlDistributionPoint { locations.append(.crl(crlDistributionPoint)) }
        let service = TrustService(
            name: caName, certificates: [authority.certificate], status: .granted,
            statusStartingTime: authority.certificate.notBefore ?? at,
            policyOIDs: authority.profile.policyOIDs, statusLocations: locations)
        let provider = TrustServiceProvider(
            name: operatorName, informationURI: information, address: address,
            electronicAddress: electronic, services: [service])
        let validity = TimeInterval(trustListValidityDays) * 86_400
        return TrustServiceList(
            sequenceNumber: sequence, territory: territory, schemeOperatorName: operatorName,
            schemeOperatorAddress: address, schemeOperatorElectronicAddress: electronic,
            schemeName: "Signing certificates for natural persons issued by \(operatorName)",
            schemeInformationURI: information,
            legalNotice: "Signing certificates of \(caName), issued to natural persons after their identity card's "
                + "chip was verified and their face matched its portrait.",
            issueDate: at, nextUpdate: at + validity,
            distributionPoints: trustListDistributionPoint.map { [$0] } ?? [], providers: [provider])
    }
}

extension TrustListSummary {
    init(_ imported: ImportedTrustList) {
        let list = imported.list
        self.init(
            territory: list.territory, schemeOperator: list.schemeOperatorName,
            sequenceNumber: list.sequenceNumber, issueDate: isoTime(list.issueDate),
            nextUpdate: isoTime(list.nextUpdate), signer: "\(imported.signer.subject)",
            services: list.services.map { provider, service in
                TrustListServiceInfo(
                    provider: provider.name, name: service.name,
                    status: service.status.description,
                    statusStartingTime: isoTime(service.statusStartingTime),
                    certificates: service.certificates.map(\.fingerprint),
                    policies: service.policyOIDs, historyEntries: service.history.count)
            })
    }
}

extension Problem {
    /// A trust list refusal keeps its stable code.
    init(_ error: TrustListError) {
        self.init(ProblemCode.named(error.code) ?? .trustListInvalid, detail: error.description)
    }

    /// A foreign certificate that does not validate: its stable code, with the reason.
    init(_ error: ForeignValidationError) {
        self.init(ProblemCode.named(error.code) ?? .foreignNoTrustedService, detail: error.description)
    }
}

func isoTime(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
