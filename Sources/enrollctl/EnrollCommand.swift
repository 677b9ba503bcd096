import EnrollAPIModel
import Foundation

/// `enroll`: a whole enrollment: start with the card, the live photo (`--photo`) and the liveness step (`--frames`,
/// see `LivenessCommands`), complete.
enum EnrollCommand {
    static let words: Set<String> = ["enroll"]

    static func run(_ options: Invocation, _ api: API) {
        let reader = options.required("--reader", "enroll needs --reader NAME")
        let frames = options.value("--frames")
        guard options.value("--photo") != nil || frames != nil else {
            fail("enroll needs --photo FILE (the live photo), --frames DIR (a liveness burst), or both", code: 2)
        }
        let key = CardCommands.accessKey(options, for: "enroll")
        let photo = options.value("--photo").map(readFile)
        let csr = options.value("--csr").map { String(decoding: readFile($0), as: UTF8.self) }
        let account = options.value("--account")
        let started = startSession(
            EnrollmentStartBody(
                reader: reader, accessKey: key, purpose: account == nil ? "register" : "upgrade", accountId: account),
            upgradeIfEnrolled: account == nil && options.flag("--upgrade"), options, api)
        if !options.json {
            print(
                "card verified: \(started.givenNames) \(started.surname), \(started.documentType) "
                    + "\(started.issuingState), genuine: \(started.authenticity.genuine), session \(started.id)")
        }
        if let photo {
            let matched = decode(
                EnrollmentView.self,
                api.post(
                    "/v1/enrollments/\(started.id)/photo",
                    EnrollmentPhotoBody(photo: photo.base64EncodedString())))
            if !options.json, let face = matched.face {
                print(
                    String(
                        format: "face matched: score %.3f, distance %.3f (threshold %.2f)",
                        face.score, face.distance, face.threshold))
            }
        }
        if let frames {
            let challenge = LivenessCommands.requestChallenge(started.id, api)
            if !options.json { LivenessCommands.describe(challenge) }
            let live = LivenessCommands.submit(
                started.id, nonce: challenge.nonceHex, prompts: challenge.prompts,
                frames: frames, options, api)
            if !options.json, let evidence = live.liveness {
                print(
                    "liveness passed: \(evidence.checks.filter(\.passed).count) of \(evidence.checks.count) checks, "
                        + "\(evidence.frames) frames")
            }
        }
        let outcome = decode(
            EnrollmentOutcome.self,
            api.post(
                "/v1/enrollments/\(started.id)/complete",
                EnrollmentCompleteBody(csr: csr)))
        let certificateOut = options.value("--cert-out")
        if let pem = outcome.certificatePEM, let certificateOut { writeFile(Data(pem.utf8), to: certificateOut) }
        if options.json { return printJSON(outcome) }
        print("account \(outcome.accountID): tier \(outcome.tier)")
        if let serial = outcome.certificateSerial {
            print("certificate \(serial), valid until \(outcome.notAfter ?? "?")")
            if let certificateOut {
                print("certificate written to \(certificateOut)")
            } else {
                print(outcome.certificatePEM ?? "")
            }
        }
    }

    /// Opens the session. With `upgradeIfEnrolled`, a registration refused as `identity-already-enrolled` continues
    /// as that account's upgrade with the refusal's token (the account's id is never needed nor shown).
    static func startSession(
        _ body: EnrollmentStartBody, upgradeIfEnrolled: Bool, _ options: Invocation, _ api: API
    ) -> EnrollmentView {
        let response = api.post("/v1/enrollments", body, accept: upgradeIfEnrolled ? [409] : [])
        guard response.status == 409 else { return decode(EnrollmentView.self, response) }
        let problem = decode(Problem.self, response)
        guard problem.code == ProblemCode.identityAlreadyEnrolled.code, let session = problem.enrollmentId,
            let token = problem.upgradeToken
        else { fail("\(problem.title): \(problem.detail)") }
        if !options.json { print("already enrolled: upgrading the identity's account in session \(session)") }
        return decode(
            EnrollmentView.self,
            api.post("/v1/enrollments/\(session)/upgrade", EnrollmentUpgradeBody(upgradeToken: token)))
    }
}
