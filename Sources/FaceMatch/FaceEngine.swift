import CFaceEngine
import Foundation

/// An encoded image format the face engine decodes.
public enum FaceImageFormat: String, Sendable, Equatable, CaseIterable {
    case jpeg, png
    /// JPEG 2000 file format (ISO/IEC 15444-1 Annex I), as in most DG2 portraits.
    case jp2
    /// Raw JPEG 2000 codestream.
    case j2k

    init?(_ format: enrolld_face_format) {
        switch format {
        case ENROLLD_FACE_FORMAT_JPEG: self = .jpeg
        case ENROLLD_FACE_FORMAT_PNG: self = .png
        case ENROLLD_FACE_FORMAT_JP2: self = .jp2
        case ENROLLD_FACE_FORMAT_J2K: self = .j2k
        default: return nil
        }
    }

    var cValue: enrolld_face_format {
        switch self {
        case .jpeg: return ENROLLD_FACE_FORMAT_JPEG
        case .png: return ENROLLD_FACE_FORMAT_PNG
        case .jp2: return ENROLLD_FACE_FORMAT_JP2
        case .j2k: return ENROLLD_FACE_FORMAT_J2K
        }
    }
}

/// Limits and detection settings for one image analysis.
public struct FaceAnalysisOptions: Sendable, Equatable {
    /// Refuse encoded images larger than this.
    public var maximumBytes: Int
    /// Refuse images whose header claims more pixels than this, before decoding them.
    public var maximumPixels: Int
    /// Detect on a copy downscaled to this long side (0: never). Alignment and embedding use full resolution.
    public var downscaleLongSide: Int
    /// When an image with a shorter long side shows no face, retry once padded by a quarter and upsampled 2x:
    /// aligned chips (such as 150x150 crops) fill the frame and the HOG detector misses faces touching the border.
    public var smallImageSide: Int
    /// Refuse the largest face when its detection box is narrower than this (original pixels).
    public var minimumFaceSize: Int
    /// Refuse when the second largest face has at least this share of the largest face's area (0: off).
    public var ambiguityRatio: Double
    /// Decode (JPEG with DCT scaling, JPEG 2000 without the finer resolution levels) and area-average down to at
    /// most this long side before detection, alignment and embedding (0: full resolution).
    public var workingLongSide: Int
    /// What the decoder may allocate (output, coefficient and component buffers), checked before decoding.
    public var maximumDecoderBytes: Int

    public init(
        maximumBytes: Int = 16 << 20, maximumPixels: Int = 40_000_000, downscaleLongSide: Int = 0,
        smallImageSide: Int = 300, minimumFaceSize: Int = 60, ambiguityRatio: Double = 0.8,
        workingLongSide: Int = 0, maximumDecoderBytes: Int = 256 << 20
    ) {
        self.maximumBytes = maximumBytes
        self.maximumPixels = maximumPixels
        self.downscaleLongSide = downscaleLongSide
        self.smallImageSide = smallImageSide
        self.minimumFaceSize = minimumFaceSize
        self.ambiguityRatio = ambiguityRatio
        self.workingLongSide = workingLongSide
        self.maximumDecoderBytes = maximumDecoderBytes
    }
}

/// A detected face box in the original image's pixels.
public struct FaceRegion: Sendable, Equatable {
    public var left: Double
    public var top: Double
    public var width: Double
    public var height: Double

    public init(left: Double, top: Double, width: Double, height: Double) {
        self.left = left
        self.top = top
        self.width = width
        self.height = height
    }

    /// Face size as reported and checked against the minimum: the box width in pixels.
    public var size: Int { Int(width.rounded()) }
    public var area: Double { width * height }
    public var centerX: Double { left + width / 2 }
}

/// A 128-dimensional face descriptor (dlib ResNet). Same person: Euclidean distance usually below 0.6.
public struct FaceEmbedding: Sendable, Equatable {
    public let values: [Float]

    public init(values: [Float]) {
        self.values = values
    }

