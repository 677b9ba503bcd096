import EnrollAPIModel
import Foundation

/// `verifiers add|list|show|suspend|revoke|approve`: the registry of approved verifiers (data release by consent).
enum VerifierCommands {
    static let words: Set<String> = ["verifiers"]
    static let usage = """
        usage: enrollctl verifiers add ID --name LEGAL-NAME --elements a,b --purpose TEXT --days N \
        (--csr FILE | --certificate FILE) [--cert-out FILE]
               enrollctl verifiers list | show ID | suspend ID | revoke ID | approve ID [--reason R]
        """

    static func run(_ options: Invocation, _ api: API) {
        switch options.subcommand {
        case "add": add(options, api)
        case "list": list(options, api)
        case "show":
            guard options.words.count == 3 else { fail(usage, code: 2) }
            printRaw(api.get("/v1/verifiers/\(options.words[2])"))
        case "suspend", "revoke", "approve":
            guard options.words.count == 3 else { fail(usage, code: 2) }
            let status = ["suspend": "suspended", "revoke": "revoked", "approve": "approved"][options.subcommand ?? ""]
            let response = api.post(
                "/v1/verifiers/\(options.words[2])/status",
                VerifierStatusBody(status: status ?? "", reason: options.value("--reason")))
            if options.json { return printRaw(response) }
            let view = decode(VerifierView.self, response)
            print("verifier \(view.id): \(view.status)")
        default: fail(usage, code: 2)
        }
    }

    static func add(_ options: Invocation, _ api: API) {
        guard options.words.count == 3 else { fail(usage, code: 2) }
        let name = options.required("--name", "verifiers add needs --name LEGAL-NAME")
        let elements = options.required("--elements", "verifiers add needs --elements a,b (the catalogue's names)")
        let purpose = options.required("--purpose", "verifiers add needs --purpose TEXT")
        let days = Int(options.value("--days") ?? "365") ?? 0
        let csr = options.value("--csr").map { String(decoding: readFile($0), as: UTF8.self) }
        let certificate = options.value("--certificate").map { String(decoding: readFile($0), as: UTF8.self) }
        let body = VerifierAddBody(
            id: options.words[2], legalName: name, elements: elements.split(separator: ",").map(String.init),
            purpose: purpose, validDays: days, csr: csr, certificate: certificate)
        let response = api.post("/v1/verifiers", body)
        if options.json { return printRaw(response) }
        let view = decode(VerifierView.self, response)
        if let out = options.value("--cert-out") {
            guard FileManager.default.createFile(atPath: out, contents: Data(view.certificatePem.utf8)) else {
                fail("cannot write \(out)", code: 1)
            }
        }
        print("verifier \(view.id) \(view.status) until \(view.validUntil): \(view.elements.joined(separator: ","))")
        print("certificate (\(view.credential)) SHA-256 \(view.certificateFingerprint)")
    }

    static func list(_ options: Invocation, _ api: API) {
        let response = api.get("/v1/verifiers")
        if options.json { return printRaw(response) }
        for view in decode([VerifierView].self, response) {
            print(
                "\(view.id)\t\(view.status)\t\(view.validUntil)\t\(view.legalName)\t\(view.elements.joined(separator: ","))"
            )
        }
    }
}
