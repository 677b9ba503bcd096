import Foundation
import Synchronization

/// The trust store a running reader uses, reloadable while it runs, and the decision whether a read chip is
/// genuine: passive authentication against the store (ICAO 9303-11 §5.1) and the anti-clone record of the read
/// (§6), decided by `policy`.
public final class TrustAnchors: Sendable {
    public let directory: String
    public let policy: GenuinenessPolicy
    /// The rules of passive authentication (content types, SHA-1, key sizes, issuing-state codes), for EF.SOD and
    /// EF.CardSecurity alike.
    public let passivePolicy: PassiveAuthenticationPolicy
    private let store: Mutex<TrustStore>

    /// Loads the folder; a missing or unreadable one gives an empty store (see `load`): no document can then be
    /// proven genuine.
    public init(
        directory: String, policy: GenuinenessPolicy = GenuinenessPolicy(),
        passivePolicy: PassiveAuthenticationPolicy = .default
    ) {
        self.directory = directory
        self.policy = policy
        self.passivePolicy = passivePolicy
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

    /// Whether the chip of `read` is genuine. EF.SOD and (for PACE-CAM) EF.CardSecurity are verified here, on one
    /// path: the same trust store, policy and issuing state (DG1's).
    public func decide(read: DocumentReadResult) -> GenuinenessDecision {
        policy.decide(facts(files: read.files, read: read))
    }

    /// Passive authentication of `files` alone (no chip session: the anti-clone protocols are `not-checked`).
    public func decide(files: [FileID: [UInt8]]) -> GenuinenessDecision {
        policy.decide(facts(files: files, read: nil))
    }

    private func facts(files: [FileID: [UInt8]], read: DocumentReadResult?) -> GenuinenessFacts {
        let store = current
        let issuingState = files[.dg1].flatMap { try? DG1.parse($0) }?.mrz.issuingState
        var passive: PassiveAuthenticationResult?
        if let sod = files[.sod] {
            var groups: [DataGroup: [UInt8]] = [:]
            for (file, bytes) in files {
                if let group = DataGroup(fileID: file) { groups[group] = bytes }
            }
            passive = PassiveAuthentication.verify(
                sodFile: sod, dataGroups: groups, trustStore: store,
                policy: passivePolicy, issuingState: issuingState)
        }
        guard var read else {
            return GenuinenessFacts(accessControl: nil, passive: passive, filesRead: Set(files.keys))
        }
        read.verifyCardSecurity(trustStore: store, policy: passivePolicy, issuingState: issuingState)
        return GenuinenessFacts(read: read, passive: passive)
    }

    /// Imports a master list (of the states `states` names, ICAO codes), CSCA certificate or CRL into the folder (see
    /// `TrustStore.importFile`) and reloads. Throws `.refused` for a state code that maps to no country.
    public func importFile(_ bytes: [UInt8], states: [String]? = nil) throws(TrustImportError) -> TrustImportReport {
        let scope = try states.map { states throws(TrustImportError) in
            try TrustImportScope(states: states, codes: passivePolicy.issuingStateCodes)
        }
        let report = try current.importFile(
            bytes, into: directory, scope: scope,
            minimumKeySizes: passivePolicy.minimumKeySizes)
        reload()
        return report
    }
}
