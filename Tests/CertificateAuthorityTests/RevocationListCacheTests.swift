import CertificateAuthority
import Foundation
import OpenSSLKit
import Synchronization
import XCTest

/// The cached CRL: signed on revocation and at half its validity, never when read; numbers from the shared
/// counter, monotonic across restarts and fleet nodes.
final class RevocationListCacheTests: XCTestCase {
    var directory: URL!
    var authority: IssuingAuthority!
    var records: InMemoryCertificateRecords!
    var signer: CountingCRLSigner!
    var clock: TestClock!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(self)
        _ = try CAStore.initialise(directory: directory, subject: CAStoreTests.caSubject)
        authority = try CAStore.load(directory: directory)
        records = InMemoryCertificateRecords(crlNumber: 41)
        signer = CountingCRLSigner(authority)
        clock = TestClock()
    }

    func makeCache(validity: TimeInterval = 86_400) throws -> RevocationListCache {
        let clock: TestClock = self.clock
        return try RevocationListCache(
            signer: signer, source: records, configuration: .init(validity: validity),
            now: { clock.now })
    }

    /// Reading the CRL, however often, signs nothing; a committed revocation is on the next CRL at once.
    func testReadsSignNothingAndARevocationIsListedRightAfterItsCommit() throws {
        let cache = try makeCache()
        XCTAssertEqual(signer.count, 1, "the first CRL is signed when the cache starts")
        for _ in 0..<1000 { _ = cache.current.der }
        XCTAssertEqual(signer.count, 1)
        XCTAssertEqual(cache.current.number, 42)

        let serial = "0B" + String(repeating: "A1", count: 15)
        records.set(.revoked(at: clock.now, reason: .keyCompromise), serialHex: serial)
        let started = Date()
        let published = try cache.revocationCommitted()
        XCTAssertLessThan(Date().timeIntervalSince(started), 1, "listed within a second of the commit")
        XCTAssertEqual(signer.count, 2)
        XCTAssertEqual(published.number, 43)
        let entry = try XCTUnwrap(cache.current.issued.crl.entry(forSerial: try Self.bytes(serial)))
        XCTAssertEqual(entry.reason, .keyCompromise)
        for _ in 0..<1000 { _ = cache.current.pem }
        XCTAssertEqual(signer.count, 2)

        // What a relying party sees: OpenSSL reads the same CRL with its number and reason.
        let openssl = OpenSSLCommandLine(directory: directory)
        try openssl.write(cache.current.pem, to: "cached.crl")
        let text = try openssl.run([
            "crl", "-in", "cached.crl", "-noout", "-text", "-CAfile",
            CAStore.certificateFileName,
        ])
        XCTAssertEqual(text.status, 0, text.combined)
        XCTAssertTrue(text.combined.contains("verify OK"), text.combined)
        XCTAssertTrue(
            text.output.range(of: #"X509v3 CRL Number:\s+43"#, options: .regularExpression) != nil,
            text.output)
        XCTAssertTrue(text.output.contains("Serial Number: \(serial)"), text.output)
    }

    /// Abandoned intents are listed as revoked, exactly as the OCSP responder answers them.
    func testAbandonedIntentsAreListed() throws {
        let serial = "0C" + String(repeating: "B2", count: 15)
        records.set(.abandoned(revokedAt: clock.now, reason: .cessationOfOperation), serialHex: serial)
        records.set(.issued, serialHex: "0D" + String(repeating: "C3", count: 15))
        let cache = try makeCache()
        XCTAssertEqual(cache.current.issued.crl.entries.count, 1)
        XCTAssertEqual(cache.current.issued.crl.entry(forSerial: try Self.bytes(serial))?.reason, .cessationOfOperation)
    }

    func testSignsAgainAtHalfItsValidityOnly() throws {
        let cache = try makeCache(validity: 3600)
        clock.advance(1799)
        XCTAssertFalse(cache.refreshIfDue())
        XCTAssertEqual(signer.count, 1)
        clock.advance(1)
        XCTAssertTrue(cache.refreshIfDue())
        XCTAssertEqual(signer.count, 2)
        XCTAssertFalse(cache.refreshIfDue())
        XCTAssertEqual(cache.current.thisUpdate.timeIntervalSince(clock.now), 0, accuracy: 1)
        XCTAssertEqual(cache.current.nextUpdate.timeIntervalSince(cache.current.thisUpdate), 3600)
        XCTAssertEqual(cache.current.issued.crl.nextUpdate, cache.current.nextUpdate)
    }

    /// A restart (a new cache) and a second node on the same counter keep numbers increasing; a counter that goes
    /// back is refused and the old CRL stays.
    func testNumbersAreMonotonicAcrossRestartsAndNodes() throws {
        let first = try makeCache()
        let second = try makeCache()
        var numbers = [first.current.number, second.current.number]
        for cache in [first, second, first, second] { numbers.append(try cache.revocationCommitted().number) }
        XCTAssertEqual(numbers, Array(42...47))

        let clock: TestClock = self.clock
        let rewound = InMemoryCertificateRecords(crlNumber: 0)
        let guarded = try RevocationListCache(
            signer: signer, source: SwitchingSource([records, rewound]),
            now: { clock.now })
        XCTAssertEqual(guarded.current.number, 48)
        XCTAssertThrowsError(try guarded.revocationCommitted()) {
            guard case .invalidCRLParameters = $0 as? CertificateAuthorityError else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(guarded.statistics.refusedNumbers, 1)
        XCTAssertEqual(guarded.current.number, 48, "the last good CRL is still served")
    }

    /// Attack and load: a burst of concurrent revocations shares signatures, and every caller's revocation is on
    /// the CRL its call returns.
    func testConcurrentRevocationsShareSignaturesAndAreAllListed() throws {
        let cache = try makeCache()
        let serials = (0..<32).map { String(format: "%02X", 0x10 + $0) + String(repeating: "EE", count: 15) }
        let missing = Mutex<[String]>([])
        let records: InMemoryCertificateRecords = self.records
        let at = clock.now
        DispatchQueue.concurrentPerform(iterations: serials.count) { index in
            records.set(.revoked(at: at, reason: .superseded), serialHex: serials[index])
            guard let published = try? cache.revocationCommitted(),
                let serial = try? Self.bytes(serials[index]),
                published.issued.crl.entry(forSerial: serial) != nil
            else { return missing.withLock { $0.append(serials[index]) } }
        }
        XCTAssertEqual(missing.withLock { $0 }, [])
        XCTAssertEqual(cache.current.issued.crl.entries.count, 32)
        XCTAssertLessThanOrEqual(signer.count, 33)
        XCTAssertGreaterThanOrEqual(signer.count, 2)
    }

    func testSourceOutageKeepsTheLastCRLAndReportsIt() throws {
        let cache = try makeCache()
        let before = cache.current.number
        records.isAvailable = false
        XCTAssertThrowsError(try cache.revocationCommitted())
        guard case .statusSourceUnavailable = cache.lastError else {
            return XCTFail("\(String(describing: cache.lastError))")
        }
        XCTAssertEqual(cache.current.number, before)
        records.isAvailable = true
        XCTAssertEqual(try cache.revocationCommitted().number, before + 1)
        XCTAssertNil(cache.lastError)
    }

    static func bytes(_ hex: String) throws -> [UInt8] {
        try IssuanceIntent(serialHex: hex, notBefore: Date(), notAfter: Date()).serialNumber
    }
}

/// Wraps the CA's CRL signing and counts every signature.
final class CountingCRLSigner: CRLSigning, Sendable {
    private let authority: IssuingAuthority
    private let signatures = Mutex(0)

    init(_ authority: IssuingAuthority) { self.authority = authority }

    var count: Int { signatures.withLock { $0 } }

    func makeCRL(
        revoked: [Revocation], crlNumber: Int, thisUpdate: Date, nextUpdate: Date
    )
        throws(CertificateAuthorityError) -> IssuedCRL
    {
        signatures.withLock { $0 += 1 }
        return try authority.makeCRL(
            revoked: revoked, crlNumber: crlNumber, thisUpdate: thisUpdate,
            nextUpdate: nextUpdate)
    }
}

/// Answers from each source in turn (the second answer from the second source): a database swapped under a node.
final class SwitchingSource: RevocationListSource, Sendable {
    private let sources: [InMemoryCertificateRecords]
    private let calls = Mutex(0)

    init(_ sources: [InMemoryCertificateRecords]) { self.sources = sources }

    func nextCRLContents() throws(CertificateAuthorityError) -> CRLContents {
        let index = calls.withLock { count -> Int in
            defer { count += 1 }
            return min(count, sources.count - 1)
        }
        return try sources[index].nextCRLContents()
    }
}
