import EnrollAPIModel
import Enrollment
import Foundation
import OpenSSLKit
import Store
import UnixHTTP

/// Data release by consent: the verifier registry (admin), presentations and consent (the holder, on the Unix
/// socket), and the verifier routes (only on the TLS listener, `VerifierListener`).
extension Daemon {
    func registryService() throws(Problem) -> VerifierRegistry {
        guard let registry = verifierRegistry else {
            throw Problem(.enrollmentUnavailable, detail: enrollmentUnavailableReason)
        }
        return registry
    }

    func releaseDesk() throws(Problem) -> ReleaseDesk {
        guard let desk = releases else { throw Problem(.enrollmentUnavailable, detail: enrollmentUnavailableReason) }
        return desk
    }

    func releaseCall<T>(_ body: () throws(EnrollmentError) -> T) throws(Problem) -> T {
        do throws(EnrollmentError) {
            return try body()
        } catch {
            throw Problem(error)
        }
    }

    func addVerifierRegistryRoutes(to router: inout Router) {
        router.add(
            Route(
                "POST", "/v1/verifiers",
                .respond { [unowned self] context throws(Problem) in
                    let body = try context.decodeBody(VerifierAddBody.self)
                    let actor = try context.actor()
                    let registry = try registryService()
                    let view = try releaseCall { () throws(EnrollmentError) in try registry.add(body, actor: actor) }
                    Log.notice("verifier \(view.id) added (\(view.credential)) by uid \(context.peer.uid)")
                    return .json(view, status: 201)
                }))
        router.add(
            Route(
                "GET", "/v1/verifiers",
                .respond { [unowned self] _ throws(Problem) in
                    let registry = try registryService()
                    return .json(try releaseCall { () throws(EnrollmentError) in try registry.list() })
                }))
        router.add(
            Route(
                "GET", "/v1/verifiers/{vid}",
                .respond { [unowned self] context throws(Problem) in
                    let registry = try registryService()
                    let id = context.parameters["vid"] ?? ""
                    return .json(
                        VerifierView(try releaseCall { () throws(EnrollmentError) in try registry.verifier(id: id) }))
                }))
        router.add(
            Route(
                "POST", "/v1/verifiers/{vid}/status",
                .respond { [unowned self] context throws(Problem) in
                    let body = try context.decodeBody(VerifierStatusBody.self)
                    let actor = try context.actor()
                    let registry = try registryService()
                    let id = context.parameters["vid"] ?? ""
                    let view = try releaseCall { () throws(EnrollmentError) in
                        try registry.setStatus(id: id, body, actor: actor)
                    }
                    Log.notice("verifier \(view.id) now \(view.status) (uid \(context.peer.uid))")
                    return .json(view)
                }))
    }

    /// The holder's proof for a presentation route: the presentation key, else a kiosk's holder proof (operators
    /// and admins too: releasing data is the holder's act).
    private func requirePresentationHolder(
        _ accountID: UUID, _ presentationID: UUID, _ context: RequestContext
    ) throws(Problem) {
        let desk = try releaseDesk()
        if let key = context.request.header("X-Enrolld-Presentation-Key") {
            guard desk.holdsKey(accountID: accountID, presentationID: presentationID, key: key) else {
                throw Problem(.holderProofFailed, detail: "the presentation key is not this presentation's")
            }
            return
        }
        try proveHolder(accountID, context)
    }

