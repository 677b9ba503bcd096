import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// docs/openapi.json against the code: the router's routes and roles, the problem catalogue, the event kinds, the
/// wire types' members, and what the router answers in process. A failure names what to add to the document (or
/// to these tests' samples) when a route, problem code, event kind or wire type is new.
final class OpenAPIDocumentTests: XCTestCase {
    private var document: OpenAPIDocument!
    private var directory: URL!
    /// Kept alive: the router's handlers hold the daemon unowned.
    private var daemon: Daemon!
    private var router: Router!

    override func setUpWithError() throws {
        document = try OpenAPIDocument.load()
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "enrolld-openapi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = try Configuration.parse(
            """
            [roles]
            kiosk = uid:4001
            admin = uid:4003
            """)
        configuration.stateDirectory = directory.path
        configuration.socketPath = directory.appendingPathComponent("api.sock").path
        daemon = Daemon(configuration: configuration)
        router = daemon.makeRouter()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private var file: String { OpenAPIDocument.path }

    // MARK: - The document is an OpenAPI 3.1 document of this daemon

    func testTheDocumentIsOpenAPI31AndNamesTheSocketTransport() throws {
        XCTAssertEqual(document.root["openapi"]?.string, "3.1.0")
        XCTAssertEqual(
            document.root["info"]?["version"]?.string, enrolldVersion,
            "\(file) info.version is the daemon's version")
        let transport = try XCTUnwrap(document.root["x-enrolld-transport"])
        XCTAssertEqual(transport["protocol"]?.string, "HTTP/1.1")
        XCTAssertEqual(transport["socket"]?.string, Configuration().socketPath, "the default socket")
        let description = document.root["info"]?["description"]?.string ?? ""
        XCTAssertTrue(description.contains("--unix-socket \(Configuration().socketPath)"), "how to reach the socket")
    }

    // MARK: - Routes and roles

