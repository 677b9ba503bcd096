import MRTD
import SmartCard
import XCTest

/// EF.CardAccess SecurityInfos (ICAO 9303-11 §9.2): known encodings first, then tolerance and refusals.
final class CardAccessTests: XCTestCase {
    private func oid(_ dotted: String) -> TLV {
        let arcs = dotted.split(separator: ".").compactMap { UInt64($0) }
        var out: [UInt8] = []
        for arc in [arcs[0] * 40 + arcs[1]] + arcs.dropFirst(2) {
            var chunk: [UInt8] = [UInt8(arc & 0x7F)]
            var rest = arc >> 7
            while rest > 0 {
                chunk.insert(UInt8(rest & 0x7F) | 0x80, at: 0)
                rest >>= 7
            }
            out += chunk
        }
        return TLV(tag: 0x06, value: out)
    }

    private func integer(_ value: UInt8) -> TLV { TLV(tag: 0x02, value: [value]) }

    /// The EF.CardAccess of the ICAO 9303-11 Appendix G example chip: one PACEInfo, ECDH-GM-AES-128, ID 13.
    func testAppendixGCardAccess() throws {
        let infos = try SecurityInfos(parsing: hexBytes("31143012060A04007F0007020204020202010202010D"))
        XCTAssertEqual(infos.paceInfos.count, 1)
        let info = try XCTUnwrap(infos.paceInfos.first)
        XCTAssertEqual(info.oid, "0.4.0.127.0.7.2.2.4.2.2")
        XCTAssertEqual(info.algorithm, PACEAlgorithm(keyAgreement: .ecdh, mapping: .generic, cipher: .aes128))
        XCTAssertEqual(info.version, 2)
        XCTAssertEqual(info.parameterID, 13)
        XCTAssertEqual(info.description, "PACE-ECDH-GM-AES-128 brainpoolP256r1")
        XCTAssertEqual(
            SecurityInfos.encode(paceInfos: [info]),
            hexBytes("31143012060A04007F0007020204020202010202010D"))
    }

    func testEveryPACEOIDMapsToItsAlgorithm() {
        let expectations: [(String, PACEKeyAgreement, PACEMapping, SecureMessagingCipherSuite.Algorithm)] = [
            ("1.1", .dh, .generic, .tripleDES), ("1.2", .dh, .generic, .aes128), ("1.3", .dh, .generic, .aes192),
            ("1.4", .dh, .generic, .aes256), ("2.1", .ecdh, .generic, .tripleDES), ("2.4", .ecdh, .generic, .aes256),
            ("3.2", .dh, .integrated, .aes128), ("4.3", .ecdh, .integrated, .aes192),
            ("6.2", .ecdh, .chipAuthentication, .aes128), ("6.4", .ecdh, .chipAuthentication, .aes256),
        ]
        for (suffix, agreement, mapping, cipher) in expectations {
            let algorithm = PACEAlgorithm(oid: "0.4.0.127.0.7.2.2.4." + suffix)
            XCTAssertEqual(algorithm, PACEAlgorithm(keyAgreement: agreement, mapping: mapping, cipher: cipher), suffix)
            XCTAssertEqual(algorithm?.oid, "0.4.0.127.0.7.2.2.4." + suffix)
        }
        for unknown in [
            "0.4.0.127.0.7.2.2.4.5.2", "0.4.0.127.0.7.2.2.4.6.1", "0.4.0.127.0.7.2.2.4.2.5",
            "0.4.0.127.0.7.2.2.4.2", "0.4.0.127.0.7.2.2.3.2.2", "1.2.840.113549",
        ] {
            XCTAssertNil(PACEAlgorithm(oid: unknown), unknown)
        }
    }

