import Foundation

/// An RFC 9457 problem detail, the body of every refusal (`application/problem+json`): what went wrong and what
/// the caller can do. The `code` is stable and comes from `ProblemCode`'s catalogue; `detail` says what happened
/// this time, in words a person at a kiosk or counter can act on.
public struct Problem: Codable, Sendable, Error, Equatable {
    /// A URI naming the problem type, `urn:enrolld:problem:<code>`.
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    /// A stable machine-readable code (e.g. `reader-not-found`).
    public var code: String
    /// Set on `internal-error` and `storage-error`: the log line carrying the cause has the same id.
    public var incident: String?
    /// Set on 503 `face-engine-busy`: seconds to wait before retrying (also sent as `Retry-After`).
    public var retryAfter: Int?
    /// Set on `liveness-failed`: the check that decided (e.g. `prompts-followed`), as the session's evidence names it.
    public var check: String?
    /// Set on `liveness-failed`: what the person in front of the camera should do, as the kiosk shows it.
    public var instruction: String?
    /// Set on `liveness-failed` and `suspected-replay` in a session: attempts left before it ends.
    public var attemptsLeft: Int?
    /// Set on `identity-already-enrolled`: the session the card was read in, kept open only to be upgraded with
    /// `upgradeToken` (`POST /v1/enrollments/{id}/upgrade`). Never the account's id.
    public var enrollmentId: String?
    /// Set on `identity-already-enrolled`: an opaque token that upgrades the identity's account from that session
    /// only, once, until the session ends.
    public var upgradeToken: String?

    /// A problem of a catalogued kind; `detail` defaults to the catalogue's advice.
    public init(_ kind: ProblemCode, detail: String? = nil) {
        type = "urn:enrolld:problem:\(kind.code)"
        title = kind.title
        status = kind.status
        code = kind.code
        self.detail = detail ?? kind.action
    }

    /// The catalogue entry of this problem's code, nil for a code this build does not know (a newer daemon).
    public var kind: ProblemCode? { ProblemCode.named(code) }
}

/// One entry of the problem catalogue: a stable code, its HTTP status, a title, and what the person at the kiosk
/// (or the integrator) should do. Every refusal the daemon can answer is listed in `ProblemCode.all`, once; the
/// OpenAPI document and the README are checked against it.
public struct ProblemCode: Sendable, Hashable, CustomStringConvertible {
    public let code: String
    public let status: Int
    public let title: String
    /// What to do about it, as a kiosk can show it.
    public let action: String

    init(_ code: String, _ status: Int, _ title: String, _ action: String) {
        self.code = code
        self.status = status
        self.title = title
        self.action = action
    }

    public var description: String { code }

    /// The entry for `code`, nil when there is none.
    public static func named(_ code: String) -> ProblemCode? { byCode[code] }

    private static let byCode = Dictionary(all.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
}

// MARK: - The catalogue

extension ProblemCode {
    // Requests and the transport.
    public static let malformedRequest = ProblemCode(
        "malformed-request", 400, "Malformed request", "send a well-formed HTTP/1.1 request with a Host header")
    public static let headersTooLarge = ProblemCode(
        "headers-too-large", 431, "Request headers too large", "send fewer or shorter header fields")
    public static let bodyTooLarge = ProblemCode(
        "body-too-large", 413, "Request body too large", "send a smaller body (see api.max_body_bytes)")
    public static let transferEncodingUnsupported = ProblemCode(
        "transfer-encoding-unsupported", 501, "Transfer-Encoding not supported", "send the body with Content-Length")
    public static let httpVersionUnsupported = ProblemCode(
        "http-version-unsupported", 505, "HTTP version not supported", "use HTTP/1.1")
    public static let requestTimeout = ProblemCode(
        "request-timeout", 408, "Request timeout", "send the whole request without pausing")
    public static let serverBusy = ProblemCode(
        "server-busy", 503, "Server busy", "retry in a moment (see Retry-After)")
    public static let tooManyConnections = ProblemCode(
        "too-many-connections", 429, "Too many connections",
        "close idle connections or reuse one (keep-alive); see api.max_connections_per_uid")
    public static let tooManyEventStreams = ProblemCode(
        "too-many-event-streams", 429, "Too many event streams",
        "close another event stream of this user first; see api.max_event_streams_per_uid")
    public static let notFound = ProblemCode(
        "not-found", 404, "Not found", "check the path against the API reference (docs/openapi.json)")
    public static let methodNotAllowed = ProblemCode(
        "method-not-allowed", 405, "Method not allowed", "use one of the methods in the Allow header")
    public static let missingBody = ProblemCode(
        "missing-body", 400, "Body required", "send the request's JSON body")
    public static let invalidBody = ProblemCode(
        "invalid-body", 400, "Invalid body", "fix the JSON body as the detail says (see docs/openapi.json)")
    public static let invalidID = ProblemCode(
        "invalid-id", 400, "Invalid id", "give the id as a UUID")
    public static let invalidTime = ProblemCode(
        "invalid-time", 400, "Invalid time", "give times in ISO 8601, e.g. 2026-01-31T12:00:00Z")
    public static let invalidLimit = ProblemCode(
        "invalid-limit", 400, "Invalid limit", "give limit as a number from 1 to 1000")
    public static let invalidAfter = ProblemCode(
        "invalid-after", 400, "Invalid cursor", "give after as the sequence number of the last record seen")
    public static let internalError = ProblemCode(
        "internal-error", 500, "Internal error", "try again; if it persists, give the incident id to support")
    public static let storageError = ProblemCode(
        "storage-error", 500, "Storage error", "try again; if it persists, give the incident id to support")

