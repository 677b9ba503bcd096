import EnrollAPIModel
import Foundation
import OpenSSLKit
import Store
import Synchronization

/// Data release by consent: presentations a holder opens, the dynamic tokens of their QR codes, the requests
/// approved verifiers send with a scanned token, the holder's consent, and the release.
///
/// Presentations and requests live in memory (bounded: `maxPresentations`, `maxRequestsPerPresentation`): they last
/// minutes, and a restart ends them (the token key is random per start). What happened is kept in the usage log:
/// every request, refusal, consent and release is a record naming the verifier and the elements.
///
/// Tokens: a presentation's counter starts at 1; `refreshToken` advances it. A token is current while it is the
/// newest or the one before (the QR on screen may have just changed) and its expiry (`tokenLifetime`) has not
/// passed; each counter value answers one request only (a replayed token is refused).
public final class ReleaseDesk: Sendable {
    public struct Settings: Sendable {
        public var tokenLifetime: TimeInterval = 60
        public var refreshInterval: TimeInterval = 30
        /// How long a presentation stays open, refreshed or not.
        public var presentationLifetime: TimeInterval = 15 * 60
        /// How long a request waits for the holder, and its release for the verifier.
        public var requestLifetime: TimeInterval = 10 * 60
        public var maxPresentations = 10_000
        public var maxRequestsPerPresentation = 8
        /// Open presentations of one account: opening one more closes its oldest, so one holder cannot fill
        /// `maxPresentations` for everyone.
        public var maxPresentationsPerAccount = 4
        /// Outstanding nonces of one account: asking one more drops its oldest (anyone who knows an account id may
        /// ask; without this a few callers could fill `maxPresentations` nonces for everyone).
        public var maxNoncesPerAccount = 4

        public init() {}
    }

    /// Seals a release: the JSON document signed (CMS SignedData) by the daemon's issuer key, enveloped (CMS
    /// EnvelopedData) to the verifier's certificate; returns the envelope's DER.
    public typealias Sealer = @Sendable (_ document: [UInt8], _ verifierCertificatePEM: String) throws -> [UInt8]

    struct Request {
        var id: UUID
        var verifierID: String
        var verifierName: String
        var elements: [String]
        var purpose: String
        var digest: String
        var createdAt: Date
        var state = "pending"
        var released: [String]?
        var envelope: [UInt8]?
    }

    struct Presentation {
        var id: UUID
        var accountID: UUID
        var openedAt: Date
        var counter: UInt32 = 1
        var tokenExpiry: Date
        var usedCounters: Set<UInt32> = []
        var requests: [Request] = []
        /// The presentation key, hashed (SHA-256).
        var keyDigest: [UInt8] = []
        /// Order of opening (the clock may not tick between two).
        var sequence: UInt64 = 0
        /// Counters an unregistered certificate already used (one usage record each).
        var unregisteredCounters: Set<UInt32> = []
    }

    struct State {
        var presentations: [UUID: Presentation] = [:]
        var requestIndex: [UUID: UUID] = [:]
        /// Nonces for the device's signature that opens a presentation: account, expiry, order of issue.
        var nonces: [String: (UUID, Date, UInt64)] = [:]
        var sequence: UInt64 = 0
    }

    public let store: any Store
    let accounts: AccountService
    let settings: Settings
    let now: @Sendable () -> Date
    let seal: Sealer
    private let tokenKey: [UInt8]
    private let state = Mutex(State())

    public init(
        store: any Store, accounts: AccountService, settings: Settings = Settings(),
        now: @escaping @Sendable () -> Date = { Date() }, tokenKey: [UInt8], seal: @escaping Sealer
    ) {
        self.store = store
        self.accounts = accounts
        self.settings = settings
        self.now = now
        self.tokenKey = tokenKey
        self.seal = seal
    }

    static let verifierRole = "verifier"

    /// The usage actor of a verifier on the TLS listener.
    public static func actor(verifierID: String) -> UsageActor {
        UsageActor(role: verifierRole, uid: 0, channel: "verifier:\(verifierID)")
    }

    // MARK: Holder side