    func testEveryRouteOfTheRouterIsDocumentedWithItsRoleAndNothingElse() {
        let documented = Dictionary(document.operations.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for route in router.routes {
            guard let operation = documented[route.name] else {
                XCTFail(
                    "\(file) lacks \(route.name): add paths[\"/\(route.pattern.joined(separator: "/"))\"]"
                        + "[\"\(route.method.lowercased())\"] with \"x-enrolld-role\": \"\(route.access.rawValue)\", "
                        + "its body, responses and problems")
                continue
            }
            XCTAssertEqual(operation.role, route.access.rawValue, "\(file): x-enrolld-role of \(route.name)")
        }
        let routes = Set(router.routes.map(\.name))
        for operation in document.operations where !routes.contains(operation.name) {
            XCTFail("\(file) documents \(operation.name), which the router does not serve: remove it")
        }
        let ids = document.operations.compactMap { $0.body["operationId"]?.string }
        XCTAssertEqual(ids.count, document.operations.count, "every operation has an operationId")
        XCTAssertEqual(Set(ids).count, ids.count, "operationIds are unique")
    }

    /// Holder routes take the proof headers, every route with a role the role header; the problems follow the role.
    func testEachOperationCarriesTheHeadersAndProblemsOfItsRole() {
        let roleCodes = ["no-role", "role-not-granted", "invalid-role"]
        let holderCodes = ["holder-proof-required", "reverification-required", "passcode-wrong", "passcode-locked"]
        for operation in document.operations {
            let parameters = (operation.body["parameters"]?.array ?? []).map { document.dereferenced($0) }
            let headers = Set(parameters.filter { $0["in"]?.string == "header" }.compactMap { $0["name"]?.string })
            let codes = Set(document.problems(of: operation).values.joined())
            switch operation.role {
            case "anyone":
                XCTAssertFalse(headers.contains("X-Enrolld-Role"), "\(operation.name) needs no role")
                XCTAssertTrue(codes.isDisjoint(with: roleCodes), "\(operation.name) needs no role")
            case "kiosk", "holder", "operator", "admin":
                XCTAssertTrue(headers.contains("X-Enrolld-Role"), "\(file): \(operation.name) takes RoleHeader")
                XCTAssertTrue(codes.isSuperset(of: roleCodes), "\(file): \(operation.name) answers \(roleCodes)")
            default:
                XCTFail(
                    "\(file): \(operation.name) has x-enrolld-role \(operation.role ?? "nil"); use one of "
                        + RouteAccess.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if operation.role == "holder" {
                XCTAssertTrue(
                    headers.isSuperset(of: ["X-Enrolld-Enrollment", "X-Enrolld-Passcode", "X-Enrolld-Channel"]),
                    "\(file): \(operation.name) takes the holder's proof headers (\(headers.sorted()))")
                XCTAssertTrue(codes.isSuperset(of: holderCodes), "\(file): \(operation.name) answers \(holderCodes)")
            }
            let needsRoleRequired = operation.role == "operator" || operation.role == "admin"
            XCTAssertEqual(codes.contains("role-required"), needsRoleRequired, "\(operation.name): role-required")
            XCTAssertEqual(
                operation.responses["default"]?["$ref"]?.string, "#/components/responses/CommonProblem",
                "\(file): \(operation.name) has the default response CommonProblem")
        }
    }

    // MARK: - The problem catalogue

    func testTheProblemCatalogueIsTheCodesCatalogue() throws {
        let schema = try XCTUnwrap(document.schemas["ProblemCode"], "\(file) has components.schemas.ProblemCode")
        XCTAssertEqual(
            schema["enum"]?.strings, ProblemCode.all.map(\.code),
            "\(file) ProblemCode.enum lists ProblemCode.all, in its order")
        let entries = schema["x-enrolld-catalogue"]?.array ?? []
        let documented = Dictionary(
            entries.compactMap { entry in entry["code"]?.string.map { ($0, entry) } },
            uniquingKeysWith: { first, _ in first })
        for kind in ProblemCode.all {
            let expected = JSONValue.object([
                "code": .string(kind.code), "status": .integer(Int64(kind.status)),
                "title": .string(kind.title), "action": .string(kind.action),
            ])
            XCTAssertEqual(
                documented[kind.code], expected,
                "\(file) ProblemCode.x-enrolld-catalogue: add or correct \(expected)")
        }
        let known = Set(ProblemCode.all.map(\.code))
        for code in documented.keys where !known.contains(code) {
            XCTFail("\(file) catalogues \(code), which ProblemCode.all does not: remove it")
        }
        XCTAssertEqual(entries.count, ProblemCode.all.count, "each code once")
    }

    /// Every catalogued code is answered by some route (or by any request), or is marked as one the API does not
    /// answer; and each response lists its codes under their own status.
    func testEveryProblemCodeIsAnsweredSomewhereUnderItsStatus() throws {
        let status = Dictionary(
            ProblemCode.all.map { ($0.code, String($0.status)) }, uniquingKeysWith: { first, _ in first })
        var answered: [String: [String]] = [:]
        for operation in document.operations {
            for (key, codes) in document.problems(of: operation) {
                for code in codes {
                    answered[code, default: []].append(operation.name)
                    guard let expected = status[code] else {
                        XCTFail("\(file): \(operation.name) lists \(code), which is not in ProblemCode.all")
                        continue
                    }
                    if key != "default" {
                        XCTAssertEqual(
                            key, expected,
                            "\(file): \(operation.name) lists \(code) under \(key), its status is \(expected)")
                    }
                }
                let response = document.dereferenced(operation.responses[key] ?? .null)
                XCTAssertNotNil(
                    response["content"]?["application/problem+json"], "\(operation.name) \(key) is problem+json")
                let description = response["description"]?.string ?? ""
                XCTAssertEqual(
                    Set(Self.backticked(description)).intersection(status.keys), Set(codes),
                    "\(file): the description of \(operation.name) \(key) names exactly its codes")
            }
        }
        let notAnswered = document.schemas["ProblemCode"]?["x-enrolld-not-answered-by-the-api"]?.object ?? [:]
        for kind in ProblemCode.all {
            if let routes = answered[kind.code] {
                XCTAssertNil(
                    notAnswered[kind.code], "\(file): \(kind.code) is answered by \(routes), yet marked as not answered"
                )
            } else if notAnswered[kind.code] == nil {
                XCTFail(
                    "\(file): no route answers \(kind.code): add it to x-enrolld-problems of the responses "
                        + "\"\(kind.status)\" of the routes that answer it (or of components.responses.CommonProblem), "
                        + "or to ProblemCode.x-enrolld-not-answered-by-the-api with where it is answered instead")
            }
        }
        for code in notAnswered.keys where status[code] == nil {
            XCTFail("\(file): x-enrolld-not-answered-by-the-api names \(code), which is not in ProblemCode.all")
        }
    }

    static func backticked(_ text: String) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }
            .map { String($0.element) }
    }

    // MARK: - Events

    /// One published event of each kind, as the daemon builds it (factories where there are some).
    static let eventSamples: [EventKind: DaemonEvent] = {
        let failure = Problem(.cardRemoved)
        let samples: [DaemonEvent] = [
            .readerAdded("Virtual PCD 00 00"), .readerRemoved("Virtual PCD 00 00"),
            .cardInserted("Virtual PCD 00 00", atr: "3B8F8001"), .cardRemoved("Virtual PCD 00 00"),
            DaemonEvent(type: .pcscUnavailable, detail: "pcscd is not running"), DaemonEvent(type: .pcscAvailable),
            .cardReadStarted("Virtual PCD 00 00"),
            .cardReadCompleted("Virtual PCD 00 00", apdus: 40, milliseconds: 900),
            .cardReadFailed("Virtual PCD 00 00", problem: failure, milliseconds: 300),
            .enrollment(.enrollmentCardVerified, session: UUID().uuidString),
            .enrollment(.enrollmentFaceMatched, session: UUID().uuidString),
            .enrollment(.enrollmentFaceMismatch, session: UUID().uuidString, code: "face-mismatch", attemptsLeft: 2),
            .enrollment(.enrollmentLivenessPassed, session: UUID().uuidString),
            .enrollment(
                .enrollmentLivenessFailed, session: UUID().uuidString, code: "liveness-failed", attemptsLeft: 2,
                message: "turn your head slowly to the left", check: "prompts-followed"),
            .enrollment(.enrollmentGuardianVerified, session: UUID().uuidString),
            .enrollment(.enrollmentCompleted, session: UUID().uuidString, tier: "signing"),
            .enrollment(.enrollmentFailed, session: UUID().uuidString, code: "attempts-exhausted"),
            .enrollment(.enrollmentExpired, session: UUID().uuidString, code: "timeout"),
            .certificateRevoked(serial: "0A1B", reason: "superseded"),
            DaemonEvent(type: .deviceBound), DaemonEvent(type: .deviceUnbound),
            DaemonEvent(type: .accountStatusChanged, status: "cancelled", detail: "cancelled"),
            .trustStoreReloaded(cscaCertificates: 3),
        ]
        return Dictionary(
            samples.map { event in
                var stamped = event
                (stamped.id, stamped.time) = (7, "2026-01-31T12:00:00Z")
                return (event.type, stamped)
            }, uniquingKeysWith: { first, _ in first })
    }()

    func testEveryEventKindIsDocumentedWithItsTypedFields() throws {
        XCTAssertEqual(
            document.schemas["EventKind"]?["enum"]?.strings, EventKind.allCases.map(\.rawValue),
            "\(file) EventKind.enum lists EventKind.allCases, in order")
        let byKind = try XCTUnwrap(document.schemas["DaemonEventByKind"])
        let mapping = byKind["discriminator"]?["mapping"]?.object ?? [:]
        let choices = Set((byKind["oneOf"]?.array ?? []).compactMap { $0["$ref"]?.string })
        let envelope: Set<String> = ["id", "type", "time", "detail"]
        let fields = Set(document.schemas["DaemonEvent"]?["properties"]?.object?.keys.map { $0 } ?? [])
        for kind in EventKind.allCases {
            guard let reference = mapping[kind.rawValue]?.string, let schema = document.resolve(reference) else {
                XCTFail(
                    "\(file) lacks event kind \(kind.rawValue): add a schema with properties.type.const "
                        + "\"\(kind.rawValue)\" and its typed fields, to DaemonEventByKind.oneOf and its "
                        + "discriminator mapping"
                )
                continue
            }
            XCTAssertTrue(choices.contains(reference), "\(file): DaemonEventByKind.oneOf has \(reference)")
            XCTAssertEqual(schema["properties"]?["type"]?["const"]?.string, kind.rawValue, reference)
            let kindFields = Set(schema["properties"]?.object?.keys.map { $0 } ?? []).subtracting(["type"])
            for field in kindFields {
                XCTAssertTrue(fields.contains(field), "\(reference): \(field) is a member of DaemonEvent")
                XCTAssertEqual(
                    schema["properties"]?[field]?["$ref"]?.string,
                    "#/components/schemas/DaemonEvent/properties/\(field)", "\(reference).\(field)")
            }
            guard let sample = Self.eventSamples[kind] else {
                XCTFail("add a sample event of kind \(kind.rawValue) to OpenAPIDocumentTests.eventSamples")
                continue
            }
            let wire = try JSONValue.wire(sample)
            XCTAssertEqual(
                document.violations(of: wire, against: .object(["$ref": .string(reference)])), [],
                "\(kind.rawValue): \(wire)")
            let keys = Set(wire.object?.keys.map { $0 } ?? [])
            XCTAssertEqual(
                keys.subtracting(envelope).subtracting(kindFields), [],
                "\(file): \(reference) documents every field a \(kind.rawValue) event carries")
        }
        XCTAssertEqual(choices.count, EventKind.allCases.count, "\(file): one schema per event kind, no more")
        let stream = try XCTUnwrap(
            document.operation("GET /v1/events")?.responses["200"]?["content"]?["text/event-stream"])
        XCTAssertEqual(stream["x-enrolld-event-data"]?["$ref"]?.string, "#/components/schemas/DaemonEventByKind")
    }

    func testUsageEventKindsAreDocumented() {
        XCTAssertEqual(
            document.schemas["UsageEventKind"]?["enum"]?.strings, UsageEventKind.allCases.map(\.rawValue),
            "\(file) UsageEventKind.enum lists UsageEventKind.allCases, in order")
    }

    // MARK: - Wire types

    /// One value of every Codable type of EnrollAPIModel, every optional member set.
    static let wireSamples: [any Encodable & Sendable] = {
        let outboxMessage = OutboxMessageView(
            id: UUID().uuidString, accountId: UUID().uuidString, kind: "activation-code", transport: "email",
            state: "sent", attempts: 1, nextAttemptAt: "2026-01-01T00:00:00Z", lastError: "SMTP 451 to RCPT TO",
            createdAt: "2026-01-01T00:00:00Z", sentAt: "2026-01-01T00:00:01Z")
        let check = AuthenticityVerdict.Check(name: "passive-authentication", outcome: "passed", reason: "")
        let verdict = AuthenticityVerdict(genuine: false, checks: [check], reasons: ["no CSCA"])
        let key = AccessKeyRequest(
            mrz: "P<UTO...", documentNumber: "L898902C3", birthDate: "740812",
            expiryDate: "120415", can: "123456", scan: "AAAA")
        let box = FaceBox(left: 1, top: 2, width: 30, height: 40)
        let image = FaceImageReport(
            format: "jpeg", width: 480, height: 640, facesFound: 1, chosenFace: box,
            faceSize: 30, timingsMs: ["decode": 1.5])
        let evidence = FaceEvidence(distance: 0.4, score: 0.6, threshold: 0.55, isMatch: true, probeFaces: 1)
        let livenessCheck = LivenessCheckEvidence(
            check: "depth", passed: false, required: true, value: 0.01,
            threshold: 0.02, comparison: "at-least",
            detail: "largest parallax residual at frame 9")
        let liveness = LivenessEvidence(
            live: false, failingCheck: "depth", checks: [livenessCheck], frames: 15,
            attempts: 1, decidedAt: "2026-01-01T00:01:00Z")
        let frame = LivenessFrameBody(image: "AAAA", capturedAt: "2026-01-01T00:00:01.250Z")
        let certificate = CertificateView(
            serial: "0A1B", state: "revoked", notBefore: "2026-01-01T00:00:00Z",
            notAfter: "2027-01-01T00:00:00Z", revokedAt: "2026-02-01T00:00:00Z",
            revocationReason: "superseded", deviceId: "phone", pem: "-----BEGIN")
        let document = AccountDocumentView(
            documentType: "P", issuingState: "UTO", expiry: "2030-01-01", numberHash: "00ff",
            firstVerifiedAt: "2026-01-01T00:00:00Z", lastVerifiedAt: "2026-01-01T00:00:00Z")
        let device = DeviceView(
            deviceId: "phone", label: "Phone", publicKey: "-----BEGIN", boundAt: "2026-01-01T00:00:00Z",
            unboundAt: "2026-02-01T00:00:00Z", unbindReason: "holder", active: false)
        let change = StatusView.Change(
            from: "normal", to: "invalid", reason: "lost", actorRole: "operator",
            actorUid: 1002, channel: "counter-1", at: "2026-01-01T00:00:00Z")
        let record = UsageRecordView(
            sequence: 9, at: "2026-01-01T00:00:00Z", accountId: UUID().uuidString,
            enrollmentId: UUID().uuidString, event: "passcode-set", channel: "kiosk-1",
            actorRole: "kiosk", actorUid: 1001, outcome: "ok", detail: "")
        let auditProblem = AuditReport.Problem(sequence: 3, kind: "edited", message: "hash mismatch")
        let headCheck = AuditReport.HeadCheck(
            host: "host-a", sequence: 10, at: "2026-01-01T00:00:00Z", result: "disagrees")
        let reader = ReaderInfo(name: "Virtual PCD 00 00", cardPresent: true, atr: "3B8F")
        let csca = TrustedCertificateInfo(
            subject: "CN=CSCA", issuer: "CN=CSCA", notBefore: "2020-01-01T00:00:00Z",
            notAfter: "2035-01-01T00:00:00Z", fingerprint: "ab", selfSigned: true)
        let crl = TrustedCRLInfo(
            issuer: "CN=CSCA", thisUpdate: "2026-01-01T00:00:00Z", nextUpdate: "2026-02-01T00:00:00Z",
            revokedCertificates: 2)
        let info = SecurityInfoSummary(
            type: "PACEInfo", oid: "0.4.0.127.0.7.2.2.4.2.2", description: "PACE-ECDH-GM-AES-128",
            version: 2, parameterId: 13, supported: true)
        let portrait = PortraitInfo(format: "jpeg", width: 480, height: 640, size: 20_000, data: "AAAA")
        let statistics = ReadStatistics(
            apdus: 40, bytesSent: 900, bytesReceived: 25_000, extendedLength: true,
            readChunkSize: 1_000, milliseconds: 850.5)
        let trustService = TrustListServiceInfo(
            provider: "MO Identity", name: "MO signing CA", status: "granted",
            statusStartingTime: "2026-01-01T00:00:00Z", certificates: ["ab"], policies: ["1.2.3"], historyEntries: 1)
        let trustList = TrustListSummary(
            territory: "MO", schemeOperator: "MO Office", sequenceNumber: 3, issueDate: "2026-01-01T00:00:00Z",
            nextUpdate: "2026-02-01T00:00:00Z", signer: "CN=MO trust list signer", services: [trustService])
        let samples: [any Encodable & Sendable] = [
            key,
            CardReadRequest(reader: "R", accessKey: key, includePortrait: true, allowBAC: false),
            portrait, statistics, check, verdict,
            CardFaceResponse(
                reader: "R", documentType: "P", mrzFormat: "TD3", issuingState: "UTO",
                documentNumber: "L898902C3", surname: "ERIKSSON", givenNames: "ANNA MARIA",
                nationality: "UTO", birthDate: "1974-08-12", birthDateMRZ: "740812", sex: "F",
                expiryDate: "2012-04-15", expiryDateMRZ: "120415", optionalData: "", mrz: "P<UTO...",
                dataGroupsPresent: ["DG1", "DG2"], filesRead: ["EF.COM"], accessProtocol: "PACE",
                accessParameters: "PACE-ECDH-GM-AES-128", portrait: portrait, portraitCount: 1,
                authenticity: verdict, fullName: "ERIKSSON ANNA MARIA", personalNumber: "1",
                fullDateOfBirth: "19740812", placeOfBirth: "Zenith", address: "Street 1",
                issuingAuthority: "UTO", dateOfIssue: "20020415", statistics: statistics),
            CardProbeRequest(reader: "R", accessKey: key), info,
            CardScanRequest(image: "AAAA"),
            CardScanFieldCheck(field: "document number", status: "corrected", correctedCharacters: 1),
            CardScanCandidate(
                kind: "MRZ", documentNumber: "L898902C3", birthDate: "740812", expiryDate: "120415",
                can: "123456", confidence: 0.9, compositeCheckPassed: true),
            CardScanResponse(
                layout: "td3", mrz: ["P<UTO...", "L898902C3..."], can: "123456",
                fieldChecks: [
                    CardScanFieldCheck(
                        field: "composite", status: "passed",
                        correctedCharacters: 0)
                ],
                candidates: [
                    CardScanCandidate(
                        kind: "CAN", can: "123456", confidence: 0.8,
                        compositeCheckPassed: false)
                ],
                milliseconds: 120, timingsMs: ["locate": 40]),
            CardProbeResponse(
                reader: "R", atr: "3B8F", extendedLength: true, cardAccessPresent: true,
                securityInfos: [info], preferredPACE: "PACE-ECDH-GM-AES-128", accessProtocol: "PACE",
                accessParameters: "PACE-ECDH-GM-AES-128", accessError: "access-key-rejected: ...",
                emrtdApplicationPresent: true, readChunkSize: 223, plainStatusAnswers: 1, sessionsReestablished: 0,
                cardExtendedLength: true, cardMaxCommandLength: 1000, cardMaxResponseLength: 65536, milliseconds: 120),
            FaceCompareRequest(reference: "AAAA", probe: "AAAA"), box, image,
            FaceCompareResponse(
                score: 0.6, distance: 0.4, threshold: 0.55, decision: "match", reference: image,
                probe: image, totalMs: 300),
            evidence,
            EnrollmentStartBody(
                reader: "R", accessKey: key, purpose: "upgrade", accountId: UUID().uuidString,
                guardianAccountId: UUID().uuidString),
            EnrollmentPhotoBody(photo: "AAAA"),
            LivenessChallengeResponse(
                nonceHex: String(repeating: "ab", count: 16), prompts: ["turn-left", "look-up"],
                instructions: ["turn your head slowly to the left", "look up slowly, then back at the camera"],
                issuedAt: "2026-01-01T00:00:00.000Z", expiresAt: "2026-01-01T00:00:20.000Z", attemptsLeft: 2),
            frame, LivenessBurstBody(nonceHex: String(repeating: "ab", count: 16), frames: [frame]),
            livenessCheck, liveness,
            EnrollmentCompleteBody(
                csr: "-----BEGIN", contact: ["email": "a@example.org"], deviceId: "phone",
                devicePublicKey: "-----BEGIN", deviceLabel: "Phone", passcode: "1234", contactCode: "123456"),
            GuardianCardBody(reader: "R", accessKey: key),
            EnrollmentUpgradeBody(upgradeToken: "q1w2e3"),
            HolderNameChangeBody(reader: "R", accessKey: key, reason: "marriage certificate seen"),
            AccountLookupBody(reader: "R", accessKey: key),
            AccountLookup(accountId: UUID().uuidString, tier: "signing", status: "normal"),
            EnrollmentView(
                id: UUID().uuidString, purpose: "register", state: "face-matched", accountID: UUID().uuidString,
                reader: "R", surname: "ERIKSSON", givenNames: "ANNA", documentType: "P", issuingState: "UTO",
                documentExpiry: "2030-01-01", accessProtocol: "PACE", authenticity: verdict,
                photoAttemptsLeft: 2, face: evidence, expiresAt: "2026-01-01T00:05:00Z",
                failureCode: "face-mismatch", guardianPresent: true, liveness: liveness, livenessAttemptsLeft: 2,
                livenessRequired: true),
            EnrollmentOutcome(
                enrollmentID: UUID().uuidString, accountID: UUID().uuidString, tier: "signing",
                certificatePEM: "-----BEGIN", certificateSerial: "0A1B", notAfter: "2027-01-01T00:00:00Z",
                status: "normal", activation: "pending-activation", activationExpiresAt: "2026-01-01T00:15:00Z"),
            ActivationView(accountId: UUID().uuidString, activation: "active"),
            ContactCodeView(transport: "email", expiresAt: "2026-01-01T00:15:00Z"),
            outboxMessage, OutboxPage(messages: [outboxMessage]),
            certificate,
            RenewalRequest(
                issuedBefore: "2026-01-01T00:00:00Z", limit: 256, after: "b.1767225600000.0A1B"),
            RenewedCertificate(
                serial: "0C1D", renews: "0A1B", accountId: UUID().uuidString, notAfter: "2027-01-01T00:00:00Z"),
            RenewalOutcome(
                renewed: 1, skipped: ["already-renewed": 2], scanned: 3, next: "k.1767225600000",
                certificates: [
                    RenewedCertificate(
                        serial: "0C1D", renews: "0A1B", accountId: UUID().uuidString,
                        notAfter: "2027-01-01T00:00:00Z")
                ]),
            AccountView(
                id: UUID().uuidString, tier: "signing", tierName: "Signing", status: "normal", surname: "E",
                givenNames: "A", documentType: "P", issuingState: "UTO", documentExpiry: "2030-01-01",
                createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z", certificates: [certificate],
                documents: [document], activation: "pending-activation", activationExpiresAt: "2026-01-01T00:15:00Z"),
            document,
            DeviceBindBody(deviceId: "phone", publicKey: "-----BEGIN", label: "Phone"),
            DeviceUnbindBody(passcode: "1234", enrollmentId: UUID().uuidString),
            StatusChangeBody(status: "invalid", reason: "lost"),
            PasscodeBody(passcode: "1234", currentPasscode: "4321"),
            PasscodeCheckResponse(
                result: "wrong", attemptsLeft: 2, unlocksAt: "2026-01-01T00:15:00Z",
                type: "urn:enrolld:problem:passcode-wrong", title: "Wrong passcode", status: 403,
                detail: "wrong passcode", code: "passcode-wrong"),
            UsagePage(accountId: UUID().uuidString, records: [record], next: 9),
            device,
            DeviceBindingOutcome(device: device, superseded: device, revokedSerials: ["0A1B"]),
            change, StatusView(accountId: UUID().uuidString, status: "invalid", history: [change]),
            PasscodeCheck(result: "locked", attemptsLeft: 0, unlocksAt: "2026-01-01T00:15:00Z"),
            PasscodeStatus(
                set: true, enabled: true, failedAttempts: 1, lockedUntil: "2026-01-01T00:15:00Z",
                lockedPermanently: false, totalFailures: 6, maxTotalFailures: 20),
            auditProblem,
            AuditReport(
                ok: false, records: 10, headSequence: 10, problems: [auditProblem], keyedFrom: 1,
                heads: [headCheck], firstDisagreement: 3),
            headCheck,
            AuditVerifyBody(heads: ["enrolld-audit-head v1 host=a seq=10 hash=00 keyed-from=1 at=x key=k sig=AA=="]),
            record, reader, ReaderList(pcscAvailable: true, readers: [reader]),
            Health(status: "ok", version: enrolldVersion, pcscAvailable: true, readers: 2, uptimeSeconds: 5),
            csca, crl,
            TrustStoreListing(
                directory: "/var/lib/enrolld/trust", cscaCertificates: [csca], documentSignerCertificates: 1,
                crls: [crl], skippedFiles: ["a.txt: extension"]),
            TrustImportRequest(data: "AAAA", states: ["UTO", "D"]),
            TrustImportEntry(subject: "C=UT, CN=CSCA UT", fingerprint: "ab01", reason: "not of UTO, D"),
            TrustImportResponse(
                kind: "master-list", added: 1, alreadyTrusted: 0, writtenFiles: ["csca-ab.der"], cscaCertificates: 3,
                addedCertificates: [TrustImportEntry(subject: "C=UT, CN=CSCA UT", fingerprint: "ab01")],
                skipped: [TrustImportEntry(subject: "C=XY, CN=CSCA XY", fingerprint: "cd02", reason: "not of UTO")],
                states: ["UTO"]),
            TrustListImportRequest(data: "AAAA", territory: "MO"), trustService, trustList,
            TrustListListing(
                directory: "/var/lib/enrolld/trust-lists", lists: [trustList],
                skippedFiles: ["HK.xml: expired"]),
            CertificateValidationRequest(
                certificate: "-----BEGIN", intermediates: ["-----BEGIN"],
                at: "2026-01-01T00:00:00Z"),
            CertificateValidationResponse(
                valid: true, territory: "MO", schemeOperator: "MO Office", provider: "MO Identity",
                service: "MO signing CA", path: ["CN=holder", "CN=MO CA"], matchedPolicies: ["1.2.3"],
                statusSource: "OCSP http://ocsp.example/ocsp", checkedAt: "2026-01-01T00:00:00Z"),
            DaemonEvent(
                id: 1, type: .enrollmentFaceMismatch, time: "2026-01-01T00:00:00Z", reader: "R", atr: "3B8F",
                enrollmentId: UUID().uuidString, tier: "basic", code: "face-mismatch", attemptsLeft: 1,
                serial: "0A1B", reason: "superseded", status: "normal", apdus: 40, milliseconds: 900,
                cscaCertificates: 3, detail: "summary", message: "look at the camera", check: "depth"),
            VerifierAddBody(
                id: "bank-a", legalName: "Bank A", elements: ["surname", "age_over_18"], purpose: "account opening",
                validDays: 365, csr: "-----BEGIN", certificate: "-----BEGIN"),
            VerifierView(
                id: "bank-a", legalName: "Bank A", elements: ["surname"], purpose: "account opening",
                validFrom: "2026-01-01T00:00:00Z", validUntil: "2027-01-01T00:00:00Z", status: "approved",
                credential: "issued", certificateFingerprint: "ab01", certificatePem: "-----BEGIN"),
            VerifierStatusBody(status: "suspended", reason: "audit"),
            PresentationOpenBody(deviceId: "phone", nonce: "n1", signature: "AAAA"),
            PresentationNonce(nonce: "n1", expiresAt: "2026-01-01T00:02:00Z"),
            PresentationQR(
                presentationId: UUID().uuidString, token: "EP1.AAAA", counter: 1, expiresAt: "2026-01-01T00:01:00Z",
                refreshSeconds: 30, presentationKey: "k1"),
            ReleaseRequestView(
                requestId: UUID().uuidString, verifierId: "bank-a", verifierName: "Bank A", elements: ["surname"],
                purpose: "account opening", state: "released", digest: "00ff", createdAt: "2026-01-01T00:00:00Z",
                released: ["surname"]),
            PresentationView(
                presentationId: UUID().uuidString, accountId: UUID().uuidString, expiresAt: "2026-01-01T00:15:00Z",
                requests: []),
            ConsentBody(
                requestId: UUID().uuidString, elements: ["surname"], refuse: false, deviceId: "phone",
                signature: "AAAA"),
            VerifierRequestBody(token: "EP1.AAAA", elements: ["surname"], purpose: "account opening"),
            VerifierRequestStatus(
                requestId: UUID().uuidString, state: "released", elements: ["surname"], released: ["surname"],
                envelope: "AAAA"),
            {
                var problem = Problem(.livenessFailed)
                problem.incident = "a1b2"
                problem.retryAfter = 1
                problem.check = "prompts-followed"
                problem.instruction = "turn your head slowly to the left"
                problem.attemptsLeft = 2
                problem.enrollmentId = UUID().uuidString
                problem.upgradeToken = "q1w2e3"
                return problem
            }(),
        ]
        return samples
    }()

    /// `EnrollAPIModel.StatusView.Change` is the schema `StatusViewChange`.
    static func schemaName(of value: Any) -> String {
        String(reflecting: type(of: value)).split(separator: ".").dropFirst().joined()
    }

    /// The schema's members are the type's stored properties, required exactly when not optional; the sample
    /// encodes to those names (no renamed coding keys) and validates.
    func testEveryWireTypeMatchesItsSchemaMemberForMember() throws {
        for sample in Self.wireSamples {
            let name = Self.schemaName(of: sample)
            guard let schema = document.schemas[name] else {
                XCTFail("\(file) lacks components.schemas.\(name)")
                continue
            }
            let members = Mirror(reflecting: sample).children.compactMap { child in
                child.label.map { ($0, Mirror(reflecting: child.value).displayStyle == .optional) }
            }
            let properties = Set(schema["properties"]?.object?.keys.map { $0 } ?? [])
            let names = Set(members.map(\.0))
            XCTAssertEqual(
                names.subtracting(properties), [], "\(file): add these members to components.schemas.\(name).properties"
            )
            XCTAssertEqual(
                properties.subtracting(names), [], "\(file): components.schemas.\(name) has members \(name) lacks")
            let required = Set(members.filter { !$0.1 }.map(\.0))
            XCTAssertEqual(
                Set(schema["required"]?.strings ?? []), required,
                "\(file): components.schemas.\(name).required lists the non-optional members")
            let wire = try JSONValue.wire(sample)
            XCTAssertEqual(
                Set(wire.object?.keys.map { $0 } ?? []), names,
                "\(name) encodes every member under its own name (the sample sets every optional)")
            XCTAssertEqual(document.violations(of: wire, against: schema), [], "\(name): \(wire)")
        }
    }

    /// Every public Codable struct of Sources/EnrollAPIModel has a sample above (and so a schema).
    func testEveryWireTypeOfTheModelHasASample() throws {
        let folder = OpenAPIDocument.repositoryRoot.appendingPathComponent("Sources/EnrollAPIModel")
        var declared: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            var parent = ""
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                guard let range = line.range(of: "public struct ") else { continue }
                let indent = line[line.startIndex..<range.lowerBound]
                guard indent.allSatisfy({ $0 == " " }) else { continue }
                let rest = line[range.upperBound...]
                let name = String(rest.prefix { $0.isLetter || $0.isNumber })
                if indent.isEmpty { parent = name }
                guard rest.contains("Codable") else { continue }
                declared.insert(indent.isEmpty ? name : parent + name)
            }
        }
        XCTAssertFalse(declared.isEmpty)
        let sampled = Set(Self.wireSamples.map { Self.schemaName(of: $0) })
        for name in declared.subtracting(sampled).sorted() {
            XCTFail("\(name) has no sample: add one to OpenAPIDocumentTests.wireSamples and its schema to \(file)")
        }
    }

    /// Each schema is a wire type, an event kind's, an enum of the model, or a body the routes define themselves.
    func testEverySchemaIsAccountedFor() {
        let eventKinds = Set(
            (document.schemas["DaemonEventByKind"]?["oneOf"]?.array ?? [])
                .compactMap { $0["$ref"]?.string?.split(separator: "/").last.map(String.init) })
        let wireTypes = Set(Self.wireSamples.map { Self.schemaName(of: $0) })
        let enums: Set<String> = ["EventKind", "UsageEventKind", "ProblemCode", "DaemonEventByKind"]
        // Declared inside DaemonCore's route handlers, not in EnrollAPIModel; the in-process answers check them.
        let routeLocal: Set<String> = ["RevocationBody", "ContactBody", "TrustReloadResponse", "ActivationBody"]
        for name in document.schemas.keys.sorted() {
            XCTAssertTrue(
                wireTypes.contains(name) || eventKinds.contains(name) || enums.contains(name)
                    || routeLocal.contains(name),
                "\(file): components.schemas.\(name) is no wire type (add a sample) and no event kind")
        }
    }

    // MARK: - What the router answers, in process

    private static let nobody = PeerCredentials(pid: 1, uid: 4000, gid: 4000)
    private static let kiosk = PeerCredentials(pid: 1, uid: 4001, gid: 4001)
    private static let admin = PeerCredentials(pid: 1, uid: 4003, gid: 4003)

    private struct Probe {
        var peer: PeerCredentials
        var headers: [(String, String)] = []
        var body: String?
        var id = UUID().uuidString
    }

    /// Requests every route can take without a card, a face engine or a CA (enrollment is not set up here).
    private static let probes: [Probe] = [
        Probe(peer: nobody), Probe(peer: kiosk), Probe(peer: kiosk, headers: [("X-Enrolld-Role", "holder")]),
        Probe(peer: kiosk, headers: [("X-Enrolld-Role", "admin")]), Probe(peer: admin),
        Probe(peer: admin, body: "{}"), Probe(peer: admin, body: "not json"), Probe(peer: admin, body: "{}", id: "x"),
        Probe(peer: kiosk, headers: [("X-Enrolld-Enrollment", UUID().uuidString)], body: "{}"),
        Probe(peer: kiosk, headers: [("X-Enrolld-Channel", "no spaces allowed")], body: "{}"),
        Probe(peer: admin, headers: [("X-Enrolld-Channel", "no spaces allowed")], body: "{}"),
    ]

    private func send(_ route: Route, _ probe: Probe) -> HTTPResponse {
        let path =
            "/"
            + route.pattern.map { part in
                switch part {
                case "{id}": return probe.id
                case "{serial}": return "0A1B"
                case "{device}": return "phone"
                case "{pid}": return UUID().uuidString
                case "{vid}": return "bank-x"
                default: return part
                }
            }.joined(separator: "/")
        let request = HTTPRequest(
            method: route.method, path: path,
            headers: probe.headers.map { ($0.0.lowercased(), $0.1) },
            body: Array((probe.body ?? "").utf8))
        return router.response(to: request, peer: probe.peer)
    }

    /// Whatever a route answered is documented for it: a problem's code under its status (or in the common
    /// problems), any other status with its body's schema.
    func testTheRouterAnswersOnlyWhatTheDocumentSays() throws {
        for route in router.routes {
            guard let operation = document.operation(route.name) else { continue }  // reported by the route test
            for probe in Self.probes {
                let response = send(route, probe)
                XCTAssertEqual(document.undocumented(response, by: operation), [], "\(file): \(route.name)")
            }
        }
    }

    /// The routes that refuse an empty body (`missing-body`) are exactly those whose request body is required.
    func testRequiredRequestBodiesAreTheOnesTheRouterRequires() throws {
        for route in router.routes {
            guard let operation = document.operation(route.name) else { continue }
            let response = send(route, Probe(peer: Self.admin))
            let code = (try? JSONValue.parse(response.body))?["code"]?.string
            let required = operation.body["requestBody"]?["required"]?.bool ?? false
            XCTAssertEqual(
                code == "missing-body", required,
                "\(file): requestBody.required of \(route.name) (an empty body answers \(code ?? "\(response.status)"))"
            )
            if let content = operation.body["requestBody"]?["content"] {
                // JSON, but for OCSP's DER request (RFC 6960 Appendix A.1).
                let media = route.name == "POST /v1/ocsp" ? "application/ocsp-request" : "application/json"
                XCTAssertNotNil(content[media]?["schema"], "\(route.name) documents its \(media) body")
            }
        }
    }

    func testTheSuccessBodiesOfRoutesThatNeedNoSetUpMatchTheirSchemas() throws {
        for name in ["GET /v1/health", "GET /v1/readers", "GET /v1/trust", "POST /v1/trust/reload"] {
            let route = try XCTUnwrap(router.routes.first { $0.name == name }, name)
            let response = send(route, Probe(peer: Self.admin))
            XCTAssertEqual(response.status, 200, name)
            let schema = try XCTUnwrap(
                document.operation(name)?.responses["200"]?["content"]?["application/json"]?["schema"])
            let body = try JSONValue.parse(response.body)
            XCTAssertEqual(document.violations(of: body, against: schema), [], "\(name): \(body)")
        }
    }
}

