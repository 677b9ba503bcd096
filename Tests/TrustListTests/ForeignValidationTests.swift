import CertificateAuthority
import Foundation
import OpenSSLKit
import Synchronization
import TrustList
import UnixHTTP
import XCTest

/// A second jurisdiction publishing its OCSP responder and CRL over HTTP on loopback (TCP, served by UnixHTTP's
/// server on an adopted listening socket), and our validator checking its certificates through its trust list.
final class ForeignValidationTests: XCTestCase {
    func testCertificateOfAnotherJurisdictionValidatesThroughItsListAndNotOnceRevoked() throws {
        let server = try LoopbackStatusServer()
        defer { server.stop() }
        let macao = try Jurisdiction(territory: "MO", name: "Macao", statusBase: server.base, testCase: self)
        server.serve(macao)
        let issued = try macao.issue()
        let imported = try TrustListImport.verify(
            try macao.signedList(), signers: [macao.authority.certificate],
            territory: "MO")
        let validator = ForeignCertificateValidator(lists: [imported], fetcher: HTTPStatusFetcher(timeout: 2))

        let validation = try validator.validate(issued.certificate)
        XCTAssertEqual(validation.territory, "MO")
        XCTAssertEqual(validation.service, "MO signing certificates for natural persons")
        XCTAssertEqual(validation.statusSource, .ocsp(server.base + "/ocsp"))
        XCTAssertEqual(validation.path.last, macao.authority.certificate)
        XCTAssertEqual(validation.matchedPolicies, ["1.3.6.1.4.1.99999.22.1"])
        XCTAssertEqual(server.requests(), ["POST /ocsp"])

        try macao.revoke(issued, reason: .keyCompromise)
        XCTAssertThrowsError(try validator.validate(issued.certificate)) {
            guard case let .revoked(_, reason, source) = $0 as? ForeignValidationError else { return XCTFail("\($0)") }
            XCTAssertEqual(reason, .keyCompromise)
            XCTAssertEqual(source, .ocsp(server.base + "/ocsp"))
        }
        // Another certificate of the same CA is still fine.
        XCTAssertNoThrow(try validator.validate(try macao.issue().certificate))
    }

    func testCRLIsUsedWhenTheCertificateNamesNoResponder() throws {
        let server = try LoopbackStatusServer()
        defer { server.stop() }
        let hongKong = try Jurisdiction(
            territory: "HK", name: "Hong Kong", statusBase: server.base, ocsp: false,
            testCase: self)
        server.serve(hongKong)
        let issued = try hongKong.issue()
        XCTAssertEqual(issued.certificate.ocspURLs, [])
        let imported = try TrustListImport.verify(try hongKong.signedList(), signers: [hongKong.authority.certificate])
        let validator = ForeignCertificateValidator(lists: [imported], fetcher: HTTPStatusFetcher(timeout: 2))
        XCTAssertEqual(try validator.validate(issued.certificate).statusSource, .crl(server.base + "/crl"))
        try hongKong.revoke(issued, reason: .affiliationChanged)
        XCTAssertThrowsError(try validator.validate(issued.certificate)) {
            guard case let .revoked(_, reason, .crl) = $0 as? ForeignValidationError else { return XCTFail("\($0)") }
            XCTAssertEqual(reason, .affiliationChanged)
        }
    }

    /// The responder is down: the CRL answers instead; with neither, the answer is "unavailable", never "good".
    func testOCSPOutageFallsBackToTheCRLAndNothingMeansUnavailable() throws {
        let server = try LoopbackStatusServer()
        defer { server.stop() }
        let macao = try Jurisdiction(territory: "MO", name: "Macao", statusBase: server.base, testCase: self)
        server.serve(macao)
        let issued = try macao.issue()
        let imported = try TrustListImport.verify(try macao.signedList(), signers: [macao.authority.certificate])
        server.failing = ["/ocsp"]
        let validator = ForeignCertificateValidator(lists: [imported], fetcher: HTTPStatusFetcher(timeout: 2))
        XCTAssertEqual(try validator.validate(issued.certificate).statusSource, .crl(server.base + "/crl"))
        server.failing = ["/ocsp", "/crl"]
        XCTAssertThrowsError(try validator.validate(issued.certificate)) {
            guard case let .statusUnavailable(reasons) = $0 as? ForeignValidationError else { return XCTFail("\($0)") }
            XCTAssertEqual(reasons.count, 2, "\(reasons)")
            XCTAssertTrue(reasons[0].contains("HTTP 503"), "\(reasons)")
        }
    }

