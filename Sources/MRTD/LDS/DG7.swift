import SmartCard

/// DG7, displayed signature or usual mark (ICAO 9303-10 §4.7.7): template '67' { '02' count, '5F43' image … }.
/// The images are kept byte for byte (usually JPEG or JPEG 2000).
public struct DG7: Sendable, Equatable {
    public static let tag: UInt32 = 0x67

    /// The displayed signatures or usual marks, as stored.
    public var images: [[UInt8]]

    public init(images: [[UInt8]]) { self.images = images }

    /// The format of each image when its bytes carry a JPEG or JPEG 2000 signature.
    public var formats: [FaceImageEncoding?] { images.map(FaceImageEncoding.detect) }

    /// Parses DG7. Throws `LDSError` for a wrong template, a count (02) that disagrees with the images, more than
    /// `limits.maxFaces` images or an image above `limits.maxImageSize`.
    public static func parse(_ bytes: [UInt8], limits: LDSLimits = .default) throws(LDSError) -> DG7 {
        let body = try LDSCoding.template(bytes, tag: tag, file: "DG7", limits: limits)
        let images = body.all(0x5F43).map(\.value)
        try LDSCoding.checkCount(body, found: images.count, element: "displayed signature")
        guard images.count <= limits.maxFaces else {
            throw .invalidValue(file: "DG7", field: "number of images", reason: "above \(limits.maxFaces)")
        }
        for image in images where image.count > limits.maxImageSize {
            throw .tooLarge(file: "DG7", element: "image", size: image.count, limit: limits.maxImageSize)
        }
        return DG7(images: images)
    }

    /// 67 { 02 count, 5F43 image … }.
    public var encoded: [UInt8] {
        let count = TLV(tag: 0x02, value: [UInt8(truncatingIfNeeded: images.count)])
        return TLV(tag: DG7.tag, children: [count] + images.map { TLV(tag: 0x5F43, value: $0) }).encoded
    }
}