    /// A nonce the bound device signs to open a presentation (single use, two minutes).
    public func nonce(accountID: UUID) throws(EnrollmentError) -> PresentationNonce {
        _ = try accounts.account(id: accountID)
        let nonce = Base64URL.encode(Self.randomBytes(24))
        let expiry = now().addingTimeInterval(120)
        let kept = state.withLock { state -> Bool in
            let at = now()
            state.nonces = state.nonces.filter { $0.value.1 > at }
            let own = state.nonces.filter { $0.value.0 == accountID }.sorted { $0.value.2 < $1.value.2 }
            for (old, _) in own.prefix(max(0, own.count - settings.maxNoncesPerAccount + 1)) {
                state.nonces[old] = nil
            }
            guard state.nonces.count < settings.maxPresentations else { return false }
            state.sequence += 1
            state.nonces[nonce] = (accountID, expiry, state.sequence)
            return true
        }
        guard kept else {
            throw EnrollmentError(
                .serverBusy, "too many presentation nonces are outstanding: try again in a minute")
        }
        return PresentationNonce(nonce: nonce, expiresAt: isoText(expiry))
    }

    /// The message a device signs to open a presentation.
    public static func openMessage(accountID: UUID, nonce: String) -> [UInt8] {
        Array("enrolld-presentation-open-v1\n\(accountID.uuidString)\n\(nonce)".utf8)
    }

    /// Checks a device's signature over `openMessage` with a nonce from `nonce(accountID:)` (used up either way).
    public func proveDevice(
        accountID: UUID, deviceID: String, nonce: String, signature: String
    ) throws(EnrollmentError) {
        let entry = state.withLock { $0.nonces.removeValue(forKey: nonce) }
        guard let entry, entry.0 == accountID, entry.1 > now() else {
            throw EnrollmentError(
                .holderProofFailed, "the nonce is unknown, used or expired: ask for a new one (presentations/nonce)")
        }
        try verifyDevice(
            accountID: accountID, deviceID: deviceID, signature: signature,
            message: Self.openMessage(accountID: accountID, nonce: nonce), refusal: .holderProofFailed)
    }

    /// Opens a presentation for a holder already proven; its first token.
    public func open(accountID: UUID, actor: UsageActor) throws(EnrollmentError) -> PresentationQR {
        let account = try accounts.account(id: accountID)
        guard account.status == "normal" else {
            throw EnrollmentError(.accountNotNormal, "the account is \(account.status): it releases no data")
        }
        let at = now()
        let key = Base64URL.encode(Self.randomBytes(32))
        var presentation = Presentation(
            id: UUID(), accountID: accountID, openedAt: at, tokenExpiry: at.addingTimeInterval(settings.tokenLifetime))
        presentation.keyDigest = Self.keyDigest(key)
        let opened = state.withLock { state -> Bool in
            sweep(&state, at: at)
            let own = state.presentations.values.filter { $0.accountID == accountID }.sorted {
                $0.sequence < $1.sequence
            }
            for old in own.prefix(max(0, own.count - settings.maxPresentationsPerAccount + 1)) {
                state.presentations[old.id] = nil
                for request in old.requests { state.requestIndex[request.id] = nil }
            }
            guard state.presentations.count < settings.maxPresentations else { return false }
            state.sequence += 1
            presentation.sequence = state.sequence
            state.presentations[presentation.id] = presentation
            return true
        }
        guard opened else {
            throw EnrollmentError(.serverBusy, "too many presentations are open: try again in a few minutes")
        }
        try record(accountID: accountID, event: "presentation-opened", actor: actor, detail: "\(presentation.id)")
        var shown = try qr(presentation)
        shown.presentationKey = key
        return shown
    }

    static func keyDigest(_ key: String) -> [UInt8] {
        (try? Digest.hash(Array(key.utf8), using: .sha256)) ?? []
    }

    /// Whether `key` is the presentation key of this account's open presentation.
    public func holdsKey(accountID: UUID, presentationID: UUID, key: String) -> Bool {
        let digest = Self.keyDigest(key)
        return state.withLock { state in
            guard let presentation = state.presentations[presentationID], presentation.accountID == accountID,
                !presentation.keyDigest.isEmpty
            else { return false }
            return PresentationToken.constantTimeEqual(presentation.keyDigest, digest)
        }
    }

    /// A new token for the presentation; the one before the previous stops being current.
    public func refreshToken(accountID: UUID, presentationID: UUID) throws(EnrollmentError) -> PresentationQR {
        let at = now()
        let refreshed = state.withLock { state -> Presentation? in
            sweep(&state, at: at)
            guard var presentation = state.presentations[presentationID], presentation.accountID == accountID else {
                return nil
            }
            presentation.counter &+= 1
            presentation.tokenExpiry = at.addingTimeInterval(settings.tokenLifetime)
            state.presentations[presentationID] = presentation
            return presentation
        }
        guard let refreshed else { throw Self.noPresentation }
        return try qr(refreshed)
    }

