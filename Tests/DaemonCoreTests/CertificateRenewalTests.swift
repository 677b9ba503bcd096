import CertificateAuthority
import DaemonCore
import EnrollAPIModel
import Foundation
import OpenSSLKit
import Store
import Synchronization
import UnixHTTP
import XCTest

/// Bulk renewal (`POST /v1/certificates/renewals`): active certificates' keys re-certified under the current CA
/// key, for the same subjects and accounts; the old certificates stay valid; nothing is renewed twice.
final class CertificateRenewalTests: XCTestCase {
    private let iso = ISO8601DateFormatter()

    func testRenewingWhatWasIssuedBeforeATimeGivesNewSerialsForTheSameSubjectsKeysAndAccounts() throws {
        let bench = try InProcessDaemon()
        let holders = try ["John_Salley", "John_Savage", "John_Simm", "John_Shimkus"].map {
            try bench.newAccount($0).outcome
        }
        let revoked = holders[2]
        // A document reported lost: its certificate stays issued, but the identity is not renewed.
        let invalidated = holders[3]
        try bench.setStatus(invalidated.accountID, "invalid")
        try bench.require(
            bench.call(
                "POST", "/v1/certificates/\(try XCTUnwrap(revoked.certificateSerial))/revoke",
                json: ["reason": "key-compromise"], as: .operator), 200)
        bench.clock.advance(60)
        let cutoff = iso.string(from: bench.clock.now)

        let outcome = try renew(bench, RenewalRequest(issuedBefore: cutoff))
        XCTAssertEqual(outcome.renewed, 2, "the two active certificates; the revoked one is not renewed")
        XCTAssertEqual(outcome.scanned, 3)
        XCTAssertNil(outcome.next, "the selection is done")
        XCTAssertEqual(outcome.skipped, ["account-not-normal": 1])
        XCTAssertEqual(
            Set(outcome.certificates.map(\.renews)), Set(holders[0...1].compactMap(\.certificateSerial)))

        let ca = try bench.caCertificate()
        let caFile = bench.directory.appendingPathComponent("ca/\(CAStore.certificateFileName)").path
        for holder in holders[0...1] {
            let old = try X509Certificate(pem: try XCTUnwrap(holder.certificatePEM))
            let renewal = try XCTUnwrap(outcome.certificates.first { $0.renews == holder.certificateSerial })
            XCTAssertEqual(renewal.accountId, holder.accountID, "recorded under the same account")
            let listed = try certificates(bench, holder.accountID)
            XCTAssertEqual(listed.count, 2)
            XCTAssertEqual(
                listed.first { $0.serial == holder.certificateSerial }?.state, "issued",
                "the old certificate stays valid until it expires")
            let view = try XCTUnwrap(listed.first { $0.serial == renewal.serial })
            XCTAssertEqual(view.state, "issued")
            let new = try X509Certificate(pem: try XCTUnwrap(view.pem))
            XCTAssertNotEqual(new.serialNumber, old.serialNumber)
            XCTAssertTrue(new.isSigned(by: try ca.publicKey()), "chained to the CA")
            XCTAssertEqual(new.subjectNameDER, old.subjectNameDER, "the same subject")
            XCTAssertEqual(try new.publicKey().derEncoded(), try old.publicKey().derEncoded(), "the same key")
            XCTAssertGreaterThan(try XCTUnwrap(new.notBefore), try XCTUnwrap(old.notBefore))
            XCTAssertLessThanOrEqual(try XCTUnwrap(new.notAfter), try XCTUnwrap(old.notAfter))
            let file = bench.directory.appendingPathComponent("renewed-\(renewal.serial).pem")
            try Data(new.pem.utf8).write(to: file)
            let verified = try InProcessDaemon.run(
                "/usr/bin/openssl",
                [
                    "verify", "-attime", String(Int(bench.clock.now.timeIntervalSince1970)), "-CAfile", caFile,
                    file.path,
                ])
            XCTAssertTrue(verified.contains(": OK"), verified)
            let records = try bench.usage(holder.accountID).records.filter { $0.event == "certificate-renewed" }
            XCTAssertEqual(
                records.map(\.detail), ["\(renewal.serial) renews \(try XCTUnwrap(holder.certificateSerial))"])
            XCTAssertEqual(records.first?.actorRole, "admin")
        }
        XCTAssertEqual(try certificates(bench, revoked.accountID).count, 1, "nothing new for the revoked one")
        XCTAssertEqual(try certificates(bench, invalidated.accountID).count, 1, "nor for the invalid identity")

        // The same selection again renews nothing twice.
        let again = try renew(bench, RenewalRequest(issuedBefore: cutoff))
        XCTAssertEqual(again.renewed, 0)
        XCTAssertEqual(again.skipped, ["already-renewed": 2, "account-not-normal": 1])
    }

