import CertificateAuthority
import Foundation
import OpenSSLKit
import Store

/// `enroll-bench issue`: durable certificate issuances per second — CSR check, intent recorded,
/// signing, certificate committed (two SQLite transactions with synchronous=FULL, as enrollment
/// does) — beside raw OpenSSL ECDSA P-256 signatures per second measured in the same run.
func runIssueBench(arguments: [String]) {
    var seconds = 5.0
    var json = false
    var index = 0
    while index < arguments.count {
        switch arguments[index] {
        case "--seconds":
            guard index + 1 < arguments.count, let value = Double(arguments[index + 1]), value > 0 else {
                benchFail("--seconds needs a number")
            }
            seconds = value
            index += 1
        case "--json": json = true
        default: benchFail("unknown option '\(arguments[index])' for issue")
        }
        index += 1
    }
    let work = NSTemporaryDirectory() + "enroll-bench-issue-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: work) }
    do {
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        _ = try CAStore.initialise(directory: URL(fileURLWithPath: work + "/ca"), algorithm: .p256,
                                   subject: DistinguishedName(country: "UT", commonName: "bench CA"))
        let authority = try CAStore.load(directory: URL(fileURLWithPath: work + "/ca"))
        let protector = try DataProtector(stateDirectory: work)
        let store = try SQLiteStore(path: work + "/bench.db", protector: protector)
        try store.migrate()
        let account = AccountRecord(tier: .signing, identityKey: try protector.identityKey(issuingState: "UTO", identityNumber: "1"),
                                    sealedPersonalData: try protector.seal(Array("{}".utf8), context: "bench"))
        try store.transaction { tx in try tx.insertAccount(account) }

        // CSRs are made by holders' devices: prepare them outside the timed loop.
        var csrs: [[UInt8]] = []
        for _ in 0..<64 {
            let key = try PrivateKey.generate(.p256)
            csrs.append(Array(try CertificateSigningRequest.create(subject: DistinguishedName(country: "UT", commonName: "x"),
                                                                    key: key).pem.utf8))
        }
        let limit = Date().addingTimeInterval(5 * 365 * 86_400)
        var issued = 0
        var phases = [Double](repeating: 0, count: 4)  // CSR check, intent commit, signing, final commit
        let start = DispatchTime.now()
        while milliseconds(since: start) < seconds * 1000 {
            let csr = csrs[issued % csrs.count]
            var mark = DispatchTime.now()
            func lap(_ phase: Int) {
                phases[phase] += milliseconds(since: mark)
                mark = DispatchTime.now()
            }
            let accepted = try authority.checkRequest(csr)
            let intent = try authority.prepareIssuance(notAfterLimit: limit)
            lap(0)
            var record = CertificateRecord(serial: intent.serialHex, accountID: account.id, state: .intent,
                                           notBefore: intent.notBefore, notAfter: intent.notAfter)
            let pending = record
            try store.transaction { tx in try tx.insertCertificate(pending) }
            lap(1)
            let certificate = try authority.issue(intent: intent, csr: accepted,
                                                  holder: CertificateHolder(name: "BENCH HOLDER", pseudonym: "ACCT-1",
                                                                            issuingState: "UTO"))
            lap(2)
            record.state = .issued
            record.der = certificate.der
            let done = record
            try store.transaction { tx in try tx.updateCertificate(done) }
            lap(3)
            issued += 1
        }
        let issuanceRate = Double(issued) / (milliseconds(since: start) / 1000)

        let key = try PrivateKey.generate(.p256)
        let message = [UInt8](repeating: 0x42, count: 64)
        var signatures = 0
        let signStart = DispatchTime.now()
        while milliseconds(since: signStart) < seconds * 1000 {
            _ = try key.sign(message, scheme: .ecdsa(.sha256))
            signatures += 1
        }
        let signatureRate = Double(signatures) / (milliseconds(since: signStart) / 1000)
        if json {
            print(#"{"issue":{"issuancesPerSecond":\#(Int(issuanceRate)),"ecdsaP256SignaturesPerSecond":\#(Int(signatureRate)),"#
                  + #""issued":\#(issued),"seconds":\#(seconds),"store":"sqlite synchronous=FULL"}}"#)
        } else {
            print("enroll-bench issue: CSR check + intent commit + P-256 signing + certificate commit (SQLite, synchronous=FULL)")
            print(String(format: "  durable issuances: %8.0f /s (%d in %.1f s)", issuanceRate, issued, seconds))
            print(String(format: "  raw ECDSA P-256:   %8.0f signatures/s (OpenSSL, same run)", signatureRate))
            let names = ["CSR check", "intent commit", "signing", "certificate commit"]
            for (name, total) in zip(names, phases) {
                print(String(format: "    %-18@ %7.3f ms per issuance", name, total / Double(max(issued, 1))))
            }
        }
    } catch {
        benchFail("issue bench failed: \(error)")
    }
}
