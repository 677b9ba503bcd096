import OpenSSLKit
import SmartCard

/// EF.SOD, the document security object (ICAO 9303-10 §4.6.2): tag 77 around a CMS ContentInfo
/// (SignedData). This type keeps the DER bytes for passive authentication and reads the
/// LDS security object's hashes; it does not check any signature.
public struct SOD: Sendable, Equatable {
    public static let tag: UInt32 = 0x77
    public static let fileIdentifier: UInt16 = 0x011D
    public static let shortFileIdentifier: UInt8 = 0x1D

    /// The DER encoding of the CMS ContentInfo, exactly as stored.
    public var cms: [UInt8]

    public init(cms: [UInt8]) { self.cms = cms }

    /// Unwraps tag 77 and checks the ContentInfo inside: one SEQUENCE holding SignedData of version 3 (ICAO 9303-10
    /// §4.6.2.1; version 1 only with the legacy eContentType id-data, for which RFC 5652 §5.1 requires it). The
    /// ContentInfo may be BER with indefinite lengths (`30 80 …`) inside a definite-length tag 77, as some issued
    /// passports store it; its bytes are kept as stored.
    /// - Throws: `LDSError` for a wrong tag, malformed TLV, another SignedData version or a size above the limit.
    public static func parse(_ bytes: [UInt8], limits: LDSLimits = .default) throws(LDSError) -> SOD {
        guard bytes.count <= limits.maxFileSize else {
            throw .tooLarge(file: "EF.SOD", element: "file", size: bytes.count, limit: limits.maxFileSize)
        }
        let content: [UInt8]
        if let header = try? TLVReader.header(of: bytes), header.tag == tag,
            header.headerLength + header.length == bytes.count,
            bytes[header.headerLength...].starts(with: [0x30, 0x80])
        {
            content = Array(bytes[header.headerLength...])
        } else {
            let outer = try DER.parse(bytes, file: "EF.SOD")
            guard outer.tag == tag else { throw .unexpectedTag(file: "EF.SOD", expected: tag, found: outer.tag) }
            let inner = try DER.parse(outer.value, file: "EF.SOD")
            guard inner.tag == 0x30 else { throw .unexpectedTag(file: "EF.SOD", expected: 0x30, found: inner.tag) }
            content = outer.value
        }
        guard let signedData = BERWalker.signedDataVersion(content) else {
            throw .invalidSecurityObject(
                "ContentInfo does not hold SignedData { version, digestAlgorithms, "
                    + "encapContentInfo }")
        }
        let legacy = signedData.version == 1 && signedData.contentType == "1.2.840.113549.1.7.1"
        guard signedData.version == 3 || legacy else {
            throw .invalidSecurityObject("SignedData version is \(signedData.version), not 3")
        }
        return SOD(cms: content)
    }

    /// Whether the ContentInfo is BER with indefinite lengths rather than DER.
    public var isIndefiniteLength: Bool { cms.starts(with: [0x30, 0x80]) }

    /// 77 { ContentInfo }.
    public var encoded: [UInt8] { TLV(tag: SOD.tag, value: cms).encoded }

    /// The signed content (eContent) of the SignedData: the DER LDSSecurityObject whose digest
    /// the signer's messageDigest attribute covers.
    /// - Throws: `LDSError.invalidSecurityObject` naming the CMS element that is wrong.
    public func encapsulatedContent() throws(LDSError) -> (contentType: String, content: [UInt8]) {
        if isIndefiniteLength {
            // BER: OpenSSL's CMS decoder reads indefinite lengths; the strict DER walk below does not.
            guard let parsed = try? CMSSignedData(der: cms), let content = parsed.content else {
                throw .invalidSecurityObject("the BER SignedData has no eContent")
            }
            return (parsed.contentType, content)
        }
        let contentInfo = try DER.children(DER.parse(cms, file: "EF.SOD"))
        guard contentInfo.count == 2, contentInfo[0].tag == 0x06, contentInfo[1].tag == 0xA0 else {
            throw .invalidSecurityObject("ContentInfo is not { OID, [0] content }")
        }
        guard DER.oid(contentInfo[0].value) == "1.2.840.113549.1.7.2" else {
            throw .invalidSecurityObject("ContentInfo type is not signedData (1.2.840.113549.1.7.2)")
        }
        let signedData = try DER.children(DER.single(contentInfo[1]))
        guard signedData.count >= 4, signedData[0].tag == 0x02, signedData[1].tag == 0x31,
            signedData[2].tag == 0x30
        else { throw .invalidSecurityObject("SignedData lacks version, digestAlgorithms or encapContentInfo") }
        let encap = try DER.children(signedData[2])
        guard encap.count == 2, encap[0].tag == 0x06, encap[1].tag == 0xA0,
            let contentType = DER.oid(encap[0].value)
        else { throw .invalidSecurityObject("encapContentInfo has no eContent") }
        let octets = try DER.single(encap[1])
        guard octets.tag == 0x04 else { throw .invalidSecurityObject("eContent is not an OCTET STRING") }
        return (contentType, octets.value)
    }