    func testPathsServicesAndPoliciesAreChecked() throws {
        let server = try LoopbackStatusServer()
        defer { server.stop() }
        let macao = try Jurisdiction(territory: "MO", name: "Macao", statusBase: server.base, testCase: self)
        server.serve(macao)
        let issued = try macao.issue()
        let stranger = try Jurisdiction(territory: "MO", name: "Macao", statusBase: server.base, testCase: self)
        let strangers = try stranger.issue()
        let anchor = [macao.authority.certificate]
        let fetcher = HTTPStatusFetcher(timeout: 2)

        let granted = try TrustListImport.verify(try macao.signedList(), signers: anchor)
        let validator = ForeignCertificateValidator(lists: [granted], fetcher: fetcher)
        XCTAssertThrowsError(try validator.validate(strangers.certificate)) {
            XCTAssertEqual(($0 as? ForeignValidationError)?.code, "foreign-no-trusted-service")
        }
        XCTAssertThrowsError(try validator.validate(macao.authority.certificate)) {
            XCTAssertEqual($0 as? ForeignValidationError, .isServiceCertificate)
        }
        XCTAssertThrowsError(try ForeignCertificateValidator(lists: [], fetcher: fetcher).validate(issued.certificate))

        let withdrawn = try TrustListImport.verify(
            try macao.signedList(sequence: 2, status: .withdrawn),
            signers: anchor)
        XCTAssertThrowsError(
            try ForeignCertificateValidator(lists: [withdrawn], fetcher: fetcher)
                .validate(issued.certificate)
        ) {
            XCTAssertEqual(($0 as? ForeignValidationError)?.code, "foreign-service-not-trusted")
        }

        // Listed under another policy than the certificates carry.
        var list = macao.list(sequence: 3)
        list.providers[0].services[0].policyOIDs = ["1.3.6.1.4.1.99999.22.9"]
        let otherPolicy = try TrustListImport.verify(
            try TrustListExport.signedXML(list, signer: macao.trustListSigner),
            signers: anchor)
        XCTAssertThrowsError(
            try ForeignCertificateValidator(lists: [otherPolicy], fetcher: fetcher)
                .validate(issued.certificate)
        ) {
            XCTAssertEqual(($0 as? ForeignValidationError)?.code, "foreign-policy-not-accepted")
        }

        // Granted only since after the certificate was issued.
        var late = macao.list(sequence: 4)
        late.providers[0].services[0].statusStartingTime = Date() + 1
        let lateList = try TrustListImport.verify(
            try TrustListExport.signedXML(late, signer: macao.trustListSigner),
            signers: anchor)
        XCTAssertThrowsError(
            try ForeignCertificateValidator(lists: [lateList], fetcher: fetcher)
                .validate(issued.certificate, at: Date() + 2)
        ) {
            XCTAssertEqual(($0 as? ForeignValidationError)?.code, "foreign-issued-while-not-trusted")
        }
        XCTAssertEqual(server.requests().count, 0, "no status location is asked before the path and service pass")
    }

    /// Attack: a man in the middle answers the other CA's OCSP and CRL URLs with material of a CA it controls;
    /// neither is accepted, so the status is unavailable rather than good.
    func testStatusSignedByAnotherCAIsNotAccepted() throws {
        let server = try LoopbackStatusServer()
        defer { server.stop() }
        let macao = try Jurisdiction(territory: "MO", name: "Macao", statusBase: server.base, testCase: self)
        let forger = try Jurisdiction(territory: "MO", name: "Macao", statusBase: server.base, testCase: self)
        server.serve(forger)
        let issued = try macao.issue()
        forger.records.set(.issued, serialHex: issued.serialHex)
        let imported = try TrustListImport.verify(try macao.signedList(), signers: [macao.authority.certificate])
        XCTAssertThrowsError(
            try ForeignCertificateValidator(lists: [imported], fetcher: HTTPStatusFetcher(timeout: 2))
                .validate(issued.certificate)
        ) {
            guard case let .statusUnavailable(reasons) = $0 as? ForeignValidationError else { return XCTFail("\($0)") }
            XCTAssertEqual(reasons.count, 2, "\(reasons)")
        }
    }

