import XCTest

/// Decodes a hex literal in a test; fails the test (instead of crashing) when the literal is malformed.
func h(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
    var out: [UInt8] = []
    var high: UInt8?
    for scalar in text.unicodeScalars where scalar != " " {
        guard let nibble = UInt8(String(scalar), radix: 16) else {
            XCTFail("bad hex literal \(text)", file: file, line: line)
            return []
        }
        if let value = high {
            out.append(value << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    if high != nil { XCTFail("odd hex literal \(text)", file: file, line: line) }
    return out
}
