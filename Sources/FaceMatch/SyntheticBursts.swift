import CLivenessEngine
import Foundation

/// Bursts composed at run time for tests, the evaluation (`enroll-bench liveness-eval`) and the benchmark, from
/// aligned 150x150 face chips (the Johns): 640x480 frames of one camera looking at
///
/// - a synthetic head: the chip texture-mapped onto a generic 3D face relief (ellipsoid, nose, eye sockets),
///   turned and moved as `SyntheticHeadMotion.Pose` says, with sensor noise (a stand-in for real captures, which
///   no licence-clean source offers here: see Tests/FaceMatchTests/README.md);
/// - a print of a photo held up and moved (flat or curled around a cylinder), optionally shown on a screen
///   (moire, re-compression);
/// - the chip portrait replayed as every frame, and a print with another person's frames mixed in.
///
/// Geometry in centimetres: a 50 cm camera distance, focal length 720 px, so a face has an eye span of ~130 px.
public enum SyntheticBursts {
    public static let frameWidth = 640
    public static let frameHeight = 480
    static let camera = SyntheticHeadMotion.Camera(focal: 720, centreX: 320, centreY: 210, distance: 50)
    /// The aligned chips' landmarks sit here (dlib's 150x150 chips with padding 0.25): eye-corner centre, and
    /// pixels per centimetre from their ~76 px eye span.
    static let chipEyeCentre = (x: 72.0, y: 48.0)
    static let chipPixelsPerCentimetre = 8.4

    /// The room behind the person: a fixed gradient with a few shapes (deterministic).
    public static let scene: RGBImage = {
        var pixels = [UInt8](repeating: 0, count: frameWidth * frameHeight * 3)
        for y in 0..<frameHeight {
            for x in 0..<frameWidth {
                let offset = (y * frameWidth + x) * 3
                var value = 150 - y / 8 + x / 20
                if (x / 80 + y / 120) % 5 == 0 { value -= 30 }
                pixels[offset] = UInt8(clamping: value)
                pixels[offset + 1] = UInt8(clamping: value + 8)
                pixels[offset + 2] = UInt8(clamping: value + 18)
            }
        }
        return RGBImage(width: frameWidth, height: frameHeight, pixels: pixels)
    }()

    // MARK: Frames

    /// Depth (cm, towards the camera) of the generic face relief at chip-centred coordinates (cm, y down).
    static func relief(x: Double, y: Double) -> Double {
        let head = 1 - (x / 7.5) * (x / 7.5) - ((y - 2.5) / 11) * ((y - 2.5) / 11)
        var z = 7 * max(0, head).squareRoot() - 7
        let ridge: Double
        switch y {
        case ..<(-0.8): ridge = 0
        case ..<3.6: ridge = 0.3 + 2.3 * (y + 0.8) / 4.4
        case ..<4.6: ridge = 2.6 - 1.6 * (y - 3.6)
        case ..<5.4: ridge = 1.0 - 1.0 * (y - 4.6) / 0.8
        default: ridge = 0
        }
        let width = y < 3 ? 0.8 : 1.3
        z += ridge * exp(-x * x / (2 * width * width))
        for side in [-3.0, 3.0] { z -= 0.5 * exp(-((x - side) * (x - side) + y * y) / (2 * 1.3 * 1.3)) }
        z += 0.5 * exp(-(x * x / 4 + (y - 6.5) * (y - 6.5) / 0.6))
        return z
    }

    /// The chip on the 3D relief, posed and seen by the camera, over the scene, with sensor noise.
    public static func head(
        chip: RGBImage, pose: SyntheticHeadMotion.Pose, seed: UInt64,
        noise: Double = 2
    ) throws(FaceMatchError) -> RGBImage {
        let ppc = chipPixelsPerCentimetre
        let centre = SyntheticHeadMotion.headCentre
        return try mesh(texture: chip, noise: noise, seed: seed) { u, v in
            let x = (u - chipEyeCentre.x) / ppc
            let y = (v - chipEyeCentre.y) / ppc
            let point = SyntheticHeadMotion.Point3(x - centre.x, y - centre.y, relief(x: x, y: y) - centre.z)
            let moved = SyntheticHeadMotion.rotate(point, yaw: pose.yaw, pitch: pose.pitch, roll: pose.roll)
            return SyntheticHeadMotion.Point3(moved.x + centre.x, moved.y + centre.y, moved.z + centre.z + pose.closer)
        }
    }

    /// A life-size print: `chip` enlarged on a white card with a margin, as a photo of the person printed.
    public static func print(of chip: RGBImage) throws(FaceMatchError) -> RGBImage {
        let scale = 1.6
        let face = try chip.resized(width: Int(150 * scale), height: Int(150 * scale))
        return RGBImage(width: face.width + 40, height: face.height + 60, red: 245, green: 244, blue: 238)
            .drawing(face, x: 20, y: 20)
    }

