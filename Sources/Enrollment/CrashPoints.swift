import EnrollAPIModel
import Foundation

/// A named step of an enrollment where a test bench can freeze the real daemon to SIGKILL it there,
/// proving that every step restarts to a consistent state (`recoverInterrupted()`).
///
/// The points follow one enrollment in order. "Uncommitted" points sit inside a store transaction,
/// before its commit.
public enum CrashPoint: String, Sendable, CaseIterable {
    /// The card was read and authenticated; nothing is stored yet.
    case cardRead = "card-read"
    /// The session (card-verified) is committed; the response is not sent yet.
    case sessionStored = "session-stored"
    /// The face matched in memory; not stored yet.
    case faceMatched = "face-matched"
    /// The face-matched state is committed.
    case faceMatchStored = "face-match-stored"
    /// Inside the first completion transaction: a new account (basic tier) and the certificate intent
    /// with its serial are written, not committed.
    case intentUncommitted = "intent-uncommitted"
    /// The account and the certificate intent are committed; nothing is signed yet.
    case intentRecorded = "intent-recorded"
    /// The CA signed the certificate; the database does not hold it yet.
    case certificateSigned = "certificate-signed"
    /// Inside the second completion transaction: the signing tier is written and the device bound, not committed.
    case deviceBoundUncommitted = "device-bound-uncommitted"
    /// Inside the second completion transaction: every row and the usage records are written, not committed.
    case usageAppendedUncommitted = "usage-appended-uncommitted"
    /// The certificate, the signing tier and the completed session are committed; the response is not sent.
    case certificateCommitted = "certificate-committed"
    /// Group commit: inside a certificate transaction shared by two or more completions, every one of them
    /// signed and written, none committed (the kill falls between the batch's signing and its commit). Only a
    /// batch reaches it; `ENROLLD_TEST_BATCH_SIZE` makes the bench's completions share one.
    case certificateBatchUncommitted = "certificate-batch-uncommitted"
    /// The completion's response was written to the client.
    case responseSent = "response-sent"
    /// A registration without a CSR (basic tier), inside its one transaction: account, session and usage
    /// records written, not committed.
    case basicAccountUncommitted = "basic-account-uncommitted"
    /// The basic account and the completed session are committed; the response is not sent.
    case basicAccountCommitted = "basic-account-committed"
    /// Not an enrollment step: the outbox worker claimed a message (committed), nothing is sent yet.
    case outboxClaimed = "outbox-claimed"
    /// Not an enrollment step: the relay accepted the message; it is not marked sent yet.
    case outboxDeliveredUnmarked = "outbox-delivered-unmarked"
}

/// Where the process stops for a crash test: `ENROLLD_TEST_STOP_AT=<point>` (with `ENROLLD_TEST_BENCH=1`)
/// makes the daemon log the point and `raise(SIGSTOP)` there; the bench then kills it with SIGKILL.
///
/// For test benches only. The environment is read once at start; without both variables `reach` is a
/// single comparison with nil.
public struct CrashPoints: Sendable {
    public let stopAt: CrashPoint?
    /// `ENROLLD_TEST_BATCH_SIZE`: certificate commits wait (up to `batchGatherTimeout`) until this many completions
    /// share one, so a crash test can stop inside a batch. 1 (no waiting) outside crash tests.
    public let batchSize: Int
    /// How long a certificate commit waits for `batchSize` completions: long enough for a bench's completions that
    /// started together to arrive on a loaded machine (card reads and face matches take seconds each), bounded so
    /// a bench whose other completion failed still ends.
    public static let batchGatherTimeout: TimeInterval = 60

    public static let disabled = CrashPoints(stopAt: nil)

    public init(stopAt: CrashPoint?, batchSize: Int = 1) {
        self.stopAt = stopAt
        self.batchSize = batchSize
    }

    /// The stop point the environment asks for, nil when none is set.
    /// - Throws: `EnrollmentError` (`invalid-test-stop-point`) for an unknown point or one set without
    ///   `ENROLLD_TEST_BENCH=1`, so a misspelt point cannot silently test nothing.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws(EnrollmentError) -> CrashPoints
    {
        var batch: Int?
        if let text = environment["ENROLLD_TEST_BATCH_SIZE"], !text.isEmpty {
            guard environment["ENROLLD_TEST_BENCH"] == "1", let size = Int(text), (1...64).contains(size) else {
                throw EnrollmentError(
                    .invalidTestStopPoint,
                    "ENROLLD_TEST_BATCH_SIZE (1 to 64) is for test benches only: "
                        + "set ENROLLD_TEST_BENCH=1 as well, or unset it")
            }
            batch = size
        }
        guard let name = environment["ENROLLD_TEST_STOP_AT"], !name.isEmpty else {
            return CrashPoints(stopAt: nil, batchSize: batch ?? 1)
        }
        guard environment["ENROLLD_TEST_BENCH"] == "1" else {
            throw EnrollmentError(
                .invalidTestStopPoint,
                "ENROLLD_TEST_STOP_AT is for test benches only: set ENROLLD_TEST_BENCH=1 "
                    + "as well, or unset it")
        }
        guard let point = CrashPoint(rawValue: name) else {
            throw EnrollmentError(
                .invalidTestStopPoint,
                "unknown ENROLLD_TEST_STOP_AT '\(name)': use one of "
                    + CrashPoint.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return CrashPoints(stopAt: point, batchSize: batch ?? 1)
    }

    /// Logs that a certificate batch gave up waiting for `batchSize` completions and commits `count` (so a crash
    /// test that never reaches its stop point says why).
    public func batchGatherTimedOut(holding count: Int) {
        FileHandle.standardError.write(
            Data(
                ("<4>test bench: a certificate batch waited \(Int(Self.batchGatherTimeout)) s for "
                    + "\(batchSize) completions (ENROLLD_TEST_BATCH_SIZE) and commits \(count)\n").utf8))
    }

    /// Stops the whole process (SIGSTOP) when `point` is the configured one; otherwise does nothing.
    public func reach(_ point: CrashPoint) {
        guard let stopAt, stopAt == point else { return }
        FileHandle.standardError.write(Data("<4>test bench: stopping at crash point \(point.rawValue)\n".utf8))
        raise(SIGSTOP)
    }
}
