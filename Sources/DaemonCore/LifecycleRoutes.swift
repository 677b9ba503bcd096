import EnrollAPIModel
import UnixHTTP
import Enrollment
import Foundation
import Store

/// The usage log's actor: the role the caller acts in (see `RoutePermissions`), its SO_PEERCRED uid, and the kiosk
/// or counter it names in `X-Enrolld-Channel` (a label, default `unknown`; it grants nothing).
extension RequestContext {
    func actor() throws(Problem) -> UsageActor {
        let channel = request.header("X-Enrolld-Channel") ?? "unknown"
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:/")
        guard (1...64).contains(channel.count), channel.allSatisfy({ allowed.contains($0) }) else {
            throw Problem(.invalidChannel, detail: "X-Enrolld-Channel is 1 to 64 letters, digits or -_.:/")
        }
        return UsageActor(role: role.rawValue, uid: peer.uid, channel: channel)
    }
}

/// ISO 8601 query values: full timestamps or dates (midnight UTC).
func parseTime(_ text: String?, field: String) throws(Problem) -> Date? {
    guard let text else { return nil }
    if let date = ISO8601DateFormatter().date(from: text) { return date }
    let day = ISO8601DateFormatter()
    day.formatOptions = [.withFullDate]
    if let date = day.date(from: text) { return date }
    throw Problem(.invalidTime, detail: "\(field) must be an ISO 8601 time such as 2026-01-31T12:00:00Z")
}

extension Daemon {
    /// A kiosk acting for a holder proves the holder is present for `accountID`: `X-Enrolld-Enrollment` names a
    /// card-and-face session of the account that this kiosk (same uid) completed in the last minutes, or
    /// `X-Enrolld-Passcode` is the holder's service passcode (an entry like any other: failed ones count towards the
    /// account's lock and the kiosk's budget).
    ///
    /// Every failed proof answers the same `holder-proof-failed`, whatever the cause (no such account, a cancelled
    /// one, no passcode set, a wrong or locked one, a session of another account, uid or age), so a kiosk learns
    /// nothing about accounts it cannot prove; the log line says which it was. Malformed headers, a kiosk out of
    /// passcode entries and failures of ours keep their own answers.
    func proveHolder(_ accountID: UUID, _ context: RequestContext) throws(Problem) {
        let enrollment = context.request.header("X-Enrolld-Enrollment")
        let passcode = context.request.header("X-Enrolld-Passcode")
        guard enrollment != nil || passcode != nil else {
            throw Problem(
                .holderProofRequired,
                detail: "a kiosk reads or changes an account only for its holder: send X-Enrolld-Enrollment "
                    + "(a card-and-face session of this account completed in the last minutes) or "
                    + "X-Enrolld-Passcode (the holder's service passcode)")
        }
        let service = try lifecycleService()
        let enrollmentID = try enrollment.map { text throws(Problem) in
            try parseUUID(text, field: "X-Enrolld-Enrollment")
        }
        let actor = try context.actor()
        do throws(Problem) {
            if let enrollmentID {
                try requireOwnSession(enrollmentID, context)
                do throws(EnrollmentError) {
                    try service.proveRecentReverification(accountID: accountID, enrollmentID: enrollmentID)
                } catch {
                    throw Problem(error)
                }
            } else if let passcode {
                do throws(EnrollmentError) {
                    let check = try service.verifyPasscode(accountID: accountID, passcode: passcode, actor: actor)
                    guard check.isOK else { throw IdentityLifecycle.refusal(check, for: actor) }
                } catch {
                    throw Problem(error)
                }
            }
        } catch {
            let own: [ProblemCode] = [.passcodeEntriesExhausted, .passcodeDisabled, .invalidID, .invalidChannel]
            guard error.status < 500, let kind = error.kind, !own.contains(kind) else { throw error }
            Log.info("holder proof failed: \(context.role.rawValue) uid \(context.peer.uid): \(error.code)")
            throw Problem(IdentityLifecycle.holderProofFailed)
        }
    }

    /// Session ids travel in events: for a kiosk, only a session it ran itself (same uid) proves its holder present.
    func requireOwnSession(_ enrollmentID: UUID, _ context: RequestContext) throws(Problem) {
        guard context.role == .kiosk, let owner = enrollment?.sessionOwner(id: enrollmentID), owner != context.peer.uid
        else { return }
        Log.info("holder proof failed: kiosk uid \(context.peer.uid) named a session another uid ran")
        throw Problem(IdentityLifecycle.holderProofFailed)
    }

    func lifecycleService() throws(Problem) -> IdentityLifecycle {
        guard let lifecycle else {
            throw Problem(.enrollmentUnavailable, detail: enrollmentUnavailableReason)
        }
        return lifecycle
    }

    /// Runs a lifecycle operation, turning its errors into problems.
    private func lifecycleCall<T>(_ body: (IdentityLifecycle) throws(EnrollmentError) -> T) throws(Problem) -> T {
        let service = try lifecycleService()
        do throws(EnrollmentError) {
            return try body(service)
        } catch {
            throw Problem(error)
        }
    }

