import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Enrollment
import Foundation

/// enrollctl: the command line over enrolld's API socket.
let usage = """
    usage: enrollctl [--socket PATH] COMMAND [OPTIONS]

    commands:
      health [--json]          daemon status
      readers [--json]         readers and cards present
      watch [--json]           print reader and card events as they arrive (Ctrl-C to stop)
      read --reader NAME (--can NNNNNN | --mrz "LINES" | --document-number X --birth-date YYMMDD --expiry-date YYMMDD)
           [--face-out FILE] [--json]
                               read the card-face data from the chip (PACE when the chip offers it, else BAC
                               with the MRZ); --face-out writes the portrait exactly as stored in DG2
      probe --reader NAME [--can NNNNNN | --mrz "LINES" | --document-number X ...] [--json]
                               ATR, extended length, EF.CardAccess SecurityInfos, whether the eMRTD application
                               is present and, with a key, which access protocol opens the chip
      enroll --reader NAME (--mrz "LINES" | --document-number X --birth-date YYMMDD --expiry-date YYMMDD)
             --photo FILE [--csr FILE] [--account ID] [--cert-out FILE] [--json]
                               a whole enrollment: read and authenticate the card, match the live photo,
                               create (or, with --account, upgrade) the account and issue the certificate;
                               without --csr a registration creates a basic account
      accounts show ID [--json]    an account's tier, status and certificates
      certs list ID [--json]       the certificates of account ID
      certs revoke SERIAL --reason REASON
                               revoke (reasons: unspecified, key-compromise, affiliation-changed, superseded,
                               cessation-of-operation, privilege-withdrawn)
      accounts status ID       identity status and its history
      accounts cancel ID --reason R
                               cancel the identity (card cancelled, holder deceased): irreversible, revokes
                               every certificate; needs --role operator or admin
      accounts invalidate ID --reason R
                               mark the document invalid (reported lost); re-verification returns it to normal
      usage ID [--since ISO] [--until ISO] [--limit N] [--after SEQ] [--json]
                               the account's usage records (enrollment steps, certificates, devices, passcode,
                               status changes) with time, channel, actor and outcome
      audit verify [--json]    walk the usage records' hash chain; exits 1 naming each edited, inserted or
                               deleted record
      devices list ID | devices bind ID --device-id D --public-key FILE [--label L]
      devices unbind ID DEVICE [--passcode NNNN | --enrollment SESSION]
                               the account's device binding (binding a new device cancels the old one and
                               revokes its certificates); operators unbind without proof
      passcode status ID | passcode set ID --passcode NNNN [--current NNNN]
      passcode verify ID --passcode NNNN | passcode disable ID [--current NNNN]
                               the optional 4-digit service passcode
      crl [--out FILE]         the current CRL (PEM)
      trust list [--json]      trusted CSCA certificates (subject, validity, fingerprint) and CRLs
      trust import FILE        add a CSCA master list (its signer must chain to a trusted CSCA), a CSCA
                               certificate or a CRL (PEM or DER) to the trust store and reload it
      face-compare REFERENCE PROBE [--json]
                               compare a portrait with a live photo: score, distance, decision, faces found

    --socket PATH defaults to $ENROLLD_SOCKET or /run/enrolld/api.sock.
    The daemon gives the caller a role (kiosk, operator, admin) from its uid and groups ([roles] in
    enrolld.conf; root is admin). --role ROLE acts in a lesser role than granted (X-Enrolld-Role);
    --channel ID names the kiosk or counter for the usage log (X-Enrolld-Channel; defaults:
    $ENROLLD_ROLE, $ENROLLD_CHANNEL). A kiosk reads or changes an account only for the holder present:
    --holder-session SESSION (a card-and-face session of the account completed in the last minutes) or
    --holder-passcode NNNN (the holder's service passcode).
    """

func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("enrollctl: \(message)\n".utf8))
    exit(code)
}

