import CertificateAuthority
@testable import DaemonCore
import EnrollAPIModel
import Enrollment
import Foundation
import OpenSSLKit
import PostgresTestCluster
import Store
import Synchronization
import UnixHTTP
import XCTest

/// Activation through the registered contact (issue 24), end to end in the daemon: a real SMTP server (STARTTLS,
/// AUTH) and an HTTP SMS gateway on loopback; the certificate on hold in the CRL and OCSP until the mailed code; wrong
/// and expired codes; the outbox's retries, failures and exactly-once delivery, on SQLite and on PostgreSQL.
final class ActivationFlowTests: XCTestCase {
    private func outboxConfiguration(
        _ sink: ContactStandIns, email: Bool = true, sms: Bool = false, maxAttempts: Int = 8, extra: String = ""
    ) throws -> String {
        try sink.configuration(email: email, sms: sms, maxAttempts: maxAttempts, extra: extra)
    }

    /// Card, face, liveness and completion with `contact`; the session id and the raw answer.
    private func complete(
        _ bench: InProcessDaemon, _ holder: TestHolder, contact: [String: String]
    ) throws -> (session: String, response: HTTPResponse) {
        try bench.insertCard(holder)
        let session = try bench.decode(EnrollmentView.self, try bench.start(holder)).id
        try bench.require(try bench.photo(session, of: holder.person), 200, "photo")
        try bench.require(try bench.liveness(session, of: holder.person).answer, 200, "liveness")
        let response = try bench.call(
            "POST", "/v1/enrollments/\(session)/complete",
            json: EnrollmentCompleteBody(csr: try InProcessDaemon.makeCSR(), contact: contact))
        return (session, response)
    }

    private func enrollPending(
        _ bench: InProcessDaemon, _ holder: TestHolder = .random("John_Salley"),
        contact: [String: String] = ["email": "holder@example.org"]
    ) throws -> (session: String, outcome: EnrollmentOutcome) {
        let (session, response) = try complete(bench, holder, contact: contact)
        let outcome = try bench.decode(EnrollmentOutcome.self, try bench.require(response, 200, "complete"))
        return (session, outcome)
    }

    /// At the kiosk with the enrollment session as the holder's proof, or (`late`: past the session proof's 15
    /// minutes) by an operator.
    private func activate(
        _ bench: InProcessDaemon, _ outcome: EnrollmentOutcome, session: String, code: String, late: Bool = false
    ) throws -> HTTPResponse {
        try bench.call(
            "POST", "/v1/accounts/\(outcome.accountID)/activate", json: ["code": code], as: late ? .operator : .kiosk,
            headers: late ? [] : [("X-Enrolld-Enrollment", session)])
    }

    private func crlEntry(
        _ bench: InProcessDaemon, _ certificate: X509Certificate
    ) throws
        -> CertificateRevocationList.Entry?
    {
        let response = try bench.require(bench.call("GET", "/v1/crl", as: .nobody, query: [("format", "der")]), 200)
        return try CertificateRevocationList(der: response.body).entry(forSerial: certificate.serialNumber)
    }

    private func ocspStatus(_ bench: InProcessDaemon, _ certificate: X509Certificate) throws -> OCSPCertificateStatus {
        let ca = try bench.caCertificate()
        let id = try OCSPCertificateID(certificate: certificate, issuer: ca)
        let response = bench.call(
            "POST", "/v1/ocsp", body: try OCSPRequest.encode(certificateIDs: [id]), as: .nobody,
            headers: [("Content-Type", "application/ocsp-request")])
        return try OCSPResponse(der: response.body).verify(for: id, issuer: ca, at: bench.clock.now).status
    }

    private func metric(_ bench: InProcessDaemon, _ line: String) -> Bool {
        String(decoding: bench.call("GET", "/metrics", as: .admin).body, as: UTF8.self)
            .split(separator: "\n").contains { $0 == line }
    }

    private func usageEvents(_ bench: InProcessDaemon, _ accountID: String) throws -> [String] {
        try bench.usage(accountID).records.map(\.event)
    }

    // MARK: The mailed code

