import CertificateAuthority
@testable import DaemonCore
import EnrollAPIModel
import Enrollment
import Foundation
import OpenSSLKit
import UnixHTTP
import XCTest

/// Every catalogued problem is answered by some refusal test in process, or is on the allow-list below with the
/// reason it cannot arise in process and the test that covers it instead; every route has refusal tests.
final class ProblemCoverageTests: XCTestCase {
    /// Every refusal the route tables provoke (each table's own test checks the answers).
    static var everyRefusal: [Refusal] {
        RoleAndRequestRefusalTests.refusals + CardAndFaceRefusalTests.refusals + EnrollmentRefusalTests.refusals
            + AccountRefusalTests.refusals + TrustAndTransportRefusalTests.refusals + LivenessRefusalTests.refusals
            + TrustListRefusalTests.refusals + DataReleaseRefusalTests.refusals
    }

    /// A code no in-process request provokes: why, and the test (`Target/File.swift`, test name) that covers it,
    /// whose file mentions the code as `mentions` (its code, or the Swift case that carries it).
    struct Elsewhere {
        var code: ProblemCode
        var why: String
        var file: String
        var test: String
        var mentions: String

        init(code: ProblemCode, why: String, file: String, test: String, mentions: String? = nil) {
            self.code = code
            self.why = why
            self.file = file
            self.test = test
            self.mentions = mentions ?? "\"\(code.code)\""
        }
    }

