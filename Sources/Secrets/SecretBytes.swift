import CSystem
import Foundation
import Synchronization

/// Bytes that must not outlive their use: a key, a passphrase, a face image. The buffer is allocated and owned
/// here (never a copy-on-write array that may have been copied behind our back) and overwritten with zeros by
/// `explicit_bzero` when `wipe()` is called or, at the latest, when the last reference goes.
///
/// Limits, said plainly: what was never in this buffer is not wiped by it. An image that arrived in a JSON body
/// was base64 text in the request buffer first, and decoding made transient copies; a key handed to OpenSSL is
/// copied into OpenSSL's own structures (which free with `OPENSSL_cleanse`); the kernel's socket and page caches
/// are out of reach. Owners take the bytes out of those places as early as they can and keep only this copy.
///
/// Sharing: the bytes are written only while one owner holds the object (when it is made, or read into from a
/// file) and by `wipe()`, which its owner calls once no one reads it any longer (a session's end); readers only
/// read. That discipline, not a lock, is what makes the `@unchecked Sendable` safe.
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible {
    private let storage: UnsafeMutableRawBufferPointer

    /// `count` zero bytes.
    public init(count: Int) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 0), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// A copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        if let base = bytes.baseAddress, !bytes.isEmpty {
            storage.baseAddress?.copyMemory(from: base, byteCount: bytes.count)
        }
    }

    /// A copy of `bytes` (the array itself is the caller's to wipe, or see `init(wiping:)`).
    public convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress, !source.isEmpty {
                storage.baseAddress?.copyMemory(from: base, byteCount: source.count)
            }
        }
    }

    /// Moves `bytes` in: copies them, then zeroes the array's own storage and empties it. When the array shares its
    /// storage with another copy, that copy is not reached (copy-on-write): pass an array no one else holds.
    public convenience init(wiping bytes: inout [UInt8]) {
        self.init(bytes)
        SecretBytes.wipe(&bytes)
    }

    deinit {
        wipe()
        SecretBytes.releaseObserver.withLock { $0?(UnsafeRawBufferPointer(storage)) }
        storage.deallocate()
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    /// Reads the bytes in place; the pointer must not escape `body`.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(storage))
    }

    /// Writes the bytes in place, for whoever fills a new buffer (a file read); the pointer must not escape `body`.
    public func withUnsafeMutableBytes<Result, Failure: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(storage)
    }

    /// A copy as an array, for an API that takes nothing else (a C library's input): the copy is the caller's to
    /// wipe (`SecretBytes.wipe(&array)`) as soon as that call returns.
    public func copiedArray() -> [UInt8] { [UInt8](UnsafeRawBufferPointer(storage)) }

    /// Overwrites the bytes with zeros now (idempotent); the buffer keeps its size.
    public func wipe() {
        if let base = storage.baseAddress, storage.count > 0 { enrolld_wipe(base, storage.count) }
    }

    /// Whether every byte is zero (after `wipe()`, or a buffer never filled).
    public var isWiped: Bool { storage.allSatisfy { $0 == 0 } }

    /// Never the content.
    public var description: String { "SecretBytes(\(storage.count) bytes)" }

    /// Zeroes an array's storage in place (when it is the only holder of that storage) and empties it.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress, buffer.count > 0 { enrolld_wipe(base, buffer.count) }
        }
        bytes = []
    }

    /// Zeroes a `Data`'s storage in place (when it is the only holder of that storage) and empties it.
    public static func wipe(_ data: inout Data) {
        data.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress, buffer.count > 0 { enrolld_wipe(base, buffer.count) }
        }
        data = Data()
    }

    /// Decodes the base64 `text` of an image in a request (a live photo, a card photo) for `body` (nil when it is
    /// not base64) and zeroes the decoded bytes when `body` returns: the image outlives the request nowhere but in
    /// what `body` kept. The base64 text itself is the request's, freed with it.
    public static func withBase64Decoded<Result, Failure: Error>(
        _ text: String, _ body: ([UInt8]?) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        guard var data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else { return try body(nil) }
        var bytes = [UInt8](data)
        wipe(&data)
        defer { wipe(&bytes) }
        return try body(bytes)
    }

    /// Tests only: called with the buffer after it was zeroed and before it is freed, so a test can see that
    /// releasing the last reference wiped the very memory that held the secret.
    public static let releaseObserver = Mutex<(@Sendable (UnsafeRawBufferPointer) -> Void)?>(nil)
}
