import CertificateAuthority
import Foundation
import OpenSSLKit
import IssuingStates
import XCTest

final class IssuanceTests: XCTestCase {
    static let holder = CertificateHolder(
        givenNames: "ANNA<MARIA", surname: "ERIKSSON",
        pseudonym: "PSN-7f3a9c21", issuingState: "UTO")
    static let profile = SigningCertificateProfile(
        policyOIDs: ["1.3.6.1.4.1.99999.1.2", "0.4.0.194112.1.2"],
        crlDistributionPointURL: "http://crl.enrolld.test/signing-ca.crl",
        ocspURL: "http://ocsp.enrolld.test/")

    var directory: URL!
    var authority: IssuingAuthority!
    var openssl: OpenSSLCommandLine!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: directory, subject: CAStoreTests.caSubject)
        authority = try CAStore.load(directory: directory, profile: Self.profile)
        openssl = OpenSSLCommandLine(directory: directory)
    }

    func testIssuedCertificateFollowsTheProfileAndVerifies() throws {
        let csr = try openssl.makeRequest(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let accepted = try authority.checkRequest(csr)
        XCTAssertEqual(accepted.keyDescription, "EC P-256")
        let now = Date()
        let documentExpiry = now + 86_400 * 365 * 8
        let intent = try authority.prepareIssuance(notAfterLimit: documentExpiry, now: now)
        XCTAssertEqual(intent.serialNumber.count, 16)
        let issued = try authority.issue(intent: intent, csr: accepted, holder: Self.holder)
        XCTAssertEqual(issued.serialNumber, intent.serialNumber)
        XCTAssertEqual(issued.certificate.serialNumber, intent.serialNumber)
        try openssl.write(issued.pem, to: "cert.pem")

        let verify = try openssl.run(["verify", "-CAfile", CAStore.certificateFileName, "cert.pem"])
        XCTAssertEqual(verify.status, 0, verify.combined)

        let text = try openssl.run(["x509", "-in", "cert.pem", "-noout", "-text"]).output
        XCTAssertTrue(
            text.range(
                of: #"X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation\n"#,
                options: .regularExpression) != nil, text)
        XCTAssertTrue(
            text.range(
                of: #"X509v3 Basic Constraints: critical\s+CA:FALSE"#,
                options: .regularExpression) != nil, text)
        XCTAssertTrue(text.contains("X509v3 Subject Key Identifier"), text)
        XCTAssertTrue(text.contains("X509v3 Authority Key Identifier"), text)
        XCTAssertTrue(text.contains("Policy: 1.3.6.1.4.1.99999.1.2") && text.contains("Policy: 0.4.0.194112.1.2"), text)
        XCTAssertTrue(text.contains("URI:http://crl.enrolld.test/signing-ca.crl"), text)
        XCTAssertTrue(text.contains("OCSP - URI:http://ocsp.enrolld.test/"), text)
        XCTAssertFalse(text.contains("ignored") || text.contains("Evil Corp"), "the CSR's subject is ignored")

        let subject = try openssl.run(["x509", "-in", "cert.pem", "-noout", "-subject", "-nameopt", "RFC2253"])
        XCTAssertEqual(
            subject.output.trimmingCharacters(in: .whitespacesAndNewlines),
            "subject=serialNumber=PSN-7f3a9c21,CN=ANNA MARIA ERIKSSON,C=UT")
        let serial = try openssl.run(["x509", "-in", "cert.pem", "-noout", "-serial"]).output
        XCTAssertEqual(serial.trimmingCharacters(in: .whitespacesAndNewlines), "serial=" + intent.serialHex)
        XCTAssertEqual(intent.serialHex.count, 32, "128-bit serial")

        let notBefore = try XCTUnwrap(issued.certificate.notBefore)
        let notAfter = try XCTUnwrap(issued.certificate.notAfter)
        XCTAssertLessThanOrEqual(notAfter, documentExpiry)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        XCTAssertEqual(notAfter, calendar.date(byAdding: .year, value: 3, to: notBefore), "3 years by default")
        XCTAssertLessThanOrEqual(abs(notBefore.timeIntervalSince(now)), 1)
    }

    /// RFC 5280 §4.2.2.1 and §4.2.1.13: the OCSP, caIssuers and CRL locations from the configuration are where a
    /// relying party's validator (and OpenSSL's) will look for them; a profile without them writes neither
    /// extension.
    func testStatusLocationsFromTheConfigurationAreWhereRelyingPartiesLook() throws {
        var profile = Self.profile
        profile.caIssuersURL = "http://ca.enrolld.test/signing-ca.der"
        let located = try CAStore.load(directory: directory, profile: profile)
        let accepted = try located.checkRequest(
            try openssl.makeRequest([
                "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ]))
        let issued = try located.issue(
            intent: try located.prepareIssuance(notAfterLimit: Date() + 86_400 * 400),
            csr: accepted, holder: Self.holder)
        XCTAssertEqual(issued.certificate.ocspURLs, ["http://ocsp.enrolld.test/"])
        XCTAssertEqual(issued.certificate.caIssuersURLs, ["http://ca.enrolld.test/signing-ca.der"])
        XCTAssertEqual(issued.certificate.crlDistributionPointURLs, ["http://crl.enrolld.test/signing-ca.crl"])
        XCTAssertEqual(issued.certificate.policyOIDs, ["1.3.6.1.4.1.99999.1.2", "0.4.0.194112.1.2"])
        try openssl.write(issued.pem, to: "located.pem")
        let uri = try openssl.run(["x509", "-in", "located.pem", "-noout", "-ocsp_uri"])
        XCTAssertEqual(uri.output.trimmingCharacters(in: .whitespacesAndNewlines), "http://ocsp.enrolld.test/")

        let bare = try CAStore.load(directory: directory)
        let plain = try bare.issue(
            intent: try bare.prepareIssuance(notAfterLimit: Date() + 86_400 * 400),
            csr: accepted, holder: Self.holder)
        XCTAssertEqual(plain.certificate.ocspURLs, [])
        XCTAssertEqual(plain.certificate.crlDistributionPointURLs, [])
        XCTAssertEqual(plain.certificate.policyOIDs, [])
    }

    func testValidityStopsAtTheDocumentExpiry() throws {
        let accepted = try authority.checkRequest(
            try openssl.makeRequest([
                "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-384",
            ]))
        XCTAssertEqual(accepted.keyDescription, "EC P-384")
        let now = Date()
        let expiry = Date(timeIntervalSince1970: (now + 86_400 * 200).timeIntervalSince1970.rounded(.down))
        let intent = try authority.prepareIssuance(notAfterLimit: expiry, now: now)
        XCTAssertEqual(intent.notAfter, expiry)
        let issued = try authority.issue(intent: intent, csr: accepted, holder: Self.holder)
        XCTAssertEqual(issued.certificate.notAfter, expiry)

        assertThrows({ try self.authority.prepareIssuance(notAfterLimit: now - 86_400, now: now) }) {
            $0 as? CertificateAuthorityError == .documentExpired(notAfterLimit: now - 86_400)
        }
        assertThrows({ try self.authority.prepareIssuance(notAfterLimit: now, now: now) }) {
            guard case .documentExpired = $0 as? CertificateAuthorityError else { return false }
            return true
        }
    }

    func testSerialsAreRandomPositiveAndSixteenBytes() throws {
        var seen = Set<[UInt8]>()
        for _ in 0..<300 {
            let serial = try authority.prepareIssuance(notAfterLimit: Date() + 86_400).serialNumber
            XCTAssertEqual(serial.count, 16)
            XCTAssertTrue((0x01...0x7F).contains(serial[0]), "positive, DER length 16")
            seen.insert(serial)
        }
        XCTAssertEqual(seen.count, 300)
    }

    func testRSARequestsAreAccepted() throws {
        let accepted = try authority.checkRequest(try openssl.makeRequest(["-newkey", "rsa:2048"]))
        XCTAssertEqual(accepted.keyDescription, "RSA-2048")
        let pss = try openssl.makeRequest(
            ["-newkey", "rsa:3072", "-sigopt", "rsa_padding_mode:pss", "-sha384"],
            name: "pss")
        XCTAssertEqual(try authority.checkRequest(pss).keyDescription, "RSA-3072")
    }

    // MARK: - Refused requests

    func testTamperedSignatureIsNoProofOfPossession() throws {
        var der = try openssl.requestDER(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        XCTAssertNoThrow(try authority.checkRequest(der))
        der[der.count - 1] ^= 0x01
        assertThrows({ try self.authority.checkRequest(der) }) {
            $0 as? CertificateAuthorityError == .proofOfPossessionFailed
        }
    }

    func testWeakAndUnsupportedKeysAreRefused() throws {
        let rsa1024 = try openssl.makeRequest(["-newkey", "rsa:1024"], name: "rsa1024")
        assertThrows({ try self.authority.checkRequest(rsa1024) }) {
            $0 as? CertificateAuthorityError == .weakKey("RSA-1024")
        }
        let k1 = try openssl.makeRequest(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"], name: "k1")
        assertThrows({ try self.authority.checkRequest(k1) }) {
            $0 as? CertificateAuthorityError == .unsupportedCurve("secp256k1")
        }
        let p224 = try openssl.makeRequest(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-224"], name: "p224")
        assertThrows({ try self.authority.checkRequest(p224) }) {
            $0 as? CertificateAuthorityError == .weakKey("EC P-224")
                || $0 as? CertificateAuthorityError
                    == .weakKey("EC secp224r1")
        }
        let ed25519 = try openssl.makeRequest(["-newkey", "ed25519"], name: "ed25519")
        assertThrows({ try self.authority.checkRequest(ed25519) }) {
            $0 as? CertificateAuthorityError == .unsupportedKey("ED25519")
        }
        let brainpool = try openssl.makeRequest(
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"],
            name: "bp")
        XCTAssertEqual(try authority.checkRequest(brainpool).keyDescription, "EC brainpoolP256r1")
    }

    func testMalformedAndOversizedRequestsAreRefused() throws {
        let emptyPEM = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
        for garbage: [UInt8] in [[], Array("hello".utf8), [0x30, 0x03, 0x02, 0x01, 0x01], Array(emptyPEM.utf8)] {
            assertThrows({ try self.authority.checkRequest(garbage) }) {
                guard case .requestMalformed = $0 as? CertificateAuthorityError else { return false }
                return true
            }
        }
        let huge = [UInt8](repeating: 0x41, count: SigningRequestPolicy.maximumSize + 1)
        assertThrows({ try self.authority.checkRequest(huge) }) {
            let limit = SigningRequestPolicy.maximumSize
            return $0 as? CertificateAuthorityError == .requestTooLarge(size: huge.count, limit: limit)
        }
        // Trailing bytes after a valid DER request.
        let der = try openssl.requestDER(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        assertThrows({ try self.authority.checkRequest(der + [0x00]) }) {
            guard case .requestMalformed = $0 as? CertificateAuthorityError else { return false }
            return true
        }
    }

    // MARK: - Subject and profile

    func testSubjectFromTheChipNotTheRequest() throws {
        let profile = SigningCertificateProfile()
        let vietnamese = CertificateHolder(
            givenNames: "Văn  An", surname: "Nguyễn", pseudonym: "p1",
            issuingState: "VNM")
        XCTAssertEqual(
            try profile.subject(for: vietnamese).attributes,
            [.init("C", "VN"), .init("CN", "Văn An Nguyễn"), .init("serialNumber", "p1")])
        let unknown = CertificateHolder(givenNames: "", surname: "SOLO", pseudonym: "p2", issuingState: "XXA")
        XCTAssertEqual(
            try profile.subject(for: unknown).attributes,
            [.init("CN", "SOLO"), .init("serialNumber", "p2")], "no C for an unknown state")
        assertThrows({
            try profile.subject(
                for: CertificateHolder(
                    givenNames: " ", surname: "<<", pseudonym: "p",
                    issuingState: "D"))
        }) {
            guard case .invalidSubject = $0 as? CertificateAuthorityError else { return false }
            return true
        }
        assertThrows({
            try profile.subject(
                for: CertificateHolder(
                    givenNames: "A", surname: "B",
                    pseudonym: "L898902C3 / doc", issuingState: "D"))
        }) {
            guard case .invalidSubject = $0 as? CertificateAuthorityError else { return false }
            return true
        }
        assertThrows({
            try profile.subject(
                for: CertificateHolder(
                    givenNames: String(repeating: "A", count: 40),
                    surname: String(repeating: "B", count: 30),
                    pseudonym: "p", issuingState: "D"))
        }) {
            guard case .invalidSubject = $0 as? CertificateAuthorityError else { return false }
            return true
        }

        // The UTF-8 name survives signing.
        let accepted = try authority.checkRequest(
            try openssl.makeRequest([
                "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ]))
        let issued = try authority.issue(
            intent: try authority.prepareIssuance(notAfterLimit: Date() + 86_400 * 900),
            csr: accepted, holder: vietnamese)
        XCTAssertEqual(issued.certificate.subject.value(of: "CN"), "Văn An Nguyễn")
        XCTAssertEqual(issued.certificate.subject.value(of: "C"), "VN")
    }

    func testIssuingStateCodes() {
        let codes = IssuingStateCodes()
        XCTAssertEqual(codes.alpha2(forICAO: "UTO"), "UT")
        XCTAssertEqual(codes.alpha2(forICAO: "HKG"), "HK")
        XCTAssertEqual(codes.alpha2(forICAO: "MAC"), "MO")
        XCTAssertEqual(codes.alpha2(forICAO: "VNM"), "VN")
        XCTAssertEqual(codes.alpha2(forICAO: "D<<"), "DE")
        XCTAssertEqual(codes.alpha2(forICAO: "deu"), "DE")
        XCTAssertEqual(codes.alpha2(forICAO: "FR"), "FR")
        XCTAssertNil(codes.alpha2(forICAO: "UNO"))
        XCTAssertNil(codes.alpha2(forICAO: "EUE"))
        XCTAssertNil(codes.alpha2(forICAO: "ZZZ"))
        XCTAssertNil(codes.alpha2(forICAO: "XXA"), "a nationality code names no country")
        XCTAssertEqual(codes.alpha2(forICAO: "GBD"), "GB")
        XCTAssertEqual(codes.alpha2(forICAO: "ALA"), "AX", "every ISO 3166-1 code is known")
        let custom = IssuingStateCodes(overrides: ["UTO": "", "RKS": "XK"])
        XCTAssertNil(custom.alpha2(forICAO: "UTO"))
        XCTAssertEqual(custom.alpha2(forICAO: "RKS"), "XK")
    }

    func testProfileConfigurationIsValidated() throws {
        for profile in [
            SigningCertificateProfile(validityYears: 0),
            SigningCertificateProfile(policyOIDs: ["1.2.x"]),
            SigningCertificateProfile(crlDistributionPointURL: "ldap://x/y"),
            SigningCertificateProfile(ocspURL: "http://a,b"),
            SigningCertificateProfile(caIssuersURL: "http://a b"),
        ] {
            assertThrows({ try CAStore.load(directory: self.directory, profile: profile) }) {
                guard case .invalidConfiguration = $0 as? CertificateAuthorityError else { return false }
                return true
            }
        }
    }

    func testRecordedIntentRoundTripsThroughItsHexSerial() throws {
        let intent = try authority.prepareIssuance(notAfterLimit: Date() + 86_400 * 400)
        let recorded = try IssuanceIntent(
            serialHex: intent.serialHex, notBefore: intent.notBefore,
            notAfter: intent.notAfter)
        XCTAssertEqual(recorded, intent)
        let csr = try openssl.makeRequest(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let holder = CertificateHolder(name: "JOHN  Q<PUBLIC", pseudonym: "ACCT-0123abcd", issuingState: "HKG")
        let issued = try authority.issue(intent: recorded, csr: csr, holder: holder)
        XCTAssertEqual(issued.serialHex, intent.serialHex)
        XCTAssertEqual(
            issued.certificate.subject.attributes,
            [.init("C", "HK"), .init("CN", "JOHN Q PUBLIC"), .init("serialNumber", "ACCT-0123abcd")])
        assertThrows({ try IssuanceIntent(serialHex: "nothex", notBefore: Date(), notAfter: Date()) }) {
            $0 as? CertificateAuthorityError == .invalidSerial("nothex")
        }
        let short = IssuanceIntent(serialNumber: [0x01, 0x02], notBefore: intent.notBefore, notAfter: intent.notAfter)
        assertThrows({ try self.authority.issue(intent: short, csr: csr, holder: holder) }) {
            guard case .invalidIntent = $0 as? CertificateAuthorityError else { return false }
            return true
        }
    }

    func testErrorCodesSeparateCallerFromCAFaults() {
        XCTAssertEqual(CertificateAuthorityError.proofOfPossessionFailed.code, "csr-proof-of-possession")
        XCTAssertTrue(CertificateAuthorityError.weakKey("RSA-1024").isCallerError)
        XCTAssertTrue(CertificateAuthorityError.documentExpired(notAfterLimit: Date()).isCallerError)
        XCTAssertFalse(CertificateAuthorityError.notInitialised(directory: "/x").isCallerError)
        XCTAssertFalse(CertificateAuthorityError.certificateDoesNotMatchKey.isCallerError)
    }

    func testConcurrentIssuanceFromOneAuthority() throws {
        let csr = try openssl.makeRequest(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let authority = try XCTUnwrap(self.authority)
        let caKey = try authority.certificate.publicKey()
        let results = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: 64) { _ in
            do {
                let intent = try authority.prepareIssuance(notAfterLimit: Date() + 86_400 * 900)
                let issued = try authority.issue(intent: intent, csr: csr, holder: Self.holder)
                results.append(issued.certificate.isSigned(by: caKey) ? issued.serialHex : "bad signature")
            } catch {
                results.append("error \(error)")
            }
        }
        let serials = results.values
        XCTAssertEqual(serials.count, 64)
        XCTAssertEqual(Set(serials).count, 64, serials.filter { $0.count != 32 }.joined(separator: "; "))
        XCTAssertTrue(serials.allSatisfy { $0.count == 32 })
    }

    // MARK: - Benchmark (printed, not asserted)

    func testMeasureIssuancesPerSecond() throws {
        let csr = try openssl.makeRequest(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        for algorithm in CAKeyAlgorithm.allCases {
            let caDirectory = directory.appendingPathComponent("bench-\(algorithm.rawValue)")
            _ = try CAStore.initialise(directory: caDirectory, algorithm: algorithm, subject: CAStoreTests.caSubject)
            let authority = try CAStore.load(directory: caDirectory, profile: Self.profile)
            let count = algorithm == .rsa3072 ? 100 : 200
            let start = Date()
            for _ in 0..<count {
                let accepted = try authority.checkRequest(csr)
                let intent = try authority.prepareIssuance(notAfterLimit: Date() + 86_400 * 2000)
                _ = try authority.issue(intent: intent, csr: accepted, holder: Self.holder)
            }
            let elapsed = Date().timeIntervalSince(start)
            print(
                String(
                    format: "CA benchmark: %@ CA, P-256 CSR: %.0f issuances/s (CSR check + sign, %d in %.2f s)",
                    algorithm.rawValue, Double(count) / elapsed, count, elapsed))
        }
    }
}

/// Results gathered from concurrent work.
final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    func append(_ value: String) { lock.withLock { stored.append(value) } }
    var values: [String] { lock.withLock { stored } }
}
