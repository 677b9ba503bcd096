import EnrollAPIModel
import UnixHTTP
import CSystem
import CertificateAuthority
import Enrollment
import FaceMatch
import Foundation
import IssuingStates
import Synchronization
import MRTD
import SmartCard
import Store

/// The version reported by `enrolld --version` and `/v1/health`.
public let enrolldVersion = "0.1.0"

/// The running daemon: the reader watcher, the event hub, the enrollment services and the API, wired together
/// from a configuration and an environment of ports (`DaemonEnvironment`).
public final class Daemon: Sendable {
    public let configuration: Configuration
    public let environment: DaemonEnvironment
    public let events: EventHub
    public let monitor: any ReaderWatching
    public let cardReader: CardReadService
    public let faces: any FaceComparator
    /// The one replay cache of this daemon: photos and frames of every session (digests and embeddings), checked in
    /// the photo step, in `POST /v1/faces/compare` and by the liveness checker.
    public let replayGuard: ReplayGuard
    /// Reads the access key from a photo of the card.
    public let cardScanner: CardScanService
    /// Counters and timings served on `GET /metrics`.
    public let metrics = Metrics()
    private let started: Date
    /// Test benches only: where to freeze the process for a crash test (`ENROLLD_TEST_STOP_AT`).
    let crashPoints: CrashPoints
    /// Other jurisdictions' trust lists (`[trust_list]`), loaded by `prepare()`.
    let trustLists: ImportedTrustLists

    /// What `prepare()` sets up, and the server once started.
    private struct State {
        var prepared = false
        var enrollment: EnrollmentService?
        var accounts: AccountService?
        var lifecycle: IdentityLifecycle?
        var status: CertificateStatusPublisher?
        /// Why OCSP and the CRL are not published while enrollment is (a CA that can no longer sign them).
        var statusUnavailableReason: String?
        var authority: IssuingAuthority?
        /// Bulk renewal under the current CA key (`POST /v1/certificates/renewals`).
        var renewal: CertificateRenewal?
        var unavailableReason = "enrollment is not set up"
        var server: UnixSocketServer?
        /// Data release by consent: the registry, the presentations and requests, the verifiers' TLS listener.
        var registry: VerifierRegistry?
        var releases: ReleaseDesk?
        var verifierListener: VerifierListener?
        var stopping = false
        /// Signs the usage chain's head into the journal; the last head it signed.
        var headSigner: ChainHeadSigner?
        var lastSignedHead: UsageChain.ChainHead?
        var lastSignedAt = Date.distantPast
        /// Delivers the outbox, when a transport is configured.
        var outbox: OutboxWorker?
    }

    private let state = Mutex(State())
    /// Open event streams by uid (`api.max_event_streams_per_uid`).
    private let eventStreams = Mutex<[UInt32: Int]>([:])

    public init(
        configuration: Configuration, environment: DaemonEnvironment? = nil,
        crashPoints: CrashPoints = .disabled
    ) {
        let environment = environment ?? .production(configuration)
        self.configuration = configuration
        self.environment = environment
        self.crashPoints = crashPoints
        started = environment.now()
        let events = EventHub(byteLimit: configuration.eventQueueBytes)
        self.events = events
        cardReader = CardReadService(
            events: events, terminal: environment.terminal,
            trust: TrustAnchors.loadLogged(
                directory: configuration.resolvedTrustDirectory,
                policy: configuration.authenticityPolicy,
                passivePolicy: configuration.passiveAuthenticationPolicy),
            readTimeout: configuration.readTimeoutSeconds,
            accessPolicy: configuration.accessPolicy)
        faces = environment.faces
        trustLists = ImportedTrustLists(
            directory: configuration.resolvedTrustListDirectory,
            signerFiles: configuration.trustListSigners, now: environment.now)
        replayGuard = ReplayGuard(configuration: configuration.replayGuardConfiguration)
        cardScanner = CardScanService(configuration: environment.cardScan)
        monitor = environment.readers(configuration.pcscRetrySeconds) { event in
            Daemon.publish(event, to: events)
        }
        metrics.follow(events)
    }