    func testFetcherRefusesWhatItShouldNotFetch() throws {
        let fetcher = HTTPStatusFetcher(timeout: 1, allowedHosts: ["127.0.0.1"])
        for url in [
            "https://127.0.0.1/ocsp", "http://user:pw@127.0.0.1/crl", "http://evil.example/crl", "ftp://x/y",
            "not a url",
        ] {
            XCTAssertThrowsError(try fetcher.fetchCRL(from: url), url)
        }
        let server = try LoopbackStatusServer()
        defer { server.stop() }
        server.redirect = true
        XCTAssertThrowsError(try fetcher.fetchCRL(from: server.base + "/crl")) {
            XCTAssertTrue("\($0)".contains("HTTP 302"), "\($0)")
        }
        server.redirect = false
        server.payload = [UInt8](repeating: 0x41, count: 70 * 1024)
        XCTAssertThrowsError(try fetcher.postOCSPRequest([0x30, 0x00], to: server.base + "/ocsp")) {
            XCTAssertTrue("\($0)".contains("larger than"), "\($0)")
        }
        XCTAssertEqual(try fetcher.fetchCRL(from: server.base + "/crl").count, 70 * 1024)
    }
}

/// An HTTP server on 127.0.0.1 (an ephemeral port) that answers `/ocsp` and `/crl` for a jurisdiction.
final class LoopbackStatusServer: @unchecked Sendable {
    // @unchecked: every mutable field is behind `lock`.
    private var server: UnixSocketServer?
    let port: UInt16
    var base: String { "http://127.0.0.1:\(port)" }
    private let lock = NSLock()
    private var jurisdiction: Jurisdiction?
    private var log: [String] = []
    private var failingPaths: [String] = []
    private var redirecting = false
    private var fixed: [UInt8]?

    var failing: [String] {
        get { lock.withLock { failingPaths } }
        set { lock.withLock { failingPaths = newValue } }
    }
    var redirect: Bool {
        get { lock.withLock { redirecting } }
        set { lock.withLock { redirecting = newValue } }
    }
    var payload: [UInt8]? {
        get { lock.withLock { fixed } }
        set { lock.withLock { fixed = newValue } }
    }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0, listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else {
            close(fd)
            throw TestError("bind/listen on loopback")
        }
        port = UInt16(bigEndian: address.sin_port)
        let server = UnixSocketServer(listeningDescriptor: fd) { [weak self] request, connection in
            connection.respond(self?.answer(request) ?? HTTPResponse(status: 500))
        }
        server.start()
        self.server = server
    }

    func serve(_ jurisdiction: Jurisdiction) { lock.withLock { self.jurisdiction = jurisdiction } }
    func requests() -> [String] { lock.withLock { log } }
    func stop() { server?.stop() }

    private func answer(_ request: HTTPRequest) -> HTTPResponse {
        let (jurisdiction, failing, redirect, fixed) = lock.withLock {
            () -> (Jurisdiction?, [String], Bool, [UInt8]?) in
            log.append("\(request.method) \(request.path)")
            return (self.jurisdiction, failingPaths, redirecting, self.fixed)
        }
        if redirect { return HTTPResponse(status: 302, headers: [("Location", "http://127.0.0.1:9/")]) }
        if let fixed { return HTTPResponse(status: 200, body: fixed) }
        if failing.contains(where: { request.path.hasPrefix($0) }) { return HTTPResponse(status: 503) }
        guard let jurisdiction else { return HTTPResponse(status: 404) }
        if request.method == "POST", request.path == "/ocsp" {
            let answer = jurisdiction.responder.respond(toRequest: request.body)
            return HTTPResponse(status: 200, headers: answer.httpHeaders(), body: answer.der)
        }
        if request.method == "GET", request.path == "/crl" {
            let crl = jurisdiction.crl.current
            return HTTPResponse(status: 200, headers: crl.httpHeaders(der: true), body: crl.der)
        }
        return HTTPResponse(status: 404)
    }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
