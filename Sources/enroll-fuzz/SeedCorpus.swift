import CardScan
import FaceMatch
import Foundation
import FuzzTargets
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard

/// The committed seed corpus (Fuzz/corpus/<target>/): valid inputs made by our own encoders, the ICAO
/// specimen MRZs and the public-domain face chips. Small on purpose: the fuzzer mutates from here.
struct SeedCorpus {
    /// A directory of JPEG face chips (Debian's dlib examples: `johns/<person>/<file>.jpg`).
    var faces: String

    struct SeedError: Error, CustomStringConvertible {
        var description: String
    }

    /// ICAO 9303 specimen MRZs (Parts 4, 5, 6 Appendix A).
    static let specimenMRZs: [[String]] = [
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"],
        ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"],
        ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"],
        ["I<UTOD23145890<1233<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<2", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"],
    ]

    func write(to directory: String) throws {
        let images = try imageSeeds()
        let mrzs = try Self.specimenMRZs.map { lines in try MRZ(lines: lines) }
        let pki = try TestPKI()
        var card = EMRTDPersonalisation(
            mrz: mrzs[1], portraits: [images["face-small.jpg"] ?? []],
            dg11: DG11(
                fullName: "ERIKSSON ANNA MARIA", personalNumber: "UTO-1974-0001",
                placeOfBirth: "UTOPIA CITY"),
            dg12: DG12(issuingAuthority: "UTOPIA IDENTITY OFFICE", dateOfIssue: "20220415"))
        card.documentSigner = pki.documentSigner
        card.activeAuthentication = try ActiveAuthenticationConfiguration(privateKey: try PrivateKey.generate(.p256))
        card.chipAuthentication = try ChipAuthenticationConfiguration(
            privateKey: try PrivateKey.generate(.brainpoolP256r1))
        card.pace = PACEConfiguration(parameterID: 13, cipher: .aes128, chipAuthenticationMapping: true)
        let profile = try card.makeProfile()
        var rsaCard = EMRTDPersonalisation(mrz: mrzs[0], portraits: [images["face-small.jp2"] ?? []])
        rsaCard.activeAuthentication = try ActiveAuthenticationConfiguration(
            privateKey: try PrivateKey.generate(.rsa(bits: 1024)))
        rsaCard.pace = PACEConfiguration(parameterID: 2, cipher: .tripleDES)
        let rsaProfile = try rsaCard.makeProfile()

        var seeds: [FuzzTarget: [String: [UInt8]]] = [:]
        func add(_ target: FuzzTarget, _ name: String, _ bytes: [UInt8]?) {
            guard let bytes, !bytes.isEmpty else { return }
            seeds[target, default: [:]][name] = bytes
        }
        let names: [FileID: String] = [
            .com: "ef-com", .dg1: "dg1", .dg2: "dg2", .dg11: "dg11", .dg12: "dg12",
            .dg14: "dg14", .dg15: "dg15",
        ]
        for (file, name) in names {
            add(.lds, "\(name)-td1", profile.files[file])
            add(.lds, "\(name)-td3", rsaProfile.files[file])
        }
        add(.lds, "ef-cardaccess-cam", profile.masterFiles[.cardAccess])
        add(.lds, "ef-cardaccess-dh", rsaProfile.masterFiles[.cardAccess])
        add(.lds, "ef-cardsecurity", profile.masterFiles[.cardSecurity])
        for (index, mrz) in mrzs.enumerated() { add(.lds, "dg1-specimen-\(index)", DG1(mrz: mrz).encoded) }

        add(.tlv, "dg1", profile.files[.dg1])
        add(.tlv, "dg11", profile.files[.dg11])
        add(.tlv, "dg14", profile.files[.dg14])
        add(.tlv, "ef-com", profile.files[.com])
        add(
            .tlv, "long-form",
            TLV(tag: 0x7F61, children: [TLV(tag: 0x5F2E, value: [UInt8](repeating: 0xA5, count: 300))])
                .encoded)

        for (index, lines) in Self.specimenMRZs.enumerated() {
            add(.mrz, "specimen-\(index)-lines", Array(lines.joined(separator: "\n").utf8))
            add(.mrz, "specimen-\(index)-joined", Array(lines.joined().utf8))
        }

        let sod = profile.files[.sod]
        add(.sod, "ef-sod-ecdsa", sod)
        if let sod, let object = try? SOD.parse(sod).securityObject() { add(.sod, "lds-security-object", object.der) }
        let rsaPKI = try TestPKI(
            options: {
                var options = TestPKI.Options()
                options.dscKey = .rsa2048
                return options
            }())
        var groups: [DataGroup: [UInt8]] = [:]
        for (file, bytes) in rsaProfile.files { if let group = DataGroup(fileID: file) { groups[group] = bytes } }
        add(
            .sod, "ef-sod-rsa-sha1",
            try SODBuilder.build(
                dataGroups: groups, hash: .sha1,
                signer: rsaPKI.documentSigner.certificate,
                key: rsaPKI.documentSigner.key))

        let signer = try pki.makeMasterListSigner()
        add(
            .masterlist, "two-cscas",
            try TestPKI.masterList(
                certificates: [pki.csca.certificate, rsaPKI.csca.certificate],
                signer: signer, signingTime: Date()))
        add(
            .masterlist, "self-anchored",
            try TestPKI.masterList(certificates: [rsaPKI.csca.certificate], signer: signer))

        for (name, bytes) in images { add(.image, name, bytes) }
        for (name, bytes) in try cardScanSeeds() { add(.cardscan, name, bytes) }

        let requests = [
            "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n",
            "POST /v1/enrollments?reader=0&mode=full HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: 27\r\n\r\n{\"reader\":\"Virtual PCD 00\"}",
            "GET /v1/accounts/a%20b/usage?from=2026-01-01&to=x+y HTTP/1.0\r\nAccept: */*\r\n\r\n",
            "DELETE /v1/identities/7 HTTP/1.1\r\nX-Reason: keyCompromise\r\nContent-Length: 0\r\n\r\n",
        ]
        for (index, request) in requests.enumerated() {
            let split = UInt16(request.count / (index + 2))
            add(.http, "request-\(index)", [UInt8(split >> 8), UInt8(split & 0xFF)] + Array(request.utf8))
        }

        let subject = DistinguishedName(country: "UT", organization: "Device", commonName: "kiosk-7")
        add(
            .csr, "p256.der",
            try CertificateSigningRequest.create(subject: subject, key: try PrivateKey.generate(.p256)).der)
        add(
            .csr, "brainpool.pem",
            Array(
                try CertificateSigningRequest.create(
                    subject: subject, key: try PrivateKey.generate(.brainpoolP256r1)
                ).pem.utf8))
        add(
            .csr, "rsa2048.der",
            try CertificateSigningRequest.create(
                subject: subject,
                key: try PrivateKey.generate(.rsa2048)
            ).der)

        for (name, bytes) in try livenessSeeds() { add(.liveness, name, bytes) }

        let ca = pki.csca.certificate
        let id = try OCSPCertificateID(serialNumber: [0x01, 0x23], issuer: ca)
        add(.ocsp, "request.der", try OCSPRequest.encode(certificateIDs: [id]))
        add(.ocsp, "request-nonce.der", try OCSPRequest.encode(certificateIDs: [id], nonce: Array(1...16)))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        add(
            .ocsp, "response.der",
            try OCSPResponseBuilder(responses: [
                OCSPSingleResponse(
                    certificateID: id, status: .revoked(at: now - 60, reason: .keyCompromise),
                    thisUpdate: now, nextUpdate: now + 3600)
            ]).sign(responder: ca, key: pki.csca.key))

        for (index, name) in ChipSeeds.cardNames.enumerated() {
            let card = UInt8(index)
            add(.chip, "honest-\(name)", [card, 0x00])
            add(.chip, "honest-\(name)-can-sfi-short", [card, 0x0D])
            add(.chip, "honest-\(name)-trust-during-read", [card, 0x80])
            add(
                .chip, "\(name)-xor-answer-9", [card, 0x00] + OrdinalChipScript.record(ordinal: 9, kind: 3, [2, 0x01]))
            add(
                .chip, "\(name)-line-flips-answer-12",
                [card, 0x00]
                    + OrdinalChipScript.record(ordinal: 12, kind: 7, [0, 0x80]))
            add(.chip, "\(name)-removed-at-20", [card, 0x00] + OrdinalChipScript.record(ordinal: 20, kind: 10, []))
            add(
                .chip, "\(name)-dg1-replaced",
                [card, 0x00]
                    + OrdinalChipScript.record(ordinal: 0, kind: 12, [1] + DG1(mrz: mrzs[0]).encoded))
            add(.chipScript, "honest-\(name)", ChipSeeds.honestExchange(card: index))
            add(.chipScript, "honest-\(name)-short-path", ChipSeeds.honestExchange(card: index, flags: 0x07))
        }

        for (target, named) in try ServiceSeeds.all() {
            for (name, bytes) in named { add(target, name, bytes) }
        }

        for target in FuzzTarget.allCases {
            let folder = (directory as NSString).appendingPathComponent(target.rawValue)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (name, bytes) in seeds[target] ?? [:] {
                try Data(bytes).write(
                    to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("seed-" + name)))
            }
            print("\(target.rawValue): \(seeds[target]?.count ?? 0) seeds")
        }
    }

