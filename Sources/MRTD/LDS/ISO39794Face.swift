import SmartCard

/// A best-effort reader for ISO/IEC 39794-5 (tag-based) face image data in a DG2 biometric data
/// block (tag 7F2E). Only the 2D image representations are read:
///
/// FaceImageDataBlock ::= [APPLICATION 5] SEQUENCE { versionBlock [0], representationBlocks [1]
/// SEQUENCE OF RepresentationBlock }, and in each representation block
/// imageRepresentation [1] → base [0] → imageRepresentation2DBlock [0] → representationData2D [0].
///
/// The image format and size are taken from the image bytes themselves (signature and frame
/// header), not from the optional 39794-5 fields; the facial information fields of `FaceImage`
/// keep their defaults. This layout has not yet been checked against a chip sample.
enum ISO39794Face {
    static func parse(_ value: [UInt8], limits: LDSLimits) throws(LDSError) -> [FaceImage] {
        let file = "DG2"
        let dataBlock = try findDataBlock(value)
        let children = try TLVChildren(dataBlock, file: file)
        let blocksObject = try children.required(0xA1)
        let blocksList = try children.nested(blocksObject)
        let blocks =
            !blocksList.items.isEmpty && blocksList.items.allSatisfy { $0.tag == 0x30 }
            ? blocksList.items : [blocksObject]
        guard blocks.count <= limits.maxFaces else {
            throw .invalidValue(
                file: file, field: "ISO/IEC 39794-5 representation blocks",
                reason: "\(blocks.count) above \(limits.maxFaces)")
        }
        var faces: [FaceImage] = []
        for (index, block) in blocks.enumerated() {
            guard let image = try image2D(in: TLVChildren(block, file: file)) else { continue }
            guard image.count <= limits.maxImageSize else {
                throw .tooLarge(
                    file: file, element: "face \(index + 1) image", size: image.count,
                    limit: limits.maxImageSize)
            }
            guard let format = FaceImageEncoding.detect(image) else { throw .unrecognisedImageData }
            let size = ImageDimensions.read(image, format: format)
            faces.append(
                FaceImage(
                    format: format, width: size?.width ?? 0, height: size?.height ?? 0,
                    imageData: image))
        }
        guard !faces.isEmpty else {
            throw .invalidValue(file: file, field: "ISO/IEC 39794-5 data block", reason: "no 2D face image")
        }
        return faces
    }

    /// The [APPLICATION 5] face image data block, directly in the 7F2E value or one level down.
    private static func findDataBlock(_ value: [UInt8]) throws(LDSError) -> TLV {
        let top: [TLV]
        do {
            var reader = TLVReader(value)
            top = try reader.readAll()
        } catch {
            throw .malformedTLV(file: "DG2", error)
        }
        if let block = top.first(where: { $0.tag == 0x65 }) { return block }
        for object in top where object.isConstructed {
            if let block = try TLVChildren(object, file: "DG2").optional(0x65) { return block }
        }
        throw .invalidValue(
            file: "DG2", field: "ISO/IEC 39794-5 data block",
            reason: "no face image data block (tag 65)")
    }

    /// representationData2D, or nil for a representation that is not a 2D image (e.g. 3D shape).
    private static func image2D(in block: TLVChildren) throws(LDSError) -> [UInt8]? {
        var current = block
        for tag: UInt32 in [0xA1, 0xA0] {
            guard let next = current.optional(tag) else { return nil }
            current = try current.nested(next)
        }
        guard let twoD = current.optional(0xA0) else { return nil }
        return try current.nested(twoD).required(0x80).value
    }
}
