import CertificateAuthority
import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import UnixHTTP
import VerifierClient
import XCTest

/// A daemon with the verifiers' TLS listener on a free loopback port, a holder whose device is bound, and an
/// approved verifier (client certificate issued by the daemon's CA) allowed names and `age_over_18`.
final class ReleaseBench {
    let bench: InProcessDaemon
    let files: URL
    let listener: VerifierListener
    let holder: TestHolder
    let outcome: EnrollmentOutcome
    let deviceKey: PrivateKey
    var account: String { outcome.accountID }
    /// The listener's TLS certificate (its own CA file for clients).
    let serverCertificate: String
    let caCertificate: String
    let verifier: Credentials
    let foreignCA: X509Certificate
    let foreignCAKey: PrivateKey

    struct Credentials {
        var id: String
        var certificate: String
        var key: String
    }

    init(allowed: [String] = ["given_names", "surname", "age_over_18"]) throws {
        files = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("enrolld-release-\(UUID())")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        let serverKey = try PrivateKey.generate(.p256)
        var builder = CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "localhost"),
            serialNumber: CertificateBuilder.randomSerial(), notBefore: Date().addingTimeInterval(-60),
            notAfter: Date().addingTimeInterval(86_400), publicKey: try serverKey.publicKey())
        builder.extraExtensions = [("subjectAltName", "DNS:localhost,IP:127.0.0.1")]
        let serverCertificatePEM = try builder.sign(key: serverKey).pem
        serverCertificate = files.appendingPathComponent("server.pem").path
        try serverCertificatePEM.write(toFile: serverCertificate, atomically: true, encoding: .utf8)
        let serverKeyFile = files.appendingPathComponent("server.key").path
        try serverKey.pemEncoded().write(toFile: serverKeyFile, atomically: true, encoding: .utf8)
        bench = try InProcessDaemon(
            extraConfiguration: """
                [verifier]
                port = 0
                certificate_file = \(serverCertificate)
                key_file = \(serverKeyFile)
                timeout_seconds = 5
                client_ca_file = \(files.appendingPathComponent("client-cas.pem").path)
                """)
        caCertificate = bench.directory.appendingPathComponent("ca/\(CAStore.certificateFileName)").path
        // Verifiers' certificates may come from our CA or from another CA the bureau trusts.
        foreignCAKey = try PrivateKey.generate(.p256)
        var foreign = CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "Foreign Verifier CA"),
            serialNumber: CertificateBuilder.randomSerial(), notBefore: Date().addingTimeInterval(-60),
            notAfter: Date().addingTimeInterval(86_400), publicKey: try foreignCAKey.publicKey(),
            basicConstraints: (isCA: true, pathLength: 0), keyUsage: [.keyCertSign])
        foreign.includeAuthorityKeyIdentifier = false
        foreignCA = try foreign.sign(key: foreignCAKey)
        try (try String(contentsOfFile: caCertificate, encoding: .utf8) + foreignCA.pem).write(
            toFile: files.appendingPathComponent("client-cas.pem").path, atomically: true, encoding: .utf8)
        listener = try bench.daemon.startVerifierListener()
        deviceKey = try PrivateKey.generate(.p256)
        holder = TestHolder.random("John_Schneider")
        let session = try bench.matchedSession(holder)
        outcome = try bench.decode(
            EnrollmentOutcome.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/enrollments/\(session)/complete",
                    json: EnrollmentCompleteBody(
                        csr: try InProcessDaemon.makeCSR(), deviceId: "phone-a",
                        devicePublicKey: try deviceKey.publicKey().pemEncoded(), deviceLabel: "Phone A")), 200,
                "complete"))
        verifier = try Self.register(bench, files: files, id: "bank-a", allowed: allowed)
    }

    deinit {
        listener.stop()
        try? FileManager.default.removeItem(at: files)
    }

    /// Registers a verifier whose client certificate the daemon's CA issues from a CSR; its files.
    static func register(
        _ bench: InProcessDaemon, files: URL, id: String, allowed: [String]
    ) throws -> Credentials {
        let key = try PrivateKey.generate(.p256)
        let csr = try CertificateSigningRequest.create(
            subject: DistinguishedName(country: "UT", commonName: id), key: key
        ).pem
        let added = try bench.call(
            "POST", "/v1/verifiers",
            json: VerifierAddBody(
                id: id, legalName: "Bank \(id)", elements: allowed, purpose: "account opening", validDays: 30,
                csr: csr), as: .admin)
        guard added.status == 201 else {
            throw DecodeFailure(description: "add verifier: " + String(decoding: added.body, as: UTF8.self))
        }
        let view = try bench.decode(VerifierView.self, added)
        let credentials = Credentials(
            id: id, certificate: files.appendingPathComponent("\(id).pem").path,
            key: files.appendingPathComponent("\(id).key").path)
        try view.certificatePem.write(toFile: credentials.certificate, atomically: true, encoding: .utf8)
        try key.pemEncoded().write(toFile: credentials.key, atomically: true, encoding: .utf8)
        return credentials
    }

    /// A client certificate from the foreign CA (trusted by the listener, registered for no verifier yet).
    func foreignCredentials(_ id: String) throws -> (Credentials, String) {
        let key = try PrivateKey.generate(.p256)
        var builder = CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: id), serialNumber: CertificateBuilder.randomSerial(),
            notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(3600),
            publicKey: try key.publicKey(), keyUsage: [.digitalSignature, .keyAgreement])
        builder.extraExtensions = [("extendedKeyUsage", "clientAuth")]
        let pem = try builder.sign(issuer: foreignCA, key: foreignCAKey).pem
        let credentials = Credentials(
            id: id, certificate: files.appendingPathComponent("\(id).pem").path,
            key: files.appendingPathComponent("\(id).key").path)
        try pem.write(toFile: credentials.certificate, atomically: true, encoding: .utf8)
        try key.pemEncoded().write(toFile: credentials.key, atomically: true, encoding: .utf8)
        return (credentials, pem)
    }

    /// A TLS client presenting `credentials` (none: no client certificate).
    func client(_ credentials: Credentials?) throws -> VerifierClient {
        let context = try TLSContext.client(
            caFile: serverCertificate, certificateFile: credentials?.certificate, keyFile: credentials?.key)
        return VerifierClient(host: "127.0.0.1", port: listener.port, context: context, timeout: 5)
    }

    /// Opens a presentation with the bound device's signature over a fresh nonce.
    func openPresentation() throws -> PresentationQR {
        let nonce = try bench.decode(
            PresentationNonce.self,
            try bench.require(bench.call("POST", "/v1/accounts/\(account)/presentations/nonce"), 200, "nonce"))
        let message = Array("enrolld-presentation-open-v1\n\(account)\n\(nonce.nonce)".utf8)
        let signature = try deviceKey.sign(message, scheme: .ecdsa(.sha256))
        return try bench.decode(
            PresentationQR.self,
            try bench.require(
                bench.call(
                    "POST", "/v1/accounts/\(account)/presentations",
                    json: PresentationOpenBody(
                        deviceId: "phone-a", nonce: nonce.nonce,
                        signature: Data(signature).base64EncodedString())), 201, "open"))
    }

    func keyHeader(_ opened: PresentationQR) -> [(String, String)] {
        [("X-Enrolld-Presentation-Key", opened.presentationKey ?? "")]
    }

    func presentation(_ opened: PresentationQR) throws -> PresentationView {
        try bench.decode(
            PresentationView.self,
            try bench.require(
                bench.call(
                    "GET", "/v1/accounts/\(account)/presentations/\(opened.presentationId)",
                    headers: keyHeader(opened)), 200, "presentation"))
    }

    func refreshed(_ opened: PresentationQR) throws -> PresentationQR {
        try bench.decode(
            PresentationQR.self,
            try bench.require(
                bench.call(
                    "GET", "/v1/accounts/\(account)/presentations/\(opened.presentationId)/qr",
                    headers: keyHeader(opened)), 200, "qr"))
    }

    /// Consents to `elements` of `request`, signed by `key` as device `device`.
    func consent(
        _ opened: PresentationQR, _ request: ReleaseRequestView, elements: [String], key: PrivateKey? = nil,
        device: String = "phone-a"
    ) throws -> HTTPResponse {
        let message = Array("enrolld-consent-v1\n\(request.digest)\n\(elements.joined(separator: ","))".utf8)
        let signature = try (key ?? deviceKey).sign(message, scheme: .ecdsa(.sha256))
        return try bench.call(
            "POST", "/v1/accounts/\(account)/presentations/\(opened.presentationId)/consent",
            json: ConsentBody(
                requestId: request.requestId, elements: elements, deviceId: device,
                signature: Data(signature).base64EncodedString()), headers: keyHeader(opened))
    }

    /// A verifier request over TLS.
    func ask(
        _ token: String, _ elements: [String], as credentials: Credentials? = nil, anonymous: Bool = false
    ) throws -> HTTPResponse {
        try client(anonymous ? nil : credentials ?? verifier).post(
            "/v1/verifier/requests",
            json: VerifierRequestBody(token: token, elements: elements, purpose: "account opening"))
    }

    func usage() throws -> [UsageRecordView] { try bench.usage(account).records }
}

