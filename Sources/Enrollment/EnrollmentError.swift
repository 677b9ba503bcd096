import Store

/// Why an enrollment step was refused. Each has a stable code for kiosk software, an HTTP-ish
/// status, and a sentence the person at the kiosk or counter can act on.
public struct EnrollmentError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: String
    public var status: Int
    public var message: String
    /// An account this refers to (e.g. the existing account of a duplicate identity).
    public var accountID: String?

    public init(code: String, status: Int, message: String, accountID: String? = nil) {
        self.code = code
        self.status = status
        self.message = message
        self.accountID = accountID
    }

    public var description: String { message }

    public static func notGenuine(_ reasons: [String]) -> EnrollmentError {
        EnrollmentError(code: "document-not-genuine", status: 422,
                        message: "the document could not be proven genuine: \(reasons.joined(separator: "; "))")
    }

    public static let documentExpired = EnrollmentError(
        code: "document-expired", status: 422,
        message: "the document has expired: enroll with a valid document")

    public static func underAge(_ minimum: Int) -> EnrollmentError {
        EnrollmentError(code: "under-age", status: 422,
                        message: "the holder is under \(minimum): the signing tier is for adults only")
    }

    public static func faceMismatch(attemptsLeft: Int) -> EnrollmentError {
        EnrollmentError(code: "face-mismatch", status: 422,
                        message: attemptsLeft > 0
                            ? "the live photo does not match the chip portrait: look straight at the camera and "
                                + "try again (\(attemptsLeft) attempt(s) left)"
                            : "the live photo does not match the chip portrait: no attempts left, the session has ended")
    }

    public static func duplicateIdentity(existing: String) -> EnrollmentError {
        EnrollmentError(code: "identity-already-enrolled", status: 409,
                        message: "this identity already has an account (\(existing)): upgrade that account instead",
                        accountID: existing)
    }

    public static let accountCancelled = EnrollmentError(
        code: "account-cancelled", status: 409,
        message: "the account is cancelled: a cancelled identity cannot be enrolled again")

    public static func sessionNotFound(_ id: String) -> EnrollmentError {
        EnrollmentError(code: "enrollment-not-found", status: 404, message: "no enrollment session \(id)")
    }

    public static let sessionExpired = EnrollmentError(
        code: "enrollment-expired", status: 410,
        message: "the enrollment session timed out and its data was wiped: start again by tapping the card")

    public static func wrongState(_ state: String, expected: String) -> EnrollmentError {
        EnrollmentError(code: "enrollment-wrong-state", status: 409,
                        message: "the enrollment session is \(state); this step needs it to be \(expected)")
    }

    public static func store(_ error: StoreError) -> EnrollmentError {
        if case let .duplicateIdentity(existing) = error { return duplicateIdentity(existing: existing.uuidString) }
        return EnrollmentError(code: "storage-error", status: 500, message: "storage failed: \(error)")
    }
}
