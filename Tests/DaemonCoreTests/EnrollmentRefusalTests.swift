import DaemonCore
import EnrollAPIModel
import FaceMatch
import Foundation
import MRTD
import OpenSSLKit
import UnixHTTP
import VirtualCard
import XCTest

/// What the enrollment routes refuse: the card and the document at the start, steps out of order, on another
/// kiosk's or an expired session, faces that do not match, CSRs the CA does not sign, a guardian who is not there.
final class EnrollmentRefusalTests: XCTestCase {
    static let start = "POST /v1/enrollments"
    static let view = "GET /v1/enrollments/{id}"
    static let photo = "POST /v1/enrollments/{id}/photo"
    static let complete = "POST /v1/enrollments/{id}/complete"
    static let guardian = "POST /v1/enrollments/{id}/guardian"
    static let guardianPhoto = "POST /v1/enrollments/{id}/guardian/photo"
    static let upgrade = "POST /v1/enrollments/{id}/upgrade"

    /// Starts a session for `holder` with `body` changed by `change`.
    static func begin(
        _ b: RefusalBench, _ holder: TestHolder, headers: [(String, String)] = [],
        _ change: (inout EnrollmentStartBody) -> Void = { _ in }
    ) throws -> HTTPResponse {
        var body = EnrollmentStartBody(reader: InProcessDaemon.reader, accessKey: holder.accessKey)
        change(&body)
        return try b.post("/v1/enrollments", body, headers: headers)
    }

