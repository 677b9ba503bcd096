import FuzzTargets
import XCTest

/// Replays the committed fuzz corpus (seeds and every crash the fuzzers found, Fuzz/corpus/<target>/)
/// through the real parsers in the normal build: a fixed crash that comes back fails here, not only
/// under scripts/fuzz.sh.
final class CorpusReplayTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/corpus").standardized.path

    func testEveryTargetHasASeedCorpusAndReplaysIt() {
        for target in FuzzTarget.allCases {
            let files = CorpusFiles.list("\(Self.corpus)/\(target.rawValue)")
            XCTAssertGreaterThanOrEqual(
                files.filter { $0.contains("/seed-") }.count, 2,
                "\(target.rawValue): the seed corpus is missing")
            for file in files {
                guard let bytes = CorpusFiles.read(file) else { return XCTFail("cannot read \(file)") }
                target.run(bytes)
            }
        }
    }
}