var socketPath = ProcessInfo.processInfo.environment["ENROLLD_SOCKET"] ?? "/run/enrolld/api.sock"
var positional: [String] = []
var json = false
var options: [String: String] = [:]
let valueOptions: Set<String> = ["--reader", "--mrz", "--document-number", "--birth-date", "--expiry-date", "--can",
                                  "--face-out", "--photo", "--csr", "--account", "--cert-out", "--reason", "--out",
                                  "--role", "--channel", "--since", "--until", "--limit", "--after", "--device-id",
                                  "--public-key", "--label", "--passcode", "--current", "--enrollment",
                                  "--holder-session", "--holder-passcode"]
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--socket":
        guard let value = arguments.next() else { fail("--socket needs a path", code: 2) }
        socketPath = value
    case "--json":
        json = true
    case "-h", "--help":
        print(usage)
        exit(0)
    case let option where valueOptions.contains(option):
        guard let value = arguments.next() else { fail("\(option) needs a value", code: 2) }
        options[option] = value
    default:
        if argument.hasPrefix("-") { fail("unknown option '\(argument)'\n\(usage)", code: 2) }
        positional.append(argument)
    }
}

let client = UnixSocketClient(path: socketPath)

/// Sends a request; prints the problem and exits non-zero when the daemon refuses.
@MainActor
func call(_ request: HTTPRequest, accept: Set<Int> = []) -> HTTPResponse {
    var request = request
    let environment = ProcessInfo.processInfo.environment
    if let role = options["--role"] ?? environment["ENROLLD_ROLE"] { request.headers.append(("X-Enrolld-Role", role)) }
    if let channel = options["--channel"] ?? environment["ENROLLD_CHANNEL"] {
        request.headers.append(("X-Enrolld-Channel", channel))
    }
    if let session = options["--holder-session"] { request.headers.append(("X-Enrolld-Enrollment", session)) }
    if let passcode = options["--holder-passcode"] { request.headers.append(("X-Enrolld-Passcode", passcode)) }
    let response: HTTPResponse
    do {
        response = try client.send(request)
    } catch {
        fail(error.description)
    }
    guard (200..<300).contains(response.status) || accept.contains(response.status) else {
        if let problem = try? JSONDecoder().decode(Problem.self, from: Data(response.body)) {
            fail("\(problem.title): \(problem.detail)")
        }
        fail("enrolld answered \(response.status)")
    }
    return response
}

func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse) -> T {
    guard let value = try? JSONDecoder().decode(T.self, from: Data(response.body)) else {
        fail("enrolld sent a response this enrollctl does not understand")
    }
    return value
}

/// The access key from --mrz, --can or the three BAC fields.
@MainActor
func accessKey(for command: String) -> AccessKeyRequest {
    let key = AccessKeyRequest(mrz: options["--mrz"], documentNumber: options["--document-number"],
                               birthDate: options["--birth-date"], expiryDate: options["--expiry-date"],
                               can: options["--can"])
    guard key.mrz != nil || key.can != nil || (key.documentNumber != nil && key.birthDate != nil && key.expiryDate != nil)
    else { fail("\(command) needs --mrz, --can, or --document-number with --birth-date and --expiry-date", code: 2) }
    return key
}

func readFile(_ path: String) -> Data {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return data
}

@MainActor
func postJSON<T: Encodable>(_ path: String, _ body: T) -> HTTPResponse {
    guard let encoded = try? JSONEncoder().encode(body) else { fail("cannot encode the request") }
    return call(HTTPRequest(method: "POST", path: path, headers: [("Content-Type", "application/json")],
                            body: [UInt8](encoded)))
}

func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    guard let text = try? encoder.encode(value) else { fail("cannot encode the result") }
    FileHandle.standardOutput.write(text + Data([10]))
}

/// Writes a line unbuffered, so `watch` output reaches pipes as events happen.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func printRaw(_ response: HTTPResponse) {
    FileHandle.standardOutput.write(Data(response.body + [10]))
}

