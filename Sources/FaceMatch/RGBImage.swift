import CFaceEngine

/// A decoded 8-bit RGB image (rows top to bottom), with the engine's codecs: for previews of DG2 portraits,
/// test fixtures and benchmarks.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Packed RGB, `width * height * 3` bytes.
    public private(set) var pixels: [UInt8]

    /// A plain image of one colour.
    public init(width: Int, height: Int, red: UInt8, green: UInt8, blue: UInt8) {
        self.width = max(0, width)
        self.height = max(0, height)
        var pixels = [UInt8](repeating: 0, count: self.width * self.height * 3)
        var index = 0
        while index < pixels.count {
            pixels[index] = red
            pixels[index + 1] = green
            pixels[index + 2] = blue
            index += 3
        }
        self.pixels = pixels
    }

    /// Packed RGB pixels as they are (`pixels.count` must be `width * height * 3`; shorter input is padded black).
    init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = max(0, width)
        self.height = max(0, height)
        let count = self.width * self.height * 3
        self.pixels =
            pixels.count >= count
            ? Array(pixels.prefix(count))
            : pixels + [UInt8](repeating: 0, count: count - pixels.count)
    }

    /// Wraps packed RGB pixels; nil unless there are exactly `width * height * 3` of them.
    public init?(width: Int, height: Int, rgb pixels: [UInt8]) {
        guard width > 0, height > 0, pixels.count == width * height * 3 else { return nil }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Decodes JPEG, PNG, JP2 or J2K, refusing from the header images over `maximumPixels` or whose decoding would
    /// allocate more than `maximumDecoderBytes` (0: the engine's default, 256 MiB).
    /// - Throws: `unsupportedImageFormat`, `undecodableImage`, `imageTooManyPixels`, `engineFailure`.
    public init(
        decoding data: [UInt8], maximumPixels: Int = 40_000_000, maximumDecoderBytes: Int = 0,
        role: FaceImageRole = .probe
    ) throws(FaceMatchError) {
        var output: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0
        var height: UInt32 = 0
        var format = ENROLLD_FACE_FORMAT_UNKNOWN
        var message = [CChar](repeating: 0, count: Int(ENROLLD_FACE_MESSAGE_CAPACITY))
        let status = data.withUnsafeBufferPointer { bytes in
            enrolld_face_decode_rgb_bounded(
                bytes.baseAddress, bytes.count, UInt64(max(0, maximumPixels)),
                UInt64(max(0, maximumDecoderBytes)), &output, &width, &height, &format,
                &message, message.count)
        }
        defer { enrolld_face_free(output) }
        let text = FaceEngine.string(from: message)
        switch status {
        case ENROLLD_FACE_OK: break
        case ENROLLD_FACE_UNSUPPORTED_FORMAT: throw .unsupportedImageFormat(role)
        case ENROLLD_FACE_UNDECODABLE: throw .undecodableImage(role, reason: text)
        case ENROLLD_FACE_OVERSIZED_PIXELS: throw .imageTooManyPixels(role, reason: text)
        default: throw .engineFailure(reason: text)
        }
        guard let output else { throw .engineFailure(reason: "decoder returned no pixels") }
        self.width = Int(width)
        self.height = Int(height)
        self.pixels = Array(UnsafeBufferPointer(start: output, count: Int(width) * Int(height) * 3))
    }

    /// Encodes as JPEG, PNG, JP2 or J2K. `quality`: JPEG 1...100; JPEG 2000 100 lossless, else lossy at a
    /// compression ratio of 101 - quality.
    public func encoded(as format: FaceImageFormat, quality: Int = 90) throws(FaceMatchError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        var message = [CChar](repeating: 0, count: Int(ENROLLD_FACE_MESSAGE_CAPACITY))
        let status = pixels.withUnsafeBufferPointer { bytes in
            enrolld_face_encode(
                bytes.baseAddress, UInt32(width), UInt32(height), format.cValue,
                Int32(clamping: quality), &output, &length, &message, message.count)
        }
        defer { enrolld_face_free(output) }
        guard status == ENROLLD_FACE_OK, let output else {
            throw .engineFailure(reason: FaceEngine.string(from: message))
        }
        return Array(UnsafeBufferPointer(start: output, count: length))
    }

    /// Colour layouts of a JPEG 2000 encoding.
    public enum JPEG2000Colour: Sendable {
        /// Three full-size components with the colour transform.
        case rgb
        /// One luma component.
        case grey
        /// sYCC with chroma subsampled 2x2.
        case sycc420
    }

    /// Encodes as JPEG 2000 (`.jp2` or `.j2k`) in the given colour layout; `quality` as in `encoded(as:quality:)`.
    public func encodedJPEG2000(
        _ format: FaceImageFormat, colour: JPEG2000Colour,
        quality: Int = 100
    ) throws(FaceMatchError) -> [UInt8] {
        let layout: enrolld_face_jp2_colour
        switch colour {
        case .rgb: layout = ENROLLD_FACE_JP2_RGB
        case .grey: layout = ENROLLD_FACE_JP2_GREY
        case .sycc420: layout = ENROLLD_FACE_JP2_SYCC420
        }
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        var message = [CChar](repeating: 0, count: Int(ENROLLD_FACE_MESSAGE_CAPACITY))
        let status = pixels.withUnsafeBufferPointer { bytes in
            enrolld_face_encode_jp2(
                bytes.baseAddress, UInt32(width), UInt32(height), format.cValue, layout,
                Int32(clamping: quality), &output, &length, &message, message.count)
        }
        defer { enrolld_face_free(output) }
        guard status == ENROLLD_FACE_OK, let output else {
            throw .engineFailure(reason: FaceEngine.string(from: message))
        }
        return Array(UnsafeBufferPointer(start: output, count: length))
    }

    /// Bilinear resize.
    public func resized(width newWidth: Int, height newHeight: Int) throws(FaceMatchError) -> RGBImage {
        guard newWidth > 0, newHeight > 0, width > 0, height > 0 else {
            throw .engineFailure(reason: "resize to or from an empty image")
        }
        var output: UnsafeMutablePointer<UInt8>?
        let status = pixels.withUnsafeBufferPointer { bytes in
            enrolld_face_resize_rgb(
                bytes.baseAddress, UInt32(width), UInt32(height), UInt32(newWidth),
                UInt32(newHeight), &output)
        }
        defer { enrolld_face_free(output) }
        guard status == ENROLLD_FACE_OK, let output else { throw .engineFailure(reason: "resize failed") }
        var resized = RGBImage(width: newWidth, height: newHeight, red: 0, green: 0, blue: 0)
        resized.pixels = Array(UnsafeBufferPointer(start: output, count: newWidth * newHeight * 3))
        return resized
    }

    /// A copy with `image` drawn at (x, y); parts outside this image are clipped.
    public func drawing(_ image: RGBImage, x: Int, y: Int) -> RGBImage {
        var result = self
        let firstColumn = max(0, x)
        let lastColumn = min(width, x + image.width)
        guard firstColumn < lastColumn else { return result }
        for row in max(0, y)..<min(height, y + image.height) {
            let target = (row * width + firstColumn) * 3
            let source = ((row - y) * image.width + (firstColumn - x)) * 3
            let count = (lastColumn - firstColumn) * 3
            result.pixels.replaceSubrange(target..<(target + count), with: image.pixels[source..<(source + count)])
        }
        return result
    }
}
