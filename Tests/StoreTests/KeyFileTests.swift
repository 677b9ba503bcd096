import Foundation
import OpenSSLKit
import Secrets
import Store
import XCTest

final class KeyFileTests: XCTestCase {
    func testCreatesAKeyWithOwnerOnlyModeInAnOwnerOnlyDirectory() throws {
        let directory = try makeTemporaryDirectory(for: self)
        let keys = (directory as NSString).appendingPathComponent("state/keys")
        let path = (keys as NSString).appendingPathComponent("data.key")
        let key = try KeyFile.loadOrCreate(path: path)
        XCTAssertEqual(key.count, 32)
        XCTAssertEqual(try fileMode(path), 0o600)
        XCTAssertEqual(try fileMode(keys), 0o700)
        XCTAssertEqual(try KeyFile.loadOrCreate(path: path), key, "the second start reads the same key")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: keys), ["data.key"], "no temporary left")
    }

    func testRefusesAFileGroupOrOthersCanRead() throws {
        let directory = try makeTemporaryDirectory(for: self)
        let path = (directory as NSString).appendingPathComponent("identity.key")
        XCTAssertTrue(
            FileManager.default.createFile(
                atPath: path, contents: Data(repeating: 7, count: 32),
                attributes: [.posixPermissions: 0o644]))
        XCTAssertThrowsError(try KeyFile.loadOrCreate(path: path)) { error in
            XCTAssertEqual(error as? KeyFileError, .insecurePermissions(path: path, mode: 0o644))
            XCTAssertTrue(String(describing: error).contains("chmod 600"), "\(error)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        XCTAssertEqual(try KeyFile.loadOrCreate(path: path), [UInt8](repeating: 7, count: 32))
    }

    func testRefusesAFileOfTheWrongSize() throws {
        let directory = try makeTemporaryDirectory(for: self)
        let path = (directory as NSString).appendingPathComponent("data.key")
        XCTAssertTrue(
            FileManager.default.createFile(
                atPath: path, contents: Data(repeating: 7, count: 31),
                attributes: [.posixPermissions: 0o600]))
        XCTAssertThrowsError(try KeyFile.loadOrCreate(path: path)) { error in
            XCTAssertEqual(error as? KeyFileError, .wrongSize(path: path, size: 31))
        }
    }

    func testRefusesASymbolicLink() throws {
        let directory = try makeTemporaryDirectory(for: self)
        let target = (directory as NSString).appendingPathComponent("target.key")
        let link = (directory as NSString).appendingPathComponent("data.key")
        _ = try KeyFile.loadOrCreate(path: target)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        XCTAssertThrowsError(try KeyFile.loadOrCreate(path: link)) { error in
            XCTAssertEqual(error as? KeyFileError, .notRegularFile(path: link))
        }
    }
}

final class DataProtectorTests: XCTestCase {
    private func makeProtector(
        version: UInt8 = 1, previous: [UInt8: [UInt8]] = [:],
        dataKeyByte: UInt8 = 2
    ) throws -> DataProtector {
        try DataProtector(
            identityKey: [UInt8](repeating: 1, count: 32),
            dataKey: [UInt8](repeating: dataKeyByte, count: 32), keyVersion: version,
            previousDataKeys: previous)
    }

    func testIdentityKeyIsHMACOfTheTypedCanonicalForm() throws {
        let protector = try makeProtector()
        XCTAssertEqual(
            DataProtector.canonicalIdentity(issuingState: " hkg ", kind: .personalNumber, number: "a1234563\n"),
            "HKG:PN:A1234563")
        XCTAssertEqual(
            DataProtector.canonicalIdentity(issuingState: "D<<", kind: .documentNumber, number: "L01X00T47<"),
            "D:DOC:L01X00T47")
        let key = try protector.identityKey(issuingState: "HKG", kind: .personalNumber, number: "A1234563")
        XCTAssertEqual(key, try HMAC.sha256(Array("HKG:PN:A1234563".utf8), key: [UInt8](repeating: 1, count: 32)))
        XCTAssertEqual(try protector.identityKey(issuingState: " hkg", kind: .personalNumber, number: "a1234563 "), key)
        XCTAssertNotEqual(
            try protector.identityKey(issuingState: "HKG", kind: .personalNumber, number: "A1234564"), key)
        XCTAssertNotEqual(
            try protector.identityKey(issuingState: "MAC", kind: .personalNumber, number: "A1234563"), key)
        // One holder's document number never keys like another's personal number.
        XCTAssertNotEqual(
            try protector.identityKey(issuingState: "HKG", kind: .documentNumber, number: "A1234563"), key)
        XCTAssertEqual(
            try protector.documentKey(issuingState: "HKG", documentNumber: "A1234563"),
            try protector.identityKey(issuingState: "HKG", kind: .documentNumber, number: "A1234563"))
    }

    func testLegacyIdentityKeyIsTheUntypedForm() throws {
        let protector = try makeProtector()
        XCTAssertEqual(
            DataProtector.legacyCanonicalIdentity(issuingState: " hkg ", identityNumber: "a1234563\n"), "HKG:A1234563")
        XCTAssertEqual(
            try protector.legacyIdentityKey(issuingState: "HKG", identityNumber: "A1234563"),
            try HMAC.sha256(Array("HKG:A1234563".utf8), key: [UInt8](repeating: 1, count: 32)))
    }

    func testSealOpensOnlyInItsContext() throws {
        let protector = try makeProtector()
        let personal = Array(#"{"name":"CHAN Tai Man"}"#.utf8)
        let sealed = try protector.seal(personal, context: "account A")
        XCTAssertEqual(sealed.first, 1, "key version prefix")
        XCTAssertEqual(sealed.count, 1 + 12 + personal.count + 16)
        XCTAssertEqual(try protector.open(sealed, context: "account A"), personal)
        XCTAssertThrowsError(try protector.open(sealed, context: "account B")) { error in
            guard case .protection = error as? StoreError else { return XCTFail("\(error)") }
        }
        var tampered = sealed
        tampered[20] ^= 0x80
        XCTAssertThrowsError(try protector.open(tampered, context: "account A"))
        XCTAssertThrowsError(try protector.open([], context: "account A"))
    }

    func testRotationOpensOldSealsAndSealsUnderTheNewKey() throws {
        let old = try makeProtector()
        let sealedBefore = try old.seal([1, 2, 3], context: "row")
        let rotated = try makeProtector(version: 2, previous: [1: [UInt8](repeating: 2, count: 32)], dataKeyByte: 3)
        XCTAssertEqual(try rotated.open(sealedBefore, context: "row"), [1, 2, 3])
        let sealedAfter = try rotated.seal([4], context: "row")
        XCTAssertEqual(sealedAfter.first, 2)
        XCTAssertThrowsError(try old.open(sealedAfter, context: "row"), "version 2 is unknown to the old protector")
        var relabelled = sealedBefore
        relabelled[0] = 2
        XCTAssertThrowsError(try rotated.open(relabelled, context: "row"), "the version byte is authenticated")
    }

    func testRefusesBadKeys() {
        XCTAssertThrowsError(try DataProtector(identityKey: [1], dataKey: [UInt8](repeating: 2, count: 32)))
        XCTAssertThrowsError(
            try DataProtector(
                identityKey: [UInt8](repeating: 2, count: 32),
                dataKey: [UInt8](repeating: 2, count: 32)))
    }

    func testLoadsItsKeysFromTheStateDirectory() throws {
        let directory = try makeTemporaryDirectory(for: self)
        let first = try DataProtector(stateDirectory: directory)
        let sealed = try first.seal([9, 9], context: "c")
        let second = try DataProtector(stateDirectory: directory)
        XCTAssertEqual(try second.open(sealed, context: "c"), [9, 9])
        XCTAssertEqual(
            try second.identityKey(issuingState: "HKG", kind: .personalNumber, number: "A1"),
            try first.identityKey(issuingState: "HKG", kind: .personalNumber, number: "A1"))
        for name in ["identity.key", "data.key"] {
            XCTAssertEqual(try fileMode((directory as NSString).appendingPathComponent("keys/\(name)")), 0o600)
        }
    }
}
