import EnrollAPIModel
import Secrets
import UnixHTTP
import Enrollment
import FaceMatch
import Foundation
import MRTD
import Store

extension EnrollmentCompleteBody {
    /// The CSR's bytes as given: PEM text stays text (the CA reads both), base64 DER is decoded.
    func csrBytes() throws(Problem) -> [UInt8]? {
        guard let csr else { return nil }
        if csr.contains("-----BEGIN") { return Array(csr.utf8) }
        guard let der = Data(base64Encoded: csr, options: .ignoreUnknownCharacters) else {
            throw Problem(.invalidCSR, detail: "csr must be PEM or base64 DER")
        }
        return [UInt8](der)
    }
}

extension LivenessBurstBody {
    /// The burst: the nonce from hex, each frame from base64 with its capture time; `invalid-burst` naming what is
    /// wrong (the frame count is checked before any frame is decoded).
    func burst(maximumFrames: Int) throws(Problem) -> LivenessBurst {
        guard let nonce = LivenessChallenge.nonce(fromHex: nonceHex) else {
            throw Problem(.invalidBurst, detail: "nonceHex must be the challenge's 32 hex digits")
        }
        guard frames.count <= maximumFrames else {
            throw Problem(LivenessError.tooManyFrames(count: frames.count, maximum: maximumFrames))
        }
        let precise = ISO8601DateFormatter()
        precise.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let whole = ISO8601DateFormatter()
        var decoded: [LivenessFrame] = []
        decoded.reserveCapacity(frames.count)
        for (index, frame) in frames.enumerated() {
            guard var image = Data(base64Encoded: frame.image, options: .ignoreUnknownCharacters) else {
                throw Problem(.invalidBurst, detail: "frame \(index): image is not base64")
            }
            guard let time = precise.date(from: frame.capturedAt) ?? whole.date(from: frame.capturedAt) else {
                throw Problem(
                    .invalidBurst,
                    detail: "frame \(index): capturedAt is not an ISO 8601 time "
                        + "(e.g. 2026-01-31T12:00:00.250Z)")
            }
            decoded.append(LivenessFrame(image: [UInt8](image), capturedAt: time))
            SecretBytes.wipe(&image)
        }
        return LivenessBurst(nonce: nonce, frames: decoded)
    }
}

func parseUUID(_ text: String?, field: String) throws(Problem) -> UUID {
    guard let text, let id = UUID(uuidString: text) else {
        throw Problem(.invalidID, detail: "\(field) must be a UUID")
    }
    return id
}

extension Daemon {
    /// The enrollment service, or 503 when the CA has not been initialised.
    func enrollmentService() throws(Problem) -> EnrollmentService {
        guard let service = enrollment else {
            throw Problem(.enrollmentUnavailable, detail: enrollmentUnavailableReason)
        }
        return service
    }

    /// The service, once a kiosk is known to act on a session it started itself (same uid); another uid's session
    /// is "not found" to a kiosk, so session ids seen in events reveal nothing. Operators and admins see every one.
    func enrollmentService(session id: UUID, _ context: RequestContext) throws(Problem) -> EnrollmentService {
        let service = try enrollmentService()
        if context.role == .kiosk, let owner = service.sessionOwner(id: id), owner != context.peer.uid {
            throw Problem(EnrollmentError.sessionNotFound(id.uuidString))
        }
        return service
    }

