import MRTD
import OpenSSLKit
import SmartCard

/// How a virtual chip offers chip authentication (ICAO 9303-11 §6.2): its static key agreement key, the
/// key published in DG14 (a clone copies a genuine chip's), the protocol and key ID.
public struct ChipAuthenticationConfiguration: Sendable {
    public var privateKey: PrivateKey
    /// The key written into DG14's ChipAuthenticationPublicKeyInfo.
    public var publishedKey: PublicKey
    public var cipher: SecureMessagingCipherSuite.Algorithm
    /// 1 (MSE:Set KAT) or 2 (MSE:Set AT + GENERAL AUTHENTICATE); a version-2 chip accepts both.
    public var version: Int
    public var keyID: Int?

    public init(privateKey: PrivateKey, publishedKey: PublicKey? = nil, cipher: SecureMessagingCipherSuite.Algorithm = .aes128,
                version: Int = 1, keyID: Int? = nil) throws(OpenSSLError) {
        self.privateKey = privateKey
        if let publishedKey {
            self.publishedKey = publishedKey
        } else {
            self.publishedKey = try privateKey.publicKey()
        }
        self.cipher = cipher
        self.version = version
        self.keyID = keyID
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

/// The chip side of chip authentication: MSE:Set KAT (v1) or MSE:Set AT + GENERAL AUTHENTICATE (v2) under the
/// current secure messaging; the answer goes out under the old keys, then the card switches to the new ones.
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
            guard var reader = Optional(TLVReader(command.data)), let objects = try? reader.readAll(),
                  let key = objects.first(where: { $0.tag == 0x91 })?.value, keyIDMatches(objects) else {
                return (ResponseAPDU(statusWord: .incorrectData), nil)
            }
            return agree(terminalKey: key, answer: [])
        case (0x22, 0x41, 0xA4) where configuration.version >= 2:
            guard var reader = Optional(TLVReader(command.data)), let objects = try? reader.readAll(),
                  objects.first(where: { $0.tag == 0x80 })?.value == configuration.algorithm.oidBytes,
                  keyIDMatches(objects) else {
                selectedVersion2 = false
                return (ResponseAPDU(statusWord: .incorrectData), nil)
            }
            selectedVersion2 = true
            return (ResponseAPDU(statusWord: .success), nil)
        case (0x86, 0x00, 0x00) where selectedVersion2:
            selectedVersion2 = false
            guard let template = try? TLV.parse(command.data), template.tag == 0x7C,
                  let key = try? template.child(0x80)?.value else {
                return (ResponseAPDU(statusWord: .incorrectData), nil)
            }
            return agree(terminalKey: key, answer: TLV(tag: 0x7C, value: []).encoded)
        default:
            return (ResponseAPDU(statusWord: .conditionsNotSatisfied), nil)
        }
    }

    private func keyIDMatches(_ objects: [TLV]) -> Bool {
        guard let reference = objects.first(where: { $0.tag == 0x84 })?.value else { return true }
        return reference.reduce(0) { $0 << 8 | Int($1) } == (configuration.keyID ?? -1)
    }

    private func agree(terminalKey: [UInt8], answer: [UInt8]) -> (ResponseAPDU, CardSecureMessaging?) {
        guard let domain, let privateValue else { return (ResponseAPDU(statusWord: .unknownError), nil) }
        do {
            let peer = try domain.validatedPublicKey(terminalKey)
            let shared = try domain.sharedSecret(try domain.agree(privateKey: privateValue, peer: peer))
            let suite = try PACE.sessionSuite(sharedSecret: shared, cipher: configuration.cipher)
            return (ResponseAPDU(data: answer, statusWord: .success),
                    CardSecureMessaging(suite: suite, ssc: SendSequenceCounter(zeroes: suite.sscLength)))
        } catch {
            return (ResponseAPDU(statusWord: .incorrectData), nil)
        }
    }
}

extension EMRTDPersonalisation {
    /// DG15 (active authentication key) and DG14 (chip authentication protocol and key, ECDSA AA hash).
    func addAntiCloneFiles(_ files: inout [FileID: [UInt8]], groups: inout [DataGroup]) throws(LDSError) {
        let caKey: [UInt8]?
        do {
            caKey = try chipAuthentication?.publishedKey.derEncoded()
        } catch {
            throw .invalidValue(file: "DG14", field: "chip authentication key", reason: "\(error)")
        }
        let aaInfo = activeAuthentication?.info
        if chipAuthentication != nil || aaInfo != nil {
            files[.dg14] = DG14.encode(chipAuthentication: chipAuthentication?.info, chipAuthenticationKey: caKey,
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
    func withAntiClone(activeAuthentication: ActiveAuthenticationConfiguration?,
                       chipAuthentication: ChipAuthenticationConfiguration?) -> EMRTDProfile {
        var profile = self
        profile.activeAuthentication = activeAuthentication
        profile.chipAuthentication = chipAuthentication
        return profile
    }
}