/// Data release by consent, end to end on loopback TLS 1.3 with real client certificates, and its refusals.
final class DataReleaseTests: XCTestCase {
    private var release: ReleaseBench!

    override func setUpWithError() throws {
        release = try ReleaseBench()
    }

    override func tearDown() {
        release = nil
    }

    private func problemCode(_ response: HTTPResponse) -> String { release.bench.problem(response) }

    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let productsDirectory: URL = {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return runner.deletingLastPathComponent()
    }()

    /// Holder opens a presentation → QR image → enroll-verifier decodes it and asks for age_over_18 and the names →
    /// the holder consents to the names only → the verifier gets exactly the names, and `openssl cms` decrypts and
    /// verifies the release; the holder's usage records show request, consent and release.
    func testTheWholeFlowReleasesExactlyWhatTheHolderConsentedTo() throws {
        let tool = Self.productsDirectory.appendingPathComponent("enroll-verifier").path
        guard FileManager.default.isExecutableFile(atPath: tool) else {
            throw XCTSkip("enroll-verifier is not built at \(tool): run swift build")
        }
        let opened = try release.openPresentation()
        let png = release.bench.call(
            "GET", "/v1/accounts/\(release.account)/presentations/\(opened.presentationId)/qr",
            headers: release.keyHeader(opened), query: [("format", "png")])
        XCTAssertEqual(png.status, 200)
        XCTAssertEqual(png.header("Content-Type"), "image/png")
        XCTAssertEqual(Array(png.body.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        let image = release.files.appendingPathComponent("qr.png")
        try Data(png.body).write(to: image)
        let svg = release.bench.call(
            "GET", "/v1/accounts/\(release.account)/presentations/\(opened.presentationId)/qr",
            headers: release.keyHeader(opened), query: [("format", "svg")])
        XCTAssertTrue(String(decoding: svg.body, as: UTF8.self).hasPrefix("<svg"))

        let decoded = try run(tool, ["decode", image.path])
        XCTAssertEqual(decoded.status, 0, decoded.output)
        // zbarimg may complain on stderr of a missing D-Bus; the token is its own line.
        let token = try XCTUnwrap(decoded.output.split(separator: "\n").first { $0.hasPrefix("EP1.") }, decoded.output)
        XCTAssertEqual(token.count, opened.token.count)
        XCTAssertNotEqual(String(token), opened.token, "the image holds the refreshed token")
        XCTAssertFalse(decoded.output.uppercased().contains(release.holder.surname), "no personal data in the QR")

        let out = release.files.appendingPathComponent("release.der").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = [
            "request", "--qr", image.path, "--elements", "age_over_18,given_names,surname",
            "--purpose", "account opening", "--server", "127.0.0.1:\(release.listener.port)",
            "--cert", release.verifier.certificate, "--key", release.verifier.key,
            "--ca", release.serverCertificate, "--release-ca", release.caCertificate, "--wait", "20", "--out", out,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        var pending: ReleaseRequestView?
        for _ in 0..<100 where pending == nil && process.isRunning {
            pending = try release.presentation(opened).requests.first
            if pending == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        let request = try XCTUnwrap(pending, "the verifier's request reached the presentation")
        XCTAssertEqual(request.verifierId, "bank-a")
        XCTAssertEqual(request.elements, ["given_names", "surname", "age_over_18"])
        XCTAssertEqual(request.purpose, "account opening")
        XCTAssertEqual(request.state, "pending")
        let consented = try release.bench.decode(
            ReleaseRequestView.self,
            try release.bench.require(
                try release.consent(opened, request, elements: ["given_names", "surname"]), 200, "consent"))
        XCTAssertEqual(consented.released, ["given_names", "surname"])
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        let lines = output.split(separator: "\n").filter { $0.contains("=") }.map(String.init)
        XCTAssertEqual(lines.map { String($0.split(separator: "=")[0]) }, ["given_names", "surname"], output)
        XCTAssertTrue(lines.contains("surname=\(release.holder.surname)"), output)

        // Standard tools: decrypt with the verifier's key, then verify the daemon's signature to its CA.
        let signed = release.files.appendingPathComponent("signed.der").path
        let decrypt = try run(
            "/usr/bin/openssl",
            [
                "cms", "-decrypt", "-binary", "-inform", "DER", "-in", out, "-recip", release.verifier.certificate,
                "-inkey", release.verifier.key, "-out", signed,
            ])
        XCTAssertEqual(decrypt.status, 0, decrypt.output)
        let document = release.files.appendingPathComponent("document.json").path
        let verify = try run(
            "/usr/bin/openssl",
            [
                "cms", "-verify", "-binary", "-inform", "DER", "-in", signed, "-CAfile", release.caCertificate,
                "-purpose", "any", "-out", document,
            ])
        XCTAssertEqual(verify.status, 0, verify.output)
        let json = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: document))) as? [String: Any])
        XCTAssertEqual(json["verifierId"] as? String, "bank-a")
        XCTAssertEqual(json["requestId"] as? String, request.requestId)
        XCTAssertEqual((json["elements"] as? [String: Any])?.keys.sorted(), ["given_names", "surname"])

        let records = try release.usage()
        let events = records.map(\.event)
        for event in ["presentation-opened", "release-requested", "release-consented", "data-released"] {
            XCTAssertTrue(events.contains(event), "usage records: \(events)")
        }
        let requested = try XCTUnwrap(records.first { $0.event == "release-requested" })
        XCTAssertTrue(requested.detail.contains("bank-a"), requested.detail)
        XCTAssertTrue(requested.detail.contains("given_names,surname,age_over_18"), requested.detail)
        let released = try XCTUnwrap(records.first { $0.event == "data-released" })
        XCTAssertTrue(released.detail.hasSuffix("given_names,surname"), released.detail)
    }

