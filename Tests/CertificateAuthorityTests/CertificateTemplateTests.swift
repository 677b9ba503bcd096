import Foundation
import OpenSSLKit
import XCTest

@testable import CertificateAuthority

/// The pre-encoded template writes, byte for byte, the TBSCertificate OpenSSL's builder writes for the same holder,
/// key, serial, validity and profile; only the signature differs (ECDSA draws a fresh nonce).
final class CertificateTemplateTests: XCTestCase {
    func testTheTemplateWritesTheBytesOpenSSLWritesForEveryProfileKeyAndDate() throws {
        let directory = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: directory, subject: CAStoreTests.caSubject)
        var everything = IssuanceTests.profile
        everything.caIssuersURL = "http://ca.enrolld.test/ca.der"
        let profiles = [SigningCertificateProfile(), IssuanceTests.profile, everything]
        let keys = [
            try PrivateKey.generate(.p256), try PrivateKey.generate(.ec(curve: "P-384")),
            try PrivateKey.generate(.rsa(bits: 2048)),
        ]
        // UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
        let dates = [
            (Date(timeIntervalSince1970: 946_684_799), Date(timeIntervalSince1970: 2_524_607_999)),
            (Date(timeIntervalSince1970: 1_767_225_600), Date(timeIntervalSince1970: 2_524_608_000)),
        ]
        let holders = [
            IssuanceTests.holder,
            CertificateHolder(name: "ÅSA<ÖSTERGÅRD  ŽIŽEK", pseudonym: "ACCT-0123456789abcdef", issuingState: "D"),
        ]
        for profile in profiles {
            let authority = try CAStore.load(directory: directory, profile: profile)
            for (index, key) in keys.enumerated() {
                let holder = holders[index % holders.count]
                let (notBefore, notAfter) = dates[index % dates.count]
                let serial = try IssuingAuthority.randomSerial()
                let publicKey = try key.publicKey()
                let subject = try profile.subject(for: holder)
                let expected = try IssuingAuthority.builtByOpenSSL(
                    certificate: authority.certificate, key: authority.key, profile: profile,
                    scheme: authority.scheme, subject: subject, serialNumber: serial, notBefore: notBefore,
                    notAfter: notAfter, publicKey: publicKey)
                let written = try authority.template.toBeSigned(
                    serial: serial, notBefore: notBefore, notAfter: notAfter, subject: try subject.derEncoded(),
                    publicKeyInfo: try publicKey.derEncoded())
                let opened = try XCTUnwrap(DERReader.children(of: expected.der))
                XCTAssertEqual(written, Array(opened[0]), "profile \(profile), key \(index)")
            }
        }
    }

    func testACertificateFromTheTemplateVerifiesUnderTheCA() throws {
        let directory = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: directory, subject: CAStoreTests.caSubject)
        let authority = try CAStore.load(directory: directory, profile: IssuanceTests.profile)
        let intent = try authority.prepareIssuance(notAfterLimit: Date() + 86_400 * 400)
        let issued = try authority.issue(
            intent: intent, publicKey: try PrivateKey.generate(.p256).publicKey(), holder: IssuanceTests.holder)
        let openssl = OpenSSLCommandLine(directory: directory)
        try openssl.write(issued.pem, to: "renewed.pem")
        let verify = try openssl.run(["verify", "-x509_strict", "-CAfile", CAStore.certificateFileName, "renewed.pem"])
        XCTAssertEqual(verify.status, 0, verify.combined)
        XCTAssertEqual(issued.certificate.serialNumber, intent.serialNumber)

        // A registered key that is not a SubjectPublicKeyInfo is refused, nothing is signed for it.
        for bytes: [UInt8] in [
            [], [0x30, 0x00], [0x30, 0x03, 0x02, 0x01, 0x01], [0x30, 0x05, 0x30, 0x00, 0x03, 0x01, 0x07],
        ] {
            XCTAssertThrowsError(
                try authority.certificateDER(intent: intent, publicKeyInfo: bytes, holder: IssuanceTests.holder)
            ) { error in
                guard case .crypto = error as? CertificateAuthorityError else { return XCTFail("\(error)") }
            }
        }
    }

    func testAPrototypeWithoutASubjectKeyIdentifierIsRefused() throws {
        let key = try PrivateKey.generate(.p256)
        var builder = CertificateBuilder(
            subject: DistinguishedName([.init("CN", "x")]), serialNumber: [1], notBefore: Date(),
            notAfter: Date() + 60, publicKey: try key.publicKey(), basicConstraints: (isCA: false, pathLength: nil))
        builder.includeSubjectKeyIdentifier = false
        let prototype = try builder.sign(key: key)
        XCTAssertThrowsError(try CertificateTemplate(prototype: prototype.der))
        XCTAssertThrowsError(try CertificateTemplate(prototype: Array(prototype.der.dropLast())))
        XCTAssertThrowsError(try CertificateTemplate(prototype: [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]))
    }
}
