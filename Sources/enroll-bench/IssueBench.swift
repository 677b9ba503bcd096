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
func runIssueBench(arguments: [String]) {
    var seconds = 5.0
    var json = false
    var backends = ["sqlite", "postgresql"]
    var conninfo: String?
    var threads = 1
    var batch = 64
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
            results.append(
                try measureIssuance(
                    store: store, backend: backend, label: label, authority: authority,
                    protector: protector, csrs: csrs, seconds: seconds, threads: threads,
                    batch: batch))
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
                    + #""seconds":\#(seconds),"threads":\#(threads),"groupCommitBatch":\#(batch)}}"#)
        } else {
            print(
                "enroll-bench issue: CSR check + intent commit + P-256 signing + certificate commit, "
                    + "\(threads) thread(s), group commit of up to \(batch)")
            for run in results {
                let name = run.backend.padding(toLength: 10, withPad: " ", startingAt: 0)
                print(
                    String(
                        format: "  %@ durable issuances: %8.0f /s (%d in %.1f s; %@)", name, run.rate, run.issued,
                        seconds, run.label))
                let phases = ["CSR check", "intent commit", "signing", "certificate commit"]
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
    threads: Int, batch: Int
) throws -> IssuanceRun {
    // As EnrollmentService completes: concurrent issuances share their intent commit and their certificate commit
    // (`GroupCommit`; --batch 1 commits each alone).
    let intents = GroupCommit(store: store, maximumBatch: batch)
    let certificates = GroupCommit(store: store, maximumBatch: batch)
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
                format: "enroll-bench issue: %@: %.1f intents and %.1f certificates per commit\n", backend,
                Double(intentBatches.bodies) / Double(max(intentBatches.batches, 1)),
                Double(certificateBatches.bodies) / Double(max(certificateBatches.batches, 1))
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
