import Foundation
import FuzzTargets

// Two builds of one executable (see scripts/fuzz.sh):
// - `swift build --sanitize=fuzzer --sanitize=address -Xswiftc -DLIBFUZZER --product enroll-fuzz`: libFuzzer
//   supplies `main` and calls `LLVMFuzzerTestOneInput` for the target named by ENROLLD_FUZZ_TARGET;
// - a normal build: `EnrollFuzz.main` replays inputs through a target and writes the seed corpus.

/// The target a libFuzzer build drives, from ENROLLD_FUZZ_TARGET (read once).
let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["ENROLLD_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("enroll-fuzz: set ENROLLD_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedTarget.run(bytes)
    return 0
}

#if !LIBFUZZER
    @main
    struct EnrollFuzz {
        static let usage = """
            usage: enroll-fuzz list
                   enroll-fuzz run TARGET FILE|DIR...   feed each input to TARGET (regression replay, no sanitizers)
                   enroll-fuzz seed DIR [--faces DIR]   write the seed corpus DIR/<target>/ from our own encoders

            Fuzzing itself needs the libFuzzer build: scripts/fuzz.sh (see README.md, "Fuzzing").
            """

        static func main() {
            var arguments = Array(CommandLine.arguments.dropFirst())
            guard !arguments.isEmpty else { fail(usage) }
            switch arguments.removeFirst() {
            case "list":
                for target in FuzzTarget.allCases { print("\(target.rawValue)\t\(target.summary)") }
            case "run":
                guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else { fail(usage) }
                let count = replay(target, paths: Array(arguments.dropFirst()))
                print("\(target.rawValue): \(count) inputs, no crash")
            case "seed":
                guard let directory = arguments.first else { fail(usage) }
                var faces = "/usr/share/doc/libdlib19.1/examples/johns"
                if let index = arguments.firstIndex(of: "--faces"), index + 1 < arguments.count {
                    faces = arguments[index + 1]
                }
                do {
                    try SeedCorpus(faces: faces).write(to: directory)
                } catch {
                    fail("enroll-fuzz seed: \(error)")
                }
            case "-h", "--help":
                print(usage)
            default:
                fail(usage)
            }
        }

        static func replay(_ target: FuzzTarget, paths: [String]) -> Int {
            var count = 0
            for path in paths {
                for file in CorpusFiles.list(path) {
                    guard let bytes = CorpusFiles.read(file) else { fail("enroll-fuzz: cannot read \(file)") }
                    target.run(bytes)
                    count += 1
                }
            }
            return count
        }

        static func fail(_ message: String) -> Never {
            FileHandle.standardError.write(Data((message + "\n").utf8))
            exit(2)
        }
    }
#endif
