import EnrollAPIModel
import UnixHTTP
import DaemonCore
import Foundation

/// What HIL tests do through the CLI and the API: run `enrollctl`, wait for a card to come or go.
extension Bench {
    /// Runs `enrollctl --socket SOCKET ARGUMENTS...` and returns its exit status, stdout and stderr.
    func runEnrollctl(_ arguments: [String], socket: String) throws -> (status: Int32, output: Data, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.executable("enrollctl"))
        process.arguments = ["--socket", socket] + arguments
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        try process.run()
        let output = outputPipe.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output, errorText)
    }

    /// Runs a tool (openssl, sqlite3) to completion; returns its exit status and its stdout and stderr together.
    @discardableResult
    static func runTool(_ tool: String, _ arguments: [String]) throws -> (code: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// Waits until the daemon's `GET /v1/readers` shows `reader` with (or without) a card.
    func waitForCard(in reader: String, present: Bool = true, client: UnixSocketClient) throws {
        try waitFor(present ? "a card in \(reader)" : "the card to leave \(reader)", timeout: 10) {
            guard let response = try? client.get("/v1/readers"),
                let list = try? JSONDecoder().decode(ReaderList.self, from: Data(response.body))
            else { return false }
            return list.readers.contains { $0.name == reader && $0.cardPresent } == present
        }
    }
}

/// Keys and faces for enrollments on the bench.
extension Bench {
    /// The `index`-th photo (sorted by name) of `person` in the shared face set.
    static func photo(_ person: String, _ index: Int) throws -> URL {
        let folder = CardReadTests.johns.appendingPathComponent(person)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return folder.appendingPathComponent(names[index])
    }

    /// A fresh P-256 key in the work directory: its CSR and its public key (PEM).
    func makeHolderKey(_ name: String) throws -> (csr: String, publicKey: String) {
        let key = workDirectory.appendingPathComponent("\(name).key").path
        let csr = workDirectory.appendingPathComponent("\(name).csr").path
        let request = try Self.runTool(
            "/usr/bin/openssl",
            [
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=device",
                "-keyout", key, "-out", csr,
            ])
        guard request.code == 0 else { throw BenchError("openssl req failed: \(request.output)") }
        let publicKey = try Self.runTool("/usr/bin/openssl", ["pkey", "-in", key, "-pubout"])
        guard publicKey.code == 0 else { throw BenchError("openssl pkey failed: \(publicKey.output)") }
        return (try String(contentsOfFile: csr, encoding: .utf8), publicKey.output)
    }
}
