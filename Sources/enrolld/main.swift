import DaemonCore
import EnrollAPIModel
import Enrollment
import Foundation

let usage = """
    usage: enrolld [--config FILE] [--socket PATH] [--check-config] [--version]
           enrolld [--config FILE] --print-config | --print-default-config
           enrolld [--config FILE] ca init [--algorithm p256|p384|rsa3072] [--name "CN"] [--country CC]
                   [--validity-years N] [--external-root] [--force]
           enrolld [--config FILE] ca install-certificate FILE

      --config FILE    configuration file (default /etc/enrolld/enrolld.conf if it exists)
      --socket PATH    API socket path, overriding the configuration
      --check-config   validate the configuration and exit
      --print-config   print the settings in effect (every key, after --config and --socket) and exit
      --print-default-config
                       print the commented default configuration (Packaging/enrolld.conf) and exit
      --version        print the version and exit
    """

func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("enrolld: \(message)\n".utf8))
    exit(code)
}

var configPath: String?
var socketOverride: String?
var checkOnly = false
var printConfig = false
var caCommand: [String] = []
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--config":
        guard let value = arguments.next() else { fail("--config needs a file") }
        configPath = value
    case "--socket":
        guard let value = arguments.next() else { fail("--socket needs a path") }
        socketOverride = value
    case "--check-config":
        checkOnly = true
    case "--print-config":
        printConfig = true
    case "--print-default-config":
        print(Configuration.defaultFileText(), terminator: "")
        exit(0)
    case "--version":
        print("enrolld \(enrolldVersion)")
        exit(0)
    case "-h", "--help":
        print(usage)
        exit(0)
    case "ca":
        while let rest = arguments.next() { caCommand.append(rest) }
        guard !caCommand.isEmpty else { fail("ca needs init or install-certificate\n\(usage)") }
    default:
        fail("unknown argument '\(argument)'\n\(usage)")
    }
}

let defaultConfig = "/etc/enrolld/enrolld.conf"
var configuration: Configuration
var configSource = "built-in defaults"
do {
    if let configPath {
        configuration = try Configuration.load(path: configPath)
        configSource = configPath
    } else if FileManager.default.fileExists(atPath: defaultConfig) {
        configuration = try Configuration.load(path: defaultConfig)
        configSource = defaultConfig
    } else {
        configuration = Configuration()
    }
} catch {
    fail(error.description)
}
if let socketOverride { configuration.socketPath = socketOverride }
if printConfig {
    print(configuration.fileText(source: configSource), terminator: "")
    exit(0)
}
if !caCommand.isEmpty {
    exit(runCACommand(caCommand, configuration: configuration))
}
if checkOnly {
    for problem in configuration.roles.resolved().unknown { print("warning: \(problem)") }
    print("configuration OK (socket \(configuration.socketPath), state \(configuration.stateDirectory))")
    exit(0)
}
Log.shared.level = configuration.logLevel

/// systemd socket activation (sd_listen_fds(3)): fd 3 when LISTEN_PID is us and LISTEN_FDS is 1.
func activatedSocket() -> Int32? {
    let environment = ProcessInfo.processInfo.environment
    guard let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
        let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1
    else { return nil }
    return 3
}

// Before any key, CA passphrase or face image is in memory: no core dumps, no same-uid ptrace.
if !ProcessHardening.disableCoreDumps() { Log.warning("prctl(PR_SET_DUMPABLE, 0) failed: core dumps stay possible") }
signal(SIGPIPE, SIG_IGN)
signal(SIGTERM, SIG_IGN)
signal(SIGINT, SIG_IGN)
signal(SIGHUP, SIG_IGN)
// Test benches only: ENROLLD_TEST_STOP_AT (with ENROLLD_TEST_BENCH=1) freezes the daemon at a named enrollment step.
let crashPoints: CrashPoints
do {
    crashPoints = try CrashPoints.fromEnvironment()
} catch {
    fail(error.message)
}
if let point = crashPoints.stopAt {
    Log.warning(
        "test bench: this daemon stops itself (SIGSTOP) at crash point \(point.rawValue); never set "
            + "ENROLLD_TEST_STOP_AT outside a test bench")
}
let daemon = Daemon(configuration: configuration, crashPoints: crashPoints)
// Signal sources exist before the API answers: a SIGTERM sent as soon as the daemon is reachable is handled,
// not lost to SIG_IGN above.
let done = DispatchSemaphore(value: 0)
let signalQueue = DispatchQueue(label: "enrolld.signals")
let sources = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
    let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
    source.setEventHandler { done.signal() }
    source.resume()
    return source
}
let reloadSource = DispatchSource.makeSignalSource(signal: SIGHUP, queue: signalQueue)
reloadSource.setEventHandler { daemon.reload() }
reloadSource.resume()
do {
    try daemon.start(listeningDescriptor: socketOverride == nil ? activatedSocket() : nil)
} catch {
    fail(error.description, code: 1)
}
// Type=notify: tell systemd the API is listening, then keep its watchdog fed (sd_notify(3)).
let notifier = SystemdNotifier()
notifier.ready(status: "listening on \(configuration.socketPath)")
let watchdog = SystemdNotifier.watchdogInterval().map { SystemdWatchdog(notifier: notifier, interval: $0) }
done.wait()
notifier.stopping()
watchdog?.stop()
daemon.stop()
withExtendedLifetime((sources, reloadSource)) {}
exit(0)
