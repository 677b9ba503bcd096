import EnrollAPIModel
import Store

/// Why an enrollment step was refused: a catalogued problem (stable code, HTTP status, title, what to do) and a
/// sentence about this refusal that the person at the kiosk or counter can act on.
public struct EnrollmentError: Error, Equatable, Sendable, CustomStringConvertible {
    public var kind: ProblemCode
    public var message: String
    /// `liveness-failed`: the check that decided and what the person should do.
    public var check: String?
    public var instruction: String?
    /// Attempts left in the session, where the refusal counted one.
    public var attemptsLeft: Int?
    /// `face-engine-busy`: seconds before retrying.
    public var retryAfter: Int?
    /// `identity-already-enrolled`: the session kept open for the upgrade, and the token that upgrades from it.
    public var enrollmentID: String?
    public var upgradeToken: String?

    public init(_ kind: ProblemCode, _ message: String? = nil) {
        self.kind = kind
        self.message = message ?? kind.action
    }

    public var code: String { kind.code }
    public var status: Int { kind.status }
    public var description: String { message }

    public static func notGenuine(_ reasons: [String]) -> EnrollmentError {
        EnrollmentError(
            .documentNotGenuine,
            "the document could not be proven genuine: \(reasons.joined(separator: "; "))")
    }

    /// EF.SOD lists data groups enrollment uses that the chip did not give up (`reasons` name them).
    public static func dataGroupWithheld(_ reasons: [String]) -> EnrollmentError {
        EnrollmentError(
            .dataGroupWithheld,
            "the chip did not give up a data group its signed EF.SOD lists: \(reasons.joined(separator: "; "))"
                + "; tap the card again, and if it persists send the holder to a counter")
    }

    public static func stateNotAccepted(_ state: String, accepted: Set<String>) -> EnrollmentError {
        EnrollmentError(
            .stateNotAccepted,
            "documents issued by \(state) are not accepted for enrollment here (accepted: "
                + "\(accepted.sorted().joined(separator: ", "))): the holder enrolls with a document "
                + "of an accepted state")
    }

    public static let documentExpired = EnrollmentError(
        .documentExpired, "the document has expired: enroll with a valid document")

    public static func underAge(_ minimum: Int) -> EnrollmentError {
        EnrollmentError(.underAge, "the holder is under \(minimum): the signing tier is for adults only")
    }

    /// A burst that is well formed but not live: the kiosk shows `instruction` to the person.
    public static func livenessFailed(
        check: String, instruction: String, detail: String,
        attemptsLeft: Int
    ) -> EnrollmentError {
        var error = EnrollmentError(
            .livenessFailed,
            "\(instruction) (liveness check \(check) failed: \(detail); "
                + "\(attemptsLeft) attempt(s) left)")
        error.check = check
        error.instruction = instruction
        error.attemptsLeft = attemptsLeft
        return error
    }

    public static func faceMismatch(attemptsLeft: Int) -> EnrollmentError {
        EnrollmentError(
            .faceMismatch,
            attemptsLeft > 0
                ? "the live photo does not match the chip portrait: look straight at the camera and "
                    + "try again (\(attemptsLeft) attempt(s) left)"
                : "the live photo does not match the chip portrait: no attempts left, the session has ended")
    }

    /// The kiosk is told that the identity has an account, never which one: the account id is what an upgrade
    /// names, so handing it to whoever holds the card would let them aim an upgrade at it. The holder finds their
    /// account with their passcode or at a counter; the usage log records the account for staff.
    public static let duplicateIdentity = EnrollmentError(
        .identityAlreadyEnrolled,
        "this identity already has an account: upgrade it with the account's own proof (the holder's passcode, or "
            + "staff at a counter)")

    /// The refusal of a registration whose card's identity has an account, handing the kiosk what upgrades that
    /// account from this session only (`UpgradeOffer.swift`), never the account's id.
    public static func alreadyEnrolled(session: String, upgradeToken: String) -> EnrollmentError {
        var error = EnrollmentError(
            .identityAlreadyEnrolled,
            "this identity already has an account: to upgrade it, send the upgradeToken to "
                + "POST /v1/enrollments/\(session)/upgrade (once, before the session ends); to register, there "
                + "is nothing to do")
        error.enrollmentID = session
        error.upgradeToken = upgradeToken
        return error
    }

    public static let accountCancelled = EnrollmentError(
        .accountCancelled, "the account is cancelled: a cancelled identity cannot be enrolled again")

    public static func sessionNotFound(_ id: String) -> EnrollmentError {
        EnrollmentError(.enrollmentNotFound, "no enrollment session \(id)")
    }

    public static let sessionExpired = EnrollmentError(
        .enrollmentExpired, "the enrollment session timed out and its data was wiped: start again by tapping the card")

    public static func wrongState(_ state: String, expected: String) -> EnrollmentError {
        EnrollmentError(
            .enrollmentWrongState, "the enrollment session is \(state); this step needs it to be \(expected)")
    }

    public static func store(_ error: StoreError) -> EnrollmentError {
        if case .duplicateIdentity = error { return duplicateIdentity }
        if case let .enrollmentFinished(id) = error {
            return EnrollmentError(
                .enrollmentWrongState,
                "enrollment \(id.uuidString) has ended; start again by tapping "
                    + "the card")
        }
        return EnrollmentError(.storageError, "storage failed: \(error)")
    }
}
