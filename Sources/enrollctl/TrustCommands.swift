import EnrollAPIModel
import Foundation

/// `trust list [--json]` and `trust import FILE [--states UTO,D]`: the CSCA trust store.
enum TrustCommands {
    static let words: Set<String> = ["trust"]

    static func run(_ options: Invocation, _ api: API) {
        switch options.subcommand {
        case "list": list(options, api)
        case "import": importFile(options, api)
        default: fail("trust needs list or import FILE", code: 2)
        }
    }

    static func list(_ options: Invocation, _ api: API) {
        let response = api.get("/v1/trust")
        if options.json { return printRaw(response) }
        let listing = decode(TrustStoreListing.self, response)
        print(
            "trust store \(listing.directory): \(listing.cscaCertificates.count) CSCA certificate(s), "
                + "\(listing.crls.count) CRL(s)")
        for certificate in listing.cscaCertificates {
            let link = certificate.selfSigned ? "" : " (link, issued by \(certificate.issuer))"
            print("  CSCA \(certificate.subject)\(link)")
            print("       valid \(certificate.notBefore ?? "?") to \(certificate.notAfter ?? "?")")
            print("       SHA-256 \(certificate.fingerprint)")
        }
        for crl in listing.crls {
            print("  CRL  \(crl.issuer): \(crl.revokedCertificates) revoked, next update \(crl.nextUpdate ?? "none")")
        }
        for skipped in listing.skippedFiles { print("  skipped \(skipped)") }
    }

    static func importFile(_ options: Invocation, _ api: API) {
        guard options.words.count == 3 else { fail("trust import needs FILE", code: 2) }
        let data = readFile(options.words[2]).base64EncodedString()
        let states = options.value("--states").map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let states, states.isEmpty { fail("--states needs issuing-state codes, e.g. --states UTO,D", code: 2) }
        let response = api.post("/v1/trust/import", TrustImportRequest(data: data, states: states))
        if options.json { return printRaw(response) }
        let result = decode(TrustImportResponse.self, response)
        let scope = result.states.isEmpty ? "" : " for \(result.states.joined(separator: ", "))"
        print(
            "imported \(result.kind)\(scope): \(result.added) added, \(result.alreadyTrusted) already trusted, "
                + "\(result.skipped.count) skipped; \(result.cscaCertificates) CSCA certificate(s) now trusted")
        for added in result.addedCertificates { print("  added   \(added.subject) (SHA-256 \(added.fingerprint))") }
        for skipped in result.skipped { print("  skipped \(skipped.subject): \(skipped.reason ?? "")") }
        for file in result.writtenFiles { print("  wrote \(file)") }
    }
}
