import EnrollAPIModel
import FaceMatch
import Foundation
import MRTD
import Store

/// What the enrollment service needs from the outside world, as protocols: the daemon plugs in
/// PC/SC reading, the dlib face engine, the CA and the key files; tests plug in the in-process
/// virtual card and a throwaway CA.

/// Reads and authenticates a card in a reader.
public protocol CardReading: Sendable {
    func read(reader: String, key: BACKey) throws(EnrollmentError) -> VerifiedDocument
}

/// A document as read from the chip, with the authenticity verdict.
public struct VerifiedDocument: Sendable {
    public var data: DocumentData
    public var authenticity: AuthenticityVerdict
    /// The access protocol used ("BAC", "PACE-...").
    public var accessProtocol: String

    public init(data: DocumentData, authenticity: AuthenticityVerdict, accessProtocol: String) {
        self.data = data
        self.authenticity = authenticity
        self.accessProtocol = accessProtocol
    }
}

/// Compares the chip portrait with the live photo of session `session`, on the face workers' share of
/// `callerUID`; a photo that is a copy of the portrait or of another session's photo is refused
/// (`suspected-replay`).
public protocol FaceComparing: Sendable {
    func compare(
        reference: [UInt8], probe: [UInt8], session: UUID,
        callerUID: UInt32
    ) throws(EnrollmentError) -> FaceEvidence
}

/// Evaluates a liveness burst against its challenge and the chip portrait (`LivenessChecker`): a decision with
/// every check, or a refusal of the burst itself (`invalid-burst`, engine problems, `face-engine-busy`).
public protocol LivenessChecking: Sendable {
    func check(
        _ burst: LivenessBurst, challenge: LivenessChallenge, portrait: [UInt8], session: UUID,
        callerUID: UInt32, now: Date
    ) throws(EnrollmentError) -> LivenessDecision
}

/// No liveness checker: every burst is refused (a service built without one cannot pass the liveness step).
public struct NoLivenessChecking: LivenessChecking {
    public init() {}

    public func check(
        _ burst: LivenessBurst, challenge: LivenessChallenge, portrait: [UInt8], session: UUID,
        callerUID: UInt32, now: Date
    ) throws(EnrollmentError) -> LivenessDecision {
        throw EnrollmentError(.faceModelsMissing, "no liveness checker is configured")
    }
}

/// What the CA writes into a signing certificate: only what the chip proved.
public struct CertificateSubject: Sendable, Equatable {
    /// Given names and surname as the chip states them.
    public var commonName: String
    /// A pseudonymous identifier for the account (never the document number).
    public var pseudonym: String
    /// ICAO issuing state code (e.g. "UTO", "HKG").
    public var issuingState: String

    public init(commonName: String, pseudonym: String, issuingState: String) {
        self.commonName = commonName
        self.pseudonym = pseudonym
        self.issuingState = issuingState
    }
}

/// The serial and validity a certificate will have, fixed before signing.
public struct IssuancePlan: Sendable, Equatable {
    public var serial: String
    public var notBefore: Date
    public var notAfter: Date

    public init(serial: String, notBefore: Date, notAfter: Date) {
        self.serial = serial
        self.notBefore = notBefore
        self.notAfter = notAfter
    }
}

/// The certificate authority, as enrollment uses it.
public protocol CertificateIssuing: Sendable {
    /// Checks the CSR (proof of possession, key strength) without signing anything.
    func validate(csr: [UInt8]) throws(EnrollmentError)
    /// Picks a fresh serial and a validity that ends no later than `notAfterLimit`.
    func plan(notAfterLimit: Date) throws(EnrollmentError) -> IssuancePlan
    /// Signs. Returns the certificate's DER.
    func issue(plan: IssuancePlan, csr: [UInt8], subject: CertificateSubject) throws(EnrollmentError) -> [UInt8]
}

/// Keyed hashing and sealing of personal data at rest.
public protocol PersonalDataProtecting: Sendable {
    /// The keyed hash of a canonical identity text (`DataProtector.canonicalIdentity`, or its legacy form).
    func identityKey(canonical: String) throws(EnrollmentError) -> [UInt8]
    func seal(_ plaintext: [UInt8], context: String) throws(EnrollmentError) -> [UInt8]
    func open(_ sealed: [UInt8], context: String) throws(EnrollmentError) -> [UInt8]
}

/// Told after a transaction that changed certificate statuses committed, so that what relying parties read (the
/// OCSP responder's cache, the CRL) follows at once. The daemon wires it to its responder and CRL cache; without
/// one (`nil`) the services only write the store. Called outside every transaction, on the committing thread;
/// an implementation must not throw back into the service (the store is already right).
public protocol CertificateStatusObserver: Sendable {
    /// Certificates with these serials were issued (their certificate commit succeeded).
    func certificatesIssued(_ serials: [String])
    /// These serials were revoked, or abandoned with a revocation date (RFC 5280 §5: they go on the CRL).
    func certificatesRevoked(_ serials: [String])
}