switch positional.first {
case "health":
    let response = call(HTTPRequest(method: "GET", path: "/v1/health"))
    if json { printRaw(response); break }
    let health = decode(Health.self, response)
    print("enrolld \(health.version): \(health.status), pcscd \(health.pcscAvailable ? "available" : "NOT available"), "
          + "\(health.readers) reader(s), up \(health.uptimeSeconds) s")
case "readers":
    let response = call(HTTPRequest(method: "GET", path: "/v1/readers"))
    if json { printRaw(response); break }
    let list = decode(ReaderList.self, response)
    if !list.pcscAvailable { print("pcscd is not running: start it (readers appear when it is up)") }
    if list.readers.isEmpty && list.pcscAvailable { print("no readers connected") }
    for reader in list.readers {
        print("\(reader.name)\t\(reader.cardPresent ? "card present, ATR \(reader.atr ?? "")" : "no card")")
    }
case "watch":
    do {
        try client.stream("/v1/events") { name, data in
            if json {
                emit(data)
            } else if let event = try? JSONDecoder().decode(DaemonEvent.self, from: Data(data.utf8)) {
                let reader = event.reader.map { " \($0)" } ?? ""
                let atr = event.atr.map { " ATR \($0)" } ?? ""
                let detail = event.detail.map { ": \($0)" } ?? ""
                emit("\(event.time) \(name)\(reader)\(atr)\(detail)")
            }
            return true
        }
    } catch {
        fail(error.description)
    }
case "read":
    guard let reader = options["--reader"] else { fail("read needs --reader NAME (see 'enrollctl readers')", code: 2) }
    let key = accessKey(for: "read")
    let faceOut = options["--face-out"]
    let body = CardReadRequest(reader: reader, accessKey: key, includePortrait: faceOut != nil)
    guard let encoded = try? JSONEncoder().encode(body) else { fail("cannot encode the request") }
    let response = call(HTTPRequest(method: "POST", path: "/v1/cards/read", headers: [("Content-Type", "application/json")],
                                    body: [UInt8](encoded)))
    var result = decode(CardFaceResponse.self, response)
    if let faceOut {
        guard let data = result.portrait?.data, let image = Data(base64Encoded: data) else {
            fail("the chip holds no portrait (DG2) to write")
        }
        do {
            try image.write(to: URL(fileURLWithPath: faceOut))
        } catch {
            fail("cannot write \(faceOut): \(error.localizedDescription)")
        }
        result.portrait?.data = nil
    }
    if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let text = try? encoder.encode(result) else { fail("cannot encode the result") }
        FileHandle.standardOutput.write(text + Data([10]))
        break
    }
    print("""
        \(result.documentType) \(result.issuingState) \(result.documentNumber)  \
        (\(result.mrzFormat), \(result.accessParameters ?? result.accessProtocol))
        name:        \(result.surname), \(result.givenNames)
        nationality: \(result.nationality)   sex: \(result.sex)
        born:        \(result.birthDate ?? result.birthDateMRZ)   expires: \(result.expiryDate ?? result.expiryDateMRZ)
        data groups: \(result.dataGroupsPresent.joined(separator: " "))
        portrait:    \(result.portrait.map { "\($0.format) \($0.width)x\($0.height), \($0.size) bytes" } ?? "none")
        read:        \(result.statistics.apdus) APDUs, \(result.statistics.bytesReceived) bytes in \
        \(Int(result.statistics.milliseconds)) ms\(result.statistics.extendedLength ? " (extended length)" : "")
        """)
    printAuthenticity(result.authenticity)
    if let faceOut { print("portrait written to \(faceOut)") }
case "probe":
    guard let reader = options["--reader"] else { fail("probe needs --reader NAME (see 'enrollctl readers')", code: 2) }
    let hasKey = options["--mrz"] != nil || options["--can"] != nil || options["--document-number"] != nil
    let body = CardProbeRequest(reader: reader, accessKey: hasKey ? accessKey(for: "probe") : nil)
    guard let encoded = try? JSONEncoder().encode(body) else { fail("cannot encode the request") }
    let response = call(HTTPRequest(method: "POST", path: "/v1/cards/probe",
                                    headers: [("Content-Type", "application/json")], body: [UInt8](encoded)))
    if json { printRaw(response); break }
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
    if let error = probe.accessError { print("access:          failed: \(error)") }
    if let present = probe.emrtdApplicationPresent {
        print("eMRTD app:       \(present ? "present" : "absent")")
    }
