import CertificateAuthority
import Foundation
import OpenSSLKit
import XCTest

final class CAStoreTests: XCTestCase {
    static let caSubject = DistinguishedName(
        country: "UT", organization: "enrolld test",
        commonName: "enrolld Test Signing CA")

    func testInitialiseWritesProtectedEncryptedFilesForEachAlgorithm() throws {
        for algorithm in CAKeyAlgorithm.allCases {
            let base = try makeTemporaryDirectory(self)
            let directory = base.appendingPathComponent("ca")
            let outcome = try CAStore.initialise(directory: directory, algorithm: algorithm, subject: Self.caSubject)
            guard case let .selfSigned(certificate) = outcome else { return XCTFail("\(algorithm): no certificate") }

            XCTAssertEqual(try fileMode(directory), 0o700, "\(algorithm)")
            XCTAssertEqual(
                Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)),
                [CAStore.keyFileName, CAStore.passphraseFileName, CAStore.certificateFileName],
                "no temporary files left")
            XCTAssertEqual(try fileMode(directory.appendingPathComponent(CAStore.keyFileName)), 0o600)
            XCTAssertEqual(try fileMode(directory.appendingPathComponent(CAStore.passphraseFileName)), 0o600)
            let keyText = try String(contentsOf: directory.appendingPathComponent(CAStore.keyFileName), encoding: .utf8)
            XCTAssertTrue(keyText.contains("BEGIN ENCRYPTED PRIVATE KEY"), "\(algorithm)")
            XCTAssertFalse(keyText.contains("BEGIN PRIVATE KEY"))
            XCTAssertFalse(keyText.contains("BEGIN EC PRIVATE KEY"))
            XCTAssertFalse(keyText.contains("BEGIN RSA PRIVATE KEY"))

            let authority = try CAStore.load(directory: directory)
            XCTAssertEqual(authority.certificate, certificate)
            XCTAssertTrue(certificate.isSelfSigned)
            XCTAssertTrue(certificate.isCertificateAuthority)
            XCTAssertEqual(certificate.keyUsage, [.keyCertSign, .cRLSign])
            XCTAssertNotNil(certificate.subjectKeyIdentifier)

