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

/// An option's whole-number value within `range`, or the bench stops saying what the option takes.
func benchInteger(_ text: String, _ option: String, _ range: ClosedRange<Int>) -> Int {
    guard let number = Int(text), range.contains(number) else {
        benchFail("\(option) is \(range.lowerBound) to \(range.upperBound)")
    }
    return number
}

/// pcscd for a bench run: uses a running one, or starts one in the foreground and stops it after. Holds the
/// HIL bench lock meanwhile, so that test runs and other benches do not plug cards into the same vpcd ports.
final class BenchPCSCD {
    // Changed only by the load bench's fault injector thread (killAndRestart) and by `stop` after it has ended.
    private var process: Process?
    private let lock = HILBenchLock()

    init() throws {
        if (try? PCSCContext()) != nil { return }
        process = try Self.launch()
    }

    private static func launch() throws -> Process {
        try? FileManager.default.removeItem(atPath: "/run/pcscd/pcscd.comm")
        try? FileManager.default.removeItem(atPath: "/run/pcscd/pcscd.pid")
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/sbin/pcscd")
                ? "/usr/sbin/pcscd" : "/sbin/pcscd")
        process.arguments = ["--foreground"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Whether this bench started pcscd (and so may kill it).
    var startedHere: Bool { process != nil }

    /// Fault injection: SIGKILLs the pcscd this bench started, starts a new one and waits until it answers
    /// (`vpcd` listens again, so the virtual cards reconnect). False when it does not come back within 15 s.
    func killAndRestart() -> Bool {
        guard let process, process.isRunning else { return false }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.5)
        guard let fresh = try? Self.launch() else { return false }
        self.process = fresh
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if (try? PCSCContext()) != nil { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
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

/// The machine-wide HIL bench lock (see Tests/HILTests/Bench.swift): held for the whole run so that test runs
/// elsewhere wait instead of plugging their cards into the same vpcd ports. A caller that already holds it
/// (a HIL test running this bench) sets `ENROLLD_BENCH_LOCK_HELD=1`.
final class HILBenchLock {
    private var fd: Int32 = -1
    static let path = "/tmp/enrolld-hil-bench.lock"

    init() {
        guard ProcessInfo.processInfo.environment["ENROLLD_BENCH_LOCK_HELD"] == nil else { return }
        fd = open(Self.path, O_CREAT | O_RDWR | O_CLOEXEC, 0o666)
        guard fd >= 0 else { return }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            FileHandle.standardError.write(Data("enroll-bench: waiting for the HIL bench lock (\(Self.path))\n".utf8))
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        }
    }

    deinit {
        if fd >= 0 {
            flock(fd, LOCK_UN)
            close(fd)
        }
    }
}