    // Callers and roles.
    public static let noRole = ProblemCode(
        "no-role", 403, "No role", "ask an administrator to give this user a role in [roles] of enrolld.conf")
    public static let roleRequired = ProblemCode(
        "role-required", 403, "Role required", "call this route as a user with the role it needs")
    public static let roleNotGranted = ProblemCode(
        "role-not-granted", 403, "Role not granted", "X-Enrolld-Role may only narrow the caller's own role")
    public static let invalidRole = ProblemCode(
        "invalid-role", 400, "Invalid role", "X-Enrolld-Role is kiosk, operator or admin")
    public static let invalidChannel = ProblemCode(
        "invalid-channel", 400, "Invalid channel", "X-Enrolld-Channel is 1 to 64 letters, digits or -_.:/")
    public static let holderProofRequired = ProblemCode(
        "holder-proof-required", 403, "Holder proof required",
        "ask the holder to re-verify with card and face, or to enter the service passcode")
    public static let holderProofFailed = ProblemCode(
        "holder-proof-failed", 403, "Holder proof failed",
        "check the passcode with the holder, or re-verify the holder with card and face")
    public static let passcodeEntriesExhausted = ProblemCode(
        "passcode-entries-exhausted", 429, "Too many wrong passcode entries at this kiosk",
        "this kiosk may take no passcode until the time in the detail: re-verify the holder with card and face")
    public static let reverificationRequired = ProblemCode(
        "reverification-required", 403, "Re-verification required",
        "re-verify the holder with card and face at this kiosk")
    public static let forbidden = ProblemCode(
        "forbidden", 403, "Forbidden", "ask an operator: this change needs the operator role")

    // Readers and cards.
    public static let readerNotFound = ProblemCode(
        "reader-not-found", 404, "Reader not found", "check the reader's name with GET /v1/readers")
    public static let readerNotYours = ProblemCode(
        "reader-not-yours", 403, "Reader not assigned to this kiosk",
        "use the reader beside this kiosk; [readers] kiosk_readers says which readers each kiosk may use")
    public static let readerBusy = ProblemCode(
        "reader-busy", 409, "Reader busy", "wait for the read on this reader to finish, then try again")
    public static let readerError = ProblemCode(
        "reader-error", 502, "Reader error", "check the reader's cable, then tap the card again")
    public static let pcscUnavailable = ProblemCode(
        "pcsc-unavailable", 503, "Smart-card service unavailable", "start pcscd; readers reappear when it is up")
    public static let noCard = ProblemCode(
        "no-card", 409, "No card", "place the card on the reader")
    public static let cardRemoved = ProblemCode(
        "card-removed", 409, "Card removed",
        "hold the card on the reader until the read completes, then tap again")
    public static let cardReadTimeout = ProblemCode(
        "card-read-timeout", 504, "Card read too slow", "hold the card flat and still on the reader, then tap again")
    public static let accessKeyRejected = ProblemCode(
        "access-key-rejected", 422, "Access key rejected",
        "check the document number, birth date and expiry (or the CAN) against the card, then try again")
    public static let accessProtocolUnsupported = ProblemCode(
        "access-protocol-unsupported", 422, "Access protocol not supported",
        "give the other kind of access key (the MRZ or the CAN), as the detail says")
    public static let accessPolicyRefused = ProblemCode(
        "access-policy-refused", 422, "Access protocol refused by policy",
        "the chip can only be read with BAC or a weak PACE domain, which [readers] require_pace or "
            + "minimum_pace_security_bits refuses: send the holder to a counter")
    public static let missingAccessKey = ProblemCode(
        "missing-access-key", 400, "Access key required",
        "give the MRZ, or document number, birth date and expiry, or the CAN")
    public static let invalidAccessKey = ProblemCode(
        "invalid-access-key", 400, "Invalid access key", "correct the access key as the detail says")
    public static let invalidMRZ = ProblemCode(
        "invalid-mrz", 400, "Invalid MRZ", "type the MRZ lines exactly as printed, with every check digit")
    public static let accessKeyUnreadable = ProblemCode(
        "access-key-unreadable", 422, "Access key unreadable",
        "hold the card flat, fill the frame, avoid glare, then take the photo again; or type the MRZ or the CAN")
    public static let cardScanUnavailable = ProblemCode(
        "card-scan-unavailable", 503, "Card scanning unavailable",
        "install the OCR-B font (fonts-ocr-b, scripts/setup.sh); meanwhile type the MRZ or the CAN")
    public static let chipSecurityError = ProblemCode(
        "chip-security-error", 502, "Chip security error",
        "tap the card again; if it keeps failing the chip may not be genuine")
    public static let chipError = ProblemCode(
        "chip-error", 502, "Chip error", "take the card off the reader and tap it again; the chip may be damaged")
    public static let malformedChipData = ProblemCode(
        "malformed-chip-data", 502, "Malformed chip data", "the chip's data cannot be read: use another document")

