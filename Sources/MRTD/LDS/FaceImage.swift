/// The encodings a DG2 face image may use (ICAO 9303-10 §4.7.2: JPEG or JPEG 2000).
public enum FaceImageEncoding: String, Sendable, CaseIterable {
    case jpeg = "JPEG"
    case jpeg2000 = "JPEG 2000"

    /// The ISO/IEC 19794-5 image data type: 0 = JPEG, 1 = JPEG 2000.
    public var imageDataType: UInt8 { self == .jpeg ? 0 : 1 }

    public init?(imageDataType: UInt8) {
        switch imageDataType {
        case 0: self = .jpeg
        case 1: self = .jpeg2000
        default: return nil
        }
    }

    /// Recognises the image by its signature: JPEG `FF D8 FF`, a JP2 file (`00 00 00 0C 6A 50 20 20`)
    /// or a raw JPEG 2000 codestream (`FF 4F FF 51`).
    public static func detect(_ bytes: [UInt8]) -> FaceImageEncoding? {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if bytes.starts(with: [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) { return .jpeg2000 }
        if bytes.starts(with: [0xFF, 0x4F, 0xFF, 0x51]) { return .jpeg2000 }
        return nil
    }
}

/// Pose angles in the ISO/IEC 19794-5 encoding (0 = unspecified, 1…181 = −180°…+180° in 2° steps).
public struct FacePoseAngles: Sendable, Equatable {
    public var yaw: UInt8
    public var pitch: UInt8
    public var roll: UInt8

    public init(yaw: UInt8 = 0, pitch: UInt8 = 0, roll: UInt8 = 0) {
        self.yaw = yaw
        self.pitch = pitch
        self.roll = roll
    }
}

/// A facial feature point (ISO/IEC 19794-5 §5.6): type, MPEG-4 code, position in pixels.
public struct FacialFeaturePoint: Sendable, Equatable {
    public var type: UInt8
    /// Major code in the high nibble, minor code in the low nibble.
    public var code: UInt8
    public var x: UInt16
    public var y: UInt16
    public var reserved: UInt16

    public init(type: UInt8 = 1, code: UInt8, x: UInt16, y: UInt16, reserved: UInt16 = 0) {
        self.type = type
        self.code = code
        self.x = x
        self.y = y
        self.reserved = reserved
    }
}

/// One face of an ISO/IEC 19794-5 (2005) facial record: the facial information, feature points,
/// image information and the image bytes exactly as stored on the chip.
public struct FaceImage: Sendable, Equatable {
    public var format: FaceImageEncoding
    public var width: UInt16
    public var height: UInt16
    /// The encoded image (JPEG or JPEG 2000), byte for byte as stored.
    public var imageData: [UInt8]

    /// 0 unspecified, 1 male, 2 female, 0xFF unknown.
    public var gender: UInt8
    /// 0 unspecified … 7 multi-coloured, 0xFF other.
    public var eyeColour: UInt8
    public var hairColour: UInt8
    /// 24-bit property mask (bit 0: properties specified).
    public var featureMask: UInt32
    /// 0 unspecified, 1 neutral, 2 smile (closed jaw) ….
    public var expression: UInt16
    public var poseAngles: FacePoseAngles
    public var poseAngleUncertainty: FacePoseAngles
    public var featurePoints: [FacialFeaturePoint]

    /// 0 basic, 1 full frontal, 2 token frontal.
    public var faceImageType: UInt8
    /// 0 unspecified, 1 24-bit RGB, 2 YUV422, 3 8-bit greyscale, 4 other.
    public var colourSpace: UInt8
    /// 0 unspecified, 1 static photo (unknown source), 2 digital still camera, 3 scanner, ….
    public var sourceType: UInt8
    public var deviceType: UInt16
    public var quality: UInt16
    /// The image data type the 19794-5 header declares (0 JPEG, 1 JPEG 2000), as stored. Issued documents sometimes
    /// declare one format and store the other: `format` follows the bytes.
    public var headerImageDataType: UInt8

    /// Whether the header's image data type disagrees with the image bytes (noted, not refused: the bytes win).
    public var headerDisagreesWithImage: Bool { headerImageDataType != format.imageDataType }

