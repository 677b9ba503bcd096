import COpenSSL

/// A failed OpenSSL call: which operation failed and the text of OpenSSL's error queue at that moment.
public struct OpenSSLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The operation that failed, e.g. "AES-128-CBC encrypt".
    public var operation: String
    /// OpenSSL's error queue, oldest first (may be empty when the failure was detected in Swift).
    public var queue: [String]

    public init(operation: String, queue: [String] = []) {
        self.operation = operation
        self.queue = queue
    }

    /// Builds an error for `operation` and drains OpenSSL's thread-local error queue into it.
    public static func capture(_ operation: String) -> OpenSSLError {
        OpenSSLError(operation: operation, queue: drainErrorQueue())
    }

    /// Removes every entry from OpenSSL's error queue and returns their texts.
    static func drainErrorQueue() -> [String] {
        var texts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = buffer.withUnsafeBufferPointer { pointer in
                pointer.baseAddress.map { String(cString: $0) } ?? ""
            }
            texts.append(text)
            if texts.count >= 16 { break }
        }
        return texts
    }

    public var description: String {
        let detail = queue.isEmpty ? "" : ": " + queue.joined(separator: "; ")
        return "OpenSSL: \(operation) failed\(detail)"
    }
}
