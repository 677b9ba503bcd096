import EnrollAPIModel
import UnixHTTP
import Foundation

/// What a caller of the API may do. Roles nest: an admin may do everything an operator may, an operator
/// everything a kiosk may.
public enum Role: String, Sendable, CaseIterable, Comparable, Codable {
    /// Kiosk software: reads cards, runs enrollments, and acts for the holder in front of it.
    case kiosk
    /// Counter staff: any account's records, revocation, identity status, the audit chain.
    case `operator`
    /// The trust store (import, reload), and everything else.
    case admin

    private var rank: Int {
        switch self {
        case .kiosk: return 1
        case .operator: return 2
        case .admin: return 3
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool {
        lhs.rank < rhs.rank
    }
}

/// A user or group named in the `[roles]` section: `uid:1001`, `user:kiosk` (or a bare user name or number),
/// `gid:990`, `group:enrolld-operators`.
public enum RolePrincipal: Sendable, Equatable, CustomStringConvertible {
    case uid(UInt32)
    case user(String)
    case gid(UInt32)
    case group(String)

    /// Parses one principal; nil when it is none of the forms above.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        func name(_ value: String) -> String? {
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
            return (1...64).contains(value.count) && value.allSatisfy(allowed.contains) && value.first != "-"
                ? value : nil
        }
        switch (parts.count == 2 ? parts[0].lowercased() : "", parts.last ?? "") {
        case let ("uid", value):
            guard let id = UInt32(value) else { return nil }
            self = .uid(id)
        case let ("gid", value):
            guard let id = UInt32(value) else { return nil }
            self = .gid(id)
        case let ("user", value):
            guard let user = name(value) else { return nil }
            self = UInt32(user).map(Self.uid) ?? .user(user)
        case let ("group", value):
            guard let group = name(value) else { return nil }
            self = UInt32(group).map(Self.gid) ?? .group(group)
        case let ("", value) where parts.count == 1:
            guard let user = name(value) else { return nil }
            self = UInt32(user).map(Self.uid) ?? .user(user)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case let .uid(id): return "uid:\(id)"
        case let .user(name): return "user:\(name)"
        case let .gid(id): return "gid:\(id)"
        case let .group(name): return "group:\(name)"
        }
    }
}

/// The `[roles]` section: who holds which role. Root is admin unless `admin` is configured; the daemon's own
/// user is always admin (it owns the keys and the database, so refusing it would protect nothing).
public struct RoleAssignments: Sendable, Equatable {
    public var principals: [Role: [RolePrincipal]] = [.admin: [.uid(0)]]
    /// `[roles] public`: callers in no role admitted as they connect, for the routes anyone may call.
    public var publicCallers: [RolePrincipal] = []

    public init() {}

    /// Parses a comma-separated list (empty: nobody).
    public static func parseList(_ text: String) -> [RolePrincipal]? {
        var list: [RolePrincipal] = []
        for item in text.split(separator: ",") {
            guard let principal = RolePrincipal(String(item).trimmingCharacters(in: .whitespaces)) else { return nil }
            list.append(principal)
        }
        return list
    }

    /// Names resolved to numbers once (at start and on reload), so a request costs set look-ups only.
    public func resolved(daemonUID: UInt32 = getuid()) -> ResolvedRoles {
        var resolved = ResolvedRoles(daemonUID: daemonUID)
        for (role, list) in principals {
            for principal in list {
                switch principal {
                case let .uid(id): resolved.grant(role, uid: id)
                case let .gid(id): resolved.grant(role, gid: id)
                case let .user(name):
                    if let entry = getpwnam(name) {
                        resolved.grant(role, uid: entry.pointee.pw_uid)
                    } else {
                        resolved.unknown.append("roles.\(role.rawValue): no user '\(name)' on this system")
                    }
                case let .group(name):
                    if let entry = getgrnam(name) {
                        resolved.grant(role, gid: entry.pointee.gr_gid)
                    } else {
                        resolved.unknown.append("roles.\(role.rawValue): no group '\(name)' on this system")
                    }
                }
            }
        }
        for principal in publicCallers {
            switch principal {
            case let .uid(id): resolved.publicUIDs.insert(id)
            case let .gid(id): resolved.publicGIDs.insert(id)
            case let .user(name):
                if let entry = getpwnam(name) {
                    resolved.publicUIDs.insert(entry.pointee.pw_uid)
                } else {
                    resolved.unknown.append("roles.public: no user '\(name)' on this system")
                }
            case let .group(name):
                if let entry = getgrnam(name) {
                    resolved.publicGIDs.insert(entry.pointee.gr_gid)
                } else {
                    resolved.unknown.append("roles.public: no group '\(name)' on this system")
                }
            }
        }
        return resolved
    }
}