case "enroll":
    guard let reader = options["--reader"] else { fail("enroll needs --reader NAME", code: 2) }
    guard let photoPath = options["--photo"] else { fail("enroll needs --photo FILE (the live photo)", code: 2) }
    let key = accessKey(for: "enroll")
    let photo = readFile(photoPath)
    let csr = options["--csr"].map { String(decoding: readFile($0), as: UTF8.self) }
    let started = decode(EnrollmentView.self, postJSON("/v1/enrollments", EnrollmentStartBody(
        reader: reader, accessKey: key, purpose: options["--account"] == nil ? "register" : "upgrade",
        accountId: options["--account"])))
    if !json {
        print("card verified: \(started.givenNames) \(started.surname), \(started.documentType) \(started.issuingState), "
              + "genuine: \(started.authenticity.genuine), session \(started.id)")
    }
    let matched = decode(EnrollmentView.self, postJSON("/v1/enrollments/\(started.id)/photo",
                                                       EnrollmentPhotoBody(photo: photo.base64EncodedString())))
    if !json, let face = matched.face {
        print(String(format: "face matched: score %.3f, distance %.3f (threshold %.2f)", face.score, face.distance, face.threshold))
    }
    let outcome = decode(EnrollmentOutcome.self, postJSON("/v1/enrollments/\(started.id)/complete",
                                                          EnrollmentCompleteBody(csr: csr)))
    if let pem = outcome.certificatePEM, let out = options["--cert-out"] {
        do {
            try Data(pem.utf8).write(to: URL(fileURLWithPath: out))
        } catch {
            fail("cannot write \(out): \(error.localizedDescription)")
        }
    }
    if json { printJSON(outcome); break }
    print("account \(outcome.accountID): tier \(outcome.tier)")
    if let serial = outcome.certificateSerial {
        print("certificate \(serial), valid until \(outcome.notAfter ?? "?")")
        if let out = options["--cert-out"] { print("certificate written to \(out)") } else { print(outcome.certificatePEM ?? "") }
    }
case "accounts":
    guard positional.count == 3 else { fail("usage: enrollctl accounts show|status|cancel|invalidate ID", code: 2) }
    let id = positional[2]
    switch positional[1] {
    case "show":
        printRaw(call(HTTPRequest(method: "GET", path: "/v1/accounts/\(id)")))
    case "status":
        let response = call(HTTPRequest(method: "GET", path: "/v1/accounts/\(id)/status-history"))
        if json { printRaw(response); break }
        let view = decode(StatusView.self, response)
        print("account \(view.accountId): \(view.status)")
        for change in view.history {
            print("\(change.at)  \(change.from) -> \(change.to)  \(change.reason)  by \(change.actorRole) uid \(change.actorUid) "
                  + "at \(change.channel)")
        }
    case "cancel", "invalidate":
        guard let reason = options["--reason"] else { fail("\(positional[1]) needs --reason", code: 2) }
        let status = positional[1] == "cancel" ? "cancelled" : "invalid"
        let response = postJSON("/v1/accounts/\(id)/status", StatusChangeBody(status: status, reason: reason))
        if json { printRaw(response); break }
        print("account \(id): \(decode(StatusView.self, response).status)")
    default:
        fail("usage: enrollctl accounts show|status|cancel|invalidate ID", code: 2)
    }
