import Foundation
import MRTD
import OpenSSLKit
import VirtualCard
import XCTest

final class TrustStoreTests: XCTestCase {
    private var directory = ""
    private let dataGroups = PassiveAuthenticationTests.dataGroups

    override func setUpWithError() throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("truststore-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(name)))
    }

    // MARK: Loading

    func testLoadsPEMAndDERCertificatesAndCRLsAndReportsSkippedFiles() throws {
        let first = try TestPKI()
        var options = TestPKI.Options()
        options.country = "XA"
        let second = try TestPKI(options: options)
        try write("utopia.pem", Array(first.csca.certificate.pem.utf8))
        try write("xa.cer", second.csca.certificate.der)
        try write("utopia.crl", Array(first.crl.pem.utf8))
        try write("xa.crl", second.crl.der)
        try write("bundle.crt", Array((first.csca.certificate.pem + first.documentSigner.certificate.pem).utf8))
        try write("broken.der", [0x30, 0x82, 0x01])
        try write("broken.crl", Array("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n".utf8))
        try write("README.txt", Array("notes".utf8))
        try FileManager.default.createDirectory(
            atPath: (directory as NSString).appendingPathComponent("old.pem"),
            withIntermediateDirectories: true)

        let store = try TrustStore.load(directory: directory)
        XCTAssertEqual(Set(store.cscaCertificates), [first.csca.certificate, second.csca.certificate])
        XCTAssertEqual(store.documentSignerCertificates, [first.documentSigner.certificate])
        XCTAssertEqual(store.crls.count, 2)
        XCTAssertEqual(store.report.loadedFiles, ["bundle.crt", "utopia.crl", "utopia.pem", "xa.cer", "xa.crl"])
        let skipped = Dictionary(uniqueKeysWithValues: store.report.skippedFiles.map { ($0.file, $0.reason) })
        XCTAssertEqual(Set(skipped.keys), ["README.txt", "broken.crl", "broken.der", "old.pem"])
        XCTAssertTrue(skipped["broken.der"]?.contains("not a valid DER certificate") == true, "\(skipped)")
        XCTAssertTrue(skipped["broken.crl"]?.contains("not a valid PEM CRL") == true, "\(skipped)")
        XCTAssertTrue(skipped["README.txt"]?.contains("extension") == true)

        let result = PassiveAuthentication.verify(
            sodFile: try second.sod(dataGroups: dataGroups),
            dataGroups: dataGroups, trustStore: store)
        XCTAssertTrue(result.passed, "\(result.failures)")
        XCTAssertEqual(result.dscNotRevoked.status, .pass, "the DER CRL was used")
    }

    func testReloadPicksUpNewFiles() throws {
        let pki = try TestPKI()
        var store = try TrustStore.load(directory: directory)
        XCTAssertTrue(store.cscaCertificates.isEmpty)
        let sod = try pki.sod(dataGroups: dataGroups)
        XCTAssertFalse(PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: store).passed)

