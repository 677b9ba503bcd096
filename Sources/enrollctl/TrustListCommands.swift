import EnrollAPIModel
import Foundation

/// `trust-list export|import|list|validate`: mutual recognition with other jurisdictions (ETSI TS 119 612 XML
/// signed with XML-DSig).
enum TrustListCommands {
    static let words: Set<String> = ["trust-list"]

    static func run(_ options: Invocation, _ api: API) {
        switch options.subcommand {
        case "export": export(options, api)
        case "import": importFile(options, api)
        case "list": list(options, api)
        case "validate": validate(options, api)
        default:
            fail(
                "trust-list needs export [--out FILE], import FILE [--territory CC], list or validate FILE",
                code: 2)
        }
    }

    /// Signs a new list of our CA (its sequence number advances) and writes it to `--out` or standard output.
    static func export(_ options: Invocation, _ api: API) {
        let response = api.post("/v1/trust-list/export", EmptyBody())
        guard let out = options.value("--out") else { return printRaw(response) }
        writeFile(Data(response.body), to: out)
        print("trust list written to \(out); check it with: xmlsec1 --verify --trusted-pem CA.pem \(out)")
    }

    static func importFile(_ options: Invocation, _ api: API) {
        guard options.words.count == 3 else { fail("trust-list import needs FILE", code: 2) }
        let data = readFile(options.words[2]).base64EncodedString()
        let response = api.post(
            "/v1/trust-lists/import",
            TrustListImportRequest(data: data, territory: options.value("--territory")))
        if options.json { return printRaw(response) }
        let summary = decode(TrustListSummary.self, response)
        print(
            "trust list of \(summary.territory) (\(summary.schemeOperator)) imported: sequence "
                + "\(summary.sequenceNumber), next update \(summary.nextUpdate), signed by \(summary.signer)")
        for service in summary.services { print("  \(service.status) \(service.name) (\(service.provider))") }
    }

    static func list(_ options: Invocation, _ api: API) {
        let response = api.get("/v1/trust-lists")
        if options.json { return printRaw(response) }
        let listing = decode(TrustListListing.self, response)
        print("trust lists \(listing.directory): \(listing.lists.count) jurisdiction(s)")
        for list in listing.lists {
            print(
                "  \(list.territory) \(list.schemeOperator): sequence \(list.sequenceNumber), next update "
                    + "\(list.nextUpdate), \(list.services.count) service(s)")
        }
        for skipped in listing.skippedFiles { print("  skipped \(skipped)") }
    }

    /// Validates another jurisdiction's signing certificate (PEM or DER file) against the imported lists.
    static func validate(_ options: Invocation, _ api: API) {
        guard options.words.count == 3 else { fail("trust-list validate needs FILE", code: 2) }
        let data = readFile(options.words[2])
        let text =
            String(data: data, encoding: .utf8).flatMap { $0.contains("-----BEGIN") ? $0 : nil }
            ?? data.base64EncodedString()
        let response = api.post(
            "/v1/certificates/validate",
            CertificateValidationRequest(certificate: text, intermediates: nil, at: nil))
        if options.json { return printRaw(response) }
        let result = decode(CertificateValidationResponse.self, response)
        print(
            "valid: \(result.service) of \(result.provider) (\(result.territory)), status from "
                + "\(result.statusSource) at \(result.checkedAt)")
    }
}

/// A POST without a body (JSON `{}`).
struct EmptyBody: Encodable {}