/// Roles by number: a peer's role is the highest of its uid's, its primary gid's and its supplementary groups'.
public struct ResolvedRoles: Sendable, Equatable {
    public var daemonUID: UInt32
    public var uids: [UInt32: Role] = [:]
    public var gids: [UInt32: Role] = [:]
    /// `[roles] public`, by number.
    public var publicUIDs: Set<UInt32> = []
    public var publicGIDs: Set<UInt32> = []
    /// Names that did not resolve (logged as warnings).
    public var unknown: [String] = []

    public init(daemonUID: UInt32) {
        self.daemonUID = daemonUID
    }

    mutating func grant(_ role: Role, uid: UInt32? = nil, gid: UInt32? = nil) {
        if let uid { uids[uid] = max(uids[uid] ?? role, role) }
        if let gid { gids[gid] = max(gids[gid] ?? role, role) }
    }

    /// Whether a caller in no role is let in as it connects, for the routes anyone may call: one `[roles] public`
    /// names, or one on a listener that knows no one (`PeerCredentials.unknown`: a TCP socket handed over by
    /// systemd or a test, where every caller shares the per-uid connection limit).
    public func admitsWithoutRole(_ peer: PeerCredentials) -> Bool {
        peer == .unknown || publicUIDs.contains(peer.uid)
            || !publicGIDs.isDisjoint(with: [peer.gid] + peer.groups)
    }

    public func role(of peer: PeerCredentials) -> Role? {
        if peer.uid == daemonUID && peer != .unknown { return .admin }
        let byGroup = ([peer.gid] + peer.groups).compactMap { gids[$0] }.max()
        return [uids[peer.uid], byGroup].compactMap { $0 }.max()
    }
}

/// Who may call a route.
public enum RouteAccess: String, Sendable, CaseIterable {
    /// Anyone who can connect to the socket.
    case anyone
    /// Kiosk, operator or admin.
    case kiosk
    /// One account's data: operators and admins, or a kiosk with the holder's proof for `{id}`
    /// (`X-Enrolld-Enrollment` or `X-Enrolld-Passcode`).
    case holder
    case `operator`
    case admin

    /// The least role that may call the route.
    var minimumRole: Role? {
        switch self {
        case .anyone: return nil
        case .kiosk, .holder: return .kiosk
        case .operator: return .operator
        case .admin: return .admin
        }
    }
}

