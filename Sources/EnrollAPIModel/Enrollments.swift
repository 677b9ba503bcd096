import Foundation

/// `POST /v1/enrollments` body.
public struct EnrollmentStartBody: Codable, Sendable {
    public var reader: String
    public var accessKey: AccessKeyRequest
    /// `register` (default) or `upgrade`.
    public var purpose: String?
    /// The account to upgrade.
    public var accountId: String?
    /// The guardian's account, when the holder is below the registration age.
    public var guardianAccountId: String?

    public init(
        reader: String, accessKey: AccessKeyRequest, purpose: String? = nil, accountId: String? = nil,
        guardianAccountId: String? = nil
    ) {
        self.reader = reader
        self.accessKey = accessKey
        self.purpose = purpose
        self.accountId = accountId
        self.guardianAccountId = guardianAccountId
    }
}

/// `POST /v1/enrollments/{id}/photo` body.
public struct EnrollmentPhotoBody: Codable, Sendable {
    /// The live photo, base64 (JPEG or PNG).
    public var photo: String

    public init(photo: String) {
        self.photo = photo
    }
}

/// `POST /v1/enrollments/{id}/complete` body.
public struct EnrollmentCompleteBody: Codable, Sendable {
    /// PKCS#10 CSR, PEM (or base64 DER). Without it a registration creates a basic account.
    public var csr: String?
    /// Contact details kept (sealed) with the account.
    public var contact: [String: String]?
    /// The device the certificate's key lives on; with `devicePublicKey` (PEM) it is bound to the account.
    public var deviceId: String?
    public var devicePublicKey: String?
    public var deviceLabel: String?
    /// Purpose passcode-reset: the new passcode.
    public var passcode: String?
    /// Purpose passcode-reset of an account with a verified contact: the code sent to it
    /// (`POST /v1/enrollments/{id}/contact-code`).
    public var contactCode: String?

    public init(
        csr: String? = nil, contact: [String: String]? = nil, deviceId: String? = nil,
        devicePublicKey: String? = nil, deviceLabel: String? = nil, passcode: String? = nil,
        contactCode: String? = nil
    ) {
        self.contactCode = contactCode
        self.csr = csr
        self.contact = contact
        self.deviceId = deviceId
        self.devicePublicKey = devicePublicKey
        self.deviceLabel = deviceLabel
        self.passcode = passcode
    }
}

/// `POST /v1/enrollments/{id}/guardian` body: the guardian's card.
public struct GuardianCardBody: Codable, Sendable {
    public var reader: String
    public var accessKey: AccessKeyRequest

    public init(reader: String, accessKey: AccessKeyRequest) {
        self.reader = reader
        self.accessKey = accessKey
    }
}

/// `POST /v1/enrollments/{id}/upgrade` body: the token an `identity-already-enrolled` refusal handed the kiosk.
public struct EnrollmentUpgradeBody: Codable, Sendable {
    public var upgradeToken: String

    public init(upgradeToken: String) {
        self.upgradeToken = upgradeToken
    }
}

/// What the API shows of a session: state and evidence, the card-face summary the kiosk displays,
/// never biometric data.
public struct EnrollmentView: Sendable, Codable, Equatable {
    public var id: String
    public var purpose: String
    public var state: String
    public var accountID: String?
    public var reader: String
    public var surname: String
    public var givenNames: String
    public var documentType: String
    public var issuingState: String
    public var documentExpiry: String
    public var accessProtocol: String
    public var authenticity: AuthenticityVerdict
    public var photoAttemptsLeft: Int
    public var face: FaceEvidence?
    public var expiresAt: String
    public var failureCode: String?
    /// Whether the guardian was verified in this session (registration of a minor): the guardian's card read, and
    /// the guardian's live photo matched its chip portrait.
    public var guardianPresent: Bool?
    /// The liveness step's last decision, with every check's value and threshold.
    public var liveness: LivenessEvidence?
    /// Liveness challenges the session may still request.
    public var livenessAttemptsLeft: Int?
    /// Whether completing at the signing tier needs a passed liveness step (`[liveness] required_for`).
    public var livenessRequired: Bool?

