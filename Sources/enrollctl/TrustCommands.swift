import EnrollAPIModel
import Foundation

/// `trust list [--json]` and `trust import FILE`: the CSCA trust store.
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
        let response = api.post("/v1/trust/import", TrustImportRequest(data: data))
        if options.json { return printRaw(response) }
        let result = decode(TrustImportResponse.self, response)
        print(
            "imported \(result.kind): \(result.added) added, \(result.alreadyTrusted) already trusted; "
                + "\(result.cscaCertificates) CSCA certificate(s) now trusted")
        for file in result.writtenFiles { print("  wrote \(file)") }
    }
}
