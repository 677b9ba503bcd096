import OpenSSLKit
import XCTest

/// AES-256-GCM, HMAC-SHA-256 and scrypt: known answers from the specifications, then the unhappy paths.
final class AEADTests: XCTestCase {
    // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13-16 (AES-256, 96-bit IV).
    func testGCMSpecTestCase13EmptyPlaintext() throws {
        let result = try AESGCM.encrypt(
            [], key: [UInt8](repeating: 0, count: 32),
            nonce: [UInt8](repeating: 0, count: 12))
        XCTAssertEqual(result.ciphertext, [])
        XCTAssertEqual(result.tag, h("530f8afbc74536b9a963b4f1c4cb738b"))
    }

    func testGCMSpecTestCase14() throws {
        let result = try AESGCM.encrypt(
            [UInt8](repeating: 0, count: 16), key: [UInt8](repeating: 0, count: 32),
            nonce: [UInt8](repeating: 0, count: 12))
        XCTAssertEqual(result.ciphertext, h("cea7403d4d606b6e074ec5d3baf39d18"))
        XCTAssertEqual(result.tag, h("d0d1c8a799996bf0265b98b5d48ab919"))
    }

    private let specKey = h("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
    private let specNonce = h("cafebabefacedbaddecaf888")
    private let specPlaintext = h(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255")
    private let specCiphertext = h(
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad")

    func testGCMSpecTestCase15() throws {
        let result = try AESGCM.encrypt(specPlaintext, key: specKey, nonce: specNonce)
        XCTAssertEqual(result.ciphertext, specCiphertext)
        XCTAssertEqual(result.tag, h("b094dac5d93471bdec1a502270e3cc6c"))
        XCTAssertEqual(
            try AESGCM.decrypt(result.ciphertext, key: specKey, nonce: specNonce, tag: result.tag),
            specPlaintext)
    }

    func testGCMSpecTestCase16WithAssociatedData() throws {
        let aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        let plaintext = Array(specPlaintext[..<60])
        let result = try AESGCM.encrypt(plaintext, key: specKey, nonce: specNonce, associatedData: aad)
        XCTAssertEqual(result.ciphertext, Array(specCiphertext[..<60]))
        XCTAssertEqual(result.tag, h("76fc6ece0f4e1768cddf8853bb2d551b"))
        XCTAssertEqual(
            try AESGCM.open(specNonce + result.ciphertext + result.tag, key: specKey, associatedData: aad),
            plaintext)
    }

    func testSealLayoutAndRoundTrip() throws {
        let key = try SecureRandom.bytes(32)
        let message = Array("sealed personal data".utf8)
        let first = try AESGCM.seal(message, key: key, associatedData: Array("row-1".utf8))
        let second = try AESGCM.seal(message, key: key, associatedData: Array("row-1".utf8))
        XCTAssertEqual(first.count, 12 + message.count + 16)
        XCTAssertNotEqual(first, second, "every seal draws a fresh nonce")
        XCTAssertEqual(try AESGCM.open(first, key: key, associatedData: Array("row-1".utf8)), message)
        XCTAssertEqual(try AESGCM.open(try AESGCM.seal([], key: key), key: key), [])
    }

    func testOpenRefusesEveryTampering() throws {
        let key = try SecureRandom.bytes(32)
        let aad = Array("account-42".utf8)
        let sealed = try AESGCM.seal(Array("CHAN TAI MAN".utf8), key: key, associatedData: aad)
        // Nonce, ciphertext and tag bytes.
        for index in [0, 11, 12, sealed.count - 17, sealed.count - 16, sealed.count - 1] {
            var tampered = sealed
            tampered[index] ^= 0x01
            assertAuthenticationFails(try AESGCM.open(tampered, key: key, associatedData: aad), "byte \(index)")
        }
        assertAuthenticationFails(try AESGCM.open(sealed, key: key, associatedData: Array("account-43".utf8)), "AAD")
        assertAuthenticationFails(try AESGCM.open(sealed, key: key), "missing AAD")
        assertAuthenticationFails(try AESGCM.open(sealed, key: try SecureRandom.bytes(32), associatedData: aad), "key")
        XCTAssertThrowsError(try AESGCM.open(Array(sealed[..<27]), key: key, associatedData: aad)) { error in
            XCTAssertEqual(error as? AESGCMError, .truncated(27))
        }
    }

    func testRefusesBadLengths() {
        XCTAssertThrowsError(try AESGCM.seal([1], key: [1, 2, 3])) {
            XCTAssertEqual($0 as? AESGCMError, .invalidKeyLength(3))
        }
        XCTAssertThrowsError(try AESGCM.encrypt([1], key: [UInt8](repeating: 0, count: 32), nonce: [1])) {
            XCTAssertEqual($0 as? AESGCMError, .invalidNonceLength(1))
        }
        XCTAssertThrowsError(
            try AESGCM.decrypt(
                [1], key: [UInt8](repeating: 0, count: 32),
                nonce: [UInt8](repeating: 0, count: 12), tag: [1])
        ) {
            XCTAssertEqual($0 as? AESGCMError, .invalidTagLength(1))
        }
    }

    // RFC 4231 §4.2-4.5: HMAC-SHA-256 test cases 1-4.
    func testHMACSHA256RFC4231() throws {
        XCTAssertEqual(
            try HMAC.sha256(Array("Hi There".utf8), key: [UInt8](repeating: 0x0b, count: 20)),
            h("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"))
        XCTAssertEqual(
            try HMAC.sha256(Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8)),
            h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
        XCTAssertEqual(
            try HMAC.sha256([UInt8](repeating: 0xdd, count: 50), key: [UInt8](repeating: 0xaa, count: 20)),
            h("773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"))
        XCTAssertEqual(
            try HMAC.sha256([UInt8](repeating: 0xcd, count: 50), key: Array(1...25)),
            h("82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"))
    }

    func testHMACVerificationInConstantTime() throws {
        let key = Array("Jefe".utf8)
        let message = Array("what do ya want for nothing?".utf8)
        var mac = try HMAC.sha256(message, key: key)
        XCTAssertTrue(try HMAC.isValid(mac, for: message, key: key))
        mac[31] ^= 1
        XCTAssertFalse(try HMAC.isValid(mac, for: message, key: key))
        XCTAssertFalse(try HMAC.isValid(Array(mac[..<16]), for: message, key: key))
    }

    // RFC 7914 §12: the first two scrypt test vectors.
    func testScryptRFC7914EmptyPassword() throws {
        let key = try Scrypt.deriveKey(password: [], salt: [], parameters: .init(n: 16, r: 1, p: 1), length: 64)
        XCTAssertEqual(
            key,
            h(
                "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
                    + "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"))
    }

    func testScryptRFC7914PasswordNaCl() throws {
        let key = try Scrypt.deriveKey(
            password: Array("password".utf8), salt: Array("NaCl".utf8),
            parameters: .init(n: 1024, r: 8, p: 16), length: 64)
        XCTAssertEqual(
            key,
            h(
                "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
                    + "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"))
    }

    func testScryptRefusesBadParameters() {
        XCTAssertThrowsError(
            try Scrypt.deriveKey(
                password: [1], salt: [2], parameters: .init(n: 15, r: 1, p: 1),
                length: 32))
        XCTAssertThrowsError(
            try Scrypt.deriveKey(
                password: [1], salt: [2], parameters: .init(n: 16, r: 1, p: 1),
                length: 0))
        // N = 2^20, r = 8 needs 1 GiB: over the memory bound.
        XCTAssertThrowsError(
            try Scrypt.deriveKey(
                password: [1], salt: [2], parameters: .init(n: 1 << 20, r: 8, p: 1),
                length: 32, maximumMemory: 64 << 20))
    }

    private func assertAuthenticationFails(
        _ expression: @autoclosure () throws -> [UInt8], _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try expression(), what, file: file, line: line) { error in
            XCTAssertEqual(error as? AESGCMError, .authenticationFailed, what, file: file, line: line)
        }
    }
}