    /// The LDS security object: hash algorithm and data-group hashes.
    public func securityObject() throws(LDSError) -> LDSSecurityObject {
        try LDSSecurityObject.parse(der: encapsulatedContent().content)
    }
}

/// LDSSecurityObject (ICAO 9303-10 §4.6.2.2):
/// SEQUENCE { version INTEGER, hashAlgorithm AlgorithmIdentifier,
/// dataGroupHashValues SEQUENCE OF DataGroupHash { INTEGER, OCTET STRING }, ldsVersionInfo OPTIONAL }.
public struct LDSSecurityObject: Sendable, Equatable {
    public struct DataGroupHash: Sendable, Equatable {
        public var dataGroup: DataGroup
        public var hash: [UInt8]

        public init(dataGroup: DataGroup, hash: [UInt8]) {
            self.dataGroup = dataGroup
            self.hash = hash
        }
    }

    /// 0 (V0) or 1 (V1, with LDS version info).
    public var version: Int
    /// Dotted OID of the hash algorithm, e.g. `2.16.840.1.101.3.4.2.1` (SHA-256).
    public var hashAlgorithm: String
    public var dataGroupHashes: [DataGroupHash]
    /// V1 only: LDS version (e.g. `0108`) and Unicode version.
    public var ldsVersion: String?
    public var unicodeVersion: String?

    public init(
        version: Int = 0, hashAlgorithm: String, dataGroupHashes: [DataGroupHash],
        ldsVersion: String? = nil, unicodeVersion: String? = nil
    ) {
        self.version = version
        self.hashAlgorithm = hashAlgorithm
        self.dataGroupHashes = dataGroupHashes
        self.ldsVersion = ldsVersion
        self.unicodeVersion = unicodeVersion
    }

    /// The common name of the hash algorithm (`SHA-1`, `SHA-224`, `SHA-256`, `SHA-384`, `SHA-512`), or nil.
    public var hashAlgorithmName: String? {
        switch hashAlgorithm {
        case "1.3.14.3.2.26": return "SHA-1"
        case "2.16.840.1.101.3.4.2.4": return "SHA-224"
        case "2.16.840.1.101.3.4.2.1": return "SHA-256"
        case "2.16.840.1.101.3.4.2.2": return "SHA-384"
        case "2.16.840.1.101.3.4.2.3": return "SHA-512"
        default: return nil
        }
    }

    /// The stored hash of `group`, if listed.
    public func hash(of group: DataGroup) -> [UInt8]? {
        dataGroupHashes.first { $0.dataGroup == group }?.hash
    }