    /// Euclidean distance between two embeddings.
    public func distance(to other: FaceEmbedding) -> Double {
        var sum = 0.0
        for (a, b) in zip(values, other.values) {
            let difference = Double(a) - Double(b)
            sum += difference * difference
        }
        return sum.squareRoot()
    }
}

/// Milliseconds spent in each stage of one image analysis.
public struct FaceStageTimings: Sendable, Equatable {
    public var decode: Double
    public var detect: Double
    public var align: Double
    public var embed: Double

    public init(decode: Double = 0, detect: Double = 0, align: Double = 0, embed: Double = 0) {
        self.decode = decode
        self.detect = detect
        self.align = align
        self.embed = embed
    }

    public var total: Double { decode + detect + align + embed }
}

/// Why the engine did not embed a face although the image decoded.
public enum FaceRefusal: String, Sendable, Equatable {
    case noFace, tooSmall, ambiguous
}

/// A point in an image's pixels.
public struct FacePoint: Sendable, Equatable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// dlib's 5 face landmarks, named by where they appear in the image (an unmirrored camera frame shows the
/// person's left eye on the image's right).
public struct FaceLandmarks: Sendable, Equatable {
    public var imageRightEyeOuter: FacePoint
    public var imageRightEyeInner: FacePoint
    public var imageLeftEyeOuter: FacePoint
    public var imageLeftEyeInner: FacePoint
    /// The base of the nose (between the nostrils).
    public var noseBase: FacePoint

    public init(
        imageRightEyeOuter: FacePoint, imageRightEyeInner: FacePoint, imageLeftEyeOuter: FacePoint,
        imageLeftEyeInner: FacePoint, noseBase: FacePoint
    ) {
        self.imageRightEyeOuter = imageRightEyeOuter
        self.imageRightEyeInner = imageRightEyeInner
        self.imageLeftEyeOuter = imageLeftEyeOuter
        self.imageLeftEyeInner = imageLeftEyeInner
        self.noseBase = noseBase
    }

    /// From dlib's order: image-right eye outer, inner; image-left eye outer, inner; nose base.
    init(points: [FacePoint]) {
        self.init(
            imageRightEyeOuter: points[0], imageRightEyeInner: points[1], imageLeftEyeOuter: points[2],
            imageLeftEyeInner: points[3], noseBase: points[4])
    }

    /// The five points in dlib's order.
    public var points: [FacePoint] {
        [imageRightEyeOuter, imageRightEyeInner, imageLeftEyeOuter, imageLeftEyeInner, noseBase]
    }
}

/// What the engine found in one decoded burst frame (no embedding: see `FaceEngine.embed(chip:)`).
public struct FaceFrameAnalysis: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Every face the detector found (`faces` lists at most 16, largest first).
    public var faceCount: Int
    public var faces: [FaceRegion]
    /// Landmarks of the largest face, nil without a face.
    public var landmarks: FaceLandmarks?
    /// 32x32 greyscale of the largest face's box (for near-duplicate checks); empty without a face.
    public var thumbnail: [UInt8]
    /// The 150x150 aligned chip of the largest face (packed RGB), nil without a face or when it is too small.
    public var alignedChip: [UInt8]?
    public var timings: FaceStageTimings
}

/// What the engine found in one image.
public struct FaceImageAnalysis: Sendable, Equatable {
    public var role: FaceImageRole
    public var format: FaceImageFormat
    public var width: Int
    public var height: Int
    /// Size of the image the detector ran on (downscaled, or padded and upsampled for small images).
    public var analysedWidth: Int
    public var analysedHeight: Int
    /// True when the faces were only found by the small-image retry (pad and upsample).
    public var usedSmallImageFallback: Bool
    /// Number of faces detected (`faces` lists at most 16 of them).
    public var faceCount: Int
    /// Detected faces, largest first.
    public var faces: [FaceRegion]
    /// Why no face was embedded, or nil when the largest face was embedded.
    public var refusal: FaceRefusal?
    /// Embedding of the chosen (largest) face, nil when refused.
    public var embedding: FaceEmbedding?
    public var timings: FaceStageTimings
    /// The 5 landmarks of the largest face, when one was aligned.
    public var landmarks: FaceLandmarks?