    // Faces.
    public static let faceModelsMissing = ProblemCode(
        "face-models-missing", 503, "Face engine unavailable", "install the face models (scripts/install-models.sh)")
    public static let faceEngineFailure = ProblemCode(
        "face-engine-failure", 500, "Face engine failure", "try again; if it persists, restart enrolld")
    public static let noFace = ProblemCode(
        "no-face", 422, "No face found", "face the camera, uncovered, in even light")
    public static let faceTooSmall = ProblemCode(
        "face-too-small", 422, "Face too small", "come closer to the camera")
    public static let severalFaces = ProblemCode(
        "several-faces", 422, "Several faces", "only one person may be in front of the camera")
    public static let undecodableImage = ProblemCode(
        "undecodable-image", 422, "Image not decodable", "send an intact JPEG, PNG or JPEG 2000 image")
    public static let unsupportedImageFormat = ProblemCode(
        "unsupported-image-format", 422, "Image format not supported", "send a JPEG, PNG or JPEG 2000 image")
    public static let imageTooLarge = ProblemCode(
        "image-too-large", 422, "Image too large", "send a smaller image (fewer pixels or bytes)")
    public static let faceEngineBusy = ProblemCode(
        "face-engine-busy", 503, "Face engine busy", "retry after the delay in Retry-After")
    public static let suspectedReplay = ProblemCode(
        "suspected-replay", 422, "Suspected replay",
        "take a new photo of the person in front of the camera: a copy of the chip portrait or of an earlier "
            + "capture is not a live photo")

    // Liveness (presentation-attack detection).
    public static let livenessFailed = ProblemCode(
        "liveness-failed", 422, "Liveness check failed",
        "follow the instruction, then request a new challenge and capture again")
    public static let invalidBurst = ProblemCode(
        "invalid-burst", 400, "Invalid burst",
        "send 8 to 30 JPEG or PNG frames of one camera mode, in capture order with their capture times")
    public static let livenessChallengeRequired = ProblemCode(
        "liveness-challenge-required", 409, "No liveness challenge",
        "request a challenge (POST /v1/enrollments/{id}/liveness/challenge) and capture while showing its prompts")
    public static let livenessRequired = ProblemCode(
        "liveness-required", 409, "Liveness check required",
        "pass the liveness step (challenge, then burst) before completing at this tier")

