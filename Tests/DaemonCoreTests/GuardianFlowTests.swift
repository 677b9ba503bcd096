import DaemonCore
import EnrollAPIModel
import Foundation
import UnixHTTP
import XCTest

/// A holder below the registration age (14) registers only with a guardian present: the guardian's account is
/// named at the start and the guardian's own card is read in the same session, on the kiosk's second reader.
final class GuardianFlowTests: XCTestCase {
    private var bench: InProcessDaemon!
    /// The guardian: an adult with a normal account.
    private var guardian: TestHolder!
    private var guardianAccount: String!
    /// A child of 10.
    private let child = TestHolder.random("John_Simm", birthDate: "160101")

    override func setUpWithError() throws {
        bench = try InProcessDaemon()
        let (holder, outcome) = try bench.newAccount("John_Salley", signing: false)
        guardian = holder
        guardianAccount = outcome.accountID
    }

    override func tearDown() {
        bench = nil
    }

    private func readGuardianCard(_ session: String, _ holder: TestHolder) throws -> HTTPResponse {
        try bench.insertCard(holder, in: InProcessDaemon.secondReader)
        return try bench.call(
            "POST", "/v1/enrollments/\(session)/guardian",
            json: GuardianCardBody(reader: InProcessDaemon.secondReader, accessKey: holder.accessKey))
    }

    /// The guardian's live photo (of `person`) against the chip portrait of the guardian's card just read.
    private func seeGuardian(_ session: String, _ person: String) throws -> HTTPResponse {
        try bench.call(
            "POST", "/v1/enrollments/\(session)/guardian/photo",
            json: EnrollmentPhotoBody(photo: Data(FakeFaces.livePhoto(person)).base64EncodedString()))
    }

    /// The guardian's card read and the guardian's face matched to it.
    private func guardianPresent(_ session: String) throws {
        try bench.require(readGuardianCard(session, guardian), 200, "guardian card")
        try bench.require(seeGuardian(session, guardian.person), 200, "guardian photo")
    }

    func testAChildIsRegisteredOnlyAfterTheGuardianIsReadAndSeenInTheSession() throws {
        let session = try bench.openSession(child, guardian: guardianAccount)
        let opened = try bench.sessionView(session)
        XCTAssertEqual(opened.guardianPresent, false)

        // Without the guardian's card the account is not created.
        let early = try bench.complete(session)
        XCTAssertEqual(early.status, 409)
        XCTAssertEqual(bench.problem(early), "guardian-not-present")

        // Another adult's card is not the guardian's.
        let stranger = TestHolder.random("John_Savage")
        let wrong = try readGuardianCard(session, stranger)
        XCTAssertEqual(wrong.status, 403)
        XCTAssertEqual(bench.problem(wrong), "guardian-mismatch")
        XCTAssertEqual(
            bench.problem(try bench.complete(session)), "guardian-not-present",
            "a refused guardian card leaves the guardian absent")

        let events = bench.recordEvents()
        let carried = try bench.decode(EnrollmentView.self, try bench.require(readGuardianCard(session, guardian), 200))
        XCTAssertEqual(carried.guardianPresent, false, "the guardian's card alone is not the guardian")
        // The guardian carried but not seen: refused, in the guardian's usage log.
        let unseen = try bench.complete(session)
        XCTAssertEqual(unseen.status, 409)
        XCTAssertEqual(bench.problem(unseen), "guardian-not-seen")
        // Someone else in front of the camera is not the guardian.
        let someoneElse = try seeGuardian(session, "John_Savage")
        XCTAssertEqual(someoneElse.status, 422)
        XCTAssertEqual(bench.problem(someoneElse), "face-mismatch")
        XCTAssertEqual(bench.problem(try bench.complete(session)), "guardian-not-seen")
        XCTAssertFalse(
            bench.drain(events).contains { $0.type == .enrollmentGuardianVerified },
            "no guardian verified before the face matched")

        let present = try bench.decode(
            EnrollmentView.self, try bench.require(seeGuardian(session, guardian.person), 200))
        XCTAssertEqual(present.guardianPresent, true)
        XCTAssertEqual(present.state, "card-verified", "the child's own session continues")
        let published = bench.drain(events)
        XCTAssertTrue(
            published.contains { $0.type == .enrollmentGuardianVerified && $0.enrollmentId == session },
            "the kiosk is told the guardian was verified")

        let outcome = try bench.decode(EnrollmentOutcome.self, try bench.require(bench.complete(session), 200))
        XCTAssertEqual(outcome.tier, "basic")
        let childRecords = try bench.usage(outcome.accountID).records
        XCTAssertEqual(childRecords.first { $0.event == "guardian-linked" }?.detail, guardianAccount)
        let guardianRecords = try bench.usage(guardianAccount).records.filter { $0.enrollmentId == session }
        XCTAssertEqual(
            guardianRecords.map(\.event),
            [
                "guardian-seen", "guardian-verified", "guardian-seen", "guardian-verified", "guardian-seen",
                "guardian-seen", "guardian-seen", "guardian-seen", "ward-linked",
            ])
        XCTAssertEqual(
            guardianRecords.map(\.outcome),
            ["refused", "refused", "refused", "ok", "refused", "refused", "refused", "ok", "ok"])
        XCTAssertEqual(
            Array(guardianRecords.map(\.detail).prefix(7)),
            [
                "guardian-not-present", "guardian-mismatch", "guardian-not-present", "", "guardian-not-seen",
                "face-mismatch", "guardian-not-seen",
            ])
        XCTAssertEqual(guardianRecords.last?.detail, outcome.accountID)
    }

