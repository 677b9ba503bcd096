import Foundation
import MRTD
import OpenSSLKit
import SmartCard

/// How a virtual eMRTD offers PACE: one PACEInfo (Generic, Integrated or Chip Authentication Mapping) in
/// EF.CardAccess, and the CAN printed on the card (the MRZ password always works when the profile has MRZ data).
public struct PACEConfiguration: Sendable, Equatable {
    /// Standardized domain parameters: 0–2 (DH, RFC 5114) or 8–18 (ECDH).
    public var parameterID: Int
    public var cipher: SecureMessagingCipherSuite.Algorithm
    /// The card access number; `nil` when the card accepts only the MRZ password.
    public var can: String?
    /// GM, IM (ICAO 9303-11 §4.4.3.3.2; not on NIST P-224) or CAM (ECDH with AES only; personalisation creates the
    /// key material).
    public var mapping: PACEMapping
    /// The chip's static key for PACE-CAM and the signed EF.CardSecurity that publishes it.
    public var chipAuthentication: PACEChipAuthenticationKey?
    /// How EF.CardSecurity is laid out and whether it is forged.
    public var cardSecurity: CardSecurityLayout

    public init(
        parameterID: Int = 13, cipher: SecureMessagingCipherSuite.Algorithm = .aes128, can: String? = nil,
        chipAuthenticationMapping: Bool = false, mapping: PACEMapping? = nil,
        cardSecurity: CardSecurityLayout = CardSecurityLayout()
    ) {
        self.parameterID = parameterID
        self.cipher = cipher
        self.can = can
        self.mapping = mapping ?? (chipAuthenticationMapping ? .chipAuthentication : .generic)
        self.cardSecurity = cardSecurity
    }

    /// Whether the chip offers PACE-CAM.
    public var chipAuthenticationMapping: Bool {
        get { mapping == .chipAuthentication }
        set { mapping = newValue ? .chipAuthentication : (mapping == .chipAuthentication ? .generic : mapping) }
    }

    /// The PACEInfo the card announces.
    public var info: PACEInfo {
        PACEInfo(
            algorithm: PACEAlgorithm(
                keyAgreement: parameterID <= 2 ? .dh : .ecdh, mapping: mapping,
                cipher: cipher),
            parameterID: parameterID)
    }

    /// A copy with fresh PACE-CAM key material: a static key pair on the PACE domain and EF.CardSecurity signed by
    /// `signer` (content type id-SecurityObject 0.4.0.127.0.7.3.2.1), laid out as `cardSecurity` says. Throws for DH
    /// domains and 3DES.
    public func withChipAuthenticationKey(signer: TestPKI.Party) throws(PersonalisationError) -> PACEConfiguration {
        guard parameterID > 2, cipher != .tripleDES else {
            throw .signing(OpenSSLError(operation: "PACE-CAM key", queue: ["CAM needs ECDH and AES"]))
        }
        do {
            let domain = try PACEDomain.standardized(parameterID)
            var privateKey = try domain.randomPrivateKey()
            let publicKey = try domain.publicKey(privateKey: privateKey, generator: try domain.generator())
            var copy = self
            copy.mapping = .chipAuthentication
            let content = SecurityInfos.encodeCardSecurityContent(
                paceInfos: [copy.info], chipPublicKey: publicKey, parameterID: parameterID,
                before: cardSecurity.decoyKeysFirst ? try Self.decoyKeys(parameterID: parameterID, domain: domain) : [])
            var signed = try SODBuilder.sign(
                content: content, contentType: CardSecurity.contentType,
                signer: signer.certificate, key: signer.key,
                options: .init(signingTime: Date()))
            if cardSecurity.alteredAfterSigning {
                // A clone's trick: the genuine signed file with its own key put in place of the chip's.
                let forgedKey = try domain.randomPrivateKey()
                let forgedPublic = try domain.publicKey(privateKey: forgedKey, generator: try domain.generator())
                guard let start = TestPKI.index(of: publicKey, in: signed) else {
                    throw OpenSSLError(operation: "forged EF.CardSecurity", queue: ["key not found"])
                }
                signed.replaceSubrange(start..<(start + publicKey.count), with: forgedPublic)
                privateKey = forgedKey
            }
            copy.chipAuthentication = PACEChipAuthenticationKey(privateKey: privateKey, cardSecurity: signed)
            return copy
        } catch let error as OpenSSLError {
            throw .signing(error)
        } catch {
            throw .signing(OpenSSLError(operation: "PACE-CAM key", queue: ["\(error)"]))
        }
    }