    // Enrollment sessions.
    public static let enrollmentUnavailable = ProblemCode(
        "enrollment-unavailable", 503, "Enrollment unavailable",
        "an administrator must set up the CA (enrolld ca init) and the store; see the detail")
    public static let enrollmentNotFound = ProblemCode(
        "enrollment-not-found", 404, "Enrollment not found", "start a new enrollment by tapping the card")
    public static let enrollmentExpired = ProblemCode(
        "enrollment-expired", 410, "Enrollment expired",
        "the session timed out and its data was wiped: start again by tapping the card")
    public static let enrollmentWrongState = ProblemCode(
        "enrollment-wrong-state", 409, "Step out of order", "do the enrollment's steps in order: card, photo, complete")
    public static let enrollmentBusy = ProblemCode(
        "enrollment-busy", 409, "Enrollment busy",
        "another step of this enrollment is running: wait for its answer, then continue")
    public static let invalidPurpose = ProblemCode(
        "invalid-purpose", 400, "Invalid purpose", "purpose is register, upgrade or passcode-reset")
    public static let accountRequired = ProblemCode(
        "account-required", 400, "Account required", "give the account to upgrade or reset")
    public static let identityMismatch = ProblemCode(
        "identity-mismatch", 403, "Card of another account", "use the card of the account being changed")
    public static let documentNotGenuine = ProblemCode(
        "document-not-genuine", 422, "Document not genuine",
        "the document could not be proven genuine: send the holder to a counter")
    public static let dataGroupWithheld = ProblemCode(
        "data-group-withheld", 422, "Data group withheld",
        "the chip did not give up a data group its signed EF.SOD lists: tap again; if it persists, send the holder "
            + "to a counter")
    public static let stateNotAccepted = ProblemCode(
        "state-not-accepted", 422, "Issuing state not accepted",
        "documents of this issuing state are not accepted for enrollment here ([trust] accepted_states)")
    public static let holderMismatch = ProblemCode(
        "holder-mismatch", 403, "Holder differs",
        "the card's holder (name, birth date, sex) differs from the account's: an operator checks the documents, and "
            + "a changed surname is approved with a reason")
    public static let documentExpired = ProblemCode(
        "document-expired", 422, "Document expired", "enroll with a valid document")
    public static let invalidDocumentDates = ProblemCode(
        "invalid-document-dates", 422, "Invalid document dates",
        "the chip's MRZ dates are not valid: send the holder to a counter")
    public static let noPortrait = ProblemCode(
        "no-portrait", 422, "No chip portrait", "this document's chip holds no portrait: use another document")
    public static let faceMismatch = ProblemCode(
        "face-mismatch", 422, "Face does not match", "look straight at the camera and try again")
    public static let attemptsExhausted = ProblemCode(
        "attempts-exhausted", 422, "No attempts left",
        "the session has ended after too many failed attempts: start again by tapping the card")
    public static let underAge = ProblemCode(
        "under-age", 422, "Under age", "the signing tier is for adults only")
    public static let identityAlreadyEnrolled = ProblemCode(
        "identity-already-enrolled", 409, "Already enrolled",
        "upgrade the existing account instead of registering: send the upgradeToken to the session's upgrade step")
    public static let holderNameUnchanged = ProblemCode(
        "holder-name-unchanged", 409, "Name unchanged",
        "the document's name is already the account's: there is no changed name to approve")
    public static let upgradeTokenInvalid = ProblemCode(
        "upgrade-token-invalid", 403, "Upgrade token not valid",
        "an upgrade token works once, in the session that received it: start again by tapping the card")
    public static let accountCancelled = ProblemCode(
        "account-cancelled", 409, "Account cancelled", "a cancelled identity cannot be enrolled again")
    public static let accountNotNormal = ProblemCode(
        "account-not-normal", 409, "Account not usable",
        "the account is expired, invalid or cancelled: re-verify with a valid document at a counter")
    public static let csrRequired = ProblemCode(
        "csr-required", 400, "CSR required", "give a PKCS#10 certificate signing request (csr)")
    public static let invalidCSR = ProblemCode(
        "invalid-csr", 400, "Invalid CSR", "give the CSR as PEM or base64 DER")
    public static let guardianRequired = ProblemCode(
        "guardian-required", 422, "Guardian required",
        "register a minor with a guardian present: give guardianAccountId and read the guardian's card")
    public static let guardianNotEligible = ProblemCode(
        "guardian-not-eligible", 422, "Guardian not eligible", "the guardian must be an adult with a normal account")
    public static let guardianNotNeeded = ProblemCode(
        "guardian-not-needed", 409, "No guardian needed", "continue the enrollment without a guardian")
    public static let guardianMismatch = ProblemCode(
        "guardian-mismatch", 403, "Not the guardian's card", "read the card of the guardian named in the enrollment")
    public static let guardianNotPresent = ProblemCode(
        "guardian-not-present", 409, "Guardian not present",
        "read the guardian's card in this session before completing")
    public static let guardianNotSeen = ProblemCode(
        "guardian-not-seen", 409, "Guardian not seen",
        "take the guardian's live photo (it must match the guardian's chip portrait) before completing")
    public static let invalidTestStopPoint = ProblemCode(
        "invalid-test-stop-point", 500, "Invalid test stop point",
        "unset ENROLLD_TEST_STOP_AT, or set ENROLLD_TEST_BENCH=1 with a known crash point")

