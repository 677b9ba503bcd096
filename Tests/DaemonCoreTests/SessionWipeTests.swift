@testable import DaemonCore
import EnrollAPIModel
@testable import Enrollment
import Foundation
import Secrets
import XCTest

/// The chip portrait a session holds is zeroed where it lies when the session ends (issue 18): every copy of the
/// session (the table's, a step's) shares one owned buffer, so wiping reaches the real storage.
final class SessionWipeTests: XCTestCase {
    private func openSession(_ bench: InProcessDaemon) throws -> (EnrollmentService, UUID, LiveSession) {
        let holder = TestHolder.random()
        try bench.insertCard(holder)
        let opened = try bench.decode(EnrollmentView.self, try bench.require(bench.start(holder), 201))
        let service = try XCTUnwrap(bench.daemon.enrollment)
        let id = try XCTUnwrap(UUID(uuidString: opened.id))
        return (service, id, try XCTUnwrap(service.sessions.snapshot(id)))
    }

    func testAnExpiredSessionsPortraitIsZeroedInTheBufferEveryCopyShares() throws {
        let bench = try InProcessDaemon()
        let (service, id, copy) = try openSession(bench)
        let portrait = copy.portrait
        XCTAssertGreaterThan(portrait.count, 1000, "the chip portrait is held")
        XCTAssertFalse(portrait.isWiped)
        XCTAssertNil(copy.document.data.dg2, "DG2 is dropped once the portrait is in the session's buffer")

        bench.clock.advance(bench.configuration.sessionTimeoutSeconds + 1)
        XCTAssertEqual(service.expireStale(), 1)
        XCTAssertNil(service.sessions.snapshot(id), "the session left memory")
        XCTAssertTrue(portrait.isWiped, "the bytes a copy taken earlier points at are zeros now")
        XCTAssertTrue(copy.portrait.isWiped)
    }

    func testACompletedSessionsPortraitIsZeroed() throws {
        let bench = try InProcessDaemon()
        let holder = TestHolder.random()
        try bench.insertCard(holder)
        let opened = try bench.decode(EnrollmentView.self, try bench.require(bench.start(holder), 201))
        let service = try XCTUnwrap(bench.daemon.enrollment)
        let id = try XCTUnwrap(UUID(uuidString: opened.id))
        let portrait = try XCTUnwrap(service.sessions.snapshot(id)).portrait
        _ = try bench.require(bench.photo(opened.id, of: holder.person), 200)
        XCTAssertFalse(portrait.isWiped, "still needed for the liveness step")
        _ = try bench.require(bench.liveness(opened.id, of: holder.person).answer, 200)
        _ = try bench.require(bench.complete(opened.id, csr: try InProcessDaemon.makeCSR()), 200)
        XCTAssertNil(service.sessions.snapshot(id))
        XCTAssertTrue(portrait.isWiped)
    }

    func testWipeBiometricsClearsTheStorageNotACopy() throws {
        let bench = try InProcessDaemon()
        var (_, _, session) = try openSession(bench)
        let tableCopy = session
        session.wipeBiometrics()
        XCTAssertTrue(session.portrait.isEmpty)
        XCTAssertTrue(tableCopy.portrait.isWiped, "the other copy's portrait is the same buffer, now zeros")
        XCTAssertFalse(tableCopy.portrait.isEmpty, "(it keeps its size: zeros, not a fresh empty array)")
    }
}
