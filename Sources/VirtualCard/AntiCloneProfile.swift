import Foundation
import MRTD
import OpenSSLKit

extension VirtualCardProfile {
    /// The anti-clone keys of an `emrtd` profile:
    /// ```json
    ///   "activeAuthentication": { "key": "@aa.key", "digest": "SHA256", "trailer": "implicit" | "explicit",
    ///                             "signature": "plain" | "der", "clone": false },
    ///   "chipAuthentication": { "key": "@ca.key", "cipher": "AES-128", "version": 1, "keyId": 1, "clone": false,
    ///                           "commands": "standard" | "both" | "set-kat",
    ///                           "publicKeyFormat": "spki" | "standardized-id" | "pkcs3" }
    /// ```
    /// `commands`: which MSE commands the chip takes (`standard`: Set KAT for 3DES version 1, Set AT + GENERAL
    /// AUTHENTICATE for AES, as issued chips). `publicKeyFormat`: how DG14 writes the key (`standardized-id`: by
    /// standardized domain parameter ID; `pkcs3`: DH parameters without q). `keyId` goes to the chip's MSE in
    /// minimal unsigned form (195 is `84 01 C3`).
    /// `key` is a PEM private key (RSA or EC for AA; EC or X9.42 DH for CA). With `"clone": true` the card
    /// publishes that key in DG15/DG14 (as copied from a genuine chip) but answers with a different key it
    /// generates, as a clone must.
    static func antiCloneKeys(
        _ object: [String: Any], into personalisation: inout EMRTDPersonalisation, base: URL,
        path: String
    ) throws(ProfileError) {
        if let value = object["activeAuthentication"] {
            guard let settings = value as? [String: Any] else {
                throw .invalid(path: path, reason: "activeAuthentication must be an object")
            }
            let (published, signing) = try keyPair(settings, name: "activeAuthentication", base: base, path: path)
            var digest: DigestAlgorithm?
            if let name = settings["digest"] {
                guard let text = name as? String,
                    let found = DigestAlgorithm(
                        rawValue: text.uppercased()
                            .replacingOccurrences(of: "-", with: ""))
                else {
                    throw .invalid(
                        path: path, reason: "activeAuthentication.digest must be SHA1, SHA224, SHA256, SHA384 or SHA512"
                    )
                }
                digest = found
            }
            let trailer = settings["trailer"] as? String ?? "implicit"
            let signature = settings["signature"] as? String ?? "plain"
            guard ["implicit", "explicit"].contains(trailer), ["plain", "der"].contains(signature) else {
                throw .invalid(
                    path: path, reason: "activeAuthentication.trailer is implicit|explicit, signature plain|der")
            }
            do {
                personalisation.activeAuthentication = try ActiveAuthenticationConfiguration(
                    privateKey: signing, publishedKey: try published.publicKey(), digest: digest,
                    implicitTrailer: trailer == "implicit", derSignatures: signature == "der")
            } catch {
                throw .invalid(path: path, reason: "activeAuthentication: \(error)")
            }
        }
        if let value = object["chipAuthentication"] {
            guard let settings = value as? [String: Any] else {
                throw .invalid(path: path, reason: "chipAuthentication must be an object")
            }
            let (published, agreeing) = try keyPair(settings, name: "chipAuthentication", base: base, path: path)
            var cipher = SecureMessagingCipherSuite.Algorithm.aes128
            if let name = settings["cipher"] {
                guard let text = name as? String, let found = SecureMessagingCipherSuite.Algorithm(rawValue: text)
                else {
                    throw .invalid(
                        path: path, reason: "chipAuthentication.cipher must be 3DES, AES-128, AES-192 or AES-256")
                }
                cipher = found
            }
            let version = settings["version"] as? Int ?? 1
            guard (1...2).contains(version) else {
                throw .invalid(path: path, reason: "chipAuthentication.version is 1 or 2")
            }
            let keyID = settings["keyId"] as? Int
            if let keyID, !(0...0xFFFF).contains(keyID) {
                throw .invalid(path: path, reason: "chipAuthentication.keyId must be 0 to 65535")
            }
            let commandNames = ChipAuthenticationCommands.allCases.map(\.rawValue).joined(separator: ", ")
            let commands = try named(
                settings["commands"], default: ChipAuthenticationCommands.standard,
                reason: "chipAuthentication.commands must be one of \(commandNames)", path: path)
            let formatNames = ChipAuthenticationKeyFormat.allCases.map(\.rawValue).joined(separator: ", ")
            let format = try named(
                settings["publicKeyFormat"], default: ChipAuthenticationKeyFormat.subjectPublicKeyInfo,
                reason: "chipAuthentication.publicKeyFormat must be one of \(formatNames)", path: path)
            do {
                personalisation.chipAuthentication = try ChipAuthenticationConfiguration(
                    privateKey: agreeing, publishedKey: try published.publicKey(), cipher: cipher, version: version,
                    keyID: keyID, commands: commands, publicKeyFormat: format)
            } catch {
                throw .invalid(path: path, reason: "chipAuthentication: \(error)")
            }
        }
    }

    /// A string option naming a case of `T`, or `fallback` when absent.
    static func named<T: RawRepresentable>(
        _ value: Any?, default fallback: T, reason: String, path: String
    )
        throws(ProfileError) -> T where T.RawValue == String
    {
        guard let value else { return fallback }
        guard let text = value as? String, let found = T(rawValue: text) else {
            throw .invalid(path: path, reason: reason)
        }
        return found
    }

    /// The key named by `key` and the key the card really uses (a fresh one of the same kind for a clone).
    private static func keyPair(
        _ settings: [String: Any], name: String, base: URL, path: String
    )
        throws(ProfileError) -> (published: PrivateKey, used: PrivateKey)
    {
        guard let reference = settings["key"] as? String, reference.hasPrefix("@") else {
            throw .invalid(path: path, reason: "\(name) needs \"key\": \"@file\" (a PEM private key)")
        }
        let fileName = String(reference.dropFirst())
        let file = fileName.hasPrefix("/") ? URL(fileURLWithPath: fileName) : base.appendingPathComponent(fileName)
        guard let pem = try? String(contentsOf: file, encoding: .utf8) else {
            throw .unreadable(path: file.path, reason: "\(name) key")
        }
        do {
            let key = try PrivateKey(pem: pem)
            guard settings["clone"] as? Bool == true else { return (key, key) }
            return (key, try freshKey(like: key))
        } catch {
            throw .invalid(path: path, reason: "\(name) key: \(error)")
        }
    }

    private static func freshKey(like key: PrivateKey) throws(OpenSSLError) -> PrivateKey {
        switch key.keyType {
        case let .rsa(bits): return try PrivateKey.generate(.rsa(bits: bits))
        case let .ec(curve, _): return try PrivateKey.generate(.ec(curve: curve ?? "P-256"))
        case .other:
            if case let .dh(group, _) = try key.keyAgreementComponents().publicKey {
                let name =
                    group.prime.count > 128 ? (group.order.count > 28 ? "dh_2048_256" : "dh_2048_224") : "dh_1024_160"
                return try PrivateKey.generateDH(group: name)
            }
            throw OpenSSLError(operation: "clone key", queue: ["unsupported key type"])
        }
    }
}