    // Accounts and the identity lifecycle.
    public static let accountNotFound = ProblemCode(
        "account-not-found", 404, "Account not found", "check the account id")
    public static let personalDataUnreadable = ProblemCode(
        "personal-data-unreadable", 500, "Personal data unreadable",
        "the account's sealed data cannot be opened: an administrator must check the data key file")
    public static let invalidStatus = ProblemCode(
        "invalid-status", 400, "Invalid status", "an operator sets cancelled or invalid")
    public static let reasonRequired = ProblemCode(
        "reason-required", 400, "Reason required", "give a reason of up to 200 characters")
    public static let invalidReason = ProblemCode(
        "invalid-reason", 400, "Invalid revocation reason", "use an RFC 5280 reason name, e.g. key-compromise")
    public static let invalidContact = ProblemCode(
        "invalid-contact", 400, "Invalid contact", "give at most 10 contact fields of up to 200 characters")
    public static let contactRequired = ProblemCode(
        "contact-required", 400, "Contact required",
        "give an e-mail address or a phone number (+ and country code) to send the activation code to")
    public static let activationNotPending = ProblemCode(
        "activation-not-pending", 409, "No activation pending",
        "the account has no code waiting: it is active, or its code expired (enroll again)")
    public static let activationCodeWrong = ProblemCode(
        "activation-code-wrong", 403, "Wrong activation code", "enter the code from the message again")
    public static let contactCodeRequired = ProblemCode(
        "contact-code-required", 403, "Contact code required",
        "the account has a verified contact: send a code to it (POST /v1/enrollments/{id}/contact-code) and give "
            + "it as contactCode")
    public static let invalidOutboxState = ProblemCode(
        "invalid-outbox-state", 400, "Invalid outbox state", "state is queued, sending, sent or failed")
    public static let outboxMessageNotFound = ProblemCode(
        "outbox-message-not-found", 404, "Outbox message not found", "list the messages with GET /v1/outbox")
    public static let outboxMessageNotFailed = ProblemCode(
        "outbox-message-not-failed", 409, "Outbox message not failed",
        "only a failed message is retried; a queued or sending one is still being delivered")
    public static let activationExpired = ProblemCode(
        "activation-expired", 410, "Activation code expired",
        "the code expired or was entered wrongly too often: the certificate is revoked; enroll again")
    public static let invalidDeviceID = ProblemCode(
        "invalid-device-id", 400, "Invalid device id", "a device id is 1 to 128 letters, digits, '-', '_', '.' or ':'")
    public static let invalidDeviceLabel = ProblemCode(
        "invalid-device-label", 400, "Invalid device label", "a device label is one line of up to 100 characters")
    public static let invalidDeviceKey = ProblemCode(
        "invalid-device-key", 400, "Invalid device key", "give the device's public key as PEM (SubjectPublicKeyInfo)")
    public static let deviceNotBound = ProblemCode(
        "device-not-bound", 409, "Device not bound", "bind the device first (give devicePublicKey)")
    public static let invalidPasscode = ProblemCode(
        "invalid-passcode", 400, "Invalid passcode", "a passcode is exactly 4 digits")
    public static let passcodeDisabled = ProblemCode(
        "passcode-disabled", 409, "Passcodes turned off", "service passcodes are turned off on this system")
    public static let passcodeNotSet = ProblemCode(
        "passcode-not-set", 409, "No passcode", "the account has no passcode: set one first")
    public static let passcodeRequired = ProblemCode(
        "passcode-required", 403, "Current passcode required",
        "give the current passcode (forgotten: re-verify with card and face, purpose passcode-reset)")
    public static let passcodeWrong = ProblemCode(
        "passcode-wrong", 403, "Wrong passcode", "enter the passcode again")
    public static let passcodeLocked = ProblemCode(
        "passcode-locked", 423, "Passcode locked",
        "wait until it unlocks, or reset it by re-verifying with card and face")

