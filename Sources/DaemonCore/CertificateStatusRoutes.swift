import CertificateAuthority
import EnrollAPIModel
import Foundation
import OpenSSLKit
import UnixHTTP

extension Daemon {
    /// The largest OCSP request body accepted (RFC 5019 §2.1.1 requests are about 100 bytes).
    static let maximumOCSPRequest = 4 * 1024

    func statusPublisher() throws(Problem) -> CertificateStatusPublisher {
        guard let certificateStatus else {
            throw Problem(.enrollmentUnavailable, detail: certificateStatusUnavailableReason)
        }
        return certificateStatus
    }

    /// What relying parties fetch, public data (role anyone, so that the nginx front's user may proxy them):
    /// `POST /v1/ocsp` and `GET /v1/ocsp/{request}` (RFC 6960 Appendix A), `GET /v1/crl` from the cache (signs
    /// nothing), `GET /v1/ca/certificate` (the caIssuers target, RFC 5280 §4.2.2.1).
    func addCertificateStatusRoutes(to router: inout Router) {
        router.add(
            Route(
                "POST", "/v1/ocsp",
                .respond { [unowned self] context in
                    guard context.request.body.count <= Self.maximumOCSPRequest else {
                        return ocspResponse(.error(.malformedRequest))
                    }
                    return ocspResponse(
                        certificateStatus.map { .answer($0.responder.respond(toRequest: context.request.body)) }
                            ?? .error(.tryLater))
                }))
        router.add(
            Route(
                "GET", "/v1/ocsp/{request}", capturesRest: true,
                .respond { [unowned self] context in
                    let encoded = context.parameters["request"] ?? ""
                    return ocspResponse(
                        certificateStatus.map { .answer($0.responder.respond(toEncodedRequest: encoded)) }
                            ?? .error(.tryLater))
                }))
        router.add(
            Route(
                "GET", "/v1/crl",
                .respond { [unowned self] context throws(Problem) in
                    let published = try statusPublisher().crl.current
                    let der = context.request.queryValue("format") == "der"
                    return HTTPResponse(
                        status: 200, headers: published.httpHeaders(der: der, now: environment.now()),
                        body: der ? published.der : Array(published.pem.utf8))
                }))
        router.add(
            Route(
                "GET", "/v1/ca/certificate",
                .respond { [unowned self] context throws(Problem) in
                    guard let authority else {
                        throw Problem(.enrollmentUnavailable, detail: enrollmentUnavailableReason)
                    }
                    if context.request.queryValue("format") == "pem" {
                        return HTTPResponse(
                            status: 200, headers: [("Content-Type", "application/x-pem-file")],
                            body: Array(authority.certificate.pem.utf8))
                    }
                    return HTTPResponse(
                        status: 200,
                        headers: [
                            ("Content-Type", "application/pkix-cert"),
                            ("Cache-Control", "max-age=3600, public"),
                        ],
                        body: authority.certificate.der)
                }))
    }

    enum OCSPReply {
        case answer(OCSPAnswer)
        /// An unsigned error response: no CA (tryLater), or a body over the limit (malformedRequest).
        case error(OCSPResponseStatus)
    }

    /// Always 200 with an OCSP response body (RFC 6960 Appendix A.2): errors are OCSP error statuses.
    func ocspResponse(_ reply: OCSPReply) -> HTTPResponse {
        switch reply {
        case let .answer(answer):
            metrics.observeOCSP(answer.source)
            return HTTPResponse(status: 200, headers: answer.httpHeaders(now: environment.now()), body: answer.der)
        case let .error(status):
            metrics.observeOCSP(.error)
            return HTTPResponse(
                status: 200,
                headers: [
                    ("Content-Type", OCSPAnswer.contentType),
                    ("Cache-Control", "no-store"),
                ],
                body: OCSPResponseBuilder.errorResponse(status))
        }
    }
}