    func testSigningEnrollmentWaitsOnHoldUntilTheMailedCodeReleasesIt() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        let holder = TestHolder.random("John_Salley")
        let (session, outcome) = try enrollPending(bench, holder)
        XCTAssertEqual(outcome.activation, "pending-activation")
        XCTAssertEqual(outcome.tier, "signing")
        XCTAssertNotNil(outcome.activationExpiresAt)
        let certificate = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))

        // On hold at once: certificateHold (RFC 5280 reason 6) on the CRL and in OCSP.
        XCTAssertEqual(try crlEntry(bench, certificate)?.reason, .certificateHold)
        guard case let .revoked(_, reason) = try ocspStatus(bench, certificate) else {
            return XCTFail("OCSP does not answer revoked for a held certificate")
        }
        XCTAssertEqual(reason, .certificateHold)
        let waiting = try bench.decode(
            AccountView.self, bench.call("GET", "/v1/accounts/\(outcome.accountID)", as: .operator))
        XCTAssertEqual(waiting.activation, "pending-activation")
        XCTAssertEqual(waiting.activationExpiresAt, outcome.activationExpiresAt)

        // The mail: over STARTTLS, authenticated, with the code and nothing personal.
        let mail = try XCTUnwrap(sink.wait(for: 1, in: "mail.jsonl").first, "no mail arrived")
        XCTAssertEqual(mail["to"] as? [String], ["holder@example.org"])
        XCTAssertEqual(mail["tls"] as? Bool, true)
        XCTAssertEqual(mail["auth"] as? Bool, true)
        let body = ContactStandIns.body(ofMail: mail)
        let code = try XCTUnwrap(ContactStandIns.code(in: body), body)
        XCTAssertEqual(code.count, 6)
        let raw = mail["data"] as? String ?? ""
        for personal in [holder.person, "Salley", "SALLEY"] {
            XCTAssertFalse(raw.contains(personal) || body.contains(personal), "the mail names the holder")
        }
        XCTAssertTrue(raw.contains("Message-ID: <"), raw)

        // A wrong code counts and changes nothing else.
        let wrong = String(code.reversed()) == code ? "000000" : String(code.reversed())
        let refused = try activate(bench, outcome, session: session, code: wrong == code ? "111111" : wrong)
        XCTAssertEqual(bench.problem(refused), "activation-code-wrong")
        XCTAssertEqual(try crlEntry(bench, certificate)?.reason, .certificateHold)
        XCTAssertTrue(try usageEvents(bench, outcome.accountID).contains("contact-code-wrong"))

        // The right code: active, the hold released (dropped from the next CRL, good in OCSP), single use.
        try bench.require(try activate(bench, outcome, session: session, code: code), 200, "activate")
        XCTAssertNil(try crlEntry(bench, certificate), "the hold is released from the CRL")
        XCTAssertEqual(try ocspStatus(bench, certificate), .good)
        XCTAssertNil(
            try bench.decode(AccountView.self, bench.call("GET", "/v1/accounts/\(outcome.accountID)", as: .operator))
                .activation)
        XCTAssertEqual(
            bench.problem(try activate(bench, outcome, session: session, code: code)), "activation-not-pending")
        let events = try usageEvents(bench, outcome.accountID)
        XCTAssertTrue(events.contains("contact-code-sent") && events.contains("account-activated"), "\(events)")
        XCTAssertTrue(metric(bench, #"enrolld_outbox_messages_total{state="sent"} 1"#))
        XCTAssertTrue(metric(bench, #"enrolld_activations_total{outcome="activated"} 1"#))
        XCTAssertTrue(metric(bench, #"enrolld_activations_total{outcome="wrong-code"} 1"#))
        let stored = try XCTUnwrap(
            try bench.daemon.enrollment?.store.transaction { tx in try tx.outboxMessages(state: nil, limit: 10) })
        XCTAssertEqual(stored.map(\.state), [.sent])
        XCTAssertEqual(stored.first?.attempts, 1)
    }

    func testAnotherKioskCannotActivateAndACodeIsNeverTakenFromTheBody() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        let (session, outcome) = try enrollPending(bench)
        let mail = try XCTUnwrap(sink.wait(for: 1, in: "mail.jsonl").first)
        let code = try XCTUnwrap(ContactStandIns.code(in: ContactStandIns.body(ofMail: mail)))
        // The code alone is no holder proof: another kiosk without the session is refused before it is compared.
        let stranger = try bench.call(
            "POST", "/v1/accounts/\(outcome.accountID)/activate", json: ["code": code], as: .otherKiosk,
            headers: [("X-Enrolld-Enrollment", session)])
        XCTAssertNotEqual(stranger.status, 200)
        XCTAssertEqual(
            try crlEntry(bench, try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM)))?.reason,
            .certificateHold)
    }

    func testAnExpiredCodeRevokesTheCertificateAndRestoresTheTier() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        let (session, outcome) = try enrollPending(bench)
        let certificate = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))
        let mail = try XCTUnwrap(sink.wait(for: 1, in: "mail.jsonl").first)
        let code = try XCTUnwrap(ContactStandIns.code(in: ContactStandIns.body(ofMail: mail)))

        bench.clock.advance(15 * 60 + 1)
        XCTAssertEqual(try XCTUnwrap(bench.daemon.lifecycle).expireActivations(), 1)
        XCTAssertEqual(try crlEntry(bench, certificate)?.reason, .privilegeWithdrawn, "revoked for good")
        let account = try bench.decode(
            AccountView.self, bench.call("GET", "/v1/accounts/\(outcome.accountID)", as: .operator))
        XCTAssertEqual(account.tier, "basic", "the account is back at its previous tier")
        let records = try bench.usage(outcome.accountID).records
        XCTAssertTrue(records.contains { $0.event == "activation-expired" }, "\(records.map(\.event))")
        XCTAssertEqual(records.last { $0.event == "tier-changed" }?.detail, "basic")
        // The mailed code is now worthless.
        XCTAssertEqual(
            bench.problem(try activate(bench, outcome, session: session, code: code, late: true)),
            "activation-not-pending")
        XCTAssertTrue(metric(bench, #"enrolld_activations_total{outcome="expired"} 1"#))
    }

    func testAnEntryAfterExpiryEndsTheActivationAtOnce() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        let (session, outcome) = try enrollPending(bench)
        let mail = try XCTUnwrap(sink.wait(for: 1, in: "mail.jsonl").first)
        let code = try XCTUnwrap(ContactStandIns.code(in: ContactStandIns.body(ofMail: mail)))
        bench.clock.advance(15 * 60 + 1)
        // Even the right code, late: no sweep ran yet, the entry itself ends it.
        XCTAssertEqual(
            bench.problem(try activate(bench, outcome, session: session, code: code, late: true)), "activation-expired")
        let certificate = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))
        XCTAssertEqual(try crlEntry(bench, certificate)?.reason, .privilegeWithdrawn)
    }

    func testWrongCodesSpendTheCodeAndRevoke() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(
            extraConfiguration: try outboxConfiguration(sink) + "\n[enrollment]\nactivation_max_attempts = 3\n")
        let (session, outcome) = try enrollPending(bench)
        let mail = try XCTUnwrap(sink.wait(for: 1, in: "mail.jsonl").first)
        let code = try XCTUnwrap(ContactStandIns.code(in: ContactStandIns.body(ofMail: mail)))
        let wrong = code == "123456" ? "654321" : "123456"
        XCTAssertEqual(
            bench.problem(try activate(bench, outcome, session: session, code: wrong)), "activation-code-wrong")
        XCTAssertEqual(
            bench.problem(try activate(bench, outcome, session: session, code: "12ab")), "activation-code-wrong")
        XCTAssertEqual(bench.problem(try activate(bench, outcome, session: session, code: wrong)), "activation-expired")
        // The right code after the last allowed wrong one: too late.
        XCTAssertEqual(
            bench.problem(try activate(bench, outcome, session: session, code: code)), "activation-not-pending")
        let certificate = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))
        XCTAssertEqual(try crlEntry(bench, certificate)?.reason, .privilegeWithdrawn)
        let records = try bench.usage(outcome.accountID).records
        XCTAssertEqual(records.filter { $0.event == "contact-code-wrong" }.count, 3)
        XCTAssertTrue(metric(bench, #"enrolld_passcode_failed_entries_total 3"#), "counted like passcode entries")
    }

    /// An attack on the hold: an operator revokes a held certificate (the key was reported stolen before the holder
    /// activated); the mailed code must not bring it back.
    func testAHeldCertificateRevokedMeanwhileStaysRevokedAndTheCodeNoLongerActivates() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        let (session, outcome) = try enrollPending(bench)
        let certificate = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))
        let serial = try XCTUnwrap(outcome.certificateSerial)
        try bench.require(
            try bench.call(
                "POST", "/v1/certificates/\(serial)/revoke", json: ["reason": "key-compromise"], as: .operator), 200)
        XCTAssertEqual(try crlEntry(bench, certificate)?.reason, .keyCompromise, "the hold became a revocation")
        let mail = try XCTUnwrap(sink.wait(for: 1, in: "mail.jsonl").first)
        let code = try XCTUnwrap(ContactStandIns.code(in: ContactStandIns.body(ofMail: mail)))
        XCTAssertEqual(bench.problem(try activate(bench, outcome, session: session, code: code)), "activation-expired")
        XCTAssertEqual(try crlEntry(bench, certificate)?.reason, .keyCompromise, "still revoked, reason kept")
        guard case let .revoked(_, reason) = try ocspStatus(bench, certificate) else {
            return XCTFail("OCSP answers good for a revoked certificate")
        }
        XCTAssertEqual(reason, .keyCompromise)
        let account = try bench.decode(
            AccountView.self, bench.call("GET", "/v1/accounts/\(outcome.accountID)", as: .operator))
        XCTAssertEqual(account.tier, "basic")
    }

    func testACompletionWithoutAContactOfAConfiguredTransportIsRefusedBeforeAnythingIsSigned() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        let (_, response) = try complete(bench, .random("John_Salley"), contact: ["phone": "+41790000001"])
        XCTAssertEqual(bench.problem(response), "contact-required", "SMS is not configured here")
        let issued = try XCTUnwrap(
            try bench.daemon.enrollment?.store.transaction { tx in
                try tx.certificateStatuses(
                    states: [.issued, .revoked, .intent], revokedSince: nil, limit: nil)
            })
        XCTAssertEqual(issued.count, 0)
        let (_, invalid) = try complete(bench, .random("John_Savage"), contact: ["email": "not an address"])
        XCTAssertEqual(bench.problem(invalid), "invalid-contact")
    }

    func testActivationOffLeavesTheSigningTierUsableAtOnce() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(
            extraConfiguration: try outboxConfiguration(sink) + "\n[enrollment]\nactivation = off\n")
        let (_, outcome) = try enrollPending(bench)
        XCTAssertNil(outcome.activation)
        let certificate = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))
        XCTAssertNil(try crlEntry(bench, certificate))
        XCTAssertEqual(sink.wait(for: 1, in: "mail.jsonl", timeout: 1.5).count, 0)
    }

    /// Codes never cross the network in clear: plain SMTP and plain HTTP only to this machine.
    func testPlainTextTransportsToAnotherHostAreRefusedAtConfiguration() throws {
        let refused = [
            "[outbox]\nsmtp_host = smtp.example.org\nsmtp_security = none\n",
            "[outbox]\nsmtp_security = none\nsmtp_host = 192.0.2.1\n",
            "[outbox]\nsms_gateway_url = http://sms.example.org/send\n",
        ]
        for text in refused {
            XCTAssertThrowsError(try Configuration.parse(text), text) { error in
                XCTAssertTrue("\(error)".contains("outbox."), "\(error)")
            }
        }
        let accepted = [
            "[outbox]\nsmtp_host = localhost\nsmtp_security = none\n",
            "[outbox]\nsmtp_host = smtp.example.org\n",
            "[outbox]\nsms_gateway_url = http://127.0.0.1:8080/send\n",
            "[outbox]\nsms_gateway_url = https://sms.example.org/send\n",
        ]
        for text in accepted { XCTAssertNoThrow(try Configuration.parse(text), text) }
    }

    /// A relay that answers one continuation line at a time, each within the read timeout, never ending its reply:
    /// the exchange still ends at its deadline (twice the timeout), within the outbox claim's lease.
    func testARelayThatTricklesIsCutOffAtTheExchangesDeadline() throws {
        let listener = try LoopbackListener.open()
        let stop = ManagedAtomicFlag()
        Thread.detachNewThread {
            let client = accept(listener.descriptor, nil, nil)
            defer { close(client) }
            while !stop.isSet {
                let line = Array("220-still greeting you\r\n".utf8)
                guard send(client, line, line.count, Int32(MSG_NOSIGNAL)) == line.count else { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        defer {
            stop.set()
            close(listener.descriptor)
        }
        let transport = SMTPTransport(
            settings: SMTPTransport.Settings(
                host: "127.0.0.1", port: Int(listener.port), from: "a@b.example", timeout: 0.5))
        XCTAssertThrowsError(
            try transport.deliver(RenderedMessage(id: UUID(), recipient: "c@d.example", subject: "s", body: "b"))
        ) { error in
            XCTAssertEqual(
                error as? DeliveryError,
                DeliveryError(reason: "127.0.0.1 did not finish the exchange in time", permanent: false),
                "cut off by the exchange's deadline, not by a read timeout")
        }
    }

    // MARK: SMS

    func testTheSMSGatewayGetsTheCodeForAPhoneContact() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink, email: false, sms: true))
        let (session, outcome) = try enrollPending(
            bench, contact: ["phone": "+41 79 000 00 01", "language": "pt"])
        let text = try XCTUnwrap(sink.wait(for: 1, in: "sms.jsonl").first, "no SMS arrived")
        let body = try XCTUnwrap(text["body"] as? [String: Any])
        XCTAssertEqual(body["to"] as? String, "+41790000001", "normalised to E.164")
        let message = body["text"] as? String ?? ""
        XCTAssertTrue(message.contains("código"), "the Portuguese template: \(message)")
        XCTAssertEqual(text["key"] as? String, body["id"] as? String, "an idempotency key per message")
        let code = try XCTUnwrap(ContactStandIns.code(in: message))
        try bench.require(try activate(bench, outcome, session: session, code: code), 200)
    }

    // MARK: The outbox

    func testARefusingRelayIsRetriedWithBackoffThenFailedWithAMetricAndNothingIsLost() throws {
        let sink = try ContactStandIns(mode: .refuse)
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink, maxAttempts: 3))
        _ = try enrollPending(bench)
        XCTAssertEqual(sink.wait(for: 1, in: "refused.jsonl").count, 1)
        // Backoff: nothing more until the bench's clock passes the next attempt (1 s, then 2 s).
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertEqual(sink.refusals.count, 1, "retried before its backoff")
        bench.clock.advance(1.1)
        XCTAssertEqual(sink.wait(for: 2, in: "refused.jsonl").count, 2)
        bench.clock.advance(2.1)
        XCTAssertEqual(sink.wait(for: 3, in: "refused.jsonl").count, 3)
        let store = try XCTUnwrap(bench.daemon.enrollment?.store)
        var failed: [OutboxMessageRecord] = []
        let deadline = Date().addingTimeInterval(10)
        while failed.isEmpty && Date() < deadline {
            failed = try store.transaction { tx in try tx.outboxMessages(state: .failed, limit: 10) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(failed.count, 1)
        XCTAssertEqual(failed.first?.attempts, 3)
        XCTAssertEqual(failed.first?.lastError, "SMTP 451 to RCPT TO", "the reply code, not the address")
        XCTAssertTrue(metric(bench, #"enrolld_outbox_messages_total{state="failed"} 1"#))
        XCTAssertTrue(metric(bench, #"enrolld_outbox_messages_total{state="retried"} 2"#))
        bench.clock.advance(3600)
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertEqual(sink.refusals.count, 3, "a failed message is not retried by itself")
        XCTAssertEqual(sink.mails.count, 0)
    }

    func testARelayThatIsDownGetsTheMessageOnceItIsBack() throws {
        let sink = try ContactStandIns()
        sink.stop()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        _ = try enrollPending(bench)
        let store = try XCTUnwrap(bench.daemon.enrollment?.store)
        var queued: [OutboxMessageRecord] = []
        let deadline = Date().addingTimeInterval(10)
        while queued.first?.attempts != 1 && Date() < deadline {
            queued = try store.transaction { tx in try tx.outboxMessages(state: .queued, limit: 10) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(queued.first?.attempts, 1, "one failed attempt, queued again")
        XCTAssertNotNil(queued.first?.lastError)
        try sink.start(.accept)
        bench.clock.advance(1.1)
        XCTAssertEqual(sink.wait(for: 1, in: "mail.jsonl").count, 1)
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(sink.mails.count, 1)
    }

    func testAWorkerThatDiedAfterItsClaimLosesTheMessageOnlyUntilItsLeaseEnds() throws {
        let sink = try ContactStandIns()
        sink.stop()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        let worker = try XCTUnwrap(bench.daemon.outbox)
        worker.stop()
        _ = try enrollPending(bench)
        let store = try XCTUnwrap(bench.daemon.enrollment?.store)
        // Another worker claimed it and died (SIGKILL between claim and mark): the message waits for the lease.
        let at = bench.clock.now
        let claimed = try store.transaction { tx in
            try tx.claimOutboxMessages(worker: "dead", at: at, leaseUntil: at.addingTimeInterval(120), limit: 10)
        }
        XCTAssertEqual(claimed.count, 1)
        try sink.start(.accept)
        XCTAssertEqual(worker.runOnce(), 0, "a live lease is respected")
        bench.clock.advance(121)
        XCTAssertEqual(worker.runOnce(), 1)
        XCTAssertEqual(sink.wait(for: 1, in: "mail.jsonl").count, 1)
        XCTAssertEqual(worker.runOnce(), 0, "marked sent: never again")
        XCTAssertEqual(sink.mails.count, 1)
    }

    /// Two daemons of a fleet on one PostgreSQL database, both delivering: one message per activation, not two.
    func testTwoDaemonsOnPostgreSQLSendOneMessagePerActivation() throws {
        let cluster = try PostgresTestCluster()
        defer { cluster.stop() }
        let conninfo = try cluster.newSchema()
        let sink = try ContactStandIns()
        let configuration = try outboxConfiguration(sink)
        let first = try InProcessDaemon(
            extraConfiguration: configuration, openStore: EnrollmentConcurrencyTests.postgres(conninfo))
        let second = try InProcessDaemon(
            extraConfiguration: configuration + "\n[ca]\ndirectory = \(first.configuration.resolvedCADirectory)\n",
            keysOf: first.configuration.stateDirectory, openStore: EnrollmentConcurrencyTests.postgres(conninfo),
            sharesDataKeys: true)
        var pending: [(InProcessDaemon, String, EnrollmentOutcome)] = []
        for (index, person) in ["John_Salley", "John_Savage", "John_Schneider", "John_Shimkus"].enumerated() {
            let bench = index % 2 == 0 ? first : second
            let (session, outcome) = try enrollPending(
                bench, .random(person), contact: ["email": "holder\(index)@example.org"])
            pending.append((bench, session, outcome))
        }
        let mails = sink.wait(for: 4, in: "mail.jsonl")
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(sink.mails.count, 4, "one message per activation")
        XCTAssertEqual(Set(mails.compactMap { ($0["to"] as? [String])?.first }).count, 4)
        // Each code activates on either daemon.
        for (index, (bench, session, outcome)) in pending.enumerated() {
            let mail = try XCTUnwrap(
                sink.mails.first { ($0["to"] as? [String])?.first == "holder\(index)@example.org" })
            let code = try XCTUnwrap(ContactStandIns.code(in: ContactStandIns.body(ofMail: mail)))
            try bench.require(try activate(bench, outcome, session: session, code: code), 200, "activate \(index)")
        }
        let sent = try XCTUnwrap(
            try first.daemon.enrollment?.store.transaction { tx in try tx.outboxMessages(state: .sent, limit: 10) })
        XCTAssertEqual(sent.count, 4)
        XCTAssertTrue(sent.allSatisfy { $0.attempts == 1 })
    }

    // MARK: Attacks (review of issue 24)

    /// A passcode-reset session at the kiosk after the face match: `activation_max_attempts` wrong contact codes,
    /// then a request for a new code. Each new code must not bring new attempts, or the code is guessed by asking
    /// again and again.
    func testNewPasscodeResetCodesDoNotBuyNewAttempts() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(
            extraConfiguration: try outboxConfiguration(sink) + "\n[enrollment]\nactivation_max_attempts = 3\n")
        let holder = TestHolder.random("John_Salley")
        let (session, outcome) = try enrollPending(bench, holder)
        let mail = try XCTUnwrap(sink.wait(for: 1, in: "mail.jsonl").first)
        let code = try XCTUnwrap(ContactStandIns.code(in: ContactStandIns.body(ofMail: mail)))
        try bench.require(try activate(bench, outcome, session: session, code: code), 200, "activate")

        let reset = try bench.decode(
            EnrollmentView.self, try bench.start(holder, purpose: "passcode-reset", accountID: outcome.accountID)
        ).id
        try bench.require(try bench.photo(reset, of: holder.person), 200, "photo")
        func complete(_ contactCode: String) throws -> String {
            bench.problem(
                try bench.call(
                    "POST", "/v1/enrollments/\(reset)/complete",
                    json: EnrollmentCompleteBody(passcode: "2468", contactCode: contactCode)))
        }
        try bench.require(bench.call("POST", "/v1/enrollments/\(reset)/contact-code"), 200, "first code")
        let first = try XCTUnwrap(
            ContactStandIns.code(
                in: ContactStandIns.body(ofMail: try XCTUnwrap(sink.wait(for: 2, in: "mail.jsonl").last))))
        let wrong = first == "000000" ? "111111" : "000000"
        XCTAssertEqual(try complete(wrong), "activation-code-wrong")
        // A new code keeps the count: one wrong entry of it and then the third one spends it.
        try bench.require(bench.call("POST", "/v1/enrollments/\(reset)/contact-code"), 200, "second code")
        let second = try XCTUnwrap(
            ContactStandIns.code(
                in: ContactStandIns.body(ofMail: try XCTUnwrap(sink.wait(for: 3, in: "mail.jsonl").last))))
        let wrongAgain = second == "000000" ? "111111" : "000000"
        XCTAssertEqual(try complete(wrongAgain), "activation-code-wrong")
        XCTAssertEqual(try complete(wrongAgain), "activation-not-pending", "the third wrong entry spends the code")
        // No further code for a day.
        XCTAssertEqual(
            bench.problem(bench.call("POST", "/v1/enrollments/\(reset)/contact-code")), "activation-not-pending")
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(sink.mails.count, 3, "no code was sent after the attempts were used up")
    }

    /// With only SMS configured the code goes to the phone: activating must mark the phone verified, not the e-mail
    /// address that never received anything (a later passcode-reset code would go to it).
    func testActivationVerifiesTheContactTheCodeWentTo() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink, email: false, sms: true))
        let holder = TestHolder.random("John_Salley")
        let (session, outcome) = try enrollPending(
            bench, holder, contact: ["email": "someone.else@example.org", "phone": "+41790000001"])
        let text = try XCTUnwrap(sink.wait(for: 1, in: "sms.jsonl").first, "no SMS arrived")
        let body = try XCTUnwrap(text["body"] as? [String: Any])
        let code = try XCTUnwrap(ContactStandIns.code(in: body["text"] as? String ?? ""))
        try bench.require(try activate(bench, outcome, session: session, code: code), 200, "activate")
        let reset = try bench.decode(
            EnrollmentView.self, try bench.start(holder, purpose: "passcode-reset", accountID: outcome.accountID)
        ).id
        try bench.require(try bench.photo(reset, of: holder.person), 200, "photo")
        // The phone is verified: the reset code goes to it.
        try bench.require(bench.call("POST", "/v1/enrollments/\(reset)/contact-code"), 200, "reset code by SMS")
        XCTAssertEqual(sink.wait(for: 2, in: "sms.jsonl").count, 2)
    }

    /// A second signing completion (an upgrade) while the first still waits for activation: the first held
    /// certificate must end for good, and an expiry of the second must still restore the tier before both, or the
    /// signing tier is kept without any code ever entered.
    func testASecondCompletionWhileOneWaitsCannotKeepTheSigningTierWithoutACode() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        let holder = TestHolder.random("John_Salley")
        let (_, outcome) = try enrollPending(bench, holder)
        let held = try X509Certificate(pem: try XCTUnwrap(outcome.certificatePEM))
        XCTAssertEqual(sink.wait(for: 1, in: "mail.jsonl").count, 1)

        let refused = try bench.start(holder)
        XCTAssertEqual(bench.problem(refused), "identity-already-enrolled")
        let problem = try JSONDecoder().decode(Problem.self, from: Data(refused.body))
        let again = try XCTUnwrap(problem.enrollmentId)
        try bench.require(
            try bench.call(
                "POST", "/v1/enrollments/\(again)/upgrade",
                json: EnrollmentUpgradeBody(upgradeToken: try XCTUnwrap(problem.upgradeToken))), 200, "upgrade")
        try bench.require(try bench.photo(again, of: holder.person), 200, "photo")
        try bench.require(try bench.liveness(again, of: holder.person).answer, 200, "liveness")
        let second = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(bench.complete(again, csr: try InProcessDaemon.makeCSR()), 200, "second completion"))
        XCTAssertEqual(second.activation, "pending-activation")
        XCTAssertEqual(try crlEntry(bench, held)?.reason, .privilegeWithdrawn, "the first held certificate ended")

        bench.clock.advance(15 * 60 + 1)
        try XCTUnwrap(bench.daemon.lifecycle).expireActivations()
        let account = try bench.decode(
            AccountView.self, bench.call("GET", "/v1/accounts/\(outcome.accountID)", as: .operator))
        XCTAssertEqual(account.tier, "basic", "no code was ever entered: back at the tier before both")
    }

    /// A delivered message keeps no recipient and no code: only its delivery record stays in the outbox.
    func testASentMessageKeepsNeitherRecipientNorCode() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        _ = try enrollPending(bench)
        XCTAssertEqual(sink.wait(for: 1, in: "mail.jsonl").count, 1)
        let store = try XCTUnwrap(bench.daemon.enrollment?.store)
        var sent: [OutboxMessageRecord] = []
        let deadline = Date().addingTimeInterval(10)
        while sent.isEmpty && Date() < deadline {
            sent = try store.transaction { tx in try tx.outboxMessages(state: .sent, limit: 10) }
            if sent.isEmpty { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(sent.first?.sealedPayload, [], "the sealed recipient and code are dropped once delivered")
    }

    /// Card and face alone must not remove the second factor of a passcode reset: a kiosk with a fresh holder proof
    /// changes the verified e-mail, and the reset would then need no contact code.
    func testAHolderProofAloneCannotDropTheVerifiedContactThatGuardsThePasscodeReset() throws {
        let sink = try ContactStandIns()
        let bench = try InProcessDaemon(extraConfiguration: try outboxConfiguration(sink))
        let holder = TestHolder.random("John_Salley")
        let (session, outcome) = try enrollPending(bench, holder)
        let mail = try XCTUnwrap(sink.wait(for: 1, in: "mail.jsonl").first)
        let code = try XCTUnwrap(ContactStandIns.code(in: ContactStandIns.body(ofMail: mail)))
        try bench.require(try activate(bench, outcome, session: session, code: code), 200, "activate")
        let proof = [("X-Enrolld-Enrollment", session)]
        let path = "/v1/accounts/\(outcome.accountID)/contact"
        XCTAssertEqual(
            bench.problem(
                try bench.call("PUT", path, json: ["contact": ["email": "attacker@example.net"]], headers: proof)),
            "invalid-contact")
        XCTAssertEqual(
            bench.problem(try bench.call("PUT", path, json: ["contact": ["phone": "+41790000002"]], headers: proof)),
            "invalid-contact", "nor removed")
        // Other fields still change; the verified e-mail kept as it is.
        try bench.require(
            try bench.call(
                "PUT", path, json: ["contact": ["email": "holder@example.org", "language": "pt"]], headers: proof),
            204, "other fields")
        let reset = try bench.decode(
            EnrollmentView.self, try bench.start(holder, purpose: "passcode-reset", accountID: outcome.accountID)
        ).id
        try bench.require(try bench.photo(reset, of: holder.person), 200, "photo")
        XCTAssertEqual(
            bench.problem(
                try bench.call(
                    "POST", "/v1/enrollments/\(reset)/complete", json: EnrollmentCompleteBody(passcode: "2468"))),
            "contact-code-required")
        // An operator can change it (the holder lost the mailbox).
        try bench.require(
            try bench.call("PUT", path, json: ["contact": ["email": "new@example.org"]], as: .operator), 204,
            "operator")
    }
}

/// A flag one thread sets and another reads.
final class ManagedAtomicFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