    // Certificates and the CA.
    public static let certificateNotFound = ProblemCode(
        "certificate-not-found", 404, "Certificate not found", "check the serial number (hexadecimal)")
    public static let caNotInitialised = ProblemCode(
        "ca-not-initialised", 500, "CA not set up", "an administrator must run enrolld ca init")
    public static let caAlreadyInitialised = ProblemCode(
        "ca-already-initialised", 500, "CA already set up", "use --force to replace the CA")
    public static let caAwaitingCertificate = ProblemCode(
        "ca-awaiting-certificate", 500, "CA awaiting its certificate",
        "install the CA certificate issued for the pending request")
    public static let caCertificateAlreadyInstalled = ProblemCode(
        "ca-certificate-already-installed", 500, "CA certificate already installed", "nothing to install")
    public static let caInsecurePermissions = ProblemCode(
        "ca-insecure-permissions", 500, "CA files not protected", "make the CA files mode 0600, owned by enrolld")
    public static let caFileError = ProblemCode(
        "ca-file-error", 500, "CA file error", "check the CA directory as the detail says")
    public static let caPassphraseInvalid = ProblemCode(
        "ca-passphrase-invalid", 500, "CA passphrase invalid", "restore the CA's passphrase file")
    public static let caKeyUnreadable = ProblemCode(
        "ca-key-unreadable", 500, "CA key unreadable", "restore the CA key file")
    public static let caCertificateKeyMismatch = ProblemCode(
        "ca-certificate-key-mismatch", 500, "CA certificate does not match its key", "install the matching certificate")
    public static let caCertificateNotUsable = ProblemCode(
        "ca-certificate-not-usable", 500, "CA certificate not usable", "install a CA certificate that may sign")
    public static let caCertificateExpired = ProblemCode(
        "ca-certificate-expired", 500, "CA certificate expired", "an administrator must renew the issuing CA")
    public static let caInvalidConfiguration = ProblemCode(
        "ca-invalid-configuration", 500, "CA configuration invalid", "fix the [ca] section of enrolld.conf")
    public static let caCryptoFailure = ProblemCode(
        "ca-crypto-failure", 500, "CA cryptography failure", "try again; if it persists, check the CA key")
    public static let csrTooLarge = ProblemCode(
        "csr-too-large", 422, "CSR too large", "send a CSR of at most 16 KiB")
    public static let csrMalformed = ProblemCode(
        "csr-malformed", 422, "CSR malformed", "send a PKCS#10 CSR (PEM or DER)")
    public static let csrProofOfPossession = ProblemCode(
        "csr-proof-of-possession", 422, "CSR signature invalid", "sign the CSR with the key it names")
    public static let csrWeakKey = ProblemCode(
        "csr-weak-key", 422, "CSR key too weak", "use a P-256 or stronger key, or RSA of at least 3072 bits")
    public static let csrUnsupportedCurve = ProblemCode(
        "csr-unsupported-curve", 422, "CSR curve not supported", "use P-256, P-384 or P-521")
    public static let csrUnsupportedKey = ProblemCode(
        "csr-unsupported-key", 422, "CSR key type not supported", "use an EC or RSA key")
    public static let invalidSubject = ProblemCode(
        "invalid-subject", 422, "Invalid certificate subject", "the chip's names cannot form a certificate subject")
    public static let invalidIntent = ProblemCode(
        "invalid-intent", 500, "Invalid issuance intent", "try again")
    public static let invalidSerial = ProblemCode(
        "invalid-serial", 400, "Invalid serial", "give the serial number in hexadecimal")
    public static let invalidCRLParameters = ProblemCode(
        "invalid-crl-parameters", 500, "Invalid CRL parameters", "check the CA's configuration")

    // The trust store.
    public static let trustImportRefused = ProblemCode(
        "trust-import-refused", 422, "Trust import refused",
        "import a master list, CSCA certificate or CRL as the detail says")
    public static let trustStoreWriteFailed = ProblemCode(
        "trust-store-write-failed", 500, "Trust store not writable", "make the trust directory writable by enrolld")

