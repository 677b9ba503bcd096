import Foundation

/// One captured frame: the encoded image (JPEG or PNG) as the kiosk's camera produced it and its capture time.
public struct LivenessFrame: Sendable, Equatable {
    public var image: [UInt8]
    /// Capture time by the kiosk's clock. Only differences between frames and the challenge window are used.
    public var capturedAt: Date

    public init(image: [UInt8], capturedAt: Date) {
        self.image = image
        self.capturedAt = capturedAt
    }
}

/// The frames a kiosk captured while showing one challenge's prompts, in capture order. Frames are the camera's
/// unmirrored view (a kiosk that mirrors its preview must send the unmirrored frames).
public struct LivenessBurst: Sendable, Equatable {
    /// The nonce of the challenge this burst answers.
    public var nonce: [UInt8]
    public var frames: [LivenessFrame]

    public init(nonce: [UInt8], frames: [LivenessFrame]) {
        self.nonce = nonce
        self.frames = frames
    }

    /// Bytes of all frames together.
    public var totalBytes: Int { frames.reduce(0) { $0 + $1.image.count } }
}

/// What a burst may make the daemon spend, checked before any frame is decoded (pixels from the header).
public struct LivenessLimits: Sendable, Equatable {
    public var minimumFrames: Int
    public var maximumFrames: Int
    public var maximumFrameBytes: Int
    public var maximumBurstBytes: Int
    /// Refuse frames whose header claims more pixels (the size cap: 1920x1080 by default).
    public var maximumFramePixels: Int
    /// Refuse frames with a shorter side.
    public var minimumFrameSide: Int
    /// A person needs at least this long to follow 2 prompts.
    public var minimumSpan: TimeInterval
    /// The longest burst (the challenge's window bounds it too).
    public var maximumSpan: TimeInterval
    /// The longest pause between two frames.
    public var maximumGap: TimeInterval
    /// What decoding one frame may allocate (checked from its header).
    public var maximumDecoderBytes: Int

    public init(
        minimumFrames: Int = 8, maximumFrames: Int = 30, maximumFrameBytes: Int = 2 << 20,
        maximumBurstBytes: Int = 24 << 20, maximumFramePixels: Int = 1920 * 1080, minimumFrameSide: Int = 240,
        minimumSpan: TimeInterval = 1.0, maximumSpan: TimeInterval = 20, maximumGap: TimeInterval = 2.5,
        maximumDecoderBytes: Int = 64 << 20
    ) {
        self.minimumFrames = minimumFrames
        self.maximumFrames = maximumFrames
        self.maximumFrameBytes = maximumFrameBytes
        self.maximumBurstBytes = maximumBurstBytes
        self.maximumFramePixels = maximumFramePixels
        self.minimumFrameSide = minimumFrameSide
        self.minimumSpan = minimumSpan
        self.maximumSpan = maximumSpan
        self.maximumGap = maximumGap
        self.maximumDecoderBytes = maximumDecoderBytes
    }

    /// The checks that need no decoding: counts, byte sizes, timestamps.
    /// - Throws: `tooFewFrames`, `tooManyFrames`, `frameTooLarge`, `burstTooLarge`, `timestampInvalid`,
    ///   `timestampsNotIncreasing`, `gapTooLong`, `burstTooShort`, `burstTooLong`.
    public func validate(_ burst: LivenessBurst) throws(LivenessError) {
        let frames = burst.frames
        if frames.count < minimumFrames { throw .tooFewFrames(count: frames.count, minimum: minimumFrames) }
        if frames.count > maximumFrames { throw .tooManyFrames(count: frames.count, maximum: maximumFrames) }
        var total = 0
        for (index, frame) in frames.enumerated() {
            if frame.image.count > maximumFrameBytes {
                throw .frameTooLarge(index: index, bytes: frame.image.count, limit: maximumFrameBytes)
            }
            total += frame.image.count
            if total > maximumBurstBytes { throw .burstTooLarge(bytes: burst.totalBytes, limit: maximumBurstBytes) }
            let time = frame.capturedAt.timeIntervalSince1970
            guard time.isFinite else { throw .timestampInvalid(index: index) }
            if index > 0 {
                let gap = time - frames[index - 1].capturedAt.timeIntervalSince1970
                guard gap > 0 else { throw .timestampsNotIncreasing(index: index) }
                if gap > maximumGap { throw .gapTooLong(index: index, seconds: gap, maximum: maximumGap) }
            }
        }
        guard let first = frames.first, let last = frames.last else { return }
        let span = last.capturedAt.timeIntervalSince(first.capturedAt)
        if span < minimumSpan { throw .burstTooShort(seconds: span, minimum: minimumSpan) }
        if span > maximumSpan { throw .burstTooLong(seconds: span, maximum: maximumSpan) }
    }
}
