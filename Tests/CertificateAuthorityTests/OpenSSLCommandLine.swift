import Foundation
import XCTest

/// The OpenSSL command line as an independent checker of what the CA produces.
struct OpenSSLCommandLine {
    struct Result {
        var status: Int32
        var output: String
        var error: String
        var combined: String { output + error }
    }

    let directory: URL

    /// Runs `openssl` with `arguments` in `directory`.
    @discardableResult
    func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let outputURL = directory.appendingPathComponent("openssl-\(UUID().uuidString).out")
        let errorURL = directory.appendingPathComponent("openssl-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outputURL)
            try? FileManager.default.removeItem(at: errorURL)
        }
        let output = try FileHandle(forWritingTo: outputURL)
        let error = try FileHandle(forWritingTo: errorURL)
        process.standardOutput = output
        process.standardError = error
        try process.run()
        process.waitUntilExit()
        try output.close()
        try error.close()
        return Result(
            status: process.terminationStatus,
            output: (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "",
            error: (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "")
    }

    /// A CSR (PEM) for a fresh key made by `openssl req`; `keyArguments` such as
    /// `["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]`. The subject is deliberately misleading.
    func makeRequest(_ keyArguments: [String], name: String = "request") throws -> [UInt8] {
        let result = try run(
            ["req", "-new"] + keyArguments + [
                "-nodes", "-subj", "/CN=ignored/O=Evil Corp/C=ZZ",
                "-keyout", "\(name)-key.pem", "-out", "\(name).pem",
            ])
        guard result.status == 0 else { throw TestFailure("openssl req failed: \(result.combined)") }
        return try [UInt8](Data(contentsOf: directory.appendingPathComponent("\(name).pem")))
    }

    /// The same as `makeRequest`, converted to DER by `openssl req -outform DER`.
    func requestDER(_ keyArguments: [String]) throws -> [UInt8] {
        _ = try makeRequest(keyArguments, name: "request")
        let result = try run(["req", "-in", "request.pem", "-outform", "DER", "-out", "request.der"])
        guard result.status == 0 else { throw TestFailure("openssl req -outform DER failed: \(result.combined)") }
        return try [UInt8](Data(contentsOf: directory.appendingPathComponent("request.der")))
    }

    func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: directory.appendingPathComponent(name))
    }

    func write(_ bytes: [UInt8], to name: String) throws {
        try Data(bytes).write(to: directory.appendingPathComponent(name))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under the system temporary directory, removed by the test's teardown.
func makeTemporaryDirectory(_ testCase: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("enrolld-ca-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

func fileMode(_ url: URL) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
    return ((attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1) & 0o777
}

/// Asserts that `body` throws a `CertificateAuthorityError` matching `matches`.
func assertThrows<T>(
    _ body: () throws -> T, _ matches: (Error) -> Bool, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        _ = try body()
        XCTFail("expected an error \(message)", file: file, line: line)
    } catch {
        XCTAssertTrue(matches(error), "unexpected error \(error) \(message)", file: file, line: line)
    }
}