    func qr(_ presentation: Presentation) throws(EnrollmentError) -> PresentationQR {
        let token = PresentationToken(
            presentationID: presentation.id, counter: presentation.counter, expiry: presentation.tokenExpiry)
        let text: String
        do {
            text = try token.encoded(key: tokenKey)
        } catch {
            throw EnrollmentError(.internalError, "the token could not be signed")
        }
        return PresentationQR(
            presentationId: presentation.id.uuidString, token: text, counter: Int(presentation.counter),
            expiresAt: isoText(presentation.tokenExpiry), refreshSeconds: Int(settings.refreshInterval))
    }

    static let noPresentation = EnrollmentError(
        .presentationNotFound, "no open presentation with this id for this account: open a new one")

    /// The presentation with the requests verifiers sent to it.
    public func presentation(accountID: UUID, presentationID: UUID) throws(EnrollmentError) -> PresentationView {
        let at = now()
        let found = state.withLock { state -> Presentation? in
            sweep(&state, at: at)
            return state.presentations[presentationID]
        }
        guard let found, found.accountID == accountID else { throw Self.noPresentation }
        return PresentationView(
            presentationId: found.id.uuidString, accountId: accountID.uuidString,
            expiresAt: isoText(found.openedAt.addingTimeInterval(settings.presentationLifetime)),
            requests: found.requests.map(Self.view))
    }

    static func view(_ request: Request) -> ReleaseRequestView {
        ReleaseRequestView(
            requestId: request.id.uuidString, verifierId: request.verifierID, verifierName: request.verifierName,
            elements: request.elements, purpose: request.purpose, state: request.state, digest: request.digest,
            createdAt: isoText(request.createdAt), released: request.released)
    }

    /// The bytes the bound device signs to consent to `elements` of a request.
    public static func consentMessage(digest: String, elements: [String]) -> [UInt8] {
        Array("enrolld-consent-v1\n\(digest)\n\(elements.joined(separator: ","))".utf8)
    }

    /// How the holder consents: the bound device's signature, or a kiosk's holder proof already checked.
    public enum ConsentProof: Sendable {
        case device(id: String, signature: String)
        case holderPresent
    }

    /// The holder's answer to one request: release `elements` (a subset of the request's; all when nil), or refuse.
    public func consent(
        accountID: UUID, presentationID: UUID, _ body: ConsentBody, proof: ConsentProof, actor: UsageActor
    ) throws(EnrollmentError) -> ReleaseRequestView {
        guard let requestID = UUID(uuidString: body.requestId) else {
            throw EnrollmentError(.invalidID, "requestId must be a UUID")
        }
        let at = now()
        let request = state.withLock { state -> Request? in
            sweep(&state, at: at)
            return state.presentations[presentationID].flatMap { presentation in
                presentation.accountID == accountID ? presentation.requests.first { $0.id == requestID } : nil
            }
        }
        guard let request else {
            throw EnrollmentError(.releaseRequestNotFound, "no request \(requestID) in this presentation")
        }
        guard request.state == "pending" else {
            throw EnrollmentError(.consentAlreadyGiven, "the request was already \(request.state)")
        }
        let refuse = body.refuse ?? false
        var chosen = refuse ? [] : request.elements
        if !refuse, let wanted = body.elements, !wanted.isEmpty {
            let normalised = try VerifierElement.normalised(wanted)
            guard normalised.allSatisfy(request.elements.contains) else {
                throw EnrollmentError(.elementNotAllowed, "consent only to elements the verifier asked for")
            }
            chosen = normalised
        }
        if case let .device(deviceID, signature) = proof {
            do {
                try verifyDevice(
                    accountID: accountID, deviceID: deviceID, signature: signature,
                    message: Self.consentMessage(digest: request.digest, elements: chosen),
                    refusal: .consentSignatureInvalid)
            } catch {
                try? record(
                    accountID: accountID, event: "release-refused", actor: actor, outcome: "refused",
                    detail:
                        "\(request.verifierID) \(requestID): consent signature invalid (device \(deviceID.prefix(64)))")
                throw error
            }
        }
        var envelope: [UInt8]?
        if !refuse {
            do {
                envelope = try sealed(accountID: accountID, request: request, elements: chosen, at: at)
            } catch {
                try? record(
                    accountID: accountID, event: "release-refused", actor: actor, outcome: "refused",
                    detail: "\(request.verifierID) \(requestID): \(chosen.joined(separator: ",")) not released: "
                        + error.code)
                throw error
            }
        }
        // One consent answers one request: the state changes only from pending.
        let answered = state.withLock { state -> Request? in
            guard var presentation = state.presentations[presentationID],
                let index = presentation.requests.firstIndex(where: { $0.id == requestID }),
                presentation.requests[index].state == "pending"
            else { return nil }
            presentation.requests[index].state = refuse ? "refused" : "released"
            presentation.requests[index].released = refuse ? nil : chosen
            presentation.requests[index].envelope = envelope
            state.presentations[presentationID] = presentation
            return presentation.requests[index]
        }
        guard let answered else {
            throw EnrollmentError(.consentAlreadyGiven, "the request was answered meanwhile")
        }
        let names = chosen.joined(separator: ",")
        if refuse {
            try record(
                accountID: accountID, event: "release-refused", actor: actor, outcome: "refused",
                detail:
                    "\(request.verifierID) \(requestID): the holder refused \(request.elements.joined(separator: ","))")
        } else {
            try record(
                accountID: accountID, event: "release-consented", actor: actor,
                detail: "\(request.verifierID) \(requestID): \(names)")
            try record(
                accountID: accountID, event: "data-released", actor: Self.actor(verifierID: request.verifierID),
                detail: "\(request.verifierID) \(requestID): \(names)")
        }
        return Self.view(answered)
    }

