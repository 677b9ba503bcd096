/// ISO/IEC 19794-5:2005 facial record data (the biometric data block of DG2, tag 5F2E).
///
/// Layout: header `FAC\0`, version `010\0`, record length (4), number of faces (2); then per
/// face: facial information (20 bytes: block length (4), feature point count (2), gender, eye
/// colour, hair colour, feature mask (3), expression (2), pose angles (3), uncertainty (3)),
/// feature points (8 bytes each), image information (12 bytes: face image type, image data type,
/// width (2), height (2), colour space, source type, device type (2), quality (2)), image data.
enum FacialRecord {
    static let magic: [UInt8] = [0x46, 0x41, 0x43, 0x00]
    static let version: [UInt8] = [0x30, 0x31, 0x30, 0x00]
    static let headerLength = 14
    static let facialInformationLength = 20
    static let featurePointLength = 8
    static let imageInformationLength = 12

    static func parse(_ data: [UInt8], limits: LDSLimits) throws(LDSError) -> [FaceImage] {
        var cursor = ByteCursor(data)
        let header = "facial record header"
        let magicBytes = try cursor.bytes(4, header)
        guard magicBytes == magic else { throw .invalidFacialRecordMagic(magicBytes) }
        let versionBytes = try cursor.bytes(4, header)
        guard versionBytes == version else { throw .unsupportedFacialRecordVersion(versionBytes) }
        let recordLength = Int(try cursor.uint32(header))
        guard recordLength == data.count else {
            throw .facialRecordLengthMismatch(element: "facial record", declared: recordLength, actual: data.count)
        }
        let count = Int(try cursor.uint16(header))
        guard count >= 1 else { throw .invalidValue(file: "DG2", field: "number of faces", reason: "zero") }
        guard count <= limits.maxFaces else {
            throw .invalidValue(file: "DG2", field: "number of faces", reason: "\(count) above \(limits.maxFaces)")
        }
        var faces: [FaceImage] = []
        for index in 1...count {
            faces.append(try parseFace(&cursor, index: index, limits: limits))
        }
        guard cursor.remaining == 0 else {
            throw .facialRecordLengthMismatch(
                element: "facial record (sum of face blocks)",
                declared: cursor.offset, actual: data.count)
        }
        return faces
    }

    private static func parseFace(
        _ cursor: inout ByteCursor, index: Int, limits: LDSLimits
    ) throws(LDSError)
        -> FaceImage
    {
        let element = "face \(index) facial information"
        let blockStart = cursor.offset
        let available = cursor.remaining
        let blockLength = Int(try cursor.uint32(element))
        guard blockLength <= available else {
            throw .facialRecordTruncated(element: "face \(index) block", needed: blockLength, available: available)
        }
        let pointCount = Int(try cursor.uint16(element))
        let fixed = facialInformationLength + pointCount * featurePointLength + imageInformationLength
        guard blockLength >= fixed else {
            throw .facialRecordLengthMismatch(
                element: "face \(index) block (headers need \(fixed))",
                declared: blockLength, actual: fixed)
        }
        let gender = try cursor.uint8(element)
        let eyes = try cursor.uint8(element)
        let hair = try cursor.uint8(element)
        let mask = try cursor.uint24(element)
        let expression = try cursor.uint16(element)
        let pose = FacePoseAngles(
            yaw: try cursor.uint8(element), pitch: try cursor.uint8(element),
            roll: try cursor.uint8(element))
        let uncertainty = FacePoseAngles(
            yaw: try cursor.uint8(element), pitch: try cursor.uint8(element),
            roll: try cursor.uint8(element))
        var points: [FacialFeaturePoint] = []
        for _ in 0..<pointCount {
            let what = "face \(index) feature point"
            points.append(
                FacialFeaturePoint(
                    type: try cursor.uint8(what), code: try cursor.uint8(what),
                    x: try cursor.uint16(what), y: try cursor.uint16(what),
                    reserved: try cursor.uint16(what)))
        }
        let info = "face \(index) image information"
        let faceType = try cursor.uint8(info)
        let dataType = try cursor.uint8(info)
        let width = try cursor.uint16(info)
        let height = try cursor.uint16(info)
        let colourSpace = try cursor.uint8(info)
        let source = try cursor.uint8(info)
        let device = try cursor.uint16(info)
        let quality = try cursor.uint16(info)
        let imageLength = blockLength - (cursor.offset - blockStart)
        guard imageLength <= limits.maxImageSize else {
            throw .tooLarge(file: "DG2", element: "face \(index) image", size: imageLength, limit: limits.maxImageSize)
        }
        let image = try cursor.bytes(imageLength, "face \(index) image")
        // The bytes decide the format: issued documents sometimes declare JPEG for a JPEG 2000 image or the reverse
        // (kept in `headerImageDataType`, `headerDisagreesWithImage`). Bytes of neither format are refused.
        guard let detected = FaceImageEncoding.detect(image) else {
            if FaceImageEncoding(imageDataType: dataType) == nil { throw .unsupportedImageDataType(dataType) }
            throw .unrecognisedImageData
        }
        return FaceImage(
            format: detected, width: width, height: height, imageData: image, gender: gender,
            eyeColour: eyes, hairColour: hair, featureMask: mask, expression: expression,
            poseAngles: pose, poseAngleUncertainty: uncertainty, featurePoints: points,
            faceImageType: faceType, colourSpace: colourSpace, sourceType: source,
            deviceType: device, quality: quality, headerImageDataType: dataType)
    }