    /// Small bursts: a synthetic head turning (3 frames, 320x240), the same frame twice, a burst with a frame
    /// going back in time, and one naming another challenge.
    private func livenessSeeds() throws -> [String: [UInt8]] {
        let people = ((try? FileManager.default.contentsOfDirectory(atPath: faces)) ?? []).sorted()
        guard let person = people.first,
            let file = ((try? FileManager.default.contentsOfDirectory(atPath: "\(faces)/\(person)")) ?? []).sorted()
                .first,
            let bytes = CorpusFiles.read("\(faces)/\(person)/\(file)")
        else { throw SeedError(description: "no face chips under \(faces) (use --faces DIR)") }
        let chip = try RGBImage(decoding: bytes)
        let frames = try [0.0, 12, 24].map { yaw in
            try SyntheticBursts.head(chip: chip, pose: .init(yaw: yaw), seed: UInt64(yaw)).resized(
                width: 320, height: 240
            )
            .encoded(as: .jpeg, quality: 60)
        }
        return [
            "turning-head": LivenessFuzzInput.encode(frames: frames.map { (200, $0) }),
            "duplicate-frames": LivenessFuzzInput.encode(frames: [(200, frames[0]), (200, frames[0])]),
            "time-going-back": LivenessFuzzInput.encode(frames: [(200, frames[0]), (-100, frames[1]), (200, frames[2])]
            ),
            "other-nonce-expired": LivenessFuzzInput.encode(frames: [(200, frames[1]), (200, frames[2])], flags: 3),
        ]
    }

