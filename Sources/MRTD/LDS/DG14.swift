import OpenSSLKit
import SmartCard

/// ActiveAuthenticationInfo (ICAO 9303-11 §9.2.10): the signature algorithm of ECDSA active authentication.
public struct ActiveAuthenticationInfo: Sendable, Equatable {
    public static let oid = "2.23.136.1.1.5"

    public let version: Int
    /// The signature algorithm OID, e.g. ecdsa-with-SHA256 `1.2.840.10045.4.3.2`.
    public let signatureAlgorithm: String

    public init(version: Int = 1, signatureAlgorithm: String) {
        self.version = version
        self.signatureAlgorithm = signatureAlgorithm
    }

    /// The hash `signatureAlgorithm` names (X9.62 ecdsa-with-SHA*, BSI ecdsa-plain-SHA*), or nil.
    public var digest: DigestAlgorithm? {
        switch signatureAlgorithm {
        case "1.2.840.10045.4.1", "0.4.0.127.0.7.1.1.4.1.1": return .sha1
        case "1.2.840.10045.4.3.1", "0.4.0.127.0.7.1.1.4.1.2": return .sha224
        case "1.2.840.10045.4.3.2", "0.4.0.127.0.7.1.1.4.1.3": return .sha256
        case "1.2.840.10045.4.3.3", "0.4.0.127.0.7.1.1.4.1.4": return .sha384
        case "1.2.840.10045.4.3.4", "0.4.0.127.0.7.1.1.4.1.5": return .sha512
        default: return nil
        }
    }

    /// The X9.62 ecdsa-with-SHA* OID for `digest`.
    public static func ecdsaOID(_ digest: DigestAlgorithm) -> String {
        switch digest {
        case .sha1: return "1.2.840.10045.4.1"
        case .sha224: return "1.2.840.10045.4.3.1"
        case .sha256: return "1.2.840.10045.4.3.2"
        case .sha384: return "1.2.840.10045.4.3.3"
        case .sha512: return "1.2.840.10045.4.3.4"
        }
    }
}

/// DG14, security options (ICAO 9303-10 §4.7.14): template '6E' holding SecurityInfos: chip authentication
/// protocols and public keys, the active authentication signature algorithm, and others (kept by OID).
public struct DG14: Sendable, Equatable {
    public static let tag: UInt32 = 0x6E

    public let securityInfos: SecurityInfos
    public let activeAuthentication: ActiveAuthenticationInfo?

    /// Parses DG14. Throws `LDSError` for a wrong template, malformed SecurityInfos, or an
    /// ActiveAuthenticationInfo that is not { OID, INTEGER, OID }.
    public init(parsing bytes: [UInt8]) throws(LDSError) {
        let template: TLV
        let set: TLV
        do {
            template = try TLV.parse(bytes, limits: TLVLimits(maxLength: 65_536, maxDepth: 10, maxTagBytes: 2))
            guard template.tag == Self.tag else {
                throw LDSError.unexpectedTag(file: "DG14", expected: Self.tag, found: template.tag)
            }
            let children = try template.children()
            guard children.count == 1, children[0].tag == 0x31 else {
                throw LDSError.invalidValue(
                    file: "DG14", field: "SecurityInfos", reason: "the template must hold one SET")
            }
            set = children[0]
        } catch let error as LDSError {
            throw error
        } catch let error as TLVError {
            throw .malformedTLV(file: "DG14", error)
        } catch {
            throw .invalidValue(file: "DG14", field: "SecurityInfos", reason: "\(error)")
        }
        do {
            securityInfos = try SecurityInfos(parsing: set.encoded, file: .dg14)
        } catch {
            throw .invalidValue(file: "DG14", field: "SecurityInfos", reason: error.description)
        }
        var activeAuthentication: ActiveAuthenticationInfo?
        let elements = (try? set.children()) ?? []
        for element in elements {
            guard let fields = try? element.children(), fields.first?.tag == 0x06,
                let first = fields.first, DER.oid(first.value) == ActiveAuthenticationInfo.oid
            else { continue }
            guard activeAuthentication == nil, fields.count == 3, fields[1].tag == 0x02,
                let version = DER.smallInteger(fields[1].value), fields[2].tag == 0x06,
                let algorithm = DER.oid(fields[2].value)
            else {
                throw .invalidValue(
                    file: "DG14", field: "ActiveAuthenticationInfo",
                    reason: "must appear once as { protocol, version, signatureAlgorithm }")
            }
            activeAuthentication = ActiveAuthenticationInfo(version: version, signatureAlgorithm: algorithm)
        }
        self.activeAuthentication = activeAuthentication
    }

    public var chipAuthenticationInfos: [ChipAuthenticationInfo] {
        securityInfos.infos.compactMap {
            if case let .chipAuthentication(info) = $0 { return info } else { return nil }
        }
    }

    public var chipAuthenticationPublicKeys: [ChipAuthenticationPublicKeyInfo] {
        securityInfos.infos.compactMap {
            if case let .chipAuthenticationPublicKey(info) = $0 { return info } else { return nil }
        }
    }

    /// Encodes a DG14 (personalisation): ChipAuthenticationInfo (when `chipAuthentication` is given) with
    /// ChipAuthenticationPublicKeyInfo for `chipAuthenticationKey`, and ActiveAuthenticationInfo.
    public static func encode(
        chipAuthentication: ChipAuthenticationInfo?, chipAuthenticationKey: [UInt8]?,
        keyAgreement: PACEKeyAgreement = .ecdh, activeAuthentication: ActiveAuthenticationInfo?,
        paceInfos: [PACEInfo] = []
    ) -> [UInt8] {
        var infos: [TLV] = paceInfos.map(\.encoded)
        func oid(_ dotted: String) -> TLV { TLV(tag: 0x06, value: DER.encodeOID(dotted) ?? []) }
        if let chipAuthentication {
            var fields = [oid(chipAuthentication.oid), DER.integer(chipAuthentication.version)]
            if let keyID = chipAuthentication.keyID { fields.append(DER.integer(keyID)) }
            infos.append(TLV(tag: 0x30, children: fields))
        }
        if let chipAuthenticationKey {
            var fields = [oid(keyAgreement == .ecdh ? "0.4.0.127.0.7.2.2.1.2" : "0.4.0.127.0.7.2.2.1.1")]
            var keyObject = TLV(tag: 0x30, value: [])
            if let parsed = try? TLV.parse(chipAuthenticationKey) { keyObject = parsed }
            fields.append(keyObject)
            if let keyID = chipAuthentication?.keyID { fields.append(DER.integer(keyID)) }
            infos.append(TLV(tag: 0x30, children: fields))
        }
        if let activeAuthentication {
            infos.append(
                TLV(
                    tag: 0x30,
                    children: [
                        oid(ActiveAuthenticationInfo.oid),
                        DER.integer(activeAuthentication.version),
                        oid(activeAuthentication.signatureAlgorithm),
                    ]))
        }
        return TLV(tag: tag, children: [TLV(tag: 0x31, children: infos)]).encoded
    }
}