    public init(
        id: String, purpose: String, state: String, accountID: String? = nil, reader: String, surname: String,
        givenNames: String, documentType: String, issuingState: String, documentExpiry: String, accessProtocol: String,
        authenticity: AuthenticityVerdict, photoAttemptsLeft: Int, face: FaceEvidence? = nil, expiresAt: String,
        failureCode: String? = nil, guardianPresent: Bool? = nil,
        liveness: LivenessEvidence? = nil, livenessAttemptsLeft: Int? = nil, livenessRequired: Bool? = nil
    ) {
        self.id = id
        self.purpose = purpose
        self.state = state
        self.accountID = accountID
        self.reader = reader
        self.surname = surname
        self.givenNames = givenNames
        self.documentType = documentType
        self.issuingState = issuingState
        self.documentExpiry = documentExpiry
        self.accessProtocol = accessProtocol
        self.authenticity = authenticity
        self.photoAttemptsLeft = photoAttemptsLeft
        self.face = face
        self.expiresAt = expiresAt
        self.failureCode = failureCode
        self.guardianPresent = guardianPresent
        self.liveness = liveness
        self.livenessAttemptsLeft = livenessAttemptsLeft
        self.livenessRequired = livenessRequired
    }
}

/// The result of completing a session.
public struct EnrollmentOutcome: Sendable, Codable, Equatable {
    public var enrollmentID: String
    public var accountID: String
    public var tier: String
    /// PEM of the issued certificate, when one was issued.
    public var certificatePEM: String?
    public var certificateSerial: String?
    public var notAfter: String?
    /// The account's identity status after the session (re-verification returns expired/invalid to normal).
    public var status: String?
    /// `pending-activation` when the certificate is on hold until the holder enters the code sent to the contact
    /// (`POST /v1/accounts/{id}/activate`), with when that code expires; absent otherwise.
    public var activation: String?
    public var activationExpiresAt: String?

    public init(
        enrollmentID: String, accountID: String, tier: String, certificatePEM: String? = nil,
        certificateSerial: String? = nil, notAfter: String? = nil, status: String? = nil,
        activation: String? = nil, activationExpiresAt: String? = nil
    ) {
        self.activation = activation
        self.activationExpiresAt = activationExpiresAt
        self.enrollmentID = enrollmentID
        self.accountID = accountID
        self.tier = tier
        self.certificatePEM = certificatePEM
        self.certificateSerial = certificateSerial
        self.notAfter = notAfter
        self.status = status
    }
}

/// Whether the chip was proven genuine, check by check (passive, active, chip authentication).
public struct AuthenticityVerdict: Sendable, Codable, Equatable {
    public struct Check: Sendable, Codable, Equatable {
        public var name: String
        /// `passed`, `failed` or `not-supported`.
        public var outcome: String
        public var reason: String

        public init(name: String, outcome: String, reason: String) {
            self.name = name
            self.outcome = outcome
            self.reason = reason
        }
    }

    public var genuine: Bool
    public var checks: [Check]
    /// Why the document is not genuine, when it is not.
    public var reasons: [String]

    public init(genuine: Bool, checks: [Check], reasons: [String] = []) {
        self.genuine = genuine
        self.checks = checks
        self.reasons = reasons
    }
}

/// `POST /v1/enrollments/{id}/contact-code` answer: where the code went (the transport, never the address) and until
/// when it can be entered.
public struct ContactCodeView: Sendable, Codable, Equatable {
    /// `email` or `phone`.
    public var transport: String
    public var expiresAt: String

    public init(transport: String, expiresAt: String) {
        self.transport = transport
        self.expiresAt = expiresAt
    }
}
