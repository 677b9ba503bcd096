import EnrollAPIModel
import Foundation
import Store

/// What a registration of an already-enrolled identity hands the kiosk instead of the account's id.
///
/// The card was read and authenticated in this session, and its identity has an account. The session stays open
/// (until its deadline), and the refusal `identity-already-enrolled` carries the session id and an opaque token:
/// 32 random bytes, base64url. `POST /v1/enrollments/{id}/upgrade` with the token turns this session into that
/// account's upgrade, after the card's holder is compared with the account's sealed record. The token is good for
/// this session only (it is kept in the session, nowhere else), once (any presentation, right or wrong, spends it),
/// and dies with the session. The account's id never leaves the daemon on this path: the session's views do not
/// show it until completion (after the face match proved the holder).
struct UpgradeOffer: Sendable {
    let accountID: UUID
    /// Nil once the token was presented (or the session ended).
    private(set) var token: [UInt8]?

    init(accountID: UUID, token: [UInt8]) {
        self.accountID = accountID
        self.token = token
    }

    /// The token as the kiosk receives it (base64url without padding, RFC 4648 §5).
    var tokenText: String? { token.map(Self.encode) }

    /// Spends the token; true when `presented` was it. Compared in constant time.
    mutating func spend(_ presented: String) -> Bool {
        guard let expected = token else { return false }
        token = nil
        let given = Array(presented.utf8)
        let wanted = Array(Self.encode(expected).utf8)
        guard given.count == wanted.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(given, wanted) { difference |= a ^ b }
        return difference == 0
    }

    /// Forgets the token (the session ended).
    mutating func void() { token = nil }

    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

extension EnrollmentService {
    /// Turns a registration of an already-enrolled identity into that account's upgrade, with the token its
    /// `identity-already-enrolled` refusal handed over. The card's holder must be the account's (birth date, sex,
    /// name: `HolderComparison`), and the account not cancelled; otherwise nothing changes and the session stays a
    /// registration that cannot complete. Every answer is a usage record (`upgrade-token-used`).
    public func upgrade(id: UUID, token: String, actor: UsageActor? = nil) throws(EnrollmentError) -> EnrollmentView {
        try step(id) { session throws(EnrollmentError) in
            let actor = actor ?? session.actor
            let at = now()
            do throws(EnrollmentError) {
                try acceptUpgrade(&session, token: token)
            } catch {
                let accountID = session.upgradeOffer?.accountID
                _ = try? write { tx throws(StoreError) in
                    try UsageChain.append(
                        tx, at: at, accountID: accountID, enrollmentID: id,
                        event: UsageEventKind.upgradeTokenUsed.rawValue, actor: actor, outcome: "refused",
                        detail: error.code)
                }
                throw error
            }
            return view(session)
        }
    }

    /// Checks the token and the holder; on success the session is the account's upgrade, recorded (with its usage
    /// record) in one transaction.
    private func acceptUpgrade(_ session: inout LiveSession, token: String) throws(EnrollmentError) {
        guard session.purpose == .register, session.state == .cardVerified || session.state == .faceMatched,
            var offer = session.upgradeOffer
        else {
            throw EnrollmentError(
                .upgradeTokenInvalid,
                "this session has no upgrade to offer: an upgrade token comes with the refusal "
                    + "identity-already-enrolled and works in that session only")
        }
        let genuine = offer.spend(token)
        session.upgradeOffer = offer
        guard genuine else {
            throw EnrollmentError(
                .upgradeTokenInvalid,
                "the upgrade token is not this session's, or was already used: start again by tapping the card")
        }
        let (protector, facts, accountID) = (self.protector, session.facts, offer.accountID)
        try lifecycleWrite { tx in
            guard let account = try tx.account(id: accountID) else { throw EnrollmentError.accountNotFound(accountID) }
            if account.status == .cancelled { throw EnrollmentError.accountCancelled }
            let sealed = try IdentityLifecycle.openPersonal(account, protector: protector)
            let differences = HolderComparison.differences(sealed: sealed, document: facts.personal)
            if !differences.isEmpty { throw EnrollmentError.holderMismatch(differences) }
        }
        session.upgradeOffer = nil
        session.purpose = .upgrade
        session.accountID = accountID
        session.accountNamed = false
        try persist(session, state: session.state, event: UsageEventKind.upgradeTokenUsed.rawValue, outcome: "ok")
    }
}