    public init(
        format: FaceImageEncoding, width: UInt16, height: UInt16, imageData: [UInt8],
        gender: UInt8 = 0, eyeColour: UInt8 = 0, hairColour: UInt8 = 0, featureMask: UInt32 = 0,
        expression: UInt16 = 0, poseAngles: FacePoseAngles = FacePoseAngles(),
        poseAngleUncertainty: FacePoseAngles = FacePoseAngles(), featurePoints: [FacialFeaturePoint] = [],
        faceImageType: UInt8 = 1, colourSpace: UInt8 = 1, sourceType: UInt8 = 2,
        deviceType: UInt16 = 0, quality: UInt16 = 0, headerImageDataType: UInt8? = nil
    ) {
        self.format = format
        self.width = width
        self.height = height
        self.imageData = imageData
        self.gender = gender
        self.eyeColour = eyeColour
        self.hairColour = hairColour
        self.featureMask = featureMask & 0xFF_FFFF
        self.expression = expression
        self.poseAngles = poseAngles
        self.poseAngleUncertainty = poseAngleUncertainty
        self.featurePoints = featurePoints
        self.faceImageType = faceImageType
        self.colourSpace = colourSpace
        self.sourceType = sourceType
        self.deviceType = deviceType
        self.quality = quality
        self.headerImageDataType = headerImageDataType ?? format.imageDataType
    }

    /// A face from an image file's bytes: the format is recognised by signature and the size read
    /// from the JPEG frame header or the JPEG 2000 image header (used to personalise virtual cards).
    /// - Throws: `LDSError.unrecognisedImageData` if the bytes are not JPEG/JPEG 2000 or carry no size;
    ///   `.tooLarge` above `limits.maxImageSize`.
    public init(encodedImage: [UInt8], limits: LDSLimits = .default) throws(LDSError) {
        guard encodedImage.count <= limits.maxImageSize else {
            throw .tooLarge(file: "DG2", element: "face image", size: encodedImage.count, limit: limits.maxImageSize)
        }
        guard let format = FaceImageEncoding.detect(encodedImage),
            let size = ImageDimensions.read(encodedImage, format: format)
        else { throw .unrecognisedImageData }
        self.init(format: format, width: size.width, height: size.height, imageData: encodedImage)
    }
}

/// Reads an image's pixel size from its header without decoding it.
enum ImageDimensions {
    static func read(_ bytes: [UInt8], format: FaceImageEncoding) -> (width: UInt16, height: UInt16)? {
        switch format {
        case .jpeg: return jpeg(bytes)
        case .jpeg2000: return bytes.starts(with: [0xFF, 0x4F]) ? codestream(bytes, at: 0) : jp2(bytes)
        }
    }

    private static func be16(_ b: [UInt8], _ at: Int) -> Int? {
        at >= 0 && at + 2 <= b.count ? Int(b[at]) << 8 | Int(b[at + 1]) : nil
    }

    private static func be32(_ b: [UInt8], _ at: Int) -> Int? {
        guard let high = be16(b, at), let low = be16(b, at + 2) else { return nil }
        return high << 16 | low
    }

    private static func fit(_ width: Int, _ height: Int) -> (width: UInt16, height: UInt16)? {
        guard let w = UInt16(exactly: width), let h = UInt16(exactly: height), w > 0, h > 0 else { return nil }
        return (w, h)
    }

    /// Walks the JPEG markers to the first start-of-frame (SOF0…SOF15 except DHT, JPG, DAC).
    private static func jpeg(_ b: [UInt8]) -> (width: UInt16, height: UInt16)? {
        var offset = 2
        while offset + 4 <= b.count {
            guard b[offset] == 0xFF else { return nil }
            let marker = b[offset + 1]
            if marker == 0xFF {
                offset += 1
                continue
            }
            guard let length = be16(b, offset + 2), length >= 2 else { return nil }
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard let height = be16(b, offset + 5), let width = be16(b, offset + 7) else { return nil }
                return fit(width, height)
            }
            if marker == 0xDA { return nil }
            offset += 2 + length
        }
        return nil
    }

    /// JPEG 2000 codestream SIZ segment: Xsiz − XOsiz by Ysiz − YOsiz.
    private static func codestream(_ b: [UInt8], at start: Int) -> (width: UInt16, height: UInt16)? {
        guard be16(b, start) == 0xFF4F, be16(b, start + 2) == 0xFF51,
            let xsiz = be32(b, start + 8), let ysiz = be32(b, start + 12),
            let xo = be32(b, start + 16), let yo = be32(b, start + 20), xsiz > xo, ysiz > yo
        else { return nil }
        return fit(xsiz - xo, ysiz - yo)
    }

    /// JP2 file: the image header box ('ihdr': height, width) inside the header box.
    private static func jp2(_ b: [UInt8]) -> (width: UInt16, height: UInt16)? {
        let ihdr: [UInt8] = [0x69, 0x68, 0x64, 0x72]
        let searchEnd = min(b.count, 4096) - 4
        guard searchEnd > 0 else { return nil }
        for index in 0..<searchEnd where Array(b[index..<(index + 4)]) == ihdr {
            guard let height = be32(b, index + 4), let width = be32(b, index + 8) else { return nil }
            return fit(width, height)
        }
        return nil
    }
}
