import CertificateAuthority
@testable import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import TrustList
import UnixHTTP
import XCTest

/// Another jurisdiction: a second enrolld (territory MO by default) served over HTTP on loopback, whose
/// certificates name its OCSP responder, CRL and CA certificate there, as a jurisdiction publishes them.
final class OtherJurisdiction: Sendable {
    let daemon: InProcessDaemon

    /// `serve: false` leaves its status URLs unanswered (the listening socket is closed: connection refused).
    init(territory: String = "MO", serve: Bool = true) throws {
        let listener = try LoopbackListener.open()
        daemon = try InProcessDaemon(loopback: listener, territory: territory)
        if serve {
            try daemon.serveLoopback()
        } else {
            close(listener.descriptor)
        }
    }

    /// Its signed trust list, as `POST /v1/trust-list/export` answers it (the sequence advances every call).
    func exportedList() throws -> [UInt8] {
        try daemon.require(daemon.call("POST", "/v1/trust-list/export", as: .admin), 200).body
    }

    /// A signing certificate it issued to `person`, with its serial.
    func issue(_ person: String = "John_Salley") throws -> (pem: String, serial: String) {
        daemon.catchUpClock()
        let (_, outcome) = try daemon.newAccount(person)
        return (try XCTUnwrap(outcome.certificatePEM), try XCTUnwrap(outcome.certificateSerial))
    }

    func revoke(_ serial: String) throws {
        try daemon.require(
            try daemon.call(
                "POST", "/v1/certificates/\(serial)/revoke",
                json: ["reason": "key-compromise"], as: .operator), 200)
    }
}

extension InProcessDaemon {
    /// Pins `other`'s CA (it certifies the trust list signer) and imports `xml`.
    @discardableResult
    func importList(
        _ xml: [UInt8], of other: OtherJurisdiction? = nil, territory: String? = nil
    ) throws
        -> HTTPResponse
    {
        if let other { try pinTrustListSigner(try other.daemon.caCertificate()) }
        catchUpClock()
        return try call(
            "POST", "/v1/trust-lists/import",
            json: TrustListImportRequest(data: Data(xml).base64EncodedString(), territory: territory),
            as: .admin)
    }

    /// The test clock stands where the daemon was made, and its CA (made after) may be younger than that: brought to
    /// the real time before anything that compares the two jurisdictions' times.
    func catchUpClock() {
        if clock.now < Date() { clock.advance(Date().timeIntervalSince(clock.now)) }
    }

    func validate(_ pem: String) throws -> HTTPResponse {
        catchUpClock()
        return try call(
            "POST", "/v1/certificates/validate",
            json: CertificateValidationRequest(certificate: pem, intermediates: nil, at: nil))
    }
}

/// Mutual recognition (ETSI TS 119 612): our exported list verifies with xmlsec1; a certificate a second enrolld
/// issued validates through its imported list, with its status from that enrolld's OCSP responder; revoked there,
/// it no longer does.
final class MutualRecognitionTests: XCTestCase {
    func testACertificateOfASecondEnrolldValidatesThroughItsImportedListAndARevokedOneDoesNot() throws {
        let macao = try OtherJurisdiction()
        let local = try InProcessDaemon()
        let xml = try macao.exportedList()

        // A standard tool verifies the list: xmlsec1 with the other CA as the trusted root.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tsl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let listFile = directory.appendingPathComponent("MO.xml")
        let caFile = directory.appendingPathComponent("ca.pem")
        try Data(xml).write(to: listFile)
        try macao.daemon.caCertificate().pem.write(to: caFile, atomically: true, encoding: .utf8)
        // (`run` throws unless xmlsec1 exits 0, which it does only for a signature that verifies.)
        XCTAssertNoThrow(
            try InProcessDaemon.run(
                "/usr/bin/xmlsec1",
                [
                    "--verify", "--trusted-pem", caFile.path,
                    listFile.path,
                ]))

        let issued = try macao.issue()
        XCTAssertEqual(
            local.problem(try local.validate(issued.pem)), "foreign-no-trusted-service",
            "nothing is recognised before the list is imported")
        let imported = try local.decode(TrustListSummary.self, try local.require(local.importList(xml, of: macao), 200))
        XCTAssertEqual(imported.territory, "MO")
        let listing = try local.decode(
            TrustListListing.self,
            try local.require(local.call("GET", "/v1/trust-lists", as: .operator), 200))
        XCTAssertEqual(listing.lists.map(\.territory), ["MO"])

        let valid = try local.decode(
            CertificateValidationResponse.self,
            try local.require(try local.validate(issued.pem), 200))
        XCTAssertTrue(valid.valid)
        XCTAssertEqual(valid.territory, "MO")
        XCTAssertTrue(valid.statusSource.hasPrefix("OCSP http://127.0.0.1:"), valid.statusSource)
        XCTAssertEqual(valid.matchedPolicies, ["1.3.6.1.4.1.99999.22.1"])

        try macao.revoke(issued.serial)
        let revoked = try local.validate(issued.pem)
        XCTAssertEqual(revoked.status, 422)
        XCTAssertEqual(local.problem(revoked), "foreign-certificate-revoked")

        // Our own certificate is not the other jurisdiction's: the list does not make it valid.
        let (_, ours) = try local.newAccount("John_Simm")
        XCTAssertEqual(
            local.problem(try local.validate(try XCTUnwrap(ours.certificatePEM))),
            "foreign-no-trusted-service")
    }

