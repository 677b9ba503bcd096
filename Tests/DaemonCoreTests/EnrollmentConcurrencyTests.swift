import DaemonCore
import EnrollAPIModel
import Foundation
import PostgresStore
import PostgresTestCluster
import Store
import Synchronization
import UnixHTTP
import XCTest

/// One enrollment step at a time per session (issue 15): concurrent posts on one session, as a kiosk under load
/// or an attacker would send them, in process, through the real socket, and on PostgreSQL.
final class EnrollmentConcurrencyTests: XCTestCase {
    /// Codes a request may legitimately answer while others race it on the same session.
    private static let photoOutcomes: Set<String> = [
        "face-mismatch", "attempts-exhausted", "enrollment-busy",
        "enrollment-wrong-state",
    ]

    // MARK: Photos

    func testTwentyConcurrentPhotosMakeAtMostThreeComparisonsAndExhaustTheSession() throws {
        let bench = try InProcessDaemon()
        try assertPhotoRace(bench) { session, person in try bench.photo(session, of: person) }
    }

    func testTwentyConcurrentPhotosThroughTheRealSocket() throws {
        let bench = try InProcessDaemon()
        try bench.serve()
        try assertPhotoRace(bench) { session, person in try bench.photo(session, of: person) }
    }

    func testTwentyConcurrentPhotosOnPostgreSQL() throws {
        let cluster = try PostgresTestCluster()
        defer { cluster.stop() }
        let conninfo = try cluster.newSchema()
        let bench = try InProcessDaemon(extraConfiguration: "", openStore: Self.postgres(conninfo))
        try assertPhotoRace(bench) { session, person in try bench.photo(session, of: person) }
    }

