import Foundation
import OpenSSLKit
import Secrets

/// Protects personal data at rest (DESIGN.md, security and privacy rules):
///
/// - identities become keyed hashes for look-up: HMAC-SHA-256 under the identity key of `STATE:KIND:NUMBER`;
/// - personal data is sealed with AES-256-GCM under the data key, bound to a context (the row it belongs to)
///   so sealed blobs cannot be swapped between rows.
///
/// Sealed layout: `key version (1 byte) || nonce (12) || ciphertext || tag (16)`; the associated data is the
/// key version followed by the UTF-8 context. The version byte lets a later data key take over while blobs
/// sealed under earlier keys still open.
public struct DataProtector: Sendable {
    /// File names of the keys under `<state directory>/keys/`.
    public static let identityKeyFile = "identity.key"
    public static let dataKeyFile = "data.key"
    /// The key of the usage chain's HMAC: outside the database, so whoever can write the database cannot recompute
    /// the chain. Shared by a fleet like the other two.
    public static let usageChainKeyFile = "usage-chain.key"

    private let identityKey: [UInt8]
    private let dataKeys: [UInt8: [UInt8]]
    private let usageChainKey: [UInt8]?
    /// The key version new seals use.
    public let currentKeyVersion: UInt8

    /// Uses the given 32-byte keys. `dataKey` seals under `keyVersion`; `previousDataKeys` (by version) only
    /// open what they sealed before a rotation.
    public init(
        identityKey: [UInt8], dataKey: [UInt8], keyVersion: UInt8 = 1,
        previousDataKeys: [UInt8: [UInt8]] = [:], usageChainKey: [UInt8]? = nil
    ) throws(StoreError) {
        let keys = [identityKey, dataKey] + Array(previousDataKeys.values) + (usageChainKey.map { [$0] } ?? [])
        guard keys.allSatisfy({ $0.count == KeyFile.keyLength }) else {
            throw .protection("keys must be \(KeyFile.keyLength) bytes")
        }
        guard identityKey != dataKey else { throw .protection("the identity key and the data key must differ") }
        self.identityKey = identityKey
        self.dataKeys = previousDataKeys.merging([keyVersion: dataKey]) { _, current in current }
        self.currentKeyVersion = keyVersion
        self.usageChainKey = usageChainKey
    }

    /// Loads (creating on first start) `keys/identity.key`, `keys/data.key` and `keys/usage-chain.key` under
    /// `stateDirectory`.
    public init(stateDirectory: String) throws(KeyFileError) {
        let keys = (stateDirectory as NSString).appendingPathComponent("keys") as NSString
        let identityKey = try KeyFile.loadOrCreate(path: keys.appendingPathComponent(Self.identityKeyFile))
        let dataKey = try KeyFile.loadOrCreate(path: keys.appendingPathComponent(Self.dataKeyFile))
        self.identityKey = identityKey
        self.dataKeys = [1: dataKey]
        self.currentKeyVersion = 1
        self.usageChainKey = try KeyFile.loadOrCreate(path: keys.appendingPathComponent(Self.usageChainKeyFile))
    }

    /// Whether this protector can key the usage chain.
    public var keysUsageChain: Bool { usageChainKey != nil }

    /// HMAC-SHA-256 of `message` under the usage-chain key; nil without one.
    public func usageChainMAC(_ message: [UInt8]) throws(StoreError) -> [UInt8]? {
        guard let usageChainKey else { return nil }
        do {
            return try HMAC.sha256(message, key: usageChainKey)
        } catch {
            throw .protection("usage chain MAC: \(error)")
        }
    }

    /// The canonical text of a typed identity: `STATE:KIND:NUMBER` (`UTO:PN:7734019`, `D:DOC:L01X00T47`), trimmed,
    /// upper-cased, MRZ fillers dropped. The kind keeps one holder's personal number apart from another's document
    /// number.
    public static func canonicalIdentity(issuingState: String, kind: IdentityKind, number: String) -> String {
        let state = canonical(issuingState).replacingOccurrences(of: "<", with: "")
        return "\(state):\(kind.rawValue):\(canonical(number).replacingOccurrences(of: "<", with: ""))"
    }

    /// The canonical text identity keys had before they were typed (store schema before the typed identity
    /// migration): `STATE:NUMBER`, the number being DG11's personal number, else the TD1 optional data, else the
    /// document number. Only to find accounts keyed that way.
    public static func legacyCanonicalIdentity(issuingState: String, identityNumber: String) -> String {
        "\(canonical(issuingState)):\(canonical(identityNumber))"
    }

    private static func canonical(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
    }

