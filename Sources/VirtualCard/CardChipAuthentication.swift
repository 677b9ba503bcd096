import MRTD
import OpenSSLKit
import SmartCard

/// Which MSE commands a virtual chip takes for chip authentication (ICAO 9303-11 §6.2.4).
public enum ChipAuthenticationCommands: String, Sendable, CaseIterable {
    /// As issued chips: MSE:Set KAT for 3DES keys of version 1; MSE:Set AT + GENERAL AUTHENTICATE for AES keys
    /// (version 1 too: MSE:Set KAT is refused with 6985) and for version 2 (which also still takes MSE:Set KAT).
    case standard
    /// Both commands whatever the cipher (a lenient chip).
    case both
    /// MSE:Set KAT only (an early chip that never learned MSE:Set AT for chip authentication).
    case setKATOnly = "set-kat"
}

/// How a virtual chip offers chip authentication (ICAO 9303-11 §6.2): its static key agreement key, the
/// key published in DG14 (a clone copies a genuine chip's), the protocol and key ID.
public struct ChipAuthenticationConfiguration: Sendable {
    public var privateKey: PrivateKey
    /// The key written into DG14's ChipAuthenticationPublicKeyInfo.
    public var publishedKey: PublicKey
    public var cipher: SecureMessagingCipherSuite.Algorithm
    /// The ChipAuthenticationInfo version: 1 or 2.
    public var version: Int
    /// The key reference; a chip takes it only in minimal unsigned form (`84 01 C3` for 195).
    public var keyID: Int?
    public var commands: ChipAuthenticationCommands
    /// How DG14 writes the public key: as a SubjectPublicKeyInfo with the key's own parameters (named curve or
    /// X9.42), by standardized domain parameter ID (eID cards), or (DH) with PKCS#3 parameters and no q.
    public var publicKeyFormat: ChipAuthenticationKeyFormat

    public init(
        privateKey: PrivateKey, publishedKey: PublicKey? = nil, cipher: SecureMessagingCipherSuite.Algorithm = .aes128,
        version: Int = 1, keyID: Int? = nil, commands: ChipAuthenticationCommands = .standard,
        publicKeyFormat: ChipAuthenticationKeyFormat = .subjectPublicKeyInfo
    ) throws(OpenSSLError) {
        self.privateKey = privateKey
        if let publishedKey {
            self.publishedKey = publishedKey
        } else {
            self.publishedKey = try privateKey.publicKey()
        }
        self.cipher = cipher
        self.version = version
        self.keyID = keyID
        self.commands = commands
        self.publicKeyFormat = publicKeyFormat
    }

    /// Whether the chip takes MSE:Set KAT (00 22 41 A6).
    var acceptsSetKAT: Bool {
        switch commands {
        case .standard: return cipher == .tripleDES || version >= 2
        case .both, .setKATOnly: return true
        }
    }

    /// Whether the chip takes MSE:Set AT (00 22 41 A4) + GENERAL AUTHENTICATE.
    var acceptsSetAT: Bool {
        switch commands {
        case .standard: return cipher != .tripleDES || version >= 2
        case .both: return true
        case .setKATOnly: return false
        }
    }

    public var keyAgreement: PACEKeyAgreement {
        if case .ec = privateKey.keyType { return .ecdh }
        return .dh
    }

    public var algorithm: ChipAuthenticationAlgorithm {
        ChipAuthenticationAlgorithm(keyAgreement: keyAgreement, cipher: cipher)
    }

    public var info: ChipAuthenticationInfo {
        ChipAuthenticationInfo(oid: algorithm.oid, version: version, keyID: keyID)
    }
}

/// The chip side of chip authentication: MSE:Set KAT or MSE:Set AT + GENERAL AUTHENTICATE (as `commands` says)
/// under the current secure messaging; the answer goes out under the old keys, then the card switches to the new
/// ones.
final class CardChipAuthentication {
    let configuration: ChipAuthenticationConfiguration
    private let domain: PACEDomain?
    private let privateValue: [UInt8]?
    private var selectedVersion2 = false

    init(configuration: ChipAuthenticationConfiguration) {
        self.configuration = configuration
        if let components = try? configuration.privateKey.keyAgreementComponents() {
            switch components.publicKey {
            case let .ec(curve, _): domain = (try? ECGroup(curve: curve)).map { PACEDomain.ec($0) }
            case let .dh(group, _): domain = .dh(group)
            }
            privateValue = components.privateValue
        } else {
            domain = nil
            privateValue = nil
        }
    }

    func reset() {
        selectedVersion2 = false
    }

    /// Handles MSE (00 22 41 A6 / 41 A4) and GENERAL AUTHENTICATE (00 86). Returns the answer and, on success,
    /// the session to switch to after the answer is protected with the old keys.
    func process(_ command: CommandAPDU) -> (ResponseAPDU, CardSecureMessaging?) {
        switch (command.ins, command.p1, command.p2) {
        case (0x22, 0x41, 0xA6):
            selectedVersion2 = false
            guard configuration.acceptsSetKAT else { return (ResponseAPDU(statusWord: .conditionsNotSatisfied), nil) }
            guard var reader = Optional(TLVReader(command.data)), let objects = try? reader.readAll(),
                let key = objects.first(where: { $0.tag == 0x91 })?.value, keyIDMatches(objects)
            else {
                return (ResponseAPDU(statusWord: .incorrectData), nil)
            }
            return agree(terminalKey: key, answer: [])
        case (0x22, 0x41, 0xA4) where configuration.acceptsSetAT:
            guard var reader = Optional(TLVReader(command.data)), let objects = try? reader.readAll(),
                objects.first(where: { $0.tag == 0x80 })?.value == configuration.algorithm.oidBytes,
                keyIDMatches(objects)
            else {
                selectedVersion2 = false
                return (ResponseAPDU(statusWord: .incorrectData), nil)
            }
            selectedVersion2 = true
            return (ResponseAPDU(statusWord: .success), nil)
        case (0x86, 0x00, 0x00) where selectedVersion2:
            selectedVersion2 = false
            guard let template = try? TLV.parse(command.data), template.tag == 0x7C,
                let key = try? template.child(0x80)?.value
            else {
                return (ResponseAPDU(statusWord: .incorrectData), nil)
            }
            return agree(terminalKey: key, answer: TLV(tag: 0x7C, value: []).encoded)
        default:
            return (ResponseAPDU(statusWord: .conditionsNotSatisfied), nil)
        }
    }

