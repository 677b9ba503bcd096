import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import UnixHTTP
import XCTest

/// Registration and upgrade, in process with fake ports: card, photo and completion through the real router and
/// authorizer, as a kiosk would post them.
final class RegistrationFlowTests: XCTestCase {
    /// Card → photo → complete with a CSR: a signing account whose certificate chains to the daemon's CA, a usage
    /// record of every step, and events a kiosk can follow without seeing personal data.
    func testRegisteringWithACSRCreatesASigningAccountWithACertificateFromTheCA() throws {
        let bench = try InProcessDaemon()
        let holder = TestHolder(
            person: "John_Salley", documentNumber: "L8988901C", birthDate: "800101",
            surname: "SALLEY", givenNames: "JOHN")
        try bench.insertCard(holder)
        let events = bench.recordEvents()

        let started = try bench.require(try bench.start(holder), 201)
        let opened = try bench.decode(EnrollmentView.self, started)
        XCTAssertEqual(opened.state, "card-verified")
        XCTAssertEqual(opened.purpose, "register")
        XCTAssertEqual([opened.surname, opened.givenNames, opened.issuingState], ["SALLEY", "JOHN", "UTO"])
        XCTAssertTrue(opened.authenticity.genuine, "\(opened.authenticity.reasons)")
        XCTAssertEqual(opened.photoAttemptsLeft, 3)
        XCTAssertNil(opened.accountID, "a registration has no account before it completes")

        let matched = try bench.decode(
            EnrollmentView.self,
            try bench.require(bench.photo(opened.id, of: "John_Salley"), 200))
        XCTAssertEqual(matched.state, "face-matched")
        XCTAssertEqual(matched.face?.isMatch, true)
        XCTAssertEqual(matched.photoAttemptsLeft, 2, "the matching photo was an attempt")
        XCTAssertEqual(matched.livenessRequired, true, "the signing tier needs the liveness step by default")
        XCTAssertEqual(matched.livenessAttemptsLeft, 3)

        let live = try bench.decode(
            EnrollmentView.self,
            try bench.require(bench.liveness(opened.id, of: "John_Salley").answer, 200))
        XCTAssertEqual(live.state, "face-matched")
        XCTAssertEqual(live.livenessAttemptsLeft, 2, "the challenge was an attempt")
        let evidence = try XCTUnwrap(live.liveness)
        XCTAssertTrue(evidence.live)
        XCTAssertEqual(
            evidence.checks.map(\.check),
            [
                "challenge", "single-face", "same-person", "matches-portrait",
                "unlike-portrait", "prompts-followed", "depth",
                "distinct-frames", "not-replayed", "passive-score",
            ])
        XCTAssertTrue(evidence.checks.allSatisfy { $0.passed && $0.required })

        let key = try PrivateKey.generate(.p256)
        let csr = try CertificateSigningRequest.create(
            subject: DistinguishedName(country: "ZZ", commonName: "Mallory"),
            key: key)
        let body = EnrollmentCompleteBody(csr: csr.pem, contact: ["phone": "+41 79 000 00 00"])
        let done = try bench.require(try bench.call("POST", "/v1/enrollments/\(opened.id)/complete", json: body), 200)
        let outcome = try bench.decode(EnrollmentOutcome.self, done)
        XCTAssertEqual(outcome.tier, "signing")
        XCTAssertEqual(outcome.status, "normal")
        XCTAssertEqual(outcome.enrollmentID, opened.id)

        // The certificate: signed by the CA, for the key of the CSR, named from the chip and not from the CSR.
        let certificate = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))
        let ca = try bench.caCertificate()
        XCTAssertTrue(certificate.isSigned(by: try ca.publicKey()), "the certificate chains to the daemon's CA")
        XCTAssertTrue(certificate.isIssued(byName: ca))
        XCTAssertFalse(certificate.isCertificateAuthority)
        XCTAssertEqual(try certificate.publicKey().derEncoded(), try key.publicKey().derEncoded())
        XCTAssertEqual(certificate.subject.value(of: "CN"), "JOHN SALLEY", "the name comes from the chip")
        XCTAssertEqual(
            certificate.serialNumber.map { String(format: "%02X", $0) }.joined(),
            outcome.certificateSerial)
        let notAfter = try XCTUnwrap(certificate.notAfter)
        XCTAssertLessThanOrEqual(
            notAfter, try XCTUnwrap(ISO8601DateFormatter().date(from: "2034-12-31T23:59:59Z")),
            "never past the document's expiry")

        // The account.
        let account = try bench.accountView(outcome.accountID)
        XCTAssertEqual([account.tier, account.tierName, account.status], ["signing", "Signing", "normal"])
        XCTAssertEqual(
            [account.surname, account.givenNames, account.documentExpiry], ["SALLEY", "JOHN", "2034-12-31"])
        XCTAssertEqual(account.certificates.map(\.serial), [outcome.certificateSerial])
        XCTAssertEqual(account.certificates.first?.state, "issued")

        // Usage records, in order, each by the kiosk.
        let records = try bench.usage(outcome.accountID).records
        XCTAssertEqual(
            records.map(\.event),
            [
                "enrollment-card-verified", "enrollment-face-matched",
                "enrollment-liveness-passed", "account-created", "certificate-issued",
                "tier-changed",
            ])
        XCTAssertTrue(records.allSatisfy { $0.actorRole == "kiosk" && $0.actorUid == 2001 && $0.outcome == "ok" })
        XCTAssertTrue(records.allSatisfy { $0.enrollmentId == opened.id })
        XCTAssertEqual(records.first { $0.event == "certificate-issued" }?.detail, outcome.certificateSerial)

        // Events: the card read and every step, with no name or document number in any of them.
        let published = bench.drain(events)
        let kinds = published.map(\.type)
        XCTAssertEqual(
            kinds.filter { $0 != .cardReadStarted && $0 != .cardReadCompleted },
            [
                .enrollmentCardVerified, .enrollmentFaceMatched, .enrollmentLivenessPassed,
                .enrollmentCompleted,
            ])
        XCTAssertEqual(kinds.prefix(2), [.cardReadStarted, .cardReadCompleted])
        XCTAssertEqual(published.last?.tier, "signing")
        XCTAssertTrue(published.dropFirst(2).allSatisfy { $0.enrollmentId == opened.id })
        let encoded = String(decoding: try JSONEncoder().encode(published), as: UTF8.self)
        for secret in ["SALLEY", "L8988901C", "800101", "+41"] {
            XCTAssertFalse(encoded.contains(secret), "'\(secret)' in the events")
        }

        // The finished session keeps its evidence, not the card-face data.
        let ended = try bench.sessionView(opened.id)
        XCTAssertEqual(ended.state, "completed")
        XCTAssertEqual(ended.surname, "")
        XCTAssertEqual(ended.face?.isMatch, true)
        XCTAssertEqual(ended.accountID, outcome.accountID)
    }

    /// Card and completion without a CSR (no photo needed): a basic account, no certificate.
    func testRegisteringWithoutACSRCreatesABasicAccount() throws {
        let bench = try InProcessDaemon()
        let holder = TestHolder.random("John_Savage")
        let session = try bench.openSession(holder)
        let outcome = try bench.decode(EnrollmentOutcome.self, try bench.require(bench.complete(session), 200))
        XCTAssertEqual(outcome.tier, "basic")
        XCTAssertNil(outcome.certificatePEM)
        XCTAssertNil(outcome.certificateSerial)
        let account = try bench.accountView(outcome.accountID)
        XCTAssertEqual([account.tier, account.tierName, account.status], ["basic", "Basic", "normal"])
        XCTAssertEqual(account.certificates, [])
        XCTAssertEqual(
            try bench.decode(
                [CertificateView].self,
                try bench.require(
                    bench.call("GET", "/v1/accounts/\(outcome.accountID)/certificates", as: .operator), 200)), [])
        XCTAssertEqual(
            try bench.usage(outcome.accountID).records.map(\.event),
            ["enrollment-card-verified", "account-created"])
        // A basic registration may still take a photo first; the account is basic all the same.
        let other = TestHolder.random("John_Simm")
        let matched = try bench.matchedSession(other)
        XCTAssertEqual(
            try bench.decode(EnrollmentOutcome.self, try bench.require(bench.complete(matched), 200)).tier,
            "basic")
    }

    /// A basic account upgraded with the same holder's card and face: the same account at the signing tier.
    func testUpgradingABasicAccountIssuesACertificateToTheSameAccount() throws {
        let bench = try InProcessDaemon()
        let (holder, registered) = try bench.newAccount("John_Shimkus", signing: false)
        XCTAssertEqual(registered.tier, "basic")

        let session = try bench.matchedSession(holder, purpose: "upgrade", accountID: registered.accountID)
        let opened = try bench.sessionView(session)
        XCTAssertEqual(opened.purpose, "upgrade")
        XCTAssertEqual(opened.accountID, registered.accountID, "the card is the account's")
        let outcome = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.complete(session, csr: try InProcessDaemon.makeCSR()), 200))
        XCTAssertEqual(outcome.accountID, registered.accountID)
        XCTAssertEqual(outcome.tier, "signing")
        let certificate = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))
        XCTAssertTrue(certificate.isSigned(by: try bench.caCertificate().publicKey()))

        let account = try bench.accountView(registered.accountID)
        XCTAssertEqual(account.tier, "signing")
        XCTAssertEqual(account.certificates.map(\.serial), [outcome.certificateSerial])
        let events = try bench.usage(registered.accountID).records.map(\.event)
        XCTAssertEqual(
            events,
            [
                "enrollment-card-verified", "account-created", "enrollment-card-verified",
                "enrollment-face-matched", "enrollment-liveness-passed", "certificate-issued",
                "tier-changed",
            ])
        // Another upgrade issues another certificate to the same account (a new key, e.g. a new phone).
        let again = try bench.matchedSession(holder, purpose: "upgrade", accountID: registered.accountID)
        let second = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.complete(again, csr: try InProcessDaemon.makeCSR()), 200))
        XCTAssertNotEqual(second.certificateSerial, outcome.certificateSerial)
        XCTAssertEqual(try bench.accountView(registered.accountID).certificates.count, 2)
    }

    /// The CA dates certificates by the daemon's clock port, like the sessions, the usage log and the CRL.
    func testTheCertificateIsDatedByTheDaemonsClock() throws {
        let bench = try InProcessDaemon()
        bench.clock.advance(30 * 86_400)
        let (_, outcome) = try bench.newAccount("John_Simm")
        let certificate = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))
        let notBefore = try XCTUnwrap(certificate.notBefore)
        XCTAssertLessThan(
            abs(notBefore.timeIntervalSince(bench.clock.now)), 3600,
            "notBefore \(notBefore) is not the daemon's now \(bench.clock.now)")
        let records = try bench.usage(outcome.accountID).records
        let issued = try XCTUnwrap(records.first { $0.event == "certificate-issued" })
        XCTAssertEqual(issued.at.prefix(10), ISO8601DateFormatter().string(from: bench.clock.now).prefix(10))
    }

    /// The same flow through the daemon's real Unix socket.
    func testRegisteringThroughTheRealSocket() throws {
        let bench = try InProcessDaemon()
        try bench.serve()
        let (_, outcome) = try bench.newAccount("John_Schneider")
        XCTAssertEqual(outcome.tier, "signing")
        XCTAssertEqual(try bench.accountView(outcome.accountID).certificates.count, 1)
    }
}
