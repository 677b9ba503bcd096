import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import UnixHTTP
import XCTest

/// Refusals of the registry and presentation routes on the Unix socket (the verifier routes' own refusals, on the
/// TLS listener, are `DataReleaseTests`').
final class DataReleaseRefusalTests: XCTestCase {
    static let addVerifier = "POST /v1/verifiers"
    static let presentations = "POST /v1/accounts/{id}/presentations"

    static func verifierBody(id: String = "bank-r", elements: [String] = ["surname"]) throws -> VerifierAddBody {
        let key = try PrivateKey.generate(.p256)
        let csr = try CertificateSigningRequest.create(
            subject: DistinguishedName(country: "UT", commonName: id), key: key
        ).pem
        return VerifierAddBody(
            id: id, legalName: "Bank R", elements: elements, purpose: "account opening", validDays: 30, csr: csr)
    }

    /// The kiosk's holder proof for the bench's account: the session that created it.
    static func proof(_ b: RefusalBench) throws -> [(String, String)] {
        [("X-Enrolld-Enrollment", try b.account.outcome.enrollmentID)]
    }

    static let registry: [Refusal] = [
        Refusal(addVerifier, .invalidVerifier, "an id with a space") { b in
            var body = try verifierBody()
            body.id = "bank r"
            return try b.daemon.call("POST", "/v1/verifiers", json: body, as: .admin)
        },
        Refusal(addVerifier, .unknownElement, "an element outside the catalogue") { b in
            try b.daemon.call("POST", "/v1/verifiers", json: try verifierBody(elements: ["shoe_size"]), as: .admin)
        },
        Refusal(addVerifier, .verifierExists, "the same id twice") { b in
            _ = try b.daemon.call("POST", "/v1/verifiers", json: try verifierBody(id: "bank-twice"), as: .admin)
            return try b.daemon.call("POST", "/v1/verifiers", json: try verifierBody(id: "bank-twice"), as: .admin)
        },
        Refusal("GET /v1/verifiers/{vid}", .verifierNotFound, "an id no verifier has") { b in
            b.daemon.call("GET", "/v1/verifiers/bank-none", as: .operator)
        },
        Refusal("POST /v1/verifiers/{vid}/status", .verifierNotFound, "an id no verifier has") { b in
            try b.daemon.call(
                "POST", "/v1/verifiers/bank-none/status", json: VerifierStatusBody(status: "suspended"), as: .admin)
        },
        Refusal("POST /v1/verifiers/{vid}/status", .invalidVerifier, "a status that is none") { b in
            try b.daemon.call(
                "POST", "/v1/verifiers/bank-none/status", json: VerifierStatusBody(status: "paused"), as: .admin)
        },
    ]

    static let holder: [Refusal] = [
        Refusal("POST /v1/accounts/{id}/presentations/nonce", .accountNotFound, "an account no one has") { b in
            b.daemon.call("POST", "/v1/accounts/\(UUID().uuidString)/presentations/nonce")
        },
        Refusal(presentations, .holderProofRequired, "no device signature and no holder proof") { b in
            b.daemon.call("POST", "/v1/accounts/\(try b.accountID)/presentations")
        },
        Refusal(presentations, .holderProofFailed, "a device signature over a nonce never given") { b in
            try b.daemon.call(
                "POST", "/v1/accounts/\(try b.accountID)/presentations",
                json: PresentationOpenBody(deviceId: "phone-a", nonce: "never", signature: "AAAAAAAAAAAA"))
        },
        Refusal("GET /v1/accounts/{id}/presentations/{pid}", .presentationNotFound, "a presentation never opened") {
            b in
            b.daemon.call(
                "GET", "/v1/accounts/\(try b.accountID)/presentations/\(UUID().uuidString)", headers: try proof(b))
        },
        Refusal("GET /v1/accounts/{id}/presentations/{pid}/qr", .holderProofFailed, "another presentation's key") {
            b in
            b.daemon.call(
                "GET", "/v1/accounts/\(try b.accountID)/presentations/\(UUID().uuidString)/qr",
                headers: [("X-Enrolld-Presentation-Key", "guess")])
        },
        Refusal(
            "POST /v1/accounts/{id}/presentations/{pid}/consent", .releaseRequestNotFound,
            "a request the presentation never had"
        ) { b in
            try b.daemon.call(
                "POST", "/v1/accounts/\(try b.accountID)/presentations/\(UUID().uuidString)/consent",
                json: ConsentBody(requestId: UUID().uuidString), headers: try proof(b))
        },
    ]

    static var refusals: [Refusal] { registry + holder }

    func testTheRegistryRefusesMalformedAndUnknownVerifiers() {
        RefusalRun.check(Self.registry)
    }

    func testPresentationRoutesRefuseWithoutTheHoldersProofOrAnOpenPresentation() {
        RefusalRun.check(Self.holder)
    }
}
