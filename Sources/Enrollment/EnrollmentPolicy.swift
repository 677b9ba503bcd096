import EnrollAPIModel
import Foundation

/// The rules an enrollment must satisfy. Safe defaults; every one configurable.
public struct EnrollmentPolicy: Sendable, Equatable {
    /// Refuse documents the authenticity checks do not prove genuine.
    public var requireGenuineDocument = true
    /// Refuse expired documents.
    public var refuseExpiredDocuments = true
    /// Minimum age for the signing tier.
    public var signingMinimumAge = 18
    /// Below this age an account can only be registered linked to a guardian who is present (the guardian's
    /// card read in the same session).
    public var registrationMinimumAge = 14
    /// Live-photo attempts per session.
    public var maxPhotoAttempts = 3
    /// Seconds before an unfinished session is expired and its data wiped.
    public var sessionTimeout: TimeInterval = 300
    /// Validity of signing certificates (never past the document's expiry).
    public var certificateValidityYears = 3

    public init() {}
}
