import CertificateAuthority
import Foundation
import OpenSSLKit
import TrustList
import XCTest

/// One jurisdiction's signing CA and what it publishes: a CA directory, its trust list signer, its records, an
/// OCSP responder and a cached CRL — the library half of a second enrolld.
final class Jurisdiction {
    let territory: String
    let directory: URL
    let authority: IssuingAuthority
    let records = InMemoryCertificateRecords()
    let trustListSigner: DelegatedSigner
    private(set) var responder: OCSPResponder!
    private(set) var crl: RevocationListCache!

    /// - Parameter statusBase: the URL prefix (`http://127.0.0.1:PORT`) the certificates point relying parties at.
    init(
        territory: String, name: String, statusBase: String?, policy: String = "1.3.6.1.4.1.99999.22.1",
        ocsp: Bool = true, testCase: XCTestCase
    ) throws {
        self.territory = territory
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("enrolld-tl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        _ = try CAStore.initialise(
            directory: directory.appendingPathComponent("ca"),
            subject: DistinguishedName(
                country: territory, organization: name,
                commonName: "\(name) Signing CA"))
        let profile = SigningCertificateProfile(
            policyOIDs: [policy],
            crlDistributionPointURL: statusBase.map { $0 + "/crl" },
            ocspURL: ocsp ? statusBase.map { $0 + "/ocsp" } : nil)
        authority = try CAStore.load(directory: directory.appendingPathComponent("ca"), profile: profile)
        trustListSigner = try authority.issueDelegatedSigner(for: .trustListSigning, validity: 30 * 86_400)
        responder = try OCSPResponder(authority: authority, source: records)
        crl = try RevocationListCache(signer: authority, source: records)
    }

    /// A signing certificate for a fresh key, recorded as issued.
    func issue(pseudonym: String = "PSN-\(UUID().uuidString.prefix(8))") throws -> IssuedCertificate {
        let key = try PrivateKey.generate(.p256)
        let csr = try CertificateSigningRequest.create(
            subject: DistinguishedName(country: territory, commonName: "x"),
            key: key)
        let accepted = try authority.checkRequest(Array(csr.pem.utf8))
        let intent = try authority.prepareIssuance(notAfterLimit: Date() + 86_400 * 365)
        let issued = try authority.issue(
            intent: intent, csr: accepted,
            holder: CertificateHolder(
                name: "LEE SIU MING", pseudonym: pseudonym,
                issuingState: territory))
        records.set(.issued, serialHex: issued.serialHex)
        try responder.certificateStatusChanged(serialHex: issued.serialHex)
        return issued
    }

    /// Revokes as the daemon will: the records first, then the OCSP and CRL hooks.
    func revoke(_ issued: IssuedCertificate, reason: CRLReason = .keyCompromise) throws {
        records.set(.revoked(at: Date() - 1, reason: reason), serialHex: issued.serialHex)
        try responder.certificateStatusChanged(serialHex: issued.serialHex)
        try crl.revocationCommitted()
    }

    func list(
        sequence: Int = 1, status: TrustServiceStatus = .granted, history: [TrustServiceHistoryInstance] = [],
        issued: Date = Date(), nextUpdate: Date = Date() + 86_400 * 30
    ) -> TrustServiceList {
        let address = PostalAddress(
            street: "1 Trust Road", locality: "Capital", postalCode: "000",
            countryName: territory)
        let service = TrustService(
            name: "\(territory) signing certificates for natural persons",
            certificates: [authority.certificate], status: status,
            statusStartingTime: authority.certificate.notBefore ?? issued,
            policyOIDs: authority.profile.policyOIDs, history: history)
        let provider = TrustServiceProvider(
            name: "\(territory) Identity Office", informationURI: "https://id.example/",
            address: address, electronicAddress: "mailto:pki@id.example",
            services: [service])
        return TrustServiceList(
            sequenceNumber: sequence, territory: territory,
            schemeOperatorName: "\(territory) Digital Policy Office",
            schemeOperatorAddress: address, schemeOperatorElectronicAddress: "mailto:tl@id.example",
            schemeName: "Recognised e-signature certificates & their CAs",
            schemeInformationURI: "https://id.example/scheme", legalNotice: "Test list <only>.",
            issueDate: issued, nextUpdate: nextUpdate,
            distributionPoints: ["https://id.example/tl.xml"], providers: [provider])
    }

    func signedList(
        sequence: Int = 1, status: TrustServiceStatus = .granted,
        history: [TrustServiceHistoryInstance] = []
    ) throws -> [UInt8] {
        try TrustListExport.signedXML(
            list(sequence: sequence, status: status, history: history),
            signer: trustListSigner)
    }
}

/// Runs a command line tool in `directory`.
func runTool(_ path: String, _ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let outputURL = directory.appendingPathComponent("tool-\(UUID().uuidString).out")
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: outputURL) }
    let handle = try FileHandle(forWritingTo: outputURL)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
    try handle.close()
    return (process.terminationStatus, (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "")
}
