/// Portraits and live photos composed from aligned face chips, for tests and benchmarks: an ICAO-shaped
/// 300x400 portrait (the chip upscaled to 300x300 on a light background) and a 1280x960 camera frame with
/// one or more faces at chosen sizes and places.
public enum SyntheticFaceImages {
    /// A face to place in a live photo: `chip` scaled to `size` x `size` with its top-left corner at (x, y).
    public struct Placement: Sendable {
        public var chip: RGBImage
        public var size: Int
        public var x: Int
        public var y: Int

        public init(chip: RGBImage, size: Int, x: Int, y: Int) {
            self.chip = chip
            self.size = size
            self.x = x
            self.y = y
        }
    }

    /// 300x400 portrait, as a chip's DG2 image would frame it.
    public static func portrait(from chip: RGBImage) throws(FaceMatchError) -> RGBImage {
        let face = try chip.resized(width: 300, height: 300)
        return RGBImage(width: 300, height: 400, red: 220, green: 220, blue: 215).drawing(face, x: 0, y: 50)
    }

    /// A 1280x960 frame on a flat blue-grey background with the given faces.
    public static func livePhoto(
        _ faces: [Placement], width: Int = 1280,
        height: Int = 960
    ) throws(FaceMatchError) -> RGBImage {
        var canvas = RGBImage(width: width, height: height, red: 90, green: 100, blue: 110)
        for face in faces {
            canvas = canvas.drawing(try face.chip.resized(width: face.size, height: face.size), x: face.x, y: face.y)
        }
        return canvas
    }
}
