import Foundation
import Secrets
import Synchronization
import XCTest

/// Owned buffers for keys and images (issue 18): released or wiped, the memory that held the secret is zero.
final class SecretBytesTests: XCTestCase {
    /// What the release observer saw of each buffer just before it was freed, by address.
    private final class Released: Sendable {
        let seen = Mutex<[UInt: [UInt8]]>([:])
    }

    override func tearDown() {
        SecretBytes.releaseObserver.withLock { $0 = nil }
    }

    func testReleasingTheLastReferenceZeroesTheMemoryThatHeldTheSecret() {
        let released = Released()
        SecretBytes.releaseObserver.withLock { observer in
            observer = { buffer in
                guard let base = buffer.baseAddress else { return }
                released.seen.withLock { $0[UInt(bitPattern: base)] = [UInt8](buffer) }
            }
        }
        let secret = Array("a CA passphrase, or the bytes of a face".utf8)
        var address: UInt = 0
        do {
            let bytes = SecretBytes(secret)
            bytes.withUnsafeBytes { address = UInt(bitPattern: $0.baseAddress) }
            XCTAssertEqual(bytes.withUnsafeBytes { [UInt8]($0) }, secret, "it holds the secret while referenced")
            XCTAssertEqual(bytes.description, "SecretBytes(\(secret.count) bytes)", "never printed")
        }
        let seen = released.seen.withLock { $0[address] }
        XCTAssertEqual(seen?.count, secret.count, "the observer saw this buffer released")
        XCTAssertEqual(seen, [UInt8](repeating: 0, count: secret.count), "zeroed before it was freed")
    }

    func testWipeZeroesTheSharedStorageEveryHolderSees() {
        let bytes = SecretBytes([1, 2, 3, 4])
        let otherHolder = bytes
        bytes.wipe()
        XCTAssertTrue(otherHolder.isWiped, "one buffer, not a copy-on-write copy: every holder sees the zeros")
        XCTAssertEqual(otherHolder.count, 4)
    }

    func testMovingAnArrayInTakesItsBytesAndEmptiesIt() {
        var image = [UInt8](repeating: 0xAB, count: 4096)
        let owned = SecretBytes(wiping: &image)
        XCTAssertTrue(image.isEmpty)
        XCTAssertEqual(owned.withUnsafeBytes { [UInt8]($0) }, [UInt8](repeating: 0xAB, count: 4096))
        // The documented limit: a second holder of an array's storage is not reached by wiping the first.
        var kept = [UInt8](repeating: 0xCD, count: 64)
        let copy = kept
        SecretBytes.wipe(&kept)
        XCTAssertTrue(kept.isEmpty)
        XCTAssertEqual(copy, [UInt8](repeating: 0xCD, count: 64))
    }

    func testABase64ImageIsDecodedForItsUseOnly() {
        let image = [UInt8](repeating: 0x5A, count: 1000)
        var count = 0
        let text = Data(image).base64EncodedString()
        let result = SecretBytes.withBase64Decoded(text) { bytes -> Int in
            guard let bytes else { return -1 }
            count = bytes.count
            return bytes.reduce(0) { $0 + Int($1) }
        }
        XCTAssertEqual(result, 0x5A * 1000)
        XCTAssertEqual(count, 1000)
        XCTAssertEqual(SecretBytes.withBase64Decoded("not base64 ***") { $0 == nil }, true)
    }
}
