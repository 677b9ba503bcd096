import CertificateAuthority
import Foundation
import OpenSSLKit
@testable import TrustList
import XCTest

/// Export and import of ETSI TS 119 612 trust lists, checked by `xmlsec1` (the standard tool) and `xmllint`.
final class TrustListTests: XCTestCase {
    func testExportedListVerifiesWithXmlsec1() throws {
        let hongKong = try Jurisdiction(territory: "HK", name: "Hong Kong", statusBase: nil, testCase: self)
        let xml = try hongKong.signedList()
        let directory = hongKong.directory
        try Data(xml).write(to: directory.appendingPathComponent("tl.xml"))
        try hongKong.authority.certificate.pem.write(
            to: directory.appendingPathComponent("ca.pem"), atomically: true,
            encoding: .utf8)
        try hongKong.trustListSigner.certificate.pem.write(
            to: directory.appendingPathComponent("signer.pem"),
            atomically: true, encoding: .utf8)
        // With the signer's certificate as the key, and with only the CA trusted (the KeyInfo certificate chains).
        let pinned = try runTool(
            "/usr/bin/xmlsec1",
            [
                "--verify", "--enabled-reference-uris", "empty,same-doc",
                "--pubkey-cert-pem", "signer.pem", "tl.xml",
            ], in: directory)
        XCTAssertEqual(pinned.status, 0, pinned.output)
        XCTAssertTrue(pinned.output.contains("OK"), pinned.output)
        let chained = try runTool("/usr/bin/xmlsec1", ["--verify", "--trusted-pem", "ca.pem", "tl.xml"], in: directory)
        XCTAssertEqual(chained.status, 0, chained.output)
        XCTAssertTrue(chained.output.contains("SignedInfo References (ok/all): 2/2"), chained.output)

        // A changed byte inside the signed content: xmlsec1 refuses it.
        let text = String(decoding: xml, as: UTF8.self)
        let tampered = text.replacingOccurrences(of: "Hong Kong Signing CA", with: "Hong Kong Signing CB")
            .replacingOccurrences(of: "<tsl:TSLSequenceNumber>1<", with: "<tsl:TSLSequenceNumber>9<")
        XCTAssertNotEqual(tampered, text)
        try tampered.write(to: directory.appendingPathComponent("tampered.xml"), atomically: true, encoding: .utf8)
        let refused = try runTool(
            "/usr/bin/xmlsec1", ["--verify", "--pubkey-cert-pem", "signer.pem", "tampered.xml"],
            in: directory)
        XCTAssertNotEqual(refused.status, 0, refused.output)

        // The TS 119 612 shapes a reader looks for (the ETSI XSDs are not ours to ship, so no schema check here).
        XCTAssertTrue(
            text.contains(
                "<tsl:TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/HKlist</tsl:TSLType>"))
        XCTAssertTrue(text.contains("TSLTag=\"http://uri.etsi.org/19612/TSLTag\""))
        XCTAssertTrue(text.contains("<xades:SigningCertificateV2>"))
        XCTAssertTrue(text.contains("Test list &lt;only&gt;."), "text is escaped")
    }

    func testImportReadsBackWhatWasExported() throws {
        let macao = try Jurisdiction(territory: "MO", name: "Macao", statusBase: "http://127.0.0.1:9", testCase: self)
        let withdrawnBefore = TrustServiceHistoryInstance(
            name: "older name",
            certificates: [macao.authority.certificate],
            status: .withdrawn,
            statusStartingTime: Date(timeIntervalSince1970: 1_600_000_000))
        var list = macao.list(sequence: 7, history: [withdrawnBefore])
        list.providers[0].services[0].statusLocations = [
            .ocsp("http://ocsp.mo.example/"),
            .crl("http://crl.mo.example/ca.crl"),
        ]
        let xml = try TrustListExport.signedXML(list, signer: macao.trustListSigner)

        for anchor in [macao.authority.certificate, macao.trustListSigner.certificate] {
            let imported = try TrustListImport.verify(xml, signers: [anchor], territory: "MO")
            XCTAssertEqual(imported.signer, macao.trustListSigner.certificate)
            XCTAssertEqual(imported.list.sequenceNumber, 7)
            XCTAssertEqual(imported.list.territory, "MO")
            XCTAssertEqual(imported.list.schemeName, "MO:Recognised e-signature certificates & their CAs")
            XCTAssertEqual(imported.list.legalNotice, "Test list <only>.")
            XCTAssertEqual(
                imported.list.nextUpdate.timeIntervalSince1970,
                list.nextUpdate.timeIntervalSince1970.rounded(.down))
            let service = try XCTUnwrap(imported.list.services.first?.service)
            XCTAssertEqual(service.certificates, [macao.authority.certificate])
            XCTAssertEqual(service.status, .granted)
            XCTAssertEqual(service.policyOIDs, ["1.3.6.1.4.1.99999.22.1"])
            XCTAssertEqual(service.statusLocations, list.providers[0].services[0].statusLocations)
            XCTAssertEqual(service.history.count, 1)
            XCTAssertEqual(service.history.first?.status, .withdrawn)
            XCTAssertEqual(service.status(at: Date(timeIntervalSince1970: 1_650_000_000)), .withdrawn)
            XCTAssertNil(service.status(at: Date(timeIntervalSince1970: 1_500_000_000)))
            XCTAssertEqual(service.status(at: Date()), .granted)
        }
    }