    /// The print held as `pose` says (flat, or curled when `pose.bendRadius` is set), over the scene.
    public static func heldPrint(
        _ print: RGBImage, pose: SyntheticHeadMotion.PhotoPose, seed: UInt64,
        noise: Double = 2
    ) throws(FaceMatchError) -> RGBImage {
        // The print's face is the chip at 1.6x, 20 px in: its eye centre and scale follow from the chip's.
        let ppc = chipPixelsPerCentimetre * 1.6
        let eyeX = 20 + chipEyeCentre.x * 1.6
        let eyeY = 20 + chipEyeCentre.y * 1.6
        return try mesh(texture: print, noise: noise, seed: seed) { u, v in
            var point = SyntheticHeadMotion.Point3((u - eyeX) / ppc, (v - eyeY) / ppc, 0)
            if let radius = pose.bendRadius, radius > 0 {
                let angle = point.x / radius
                point = SyntheticHeadMotion.Point3(radius * sin(angle), point.y, radius * cos(angle) - radius)
            }
            let pivot = 3.0
            let turned = SyntheticHeadMotion.rotate(
                SyntheticHeadMotion.Point3(point.x, point.y - pivot, point.z),
                yaw: pose.yaw, pitch: pose.pitch, roll: pose.roll)
            return SyntheticHeadMotion.Point3(
                turned.x + pose.shiftX, turned.y + pivot + pose.shiftY,
                turned.z + pose.closer)
        }
    }