    /// Parses the DER LDSSecurityObject.
    /// - Throws: `LDSError.invalidSecurityObject` naming the element that is wrong.
    public static func parse(der: [UInt8]) throws(LDSError) -> LDSSecurityObject {
        let fields = try DER.children(DER.parse(der, file: "EF.SOD"))
        guard fields.count == 3 || fields.count == 4, fields[0].tag == 0x02, fields[1].tag == 0x30,
            fields[2].tag == 0x30
        else { throw .invalidSecurityObject("LDSSecurityObject is not { version, AlgorithmIdentifier, hashes }") }
        guard let version = DER.smallInteger(fields[0].value), version == 0 || version == 1 else {
            throw .invalidSecurityObject("LDSSecurityObject version is not 0 or 1")
        }
        let algorithm = try DER.children(fields[1])
        guard let first = algorithm.first, first.tag == 0x06, let oid = DER.oid(first.value) else {
            throw .invalidSecurityObject("hash AlgorithmIdentifier has no OID")
        }
        var hashes: [DataGroupHash] = []
        for entry in try DER.children(fields[2]) {
            let pair = try DER.children(entry)
            guard entry.tag == 0x30, pair.count == 2, pair[0].tag == 0x02, pair[1].tag == 0x04,
                let number = DER.smallInteger(pair[0].value), let group = DataGroup(number: number)
            else { throw .invalidSecurityObject("DataGroupHash is not { 1…16, OCTET STRING }") }
            guard !hashes.contains(where: { $0.dataGroup == group }) else {
                throw .invalidSecurityObject("\(group) is hashed twice")
            }
            guard (20...64).contains(pair[1].value.count) else {
                throw .invalidSecurityObject("\(group) hash has \(pair[1].value.count) bytes")
            }
            hashes.append(DataGroupHash(dataGroup: group, hash: pair[1].value))
        }
        var result = LDSSecurityObject(version: version, hashAlgorithm: oid, dataGroupHashes: hashes)
        if fields.count == 4 {
            let info = try DER.children(fields[3])
            guard fields[3].tag == 0x30, info.count == 2, info.allSatisfy({ $0.tag == 0x13 }) else {
                throw .invalidSecurityObject("LDSVersionInfo is not two PrintableStrings")
            }
            result.ldsVersion = String(decoding: info[0].value, as: UTF8.self)
            result.unicodeVersion = String(decoding: info[1].value, as: UTF8.self)
        }
        return result
    }

    /// The DER encoding (hash AlgorithmIdentifier without parameters, as RFC 5754 recommends).
    /// Returns nil if `hashAlgorithm` is not a valid dotted OID.
    public var der: [UInt8]? {
        guard let oid = DER.encodeOID(hashAlgorithm) else { return nil }
        var fields = [
            DER.integer(version),
            TLV(tag: 0x30, children: [TLV(tag: 0x06, value: oid)]),
            TLV(
                tag: 0x30,
                children: dataGroupHashes.map {
                    TLV(tag: 0x30, children: [DER.integer($0.dataGroup.number), TLV(tag: 0x04, value: $0.hash)])
                }),
        ]
        if let ldsVersion, let unicodeVersion {
            fields.append(
                TLV(
                    tag: 0x30,
                    children: [
                        TLV(tag: 0x13, value: Array(ldsVersion.utf8)),
                        TLV(tag: 0x13, value: Array(unicodeVersion.utf8)),
                    ]))
        }
        return TLV(tag: 0x30, children: fields).encoded
    }
}

/// The few DER helpers EF.SOD needs, on top of the strict BER-TLV reader.
enum DER {
    static func parse(_ bytes: [UInt8], file: String) throws(LDSError) -> TLV {
        do {
            return try TLV.parse(bytes)
        } catch {
            throw .malformedTLV(file: file, error)
        }
    }

    static func children(_ tlv: TLV) throws(LDSError) -> [TLV] {
        guard tlv.isConstructed else { throw .invalidSecurityObject("expected a constructed DER element") }
        do {
            return try tlv.children()
        } catch {
            throw .malformedTLV(file: "EF.SOD", error)
        }
    }

    /// The one element inside an explicit tag.
    static func single(_ tlv: TLV) throws(LDSError) -> TLV {
        let inner = try children(tlv)
        guard inner.count == 1 else { throw .invalidSecurityObject("explicit tag holds \(inner.count) elements") }
        return inner[0]
    }

    /// A non-negative INTEGER of up to 4 bytes.
    static func smallInteger(_ bytes: [UInt8]) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 4, bytes[0] & 0x80 == 0 else { return nil }
        return bytes.reduce(0) { $0 << 8 | Int($1) }
    }

    /// A non-negative INTEGER: the minimal unsigned bytes, with a zero sign byte when the top bit is set.
    static func integer(_ value: Int) -> TLV {
        var bytes = TLV.minimalUnsigned(value)
        if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return TLV(tag: 0x02, value: bytes)
    }

    /// Dotted form of an OBJECT IDENTIFIER's content, or nil if malformed.
    static func oid(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, bytes.last.map({ $0 & 0x80 == 0 }) == true else { return nil }
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        var started = false
        for byte in bytes {
            if !started, byte == 0x80 { return nil }
            guard value < (1 << 56) else { return nil }
            value = value << 7 | UInt64(byte & 0x7F)
            started = true
            if byte & 0x80 == 0 {
                arcs.append(value)
                value = 0
                started = false
            }
        }
        let first = arcs[0]
        let head: [UInt64] = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80]
        return (head + arcs.dropFirst()).map(String.init).joined(separator: ".")
    }

    static func encodeOID(_ dotted: String) -> [UInt8]? {
        let parts = dotted.split(separator: ".").map { UInt64($0) }
        guard parts.count >= 2, parts.allSatisfy({ $0 != nil }) else { return nil }
        let arcs = parts.compactMap { $0 }
        guard arcs[0] <= 2, arcs[0] == 2 || arcs[1] < 40 else { return nil }
        var out: [UInt8] = []
        for arc in [arcs[0] * 40 + arcs[1]] + arcs.dropFirst(2) {
            var chunk: [UInt8] = [UInt8(arc & 0x7F)]
            var rest = arc >> 7
            while rest > 0 {
                chunk.insert(UInt8(rest & 0x7F) | 0x80, at: 0)
                rest >>= 7
            }
            out += chunk
        }
        return out
    }
}