    func testAfterACARolloverEveryCertificateOfTheOldKeyIsRenewedOnceAcrossCalls() throws {
        let bench = try InProcessDaemon()
        let holders = try ["John_Salley", "John_Savage", "John_Simm"].map { try bench.newAccount($0).outcome }
        bench.daemon.stop()
        // The CA rolls over: a new key and certificate; the daemon restarts on the same store.
        let newCA = bench.directory.appendingPathComponent("ca-2")
        _ = try CAStore.initialise(directory: newCA, subject: DistinguishedName(country: "UT", commonName: "Test CA 2"))
        let state = bench.configuration.stateDirectory
        let restarted = try InProcessDaemon(
            extraConfiguration: "[ca]\ndirectory = \(newCA.path)", keysOf: state,
            openStore: { _, _ in
                let store = try SQLiteStore(
                    path: state + "/enrolld.db", protector: try DataProtector(stateDirectory: state))
                try store.migrate()
                return store
            })
        let newKey = try X509Certificate(
            pem: String(contentsOf: newCA.appendingPathComponent(CAStore.certificateFileName), encoding: .utf8)
        ).publicKey()

        // Two at a time: the walk continues where `next` left it.
        var renewed: [RenewedCertificate] = []
        var request = RenewalRequest(limit: 2)
        for _ in 0..<5 {
            let outcome = try renew(restarted, request)
            XCTAssertLessThanOrEqual(outcome.renewed, 2)
            renewed += outcome.certificates
            guard let next = outcome.next else { break }
            request = RenewalRequest(limit: 2, after: next)
        }
        XCTAssertEqual(renewed.count, 3)
        XCTAssertEqual(Set(renewed.map(\.renews)), Set(holders.compactMap(\.certificateSerial)), "each once")
        for renewal in renewed {
            let view = try XCTUnwrap(certificates(restarted, renewal.accountId).first { $0.serial == renewal.serial })
            let new = try X509Certificate(pem: try XCTUnwrap(view.pem))
            XCTAssertTrue(new.isSigned(by: newKey), "signed by the new CA key")
        }

        // A new run finds the old certificates renewed and the new ones under the current key.
        restarted.clock.advance(60)
        let again = try renew(restarted, RenewalRequest())
        XCTAssertEqual(again.renewed, 0)
        XCTAssertEqual(again.skipped, ["already-renewed": 3, "current-key": 3])
        XCTAssertNil(again.next)
    }

