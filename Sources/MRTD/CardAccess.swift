import SmartCard

/// The key agreement a PACE protocol OID names (BSI TR-03110-3 §A.1.1).
public enum PACEKeyAgreement: String, Sendable, Equatable {
    case dh = "DH"
    case ecdh = "ECDH"
}

/// The nonce mapping a PACE protocol OID names (ICAO 9303-11 §4.4.3.3).
public enum PACEMapping: String, Sendable, Hashable, CaseIterable {
    /// Generic Mapping: G' = s·G + H.
    case generic = "GM"
    /// Integrated Mapping: the generator from both nonces through R(s, t) (§4.4.3.3.2).
    case integrated = "IM"
    /// Chip Authentication Mapping: generic mapping plus the chip's encrypted CA data after the tokens.
    case chipAuthentication = "CAM"
}

/// A PACE algorithm: key agreement, mapping and the cipher of the session (ICAO 9303-11 §9.2.3, the
/// `id-PACE-*` object identifiers under 0.4.0.127.0.7.2.2.4).
public struct PACEAlgorithm: Sendable, Hashable, CustomStringConvertible {
    public let keyAgreement: PACEKeyAgreement
    public let mapping: PACEMapping
    public let cipher: SecureMessagingCipherSuite.Algorithm

    static let paceArc = "0.4.0.127.0.7.2.2.4"

    public init(keyAgreement: PACEKeyAgreement, mapping: PACEMapping, cipher: SecureMessagingCipherSuite.Algorithm) {
        self.keyAgreement = keyAgreement
        self.mapping = mapping
        self.cipher = cipher
    }

    /// Parses a dotted `id-PACE-*` OID; `nil` for anything else (including CAM with DH, which does not exist).
    public init?(oid: String) {
        guard oid.hasPrefix(Self.paceArc + ".") else { return nil }
        let arcs = oid.dropFirst(Self.paceArc.count + 1).split(separator: ".")
        guard arcs.count == 2, let method = Int(arcs[0]), let cipherArc = Int(arcs[1]) else { return nil }
        switch method {
        case 1: (keyAgreement, mapping) = (.dh, .generic)
        case 2: (keyAgreement, mapping) = (.ecdh, .generic)
        case 3: (keyAgreement, mapping) = (.dh, .integrated)
        case 4: (keyAgreement, mapping) = (.ecdh, .integrated)
        case 6: (keyAgreement, mapping) = (.ecdh, .chipAuthentication)
        default: return nil
        }
        switch cipherArc {
        case 1 where mapping != .chipAuthentication: cipher = .tripleDES
        case 2: cipher = .aes128
        case 3: cipher = .aes192
        case 4: cipher = .aes256
        default: return nil
        }
    }

    /// The dotted OID, e.g. `0.4.0.127.0.7.2.2.4.2.2` for PACE-ECDH-GM-AES-CBC-CMAC-128.
    public var oid: String {
        let method: Int
        switch (keyAgreement, mapping) {
        case (.dh, .generic): method = 1
        case (.ecdh, .generic): method = 2
        case (.dh, .integrated): method = 3
        case (.ecdh, .integrated): method = 4
        case (_, .chipAuthentication): method = 6
        }
        let cipherArc: Int
        switch cipher {
        case .tripleDES: cipherArc = 1
        case .aes128: cipherArc = 2
        case .aes192: cipherArc = 3
        case .aes256: cipherArc = 4
        }
        return "\(Self.paceArc).\(method).\(cipherArc)"
    }

    /// The OID's DER content bytes (what DO'80' of MSE:Set AT and the token's DO'06' carry).
    public var oidBytes: [UInt8] { DER.encodeOID(oid) ?? [] }

    /// E.g. `PACE-ECDH-GM-AES-128`.
    public var description: String { "PACE-\(keyAgreement.rawValue)-\(mapping.rawValue)-\(cipher.rawValue)" }
}

/// PACEInfo (ICAO 9303-11 §9.2.1): a PACE protocol the chip supports, with the standardized domain parameter ID.
public struct PACEInfo: Sendable, Equatable, CustomStringConvertible {
    public let oid: String
    /// `nil` when the OID is a PACE OID this reader does not know.
    public let algorithm: PACEAlgorithm?
    public let version: Int
    /// Standardized domain parameters 0–18 (§9.5.1), or a proprietary ID; absent when the chip has one set.
    public let parameterID: Int?