/// Reads just enough BER (ISO/IEC 8825-1 §8.1: definite and indefinite lengths) to find the SignedData version and
/// eContentType of a ContentInfo, whatever its length encoding. Bounded: at most 16 levels and the input's bytes.
enum BERWalker {
    struct Header {
        var tag: UInt8
        /// nil: indefinite (contents end with 00 00).
        var length: Int?
    }

    /// ContentInfo { OID, [0] SignedData { INTEGER version, SET digestAlgorithms, SEQUENCE { OID eContentType … } } }.
    static func signedDataVersion(_ bytes: [UInt8]) -> (version: Int, contentType: String?)? {
        var offset = 0
        guard let contentInfo = header(bytes, &offset), contentInfo.tag == 0x30,
            let oid = header(bytes, &offset), oid.tag == 0x06, let oidLength = oid.length,
            offset + oidLength <= bytes.count,
            DER.oid(Array(bytes[offset..<(offset + oidLength)])) == "1.2.840.113549.1.7.2"
        else { return nil }
        offset += oidLength
        guard let explicit = header(bytes, &offset), explicit.tag == 0xA0,
            let signedData = header(bytes, &offset), signedData.tag == 0x30,
            let version = header(bytes, &offset), version.tag == 0x02, let versionLength = version.length,
            versionLength >= 1, versionLength <= 2, offset + versionLength <= bytes.count,
            let number = DER.smallInteger(Array(bytes[offset..<(offset + versionLength)]))
        else { return nil }
        offset += versionLength
        guard let digests = header(bytes, &offset), digests.tag == 0x31, skip(digests, bytes, &offset, depth: 0),
            let encap = header(bytes, &offset), encap.tag == 0x30,
            let type = header(bytes, &offset), type.tag == 0x06, let typeLength = type.length,
            offset + typeLength <= bytes.count
        else { return (number, nil) }
        return (number, DER.oid(Array(bytes[offset..<(offset + typeLength)])))
    }

    /// One identifier and length; single-byte tags only (all this walk needs).
    static func header(_ bytes: [UInt8], _ offset: inout Int) -> Header? {
        guard offset + 2 <= bytes.count, bytes[offset] & 0x1F != 0x1F else { return nil }
        let tag = bytes[offset]
        let first = bytes[offset + 1]
        offset += 2
        if first < 0x80 { return Header(tag: tag, length: Int(first)) }
        if first == 0x80 { return tag & 0x20 != 0 ? Header(tag: tag, length: nil) : nil }
        let count = Int(first & 0x7F)
        guard count <= 3, offset + count <= bytes.count else { return nil }
        let length = bytes[offset..<(offset + count)].reduce(0) { $0 << 8 | Int($1) }
        offset += count
        return Header(tag: tag, length: length)
    }

    /// Skips the contents of the element whose header was just read.
    static func skip(_ element: Header, _ bytes: [UInt8], _ offset: inout Int, depth: Int) -> Bool {
        if let length = element.length {
            guard offset + length <= bytes.count else { return false }
            offset += length
            return true
        }
        guard depth < 16 else { return false }
        while offset + 2 <= bytes.count {
            if bytes[offset] == 0 && bytes[offset + 1] == 0 {
                offset += 2
                return true
            }
            guard let child = header(bytes, &offset), skip(child, bytes, &offset, depth: depth + 1) else {
                return false
            }
        }
        return false
    }
}