    /// A derived age is released as a yes/no without the birth date.
    func testAgeOverIsReleasedWithoutTheBirthDate() throws {
        let opened = try release.openPresentation()
        let asked = try release.ask(opened.token, ["age_over_18"])
        XCTAssertEqual(asked.status, 201, problemCode(asked))
        let request = try XCTUnwrap(try release.presentation(opened).requests.first)
        try release.bench.require(try release.consent(opened, request, elements: ["age_over_18"]), 200, "consent")
        let status = try release.bench.decode(
            VerifierRequestStatus.self,
            try release.client(release.verifier).get("/v1/verifier/requests/\(request.requestId)"))
        XCTAssertEqual(status.state, "released")
        let envelope = try XCTUnwrap(status.envelope.flatMap { Data(base64Encoded: $0) })
        let opening = try ReleaseOpening.open(
            Array(envelope),
            certificate: try X509Certificate(
                pem: String(contentsOfFile: release.verifier.certificate, encoding: .utf8)),
            key: try PrivateKey(pem: String(contentsOfFile: release.verifier.key, encoding: .utf8)),
            trusted: [try X509Certificate(pem: String(contentsOfFile: release.caCertificate, encoding: .utf8))])
        XCTAssertEqual(opening.elements, ["age_over_18": "true"])
        let document = String(
            decoding: try CMSSignedData.verifiedContent(
                opening.signedData,
                trusted: [try X509Certificate(pem: String(contentsOfFile: release.caCertificate, encoding: .utf8))]),
            as: UTF8.self)
        XCTAssertFalse(document.contains("1980"), document)
    }