/// Every route's access, in one place (the README's table is checked against it). A route missing here is
/// admin-only.
public enum RoutePermissions {
    public static let table: [(route: String, access: RouteAccess, note: String)] = [
        ("GET /v1/health", .anyone, "liveness for monitoring"),
        ("GET /v1/readers", .kiosk, ""),
        ("GET /v1/events", .kiosk, "reader, card, enrollment and revocation events (no personal data)"),
        ("GET /metrics", .kiosk, "counters and timings (no personal data)"),
        ("POST /v1/cards/read", .kiosk, "the card on the kiosk's reader"),
        ("POST /v1/cards/probe", .kiosk, ""),
        ("POST /v1/cards/scan", .kiosk, ""),
        ("POST /v1/faces/compare", .kiosk, ""),
        ("POST /v1/enrollments", .kiosk, ""),
        ("GET /v1/enrollments/{id}", .kiosk, "a kiosk: only sessions its uid started"),
        ("POST /v1/enrollments/{id}/photo", .kiosk, "a kiosk: only sessions its uid started"),
        ("POST /v1/enrollments/{id}/liveness/challenge", .kiosk, "a kiosk: only sessions its uid started"),
        ("POST /v1/enrollments/{id}/liveness", .kiosk, "a kiosk: only sessions its uid started"),
        ("POST /v1/enrollments/{id}/complete", .kiosk, "a kiosk: only sessions its uid started"),
        (
            "POST /v1/enrollments/{id}/contact-code", .kiosk,
            "passcode-reset sessions: a code to the account's verified contact; a kiosk: only sessions its uid started"
        ),
        ("POST /v1/enrollments/{id}/guardian", .kiosk, "a kiosk: only sessions its uid started"),
        ("POST /v1/enrollments/{id}/guardian/photo", .kiosk, "a kiosk: only sessions its uid started"),
        (
            "POST /v1/enrollments/{id}/upgrade", .kiosk,
            "with the upgradeToken of identity-already-enrolled; a kiosk: only sessions its uid started"
        ),
        ("GET /v1/crl", .anyone, "public data, from the cache (signs nothing); published by the nginx front"),
        ("POST /v1/ocsp", .anyone, "public data; published by the nginx front"),
        ("GET /v1/ocsp/{request}", .anyone, "public data; published by the nginx front"),
        ("GET /v1/ca/certificate", .anyone, "public data; published by the nginx front"),
        ("POST /v1/accounts/lookup", .operator, "the account of the identity a genuine card proves"),
        ("GET /v1/accounts/{id}", .holder, ""),
        ("GET /v1/accounts/{id}/certificates", .holder, ""),
        ("GET /v1/accounts/{id}/devices", .holder, ""),
        ("POST /v1/accounts/{id}/devices", .holder, ""),
        (
            "DELETE /v1/accounts/{id}/devices/{device}", .kiosk,
            "a kiosk needs the holder's passcode or enrollmentId in the body"
        ),
        ("PUT /v1/accounts/{id}/contact", .holder, ""),
        (
            "POST /v1/accounts/{id}/activate", .holder,
            "the code sent to the contact; wrong codes count against the code and the kiosk's budget"
        ),
        ("GET /v1/accounts/{id}/status-history", .holder, ""),
        ("GET /v1/accounts/{id}/usage", .holder, ""),
        ("GET /v1/accounts/{id}/passcode", .holder, ""),
        ("POST /v1/accounts/{id}/passcode", .holder, "changing an enabled passcode also needs currentPasscode"),
        ("DELETE /v1/accounts/{id}/passcode", .kiosk, "a kiosk needs the current passcode in the body"),
        ("POST /v1/accounts/{id}/passcode/verify", .kiosk, "every entry counts towards the lock"),
        ("POST /v1/accounts/{id}/status", .operator, "cancel or invalidate an identity"),
        (
            "POST /v1/accounts/{id}/holder-name", .operator,
            "accept a changed name (same birth date and sex) from the new document, with a reason"
        ),
        (
            "POST /v1/accounts/{id}/presentations/nonce", .kiosk,
            "the nonce the bound device signs to open a presentation"
        ),
        (
            "POST /v1/accounts/{id}/presentations", .kiosk,
            "the bound device's signature over a nonce, or the holder's proof (X-Enrolld-Enrollment or -Passcode)"
        ),
        (
            "GET /v1/accounts/{id}/presentations/{pid}", .kiosk,
            "with X-Enrolld-Presentation-Key or the holder's proof"
        ),
        (
            "GET /v1/accounts/{id}/presentations/{pid}/qr", .kiosk,
            "a new token (the one before the previous stops being current); with X-Enrolld-Presentation-Key or the "
                + "holder's proof"
        ),
        (
            "POST /v1/accounts/{id}/presentations/{pid}/consent", .kiosk,
            "the bound device's signature over the request's digest, or the holder's proof"
        ),
        ("POST /v1/certificates/{serial}/revoke", .operator, ""),
        ("GET /v1/outbox", .operator, "delivery state only: no recipient, no text"),
        ("POST /v1/outbox/{id}/retry", .operator, "queues a failed message again"),
        (
            "POST /v1/certificates/renewals", .admin,
            "re-certifies active certificates under the current CA key, at most 10,000 per call"
        ),
        (
            "POST /v1/certificates/validate", .kiosk,
            "fetches the issuer's OCSP or CRL (bounded; [trust_list] allowed_fetch_hosts)"
        ),
        ("POST /v1/audit/verify", .operator, ""),
        ("POST /v1/verifiers", .admin, "registers a verifier: our CA issues its client certificate, or another CA's"),
        ("GET /v1/verifiers", .operator, ""),
        ("GET /v1/verifiers/{vid}", .operator, ""),
        ("POST /v1/verifiers/{vid}/status", .admin, "suspend, revoke or re-approve; effective at once"),
        ("GET /v1/trust", .operator, ""),
        ("POST /v1/trust/import", .admin, ""),
        ("POST /v1/trust/reload", .admin, ""),
        ("POST /v1/trust-list/export", .admin, "signs a new list (the sequence number advances)"),
        ("GET /v1/trust-lists", .operator, ""),
        ("POST /v1/trust-lists/import", .admin, ""),
    ]

