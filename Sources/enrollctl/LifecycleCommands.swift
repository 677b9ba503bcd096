import EnrollAPIModel
import Foundation
import UnixHTTP

/// `devices`, `passcode`, `usage`, `audit` and `accounts status|cancel|invalidate`: the identity lifecycle
/// (docs/lifecycle.md).
enum LifecycleCommands {
    static let words: Set<String> = ["devices", "passcode", "usage", "audit"]

    static func run(_ options: Invocation, _ api: API) {
        switch options.words.first {
        case "devices": devices(options, api)
        case "passcode": passcode(options, api)
        case "usage": usage(options, api)
        default: audit(options, api)
        }
    }

    /// `accounts status ID`: the identity status and its history.
    static func status(_ id: String, _ options: Invocation, _ api: API) {
        let response = api.get("/v1/accounts/\(id)/status-history")
        if options.json { return printRaw(response) }
        let view = decode(StatusView.self, response)
        print("account \(view.accountId): \(view.status)")
        for change in view.history {
            print(
                "\(change.at)  \(change.from) -> \(change.to)  \(change.reason)  by \(change.actorRole) "
                    + "uid \(change.actorUid) at \(change.channel)")
        }
    }

    /// `accounts cancel|invalidate ID --reason R`.
    static func changeStatus(_ id: String, _ options: Invocation, _ api: API) {
        let command = options.subcommand ?? ""
        let reason = options.required("--reason", "\(command) needs --reason")
        let status = command == "cancel" ? "cancelled" : "invalid"
        let response = api.post("/v1/accounts/\(id)/status", StatusChangeBody(status: status, reason: reason))
        if options.json { return printRaw(response) }
        print("account \(id): \(decode(StatusView.self, response).status)")
    }

    static func usage(_ options: Invocation, _ api: API) {
        guard options.words.count == 2 else {
            fail("usage: enrollctl usage ACCOUNT-ID [--since ISO] [--until ISO] [--limit N]", code: 2)
        }
        var query: [(name: String, value: String)] = []
        for (option, name) in [("--since", "since"), ("--until", "until"), ("--limit", "limit"), ("--after", "after")] {
            if let value = options.value(option) { query.append((name, value)) }
        }
        let response = api.get("/v1/accounts/\(options.words[1])/usage", query: query)
        if options.json { return printRaw(response) }
        let page = decode(UsagePage.self, response)
        for record in page.records {
            let detail = record.detail.isEmpty ? "" : "  \(record.detail)"
            print(
                "\(record.sequence)\t\(record.at)  \(record.event)  \(record.outcome)  \(record.actorRole) "
                    + "uid \(record.actorUid) at \(record.channel)\(detail)")
        }
        if let next = page.next { print("more: --after \(next)") }
    }

    /// `audit verify [--heads FILE]`: exits 1 when the usage chain is broken or disagrees with a signed head.
    /// FILE holds journal lines (`journalctl -u enrolld -g enrolld-audit-head`; `-` reads standard input): only the
    /// lines with a signed head are sent.
    static func audit(_ options: Invocation, _ api: API) -> Never {
        guard options.words.count == 2, options.subcommand == "verify" else {
            fail("usage: enrollctl audit verify [--heads FILE]", code: 2)
        }
        let response: HTTPResponse
        if let file = options.value("--heads") {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : readFile(file)
            let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
                .filter { $0.contains("enrolld-audit-head v1") }.map { String($0.prefix(4096)) }
            response = api.post("/v1/audit/verify", AuditVerifyBody(heads: Array(lines.suffix(100_000))))
        } else {
            response = api.call(HTTPRequest(method: "POST", path: "/v1/audit/verify"))
        }
        let report = decode(AuditReport.self, response)
        if options.json {
            printRaw(response)
            exit(report.ok ? 0 : 1)
        }
        for head in report.heads ?? [] { print("head \(head.host) seq \(head.sequence) at \(head.at): \(head.result)") }
        if report.ok {
            print("usage chain intact: \(report.records) record(s), head \(report.headSequence)")
        } else {
            for problem in report.problems { print("record \(problem.sequence) \(problem.kind): \(problem.message)") }
            if let first = report.firstDisagreement { print("first record that disagrees: \(first)") }
        }
        exit(report.ok ? 0 : 1)
    }