    /// No client certificate, or one from no trusted CA: the TLS handshake refuses, no route answers.
    func testAVerifierWithoutAValidClientCertificateIsRefusedByTLS() throws {
        let opened = try release.openPresentation()
        let before = release.listener.handshakeFailures
        XCTAssertThrowsError(try release.ask(opened.token, ["surname"], anonymous: true)) {
            error in
            let text = "\(error)"
            XCTAssertTrue(["TLS", "no answer", "closed"].contains { text.contains($0) }, text)
        }
        let stranger = try PrivateKey.generate(.p256)
        var builder = CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "bank-a"),
            serialNumber: CertificateBuilder.randomSerial(), notBefore: Date().addingTimeInterval(-60),
            notAfter: Date().addingTimeInterval(3600), publicKey: try stranger.publicKey())
        builder.extraExtensions = [("extendedKeyUsage", "clientAuth")]
        let selfSigned = ReleaseBench.Credentials(
            id: "stranger", certificate: release.files.appendingPathComponent("stranger.pem").path,
            key: release.files.appendingPathComponent("stranger.key").path)
        try builder.sign(key: stranger).pem.write(toFile: selfSigned.certificate, atomically: true, encoding: .utf8)
        try stranger.pemEncoded().write(toFile: selfSigned.key, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try release.ask(opened.token, ["surname"], as: selfSigned))
        for _ in 0..<50 where release.listener.handshakeFailures < before + 2 { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertEqual(release.listener.handshakeFailures, before + 2)
        XCTAssertTrue(try release.presentation(opened).requests.isEmpty)
    }

    private func assertRefused(
        _ response: HTTPResponse, _ code: ProblemCode, usage detail: String? = nil, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        XCTAssertEqual(response.status, code.status, problemCode(response), file: file, line: line)
        XCTAssertEqual(problemCode(response), code.code, file: file, line: line)
        guard let detail else { return }
        let refused = try release.usage().filter { $0.event == "release-refused" }
        XCTAssertTrue(
            refused.contains { $0.detail.contains(detail) && $0.outcome == "refused" },
            "no usage record of the refusal (\(detail)): \(refused.map(\.detail))", file: file, line: line)
    }

    func testACertificateOfATrustedCAThatNoVerifierRegisteredIsRefused() throws {
        let opened = try release.openPresentation()
        let (credentials, pem) = try release.foreignCredentials("notary-x")
        try assertRefused(
            try release.ask(opened.token, ["surname"], as: credentials), .verifierCertificateUnknown,
            usage: "verifier-certificate-unknown")
        // Registered by its certificate (another CA's): now it may ask.
        let added = try release.bench.call(
            "POST", "/v1/verifiers",
            json: VerifierAddBody(
                id: "notary-x", legalName: "Notary X", elements: ["surname"], purpose: "deeds", validDays: 30,
                certificate: pem), as: .admin)
        XCTAssertEqual(added.status, 201, problemCode(added))
        XCTAssertEqual(try release.bench.decode(VerifierView.self, added).credential, "registered")
        let asked = try release.ask(opened.token, ["surname"], as: credentials)
        XCTAssertEqual(asked.status, 201, problemCode(asked))
    }

    func testASuspendedVerifierIsRefusedAtOnce() throws {
        let opened = try release.openPresentation()
        try release.bench.require(
            release.bench.call(
                "POST", "/v1/verifiers/bank-a/status", json: VerifierStatusBody(status: "suspended", reason: "audit"),
                as: .admin), 200, "suspend")
        try assertRefused(
            try release.ask(opened.token, ["surname"]), .verifierNotApproved, usage: "verifier-not-approved")
        XCTAssertTrue(try release.presentation(opened).requests.isEmpty)
    }

    func testAnElementTheVerifierIsNotAllowedIsRefused() throws {
        let opened = try release.openPresentation()
        try assertRefused(
            try release.ask(opened.token, ["surname", "document_number"]), .elementNotAllowed,
            usage: "element-not-allowed")
        try assertRefused(try release.ask(opened.token, ["shoe_size"]), .unknownElement, usage: "unknown-element")
    }

    func testAnExpiredOrSupersededTokenIsRefused() throws {
        let first = try release.openPresentation()
        _ = try release.refreshed(first)
        _ = try release.refreshed(first)
        try assertRefused(try release.ask(first.token, ["surname"]), .tokenExpired, usage: "token-expired")
        let current = try release.refreshed(first)
        release.bench.clock.advance(61)
        try assertRefused(try release.ask(current.token, ["surname"]), .tokenExpired, usage: "token-expired")
        // The one before the current still works (the screen may have just changed).
        let previous = try release.refreshed(first)
        _ = try release.refreshed(first)
        let asked = try release.ask(previous.token, ["surname"])
        XCTAssertEqual(asked.status, 201, problemCode(asked))
    }

    func testAReplayedTokenIsRefused() throws {
        let opened = try release.openPresentation()
        XCTAssertEqual(try release.ask(opened.token, ["surname"]).status, 201)
        try assertRefused(try release.ask(opened.token, ["surname"]), .tokenReplayed, usage: "token-replayed")
        var forged = Array(opened.token.utf8)
        forged[forged.count - 3] = forged[forged.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try assertRefused(
            try release.ask(String(decoding: forged, as: UTF8.self), ["surname"]), .tokenInvalid)
    }

    func testNothingIsReleasedWithoutConsent() throws {
        let opened = try release.openPresentation()
        let asked = try release.bench.decode(
            VerifierRequestStatus.self, try release.ask(opened.token, ["surname"]))
        let client = try release.client(release.verifier)
        let status = try release.bench.decode(
            VerifierRequestStatus.self, try client.get("/v1/verifier/requests/\(asked.requestId)"))
        XCTAssertEqual(status.state, "pending")
        XCTAssertNil(status.envelope)
        try assertRefused(
            try client.get("/v1/verifier/requests/\(asked.requestId)/release"), .consentRequired, usage: "no consent")
        // Another verifier cannot read it at all.
        let other = try ReleaseBench.register(release.bench, files: release.files, id: "bank-b", allowed: ["surname"])
        try assertRefused(
            try release.client(other).get("/v1/verifier/requests/\(asked.requestId)"), .releaseRequestNotFound)
    }

    func testAConsentSignedByAnotherDeviceIsRefusedAndOneConsentAnswersOneRequest() throws {
        let opened = try release.openPresentation()
        XCTAssertEqual(try release.ask(opened.token, ["surname"]).status, 201)
        let request = try XCTUnwrap(try release.presentation(opened).requests.first)
        let stranger = try PrivateKey.generate(.p256)
        try assertRefused(
            try release.consent(opened, request, elements: ["surname"], key: stranger), .consentSignatureInvalid,
            usage: "consent signature invalid")
        try assertRefused(
            try release.consent(opened, request, elements: ["surname"], key: stranger, device: "phone-b"),
            .consentSignatureInvalid)
        // Signed over other elements than those sent: refused too.
        let message = Array("enrolld-consent-v1\n\(request.digest)\nsurname,given_names".utf8)
        let signature = try release.deviceKey.sign(message, scheme: .ecdsa(.sha256))
        try assertRefused(
            release.bench.call(
                "POST", "/v1/accounts/\(release.account)/presentations/\(opened.presentationId)/consent",
                json: ConsentBody(
                    requestId: request.requestId, elements: ["surname"], deviceId: "phone-a",
                    signature: Data(signature).base64EncodedString()), headers: release.keyHeader(opened)),
            .consentSignatureInvalid)
        XCTAssertEqual(try release.presentation(opened).requests.first?.state, "pending")
        try release.bench.require(try release.consent(opened, request, elements: ["surname"]), 200, "consent")
        try assertRefused(try release.consent(opened, request, elements: ["surname"]), .consentAlreadyGiven)
    }

    /// A client that trickles its handshake a byte at a time is cut at `timeout_seconds` (5 here), however steadily
    /// it sends; a client that sends nothing too.
    func testAConnectionThatTricklesIsCutAtItsDeadline() throws {
        let client = try release.client(release.verifier)
        let fd = try client.connectSocket()
        defer { close(fd) }
        var time = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var cut = false
        // A TLS record header, then its body byte by byte: never a whole ClientHello.
        var bytes: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00] + [UInt8](repeating: 0x01, count: 40)
        for _ in 0..<40 where !cut {
            let byte = bytes.removeFirst()
            if send(fd, [byte], 1, Int32(MSG_NOSIGNAL)) < 0 {
                cut = true
                break
            }
            var buffer = [UInt8](repeating: 0, count: 64)
            let got = recv(fd, &buffer, buffer.count, 0)
            if got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { cut = true }
        }
        XCTAssertTrue(cut, "the listener kept a trickling connection for 40 s")
    }

    /// Every route of the Unix socket API, sent to the TLS listener by a registered verifier: none is served there.
    func testTheListenerServesOnlyTheVerifierRoutes() throws {
        let client = try release.client(release.verifier)
        let sample = UUID().uuidString
        for route in release.bench.router.routes {
            let path = "/" + route.pattern.map { $0.hasPrefix("{") ? sample : $0 }.joined(separator: "/")
            let answer = try client.send(
                HTTPRequest(method: route.method, path: path, body: route.method == "GET" ? [] : Array("{}".utf8)))
            XCTAssertEqual(answer.status, 404, "\(route.name) answered on the verifiers' listener")
            XCTAssertEqual(problemCode(answer), ProblemCode.notFound.code, route.name)
        }
        let verifierRoutes = [
            ("POST", "/v1/verifier/requests"), ("GET", "/v1/verifier/requests/\(sample)"),
            ("GET", "/v1/verifier/requests/\(sample)/release"),
        ]
        for (method, path) in verifierRoutes {
            let answer = try client.send(
                HTTPRequest(method: method, path: path, body: method == "POST" ? Array("{}".utf8) : []))
            XCTAssertNotEqual(problemCode(answer), ProblemCode.notFound.code, "\(method) \(path)")
        }
        // A forged fingerprint header is replaced by the one of the certificate the handshake saw.
        let other = try ReleaseBench.register(release.bench, files: release.files, id: "bank-c", allowed: ["surname"])
        let forged = try release.client(other).send(
            HTTPRequest(
                method: "GET", path: "/v1/verifier/requests/\(sample)",
                headers: [(VerifierListener.fingerprintHeader, String(repeating: "0", count: 64))]))
        XCTAssertEqual(problemCode(forged), ProblemCode.releaseRequestNotFound.code)
    }

    /// Consent seals a release only for an account that is still normal: one declared lost (`invalid`) after its
    /// holder opened the presentation releases nothing, and the refusal is in the usage log.
    func testAnAccountNoLongerNormalAtConsentReleasesNothing() throws {
        let opened = try release.openPresentation()
        XCTAssertEqual(try release.ask(opened.token, ["surname"]).status, 201)
        let request = try XCTUnwrap(try release.presentation(opened).requests.first)
        try release.bench.require(
            release.bench.call(
                "POST", "/v1/accounts/\(release.account)/status",
                json: StatusChangeBody(status: "invalid", reason: "lost"), as: .operator), 200, "status")
        let answer = try release.consent(opened, request, elements: ["surname"])
        XCTAssertNotEqual(answer.status, 200, "a release was sealed for an account that is not normal")
        XCTAssertEqual(problemCode(answer), ProblemCode.accountNotNormal.code)
        let status = try release.bench.decode(
            VerifierRequestStatus.self,
            try release.client(release.verifier).get("/v1/verifier/requests/\(request.requestId)"))
        XCTAssertEqual(status.state, "pending")
        XCTAssertNil(status.envelope)
    }

    /// A verifier suspended between its request and the holder's consent gets no sealed release (the consent is
    /// refused, with a usage record naming it and the elements); one suspended after the consent cannot fetch the
    /// release, and that refusal is in the usage log too.
    func testAVerifierSuspendedBetweenRequestAndReleaseGetsNothing() throws {
        let opened = try release.openPresentation()
        XCTAssertEqual(try release.ask(opened.token, ["surname"]).status, 201)
        let request = try XCTUnwrap(try release.presentation(opened).requests.first)
        try setVerifier("suspended")
        try assertRefused(
            try release.consent(opened, request, elements: ["surname"]), .verifierNotApproved,
            usage: "bank-a \(request.requestId): surname not released: verifier-not-approved")
        XCTAssertEqual(try release.presentation(opened).requests.first?.state, "pending")
        // Approved again: the holder consents; then suspended before the verifier fetches.
        try setVerifier("approved")
        try release.bench.require(try release.consent(opened, request, elements: ["surname"]), 200, "consent")
        try setVerifier("suspended")
        try assertRefused(
            try release.client(release.verifier).get("/v1/verifier/requests/\(request.requestId)/release"),
            .verifierNotApproved, usage: "bank-a \(request.requestId): surname withheld: verifier-not-approved")
    }

    private func setVerifier(_ status: String) throws {
        try release.bench.require(
            release.bench.call(
                "POST", "/v1/verifiers/bank-a/status", json: VerifierStatusBody(status: status, reason: "audit"),
                as: .admin), 200, status)
    }

    /// Element names a verifier sends reach the holder's usage log only as the catalogue's alphabet: no line break,
    /// no words of its own.
    func testAVerifiersElementNamesCannotWriteIntoTheUsageLog() throws {
        let opened = try release.openPresentation()
        try assertRefused(
            try release.ask(opened.token, ["surname\nrelease-consented bank-a: all"]), .unknownElement,
            usage: "unknown-element")
        let refused = try release.usage().filter { $0.event == "release-refused" }
        XCTAssertFalse(refused.isEmpty)
        for record in refused {
            XCTAssertFalse(record.detail.contains("\n"), record.detail)
            XCTAssertFalse(record.detail.contains("consented bank-a"), record.detail)
        }
    }

    /// A purpose of few characters but many bytes (combining marks) is refused: what a verifier makes the daemon
    /// hold per request is bounded in bytes.
    func testAPurposeOfFewCharactersButManyBytesIsRefused() throws {
        let opened = try release.openPresentation()
        let purpose = "a" + String(repeating: "\u{301}", count: 5_000)
        XCTAssertEqual(purpose.count, 1)
        let answer = try release.client(release.verifier).post(
            "/v1/verifier/requests",
            json: VerifierRequestBody(token: opened.token, elements: ["surname"], purpose: purpose))
        XCTAssertEqual(problemCode(answer), ProblemCode.invalidBody.code)
        XCTAssertTrue(try release.presentation(opened).requests.isEmpty)
    }

    /// One holder cannot fill the daemon's presentations (or nonces) for everyone: opening a fifth closes its
    /// oldest, and a fifth nonce drops its oldest.
    func testOneAccountHoldsAtMostFourPresentationsAndFourNonces() throws {
        let first = try release.openPresentation()
        var later: [PresentationQR] = []
        for _ in 0..<4 { later.append(try release.openPresentation()) }
        let closed = try release.bench.call(
            "GET", "/v1/accounts/\(release.account)/presentations/\(first.presentationId)",
            headers: release.keyHeader(first))
        XCTAssertEqual(problemCode(closed), ProblemCode.holderProofFailed.code, "the oldest presentation stayed open")
        for opened in later { XCTAssertEqual(try release.presentation(opened).presentationId, opened.presentationId) }
        var nonces: [PresentationNonce] = []
        for _ in 0..<5 {
            nonces.append(
                try release.bench.decode(
                    PresentationNonce.self,
                    try release.bench.require(
                        release.bench.call("POST", "/v1/accounts/\(release.account)/presentations/nonce"), 200,
                        "nonce")))
        }
        for (index, nonce) in nonces.enumerated() {
            let message = Array("enrolld-presentation-open-v1\n\(release.account)\n\(nonce.nonce)".utf8)
            let signature = try release.deviceKey.sign(message, scheme: .ecdsa(.sha256))
            let answer = try release.bench.call(
                "POST", "/v1/accounts/\(release.account)/presentations",
                json: PresentationOpenBody(
                    deviceId: "phone-a", nonce: nonce.nonce, signature: Data(signature).base64EncodedString()))
            XCTAssertEqual(answer.status, index == 0 ? 403 : 201, "nonce \(index): \(problemCode(answer))")
        }
    }

    /// The presentation key reads the presentation and refreshes its QR but never consents; and a holder cannot
    /// consent to an element the verifier did not ask for.
    func testThePresentationKeyNeverConsentsAndConsentStaysWithinTheRequest() throws {
        let opened = try release.openPresentation()
        XCTAssertEqual(try release.ask(opened.token, ["surname"]).status, 201)
        let request = try XCTUnwrap(try release.presentation(opened).requests.first)
        let keyOnly = try release.bench.call(
            "POST", "/v1/accounts/\(release.account)/presentations/\(opened.presentationId)/consent",
            json: ConsentBody(requestId: request.requestId), headers: release.keyHeader(opened))
        XCTAssertEqual(problemCode(keyOnly), ProblemCode.holderProofRequired.code)
        try assertRefused(
            try release.consent(opened, request, elements: ["surname", "given_names"]), .elementNotAllowed)
        XCTAssertEqual(try release.presentation(opened).requests.first?.state, "pending")
    }

    /// The listener's bounds: a body over 64 KiB is refused from its Content-Length before it is read, more than 32
    /// header fields are refused, and with `max_connections` connections held one more is closed before any
    /// handshake (and served again once they end).
    func testTheListenerBoundsBodiesHeadersAndConnections() throws {
        let client = try release.client(release.verifier)
        let stream = try client.handshake()
        let head = "POST /v1/verifier/requests HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\n"
        XCTAssertTrue(stream.write(Array(head.utf8)))
        var bytes: [UInt8] = []
        while let chunk = stream.read(), !chunk.isEmpty { bytes += chunk }
        stream.close()
        XCTAssertEqual(try UnixSocketClient.parseResponse(bytes).status, ProblemCode.bodyTooLarge.status)
        let many = try client.send(
            HTTPRequest(
                method: "GET", path: "/v1/verifier/requests/\(UUID())", headers: (0..<40).map { ("x-h\($0)", "v") }))
        XCTAssertEqual(problemCode(many), ProblemCode.headersTooLarge.code)

        let context = try TLSContext.server(
            certificateFile: release.serverCertificate,
            keyFile: release.files.appendingPathComponent("server.key").path,
            clientCAFile: release.files.appendingPathComponent("client-cas.pem").path)
        let small = try VerifierListener(
            address: "127.0.0.1", port: 0, context: context, router: release.bench.daemon.makeVerifierRouter(),
            maxConnections: 2, timeout: 3)
        small.start()
        defer { small.stop() }
        let cappedClient = VerifierClient(
            host: "127.0.0.1", port: small.port,
            context: try TLSContext.client(
                caFile: release.serverCertificate, certificateFile: release.verifier.certificate,
                keyFile: release.verifier.key), timeout: 5)
        let held = try (0..<2).map { _ in try cappedClient.connectSocket() }
        Thread.sleep(forTimeInterval: 0.2)
        let extra = try cappedClient.connectSocket()
        var time = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(recv(extra, &buffer, buffer.count, 0), 0, "a third connection was kept (or timed out)")
        close(extra)
        for fd in held { close(fd) }
        Thread.sleep(forTimeInterval: 0.3)
        let served = try cappedClient.get("/v1/verifier/requests/\(UUID())")
        XCTAssertEqual(problemCode(served), ProblemCode.releaseRequestNotFound.code)
    }

    /// A certificate of the client CA that no verifier registered (a holder's passes the handshake too) writes one
    /// usage record per token, however often it repeats it.
    func testAnUnregisteredCertificateRepeatingATokenWritesOneUsageRecord() throws {
        let opened = try release.openPresentation()
        let (credentials, _) = try release.foreignCredentials("notary-y")
        for _ in 0..<4 {
            try assertRefused(
                try release.ask(opened.token, ["surname"], as: credentials), .verifierCertificateUnknown)
        }
        let records = try release.usage().filter { $0.detail.contains("verifier-certificate-unknown") }
        XCTAssertEqual(records.count, 1, records.map(\.detail).joined(separator: "\n"))
        let next = try release.refreshed(opened)
        try assertRefused(try release.ask(next.token, ["surname"], as: credentials), .verifierCertificateUnknown)
        XCTAssertEqual(try release.usage().filter { $0.detail.contains("verifier-certificate-unknown") }.count, 2)
    }
}