            // Independent check: OpenSSL reads the key with the passphrase file, and the CA profile.
            let openssl = OpenSSLCommandLine(directory: directory)
            let key = try openssl.run([
                "pkey", "-in", CAStore.keyFileName, "-passin",
                "file:\(CAStore.passphraseFileName)", "-noout", "-text",
            ])
            XCTAssertEqual(key.status, 0, key.combined)
            XCTAssertTrue(try openssl.run(["asn1parse", "-in", CAStore.keyFileName]).output.contains("aes-256-cbc"))
            let text = try openssl.run(["x509", "-in", CAStore.certificateFileName, "-noout", "-text"]).output
            XCTAssertTrue(text.contains("X509v3 Basic Constraints: critical"), text)
            XCTAssertTrue(text.contains("CA:TRUE, pathlen:0"), text)
            XCTAssertTrue(text.contains("X509v3 Key Usage: critical"), text)
            XCTAssertTrue(text.contains("Certificate Sign, CRL Sign"), text)
            XCTAssertTrue(text.contains("X509v3 Subject Key Identifier"), text)
            switch algorithm {
            case .p256: XCTAssertTrue(text.contains("ecdsa-with-SHA256") && text.contains("P-256"), text)
            case .p384: XCTAssertTrue(text.contains("ecdsa-with-SHA384") && text.contains("P-384"), text)
            case .rsa3072: XCTAssertTrue(text.contains("sha256WithRSAEncryption") && text.contains("3072 bit"), text)
            }
        }
    }

    func testRefusesToOverwriteUnlessAsked() throws {
        let directory = try makeTemporaryDirectory(self)
        guard case let .selfSigned(first) = try CAStore.initialise(directory: directory, subject: Self.caSubject)
        else { return XCTFail() }
        assertThrows({ try CAStore.initialise(directory: directory, subject: Self.caSubject) }) {
            $0 as? CertificateAuthorityError == .alreadyInitialised(directory: directory.path)
        }
        XCTAssertEqual(try CAStore.load(directory: directory).certificate, first, "the old CA is untouched")
        guard
            case let .selfSigned(second) = try CAStore.initialise(
                directory: directory, subject: Self.caSubject,
                replaceExisting: true)
        else { return XCTFail() }
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(try CAStore.load(directory: directory).certificate, second)
    }

    func testReplacingSwitchesModesAndRemovesTheStaleCertificate() throws {
        let directory = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: directory, subject: Self.caSubject)
        _ = try CAStore.initialise(
            directory: directory, subject: Self.caSubject, mode: .externalRoot,
            replaceExisting: true)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: directory.appendingPathComponent("ca.pem").path),
            "the old self-signed certificate no longer matches the key")
        assertThrows({ try CAStore.load(directory: directory) }) {
            guard case .awaitingCertificate = $0 as? CertificateAuthorityError else { return false }
            return true
        }
    }

    func testAnUnencryptedKeyIsRefused() throws {
        let directory = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: directory, subject: Self.caSubject)
        let keyURL = directory.appendingPathComponent(CAStore.keyFileName)
        try Data(try PrivateKey.generate(.p256).pemEncoded().utf8).write(to: keyURL)
        XCTAssertEqual(chmod(keyURL.path, 0o600), 0)
        assertThrows({ try CAStore.load(directory: directory) }) {
            guard case .keyUnreadable = $0 as? CertificateAuthorityError else { return false }
            return true
        }
    }

    func testIssuanceStopsAtTheCAExpiry() throws {
        let directory = try makeTemporaryDirectory(self)
        let now = Date()
        let yearsAgo = IssuingAuthorityDates.years(-9, from: now)
        _ = try CAStore.initialise(directory: directory, subject: Self.caSubject, validityYears: 10, now: yearsAgo)
        let authority = try CAStore.load(directory: directory)
        let caExpiry = try XCTUnwrap(authority.certificate.notAfter)
        let intent = try authority.prepareIssuance(notAfterLimit: now + 86_400 * 365 * 5, now: now)
        XCTAssertEqual(intent.notAfter, caExpiry, "a certificate never outlives its CA")

        let expired = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(
            directory: expired, subject: Self.caSubject, validityYears: 1,
            now: IssuingAuthorityDates.years(-2, from: now))
        let old = try CAStore.load(directory: expired)
        assertThrows({ try old.prepareIssuance(notAfterLimit: now + 86_400 * 365, now: now) }) {
            guard case .issuingCertificateExpired = $0 as? CertificateAuthorityError else { return false }
            return "\($0)".contains("renew the CA")
        }
    }

    func testLoadErrorsSayWhatToDo() throws {
        let directory = try makeTemporaryDirectory(self).appendingPathComponent("missing")
        assertThrows({ try CAStore.load(directory: directory) }) { error in
            guard case .notInitialised = error as? CertificateAuthorityError else { return false }
            return "\(error)".contains("run `enrolld ca init`")
        }

        let existing = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: existing, subject: Self.caSubject)
        let keyPath = existing.appendingPathComponent(CAStore.keyFileName).path
        XCTAssertEqual(chmod(keyPath, 0o644), 0)
        assertThrows({ try CAStore.load(directory: existing) }) {
            $0 as? CertificateAuthorityError == .insecurePermissions(path: keyPath, mode: 0o644)
        }
        XCTAssertEqual(chmod(keyPath, 0o600), 0)

        let passphrasePath = existing.appendingPathComponent(CAStore.passphraseFileName)
        let other = String(repeating: "ab", count: 32) + "\n"
        try Data(other.utf8).write(to: passphrasePath)
        XCTAssertEqual(chmod(passphrasePath.path, 0o600), 0)
        assertThrows({ try CAStore.load(directory: existing) }) {
            guard case .keyUnreadable = $0 as? CertificateAuthorityError else { return false }
            return true
        }
        try Data("short\n".utf8).write(to: passphrasePath)
        assertThrows({ try CAStore.load(directory: existing) }) {
            $0 as? CertificateAuthorityError == .passphraseInvalid(path: passphrasePath.path)
        }
    }

    func testExternalRootModeChainsToTheRoot() throws {
        let directory = try makeTemporaryDirectory(self)
        let outcome = try CAStore.initialise(
            directory: directory, algorithm: .p384, subject: Self.caSubject,
            mode: .externalRoot)
        guard case let .awaitingCertificate(request, requestPath) = outcome else { return XCTFail("no CSR") }
        XCTAssertTrue(request.isSelfSignatureValid)
        XCTAssertEqual(requestPath, directory.appendingPathComponent(CAStore.requestFileName).path)
        assertThrows({ try CAStore.load(directory: directory) }) {
            $0 as? CertificateAuthorityError == .awaitingCertificate(requestPath: requestPath)
        }

        // The external root: made with OpenSSLKit, signing the CA request as an intermediate with pathlen 0.
        let rootKey = try PrivateKey.generate(.ec(curve: "P-384"))
        let now = Date()
        let root = try CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "Test Root"),
            serialNumber: [0x01], notBefore: now - 60, notAfter: now + 86_400 * 3650,
            publicKey: try rootKey.publicKey(), basicConstraints: (true, nil),
            keyUsage: [.keyCertSign, .cRLSign]
        ).sign(key: rootKey)
        let parsedRequest = try CertificateSigningRequest(pem: String(contentsOfFile: requestPath, encoding: .utf8))
        let caCertificate = try CertificateBuilder(
            subject: parsedRequest.subject, serialNumber: [0x02],
            notBefore: now - 60, notAfter: now + 86_400 * 1825,
            publicKey: try parsedRequest.publicKey(),
            basicConstraints: (true, 0), keyUsage: [.keyCertSign, .cRLSign]
        )
        .sign(issuer: root, key: rootKey)

        // A certificate for some other key is refused.
        let strangerKey = try PrivateKey.generate(.p256)
        let stranger = try CertificateBuilder(
            subject: parsedRequest.subject, serialNumber: [0x03], notBefore: now - 60,
            notAfter: now + 86_400, publicKey: try strangerKey.publicKey(),
            basicConstraints: (true, 0), keyUsage: [.keyCertSign]
        )
        .sign(issuer: root, key: rootKey)
        assertThrows({ try CAStore.installCertificate(pem: stranger.pem, directory: directory) }) {
            $0 as? CertificateAuthorityError == .certificateDoesNotMatchKey
        }

        try CAStore.installCertificate(pem: caCertificate.pem + root.pem, directory: directory)
        assertThrows({ try CAStore.installCertificate(pem: caCertificate.pem, directory: directory) }) {
            guard case .certificateAlreadyInstalled = $0 as? CertificateAuthorityError else { return false }
            return true
        }
        let authority = try CAStore.load(directory: directory)
        XCTAssertEqual(authority.certificate, caCertificate)

        let openssl = OpenSSLCommandLine(directory: directory)
        let accepted = try authority.checkRequest(
            try openssl.makeRequest([
                "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ]))
        let intent = try authority.prepareIssuance(notAfterLimit: now + 86_400 * 365 * 10)
        let issued = try authority.issue(intent: intent, csr: accepted, holder: IssuanceTests.holder)
        try openssl.write(root.pem, to: "root.pem")
        try openssl.write(issued.pem, to: "cert.pem")
        let verify = try openssl.run([
            "verify", "-CAfile", "root.pem", "-untrusted", CAStore.certificateFileName,
            "cert.pem",
        ])
        XCTAssertEqual(verify.status, 0, verify.combined)
        let alone = try openssl.run(["verify", "-CAfile", "root.pem", "cert.pem"])
        XCTAssertNotEqual(alone.status, 0, "without the CA certificate the chain must not build")
    }

    /// The external root issued the CA key an end-entity certificate (no CA:TRUE), or the certificate file is no
    /// longer a certificate: the CA refuses to issue with either, naming what to fix.
    func testACertificateThatMayNotSignAndAFileThatIsNoCertificateAreRefused() throws {
        let directory = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: directory, subject: Self.caSubject, mode: .externalRoot)
        let requestPath = directory.appendingPathComponent(CAStore.requestFileName).path
        let request = try CertificateSigningRequest(pem: String(contentsOfFile: requestPath, encoding: .utf8))
        let rootKey = try PrivateKey.generate(.p256)
        let now = Date()
        let root = try CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "Test Root"),
            serialNumber: [0x01], notBefore: now - 60, notAfter: now + 86_400 * 3650,
            publicKey: try rootKey.publicKey(), basicConstraints: (true, nil),
            keyUsage: [.keyCertSign, .cRLSign]
        ).sign(key: rootKey)
        let leaf = try CertificateBuilder(
            subject: request.subject, serialNumber: [0x02], notBefore: now - 60,
            notAfter: now + 86_400 * 365, publicKey: try request.publicKey(),
            basicConstraints: nil, keyUsage: [.digitalSignature]
        )
        .sign(issuer: root, key: rootKey)
        assertThrows({ try CAStore.installCertificate(pem: leaf.pem, directory: directory) }) {
            guard case .certificateNotUsableForIssuing = $0 as? CertificateAuthorityError else { return false }
            return ($0 as? CertificateAuthorityError)?.code == "ca-certificate-not-usable"
        }

        let selfSigned = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: selfSigned, subject: Self.caSubject)
        let certificatePath = selfSigned.appendingPathComponent(CAStore.certificateFileName)
        try Data("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n".utf8).write(to: certificatePath)
        assertThrows({ try CAStore.load(directory: selfSigned) }) {
            $0 as? CertificateAuthorityError == .fileError(path: certificatePath.path, reason: "not a PEM certificate")
        }
    }
}

enum IssuingAuthorityDates {
    static func years(_ count: Int, from date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(byAdding: .year, value: count, to: date)!
    }
}
