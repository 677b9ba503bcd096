import CertificateAuthority
@testable import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import Store
import UnixHTTP
import XCTest

/// What relying parties read about the daemon's certificates: OCSP (RFC 6960 / RFC 5019) on POST and GET, the
/// cached CRL, both following every revocation at once, on this daemon and on another of the same store.
final class CertificateStatusTests: XCTestCase {
    /// A certificate the daemon issued, with its CA.
    private func issued(
        _ bench: InProcessDaemon,
        person: String = "John_Salley"
    ) throws -> (certificate: X509Certificate, outcome: EnrollmentOutcome) {
        let (_, outcome) = try bench.newAccount(person)
        return (try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM)), outcome)
    }

    private func ask(
        _ bench: InProcessDaemon, _ id: OCSPCertificateID, nonce: [UInt8]? = nil,
        get: Bool = false, as caller: InProcessDaemon.Caller = .nobody
    ) throws -> (HTTPResponse, OCSPResponse) {
        let request = try OCSPRequest.encode(certificateIDs: [id], nonce: nonce)
        let response: HTTPResponse
        if get {
            let encoded = Data(request).base64EncodedString()
                .replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "=", with: "%3D")
            response = bench.call("GET", "/v1/ocsp/" + encoded, as: caller)
        } else {
            response = bench.call(
                "POST", "/v1/ocsp", body: request, as: caller,
                headers: [("Content-Type", "application/ocsp-request")])
        }
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Content-Type"), "application/ocsp-response")
        return (response, try OCSPResponse(der: response.body))
    }

    func testOCSPAnswersGoodThenRevokedWithItsReasonAndUnknownForASerialNeverIssued() throws {
        let bench = try InProcessDaemon()
        let (certificate, outcome) = try issued(bench)
        let ca = try bench.caCertificate()
        let id = try OCSPCertificateID(certificate: certificate, issuer: ca)

        // Good, to a caller with no role (nginx's user), with RFC 5019 caching headers.
        let (http, good) = try ask(bench, id)
        XCTAssertEqual(try good.verify(for: id, issuer: ca, at: bench.clock.now).status, .good)
        XCTAssertTrue(http.header("Cache-Control")?.hasPrefix("max-age=") == true, "\(http.headers)")
        XCTAssertNotNil(http.header("ETag"))
        XCTAssertEqual(
            good.certificates.first?.extendedKeyUsageOIDs?.contains("1.3.6.1.5.5.7.3.9"), true,
            "signed by the delegated responder certificate (id-kp-OCSPSigning)")

        // Revoked with its time and reason, at once.
        let serial = try XCTUnwrap(outcome.certificateSerial)
        try bench.require(
            try bench.call(
                "POST", "/v1/certificates/\(serial)/revoke",
                json: ["reason": "key-compromise"], as: .operator), 200)
        let (_, revoked) = try ask(bench, id)
        guard case let .revoked(at, reason) = try revoked.verify(for: id, issuer: ca, at: bench.clock.now).status else {
            return XCTFail("not revoked")
        }
        XCTAssertEqual(reason, .keyCompromise)
        XCTAssertLessThanOrEqual(abs(at.timeIntervalSince(bench.clock.now)), 1)

        // A serial never issued, and another issuer's CertID.
        let stranger = try OCSPCertificateID(serialNumber: [0x42] + (try SecureRandom.bytes(15)), issuer: ca)
        XCTAssertEqual(
            try ask(bench, stranger).1.verify(for: stranger, issuer: ca, at: bench.clock.now).status,
            .unknown)
        let foreign = try OCSPCertificateID(serialNumber: certificate.serialNumber, issuer: bench.pki.csca.certificate)
        XCTAssertEqual(try ask(bench, foreign).1.status, .unauthorized)
    }

    func testGETTakesTheRestOfThePathAndANonceGetsItsOwnSignedAnswer() throws {
        let bench = try InProcessDaemon()
        let (certificate, _) = try issued(bench)
        let ca = try bench.caCertificate()
        let id = try OCSPCertificateID(certificate: certificate, issuer: ca)
        // A nonce whose request's base64 holds a '/' (and so splits into path segments).
        var nonce: [UInt8] = []
        for _ in 0..<500 {
            nonce = try SecureRandom.bytes(16)
            let text = Data(try OCSPRequest.encode(certificateIDs: [id], nonce: nonce)).base64EncodedString()
            if text.contains("//") || text.contains("/") { break }
        }
        XCTAssertTrue(
            Data(try OCSPRequest.encode(certificateIDs: [id], nonce: nonce)).base64EncodedString()
                .contains("/"))
        // The issued certificate's response is pre-produced in the background: count from after that signature.
        try XCTUnwrap(bench.daemon.certificateStatus).waitForPreproduction()
        let signedBefore = try XCTUnwrap(bench.daemon.certificateStatus).responder.statistics.signatures
        let (http, answer) = try ask(bench, id, nonce: nonce, get: true)
        XCTAssertEqual(answer.nonce, nonce, "the nonce comes back")
        XCTAssertEqual(try answer.verify(for: id, issuer: ca, at: bench.clock.now, nonce: nonce).status, .good)
        XCTAssertEqual(http.header("Cache-Control"), "no-store", "an answer to a nonce is not for caches")
        XCTAssertEqual(try XCTUnwrap(bench.daemon.certificateStatus).responder.statistics.signatures, signedBefore + 1)

        // base64url without padding, as some clients send it.
        let request = try OCSPRequest.encode(certificateIDs: [id])
        let url = Data(request).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let viaURL = bench.call("GET", "/v1/ocsp/" + url, as: .nobody)
        XCTAssertEqual(
            try OCSPResponse(der: viaURL.body).verify(for: id, issuer: ca, at: bench.clock.now).status, .good)

        // Garbage and an oversized body are OCSP errors, still 200 (RFC 6960 Appendix A).
        XCTAssertEqual(
            try OCSPResponse(der: bench.call("GET", "/v1/ocsp/%%%", as: .nobody).body).status,
            .malformedRequest)
        let huge = bench.call("POST", "/v1/ocsp", body: [UInt8](repeating: 0x30, count: 5000), as: .nobody)
        XCTAssertEqual(huge.status, 200)
        XCTAssertEqual(try OCSPResponse(der: huge.body).status, .malformedRequest)
    }

    func testTheCRLIsServedFromTheCacheAndListsARevocationAsSoonAsItCommits() throws {
        let bench = try InProcessDaemon()
        let (certificate, outcome) = try issued(bench)
        let status = try XCTUnwrap(bench.daemon.certificateStatus)
        let ca = try bench.caCertificate()
        func crl() throws -> CertificateRevocationList {
            let response = try bench.require(bench.call("GET", "/v1/crl", as: .nobody, query: [("format", "der")]), 200)
            XCTAssertEqual(response.header("Content-Type"), "application/pkix-crl")
            XCTAssertNotNil(response.header("Expires"))
            return try CertificateRevocationList(der: response.body)
        }
        let signedAtStart = status.crl.statistics.signatures
        let first = try crl()
        for _ in 0..<25 { _ = try crl() }
        _ = bench.call("GET", "/v1/crl", as: .nobody)
        XCTAssertEqual(status.crl.statistics.signatures, signedAtStart, "reading the CRL signs nothing")
        XCTAssertTrue(first.isSigned(by: try ca.publicKey()))
        XCTAssertNil(first.entry(forSerial: certificate.serialNumber))

        let serial = try XCTUnwrap(outcome.certificateSerial)
        try bench.require(
            try bench.call(
                "POST", "/v1/certificates/\(serial)/revoke",
                json: ["reason": "superseded"], as: .operator), 200)
        let committed = Date()
        let after = try crl()
        XCTAssertLessThan(Date().timeIntervalSince(committed), 1)
        XCTAssertNotNil(after.entry(forSerial: certificate.serialNumber), "listed right after the revocation")
        XCTAssertEqual(after.entry(forSerial: certificate.serialNumber)?.reason, .superseded)
        XCTAssertEqual(status.crl.statistics.signatures, signedAtStart + 1, "one signature for one revocation")
        XCTAssertGreaterThan(try XCTUnwrap(after.crlNumber), try XCTUnwrap(first.crlNumber))

        // Revoking it again changes nothing, and signs nothing.
        try bench.require(try bench.call("POST", "/v1/certificates/\(serial)/revoke", as: .operator), 200)
        XCTAssertEqual(status.crl.statistics.signatures, signedAtStart + 1)
    }

    /// Cancelling an identity revokes its certificates through the lifecycle: OCSP and the CRL follow too.
    func testLifecycleRevocationsAreReflected() throws {
        let bench = try InProcessDaemon()
        let (certificate, outcome) = try issued(bench)
        let ca = try bench.caCertificate()
        let id = try OCSPCertificateID(certificate: certificate, issuer: ca)
        XCTAssertEqual(try ask(bench, id).1.verify(for: id, issuer: ca, at: bench.clock.now).status, .good)
        try bench.setStatus(outcome.accountID, "cancelled", reason: "holder deceased")
        guard
            case let .revoked(_, reason) = try ask(bench, id).1.verify(for: id, issuer: ca, at: bench.clock.now)
                .status
        else { return XCTFail("not revoked") }
        XCTAssertEqual(reason, .cessationOfOperation)
        let crl = try CertificateRevocationList(der: bench.call("GET", "/v1/crl", query: [("format", "der")]).body)
        XCTAssertNotNil(crl.entry(forSerial: certificate.serialNumber))
    }

    /// Two daemons on one database (a fleet): a revocation on one is published by the other's poll of the store,
    /// and CRL numbers keep increasing across both.
    func testARevocationOnAnotherDaemonOfTheStoreIsPublishedByThePoll() throws {
        let first = try InProcessDaemon(extraConfiguration: "[ocsp]\nstore_poll_seconds = 0.5\n")
        let state = first.configuration.stateDirectory
        let second = try InProcessDaemon(
            extraConfiguration: """
                [ca]
                directory = \(first.configuration.resolvedCADirectory)
                [ocsp]
                store_poll_seconds = 0.5
                """, keysOf: state,
            openStore: { _, _ in
                let store = try SQLiteStore(
                    path: state + "/enrolld.db",
                    protector: try DataProtector(stateDirectory: state))
                try store.migrate()
                return store
            })
        let (certificate, outcome) = try issued(first)
        let ca = try first.caCertificate()
        let id = try OCSPCertificateID(certificate: certificate, issuer: ca)
        XCTAssertEqual(
            try ask(second, id).1.verify(for: id, issuer: ca, at: second.clock.now).status, .good,
            "the other daemon answers from the same records")
        let numberBefore = try XCTUnwrap(
            try CertificateRevocationList(
                der: second.call("GET", "/v1/crl", query: [("format", "der")]).body
            ).crlNumber)

        let serial = try XCTUnwrap(outcome.certificateSerial)
        try first.require(
            try first.call(
                "POST", "/v1/certificates/\(serial)/revoke",
                json: ["reason": "key-compromise"], as: .operator), 200)
        let revokedAt = Date()
        var reflected = false
        // The poll re-signs the OCSP responses, then the CRL: both are published once it has counted the revocation.
        while Date().timeIntervalSince(revokedAt) < 5 {
            let status = try ask(second, id).1.verify(for: id, issuer: ca, at: second.clock.now).status
            if case .revoked = status, try XCTUnwrap(second.daemon.certificateStatus).pollStatistics.republished >= 1 {
                reflected = true
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(reflected, "the other daemon's cached good was replaced")
        XCTAssertLessThan(Date().timeIntervalSince(revokedAt), 2, "within about store_poll_seconds")
        let crl = try CertificateRevocationList(der: second.call("GET", "/v1/crl", query: [("format", "der")]).body)
        XCTAssertNotNil(crl.entry(forSerial: certificate.serialNumber))
        XCTAssertGreaterThan(try XCTUnwrap(crl.crlNumber), numberBefore, "one counter for the fleet")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(second.daemon.certificateStatus).pollStatistics.republished, 1)
    }

    /// No CA (or one past its validity, which cannot sign its responder certificate): OCSP answers tryLater,
    /// unsigned, still 200; the CRL route says why it has nothing.
    func testWithoutACAThatCanSignOCSPAnswersTryLater() throws {
        for setup in [InProcessDaemon.CASetup.missing, .expired] {
            let bench = try InProcessDaemon(ca: setup)
            let id = try OCSPCertificateID(serialNumber: [0x42, 1, 2, 3], issuer: bench.pki.csca.certificate)
            let request = try OCSPRequest.encode(certificateIDs: [id])
            let answer = bench.call(
                "POST", "/v1/ocsp", body: request, as: .nobody,
                headers: [("Content-Type", "application/ocsp-request")])
            XCTAssertEqual(answer.status, 200)
            XCTAssertEqual(try OCSPResponse(der: answer.body).status, .tryLater, "\(setup)")
            XCTAssertEqual(bench.problem(bench.call("GET", "/v1/crl", as: .nobody)), "enrollment-unavailable")
        }
    }

    /// The cache keeps answering while the database fails: GET /v1/crl reads nothing from it.
    func testTheCachedCRLIsServedWhileTheDatabaseFails() throws {
        let bench = try InProcessDaemon()
        let before = try bench.require(bench.call("GET", "/v1/crl", as: .nobody), 200).body
        try bench.store.fail(true)
        defer { try? bench.store.fail(false) }
        XCTAssertEqual(try bench.require(bench.call("GET", "/v1/crl", as: .nobody), 200).body, before)
    }

    func testTheCACertificateIsPublishedForCAIssuers() throws {
        let bench = try InProcessDaemon()
        let response = try bench.require(bench.call("GET", "/v1/ca/certificate", as: .nobody), 200)
        XCTAssertEqual(response.header("Content-Type"), "application/pkix-cert")
        XCTAssertEqual(try X509Certificate(der: response.body), try bench.caCertificate())
    }
}
