import CertificateAuthority
import Foundation
import OpenSSLKit
import Synchronization
import XCTest

/// The OCSP responder checked by the OpenSSL command line as a relying party would (`openssl ocsp -reqout`,
/// `-respin`, `-CAfile`, `-VAfile`), then its cache, refresh, rollover and limits.
final class OCSPResponderTests: XCTestCase {
    var directory: URL!
    var authority: IssuingAuthority!
    var openssl: OpenSSLCommandLine!
    var records: InMemoryCertificateRecords!
    /// Made after the CA, so that the clock never reads a time before the CA certificate's notBefore.
    var clock: TestClock!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: directory, subject: CAStoreTests.caSubject)
        authority = try CAStore.load(directory: directory, profile: IssuanceTests.profile)
        openssl = OpenSSLCommandLine(directory: directory)
        records = InMemoryCertificateRecords()
        clock = TestClock()
    }

    /// Issues a certificate for a fresh `openssl req` key, records it as issued and writes `<name>.pem`.
    func issue(_ name: String) throws -> IssuedCertificate {
        let accepted = try authority.checkRequest(
            try openssl.makeRequest(
                [
                    "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                ], name: name))
        let intent = try authority.prepareIssuance(notAfterLimit: Date() + 86_400 * 1000)
        let issued = try authority.issue(intent: intent, csr: accepted, holder: IssuanceTests.holder)
        try openssl.write(issued.pem, to: "\(name).pem")
        records.set(.issued, serialHex: issued.serialHex)
        return issued
    }

    func makeResponder(_ configuration: OCSPResponder.Configuration = .init()) throws -> OCSPResponder {
        let clock: TestClock = self.clock
        return try OCSPResponder(
            authority: authority, source: records, configuration: configuration,
            now: { clock.now })
    }

    /// `openssl ocsp` makes the request into `<name>.req`; the responder's answer goes to `<name>.resp`.
    func ask(
        _ responder: OCSPResponder, _ arguments: [String], name: String,
        nonce: Bool = false
    ) throws -> OCSPAnswer {
        let made = try openssl.run(
            ["ocsp", "-issuer", CAStore.certificateFileName] + arguments
                + [nonce ? "-nonce" : "-no_nonce", "-reqout", "\(name).req"])
        XCTAssertEqual(made.status, 0, made.combined)
        let request = try [UInt8](Data(contentsOf: directory.appendingPathComponent("\(name).req")))
        let answer = responder.respond(toRequest: request)
        try openssl.write(answer.der, to: "\(name).resp")
        return answer
    }

    /// `openssl ocsp -respin` checking the response with the CA as trust anchor (the delegated chain).
    func check(_ name: String, _ arguments: [String]) throws -> OpenSSLCommandLine.Result {
        try openssl.run(
            [
                "ocsp", "-respin", "\(name).resp", "-issuer", CAStore.certificateFileName,
                "-CAfile", CAStore.certificateFileName, "-resp_text",
            ] + arguments)
    }

    /// `openssl ocsp -reqin -respin`: OpenSSL compares the response's nonce with its request's (with `-cert` it
    /// would build a new request with a new nonce instead).
    func checkNonce(_ name: String) throws -> OpenSSLCommandLine.Result {
        try openssl.run([
            "ocsp", "-reqin", "\(name).req", "-respin", "\(name).resp",
            "-CAfile", CAStore.certificateFileName, "-resp_text",
        ])
    }

    // MARK: What OpenSSL sees

    func testGoodThenRevokedWithReasonAsOpenSSLReadsThem() throws {
        let issued = try issue("holder")
        let responder = try makeResponder()
        let good = try ask(responder, ["-cert", "holder.pem"], name: "good")
        XCTAssertEqual(good.status, .successful)
        XCTAssertEqual(good.source, .fresh, "the first answer for a serial is signed and cached")
        let goodCheck = try check("good", ["-cert", "holder.pem"])
        XCTAssertEqual(goodCheck.status, 0, goodCheck.combined)
        XCTAssertTrue(goodCheck.combined.contains("Response verify OK"), goodCheck.combined)
        XCTAssertTrue(goodCheck.output.contains("holder.pem: good"), goodCheck.output)
        XCTAssertTrue(goodCheck.output.contains("OCSP Response Status: successful (0x0)"), goodCheck.output)
        XCTAssertTrue(goodCheck.output.contains("Responder Id: "), goodCheck.output)
        XCTAssertTrue(goodCheck.output.contains("Next Update:"), goodCheck.output)
        XCTAssertTrue(goodCheck.output.contains("OCSP Signing"), "the delegated certificate is in the response")
        XCTAssertTrue(goodCheck.output.contains("OCSP No Check"), goodCheck.output)

        // Trusting only the responder certificate (`-VAfile`) works too.
        try openssl.write(responder.responderCertificate.pem, to: "responder.pem")
        let direct = try openssl.run([
            "ocsp", "-respin", "good.resp", "-issuer", CAStore.certificateFileName,
            "-cert", "holder.pem", "-VAfile", "responder.pem",
        ])
        XCTAssertEqual(direct.status, 0, direct.combined)
        XCTAssertTrue(
            direct.combined.contains("Response verify OK") && direct.output.contains("holder.pem: good"),
            direct.combined)

        let revokedAt = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 120).rounded(.down))
        records.set(.revoked(at: revokedAt, reason: .keyCompromise), serialHex: issued.serialHex)
        try responder.certificateStatusChanged(serialHex: issued.serialHex)
        let revoked = try ask(responder, ["-cert", "holder.pem"], name: "revoked")
        XCTAssertEqual(revoked.source, .cache, "the revocation hook re-signed the cached entry")
        let revokedCheck = try check("revoked", ["-cert", "holder.pem"])
        XCTAssertEqual(revokedCheck.status, 0, revokedCheck.combined)
        XCTAssertTrue(revokedCheck.output.contains("holder.pem: revoked"), revokedCheck.output)
        XCTAssertTrue(revokedCheck.output.contains("Reason: keyCompromise"), revokedCheck.output)
        XCTAssertTrue(revokedCheck.output.contains("Revocation Time: " + opensslTime(revokedAt)), revokedCheck.output)
    }

    func testAbandonedIntentAnswersRevokedAndNeverIssuedAnswersUnknown() throws {
        let responder = try makeResponder()
        let abandoned = "0A" + String(repeating: "5C", count: 15)
        let at = Date(timeIntervalSince1970: 1_700_000_000)
        records.set(.abandoned(revokedAt: at, reason: .cessationOfOperation), serialHex: abandoned)
        _ = try ask(responder, ["-serial", "0x" + abandoned], name: "abandoned")
        let abandonedCheck = try check("abandoned", ["-serial", "0x" + abandoned])
        XCTAssertEqual(abandonedCheck.status, 0, abandonedCheck.combined)
        XCTAssertTrue(abandonedCheck.output.contains(": revoked"), abandonedCheck.output)
        XCTAssertTrue(abandonedCheck.output.contains("Reason: cessationOfOperation"), abandonedCheck.output)

        let never = "1" + String(repeating: "0", count: 31)
        _ = try ask(responder, ["-serial", "0x" + never], name: "never")
        let neverCheck = try check("never", ["-serial", "0x" + never])
        XCTAssertEqual(neverCheck.status, 0, neverCheck.combined)
        XCTAssertTrue(neverCheck.output.contains(": unknown"), neverCheck.output)
    }

    /// RFC 6960 §4.4.1: a request with a nonce gets a response signed for it that carries the same nonce; OpenSSL
    /// checks it against its request (`-reqin`). The same request twice gets two signatures.
    func testNonceRequestGetsAFreshSignedAnswerEchoingIt() throws {
        _ = try issue("holder")
        let responder = try makeResponder()
        let first = try ask(responder, ["-cert", "holder.pem"], name: "nonce", nonce: true)
        XCTAssertEqual(first.source, .fresh)
        XCTAssertFalse(first.isCacheable)
        let checked = try checkNonce("nonce")
        XCTAssertEqual(checked.status, 0, checked.combined)
        XCTAssertTrue(checked.output.contains("OCSP Nonce"), checked.output)
        XCTAssertFalse(checked.combined.contains("WARNING: no nonce in response"), checked.combined)
        XCTAssertFalse(checked.combined.contains("Nonce Verify error"), checked.combined)
        let request = try OCSPRequest(der: try [UInt8](Data(contentsOf: directory.appendingPathComponent("nonce.req"))))
        let response = try OCSPResponse(der: first.der)
        XCTAssertEqual(response.nonce, request.nonce)
        XCTAssertNotNil(request.nonce)

        let signatures = responder.statistics.signatures
        let again = responder.respond(toRequest: request.der)
        XCTAssertEqual(again.source, .fresh)
        XCTAssertEqual(responder.statistics.signatures, signatures + 1)
        XCTAssertEqual(responder.statistics.cachedResponses, 0, "nonce answers are never cached")

        // A response with another request's nonce is what OpenSSL must refuse: our check is not vacuous.
        _ = try ask(responder, ["-cert", "holder.pem"], name: "other", nonce: true)
        try FileManager.default.removeItem(at: directory.appendingPathComponent("nonce.resp"))
        try FileManager.default.copyItem(
            at: directory.appendingPathComponent("other.resp"),
            to: directory.appendingPathComponent("nonce.resp"))
        let replayed = try checkNonce("nonce")
        XCTAssertTrue(replayed.combined.contains("Nonce Verify error"), replayed.combined)
    }

    // MARK: Cache and refresh

    /// Requests without a nonce are answered from the cache: one signature for any number of them.
    func testRepeatedRequestsAreAnsweredFromTheCacheWithoutSigning() throws {
        let issued = try issue("holder")
        let responder = try makeResponder()
        XCTAssertEqual(try responder.preproduce(serialHexes: [issued.serialHex]), 1)
        XCTAssertEqual(responder.statistics.signatures, 1)
        let id = try OCSPCertificateID(certificate: issued.certificate, issuer: authority.certificate)
        let request = try OCSPRequest.encode(certificateIDs: [id])
        var answers: [OCSPAnswer] = []
        for _ in 0..<50 { answers.append(responder.respond(toRequest: request)) }
        XCTAssertTrue(answers.allSatisfy { $0.source == .cache && $0.der == answers[0].der })
        XCTAssertEqual(responder.statistics.signatures, 1)
        XCTAssertEqual(responder.statistics.cacheHits, 50)
        let headers = Dictionary(answers[0].httpHeaders(now: clock.now + 3600), uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(headers["Content-Type"], "application/ocsp-response")
        XCTAssertEqual(headers["Cache-Control"], "max-age=\(86_400 - 3600), public, no-transform, must-revalidate")
        XCTAssertNotNil(headers["ETag"])
        XCTAssertNotNil(headers["Last-Modified"])
        XCTAssertEqual(
            try OCSPResponse(der: answers[0].der)
                .verify(for: id, issuer: authority.certificate, at: clock.now).status, .good)
    }

    /// Before half the validity has passed nothing is re-signed; after it `refreshDue` re-signs from the records
    /// (which may have changed without the hook, as on another node of a fleet).
    func testRefreshAtHalfValidityReadsTheRecordsAgain() throws {
        let issued = try issue("holder")
        let responder = try makeResponder(.init(responseValidity: 3600))
        try responder.preproduce(serialHexes: [issued.serialHex])
        let id = try OCSPCertificateID(certificate: issued.certificate, issuer: authority.certificate)
        let request = try OCSPRequest.encode(certificateIDs: [id])
        let first = try OCSPResponse(der: responder.respond(toRequest: request).der)

        clock.advance(1700)
        XCTAssertEqual(responder.refreshDue(), 0)
        records.set(.revoked(at: clock.now, reason: .superseded), serialHex: issued.serialHex)
        clock.advance(200)
        XCTAssertEqual(responder.refreshDue(), 1)
        let refreshed = try OCSPResponse(der: responder.respond(toRequest: request).der)
        let single = try refreshed.verify(for: id, issuer: authority.certificate, at: clock.now)
        XCTAssertEqual(single.thisUpdate.timeIntervalSince(first.responses[0].thisUpdate), 1900, accuracy: 1)
        guard case .revoked(_, .superseded) = single.status else { return XCTFail("\(single.status)") }
        XCTAssertEqual(responder.statistics.signatures, 2)
    }

    /// An entry past its refresh time is re-signed on the next request even without the timer.
    func testStaleEntryIsReSignedOnRequest() throws {
        let issued = try issue("holder")
        let responder = try makeResponder(.init(responseValidity: 600))
        let id = try OCSPCertificateID(certificate: issued.certificate, issuer: authority.certificate)
        let request = try OCSPRequest.encode(certificateIDs: [id])
        XCTAssertEqual(responder.respond(toRequest: request).source, .fresh)
        XCTAssertEqual(responder.respond(toRequest: request).source, .cache)
        clock.advance(301)
        XCTAssertEqual(responder.respond(toRequest: request).source, .fresh)
        XCTAssertEqual(responder.respond(toRequest: request).source, .cache)
        XCTAssertEqual(responder.statistics.signatures, 2)
    }

    /// The delegated certificate is replaced at half its validity; responses never outlive the certificate that
    /// signed them, and the new one is another key the CA certified.
    func testResponderCertificateRollsBeforeItExpires() throws {
        let issued = try issue("holder")
        let responder = try makeResponder(.init(responseValidity: 3600, signerValidity: 4 * 3600))
        let firstSigner = responder.responderCertificate
        XCTAssertTrue(firstSigner.isSigned(by: try authority.certificate.publicKey()))
        XCTAssertEqual(firstSigner.extendedKeyUsageOIDs, ["1.3.6.1.5.5.7.3.9"])
        XCTAssertTrue(firstSigner.hasOCSPNoCheck)
        let lifetime = try XCTUnwrap(firstSigner.notAfter).timeIntervalSince(try XCTUnwrap(firstSigner.notBefore))
        XCTAssertEqual(lifetime, 4 * 3600 + 60, accuracy: 1, "four hours, from a minute before issuance")

        try responder.preproduce(serialHexes: [issued.serialHex])
        clock.advance(2 * 3600)
        responder.refreshDue()
        let secondSigner = responder.responderCertificate
        XCTAssertNotEqual(secondSigner, firstSigner)
        XCTAssertNotEqual(try secondSigner.publicKey().derEncoded(), try firstSigner.publicKey().derEncoded())
        XCTAssertEqual(responder.statistics.signerRollovers, 1)
        let id = try OCSPCertificateID(certificate: issued.certificate, issuer: authority.certificate)
        let request = try OCSPRequest.encode(certificateIDs: [id])
        let response = try OCSPResponse(der: responder.respond(toRequest: request).der)
        XCTAssertEqual(response.certificates, [secondSigner])
        let single = try response.verify(for: id, issuer: authority.certificate, at: clock.now)
        XCTAssertLessThanOrEqual(try XCTUnwrap(single.nextUpdate), try XCTUnwrap(secondSigner.notAfter))
    }

    // MARK: Unhappy paths and limits

    /// Attack: requests for many different serials (issued or never issued) cannot grow the cache past its
    /// capacity (plus the shards' slack).
    func testCacheStaysWithinItsCapacity() throws {
        let responder = try makeResponder(
            .init(
                cacheCapacity: 64, unknownCacheCapacity: 32,
                freshSignatureConcurrency: 4))
        for index in 0..<1200 {
            let serial = [UInt8(0x10 + index % 64), UInt8(index >> 8), UInt8(index & 0xFF)]
            if index % 2 == 0 { records.set(.issued, serialHex: serial.map { String(format: "%02X", $0) }.joined()) }
            let id = try OCSPCertificateID(serialNumber: serial, issuer: authority.certificate)
            let request = try OCSPRequest.encode(certificateIDs: [id])
            XCTAssertEqual(responder.respond(toRequest: request).status, .successful)
        }
        let statistics = responder.statistics
        XCTAssertLessThanOrEqual(statistics.cachedResponses, 64 / 32 * 5 / 4 * 32 + 16 * 32)
        XCTAssertGreaterThan(statistics.cachedResponses, 0)
        XCTAssertEqual(statistics.signatures, 1200, "every new serial costs one signature, none is answered twice")
    }

    func testBadRequestsGetErrorStatusesThatOpenSSLReads() throws {
        let responder = try makeResponder()
        XCTAssertEqual(responder.respond(toRequest: Array("GET / HTTP/1.1\r\n".utf8)).status, .malformedRequest)
        XCTAssertEqual(responder.respond(toRequest: []).status, .malformedRequest)
        XCTAssertEqual(responder.respond(toRequest: [UInt8](repeating: 0x30, count: 5000)).status, .malformedRequest)
        try openssl.write(responder.respond(toRequest: [0x30, 0x00]).der, to: "error.resp")
        let read = try openssl.run(["ocsp", "-respin", "error.resp", "-resp_text"])
        XCTAssertTrue(read.combined.contains("Responder Error: malformedrequest (1)"), read.combined)

        // A certificate of another CA: not ours to answer for (RFC 5019 §2.2.3).
        let other = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: other, subject: DistinguishedName(country: "UT", commonName: "Other CA"))
        let stranger = try CAStore.load(directory: other)
        let foreign = try OCSPCertificateID(serialNumber: [0x01, 0x02, 0x03], issuer: stranger.certificate)
        XCTAssertEqual(
            responder.respond(toRequest: try OCSPRequest.encode(certificateIDs: [foreign])).status,
            .unauthorized)

        // RFC 8954 §2.1: a nonce longer than 32 bytes is refused.
        let ours = try OCSPCertificateID(serialNumber: [0x01, 0x02, 0x03], issuer: authority.certificate)
        let longest = try Self.requestWithNonce(ours, [UInt8](repeating: 7, count: 32))
        XCTAssertEqual(longest, try OCSPRequest.encode(certificateIDs: [ours], nonce: [UInt8](repeating: 7, count: 32)))
        XCTAssertEqual(responder.respond(toRequest: longest).status, .successful)
        let tooLong = try Self.requestWithNonce(ours, [UInt8](repeating: 7, count: 33))
        XCTAssertEqual(responder.respond(toRequest: tooLong).status, .malformedRequest)
        XCTAssertEqual(responder.statistics.errors, 6)
    }

    func testRecordsUnavailableAnswersTryLaterThenRecovers() throws {
        let issued = try issue("holder")
        let responder = try makeResponder()
        let id = try OCSPCertificateID(certificate: issued.certificate, issuer: authority.certificate)
        let request = try OCSPRequest.encode(certificateIDs: [id])
        records.isAvailable = false
        XCTAssertEqual(responder.respond(toRequest: request).status, .tryLater)
        XCTAssertThrowsError(try responder.certificateStatusChanged(serialHex: issued.serialHex))
        records.isAvailable = true
        XCTAssertEqual(responder.respond(toRequest: request).status, .successful)
        // Once cached, an outage no longer matters until the entry is due for refresh.
        records.isAvailable = false
        XCTAssertEqual(responder.respond(toRequest: request).source, .cache)
    }

    /// RFC 6960 Appendix A.1: GET carries the base64 DER, percent-encoded; base64url is accepted too.
    func testGETPathForms() throws {
        let issued = try issue("holder")
        let responder = try makeResponder()
        let id = try OCSPCertificateID(certificate: issued.certificate, issuer: authority.certificate)
        let der = try OCSPRequest.encode(certificateIDs: [id])
        let base64 = Data(der).base64EncodedString()
        let percent = base64.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let url = base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let direct = responder.respond(toRequest: der)
        for form in [base64, percent, url] {
            let answer = responder.respond(toEncodedRequest: form)
            XCTAssertEqual(answer.status, .successful, form)
            XCTAssertEqual(answer.der, direct.der, form)
        }
        XCTAssertEqual(responder.respond(toEncodedRequest: "not base64!").status, .malformedRequest)
        XCTAssertEqual(
            responder.respond(toEncodedRequest: String(repeating: "A", count: 10_000)).status,
            .malformedRequest)
    }

    /// Attack: many concurrent nonce requests cannot make the responder sign more than its limit at once; the
    /// excess gets the cached answer (without the nonce), never an unbounded signing queue.
    func testFreshSignaturesAreBoundedUnderConcurrency() throws {
        let issued = try issue("holder")
        let responder = try makeResponder(.init(freshSignatureConcurrency: 1))
        try responder.preproduce(serialHexes: [issued.serialHex])
        let id = try OCSPCertificateID(certificate: issued.certificate, issuer: authority.certificate)
        let sources = Mutex<[OCSPAnswer.Source]>([])
        DispatchQueue.concurrentPerform(iterations: 400) { index in
            let nonce = withUnsafeBytes(of: UInt64(index + 1)) { Array($0) }
            guard let request = try? OCSPRequest.encode(certificateIDs: [id], nonce: nonce) else { return }
            let answer = responder.respond(toRequest: request)
            sources.withLock { $0.append(answer.source) }
        }
        let all = sources.withLock { $0 }
        XCTAssertEqual(all.count, 400)
        XCTAssertTrue(all.allSatisfy { $0 == .fresh || $0 == .cache })
        XCTAssertEqual(responder.statistics.signatures, 1 + all.filter { $0 == .fresh }.count)
    }

    // MARK: Helpers

    /// A request with a nonce of any length (our encoder refuses more than 32 bytes, as it should).
    static func requestWithNonce(_ id: OCSPCertificateID, _ nonce: [UInt8]) throws -> [UInt8] {
        func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
            precondition(content.count < 0x80)
            return [tag, UInt8(content.count)] + content
        }
        let nonceOID: [UInt8] = [0x06, 0x09, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02]
        let ext = tlv(0x30, nonceOID + tlv(0x04, tlv(0x04, nonce)))
        let tbs = tlv(0x30, tlv(0x30, tlv(0x30, id.der)) + tlv(0xA2, tlv(0x30, ext)))
        return tlv(0x30, tbs)
    }

    /// How `openssl ocsp -resp_text` prints a time: `Nov 14 22:13:20 2023 GMT`.
    func opensslTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy 'GMT'"
        let text = formatter.string(from: date)
        // OpenSSL pads the day to two characters with a space.
        let parts = text.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return text }
        let rest = String(parts[1])
        let day = rest.prefix { $0 != " " }
        return "\(parts[0]) \(day.count == 1 ? " " + day : day)\(rest.dropFirst(day.count))"
    }
}

/// A clock the tests move by hand.
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}