    public init(algorithm: PACEAlgorithm, version: Int = 2, parameterID: Int?) {
        oid = algorithm.oid
        self.algorithm = algorithm
        self.version = version
        self.parameterID = parameterID
    }

    init(oid: String, version: Int, parameterID: Int?) {
        self.oid = oid
        algorithm = PACEAlgorithm(oid: oid)
        self.version = version
        self.parameterID = parameterID
    }

    /// E.g. `PACE-ECDH-GM-AES-128 brainpoolP256r1`.
    public var description: String {
        let name = algorithm?.description ?? "PACE \(oid)"
        guard let parameterID else { return name }
        return name + " " + (PACEDomainName.name(forParameterID: parameterID) ?? "parameter ID \(parameterID)")
    }

    var encoded: TLV {
        var children = [TLV(tag: 0x06, value: DER.encodeOID(oid) ?? []), DER.integer(version)]
        if let parameterID { children.append(DER.integer(parameterID)) }
        return TLV(tag: 0x30, children: children)
    }
}

/// Names of the standardized domain parameters (ICAO 9303-11 §9.5.1 Table 6).
public enum PACEDomainName {
    public static func name(forParameterID id: Int) -> String? {
        switch id {
        case 0: return "1024-bit MODP (RFC 5114)"
        case 1: return "2048-bit MODP, 224-bit subgroup (RFC 5114)"
        case 2: return "2048-bit MODP, 256-bit subgroup (RFC 5114)"
        case 8: return "NIST P-192"
        case 9: return "brainpoolP192r1"
        case 10: return "NIST P-224"
        case 11: return "brainpoolP224r1"
        case 12: return "NIST P-256"
        case 13: return "brainpoolP256r1"
        case 14: return "brainpoolP320r1"
        case 15: return "NIST P-384"
        case 16: return "brainpoolP384r1"
        case 17: return "brainpoolP512r1"
        case 18: return "NIST P-521"
        default: return nil
        }
    }
}

/// PACEDomainParameterInfo: explicit (proprietary) domain parameters for PACE.
public struct PACEDomainParameterInfo: Sendable, Equatable {
    public let oid: String
    /// The DER AlgorithmIdentifier holding the parameters.
    public let domainParameter: [UInt8]
    public let parameterID: Int?
}

/// ChipAuthenticationInfo (ICAO 9303-11 §9.2.5).
public struct ChipAuthenticationInfo: Sendable, Equatable {
    public let oid: String
    public let version: Int
    public let keyID: Int?

    public init(oid: String, version: Int, keyID: Int?) {
        self.oid = oid
        self.version = version
        self.keyID = keyID
    }
}

/// ChipAuthenticationPublicKeyInfo (§9.2.6): the chip's static key agreement key.
public struct ChipAuthenticationPublicKeyInfo: Sendable, Equatable {
    public let oid: String
    /// The DER SubjectPublicKeyInfo.
    public let subjectPublicKeyInfo: [UInt8]
    public let keyID: Int?

    public init(oid: String, subjectPublicKeyInfo: [UInt8], keyID: Int?) {
        self.oid = oid
        self.subjectPublicKeyInfo = subjectPublicKeyInfo
        self.keyID = keyID
    }
}

/// TerminalAuthenticationInfo (§9.2.7).
public struct TerminalAuthenticationInfo: Sendable, Equatable {
    public let oid: String
    public let version: Int

    public init(oid: String, version: Int) {
        self.oid = oid
        self.version = version
    }
}

/// One SecurityInfo of EF.CardAccess, EF.CardSecurity or DG14 (ICAO 9303-11 §9.2).
public enum SecurityInfo: Sendable, Equatable {
    case pace(PACEInfo)
    case paceDomainParameters(PACEDomainParameterInfo)
    case chipAuthentication(ChipAuthenticationInfo)
    case chipAuthenticationPublicKey(ChipAuthenticationPublicKeyInfo)
    case terminalAuthentication(TerminalAuthenticationInfo)
    /// Any other SecurityInfo, kept by OID (tolerated, e.g. CardInfoLocator or PrivilegedTerminalInfo).
    case other(oid: String)

