import Foundation

/// Synthetic 3D head motion at the landmark level, for tests and the evaluation: a generic 3D model of facial
/// points (centimetres; x to the image's right, y down, z towards the camera), rotated about the head's centre
/// and projected by a pinhole camera; and the same face as a flat photo (or one curled around a cylinder) moved in
/// front of the camera. The first 5 points are dlib's landmarks in dlib's order.
public enum SyntheticHeadMotion {
    public struct Point3: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public var z: Double

        public init(_ x: Double, _ y: Double, _ z: Double) {
            self.x = x
            self.y = y
            self.z = z
        }
    }

    /// An average adult face, origin between the inner eye corners. Depths follow the usual anthropometric
    /// profile: outer eye corners ~2 cm behind the inner ones, the nose base ~1.5 cm and the tip ~3 cm in front.
    public static let faceModel: [Point3] = [
        Point3(4.5, 0.2, -2.0), Point3(1.6, 0, -0.6), Point3(-4.5, 0.2, -2.0), Point3(-1.6, 0, -0.6),  // eyes
        Point3(0, 4.6, 1.0),  // nose base
        Point3(0, 3.6, 2.6), Point3(1.7, 4.1, 0.2), Point3(-1.7, 4.1, 0.2), Point3(0, -0.6, -0.2),  // nose
        Point3(2.6, 6.6, -0.5), Point3(-2.6, 6.6, -0.5), Point3(0, 5.8, 0.6), Point3(0, 7.2, 0.3),  // mouth
        Point3(0, 10.0, -0.3), Point3(3.0, 9.0, -2.0), Point3(-3.0, 9.0, -2.0),  // chin
        Point3(2.5, -1.8, 0.0), Point3(-2.5, -1.8, 0.0), Point3(5.0, -1.2, -1.6), Point3(-5.0, -1.2, -1.6),  // brows
        Point3(0, -4.0, 0.2), Point3(2.5, -4.2, -0.6), Point3(-2.5, -4.2, -0.6),  // forehead
        Point3(5.0, 3.0, -2.5), Point3(-5.0, 3.0, -2.5), Point3(3.2, 2.2, -1.0), Point3(-3.2, 2.2, -1.0),  // cheeks
        Point3(5.5, 7.0, -4.5), Point3(-5.5, 7.0, -4.5),  // jaw
    ]

    /// Where the head turns about (the neck's axis, behind the face).
    public static let headCentre = Point3(0, 2.5, -9)

    /// A pinhole camera: focal length in pixels, principal point, and the distance of the model's origin.
    public struct Camera: Sendable, Equatable {
        public var focal: Double
        public var centreX: Double
        public var centreY: Double
        public var distance: Double

        public init(focal: Double = 700, centreX: Double = 320, centreY: Double = 200, distance: Double = 50) {
            self.focal = focal
            self.centreX = centreX
            self.centreY = centreY
            self.distance = distance
        }

        public func project(_ point: Point3) -> FacePoint {
            let depth = distance - point.z
            return FacePoint(x: centreX + focal * point.x / depth, y: centreY + focal * point.y / depth)
        }
    }

    /// A head pose: yaw positive turns the nose to the image's right (the person's own left), pitch positive
    /// looks up; `closer` moves the head towards the camera (centimetres).
    public struct Pose: Sendable, Equatable {
        public var yaw: Double
        public var pitch: Double
        public var roll: Double
        public var closer: Double

        public init(yaw: Double = 0, pitch: Double = 0, roll: Double = 0, closer: Double = 0) {
            self.yaw = yaw
            self.pitch = pitch
            self.roll = roll
            self.closer = closer
        }
    }

    /// Rotation by yaw (about y), pitch (about x) and roll (about z), degrees.
    static func rotate(_ point: Point3, yaw: Double, pitch: Double, roll: Double) -> Point3 {
        let (a, b, c) = (yaw * .pi / 180, pitch * .pi / 180, roll * .pi / 180)
        // Yaw: +x towards the camera's... the nose (z > 0) moves to +x for a positive yaw.
        var p = Point3(point.x * cos(a) + point.z * sin(a), point.y, -point.x * sin(a) + point.z * cos(a))
        // Pitch: looking up moves the nose (z > 0) up (towards -y).
        p = Point3(p.x, p.y * cos(b) - p.z * sin(b), p.y * sin(b) + p.z * cos(b))
        p = Point3(p.x * cos(c) - p.y * sin(c), p.x * sin(c) + p.y * cos(c), p.z)
        return p
    }

    /// The model's points seen by `camera` with the head in `pose`.
    public static func head(_ pose: Pose, camera: Camera = Camera(), model: [Point3] = faceModel) -> [FacePoint] {
        let c = headCentre
        return model.map { point in
            let moved = rotate(
                Point3(point.x - c.x, point.y - c.y, point.z - c.z), yaw: pose.yaw, pitch: pose.pitch,
                roll: pose.roll)
            return camera.project(Point3(moved.x + c.x, moved.y + c.y, moved.z + c.z + pose.closer))
        }
    }

    /// How a flat photo of the face is held: tilted about its vertical (yaw) and horizontal (pitch) axes and any
    /// in-plane angle, shifted (centimetres), moved closer, and curled around a vertical cylinder of `bendRadius`
    /// centimetres (nil: flat).
    public struct PhotoPose: Sendable, Equatable {
        public var yaw: Double
        public var pitch: Double
        public var roll: Double
        public var shiftX: Double
        public var shiftY: Double
        public var closer: Double
        public var bendRadius: Double?

        public init(
            yaw: Double = 0, pitch: Double = 0, roll: Double = 0, shiftX: Double = 0, shiftY: Double = 0,
            closer: Double = 0, bendRadius: Double? = nil
        ) {
            self.yaw = yaw
            self.pitch = pitch
            self.roll = roll
            self.shiftX = shiftX
            self.shiftY = shiftY
            self.closer = closer
            self.bendRadius = bendRadius
        }
    }

    /// The frontal face printed life-size on a photo (all points at depth 0), held as `pose` says.
    public static func photo(_ pose: PhotoPose, camera: Camera = Camera(), model: [Point3] = faceModel) -> [FacePoint] {
        model.map { point in
            var flat = Point3(point.x, point.y, 0)
            if let radius = pose.bendRadius, radius > 0 {
                let angle = point.x / radius
                flat = Point3(radius * sin(angle), point.y, radius * cos(angle) - radius)
            }
            let centre = Point3(0, 3, 0)
            let turned = rotate(
                Point3(flat.x - centre.x, flat.y - centre.y, flat.z), yaw: pose.yaw, pitch: pose.pitch,
                roll: pose.roll)
            return camera.project(
                Point3(
                    turned.x + centre.x + pose.shiftX, turned.y + centre.y + pose.shiftY,
                    turned.z + pose.closer))
        }
    }

    /// The 5 landmarks (the first 5 points) as `FaceLandmarks`.
    public static func landmarks(_ points: [FacePoint]) -> FaceLandmarks {
        FaceLandmarks(points: Array(points.prefix(5)))
    }

    /// Adds Gaussian noise of `sigma` pixels to each coordinate (Box-Muller, from `generator`).
    public static func jitter<G: RandomNumberGenerator>(
        _ points: [FacePoint], sigma: Double,
        using generator: inout G
    ) -> [FacePoint] {
        points.map { point in
            let u1 = Double.random(in: Double.ulpOfOne..<1, using: &generator)
            let u2 = Double.random(in: 0..<1, using: &generator)
            let radius = (-2 * log(u1)).squareRoot() * sigma
            return FacePoint(x: point.x + radius * cos(2 * .pi * u2), y: point.y + radius * sin(2 * .pi * u2))
        }
    }

    /// The head poses of a person following `prompts` over `frames` frames: a frontal start, then each prompt
    /// in turn, each rising to its extent and coming back (a turn to `turn` degrees, looking up `lookUp` degrees,
    /// coming `closer` centimetres nearer).
    public static func following(
        _ prompts: [LivenessPrompt], frames: Int, turn: Double = 28, lookUp: Double = 20,
        closer: Double = 12
    ) -> [Pose] {
        guard frames > 0 else { return [] }
        let lead = max(1, frames / 8)
        let perPrompt = max(1, (frames - lead) / max(1, prompts.count))
        return (0..<frames).map { index in
            guard index >= lead, !prompts.isEmpty else { return Pose() }
            let position = min(prompts.count - 1, (index - lead) / perPrompt)
            let phase = Double((index - lead) - position * perPrompt + 1) / Double(perPrompt)
            let extent = sin(min(1, phase) * .pi)  // rises and comes back
            switch prompts[position] {
            case .turnLeft: return Pose(yaw: turn * extent)
            case .turnRight: return Pose(yaw: -turn * extent)
            case .lookUp: return Pose(pitch: lookUp * extent)
            case .comeCloser: return Pose(closer: closer * min(1, phase * 1.5))
            }
        }
    }
}