    private static let lookup = Dictionary(table.map { ($0.route, $0.access) }, uniquingKeysWith: { first, _ in first })

    /// The access of `METHOD /pattern`; admin for a route the table does not list.
    public static func access(_ method: String, _ pattern: String) -> RouteAccess {
        lookup["\(method) \(pattern)"] ?? .admin
    }
}

/// Decides whether a request may run its route, from the peer's credentials.
public struct RequestAuthorizer: Sendable {
    public var roles: ResolvedRoles
    /// Checks the holder's proof for an account (a kiosk acting for the holder); throws a problem when missing
    /// or wrong.
    public var proveHolder: @Sendable (_ accountID: UUID, _ context: RequestContext) throws(Problem) -> Void

    public init(
        roles: ResolvedRoles,
        proveHolder: @escaping @Sendable (UUID, RequestContext) throws(Problem) -> Void
    ) {
        self.roles = roles
        self.proveHolder = proveHolder
    }

    /// The role the request acts in: the peer's role, narrowed by `X-Enrolld-Role` when given. Throws 403 when
    /// the peer has no role (except on `anyone` routes), when the route needs more, or when a kiosk lacks the
    /// holder's proof.
    public func authorize(_ access: RouteAccess, route: String, _ context: RequestContext) throws(Problem) -> Role? {
        let peer = context.peer
        let granted = roles.role(of: peer)
        guard let needed = access.minimumRole else { return granted }
        var role = granted
        if let claimed = context.request.header("X-Enrolld-Role") {
            guard let narrowed = Role(rawValue: claimed.lowercased()) else {
                throw Problem(
                    .invalidRole,
                    detail: "X-Enrolld-Role narrows the caller's role to kiosk or operator; roles come "
                        + "from [roles] in the configuration (a kiosk acts for a holder with "
                        + "X-Enrolld-Enrollment or X-Enrolld-Passcode)")
            }
            if let granted, narrowed > granted {
                throw Problem(
                    .roleNotGranted,
                    detail: "\(Self.who(peer)) has the \(granted.rawValue) role, not \(narrowed.rawValue)")
            }
            if granted != nil { role = narrowed }
        }
        guard let role else { throw Self.noRoleProblem(peer) }
        guard role >= needed else {
            throw Problem(
                .roleRequired,
                detail: "\(route) needs the \(needed.rawValue) role; \(Self.who(peer)) acts as "
                    + "\(role.rawValue) (see [roles] in enrolld.conf)")
        }
        if access == .holder && role == .kiosk {
            guard let text = context.parameters["id"], let accountID = UUID(uuidString: text) else {
                throw Problem(.invalidID, detail: "account id must be a UUID")
            }
            try proveHolder(accountID, context)
        }
        return role
    }

    /// The refusal of a caller in no role: who it is and how to grant it one.
    public static func noRoleProblem(_ peer: PeerCredentials) -> Problem {
        Problem(
            .noRole,
            detail: "\(who(peer)) has no enrolld role: add uid:\(peer.uid) or one of its groups "
                + "to kiosk, operator or admin in the [roles] section of enrolld.conf and restart enrolld")
    }

    static func who(_ peer: PeerCredentials) -> String {
        let groups = peer.groups.isEmpty ? "" : ", groups \(peer.groups.map(String.init).joined(separator: ","))"
        return "uid \(peer.uid) (gid \(peer.gid)\(groups))"
    }
}