    /// The DER SEQUENCE this SecurityInfo is stored as (`.other` keeps only its OID, with a NULL).
    public var encoded: TLV {
        func oidObject(_ dotted: String) -> TLV { TLV(tag: 0x06, value: DER.encodeOID(dotted) ?? []) }
        switch self {
        case let .pace(info):
            return info.encoded
        case let .paceDomainParameters(info):
            var fields = [oidObject(info.oid), (try? TLV.parse(info.domainParameter)) ?? TLV(tag: 0x05, value: [])]
            if let id = info.parameterID { fields.append(DER.integer(id)) }
            return TLV(tag: 0x30, children: fields)
        case let .chipAuthentication(info):
            var fields = [oidObject(info.oid), DER.integer(info.version)]
            if let id = info.keyID { fields.append(DER.integer(id)) }
            return TLV(tag: 0x30, children: fields)
        case let .chipAuthenticationPublicKey(info):
            var fields = [
                oidObject(info.oid), (try? TLV.parse(info.subjectPublicKeyInfo)) ?? TLV(tag: 0x30, value: []),
            ]
            if let id = info.keyID { fields.append(DER.integer(id)) }
            return TLV(tag: 0x30, children: fields)
        case let .terminalAuthentication(info):
            return TLV(tag: 0x30, children: [oidObject(info.oid), DER.integer(info.version)])
        case let .other(oid):
            return TLV(tag: 0x30, children: [oidObject(oid), TLV(tag: 0x05, value: [])])
        }
    }

    public var oid: String {
        switch self {
        case let .pace(info): return info.oid
        case let .paceDomainParameters(info): return info.oid
        case let .chipAuthentication(info): return info.oid
        case let .chipAuthenticationPublicKey(info): return info.oid
        case let .terminalAuthentication(info): return info.oid
        case let .other(oid): return oid
        }
    }
}

/// SecurityInfos: the SET OF SecurityInfo in EF.CardAccess (ICAO 9303-11 §9.2, 9303-10 §3.11.3).
public struct SecurityInfos: Sendable, Equatable {
    public let infos: [SecurityInfo]

    public init(_ infos: [SecurityInfo]) {
        self.infos = infos
    }

    static let maxInfos = 64
    static let caArc = "0.4.0.127.0.7.2.2.3"
    static let pkArc = "0.4.0.127.0.7.2.2.1"
    static let taOID = "0.4.0.127.0.7.2.2.2"

    /// Parses the DER content of EF.CardAccess. Throws `.malformedFile(.cardAccess, ...)` for anything that is
    /// not a SET of SEQUENCEs starting with an OID; SecurityInfos of unknown protocols are kept as `.other`.
    public init(parsing bytes: [UInt8], file: FileID = .cardAccess) throws(MRTDError) {
        let set: TLV
        let elements: [TLV]
        do {
            set = try TLV.parse(bytes, limits: TLVLimits(maxLength: 65_536, maxDepth: 8, maxTagBytes: 2))
            guard set.tag == 0x31 else { throw MRTDError.malformedFile(file, "SecurityInfos is not a SET") }
            elements = try set.children()
        } catch let error as MRTDError {
            throw error
        } catch {
            throw .malformedFile(file, "\(error)")
        }
        guard elements.count <= Self.maxInfos else {
            throw .malformedFile(file, "more than \(Self.maxInfos) SecurityInfos")
        }
        var infos: [SecurityInfo] = []
        for element in elements {
            infos.append(try Self.securityInfo(element, file: file))
        }
        self.infos = infos
    }

