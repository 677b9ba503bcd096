import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation

/// `enrollctl trust list [--json]` and `enrollctl trust import FILE`.
@MainActor
func runTrustCommand() {
    switch positional.dropFirst().first {
    case "list":
        let response = call(HTTPRequest(method: "GET", path: "/v1/trust"))
        if json { printRaw(response); return }
        let listing = decode(TrustStoreListing.self, response)
        print("trust store \(listing.directory): \(listing.cscaCertificates.count) CSCA certificate(s), "
              + "\(listing.crls.count) CRL(s)")
        for certificate in listing.cscaCertificates {
            print("  CSCA \(certificate.subject)\(certificate.selfSigned ? "" : " (link, issued by \(certificate.issuer))")")
            print("       valid \(certificate.notBefore ?? "?") to \(certificate.notAfter ?? "?")")
            print("       SHA-256 \(certificate.fingerprint)")
        }
        for crl in listing.crls {
            print("  CRL  \(crl.issuer): \(crl.revokedCertificates) revoked, next update \(crl.nextUpdate ?? "none")")
        }
        for skipped in listing.skippedFiles { print("  skipped \(skipped)") }
    case "import":
        guard positional.count == 3 else { fail("trust import needs FILE", code: 2) }
        let response = postJSON("/v1/trust/import", TrustImportRequest(data: readFile(positional[2]).base64EncodedString()))
        if json { printRaw(response); return }
        let result = decode(TrustImportResponse.self, response)
        print("imported \(result.kind): \(result.added) added, \(result.alreadyTrusted) already trusted; "
              + "\(result.cscaCertificates) CSCA certificate(s) now trusted")
        for file in result.writtenFiles { print("  wrote \(file)") }
    default:
        fail("trust needs list or import FILE", code: 2)
    }
}