    /// Keys an eID card lists before its CAM key: a generic chip authentication key (keyId 1) on the same domain, an
    /// ECDH key on another curve and a DH key, both with keyId = parameterId. A reader must skip all three.
    static func decoyKeys(parameterID: Int, domain: PACEDomain) throws -> [SecurityInfo] {
        let otherID = parameterID == 12 ? 13 : 12
        let other = try PACEDomain.standardized(otherID)
        let dh = try PACEDomain.standardized(2)
        func key(_ domain: PACEDomain, id: Int, agreement: PACEKeyAgreement, keyID: Int) throws -> SecurityInfo {
            let secret = try domain.randomPrivateKey()
            let value = try domain.publicKey(privateKey: secret, generator: try domain.generator())
            let spki = ChipAuthenticationKey.standardizedSubjectPublicKeyInfo(
                parameterID: id, publicKey: value,
                keyAgreement: agreement)
            let oid = agreement == .ecdh ? "0.4.0.127.0.7.2.2.1.2" : "0.4.0.127.0.7.2.2.1.1"
            return .chipAuthenticationPublicKey(
                ChipAuthenticationPublicKeyInfo(
                    oid: oid, subjectPublicKeyInfo: spki,
                    keyID: keyID))
        }
        let generic = ChipAuthenticationAlgorithm(keyAgreement: .ecdh, cipher: .aes128)
        return [
            .chipAuthentication(ChipAuthenticationInfo(oid: generic.oid, version: 2, keyID: 1)),
            try key(domain, id: parameterID, agreement: .ecdh, keyID: 1),
            try key(other, id: otherID, agreement: .ecdh, keyID: parameterID),
            try key(dh, id: 2, agreement: .dh, keyID: parameterID),
        ]
    }

    /// The content of EF.CardAccess.
    public var cardAccess: [UInt8] { SecurityInfos.encode(paceInfos: [info]) }
}

/// How a virtual PACE-CAM chip's EF.CardSecurity looks (ICAO 9303-11 §9.2, BSI TR-03110-3 §A.1.2).
public struct CardSecurityLayout: Sendable, Equatable {
    /// Other chip authentication keys first (a generic CA key, keys on other domains), the CAM key last.
    public var decoyKeysFirst: Bool
    /// The CAM key replaced after signing (the chip holds the replacement's private key): the signature no longer
    /// verifies, though the chip's CAM data matches the key it publishes.
    public var alteredAfterSigning: Bool

    public init(decoyKeysFirst: Bool = false, alteredAfterSigning: Bool = false) {
        self.decoyKeysFirst = decoyKeysFirst
        self.alteredAfterSigning = alteredAfterSigning
    }
}

/// A PACE-CAM chip's static private key and its signed EF.CardSecurity.
public struct PACEChipAuthenticationKey: Sendable, Equatable {
    public let privateKey: [UInt8]
    public let cardSecurity: [UInt8]

    public init(privateKey: [UInt8], cardSecurity: [UInt8]) {
        self.privateKey = privateKey
        self.cardSecurity = cardSecurity
    }
}

/// The chip side of PACE (ICAO 9303-11 §4.4): MSE:Set AT selects protocol and password, four GENERAL AUTHENTICATE
/// steps answer with the encrypted nonce, the chip's mapping key (GM, CAM) or an empty answer to the terminal's
/// nonce (IM), its ephemeral key and its token (with the encrypted chip authentication data for CAM). A terminal
/// token that does not verify (wrong MRZ or CAN) gets 6300; any other error ends the run.
final class CardPACE {
    private enum State {
        case idle
        case selected(password: AccessKey)
        case nonceSent(password: AccessKey, nonce: [UInt8])
        case mapped(generator: [UInt8], mappingKey: [UInt8])
        case agreed(
            suite: SecureMessagingCipherSuite, terminalPublic: [UInt8], chipPublic: [UInt8],
            mappingKey: [UInt8])
    }

