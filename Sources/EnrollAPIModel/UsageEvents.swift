/// What a usage record records (`GET /v1/accounts/{id}/usage`, field `event`): every step of an enrollment, every
/// certificate, device, passcode, status and contact change. The audit chain hashes the raw value.
public enum UsageEventKind: String, Codable, Sendable, CaseIterable {
    case enrollmentRefused = "enrollment-refused"
    case enrollmentCardVerified = "enrollment-card-verified"
    case enrollmentFaceMatched = "enrollment-face-matched"
    case enrollmentFaceMismatch = "enrollment-face-mismatch"
    case enrollmentReplaySuspected = "enrollment-replay-suspected"
    case enrollmentLivenessPassed = "enrollment-liveness-passed"
    case enrollmentLivenessFailed = "enrollment-liveness-failed"
    case enrollmentCompleted = "enrollment-completed"
    case enrollmentFailed = "enrollment-failed"
    case enrollmentExpired = "enrollment-expired"
    /// A register session of an enrolled identity turned into that account's upgrade with its upgrade token (or the
    /// token refused).
    case upgradeTokenUsed = "upgrade-token-used"
    case accountCreated = "account-created"
    case tierChanged = "tier-changed"
    case certificateIssued = "certificate-issued"
    case certificateRevoked = "certificate-revoked"
    case certificateAbandoned = "certificate-abandoned"
    /// Bulk renewal re-certified an active certificate's key under the current CA; detail: "NEW renews OLD".
    case certificateRenewed = "certificate-renewed"
    case deviceBound = "device-bound"
    case deviceUpdated = "device-updated"
    case deviceUnbound = "device-unbound"
    case contactChanged = "contact-changed"
    case statusChanged = "status-changed"
    case documentReplaced = "document-replaced"
    /// An operator accepted a changed name (a surname after marriage) on a new document; detail: the reason.
    case holderNameChanged = "holder-name-changed"
    /// Another document of the account's identity (same personal number, another kind) was verified and listed.
    case documentAdded = "document-added"
    /// An account a migrated store kept under its untyped identity key got its typed key on the holder's visit.
    case identityRekeyed = "identity-rekeyed"
    case guardianVerified = "guardian-verified"
    /// The guardian's live photo against the guardian's chip portrait (refused: no match, or not taken before
    /// completing).
    case guardianSeen = "guardian-seen"
    case guardianLinked = "guardian-linked"
    case wardLinked = "ward-linked"
    case passcodeSet = "passcode-set"
    case passcodeDisabled = "passcode-disabled"
    case passcodeVerify = "passcode-verify"
    case passcodeLocked = "passcode-locked"
    case passcodeReset = "passcode-reset"
    /// A caller (a kiosk's uid) used up its budget of wrong passcode entries across all accounts.
    case passcodeEntriesExhausted = "passcode-entries-exhausted"
    /// A one-time code was queued for the account's contact; detail: the purpose and the transport, never the
    /// address or the code.
    case contactCodeSent = "contact-code-sent"
    /// The holder entered the activation code: the certificate's hold is released, the contact is verified.
    case accountActivated = "account-activated"
    /// A wrong activation or reset code (detail: the count); the last allowed one ends the code.
    case contactCodeWrong = "contact-code-wrong"
    /// The activation code expired or was spent: the held certificate is revoked, the tier restored.
    case activationExpired = "activation-expired"
    /// A passcode-reset code sent to the verified contact was entered correctly.
    case passcodeResetCodeVerified = "passcode-reset-code-verified"
}