    private static func securityInfo(_ element: TLV, file: FileID) throws(MRTDError) -> SecurityInfo {
        let fields: [TLV]
        do {
            guard element.tag == 0x30 else { throw MRTDError.malformedFile(file, "a SecurityInfo is not a SEQUENCE") }
            fields = try element.children()
        } catch let error as MRTDError {
            throw error
        } catch {
            throw .malformedFile(file, "\(error)")
        }
        guard fields.count >= 2, fields.count <= 3, fields[0].tag == 0x06, let oid = DER.oid(fields[0].value) else {
            throw .malformedFile(file, "a SecurityInfo lacks its protocol OID or required data")
        }
        func integer(_ index: Int, _ name: String) throws(MRTDError) -> Int? {
            guard index < fields.count else { return nil }
            guard fields[index].tag == 0x02, let value = DER.smallInteger(fields[index].value) else {
                throw .malformedFile(file, "\(name) of \(oid) is not a small INTEGER")
            }
            return value
        }
        let arcs = oid.split(separator: ".").count
        if oid.hasPrefix(PACEAlgorithm.paceArc + ".") {
            if arcs == 11 {
                guard let version = try integer(1, "version") else { return .other(oid: oid) }
                return .pace(PACEInfo(oid: oid, version: version, parameterID: try integer(2, "parameterId")))
            }
            if arcs == 10 {
                return .paceDomainParameters(
                    PACEDomainParameterInfo(
                        oid: oid, domainParameter: fields[1].encoded,
                        parameterID: try integer(2, "parameterId")))
            }
        }
        if oid.hasPrefix(caArc + "."), arcs == 11, let version = try integer(1, "version") {
            let keyID = try integer(2, "keyId")
            return .chipAuthentication(ChipAuthenticationInfo(oid: oid, version: version, keyID: keyID))
        }
        if oid.hasPrefix(pkArc + "."), arcs == 10 {
            guard fields[1].tag == 0x30 else {
                throw .malformedFile(file, "chipAuthenticationPublicKey is not a SEQUENCE")
            }
            return .chipAuthenticationPublicKey(
                ChipAuthenticationPublicKeyInfo(
                    oid: oid, subjectPublicKeyInfo: fields[1].encoded, keyID: try integer(2, "keyId")))
        }
        if oid == taOID, let version = try integer(1, "version") {
            return .terminalAuthentication(TerminalAuthenticationInfo(oid: oid, version: version))
        }
        return .other(oid: oid)
    }

    /// Reads and parses EF.CardAccess in plain from the master file (SELECT 011C, P1=02 P2=0C, no Le; before
    /// the eMRTD application is selected). Returns `nil` when the chip has no EF.CardAccess: any error status
    /// word to SELECT or READ BINARY (6A82, or refusals such as 6982/6A86/6700/6D00 from BAC-only chips).
    /// Transport failures and a malformed file are thrown.
    public static func read(from channel: CardChannel) throws(MRTDError) -> SecurityInfos? {
        let strategy = ReadBinaryStrategy(extendedLength: false, secureMessaging: false)
        let content: [UInt8]
        do {
            content = try strategy.readFile(.cardAccess, on: channel)
        } catch {
            if case .unexpectedStatus = error { return nil }
            throw error
        }
        return try SecurityInfos(parsing: content)
    }

    public var paceInfos: [PACEInfo] {
        infos.compactMap { if case let .pace(info) = $0 { return info } else { return nil } }
    }

    /// The SecurityInfos a PACE-CAM chip signs into EF.CardSecurity: its PACEInfos and one
    /// ChipAuthenticationPublicKeyInfo (id-PK-ECDH) whose SubjectPublicKeyInfo names the standardized domain
    /// parameters (0.4.0.127.0.7.1.2, parameter ID) and holds the uncompressed point; its keyId is the parameter ID
    /// (BSI TR-03110-3 §A.1.1.1). `before` come first (other chip authentication keys, as eID cards list them).
    public static func encodeCardSecurityContent(
        paceInfos: [PACEInfo], chipPublicKey: [UInt8], parameterID: Int,
        before: [SecurityInfo] = []
    ) -> [UInt8] {
        let spki = ChipAuthenticationKey.standardizedSubjectPublicKeyInfo(
            parameterID: parameterID,
            publicKey: chipPublicKey, keyAgreement: .ecdh)
        let key = ChipAuthenticationPublicKeyInfo(oid: pkArc + ".2", subjectPublicKeyInfo: spki, keyID: parameterID)
        return encode(before + paceInfos.map(SecurityInfo.pace) + [.chipAuthenticationPublicKey(key)])
    }

    /// The DER SET OF SecurityInfo (ICAO 9303-11 §9.2), in the given order.
    public static func encode(_ infos: [SecurityInfo]) -> [UInt8] {
        TLV(tag: 0x31, children: infos.map(\.encoded)).encoded
    }

    /// EF.CardAccess content offering exactly `paceInfos` (what a virtual chip stores).
    public static func encode(paceInfos: [PACEInfo]) -> [UInt8] {
        TLV(tag: 0x31, children: paceInfos.map(\.encoded)).encoded
    }
}
