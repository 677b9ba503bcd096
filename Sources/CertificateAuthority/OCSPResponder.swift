import Foundation
import OpenSSLKit
import Synchronization

/// The CA's OCSP responder (RFC 6960, lightweight profile RFC 5019) over a `CertificateStatusSource`.
///
/// Responses are signed by a delegated responder certificate (id-kp-OCSPSigning, id-pkix-ocsp-nocheck) that the
/// responder issues itself on a key kept in memory, and rolls when half its validity has passed. Responses are
/// pre-produced and cached per CertID: a request without a nonce for one certificate is answered from the cache
/// without signing. An entry is re-signed when `certificateStatusChanged` says its status changed (a revocation
/// committed), and when half of its validity has passed (`refreshDue`, on a timer). A request with a nonce, or
/// for several certificates, gets a freshly signed answer; fresh signatures run at most
/// `freshSignatureConcurrency` at a time, beyond which a nonce request gets the cached answer and others
/// `tryLater`, so no caller can make the responder sign without bound.
///
/// Statuses (RFC 6960 §2.2): issued → `good`; revoked and abandoned intents → `revoked` with time and reason
/// (as on the CRL); a serial never issued → `unknown`; a CertID for another issuer → `unauthorized`
/// (RFC 5019 §2.2.3).
public final class OCSPResponder: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// nextUpdate − thisUpdate of every response (RFC 5019 §4: the validity interval).
        public var responseValidity: TimeInterval
        /// Part of a response's validity after which it is re-signed (0.5: at half its validity).
        public var refreshFraction: Double
        /// Validity of the delegated responder certificate; it is replaced at half of it.
        public var signerValidity: TimeInterval
        /// About the most cached responses (each about 700 bytes with the responder certificate), split over the
        /// cache's 32 shards with some slack for uneven spread.
        public var cacheCapacity: Int
        /// Most cached `unknown` answers (serials never issued), a part of `cacheCapacity`; below 32 (one per shard)
        /// none are cached.
        public var unknownCacheCapacity: Int
        /// Signatures made for requests (nonce, several certificates, cache misses) at once.
        public var freshSignatureConcurrency: Int
        /// Largest DER request accepted.
        public var maximumRequestSize: Int
        /// Most certificates one request may ask about (RFC 5019 §2.1.1 clients ask about one).
        public var maximumCertificatesPerRequest: Int

        public init(
            responseValidity: TimeInterval = 86_400, refreshFraction: Double = 0.5,
            signerValidity: TimeInterval = 7 * 86_400, cacheCapacity: Int = 100_000,
            unknownCacheCapacity: Int = 4_096, freshSignatureConcurrency: Int = 2,
            maximumRequestSize: Int = 4_096, maximumCertificatesPerRequest: Int = 8
        ) {
            self.responseValidity = responseValidity
            self.refreshFraction = refreshFraction
            self.signerValidity = signerValidity
            self.cacheCapacity = cacheCapacity
            self.unknownCacheCapacity = unknownCacheCapacity
            self.freshSignatureConcurrency = freshSignatureConcurrency
            self.maximumRequestSize = maximumRequestSize
            self.maximumCertificatesPerRequest = maximumCertificatesPerRequest
        }

        /// - Throws: `.invalidConfiguration` naming the bad value.
        public func validate() throws(CertificateAuthorityError) {
            guard (60...(10 * 86_400)).contains(responseValidity) else {
                throw .invalidConfiguration("OCSP response validity \(Int(responseValidity)) s: choose 60 s to 10 days")
            }
            guard refreshFraction > 0, refreshFraction < 1 else {
                throw .invalidConfiguration("OCSP refresh fraction \(refreshFraction): choose between 0 and 1")
            }
            guard signerValidity >= 2 * responseValidity, signerValidity <= 366 * 86_400 else {
                throw .invalidConfiguration(
                    "OCSP responder certificate validity \(Int(signerValidity)) s: choose "
                        + "at least twice the response validity and at most a year")
            }
            guard cacheCapacity >= 64, (0...cacheCapacity).contains(unknownCacheCapacity) else {
                throw .invalidConfiguration("OCSP cache capacity \(cacheCapacity) (unknown \(unknownCacheCapacity))")
            }
            guard (1...256).contains(freshSignatureConcurrency), (256...65_536).contains(maximumRequestSize),
                (1...64).contains(maximumCertificatesPerRequest)
            else { throw .invalidConfiguration("OCSP request limits out of range") }
        }
    }

    /// Counters since start, for metrics and tests.
    public struct Statistics: Sendable, Equatable {
        /// OCSP responses signed (cache fills, refreshes, fresh answers).
        public var signatures = 0
        /// Requests answered from the cache without signing.
        public var cacheHits = 0
        /// Requests answered with a response signed for them.
        public var freshAnswers = 0
        /// Requests answered with an error status.
        public var errors = 0
        /// Delegated responder certificates issued after the first.
        public var signerRollovers = 0
        /// Responses in the cache now.
        public var cachedResponses = 0
    }

    public let authority: IssuingAuthority
    public let configuration: Configuration
    private let source: any CertificateStatusSource
    private let clock: @Sendable () -> Date
    /// Our issuer's name and key hashes by hash algorithm OID.
    private let issuerHashes: [String: IssuerHashes]
    /// The signer and the fresh-signature permits (not on the cached path).
    private let control: Mutex<Control>
    /// The cache, split by serial so that concurrent requests rarely wait for one another.
    private let shards: [Shard]
    private let counters = Counters()
    private let refresher = Mutex<Thread?>(nil)
    private let stopRefreshing = Mutex(false)

    struct IssuerHashes: Sendable {
        let name: [UInt8]
        let key: [UInt8]
    }

    /// One cached response.
    struct Entry: Sendable {
        let der: [UInt8]
        let serialHex: String
        let thisUpdate: Date
        let nextUpdate: Date
        let refreshAt: Date
        let isUnknown: Bool
        let entityTag: String
        let lastModified: String
        let expires: String
    }

    struct Control: Sendable {
        var signer: DelegatedSigner
        var rolling = false
        var freshInFlight = 0
    }

    /// Every CertID of one serial lives in the same shard, so a status change touches one lock.
    final class Shard: Sendable {
        let table = Mutex(Table())
    }

    struct Table: Sendable {
        var entries: [OCSPCertificateID: Entry] = [:]
        var bySerial: [String: Set<OCSPCertificateID>] = [:]
        var unknownCount = 0

        mutating func insert(_ entry: Entry, for id: OCSPCertificateID, capacity: Int, unknownCapacity: Int) {
            if entries[id] == nil {
                if entry.isUnknown, unknownCount >= unknownCapacity { return }
                if entries.count >= capacity { evict(count: max(1, capacity / 8)) }
            } else {
                remove(id)
            }
            entries[id] = entry
            bySerial[entry.serialHex, default: []].insert(id)
            if entry.isUnknown { unknownCount += 1 }
        }

        mutating func remove(_ id: OCSPCertificateID) {
            guard let old = entries.removeValue(forKey: id) else { return }
            if old.isUnknown { unknownCount -= 1 }
            bySerial[old.serialHex]?.remove(id)
            if bySerial[old.serialHex]?.isEmpty == true { bySerial[old.serialHex] = nil }
        }

        /// Drops the `count` entries due for refresh soonest (the least valuable to keep).
        mutating func evict(count: Int) {
            let victims = entries.sorted { $0.value.refreshAt < $1.value.refreshAt }.prefix(count).map(\.key)
            for id in victims { remove(id) }
        }
    }

    /// Statistics as relaxed atomics: counting must not serialise the cached path.
    final class Counters: Sendable {
        let signatures = Atomic<Int>(0)
        let cacheHits = Atomic<Int>(0)
        let freshAnswers = Atomic<Int>(0)
        let errors = Atomic<Int>(0)
        let signerRollovers = Atomic<Int>(0)
    }

    static let shardCount = 32

    private func shard(for serial: [UInt8]) -> Shard {
        var hash: UInt32 = 2_166_136_261
        for byte in serial.suffix(8) { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return shards[Int(hash % UInt32(shards.count))]
    }

    /// A shard's share of the capacity, with a quarter more (and 16) for serials spreading unevenly: the cache
    /// holds about `cacheCapacity` responses, never more than 1.25 × it + 512.
    private var shardCapacity: Int { configuration.cacheCapacity / shards.count * 5 / 4 + 16 }
    private var shardUnknownCapacity: Int { configuration.unknownCacheCapacity / shards.count }

    /// Issues the first delegated responder certificate.
    /// - Parameters:
    ///   - now: the clock (tests move it); every decision about validity reads it.
    /// - Throws: `.invalidConfiguration`, `.issuingCertificateExpired`, `.crypto`.
    public init(
        authority: IssuingAuthority, source: any CertificateStatusSource,
        configuration: Configuration = Configuration(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(CertificateAuthorityError) {
        try configuration.validate()
        self.authority = authority
        self.configuration = configuration
        self.source = source
        self.clock = now
        var hashes: [String: IssuerHashes] = [:]
        for algorithm in [DigestAlgorithm.sha1, .sha224, .sha256, .sha384, .sha512] {
            let pair = try crypto { () throws(OpenSSLError) in
                try OCSPCertificateID.issuerHashes(of: authority.certificate, using: algorithm)
            }
            hashes[algorithm.oid] = IssuerHashes(name: pair.name, key: pair.key)
        }
        issuerHashes = hashes
        let signer = try authority.issueDelegatedSigner(
            for: .ocspSigning, validity: configuration.signerValidity,
            now: now())
        control = Mutex(Control(signer: signer))
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    deinit { stop() }

    /// The delegated responder certificate signing responses now.
    public var responderCertificate: X509Certificate { control.withLock { $0.signer.certificate } }

    public var statistics: Statistics {
        var statistics = Statistics()
        statistics.signatures = counters.signatures.load(ordering: .relaxed)
        statistics.cacheHits = counters.cacheHits.load(ordering: .relaxed)
        statistics.freshAnswers = counters.freshAnswers.load(ordering: .relaxed)
        statistics.errors = counters.errors.load(ordering: .relaxed)
        statistics.signerRollovers = counters.signerRollovers.load(ordering: .relaxed)
        statistics.cachedResponses = shards.reduce(0) { total, shard in
            total + shard.table.withLock { $0.entries.count }
        }
        return statistics
    }

    // MARK: Answering

    /// Answers a DER OCSPRequest (the body of `POST`, RFC 6960 Appendix A.1). Never throws: a bad request gets an
    /// error status, the store being unreachable `tryLater`.
    public func respond(toRequest der: [UInt8]) -> OCSPAnswer {
        let answer = answer(der)
        if answer.source == .error { counters.errors.wrappingAdd(1, ordering: .relaxed) }
        return answer
    }

    /// Answers the request in the path of `GET {url}/{request}` (RFC 6960 Appendix A.1): the base64 of the DER,
    /// percent-encoded; base64url (RFC 4648 §5) and missing padding are accepted too.
    public func respond(toEncodedRequest text: String) -> OCSPAnswer {
        guard text.utf8.count <= configuration.maximumRequestSize * 2 else {
            counters.errors.wrappingAdd(1, ordering: .relaxed)
            return .error(.malformedRequest, "encoded request longer than \(configuration.maximumRequestSize * 2)")
        }
        guard let der = Self.decodeRequestPath(text) else {
            counters.errors.wrappingAdd(1, ordering: .relaxed)
            return .error(.malformedRequest, "the GET path is not a base64 OCSP request")
        }
        return respond(toRequest: der)
    }

    private func answer(_ der: [UInt8]) -> OCSPAnswer {
        guard der.count <= configuration.maximumRequestSize else {
            return .error(
                .malformedRequest,
                "request of \(der.count) bytes, more than \(configuration.maximumRequestSize)")
        }
        let request: OCSPRequest
        do {
            request = try OCSPRequest(der: der)
        } catch {
            return .error(.malformedRequest, "not a DER OCSP request")
        }
        let ids = request.certificateIDs
        guard !ids.isEmpty, ids.count <= configuration.maximumCertificatesPerRequest else {
            return .error(
                .malformedRequest,
                "\(ids.count) certificates in one request; ask about 1 to "
                    + "\(configuration.maximumCertificatesPerRequest)")
        }
        guard request.unsupportedCriticalExtensions.isEmpty else {
            return .error(
                .malformedRequest,
                "unsupported critical extension "
                    + request.unsupportedCriticalExtensions.joined(separator: ", "))
        }
        if let nonce = request.nonce, !(1...32).contains(nonce.count) {
            return .error(.malformedRequest, "nonce of \(nonce.count) bytes; RFC 8954 allows 1 to 32")
        }
        for id in ids {
            guard let ours = issuerHashes[id.hashAlgorithmOID], ours.name == id.issuerNameHash,
                ours.key == id.issuerKeyHash
            else { return .error(.unauthorized, "a certificate of another issuer, or an unsupported CertID hash") }
            guard !id.serialNumber.isEmpty, id.serialNumber.count <= 20 else {
                return .error(.malformedRequest, "serial number of \(id.serialNumber.count) bytes")
            }
        }
        let now = clock()
        if ids.count == 1, request.nonceExtensionValue == nil { return cachedAnswer(for: ids[0], now: now) }
        guard acquireFreshPermit() else {
            if ids.count == 1 { return cachedAnswer(for: ids[0], now: now) }
            return .error(.tryLater, "fresh signatures busy")
        }
        defer { releaseFreshPermit() }
        do {
            var singles: [OCSPSingleResponse] = []
            for id in ids {
                let status = try lookUp(id.serialNumber.upperHex)
                singles.append(
                    OCSPSingleResponse(
                        certificateID: id, status: Self.ocspStatus(status),
                        thisUpdate: Self.second(now), nextUpdate: nil))
            }
            let signed = try sign(singles, nonceExtensionValue: request.nonceExtensionValue, now: now)
            counters.freshAnswers.wrappingAdd(1, ordering: .relaxed)
            return OCSPAnswer(
                der: signed.der, status: .successful, source: .fresh, thisUpdate: signed.thisUpdate,
                nextUpdate: signed.nextUpdate, isCacheable: false, note: nil, entityTag: nil)
        } catch {
            return Self.failure(error)
        }
    }

    /// The cached response for `id`, produced (and cached) when missing or due for refresh.
    private func cachedAnswer(for id: OCSPCertificateID, now: Date) -> OCSPAnswer {
        let cached = shard(for: id.serialNumber).table.withLock { $0.entries[id] }
        if let cached, now < cached.refreshAt, now >= cached.thisUpdate {
            counters.cacheHits.wrappingAdd(1, ordering: .relaxed)
            return Self.answer(cached, source: .cache)
        }
        // A miss or a stale entry: sign, unless too many signatures are under way; a stale entry still within its
        // validity is then better than tryLater.
        guard acquireFreshPermit() else {
            if let cached, now < cached.nextUpdate {
                counters.cacheHits.wrappingAdd(1, ordering: .relaxed)
                return Self.answer(cached, source: .cache)
            }
            return .error(.tryLater, "fresh signatures busy")
        }
        defer { releaseFreshPermit() }
        do {
            let entry = try produce(id, now: now)
            return Self.answer(entry, source: .fresh)
        } catch {
            if let cached, now < cached.nextUpdate { return Self.answer(cached, source: .cache) }
            return Self.failure(error)
        }
    }

    private static func answer(_ entry: Entry, source: OCSPAnswer.Source) -> OCSPAnswer {
        OCSPAnswer(
            der: entry.der, status: .successful, source: source, thisUpdate: entry.thisUpdate,
            nextUpdate: entry.nextUpdate, isCacheable: true, note: nil, entityTag: entry.entityTag,
            lastModified: entry.lastModified, expires: entry.expires)
    }

    private static func failure(_ error: CertificateAuthorityError) -> OCSPAnswer {
        if case .statusSourceUnavailable = error { return .error(.tryLater, "certificate records unavailable") }
        return .error(.internalError, "signing failed: \(error.code)")
    }

    // MARK: Producing and refreshing

    /// Looks the serial up, signs its response and caches it.
    @discardableResult
    private func produce(_ id: OCSPCertificateID, now: Date) throws(CertificateAuthorityError) -> Entry {
        let serialHex = id.serialNumber.upperHex
        let status = try lookUp(serialHex)
        let single = OCSPSingleResponse(
            certificateID: id, status: Self.ocspStatus(status),
            thisUpdate: Self.second(now), nextUpdate: nil)
        let signed = try sign([single], nonceExtensionValue: nil, now: now)
        let refreshAt =
            signed.thisUpdate
            + (signed.nextUpdate.timeIntervalSince(signed.thisUpdate) * configuration.refreshFraction)
        let tag = "\"" + Array(((try? Digest.hash(signed.der, using: .sha256)) ?? []).prefix(16)).upperHex + "\""
        let entry = Entry(
            der: signed.der, serialHex: serialHex, thisUpdate: signed.thisUpdate,
            nextUpdate: signed.nextUpdate, refreshAt: refreshAt, isUnknown: status == .neverIssued,
            entityTag: tag, lastModified: HTTPDate.text(signed.thisUpdate),
            expires: HTTPDate.text(signed.nextUpdate))
        let capacity = shardCapacity
        let unknownCapacity = shardUnknownCapacity
        shard(for: id.serialNumber).table.withLock {
            $0.insert(entry, for: id, capacity: capacity, unknownCapacity: unknownCapacity)
        }
        return entry
    }

    /// Tells the responder that the certificate with `serialHex` changed status (issued, revoked, abandoned):
    /// its cached responses are dropped at once, then the SHA-1 CertID response (what clients ask for) and every
    /// other cached variant are signed again from the records. Call it after the change committed.
    /// - Throws: `.invalidSerial`, or the lookup's or signing's error (the stale entries are gone either way, so
    ///   the next request looks the status up afresh).
    public func certificateStatusChanged(serialHex: String) throws(CertificateAuthorityError) {
        let serial = try IssuingAuthority.serialBytes(hex: serialHex)
        let normalised = serial.upperHex
        let stale = shard(for: serial).table.withLock { table -> Set<OCSPCertificateID> in
            let ids = table.bySerial[normalised] ?? []
            for id in ids { table.remove(id) }
            return ids
        }
        let primary = try crypto { () throws(OpenSSLError) in
            try OCSPCertificateID(serialNumber: serial, issuer: authority.certificate)
        }
        let now = clock()
        for id in stale.union([primary]) { try produce(id, now: now) }
    }

    /// Signs and caches responses for `serialHexes` that are not cached yet (after issuance, or at start for the
    /// certificates relying parties will ask about), as far as the cache has room.
    /// - Returns: how many responses were signed.
    /// - Throws: the first lookup or signing error.
    @discardableResult
    public func preproduce(serialHexes: [String]) throws(CertificateAuthorityError) -> Int {
        var produced = 0
        for serialHex in serialHexes {
            let serial = try IssuingAuthority.serialBytes(hex: serialHex)
            let id = try crypto { () throws(OpenSSLError) in
                try OCSPCertificateID(serialNumber: serial, issuer: authority.certificate)
            }
            let now = clock()
            let capacity = shardCapacity
            let needed = shard(for: serial).table.withLock { table in
                table.entries[id].map { now >= $0.refreshAt } ?? (table.entries.count < capacity)
            }
            guard needed else { continue }
            try produce(id, now: now)
            produced += 1
        }
        return produced
    }

    /// Re-signs every cached response whose refresh time has come (half its validity by default), reading each
    /// status again, and rolls the responder certificate when half of its validity has passed.
    /// - Returns: how many responses were re-signed. An entry that fails (records unavailable) stays until its
    ///   nextUpdate and is tried on the next call; one past its nextUpdate is dropped.
    @discardableResult
    public func refreshDue() -> Int {
        let now = clock()
        _ = try? currentSigner(now: now)
        let due = shards.flatMap { shard in
            shard.table.withLock { table in table.entries.filter { now >= $0.value.refreshAt }.map(\.key) }
        }
        var refreshed = 0
        for id in due {
            do {
                try produce(id, now: now)
                refreshed += 1
            } catch {
                shard(for: id.serialNumber).table.withLock { table in
                    if let entry = table.entries[id], now >= entry.nextUpdate { table.remove(id) }
                }
            }
        }
        return refreshed
    }

    /// Calls `refreshDue` every `interval` seconds on a background thread until `stop`.
    public func startRefreshing(every interval: TimeInterval = 60) {
        refresher.withLock { thread in
            guard thread == nil else { return }
            stopRefreshing.withLock { $0 = false }
            let started = Thread { [weak self] in
                while let self, !self.stopRefreshing.withLock({ $0 }) {
                    self.refreshDue()
                    var waited: TimeInterval = 0
                    while waited < interval, !self.stopRefreshing.withLock({ $0 }) {
                        Thread.sleep(forTimeInterval: min(0.2, interval))
                        waited += 0.2
                    }
                }
            }
            started.name = "enrolld.ocsp-refresh"
            started.start()
            thread = started
        }
    }

    /// Stops the background refresher (it finishes the refresh under way).
    public func stop() {
        stopRefreshing.withLock { $0 = true }
        refresher.withLock { $0 = nil }
    }

    // MARK: Signing

    private struct Signed {
        let der: [UInt8]
        let thisUpdate: Date
        let nextUpdate: Date
    }

    /// Signs `singles` with the current responder certificate; nextUpdate is thisUpdate plus the response validity,
    /// never past the responder certificate's expiry.
    private func sign(
        _ singles: [OCSPSingleResponse], nonceExtensionValue: [UInt8]?,
        now: Date
    ) throws(CertificateAuthorityError) -> Signed {
        let signer = try currentSigner(now: now)
        let thisUpdate = Self.second(now)
        let limit = signer.certificate.notAfter ?? thisUpdate + configuration.responseValidity
        let nextUpdate = min(thisUpdate + configuration.responseValidity, limit)
        let responses = singles.map {
            OCSPSingleResponse(
                certificateID: $0.certificateID, status: $0.status, thisUpdate: thisUpdate,
                nextUpdate: nextUpdate)
        }
        let builder = OCSPResponseBuilder(responses: responses, nonceExtensionValue: nonceExtensionValue)
        let der = try crypto { () throws(OpenSSLError) in
            try builder.sign(responder: signer.certificate, key: signer.key, scheme: signer.scheme)
        }
        counters.signatures.wrappingAdd(1, ordering: .relaxed)
        return Signed(der: der, thisUpdate: thisUpdate, nextUpdate: nextUpdate)
    }

    /// The responder certificate to sign with at `now`, rolled first when half its validity has passed (one
    /// thread rolls; the others keep signing with the old certificate, still valid, meanwhile).
    private func currentSigner(now: Date) throws(CertificateAuthorityError) -> DelegatedSigner {
        let (signer, mustRoll) = control.withLock { state -> (DelegatedSigner, Bool) in
            let start = state.signer.certificate.notBefore ?? now
            let end = state.signer.certificate.notAfter ?? now
            let due = now >= start + end.timeIntervalSince(start) / 2 || now >= end
            guard due, !state.rolling else { return (state.signer, false) }
            state.rolling = true
            return (state.signer, true)
        }
        guard mustRoll else { return signer }
        do {
            let next = try authority.issueDelegatedSigner(
                for: .ocspSigning, validity: configuration.signerValidity,
                now: now)
            control.withLock { state in
                state.signer = next
                state.rolling = false
            }
            counters.signerRollovers.wrappingAdd(1, ordering: .relaxed)
            return next
        } catch {
            control.withLock { $0.rolling = false }
            if let end = signer.certificate.notAfter, now < end { return signer }
            throw error
        }
    }

    private func acquireFreshPermit() -> Bool {
        control.withLock { state in
            guard state.freshInFlight < configuration.freshSignatureConcurrency else { return false }
            state.freshInFlight += 1
            return true
        }
    }

    private func releaseFreshPermit() { control.withLock { $0.freshInFlight -= 1 } }

    // MARK: Helpers

    private func lookUp(_ serialHex: String) throws(CertificateAuthorityError) -> CertificateRecordStatus {
        try source.status(serialHex: serialHex)
    }

    /// Issued → good; revoked and abandoned → revoked with the recorded time and reason; never issued → unknown.
    static func ocspStatus(_ status: CertificateRecordStatus) -> OCSPCertificateStatus {
        switch status {
        case .issued: return .good
        case let .revoked(at, reason), let .abandoned(at, reason): return .revoked(at: second(at), reason: reason)
        case .neverIssued: return .unknown
        }
    }

    static func second(_ date: Date) -> Date { Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)) }

    /// The DER request in a GET path: percent-decoded, then base64 or base64url with or without padding.
    static func decodeRequestPath(_ text: String) -> [UInt8]? {
        guard let decoded = text.removingPercentEncoding else { return nil }
        var base64 = decoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.isEmpty, base64.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return [UInt8](data)
    }
}
