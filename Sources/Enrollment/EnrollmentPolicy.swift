import EnrollAPIModel
import Foundation
import Store

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
    /// Issuing states (ICAO codes, DG1) whose documents enrollment accepts (`[trust] accepted_states`); empty:
    /// every state with a trusted CSCA. Compared after `IssuingStateCodes.normalised` (`D<<` is `D`).
    public var acceptedStates: Set<String> = []
    /// Which field of each state's documents is a personal identity number (`[identity]`).
    public var identityRules = IdentityRules()
    /// Which completions need a live burst (the liveness step) first.
    public var livenessRequiredFor = LivenessRequirement.signing
    /// Liveness challenges per session: each challenge is one attempt, answered or not.
    public var maxLivenessAttempts = 3
    /// How long a liveness challenge can be answered.
    public var livenessChallengeLifetime: TimeInterval = 20
    /// How many prompts a challenge asks for (2 to 4).
    public var livenessPrompts: ClosedRange<Int> = 2...3
    /// Activation through the contact (`ContactActivation.swift`).
    public var activation = ActivationPolicy()

    public init() {}

    /// Whether completing `session`'s purpose, with or without a CSR, needs a passed liveness step.
    func requiresLiveness(purpose: EnrollmentPurpose, signing: Bool) -> Bool {
        switch livenessRequiredFor {
        case .none: return false
        case .signing: return signing
        case .all: return signing || purpose != .register
        }
    }
}

/// Which completions need the liveness step (`[liveness] required_for`).
public enum LivenessRequirement: String, Sendable, Equatable, CaseIterable {
    /// Never (the face match alone decides): for benches and trials, not for production.
    case none
    /// Completions at the signing tier (a registration or upgrade with a CSR); a basic registration may skip it.
    case signing
    /// Also every other completion that rests on the face: passcode resets and re-verifications.
    case all
}