/// The README lists every route once, in one table (route, role, what it does), with the role the code gives it,
/// and points to docs/openapi.json for bodies and problems.
final class ReadmeRouteTableTests: XCTestCase {
    private static let header = "| route | role | what it does |"

    func testTheReadmeTableListsEveryRouteOnceWithItsRole() throws {
        let readme = try String(
            contentsOf: OpenAPIDocument.repositoryRoot.appendingPathComponent("README.md"),
            encoding: .utf8)
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try XCTUnwrap(lines.firstIndex(of: Self.header), "README.md has the table \(Self.header)")
        let rows = lines[(start + 2)...].prefix { $0.hasPrefix("|") }
        var listed: [String: String] = [:]
        for row in rows {
            let cells = row.replacingOccurrences(of: "\\|", with: "¦").split(separator: "|")
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 3, cells[0].hasPrefix("`"), cells[0].hasSuffix("`") else {
                XCTFail("README.md: a row of the route table is `| \\`METHOD /path\\` | role | what it does |`: \(row)")
                continue
            }
            let route = String(cells[0].dropFirst().dropLast())
            XCTAssertNil(listed[route], "README.md lists \(route) twice")
            listed[route] = cells[1]
            XCTAssertFalse(cells[2].isEmpty, "README.md says what \(route) does")
        }
        var configuration = Configuration()
        configuration.stateDirectory = NSTemporaryDirectory() + "enrolld-readme-\(UUID().uuidString)"
        let daemon = Daemon(configuration: configuration)
        let routes = daemon.makeRouter().routes
        for route in routes {
            XCTAssertEqual(
                listed[route.name], route.access.rawValue,
                "README.md: add or correct the row | `\(route.name)` | \(route.access.rawValue) | ... |")
        }
        for entry in RoutePermissions.table {
            XCTAssertEqual(
                listed[entry.route], entry.access.rawValue,
                "README.md lists `\(entry.route)` as \(entry.access.rawValue)")
        }
        let served = Set(routes.map(\.name))
        for route in listed.keys where !served.contains(route) {
            XCTFail("README.md lists \(route), which the router does not serve")
        }
        // No second list of routes anywhere else in the README.
        let methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        for (index, line) in lines.enumerated() where !(start..<(start + 2 + rows.count)).contains(index) {
            XCTAssertFalse(
                methods.contains { line.hasPrefix("| `\($0) /") || line.hasPrefix("| `\($0)/") },
                "README.md line \(index + 1) lists a route outside the route table: \(line)")
        }
        XCTAssertTrue(readme.contains("docs/openapi.json"), "README.md points to docs/openapi.json")
    }
}
