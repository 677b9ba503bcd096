import CertificateAuthority
import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import UnixHTTP
import XCTest

/// docs/openapi.json against a working daemon (in process, virtual cards, fake faces, its own CA): every route
/// answers successfully at least once and a range of refusals; every answer, body and problem code, is the one
/// the document gives for that route.
final class OpenAPIFlowTests: XCTestCase {
    private var document: OpenAPIDocument!
    private var bench: InProcessDaemon!
    /// Routes that answered 2xx, by operation name.
    private var succeeded: Set<String> = []

    override func setUpWithError() throws {
        document = try OpenAPIDocument.load()
        bench = try InProcessDaemon()
    }

    override func tearDown() {
        bench = nil
    }

    /// Sends a request and checks the answer against the document; returns it.
    @discardableResult
    private func call(
        _ method: String, _ path: String, body: String = "", as caller: InProcessDaemon.Caller = .kiosk,
        headers: [(String, String)] = [], query: [(name: String, value: String)] = [],
        file: StaticString = #filePath, line: UInt = #line
    ) -> HTTPResponse {
        call(method, path, bytes: Array(body.utf8), as: caller, headers: headers, query: query, file: file, line: line)
    }

    @discardableResult
    private func call(
        _ method: String, _ path: String, bytes: [UInt8], as caller: InProcessDaemon.Caller = .kiosk,
        headers: [(String, String)] = [], query: [(name: String, value: String)] = [],
        file: StaticString = #filePath, line: UInt = #line
    ) -> HTTPResponse {
        let response = bench.call(method, path, body: bytes, as: caller, headers: headers, query: query)
        guard let operation = document.operation(method: method, path: path) else {
            XCTFail("\(OpenAPIDocument.path) has no operation for \(method) \(path)", file: file, line: line)
            return response
        }
        XCTAssertEqual(
            document.undocumented(response, by: operation), [],
            "\(OpenAPIDocument.path): \(operation.name)", file: file, line: line)
        if (200..<300).contains(response.status) { succeeded.insert(operation.name) }
        return response
    }