    /// Set up by `prepare()` when the store and the CA are usable.
    public var enrollment: EnrollmentService? { state.withLock { $0.enrollment } }
    public var accounts: AccountService? { state.withLock { $0.accounts } }
    public var lifecycle: IdentityLifecycle? { state.withLock { $0.lifecycle } }
    /// The outbox worker, when `[outbox]` configures a transport.
    var outbox: OutboxWorker? { state.withLock { $0.outbox } }
    /// The OCSP responder and the CRL cache, set up by `prepare()` with the CA.
    var certificateStatus: CertificateStatusPublisher? { state.withLock { $0.status } }
    /// Why `certificateStatus` is nil: enrollment is not set up, or the CA cannot sign status.
    var certificateStatusUnavailableReason: String {
        state.withLock { $0.statusUnavailableReason ?? $0.unavailableReason }
    }
    var authority: IssuingAuthority? { state.withLock { $0.authority } }
    public var verifierRegistry: VerifierRegistry? { state.withLock { $0.registry } }
    public var releases: ReleaseDesk? { state.withLock { $0.releases } }
    /// The verifiers' TLS listener, once started.
    public var verifierListener: VerifierListener? { state.withLock { $0.verifierListener } }
    func keepVerifierListener(_ listener: VerifierListener) { state.withLock { $0.verifierListener = listener } }
    var renewal: CertificateRenewal? { state.withLock { $0.renewal } }
    /// Why the enrollment routes answer 503, when they do.
    var enrollmentUnavailableReason: String { state.withLock { $0.unavailableReason } }

    /// Maps a reader event to its API event and log line (reader names and ATRs are not personal data).
    static func publish(_ event: ReaderEvent, to hub: EventHub) {
        switch event {
        case let .readerAdded(name):
            Log.info("reader added: \(name)")
            hub.publish(.readerAdded(name))
        case let .readerRemoved(name):
            Log.info("reader removed: \(name)")
            hub.publish(.readerRemoved(name))
        case let .cardInserted(reader, atr):
            Log.info("card inserted in \(reader)")
            hub.publish(.cardInserted(reader, atr: hex(atr)))
        case let .cardRemoved(reader):
            Log.info("card removed from \(reader)")
            hub.publish(.cardRemoved(reader))
        case .serviceLost:
            Log.warning("pcscd is not reachable; retrying")
            hub.publish(
                DaemonEvent(type: .pcscUnavailable, detail: "pcscd is not running; readers will reappear when it is"))
        case .serviceAvailable:
            Log.notice("connected to pcscd")
            hub.publish(DaemonEvent(type: .pcscAvailable))
        }
    }

