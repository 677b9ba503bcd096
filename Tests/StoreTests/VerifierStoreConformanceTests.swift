import Foundation
import XCTest

@testable import Store

/// The verifier registry, on every backend (run through the implementations' subclasses of
/// `StoreConformanceTests`).
extension StoreConformanceTests {
    func makeVerifier(id: String, fingerprint: String) -> VerifierRecord {
        let at = Date(timeIntervalSince1970: 1_790_000_000)
        return VerifierRecord(
            id: id, legalName: "Bank of \(id)", elements: ["given_names", "surname", "age_over_18"],
            purpose: "account opening", validFrom: at, validUntil: at.addingTimeInterval(86_400 * 365),
            status: .approved, credential: .issued, certificateFingerprint: fingerprint,
            certificatePEM: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", createdAt: at, updatedAt: at)
    }

    func testVerifiersAreSavedFoundByIdAndFingerprintAndUpdated() throws {
        let store = try makeStore()
        try store.migrate()
        var first = makeVerifier(id: "bank-a", fingerprint: String(repeating: "a", count: 64))
        let second = makeVerifier(id: "bank-b", fingerprint: String(repeating: "b", count: 64))
        try store.transaction { tx in
            try tx.saveVerifier(second)
            try tx.saveVerifier(first)
        }
        XCTAssertEqual(try store.transaction { tx in try tx.verifiers().map(\.id) }, ["bank-a", "bank-b"])
        XCTAssertEqual(try store.transaction { tx in try tx.verifier(id: "bank-a") }, first)
        XCTAssertEqual(
            try store.transaction { tx in try tx.verifier(fingerprint: String(repeating: "b", count: 64)) }, second)
        XCTAssertNil(try store.transaction { tx in try tx.verifier(id: "bank-c") })
        first.status = .suspended
        first.elements = ["surname"]
        first.updatedAt = first.updatedAt.addingTimeInterval(60)
        try store.transaction { tx in try tx.saveVerifier(first) }
        XCTAssertEqual(try store.transaction { tx in try tx.verifier(id: "bank-a") }, first)
    }

    func testTwoVerifiersCannotShareACertificate() throws {
        let store = try makeStore()
        try store.migrate()
        let fingerprint = String(repeating: "c", count: 64)
        try store.transaction { tx in try tx.saveVerifier(makeVerifier(id: "bank-a", fingerprint: fingerprint)) }
        XCTAssertThrowsError(
            try store.transaction { tx in try tx.saveVerifier(makeVerifier(id: "bank-b", fingerprint: fingerprint)) })
        XCTAssertEqual(try store.transaction { tx in try tx.verifiers().map(\.id) }, ["bank-a"])
    }
}