    func testOnlyAnAdminRenewsAndBadSelectionsAreRefused() throws {
        let bench = try InProcessDaemon()
        let (_, outcome) = try bench.newAccount("John_Salley")
        bench.clock.advance(60)
        let body = RenewalRequest(issuedBefore: iso.string(from: bench.clock.now))
        for caller in [InProcessDaemon.Caller.kiosk, .operator, .nobody] {
            let answer = try bench.call("POST", "/v1/certificates/renewals", json: body, as: caller)
            XCTAssertEqual(answer.status, 403, "\(caller): \(bench.problem(answer))")
        }
        XCTAssertEqual(try certificates(bench, outcome.accountID).count, 1, "nothing renewed")

        let refusals: [(RenewalRequest, String)] = [
            (RenewalRequest(limit: 0), "invalid-limit"),
            (RenewalRequest(limit: 10_001), "invalid-limit"),
            (RenewalRequest(issuedBefore: "yesterday"), "invalid-time"),
            (RenewalRequest(issuedBefore: iso.string(from: bench.clock.now.addingTimeInterval(3600))), "invalid-time"),
            (RenewalRequest(after: "k.1.0A.0B"), "invalid-after"),
            (RenewalRequest(after: "b.1.not-hex"), "invalid-after"),
            (RenewalRequest(issuedBefore: iso.string(from: bench.clock.now), after: "b.1"), "invalid-body"),
        ]
        for (request, code) in refusals {
            let answer = try bench.call("POST", "/v1/certificates/renewals", json: request, as: .admin)
            XCTAssertEqual(answer.status, 400, "\(request)")
            XCTAssertEqual(bench.problem(answer), code, "\(request)")
        }
        XCTAssertEqual(try certificates(bench, outcome.accountID).count, 1, "nothing renewed")
    }

    func testABatchWhoseCertificateCommitFailsIsAbandonedRevokedAndRenewedLater() throws {
        let gate = CertificateCommitGate()
        let bench = try InProcessDaemon(openStore: { configuration, protector in
            let store = try SQLiteStore(path: configuration.stateDirectory + "/enrolld.db", protector: protector)
            try store.migrate()
            gate.base = store
            return gate
        })
        let holders = try ["John_Salley", "John_Savage"].map { try bench.newAccount($0).outcome }
        bench.clock.advance(60)
        let body = RenewalRequest(issuedBefore: iso.string(from: bench.clock.now))

        gate.refuse(true)
        let failed = try bench.call("POST", "/v1/certificates/renewals", json: body, as: .admin)
        gate.refuse(false)
        XCTAssertEqual(failed.status, 500, bench.problem(failed))
        XCTAssertEqual(bench.problem(failed), "storage-error")
        let abandoned = try bench.store.transaction { tx in try tx.certificates(state: .abandoned) }
        XCTAssertEqual(abandoned.count, 2, "the whole batch is retired")
        XCTAssertTrue(abandoned.allSatisfy { $0.revokedAt != nil && $0.revocationReason == .cessationOfOperation })
        XCTAssertEqual(try bench.store.transaction { tx in try tx.certificates(state: .intent) }, [])
        let crl = try CertificateRevocationList(
            pem: String(decoding: try bench.require(bench.call("GET", "/v1/crl"), 200).body, as: UTF8.self))
        for record in abandoned {
            XCTAssertNotNil(
                crl.entry(forSerial: bytes(hex: record.serial)),
                "\(record.serial) may have been signed: it is on the CRL")
        }
        for holder in holders {
            XCTAssertEqual(try certificates(bench, holder.accountID).map(\.state), ["issued"])
        }

        // The next run renews them.
        let outcome = try renew(bench, body)
        XCTAssertEqual(outcome.renewed, 2)
        XCTAssertTrue(Set(outcome.certificates.map(\.serial)).isDisjoint(with: abandoned.map(\.serial)))
    }

