import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard

/// `enroll-bench auth`: passive authentication of a full read's files, and the active and chip authentication
/// handshakes against the in-process virtual chip (BAC session, in-memory channel: protocol and crypto cost
/// of both sides, no transport).
func runAuthenticityBench(arguments: [String]) {
    let options = BenchOptions(arguments, command: "auth", allowsVPCD: true)
    let iterations = options.iterations
    let json = options.json
    let throughVPCD = options.throughVPCD
    var report: [[String: Any]] = []
    func record(_ name: String, _ samples: [Double], _ detail: String) {
        report.append([
            "measurement": name, "detail": detail, "medianMilliseconds": median(samples),
            "iterations": samples.count,
        ])
        if !json {
            print(
                name.padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%8.2f ms  ", median(samples))
                    + detail)
        }
    }
    do {
        let mrz = try MRZ(lines: [
            "I<UTOD231458907<<<<<<<<<<<<<<<", "9008124F3204153UTO<<<<<<<<<<<0",
            "SALLEY<<JOHN<<<<<<<<<<<<<<<<<<",
        ])
        for (label, keys) in [("EC P-256", KeyGenerationParameters.p256), ("RSA-3072", .rsa3072)] {
            var options = TestPKI.Options()
            options.cscaKey = keys
            options.dscKey = keys
            let pki = try TestPKI(options: options)
            var card = EMRTDPersonalisation(mrz: mrz, portraits: [try benchPortrait(targetBytes: 16_000)])
            card.documentSigner = pki.documentSigner
            card.activeAuthentication = try ActiveAuthenticationConfiguration(
                privateKey: try PrivateKey.generate(.p256))
            card.chipAuthentication = try ChipAuthenticationConfiguration(privateKey: try PrivateKey.generate(.p256))
            let files = try card.signedFiles()
            var groups: [DataGroup: [UInt8]] = [:]
            for (file, bytes) in files { if let group = DataGroup(fileID: file) { groups[group] = bytes } }
            let store = TrustStore(certificates: [pki.csca.certificate], crls: [pki.crl])
            guard let sod = files[.sod] else { benchFail("no EF.SOD") }
            var samples: [Double] = []
            for _ in 0..<iterations {
                let start = DispatchTime.now()
                let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: groups, trustStore: store)
                samples.append(milliseconds(since: start))
                guard result.passed else { benchFail("passive authentication failed: \(result.failures)") }
            }
            record(
                "passive authentication (\(label) PKI)", samples,
                "\(groups.count) data groups, \(files.values.reduce(0) { $0 + $1.count }) bytes")
        }

        let aaKeys: [(String, PrivateKey, DigestAlgorithm)] = [
            ("AA RSA-1024 ISO 9796-2 SHA-1", try PrivateKey.generate(.rsa(bits: 1024)), .sha1),
            ("AA RSA-2048 ISO 9796-2 SHA-256", try PrivateKey.generate(.rsa2048), .sha256),
            ("AA ECDSA P-256 SHA-256", try PrivateKey.generate(.p256), .sha256),
            ("AA ECDSA brainpoolP384r1 SHA-384", try PrivateKey.generate(.ec(curve: "brainpoolP384r1")), .sha384),
        ]
        for (name, key, digest) in aaKeys {
            var card = EMRTDPersonalisation(mrz: mrz, portraits: [])
            card.activeAuthentication = try ActiveAuthenticationConfiguration(
                privateKey: key, digest: digest,
                implicitTrailer: digest == .sha1)
            let (channel, files) = try session(card)
            let dg15 = try DG15(parsing: files[.dg15] ?? [])
            let info = try files[.dg14].map { try DG14(parsing: $0) }?.activeAuthentication
            var samples: [Double] = []
            for _ in 0..<iterations {
                let challenge = try SecureRandom.bytes(8)
                let start = DispatchTime.now()
                _ = try ActiveAuthentication.authenticate(
                    channel: channel, dg15: dg15, info: info, challenge: challenge)
                samples.append(milliseconds(since: start))
            }
            record(name, samples, "INTERNAL AUTHENTICATE + verification, under SM")
        }

        let caKeys: [(String, PrivateKey, SecureMessagingCipherSuite.Algorithm)] = [
            ("CA v1 ECDH NIST P-256 AES-128", try PrivateKey.generate(.p256), .aes128),
            ("CA v1 ECDH brainpoolP256r1 3DES", try PrivateKey.generate(.brainpoolP256r1), .tripleDES),
            ("CA v1 ECDH brainpoolP384r1 AES-256", try PrivateKey.generate(.ec(curve: "brainpoolP384r1")), .aes256),
            ("CA v1 DH 2048/224 AES-128", try PrivateKey.generateDH(group: "dh_2048_224"), .aes128),
        ]
        for (name, key, cipher) in caKeys {
            var card = EMRTDPersonalisation(mrz: mrz, portraits: [])
            card.chipAuthentication = try ChipAuthenticationConfiguration(privateKey: key, cipher: cipher)
            var (channel, files) = try session(card)
            let dg14 = try DG14(parsing: files[.dg14] ?? [])
            let strategy = ReadBinaryStrategy(extendedLength: true, secureMessaging: true)
            var samples: [Double] = []
            for _ in 0..<iterations {
                let start = DispatchTime.now()
                let result = try ChipAuthentication.authenticate(channel: channel, dg14: dg14)
                channel = SecureMessagingChannel(base: channel.base, session: result.session)
                _ = try strategy.readFile(.com, on: channel)
                samples.append(milliseconds(since: start))
            }
            record(name, samples, "key agreement + MSE:Set KAT + EF.COM under the new keys")
        }
        if throughVPCD { try benchThroughVPCD(mrz: mrz, iterations: iterations, record: record) }
    } catch {
        benchFail("\(error)")
    }
    if json {
        guard let data = try? JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        else {
            benchFail("cannot encode the report")
        }
        FileHandle.standardOutput.write(data + Data([10]))
    }
}