    func addEnrollmentRoutes(to router: inout Router) {
        router.add(
            Route(
                "POST", "/v1/enrollments",
                .respond { [unowned self] context throws(Problem) in
                    let body = try context.decodeBody(EnrollmentStartBody.self)
                    let purpose = EnrollmentPurpose(rawValue: body.purpose ?? "register")
                    guard let purpose else {
                        throw Problem(.invalidPurpose, detail: "purpose is register, upgrade or passcode-reset")
                    }
                    let accountID = try body.accountId.map { text throws(Problem) in
                        try parseUUID(text, field: "accountId")
                    }
                    let guardianID = try body.guardianAccountId.map { text throws(Problem) in
                        try parseUUID(text, field: "guardianAccountId")
                    }
                    let reader = try usableReader(body.reader, context)
                    let scanned = try cardScanner.keys(of: body.accessKey, mrzOnly: true)
                    var keys: [BACKey] = (scanned ?? []).compactMap { if case .mrz(let key) = $0 { key } else { nil } }
                    if scanned == nil { keys = [try body.accessKey.bacKey()] }
                    let actor = try context.actor()
                    let service = try enrollmentService()
                    return try cardScanner.firstAccepted(keys.map { AccessKey.mrz($0) }, fromPhoto: scanned != nil) {
                        access throws(Problem) in
                        guard case .mrz(let key) = access else { throw Problem(.accessProtocolUnsupported) }
                        let start = EnrollmentStart(
                            reader: reader, key: key, purpose: purpose, accountID: accountID,
                            callerUID: context.peer.uid, actor: actor, guardianAccountID: guardianID)
                        do throws(EnrollmentError) {
                            return .json(try service.start(start), status: 201)
                        } catch {
                            throw Problem(error)
                        }
                    }
                }))
        router.add(
            Route(
                "POST", "/v1/enrollments/{id}/upgrade",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "enrollment id")
                    let body = try context.decodeBody(EnrollmentUpgradeBody.self)
                    let actor = try context.actor()
                    let service = try enrollmentService(session: id, context)
                    do throws(EnrollmentError) {
                        return .json(try service.upgrade(id: id, token: body.upgradeToken, actor: actor))
                    } catch {
                        throw Problem(error)
                    }
                }))
        router.add(
            Route(
                "GET", "/v1/enrollments/{id}",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "enrollment id")
                    let service = try enrollmentService(session: id, context)
                    do throws(EnrollmentError) {
                        return .json(try service.session(id: id))
                    } catch {
                        throw Problem(error)
                    }
                }))
        router.add(
            Route(
                "POST", "/v1/enrollments/{id}/photo",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "enrollment id")
                    let body = try context.decodeBody(EnrollmentPhotoBody.self)
                    return try SecretBytes.withBase64Decoded(body.photo) { photo throws(Problem) in
                        guard let photo else { throw Problem(.invalidBody, detail: "photo must be base64") }
                        let service = try enrollmentService(session: id, context)
                        do throws(EnrollmentError) {
                            return .json(try service.submitPhoto(id: id, photo: photo))
                        } catch {
                            throw Problem(error)
                        }
                    }
                }))
        router.add(
            Route(
                "POST", "/v1/enrollments/{id}/liveness/challenge",
                .respond {
                    [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "enrollment id")
                    let service = try enrollmentService(session: id, context)
                    do throws(EnrollmentError) {
                        return .json(try service.issueLivenessChallenge(id: id), status: 201)
                    } catch {
                        throw Problem(error)
                    }
                }))
        router.add(
            Route(
                "POST", "/v1/enrollments/{id}/liveness",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "enrollment id")
                    var burst = try context.decodeBody(LivenessBurstBody.self)
                        .burst(maximumFrames: configuration.livenessConfiguration.limits.maximumFrames)
                    defer { for index in burst.frames.indices { SecretBytes.wipe(&burst.frames[index].image) } }
                    let service = try enrollmentService(session: id, context)
                    do throws(EnrollmentError) {
                        return .json(try service.submitLiveness(id: id, burst: burst))
                    } catch {
                        throw Problem(error)
                    }
                }))
        // Passcode reset by contact: a code to the account's verified contact, entered at completion.
        router.add(
            Route(
                "POST", "/v1/enrollments/{id}/contact-code",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "enrollment id")
                    let service = try enrollmentService(session: id, context)
                    do throws(EnrollmentError) {
                        return .json(try service.sendPasscodeResetCode(id: id))
                    } catch {
                        throw Problem(error)
                    }
                }))
        router.add(
            Route(
                "POST", "/v1/enrollments/{id}/complete",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "enrollment id")
                    let body = try context.decodeBody(EnrollmentCompleteBody.self)
                    let csr = try body.csrBytes()
                    let service = try enrollmentService(session: id, context)
                    do throws(EnrollmentError) {
                        try IdentityLifecycle.validateContact(body.contact ?? [:])
                        let options = CompletionOptions(
                            deviceID: body.deviceId, devicePublicKey: body.devicePublicKey,
                            deviceLabel: body.deviceLabel, passcode: body.passcode, contactCode: body.contactCode)
                        return .json(
                            try service.complete(id: id, csr: csr, contact: body.contact ?? [:], options: options))
                    } catch {
                        throw Problem(error)
                    }
                }))
    }
}