    // Trust lists (ETSI TS 119 612) and foreign certificates.
    public static let trustListNotConfigured = ProblemCode(
        "trust-list-not-configured", 500, "Trust list not configured",
        "set [trust_list] territory (and the operator's details) in enrolld.conf")
    public static let trustListInvalid = ProblemCode(
        "trust-list-invalid", 500, "Trust list cannot be made", "fix the [trust_list] section as the detail says")
    public static let trustListSigningFailed = ProblemCode(
        "trust-list-signing-failed", 500, "Trust list not signed", "try again; if it persists, check the CA key")
    public static let trustListTooLarge = ProblemCode(
        "trust-list-too-large", 413, "Trust list too large", "import a list of at most 16 MiB")
    public static let trustListMalformed = ProblemCode(
        "trust-list-malformed", 422, "Not a signed trust list",
        "import the ETSI TS 119 612 XML as published, with its one enveloped signature")
    public static let trustListUntrustedSigner = ProblemCode(
        "trust-list-untrusted-signer", 422, "Trust list signer not pinned",
        "add the other jurisdiction's trust list signer (or its CA), obtained out of band, to [trust_list] pinned_signers"
    )
    public static let trustListSignatureInvalid = ProblemCode(
        "trust-list-signature-invalid", 422, "Trust list signature invalid", "the list was altered: fetch it again")
    public static let trustListExpired = ProblemCode(
        "trust-list-expired", 422, "Trust list expired", "fetch the other jurisdiction's current list")
    public static let trustListFromTheFuture = ProblemCode(
        "trust-list-from-the-future", 422, "Trust list issued in the future", "check this host's clock")
    public static let trustListSequenceWentBack = ProblemCode(
        "trust-list-sequence-went-back", 409, "Older trust list",
        "a newer list of this territory is imported already: import the current one")
    public static let trustListWrongTerritory = ProblemCode(
        "trust-list-wrong-territory", 422, "Trust list of another territory", "check the territory and the file")
    public static let trustListWriteFailed = ProblemCode(
        "trust-list-write-failed", 500, "Trust list directory not writable",
        "make the [trust_list] directory writable by enrolld")
    public static let invalidCertificate = ProblemCode(
        "invalid-certificate", 400, "Invalid certificate", "send an X.509 certificate, PEM or base64 DER")
    public static let foreignNoTrustedService = ProblemCode(
        "foreign-no-trusted-service", 422, "Certificate not from a recognised service",
        "the certificate does not chain to a service of an imported trust list: import that jurisdiction's list")
    public static let foreignServiceNotTrusted = ProblemCode(
        "foreign-service-not-trusted", 422, "Service not trusted",
        "the issuing service's status in its trust list is not one to rely on")
    public static let foreignIssuedWhileNotTrusted = ProblemCode(
        "foreign-issued-while-not-trusted", 422, "Issued while the service was not trusted",
        "do not rely on the certificate")
    public static let foreignPolicyNotAccepted = ProblemCode(
        "foreign-policy-not-accepted", 422, "Certificate policy not accepted",
        "the certificate carries none of its service's policies: do not rely on it")
    public static let foreignServiceCertificate = ProblemCode(
        "foreign-service-certificate", 422, "A CA certificate",
        "send the holder's signing certificate, not the service's CA certificate")
    public static let foreignCertificateRevoked = ProblemCode(
        "foreign-certificate-revoked", 422, "Certificate revoked", "do not rely on the certificate")
    public static let foreignCertificateUnknown = ProblemCode(
        "foreign-certificate-unknown", 422, "Certificate unknown to its issuer", "do not rely on the certificate")
    public static let foreignStatusUnavailable = ProblemCode(
        "foreign-status-unavailable", 503, "Certificate status unavailable",
        "the issuer's OCSP responder and CRL did not answer usably: try again later")

    // Data release by consent: the verifier registry, presentations, requests, consent.
    public static let invalidVerifier = ProblemCode(
        "invalid-verifier", 400, "Invalid verifier",
        "a verifier needs an id (1 to 64 letters, digits, '-', '_', '.'), a legal name, a purpose, allowed elements, "
            + "a validity and a CSR or a certificate")
    public static let verifierExists = ProblemCode(
        "verifier-exists", 409, "Verifier exists", "choose another id, or suspend and revoke the existing verifier")
    public static let verifierNotFound = ProblemCode(
        "verifier-not-found", 404, "No such verifier", "list the registry with enrollctl verifiers list")
    public static let verifierNotApproved = ProblemCode(
        "verifier-not-approved", 403, "Verifier not approved",
        "the verifier is suspended, revoked, or outside its validity: the bureau decides who may verify")
    public static let verifierCertificateUnknown = ProblemCode(
        "verifier-certificate-unknown", 403, "Client certificate not registered",
        "connect with the client certificate registered for the verifier (enrollctl verifiers add)")
    public static let unknownElement = ProblemCode(
        "unknown-element", 400, "Unknown data element", "name elements from the catalogue")
    public static let elementNotAllowed = ProblemCode(
        "element-not-allowed", 403, "Element not allowed",
        "ask only for the elements the registry allows this verifier")
    public static let presentationNotFound = ProblemCode(
        "presentation-not-found", 404, "No such presentation",
        "the presentation ended or never existed: the holder opens a new one")
    public static let tokenInvalid = ProblemCode(
        "token-invalid", 403, "Invalid token", "scan the holder's current QR code again")
    public static let tokenExpired = ProblemCode(
        "token-expired", 403, "Token expired or superseded", "scan the holder's current QR code again")
    public static let tokenReplayed = ProblemCode(
        "token-replayed", 409, "Token already used", "each QR code answers one request: scan the current one")
    public static let releaseRequestNotFound = ProblemCode(
        "release-request-not-found", 404, "No such request",
        "the request ended or belongs to another verifier: send a new one")
    public static let consentRequired = ProblemCode(
        "consent-required", 409, "No consent", "nothing is released before the holder consents: wait, and ask again")
    public static let consentAlreadyGiven = ProblemCode(
        "consent-already-given", 409, "Request already answered", "one consent answers one request")
    public static let consentSignatureInvalid = ProblemCode(
        "consent-signature-invalid", 403, "Consent signature invalid",
        "sign the request's digest with the key of the device bound to the account")

