import XCTest

@testable import FaceMatch

/// The landmark-level logic of the liveness checks (pose, prompt order, parallax) on synthetic 3D head motion:
/// a generic 3D face rotated and projected, against the same face as a flat or curled photo moved in front of
/// the camera.
final class LivenessGeometryTests: XCTestCase {
    typealias Motion = SyntheticHeadMotion

    func testCalibrationFigures() {
        let base = HeadPose(landmarks: Motion.landmarks(Motion.head(.init())))!
        for yaw in [10.0, 20, 28, 35] {
            let pose = HeadPose(landmarks: Motion.landmarks(Motion.head(.init(yaw: yaw))))!
            let points = Motion.head(.init(yaw: yaw))
            let residual = PlanarMotion.residual(from: Motion.head(.init()), to: points, scale: base.eyeSpan)!
            print("head yaw \(yaw): yaw \(pose.yaw - base.yaw) residual \(residual)")
        }
        for pitch in [10.0, 20] {
            let pose = HeadPose(landmarks: Motion.landmarks(Motion.head(.init(pitch: pitch))))!
            let residual = PlanarMotion.residual(from: Motion.head(.init()), to: Motion.head(.init(pitch: pitch)),
                                                 scale: base.eyeSpan)!
            print("head pitch \(pitch): pitch \(pose.pitch - base.pitch) residual \(residual)")
        }
        let photoBase = Motion.photo(.init())
        let photoSpan = HeadPose(landmarks: Motion.landmarks(photoBase))!.eyeSpan
        for (name, pose) in [("tilt yaw 45", Motion.PhotoPose(yaw: 45)), ("tilt diag", .init(yaw: 35, pitch: 35)),
                             ("closer 15", .init(closer: 15)), ("bend 6 yaw 30", .init(yaw: 30, bendRadius: 6)),
                             ("bend 10 yaw 30", .init(yaw: 30, bendRadius: 10)),
                             ("bend 15 yaw 30", .init(yaw: 30, bendRadius: 15)),
                             ("near tilt", .init(yaw: 50, closer: 25))] {
            let points = Motion.photo(pose)
            let p = HeadPose(landmarks: Motion.landmarks(points))!
            let b = HeadPose(landmarks: Motion.landmarks(pose.bendRadius == nil ? photoBase
                                                          : Motion.photo(.init(bendRadius: pose.bendRadius))))!
            let reference = pose.bendRadius == nil ? photoBase : Motion.photo(.init(bendRadius: pose.bendRadius))
            let residual = PlanarMotion.residual(from: reference, to: points, scale: photoSpan)!
            print("photo \(name): yaw \(p.yaw - b.yaw) pitch \(p.pitch - b.pitch) residual \(residual)")
        }
    }
}

final class LivenessChipLandmarkProbe: XCTestCase {
    func testPrintChipLandmarks() throws {
        let engine = try FaceFixtures.engine()
        for person in ["John_Salley", "John_Simm"] {
            let chip = try FaceFixtures.chip(person, 0)
            let analysis = try engine.analyse(try chip.encoded(as: .png), role: .reference, options: FaceAnalysisOptions())
            print("chip \(person) \(chip.width)x\(chip.height) landmarks \(analysis.landmarks?.points ?? []) faces \(analysis.faces)")
        }
    }
}
