import EnrollAPIModel
import UnixHTTP
import CertificateAuthority
import Enrollment
import FaceMatch
import Foundation
import MRTD
import Store

extension EnrollmentError {
    /// A problem from a lower layer (card reading, face match) keeps its code, status and typed members.
    init(_ problem: Problem) {
        self.init(problem.kind ?? .internalError, problem.detail)
        retryAfter = problem.retryAfter
        check = problem.check
        instruction = problem.instruction
        attemptsLeft = problem.attemptsLeft
    }
}

extension Problem {
    /// The API's rendering of an enrollment refusal.
    ///
    /// A failure of ours (storage, internal) is never echoed: its cause goes to the log under an incident id, and
    /// the caller gets the id and what to do.
    init(_ error: EnrollmentError) {
        guard error.kind == .storageError || error.kind == .internalError else {
            self.init(error.kind, detail: error.message)
            retryAfter = error.retryAfter
            check = error.check
            instruction = error.instruction
            attemptsLeft = error.attemptsLeft
            enrollmentId = error.enrollmentID
            upgradeToken = error.upgradeToken
            return
        }
        let incident = Self.newIncidentID()
        Log.error("incident \(incident): \(error.code): \(error.message)")
        self.init(error.kind, detail: "\(error.kind.action) (incident \(incident))")
        self.incident = incident
    }

    /// 12 hex digits, unique enough to find one log line.
    static func newIncidentID() -> String {
        (0..<6).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    /// The API's rendering of a card-read failure (through `EnrollmentError`, the one mapping).
    init(_ failure: CardReadFailure) {
        self.init(EnrollmentError(failure))
    }
}

/// Enrollment reads cards through the daemon's PC/SC card reader and its authenticity checker.
struct DaemonCardReading: CardReading {
    let service: CardReadService

    func read(reader: String, key: BACKey) throws(EnrollmentError) -> VerifiedDocument {
        do throws(CardReadFailure) {
            let read = try service.read(reader: reader, access: .mrz(key))
            return VerifiedDocument(
                data: read.data, authenticity: read.verdict,
                accessProtocol: read.result.accessProtocol.rawValue)
        } catch {
            throw EnrollmentError(error)
        }
    }
}

/// Enrollment compares faces with the daemon's engines, and every live photo goes through the replay check.
struct DaemonFaceComparing: FaceComparing {
    let faces: any FaceComparator
    let replay: PhotoReplayCheck

    func compare(
        reference: [UInt8], probe: [UInt8], session: UUID,
        callerUID: UInt32
    ) throws(EnrollmentError) -> FaceEvidence {
        do throws(Problem) {
            try replay.screen(reference: reference, probe: probe, session: session.uuidString)
            let comparison: FaceComparison
            do throws(FaceMatchError) {
                comparison = try faces.compare(reference: reference, probe: probe, caller: callerUID)
            } catch {
                throw Problem(error)
            }
            try replay.check(comparison, reference: reference, probe: probe, session: session.uuidString)
            return FaceEvidence(
                distance: comparison.distance, score: comparison.score, threshold: comparison.threshold,
                isMatch: comparison.isMatch, probeFaces: comparison.probe.faceCount)
        } catch {
            throw EnrollmentError(error)
        }
    }
}

/// Enrollment's liveness step runs the daemon's checker, with the daemon's one replay cache.
struct DaemonLivenessChecking: LivenessChecking {
    let faces: any FaceComparator
    let replayGuard: ReplayGuard

    func check(
        _ burst: LivenessBurst, challenge: LivenessChallenge, portrait: [UInt8], session: UUID,
        callerUID: UInt32, now: Date
    ) throws(EnrollmentError) -> LivenessDecision {
        do throws(LivenessError) {
            return try faces.checkLiveness(
                burst, challenge: challenge, portrait: portrait,
                session: session.uuidString, caller: callerUID, now: now,
                replayGuard: replayGuard)
        } catch {
            throw EnrollmentError(Problem(error))
        }
    }
}

/// Personal data at rest: HMAC identity keys and AES-256-GCM sealing from the store's key files.
struct StoreDataProtecting: PersonalDataProtecting {
    let protector: DataProtector

    func identityKey(canonical: String) throws(EnrollmentError) -> [UInt8] {
        do {
            return try protector.identityKey(canonical: canonical)
        } catch {
            throw .store(error)
        }
    }

    func seal(_ plaintext: [UInt8], context: String) throws(EnrollmentError) -> [UInt8] {
        do {
            return try protector.seal(plaintext, context: context)
        } catch {
            throw .store(error)
        }
    }

    func open(_ sealed: [UInt8], context: String) throws(EnrollmentError) -> [UInt8] {
        do {
            return try protector.open(sealed, context: context)
        } catch {
            throw .store(error)
        }
    }
}

extension EnrollmentError {
    /// A CA refusal keeps its stable code (catalogued: caller errors such as a bad CSR are 422, the CA's own 500).
    init(_ error: CertificateAuthorityError) {
        self.init(ProblemCode.named(error.code) ?? .caCryptoFailure, error.description)
    }
}

/// Enrollment issues certificates through the daemon's CA, dated by the daemon's clock.
struct AuthorityIssuing: CertificateIssuing {
    let authority: IssuingAuthority
    let now: @Sendable () -> Date

    func validate(csr: [UInt8]) throws(EnrollmentError) {
        do {
            _ = try authority.checkRequest(csr)
        } catch {
            throw EnrollmentError(error)
        }
    }

    func plan(notAfterLimit: Date) throws(EnrollmentError) -> IssuancePlan {
        do {
            let intent = try authority.prepareIssuance(notAfterLimit: notAfterLimit, now: now())
            return IssuancePlan(serial: intent.serialHex, notBefore: intent.notBefore, notAfter: intent.notAfter)
        } catch {
            throw EnrollmentError(error)
        }
    }

    func issue(plan: IssuancePlan, csr: [UInt8], subject: CertificateSubject) throws(EnrollmentError) -> [UInt8] {
        do {
            let intent = try IssuanceIntent(serialHex: plan.serial, notBefore: plan.notBefore, notAfter: plan.notAfter)
            let holder = CertificateHolder(
                name: subject.commonName, pseudonym: subject.pseudonym,
                issuingState: subject.issuingState)
            let der = try authority.issue(intent: intent, csr: csr, holder: holder).der
            // The CA's issuance log: every serial signed, committed or not (the database holds its intent).
            Log.info("certificate \(plan.serial) signed")
            return der
        } catch {
            throw EnrollmentError(error)
        }
    }
}