    /// Every problem the daemon answers, each once.
    public static let all: [ProblemCode] = [
        .malformedRequest, .headersTooLarge, .bodyTooLarge, .transferEncodingUnsupported, .httpVersionUnsupported,
        .requestTimeout, .serverBusy, .tooManyConnections, .tooManyEventStreams, .notFound, .methodNotAllowed,
        .missingBody, .invalidBody, .invalidID,
        .invalidTime, .invalidLimit, .invalidAfter, .internalError, .storageError,
        .noRole, .roleRequired, .roleNotGranted, .invalidRole, .invalidChannel, .holderProofRequired,
        .holderProofFailed, .passcodeEntriesExhausted, .reverificationRequired, .forbidden,
        .readerNotFound, .readerNotYours, .readerBusy, .readerError, .pcscUnavailable, .noCard, .cardRemoved,
        .cardReadTimeout,
        .accessKeyRejected, .accessProtocolUnsupported, .accessPolicyRefused, .missingAccessKey, .invalidAccessKey,
        .invalidMRZ,
        .accessKeyUnreadable, .cardScanUnavailable, .chipSecurityError, .chipError, .malformedChipData,
        .faceModelsMissing, .faceEngineFailure, .noFace, .faceTooSmall, .severalFaces, .undecodableImage,
        .unsupportedImageFormat, .imageTooLarge, .faceEngineBusy, .suspectedReplay,
        .livenessFailed, .invalidBurst, .livenessChallengeRequired, .livenessRequired,
        .enrollmentUnavailable, .enrollmentNotFound, .enrollmentExpired, .enrollmentWrongState, .enrollmentBusy,
        .invalidPurpose, .accountRequired, .identityMismatch, .documentNotGenuine, .dataGroupWithheld,
        .stateNotAccepted, .holderMismatch, .holderNameUnchanged, .documentExpired,
        .invalidDocumentDates, .noPortrait, .faceMismatch, .attemptsExhausted, .underAge, .identityAlreadyEnrolled,
        .upgradeTokenInvalid, .accountCancelled,
        .accountNotNormal, .csrRequired, .invalidCSR, .guardianRequired, .guardianNotEligible, .guardianNotNeeded,
        .guardianMismatch, .guardianNotPresent, .guardianNotSeen, .invalidTestStopPoint,
        .accountNotFound, .personalDataUnreadable, .invalidStatus, .reasonRequired, .invalidReason, .invalidContact,
        .contactRequired, .activationNotPending, .activationCodeWrong, .contactCodeRequired,
        .activationExpired, .invalidOutboxState, .outboxMessageNotFound, .outboxMessageNotFailed, .invalidDeviceID,
        .invalidDeviceLabel, .invalidDeviceKey, .deviceNotBound, .invalidPasscode,
        .passcodeDisabled, .passcodeNotSet, .passcodeRequired, .passcodeWrong, .passcodeLocked,
        .certificateNotFound, .caNotInitialised, .caAlreadyInitialised, .caAwaitingCertificate,
        .caCertificateAlreadyInstalled, .caInsecurePermissions, .caFileError, .caPassphraseInvalid, .caKeyUnreadable,
        .caCertificateKeyMismatch, .caCertificateNotUsable, .caCertificateExpired, .caInvalidConfiguration,
        .caCryptoFailure, .csrTooLarge, .csrMalformed, .csrProofOfPossession, .csrWeakKey, .csrUnsupportedCurve,
        .csrUnsupportedKey, .invalidSubject, .invalidIntent, .invalidSerial, .invalidCRLParameters,
        .trustImportRefused, .trustStoreWriteFailed,
        .trustListNotConfigured, .trustListInvalid, .trustListSigningFailed, .trustListTooLarge, .trustListMalformed,
        .trustListUntrustedSigner, .trustListSignatureInvalid, .trustListExpired, .trustListFromTheFuture,
        .trustListSequenceWentBack, .trustListWrongTerritory, .trustListWriteFailed, .invalidCertificate,
        .foreignNoTrustedService, .foreignServiceNotTrusted, .foreignIssuedWhileNotTrusted, .foreignPolicyNotAccepted,
        .foreignServiceCertificate, .foreignCertificateRevoked, .foreignCertificateUnknown, .foreignStatusUnavailable,
        .invalidVerifier, .verifierExists, .verifierNotFound, .verifierNotApproved, .verifierCertificateUnknown,
        .unknownElement, .elementNotAllowed, .presentationNotFound, .tokenInvalid, .tokenExpired, .tokenReplayed,
        .releaseRequestNotFound, .consentRequired, .consentAlreadyGiven, .consentSignatureInvalid,
    ]
}