/// A BAC session with the eMRTD application selected on an in-memory virtual chip, and the chip's files.
private func session(_ card: EMRTDPersonalisation) throws -> (SecureMessagingChannel, [FileID: [UInt8]]) {
    let profile = try card.makeProfile()
    let reader = DocumentReader(channel: InMemoryCardChannel(applet: EMRTDApplet(profile: profile)))
    let access = try reader.openSession(access: .mrz(try profile.accessKey()))
    return (access.channel, profile.files)
}

/// Through pcscd + vpcd (the chip is an in-process `EMRTDApplet` on vpcd port 35963, RSA-2048 AA and P-256 CA):
/// a full read with and without the anti-clone protocols, and each handshake on its own.
private func benchThroughVPCD(mrz: MRZ, iterations: Int, record: (String, [Double], String) -> Void) throws {
    var card = EMRTDPersonalisation(mrz: mrz, portraits: [try benchPortrait(targetBytes: 16_000)])
    card.activeAuthentication = try ActiveAuthenticationConfiguration(
        privateKey: try PrivateKey.generate(.rsa2048),
        digest: .sha256, implicitTrailer: false)
    card.chipAuthentication = try ChipAuthenticationConfiguration(privateKey: try PrivateKey.generate(.p256))
    let profile = try card.makeProfile()
    let pcscd = try BenchPCSCD()
    defer { pcscd.stop() }
    let reader = "Virtual PCD 00 00"
    guard pcscd.waitFor(reader: reader) else { benchFail("pcscd does not list '\(reader)'") }
    let connection = VPCDConnection(
        port: 35963, atr: VirtualCardProfile.defaultATR,
        applet: EMRTDApplet(profile: profile))
    let thread = Thread { connection.run(reconnect: false) }
    thread.start()
    defer { connection.stop() }
    guard pcscd.waitForCard(in: reader) else { benchFail("the virtual card did not appear in '\(reader)'") }
    let key = AccessKey.mrz(try profile.accessKey())
    let context = try PCSCContext()
    for antiClone in [false, true] {
        var samples: [Double] = []
        var options = DocumentReader.Options()
        options.antiClone = antiClone
        for _ in 0..<(iterations + 1) {
            let channel = try context.connect(reader: reader)
            let start = DispatchTime.now()
            let result = try DocumentReader(channel: channel, options: options).read(access: key)
            samples.append(milliseconds(since: start))
            channel.disconnect()
            if antiClone,
                result.chipAuthentication?.outcome != .passed || result.activeAuthentication?.outcome != .passed
            {
                benchFail(
                    "anti-clone failed over vpcd: \(String(describing: result.chipAuthentication)) "
                        + "\(String(describing: result.activeAuthentication))")
            }
        }
        record(
            "vpcd full read " + (antiClone ? "with CA + AA" : "without anti-clone"), Array(samples.dropFirst()),
            "BAC, EF.COM, DG1, 16 KB DG2, DG14, DG15")
    }
    let channel = try context.connect(reader: reader)
    defer { channel.disconnect() }
    let access = try DocumentReader(channel: channel).openSession(access: key)
    let dg15 = try DG15(parsing: profile.files[.dg15] ?? [])
    var aaSamples: [Double] = []
    for _ in 0..<iterations {
        let challenge = try SecureRandom.bytes(8)
        let start = DispatchTime.now()
        _ = try ActiveAuthentication.authenticate(channel: access.channel, dg15: dg15, info: nil, challenge: challenge)
        aaSamples.append(milliseconds(since: start))
    }
    record("vpcd AA RSA-2048 ISO 9796-2 SHA-256", aaSamples, "INTERNAL AUTHENTICATE (extended length) + verification")
    let dg14 = try DG14(parsing: profile.files[.dg14] ?? [])
    let strategy = ReadBinaryStrategy(extendedLength: true, secureMessaging: true)
    var secure = access.channel
    var caSamples: [Double] = []
    for _ in 0..<iterations {
        let start = DispatchTime.now()
        let result = try ChipAuthentication.authenticate(channel: secure, dg14: dg14)
        secure = SecureMessagingChannel(base: secure.base, session: result.session)
        _ = try strategy.readFile(.com, on: secure)
        caSamples.append(milliseconds(since: start))
    }
    record("vpcd CA v1 ECDH NIST P-256 AES-128", caSamples, "MSE:Set KAT + EF.COM under the new keys")
}
