import Foundation
import OpenSSLKit
import Secrets

/// Protects personal data at rest (DESIGN.md, security and privacy rules):
///
/// - identities become keyed hashes for look-up: HMAC-SHA-256 under the identity key of `STATE:NUMBER`;
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

    /// The canonical text an identity key is computed over: trimmed, upper-cased `STATE:NUMBER`.
    public static func canonicalIdentity(issuingState: String, identityNumber: String) -> String {
        let state = issuingState.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        let number = identityNumber.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        return "\(state):\(number)"
    }

    /// HMAC-SHA-256 under the identity key of the canonical identity: the stored, unique look-up key.
    public func identityKey(issuingState: String, identityNumber: String) throws(StoreError) -> [UInt8] {
        let canonical = Self.canonicalIdentity(issuingState: issuingState, identityNumber: identityNumber)
        do {
            return try HMAC.sha256(Array(canonical.utf8), key: identityKey)
        } catch {
            throw .protection("identity key: \(error)")
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
