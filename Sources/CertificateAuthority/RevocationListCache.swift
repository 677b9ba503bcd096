import Foundation
import OpenSSLKit
import Synchronization

/// Signs CRLs (RFC 5280 §5); `IssuingAuthority` is the real one, tests wrap it to count signatures.
public protocol CRLSigning: Sendable {
    func makeCRL(
        revoked: [Revocation], crlNumber: Int, thisUpdate: Date, nextUpdate: Date
    )
        throws(CertificateAuthorityError) -> IssuedCRL
}

extension IssuingAuthority: CRLSigning {}

/// A signed CRL as served: DER and PEM made once.
public struct PublishedCRL: Sendable {
    public let issued: IssuedCRL
    public let pem: String
    public var der: [UInt8] { issued.der }
    public var number: Int { issued.crlNumber }
    public let thisUpdate: Date
    public let nextUpdate: Date

    /// HTTP headers for serving it: the content type of the form asked for (`application/pkix-crl` for DER,
    /// RFC 5280 §4.2.1.13, or PEM) and caching until nextUpdate.
    public func httpHeaders(der: Bool, now: Date = Date()) -> [(name: String, value: String)] {
        let maxAge = max(0, Int(nextUpdate.timeIntervalSince(now).rounded(.down)))
        return [
            ("Content-Type", der ? "application/pkix-crl" : "application/x-pem-file"),
            ("Last-Modified", HTTPDate.text(thisUpdate)), ("Expires", HTTPDate.text(nextUpdate)),
            ("Cache-Control", "max-age=\(maxAge), public, no-transform, must-revalidate"),
        ]
    }
}