    public init(
        role: FaceImageRole, format: FaceImageFormat, width: Int, height: Int, analysedWidth: Int,
        analysedHeight: Int, usedSmallImageFallback: Bool = false, faceCount: Int, faces: [FaceRegion],
        refusal: FaceRefusal? = nil, embedding: FaceEmbedding?, timings: FaceStageTimings = FaceStageTimings(),
        landmarks: FaceLandmarks? = nil
    ) {
        self.role = role
        self.format = format
        self.width = width
        self.height = height
        self.analysedWidth = analysedWidth
        self.analysedHeight = analysedHeight
        self.usedSmallImageFallback = usedSmallImageFallback
        self.faceCount = faceCount
        self.faces = faces
        self.refusal = refusal
        self.embedding = embedding
        self.timings = timings
        self.landmarks = landmarks
    }

    /// The face that was embedded: always the largest.
    public var chosenFace: FaceRegion? { embedding == nil ? nil : faces.first }
}

/// dlib face detection, alignment and embedding, loaded from the model directory.
///
/// Thread safety: one engine may be shared by many tasks. The C engine decodes and aligns concurrently and
/// serialises the HOG detector and the ResNet forward pass behind two mutexes of its own, hence
/// `@unchecked Sendable`. Those locks are per engine: for parallel work each worker takes its own engine
/// (`copy()`, as `FaceWorkPool` does), and no lock is shared between them.
public final class FaceEngine: @unchecked Sendable {
    private let handle: OpaquePointer
    public let modelDirectory: String

    private init(handle: OpaquePointer, modelDirectory: String) {
        self.handle = handle
        self.modelDirectory = modelDirectory
    }

    /// A new engine with copies of this one's models and its own locks (the model files are not read again).
    /// - Throws: `engineFailure` (out of memory).
    public func copy() throws(FaceMatchError) -> FaceEngine {
        var message = [CChar](repeating: 0, count: Int(ENROLLD_FACE_MESSAGE_CAPACITY))
        var pointer: OpaquePointer?
        let status = enrolld_face_engine_clone(handle, &pointer, &message, message.count)
        guard status == ENROLLD_FACE_OK, let pointer else {
            throw .engineFailure(reason: "cannot copy the face engine: \(Self.string(from: message))")
        }
        return FaceEngine(handle: pointer, modelDirectory: modelDirectory)
    }

    /// `ENROLLD_MODEL_DIR`, else `/var/lib/enrolld/models` (where `scripts/install-models.sh` puts them).
    public static var defaultModelDirectory: String {
        if let directory = ProcessInfo.processInfo.environment["ENROLLD_MODEL_DIR"], !directory.isEmpty {
            return directory
        }
        return "/var/lib/enrolld/models"
    }

    /// True when OpenBLAS was found and pinned to one thread (dlib's convolutions run through BLAS).
    public static var isBLASPinned: Bool { enrolld_face_blas_pinned() == 1 }

    /// Loads `shape_predictor_5_face_landmarks.dat` and `dlib_face_recognition_resnet_model_v1.dat`.
    /// - Throws: `modelMissing`, `modelInvalid`.
    public init(modelDirectory: String = FaceEngine.defaultModelDirectory) throws(FaceMatchError) {
        var message = [CChar](repeating: 0, count: Int(ENROLLD_FACE_MESSAGE_CAPACITY))
        var pointer: OpaquePointer?
        let status = enrolld_face_engine_create(modelDirectory, &pointer, &message, message.count)
        let text = Self.string(from: message)
        switch status {
        case ENROLLD_FACE_OK:
            guard let pointer else { throw .engineFailure(reason: "engine creation returned no engine") }
            handle = pointer
            self.modelDirectory = modelDirectory
        case ENROLLD_FACE_MODEL_MISSING:
            throw .modelMissing(reason: text)
        case ENROLLD_FACE_MODEL_INVALID:
            throw .modelInvalid(reason: text)
        default:
            throw .engineFailure(reason: text)
        }
    }

