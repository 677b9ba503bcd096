import EnrollAPIModel
import Enrollment
import Foundation
import MRTD

/// Proves chips genuine against the CSCA trust store (passive authentication, ICAO 9303-11 §5.1) and, with
/// `policy`, the anti-clone protocols (§6). The trust store can be reloaded while the daemon runs (SIGHUP,
/// admin API).
public final class AuthenticityChecker: @unchecked Sendable {
    private let lock = NSLock()
    private var trustStore: TrustStore
    public let directory: String
    public let policy: AuthenticityPolicy

    /// Loads the trust store; a missing or unreadable folder gives an empty store (and a warning):
    /// no document can then be proven genuine.
    public init(directory: String, policy: AuthenticityPolicy = AuthenticityPolicy()) {
        self.directory = directory
        self.policy = policy
        trustStore = AuthenticityChecker.load(directory)
    }

    /// The trust store as loaded now.
    public var currentTrustStore: TrustStore { lock.withLock { trustStore } }

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

    /// Passive authentication of the files read, as a verdict with a check per step (no anti-clone record:
    /// those checks are `not-checked`).
    public func verify(files: [FileID: [UInt8]]) -> AuthenticityVerdict {
        verify(files: files, read: nil)
    }

    /// The verdict for a read under `policy`: access control, passive authentication, chip and active
    /// authentication as `DocumentReader` recorded them.
    public func verify(read: DocumentReadResult) -> AuthenticityVerdict {
        verify(files: read.files, read: read)
    }

    private func verify(files: [FileID: [UInt8]], read: DocumentReadResult?) -> AuthenticityVerdict {
        let store = lock.withLock { trustStore }
        guard let sod = files[.sod] else {
            return policy.verdict(passive: nil, passiveFailure: nil, read: read)
        }
        var groups: [DataGroup: [UInt8]] = [:]
        for (file, bytes) in files {
            if let group = DataGroup(fileID: file) { groups[group] = bytes }
        }
        let result = PassiveAuthentication.verify(sodFile: sod, dataGroups: groups, trustStore: store)
        return policy.verdict(passive: result, passiveFailure: nil, read: read)
    }

    static func outcome(_ status: PassiveAuthenticationCheck.Status) -> String {
        switch status {
        case .pass: return "passed"
        case .fail: return "failed"
        case .notChecked: return "not-checked"
        }
    }
}
