import SmartCard

/// The biometric header template (tag A1, ISO/IEC 7816-11 and ICAO 9303-10 §4.7.2.1). Values are
/// kept as stored; absent ones are `nil`.
public struct BiometricHeader: Sendable, Equatable {
    /// 80: ICAO header version (`01 01`).
    public var version: [UInt8]?
    /// 81: biometric type (`02` = facial features).
    public var biometricType: [UInt8]?
    /// 82: biometric subtype.
    public var subtype: [UInt8]?
    /// 83: creation date and time (7 bytes BCD, YYYYMMDDhhmmss).
    public var creationDate: [UInt8]?
    /// 85: validity period (8 bytes BCD, from–to YYYYMMDD).
    public var validityPeriod: [UInt8]?
    /// 86: creator of the biometric reference data (PID).
    public var creator: [UInt8]?
    /// 87: format owner (`01 01` = ISO/IEC JTC 1/SC 37).
    public var formatOwner: [UInt8]
    /// 88: format type (`00 08` = ISO/IEC 19794-5 face).
    public var formatType: [UInt8]

    /// The header ICAO 9303-10 asks for with an ISO/IEC 19794-5 face.
    public static let iso19794Face = BiometricHeader(
        version: [0x01, 0x01], biometricType: [0x02],
        formatOwner: [0x01, 0x01], formatType: [0x00, 0x08])

    public init(
        version: [UInt8]? = nil, biometricType: [UInt8]? = nil, subtype: [UInt8]? = nil,
        creationDate: [UInt8]? = nil, validityPeriod: [UInt8]? = nil, creator: [UInt8]? = nil,
        formatOwner: [UInt8], formatType: [UInt8]
    ) {
        self.version = version
        self.biometricType = biometricType
        self.subtype = subtype
        self.creationDate = creationDate
        self.validityPeriod = validityPeriod
        self.creator = creator
        self.formatOwner = formatOwner
        self.formatType = formatType
    }

    static func parse(_ children: TLVChildren) throws(LDSError) -> BiometricHeader {
        BiometricHeader(
            version: children.optional(0x80)?.value, biometricType: children.optional(0x81)?.value,
            subtype: children.optional(0x82)?.value, creationDate: children.optional(0x83)?.value,
            validityPeriod: children.optional(0x85)?.value, creator: children.optional(0x86)?.value,
            formatOwner: try children.required(0x87).value, formatType: try children.required(0x88).value)
    }

    var tlv: TLV {
        let fields: [(UInt32, [UInt8]?)] = [
            (0x80, version), (0x81, biometricType), (0x82, subtype), (0x83, creationDate),
            (0x85, validityPeriod), (0x86, creator), (0x87, formatOwner), (0x88, formatType),
        ]
        return TLV(tag: 0xA1, children: fields.compactMap { tag, value in value.map { TLV(tag: tag, value: $0) } })
    }
}

/// DG2 (ICAO 9303-10 §4.7.2): the encoded face(s) in a CBEFF biometric information group
/// template (7F61) holding one biometric information template (7F60) per instance, each with a
/// header (A1) and an ISO/IEC 19794-5 biometric data block (5F2E).
///
/// ISO/IEC 39794-5 data blocks (7F2E) are read best-effort (2D images only, see `ISO39794Face`);
/// the encoder always writes ISO/IEC 19794-5.
public struct DG2: Sendable, Equatable {
    public static let tag: UInt32 = 0x75

    /// The standard a biometric data block was read from.
    public enum BiometricDataEncoding: String, Sendable {
        /// ISO/IEC 19794-5:2005 binary facial record (tag 5F2E).
        case iso19794_5 = "ISO/IEC 19794-5"
        /// ISO/IEC 39794-5 tag-based face image data (tag 7F2E).
        case iso39794_5 = "ISO/IEC 39794-5"
    }

    /// One biometric information template (7F60): its header and the faces of its data block.
    public struct BiometricTemplate: Sendable, Equatable {
        public var header: BiometricHeader
        public var faces: [FaceImage]
        /// How the faces were stored; templates are always encoded as ISO/IEC 19794-5.
        public var encoding: BiometricDataEncoding

        public init(
            header: BiometricHeader = .iso19794Face, faces: [FaceImage],
            encoding: BiometricDataEncoding = .iso19794_5
        ) {
            self.header = header
            self.faces = faces
            self.encoding = encoding
        }
    }

    public var templates: [BiometricTemplate]

    /// Every face of every template, in stored order.
    public var faces: [FaceImage] { templates.flatMap(\.faces) }

    public init(templates: [BiometricTemplate]) { self.templates = templates }

    /// One template per face, each with the standard 19794-5 header.
    public init(faces: [FaceImage]) {
        self.templates = faces.map { BiometricTemplate(faces: [$0]) }
    }

    /// Parses DG2, checking every count and length against its container.
    /// - Throws: `LDSError` naming the inconsistency (TLV structure, instance count, 19794-5 magic,
    ///   version, record or block length, image type or signature, size limits).
    public static func parse(_ bytes: [UInt8], limits: LDSLimits = .default) throws(LDSError) -> DG2 {
        let file = "DG2"
        let outer = try LDSCoding.template(bytes, tag: tag, file: file, limits: limits)
        let group = try outer.nested(outer.required(0x7F61))
        let countValue = try group.required(0x02).value
        guard countValue.count == 1 else {
            throw .invalidValue(file: file, field: "number of instances (02)", reason: "expected one byte")
        }
        let instances = group.all(0x7F60)
        guard instances.count == Int(countValue[0]) else {
            throw .countMismatch(
                file: file, element: "biometric template", declared: Int(countValue[0]),
                found: instances.count)
        }
        guard !instances.isEmpty else { throw .missingField(file: file, tag: 0x7F60) }
        guard instances.count <= limits.maxFaces else {
            throw .invalidValue(file: file, field: "number of instances", reason: "above \(limits.maxFaces)")
        }
        var templates: [BiometricTemplate] = []
        var faceCount = 0
        for instance in instances {
            let body = try group.nested(instance)
            let header = try BiometricHeader.parse(body.nested(body.required(0xA1)))
            let faces: [FaceImage]
            let encoding: BiometricDataEncoding
            if let tagged = body.optional(0x7F2E) {
                (faces, encoding) = (try ISO39794Face.parse(tagged.value, limits: limits), .iso39794_5)
            } else {
                (faces, encoding) = (try FacialRecord.parse(body.required(0x5F2E).value, limits: limits), .iso19794_5)
            }
            faceCount += faces.count
            guard faceCount <= limits.maxFaces else {
                throw .invalidValue(file: file, field: "number of faces", reason: "above \(limits.maxFaces)")
            }
            templates.append(BiometricTemplate(header: header, faces: faces, encoding: encoding))
        }
        return DG2(templates: templates)
    }

    /// 75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E 19794-5 record } … } }, every length computed.
    public var encoded: [UInt8] {
        let instances = templates.map { template in
            let record = TLV(tag: 0x5F2E, value: FacialRecord.encode(template.faces))
            return TLV(tag: 0x7F60, children: [template.header.tlv, record])
        }
        let count = TLV(tag: 0x02, value: [UInt8(truncatingIfNeeded: instances.count)])
        return TLV(tag: DG2.tag, children: [TLV(tag: 0x7F61, children: [count] + instances)]).encoded
    }
}