    func testAChildWithoutAGuardianIsRefusedAtTheCard() throws {
        try bench.insertCard(child)
        let refused = try bench.start(child)
        XCTAssertEqual(refused.status, 422)
        XCTAssertEqual(bench.problem(refused), "guardian-required")
        // The child's identity is not enrolled by the refusal: with a guardian it registers.
        let session = try bench.openSession(child, guardian: guardianAccount, insert: false)
        try guardianPresent(session)
        XCTAssertEqual(
            try bench.decode(EnrollmentOutcome.self, try bench.require(bench.complete(session), 200)).tier,
            "basic")
    }

    func testTheGuardianMustHoldANormalAccount() throws {
        try bench.setStatus(guardianAccount, "invalid")
        try bench.insertCard(child)
        let refused = try bench.start(child, guardian: guardianAccount)
        XCTAssertEqual(bench.problem(refused), "guardian-not-eligible")
        let unknown = try bench.start(child, guardian: UUID().uuidString)
        XCTAssertEqual(bench.problem(unknown), "guardian-not-eligible")
    }

    func testAChildNeverReachesTheSigningTier() throws {
        let session = try bench.openSession(child, guardian: guardianAccount)
        try guardianPresent(session)
        try bench.require(bench.photo(session, of: child.person), 200)
        let refused = try bench.complete(session, csr: try InProcessDaemon.makeCSR())
        XCTAssertEqual(refused.status, 422)
        XCTAssertEqual(bench.problem(refused), "under-age")
    }

    /// A guardian's photo before the guardian's card is refused; failing faces end the session like the holder's.
    func testTheGuardiansPhotoNeedsTheCardAndEndsTheSessionAfterTheLastMismatch() throws {
        let session = try bench.openSession(child, guardian: guardianAccount)
        XCTAssertEqual(bench.problem(try seeGuardian(session, guardian.person)), "guardian-not-present")
        try bench.require(readGuardianCard(session, guardian), 200)
        var codes: [String] = []
        for _ in 0..<bench.configuration.maxPhotoAttempts {
            codes.append(bench.problem(try seeGuardian(session, "John_Savage")))
        }
        XCTAssertEqual(codes.last, "attempts-exhausted")
        XCTAssertEqual(Set(codes.dropLast()), ["face-mismatch"])
        XCTAssertEqual(try bench.sessionView(session).state, "failed")
        XCTAssertEqual(
            try bench.usage(guardianAccount).records.filter { $0.event == "guardian-seen" }.count,
            bench.configuration.maxPhotoAttempts + 1, "the photo before the card is a refusal on record too")
    }

    func testAnAdultsSessionNeedsNoGuardian() throws {
        let session = try bench.openSession(TestHolder.random("John_Shimkus"))
        let refused = try readGuardianCard(session, guardian)
        XCTAssertEqual(refused.status, 409)
        XCTAssertEqual(bench.problem(refused), "guardian-not-needed")
    }
}
