import CertificateAuthority
import EnrollAPIModel
import Enrollment
import Foundation
import OpenSSLKit
import Store

/// Bulk renewal (`POST /v1/certificates/renewals`, `enrollctl certs renew`): re-certifies active certificates'
/// registered public keys under the current CA key — a territory renewing its holders' certificates when its CA
/// rolls over. Each batch of at most `batchSize` is one intent commit, its signatures, and one certificate commit
/// (with one `certificate-renewed` usage record per certificate, under its account); a crash between the two
/// leaves committed intents that start-up recovery abandons and revokes, as for an enrollment.
///
/// A renewed certificate keeps the old one's subject Name and public key, is recorded under the same account and
/// device, and gets a new serial and a validity from now to no later than the old one's `notAfter` (which carried
/// the identity document's expiry: renewal never extends what a verification earned) nor the CA's. The old
/// certificate stays valid until it expires (superseded, not revoked: holders who have not fetched the new one
/// can still sign); `enrollctl certs revoke` revokes it when that is wanted.
final class CertificateRenewal: Sendable {
    /// Certificates renewed by one call at most.
    static let maximumPerCall = 10_000
    /// Certificates per intent commit and per certificate commit.
    static let batchSize = 256
    /// Certificates looked at by one call at most (renewed or skipped), so that a walk over many already-renewed
    /// rows stays bounded per call too.
    static let maximumScannedPerCall = 50_000

    let store: any Store
    let authority: IssuingAuthority
    let statusObserver: (any CertificateStatusObserver)?
    let now: @Sendable () -> Date
    /// One renewal at a time on this daemon: the check that a key was not renewed yet and its renewal's commit
    /// would otherwise race with a concurrent call's.
    private let running = NSLock()

    init(
        store: any Store, authority: IssuingAuthority, statusObserver: (any CertificateStatusObserver)?,
        now: @escaping @Sendable () -> Date
    ) {
        self.store = store
        self.authority = authority
        self.statusObserver = statusObserver
        self.now = now
    }

    /// Where a walk stands: its selection (`otherKeyOnly`: not signed by the current CA key; or every certificate
    /// created before the cutoff), its cutoff (the walk never meets what it renews), and the last serial looked at
    /// (the walk is in serial order). Text: `k|b.CUTOFF[.SERIAL]` (milliseconds since 1970, upper-case hex).
    struct Cursor {
        var otherKeyOnly: Bool
        var cutoff: Date
        var serial: String?

        var text: String {
            "\(otherKeyOnly ? "k" : "b").\(Int64((cutoff.timeIntervalSince1970 * 1000).rounded()))"
                + (serial.map { ".\($0)" } ?? "")
        }

        init(otherKeyOnly: Bool, cutoff: Date, serial: String? = nil) {
            self.otherKeyOnly = otherKeyOnly
            self.cutoff = cutoff
            self.serial = serial
        }

        /// - Throws: `invalid-after` for text that is not a cursor this route wrote.
        init(text: String) throws(Problem) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let hexDigits = Set("0123456789ABCDEF".utf8)
            guard (2...3).contains(parts.count), parts[0] == "k" || parts[0] == "b",
                let cutoff = Int64(parts[1]), (0...Int64(1) << 50).contains(cutoff)
            else { throw Self.invalid }
            otherKeyOnly = parts[0] == "k"
            self.cutoff = Date(timeIntervalSince1970: Double(cutoff) / 1000)
            guard parts.count == 3 else { return }
            guard (1...40).contains(parts[2].utf8.count), parts[2].utf8.allSatisfy(hexDigits.contains) else {
                throw Self.invalid
            }
            serial = parts[2]
        }

