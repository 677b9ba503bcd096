import OpenSSLKit
import SmartCard

/// The static key a ChipAuthenticationPublicKeyInfo publishes (ICAO 9303-11 §9.2.6, BSI TR-03110-3 §A.1.2.2, §D.3):
/// a SubjectPublicKeyInfo whose algorithm is either the key's own (id-ecPublicKey with a named curve, X9.42
/// `dhpublicnumber`, PKCS#3 `dhKeyAgreement` without q) or `id-StandardizedDomainParameters` (0.4.0.127.0.7.1.2)
/// with the INTEGER parameter ID of ICAO 9303-11 §9.5.1, as EF.CardSecurity and DG14 of eID cards write it.
public struct ChipAuthenticationKey: Sendable, Equatable {
    public let domain: PACEDomain
    /// The uncompressed point (ECDH) or the value padded to the length of p (DH).
    public let publicKey: [UInt8]
    /// The standardized parameter ID when the key named one (or its domain is one of them).
    public let parameterID: Int?

    /// `id-StandardizedDomainParameters` (BSI TR-03110-3 §A.2.1.1).
    public static let standardizedDomainParametersOID = "0.4.0.127.0.7.1.2"
    /// PKCS#3 `dhKeyAgreement`.
    static let pkcs3OID = "1.2.840.113549.1.3.1"

    /// Reads the key of `info`. Throws `.authenticationFailed` naming what cannot be used (an unknown parameter ID,
    /// a point off the curve, a DH key whose group is neither X9.42 with q nor a standardized group).
    public init(_ info: ChipAuthenticationPublicKeyInfo) throws(MRTDError) {
        let spki = info.subjectPublicKeyInfo
        if let (parameterID, bits) = Self.standardized(spki) {
            let domain = try PACEDomain.standardized(parameterID)
            var key = bits
            if case .dh = domain {
                guard let integer = try? TLV.parse(bits), integer.tag == 0x02, !integer.value.isEmpty else {
                    throw .authenticationFailed("the chip authentication DH key is not an INTEGER")
                }
                key = Array(integer.value.drop { $0 == 0 })
            }
            self.domain = domain
            publicKey = try domain.validatedPublicKey(key)
            self.parameterID = parameterID
            return
        }
        do {
            switch try PublicKey(der: spki).keyAgreementComponents() {
            case let .ec(curve, point):
                domain = .ec(try ECGroup(curve: curve))
                publicKey = point
            case let .dh(group, value):
                domain = .dh(group)
                publicKey = value
            }
        } catch {
            throw .authenticationFailed("the chip authentication public key cannot be used: \(error)")
        }
        parameterID = domain.standardizedParameterID
    }

    /// The parameter ID and the BIT STRING content when `spki` names standardized domain parameters.
    private static func standardized(_ spki: [UInt8]) -> (Int, [UInt8])? {
        guard let outer = try? TLV.parse(spki), outer.tag == 0x30, let fields = try? outer.children(),
            fields.count == 2, fields[0].tag == 0x30, fields[1].tag == 0x03,
            let algorithm = try? fields[0].children(), algorithm.count == 2, algorithm[0].tag == 0x06,
            DER.oid(algorithm[0].value) == standardizedDomainParametersOID, algorithm[1].tag == 0x02,
            let id = DER.smallInteger(algorithm[1].value), fields[1].value.first == 0x00
        else { return nil }
        return (id, Array(fields[1].value.dropFirst()))
    }

    /// SubjectPublicKeyInfo { { id-StandardizedDomainParameters, INTEGER id }, BIT STRING key }: the point itself
    /// for ECDH, a DER INTEGER for DH (BSI TR-03110-3 §D.3.1, §D.3.3).
    public static func standardizedSubjectPublicKeyInfo(
        parameterID: Int, publicKey: [UInt8],
        keyAgreement: PACEKeyAgreement
    ) -> [UInt8] {
        let algorithm = TLV(
            tag: 0x30,
            children: [
                TLV(
                    tag: 0x06,
                    value: DER.encodeOID(standardizedDomainParametersOID)
                        ?? []),
                DER.integer(parameterID),
            ])
        let key = keyAgreement == .ecdh ? publicKey : DER.unsignedInteger(publicKey).encoded
        return TLV(tag: 0x30, children: [algorithm, TLV(tag: 0x03, value: [0x00] + key)]).encoded
    }

    /// SubjectPublicKeyInfo { { dhKeyAgreement, DHParameter { p, g } }, BIT STRING INTEGER y }: a DH key with PKCS#3
    /// parameters, which carry no subgroup order q.
    public static func pkcs3SubjectPublicKeyInfo(group: DHGroup, publicKey: [UInt8]) -> [UInt8] {
        let parameters = TLV(
            tag: 0x30, children: [DER.unsignedInteger(group.prime), DER.unsignedInteger(group.generator)])
        let algorithm = TLV(tag: 0x30, children: [TLV(tag: 0x06, value: DER.encodeOID(pkcs3OID) ?? []), parameters])
        let key = DER.unsignedInteger(publicKey).encoded
        return TLV(tag: 0x30, children: [algorithm, TLV(tag: 0x03, value: [0x00] + key)]).encoded
    }
}

extension ChipAuthenticationPublicKeyInfo {
    /// The key agreement its protocol OID names: `id-PK-DH` (…2.2.1.1) or `id-PK-ECDH` (…2.2.1.2).
    public var keyAgreement: PACEKeyAgreement? {
        switch oid {
        case SecurityInfos.pkArc + ".1": return .dh
        case SecurityInfos.pkArc + ".2": return .ecdh
        default: return nil
        }
    }
}

extension PACEDomain {
    /// The standardized domain parameter ID of this group (ICAO 9303-11 §9.5.1 Table 6), if it is one.
    public var standardizedParameterID: Int? {
        PACEDomain.supportedParameterIDs.first { (try? PACEDomain.standardized($0)) == self }
    }
}

extension DER {
    /// A DER INTEGER holding the unsigned big-endian `magnitude` (a zero byte prepended when the top bit is set).
    static func unsignedInteger(_ magnitude: [UInt8]) -> TLV {
        var value = Array(magnitude.drop { $0 == 0 })
        if value.isEmpty { value = [0] }
        if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
        return TLV(tag: 0x02, value: value)
    }
}
