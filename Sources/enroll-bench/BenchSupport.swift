import Foundation
import SmartCard

/// Median of a sample (the mean of the middle two for even counts).
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 0 ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
}

func milliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}

/// The options most benches take: `--iterations N`, `--json`, and (where offered) `--vpcd`.
struct BenchOptions {
    var iterations: Int
    var json = false
    var throughVPCD = false

    init(_ arguments: [String], command: String, iterations: Int = 20, allowsVPCD: Bool = false) {
        self.iterations = iterations
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--iterations":
                guard index + 1 < arguments.count, let n = Int(arguments[index + 1]), n > 0 else {
                    benchFail("--iterations needs a number")
                }
                self.iterations = n
                index += 1
            case "--json": json = true
            case "--vpcd" where allowsVPCD: throughVPCD = true
            default: benchFail("unknown option '\(arguments[index])' for \(command)")
            }
            index += 1
        }
    }
}

func benchFail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("enroll-bench: \(message)\n".utf8))
    exit(1)
}

/// pcscd for a bench run: uses a running one, or starts one in the foreground and stops it after.
final class BenchPCSCD {
    private var process: Process?

    init() throws {
        if (try? PCSCContext()) != nil { return }
        try? FileManager.default.removeItem(atPath: "/run/pcscd/pcscd.comm")
        try? FileManager.default.removeItem(atPath: "/run/pcscd/pcscd.pid")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/sbin/pcscd")
            ? "/usr/sbin/pcscd" : "/sbin/pcscd")
        process.arguments = ["--foreground"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// A running pcscd, or one started now; exits the bench when pcscd cannot be started.
    static func startOrExit() -> BenchPCSCD {
        do {
            return try BenchPCSCD()
        } catch {
            benchFail("cannot start pcscd: \(error)")
        }
    }

    /// Waits until pcscd lists `reader`.
    func waitFor(reader: String, timeout: TimeInterval = 15) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let context = try? PCSCContext(), (try? context.listReaders())?.contains(reader) == true { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    func waitForCard(in reader: String, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let context = try? PCSCContext(), (try? context.connect(reader: reader)) != nil { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