    /// DO'84' names this chip's key in minimal unsigned form; a DER INTEGER with a sign byte (`84 02 00 C3`)
    /// is refused, as chips do.
    private func keyIDMatches(_ objects: [TLV]) -> Bool {
        guard let reference = objects.first(where: { $0.tag == 0x84 })?.value else { return true }
        guard let keyID = configuration.keyID else { return false }
        return reference == TLV.minimalUnsigned(keyID)
    }

    private func agree(terminalKey: [UInt8], answer: [UInt8]) -> (ResponseAPDU, CardSecureMessaging?) {
        guard let domain, let privateValue else { return (ResponseAPDU(statusWord: .unknownError), nil) }
        do {
            let peer = try domain.validatedPublicKey(terminalKey)
            let shared = try domain.sharedSecret(try domain.agree(privateKey: privateValue, peer: peer))
            let suite = try PACE.sessionSuite(sharedSecret: shared, cipher: configuration.cipher)
            return (
                ResponseAPDU(data: answer, statusWord: .success),
                CardSecureMessaging(suite: suite, ssc: SendSequenceCounter(zeroes: suite.sscLength))
            )
        } catch {
            return (ResponseAPDU(statusWord: .incorrectData), nil)
        }
    }
}

/// How a virtual chip writes its chip authentication key into DG14 (ICAO 9303-11 §9.2.6).
public enum ChipAuthenticationKeyFormat: String, Sendable, CaseIterable {
    /// The key's own SubjectPublicKeyInfo: id-ecPublicKey with a named curve, or X9.42 DH with p, g and q.
    case subjectPublicKeyInfo = "spki"
    /// `id-StandardizedDomainParameters` with the parameter ID (0–2, 8–18), as eID cards write it.
    case standardizedParameters = "standardized-id"
    /// DH only: PKCS#3 `dhKeyAgreement` parameters (p, g) without q.
    case pkcs3

    /// The DER SubjectPublicKeyInfo of `key` in this format.
    func encode(_ key: PublicKey) throws(LDSError) -> [UInt8] {
        do {
            switch self {
            case .subjectPublicKeyInfo:
                return try key.derEncoded()
            case .standardizedParameters:
                let domain: PACEDomain
                let value: [UInt8]
                switch try key.keyAgreementComponents() {
                case let .ec(curve, point): (domain, value) = (.ec(try ECGroup(curve: curve)), point)
                case let .dh(group, y): (domain, value) = (.dh(group), y)
                }
                guard let id = domain.standardizedParameterID else {
                    throw LDSError.invalidValue(
                        file: "DG14", field: "chip authentication key",
                        reason: "\(domain) has no standardized parameter ID")
                }
                return ChipAuthenticationKey.standardizedSubjectPublicKeyInfo(
                    parameterID: id, publicKey: value,
                    keyAgreement: domain.keyAgreement)
            case .pkcs3:
                guard case let .dh(group, y) = try key.keyAgreementComponents() else {
                    throw LDSError.invalidValue(
                        file: "DG14", field: "chip authentication key",
                        reason: "PKCS#3 parameters are for DH keys only")
                }
                return ChipAuthenticationKey.pkcs3SubjectPublicKeyInfo(group: group, publicKey: y)
            }
        } catch let error as LDSError {
            throw error
        } catch {
            throw .invalidValue(file: "DG14", field: "chip authentication key", reason: "\(error)")
        }
    }
}

extension EMRTDPersonalisation {
    /// DG15 (active authentication key) and DG14 (chip authentication protocol and key, ECDSA AA hash).
    func addAntiCloneFiles(_ files: inout [FileID: [UInt8]], groups: inout [DataGroup]) throws(LDSError) {
        let caKey = try chipAuthentication.map { configuration throws(LDSError) in
            try configuration.publicKeyFormat.encode(configuration.publishedKey)
        }
        let aaInfo = activeAuthentication?.info
        if chipAuthentication != nil || aaInfo != nil {
            files[.dg14] = DG14.encode(
                chipAuthentication: chipAuthentication?.info, chipAuthenticationKey: caKey,
                keyAgreement: chipAuthentication?.keyAgreement ?? .ecdh,
                activeAuthentication: aaInfo)
            groups.append(.dg14)
        }
        if let activeAuthentication {
            do {
                files[.dg15] = try DG15(publicKey: activeAuthentication.publishedKey).encoded
            } catch {
                throw .invalidValue(file: "DG15", field: "active authentication key", reason: "\(error)")
            }
            groups.append(.dg15)
        }
    }
}

extension EMRTDProfile {
    func withAntiClone(
        activeAuthentication: ActiveAuthenticationConfiguration?,
        chipAuthentication: ChipAuthenticationConfiguration?
    ) -> EMRTDProfile {
        var profile = self
        profile.activeAuthentication = activeAuthentication
        profile.chipAuthentication = chipAuthentication
        return profile
    }
}