    deinit {
        enrolld_face_engine_destroy(handle)
    }

    /// Decodes the image and detects faces; embeds the largest unless refused (see `FaceImageAnalysis.refusal`).
    /// - Throws: image-level errors only: `unsupportedImageFormat`, `undecodableImage`, `imageTooLarge`,
    ///   `imageTooManyPixels`, `engineFailure`.
    public func analyse(
        _ image: [UInt8], role: FaceImageRole,
        options: FaceAnalysisOptions
    ) throws(FaceMatchError) -> FaceImageAnalysis {
        if image.count > options.maximumBytes {
            throw .imageTooLarge(role, bytes: image.count, limit: options.maximumBytes)
        }
        var cOptions = enrolld_face_options(
            max_bytes: UInt64(max(0, options.maximumBytes)), max_pixels: UInt64(max(0, options.maximumPixels)),
            downscale_long_side: UInt32(clamping: options.downscaleLongSide),
            small_image_side: UInt32(clamping: options.smallImageSide),
            min_face_size: UInt32(clamping: options.minimumFaceSize), ambiguity_ratio: options.ambiguityRatio,
            working_long_side: UInt32(clamping: options.workingLongSide),
            max_decoder_bytes: UInt64(max(0, options.maximumDecoderBytes)))
        var result = enrolld_face_analysis()
        var message = [CChar](repeating: 0, count: Int(ENROLLD_FACE_MESSAGE_CAPACITY))
        let status = image.withUnsafeBufferPointer { bytes in
            enrolld_face_analyse(handle, bytes.baseAddress, bytes.count, &cOptions, &result, &message, message.count)
        }
        let text = Self.string(from: message)
        switch status {
        case ENROLLD_FACE_OK:
            break
        case ENROLLD_FACE_UNSUPPORTED_FORMAT:
            throw .unsupportedImageFormat(role)
        case ENROLLD_FACE_UNDECODABLE:
            throw .undecodableImage(role, reason: text)
        case ENROLLD_FACE_OVERSIZED_BYTES:
            throw .imageTooLarge(role, bytes: image.count, limit: options.maximumBytes)
        case ENROLLD_FACE_OVERSIZED_PIXELS:
            throw .imageTooManyPixels(role, reason: text)
        default:
            throw .engineFailure(reason: text.isEmpty ? "status \(status.rawValue)" : text)
        }
        return Self.analysis(from: result, role: role)
    }

    private static func analysis(from result: enrolld_face_analysis, role: FaceImageRole) -> FaceImageAnalysis {
        var copy = result
        let faces = regions(from: result)
        let refusal: FaceRefusal?
        switch result.refusal {
        case ENROLLD_FACE_ACCEPTED: refusal = nil
        case ENROLLD_FACE_TOO_SMALL: refusal = .tooSmall
        case ENROLLD_FACE_AMBIGUOUS: refusal = .ambiguous
        default: refusal = .noFace
        }
        let embedding: FaceEmbedding? =
            refusal != nil
            ? nil
            : withUnsafeBytes(of: &copy.embedding) { raw in
                FaceEmbedding(values: Array(raw.bindMemory(to: Float.self).prefix(Int(ENROLLD_FACE_EMBEDDING_SIZE))))
            }
        return FaceImageAnalysis(
            role: role, format: FaceImageFormat(result.format) ?? .jpeg, width: Int(result.width),
            height: Int(result.height), analysedWidth: Int(result.analysed_width),
            analysedHeight: Int(result.analysed_height), usedSmallImageFallback: result.small_image_fallback != 0,
            faceCount: Int(result.face_count), faces: faces, refusal: refusal, embedding: embedding,
            timings: FaceStageTimings(
                decode: result.decode_ms, detect: result.detect_ms, align: result.align_ms,
                embed: result.embed_ms),
            landmarks: landmarks(from: result))
    }

