import Foundation

/// The command line of one enrollctl run: the command words, the options with their values, `--json` and the
/// socket. Options may stand anywhere on the line; a repeated option keeps its last value.
///
/// A secret (an access key or a passcode) can stay off the command line, where `ps` shows it to every user:
/// each secret option `--NAME VALUE` also comes as `--NAME-file FILE` (the value is the file's content) and as
/// `--NAME-stdin` (read from standard input; on a terminal, asked for without echo).
struct Invocation {
    var socketPath: String
    var words: [String] = []
    var json = false
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    /// Options that take a value.
    static let valueOptions: Set<String> = [
        "--reader", "--face-out", "--photo", "--csr", "--account", "--cert-out", "--reason", "--out", "--role",
        "--channel", "--since", "--until", "--limit", "--after", "--device-id", "--public-key", "--label",
        "--enrollment", "--holder-session", "--frames", "--nonce", "--interval", "--prompts", "--territory", "--states",
        "--scan", "--issued-before", "--state", "--name", "--elements", "--purpose", "--days", "--certificate",
    ]
    /// Options without a value (besides `--json`).
    static let flagOptions: Set<String> = ["--upgrade", "--all"]
    /// Options whose value is a secret, with what the value is (for prompts and errors).
    static let secretOptions: [String: Secret] = [
        "--mrz": Secret("MRZ", lines: .many),
        "--can": Secret("CAN"),
        "--document-number": Secret("document number"),
        "--birth-date": Secret("birth date (YYMMDD)"),
        "--expiry-date": Secret("expiry date (YYMMDD)"),
        "--passcode": Secret("passcode"),
        "--current": Secret("current passcode"),
        "--holder-passcode": Secret("holder's passcode"),
        "--code": Secret("activation code"),
    ]
    /// Largest secret read from a file or standard input.
    static let secretLimit = 4096

    /// What a secret option carries.
    struct Secret {
        enum Lines { case one, many }
        let name: String
        let lines: Lines
        init(_ name: String, lines: Lines = .one) {
            self.name = name
            self.lines = lines
        }
    }

    /// Where a secret's value came from; an option takes one source only.
    private enum Source: Equatable { case argument, file, standardInput }

    /// Parses the arguments (without the program name); prints usage and exits on `--help` or a bad option.
    init(_ arguments: [String], environment: [String: String]) {
        socketPath = environment["ENROLLD_SOCKET"] ?? "/run/enrolld/api.sock"
        // Secrets are read after the whole line is checked, so a mistake costs nothing typed on a terminal.
        var secrets: [(option: String, secret: Secret, source: Source, argument: String, text: String)] = []
        var iterator = arguments.makeIterator()
        func value(for option: String) -> String {
            guard let value = iterator.next() else { fail("\(option) needs a value", code: 2) }
            return value
        }
        while let argument = iterator.next() {
            if let (option, secret, source) = Self.secretOption(argument) {
                let text = source == .standardInput ? "" : value(for: argument)
                secrets.append((option, secret, source, argument, text))
                continue
            }
            switch argument {
            case "--socket":
                socketPath = value(for: argument)
            case "--json":
                json = true
            case "-h", "--help":
                print(usage)
                exit(0)
            case let option where Self.valueOptions.contains(option):
                values[option] = value(for: option)
            case let option where Self.flagOptions.contains(option):
                flags.insert(option)
            default:
                if argument.hasPrefix("-") { fail("unknown option '\(argument)'\n\(usage)", code: 2) }
                words.append(argument)
            }
        }
        let readers = secrets.filter { $0.source == .standardInput }.map(\.argument)
        if readers.count > 1 {
            fail(
                "\(readers.joined(separator: ", ")): only one option can read standard input; give the others -file",
                code: 2)
        }
        for option in Set(secrets.map(\.option)) {
            let sources = secrets.filter { $0.option == option }.map(\.source)
            if sources.count > 1 && sources.contains(where: { $0 != .argument }) {
                fail(
                    "\(option) given twice (on the command line, in a file or on standard input): give it once",
                    code: 2)
            }
        }
        for entry in secrets {
            switch entry.source {
            case .argument: values[entry.option] = entry.text
            case .file:
                values[entry.option] = Self.readSecret(entry.secret, fromFile: entry.text, option: entry.argument)
            case .standardInput:
                values[entry.option] = Self.readSecretFromStandardInput(entry.secret, option: entry.argument)
            }
        }
    }