    func addPresentationRoutes(to router: inout Router) {
        router.add(
            Route(
                "POST", "/v1/accounts/{id}/presentations/nonce",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let desk = try releaseDesk()
                    return .json(try releaseCall { () throws(EnrollmentError) in try desk.nonce(accountID: id) })
                }))
        router.add(
            Route(
                "POST", "/v1/accounts/{id}/presentations",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let body =
                        context.request.body.isEmpty
                        ? PresentationOpenBody() : try context.decodeBody(PresentationOpenBody.self)
                    let desk = try releaseDesk()
                    let actor = try context.actor()
                    if let signature = body.signature {
                        guard let device = body.deviceId, let nonce = body.nonce else {
                            throw Problem(.invalidBody, detail: "a device's signature comes with deviceId and nonce")
                        }
                        try releaseCall { () throws(EnrollmentError) in
                            try desk.proveDevice(accountID: id, deviceID: device, nonce: nonce, signature: signature)
                        }
                    } else {
                        try proveHolder(id, context)
                    }
                    let opened = try releaseCall { () throws(EnrollmentError) in
                        try desk.open(accountID: id, actor: actor)
                    }
                    return .json(opened, status: 201)
                }))
        router.add(
            Route(
                "GET", "/v1/accounts/{id}/presentations/{pid}",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let pid = try parseUUID(context.parameters["pid"], field: "presentation id")
                    try requirePresentationHolder(id, pid, context)
                    let desk = try releaseDesk()
                    return .json(
                        try releaseCall { () throws(EnrollmentError) in
                            try desk.presentation(accountID: id, presentationID: pid)
                        })
                }))
        router.add(
            Route(
                "GET", "/v1/accounts/{id}/presentations/{pid}/qr",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let pid = try parseUUID(context.parameters["pid"], field: "presentation id")
                    try requirePresentationHolder(id, pid, context)
                    let format = context.request.queryValue("format") ?? "json"
                    guard ["json", "png", "svg"].contains(format) else {
                        throw Problem(.invalidBody, detail: "format is json, png or svg")
                    }
                    let desk = try releaseDesk()
                    let qr = try releaseCall { () throws(EnrollmentError) in
                        try desk.refreshToken(accountID: id, presentationID: pid)
                    }
                    switch format {
                    case "png":
                        return HTTPResponse(
                            status: 200, headers: [("Content-Type", "image/png"), ("Cache-Control", "no-store")],
                            body: try QRImage(qr.token).png())
                    case "svg":
                        return HTTPResponse(
                            status: 200,
                            headers: [("Content-Type", "image/svg+xml"), ("Cache-Control", "no-store")],
                            body: Array(try QRImage(qr.token).svg.utf8))
                    default:
                        return .json(qr)
                    }
                }))
        router.add(
            Route(
                "POST", "/v1/accounts/{id}/presentations/{pid}/consent",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let pid = try parseUUID(context.parameters["pid"], field: "presentation id")
                    let body = try context.decodeBody(ConsentBody.self)
                    let actor = try context.actor()
                    let desk = try releaseDesk()
                    let proof: ReleaseDesk.ConsentProof
                    if let signature = body.signature {
                        guard let device = body.deviceId else {
                            throw Problem(.invalidBody, detail: "a device's signature comes with its deviceId")
                        }
                        proof = .device(id: device, signature: signature)
                    } else {
                        // Without the device's signature the holder is proven at the kiosk, each time.
                        try proveHolder(id, context)
                        proof = .holderPresent
                    }
                    return .json(
                        try releaseCall { () throws(EnrollmentError) in
                            try desk.consent(accountID: id, presentationID: pid, body, proof: proof, actor: actor)
                        })
                }))
    }

    /// The verifier whose client certificate the listener saw (registered by its fingerprint).
    private func callingVerifier(_ context: RequestContext) throws(Problem) -> VerifierRecord {
        guard let fingerprint = context.request.header(VerifierListener.fingerprintHeader) else {
            throw Problem(.verifierCertificateUnknown, detail: "no client certificate")
        }
        let registry = try registryService()
        let found: VerifierRecord?
        do {
            found = try registry.store.transaction { tx throws(StoreError) in try tx.verifier(fingerprint: fingerprint)
            }
        } catch {
            throw Problem(EnrollmentError.store(error))
        }
        guard let found else {
            throw Problem(
                .verifierCertificateUnknown,
                detail: "the client certificate (SHA-256 \(fingerprint.prefix(16))…) is registered for no verifier")
        }
        return found
    }

    func addVerifierRequestRoutes(to router: inout Router) {
        router.add(
            Route(
                "POST", "/v1/verifier/requests",
                .respond { [unowned self] context throws(Problem) in
                    let desk = try releaseDesk()
                    let verifier: VerifierRecord
                    do throws(Problem) {
                        verifier = try callingVerifier(context)
                    } catch {
                        // The holder whose QR code an unregistered certificate used sees the attempt.
                        if error.kind == .verifierCertificateUnknown,
                            let body = try? context.decodeBody(VerifierRequestBody.self),
                            let fingerprint = context.request.header(VerifierListener.fingerprintHeader)
                        {
                            desk.recordUnregistered(token: body.token, fingerprint: fingerprint)
                        }
                        throw error
                    }
                    let body = try context.decodeBody(VerifierRequestBody.self)
                    return .json(
                        try releaseCall { () throws(EnrollmentError) in try desk.request(body, verifier: verifier) },
                        status: 201)
                }))
        router.add(
            Route(
                "GET", "/v1/verifier/requests/{rid}",
                .respond { [unowned self] context throws(Problem) in
                    let verifier = try callingVerifier(context)
                    let rid = try parseUUID(context.parameters["rid"], field: "request id")
                    let desk = try releaseDesk()
                    return .json(
                        try releaseCall { () throws(EnrollmentError) in
                            try desk.status(requestID: rid, verifier: verifier)
                        })
                }))
        router.add(
            Route(
                "GET", "/v1/verifier/requests/{rid}/release",
                .respond { [unowned self] context throws(Problem) in
                    let verifier = try callingVerifier(context)
                    let rid = try parseUUID(context.parameters["rid"], field: "request id")
                    let desk = try releaseDesk()
                    let der = try releaseCall { () throws(EnrollmentError) in
                        try desk.release(requestID: rid, verifier: verifier)
                    }
                    return HTTPResponse(
                        status: 200,
                        headers: [("Content-Type", "application/pkcs7-mime; smime-type=enveloped-data")], body: der)
                }))
    }
}