    /// The imported list is kept on disk and trusted again after a restart.
    func testAnImportedListIsTrustedAgainAfterARestart() throws {
        let macao = try OtherJurisdiction()
        let local = try InProcessDaemon()
        try local.require(local.importList(try macao.exportedList(), of: macao), 200)
        let lists = ImportedTrustLists(
            directory: local.configuration.resolvedTrustListDirectory,
            signerFiles: local.configuration.trustListSigners, now: { Date() })
        XCTAssertEqual(lists.load(), 1)
        XCTAssertEqual(lists.lists.first?.list.territory, "MO")
    }
}

/// What trust list export, import and validation refuse.
final class TrustListRefusalTests: XCTestCase {
    static let export = "POST /v1/trust-list/export"
    static let importRoute = "POST /v1/trust-lists/import"
    static let validate = "POST /v1/certificates/validate"

    static let refusals: [Refusal] = [
        Refusal(export, .trustListNotConfigured, "no [trust_list] territory") { _ in
            try InProcessDaemon(territory: nil).call("POST", "/v1/trust-list/export", as: .admin)
        },
        Refusal(export, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            b.daemon.call("POST", "/v1/trust-list/export", as: .admin)
        },
        Refusal(importRoute, .invalidBody, "data that is not base64") { b in
            try b.post("/v1/trust-lists/import", TrustListImportRequest(data: "%%%", territory: nil), as: .admin)
        },
        Refusal(importRoute, .trustListMalformed, "bytes that are no XML") { b in
            try b.daemon.pinTrustListSigner(try b.daemon.caCertificate())
            return try b.daemon.importList(Array("not a trust list".utf8))
        },
        Refusal(importRoute, .trustListUntrustedSigner, "a list whose signer is not pinned") { b in
            try b.daemon.importList(try OtherJurisdiction(serve: false).exportedList())
        },
        Refusal(importRoute, .trustListSignatureInvalid, "a list altered after signing") { b in
            let macao = try OtherJurisdiction(serve: false)
            var text = String(decoding: try macao.exportedList(), as: UTF8.self)
            text = text.replacingOccurrences(of: "MO Test Scheme Operator", with: "XX Test Scheme Operator")
            return try b.daemon.importList(Array(text.utf8), of: macao)
        },
        Refusal(importRoute, .trustListWrongTerritory, "a list of MO imported as HK") { b in
            let macao = try OtherJurisdiction(serve: false)
            return try b.daemon.importList(try macao.exportedList(), of: macao, territory: "HK")
        },
        Refusal(importRoute, .trustListSequenceWentBack, "an older list after a newer one") { b in
            let macao = try OtherJurisdiction(territory: "SG", serve: false)
            let older = try macao.exportedList()
            try b.daemon.require(b.daemon.importList(try macao.exportedList(), of: macao), 200)
            return try b.daemon.importList(older)
        },
        Refusal(importRoute, .trustListExpired, "a list past its NextUpdate (30 days)") { _ in
            let macao = try OtherJurisdiction(serve: false)
            let later = try InProcessDaemon()
            later.clock.advance(86_400 * 30.5)
            return try later.importList(try macao.exportedList(), of: macao)
        },
        Refusal(validate, .invalidCertificate, "text that is no certificate") { b in
            try b.daemon.validate("not a certificate")
        },
        Refusal(validate, .invalidTime, "an `at` that is no ISO 8601 time") { b in
            try b.post(
                "/v1/certificates/validate",
                CertificateValidationRequest(
                    certificate: try b.daemon.caCertificate().pem, intermediates: nil,
                    at: "yesterday"))
        },
        Refusal(validate, .foreignNoTrustedService, "a certificate of no imported list") { b in
            let (_, ours) = try b.daemon.newAccount("John_Simm")
            return try b.daemon.validate(try XCTUnwrap(ours.certificatePEM))
        },
        Refusal(validate, .foreignServiceCertificate, "the other jurisdiction's CA certificate itself") { b in
            let macao = try OtherJurisdiction(territory: "HK", serve: false)
            try b.daemon.require(b.daemon.importList(try macao.exportedList(), of: macao), 200)
            return try b.daemon.validate(try macao.daemon.caCertificate().pem)
        },
        Refusal(validate, .foreignCertificateRevoked, "a certificate its issuer revoked") { b in
            let macao = try OtherJurisdiction(territory: "TW")
            try b.daemon.require(b.daemon.importList(try macao.exportedList(), of: macao), 200)
            let issued = try macao.issue()
            try macao.revoke(issued.serial)
            return try b.daemon.validate(issued.pem)
        },
        Refusal(validate, .foreignStatusUnavailable, "an issuer whose OCSP responder and CRL do not answer") { b in
            let macao = try OtherJurisdiction(territory: "JP", serve: false)
            try b.daemon.require(b.daemon.importList(try macao.exportedList(), of: macao), 200)
            return try b.daemon.validate(try macao.issue().pem)
        },
        Refusal(validate, .foreignCertificateUnknown, "a certificate its issuer's responder has no record of") { b in
            // Signed by the KR CA on a daemon of another database: the responder KR publishes knows nothing of it.
            let korea = try OtherJurisdiction(territory: "KR")
            let base = try XCTUnwrap(korea.daemon.loopback).base
            let elsewhere = try InProcessDaemon(
                extraConfiguration: """
                    [ca]
                    directory = \(korea.daemon.configuration.resolvedCADirectory)
                    ocsp_url = \(base)/v1/ocsp
                    certificate_policies = 1.3.6.1.4.1.99999.22.1
                    """)
            elsewhere.catchUpClock()
            let (_, outcome) = try elsewhere.newAccount("John_Salley")
            try b.daemon.require(b.daemon.importList(try korea.exportedList(), of: korea), 200)
            return try b.daemon.validate(try XCTUnwrap(outcome.certificatePEM))
        },
        Refusal(importRoute, .trustListWriteFailed, "a trust list directory that is a file") { b in
            let macao = try OtherJurisdiction(serve: false)
            let path = b.daemon.configuration.resolvedTrustListDirectory
            try? FileManager.default.removeItem(atPath: path)
            try Data("a file".utf8).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            return try b.daemon.importList(try macao.exportedList(), of: macao)
        },
    ]

    func testExportImportAndValidationRefuseWhatIsNotTrustworthy() {
        RefusalRun.check(Self.refusals)
    }

    /// What no request provokes keeps its catalogue code and status: the daemon builds its own list from its CA
    /// (`.invalidList`), signing fails only inside OpenSSL (`.signingFailed`), and the API's body limit refuses a
    /// list over 16 MiB before the importer could (`.tooLarge`).
    func testTrustListErrorsNoRequestProvokesKeepTheirCatalogueCodes() {
        let cases: [(TrustListError, ProblemCode)] = [
            (.invalidList("no certificate"), .trustListInvalid),
            (.signingFailed("EVP_DigestSign"), .trustListSigningFailed),
            (.tooLarge(size: 17 << 20, limit: 16 << 20), .trustListTooLarge),
        ]
        for (error, code) in cases {
            let problem = Problem(error)
            XCTAssertEqual(problem.code, code.code)
            XCTAssertEqual(problem.status, code.status)
        }
    }
}