    /// The API's routes.
    public func makeRouter() -> Router {
        let roles = configuration.roles.resolved()
        for problem in roles.unknown { Log.warning(problem) }
        var router = Router(
            authorizer: RequestAuthorizer(roles: roles) { [unowned self] accountID, context throws(Problem) in
                try proveHolder(accountID, context)
            })
        router.add(Route("GET", "/v1/health", .respond { [unowned self] _ in .json(health()) }))
        router.add(Route("GET", "/v1/readers", .respond { [unowned self] _ in .json(readerList()) }))
        router.add(
            Route(
                "POST", "/v1/cards/read",
                .respond { [unowned self] context throws(Problem) in
                    let request = try context.decodeBody(CardReadRequest.self)
                    let reader = try usableReader(request.reader, context)
                    let scanned = try cardScanner.keys(of: request.accessKey)
                    var keys: [AccessKey] = scanned ?? []
                    if scanned == nil { keys = [try request.accessKey.accessKey()] }
                    let read = try cardScanner.firstAccepted(keys, fromPhoto: scanned != nil) {
                        access throws(Problem) in
                        do throws(CardReadFailure) {
                            return try cardReader.read(reader: reader, access: access, options: request.readerOptions)
                        } catch {
                            throw Problem(error)
                        }
                    }
                    return .json(
                        CardFaceResponse(
                            reader: request.reader, data: read.data, result: read.result, verdict: read.verdict,
                            milliseconds: read.milliseconds, includePortrait: request.includePortrait ?? false))
                }))
        router.add(
            Route(
                "POST", "/v1/cards/scan",
                .respond { [unowned self] context throws(Problem) in
                    try context.decodeBody(CardScanRequest.self).withImageBytes { image throws(Problem) in
                        .json(CardScanResponse(try cardScanner.scan(image: image)))
                    }
                }))
        router.add(
            Route(
                "POST", "/v1/cards/probe",
                .respond { [unowned self] context throws(Problem) in
                    let request = try context.decodeBody(CardProbeRequest.self)
                    let reader = try usableReader(request.reader, context)
                    let access = try request.accessKey?.accessKey()
                    do throws(CardReadFailure) {
                        return .json(try cardReader.probe(reader: reader, access: access))
                    } catch {
                        throw Problem(error)
                    }
                }))
        router.add(
            Route(
                "POST", "/v1/faces/compare",
                .respond { [unowned self] context throws(Problem) in
                    let images = try context.decodeBody(FaceCompareRequest.self).images()
                    let started = DispatchTime.now().uptimeNanoseconds
                    defer {
                        metrics.observeFaceMatch(seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
                    }
                    // The replay check's session here is the caller: the same kiosk may compare a photo again, another
                    // kiosk's photos and frames, and every enrollment's, count as used elsewhere.
                    let replay = PhotoReplayCheck(replayGuard: replayGuard, now: environment.now)
                    let session = "faces-compare:uid:\(context.peer.uid)"
                    try replay.screen(reference: images.reference, probe: images.probe, session: session)
                    let comparison: FaceComparison
                    do throws(FaceMatchError) {
                        comparison = try faces.compare(
                            reference: images.reference, probe: images.probe,
                            caller: context.peer.uid)
                    } catch {
                        throw Problem(error)
                    }
                    try replay.check(comparison, reference: images.reference, probe: images.probe, session: session)
                    return .json(FaceCompareResponse(comparison))
                }))
        router.add(
            Route(
                "POST", "/v1/trust/reload",
                .respond { [unowned self] _ in
                    reload()
                    return .json(["cscaCertificates": cardReader.trust.cscaCount])
                }))
        addEnrollmentRoutes(to: &router)
        addTrustRoutes(to: &router)
        addAccountRoutes(to: &router)
        addVerifierRegistryRoutes(to: &router)
        addPresentationRoutes(to: &router)
        addRenewalRoutes(to: &router)
        addCertificateStatusRoutes(to: &router)
        addTrustListRoutes(to: &router)
        addLifecycleRoutes(to: &router)
        addOutboxRoutes(to: &router)
        router.add(
            Route(
                "GET", "/metrics",
                .respond { [unowned self] _ in
                    HTTPResponse(
                        status: 200, headers: [("Content-Type", Metrics.contentType)], body: Array(metricsText().utf8))
                }))
        router.add(
            Route(
                "GET", "/v1/events",
                .stream { [unowned self] context, connection in
                    streamEvents(context, connection)
                }))
        return router
    }

    public func health() -> Health {
        Health(
            status: "ok", version: enrolldVersion, pcscAvailable: monitor.serviceAvailable,
            readers: monitor.snapshot.count, uptimeSeconds: Int(environment.now().timeIntervalSince(started)))
    }

    /// The Prometheus exposition served on `GET /metrics`.
    public func metricsText() -> String {
        metrics.render(
            readersPresent: monitor.snapshot.count, pcscAvailable: monitor.serviceAvailable,
            version: enrolldVersion, uptimeSeconds: environment.now().timeIntervalSince(started),
            cardActivity: CardActivity(
                activeReads: cardReader.activeReads,
                openConnections: environment.terminal.openConnections),
            apiConnections: state.withLock { $0.server?.openConnections ?? 0 },
            enrollmentSessions: enrollment?.openSessions ?? 0,
            apiRefusals: Dictionary(
                uniqueKeysWithValues: ConnectionRefusal.allCases.map {
                    ($0.rawValue, apiRefusals?[$0] ?? 0)
                }))
    }

    /// API connections the server turned away or cut short, by reason; nil before `start`.
    public var apiRefusals: [ConnectionRefusal: Int]? { state.withLock { $0.server?.refusals } }

    public func readerList() -> ReaderList {
        ReaderList(
            pcscAvailable: monitor.serviceAvailable,
            readers: monitor.snapshot.map {
                ReaderInfo(name: $0.name, cardPresent: $0.cardPresent, atr: $0.cardPresent ? hex($0.atr) : nil)
            })
    }

    /// Server-Sent Events: one `event:`/`id:`/`data:` block per event, keep-alive comments
    /// between them, a comment when events were dropped for a slow reader; the stream ends when the client leaves
    /// (or stops reading for `api.send_timeout_seconds`) or the daemon stops. A uid holds at most
    /// `api.max_event_streams_per_uid` streams.
    private func streamEvents(_ context: RequestContext, _ connection: HTTPConnection) {
        let uid = context.peer.uid
        let limit = configuration.maxEventStreamsPerUID
        let admitted = eventStreams.withLock { streams in
            guard streams[uid, default: 0] < limit else { return false }
            streams[uid, default: 0] += 1
            return true
        }
        guard admitted else {
            var response = HTTPResponse.problem(
                Problem(
                    .tooManyEventStreams,
                    detail: "uid \(uid) already holds its maximum of \(limit) event streams: close "
                        + "one (or share one stream between the kiosk's components), then retry"))
            response.headers.append(("Retry-After", "5"))
            connection.respond(response)
            return
        }
        defer {
            eventStreams.withLock { streams in
                streams[uid, default: 1] -= 1
                if streams[uid] == 0 { streams[uid] = nil }
            }
        }
        let subscription = events.subscribe()
        defer { subscription.cancel() }
        let headers = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store")]
        guard connection.startStream(headers: headers) else { return }
        guard connection.write(Array(": enrolld events\nretry: 2000\n\n".utf8)) else { return }
        var reportedDrops = 0
        while true {
            switch subscription.take(timeout: configuration.eventKeepAliveSeconds) {
            case let .item(item):
                let dropped = subscription.dropped
                if dropped > reportedDrops {
                    guard connection.write(Array(": \(dropped - reportedDrops) event(s) dropped: read faster\n\n".utf8))
                    else { return }
                    reportedDrops = dropped
                }
                guard connection.write(item.frame) else { return }
            case .timeout:
                guard connection.write(Array(": keep-alive\n\n".utf8)) else { return }
            case .closed:
                return
            }
        }
    }

    /// Decides each API connection as it is accepted: a caller in no role (unless `[roles] public` lets it in for
    /// the routes anyone may call) is answered `403 no-role` and closed before it can send a byte (it holds no slot, however slowly it would have written); operators and admins may
    /// take the reserved slots.
    static func admission(_ roles: ResolvedRoles) -> UnixSocketServer.Admission {
        { peer in
            guard let role = roles.role(of: peer) else {
                // The router still answers such a caller `no-role` on every route that needs a role.
                if roles.admitsWithoutRole(peer) { return .admit(privileged: false) }
                return .refuse(.problem(RequestAuthorizer.noRoleProblem(peer)))
            }
            return .admit(privileged: role >= .operator)
        }
    }

    /// Starts the monitor and the API on the configured socket, or on a socket passed by
    /// systemd (`LISTEN_FDS`).
    public func start(listeningDescriptor: Int32? = nil) throws(SocketError) {
        Self.limitMallocArenas()
        let router = makeRouter()
        let limits = HTTPLimits(
            maxHeaderBytes: 8 * 1024, maxHeaderCount: 64,
            maxBodyBytes: configuration.maxRequestBodyBytes,
            routeBodyLimits: [
                RouteBodyLimit(
                    method: "POST", path: "/v1/enrollments/*/liveness",
                    maxBodyBytes: configuration.livenessBodyBytes)
            ])
        let crashPoints = self.crashPoints
        let handler: UnixSocketServer.Handler = { request, connection in
            router.handle(request, connection)
            if request.method == "POST", request.pathSegments.count == 4, request.pathSegments[1] == "enrollments",
                request.pathSegments[3] == "complete"
            {
                crashPoints.reach(.responseSent)
            }
        }
        let server: UnixSocketServer
        if let fd = listeningDescriptor {
            server = UnixSocketServer(listeningDescriptor: fd, limits: limits, handler: handler)
        } else {
            let directory = (configuration.socketPath as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var group: gid_t?
            if let name = configuration.socketGroup {
                guard let id = Daemon.groupID(name) else { throw .unknownGroup(name) }
                group = id
            }
            server = try UnixSocketServer(
                path: configuration.socketPath, mode: mode_t(configuration.socketMode),
                group: group, limits: limits, handler: handler)
        }
        server.connectionLimits = configuration.connectionLimits
        server.admission = Self.admission(configuration.roles.resolved())
        state.withLock { $0.server = server }
        prepare()
        if configuration.verifierListenerEnabled {
            do {
                try startVerifierListener()
            } catch {
                server.stop()
                throw .system(call: "verifier listener: \(error)", path: configuration.verifierAddress, code: EINVAL)
            }
        }
        monitor.start()
        server.start()
        // Load the face models now rather than on the first kiosk request (about a second).
        Thread.detachNewThread { [faces] in faces.warmUp() }
        Log.notice("enrolld \(enrolldVersion) listening on \(server.path)")
    }

    /// One thread per API connection and large image buffers (photos, decoded faces) made glibc open a malloc
    /// arena for nearly every busy thread, up to 8 per core, each keeping what it once held: under
    /// `enroll-bench load` RSS crept up 13% in ten minutes in steps of ~3 MiB. Two arenas keep it flat (about 1%)
    /// at no measurable cost on kiosk hardware. `MALLOC_ARENA_MAX` in the environment still decides.
    static func limitMallocArenas() {
        if enrolld_limit_malloc_arenas(2) != 0 { Log.warning("could not limit malloc arenas; RSS may grow under load") }
    }

    /// Opens the store and the CA, recovers from an interrupted run and starts the enrollment services and their
    /// sweeper, once; when either is unusable the enrollment routes answer 503 with the reason, and the rest of
    /// the API still works. `start` calls it; in-process tests call it before `makeRouter()`.
    public func prepare() {
        guard
            state.withLock({ state in
                defer { state.prepared = true }
                return !state.prepared
            })
        else { return }
        let lists = trustLists.load()
        if lists > 0 { Log.info("trust lists: \(lists) jurisdiction(s) recognised") }
        do {
            let services = try makeServices()
            let stopping = state.withLock { state -> Bool in
                state.enrollment = services.enrollment
                state.accounts = services.accounts
                state.lifecycle = services.lifecycle
                state.outbox = services.outbox
                state.status = services.status.publisher
                state.statusUnavailableReason = services.status.reason
                state.authority = services.authority
                state.renewal = CertificateRenewal(
                    store: services.enrollment.store, authority: services.authority,
                    statusObserver: services.status.publisher, now: environment.now)
                let release = makeReleaseServices(services.enrollment.store, services.accounts, services.authority)
                state.registry = release.registry
                state.releases = release.desk
                return state.stopping
            }
            if !stopping {
                services.status.publisher?.start()
                services.outbox?.start()
            }
            startSweeper(services.enrollment, services.lifecycle)
            Log.info(
                "enrollment ready: store \(services.enrollment.store.location), CA "
                    + configuration.resolvedCADirectory)
        } catch let error as CertificateAuthorityError {
            let reason = "the certificate authority is not usable: \(error)"
            state.withLock { $0.unavailableReason = reason }
            Log.warning(reason)
        } catch {
            // The cause (paths, database hosts, driver messages) goes to the log only; callers get the incident id.
            let incident = Problem.newIncidentID()
            state.withLock {
                $0.unavailableReason =
                    "enrollment storage is not usable (incident \(incident)): an administrator must "
                    + "check the daemon's log for that incident"
            }
            Log.error("incident \(incident): enrollment storage is not usable: \(error)")
        }
    }

    private func makeServices() throws -> (
        enrollment: EnrollmentService, accounts: AccountService,
        lifecycle: IdentityLifecycle,
        status: (publisher: CertificateStatusPublisher?, reason: String?),
        authority: IssuingAuthority, outbox: OutboxWorker?
    ) {
        let directory = configuration.stateDirectory
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let protector = try DataProtector(stateDirectory: directory)
        let store = try environment.openStore(configuration, protector)
        try keyUsageChain(store, protector: protector)
        let signer = try ChainHeadSigner.load(keysDirectory: directory + "/keys", host: IdentityLifecycle.hostName())
        state.withLock { $0.headSigner = signer }
        let authority = try environment.loadAuthority(configuration)
        let besideKey = configuration.resolvedCADirectory + "/" + CAStore.passphraseFileName
        if let credential = configuration.caPassphraseCredential, FileManager.default.fileExists(atPath: besideKey) {
            Log.warning(
                "the CA passphrase comes from credential \(credential), but \(besideKey) still opens the key: "
                    + "remove it (shred -u) once the credential works")
        }
        // A CA that can no longer sign its responder certificate or CRL (expired) still loads: the completions
        // then refuse with the CA's own reason, and OCSP and the CRL say why they are not published.
        let status: CertificateStatusPublisher?
        var statusReason: String?
        do {
            status = try CertificateStatusPublisher.make(
                authority: authority, store: store,
                configuration: configuration, now: environment.now)
        } catch {
            status = nil
            statusReason = "certificate status is not published: \(error)"
            Log.warning(statusReason ?? "")
        }
        var policy = EnrollmentPolicy()
        policy.requireGenuineDocument = configuration.requireGenuineDocument
        policy.refuseExpiredDocuments = configuration.refuseExpiredDocuments
        policy.signingMinimumAge = configuration.signingMinimumAge
        policy.maxPhotoAttempts = configuration.maxPhotoAttempts
        policy.sessionTimeout = configuration.sessionTimeoutSeconds
        policy.certificateValidityYears = configuration.certificateValidityYears
        policy.registrationMinimumAge = configuration.registrationMinimumAge
        policy.acceptedStates = Set(configuration.acceptedStates.map(IssuingStateCodes.normalised))
        policy.identityRules = configuration.identityRules
        policy.livenessRequiredFor = configuration.livenessRequiredFor
        policy.maxLivenessAttempts = configuration.livenessMaxAttempts
        policy.livenessChallengeLifetime = configuration.livenessChallengeSeconds
        policy.livenessPrompts =
            configuration
            .livenessMinPrompts...max(
                configuration.livenessMinPrompts,
                configuration.livenessMaxPrompts)
        policy.activation = configuration.activationPolicy
        if configuration.activation == .required && configuration.messageTransports.isEmpty {
            Log.warning(
                "[enrollment] activation = required, but [outbox] configures no transport (smtp_host, "
                    + "sms_gateway_url): signing accounts are usable without activation until one is configured")
        }
        let transports = try configuration.messageTransportsForDelivery()
        let events = self.events
        let sealing = StoreDataProtecting(protector: protector)
        let enrollment = EnrollmentService(
            store: store, policy: policy, cards: DaemonCardReading(service: cardReader),
            faces: TimedFaceComparing(
                base: DaemonFaceComparing(
                    faces: faces,
                    replay: PhotoReplayCheck(
                        replayGuard: replayGuard, now: environment.now)), metrics: metrics),
            liveness: DaemonLivenessChecking(faces: faces, replayGuard: replayGuard),
            issuer: CountingCertificateIssuing(
                base: AuthorityIssuing(authority: authority, now: environment.now),
                metrics: metrics),
            protector: sealing, now: environment.now, random: environment.randomBytes,
            publish: { event in events.publish(event) }, crashPoints: crashPoints, statusObserver: status)
        try recover(enrollment)
        let metrics = self.metrics
        let lifecycle = IdentityLifecycle(
            store: store, policy: configuration.lifecyclePolicy, protector: sealing,
            now: environment.now, statusObserver: status,
            onPasscodeEvent: { event in
                metrics.record(event)
                if case let .callerLockedOut(actor, until) = event {
                    Log.warning(
                        "passcode entries exhausted: \(actor.role) uid \(actor.uid) (channel \(actor.channel)) may "
                            + "enter no passcode until \(ISO8601DateFormatter().string(from: until))")
                }
            }, onActivationEvent: { event in metrics.record(event) })
        var outbox: OutboxWorker?
        if !transports.isEmpty {
            var settings = OutboxWorker.Settings()
            settings.maxAttempts = configuration.outboxMaxAttempts
            settings.retryBase = configuration.outboxRetrySeconds
            outbox = OutboxWorker(
                store: store, transports: transports,
                templates: MessageTemplates(directory: configuration.messageTemplatesDirectory), protector: sealing,
                metrics: metrics, settings: settings, now: environment.now, crashPoints: crashPoints)
        }
        let accounts = AccountService(
            store: store, protector: sealing, lifecycle: lifecycle,
            tierNames: (configuration.basicTierName, configuration.signingTierName),
            now: environment.now, statusObserver: status, identityRules: configuration.identityRules)
        return (enrollment, accounts, lifecycle, (status, statusReason), authority, outbox)
    }

    /// Keys the usage chain (the migration of an unkeyed one: nothing is rewritten; the first keyed record anchors
    /// the records before it), or proves this host holds the key the chain was keyed with.
    private func keyUsageChain(_ store: any Store, protector: DataProtector) throws {
        let check = try protector.usageChainKeyCheck()
        let before = try store.transaction { tx throws(StoreError) in try UsageChain.keyedFrom(tx) }
        let keyedFrom = try store.transaction { tx throws(StoreError) in
            try UsageChain.prepareKeying(tx, keyCheck: check)
        }
        guard let keyedFrom else { return }
        if before == nil && keyedFrom > 1 {
            Log.notice(
                "usage chain keyed from record \(keyedFrom) on (HMAC-SHA-256, keys/usage-chain.key): records "
                    + "1-\(keyedFrom - 1) keep their SHA-256 hashes, anchored by record \(keyedFrom)")
        }
    }

    /// Signs the usage chain's head and logs it (and sends it to syslog when configured) when the chain grew since
    /// the last signed head, or an hour passed; `force` signs now (start, shutdown).
    func signChainHead(force: Bool = false) {
        guard let store = enrollment?.store else { return }
        let (signer, last, lastAt) = state.withLock { ($0.headSigner, $0.lastSignedHead, $0.lastSignedAt) }
        guard let signer else { return }
        do {
            guard let head = try UsageChain.currentHead(store) else { return }
            let now = Date()
            guard force || head != last || now.timeIntervalSince(lastAt) >= 3600 else { return }
            let signed = try signer.sign(sequence: head.sequence, hash: head.hash, keyedFrom: head.keyedFrom, at: now)
            state.withLock {
                $0.lastSignedHead = head
                $0.lastSignedAt = now
            }
            Log.notice(signed.line)
            if configuration.auditSyslog { enrolld_syslog(LOG_AUTHPRIV | LOG_NOTICE, signed.line) }
        } catch {
            Log.warning("could not sign the usage chain's head: \(error)")
        }
    }

    /// Trusted signers of chain heads: this daemon and the public keys in `[audit] head_keys_directory`.
    func chainHeadTrust() -> ChainHeadTrust {
        let loaded = ChainHeadTrust.load(
            own: state.withLock { $0.headSigner },
            directory: configuration.resolvedAuditHeadKeysDirectory)
        for path in loaded.skipped { Log.warning("audit head key \(path) is not a PEM public key: skipped") }
        return loaded.trust
    }

    /// A fleet shares the store: only what no live daemon can still be working on is a leftover, and any daemon's
    /// sweep cleans up after a host that crashed and stayed down.
    private func leftoverCutoff() -> Date? {
        guard configuration.storeBackend == .postgresql else { return nil }
        return environment.now().addingTimeInterval(-(configuration.sessionTimeoutSeconds + 60))
    }

    private func recover(_ service: EnrollmentService) throws(EnrollmentError) {
        let recovered = try service.recoverInterrupted(startedBefore: leftoverCutoff())
        if recovered.sessions + recovered.intents > 0 {
            Log.warning(
                "recovered from an interrupted run: \(recovered.sessions) session(s) failed, "
                    + "\(recovered.intents) certificate intent(s) abandoned")
        }
    }

    /// Expires stale sessions every second; marks expired documents' accounts (and, on a shared store, recovers
    /// crashed hosts' leftovers) every `expiry_sweep_seconds`.
    private func startSweeper(_ service: EnrollmentService, _ lifecycle: IdentityLifecycle) {
        let sweepInterval = configuration.expirySweepSeconds
        let headInterval = configuration.auditHeadIntervalSeconds
        let sweeper = Thread { [weak self] in
            var lastSweep = Date.distantPast
            var lastHead = Date.distantPast
            var lastActivationSweep = Date.distantPast
            while let self, !self.isStopping {
                service.expireStale()
                if Date().timeIntervalSince(lastActivationSweep) >= 5 {
                    lastActivationSweep = Date()
                    do {
                        let ended = try lifecycle.expireActivations()
                        if ended > 0 { Log.notice("activation sweep: \(ended) activation(s) expired") }
                    } catch {
                        Log.warning("activation sweep failed: \(error)")
                    }
                }
                if Date().timeIntervalSince(lastHead) >= headInterval {
                    self.signChainHead(force: lastHead == .distantPast)
                    lastHead = Date()
                }
                if Date().timeIntervalSince(lastSweep) >= sweepInterval {
                    lastSweep = Date()
                    do {
                        let expired = try lifecycle.sweepExpired()
                        if expired > 0 { Log.notice("expiry sweep: \(expired) account(s) now expired") }
                    } catch {
                        Log.warning("expiry sweep failed: \(error)")
                    }
                    if self.leftoverCutoff() != nil {
                        do { try self.recover(service) } catch { Log.warning("recovery sweep failed: \(error)") }
                    }
                }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        sweeper.name = "enrolld.session-sweeper"
        sweeper.start()
    }

    var isStopping: Bool { state.withLock { $0.stopping } }

    /// Re-reads what can change while running: the CSCA trust store.
    public func reload() {
        let count = cardReader.trust.reloadLogged()
        Log.notice("reloaded: \(count) CSCA certificate(s) trusted")
        events.publish(.trustStoreReloaded(cscaCertificates: count))
    }

    /// Graceful shutdown: stop accepting, end event streams, stop watching readers, stop the OCSP and CRL
    /// refreshers and the status poll.
    public func stop() {
        let (server, status) = state.withLock { state -> (UnixSocketServer?, CertificateStatusPublisher?) in
            guard !state.stopping else { return (nil, nil) }
            state.stopping = true
            return (state.server, state.status)
        }
        status?.stop()
        outbox?.stop()
        verifierListener?.stop()
        guard let server else { return }
        Log.notice("shutting down")
        signChainHead(force: true)
        server.stop()
        events.close()
        monitor.stop()
    }

    static func groupID(_ name: String) -> gid_t? {
        if let number = gid_t(name) { return number }
        guard let entry = getgrnam(name) else { return nil }
        return entry.pointee.gr_gid
    }
}