    /// HMAC-SHA-256 under the identity key of the canonical typed identity: the stored, unique look-up key.
    public func identityKey(issuingState: String, kind: IdentityKind, number: String) throws(StoreError) -> [UInt8] {
        try mac(Self.canonicalIdentity(issuingState: issuingState, kind: kind, number: number), what: "identity key")
    }

    /// The keyed hash of a document number an account lists: the identity key of `STATE:DOC:number`.
    public func documentKey(issuingState: String, documentNumber: String) throws(StoreError) -> [UInt8] {
        try identityKey(issuingState: issuingState, kind: .documentNumber, number: documentNumber)
    }

    /// The identity key as written before keys were typed (`legacyCanonicalIdentity`): to find migrated accounts.
    public func legacyIdentityKey(issuingState: String, identityNumber: String) throws(StoreError) -> [UInt8] {
        try mac(
            Self.legacyCanonicalIdentity(issuingState: issuingState, identityNumber: identityNumber),
            what: "legacy identity key")
    }

    /// HMAC-SHA-256 under the identity key of a canonical identity text (`canonicalIdentity`,
    /// `legacyCanonicalIdentity`).
    public func identityKey(canonical: String) throws(StoreError) -> [UInt8] {
        try mac(canonical, what: "identity key")
    }

    private func mac(_ canonical: String, what: String) throws(StoreError) -> [UInt8] {
        do {
            return try HMAC.sha256(Array(canonical.utf8), key: identityKey)
        } catch {
            throw .protection("\(what): \(error)")
        }
    }

    /// Seals `plaintext` under the current data key, bound to `context` (e.g. the account id).
    public func seal(_ plaintext: [UInt8], context: String) throws(StoreError) -> [UInt8] {
        guard let key = dataKeys[currentKeyVersion] else { throw .protection("no data key \(currentKeyVersion)") }
        do {
            let box = try AESGCM.seal(
                plaintext, key: key,
                associatedData: Self.associatedData(version: currentKeyVersion, context: context))
            return [currentKeyVersion] + box
        } catch {
            throw .protection("seal: \(error)")
        }
    }

    /// Opens what `seal` produced for the same `context`. Throws `.protection` when the key version is unknown,
    /// the context differs, or the blob was changed.
    public func open(_ sealed: [UInt8], context: String) throws(StoreError) -> [UInt8] {
        guard let version = sealed.first else { throw .protection("empty sealed data") }
        guard let key = dataKeys[version] else { throw .protection("sealed under unknown data key version \(version)") }
        do {
            return try AESGCM.open(
                Array(sealed.dropFirst()), key: key,
                associatedData: Self.associatedData(version: version, context: context))
        } catch {
            throw .protection("open: \(error)")
        }
    }

    /// A check value of both current keys, never the keys: hosts that share one database compare it to prove they
    /// hold the same keys (an identity key of their own would hide duplicates; a data key of their own could not
    /// open what the others sealed). SHA-256 over HMAC-SHA-256 of a fixed label under each key.
    public func keyCheck() throws(StoreError) -> [UInt8] {
        guard let dataKey = dataKeys[currentKeyVersion] else { throw .protection("no data key \(currentKeyVersion)") }
        let label = Array("enrolld key check v1".utf8)
        do {
            let identityCheck = try HMAC.sha256(label, key: identityKey)
            let dataCheck = try HMAC.sha256(label, key: dataKey)
            return try Digest.hash(identityCheck + [currentKeyVersion] + dataCheck, using: .sha256)
        } catch {
            throw .protection("key check: \(error)")
        }
    }

    /// A check value of the usage-chain key (never the key): SHA-256 over HMAC-SHA-256 of a fixed label; nil without
    /// a key. The database keeps it, so a host with another chain key is refused instead of forking the chain.
    public func usageChainKeyCheck() throws(StoreError) -> [UInt8]? {
        guard let mac = try usageChainMAC(Array("enrolld usage chain key check v1".utf8)) else { return nil }
        do {
            return try Digest.hash(mac, using: .sha256)
        } catch {
            throw .protection("usage chain key check: \(error)")
        }
    }

    private static func associatedData(version: UInt8, context: String) -> [UInt8] { [version] + Array(context.utf8) }
}

extension DataProtector: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Never the keys: a protector may end up in a log line or a debugger dump.
    public var description: String {
        "DataProtector(data key version \(currentKeyVersion), \(dataKeys.count) data key(s))"
    }

    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// What the number of a typed identity is (`DataProtector.canonicalIdentity`).
public enum IdentityKind: String, Sendable, Codable, CaseIterable {
    /// A personal identity number that stays with the person across documents (DG11 tag 5F10, or the TD1 optional
    /// data field a state's rule names).
    case personalNumber = "PN"
    /// A document number: the identity of a document, not of its holder beyond it.
    case documentNumber = "DOC"
}