    let configuration: PACEConfiguration
    private let algorithm: PACEAlgorithm
    private let domain: PACEDomain?
    private let mrzKey: BACKey?
    private let random: BAC.RandomSource
    private var state = State.idle

    init(configuration: PACEConfiguration, mrzKey: BACKey?, random: @escaping BAC.RandomSource) {
        self.configuration = configuration
        let mapping =
            configuration.mapping == .chipAuthentication && configuration.chipAuthentication == nil
            ? .generic : configuration.mapping
        algorithm = PACEAlgorithm(
            keyAgreement: configuration.parameterID <= 2 ? .dh : .ecdh, mapping: mapping,
            cipher: configuration.cipher)
        domain = try? PACEDomain.standardized(configuration.parameterID)
        self.mrzKey = mrzKey
        self.random = random
    }

    func reset() {
        state = .idle
    }

    /// MSE:Set AT (00 22 C1 A4): DO'80' must name our protocol, DO'83' a password we hold, DO'84' (if sent) our
    /// parameter ID.
    func manageSecurityEnvironment(_ command: CommandAPDU) -> ResponseAPDU {
        state = .idle
        guard command.p1 == 0xC1, command.p2 == 0xA4 else { return ResponseAPDU(statusWord: .incorrectP1P2) }
        var reader = TLVReader(command.data)
        guard let objects = try? reader.readAll(),
            let protocolOID = objects.first(where: { $0.tag == 0x80 })?.value,
            let reference = objects.first(where: { $0.tag == 0x83 })?.value
        else {
            return ResponseAPDU(statusWord: .incorrectData)
        }
        guard protocolOID == algorithm.oidBytes else { return ResponseAPDU(statusWord: .incorrectData) }
        if let id = objects.first(where: { $0.tag == 0x84 })?.value {
            guard id.count == 1, Int(id[0]) == configuration.parameterID else {
                return ResponseAPDU(statusWord: .incorrectData)
            }
        }
        let password: AccessKey
        switch reference {
        case [0x01]:
            guard let mrzKey else { return ResponseAPDU(statusWord: StatusWord(0x6A88)) }
            password = .mrz(mrzKey)
        case [0x02]:
            guard let can = configuration.can, let number = try? CardAccessNumber(can) else {
                return ResponseAPDU(statusWord: StatusWord(0x6A88))
            }
            password = .can(number)
        default:
            return ResponseAPDU(statusWord: StatusWord(0x6A88))
        }
        guard domain != nil else { return ResponseAPDU(statusWord: .conditionsNotSatisfied) }
        state = .selected(password: password)
        return ResponseAPDU(statusWord: .success)
    }

