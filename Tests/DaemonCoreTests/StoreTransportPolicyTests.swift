@testable import DaemonCore
import XCTest

/// A fleet's PostgreSQL connection (issue 18): a remote host needs TLS that checks the server.
final class StoreTransportPolicyTests: XCTestCase {
    func testLocalHostsNeedNoTLS() throws {
        for conninfo in [
            "", "dbname=enrolld", "host=/run/postgresql dbname=enrolld", "host=127.0.0.1 port=5433",
            "postgresql://enrolld@localhost/enrolld", "postgresql:///enrolld?host=/tmp",
        ] {
            XCTAssertNoThrow(try StoreTransportPolicy.check(conninfo: conninfo, configured: nil), conninfo)
        }
    }

    func testARemoteHostIsRefusedWithoutAVerifyingSSLMode() {
        let cases: [(String, String?)] = [
            ("host=db1.example dbname=enrolld", nil), ("host=db1.example sslmode=require", nil),
            ("postgresql://enrolld@db1.example,db2.example/enrolld?target_session_attrs=read-write", "prefer"),
            ("host=localhost,10.0.0.7", "require"),
        ]
        for (conninfo, mode) in cases {
            XCTAssertThrowsError(try StoreTransportPolicy.check(conninfo: conninfo, configured: mode), conninfo) {
                XCTAssertTrue("\($0)".contains("verify-full"), "\($0)")
            }
        }
    }

    func testVerifyFullOrVerifyCAAdmitsARemoteHost() throws {
        try StoreTransportPolicy.check(conninfo: "host=db1.example", configured: "verify-full")
        try StoreTransportPolicy.check(conninfo: "postgresql://db1.example/enrolld?sslmode=verify-ca", configured: nil)
        XCTAssertEqual(
            StoreTransportPolicy.parse("postgresql://u@[2001:db8::1]:5432,db2:5433/x").hosts,
            ["2001:db8::1", "db2"])
    }
}