    static let notProvokedInProcess: [Elsewhere] = [
        // The HTTP layer: the daemon's server keeps a fixed 10 s request deadline, too long to wait for here; the
        // same server class is tested with a short one.
        Elsewhere(
            code: .requestTimeout, why: "the daemon's 10 s request deadline",
            file: "DaemonCoreTests/ServerLimitsTests.swift",
            test: "testARequestThatStallsIsAnsweredRequestTimeout",
            mentions: "request-timeout"),
        // No input makes these: JSON encoding of plain structs, scrypt with fixed parameters, a card-read error of
        // no known type. The router's rendering of them (with an incident id) is tested with a route that throws one.
        Elsewhere(
            code: .cardScanUnavailable, why: "the in-process daemon has the OCR-B font installed",
            file: "DaemonCoreTests/CardScanRouteTests.swift",
            test: "testAMissingFontIsCardScanUnavailableWithThePackageToInstall", mentions: ".cardScanUnavailable"),
        Elsewhere(
            code: .internalError, why: "no input provokes it",
            file: "DaemonCoreTests/ProblemCoverageTests.swift",
            test: "testA500ProblemNamesTheIncidentOfItsLogLine",
            mentions: "\"internal-error\""),
        // Start-up only: ENROLLD_TEST_STOP_AT is read before the API exists.
        Elsewhere(
            code: .invalidTestStopPoint, why: "read at start-up, never on a route",
            file: "EnrollmentTests/RecoveryTests.swift",
            test: "testStopPointsAreForTestBenchesOnlyAndMustBeKnown"),
        // The only caller of a status change is the operator-only route: a kiosk gets role-required first.
        Elsewhere(
            code: .forbidden, why: "the route that could answer it is operator-only",
            file: "EnrollmentTests/LifecycleTests.swift",
            test: "testCancellationIsIrreversibleRevokesEverythingAndNeedsStaff"),
        // The CA's own state, found when the daemon loads it at start-up: the routes then answer
        // enrollment-unavailable with the CA's reason (provoked above with a missing CA); `enrolld ca` reports these.
        Elsewhere(
            code: .caNotInitialised, why: "CA load at start-up (routes: enrollment-unavailable)",
            file: "CertificateAuthorityTests/CAStoreTests.swift", test: "testLoadErrorsSayWhatToDo",
            mentions: ".notInitialised"),
        Elsewhere(
            code: .caInsecurePermissions, why: "CA load at start-up (routes: enrollment-unavailable)",
            file: "CertificateAuthorityTests/CAStoreTests.swift", test: "testLoadErrorsSayWhatToDo",
            mentions: ".insecurePermissions"),
        Elsewhere(
            code: .caPassphraseInvalid, why: "CA load at start-up (routes: enrollment-unavailable)",
            file: "CertificateAuthorityTests/CAStoreTests.swift", test: "testLoadErrorsSayWhatToDo",
            mentions: ".passphraseInvalid"),
        Elsewhere(
            code: .caKeyUnreadable, why: "CA load at start-up (routes: enrollment-unavailable)",
            file: "CertificateAuthorityTests/CAStoreTests.swift", test: "testLoadErrorsSayWhatToDo",
            mentions: ".keyUnreadable"),
        Elsewhere(
            code: .caAwaitingCertificate, why: "CA load at start-up (routes: enrollment-unavailable)",
            file: "CertificateAuthorityTests/CAStoreTests.swift", test: "testExternalRootModeChainsToTheRoot",
            mentions: ".awaitingCertificate"),
        Elsewhere(
            code: .caCertificateKeyMismatch, why: "CA load or `enrolld ca install-certificate`",
            file: "CertificateAuthorityTests/CAStoreTests.swift", test: "testExternalRootModeChainsToTheRoot",
            mentions: ".certificateDoesNotMatchKey"),
        Elsewhere(
            code: .caCertificateNotUsable, why: "CA load or `enrolld ca install-certificate`",
            file: "CertificateAuthorityTests/CAStoreTests.swift",
            test: "testACertificateThatMayNotSignAndAFileThatIsNoCertificateAreRefused",
            mentions: ".certificateNotUsableForIssuing"),
        Elsewhere(
            code: .caFileError, why: "CA load at start-up (routes: enrollment-unavailable)",
            file: "CertificateAuthorityTests/CAStoreTests.swift",
            test: "testACertificateThatMayNotSignAndAFileThatIsNoCertificateAreRefused", mentions: ".fileError"),
        Elsewhere(
            code: .caInvalidConfiguration, why: "the certificate profile, checked when the CA loads",
            file: "CertificateAuthorityTests/IssuanceTests.swift", test: "testProfileConfigurationIsValidated",
            mentions: ".invalidConfiguration"),
        // `enrolld ca init` and `enrolld ca install-certificate` only.
        Elsewhere(
            code: .caAlreadyInitialised, why: "`enrolld ca init` only",
            file: "CertificateAuthorityTests/CAStoreTests.swift", test: "testRefusesToOverwriteUnlessAsked",
            mentions: ".alreadyInitialised"),
        Elsewhere(
            code: .caCertificateAlreadyInstalled, why: "`enrolld ca install-certificate` only",
            file: "CertificateAuthorityTests/CAStoreTests.swift", test: "testExternalRootModeChainsToTheRoot",
            mentions: ".certificateAlreadyInstalled"),
        // OpenSSL failing inside the CA: no request makes it fail; the code is catalogued (tested here) so the
        // daemon's mapping keeps it.
        Elsewhere(
            code: .caCryptoFailure, why: "OpenSSL failing inside the CA",
            file: "DaemonCoreTests/ProblemCoverageTests.swift", test: "testEveryCAErrorCodeIsCatalogued",
            mentions: ".caCryptoFailure"),
        // The daemon computes intents and CRL parameters itself (from prepareIssuance and the store's counter).
        Elsewhere(
            code: .invalidIntent, why: "the daemon makes every intent with prepareIssuance",
            file: "CertificateAuthorityTests/IssuanceTests.swift",
            test: "testRecordedIntentRoundTripsThroughItsHexSerial", mentions: ".invalidIntent"),
        // Trust lists: the daemon builds and signs its own list (nothing a caller sends can make it invalid), and
        // the API's body limit refuses a list over 16 MiB before the importer sees it.
        Elsewhere(
            code: .trustListInvalid, why: "the daemon builds its list from its own CA",
            file: "DaemonCoreTests/MutualRecognitionTests.swift",
            test: "testTrustListErrorsNoRequestProvokesKeepTheirCatalogueCodes", mentions: ".invalidList"),
        Elsewhere(
            code: .trustListSigningFailed, why: "OpenSSL failing inside the CA",
            file: "DaemonCoreTests/MutualRecognitionTests.swift",
            test: "testTrustListErrorsNoRequestProvokesKeepTheirCatalogueCodes", mentions: ".signingFailed"),
        Elsewhere(
            code: .trustListTooLarge, why: "api.max_request_body_bytes refuses the body first",
            file: "TrustListTests/TrustListTests.swift", test: "testDocumentTypeDeclarationsAreRefused",
            mentions: ".tooLarge"),
        // An exporting enrolld signs with a responder certificate valid from a minute before its list's issue date,
        // so a list from the future fails the signer's path first (untrusted-signer); the importer is tested alone.
        Elsewhere(
            code: .trustListFromTheFuture, why: "its signer is not yet valid either",
            file: "TrustListTests/TrustListTests.swift", test: "testExpiredOlderAndForeignTerritoryListsAreRefused",
            mentions: ".issuedInTheFuture"),
        // Our daemons export only a granted service, since its CA's notBefore, under the policies it issues with.
        Elsewhere(
            code: .foreignServiceNotTrusted, why: "an enrolld exports only granted services",
            file: "TrustListTests/ForeignValidationTests.swift", test: "testPathsServicesAndPoliciesAreChecked"),
        Elsewhere(
            code: .foreignIssuedWhileNotTrusted, why: "an enrolld's service is granted since its CA's notBefore",
            file: "TrustListTests/ForeignValidationTests.swift", test: "testPathsServicesAndPoliciesAreChecked"),
        Elsewhere(
            code: .foreignPolicyNotAccepted, why: "an enrolld lists the policies it issues with",
            file: "TrustListTests/ForeignValidationTests.swift", test: "testPathsServicesAndPoliciesAreChecked"),
        // Limits of the socket server, met on real connections only.
        Elsewhere(
            code: .tooManyConnections, why: "a uid over its connection share, on the real socket",
            file: "DaemonCoreTests/ConnectionAbuseTests.swift", test: "testTheRefusalsSayWhatHappened",
            mentions: #""code":"too-many-connections""#),
        Elsewhere(
            code: .tooManyEventStreams, why: "a uid over its event streams, on the real socket",
            file: "DaemonCoreTests/ConnectionAbuseTests.swift", test: "testEventStreamsAreLimitedPerUID",
            mentions: #""code":"too-many-event-streams""#),
        // A kiosk's passcode proof, through the lifecycle service with a clock the test moves.
        Elsewhere(
            code: .reverificationRequired, why: "the service's reason; kiosks are answered holder-proof-failed",
            file: "DaemonCoreTests/HolderProofTests.swift",
            test: "testASessionProvesOnlyItsOwnAccountAndOnlyToTheKioskThatRanIt",
            mentions: "reverification-required"),
        Elsewhere(
            code: .passcodeEntriesExhausted, why: "a kiosk uid that used up its budget of wrong entries",
            file: "EnrollmentTests/LifecycleTests.swift",
            test: "testAKioskThatUsesUpItsBudgetIsLockedOutOfPasscodeEntries"),
        Elsewhere(
            code: .readerNotYours, why: "a kiosk on a reader [readers] kiosk_readers gives another kiosk",
            file: "DaemonCoreTests/NamesAndLogsTests.swift",
            test: "testAKioskUsesOnlyTheReadersAssignedToIt"),
        // Activation through the contact: they need an outbox to a loopback SMTP server and codes read from its mail.
        Elsewhere(
            code: .contactRequired, why: "a signing completion without a contact of a configured transport",
            file: "DaemonCoreTests/ActivationFlowTests.swift",
            test: "testACompletionWithoutAContactOfAConfiguredTransportIsRefusedBeforeAnythingIsSigned"),
        Elsewhere(
            code: .activationNotPending, why: "a used code entered again",
            file: "DaemonCoreTests/ActivationFlowTests.swift",
            test: "testSigningEnrollmentWaitsOnHoldUntilTheMailedCodeReleasesIt"),
        Elsewhere(
            code: .activationCodeWrong, why: "a wrong code from the mail",
            file: "DaemonCoreTests/ActivationFlowTests.swift",
            test: "testSigningEnrollmentWaitsOnHoldUntilTheMailedCodeReleasesIt"),
        Elsewhere(
            code: .activationExpired, why: "the right code after its expiry",
            file: "DaemonCoreTests/ActivationFlowTests.swift", test: "testAnEntryAfterExpiryEndsTheActivationAtOnce"),
        Elsewhere(
            code: .contactCodeRequired, why: "a passcode reset of an account with a verified contact, without its code",
            file: "DaemonCoreTests/OpenAPIFlowTests.swift",
            test: "testEveryRouteAnswersAsDocumentedThroughAWholeEnrollmentAndItsAccount"),
        Elsewhere(
            code: .invalidOutboxState, why: "an unknown state on the outbox list",
            file: "DaemonCoreTests/OpenAPIFlowTests.swift",
            test: "testEveryRouteAnswersAsDocumentedThroughAWholeEnrollmentAndItsAccount"),
        Elsewhere(
            code: .outboxMessageNotFound, why: "a retry of no message",
            file: "DaemonCoreTests/OpenAPIFlowTests.swift",
            test: "testEveryRouteAnswersAsDocumentedThroughAWholeEnrollmentAndItsAccount"),
        Elsewhere(
            code: .outboxMessageNotFailed, why: "a retry of a sent message",
            file: "DaemonCoreTests/OpenAPIFlowTests.swift",
            test: "testEveryRouteAnswersAsDocumentedThroughAWholeEnrollmentAndItsAccount"),
        Elsewhere(
            code: .invalidCRLParameters, why: "the daemon's CRL parameters are always valid",
            file: "CertificateAuthorityTests/RevocationTests.swift", test: "testCRLParametersAreChecked",
            mentions: ".invalidCRLParameters"),
        // Data release: what the verifiers' TLS listener answers (its router is not the Unix socket's), and the
        // consent refusals that need a verifier's request first.
        Elsewhere(
            code: .verifierNotApproved, why: "the verifiers' TLS listener",
            file: "DaemonCoreTests/DataReleaseTests.swift", test: "testASuspendedVerifierIsRefusedAtOnce",
            mentions: ".verifierNotApproved"),
        Elsewhere(
            code: .verifierCertificateUnknown, why: "the verifiers' TLS listener",
            file: "DaemonCoreTests/DataReleaseTests.swift",
            test: "testACertificateOfATrustedCAThatNoVerifierRegisteredIsRefused",
            mentions: ".verifierCertificateUnknown"),
        Elsewhere(
            code: .elementNotAllowed, why: "the verifiers' TLS listener",
            file: "DaemonCoreTests/DataReleaseTests.swift", test: "testAnElementTheVerifierIsNotAllowedIsRefused",
            mentions: ".elementNotAllowed"),
        Elsewhere(
            code: .tokenInvalid, why: "the verifiers' TLS listener",
            file: "DaemonCoreTests/DataReleaseTests.swift", test: "testAReplayedTokenIsRefused",
            mentions: ".tokenInvalid"),
        Elsewhere(
            code: .tokenExpired, why: "the verifiers' TLS listener",
            file: "DaemonCoreTests/DataReleaseTests.swift", test: "testAnExpiredOrSupersededTokenIsRefused",
            mentions: ".tokenExpired"),
        Elsewhere(
            code: .tokenReplayed, why: "the verifiers' TLS listener",
            file: "DaemonCoreTests/DataReleaseTests.swift", test: "testAReplayedTokenIsRefused",
            mentions: ".tokenReplayed"),
        Elsewhere(
            code: .consentRequired, why: "the verifiers' TLS listener",
            file: "DaemonCoreTests/DataReleaseTests.swift", test: "testNothingIsReleasedWithoutConsent",
            mentions: ".consentRequired"),
        Elsewhere(
            code: .consentSignatureInvalid, why: "needs a verifier's request (TLS listener) first",
            file: "DaemonCoreTests/DataReleaseTests.swift",
            test: "testAConsentSignedByAnotherDeviceIsRefusedAndOneConsentAnswersOneRequest",
            mentions: ".consentSignatureInvalid"),
        Elsewhere(
            code: .consentAlreadyGiven, why: "needs a verifier's request (TLS listener) first",
            file: "DaemonCoreTests/DataReleaseTests.swift",
            test: "testAConsentSignedByAnotherDeviceIsRefusedAndOneConsentAnswersOneRequest",
            mentions: ".consentAlreadyGiven"),
    ]

    /// Routes that answer no problem at all: OCSP refuses in its own protocol, always with 200 and an unsigned
    /// OCSPResponse whose responseStatus says why (RFC 6960 Appendix A, §4.2.1); the test that provokes them.
    static let refusingInTheirOwnProtocol: [String: String] = [
        "POST /v1/ocsp": "CertificateStatusTests.testGETTakesTheRestOfThePathAndANonceGetsItsOwnSignedAnswer",
        "GET /v1/ocsp/{request}": "CertificateStatusTests.testGETTakesTheRestOfThePathAndANonceGetsItsOwnSignedAnswer",
    ]

    func testEveryCatalogueCodeIsProvokedInProcessOrListedWithTheTestThatCoversIt() {
        let provoked = Set(Self.everyRefusal.map(\.code))
        let elsewhere = Set(Self.notProvokedInProcess.map(\.code))
        let missing = ProblemCode.all.filter { !provoked.contains($0) && !elsewhere.contains($0) }
        XCTAssertEqual(missing.map(\.code), [], "catalogued codes no test provokes")
        let both = ProblemCode.all.filter { provoked.contains($0) && elsewhere.contains($0) }
        XCTAssertEqual(both.map(\.code), [], "provoked in process: take them off the allow-list")
        XCTAssertEqual(Self.notProvokedInProcess.count, elsewhere.count, "each code once on the allow-list")
        XCTAssertTrue(provoked.union(elsewhere).isSubset(of: Set(ProblemCode.all)), "every code is catalogued")
    }

    func testEveryTestTheAllowListNamesExists() throws {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        for entry in Self.notProvokedInProcess {
            let source = try String(contentsOf: tests.appendingPathComponent(entry.file), encoding: .utf8)
            XCTAssertTrue(source.contains("func \(entry.test)("), "\(entry.code): no \(entry.test) in \(entry.file)")
            XCTAssertTrue(source.contains(entry.mentions), "\(entry.file) does not mention \(entry.mentions)")
        }
    }

    func testEveryRouteHasRefusalTestsAndEveryRefusalNamesARoute() throws {
        let bench = try InProcessDaemon()
        let routes = Set(bench.router.routes.map(\.name))
        let named = Set(Self.everyRefusal.map(\.route)).union(Self.refusingInTheirOwnProtocol.keys)
        XCTAssertEqual(routes.subtracting(named).sorted(), [], "routes without refusal tests")
        XCTAssertEqual(
            named.subtracting(routes).subtracting([Refusal.transport, Refusal.router]).sorted(), [],
            "refusals of routes the router does not have")
    }

    /// Every refusal reaches its route (or the router, or the transport) with a cause of its own.
    func testRefusalsAreNamedOnce() {
        var seen = Set<String>()
        for refusal in Self.everyRefusal {
            XCTAssertTrue(seen.insert(refusal.description).inserted, "twice: \(refusal)")
            XCTAssertFalse(refusal.cause.isEmpty)
        }
    }

    // MARK: What the allow-list points at

    /// The daemon maps a CA refusal to the catalogue entry of its code, falling back to ca-crypto-failure: every
    /// code must be there, with a 4xx status for what the caller sent and a 5xx one for the CA's own state.
    func testEveryCAErrorCodeIsCatalogued() {
        let errors: [CertificateAuthorityError] = [
            .notInitialised(directory: "/ca"), .alreadyInitialised(directory: "/ca"),
            .awaitingCertificate(requestPath: "/ca/ca-request.pem"), .certificateAlreadyInstalled(path: "/ca/ca.pem"),
            .insecurePermissions(path: "/ca/ca-key.pem", mode: 0o644), .fileError(path: "/ca", reason: "gone"),
            .passphraseInvalid(path: "/ca/ca-passphrase.key"), .keyUnreadable(path: "/ca/ca-key.pem", detail: "bad"),
            .wrongOwner(path: "/ca/ca-key.pem", owner: 0, expected: 998), .notRegularFile(path: "/ca/ca.pem"),
            .passphraseCredentialMissing(name: "ca-passphrase", path: nil),
            .certificateDoesNotMatchKey, .certificateNotUsableForIssuing(reason: "no CA:TRUE"),
            .requestTooLarge(size: 20_000, limit: 16_384), .requestMalformed(detail: "empty"), .proofOfPossessionFailed,
            .weakKey("RSA-1024"), .unsupportedCurve("secp256k1"), .unsupportedKey("ED25519"),
            .documentExpired(notAfterLimit: Date()), .issuingCertificateExpired(notAfter: Date()),
            .invalidSubject("empty"), .invalidIntent("serial"), .invalidConfiguration("validity"),
            .invalidSerial("zz"), .invalidCRLParameters("negative"),
            .crypto(OpenSSLError(operation: "EVP_DigestSign", queue: ["error:0"])),
        ]
        for error in errors {
            guard let entry = ProblemCode.named(error.code) else {
                XCTFail("\(error.code) is not catalogued")
                continue
            }
            if error.isCallerError && error.code != "invalid-intent" && error.code != "invalid-crl-parameters" {
                XCTAssertTrue((400..<500).contains(entry.status), "\(error.code): \(entry.status)")
            } else if !error.isCallerError {
                XCTAssertTrue((500..<600).contains(entry.status), "\(error.code): \(entry.status)")
            }
        }
        XCTAssertEqual(
            CertificateAuthorityError.crypto(OpenSSLError(operation: "x", queue: [])).code,
            ProblemCode.caCryptoFailure.code)
    }

    /// A failure of ours reaches the caller as internal-error with an incident id, not its cause (which the log
    /// line of that id carries): a card read that fails with an error of no known type, as a route answers it.
    func testA500ProblemNamesTheIncidentOfItsLogLine() throws {
        var router = Router()
        router.add(
            Route(
                "GET", "/v1/broken",
                .respond { _ throws(Problem) in
                    throw Problem(CardReadFailure.internalError("SIGBUS in the reader driver at 0x7f00"))
                }))
        let response = router.response(
            to: HTTPRequest(method: "GET", path: "/v1/broken"),
            peer: PeerCredentials(pid: 1, uid: 1, gid: 1))
        XCTAssertEqual(response.status, 500)
        let problem = try JSONDecoder().decode(Problem.self, from: Data(response.body))
        XCTAssertEqual(problem.code, "internal-error")
        let incident = try XCTUnwrap(problem.incident)
        XCTAssertEqual(incident.count, 12)
        XCTAssertTrue(problem.detail.contains(incident), problem.detail)
        XCTAssertFalse(problem.detail.contains("SIGBUS"), "the cause stays in the log: \(problem.detail)")
        XCTAssertEqual(CardReadFailure.internalError("x").problem, .internalError)
    }
}
