import CertificateAuthority
import Enrollment
import Foundation
import OpenSSLKit
import Store
import Synchronization

/// The store as the OCSP responder (`CertificateStatusSource`) and the CRL cache (`RevocationListSource`) read it.
struct StoreCertificateRecords: CertificateStatusSource, RevocationListSource {
    let store: any Store

    /// One read of the certificate row: issued → issued; revoked → revoked (time, reason or unspecified); an
    /// abandoned intent with a revocation date → abandoned (it may have been signed); an abandoned intent without
    /// one, an intent still being signed, or no row → never issued.
    func status(serialHex: String) throws(CertificateAuthorityError) -> CertificateRecordStatus {
        let record: CertificateRecord?
        do {
            record = try store.transaction { tx in try tx.certificate(serial: serialHex.uppercased()) }
        } catch {
            throw .statusSourceUnavailable("\(error)")
        }
        return Self.status(of: record)
    }

    static func status(of record: CertificateRecord?) -> CertificateRecordStatus {
        guard let record else { return .neverIssued }
        switch record.state {
        case .issued:
            return .issued
        case .revoked:
            return .revoked(at: record.revokedAt ?? record.createdAt, reason: record.revocationReason ?? .unspecified)
        case .abandoned:
            guard let at = record.revokedAt else { return .neverIssued }
            return .abandoned(revokedAt: at, reason: record.revocationReason ?? .cessationOfOperation)
        case .intent:
            return .neverIssued
        }
    }

    /// The next `crl-number` and the revocations, in one transaction (the rule of what is listed is
    /// `AccountService`'s).
    func nextCRLContents() throws(CertificateAuthorityError) -> CRLContents {
        do {
            let contents = try AccountService.revocationListContents(store: store)
            return CRLContents(
                number: contents.number,
                revocations: contents.revoked.map {
                    Revocation(serialHex: $0.serial, date: $0.date, reason: $0.reason)
                })
        } catch {
            throw .statusSourceUnavailable(error.message)
        }
    }
}

/// What relying parties read about our certificates — the OCSP responder's cache and the CRL — kept in step with
/// the store.
///
/// On this daemon the services tell it (`CertificateStatusObserver`) after every commit: a revocation re-signs the
/// serial's OCSP responses and the CRL before the revoking request is answered; an issuance pre-produces the new
/// certificate's response in the background. Other daemons of a fleet write the same database: every
/// `pollInterval` this one reads the revocations of the last `pollWindow` (an indexed read of a few rows) and
/// republishes those it has not seen, so a revocation elsewhere is reflected here within about `pollInterval`
/// (the revoking daemon's clock may run up to `pollWindow` behind). Nothing here parses logs or events' text.
final class CertificateStatusPublisher: CertificateStatusObserver, Sendable {
    let responder: OCSPResponder
    let crl: RevocationListCache
    private let store: any Store
    private let now: @Sendable () -> Date
    let pollInterval: TimeInterval
    let pollWindow: TimeInterval = 15 * 60
    /// Issued serials waiting for their response to be pre-produced; beyond `maximumPending` an issuance burst
    /// leaves the rest to be signed on their first request.
    private let pending = Mutex(0)
    private let maximumPending = 10_000
    private let issuedQueue = DispatchQueue(label: "enrolld.ocsp-preproduce", qos: .utility)
    private let stopping = Mutex(false)

    private struct PollState {
        /// Revocations already published, by serial, with when this daemon learnt of them.
        var seen: [String: Date] = [:]
        var running = false
        var polls = 0
        var republished = 0
    }

    private let poll = Mutex(PollState())

    init(
        responder: OCSPResponder, crl: RevocationListCache, store: any Store, pollInterval: TimeInterval,
        now: @escaping @Sendable () -> Date
    ) {
        self.responder = responder
        self.crl = crl
        self.store = store
        self.pollInterval = pollInterval
        self.now = now
    }

    /// Builds the responder and the cache (the first CRL is signed here) from the configuration.
    static func make(
        authority: IssuingAuthority, store: any Store, configuration: Configuration,
        now: @escaping @Sendable () -> Date
    ) throws(CertificateAuthorityError) -> CertificateStatusPublisher {
        let records = StoreCertificateRecords(store: store)
        var ocsp = OCSPResponder.Configuration()
        ocsp.responseValidity = configuration.ocspResponseValiditySeconds
        ocsp.signerValidity = configuration.ocspSignerValiditySeconds
        ocsp.cacheCapacity = configuration.ocspCacheCapacity
        ocsp.unknownCacheCapacity = min(ocsp.unknownCacheCapacity, configuration.ocspCacheCapacity / 4)
        ocsp.freshSignatureConcurrency = configuration.ocspFreshSignatures
        let responder = try OCSPResponder(authority: authority, source: records, configuration: ocsp, now: now)
        let crl = try RevocationListCache(
            signer: authority, source: records,
            configuration: .init(validity: configuration.crlValiditySeconds), now: now)
        return CertificateStatusPublisher(
            responder: responder, crl: crl, store: store,
            pollInterval: configuration.statusPollSeconds, now: now)
    }

    // MARK: CertificateStatusObserver