    // MARK: Refusals

    func testListsFromOtherSignersOrAlteredAreRefused() throws {
        let hongKong = try Jurisdiction(territory: "HK", name: "Hong Kong", statusBase: nil, testCase: self)
        let impostor = try Jurisdiction(territory: "HK", name: "Hong Kong", statusBase: nil, testCase: self)
        let xml = try impostor.signedList()
        XCTAssertThrowsError(try TrustListImport.verify(xml, signers: [hongKong.authority.certificate])) {
            guard case .untrustedSigner = $0 as? TrustListError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try TrustListImport.verify(xml, signers: [hongKong.trustListSigner.certificate])) {
            guard case .untrustedSigner = $0 as? TrustListError else { return XCTFail("\($0)") }
        }

        // Swap the impostor's KeyInfo certificate for the real signer's: the signature no longer verifies.
        let real = Data(hongKong.trustListSigner.certificate.der).base64EncodedString()
        let fake = Data(impostor.trustListSigner.certificate.der).base64EncodedString()
        let swapped = Array(String(decoding: xml, as: UTF8.self).replacingOccurrences(of: fake, with: real).utf8)
        XCTAssertThrowsError(try TrustListImport.verify(swapped, signers: [hongKong.authority.certificate])) {
            guard case .signatureInvalid = $0 as? TrustListError else { return XCTFail("\($0)") }
        }

        // A CA-issued certificate without id-tsl-kp-tslSigning (the OCSP responder's) cannot sign lists.
        let ocspSigner = try hongKong.authority.issueDelegatedSigner(for: .ocspSigning, validity: 86_400)
        let wrongPurpose = try TrustListExport.signedXML(hongKong.list(), signer: ocspSigner)
        XCTAssertThrowsError(try TrustListImport.verify(wrongPurpose, signers: [hongKong.authority.certificate])) {
            XCTAssertEqual($0 as? TrustListError, .untrustedSigner("the signer certificate lacks id-tsl-kp-tslSigning"))
        }

        let genuine = try hongKong.signedList()
        var text = String(decoding: genuine, as: UTF8.self)
        text = text.replacingOccurrences(of: "Svcstatus/granted", with: "Svcstatus/grantee")
        XCTAssertThrowsError(try TrustListImport.verify(Array(text.utf8), signers: [hongKong.authority.certificate])) {
            guard case .signatureInvalid = $0 as? TrustListError else { return XCTFail("\($0)") }
        }
    }

    /// Attack: XML signature wrapping. The signed list stays intact inside a new root that carries a forged
    /// service; the signature no longer covers "the whole document", so nothing is read.
    func testSignatureWrappingIsRefused() throws {
        let hongKong = try Jurisdiction(territory: "HK", name: "Hong Kong", statusBase: nil, testCase: self)
        let genuine = String(decoding: try hongKong.signedList(), as: UTF8.self)
        let body = genuine.replacingOccurrences(of: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", with: "")
        let wrapped =
            "<tsl:TrustServiceStatusList xmlns:tsl=\"http://uri.etsi.org/02231/v2#\">" + body
            + "</tsl:TrustServiceStatusList>"
        let anchor = [hongKong.authority.certificate]
        XCTAssertThrowsError(try TrustListImport.verify(Array(wrapped.utf8), signers: anchor)) {
            guard case .malformed = $0 as? TrustListError else { return XCTFail("\($0)") }
        }
        // A second signature elsewhere in the document is refused before any verification.
        let signature = try XCTUnwrap(genuine.range(of: "<ds:Signature ")?.lowerBound)
        let end = try XCTUnwrap(genuine.range(of: "</ds:Signature>")?.upperBound)
        let copy = String(genuine[signature..<end])
        let doubled = genuine.replacingOccurrences(
            of: "<tsl:TrustServiceProviderList>",
            with: "<tsl:TrustServiceProviderList>" + copy)
        XCTAssertThrowsError(try TrustListImport.verify(Array(doubled.utf8), signers: anchor)) {
            XCTAssertEqual(($0 as? TrustListError)?.code, "trust-list-malformed")
        }
    }

    /// Attack: entity expansion and external entities. A DOCTYPE is refused outright.
    func testDocumentTypeDeclarationsAreRefused() throws {
        let hongKong = try Jurisdiction(territory: "HK", name: "Hong Kong", statusBase: nil, testCase: self)
        let genuine = String(decoding: try hongKong.signedList(), as: UTF8.self)
        let bomb = genuine.replacingOccurrences(
            of: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            with: "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">"
                + "<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n")
        XCTAssertThrowsError(try TrustListImport.verify(Array(bomb.utf8), signers: [hongKong.authority.certificate])) {
            guard case let .malformed(reason) = $0 as? TrustListError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("document type"), reason)
        }
        let anchor = [hongKong.authority.certificate]
        XCTAssertThrowsError(try TrustListImport.verify(Array("not xml".utf8), signers: anchor))
        let huge = [UInt8](repeating: 0x20, count: TrustListImport.maximumSize + 1)
        XCTAssertThrowsError(try TrustListImport.verify(huge, signers: anchor)) {
            guard case .tooLarge = $0 as? TrustListError else { return XCTFail("\($0)") }
        }
    }