    func verifyDevice(
        accountID: UUID, deviceID: String, signature: String, message: [UInt8], refusal: ProblemCode
    ) throws(EnrollmentError) {
        let bindings = try store.domainTransaction { tx in try tx.deviceBindings(accountID: accountID) }
        guard let bound = bindings.first(where: { $0.unboundAt == nil }), bound.deviceID == deviceID else {
            throw EnrollmentError(refusal, "device \(deviceID.prefix(64)) is not the device bound to the account")
        }
        guard let bytes = Data(base64Encoded: signature).map(Array.init), (8...1024).contains(bytes.count) else {
            throw EnrollmentError(refusal, "signature must be base64")
        }
        let valid: Bool
        do {
            let key = try PublicKey(pem: bound.publicKey)
            let scheme: SignatureScheme
            if case .rsa = key.keyType { scheme = .rsaPKCS1v15(.sha256) } else { scheme = .ecdsa(.sha256) }
            valid = try key.verify(signature: bytes, message: message, scheme: scheme)
        } catch {
            valid = false
        }
        guard valid else {
            throw EnrollmentError(refusal, "the signature is not the bound device's over this message")
        }
    }

    /// The JSON document of the released elements, signed and enveloped.
    func sealed(accountID: UUID, request: Request, elements: [String], at: Date) throws(EnrollmentError) -> [UInt8] {
        let facts = try accounts.releaseFacts(accountID: accountID)
        // The account and the verifier are checked again at consent: either may have changed since the request.
        guard facts.status == "normal" else {
            throw EnrollmentError(.accountNotNormal, "the account is \(facts.status): it releases no data")
        }
        var values: [String: ReleasedValue] = [:]
        for name in elements {
            values[name] = VerifierElement.value(
                of: name, personal: facts.personal, tier: facts.tier, status: facts.status, on: at)
        }
        let document = ReleaseDocument(
            verifierId: request.verifierID, requestId: request.id.uuidString, releasedAt: isoText(at),
            elements: values)
        let verifier = try store.domainTransaction { tx in try tx.verifier(id: request.verifierID) }
        guard let verifier else {
            throw EnrollmentError(.verifierNotFound, "the verifier left the registry")
        }
        if let refusal = VerifierRegistry.refusal(verifier, at: at) { throw refusal }
        let certificatePEM = verifier.certificatePEM
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try seal(Array(try encoder.encode(document)), certificatePEM)
        } catch {
            throw EnrollmentError(.internalError, "the release could not be sealed: \(error)")
        }
    }

    // MARK: Verifier side

    /// A verifier's request with a scanned token. Refused (with a usage record) unless the verifier is approved,
    /// the token current and unused, and every element allowed for the verifier.
    public func request(
        _ body: VerifierRequestBody, verifier: VerifierRecord
    ) throws(EnrollmentError) -> VerifierRequestStatus {
        let actor = Self.actor(verifierID: verifier.id)
        let at = now()
        let token: PresentationToken
        do {
            token = try PresentationToken.parse(body.token, key: tokenKey)
        } catch {
            try? record(
                accountID: nil, event: "release-refused", actor: actor, outcome: "refused",
                detail: "\(verifier.id): token invalid")
            throw error
        }
        let accountID = state.withLock { $0.presentations[token.presentationID]?.accountID }
        func refuse(_ error: EnrollmentError) throws(EnrollmentError) -> Never {
            try? record(
                accountID: accountID, event: "release-refused", actor: actor, outcome: "refused",
                detail: "\(verifier.id) asked \(Self.shown(body.elements)): " + error.code)
            throw error
        }
        if let refusal = VerifierRegistry.refusal(verifier, at: at) { try refuse(refusal) }
        let elements: [String]
        do {
            elements = try VerifierElement.normalised(body.elements)
        } catch {
            try refuse(error)
        }
        for name in elements where !VerifierElement.allows(verifier.elements, name) {
            try refuse(EnrollmentError(.elementNotAllowed, "verifier \(verifier.id) may not ask for \(name)"))
        }
        guard (1...200).contains(body.purpose.count), body.purpose.utf8.count <= 800,
            !body.purpose.contains(where: \.isNewline)
        else {
            try refuse(EnrollmentError(.invalidBody, "purpose is one line of 1 to 200 characters"))
        }
        var request = Request(
            id: UUID(), verifierID: verifier.id, verifierName: verifier.legalName, elements: elements,
            purpose: body.purpose, digest: "", createdAt: at)
        request.digest = Self.digest(request)
        let outcome = state.withLock { state -> Result<UUID, EnrollmentError> in
            sweep(&state, at: at)
            guard var presentation = state.presentations[token.presentationID] else {
                return .failure(Self.noPresentation)
            }
            guard token.expiry > at, token.counter == presentation.counter || token.counter &+ 1 == presentation.counter
            else {
                return .failure(
                    EnrollmentError(.tokenExpired, "the token expired or a newer QR code replaced it: scan it again"))
            }
            guard !presentation.usedCounters.contains(token.counter) else {
                return .failure(
                    EnrollmentError(.tokenReplayed, "this QR code was already used for a request: scan the current one")
                )
            }
            guard presentation.requests.count < settings.maxRequestsPerPresentation else {
                return .failure(EnrollmentError(.serverBusy, "the presentation has too many requests"))
            }
            presentation.usedCounters.insert(token.counter)
            presentation.requests.append(request)
            state.presentations[token.presentationID] = presentation
            state.requestIndex[request.id] = token.presentationID
            return .success(presentation.accountID)
        }
        switch outcome {
        case let .failure(error): try refuse(error)
        case let .success(account):
            try record(
                accountID: account, event: "release-requested", actor: actor,
                detail: "\(verifier.id) \(request.id): \(elements.joined(separator: ",")) for \(body.purpose)")
        }
        return VerifierRequestStatus(requestId: request.id.uuidString, state: request.state, elements: elements)
    }

    /// A request from a client certificate no verifier registered (the TLS handshake accepted its CA): a usage
    /// record for the holder whose token it carried, when the token is this daemon's, so the holder sees the attempt;
    /// one per token (any certificate of the client CA passes the handshake, a holder's too: repeating a token must
    /// not write the usage log without end).
    public func recordUnregistered(token text: String, fingerprint: String) {
        guard let token = try? PresentationToken.parse(text, key: tokenKey) else { return }
        let accountID = state.withLock { state -> UUID? in
            guard var presentation = state.presentations[token.presentationID],
                presentation.unregisteredCounters.count < 64,
                presentation.unregisteredCounters.insert(token.counter).inserted
            else { return nil }
            state.presentations[token.presentationID] = presentation
            return presentation.accountID
        }
        guard let accountID else { return }
        try? record(
            accountID: accountID, event: "release-refused",
            actor: UsageActor(role: Self.verifierRole, uid: 0, channel: "verifier:unregistered"), outcome: "refused",
            detail:
                "a certificate no verifier registered (SHA-256 \(fingerprint.prefix(64))): verifier-certificate-unknown"
        )
    }

    /// A request's state for the verifier that sent it; with the envelope once released.
    public func status(requestID: UUID, verifier: VerifierRecord) throws(EnrollmentError) -> VerifierRequestStatus {
        let at = now()
        let request = state.withLock { state -> Request? in
            sweep(&state, at: at)
            guard let presentationID = state.requestIndex[requestID] else { return nil }
            return state.presentations[presentationID]?.requests.first { $0.id == requestID }
        }
        guard let request, request.verifierID == verifier.id else {
            throw EnrollmentError(.releaseRequestNotFound, "no request \(requestID) of verifier \(verifier.id)")
        }
        if let refusal = VerifierRegistry.refusal(verifier, at: at) {
            let accountID = state.withLock { state -> UUID? in
                state.requestIndex[requestID].flatMap { state.presentations[$0]?.accountID }
            }
            try? record(
                accountID: accountID, event: "release-refused", actor: Self.actor(verifierID: verifier.id),
                outcome: "refused",
                detail: "\(verifier.id) \(requestID): \(request.elements.joined(separator: ",")) withheld: "
                    + refusal.code)
            throw refusal
        }
        return VerifierRequestStatus(
            requestId: request.id.uuidString, state: request.state, elements: request.elements,
            released: request.released, envelope: request.envelope.map { Data($0).base64EncodedString() })
    }

    /// The release's DER, refused `consent-required` before the holder consented (with a usage record).
    public func release(requestID: UUID, verifier: VerifierRecord) throws(EnrollmentError) -> [UInt8] {
        let status = try status(requestID: requestID, verifier: verifier)
        guard status.state == "released", let envelope = status.envelope, let der = Data(base64Encoded: envelope)
        else {
            let accountID = state.withLock { state -> UUID? in
                state.requestIndex[requestID].flatMap { state.presentations[$0]?.accountID }
            }
            try? record(
                accountID: accountID, event: "release-refused", actor: Self.actor(verifierID: verifier.id),
                outcome: "refused", detail: "\(verifier.id) \(requestID): no consent (\(status.state))")
            throw EnrollmentError(
                .consentRequired, "the holder has not consented to request \(requestID) (\(status.state))")
        }
        return Array(der)
    }

    /// The element names a verifier sent, for a usage record: at most 32, each cut to 40 characters of the catalogue's
    /// alphabet (lower-case letters, digits, `_`), so a name cannot write other text into the holder's usage log.
    static func shown(_ names: [String]) -> String {
        let alphabet = Set("abcdefghijklmnopqrstuvwxyz0123456789_".unicodeScalars)
        return names.prefix(32).map { name in
            let kept = String(String.UnicodeScalarView(name.unicodeScalars.filter(alphabet.contains).prefix(40)))
            return kept.isEmpty ? "?" : kept
        }.joined(separator: ",")
    }

    /// Hex SHA-256 of the request's canonical text.
    static func digest(_ request: Request) -> String {
        let text = [
            "enrolld-release-request-v1", request.id.uuidString, request.verifierID, request.purpose,
            request.elements.joined(separator: ","),
        ].joined(separator: "\n")
        return ((try? Digest.hash(Array(text.utf8), using: .sha256)) ?? []).map { String(format: "%02x", $0) }
            .joined()
    }

    private func sweep(_ state: inout State, at: Date) {
        let closing = state.presentations.values.filter {
            at.timeIntervalSince($0.openedAt) > max(settings.presentationLifetime, settings.requestLifetime)
        }
        for presentation in closing {
            state.presentations[presentation.id] = nil
            for request in presentation.requests { state.requestIndex[request.id] = nil }
        }
    }

    func record(
        accountID: UUID?, event: String, actor: UsageActor, outcome: String = "ok", detail: String
    ) throws(EnrollmentError) {
        let at = now()
        try store.domainTransaction { tx in
            try UsageChain.append(
                tx, at: at, accountID: accountID, event: event, actor: actor, outcome: outcome, detail: detail)
        }
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

/// The signed document of a release.
public struct ReleaseDocument: Codable, Sendable, Equatable {
    public var verifierId: String
    public var requestId: String
    public var releasedAt: String
    public var elements: [String: ReleasedValue]
}

extension AccountService {
    /// The account's sealed card-face data, tier and status, for a release.
    func releaseFacts(accountID: UUID) throws(EnrollmentError) -> (personal: PersonalData, tier: String, status: String)
    {
        var found = try transaction { tx throws(StoreError) in try tx.account(id: accountID) }
        if found != nil, let lifecycle { found = try lifecycle.refreshedAccount(id: accountID) }
        guard let account = found else { throw .accountNotFound(accountID) }
        do {
            let plaintext = try protector.open(account.sealedPersonalData, context: account.id.uuidString)
            let personal = try JSONDecoder().decode(PersonalData.self, from: Data(plaintext))
            return (personal, account.tier.rawValue, account.status.rawValue)
        } catch {
            throw EnrollmentError(.personalDataUnreadable, "the account's sealed data cannot be opened")
        }
    }
}