/// The CA's CRL, signed when a revocation commits and when half its validity has passed, never per request:
/// `current` only reads the cache.
///
/// Numbers come from the `RevocationListSource`'s counter (one transaction with the revocations it lists), so
/// they stay monotonic across restarts and across a fleet on one database; a number not above the last one this
/// cache published is refused (a counter that went back, as after restoring an old database) and the old CRL
/// stays served. Concurrent `revocationCommitted` calls share signatures: each returns once a CRL signed after
/// its call began is published, so one signature can cover a burst of revocations.
public final class RevocationListCache: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// nextUpdate − thisUpdate.
        public var validity: TimeInterval
        /// Part of the validity after which a new CRL is signed (0.5: at half its validity).
        public var refreshFraction: Double

        public init(validity: TimeInterval = 86_400, refreshFraction: Double = 0.5) {
            self.validity = validity
            self.refreshFraction = refreshFraction
        }
    }

    public struct Statistics: Sendable, Equatable {
        public var signatures = 0
        public var refusedNumbers = 0
        public var failures = 0
    }

    public let configuration: Configuration
    private let signer: any CRLSigning
    private let source: any RevocationListSource
    private let clock: @Sendable () -> Date
    private let state: Mutex<State>
    /// Wakes callers waiting for a signing another caller is doing.
    private let signed = NSCondition()
    private let refresher = Mutex<Bool>(false)

    private struct State: Sendable {
        var published: PublishedCRL
        /// Every `revocationCommitted` call takes a ticket; a signing that starts after ticket n covers it.
        var ticketsIssued = 0
        var ticketsCovered = 0
        var signing = false
        var lastError: CertificateAuthorityError?
        var statistics = Statistics()
    }

    /// Signs the first CRL.
    /// - Throws: `.invalidConfiguration`, the source's `.statusSourceUnavailable`, signing errors.
    public init(
        signer: any CRLSigning, source: any RevocationListSource, configuration: Configuration = .init(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(CertificateAuthorityError) {
        guard (300...(31 * 86_400)).contains(configuration.validity) else {
            throw .invalidConfiguration("CRL validity \(Int(configuration.validity)) s: choose 5 minutes to 31 days")
        }
        guard configuration.refreshFraction > 0, configuration.refreshFraction < 1 else {
            throw .invalidConfiguration("CRL refresh fraction \(configuration.refreshFraction): choose between 0 and 1")
        }
        self.configuration = configuration
        self.signer = signer
        self.source = source
        self.clock = now
        let first = try Self.sign(
            signer: signer, source: source, validity: configuration.validity, now: now(),
            after: nil)
        var initial = State(published: first)
        initial.statistics.signatures = 1
        state = Mutex(initial)
    }

    deinit { stop() }

    /// The CRL to serve now. Signs nothing.
    public var current: PublishedCRL { state.withLock { $0.published } }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Tells the cache that a revocation (or an abandoned intent's revocation) committed: returns a CRL signed
    /// after this call began, which lists it. Concurrent callers share one signing where they can.
    /// - Throws: the source's or the signer's error, or `.invalidCRLParameters` when the counter went back; the
    ///   previous CRL stays served.
    @discardableResult
    public func revocationCommitted() throws(CertificateAuthorityError) -> PublishedCRL {
        let ticket = state.withLock { state -> Int in
            state.ticketsIssued += 1
            return state.ticketsIssued
        }
        while true {
            let role = state.withLock { state -> (lead: Bool, done: PublishedCRL?, error: CertificateAuthorityError?) in
                if state.ticketsCovered >= ticket { return (false, state.published, nil) }
                if state.signing { return (false, nil, nil) }
                state.signing = true
                return (true, nil, nil)
            }
            if let done = role.done { return done }
            if role.lead {
                let target = state.withLock { $0.ticketsIssued }
                let outcome = signNext()
                state.withLock { state in
                    state.signing = false
                    if case .success = outcome { state.ticketsCovered = max(state.ticketsCovered, target) }
                }
                signed.lock()
                signed.broadcast()
                signed.unlock()
                switch outcome {
                case let .success(published): return published
                case let .failure(error): throw error
                }
            }
            signed.lock()
            _ = signed.wait(until: Date() + 0.05)
            signed.unlock()
        }
    }

    /// Signs a new CRL when half the current one's validity has passed. Call it on a timer.
    /// - Returns: whether a CRL was signed.
    @discardableResult
    public func refreshIfDue() -> Bool {
        let now = clock()
        let due = state.withLock { state -> Bool in
            let published = state.published
            let refreshAt =
                published.thisUpdate
                + published.nextUpdate.timeIntervalSince(published.thisUpdate) * configuration.refreshFraction
            guard now >= refreshAt, !state.signing else { return false }
            state.signing = true
            return true
        }
        guard due else { return false }
        let outcome = signNext()
        state.withLock { $0.signing = false }
        signed.lock()
        signed.broadcast()
        signed.unlock()
        if case .success = outcome { return true }
        return false
    }

    /// Calls `refreshIfDue` every `interval` seconds on a background thread until `stop`.
    public func startRefreshing(every interval: TimeInterval = 60) {
        let start = refresher.withLock { running -> Bool in
            guard !running else { return false }
            running = true
            return true
        }
        guard start else { return }
        let thread = Thread { [weak self] in
            var waited: TimeInterval = 0
            while let self, self.refresher.withLock({ $0 }) {
                if waited >= interval {
                    self.refreshIfDue()
                    waited = 0
                }
                Thread.sleep(forTimeInterval: min(0.2, interval))
                waited += min(0.2, interval)
            }
        }
        thread.name = "enrolld.crl-refresh"
        thread.start()
    }

    public func stop() { refresher.withLock { $0 = false } }

    /// The error of the last signing that failed (nil after a success), for health reporting.
    public var lastError: CertificateAuthorityError? { state.withLock { $0.lastError } }

    private func signNext() -> Result<PublishedCRL, CertificateAuthorityError> {
        let last = state.withLock { $0.published.number }
        do {
            let next = try Self.sign(
                signer: signer, source: source, validity: configuration.validity, now: clock(),
                after: last)
            state.withLock { state in
                state.published = next
                state.lastError = nil
                state.statistics.signatures += 1
            }
            return .success(next)
        } catch {
            state.withLock { state in
                state.lastError = error
                if case .invalidCRLParameters = error { state.statistics.refusedNumbers += 1 }
                state.statistics.failures += 1
            }
            return .failure(error)
        }
    }

    private static func sign(
        signer: any CRLSigning, source: any RevocationListSource, validity: TimeInterval,
        now: Date, after last: Int?
    ) throws(CertificateAuthorityError) -> PublishedCRL {
        let contents = try source.nextCRLContents()
        if let last, contents.number <= last {
            throw .invalidCRLParameters(
                "CRL number \(contents.number) from the counter is not above \(last), the "
                    + "last one published: the counter went back (a restored database?); fix it before revoking")
        }
        let thisUpdate = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let issued = try signer.makeCRL(
            revoked: contents.revocations, crlNumber: contents.number,
            thisUpdate: thisUpdate, nextUpdate: thisUpdate + validity)
        return PublishedCRL(issued: issued, pem: issued.pem, thisUpdate: thisUpdate, nextUpdate: thisUpdate + validity)
    }
}
