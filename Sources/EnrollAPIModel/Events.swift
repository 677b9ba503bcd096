import Foundation

/// The kinds of event the daemon publishes on `GET /v1/events` (the SSE `event:` name).
public enum EventKind: String, Codable, Sendable, CaseIterable {
    case readerAdded = "reader-added"
    case readerRemoved = "reader-removed"
    case cardInserted = "card-inserted"
    case cardRemoved = "card-removed"
    case pcscUnavailable = "pcsc-unavailable"
    case pcscAvailable = "pcsc-available"
    case cardReadStarted = "card-read-started"
    case cardReadCompleted = "card-read-completed"
    case cardReadFailed = "card-read-failed"
    case enrollmentCardVerified = "enrollment-card-verified"
    case enrollmentFaceMatched = "enrollment-face-matched"
    case enrollmentFaceMismatch = "enrollment-face-mismatch"
    case enrollmentLivenessPassed = "enrollment-liveness-passed"
    case enrollmentLivenessFailed = "enrollment-liveness-failed"
    case enrollmentGuardianVerified = "enrollment-guardian-verified"
    case enrollmentCompleted = "enrollment-completed"
    case enrollmentFailed = "enrollment-failed"
    case enrollmentExpired = "enrollment-expired"
    case certificateRevoked = "certificate-revoked"
    case deviceBound = "device-bound"
    case deviceUnbound = "device-unbound"
    case accountStatusChanged = "account-status-changed"
    case trustStoreReloaded = "trust-store-reloaded"
}

/// An event on `GET /v1/events`, with typed fields: kiosk software, metrics and logs read these values, never
/// the human-readable `detail`. Events carry no personal data and no account ids: readers, ATRs, enrollment
/// session ids (a kiosk sees only its own sessions' details), codes, tiers, serials and counts.
public struct DaemonEvent: Codable, Sendable, Equatable {
    /// Increasing per daemon run; SSE `id`.
    public var id: Int
    /// SSE event name.
    public var type: EventKind
    /// ISO 8601 UTC time.
    public var time: String
    public var reader: String?
    /// Hexadecimal ATR (card-inserted).
    public var atr: String?
    /// The enrollment session (enrollment-*).
    public var enrollmentId: String?
    /// The tier reached (enrollment-completed): `basic`, `signing`, or `passcode-reset` for a reset session.
    public var tier: String?
    /// The problem or failure code (card-read-failed, enrollment-failed, enrollment-face-mismatch).
    public var code: String?
    /// Photo attempts left (enrollment-face-mismatch), liveness attempts left (enrollment-liveness-failed).
    public var attemptsLeft: Int?
    /// The liveness check that decided (enrollment-liveness-failed).
    public var check: String?
    /// Certificate serial, hexadecimal (certificate-revoked).
    public var serial: String?
    /// RFC 5280 reason name (certificate-revoked).
    public var reason: String?
    /// The identity status after a change (account-status-changed).
    public var status: String?
    /// APDUs exchanged and the read's duration (card-read-completed).
    public var apdus: Int?
    public var milliseconds: Int?
    /// CSCA certificates trusted after a reload (trust-store-reloaded).
    public var cscaCertificates: Int?
    /// A one-line human-readable summary of the typed fields, for people watching the stream.
    public var detail: String?
    /// For failures: what went wrong and what to do, in words a kiosk can show (no personal data).
    public var message: String?

    public init(
        id: Int = 0, type: EventKind, time: String = "", reader: String? = nil, atr: String? = nil,
        enrollmentId: String? = nil, tier: String? = nil, code: String? = nil, attemptsLeft: Int? = nil,
        serial: String? = nil, reason: String? = nil, status: String? = nil, apdus: Int? = nil,
        milliseconds: Int? = nil, cscaCertificates: Int? = nil, detail: String? = nil, message: String? = nil,
        check: String? = nil
    ) {
        self.id = id
        self.type = type
        self.time = time
        self.reader = reader
        self.atr = atr
        self.enrollmentId = enrollmentId
        self.tier = tier
        self.code = code
        self.attemptsLeft = attemptsLeft
        self.serial = serial
        self.reason = reason
        self.status = status
        self.apdus = apdus
        self.milliseconds = milliseconds
        self.cscaCertificates = cscaCertificates
        self.detail = detail
        self.message = message
        self.check = check
    }
}

extension DaemonEvent {
    public static func readerAdded(_ reader: String) -> DaemonEvent {
        DaemonEvent(type: .readerAdded, reader: reader)
    }

    public static func readerRemoved(_ reader: String) -> DaemonEvent {
        DaemonEvent(type: .readerRemoved, reader: reader)
    }

    public static func cardInserted(_ reader: String, atr: String) -> DaemonEvent {
        DaemonEvent(type: .cardInserted, reader: reader, atr: atr)
    }

    public static func cardRemoved(_ reader: String) -> DaemonEvent {
        DaemonEvent(type: .cardRemoved, reader: reader)
    }

    public static func cardReadStarted(_ reader: String) -> DaemonEvent {
        DaemonEvent(type: .cardReadStarted, reader: reader)
    }

    public static func cardReadCompleted(_ reader: String, apdus: Int, milliseconds: Int) -> DaemonEvent {
        DaemonEvent(
            type: .cardReadCompleted, reader: reader, apdus: apdus, milliseconds: milliseconds,
            detail: "\(apdus) APDUs in \(milliseconds) ms")
    }

    /// `detail` repeats the code, as before typed fields existed.
    public static func cardReadFailed(_ reader: String, problem: Problem, milliseconds: Int? = nil) -> DaemonEvent {
        DaemonEvent(
            type: .cardReadFailed, reader: reader, code: problem.code, milliseconds: milliseconds,
            detail: problem.code, message: problem.detail)
    }

    /// An enrollment step's event; `detail` keeps the form `<session id>[: <tier or code>]`.
    public static func enrollment(
        _ kind: EventKind, session: String, tier: String? = nil, code: String? = nil,
        attemptsLeft: Int? = nil, message: String? = nil,
        check: String? = nil
    ) -> DaemonEvent {
        let summary = tier ?? code ?? attemptsLeft.map { "\($0) attempt(s) left" }
        return DaemonEvent(
            type: kind, enrollmentId: session, tier: tier, code: code, attemptsLeft: attemptsLeft,
            detail: summary.map { "\(session): \($0)" } ?? session, message: message, check: check)
    }

    public static func certificateRevoked(serial: String, reason: String) -> DaemonEvent {
        DaemonEvent(type: .certificateRevoked, serial: serial, reason: reason, detail: "\(serial) \(reason)")
    }

    public static func trustStoreReloaded(cscaCertificates: Int) -> DaemonEvent {
        DaemonEvent(
            type: .trustStoreReloaded, cscaCertificates: cscaCertificates,
            detail: "\(cscaCertificates) CSCA certificate(s)")
    }
}
