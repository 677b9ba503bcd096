import EnrollAPIModel
import Foundation

/// `accounts`, `certs`, `crl`: an account, its certificates, revocation and the CRL. The identity-status
/// subcommands of `accounts` (status, cancel, invalidate) are in LifecycleCommands.
enum AccountCommands {
    static let words: Set<String> = ["accounts", "certs", "crl", "outbox"]

    static func run(_ options: Invocation, _ api: API) {
        switch options.words.first {
        case "accounts": accounts(options, api)
        case "certs": certificates(options, api)
        case "outbox": outbox(options, api)
        default: revocationList(options, api)
        }
    }

    static func accounts(_ options: Invocation, _ api: API) {
        let usage = "usage: enrollctl accounts show|status|cancel|invalidate|holder-name|activate ID"
        guard options.words.count == 3 else { fail(usage, code: 2) }
        let id = options.words[2]
        switch options.subcommand {
        case "show": printRaw(api.get("/v1/accounts/\(id)"))
        case "status": LifecycleCommands.status(id, options, api)
        case "cancel", "invalidate": LifecycleCommands.changeStatus(id, options, api)
        case "holder-name": approveHolderName(id, options, api)
        case "activate":
            // The code is a secret: --code-stdin (or --code-file), never on the command line in a shell history.
            let code = options.required("--code", "accounts activate needs the code: --code-stdin or --code-file F")
            let response = api.post("/v1/accounts/\(id)/activate", ["code": code])
            if options.json { return printRaw(response) }
            _ = decode(ActivationView.self, response)
            print("account \(id): activated")
        default: fail(usage, code: 2)
        }
    }

    /// `outbox list [--state S] [--limit N]`, `outbox retry ID`: the delivery of messages to holders' contacts.
    static func outbox(_ options: Invocation, _ api: API) {
        let usage = "usage: enrollctl outbox list [--state queued|sending|sent|failed] [--limit N] | outbox retry ID"
        switch options.subcommand {
        case "list":
            guard options.words.count == 2 else { fail(usage, code: 2) }
            var query: [(name: String, value: String)] = []
            if let state = options.value("--state") { query.append(("state", state)) }
            if let limit = options.value("--limit") { query.append(("limit", limit)) }
            let response = api.get("/v1/outbox", query: query)
            if options.json { return printRaw(response) }
            let page = decode(OutboxPage.self, response)
            for message in page.messages {
                print(
                    [
                        message.id, message.state, message.kind, message.transport, "attempts \(message.attempts)",
                        message.sentAt.map { "sent \($0)" } ?? "next \(message.nextAttemptAt)",
                        message.lastError.map { "last error: \($0)" } ?? "",
                    ].filter { !$0.isEmpty }.joined(separator: "  "))
            }
            if page.messages.isEmpty { print("no messages") }
        case "retry":
            guard options.words.count == 3 else { fail(usage, code: 2) }
            let response = api.post("/v1/outbox/\(options.words[2])/retry", [String: String]())
            if options.json { return printRaw(response) }
            let message = decode(OutboxMessageView.self, response)
            print("message \(message.id): \(message.state) again")
        default: fail(usage, code: 2)
        }
    }

    /// `accounts holder-name ID --reader R (key) --reason R`: the holder's new document read at the counter; its
    /// changed name replaces the account's when the birth date and sex still match.
    static func approveHolderName(_ id: String, _ options: Invocation, _ api: API) {
        let reader = options.required("--reader", "accounts holder-name needs --reader NAME (the new document on it)")
        let reason = options.required("--reason", "accounts holder-name needs --reason R (e.g. the certificate seen)")
        let key = CardCommands.accessKey(options, for: "accounts holder-name")
        let response = api.post(
            "/v1/accounts/\(id)/holder-name", HolderNameChangeBody(reader: reader, accessKey: key, reason: reason))
        if options.json { return printRaw(response) }
        let account = decode(AccountView.self, response)
        print("account \(id): holder name now \(account.givenNames) \(account.surname)")
    }

    static func certificates(_ options: Invocation, _ api: API) {
        switch options.subcommand {
        case "list":
            guard options.words.count == 3 else { fail("usage: enrollctl certs list ACCOUNT-ID", code: 2) }
            printRaw(api.get("/v1/accounts/\(options.words[2])/certificates"))
        case "revoke":
            guard options.words.count == 3 else {
                fail("usage: enrollctl certs revoke SERIAL --reason REASON", code: 2)
            }
            let reason = options.value("--reason") ?? "unspecified"
            printRaw(api.post("/v1/certificates/\(options.words[2])/revoke", ["reason": reason]))
        case "renew":
            renew(options, api)
        default:
            fail(
                "usage: enrollctl certs list ID | certs revoke SERIAL --reason R | certs renew --all|--issued-before T",
                code: 2)
        }
    }

    /// `certs renew --all | --issued-before TIME [--limit N]`: bulk renewal under the current CA key, one call of
    /// `POST /v1/certificates/renewals` after another (each renews at most 10,000) until the selection is done or
    /// `--limit` certificates are renewed. `--all`: every active certificate the current CA key did not sign.
    static func renew(_ options: Invocation, _ api: API) {
        let usage = "usage: enrollctl certs renew --all | --issued-before TIME [--limit N]"
        let before = options.value("--issued-before")
        guard options.words.count == 2, options.flag("--all") != (before != nil) else { fail(usage, code: 2) }
        var remaining = Int.max
        if let text = options.value("--limit") {
            guard let limit = Int(text), limit > 0 else { fail("--limit is a positive number", code: 2) }
            remaining = limit
        }
        var total = RenewalOutcome(renewed: 0, skipped: [:], scanned: 0, next: nil, certificates: [])
        var request = RenewalRequest(issuedBefore: before)
        while true {
            request.limit = min(remaining, 10_000)
            let outcome = decode(RenewalOutcome.self, api.post("/v1/certificates/renewals", request))
            total.renewed += outcome.renewed
            total.scanned += outcome.scanned
            total.skipped.merge(outcome.skipped, uniquingKeysWith: +)
            total.next = outcome.next
            remaining -= outcome.renewed
            if !options.json {
                print("renewed \(total.renewed), looked at \(total.scanned)")
            }
            guard let next = outcome.next, remaining > 0 else { break }
            request = RenewalRequest(after: next)
        }
        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: (try? encoder.encode(total)) ?? Data(), as: UTF8.self))
            return
        }
        let skipped = total.skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        print("skipped: " + (skipped.isEmpty ? "none" : skipped.joined(separator: ", ")))
        if let next = total.next {
            print("not done: continue with the same command (or the API with after=\(next))")
        }
    }

    static func revocationList(_ options: Invocation, _ api: API) {
        let response = api.get("/v1/crl")
        guard let out = options.value("--out") else { return printRaw(response) }
        writeFile(Data(response.body), to: out)
        print("CRL written to \(out)")
    }
}