    func testExpiredOlderAndForeignTerritoryListsAreRefused() throws {
        let hongKong = try Jurisdiction(territory: "HK", name: "Hong Kong", statusBase: nil, testCase: self)
        let anchor = [hongKong.authority.certificate]
        let current = try TrustListImport.verify(try hongKong.signedList(sequence: 5), signers: anchor)
        XCTAssertThrowsError(
            try TrustListImport.verify(
                try hongKong.signedList(sequence: 4), signers: anchor,
                previous: current)
        ) {
            XCTAssertEqual($0 as? TrustListError, .sequenceWentBack(imported: 4, current: 5))
        }
        XCTAssertNoThrow(
            try TrustListImport.verify(
                try hongKong.signedList(sequence: 6), signers: anchor,
                previous: current))
        let stale = try TrustListExport.signedXML(
            hongKong.list(issued: Date() - 86_400 * 2, nextUpdate: Date() - 60),
            signer: hongKong.trustListSigner)
        XCTAssertThrowsError(try TrustListImport.verify(stale, signers: anchor)) {
            guard case .expired = $0 as? TrustListError else { return XCTFail("\($0)") }
        }
        // Issued an hour ahead of this clock (beyond the 5 minutes of skew allowed), by a signer valid now.
        let early = try TrustListExport.signedXML(
            hongKong.list(issued: Date() + 3_600, nextUpdate: Date() + 86_400),
            signer: hongKong.trustListSigner)
        XCTAssertThrowsError(try TrustListImport.verify(early, signers: anchor)) {
            guard case .issuedInTheFuture = $0 as? TrustListError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try TrustListImport.verify(try hongKong.signedList(), signers: anchor, territory: "MO")) {
            XCTAssertEqual($0 as? TrustListError, .wrongTerritory(expected: "MO", found: "HK"))
        }
    }

    /// RFC 9112 §7.1: a chunked body is reassembled; a chunk beyond the limit or a truncated body is refused.
    func testFetcherReadsChunkedBodiesWithinTheLimit() throws {
        let head = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        let body = Array("4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n".utf8)
        XCTAssertEqual(try HTTPStatusFetcher.body(of: head + body, url: "u", limit: 100), Array("Wikipedia".utf8))
        XCTAssertThrowsError(try HTTPStatusFetcher.body(of: head + body, url: "u", limit: 6))
        XCTAssertThrowsError(try HTTPStatusFetcher.body(of: head + Array("9\r\nabc".utf8), url: "u", limit: 100))
        XCTAssertThrowsError(try HTTPStatusFetcher.body(of: Array("HTTP/1.1 404 No\r\n\r\n".utf8), url: "u", limit: 9))
        let sized = Array("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabcdef".utf8)
        XCTAssertEqual(try HTTPStatusFetcher.body(of: sized, url: "u", limit: 100), Array("abc".utf8))
    }

    func testCanonicalReaderRefusesWhatCanonicalXMLCannotContain() {
        XCTAssertNoThrow(try CanonicalXML.parse(Array("<a xmlns=\"u\" b=\"&quot;&#xA;\">x&amp;y<c></c></a>".utf8)))
        for bad in [
            "<a><!-- c --></a>", "<a>&nbsp;</a>", "<a><b></a></b>", "<p:a></p:a>", "<a></a><b></b>",
            "text", "<a>", String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100),
        ] {
            XCTAssertThrowsError(try CanonicalXML.parse(Array(bad.utf8)), bad)
        }
        let parsed = try? CanonicalXML.parse(Array("<a xmlns=\"u\" b=\"&quot;&#xA;\">x&amp;y<c></c></a>".utf8))
        XCTAssertEqual(parsed?.namespace, "u")
        XCTAssertEqual(parsed?.attribute("b"), "\"\n")
        XCTAssertEqual(parsed?.text, "x&y")
        XCTAssertEqual(parsed?.children.first?.namespace, "u")
    }
}
