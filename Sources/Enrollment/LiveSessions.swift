import EnrollAPIModel
import FaceMatch
import Foundation
import MRTD
import Secrets
import Store
import Synchronization

/// A session in memory, holding the biometric data for as long as the session lives.
///
/// The chip portrait is the one image a session holds across requests: it lives in an owned buffer
/// (`SecretBytes`), a reference that every copy of the session shares (the table's and a step's), so that
/// `wipeBiometrics` zeroes the very memory that held it and not a copy-on-write copy of an array.
struct LiveSession: Sendable {
    var id: UUID
    var purpose: EnrollmentPurpose
    var reader: String
    var callerUID: UInt32
    var accountID: UUID?
    var document: VerifiedDocument
    var facts: DocumentFacts
    var identityKey: [UInt8]
    var createdAt: Date
    var deadline: Date
    var state: EnrollmentState = .cardVerified
    /// The chip portrait (DG2's first image); the document's DG2 is dropped once it is here.
    var portrait = SecretBytes(count: 0)
    var photoAttempts = 0
    var face: FaceEvidence?
    var failureCode: String?
    var actor = UsageActor(role: "kiosk", uid: 0, channel: "unknown")
    /// The guardian's account when the holder is below the registration age. `guardianCardRead` once the
    /// guardian's card was read in this session and is the guardian's (its chip portrait kept in
    /// `guardianPortrait`); `guardianPresent` once the guardian's live photo then matched that portrait.
    var guardianAccountID: UUID?
    var guardianCardRead = false
    var guardianPortrait = SecretBytes(count: 0)
    var guardianPhotoAttempts = 0
    var guardianPresent = false
    /// A registration whose card's identity already has an account: what may turn it into that account's upgrade
    /// (`UpgradeOffer.swift`). Kept (without its token) once the token was presented.
    var upgradeOffer: UpgradeOffer?
    /// Whether the caller named the account (`accountId` at the start); an account reached by an upgrade token is
    /// not shown in the session's views.
    var accountNamed = true
    /// The liveness challenge last issued; `livenessChallengeAnswered` once a burst was posted for it (one use).
    var livenessChallenge: LivenessChallenge?
    var livenessChallengeAnswered = false
    /// Challenges issued in this session (each one is an attempt).
    var livenessAttempts = 0
    /// The last burst's decision as evidence.
    var liveness: LivenessEvidence?

    init(
        id: UUID, purpose: EnrollmentPurpose, reader: String, callerUID: UInt32, accountID: UUID?,
        document: VerifiedDocument, facts: DocumentFacts, identityKey: [UInt8], createdAt: Date, deadline: Date
    ) {
        self.id = id
        self.purpose = purpose
        self.reader = reader
        self.callerUID = callerUID
        self.accountID = accountID
        self.document = document
        self.facts = facts
        self.identityKey = identityKey
        self.createdAt = createdAt
        self.deadline = deadline
    }

    /// Takes the chip portrait out of the document into the session's owned buffer, zeroing the parsed image's
    /// array, and drops DG2 (the session needs nothing else of it).
    mutating func holdPortrait() {
        var image = document.data.dg2?.faces.first?.imageData ?? []
        document.data.dg2 = nil
        portrait = SecretBytes(wiping: &image)
    }

    /// Zeroes the portrait where it lies (every copy of this session shares the buffer) and drops it.
    mutating func wipeBiometrics() {
        portrait.wipe()
        portrait = SecretBytes(count: 0)
        guardianPortrait.wipe()
        guardianPortrait = SecretBytes(count: 0)
        document.data.dg2 = nil
        upgradeOffer?.void()
    }
}

/// The open sessions, each held by at most one step at a time.
///
/// A step (photo, guardian, complete) claims its session for its whole length and works on the claimed copy;
/// a second request on a held session is refused with `enrollment-busy` at once (a kiosk posts one step at a
/// time; a burst of posts is an attack or a bug, and must not queue up face comparisons). Releasing stores the
/// step's copy back, or drops the session when the step finished it (completed, failed, expired): a finished
/// session leaves this table for good, and the stores refuse to write over a finished record, so no stale copy
/// can revive it.
final class LiveSessions: Sendable {
    private struct Entry {
        var session: LiveSession
        var held = false
    }

    enum Claim {
        case claimed(LiveSession)
        case busy
        case absent
    }

    private let entries = Mutex<[UUID: Entry]>([:])

    /// Adds a new session, not held.
    func insert(_ session: LiveSession) {
        entries.withLock { $0[session.id] = Entry(session: session) }
    }

    /// Holds the session for one step and returns the copy the step works on.
    func claim(_ id: UUID) -> Claim {
        entries.withLock { entries in
            guard var entry = entries[id] else { return .absent }
            guard !entry.held else { return .busy }
            entry.held = true
            entries[id] = entry
            return .claimed(entry.session)
        }
    }

    /// Ends a step: a finished session is dropped, an open one is stored back and freed.
    func release(_ session: LiveSession) {
        entries.withLock { entries in
            if session.state.isFinished {
                entries[session.id] = nil
            } else {
                entries[session.id] = Entry(session: session)
            }
        }
    }

    /// Holds every session past its deadline that no step holds, for the caller to expire and release.
    func claimExpired(at date: Date) -> [LiveSession] {
        entries.withLock { entries in
            var stale: [LiveSession] = []
            for (id, entry) in entries where !entry.held && entry.session.deadline <= date {
                entries[id]?.held = true
                stale.append(entry.session)
            }
            return stale
        }
    }

    /// A snapshot of the session (for views); nil when it is not open.
    func snapshot(_ id: UUID) -> LiveSession? {
        entries.withLock { $0[id]?.session }
    }

    var count: Int { entries.withLock { $0.count } }
}