    static func devices(_ options: Invocation, _ api: API) {
        let usage = "usage: enrollctl devices list|bind|unbind ACCOUNT-ID ..."
        guard options.words.count >= 3 else { fail(usage, code: 2) }
        let id = options.words[2]
        switch options.subcommand {
        case "list":
            let response = api.get("/v1/accounts/\(id)/devices")
            if options.json { return printRaw(response) }
            for device in decode([DeviceView].self, response) {
                let state = device.active ? "bound" : "unbound (\(device.unbindReason ?? ""))"
                print("\(device.deviceId)\t\(state)\t\(device.label)\tsince \(device.boundAt)")
            }
        case "bind":
            guard let device = options.value("--device-id"), let keyFile = options.value("--public-key") else {
                fail("devices bind needs --device-id and --public-key FILE", code: 2)
            }
            let key = String(decoding: readFile(keyFile), as: UTF8.self)
            let response = api.post(
                "/v1/accounts/\(id)/devices",
                DeviceBindBody(deviceId: device, publicKey: key, label: options.value("--label")))
            if options.json { return printRaw(response) }
            let outcome = decode(DeviceBindingOutcome.self, response)
            print("device \(outcome.device.deviceId) bound")
            if let old = outcome.superseded { print("device \(old.deviceId) unbound (superseded)") }
            for serial in outcome.revokedSerials { print("certificate \(serial) revoked (superseded)") }
        case "unbind":
            guard options.words.count == 4 else {
                fail("usage: enrollctl devices unbind ACCOUNT-ID DEVICE-ID", code: 2)
            }
            let body = DeviceUnbindBody(
                passcode: options.value("--passcode"),
                enrollmentId: options.value("--enrollment"))
            let response = api.send("DELETE", "/v1/accounts/\(id)/devices/\(options.words[3])", body)
            if options.json { return printRaw(response) }
            print("device \(options.words[3]) unbound")
        default:
            fail(usage, code: 2)
        }
    }

    static func passcode(_ options: Invocation, _ api: API) {
        let usage = "usage: enrollctl passcode status|set|verify|disable ACCOUNT-ID"
        guard options.words.count == 3 else { fail(usage, code: 2) }
        let id = options.words[2]
        switch options.subcommand {
        case "status":
            printRaw(api.get("/v1/accounts/\(id)/passcode"))
        case "set":
            let passcode = options.required("--passcode", "passcode set needs --passcode NNNN")
            printRaw(
                api.post(
                    "/v1/accounts/\(id)/passcode",
                    PasscodeBody(passcode: passcode, currentPasscode: options.value("--current"))))
        case "disable":
            printRaw(
                api.send(
                    "DELETE", "/v1/accounts/\(id)/passcode",
                    PasscodeBody(currentPasscode: options.value("--current"))))
        case "verify":
            let passcode = options.required("--passcode", "passcode verify needs --passcode NNNN")
            let response = api.post(
                "/v1/accounts/\(id)/passcode/verify", PasscodeBody(passcode: passcode),
                accept: [403, 423])
            if options.json {
                printRaw(response)
            } else {
                let check = decode(PasscodeCheckResponse.self, response)
                switch check.result {
                case "ok": print("passcode correct")
                case "locked": print("passcode locked until \(check.unlocksAt ?? "?")")
                default:
                    print(
                        "wrong passcode: \(check.attemptsLeft ?? 0) attempt(s) left"
                            + (check.unlocksAt.map { "; locked until \($0)" } ?? ""))
                }
            }
            exit(response.status == 200 ? 0 : 1)
        default:
            fail(usage, code: 2)
        }
    }
}
