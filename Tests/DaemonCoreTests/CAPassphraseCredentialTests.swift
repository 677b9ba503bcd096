import CertificateAuthority
@testable import DaemonCore
import Foundation
import XCTest

/// `[ca] passphrase_credential` (issue 18): the daemon opens the CA key with a systemd credential from
/// `$CREDENTIALS_DIRECTORY`, and says what the unit lacks when the credential is not there.
final class CAPassphraseCredentialTests: XCTestCase {
    override func setUp() {
        unsetenv("CREDENTIALS_DIRECTORY")
    }

    override func tearDown() {
        unsetenv("CREDENTIALS_DIRECTORY")
    }

    func testTheDaemonOpensTheCAKeyWithTheCredential() throws {
        let probe = try InProcessDaemon()
        let caDirectory = probe.configuration.resolvedCADirectory
        let credentials = probe.directory.appendingPathComponent("credentials")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        try FileManager.default.moveItem(
            atPath: caDirectory + "/" + CAStore.passphraseFileName,
            toPath: credentials.appendingPathComponent("enrolld-ca").path)
        setenv("CREDENTIALS_DIRECTORY", credentials.path, 1)

        let daemon = try InProcessDaemon(
            extraConfiguration: "[ca]\ndirectory = \(caDirectory)\npassphrase_credential = enrolld-ca")
        XCTAssertNotNil(daemon.daemon.authority, daemon.daemon.enrollmentUnavailableReason)
        XCTAssertEqual(daemon.daemon.authority?.certificate, probe.daemon.authority?.certificate)
        XCTAssertEqual(try daemon.call("GET", "/v1/ca/certificate", as: .operator).status, 200)
    }

    func testAMissingCredentialMakesEnrollmentUnavailableSayingWhatTheUnitLacks() throws {
        let daemon = try InProcessDaemon(extraConfiguration: "[ca]\npassphrase_credential = enrolld-ca")
        XCTAssertNil(daemon.daemon.authority)
        let reason = daemon.daemon.enrollmentUnavailableReason
        XCTAssertTrue(reason.contains("the certificate authority is not usable"), reason)
        XCTAssertTrue(reason.contains("$CREDENTIALS_DIRECTORY"), reason)
        XCTAssertTrue(reason.contains("LoadCredentialEncrypted=enrolld-ca:/etc/credstore.encrypted/enrolld-ca"), reason)
        XCTAssertEqual(try daemon.call("GET", "/v1/ca/certificate", as: .operator).status, 503)

        XCTAssertThrowsError(try Configuration.parse("[ca]\npassphrase_credential = ../ca-passphrase.key")) {
            XCTAssertTrue("\($0)".contains("passphrase_credential"), "\($0)")
        }
    }
}
