import Foundation
import MRTD
import SmartCard
import VirtualCard

/// `enroll-bench pace`: PACE handshake times per mapping (Generic, Integrated, Chip Authentication; ICAO 9303-11
/// §4.4.3.3) and standardized domain (§9.5.1), AES-128, CAN password. In process (terminal and chip crypto, no
/// transport) and, with `--vpcd`, through pcscd + vpcd (the chip is an in-process `EMRTDApplet` on vpcd port 35963).
/// A handshake is EF.CardAccess read + MSE:Set AT + four GENERAL AUTHENTICATE; for CAM also EF.CardSecurity read
/// under secure messaging and the check of the chip's CAM data against its key.
func runPACEBench(arguments: [String]) {
    let options = BenchOptions(arguments, command: "pace", allowsVPCD: true)
    let iterations = options.iterations
    let json = options.json
    let throughVPCD = options.throughVPCD
    let can = "491756"
    let access: AccessKey
    do {
        access = .can(try CardAccessNumber(can))
    } catch {
        benchFail("\(error)")
    }
    let camSigner: TestPKI.Party
    do {
        camSigner = try TestPKI.makeCSCA(
            country: "UT", name: "PACE bench CardSecurity signer",
            validity: (Date() - 86_400, Date() + 86_400))
    } catch {
        benchFail("cannot make the EF.CardSecurity signer: \(error)")
    }
    func profile(_ id: Int, _ mapping: PACEMapping) -> EMRTDProfile {
        var pace = PACEConfiguration(parameterID: id, cipher: .aes128, can: can, mapping: mapping)
        if mapping == .chipAuthentication {
            do {
                pace = try pace.withChipAuthenticationKey(signer: camSigner)
            } catch {
                benchFail("PACE-CAM key for parameter ID \(id): \(error)")
            }
        }
        return EMRTDProfile(
            documentNumber: "D23145890", birthDate: "900812", expiryDate: "320415", files: [:],
            pace: pace, bacEnabled: false)
    }
    func handshake(_ channel: CardChannel) -> Double {
        let start = DispatchTime.now()
        do {
            guard let infos = try SecurityInfos.read(from: channel), let info = PACE.preferredInfo(in: infos) else {
                benchFail("the bench card offers no PACE")
            }
            var result = try PACE.authenticate(channel: channel, info: info, accessKey: access)
            if result.algorithm.mapping == .chipAuthentication {
                let secure = SecureMessagingChannel(base: channel, session: result.session)
                let file = try ReadBinaryStrategy(extendedLength: false, secureMessaging: true)
                    .readFile(.cardSecurity, on: secure)
                let key = try PACE.chipAuthenticationMappingKey(
                    in: try CardSecurity.securityInfos(file), for: info,
                    domain: result.domain)
                try PACE.verifyChipAuthenticationMapping(&result, chipPublicKey: key.key.publicKey)
            }
        } catch {
            benchFail("PACE failed: \(error)")
        }
        return milliseconds(since: start)
    }
    /// (mapping, parameter ID) pairs measured: GM on every domain, IM where defined (not NIST P-224), CAM on ECDH.
    let cases: [(PACEMapping, Int)] = [PACEMapping.generic, .integrated, .chipAuthentication].flatMap { mapping in
        PACEDomain.supportedParameterIDs.filter { id in
            switch mapping {
            case .generic: return true
            case .integrated: return id != 10
            case .chipAuthentication: return id > 2
            }
        }.map { (mapping, $0) }
    }

    // BAC beside PACE: SELECT of the application, GET CHALLENGE, EXTERNAL AUTHENTICATE, session keys.
    let bacKey: BACKey
    do {
        bacKey = try BACKey(documentNumber: "D23145890", birthDate: "900812", expiryDate: "320415")
    } catch {
        benchFail("\(error)")
    }
    func bacHandshake(_ channel: CardChannel) -> Double {
        let start = DispatchTime.now()
        do {
            try ReadBinaryStrategy.selectApplication(on: channel)
            _ = try BAC.authenticate(channel: channel, key: bacKey)
        } catch {
            benchFail("BAC failed: \(error)")
        }
        return milliseconds(since: start)
    }
    let bacProfile = EMRTDProfile(documentNumber: "D23145890", birthDate: "900812", expiryDate: "320415", files: [:])

    var report: [[String: Any]] = []
    let bacApplet = EMRTDApplet(profile: bacProfile)
    let bacChannel = InMemoryCardChannel(applet: bacApplet)
    var bacTimes: [Double] = []
    for _ in 0..<(iterations + 2) {
        bacApplet.reset()
        bacTimes.append(bacHandshake(bacChannel))
    }
    let bacMeasured = Array(bacTimes.dropFirst(2))
    report.append([
        "parameterId": -1, "mapping": "-", "domain": "BAC (3DES, for comparison)",
        "transport": "in-process", "medianMs": median(bacMeasured), "minMs": bacMeasured.min() ?? 0,
        "maxMs": bacMeasured.max() ?? 0, "iterations": bacMeasured.count,
    ])
    for (mapping, id) in cases {
        let name = PACEDomainName.name(forParameterID: id) ?? "ID \(id)"
        let applet = EMRTDApplet(profile: profile(id, mapping))
        let channel = InMemoryCardChannel(applet: applet)
        var times: [Double] = []
        for _ in 0..<(iterations + 2) {
            applet.reset()
            times.append(handshake(channel))
        }
        let measured = Array(times.dropFirst(2))
        report.append([
            "parameterId": id, "mapping": mapping.rawValue, "domain": name, "transport": "in-process",
            "medianMs": median(measured), "minMs": measured.min() ?? 0, "maxMs": measured.max() ?? 0,
            "iterations": measured.count,
        ])
    }

    if throughVPCD {
        let pcscd: BenchPCSCD
        do {
            pcscd = try BenchPCSCD()
        } catch {
            benchFail("cannot start pcscd: \(error)")
        }
        defer { pcscd.stop() }
        let reader = "Virtual PCD 00 00"
        guard pcscd.waitFor(reader: reader) else { benchFail("pcscd does not list '\(reader)'") }
        for (mapping, id) in cases {
            let connection = VPCDConnection(
                port: 35963, atr: VirtualCardProfile.defaultATR,
                applet: EMRTDApplet(profile: profile(id, mapping)))
            let thread = Thread { connection.run(reconnect: false) }
            thread.start()
            guard pcscd.waitForCard(in: reader) else { benchFail("the virtual card did not appear in '\(reader)'") }
            var times: [Double] = []
            for _ in 0..<(iterations + 2) {
                do {
                    let context = try PCSCContext()
                    let channel = try context.connect(reader: reader)
                    times.append(handshake(channel))
                    channel.disconnect()
                } catch {
                    benchFail("cannot connect: \(error)")
                }
            }
            connection.stop()
            Thread.sleep(forTimeInterval: 1.5)  // let pcscd see the card leave before the next one
            let measured = Array(times.dropFirst(2))
            report.append([
                "parameterId": id, "mapping": mapping.rawValue,
                "domain": PACEDomainName.name(forParameterID: id) ?? "ID \(id)",
                "transport": "pcscd+vpcd", "medianMs": median(measured), "minMs": measured.min() ?? 0,
                "maxMs": measured.max() ?? 0, "iterations": measured.count,
            ])
        }
    }

    if json {
        if let data = try? JSONSerialization.data(withJSONObject: ["pace": report], options: [.sortedKeys]) {
            FileHandle.standardOutput.write(data + Data([10]))
        }
        return
    }
    print(
        "enroll-bench pace: PACE handshake (EF.CardAccess + MSE:Set AT + 4 GA; CAM also EF.CardSecurity and the "
            + "CAM check), AES-128, CAN, both sides")
    for row in report {
        print(
            String(
                format: "  %-10@ %-3@ ID %2d  %-44@ median %7.2f ms (min %.2f, max %.2f, n=%d)",
                row["transport"] as? String ?? "", row["mapping"] as? String ?? "",
                row["parameterId"] as? Int ?? 0, row["domain"] as? String ?? "",
                row["medianMs"] as? Double ?? 0, row["minMs"] as? Double ?? 0, row["maxMs"] as? Double ?? 0,
                row["iterations"] as? Int ?? 0))
    }
}