    /// 20 threads post another person's photo on one session, each retrying while the session is busy, until the
    /// session answers something final; the face engine must run at most `max_photo_attempts` (3) times.
    private func assertPhotoRace(
        _ bench: InProcessDaemon,
        post: @escaping @Sendable (String, String) throws -> HTTPResponse
    ) throws {
        let holder = TestHolder.random("John_Salley")
        try bench.insertCard(holder)
        let session = try bench.decode(EnrollmentView.self, try bench.start(holder)).id
        bench.faces.slow(0.05)
        let before = bench.faces.comparisons
        let codes = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 20) { _ in
            for _ in 0..<200 {
                do {
                    let response = try post(session, "John_Savage")
                    let code = bench.problem(response)
                    codes.withLock { $0.append(code) }
                    if code != "enrollment-busy" { return }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                    return
                }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let answered = codes.withLock { $0 }
        XCTAssertLessThanOrEqual(bench.faces.comparisons - before, 3, "comparisons beyond the attempt limit")
        XCTAssertEqual(answered.filter { $0 == "attempts-exhausted" }.count, 1, "\(answered)")
        XCTAssertEqual(answered.filter { $0 == "face-mismatch" }.count, 2, "\(answered)")
        XCTAssertTrue(Set(answered).isSubset(of: Self.photoOutcomes), "\(Set(answered))")
        let ended = try bench.decode(EnrollmentView.self, bench.call("GET", "/v1/enrollments/\(session)"))
        XCTAssertEqual(ended.state, "failed")
        XCTAssertEqual(ended.failureCode, "attempts-exhausted")
        // The right face is too late: the session stays ended.
        XCTAssertEqual(bench.problem(try bench.photo(session, of: "John_Salley")), "enrollment-wrong-state")
        XCTAssertEqual(bench.faces.comparisons - before, 3)
    }

    // MARK: Completion

    func testFiveConcurrentCompletesIssueExactlyOneCertificate() throws {
        let bench = try InProcessDaemon()
        try assertCompleteRace(bench) { session, csr in try bench.complete(session, csr: csr) }
    }

    func testFiveConcurrentCompletesThroughTheRealSocket() throws {
        let bench = try InProcessDaemon()
        try bench.serve()
        try assertCompleteRace(bench) { session, csr in try bench.complete(session, csr: csr) }
    }

    func testFiveConcurrentCompletesOnPostgreSQL() throws {
        let cluster = try PostgresTestCluster()
        defer { cluster.stop() }
        let conninfo = try cluster.newSchema()
        let bench = try InProcessDaemon(extraConfiguration: "", openStore: Self.postgres(conninfo))
        try assertCompleteRace(bench) { session, csr in try bench.complete(session, csr: csr) }
    }

    /// A basic account, then an upgrade session matched to its face; five completions race on it.
    private func assertCompleteRace(
        _ bench: InProcessDaemon,
        post: @escaping @Sendable (String, String) throws -> HTTPResponse
    ) throws {
        let holder = TestHolder.random("John_Simm")
        let registered = try bench.enroll(holder, signing: false)
        let account = registered.outcome.accountID
        let started = try bench.start(holder, purpose: "upgrade", accountID: account)
        XCTAssertEqual(started.status, 201, bench.problem(started))
        let session = try bench.decode(EnrollmentView.self, started).id
        XCTAssertEqual(try bench.photo(session, of: "John_Simm").status, 200)
        XCTAssertEqual(try bench.liveness(session, of: "John_Simm").answer.status, 200)
        let csrs = try (0..<5).map { _ in try InProcessDaemon.makeCSR() }
        let answers = Mutex<[(status: Int, code: String)]>([])
        DispatchQueue.concurrentPerform(iterations: 5) { index in
            do {
                let response = try post(session, csrs[index])
                answers.withLock { $0.append((response.status, bench.problem(response))) }
            } catch {
                answers.withLock { $0.append((0, "\(error)")) }
            }
        }
        let all = answers.withLock { $0 }
        XCTAssertEqual(all.filter { $0.status == 200 }.count, 1, "\(all)")
        for refused in all where refused.status != 200 {
            XCTAssertTrue(["enrollment-busy", "enrollment-wrong-state"].contains(refused.code), "\(refused)")
            XCTAssertEqual(refused.status, 409)
        }
        let certificates = try bench.decode(
            [CertificateView].self,
            bench.call("GET", "/v1/accounts/\(account)/certificates", as: .operator))
        XCTAssertEqual(certificates.count, 1, "exactly one certificate was signed and issued")
        let view = try bench.decode(AccountView.self, bench.call("GET", "/v1/accounts/\(account)", as: .operator))
        XCTAssertEqual(view.tier, "signing")
        let ended = try bench.decode(EnrollmentView.self, bench.call("GET", "/v1/enrollments/\(session)"))
        XCTAssertEqual(ended.state, "completed")
        // A late completion cannot revive or repeat it.
        XCTAssertEqual(
            bench.problem(try bench.complete(session, csr: try InProcessDaemon.makeCSR())),
            "enrollment-wrong-state")
    }

    func testAFinishedSessionRecordIsNeverOverwritten() throws {
        let bench = try InProcessDaemon()
        let holder = TestHolder.random("John_Shimkus")
        let done = try bench.enroll(holder)
        let id = try XCTUnwrap(UUID(uuidString: done.session.id))
        let store = try XCTUnwrap(bench.daemon.enrollment?.store)
        var stale = try XCTUnwrap(try store.transaction { tx in try tx.enrollment(id: id) })
        XCTAssertEqual(stale.state, .completed)
        stale.state = .faceMatched
        XCTAssertThrowsError(try store.transaction { tx in try tx.saveEnrollment(stale) }) { error in
            XCTAssertEqual(error as? StoreError, .enrollmentFinished(id))
        }
        XCTAssertEqual(try store.transaction { tx in try tx.enrollment(id: id) }?.state, .completed)
    }

    static func postgres(_ conninfo: String) -> @Sendable (Configuration, DataProtector) throws -> any Store {
        { _, protector in
            let store = try PostgresStore(settings: PostgresSettings(conninfo: conninfo), protector: protector)
            try store.migrate()
            return store
        }
    }
}
