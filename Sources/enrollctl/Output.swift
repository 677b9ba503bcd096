import Foundation
import UnixHTTP

/// A value as indented JSON with sorted keys (`--json` output of results enrollctl changed or assembled).
func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    guard let text = try? encoder.encode(value) else { fail("cannot encode the result") }
    FileHandle.standardOutput.write(text + Data([10]))
}

/// The daemon's answer byte for byte, then a newline.
func printRaw(_ response: HTTPResponse) {
    FileHandle.standardOutput.write(Data(response.body + [10]))
}

/// Writes a line unbuffered, so `watch` output reaches pipes as events happen.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// A file's content; exits when it cannot be read.
func readFile(_ path: String) -> Data {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return data
}

/// Writes `data` to `path`; exits when it cannot.
func writeFile(_ data: Data, to path: String) {
    do {
        try data.write(to: URL(fileURLWithPath: path))
    } catch {
        fail("cannot write \(path): \(error.localizedDescription)")
    }
}
