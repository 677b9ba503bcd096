import CertificateAuthority
import EnrollAPIModel
import Enrollment
import Foundation
import Synchronization

/// Card reads and PC/SC connections in use at scrape time: both return to 0 when no read runs, so a read that
/// ended in a fault and left either behind shows here.
public struct CardActivity: Sendable, Equatable {
    public var activeReads: Int
    public var openConnections: Int

    public init(activeReads: Int = 0, openConnections: Int = 0) {
        self.activeReads = activeReads
        self.openConnections = openConnections
    }
}

/// Cumulative histogram of durations in seconds, as Prometheus exposes them.
public struct DurationHistogram: Sendable, Equatable {
    /// Upper bounds of the buckets, ascending; `+Inf` is implicit.
    public let bounds: [Double]
    /// Observations per bucket (not cumulative); the last entry is the `+Inf` overflow.
    public private(set) var counts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    public init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        counts = Array(repeating: 0, count: bounds.count + 1)
    }

    public mutating func observe(_ seconds: Double) {
        let value = max(0, seconds)
        counts[bounds.firstIndex { value <= $0 } ?? bounds.count] += 1
        sum += value
        count += 1
    }
}

/// The daemon's Prometheus metrics (`GET /metrics`, text exposition format 0.0.4).
///
/// Counters are incremented where things happen: from the typed fields of every event, as an observer of the event
/// hub (synchronous, so none is lost when a subscriber's queue drops old events), and from wrappers around the
/// enrollment ports (face match time, certificates issued). Label values are stable error codes, tiers and
/// revocation reasons only: never names, document numbers, serials or ids.
public final class Metrics: Sendable {
    /// The text format's content type.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private struct State {
        var enrollments: [LabelPair: UInt64] = [:]
        var cardReads: [String: UInt64] = [:]
        var cardReadSeconds = DurationHistogram(bounds: [0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30])
        var faceMatchSeconds = DurationHistogram(bounds: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8])
        var certificatesIssued: UInt64 = 0
        var certificatesRevoked: [String: UInt64] = [:]
        var passcodeFailedEntries: UInt64 = 0
        var passcodeLocks: [String: UInt64] = ["temporary": 0, "permanent": 0]
        var passcodeKioskLockouts: UInt64 = 0
        /// Outbox messages by what happened to them: queued, sent, retried, failed.
        var outbox: [String: UInt64] = ["queued": 0, "sent": 0, "retried": 0, "failed": 0]
        /// Activations by outcome: activated, wrong-code, expired.
        var activations: [String: UInt64] = ["activated": 0, "wrong-code": 0, "expired": 0]
    }

    private let state = Mutex(State())
    /// OCSP answers by source: relaxed atomics, so that counting does not serialise the cached path.
    private let ocspFromCache = Atomic<Int>(0)
    private let ocspSigned = Atomic<Int>(0)
    private let ocspErrors = Atomic<Int>(0)

    private struct LabelPair: Hashable, Comparable {
        var first: String
        var second: String
        static func < (lhs: LabelPair, rhs: LabelPair) -> Bool { (lhs.first, lhs.second) < (rhs.first, rhs.second) }
    }

    public init() {}

    /// Counts every event `hub` publishes from now on, as it is published.
    public func follow(_ hub: EventHub) {
        hub.observe { [weak self] event in self?.record(event) }
    }

    /// Counts one daemon event from its typed fields.
    public func record(_ event: DaemonEvent) {
        state.withLock { state in
            switch event.type {
            case .cardReadCompleted, .cardReadFailed:
                state.cardReads[event.type == .cardReadCompleted ? "completed" : "failed", default: 0] += 1
                if let milliseconds = event.milliseconds { state.cardReadSeconds.observe(Double(milliseconds) / 1000) }
            case .enrollmentCompleted:
                state.enrollments[
                    LabelPair(first: "completed", second: Metrics.labelValue(event.tier ?? "")), default: 0] += 1
            case .enrollmentFailed:
                state.enrollments[
                    LabelPair(first: "failed", second: Metrics.labelValue(event.code ?? "")), default: 0] += 1
            case .enrollmentExpired:
                state.enrollments[LabelPair(first: "expired", second: "timeout"), default: 0] += 1
            case .certificateRevoked:
                state.certificatesRevoked[Metrics.labelValue(event.reason ?? ""), default: 0] += 1
            default:
                break
            }
        }
    }

    /// Counts a passcode event (failed entries, locks, kiosks locked out).
    public func record(_ event: PasscodeEvent) {
        state.withLock { state in
            switch event {
            case .failedEntry: state.passcodeFailedEntries += 1
            case let .locked(permanent): state.passcodeLocks[permanent ? "permanent" : "temporary", default: 0] += 1
            case .callerLockedOut: state.passcodeKioskLockouts += 1
            }
        }
    }

    /// Counts an outbox message's step (`queued`, `sent`, `retried`, `failed`).
    public func recordOutbox(_ step: String) {
        state.withLock { $0.outbox[step, default: 0] += 1 }
    }

    /// Counts an activation outcome.
    public func record(_ event: ActivationEvent) {
        let outcome: String
        switch event {
        case .activated: outcome = "activated"
        case .wrongCode: outcome = "wrong-code"
        case .expired: outcome = "expired"
        }
        state.withLock { $0.activations[outcome, default: 0] += 1 }
    }

    public func observeFaceMatch(seconds: Double) {
        state.withLock { $0.faceMatchSeconds.observe(seconds) }
    }

    /// Counts one OCSP answer by where it came from.
    public func observeOCSP(_ source: OCSPAnswer.Source) {
        switch source {
        case .cache: ocspFromCache.wrappingAdd(1, ordering: .relaxed)
        case .fresh: ocspSigned.wrappingAdd(1, ordering: .relaxed)
        case .error: ocspErrors.wrappingAdd(1, ordering: .relaxed)
        }
    }

    public func certificateIssued() {
        state.withLock { $0.certificatesIssued += 1 }
    }

    /// The exposition text, with the gauges the caller reads at scrape time.
    public func render(
        readersPresent: Int, pcscAvailable: Bool, version: String, uptimeSeconds: Double,
        cardActivity: CardActivity = CardActivity(), apiConnections: Int = 0,
        enrollmentSessions: Int = 0, apiRefusals: [String: Int] = [:]
    ) -> String {
        var text = ""
        func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)] = [], _ value: String) {
            let rendered =
                labels.isEmpty
                ? ""
                : "{"
                    + labels.map { "\($0.0)=\"\(Metrics.escape($0.1))\"" }
                    .joined(separator: ",") + "}"
            text += "\(name)\(rendered) \(value)\n"
        }
        func histogram(_ name: String, _ histogram: DurationHistogram) {
            var cumulative: UInt64 = 0
            for (index, bound) in histogram.bounds.enumerated() {
                cumulative += histogram.counts[index]
                sample(name + "_bucket", [("le", Metrics.number(bound))], "\(cumulative)")
            }
            sample(name + "_bucket", [("le", "+Inf")], "\(histogram.count)")
            sample(name + "_sum", [], Metrics.number(histogram.sum))
            sample(name + "_count", [], "\(histogram.count)")
        }

        state.withLock { state in
            family("enrolld_build_info", "gauge", "Build information; the value is always 1.")
            sample("enrolld_build_info", [("version", version)], "1")
            family("enrolld_uptime_seconds", "gauge", "Seconds since the daemon started.")
            sample("enrolld_uptime_seconds", [], Metrics.number(uptimeSeconds))
            family("enrolld_pcsc_available", "gauge", "1 when pcscd answers, 0 otherwise.")
            sample("enrolld_pcsc_available", [], pcscAvailable ? "1" : "0")
            family("enrolld_readers_present", "gauge", "PC/SC readers currently present.")
            sample("enrolld_readers_present", [], "\(readersPresent)")
            family("enrolld_card_reads_active", "gauge", "Card reads running now (at most one per reader).")
            sample("enrolld_card_reads_active", [], "\(cardActivity.activeReads)")
            family("enrolld_card_connections_open", "gauge", "PC/SC card connections held open now; 0 when idle.")
            sample("enrolld_card_connections_open", [], "\(cardActivity.openConnections)")
            family("enrolld_api_connections_open", "gauge", "API connections being served now, this one included.")
            sample("enrolld_api_connections_open", [], "\(apiConnections)")
            family("enrolld_enrollment_sessions_open", "gauge", "Enrollment sessions in memory (open, not yet ended).")
            sample("enrolld_enrollment_sessions_open", [], "\(enrollmentSessions)")
            family(
                "enrolld_api_connections_refused_total", "counter",
                "API connections turned away or cut short, by reason: admission (a caller in no role), busy, "
                    + "reserved (only staff slots left), per-uid, head-timeout, body-too-slow.")
            for reason in apiRefusals.keys.sorted() {
                sample("enrolld_api_connections_refused_total", [("reason", reason)], "\(apiRefusals[reason] ?? 0)")
            }

            family(
                "enrolld_enrollments_total", "counter",
                "Finished enrollment sessions by outcome; reason is the tier (completed), the error code (failed) "
                    + "or timeout (expired).")
            for key in state.enrollments.keys.sorted() {
                sample(
                    "enrolld_enrollments_total", [("outcome", key.first), ("reason", key.second)],
                    "\(state.enrollments[key] ?? 0)")
            }
            family("enrolld_card_reads_total", "counter", "Chip reads by outcome (completed or failed).")
            for outcome in ["completed", "failed"] {
                sample("enrolld_card_reads_total", [("outcome", outcome)], "\(state.cardReads[outcome] ?? 0)")
            }
            family("enrolld_card_read_seconds", "histogram", "Time to read a chip, from connect to parsed data.")
            histogram("enrolld_card_read_seconds", state.cardReadSeconds)
            family("enrolld_face_match_seconds", "histogram", "Time to compare the chip portrait with a live photo.")
            histogram("enrolld_face_match_seconds", state.faceMatchSeconds)
            family("enrolld_certificates_issued_total", "counter", "Signing certificates issued by the CA.")
            sample("enrolld_certificates_issued_total", [], "\(state.certificatesIssued)")
            family(
                "enrolld_passcode_failed_entries_total", "counter",
                "Failed service-passcode entries (wrong, locked, or for an account without one).")
            sample("enrolld_passcode_failed_entries_total", [], "\(state.passcodeFailedEntries)")
            family("enrolld_passcode_locks_total", "counter", "Passcodes locked, temporarily or for good.")
            for kind in state.passcodeLocks.keys.sorted() {
                sample("enrolld_passcode_locks_total", [("kind", kind)], "\(state.passcodeLocks[kind] ?? 0)")
            }
            family(
                "enrolld_passcode_kiosk_lockouts_total", "counter",
                "Kiosk uids that used up their budget of failed passcode entries (passcode.kiosk_budget).")
            sample("enrolld_passcode_kiosk_lockouts_total", [], "\(state.passcodeKioskLockouts)")
            family(
                "enrolld_outbox_messages_total", "counter",
                "Outbox messages by step: queued (by this daemon), sent, retried (a failed attempt with one to come), "
                    + "failed (attempts used up or refused for good; kept for enrollctl outbox retry).")
            for step in state.outbox.keys.sorted() {
                sample("enrolld_outbox_messages_total", [("state", step)], "\(state.outbox[step] ?? 0)")
            }
            family(
                "enrolld_activations_total", "counter",
                "Activations through the contact by outcome: activated, wrong-code, expired (revoked, tier restored).")
            for outcome in state.activations.keys.sorted() {
                sample("enrolld_activations_total", [("outcome", outcome)], "\(state.activations[outcome] ?? 0)")
            }
            family("enrolld_certificates_revoked_total", "counter", "Certificates revoked, by RFC 5280 reason.")
            for reason in state.certificatesRevoked.keys.sorted() {
                sample(
                    "enrolld_certificates_revoked_total", [("reason", reason)],
                    "\(state.certificatesRevoked[reason] ?? 0)")
            }
        }
        family(
            "enrolld_ocsp_responses_total", "counter",
            "OCSP answers by source: cache (pre-produced, no signature), signed (for the request: nonce, miss), "
                + "error (malformedRequest, unauthorized, tryLater, internalError).")
        sample("enrolld_ocsp_responses_total", [("source", "cache")], "\(ocspFromCache.load(ordering: .relaxed))")
        sample("enrolld_ocsp_responses_total", [("source", "signed")], "\(ocspSigned.load(ordering: .relaxed))")
        sample("enrolld_ocsp_responses_total", [("source", "error")], "\(ocspErrors.load(ordering: .relaxed))")
        return text
    }

    /// A label value from a stable code: lower-case letters, digits, `-` and `_`, at most 64
    /// characters; anything else (which could carry personal data) becomes `other`.
    static func labelValue(_ raw: String) -> String {
        let allowed = raw.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
        }
        return allowed && !raw.isEmpty && raw.utf8.count <= 64 ? raw : "other"
    }

    /// Label value escaping of the text format: backslash, double quote and newline.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

/// Times every face comparison into `metrics`.
struct TimedFaceComparing: FaceComparing {
    let base: any FaceComparing
    let metrics: Metrics

    func compare(
        reference: [UInt8], probe: [UInt8], session: UUID,
        callerUID: UInt32
    ) throws(EnrollmentError) -> FaceEvidence {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { metrics.observeFaceMatch(seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9) }
        return try base.compare(reference: reference, probe: probe, session: session, callerUID: callerUID)
    }
}

/// Counts the certificates the CA signs.
struct CountingCertificateIssuing: CertificateIssuing {
    let base: any CertificateIssuing
    let metrics: Metrics

    func validate(csr: [UInt8]) throws(EnrollmentError) { try base.validate(csr: csr) }

    func plan(notAfterLimit: Date) throws(EnrollmentError) -> IssuancePlan {
        try base.plan(notAfterLimit: notAfterLimit)
    }

    func issue(plan: IssuancePlan, csr: [UInt8], subject: CertificateSubject) throws(EnrollmentError) -> [UInt8] {
        let der = try base.issue(plan: plan, csr: csr, subject: subject)
        metrics.certificateIssued()
        return der
    }
}