    /// One face chip as is, and small versions in every format the engine decodes.
    private func imageSeeds() throws -> [String: [UInt8]] {
        let people = ((try? FileManager.default.contentsOfDirectory(atPath: faces)) ?? []).sorted()
        guard let person = people.first,
            let file = ((try? FileManager.default.contentsOfDirectory(atPath: "\(faces)/\(person)")) ?? []).sorted()
                .first,
            let chip = CorpusFiles.read("\(faces)/\(person)/\(file)")
        else { throw SeedError(description: "no face chips under \(faces) (use --faces DIR)") }
        let small = try RGBImage(decoding: chip).resized(width: 40, height: 40)
        return [
            "face-chip.jpg": chip,
            "face-small.jpg": try small.encoded(as: .jpeg, quality: 80),
            "face-small.png": try small.encoded(as: .png),
            "face-small.jp2": try small.encodedJPEG2000(.jp2, colour: .rgb, quality: 60),
            "face-small-grey.j2k": try small.encodedJPEG2000(.j2k, colour: .grey, quality: 100),
            "face-small-sycc420.jp2": try small.encodedJPEG2000(.jp2, colour: .sycc420, quality: 70),
        ]
    }

    /// Small generated card photos (TD1, a card front, TD3) as JPEG and PNG, and raw grey pixels (width byte
    /// first) cut from one of them.
    private func cardScanSeeds() throws -> [String: [UInt8]] {
        var generator = SyntheticCards(portraits: SyntheticCards.portraits(from: faces, limit: 2))
        generator.width = 400
        generator.height = 300
        var seeds: [String: [UInt8]] = [:]
        for (seed, layout) in [(UInt64(1), ScannedLayout.td1), (2, .cardFront), (3, .td3)] {
            let photo = try generator.photo(seed: seed, level: .mild, layout: layout)
            seeds["card-\(layout.rawValue).jpg"] = photo.image
            if layout == .td3 {
                seeds["card-td3.png"] = try RGBImage(decoding: photo.image).encoded(as: .png)
            }
        }
        let strip = GreyImage(try RGBImage(decoding: seeds["card-td3.jpg"] ?? []).resized(width: 64, height: 48))
        seeds["grey-64x48"] = [UInt8(64 - 16)] + strip.pixels
        return seeds
    }
}
