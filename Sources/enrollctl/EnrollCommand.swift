import EnrollAPIModel
import Foundation

/// `enroll`: a whole enrollment in three calls (start with the card, the live photo, complete).
enum EnrollCommand {
    static let words: Set<String> = ["enroll"]

    static func run(_ options: Invocation, _ api: API) {
        let reader = options.required("--reader", "enroll needs --reader NAME")
        let photoPath = options.required("--photo", "enroll needs --photo FILE (the live photo)")
        let key = CardCommands.accessKey(options, for: "enroll")
        let photo = readFile(photoPath)
        let csr = options.value("--csr").map { String(decoding: readFile($0), as: UTF8.self) }
        let account = options.value("--account")
        let started = decode(
            EnrollmentView.self,
            api.post(
                "/v1/enrollments",
                EnrollmentStartBody(
                    reader: reader, accessKey: key, purpose: account == nil ? "register" : "upgrade", accountId: account
                )))
        if !options.json {
            print(
                "card verified: \(started.givenNames) \(started.surname), \(started.documentType) "
                    + "\(started.issuingState), genuine: \(started.authenticity.genuine), session \(started.id)")
        }
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
}