    func addLifecycleRoutes(to router: inout Router) {
        // Devices.
        router.add(
            Route(
                "GET", "/v1/accounts/{id}/devices",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    return .json(
                        try lifecycleCall { service throws(EnrollmentError) in try service.devices(accountID: id) })
                }))
        router.add(
            Route(
                "POST", "/v1/accounts/{id}/devices",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let body = try context.decodeBody(DeviceBindBody.self)
                    let actor = try context.actor()
                    let outcome = try lifecycleCall { service throws(EnrollmentError) in
                        try service.bindDevice(
                            accountID: id, deviceID: body.deviceId, publicKey: body.publicKey,
                            label: body.label ?? "", actor: actor)
                    }
                    events.publish(DaemonEvent(type: .deviceBound))
                    for serial in outcome.revokedSerials {
                        events.publish(.certificateRevoked(serial: serial, reason: RevocationReason.superseded.name))
                    }
                    return .json(outcome, status: 201)
                }))
        router.add(
            Route(
                "DELETE", "/v1/accounts/{id}/devices/{device}",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let body =
                        context.request.body.isEmpty
                        ? DeviceUnbindBody() : try context.decodeBody(DeviceUnbindBody.self)
                    let enrollmentID = try body.enrollmentId.map { text throws(Problem) in
                        try parseUUID(text, field: "enrollmentId")
                    }
                    if let enrollmentID { try requireOwnSession(enrollmentID, context) }
                    let actor = try context.actor()
                    let device = context.parameters["device"] ?? ""
                    let view = try lifecycleCall { service throws(EnrollmentError) in
                        try service.unbindDevice(
                            accountID: id, deviceID: device, passcode: body.passcode,
                            enrollmentID: enrollmentID, actor: actor)
                    }
                    events.publish(DaemonEvent(type: .deviceUnbound))
                    return .json(view)
                }))

        // Contact details: never touch the device binding.
        router.add(
            Route(
                "PUT", "/v1/accounts/{id}/contact",
                .respond { [unowned self] context throws(Problem) in
                    struct Body: Decodable { var contact: [String: String] }
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let body = try context.decodeBody(Body.self)
                    let actor = try context.actor()
                    try lifecycleCall { service throws(EnrollmentError) in
                        try service.updateContact(accountID: id, contact: body.contact, actor: actor)
                    }
                    return HTTPResponse(status: 204)
                }))

        // Activation through the contact: the code releases the certificate's hold.
        router.add(
            Route(
                "POST", "/v1/accounts/{id}/activate",
                .respond { [unowned self] context throws(Problem) in
                    struct Body: Decodable { var code: String }
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let body = try context.decodeBody(Body.self)
                    guard body.code.count <= 16 else {
                        throw Problem(.activationCodeWrong, detail: "an activation code is 6 to 8 digits")
                    }
                    let actor = try context.actor()
                    try lifecycleCall { service throws(EnrollmentError) in
                        try service.activate(accountID: id, code: body.code, actor: actor)
                    }
                    Log.notice("account \(id.uuidString) activated by \(actor.role) uid \(actor.uid)")
                    return .json(ActivationView(accountId: id.uuidString, activation: ActivationState.active.rawValue))
                }))

        // Identity status.
        router.add(
            Route(
                "POST", "/v1/accounts/{id}/status",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let body = try context.decodeBody(StatusChangeBody.self)
                    guard let status = IdentityStatus(rawValue: body.status) else {
                        throw Problem(.invalidStatus, detail: "status is cancelled or invalid")
                    }
                    let actor = try context.actor()
                    let view = try lifecycleCall { service throws(EnrollmentError) in
                        try service.setStatus(accountID: id, to: status, reason: body.reason, actor: actor)
                    }
                    events.publish(DaemonEvent(type: .accountStatusChanged, status: view.status, detail: view.status))
                    Log.notice("account \(id.uuidString) set \(view.status) by \(actor.role) uid \(actor.uid)")
                    return .json(view)
                }))
        router.add(
            Route(
                "GET", "/v1/accounts/{id}/status-history",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    return .json(
                        try lifecycleCall { service throws(EnrollmentError) in try service.statusView(accountID: id) })
                }))

        // Usage records and the audit chain.
        router.add(
            Route(
                "GET", "/v1/accounts/{id}/usage",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let query = context.request
                    let since = try parseTime(query.queryValue("since"), field: "since")
                    let until = try parseTime(query.queryValue("until"), field: "until")
                    var limit = 100
                    if let text = query.queryValue("limit") {
                        guard let value = Int(text), (1...1000).contains(value) else {
                            throw Problem(.invalidLimit, detail: "limit is 1 to 1000")
                        }
                        limit = value
                    }
                    var after: Int64?
                    if let text = query.queryValue("after") {
                        guard let value = Int64(text), value >= 0 else {
                            throw Problem(.invalidAfter, detail: "after is a record sequence number")
                        }
                        after = value
                    }
                    let records = try lifecycleCall { service throws(EnrollmentError) in
                        try service.usage(accountID: id, since: since, until: until, after: after, limit: limit)
                    }
                    return .json(
                        UsagePage(
                            accountId: id.uuidString, records: records,
                            next: records.count == limit ? records.last?.sequence : nil))
                }))
        router.add(
            Route(
                "POST", "/v1/audit/verify",
                .respond { [unowned self] context throws(Problem) in
                    let body =
                        context.request.body.isEmpty ? AuditVerifyBody() : try context.decodeBody(AuditVerifyBody.self)
                    let lines = body.heads ?? []
                    guard lines.count <= 100_000 else {
                        throw Problem(.invalidBody, detail: "give at most 100000 signed heads (the newest are enough)")
                    }
                    let heads = lines.compactMap(SignedChainHead.init(line:))
                    let (trusted, untrusted) = chainHeadTrust().check(heads)
                    let report = try lifecycleCall { service throws(EnrollmentError) in
                        try service.verifyAudit(heads: trusted, untrusted: untrusted)
                    }
                    if !report.ok {
                        Log.warning(
                            "usage chain broken: \(report.problems.count) problem(s), the first at record "
                                + "\(report.firstDisagreement.map(String.init) ?? "?")")
                    }
                    return .json(report)
                }))

        // Service passcode.
        router.add(
            Route(
                "GET", "/v1/accounts/{id}/passcode",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    return .json(
                        try lifecycleCall { service throws(EnrollmentError) in try service.passcodeStatus(accountID: id)
                        })
                }))
        router.add(
            Route(
                "POST", "/v1/accounts/{id}/passcode",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let body = try context.decodeBody(PasscodeBody.self)
                    let actor = try context.actor()
                    guard let passcode = body.passcode else { throw Problem(.invalidBody, detail: "give passcode") }
                    return .json(
                        try lifecycleCall { service throws(EnrollmentError) in
                            try service.setPasscode(
                                accountID: id, passcode: passcode, current: body.currentPasscode, actor: actor)
                        })
                }))
        router.add(
            Route(
                "DELETE", "/v1/accounts/{id}/passcode",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let body = context.request.body.isEmpty ? PasscodeBody() : try context.decodeBody(PasscodeBody.self)
                    let actor = try context.actor()
                    return .json(
                        try lifecycleCall { service throws(EnrollmentError) in
                            try service.disablePasscode(
                                accountID: id, current: body.currentPasscode ?? body.passcode, actor: actor)
                        })
                }))
        router.add(
            Route(
                "POST", "/v1/accounts/{id}/passcode/verify",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let body = try context.decodeBody(PasscodeBody.self)
                    let actor = try context.actor()
                    // Staff see what happened (attempts left, until when); a kiosk sees ok or holder-proof-failed.
                    let check: PasscodeCheck
                    do throws(Problem) {
                        check = try lifecycleCall { service throws(EnrollmentError) in
                            try service.verifyPasscode(accountID: id, passcode: body.passcode ?? "", actor: actor)
                        }
                    } catch  where error.code == ProblemCode.holderProofFailed.code {
                        check = PasscodeCheck(result: "failed")
                    }
                    var response = PasscodeCheckResponse(
                        result: check.result, attemptsLeft: check.attemptsLeft,
                        unlocksAt: check.unlocksAt)
                    if !check.isOK {
                        let problem =
                            check.result == "failed"
                            ? Problem(IdentityLifecycle.holderProofFailed)
                            : Problem(IdentityLifecycle.refusal(check, for: actor))
                        (response.type, response.title, response.status, response.detail, response.code) =
                            (problem.type, problem.title, problem.status, problem.detail, problem.code)
                    }
                    return .json(response, status: response.status ?? 200)
                }))

        // Guardian present: the guardian's card read in the minor's session.
        router.add(
            Route(
                "POST", "/v1/enrollments/{id}/guardian",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "enrollment id")
                    let body = try context.decodeBody(GuardianCardBody.self)
                    let actor = try context.actor()
                    let service = try enrollmentService(session: id, context)
                    let key = try body.accessKey.bacKey()
                    let reader = try usableReader(body.reader, context)
                    do throws(EnrollmentError) {
                        return .json(try service.addGuardian(id: id, reader: reader, key: key, actor: actor))
                    } catch {
                        throw Problem(error)
                    }
                }))
        // The guardian seen: the guardian's live photo against the chip portrait of the card just read.
        router.add(
            Route(
                "POST", "/v1/enrollments/{id}/guardian/photo",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "enrollment id")
                    let body = try context.decodeBody(EnrollmentPhotoBody.self)
                    guard let photo = Data(base64Encoded: body.photo, options: .ignoreUnknownCharacters) else {
                        throw Problem(.invalidBody, detail: "photo must be base64")
                    }
                    let service = try enrollmentService(session: id, context)
                    do throws(EnrollmentError) {
                        return .json(try service.submitGuardianPhoto(id: id, photo: [UInt8](photo)))
                    } catch {
                        throw Problem(error)
                    }
                }))
    }
}