    /// A frame as a display shows it to the camera: moire and sub-pixel stripes.
    public static func onScreen(
        _ image: RGBImage, period: Double = 7.5, angle: Double = 12
    ) throws(FaceMatchError)
        -> RGBImage
    {
        var output: UnsafeMutablePointer<UInt8>?
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            enrolld_liveness_moire(
                pixels.baseAddress, UInt32(image.width), UInt32(image.height), period, angle, 0.12,
                &output)
        }
        defer { enrolld_liveness_free(output) }
        guard status == ENROLLD_LIVENESS_OK, let output else { throw .engineFailure(reason: "moire failed") }
        return RGBImage(
            width: image.width, height: image.height,
            pixels: Array(UnsafeBufferPointer(start: output, count: image.pixels.count)))
    }

    /// Renders a 31x31 vertex grid over `texture`, each vertex placed in camera space (cm) by `place`.
    static func mesh(
        texture: RGBImage, noise: Double, seed: UInt64,
        place: (Double, Double) -> SyntheticHeadMotion.Point3
    ) throws(FaceMatchError) -> RGBImage {
        let steps = 30
        var vertices: [Double] = []
        vertices.reserveCapacity((steps + 1) * (steps + 1) * 5)
        for row in 0...steps {
            for column in 0...steps {
                let u = Double(column) * Double(texture.width - 1) / Double(steps)
                let v = Double(row) * Double(texture.height - 1) / Double(steps)
                let point = place(u, v)
                let projected = camera.project(point)
                vertices += [u, v, projected.x, projected.y, point.z]
            }
        }
        var triangles: [UInt32] = []
        for row in 0..<steps {
            for column in 0..<steps {
                let a = UInt32(row * (steps + 1) + column)
                let b = a + 1
                let c = a + UInt32(steps + 1)
                triangles += [a, b, c, b, c + 1, c]
            }
        }
        var output: UnsafeMutablePointer<UInt8>?
        let background = scene
        let status = texture.pixels.withUnsafeBufferPointer { tex in
            background.pixels.withUnsafeBufferPointer { scenery in
                enrolld_liveness_render_mesh(
                    tex.baseAddress, UInt32(texture.width), UInt32(texture.height), vertices,
                    UInt32(vertices.count / 5), triangles, UInt32(triangles.count / 3),
                    scenery.baseAddress, UInt32(frameWidth), UInt32(frameHeight), noise,
                    seed, &output)
            }
        }
        defer { enrolld_liveness_free(output) }
        guard status == ENROLLD_LIVENESS_OK, let output else { throw .engineFailure(reason: "mesh rendering failed") }
        return RGBImage(
            width: frameWidth, height: frameHeight,
            pixels: Array(UnsafeBufferPointer(start: output, count: frameWidth * frameHeight * 3)))
    }

    // MARK: Bursts

    /// Capture times: `count` frames `interval` seconds apart from `start`.
    static func times(_ count: Int, start: Date, interval: TimeInterval) -> [Date] {
        (0..<count).map { start.addingTimeInterval(Double($0) * interval) }
    }

    /// A synthetic head following `challenge`'s prompts over `frames` frames (JPEG, quality 90), with a little
    /// natural sway.
    public static func genuine(
        chip: RGBImage, challenge: LivenessChallenge, frames: Int = 15, seed: UInt64 = 1,
        start: Date? = nil, interval: TimeInterval = 0.2
    ) throws(FaceMatchError)
        -> LivenessBurst
    {
        let poses = SyntheticHeadMotion.following(challenge.prompts, frames: frames)
        var images: [[UInt8]] = []
        for (index, pose) in poses.enumerated() {
            var swayed = pose
            swayed.roll += 1.5 * sin(Double(index) * 0.7 + Double(seed))
            swayed.pitch += 1.0 * sin(Double(index) * 1.3 + Double(seed))
            images.append(
                try head(chip: chip, pose: swayed, seed: seed &* 1000 &+ UInt64(index))
                    .encoded(as: .jpeg, quality: 90))
        }
        return burst(images, challenge: challenge, start: start, interval: interval)
    }

    /// How an attacker holds a print to fake each prompt: tilted about a diagonal axis for a turn (a plain turn
    /// of a flat print does not move the nose against the eyes), tilted back for looking up, moved in for coming
    /// closer; shifted and shaken by hand throughout.
    public static func printPoses(
        for prompts: [LivenessPrompt], frames: Int, bendRadius: Double? = nil
    )
        -> [SyntheticHeadMotion.PhotoPose]
    {
        let heads = SyntheticHeadMotion.following(prompts, frames: frames)
        return heads.enumerated().map { index, head in
            let shake = sin(Double(index) * 1.9)
            let turn = head.yaw / 28 * 26
            let up = head.pitch / 20 * 40
            return SyntheticHeadMotion.PhotoPose(
                yaw: turn, pitch: abs(turn) - up, roll: 2 * shake,
                shiftX: 1.5 * shake, shiftY: 0.8 * cos(Double(index)),
                closer: head.closer, bendRadius: bendRadius)
        }
    }

    /// A print of `chip` (a photo of the person, not the chip portrait) moved to fake the prompts; `curl` bends it
    /// around a cylinder of that radius (cm); `screen` shows it on a display instead (moire, JPEG at quality 60).
    public static func printAttack(
        chip: RGBImage, challenge: LivenessChallenge, frames: Int = 15, curl: Double? = nil,
        screen: Bool = false, seed: UInt64 = 1, start: Date? = nil,
        interval: TimeInterval = 0.2
    ) throws(FaceMatchError) -> LivenessBurst {
        let card = try print(of: chip)
        var images: [[UInt8]] = []
        for (index, pose) in printPoses(for: challenge.prompts, frames: frames, bendRadius: curl).enumerated() {
            var frame = try heldPrint(card, pose: pose, seed: seed &* 1000 &+ UInt64(index))
            if screen { frame = try onScreen(frame) }
            images.append(try frame.encoded(as: .jpeg, quality: screen ? 60 : 90))
        }
        return burst(images, challenge: challenge, start: start, interval: interval)
    }

    /// The chip portrait's bytes as every frame.
    public static func portraitReplay(
        _ portrait: [UInt8], challenge: LivenessChallenge, frames: Int = 15,
        start: Date? = nil, interval: TimeInterval = 0.2
    ) -> LivenessBurst {
        burst(Array(repeating: portrait, count: frames), challenge: challenge, start: start, interval: interval)
    }

    /// The right person's print in the frames where the face is compared (first third), another person (a
    /// synthetic head, live) doing the prompts in the rest.
    public static func mixedPeople(
        victim: RGBImage, accomplice: RGBImage, challenge: LivenessChallenge,
        frames: Int = 15, seed: UInt64 = 1, start: Date? = nil,
        interval: TimeInterval = 0.2
    ) throws(FaceMatchError) -> LivenessBurst {
        let card = try print(of: victim)
        let poses = SyntheticHeadMotion.following(challenge.prompts, frames: frames)
        var images: [[UInt8]] = []
        for (index, pose) in poses.enumerated() {
            let frame =
                index < max(2, frames / 3)
                ? try heldPrint(card, pose: .init(shiftX: 0.3 * Double(index)), seed: seed &* 1000 &+ UInt64(index))
                : try head(chip: accomplice, pose: pose, seed: seed &* 1000 &+ UInt64(index))
            images.append(try frame.encoded(as: .jpeg, quality: 90))
        }
        return burst(images, challenge: challenge, start: start, interval: interval)
    }

    static func burst(
        _ images: [[UInt8]], challenge: LivenessChallenge, start: Date?,
        interval: TimeInterval
    ) -> LivenessBurst {
        let first = start ?? challenge.issuedAt.addingTimeInterval(0.5)
        return LivenessBurst(
            nonce: challenge.nonce,
            frames: zip(
                images,
                times(
                    images.count, start: first,
                    interval: interval)
            ).map {
                LivenessFrame(image: $0.0, capturedAt: $0.1)
            })
    }
}
