import EnrollAPIModel
import Foundation

/// `health`, `readers`, `watch`, `read`, `probe`: the daemon, its readers and the card on a reader.
enum CardCommands {
    static let words: Set<String> = ["health", "readers", "watch", "read", "probe"]

    static func run(_ options: Invocation, _ api: API) {
        switch options.words.first {
        case "health": health(options, api)
        case "readers": readers(options, api)
        case "watch": watch(options, api)
        case "read": read(options, api)
        default: probe(options, api)
        }
    }

    static func health(_ options: Invocation, _ api: API) {
        let response = api.get("/v1/health")
        if options.json { return printRaw(response) }
        let health = decode(Health.self, response)
        let pcscd = health.pcscAvailable ? "available" : "NOT available"
        print(
            "enrolld \(health.version): \(health.status), pcscd \(pcscd), \(health.readers) reader(s), "
                + "up \(health.uptimeSeconds) s")
    }

    static func readers(_ options: Invocation, _ api: API) {
        let response = api.get("/v1/readers")
        if options.json { return printRaw(response) }
        let list = decode(ReaderList.self, response)
        if !list.pcscAvailable { print("pcscd is not running: start it (readers appear when it is up)") }
        if list.readers.isEmpty && list.pcscAvailable { print("no readers connected") }
        for reader in list.readers {
            print("\(reader.name)\t\(reader.cardPresent ? "card present, ATR \(reader.atr ?? "")" : "no card")")
        }
    }

    static func watch(_ options: Invocation, _ api: API) {
        api.stream("/v1/events") { name, data in
            if options.json {
                emit(data)
            } else if let event = try? JSONDecoder().decode(DaemonEvent.self, from: Data(data.utf8)) {
                let reader = event.reader.map { " \($0)" } ?? ""
                let atr = event.atr.map { " ATR \($0)" } ?? ""
                let detail = event.detail.map { ": \($0)" } ?? ""
                emit("\(event.time) \(name)\(reader)\(atr)\(detail)")
            }
            return true
        }
    }

    static func read(_ options: Invocation, _ api: API) {
        let reader = options.required("--reader", "read needs --reader NAME (see 'enrollctl readers')")
        let key = accessKey(options, for: "read")
        let faceOut = options.value("--face-out")
        let response = api.post(
            "/v1/cards/read",
            CardReadRequest(
                reader: reader, accessKey: key,
                includePortrait: faceOut != nil))
        var result = decode(CardFaceResponse.self, response)
        if let faceOut {
            guard let data = result.portrait?.data, let image = Data(base64Encoded: data) else {
                fail("the chip holds no portrait (DG2) to write")
            }
            writeFile(image, to: faceOut)
            result.portrait?.data = nil
        }
        if options.json { return printJSON(result) }
        let born = result.birthDate ?? result.birthDateMRZ
        let expires = result.expiryDate ?? result.expiryDateMRZ
        print(
            """
            \(result.documentType) \(result.issuingState) \(result.documentNumber)  \
            (\(result.mrzFormat), \(result.accessParameters ?? result.accessProtocol))
            name:        \(result.surname), \(result.givenNames)
            nationality: \(result.nationality)   sex: \(result.sex)
            born:        \(born)   expires: \(expires)
            data groups: \(result.dataGroupsPresent.joined(separator: " "))
            portrait:    \(result.portrait.map { "\($0.format) \($0.width)x\($0.height), \($0.size) bytes" } ?? "none")
            read:        \(result.statistics.apdus) APDUs, \(result.statistics.bytesReceived) bytes in \
            \(Int(result.statistics.milliseconds)) ms\(result.statistics.extendedLength ? " (extended length)" : "")
            """)
        printAuthenticity(result.authenticity)
        if let faceOut { print("portrait written to \(faceOut)") }
    }

    static func probe(_ options: Invocation, _ api: API) {
        let reader = options.required("--reader", "probe needs --reader NAME (see 'enrollctl readers')")
        let hasKey = ["--mrz", "--can", "--document-number"].contains { options.value($0) != nil }
        let body = CardProbeRequest(reader: reader, accessKey: hasKey ? accessKey(options, for: "probe") : nil)
        let response = api.post("/v1/cards/probe", body)
        if options.json { return printRaw(response) }
        let probe = decode(CardProbeResponse.self, response)
        print("reader:          \(probe.reader)")
        print("ATR:             \(probe.atr)")
        print("extended length: \(probe.extendedLength ? "yes" : "no")")
        let cardAccess = probe.cardAccessPresent ? "\(probe.securityInfos.count) SecurityInfo(s)" : "absent (no PACE)"
        print("EF.CardAccess:   \(cardAccess)")
        for info in probe.securityInfos {
            let support = info.supported.map { $0 ? "" : " (not supported)" } ?? ""
            print("  \(info.type) \(info.description ?? info.oid)\(support)")
        }
        if let preferred = probe.preferredPACE { print("PACE choice:     \(preferred)") }
        if let parameters = probe.accessParameters { print("access:          \(parameters) succeeded") }
        if let chunk = probe.readChunkSize { print("read chunk:      \(chunk) bytes under secure messaging") }
        if let plain = probe.plainStatusAnswers, let again = probe.sessionsReestablished, plain + again > 0 {
            print("plain answers:   \(plain) status word(s) without secure messaging, \(again) session(s) opened again")
        }
        if let extended = probe.cardExtendedLength {
            let sizes = [
                probe.cardMaxCommandLength.map { "commands up to \($0)" },
                probe.cardMaxResponseLength.map { "answers up to \($0)" },
            ].compactMap { $0 }
            print(
                "EF.ATR/INFO:     extended length \(extended ? "yes" : "no")"
                    + (sizes.isEmpty ? "" : ", " + sizes.joined(separator: ", ")))
        }
        if let error = probe.accessError { print("access:          failed: \(error)") }
        if let present = probe.emrtdApplicationPresent {
            print("eMRTD app:       \(present ? "present" : "absent")")
        }
    }

    /// The access key from --scan (a photo of the card), --mrz, --can or the three BAC fields (each also as -file or
    /// -stdin).
    static func accessKey(_ options: Invocation, for command: String) -> AccessKeyRequest {
        if let photo = options.value("--scan") {
            return AccessKeyRequest(scan: readFile(photo).base64EncodedString())
        }
        let key = AccessKeyRequest(
            mrz: options.value("--mrz"), documentNumber: options.value("--document-number"),
            birthDate: options.value("--birth-date"), expiryDate: options.value("--expiry-date"),
            can: options.value("--can"))
        guard
            key.mrz != nil || key.can != nil
                || (key.documentNumber != nil && key.birthDate != nil && key.expiryDate != nil)
        else {
            fail(
                "\(command) needs --scan PHOTO, --mrz, --can, or --document-number with --birth-date and "
                    + "--expiry-date", code: 2)
        }
        return key
    }

    /// The authenticity verdict of a read: overall, then the summary checks (detailed passive checks with --json).
    static func printAuthenticity(_ verdict: AuthenticityVerdict) {
        print("genuine:     \(verdict.genuine ? "yes" : "NO")")
        let summary = [
            "access-control", "passive-authentication", "chip-authentication", "active-authentication",
            "pace-cam",
        ]
        for check in verdict.checks where summary.contains(check.name) {
            let name = check.name.padding(toLength: 24, withPad: " ", startingAt: 0)
            print("  \(name) \(check.outcome): \(check.reason)")
        }
        for reason in verdict.reasons { print("  refused: \(reason)") }
    }
}
