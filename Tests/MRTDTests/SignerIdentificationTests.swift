import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard
import XCTest

/// EF.SOD as issued documents store it: signers that name their certificate loosely (RFC 5280 §7.1 name rules, another
/// attribute order, a single embedded certificate), BER ContentInfo, and the SignedData version ICAO 9303-10 §4.6.2.1
/// fixes (3). Trust is still decided by the signature and the chain.
final class SignerIdentificationTests: XCTestCase {
    private let dataGroups = PassiveAuthenticationTests.dataGroups

    func testRFC5280NameMatchingFoldsCaseAndSpaceButNotOrder() {
        let certificate = DistinguishedName([.init("C", "UT"), .init("O", "Test PKI"), .init("CN", "CSCA UT")])
        let spaced = DistinguishedName([.init("C", "ut"), .init("O", "  test   PKI "), .init("CN", "csca ut")])
        let reordered = DistinguishedName([.init("CN", "CSCA UT"), .init("O", "Test PKI"), .init("C", "UT")])
        let other = DistinguishedName([.init("C", "UT"), .init("O", "Test PKI"), .init("CN", "CSCA UX")])
        XCTAssertTrue(certificate.matches(spaced))
        XCTAssertFalse(certificate.matches(reordered), "RFC 5280 §7.1 compares RDNs in order")
        XCTAssertTrue(certificate.matchesIgnoringOrder(reordered))
        XCTAssertFalse(certificate.matchesIgnoringOrder(other))
        XCTAssertFalse(certificate.matchesIgnoringOrder(DistinguishedName(Array(certificate.attributes.prefix(2)))))
    }

    func testSignerNamingItsIssuerInAnotherOrderIsMatchedBySerialAndName() throws {
        let pki = try TestPKI()
        let sod = try pki.sod(dataGroups: dataGroups, options: .init(reorderedIssuerName: true))
        let cms = try CMSSignedData(der: SOD.parse(sod).cms)
        let signer = try XCTUnwrap(cms.signers.first)
        XCTAssertFalse(cms.signer(signer, matches: pki.documentSigner.certificate), "OpenSSL's exact compare fails")
        let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertTrue(result.passed, "\(result.failures)")
        XCTAssertEqual(result.signerCertificateSource, .embeddedLooseName)
        XCTAssertTrue(result.signatureValid.reason.contains("another attribute order"), result.signatureValid.reason)
    }

    func testTheOnlyEmbeddedCertificateIsUsedButTrustStaysWithTheSignatureAndChain() throws {
        let pki = try TestPKI()
        // A signer identified by key identifier that the certificate does not carry: the only embedded one is used.
        let sod = try pki.sod(dataGroups: dataGroups, options: .init(identification: .subjectKeyIdentifier))
        let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertTrue(result.passed, "\(result.failures)")
        XCTAssertNotNil(result.signerCertificateSource)

        // A forger who embeds his own certificate gets it used, and fails on the chain.
        let rogue = try TestPKI.makeCSCA(country: "UT", name: "CSCA UT", validity: (Date() - 86_400, Date() + 86_400))
        let signer = try pki.issueDocumentSigner(commonName: "DS UT 1", issuer: rogue)
        let forged = try SODBuilder.build(
            dataGroups: dataGroups, signer: signer.certificate, key: signer.key,
            options: .init(reorderedIssuerName: true))
        let refused = PassiveAuthentication.verify(
            sodFile: forged, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertFalse(refused.passed)
        XCTAssertEqual(refused.signatureValid.status, .pass, "its own key did sign")
        XCTAssertEqual(refused.dscChainValid.status, .fail, refused.dscChainValid.reason)
    }

    func testBERContentInfoIsParsedAndVerified() throws {
        let pki = try TestPKI()
        let sod = try pki.sod(dataGroups: dataGroups, options: .init(indefiniteLength: true))
        XCTAssertEqual(Array(sod[4...5]), [0x30, 0x80], "77 82 xx xx 30 80 …")
        let parsed = try SOD.parse(sod)
        XCTAssertTrue(parsed.isIndefiniteLength)
        XCTAssertEqual(try parsed.securityObject().dataGroupHashes.count, dataGroups.count)
        let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
        XCTAssertTrue(result.passed, "\(result.failures)")
    }

    func testSignedDataVersionsOtherThan3AreRefused() throws {
        let pki = try TestPKI()
        for berEncoded in [false, true] {
            var sod = try pki.sod(dataGroups: dataGroups, options: .init(indefiniteLength: berEncoded))
            // The SignedData's version INTEGER follows the signedData OID and the [0] and SEQUENCE headers.
            let oid: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02]
            let oidAt = try XCTUnwrap(Self.index(of: oid, in: sod))
            let versionAt = try XCTUnwrap(Self.index(of: [0x02, 0x01, 0x03], in: Array(sod[oidAt...]))) + oidAt
            sod[versionAt + 2] = 0x04
            XCTAssertThrowsError(try SOD.parse(sod)) { error in
                XCTAssertEqual(error as? LDSError, .invalidSecurityObject("SignedData version is 4, not 3"))
            }
            let result = PassiveAuthentication.verify(
                sodFile: sod, dataGroups: dataGroups, trustStore: pki.trustStore())
            XCTAssertFalse(result.passed)
            XCTAssertEqual(result.sodParsed.status, .fail)
        }
        // RFC 5652 §5.1 requires version 1 for the legacy eContentType id-data: still read.
        let legacy = try pki.sod(dataGroups: dataGroups, options: .init(contentType: "1.2.840.113549.1.7.1"))
        XCTAssertNoThrow(try SOD.parse(legacy))
    }

    static func index(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
