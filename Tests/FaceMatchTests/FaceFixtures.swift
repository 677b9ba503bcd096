import Foundation
import XCTest

@testable import FaceMatch

/// Shared fixtures: the model files, the Johns chips (`../shared/faces/johns` beside the package root) and
/// synthetic portraits and live photos made from them.
enum FaceFixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let johnsFolder = packageRoot.appendingPathComponent("../shared/faces/johns").standardized.path

    static let sharedEngine: Result<FaceEngine, FaceMatchError> = Result { () throws(FaceMatchError) in
        try FaceEngine(modelDirectory: FaceEngine.defaultModelDirectory)
    }

    /// The engine over the installed models; fails the test (never skips) when they are missing.
    static func engine(file: StaticString = #filePath, line: UInt = #line) throws -> FaceEngine {
        switch sharedEngine {
        case .success(let engine):
            return engine
        case .failure(let error):
            XCTFail(
                "face models not usable in \(FaceEngine.defaultModelDirectory) (\(error)): run "
                    + "scripts/install-models.sh [DIR] and set ENROLLD_MODEL_DIR=DIR", file: file, line: line)
            throw error
        }
    }

    static func matcher(_ configuration: FaceMatchConfiguration = FaceMatchConfiguration()) throws -> FaceMatcher {
        FaceMatcher(engine: try engine(), configuration: configuration)
    }

    /// The `index`-th chip (sorted by file name) of a person, e.g. "John_Salley".
    static func chip(_ person: String, _ index: Int) throws -> RGBImage {
        let folder = johnsFolder + "/" + person
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + names[index]))
        return try RGBImage(decoding: [UInt8](data))
    }

    static func grey(width: Int, height: Int) -> RGBImage {
        RGBImage(width: width, height: height, red: 128, green: 128, blue: 128)
    }

    /// An ICAO-shaped 300x400 portrait made from a chip.
    static func portrait(_ person: String, _ index: Int) throws -> RGBImage {
        try SyntheticFaceImages.portrait(from: try chip(person, index))
    }

    /// A 1280x960 live photo with chips upscaled to `size` pixels at (x, y).
    static func livePhoto(_ faces: [(image: RGBImage, size: Int, x: Int, y: Int)]) throws -> RGBImage {
        try SyntheticFaceImages.livePhoto(faces.map { .init(chip: $0.image, size: $0.size, x: $0.x, y: $0.y) })
    }
}
