/// `POST /v1/certificates/renewals`: which certificates a bulk renewal re-certifies under the current CA key.
/// Without `issuedBefore` (and without `after`): every active certificate the current CA key did not sign (the CA
/// rolled over). With `issuedBefore`: every active certificate created before that time. `after` continues a walk
/// where the previous answer's `next` left it (the selection travels in the cursor).
public struct RenewalRequest: Codable, Sendable, Equatable {
    public var issuedBefore: String?
    /// At most this many certificates renewed by this call: 1 to 10,000 (the default).
    public var limit: Int?
    public var after: String?

    public init(issuedBefore: String? = nil, limit: Int? = nil, after: String? = nil) {
        self.issuedBefore = issuedBefore
        self.limit = limit
        self.after = after
    }
}

/// One certificate a bulk renewal issued.
public struct RenewedCertificate: Codable, Sendable, Equatable {
    /// The new certificate's serial.
    public var serial: String
    /// The serial of the certificate it renews (which stays valid until it expires or is revoked).
    public var renews: String
    public var accountId: String
    public var notAfter: String

    public init(serial: String, renews: String, accountId: String, notAfter: String) {
        self.serial = serial
        self.renews = renews
        self.accountId = accountId
        self.notAfter = notAfter
    }
}

/// What one call of a bulk renewal did. `next` is nil when the selection is exhausted; otherwise call again with
/// `after: next`.
public struct RenewalOutcome: Codable, Sendable, Equatable {
    public var renewed: Int
    /// Active certificates looked at and left alone, by reason: `current-key` (already signed by the current CA
    /// key), `already-renewed` (the account holds a newer active certificate of the same key under the current
    /// key), `expired`, `account-not-normal` (a cancelled, invalid or expired identity), `unreadable`,
    /// `changed-meanwhile` (revoked, or its identity no longer normal, between the batch's planning and its
    /// certificate commit: its new serial is abandoned and revoked).
    public var skipped: [String: Int]
    /// Certificates looked at (renewed or skipped).
    public var scanned: Int
    public var next: String?
    public var certificates: [RenewedCertificate]

    public init(
        renewed: Int, skipped: [String: Int], scanned: Int, next: String?, certificates: [RenewedCertificate]
    ) {
        self.renewed = renewed
        self.skipped = skipped
        self.scanned = scanned
        self.next = next
        self.certificates = certificates
    }
}