    @discardableResult
    private func call(
        _ method: String, _ path: String, json: some Encodable, as caller: InProcessDaemon.Caller = .kiosk,
        headers: [(String, String)] = [], file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> HTTPResponse {
        let body = String(decoding: try JSONEncoder().encode(json), as: UTF8.self)
        return call(method, path, body: body, as: caller, headers: headers, file: file, line: line)
    }

    private func code(_ response: HTTPResponse) -> String { bench.problem(response) }

    /// Activation, passcode reset by contact and the outbox, on a daemon of their own with an outbox to a loopback
    /// SMTP server (the flow above runs without one).
    private func activationThroughTheContact() throws {
        let sink = try ContactStandIns()
        let before = bench
        defer { bench = before }
        bench = try InProcessDaemon(extraConfiguration: try sink.configuration())
        let holder = TestHolder.random("John_Savage")
        try bench.insertCard(holder)
        func enrollment(_ body: EnrollmentStartBody) throws -> String {
            let started = try call("POST", "/v1/enrollments", json: body)
            XCTAssertEqual(started.status, 201, code(started))
            let session = try bench.decode(EnrollmentView.self, started).id
            try bench.require(try bench.photo(session, of: holder.person), 200, "photo")
            return session
        }
        let session = try enrollment(EnrollmentStartBody(reader: InProcessDaemon.reader, accessKey: holder.accessKey))
        try bench.require(try bench.liveness(session, of: holder.person).answer, 200, "liveness")
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/enrollments/\(session)/complete",
                    json: EnrollmentCompleteBody(csr: try InProcessDaemon.makeCSR(), contact: ["phone": "+41790000001"])
                )),
            "contact-required")
        let completed = try call(
            "POST", "/v1/enrollments/\(session)/complete",
            json: EnrollmentCompleteBody(csr: try InProcessDaemon.makeCSR(), contact: ["email": "holder@example.org"]))
        XCTAssertEqual(completed.status, 200, code(completed))
        let account = try bench.decode(EnrollmentOutcome.self, completed).accountID
        let mail = try XCTUnwrap(sink.wait(for: 1, in: "mail.jsonl").first)
        let activationCode = try XCTUnwrap(ContactStandIns.code(in: ContactStandIns.body(ofMail: mail)))
        let proof = [("X-Enrolld-Enrollment", session)]
        let wrong = activationCode == "000000" ? "111111" : "000000"
        XCTAssertEqual(
            code(try call("POST", "/v1/accounts/\(account)/activate", json: ["code": wrong], headers: proof)),
            "activation-code-wrong")
        XCTAssertEqual(
            try call("POST", "/v1/accounts/\(account)/activate", json: ["code": activationCode], headers: proof)
                .status, 200)
        XCTAssertEqual(
            code(try call("POST", "/v1/accounts/\(account)/activate", json: ["code": activationCode], headers: proof)),
            "activation-not-pending")

        // "Forgot the service passcode": a code to the now verified e-mail, then card and face.
        let reset = try enrollment(
            EnrollmentStartBody(
                reader: InProcessDaemon.reader, accessKey: holder.accessKey, purpose: "passcode-reset",
                accountId: account))
        XCTAssertEqual(
            code(try call("POST", "/v1/enrollments/\(reset)/complete", json: EnrollmentCompleteBody(passcode: "2468"))),
            "contact-code-required")
        XCTAssertEqual(call("POST", "/v1/enrollments/\(reset)/contact-code").status, 200)
        let second = try XCTUnwrap(sink.wait(for: 2, in: "mail.jsonl").last)
        let resetCode = try XCTUnwrap(ContactStandIns.code(in: ContactStandIns.body(ofMail: second)))
        let done = try call(
            "POST", "/v1/enrollments/\(reset)/complete",
            json: EnrollmentCompleteBody(passcode: "2468", contactCode: resetCode))
        XCTAssertEqual(done.status, 200, code(done))

        // The outbox, as an operator sees it; a failed message queued again.
        let listed = try bench.decode(
            OutboxPage.self, call("GET", "/v1/outbox", as: .operator, query: [("state", "sent")]))
        XCTAssertEqual(listed.messages.count, 2)
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(listed), as: UTF8.self).contains("holder@"))
        XCTAssertEqual(
            code(call("GET", "/v1/outbox", as: .operator, query: [("state", "lost")])), "invalid-outbox-state")
        let store = try XCTUnwrap(bench.daemon.enrollment?.store)
        var failed = try XCTUnwrap(try store.transaction { tx in try tx.outboxMessages(state: .sent, limit: 1) }.first)
        XCTAssertEqual(
            code(call("POST", "/v1/outbox/\(failed.id.uuidString)/retry", as: .operator)), "outbox-message-not-failed")
        failed.state = .failed
        try store.transaction { tx in try tx.updateOutboxMessage(failed) }
        XCTAssertEqual(call("POST", "/v1/outbox/\(failed.id.uuidString)/retry", as: .operator).status, 200)
        XCTAssertEqual(
            code(call("POST", "/v1/outbox/\(UUID().uuidString)/retry", as: .operator)), "outbox-message-not-found")
    }

    func testEveryRouteAnswersAsDocumentedThroughAWholeEnrollmentAndItsAccount() throws {
        let reader = InProcessDaemon.reader
        let holder = TestHolder.random("John_Salley")
        try bench.insertCard(holder)
        let portrait = try bench.portrait(holder.person)

        // Service, readers, events.
        call("GET", "/v1/health", as: .nobody)
        call("GET", "/v1/readers")
        call("GET", "/metrics")
        call("GET", "/v1/events")
        XCTAssertEqual(code(call("GET", "/v1/readers", as: .nobody)), "no-role")

        // Cards and faces.
        let read = try call(
            "POST", "/v1/cards/read",
            json: CardReadRequest(reader: reader, accessKey: holder.accessKey, includePortrait: true))
        XCTAssertEqual(read.status, 200, code(read))
        try call("POST", "/v1/cards/probe", json: CardProbeRequest(reader: reader, accessKey: holder.accessKey))
        try call("POST", "/v1/cards/probe", json: CardProbeRequest(reader: reader))
        let elsewhere = try call(
            "POST", "/v1/cards/read",
            json: CardReadRequest(reader: InProcessDaemon.secondReader, accessKey: holder.accessKey))
        XCTAssertEqual(code(elsewhere), "no-card")
        let noReader = try call(
            "POST", "/v1/cards/read",
            json: CardReadRequest(
                reader: "No Such Reader",
                accessKey: holder.accessKey))
        XCTAssertEqual(code(noReader), "reader-not-found")
        var wrongKey = holder.accessKey
        wrongKey.birthDate = "010101"
        XCTAssertEqual(
            code(try call("POST", "/v1/cards/read", json: CardReadRequest(reader: reader, accessKey: wrongKey))),
            "access-key-rejected")
        let compared = try call(
            "POST", "/v1/faces/compare",
            json: FaceCompareRequest(
                reference: Data(portrait).base64EncodedString(),
                probe: Data(FakeFaces.livePhoto(holder.person)).base64EncodedString()))
        XCTAssertEqual(compared.status, 200, code(compared))
        XCTAssertEqual(
            code(try call("POST", "/v1/faces/compare", json: FaceCompareRequest(reference: "AAAA", probe: "AAAB"))),
            "no-face")
        XCTAssertEqual(
            code(try call("POST", "/v1/faces/compare", json: FaceCompareRequest(reference: "AAAA", probe: "AAAA"))),
            "suspected-replay")

        // An enrollment: card, a wrong face, the right face, completion with a CSR.
        let started = try call(
            "POST", "/v1/enrollments",
            json: EnrollmentStartBody(reader: reader, accessKey: holder.accessKey))
        XCTAssertEqual(started.status, 201, code(started))
        let session = try bench.decode(EnrollmentView.self, started).id
        call("GET", "/v1/enrollments/\(session)")
        XCTAssertEqual(code(call("GET", "/v1/enrollments/\(UUID().uuidString)")), "enrollment-not-found")
        let photo = { (person: String) throws -> HTTPResponse in
            try self.call(
                "POST", "/v1/enrollments/\(session)/photo",
                json: EnrollmentPhotoBody(photo: Data(FakeFaces.livePhoto(person)).base64EncodedString()))
        }
        XCTAssertEqual(code(try photo("John_Simm")), "face-mismatch")
        XCTAssertEqual(try photo(holder.person).status, 200)
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/enrollments/\(session)/guardian",
                    json: GuardianCardBody(reader: reader, accessKey: holder.accessKey))),
            "guardian-not-needed")
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/enrollments/\(session)/complete",
                    json: EnrollmentCompleteBody(csr: "not a csr"))), "invalid-csr")
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/enrollments/\(session)/complete",
                    json: EnrollmentCompleteBody(csr: try InProcessDaemon.makeCSR()))), "liveness-required")
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        func burst(_ nonce: String, _ prompts: [String]) -> LivenessBurstBody {
            LivenessBurstBody(
                nonceHex: nonce,
                frames: FakeFaces.livenessFrames(holder.person, prompts: prompts)
                    .enumerated().map {
                        LivenessFrameBody(
                            image: Data($0.element).base64EncodedString(),
                            capturedAt: format.string(
                                from: bench.clock.now.addingTimeInterval(
                                    0.5 + Double($0.offset) * 0.2)))
                    })
        }
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/enrollments/\(session)/liveness",
                    json: burst(String(repeating: "0", count: 32), ["turn-left", "look-up"]))),
            "liveness-challenge-required")
        let issued = call("POST", "/v1/enrollments/\(session)/liveness/challenge")
        XCTAssertEqual(issued.status, 201, code(issued))
        let challenge = try bench.decode(LivenessChallengeResponse.self, issued)
        let live = try call(
            "POST", "/v1/enrollments/\(session)/liveness",
            json: burst(challenge.nonceHex, challenge.prompts))
        XCTAssertEqual(live.status, 200, code(live))
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/enrollments/\(session)/liveness",
                    json: burst(challenge.nonceHex, challenge.prompts))),
            "enrollment-wrong-state", "the step passes once")
        XCTAssertEqual(code(call("POST", "/v1/enrollments/\(session)/liveness/challenge")), "enrollment-wrong-state")
        let deviceKey = try PrivateKey.generate(.p256).publicKey().pemEncoded()
        let completed = try call(
            "POST", "/v1/enrollments/\(session)/complete",
            json: EnrollmentCompleteBody(
                csr: try InProcessDaemon.makeCSR(), contact: ["email": "a@b.c"],
                deviceId: "phone-1", devicePublicKey: deviceKey))
        XCTAssertEqual(completed.status, 200, code(completed))
        let outcome = try bench.decode(EnrollmentOutcome.self, completed)
        let account = outcome.accountID
        XCTAssertEqual(
            code(try call("POST", "/v1/enrollments/\(session)/complete", json: EnrollmentCompleteBody())),
            "enrollment-wrong-state")
        let again = try call(
            "POST", "/v1/enrollments", json: EnrollmentStartBody(reader: reader, accessKey: holder.accessKey))
        XCTAssertEqual(code(again), "identity-already-enrolled")
        // The refusal's token turns that session into the account's upgrade.
        let offer = try JSONDecoder().decode(Problem.self, from: Data(again.body))
        let upgrading = try call(
            "POST", "/v1/enrollments/\(offer.enrollmentId ?? "")/upgrade",
            json: EnrollmentUpgradeBody(upgradeToken: offer.upgradeToken ?? ""))
        XCTAssertEqual(upgrading.status, 200, code(upgrading))

        // The account, as the holder at a kiosk (proof: the session just completed) and as an operator.
        let proof = [("X-Enrolld-Enrollment", session)]
        XCTAssertEqual(call("GET", "/v1/accounts/\(account)", headers: proof).status, 200)
        XCTAssertEqual(code(call("GET", "/v1/accounts/\(account)")), "holder-proof-required")
        XCTAssertEqual(code(call("GET", "/v1/accounts/\(UUID().uuidString)", as: .operator)), "account-not-found")
        // A photo of a card (the committed labelled set) gives its access key.
        let scanned = try call(
            "POST", "/v1/cards/scan",
            json: CardScanRequest(image: try CardScanRouteTests.photo(layout: "td3")))
        XCTAssertEqual(scanned.status, 200, code(scanned))
        let found = try call(
            "POST", "/v1/accounts/lookup",
            json: AccountLookupBody(reader: reader, accessKey: holder.accessKey), as: .operator)
        XCTAssertEqual(try bench.decode(AccountLookup.self, found).accountId, account, "the counter taps the card")
        // The holder married: the new document's surname accepted at the counter.
        var renamed = holder
        renamed.surname = "MARRIED"
        try bench.insertCard(renamed)
        let rename = try call(
            "POST", "/v1/accounts/\(account)/holder-name",
            json: HolderNameChangeBody(
                reader: reader, accessKey: renamed.accessKey, reason: "marriage certificate seen"),
            as: .operator)
        XCTAssertEqual(rename.status, 200, code(rename))
        // Data release by consent: a verifier in the registry, a presentation, a request (sent in process here; the
        // verifiers' TLS listener is DataReleaseTests'), the holder's consent at the kiosk.
        let verifierCSR = try CertificateSigningRequest.create(
            subject: DistinguishedName(country: "UT", commonName: "bank-a"), key: try PrivateKey.generate(.p256)
        ).pem
        let added = try call(
            "POST", "/v1/verifiers",
            json: VerifierAddBody(
                id: "bank-a", legalName: "Bank A", elements: ["surname"], purpose: "account opening", validDays: 30,
                csr: verifierCSR), as: .admin)
        XCTAssertEqual(added.status, 201, code(added))
        XCTAssertEqual(call("GET", "/v1/verifiers", as: .operator).status, 200)
        XCTAssertEqual(call("GET", "/v1/verifiers/bank-a", as: .operator).status, 200)
        XCTAssertEqual(code(call("GET", "/v1/verifiers/bank-z", as: .operator)), "verifier-not-found")
        XCTAssertEqual(call("POST", "/v1/accounts/\(account)/presentations/nonce").status, 200)
        XCTAssertEqual(code(call("POST", "/v1/accounts/\(account)/presentations")), "holder-proof-required")
        let presented = call("POST", "/v1/accounts/\(account)/presentations", headers: proof)
        XCTAssertEqual(presented.status, 201, code(presented))
        let presentation = try bench.decode(PresentationQR.self, presented)
        let presentationPath = "/v1/accounts/\(account)/presentations/\(presentation.presentationId)"
        let qr = call("GET", presentationPath + "/qr", headers: proof)
        XCTAssertEqual(qr.status, 200, code(qr))
        let registered = try XCTUnwrap(bench.daemon.verifierRegistry).verifier(id: "bank-a")
        let asked = try XCTUnwrap(bench.daemon.releases).request(
            VerifierRequestBody(
                token: try bench.decode(PresentationQR.self, qr).token, elements: ["surname"],
                purpose: "account opening"), verifier: registered)
        XCTAssertEqual(call("GET", presentationPath, headers: proof).status, 200)
        let consented = try call(
            "POST", presentationPath + "/consent", json: ConsentBody(requestId: asked.requestId), headers: proof)
        XCTAssertEqual(consented.status, 200, code(consented))
        XCTAssertEqual(
            code(
                try call(
                    "POST", presentationPath + "/consent", json: ConsentBody(requestId: asked.requestId), headers: proof
                )),
            "consent-already-given")
        let suspended = try call(
            "POST", "/v1/verifiers/bank-a/status", json: VerifierStatusBody(status: "suspended"), as: .admin)
        XCTAssertEqual(suspended.status, 200, code(suspended))
        call("GET", "/v1/accounts/\(account)/certificates", headers: proof)
        call("GET", "/v1/accounts/\(account)/devices", headers: proof)
        let otherKey = try PrivateKey.generate(.p256).publicKey().pemEncoded()
        let bound = try call(
            "POST", "/v1/accounts/\(account)/devices",
            json: DeviceBindBody(deviceId: "phone-2", publicKey: otherKey, label: "Phone"), headers: proof)
        XCTAssertEqual(bound.status, 201, code(bound))
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/accounts/\(account)/devices",
                    json: DeviceBindBody(deviceId: "bad id!", publicKey: otherKey), headers: proof)),
            "invalid-device-id")
        XCTAssertEqual(code(call("DELETE", "/v1/accounts/\(account)/devices/phone-2")), "holder-proof-required")
        XCTAssertEqual(call("DELETE", "/v1/accounts/\(account)/devices/phone-2", as: .operator).status, 200)
        XCTAssertEqual(
            code(call("DELETE", "/v1/accounts/\(account)/devices/phone-2", as: .operator)), "device-not-bound")
        XCTAssertEqual(
            call(
                "PUT", "/v1/accounts/\(account)/contact", body: #"{"contact":{"phone":"+41790000001"}}"#,
                headers: proof
            ).status, 204)
        call("GET", "/v1/accounts/\(account)/status-history", headers: proof)
        XCTAssertEqual(
            call(
                "GET", "/v1/accounts/\(account)/usage", headers: proof,
                query: [("limit", "2"), ("since", "2020-01-01")]
            ).status, 200)
        XCTAssertEqual(
            code(call("GET", "/v1/accounts/\(account)/usage", headers: proof, query: [("limit", "0")])),
            "invalid-limit")
        XCTAssertEqual(
            code(call("GET", "/v1/accounts/\(account)/usage", headers: proof, query: [("until", "soon")])),
            "invalid-time")

        // The service passcode.
        call("GET", "/v1/accounts/\(account)/passcode", headers: proof)
        let verify = { (entry: String) throws -> HTTPResponse in
            try self.call("POST", "/v1/accounts/\(account)/passcode/verify", json: PasscodeBody(passcode: entry))
        }
        XCTAssertEqual(code(try verify("1234")), "holder-proof-failed", "a kiosk learns no reason")
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/accounts/\(account)/passcode", json: PasscodeBody(passcode: "12"),
                    headers: proof)), "invalid-passcode")
        XCTAssertEqual(
            try call(
                "POST", "/v1/accounts/\(account)/passcode", json: PasscodeBody(passcode: "2468"),
                headers: proof
            ).status, 200)
        XCTAssertEqual(try verify("2468").status, 200)
        XCTAssertEqual(try verify("1111").status, 403, "a wrong entry")
        XCTAssertEqual(
            code(call("GET", "/v1/accounts/\(account)", headers: [("X-Enrolld-Passcode", "1111")])),
            "holder-proof-failed")
        XCTAssertEqual(
            code(try call("DELETE", "/v1/accounts/\(account)/passcode", json: PasscodeBody())),
            "holder-proof-failed")
        XCTAssertEqual(
            try call("DELETE", "/v1/accounts/\(account)/passcode", json: PasscodeBody(currentPasscode: "2468"))
                .status, 200)

        // Certificates, the CRL, the audit chain.
        let serial = try XCTUnwrap(outcome.certificateSerial)
        XCTAssertEqual(
            code(try call("POST", "/v1/certificates/\(serial)/revoke", json: ["reason": "key-compromise"])),
            "role-required")
        XCTAssertEqual(
            try call(
                "POST", "/v1/certificates/\(serial)/revoke", json: ["reason": "key-compromise"],
                as: .operator
            ).status, 200)
        XCTAssertEqual(
            code(try call("POST", "/v1/certificates/0F0F/revoke", json: ["reason": "superseded"], as: .operator)),
            "certificate-not-found")
        XCTAssertEqual(
            code(try call("POST", "/v1/certificates/\(serial)/revoke", json: ["reason": "lost"], as: .operator)),
            "invalid-reason")
        // Bulk renewal: an admin's; the account's only certificate is revoked, so nothing is renewed.
        XCTAssertEqual(
            code(try call("POST", "/v1/certificates/renewals", json: RenewalRequest(), as: .operator)),
            "role-required")
        XCTAssertEqual(
            code(try call("POST", "/v1/certificates/renewals", json: RenewalRequest(limit: 0), as: .admin)),
            "invalid-limit")
        XCTAssertEqual(try call("POST", "/v1/certificates/renewals", json: RenewalRequest(), as: .admin).status, 200)
        call("GET", "/v1/crl")
        call("GET", "/v1/crl", query: [("format", "der")])
        call("POST", "/v1/audit/verify", as: .operator)

        // A minor, with this holder as guardian.
        try registerMinor(guardian: holder, guardianAccount: account)

        // Identity status.
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/accounts/\(account)/status", json: StatusChangeBody(status: "normal", reason: "x"),
                    as: .operator)), "invalid-status")
        XCTAssertEqual(
            try call(
                "POST", "/v1/accounts/\(account)/status",
                json: StatusChangeBody(status: "cancelled", reason: "card cancelled"), as: .operator
            ).status,
            200)
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/accounts/\(account)/passcode", json: PasscodeBody(passcode: "1357"),
                    as: .operator)), "account-cancelled")

        // The trust store.
        call("GET", "/v1/trust", as: .operator)
        XCTAssertEqual(
            code(try call("POST", "/v1/trust/import", json: TrustImportRequest(data: "AAAA"), as: .admin)),
            "trust-import-refused")
        let csca = Data(bench.pki.csca.certificate.der).base64EncodedString()
        XCTAssertEqual(
            try call("POST", "/v1/trust/import", json: TrustImportRequest(data: csca), as: .admin).status, 200)
        call("POST", "/v1/trust/reload", as: .admin)

        // Certificate status, public (the nginx front's user has no role).
        let issuedPEM = try XCTUnwrap(outcome.certificatePEM)
        let ca = try bench.caCertificate()
        let id = try OCSPCertificateID(certificate: try X509Certificate(pem: issuedPEM), issuer: ca)
        let request = try OCSPRequest.encode(certificateIDs: [id])
        call("POST", "/v1/ocsp", bytes: request, as: .nobody, headers: [("Content-Type", "application/ocsp-request")])
        let url = Data(request).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        call("GET", "/v1/ocsp/" + url, as: .nobody)
        call("GET", "/v1/ca/certificate", as: .nobody)

        // Trust lists: ours exported; another jurisdiction's imported, and its certificate validated.
        XCTAssertEqual(call("POST", "/v1/trust-list/export", as: .admin).status, 200)
        let macao = try OtherJurisdiction()
        let foreign = try macao.issue()
        try bench.pinTrustListSigner(try macao.daemon.caCertificate())
        bench.catchUpClock()
        let imported = try call(
            "POST", "/v1/trust-lists/import",
            json: TrustListImportRequest(
                data: Data(try macao.exportedList()).base64EncodedString(), territory: "MO"), as: .admin)
        XCTAssertEqual(imported.status, 200, code(imported))
        call("GET", "/v1/trust-lists", as: .operator)
        let validated = try call(
            "POST", "/v1/certificates/validate",
            json: CertificateValidationRequest(
                certificate: foreign.pem, intermediates: nil, at: nil))
        XCTAssertEqual(validated.status, 200, code(validated))

        try activationThroughTheContact()

        for operation in document.operations where !succeeded.contains(operation.name) {
            XCTFail("\(operation.name) never answered 2xx here: add a successful call to this test")
        }
    }

    /// A minor's registration with `guardian` (an adult with a normal account) present, as documented.
    private func registerMinor(guardian: TestHolder, guardianAccount: String) throws {
        let reader = InProcessDaemon.reader
        let minor = TestHolder.random("John_Simm", birthDate: Self.birthDate(yearsAgo: 10))
        try bench.insertCard(minor)
        XCTAssertEqual(
            code(
                try call(
                    "POST", "/v1/enrollments",
                    json: EnrollmentStartBody(
                        reader: reader,
                        accessKey: minor.accessKey))),
            "guardian-required")
        let started = try call(
            "POST", "/v1/enrollments",
            json: EnrollmentStartBody(
                reader: reader, accessKey: minor.accessKey,
                guardianAccountId: guardianAccount))
        XCTAssertEqual(started.status, 201, code(started))
        let session = try bench.decode(EnrollmentView.self, started).id
        XCTAssertEqual(
            code(try call("POST", "/v1/enrollments/\(session)/complete", json: EnrollmentCompleteBody())),
            "guardian-not-present")
        try bench.insertCard(guardian, in: InProcessDaemon.secondReader)
        let verified = try call(
            "POST", "/v1/enrollments/\(session)/guardian",
            json: GuardianCardBody(reader: InProcessDaemon.secondReader, accessKey: guardian.accessKey))
        XCTAssertEqual(verified.status, 200, code(verified))
        XCTAssertEqual(
            code(try call("POST", "/v1/enrollments/\(session)/complete", json: EnrollmentCompleteBody())),
            "guardian-not-seen")
        let seen = try call(
            "POST", "/v1/enrollments/\(session)/guardian/photo",
            json: EnrollmentPhotoBody(photo: Data(FakeFaces.livePhoto(guardian.person)).base64EncodedString()))
        XCTAssertEqual(seen.status, 200, code(seen))
        XCTAssertEqual(
            try call("POST", "/v1/enrollments/\(session)/complete", json: EnrollmentCompleteBody()).status, 200)
    }

    /// `YYMMDD` of the day `years` ago.
    static func birthDate(yearsAgo years: Int) -> String {
        let date = Calendar(identifier: .gregorian).date(byAdding: .year, value: -years, to: Date()) ?? Date()
        let formatter = DateFormatter()
        formatter.dateFormat = "yyMMdd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
