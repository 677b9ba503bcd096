import Enrollment
import Foundation
import MRTD

/// Proves chips genuine against the CSCA trust store (passive authentication, ICAO 9303-11 §5.1).
/// The trust store can be reloaded while the daemon runs (SIGHUP, admin API).
public final class AuthenticityChecker: @unchecked Sendable {
    private let lock = NSLock()
    private var trustStore: TrustStore
    public let directory: String

    /// Loads the trust store; a missing or unreadable folder gives an empty store (and a warning):
    /// no document can then be proven genuine.
    public init(directory: String) {
        self.directory = directory
        trustStore = AuthenticityChecker.load(directory)
    }

    private static func load(_ directory: String) -> TrustStore {
        do {
            let store = try TrustStore.load(directory: directory)
            Log.info("trust store \(directory): \(store.cscaCertificates.count) CSCA certificate(s), \(store.crls.count) CRL(s)")
            for skipped in store.report.skippedFiles {
                Log.warning("trust store: skipped \(skipped.file): \(skipped.reason)")
            }
            return store
        } catch {
            Log.warning("trust store \(directory) not loaded: \(error); no document can be proven genuine")
            return TrustStore(certificates: [])
        }
    }

    /// Re-reads the folder. Returns the number of CSCA certificates now trusted.
    @discardableResult
    public func reload() -> Int {
        let fresh = AuthenticityChecker.load(directory)
        lock.withLock { trustStore = fresh }
        return fresh.cscaCertificates.count
    }

    public var cscaCount: Int { lock.withLock { trustStore.cscaCertificates.count } }

    /// Passive authentication of the files read, as a verdict with a check per step.
    public func verify(files: [FileID: [UInt8]]) -> AuthenticityVerdict {
        let store = lock.withLock { trustStore }
        guard let sod = files[.sod] else {
            return AuthenticityVerdict(genuine: false,
                                       checks: [.init(name: "passive-authentication", outcome: "failed",
                                                      reason: "the chip has no EF.SOD")],
                                       reasons: ["the chip has no EF.SOD to prove its data"])
        }
        var groups: [DataGroup: [UInt8]] = [:]
        for (file, bytes) in files {
            if let group = DataGroup(fileID: file) { groups[group] = bytes }
        }
        let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: groups, trustStore: store)
        var checks: [AuthenticityVerdict.Check] = result.checks.map {
            .init(name: $0.name, outcome: Self.outcome($0.check.status), reason: $0.check.reason)
        }
        checks.insert(.init(name: "passive-authentication", outcome: result.passed ? "passed" : "failed",
                            reason: result.passed ? "EF.SOD signed by a trusted document signer; data group hashes match"
                                : result.failures.joined(separator: "; ")), at: 0)
        return AuthenticityVerdict(genuine: result.passed, checks: checks, reasons: result.failures)
    }

    static func outcome(_ status: PassiveAuthenticationCheck.Status) -> String {
        switch status {
        case .pass: return "passed"
        case .fail: return "failed"
        case .notChecked: return "not-checked"
        }
    }
}