case "usage":
    guard positional.count == 2 else { fail("usage: enrollctl usage ACCOUNT-ID [--since ISO] [--until ISO] [--limit N]", code: 2) }
    var query: [(name: String, value: String)] = []
    for (option, name) in [("--since", "since"), ("--until", "until"), ("--limit", "limit"), ("--after", "after")] {
        if let value = options[option] { query.append((name, value)) }
    }
    let response = call(HTTPRequest(method: "GET", path: "/v1/accounts/\(positional[1])/usage", query: query))
    if json { printRaw(response); break }
    let page = decode(UsagePage.self, response)
    for record in page.records {
        let detail = record.detail.isEmpty ? "" : "  \(record.detail)"
        print("\(record.sequence)\t\(record.at)  \(record.event)  \(record.outcome)  \(record.actorRole) uid \(record.actorUid) "
              + "at \(record.channel)\(detail)")
    }
    if let next = page.next { print("more: --after \(next)") }
case "audit":
    guard positional.count == 2, positional[1] == "verify" else { fail("usage: enrollctl audit verify", code: 2) }
    let response = call(HTTPRequest(method: "POST", path: "/v1/audit/verify"))
    let report = decode(AuditReport.self, response)
    if json {
        printRaw(response)
    } else if report.ok {
        print("usage chain intact: \(report.records) record(s), head \(report.headSequence)")
    } else {
        for problem in report.problems { print("record \(problem.sequence) \(problem.kind): \(problem.message)") }
    }
    exit(report.ok ? 0 : 1)
case "devices":
    guard positional.count >= 3 else { fail("usage: enrollctl devices list|bind|unbind ACCOUNT-ID ...", code: 2) }
    let id = positional[2]
    switch positional[1] {
    case "list":
        let response = call(HTTPRequest(method: "GET", path: "/v1/accounts/\(id)/devices"))
        if json { printRaw(response); break }
        for device in decode([DeviceView].self, response) {
            print("\(device.deviceId)\t\(device.active ? "bound" : "unbound (\(device.unbindReason ?? ""))")\t\(device.label)\t"
                  + "since \(device.boundAt)")
        }
    case "bind":
        guard let device = options["--device-id"], let keyFile = options["--public-key"] else {
            fail("devices bind needs --device-id and --public-key FILE", code: 2)
        }
        let key = String(decoding: readFile(keyFile), as: UTF8.self)
        let response = call(HTTPRequest(method: "POST", path: "/v1/accounts/\(id)/devices",
                                        headers: [("Content-Type", "application/json")],
                                        body: [UInt8]((try? JSONEncoder().encode(DeviceBindBody(
                                            deviceId: device, publicKey: key, label: options["--label"]))) ?? Data())))
        if json { printRaw(response); break }
        let outcome = decode(DeviceBindingOutcome.self, response)
        print("device \(outcome.device.deviceId) bound")
        if let old = outcome.superseded { print("device \(old.deviceId) unbound (superseded)") }
        for serial in outcome.revokedSerials { print("certificate \(serial) revoked (superseded)") }
    case "unbind":
        guard positional.count == 4 else { fail("usage: enrollctl devices unbind ACCOUNT-ID DEVICE-ID", code: 2) }
        let body = DeviceUnbindBody(passcode: options["--passcode"], enrollmentId: options["--enrollment"])
        let response = call(HTTPRequest(method: "DELETE", path: "/v1/accounts/\(id)/devices/\(positional[3])",
                                        headers: [("Content-Type", "application/json")],
                                        body: [UInt8]((try? JSONEncoder().encode(body)) ?? Data())))
        if json { printRaw(response); break }
        print("device \(positional[3]) unbound")
    default:
        fail("usage: enrollctl devices list|bind|unbind ACCOUNT-ID ...", code: 2)
    }
