import CertificateAuthority
import Foundation
import OpenSSLKit
import PostgresStore
import PostgresTestCluster
import Store

/// `enroll-bench issue`: durable certificate issuances per second — CSR check, intent recorded,
/// signing, certificate committed (two transactions, as enrollment does) — on SQLite (synchronous=FULL) and on
/// PostgreSQL (a private cluster with fsync on, or `--conninfo`), beside raw OpenSSL ECDSA P-256 signatures per
/// second measured in the same run.
///
/// `--renew B`: bulk re-issuance instead (a territory renewing its holders' certificates under the current CA, for
/// the public keys they registered): each thread records the intents of B serials in one transaction, signs the B
/// certificates, and stores them in one more; no CSR to check (possession was proven at enrollment).
func runIssueBench(arguments: [String]) {
    var seconds = 5.0
    var json = false
    var backends = ["sqlite", "postgresql"]
    var conninfo: String?
    var threads = 1
    var batch = 64
    var renewal: Int?
    var pipeline = false
    var index = 0
    func value(_ option: String) -> String {
        guard index + 1 < arguments.count else { benchFail("\(option) needs a value") }
        index += 1
        return arguments[index]
    }
    while index < arguments.count {
        switch arguments[index] {
        case "--seconds":
            guard let number = Double(value("--seconds")), number > 0 else { benchFail("--seconds needs a number") }
            seconds = number
        case "--store":
            let store = value("--store")
            guard ["sqlite", "postgresql", "both"].contains(store) else {
                benchFail("--store is sqlite, postgresql or both")
            }
            backends = store == "both" ? ["sqlite", "postgresql"] : [store]
        case "--conninfo": conninfo = value("--conninfo")
        case "--threads":
            threads = benchInteger(value("--threads"), "--threads", 1...64)
        case "--batch":
            batch = benchInteger(value("--batch"), "--batch", 1...256)
        case "--renew":
            renewal = benchInteger(value("--renew"), "--renew", 1...4096)
        case "--pipeline": pipeline = true
        case "--json": json = true
        default: benchFail("unknown option '\(arguments[index])' for issue")
        }
        index += 1
    }
    let work = NSTemporaryDirectory() + "enroll-bench-issue-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: work) }
    var cluster: PostgresTestCluster?
    defer { cluster?.stop() }
    do {
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        _ = try CAStore.initialise(
            directory: URL(fileURLWithPath: work + "/ca"), algorithm: .p256,
            subject: DistinguishedName(country: "UT", commonName: "bench CA"))
        let authority = try CAStore.load(directory: URL(fileURLWithPath: work + "/ca"))
        let protector = try DataProtector(stateDirectory: work)
        // CSRs are made by holders' devices: prepare them outside the timed loop.
        var csrs: [[UInt8]] = []
        for _ in 0..<64 {
            let key = try PrivateKey.generate(.p256)
            csrs.append(
                Array(
                    try CertificateSigningRequest.create(
                        subject: DistinguishedName(country: "UT", commonName: "x"),
                        key: key
                    ).pem.utf8))
        }
        var results: [IssuanceRun] = []
        for backend in backends {
            let store: any Store
            let label: String
            if backend == "sqlite" {
                store = try SQLiteStore(path: work + "/bench.db", protector: protector)
                label = "SQLite, synchronous=FULL"
            } else {
                if conninfo == nil {
                    let started = try PostgresTestCluster(durable: true)
                    cluster = started
                    conninfo = started.conninfo
                }
                store = try PostgresStore(
                    settings: PostgresSettings(conninfo: conninfo ?? "", poolSize: threads),
                    protector: protector)
                label =
                    cluster == nil
                    ? "PostgreSQL, \(store.location)"
                    : "PostgreSQL 15, private cluster on a Unix socket, fsync on, SERIALIZABLE"
            }
            try store.migrate()
            if let renewal {
                results.append(
                    try measureRenewal(
                        store: store, backend: backend, label: label, authority: authority,
                        protector: protector, csrs: csrs, seconds: seconds, threads: threads,
                        batch: batch, perIntentCommit: renewal, pipeline: pipeline))
                continue
            }
            results.append(
                try measureIssuance(
                    store: store, backend: backend, label: label, authority: authority,
                    protector: protector, csrs: csrs, seconds: seconds, threads: threads,
                    batch: batch, pipeline: pipeline))
        }

        // Raw signing on as many threads as the issuances ran on, one key each (the CA signs with one key: OpenSSL's
        // EVP_PKEY is safe to share for signing, but a key per thread keeps this an upper bound).
        let message = [UInt8](repeating: 0x42, count: 64)
        let signed = IssuanceTally()
        let signStart = DispatchTime.now()
        let duration = seconds
        onThreads(threads) { _ in
            var signatures = 0
            do {
                let key = try PrivateKey.generate(.p256)
                while milliseconds(since: signStart) < duration * 1000 {
                    _ = try key.sign(message, scheme: .ecdsa(.sha256))
                    signatures += 1
                }
            } catch {
                signed.fail(error)
            }
            signed.add(signatures, [0, 0, 0, 0])
        }
        if let failure = signed.failure { throw failure }
        let signatureRate = Double(signed.issued) / (milliseconds(since: signStart) / 1000)
        if json {
            let stores = results.map { run in
                #""\#(run.backend)":{"issuancesPerSecond":\#(Int(run.rate)),"issued":\#(run.issued),"store":"\#(run.label)"}"#
            }
            print(
                #"{"issue":{\#(stores.joined(separator: ",")),"ecdsaP256SignaturesPerSecond":\#(Int(signatureRate)),"#
                    + #""seconds":\#(seconds),"threads":\#(threads),"groupCommitBatch":\#(batch),"#
                    + #""renewalBatch":\#(renewal ?? 0)}}"#)
        } else {
            print(
                renewal.map {
                    "enroll-bench issue --renew \($0): bulk re-issuance for registered keys, \($0) intents per "
                        + "commit + P-256 signing + \($0) certificates per commit, "
                }
                    ?? "enroll-bench issue: CSR check + intent commit + P-256 signing + certificate commit, ",
                terminator: "")
            print("\(threads) thread(s), group commit of up to \(batch)")
            for run in results {
                let name = run.backend.padding(toLength: 10, withPad: " ", startingAt: 0)
                print(
                    String(
                        format: "  %@ durable issuances: %8.0f /s (%d in %.1f s; %@)", name, run.rate, run.issued,
                        seconds, run.label))
                let phases = [
                    renewal == nil ? "CSR check" : "intent records", "intent commit", "signing",
                    "certificate commit",
                ]
                for (phase, total) in zip(phases, run.phases) {
                    print(
                        String(
                            format: "      %@ %7.3f ms per issuance",
                            phase.padding(toLength: 18, withPad: " ", startingAt: 0),
                            total / Double(max(run.issued, 1))))
                }
            }
            print(
                String(
                    format: "  raw ECDSA P-256:   %8.0f signatures/s (OpenSSL, same run, %d thread(s))",
                    signatureRate, threads))
        }
    } catch {
        benchFail("issue bench failed: \(error)")
    }
}

/// One store's figures.
struct IssuanceRun {
    var backend: String
    var label: String
    var rate: Double
    var issued: Int
    /// Milliseconds spent in CSR check, intent commit, signing, final commit.
    var phases: [Double]
}

private func measureIssuance(
    store: any Store, backend: String, label: String, authority: IssuingAuthority,
    protector: DataProtector, csrs: [[UInt8]], seconds: Double,
    threads: Int, batch: Int, pipeline: Bool
) throws -> IssuanceRun {
    // As EnrollmentService completes: concurrent issuances share their intent commit and their certificate commit
    // (`GroupCommit`; --batch 1 commits each alone). --pipeline: one group commit for both, so one transaction holds
    // some issuances' certificates and others' intents.
    let intents = GroupCommit(store: store, maximumBatch: batch)
    let certificates = pipeline ? intents : GroupCommit(store: store, maximumBatch: batch)
    let account = AccountRecord(
        tier: .signing, identityKey: try protector.identityKey(issuingState: "UTO", kind: .documentNumber, number: "1"),
        sealedPersonalData: try protector.seal(Array("{}".utf8), context: "bench"))
    try store.transaction { tx in try tx.insertAccount(account) }
    let limit = Date().addingTimeInterval(5 * 365 * 86_400)
    let tally = IssuanceTally()
    let start = DispatchTime.now()
    onThreads(threads) { worker in
        var issued = 0
        var phases = [Double](repeating: 0, count: 4)
        do {
            while milliseconds(since: start) < seconds * 1000 {
                let csr = csrs[(issued * threads + worker) % csrs.count]
                var mark = DispatchTime.now()
                func lap(_ phase: Int) {
                    phases[phase] += milliseconds(since: mark)
                    mark = DispatchTime.now()
                }
                let accepted = try authority.checkRequest(csr)
                let intent = try authority.prepareIssuance(notAfterLimit: limit)
                lap(0)
                var record = CertificateRecord(
                    serial: intent.serialHex, accountID: account.id, state: .intent,
                    notBefore: intent.notBefore, notAfter: intent.notAfter)
                let pending = record
                try intents.transaction { tx in try tx.insertCertificate(pending) }
                lap(1)
                let certificate = try authority.issue(
                    intent: intent, csr: accepted,
                    holder: CertificateHolder(
                        name: "BENCH HOLDER", pseudonym: "ACCT-1",
                        issuingState: "UTO"))
                lap(2)
                record.state = .issued
                record.der = certificate.der
                let done = record
                try certificates.transaction { tx in try tx.updateCertificate(done) }
                lap(3)
                issued += 1
            }
        } catch {
            tally.fail(error)
        }
        tally.add(issued, phases)
    }
    if let failure = tally.failure { throw failure }
    let (intentBatches, certificateBatches) = (intents.statistics, certificates.statistics)
    FileHandle.standardError.write(
        Data(
            String(
                format: pipeline
                    ? "enroll-bench issue: %@: %.1f bodies per commit (intents and certificates share one)\n"
                    : "enroll-bench issue: %@: %.1f intents and %.1f certificates per commit\n", backend,
                Double(intentBatches.bodies) / Double(max(intentBatches.batches, 1)),
                Double(certificateBatches.bodies) / Double(max(certificateBatches.batches, 1))
            ).utf8))
    return IssuanceRun(
        backend: backend, label: label, rate: Double(tally.issued) / (milliseconds(since: start) / 1000),
        issued: tally.issued, phases: tally.phases)
}

/// Bulk re-issuance: each thread takes `perIntentCommit` registered keys at a time, records their intents in one
/// transaction, signs them all, and stores the certificates in one transaction (both group committed with the other
/// threads' batches). A crash between the two leaves committed intents that recovery abandons and revokes.
private func measureRenewal(
    store: any Store, backend: String, label: String, authority: IssuingAuthority,
    protector: DataProtector, csrs: [[UInt8]], seconds: Double,
    threads: Int, batch: Int, perIntentCommit: Int, pipeline: Bool
) throws -> IssuanceRun {
    let intents = GroupCommit(store: store, maximumBatch: batch)
    let certificates = pipeline ? intents : GroupCommit(store: store, maximumBatch: batch)
    let account = AccountRecord(
        tier: .signing, identityKey: try protector.identityKey(issuingState: "UTO", kind: .documentNumber, number: "1"),
        sealedPersonalData: try protector.seal(Array("{}".utf8), context: "bench"))
    try store.transaction { tx in try tx.insertAccount(account) }
    // The registered keys, as a renewal reads them: parsed once, outside the timed loop.
    let keys = try csrs.map { try authority.checkRequest($0).publicKey.derEncoded() }
    let holder = CertificateHolder(name: "BENCH HOLDER", pseudonym: "ACCT-1", issuingState: "UTO")
    let limit = Date().addingTimeInterval(5 * 365 * 86_400)
    let tally = IssuanceTally()
    let start = DispatchTime.now()
    onThreads(threads) { worker in
        var issued = 0
        var phases = [Double](repeating: 0, count: 4)
        do {
            while milliseconds(since: start) < seconds * 1000 {
                var mark = DispatchTime.now()
                func lap(_ phase: Int) {
                    phases[phase] += milliseconds(since: mark)
                    mark = DispatchTime.now()
                }
                var plans: [IssuanceIntent] = []
                var records: [CertificateRecord] = []
                for _ in 0..<perIntentCommit {
                    let intent = try authority.prepareIssuance(notAfterLimit: limit)
                    plans.append(intent)
                    records.append(
                        CertificateRecord(
                            serial: intent.serialHex, accountID: account.id, state: .intent,
                            notBefore: intent.notBefore, notAfter: intent.notAfter))
                }
                lap(0)
                let pending = records
                try intents.transaction { tx in try tx.insertCertificates(pending) }
                lap(1)
                for (offset, intent) in plans.enumerated() {
                    let key = keys[(issued + offset + worker) % keys.count]
                    records[offset].state = .issued
                    records[offset].der = try authority.certificateDER(
                        intent: intent, publicKeyInfo: key, holder: holder)
                }
                lap(2)
                let done = records
                try certificates.transaction { tx in try tx.updateCertificates(done) }
                lap(3)
                issued += perIntentCommit
            }
        } catch {
            tally.fail(error)
        }
        tally.add(issued, phases)
    }
    if let failure = tally.failure { throw failure }
    let (intentBatches, certificateBatches) = (intents.statistics, certificates.statistics)
    FileHandle.standardError.write(
        Data(
            String(
                format: pipeline
                    ? "enroll-bench issue: %@: %.1f records per commit (intents and certificates share one)\n"
                    : "enroll-bench issue: %@: %.1f intents and %.1f certificates per commit\n", backend,
                Double(intentBatches.bodies * perIntentCommit) / Double(max(intentBatches.batches, 1)),
                Double(certificateBatches.bodies * perIntentCommit) / Double(max(certificateBatches.batches, 1))
            ).utf8))
    return IssuanceRun(
        backend: backend, label: label, rate: Double(tally.issued) / (milliseconds(since: start) / 1000),
        issued: tally.issued, phases: tally.phases)
}

/// Counts from the bench's threads.
private final class IssuanceTally: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var issued = 0
    private(set) var phases = [Double](repeating: 0, count: 4)
    private(set) var failure: (any Error)?

    func add(_ count: Int, _ times: [Double]) {
        lock.withLock {
            issued += count
            phases = zip(phases, times).map { $0 + $1 }
        }
    }

    func fail(_ error: any Error) { lock.withLock { failure = failure ?? error } }
}

/// Runs `body` on `count` threads of its own at once and waits for them all. (`concurrentPerform` would run at
/// most one per core at a time: 8 "threads" on this 2-core machine would be 2, and never share a commit.)
private func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}