    static var starting: [Refusal] {
        CardAndFaceRefusalTests.cardFailures(start) { b, _, reader, key in
            try b.post("/v1/enrollments", EnrollmentStartBody(reader: reader, accessKey: key))
        } + [
            Refusal(start, .accessKeyUnreadable, "a photo with no card as the access key") { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder)
                return try begin(b, holder) {
                    $0.accessKey = AccessKeyRequest(scan: try? CardAndFaceRefusalTests.noCardPhoto())
                }
            },
            Refusal(start, .accessProtocolUnsupported, "a photo of a card front (a CAN) to enroll") { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder)
                let front = try CardScanRouteTests.photo(layout: "cardFront")
                return try begin(b, holder) { $0.accessKey = AccessKeyRequest(scan: front) }
            },
            Refusal(start, .invalidPurpose, "purpose delete") { b in
                try begin(b, b.holder()) { $0.purpose = "delete" }
            },
            Refusal(start, .invalidID, "an accountId that is not a UUID") { b in
                try begin(b, b.holder()) { ($0.purpose, $0.accountId) = ("upgrade", "account-1") }
            },
            Refusal(start, .invalidID, "a guardianAccountId that is not a UUID") { b in
                try begin(b, b.holder()) { $0.guardianAccountId = "mum" }
            },
            Refusal(start, .accountRequired, "an upgrade without the account") { b in
                let holder = try b.account.holder
                try b.daemon.insertCard(holder)
                return try begin(b, holder) { $0.purpose = "upgrade" }
            },
            Refusal(start, .accountRequired, "a passcode reset without the account") { b in
                let holder = try b.account.holder
                try b.daemon.insertCard(holder)
                return try begin(b, holder) { $0.purpose = "passcode-reset" }
            },
            Refusal(start, .identityMismatch, "an upgrade of another holder's account") { b in
                let holder = try b.plainAccount.holder
                try b.daemon.insertCard(holder)
                let theirs = try b.accountID
                return try begin(b, holder) { ($0.purpose, $0.accountId) = ("upgrade", theirs) }
            },
            Refusal(start, .identityMismatch, "an upgrade with the card of a holder without an account") { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder)
                let theirs = try b.accountID
                return try begin(b, holder) { ($0.purpose, $0.accountId) = ("upgrade", theirs) }
            },
            Refusal(start, .holderMismatch, "an upgrade with a card of the account's number, born another day") { b in
                var holder = try b.account.holder
                holder.birthDate = "900101"
                try b.daemon.insertCard(holder)
                let theirs = try b.accountID
                return try begin(b, holder) { ($0.purpose, $0.accountId) = ("upgrade", theirs) }
            },
            Refusal(start, .identityAlreadyEnrolled, "registering an enrolled identity again") { b in
                let holder = try b.account.holder
                try b.daemon.insertCard(holder)
                let events = b.daemon.daemon.events.subscribe()
                defer { events.cancel() }
                let refused = try begin(b, holder)
                let account = try b.accountID
                XCTAssertFalse(
                    String(decoding: refused.body, as: UTF8.self).contains(account),
                    "the kiosk's refusal names no account")
                var seen: [DaemonEvent] = []
                while case let .event(event) = events.next(timeout: 0.05) { seen.append(event) }
                XCTAssertFalse(seen.isEmpty, "the read and the refusal are published")
                let stream = String(decoding: try JSONEncoder().encode(seen), as: UTF8.self)
                XCTAssertFalse(stream.contains(account), "the kiosk's event stream names no account: \(stream)")
                return refused
            },
            Refusal(start, .accountCancelled, "registering a cancelled identity") { b in
                let holder = try b.cancelledAccount.holder
                try b.daemon.insertCard(holder)
                return try begin(b, holder)
            },
            Refusal(start, .documentNotGenuine, "the portrait altered after EF.SOD was signed") { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder) { $0.alteredAfterSigning = .dg2 }
                return try begin(b, holder)
            },
            Refusal(start, .documentNotGenuine, "EF.SOD signed by a signer no trusted CSCA issued") { b in
                let holder = b.holder()
                let stranger = try TestPKI()
                try b.daemon.insertCard(holder) { $0.documentSigner = stranger.documentSigner }
                return try begin(b, holder)
            },
            Refusal(start, .documentNotGenuine, "no EF.SOD signature at all") { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder) { $0.documentSigner = nil }
                return try begin(b, holder)
            },
            Refusal(start, .documentNotGenuine, "a UTO document whose signer and CSCA are of another state") { b in
                let holder = b.holder()
                var options = TestPKI.Options()
                options.country = "XY"
                let foreign = try TestPKI(options: options)
                try b.daemon.trustAlso(foreign)
                try b.daemon.insertCard(holder) { $0.documentSigner = foreign.documentSigner }
                let refused = try begin(b, holder)
                let detail = (try? JSONDecoder().decode(Problem.self, from: Data(refused.body)))?.detail ?? ""
                XCTAssertTrue(detail.contains("UTO") && detail.contains("XY"), "names both countries: \(detail)")
                return refused
            },
            Refusal(start, .dataGroupWithheld, "a chip withholding the DG11 its EF.SOD lists") { b in
                let holder = b.holder()
                try b.daemon.insertCard(
                    holder, configure: { $0.dg11 = DG11(personalNumber: "1234567890") },
                    adjust: { $0.files[.dg11] = nil })
                let refused = try begin(b, holder)
                let detail = (try? JSONDecoder().decode(Problem.self, from: Data(refused.body)))?.detail ?? ""
                XCTAssertTrue(detail.contains("DG11"), detail)
                return refused
            },
            Refusal(
                start, .accessPolicyRefused, "a BAC-only chip where readers.require_pace = always",
                on: .paceRequired
            ) { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder)
                let refused = try begin(b, holder)
                let detail = (try? JSONDecoder().decode(Problem.self, from: Data(refused.body)))?.detail ?? ""
                XCTAssertTrue(detail.contains("require_pace = always"), detail)
                return refused
            },
            Refusal(start, .stateNotAccepted, "a UTO document where trust.accepted_states = D", on: .onlyGerman) { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder)
                return try begin(b, holder)
            },
            Refusal(start, .documentExpired, "a document that expired in 2020") { b in
                var holder = b.holder()
                holder.expiryDate = "200101"
                try b.daemon.insertCard(holder)
                return try begin(b, holder)
            },
            Refusal(start, .documentExpired, "a document expiring tomorrow, a week later on the test clock") { b in
                var holder = b.holder()
                let tomorrow = MRZDate.today(now: b.daemon.clock.now.addingTimeInterval(86_400))
                holder.expiryDate = String(format: "%02d%02d%02d", tomorrow.year % 100, tomorrow.month, tomorrow.day)
                try b.daemon.insertCard(holder)
                b.daemon.clock.advance(7 * 86_400)
                defer { b.daemon.clock.advance(-7 * 86_400) }
                return try begin(b, holder)
            },
            Refusal(start, .invalidDocumentDates, "a chip whose MRZ says born on 31 February") { b in
                let holder = b.holder(birthDate: "800231")
                try b.daemon.insertCard(holder)
                return try begin(b, holder)
            },
            Refusal(start, .invalidDocumentDates, "a chip whose MRZ expires in month 13") { b in
                var holder = b.holder()
                holder.expiryDate = "341301"
                try b.daemon.insertCard(holder)
                return try begin(b, holder)
            },
            Refusal(start, .guardianRequired, "a child of 10 without a guardian") { b in
                let child = b.holder("John_Simm", birthDate: "160101")
                try b.daemon.insertCard(child)
                return try begin(b, child)
            },
            Refusal(start, .guardianNotEligible, "a guardian account that does not exist") { b in
                let child = b.holder("John_Simm", birthDate: "160101")
                try b.daemon.insertCard(child)
                return try begin(b, child) { $0.guardianAccountId = UUID().uuidString }
            },
            Refusal(start, .guardianNotEligible, "a cancelled guardian") { b in
                let child = b.holder("John_Simm", birthDate: "160101")
                try b.daemon.insertCard(child)
                let cancelled = try b.cancelledAccount.outcome.accountID
                return try begin(b, child) { $0.guardianAccountId = cancelled }
            },
            Refusal(start, .invalidChannel, "an X-Enrolld-Channel with a space") { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder)
                return try begin(b, holder, headers: [("X-Enrolld-Channel", "kiosk 7")])
            },
            Refusal(start, .storageError, "the database failing") { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder)
                try b.daemon.store.fail(true)
                defer { try? b.daemon.store.fail(false) }
                return try begin(b, holder)
            },
            Refusal(start, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder)
                let refused = try begin(b, holder)
                let detail = (try? JSONDecoder().decode(Problem.self, from: Data(refused.body)))?.detail ?? ""
                XCTAssertTrue(detail.contains("enrolld ca init"), "the CA's own reason (ca-not-initialised): \(detail)")
                return refused
            },
        ]
    }

    static let viewing: [Refusal] = [
        Refusal(view, .enrollmentNotFound, "a session that never was") { b in
            b.daemon.call("GET", "/v1/enrollments/\(UUID().uuidString)")
        },
        Refusal(view, .enrollmentNotFound, "another kiosk's session") { b in
            let session = try b.session()
            return b.daemon.call("GET", "/v1/enrollments/\(session)", as: .otherKiosk)
        },
        Refusal(view, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            b.daemon.call("GET", "/v1/enrollments/\(UUID().uuidString)")
        },
    ]

    static let photographing: [Refusal] = [
        Refusal(photo, .invalidBody, "a photo that is not base64") { b in
            try b.post("/v1/enrollments/\(try b.session())/photo", EnrollmentPhotoBody(photo: "abc"))
        },
        Refusal(photo, .enrollmentNotFound, "a session that never was") { b in
            try b.daemon.photo(UUID().uuidString, of: "John_Schneider")
        },
        Refusal(photo, .enrollmentNotFound, "another kiosk's session") { b in
            try b.daemon.photo(try b.session(), of: "John_Schneider", as: .otherKiosk)
        },
        Refusal(photo, .enrollmentExpired, "a session past enrollment.session_timeout_seconds on the test clock") { b in
            let session = try b.session()
            b.daemon.clock.advance(301)
            defer { b.daemon.clock.advance(-301) }
            return try b.daemon.photo(session, of: "John_Schneider")
        },
        Refusal(photo, .enrollmentWrongState, "a second photo after the face matched") { b in
            try b.daemon.photo(try b.matchedSession(), of: "John_Schneider")
        },
        Refusal(photo, .enrollmentWrongState, "a photo for a completed session") { b in
            let session = try b.session()
            try b.daemon.require(b.daemon.complete(session), 200)
            return try b.daemon.photo(session, of: "John_Schneider")
        },
        Refusal(photo, .enrollmentBusy, "a photo while another photo of the session is compared") { b in
            let session = try b.session()
            return try b.whileComparing(session) { try b.daemon.photo(session, of: "John_Schneider") }
        },
        Refusal(photo, .noPortrait, "a chip without a portrait") { b in
            let holder = b.holder()
            try b.daemon.insertCard(holder) { $0.portraits = [] }
            let session = try b.daemon.openSession(holder, insert: false)
            return try b.daemon.photo(session, of: holder.person)
        },
        Refusal(photo, .noFace, "a photo without a face") { b in
            try b.post(
                "/v1/enrollments/\(try b.session())/photo",
                EnrollmentPhotoBody(photo: Data("an empty chair".utf8).base64EncodedString()))
        },
        Refusal(photo, .severalFaces, "two people in front of the camera") { b in
            let photo = CardAndFaceRefusalTests.failing(
                b,
                .ambiguousFaces(
                    .probe, count: 2, largestSize: 200,
                    secondSize: 180))
            return try b.post(
                "/v1/enrollments/\(try b.session())/photo",
                EnrollmentPhotoBody(photo: Data(photo).base64EncodedString()))
        },
        Refusal(photo, .faceMismatch, "another person's face") { b in
            try b.daemon.photo(try b.session(), of: "John_Savage")
        },
        Refusal(photo, .attemptsExhausted, "a third face that does not match") { b in
            let session = try b.session()
            for _ in 0..<2 { try b.daemon.require(b.daemon.photo(session, of: "John_Savage"), 422) }
            return try b.daemon.photo(session, of: "John_Savage")
        },
        Refusal(photo, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            try b.daemon.photo(UUID().uuidString, of: "John_Schneider")
        },
    ]

    static let completing: [Refusal] = [
        Refusal(complete, .invalidCSR, "a CSR that is neither PEM nor base64") { b in
            try b.complete(try b.matchedSession(), EnrollmentCompleteBody(csr: "abc"))
        },
        Refusal(complete, .invalidContact, "a contact value of 201 characters, as PUT .../contact refuses it") { b in
            try b.complete(
                try b.matchedSession(),
                EnrollmentCompleteBody(contact: ["email": String(repeating: "e", count: 201)]))
        },
        Refusal(complete, .invalidContact, "a contact value with a line feed") { b in
            try b.complete(try b.matchedSession(), EnrollmentCompleteBody(contact: ["phone": "1\n<5>forged"]))
        },
        Refusal(complete, .enrollmentNotFound, "a session that never was") { b in
            try b.daemon.complete(UUID().uuidString)
        },
        Refusal(complete, .enrollmentNotFound, "another kiosk's session") { b in
            try b.daemon.complete(try b.session(), as: .otherKiosk)
        },
        Refusal(complete, .enrollmentExpired, "a session past its deadline on the test clock") { b in
            let session = try b.matchedSession()
            b.daemon.clock.advance(301)
            defer { b.daemon.clock.advance(-301) }
            return try b.daemon.complete(session, csr: try InProcessDaemon.makeCSR())
        },
        Refusal(complete, .enrollmentWrongState, "a CSR before the face matched") { b in
            try b.daemon.complete(try b.session(), csr: try InProcessDaemon.makeCSR())
        },
        Refusal(complete, .enrollmentWrongState, "completing a completed session") { b in
            let session = try b.session()
            try b.daemon.require(b.daemon.complete(session), 200)
            return try b.daemon.complete(session)
        },
        Refusal(complete, .enrollmentWrongState, "completing a session the attempts ended") { b in
            let session = try b.session()
            for _ in 0..<3 { _ = try b.daemon.photo(session, of: "John_Savage") }
            return try b.daemon.complete(session)
        },
        Refusal(complete, .enrollmentWrongState, "a passcode reset before the face matched") { b in
            let holder = try b.account.holder
            let session = try b.daemon.openSession(holder, purpose: "passcode-reset", accountID: try b.accountID)
            return try b.complete(session, EnrollmentCompleteBody(passcode: "1111"))
        },
        Refusal(complete, .enrollmentBusy, "completing while the session's photo is compared") { b in
            let session = try b.session()
            return try b.whileComparing(session) { try b.daemon.complete(session) }
        },
        Refusal(complete, .csrRequired, "an upgrade without a CSR") { b in
            let holder = try b.account.holder
            let session = try b.daemon.matchedSession(holder, purpose: "upgrade", accountID: try b.accountID)
            return try b.daemon.complete(session)
        },
        Refusal(complete, .underAge, "a holder of 16 asks for the signing tier") { b in
            try b.daemon.complete(try b.matchedSession(birthDate: "100101"), csr: try InProcessDaemon.makeCSR())
        },
        Refusal(complete, .csrMalformed, "base64 of something that is no CSR") { b in
            try b.complete(
                try b.matchedSession(),
                EnrollmentCompleteBody(csr: Data("hello".utf8).base64EncodedString()))
        },
        Refusal(complete, .csrMalformed, "a PEM block of no CSR") { b in
            try b.complete(
                try b.matchedSession(),
                EnrollmentCompleteBody(
                    csr: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"))
        },
        Refusal(complete, .csrTooLarge, "a CSR of 17 KiB") { b in
            try b.complete(
                try b.matchedSession(),
                EnrollmentCompleteBody(
                    csr: "-----BEGIN CERTIFICATE REQUEST-----\n" + String(repeating: "A", count: 17 * 1024)))
        },
        Refusal(complete, .csrProofOfPossession, "a CSR whose signature does not verify") { b in
            try b.complete(
                try b.matchedSession(),
                EnrollmentCompleteBody(csr: try RefusalBench.csrWithoutProofOfPossession()))
        },
        Refusal(complete, .csrWeakKey, "an RSA-1024 key") { b in
            try b.complete(try b.matchedSession(), EnrollmentCompleteBody(csr: try RefusalBench.csr(.rsa(bits: 1024))))
        },
        Refusal(complete, .csrWeakKey, "a P-224 key") { b in
            try b.complete(
                try b.matchedSession(),
                EnrollmentCompleteBody(csr: try RefusalBench.csr(.ec(curve: "P-224"))))
        },
        Refusal(complete, .csrUnsupportedCurve, "a secp256k1 key") { b in
            try b.complete(
                try b.matchedSession(),
                EnrollmentCompleteBody(csr: try RefusalBench.csr(.ec(curve: "secp256k1"))))
        },
        Refusal(complete, .csrUnsupportedKey, "an Ed25519 key") { b in
            try b.complete(try b.matchedSession(), EnrollmentCompleteBody(csr: RefusalBench.ed25519CSR))
        },
        Refusal(complete, .guardianNotPresent, "a child's registration before the guardian's card was read") { b in
            try b.daemon.complete(try b.childSession())
        },
        Refusal(complete, .invalidDeviceID, "a device id with a space") { b in
            try b.complete(try b.session(), EnrollmentCompleteBody(deviceId: "my phone"))
        },
        Refusal(complete, .invalidDeviceLabel, "a device label of two lines") { b in
            try b.complete(try b.session(), EnrollmentCompleteBody(deviceId: "phone-a", deviceLabel: "a\nb"))
        },
        Refusal(complete, .invalidDeviceKey, "a device key that is not a public key") { b in
            try b.complete(
                try b.matchedSession(),
                EnrollmentCompleteBody(
                    csr: try InProcessDaemon.makeCSR(), deviceId: "phone-a",
                    devicePublicKey: "-----BEGIN PUBLIC KEY-----"))
        },
        Refusal(complete, .deviceNotBound, "a device never bound, without its key") { b in
            try b.complete(
                try b.matchedSession(),
                EnrollmentCompleteBody(
                    csr: try InProcessDaemon.makeCSR(),
                    deviceId: "phone-z"))
        },
        Refusal(complete, .invalidPasscode, "a passcode reset to three digits") { b in
            let holder = try b.account.holder
            let session = try b.daemon.matchedSession(holder, purpose: "passcode-reset", accountID: try b.accountID)
            return try b.complete(session, EnrollmentCompleteBody(passcode: "123"))
        },
        Refusal(complete, .accountNotNormal, "an upgrade whose account an operator cancelled meanwhile") { b in
            let (holder, outcome) = try b.daemon.newAccount("John_Shimkus", signing: false)
            let session = try b.daemon.matchedSession(holder, purpose: "upgrade", accountID: outcome.accountID)
            try b.daemon.setStatus(outcome.accountID, "cancelled")
            return try b.daemon.complete(session, csr: try InProcessDaemon.makeCSR())
        },
        Refusal(complete, .identityAlreadyEnrolled, "the second of two sessions of one identity") { b in
            let holder = b.holder()
            let first = try b.daemon.openSession(holder)
            let second = try b.daemon.openSession(holder, insert: false)
            try b.daemon.require(b.daemon.complete(first), 200)
            return try b.daemon.complete(second)
        },
        Refusal(complete, .invalidSubject, "a chip without a name to put in the certificate") { b in
            var holder = b.holder()
            (holder.surname, holder.givenNames) = ("", "")
            let session = try b.daemon.openSession(holder)
            try b.daemon.require(b.daemon.photo(session, of: holder.person), 200)
            try b.daemon.require(b.daemon.liveness(session, of: holder.person).answer, 200)
            return try b.daemon.complete(session, csr: try InProcessDaemon.makeCSR())
        },
        Refusal(
            complete, .documentExpired, "a signing certificate on an expired document the policy let through",
            on: .expiredDocumentsAllowed
        ) { b in
            var holder = b.holder()
            holder.expiryDate = "200101"
            let session = try b.daemon.openSession(holder)
            try b.daemon.require(b.daemon.photo(session, of: holder.person), 200)
            try b.daemon.require(b.daemon.liveness(session, of: holder.person).answer, 200)
            return try b.daemon.complete(session, csr: try InProcessDaemon.makeCSR())
        },
        Refusal(complete, .caCertificateExpired, "the issuing CA's certificate has expired", on: .expiredCA) { b in
            try b.daemon.complete(try b.matchedSession(), csr: try InProcessDaemon.makeCSR())
        },
        Refusal(complete, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
            try b.daemon.complete(UUID().uuidString)
        },
    ]

    static var guarding: [Refusal] {
        // The child's card is read on the second reader, the guardian's on the first (where the faults are).
        CardAndFaceRefusalTests.cardFailures(
            guardian,
            prepare: { b in
                try b.daemon.openSession(
                    b.holder("John_Simm", birthDate: "160101"),
                    guardian: try b.plainAccount.outcome.accountID,
                    reader: InProcessDaemon.secondReader)
            }
        ) { b, session, reader, key in
            try b.post("/v1/enrollments/\(session ?? "")/guardian", GuardianCardBody(reader: reader, accessKey: key))
        } + [
            Refusal(guardian, .enrollmentNotFound, "a session that never was") { b in
                try b.guardian(UUID().uuidString, try b.plainAccount.holder)
            },
            Refusal(guardian, .enrollmentNotFound, "another kiosk's session") { b in
                try b.daemon.insertCard(try b.plainAccount.holder, in: InProcessDaemon.secondReader)
                return try b.daemon.call(
                    "POST", "/v1/enrollments/\(try b.childSession())/guardian",
                    json: GuardianCardBody(
                        reader: InProcessDaemon.secondReader,
                        accessKey: try b.plainAccount.holder.accessKey),
                    as: .otherKiosk)
            },
            Refusal(guardian, .enrollmentExpired, "a session past its deadline") { b in
                let session = try b.childSession()
                b.daemon.clock.advance(301)
                defer { b.daemon.clock.advance(-301) }
                return try b.guardian(session, try b.plainAccount.holder)
            },
            Refusal(guardian, .enrollmentWrongState, "a session already completed") { b in
                let session = try b.childSession()
                let guardian = try b.plainAccount.holder
                try b.daemon.require(b.guardian(session, guardian), 200)
                try b.daemon.require(b.seeGuardian(session, guardian.person), 200)
                try b.daemon.require(b.daemon.complete(session), 200)
                return try b.guardian(session, guardian)
            },
            Refusal(complete, .guardianNotSeen, "the guardian's card read, the guardian's face never matched") { b in
                let session = try b.childSession()
                try b.daemon.require(b.guardian(session, try b.plainAccount.holder), 200)
                return try b.daemon.complete(session)
            },
            Refusal(guardianPhoto, .faceMismatch, "the child in front of the camera for the guardian") { b in
                let session = try b.childSession()
                try b.daemon.require(b.guardian(session, try b.plainAccount.holder), 200)
                return try b.seeGuardian(session, "John_Simm")
            },
            Refusal(guardianPhoto, .guardianNotPresent, "the guardian's photo before the guardian's card") { b in
                try b.seeGuardian(try b.childSession(), "John_Savage")
            },
            Refusal(guardianPhoto, .guardianNotNeeded, "an adult's session") { b in
                try b.seeGuardian(try b.session(), "John_Savage")
            },
            Refusal(upgrade, .upgradeTokenInvalid, "a token on a session that was not refused as enrolled") { b in
                try b.post(
                    "/v1/enrollments/\(try b.session())/upgrade",
                    EnrollmentUpgradeBody(upgradeToken: String(repeating: "A", count: 43)))
            },
            Refusal(upgrade, .enrollmentNotFound, "a session that never was") { b in
                try b.post(
                    "/v1/enrollments/\(UUID().uuidString)/upgrade",
                    EnrollmentUpgradeBody(upgradeToken: String(repeating: "A", count: 43)))
            },
            Refusal(guardian, .enrollmentBusy, "a guardian card while the child's photo is compared") { b in
                let session = try b.childSession()
                let guardian = try b.plainAccount.holder
                try b.daemon.insertCard(guardian, in: InProcessDaemon.secondReader)
                return try b.whileComparing(session) { try b.guardian(session, guardian, insert: false) }
            },
            Refusal(guardian, .guardianNotNeeded, "an adult's session") { b in
                try b.guardian(try b.session(), try b.plainAccount.holder)
            },
            Refusal(guardian, .guardianMismatch, "another adult's card") { b in
                try b.guardian(try b.childSession(), b.holder("John_Savage"))
            },
            Refusal(guardian, .guardianNotEligible, "a guardian whose account was invalidated after the start") { b in
                let (guardian, outcome) = try b.daemon.newAccount("John_Salley", signing: false)
                let session = try b.daemon.openSession(
                    b.holder("John_Simm", birthDate: "160101"),
                    guardian: outcome.accountID)
                try b.daemon.setStatus(outcome.accountID, "invalid")
                return try b.guardian(session, guardian)
            },
            Refusal(guardian, .documentNotGenuine, "the guardian's card altered after signing") { b in
                let session = try b.childSession()
                let guardian = try b.plainAccount.holder
                try b.daemon.insertCard(guardian, in: InProcessDaemon.secondReader) { $0.alteredAfterSigning = .dg2 }
                return try b.guardian(session, guardian, insert: false)
            },
            Refusal(guardian, .documentExpired, "the guardian's card expired") { b in
                let session = try b.childSession()
                var guardian = try b.plainAccount.holder
                guardian.expiryDate = "200101"
                return try b.guardian(session, guardian)
            },
            Refusal(guardian, .invalidDocumentDates, "the guardian's chip says born on 30 February") { b in
                try b.guardian(try b.childSession(), b.holder(birthDate: "750230"))
            },
            Refusal(guardian, .invalidChannel, "an X-Enrolld-Channel of 65 characters") { b in
                try b.post(
                    "/v1/enrollments/\(try b.childSession())/guardian",
                    GuardianCardBody(
                        reader: InProcessDaemon.secondReader,
                        accessKey: try b.plainAccount.holder.accessKey),
                    headers: [("X-Enrolld-Channel", String(repeating: "k", count: 65))])
            },
            Refusal(guardian, .enrollmentUnavailable, "no CA set up", on: .noCA) { b in
                try b.post(
                    "/v1/enrollments/\(UUID().uuidString)/guardian",
                    GuardianCardBody(reader: InProcessDaemon.secondReader, accessKey: b.holder().accessKey))
            },
        ]
    }

    static var refusals: [Refusal] { starting + viewing + photographing + completing + guarding }

    func testStartingRefusesTheCardTheDocumentTheIdentityAndThePurpose() {
        RefusalRun.check(Self.starting)
    }

    func testViewingRefusesUnknownAndOtherKiosksSessions() {
        RefusalRun.check(Self.viewing)
    }

    func testThePhotoStepRefusesOutOfOrderBusyExpiredAndUnmatchedFaces() {
        RefusalRun.check(Self.photographing)
    }

    func testCompletingRefusesOutOfOrderCSRsDevicesAgeAndTheCA() {
        RefusalRun.check(Self.completing)
    }

    func testTheGuardianStepRefusesCardsThatAreNotTheGuardiansAndSessionsThatNeedNone() {
        RefusalRun.check(Self.guarding)
    }
}
