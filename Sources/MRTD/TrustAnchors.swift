import Foundation
import Synchronization

/// The trust store a running reader uses, reloadable while it runs, and the decision whether a read chip is
/// genuine: passive authentication against the store (ICAO 9303-11 §5.1) and the anti-clone record of the read
/// (§6), decided by `policy`.
public final class TrustAnchors: Sendable {
    public let directory: String
    public let policy: GenuinenessPolicy
    private let store: Mutex<TrustStore>

    /// Loads the folder; a missing or unreadable one gives an empty store (see `load`): no document can then be
    /// proven genuine.
    public init(directory: String, policy: GenuinenessPolicy = GenuinenessPolicy()) {
        self.directory = directory
        self.policy = policy
        store = Mutex(Self.load(directory).store)
    }

    /// The store in `directory`, or an empty one with the reason it could not be read.
    public static func load(_ directory: String) -> (store: TrustStore, failure: TrustStoreError?) {
        do {
            return (try TrustStore.load(directory: directory), nil)
        } catch {
            return (TrustStore(certificates: []), error)
        }
    }

    /// The store as loaded now.
    public var current: TrustStore { store.withLock { $0 } }

    /// Re-reads the folder; returns the new store and, when it could not be read, why (the store is then empty).
    @discardableResult
    public func reload() -> (store: TrustStore, failure: TrustStoreError?) {
        let fresh = Self.load(directory)
        store.withLock { $0 = fresh.store }
        return fresh
    }

    /// Whether the chip of `read` is genuine.
    public func decide(read: DocumentReadResult) -> GenuinenessDecision {
        policy.decide(facts(files: read.files, read: read))
    }

    /// Passive authentication of `files` alone (no chip session: the anti-clone protocols are `not-checked`).
    public func decide(files: [FileID: [UInt8]]) -> GenuinenessDecision {
        policy.decide(facts(files: files, read: nil))
    }

    private func facts(files: [FileID: [UInt8]], read: DocumentReadResult?) -> GenuinenessFacts {
        var passive: PassiveAuthenticationResult?
        if let sod = files[.sod] {
            var groups: [DataGroup: [UInt8]] = [:]
            for (file, bytes) in files {
                if let group = DataGroup(fileID: file) { groups[group] = bytes }
            }
            passive = PassiveAuthentication.verify(sodFile: sod, dataGroups: groups, trustStore: current)
        }
        guard let read else { return GenuinenessFacts(accessControl: nil, passive: passive, filesRead: Set(files.keys)) }
        return GenuinenessFacts(read: read, passive: passive)
    }

    /// Imports a master list, CSCA certificate or CRL into the folder (see `TrustStore.importFile`) and reloads.
    public func importFile(_ bytes: [UInt8]) throws(TrustImportError) -> TrustImportReport {
        let report = try current.importFile(bytes, into: directory)
        reload()
        return report
    }
}