    /// `--mrz` (the value follows), `--mrz-file` (a file follows) or `--mrz-stdin`; nil for other arguments.
    private static func secretOption(_ argument: String) -> (option: String, secret: Secret, source: Source)? {
        if let secret = secretOptions[argument] { return (argument, secret, .argument) }
        for (suffix, source) in [("-file", Source.file), ("-stdin", .standardInput)] where argument.hasSuffix(suffix) {
            let option = String(argument.dropLast(suffix.count))
            if let secret = secretOptions[option] { return (option, secret, source) }
        }
        return nil
    }

    /// The value of an option, nil when it was not given.
    func value(_ option: String) -> String? { values[option] }

    /// Whether a flag option (`flagOptions`) was given.
    func flag(_ option: String) -> Bool { flags.contains(option) }

    /// The value of an option; exits with `message` (status 2) when it was not given.
    func required(_ option: String, _ message: String) -> String {
        guard let value = values[option] else { fail(message, code: 2) }
        return value
    }

    /// The command word after the group's word (`show` in `accounts show ID`).
    var subcommand: String? { words.dropFirst().first }

    // MARK: Secrets from files and standard input

    private static func readSecret(_ secret: Secret, fromFile path: String, option: String) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { fail("\(option): cannot read \(path)", code: 2) }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: secretLimit + 1)) ?? Data()
        return checked(secret, data, option: option, origin: path)
    }

    private static func readSecretFromStandardInput(_ secret: Secret, option: String) -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            let data = (try? FileHandle.standardInput.read(upToCount: secretLimit + 1)) ?? Data()
            return checked(secret, data, option: option, origin: "standard input")
        }
        switch secret.lines {
        case .one:
            FileHandle.standardError.write(Data("\(secret.name): ".utf8))
            let line = withoutEcho { readLine(strippingNewline: true) }
            FileHandle.standardError.write(Data("\n".utf8))
            return checked(secret, Data((line ?? "").utf8), option: option, origin: "the terminal")
        case .many:
            FileHandle.standardError.write(Data("\(secret.name), line by line, then an empty line:\n".utf8))
            var lines: [String] = []
            while let line = readLine(strippingNewline: true), !line.isEmpty { lines.append(line) }
            return checked(secret, Data(lines.joined(separator: "\n").utf8), option: option, origin: "the terminal")
        }
    }

    /// The value without surrounding whitespace, CRLF as LF; refuses empty, oversized and (for one-line
    /// secrets) multi-line values.
    private static func checked(_ secret: Secret, _ data: Data, option: String, origin: String) -> String {
        guard data.count <= secretLimit else {
            fail("\(option): \(origin) holds more than \(secretLimit) bytes; expected the \(secret.name)", code: 2)
        }
        let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { fail("\(option): \(origin) holds no \(secret.name)", code: 2) }
        guard secret.lines == .many || !text.contains("\n") else {
            fail("\(option): \(origin) holds more than one line; expected the \(secret.name) alone", code: 2)
        }
        return text
    }

    /// Runs `body` with the terminal's echo off, and restores it.
    private static func withoutEcho<T>(_ body: () -> T) -> T {
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return body() }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
        return body()
    }
}

/// Prints `enrollctl: MESSAGE` on standard error and exits with `code`.
func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("enrollctl: \(message)\n".utf8))
    exit(code)
}