case "passcode":
    guard positional.count == 3 else { fail("usage: enrollctl passcode status|set|verify|disable ACCOUNT-ID", code: 2) }
    let id = positional[2]
    switch positional[1] {
    case "status":
        printRaw(call(HTTPRequest(method: "GET", path: "/v1/accounts/\(id)/passcode")))
    case "set":
        guard let passcode = options["--passcode"] else { fail("passcode set needs --passcode NNNN", code: 2) }
        printRaw(postJSON("/v1/accounts/\(id)/passcode", PasscodeBody(passcode: passcode, currentPasscode: options["--current"])))
    case "disable":
        let body = PasscodeBody(currentPasscode: options["--current"])
        printRaw(call(HTTPRequest(method: "DELETE", path: "/v1/accounts/\(id)/passcode",
                                  headers: [("Content-Type", "application/json")],
                                  body: [UInt8]((try? JSONEncoder().encode(body)) ?? Data()))))
    case "verify":
        guard let passcode = options["--passcode"] else { fail("passcode verify needs --passcode NNNN", code: 2) }
        guard let encoded = try? JSONEncoder().encode(PasscodeBody(passcode: passcode)) else { fail("cannot encode") }
        let response = call(HTTPRequest(method: "POST", path: "/v1/accounts/\(id)/passcode/verify",
                                        headers: [("Content-Type", "application/json")], body: [UInt8](encoded)),
                            accept: [403, 423])
        if json { printRaw(response) } else {
            let check = decode(PasscodeCheckResponse.self, response)
            switch check.result {
            case "ok": print("passcode correct")
            case "locked": print("passcode locked until \(check.unlocksAt ?? "?")")
            default:
                print("wrong passcode: \(check.attemptsLeft ?? 0) attempt(s) left"
                      + (check.unlocksAt.map { "; locked until \($0)" } ?? ""))
            }
        }
        exit(response.status == 200 ? 0 : 1)
    default:
        fail("usage: enrollctl passcode status|set|verify|disable ACCOUNT-ID", code: 2)
    }
case "certs":
    switch positional.dropFirst().first {
    case "list":
        guard positional.count == 3 else { fail("usage: enrollctl certs list ACCOUNT-ID", code: 2) }
        printRaw(call(HTTPRequest(method: "GET", path: "/v1/accounts/\(positional[2])/certificates")))
    case "revoke":
        guard positional.count == 3 else { fail("usage: enrollctl certs revoke SERIAL --reason REASON", code: 2) }
        let reason = options["--reason"] ?? "unspecified"
        printRaw(postJSON("/v1/certificates/\(positional[2])/revoke", ["reason": reason]))
    default:
        fail("usage: enrollctl certs list ID | certs revoke SERIAL --reason R", code: 2)
    }
case "crl":
    let response = call(HTTPRequest(method: "GET", path: "/v1/crl"))
    if let out = options["--out"] {
        do {
            try Data(response.body).write(to: URL(fileURLWithPath: out))
        } catch {
            fail("cannot write \(out): \(error.localizedDescription)")
        }
        print("CRL written to \(out)")
    } else {
        printRaw(response)
    }
case "trust":
    runTrustCommand()
case "face-compare":
    guard positional.count == 3 else { fail("face-compare needs REFERENCE and PROBE image files", code: 2) }
    func load(_ path: String) -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        return data
    }
    let request = FaceCompareRequest(reference: load(positional[1]).base64EncodedString(),
                                     probe: load(positional[2]).base64EncodedString())
    guard let encoded = try? JSONEncoder().encode(request) else { fail("cannot encode the request") }
    let response = call(HTTPRequest(method: "POST", path: "/v1/faces/compare",
                                    headers: [("Content-Type", "application/json")], body: [UInt8](encoded)))
    if json { printRaw(response); break }
    let result = decode(FaceCompareResponse.self, response)
    func describe(_ image: FaceImageReport) -> String {
        "\(image.format) \(image.width)x\(image.height), \(image.facesFound) face(s) found, face \(image.faceSize ?? 0) px"
    }
    print("""
        decision:  \(result.decision)
        score:     \(String(format: "%.3f", result.score))
        distance:  \(String(format: "%.3f", result.distance)) (threshold \(String(format: "%.2f", result.threshold)))
        reference: \(describe(result.reference))
        probe:     \(describe(result.probe))
        time:      \(String(format: "%.1f", result.totalMs)) ms
        """)
case nil:
    fail("no command given\n\(usage)", code: 2)
case let command?:
    fail("unknown command '\(command)'\n\(usage)", code: 2)
}