    func testMixedSecurityInfosAreAllParsedAndUnknownOnesTolerated() throws {
        let spki = TLV(
            tag: 0x30,
            children: [
                TLV(tag: 0x30, children: [oid("0.4.0.127.0.7.2.2.1.2")]),
                TLV(tag: 0x03, value: [0x00, 0x04, 0x01, 0x02]),
            ])
        let set = TLV(
            tag: 0x31,
            children: [
                TLV(tag: 0x30, children: [oid("0.4.0.127.0.7.2.2.4.1.2"), integer(2), integer(0)]),
                TLV(tag: 0x30, children: [oid("0.4.0.127.0.7.2.2.4.2.4"), integer(2), integer(16)]),
                TLV(tag: 0x30, children: [oid("0.4.0.127.0.7.2.2.4.6.2"), integer(2), integer(13)]),
                TLV(
                    tag: 0x30,
                    children: [
                        oid("0.4.0.127.0.7.2.2.4.2"),
                        TLV(tag: 0x30, children: [oid("0.4.0.127.0.7.1.2")]), integer(40),
                    ]),
                TLV(tag: 0x30, children: [oid("0.4.0.127.0.7.2.2.3.2.2"), integer(1), integer(7)]),
                TLV(tag: 0x30, children: [oid("0.4.0.127.0.7.2.2.1.2"), spki, integer(7)]),
                TLV(tag: 0x30, children: [oid("0.4.0.127.0.7.2.2.2"), integer(1)]),
                TLV(tag: 0x30, children: [oid("0.4.0.127.0.7.2.2.6"), TLV(tag: 0x16, value: Array("https://x".utf8))]),
            ])
        let infos = try SecurityInfos(parsing: set.encoded)
        XCTAssertEqual(infos.infos.count, 8)
        XCTAssertEqual(
            infos.paceInfos.map(\.description),
            [
                "PACE-DH-GM-AES-128 1024-bit MODP (RFC 5114)", "PACE-ECDH-GM-AES-256 brainpoolP384r1",
                "PACE-ECDH-CAM-AES-128 brainpoolP256r1",
            ])
        guard case let .paceDomainParameters(domain) = infos.infos[3] else { return XCTFail("\(infos.infos[3])") }
        XCTAssertEqual(domain.parameterID, 40)
        XCTAssertEqual(
            infos.infos[4],
            .chipAuthentication(
                ChipAuthenticationInfo(
                    oid: "0.4.0.127.0.7.2.2.3.2.2",
                    version: 1, keyID: 7)))
        guard case let .chipAuthenticationPublicKey(key) = infos.infos[5] else { return XCTFail("\(infos.infos[5])") }
        XCTAssertEqual(key.subjectPublicKeyInfo, spki.encoded)
        XCTAssertEqual(key.keyID, 7)
        XCTAssertEqual(
            infos.infos[6],
            .terminalAuthentication(
                TerminalAuthenticationInfo(
                    oid: "0.4.0.127.0.7.2.2.2",
                    version: 1)))
        XCTAssertEqual(infos.infos[7], .other(oid: "0.4.0.127.0.7.2.2.6"))
        // The strongest supported: AES-256 on brainpoolP384r1.
        XCTAssertEqual(PACE.preferredInfo(in: infos)?.parameterID, 16)
    }

    func testPreferredInfoSkipsUnsupportedOnes() throws {
        let infos = SecurityInfos([
            // Integrated Mapping is supported, but not on NIST P-224.
            .pace(
                PACEInfo(
                    algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .integrated, cipher: .aes256),
                    parameterID: 10)),
            .pace(
                PACEInfo(
                    algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .generic, cipher: .aes256),
                    parameterID: nil)),
            .pace(
                PACEInfo(
                    algorithm: PACEAlgorithm(keyAgreement: .dh, mapping: .generic, cipher: .tripleDES),
                    parameterID: 2)),
            .pace(
                PACEInfo(
                    algorithm: PACEAlgorithm(keyAgreement: .ecdh, mapping: .generic, cipher: .aes128),
                    parameterID: 12)),
        ])
        XCTAssertEqual(PACE.preferredInfo(in: infos)?.description, "PACE-ECDH-GM-AES-128 NIST P-256")
        XCTAssertNil(PACE.preferredInfo(in: SecurityInfos([])))
    }

    func testMalformedCardAccessIsRefusedWithATypedError() {
        let cases: [(String, String)] = [
            ("3012060A04007F0007020204020202010202010D", "a SEQUENCE instead of a SET"),
            ("31143012060A04007F0007020204020202010202", "truncated"),
            ("3105300302010D", "no OID"),
            ("310E300C060A04007F00070202040202", "no required data"),
            ("3111300F060A04007F000702020402020401020304", "version not an INTEGER"),
            ("31143012060A04007F0007020204020202010202010D00", "trailing byte"),
            ("3100", "empty is fine"),
        ]
        for (text, label) in cases {
            let result = Result { try SecurityInfos(parsing: hexBytes(text)) }
            if label == "empty is fine" {
                XCTAssertEqual(try? result.get().infos.count, 0)
                continue
            }
            XCTAssertThrowsError(try result.get(), label) { error in
                guard case .malformedFile(.cardAccess, _) = error as? MRTDError else {
                    return XCTFail("\(label): \(error)")
                }
            }
        }
    }
}