    static func regions(from result: enrolld_face_analysis) -> [FaceRegion] {
        var copy = result
        return withUnsafeBytes(of: &copy.regions) { raw in
            raw.bindMemory(to: enrolld_face_region.self).prefix(Int(result.region_count)).map {
                FaceRegion(left: $0.left, top: $0.top, width: $0.width, height: $0.height)
            }
        }
    }

    static func landmarks(from result: enrolld_face_analysis) -> FaceLandmarks? {
        guard result.has_landmarks != 0 else { return nil }
        var copy = result
        let points = withUnsafeBytes(of: &copy.landmarks) { raw in
            raw.bindMemory(to: enrolld_face_point.self).prefix(Int(ENROLLD_FACE_LANDMARK_COUNT)).map {
                FacePoint(x: $0.x, y: $0.y)
            }
        }
        return FaceLandmarks(points: points)
    }

    /// Analyses one decoded burst frame: detection on a copy scaled by `detectScale`, landmarks, and (unless the
    /// face is narrower than `minimumFaceSize`) the 150x150 aligned chip for a later `embed(chip:)`. Never embeds.
    /// - Throws: `engineFailure` (bad arguments, out of memory).
    public func analyseFrame(
        _ image: RGBImage, detectScale: Double,
        minimumFaceSize: Int
    ) throws(FaceMatchError) -> FaceFrameAnalysis {
        let side = Int(ENROLLD_FACE_CHIP_SIDE)
        var chip = [UInt8](repeating: 0, count: side * side * 3)
        var result = enrolld_face_analysis()
        var message = [CChar](repeating: 0, count: Int(ENROLLD_FACE_MESSAGE_CAPACITY))
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            chip.withUnsafeMutableBufferPointer { chipBuffer in
                var options = enrolld_face_frame_options(
                    detect_scale: detectScale,
                    min_face_size: UInt32(clamping: minimumFaceSize),
                    chip_out: chipBuffer.baseAddress)
                return enrolld_face_analyse_rgb(
                    handle, pixels.baseAddress, UInt32(clamping: image.width),
                    UInt32(clamping: image.height), &options, &result, &message,
                    message.count)
            }
        }
        guard status == ENROLLD_FACE_OK else {
            throw .engineFailure(
                reason: Self.string(from: message).isEmpty
                    ? "status \(status.rawValue)"
                    : Self.string(from: message))
        }
        let landmarks = Self.landmarks(from: result)
        var copy = result
        let thumbnail = landmarks == nil ? [] : withUnsafeBytes(of: &copy.thumbnail) { Array($0.prefix(32 * 32)) }
        let accepted = result.refusal == ENROLLD_FACE_ACCEPTED
        return FaceFrameAnalysis(
            width: image.width, height: image.height, faceCount: Int(result.face_count),
            faces: Self.regions(from: result), landmarks: landmarks, thumbnail: thumbnail,
            alignedChip: accepted ? chip : nil,
            timings: FaceStageTimings(decode: result.decode_ms, detect: result.detect_ms, align: result.align_ms))
    }

    /// The ResNet embedding of a 150x150 aligned chip (from `analyseFrame`).
    /// - Throws: `engineFailure` for a chip of the wrong size or an engine error.
    public func embed(chip: [UInt8]) throws(FaceMatchError) -> FaceEmbedding {
        let side = Int(ENROLLD_FACE_CHIP_SIDE)
        guard chip.count == side * side * 3 else {
            throw .engineFailure(reason: "aligned chip has \(chip.count) bytes, expected \(side * side * 3)")
        }
        var values = [Float](repeating: 0, count: Int(ENROLLD_FACE_EMBEDDING_SIZE))
        var message = [CChar](repeating: 0, count: Int(ENROLLD_FACE_MESSAGE_CAPACITY))
        let status = chip.withUnsafeBufferPointer { bytes in
            values.withUnsafeMutableBufferPointer { out in
                enrolld_face_embed_chip(handle, bytes.baseAddress, out.baseAddress, &message, message.count)
            }
        }
        guard status == ENROLLD_FACE_OK else { throw .engineFailure(reason: Self.string(from: message)) }
        return FaceEmbedding(values: values)
    }

    static func string(from message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