    /// GENERAL AUTHENTICATE (x0 86 00 00): one step of the protocol. Returns the session once the terminal's
    /// token verified.
    func generalAuthenticate(_ command: CommandAPDU) -> (ResponseAPDU, CardSecureMessaging?) {
        let current = state
        state = .idle
        guard let domain, let request = try? TLV.parse(command.data), request.tag == 0x7C,
            let objects = try? request.children()
        else {
            return (ResponseAPDU(statusWord: .incorrectData), nil)
        }
        func object(_ tag: UInt32) -> [UInt8]? {
            objects.count == 1 && objects[0].tag == tag ? objects[0].value : nil
        }
        do {
            switch current {
            case let .selected(password) where objects.isEmpty:
                // IM's R(s, t) takes a nonce of l bits (§4.4.3.3.2); GM and CAM take 16 bytes.
                let nonce = try random(
                    algorithm.mapping == .integrated
                        ? PACE.integratedMappingBlockLength(configuration.cipher) : 16)
                let key = try password.paceKey(cipher: configuration.cipher)
                let encrypted = try PACE.encryptNonce(nonce, key: key, cipher: configuration.cipher)
                state = .nonceSent(password: password, nonce: nonce)
                return (answer(TLV(tag: 0x80, value: encrypted)), nil)
            case let .nonceSent(_, nonce) where algorithm.mapping == .integrated:
                // IM: DO'81' is the terminal's nonce t; the answer is an empty 7C.
                guard let terminalNonce = object(0x81) else { break }
                state = .mapped(
                    generator: try domain.integratedMappedGenerator(
                        chipNonce: nonce,
                        terminalNonce: terminalNonce,
                        cipher: configuration.cipher),
                    mappingKey: [])
                return (ResponseAPDU(data: [0x7C, 0x00], statusWord: .success), nil)
            case let .nonceSent(_, nonce):
                guard let terminalMapping = object(0x81) else { break }
                let peer = try domain.validatedPublicKey(terminalMapping)
                let privateKey = try domain.randomPrivateKey()
                let chipMapping = try domain.publicKey(privateKey: privateKey, generator: try domain.generator())
                let secret = try domain.agree(privateKey: privateKey, peer: peer)
                state = .mapped(
                    generator: try domain.mappedGenerator(nonce: nonce, mappingSecret: secret),
                    mappingKey: privateKey)
                return (answer(TLV(tag: 0x82, value: chipMapping)), nil)
            case let .mapped(generator, mappingKey):
                guard let terminalKey = object(0x83) else { break }
                let terminalPublic = try domain.validatedPublicKey(terminalKey)
                let privateKey = try domain.randomPrivateKey()
                let chipPublic = try domain.publicKey(privateKey: privateKey, generator: generator)
                guard chipPublic != terminalPublic else { break }
                let shared = try domain.sharedSecret(try domain.agree(privateKey: privateKey, peer: terminalPublic))
                state = .agreed(
                    suite: try PACE.sessionSuite(sharedSecret: shared, cipher: configuration.cipher),
                    terminalPublic: terminalPublic, chipPublic: chipPublic, mappingKey: mappingKey)
                return (answer(TLV(tag: 0x84, value: chipPublic)), nil)
            case let .agreed(suite, terminalPublic, chipPublic, mappingKey):
                guard let token = object(0x85) else { break }
                let expected = try PACE.authenticationToken(
                    suite: suite, algorithm: algorithm, domain: domain,
                    publicKey: chipPublic)
                guard MessageAuthentication.constantTimeEquals(token, expected) else {
                    return (ResponseAPDU(statusWord: .verificationFailed), nil)
                }
                let chipToken = try PACE.authenticationToken(
                    suite: suite, algorithm: algorithm, domain: domain,
                    publicKey: terminalPublic)
                let session = CardSecureMessaging(suite: suite, ssc: SendSequenceCounter(zeroes: suite.sscLength))
                var objects = [TLV(tag: 0x86, value: chipToken)]
                if let key = configuration.chipAuthentication, case let .ec(group) = domain {
                    // PACE-CAM: CA_IC = SK_IC⁻¹ · SK_Map,IC mod n, sent encrypted (ICAO 9303-11 §4.4.3.5).
                    let ca = try group.scalarQuotient(mappingKey, key.privateKey)
                    objects.append(TLV(tag: 0x8A, value: try PACE.encryptChipAuthenticationData(ca, suite: suite)))
                }
                return (ResponseAPDU(data: TLV(tag: 0x7C, children: objects).encoded, statusWord: .success), session)
            default:
                return (ResponseAPDU(statusWord: .conditionsNotSatisfied), nil)
            }
        } catch {
            return (ResponseAPDU(statusWord: .incorrectData), nil)
        }
        return (ResponseAPDU(statusWord: .incorrectData), nil)
    }

    private func answer(_ object: TLV) -> ResponseAPDU {
        ResponseAPDU(data: TLV(tag: 0x7C, children: [object]).encoded, statusWord: .success)
    }
}