    static func encode(_ faces: [FaceImage]) -> [UInt8] {
        let blocks = faces.map(encode(face:))
        let total = headerLength + blocks.reduce(0) { $0 + $1.count }
        var out = magic + version
        out += be(UInt32(truncatingIfNeeded: total), 4) + be(UInt32(truncatingIfNeeded: faces.count), 2)
        for block in blocks { out += block }
        return out
    }

    private static func encode(face: FaceImage) -> [UInt8] {
        let length =
            facialInformationLength + face.featurePoints.count * featurePointLength
            + imageInformationLength + face.imageData.count
        var out = be(UInt32(truncatingIfNeeded: length), 4)
        out += be(UInt32(truncatingIfNeeded: face.featurePoints.count), 2)
        out +=
            [face.gender, face.eyeColour, face.hairColour] + be(face.featureMask, 3) + be(UInt32(face.expression), 2)
        out += [face.poseAngles.yaw, face.poseAngles.pitch, face.poseAngles.roll]
        out += [face.poseAngleUncertainty.yaw, face.poseAngleUncertainty.pitch, face.poseAngleUncertainty.roll]
        for point in face.featurePoints {
            out +=
                [point.type, point.code] + be(UInt32(point.x), 2) + be(UInt32(point.y), 2)
                + be(UInt32(point.reserved), 2)
        }
        out += [face.faceImageType, face.headerImageDataType] + be(UInt32(face.width), 2) + be(UInt32(face.height), 2)
        out += [face.colourSpace, face.sourceType] + be(UInt32(face.deviceType), 2) + be(UInt32(face.quality), 2)
        return out + face.imageData
    }

    private static func be(_ value: UInt32, _ width: Int) -> [UInt8] {
        (0..<width).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) }
    }
}

/// A bounds-checked big-endian reader over a byte array.
struct ByteCursor {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func bytes(_ count: Int, _ element: String) throws(LDSError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw .facialRecordTruncated(element: element, needed: count, available: remaining)
        }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func uint8(_ element: String) throws(LDSError) -> UInt8 { try bytes(1, element)[0] }

    mutating func uint16(_ element: String) throws(LDSError) -> UInt16 { UInt16(try unsigned(2, element)) }

    mutating func uint24(_ element: String) throws(LDSError) -> UInt32 { try unsigned(3, element) }

    mutating func uint32(_ element: String) throws(LDSError) -> UInt32 { try unsigned(4, element) }

    private mutating func unsigned(_ width: Int, _ element: String) throws(LDSError) -> UInt32 {
        try bytes(width, element).reduce(0) { $0 << 8 | UInt32($1) }
    }
}