        try write("csca.der", pki.csca.certificate.der)
        try store.reload()
        XCTAssertEqual(store.cscaCertificates, [pki.csca.certificate])
        XCTAssertTrue(PassiveAuthentication.verify(sodFile: sod, dataGroups: dataGroups, trustStore: store).passed)
    }

    func testMissingDirectoryIsATypedError() {
        XCTAssertThrowsError(try TrustStore.load(directory: directory + "/absent")) { error in
            guard case TrustStoreError.directoryUnreadable? = error as? TrustStoreError else {
                return XCTFail("unexpected \(error)")
            }
        }
    }

    // MARK: Master lists

    /// Utopia (home, `UT`), France (`FR`) and Germany (`DE`).
    private func makeCountries() throws -> (home: TestPKI, foreign: [TestPKI]) {
        let home = try TestPKI()
        let foreign = try ["FR", "DE"].map { country -> TestPKI in
            var options = TestPKI.Options()
            options.country = country
            return try TestPKI(options: options)
        }
        return (home, foreign)
    }

    private func scope(_ states: String...) throws -> TrustImportScope { try TrustImportScope(states: states) }

    func testMasterListSignedUnderATrustedCSCAImportsTheNamedStatesCSCAsOnly() throws {
        let (home, foreign) = try makeCountries()
        let signer = try home.makeMasterListSigner()
        let (_, link) = try foreign[0].rollOverCSCA()
        let list = try TestPKI.masterList(
            certificates: foreign.map(\.csca.certificate) + [link, home.csca.certificate, signer.certificate],
            signer: signer)
        let parsed = try CSCAMasterList.verify(der: list, trustStore: home.trustStore())
        XCTAssertEqual(parsed.version, 0)
        XCTAssertEqual(parsed.certificates.count, 5)
        XCTAssertEqual(parsed.signer, signer.certificate)

        try write("home.pem", Array(home.csca.certificate.pem.utf8))
        var store = try TrustStore.load(directory: directory)
        let report = try store.importMasterList(data: list, scope: try scope("FRA", "UTO"))
        XCTAssertEqual(
            Set(report.added), [foreign[0].csca.certificate, link],
            "France's root and its link certificate (checked against the root added before it)")
        XCTAssertEqual(report.alreadyTrusted, 1)
        XCTAssertEqual(report.skippedNonCA, 1, "the master list signer certificate is no CSCA")
        let skipped = Dictionary(uniqueKeysWithValues: report.skipped.map { ($0.certificate, $0.reason) })
        XCTAssertEqual(
            skipped[foreign[1].csca.certificate],
            "its country DE is not one of the states named (FRA, UTO)")
        XCTAssertEqual(skipped[signer.certificate], "not a CA certificate")
        XCTAssertEqual(report.writtenFiles.count, 2)
        XCTAssertEqual(report.signer, signer.certificate.subject)

        var reloaded = try TrustStore.load(directory: directory)
        XCTAssertEqual(reloaded.cscaCertificates.count, 3)
        XCTAssertTrue(reloaded.report.skippedFiles.isEmpty)
        let french = PassiveAuthentication.verify(
            sodFile: try foreign[0].sod(dataGroups: dataGroups),
            dataGroups: dataGroups, trustStore: reloaded)
        XCTAssertTrue(french.passed, french.failures.joined())
        let german = PassiveAuthentication.verify(
            sodFile: try foreign[1].sod(dataGroups: dataGroups),
            dataGroups: dataGroups, trustStore: reloaded)
        XCTAssertFalse(german.passed, "Germany was not named: its CSCA is not trusted")

        let again = try reloaded.importMasterList(data: list, scope: try scope("D"))
        XCTAssertEqual(again.added, [foreign[1].csca.certificate], "D is Germany (DE)")
        XCTAssertEqual(again.alreadyTrusted, 3, "France's root, its link and the home CSCA")
    }

    func testAMasterListIsImportedOnlyForNamedKnownStates() throws {
        let (home, foreign) = try makeCountries()
        let list = try TestPKI.masterList(
            certificates: [foreign[0].csca.certificate],
            signer: try home.makeMasterListSigner())
        let store = TrustStore(certificates: [home.csca.certificate])
        XCTAssertThrowsError(try store.importFile(list, into: directory)) { error in
            guard case let .refused(reason)? = error as? TrustImportError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("--states"), reason)
        }
        XCTAssertThrowsError(try TrustImportScope(states: ["ZZZ"])) { error in
            XCTAssertEqual(
                error as? TrustImportError,
                .refused(
                    "ZZZ is not an issuing state with a known country code: give ICAO codes such as UTO, D or FRA"))
        }
        XCTAssertThrowsError(try TrustImportScope(states: ["XXA"]), "a nationality code names no state")
        XCTAssertThrowsError(try TrustImportScope(states: [" "]))
        let report = try store.importFile(list, into: directory, scope: try scope("FRA"))
        XCTAssertEqual(report.kind, .masterList)
        XCTAssertEqual(report.added, 1)
        XCTAssertEqual(report.states, ["FRA"])
        XCTAssertEqual(report.addedCertificates.map(\.fingerprint), [foreign[0].csca.certificate.fingerprint])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).count, 1)
    }

    func testCSCAsAreAdmittedOnlyWhenTheirSignaturesVerifyAndTheirKeysAreLargeEnough() throws {
        let (home, foreign) = try makeCountries()
        let store = TrustStore(certificates: [home.csca.certificate])
        let minimum = KeySizeMinimums()
        XCTAssertNil(store.admissionProblem(foreign[0].csca.certificate, scope: nil, minimumKeySizes: minimum))
        // A link certificate from a root the store does not hold, and one from a root it does hold.
        let (_, frenchLink) = try foreign[0].rollOverCSCA()
        XCTAssertEqual(
            store.admissionProblem(frenchLink, scope: nil, minimumKeySizes: minimum),
            "its self-signature does not verify",
            "a rollover link keeps the CSCA's name: without the old root it is only a bad self-signature")
        let withRoot = TrustStore(certificates: [home.csca.certificate, foreign[0].csca.certificate])
        XCTAssertNil(withRoot.admissionProblem(frenchLink, scope: nil, minimumKeySizes: minimum))
        // A link certificate signed by another key than the root's.
        let impostor = try TestPKI.makeCSCA(
            country: "FR", name: "CSCA FR", validity: (Date() - 86_400, Date() + 86_400))
        var french = TestPKI.Options()
        french.country = "FR"
        let (_, forgedLink) = try TestPKI(options: french).rollOverCSCA()
        XCTAssertNotNil(withRoot.admissionProblem(forgedLink, scope: nil, minimumKeySizes: minimum))
        XCTAssertNil(
            withRoot.admissionProblem(impostor.certificate, scope: try scope("FRA"), minimumKeySizes: minimum),
            "a self-signed root of a named state is admitted")
        XCTAssertEqual(
            withRoot.admissionProblem(impostor.certificate, scope: try scope("D"), minimumKeySizes: minimum),
            "its country FR is not one of the states named (D)")
        // A CSCA on P-224 is below the 256-bit default.
        let small = try TestPKI.makeCSCA(
            country: "FR", name: "CSCA FR small", key: .ec(curve: "P-224"),
            validity: (Date() - 86_400, Date() + 86_400))
        let problem = try XCTUnwrap(store.admissionProblem(small.certificate, scope: nil, minimumKeySizes: minimum))
        XCTAssertTrue(problem.contains("224 bits, below the 256"), problem)
        XCTAssertThrowsError(try store.importFile(small.certificate.der, into: directory)) { error in
            guard case let .refused(reason)? = error as? TrustImportError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("below the 256"), reason)
        }
    }

    func testTamperedMasterListIsRefusedAndNothingIsWritten() throws {
        let (home, foreign) = try makeCountries()
        let signer = try home.makeMasterListSigner()
        let list = try TestPKI.masterList(certificates: foreign.map(\.csca.certificate), signer: signer)
        // Flip a byte inside the first foreign CSCA's public key: the content no longer matches its digest.
        let key = try foreign[0].csca.key.publicKey().derEncoded()
        let keyBits = Array(key.suffix(32))
        guard let start = PassiveAuthenticationTests.index(of: keyBits, in: list) else {
            return XCTFail("certificate not found in the master list")
        }
        var tampered = list
        tampered[start + 5] ^= 0x01

        var store = TrustStore(certificates: [home.csca.certificate])
        XCTAssertThrowsError(try store.importMasterList(data: tampered, scope: try scope("FRA"), into: directory)) {
            error in
            XCTAssertEqual(error as? TrustStoreError, .masterList(.contentDigestMismatch))
        }
        XCTAssertEqual(store.cscaCertificates, [home.csca.certificate])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])

        // A flipped signature byte.
        let cms = try CMSSignedData(der: list)
        let signature = try XCTUnwrap(cms.signers.first?.signature)
        let signatureStart = try XCTUnwrap(PassiveAuthenticationTests.index(of: signature, in: list))
        var badSignature = list
        badSignature[signatureStart + signature.count - 1] ^= 0x01
        XCTAssertThrowsError(
            try store.importMasterList(
                data: badSignature, scope: try scope("FRA"),
                into: directory)
        ) { error in
            XCTAssertEqual(error as? TrustStoreError, .masterList(.signatureInvalid))
        }
    }

    func testMasterListFromAnUntrustedSignerNeedsAnExplicitAnchor() throws {
        let (home, foreign) = try makeCountries()
        let signer = try foreign[1].makeMasterListSigner()
        let list = try TestPKI.masterList(certificates: [foreign[0].csca.certificate], signer: signer)
        var store = TrustStore(certificates: [home.csca.certificate])
        XCTAssertThrowsError(try store.importMasterList(data: list, scope: try scope("FRA"))) { error in
            guard case .masterList(.signerNotTrusted(let reason))? = error as? TrustStoreError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(reason.contains("no trusted CSCA"), reason)
        }
        let report = try store.importMasterList(
            data: list, scope: try scope("FRA"),
            signerAnchor: foreign[1].csca.certificate)
        XCTAssertEqual(report.added, [foreign[0].csca.certificate])
        XCTAssertTrue(report.writtenFiles.isEmpty, "an in-memory store writes nothing")
    }

    func testNonMasterListsAreRefusedWithTypedErrors() throws {
        let pki = try TestPKI()
        let sod = try SOD.parse(pki.sod(dataGroups: dataGroups))
        XCTAssertThrowsError(try CSCAMasterList.verify(der: sod.cms, trustStore: pki.trustStore())) { error in
            XCTAssertEqual(error as? MasterListError, .wrongContentType(PassiveAuthentication.ldsSecurityObjectType))
        }
        XCTAssertThrowsError(try CSCAMasterList.verify(der: [0x30, 0x00], trustStore: pki.trustStore())) { error in
            guard case .notSignedData? = error as? MasterListError else { return XCTFail("unexpected \(error)") }
        }
        let signer = try pki.makeMasterListSigner()
        let badContent = try CMSSignedData.sign(
            content: [0x30, 0x03, 0x02, 0x01, 0x00],
            contentType: CSCAMasterList.contentType,
            certificate: signer.certificate, key: signer.key
        ).der
        XCTAssertThrowsError(try CSCAMasterList.verify(der: badContent, trustStore: pki.trustStore())) { error in
            guard case .malformedContent? = error as? MasterListError else { return XCTFail("unexpected \(error)") }
        }
        for length in stride(from: 0, to: badContent.count, by: 7) {
            XCTAssertThrowsError(
                try CSCAMasterList.verify(
                    der: Array(badContent.prefix(length)),
                    trustStore: pki.trustStore()))
        }
    }
}