    func certificatesIssued(_ serials: [String]) {
        let accepted = pending.withLock { count -> Bool in
            guard count + serials.count <= maximumPending else { return false }
            count += serials.count
            return true
        }
        guard accepted else { return }
        let responder = self.responder
        issuedQueue.async { [weak self] in
            for serial in serials {
                // Stopping: the rest are signed on their first request after the next start.
                if self?.stopping.withLock({ $0 }) ?? true { break }
                do {
                    try responder.certificateStatusChanged(serialHex: serial)
                } catch {
                    Log.warning("OCSP response for issued certificate \(serial) not pre-produced: \(error)")
                }
            }
            self?.pending.withLock { $0 -= serials.count }
        }
    }

    /// Returns once every issuance reported so far has had its response pre-produced (or failed to): a caller that
    /// counts signatures waits here first, since the pre-production of an issuance runs after its request returns.
    func waitForPreproduction() { issuedQueue.sync {} }

    func certificatesRevoked(_ serials: [String]) {
        publishRevocations(serials)
    }

    /// Re-signs the serials' OCSP responses and the CRL; a serial whose response could not be signed is not marked
    /// seen, so the next poll tries it again.
    @discardableResult
    private func publishRevocations(_ serials: [String]) -> Int {
        guard !serials.isEmpty else { return 0 }
        var published: [String] = []
        for serial in serials {
            do {
                try responder.certificateStatusChanged(serialHex: serial)
                published.append(serial)
            } catch {
                Log.warning(
                    "OCSP responses of revoked certificate \(serial) not re-signed: \(error); the next poll "
                        + "retries")
            }
        }
        do {
            try crl.revocationCommitted()
        } catch {
            Log.warning("CRL not re-signed after a revocation: \(error); the next poll retries")
            return 0
        }
        let at = now()
        poll.withLock { state in for serial in published { state.seen[serial] = at } }
        return published.count
    }

    // MARK: Running

    /// Starts the OCSP and CRL refreshers (every 60 s: they re-sign what is past half its validity), the store
    /// poll, and pre-produces responses for the most recently issued certificates (up to half the cache).
    func start() {
        responder.startRefreshing(every: 60)
        crl.startRefreshing(every: 60)
        let first = poll.withLock { state -> Bool in
            defer { state.running = true }
            return !state.running
        }
        guard first else { return }
        // What is revoked now is on the first CRL already: only what changes from here is news.
        if let records = try? recentRevocations() {
            let at = now()
            poll.withLock { state in for record in records { state.seen[record.serial] = at } }
        }
        let poller = Thread { [weak self] in
            while let self, self.poll.withLock({ $0.running }) {
                var waited: TimeInterval = 0
                while waited < self.pollInterval, self.poll.withLock({ $0.running }) {
                    Thread.sleep(forTimeInterval: min(0.1, self.pollInterval))
                    waited += 0.1
                }
                guard self.poll.withLock({ $0.running }) else { return }
                self.pollStore()
            }
        }
        poller.name = "enrolld.status-poll"
        poller.start()
        let capacity = responder.configuration.cacheCapacity / 2
        let store = self.store
        let responder = self.responder
        Thread.detachNewThread { [weak self] in
            do {
                let issued = try store.transaction { tx in
                    try tx.certificateStatuses(states: [.issued], revokedSince: nil, limit: min(capacity, 50_000))
                }
                var produced = 0
                for chunk in stride(from: 0, to: issued.count, by: 256) {
                    guard let self, self.poll.withLock({ $0.running }) else { return }
                    produced += try responder.preproduce(
                        serialHexes: issued[chunk..<min(chunk + 256, issued.count)].map(\.serial))
                }
                if produced > 0 { Log.info("OCSP: \(produced) response(s) pre-produced for recent certificates") }
            } catch {
                Log.warning("OCSP responses not pre-produced at start: \(error)")
            }
        }
    }

    func stop() {
        poll.withLock { $0.running = false }
        // No pre-production may outlive the daemon's OpenSSL objects (a bulk renewal queues thousands): the loop
        // ends at its next serial, and this waits for it.
        stopping.withLock { $0 = true }
        issuedQueue.sync {}
        responder.stop()
        crl.stop()
    }

    /// Reads the revocations of the last `pollWindow` and republishes those not seen yet (another daemon's, or one
    /// whose publication failed). Returns how many it republished.
    @discardableResult
    func pollStore() -> Int {
        let records: [CertificateRecord]
        do {
            records = try recentRevocations()
        } catch {
            Log.warning("status poll: the store is not readable: \(error)")
            return 0
        }
        let cutoff = now() - 2 * pollWindow
        let fresh = poll.withLock { state -> [String] in
            state.polls += 1
            state.seen = state.seen.filter { $0.value >= cutoff }
            return records.map(\.serial).filter { state.seen[$0] == nil }
        }
        let published = publishRevocations(fresh)
        if published > 0 {
            poll.withLock { $0.republished += published }
            Log.info("status poll: \(published) revocation(s) committed elsewhere published")
        }
        return published
    }

    private func recentRevocations() throws(StoreError) -> [CertificateRecord] {
        let since = now() - pollWindow
        return try store.transaction { tx in
            try tx.certificateStatuses(states: [.revoked, .abandoned], revokedSince: since, limit: nil)
        }.filter { $0.revokedAt != nil }
    }

    /// Polls run and revocations the polls republished, for metrics and tests.
    var pollStatistics: (polls: Int, republished: Int) { poll.withLock { ($0.polls, $0.republished) } }
}