        static let invalid = Problem(
            .invalidAfter, detail: "after is the `next` value of the previous renewal answer, unchanged")
    }

    /// One page of the scan, read in one transaction: the rows, their accounts, and the accounts' active
    /// certificates (to tell which keys were renewed already).
    private struct PageRead {
        var rows: [CertificateRecord]
        var accounts: [UUID: AccountRecord] = [:]
        var held: [UUID: [CertificateRecord]] = [:]
    }

    /// One certificate to renew.
    private struct Plan {
        var old: CertificateRecord
        var subject: [UInt8]
        var publicKeyInfo: [UInt8]
        var intent: IssuanceIntent
    }

    /// Renews what `request` selects, at most `limit` certificates (and `maximumScannedPerCall` looked at).
    /// - Throws: `invalid-time`, `invalid-limit`, `invalid-after`, `invalid-body`; the CA's refusal (an expired CA
    ///   certificate); `storage-error`. Batches committed before a failure stay renewed.
    func renew(_ request: RenewalRequest, actor: UsageActor) throws(Problem) -> RenewalOutcome {
        let limit = request.limit ?? Self.maximumPerCall
        guard (1...Self.maximumPerCall).contains(limit) else {
            throw Problem(.invalidLimit, detail: "limit is 1 to \(Self.maximumPerCall) certificates per call")
        }
        running.lock()
        defer { running.unlock() }
        let at = now()
        var cursor: Cursor
        if let after = request.after {
            guard request.issuedBefore == nil else {
                throw Problem(
                    .invalidBody, detail: "give issuedBefore on the first call only: after carries the selection")
            }
            cursor = try Cursor(text: after)
        } else if let text = request.issuedBefore {
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw Problem(
                    .invalidTime, detail: "issuedBefore must be an ISO 8601 time such as 2026-01-31T12:00:00Z")
            }
            guard date <= at else {
                throw Problem(.invalidTime, detail: "issuedBefore is in the future: give a time not later than now")
            }
            cursor = Cursor(otherKeyOnly: false, cutoff: date)
        } else {
            // Everything issued so far; the walk never meets what it issues itself.
            cursor = Cursor(otherKeyOnly: true, cutoff: at)
        }
        let currentKey: PublicKey
        do {
            currentKey = try authority.certificate.publicKey()
        } catch {
            throw Problem(.internalError, detail: "the CA certificate's public key is unreadable: \(error)")
        }
        var outcome = RenewalOutcome(renewed: 0, skipped: [:], scanned: 0, next: nil, certificates: [])
        var exhausted = false
        while outcome.renewed < limit && outcome.scanned < Self.maximumScannedPerCall {
            let page = min(Self.batchSize, Self.maximumScannedPerCall - outcome.scanned, limit - outcome.renewed)
            let (rows, plans) = try planBatch(
                cursor: cursor, size: page, currentKey: currentKey, at: at, skipped: &outcome.skipped)
            guard let last = rows.last else {
                exhausted = true
                break
            }
            cursor.serial = last.serial
            outcome.scanned += rows.count
            if !plans.isEmpty {
                let batch = try commit(plans, actor: actor, at: at)
                outcome.certificates += batch.renewed
                outcome.renewed = outcome.certificates.count
                if batch.withdrawn > 0 { outcome.skipped["changed-meanwhile", default: 0] += batch.withdrawn }
            }
            if rows.count < page {
                exhausted = true
                break
            }
        }
        outcome.next = exhausted ? nil : cursor.text
        return outcome
    }

    /// The next `size` active certificates after `cursor`'s position, and the plans of those to renew (the others
    /// counted in `skipped` by reason).
    private func planBatch(
        cursor: Cursor, size: Int, currentKey: PublicKey, at: Date, skipped: inout [String: Int]
    ) throws(Problem) -> ([CertificateRecord], [Plan]) {
        let authority = self.authority
        let read: PageRead
        do {
            read = try store.transaction { tx in
                let rows = try tx.issuedCertificates(
                    createdBefore: cursor.cutoff, afterSerial: cursor.serial, limit: size)
                var page = PageRead(rows: rows)
                for accountID in Set(rows.map(\.accountID)) {
                    page.accounts[accountID] = try tx.account(id: accountID)
                    page.held[accountID] = try tx.certificates(accountID: accountID).filter {
                        $0.state == .issued && $0.notAfter > at
                    }
                }
                return page
            }
        } catch {
            throw Problem(EnrollmentError.store(error))
        }
        let (rows, accounts, held) = (read.rows, read.accounts, read.held)
        var plans: [Plan] = []
        for row in rows {
            guard let der = row.der, let old = try? X509Certificate(der: der),
                let publicKeyInfo = try? old.publicKey().derEncoded()
            else {
                skipped["unreadable", default: 0] += 1
                continue
            }
            if cursor.otherKeyOnly && old.isSigned(by: currentKey) {
                skipped["current-key", default: 0] += 1
                continue
            }
            guard row.notAfter > at else {
                skipped["expired", default: 0] += 1
                continue
            }
            guard accounts[row.accountID]?.status == .normal else {
                skipped["account-not-normal", default: 0] += 1
                continue
            }
            let renewed = (held[row.accountID] ?? []).contains { other in
                guard other.serial != row.serial, cursor.otherKeyOnly || other.createdAt >= cursor.cutoff,
                    let otherDER = other.der, let certificate = try? X509Certificate(der: otherDER)
                else { return false }
                return certificate.isSigned(by: currentKey)
                    && (try? certificate.publicKey().derEncoded()) == publicKeyInfo
            }
            guard !renewed else {
                skipped["already-renewed", default: 0] += 1
                continue
            }
            let intent: IssuanceIntent
            do {
                intent = try authority.prepareIssuance(notAfterLimit: row.notAfter, now: at)
            } catch let error {
                if case .documentExpired = error {
                    skipped["expired", default: 0] += 1
                    continue
                }
                throw Problem(EnrollmentError(error))
            }
            plans.append(Plan(old: row, subject: old.subjectNameDER, publicKeyInfo: publicKeyInfo, intent: intent))
        }
        return (rows, plans)
    }

    /// One batch: its intents committed, signed, its certificates and usage records committed. A failure after the
    /// intents committed abandons them all, revoked (some may have been signed), as a crash's recovery would.
    /// The certificate commit looks at each old certificate and its account again: one revoked (say for a
    /// compromised key) or an identity cancelled or invalidated since the batch was planned gets no new
    /// certificate — its intent is abandoned and revoked in that same transaction (counted in `withdrawn`).
    private func commit(
        _ plans: [Plan], actor: UsageActor, at: Date
    ) throws(Problem) -> (renewed: [RenewedCertificate], withdrawn: Int) {
        let intents = plans.map { plan in
            CertificateRecord(
                serial: plan.intent.serialHex, accountID: plan.old.accountID, state: .intent,
                notBefore: plan.intent.notBefore, notAfter: plan.intent.notAfter, deviceID: plan.old.deviceID,
                createdAt: at)
        }
        do {
            try store.transaction { tx in try tx.insertCertificates(intents) }
        } catch {
            throw Problem(EnrollmentError.store(error))
        }
        var issued = intents
        var kept: [Int] = []
        do {
            for (index, plan) in plans.enumerated() {
                issued[index].state = .issued
                issued[index].der = try authority.certificateDER(
                    intent: plan.intent, publicKeyInfo: plan.publicKeyInfo, subjectDER: plan.subject)
            }
            let signed = issued
            kept = try store.transaction { tx in
                var kept: [Int] = []
                var normal: [UUID: Bool] = [:]
                for (index, plan) in plans.enumerated() {
                    let accountID = plan.old.accountID
                    if normal[accountID] == nil { normal[accountID] = try tx.account(id: accountID)?.status == .normal }
                    let stillIssued = try tx.certificate(serial: plan.old.serial)?.state == .issued
                    if stillIssued && normal[accountID] == true {
                        kept.append(index)
                    } else {
                        try EnrollmentService.abandon(tx, intents[index], mayBeSigned: true, actor: actor, at: at)
                    }
                }
                try tx.updateCertificates(kept.map { signed[$0] })
                for index in kept {
                    try UsageChain.append(
                        tx, at: at, accountID: signed[index].accountID,
                        event: UsageEventKind.certificateRenewed.rawValue,
                        actor: actor, detail: "\(signed[index].serial) renews \(plans[index].old.serial)")
                }
                return kept
            }
        } catch {
            abandon(intents, actor: actor, at: at)
            switch error {
            case let error as CertificateAuthorityError: throw Problem(EnrollmentError(error))
            case let error as StoreError: throw Problem(EnrollmentError.store(error))
            default: throw Problem(.internalError, detail: "renewal failed: \(error)")
            }
        }
        let keptSet = Set(kept)
        let withdrawn = plans.indices.filter { !keptSet.contains($0) }.map { intents[$0].serial }
        statusObserver?.certificatesIssued(kept.map { issued[$0].serial })
        if !withdrawn.isEmpty { statusObserver?.certificatesRevoked(withdrawn) }
        let formatter = ISO8601DateFormatter()
        let renewed = kept.map { index in
            RenewedCertificate(
                serial: issued[index].serial, renews: plans[index].old.serial,
                accountId: issued[index].accountID.uuidString,
                notAfter: formatter.string(from: issued[index].notAfter))
        }
        return (renewed, withdrawn.count)
    }

    /// Retires a failed batch's serials for good, revoked; what cannot be written now, start-up recovery retires.
    private func abandon(_ intents: [CertificateRecord], actor: UsageActor, at: Date) {
        let written: Void? = try? store.transaction { tx in
            for intent in intents {
                try EnrollmentService.abandon(tx, intent, mayBeSigned: true, actor: actor, at: at)
            }
        }
        if written != nil { statusObserver?.certificatesRevoked(intents.map(\.serial)) }
    }
}

extension Daemon {
    func addRenewalRoutes(to router: inout Router) {
        router.add(
            Route(
                "POST", "/v1/certificates/renewals",
                .respond { [unowned self] context throws(Problem) in
                    guard let renewal else {
                        throw Problem(.enrollmentUnavailable, detail: enrollmentUnavailableReason)
                    }
                    let request =
                        context.request.body.isEmpty
                        ? RenewalRequest() : try context.decodeBody(RenewalRequest.self)
                    let outcome = try renewal.renew(request, actor: try context.actor())
                    Log.notice(
                        "bulk renewal by uid \(context.peer.uid): \(outcome.renewed) renewed, "
                            + "\(outcome.skipped.values.reduce(0, +)) skipped of \(outcome.scanned)"
                            + (outcome.next == nil ? ", selection done" : ", more to come"))
                    return .json(outcome)
                }))
    }
}