    func testACertificateRevokedWhileItsBatchIsSignedGetsNoNewCertificate() throws {
        let gate = RevocationBeforeCertificateCommit()
        let bench = try InProcessDaemon(openStore: { configuration, protector in
            let store = try SQLiteStore(path: configuration.stateDirectory + "/enrolld.db", protector: protector)
            try store.migrate()
            gate.base = store
            return gate
        })
        let holders = try ["John_Salley", "John_Savage"].map { try bench.newAccount($0).outcome }
        bench.clock.advance(60)
        // An operator revokes the first holder's certificate (key compromise) after the batch's intents committed.
        let compromised = try XCTUnwrap(holders[0].certificateSerial)
        gate.target.withLock { $0 = compromised }

        let outcome = try renew(bench, RenewalRequest(issuedBefore: iso.string(from: bench.clock.now)))
        XCTAssertEqual(gate.target.withLock { $0 }, nil, "the revocation ran inside the certificate commit")
        XCTAssertEqual(outcome.certificates.map(\.renews), [try XCTUnwrap(holders[1].certificateSerial)])
        XCTAssertEqual(outcome.skipped, ["changed-meanwhile": 1])
        XCTAssertEqual(
            try certificates(bench, holders[0].accountID).filter { $0.state == "issued" }, [],
            "the compromised key is not certified again")
        let abandoned = try bench.store.transaction { tx in try tx.certificates(state: .abandoned) }
        XCTAssertEqual(abandoned.map(\.accountID), [try XCTUnwrap(UUID(uuidString: holders[0].accountID))])
        let withdrawn = try XCTUnwrap(abandoned.first)
        XCTAssertNotNil(withdrawn.revokedAt, "its serial was signed: it is revoked")
        let crl = try CertificateRevocationList(
            pem: String(decoding: try bench.require(bench.call("GET", "/v1/crl"), 200).body, as: UTF8.self))
        XCTAssertNotNil(crl.entry(forSerial: bytes(hex: withdrawn.serial)))
        XCTAssertNotNil(crl.entry(forSerial: bytes(hex: compromised)))
    }

    private func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap {
            UInt8(String(decoding: digits[$0...($0 + 1)], as: UTF8.self), radix: 16)
        }
    }

    private func renew(_ bench: InProcessDaemon, _ request: RenewalRequest) throws -> RenewalOutcome {
        try bench.decode(
            RenewalOutcome.self,
            try bench.require(bench.call("POST", "/v1/certificates/renewals", json: request, as: .admin), 200))
    }

    private func certificates(_ bench: InProcessDaemon, _ accountID: String) throws -> [CertificateView] {
        try bench.decode(
            [CertificateView].self,
            try bench.require(bench.call("GET", "/v1/accounts/\(accountID)/certificates", as: .operator), 200))
    }
}

/// A store whose transactions that add issued certificates roll back while `refuse(true)`: a renewal batch's
/// certificate commit fails after its intents committed (and nothing else is touched).
private final class CertificateCommitGate: Store, @unchecked Sendable {
    var base: (any Store)?
    private let refusing = Mutex(false)

    func refuse(_ on: Bool) { refusing.withLock { $0 = on } }

    func migrate() throws(StoreError) { try base?.migrate() }

    func transaction<T>(_ body: (any StoreTransaction) throws -> T) throws(StoreError) -> T {
        guard let base else { throw .schema("no store") }
        let refusing = self.refusing.withLock { $0 }
        return try base.transaction { tx in
            let before = refusing ? try tx.certificateStatuses(states: [.issued], revokedSince: nil, limit: nil) : []
            let result = try body(tx)
            if refusing,
                try tx.certificateStatuses(states: [.issued], revokedSince: nil, limit: nil).count > before.count
            {
                throw StoreError.database(code: 10, message: "disk I/O error (injected by the test)")
            }
            return result
        }
    }

    var location: String { base?.location ?? "" }
}

/// A store that, once `target` is set, revokes that certificate at the start of the first transaction that finds
/// committed intents (a renewal batch's certificate commit), as an operator's revocation committed just before it.
private final class RevocationBeforeCertificateCommit: Store, @unchecked Sendable {
    var base: (any Store)?
    let target = Mutex<String?>(nil)

    func migrate() throws(StoreError) { try base?.migrate() }

    func transaction<T>(_ body: (any StoreTransaction) throws -> T) throws(StoreError) -> T {
        guard let base else { throw .schema("no store") }
        return try base.transaction { tx in
            if let serial = target.withLock({ $0 }), try !tx.certificates(state: .intent).isEmpty,
                var record = try tx.certificate(serial: serial), record.state == .issued
            {
                record.state = .revoked
                record.revokedAt = Date()
                record.revocationReason = .keyCompromise
                try tx.updateCertificate(record)
                target.withLock { $0 = nil }
            }
            return try body(tx)
        }
    }

    var location: String { base?.location ?? "" }
}
