import CertificateAuthority
import Foundation
import OpenSSLKit
import XCTest

/// The CA's files pass the check the server keys pass (no symbolic links, the service user's own, no access for
/// group and others to the secrets), and the key's passphrase can come from a systemd credential instead of a file
/// beside the key (issue 18).
final class CAStoreProtectionTests: XCTestCase {
    private func makeCA() throws -> URL {
        let directory = try makeTemporaryDirectory(self).appendingPathComponent("ca")
        _ = try CAStore.initialise(directory: directory, subject: CAStoreTests.caSubject)
        return directory
    }

    private func path(_ directory: URL, _ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Moves `ca-passphrase.key` into a credentials directory as systemd would place it (mode 0400, named after
    /// the credential) and returns that directory.
    private func moveIntoCredential(_ directory: URL, name: String) throws -> URL {
        let credentials = try makeTemporaryDirectory(self).appendingPathComponent("credentials")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        let credential = credentials.appendingPathComponent(name)
        try FileManager.default.moveItem(atPath: path(directory, CAStore.passphraseFileName), toPath: credential.path)
        XCTAssertEqual(chmod(credential.path, 0o400), 0)
        return credentials
    }

    // MARK: The passphrase from a systemd credential

    func testThePassphraseIsReadFromTheCredentialsDirectory() throws {
        let directory = try makeCA()
        let expected = try CAStore.load(directory: directory).certificate
        let credentials = try moveIntoCredential(directory, name: "ca-passphrase")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path(directory, CAStore.passphraseFileName)))

        let source = CAPassphraseSource.systemdCredential(name: "ca-passphrase", directory: credentials.path)
        let authority = try CAStore.load(directory: directory, passphrase: source)
        XCTAssertEqual(authority.certificate, expected, "the key opened with the credential's passphrase")
        assertThrows({ try CAStore.load(directory: directory) }) {
            $0 as? CertificateAuthorityError
                == .passphraseInvalid(path: self.path(directory, CAStore.passphraseFileName))
        }

        // systemd hands a credential to root with an ACL for the service user: its owner and mode are systemd's.
        let credential = credentials.appendingPathComponent("ca-passphrase").path
        XCTAssertEqual(chown(credential, 65_534, 65_534), 0)
        XCTAssertEqual(chmod(credential, 0o440), 0)
        XCTAssertEqual(try CAStore.load(directory: directory, passphrase: source).certificate, expected)

        // ... but it is still a file of its own, not a link to one, and holds a passphrase.
        let elsewhere = try makeTemporaryDirectory(self).appendingPathComponent("passphrase").path
        try FileManager.default.moveItem(atPath: credential, toPath: elsewhere)
        try FileManager.default.createSymbolicLink(atPath: credential, withDestinationPath: elsewhere)
        assertThrows({ try CAStore.load(directory: directory, passphrase: source) }) {
            $0 as? CertificateAuthorityError == .notRegularFile(path: credential)
        }
        try FileManager.default.removeItem(atPath: credential)
        try Data("not a passphrase\n".utf8).write(to: URL(fileURLWithPath: credential))
        assertThrows({ try CAStore.load(directory: directory, passphrase: source) }) {
            $0 as? CertificateAuthorityError == .passphraseInvalid(path: credential)
        }
    }

    func testAMissingCredentialIsAClearStartupError() throws {
        let directory = try makeCA()
        let credentials = try moveIntoCredential(directory, name: "other-name")

        // The unit loads no credential at all: no $CREDENTIALS_DIRECTORY.
        assertThrows({
            try CAStore.load(
                directory: directory, passphrase: .systemdCredential(name: "ca-passphrase", directory: nil))
        }) { error in
            guard error as? CertificateAuthorityError == .passphraseCredentialMissing(name: "ca-passphrase", path: nil)
            else { return false }
            let text = "\(error)"
            return text.contains("$CREDENTIALS_DIRECTORY") && text.contains("LoadCredentialEncrypted=ca-passphrase:")
                && (error as? CertificateAuthorityError)?.code == "ca-passphrase-invalid"
        }
        // The unit loads credentials, but not this one.
        let missing = credentials.appendingPathComponent("ca-passphrase").path
        assertThrows({
            try CAStore.load(
                directory: directory, passphrase: .systemdCredential(name: "ca-passphrase", directory: credentials.path)
            )
        }) { error in
            error as? CertificateAuthorityError == .passphraseCredentialMissing(name: "ca-passphrase", path: missing)
                && "\(error)".contains("systemd-creds encrypt --name=ca-passphrase")
        }
        // install-certificate opens the key the same way.
        assertThrows({
            try CAStore.installCertificate(
                pem: "", directory: directory, passphrase: .systemdCredential(name: "ca-passphrase", directory: nil))
        }) { $0 as? CertificateAuthorityError == .passphraseCredentialMissing(name: "ca-passphrase", path: nil) }
    }

    // MARK: The CA files, checked like the other key files

    func testASymlinkedCAFileIsRefused() throws {
        for name in [CAStore.keyFileName, CAStore.passphraseFileName, CAStore.certificateFileName] {
            let directory = try makeCA()
            let file = path(directory, name)
            let elsewhere = try makeTemporaryDirectory(self).appendingPathComponent(name).path
            try FileManager.default.moveItem(atPath: file, toPath: elsewhere)
            try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: elsewhere)
            assertThrows({ try CAStore.load(directory: directory) }) { error in
                error as? CertificateAuthorityError == .notRegularFile(path: file)
                    && (error as? CertificateAuthorityError)?.code == "ca-insecure-permissions"
            }
        }
    }

    func testACAFileOfAnotherOwnerOrReadableByOthersIsRefused() throws {
        try XCTSkipUnless(geteuid() == 0, "giving a file to another user needs root")
        for name in [CAStore.keyFileName, CAStore.passphraseFileName, CAStore.certificateFileName] {
            let directory = try makeCA()
            let file = path(directory, name)
            XCTAssertEqual(chown(file, 65_534, 65_534), 0)
            assertThrows({ try CAStore.load(directory: directory) }) { error in
                error as? CertificateAuthorityError == .wrongOwner(path: file, owner: 65_534, expected: 0)
                    && "\(error)".contains("chown")
            }
        }
        for (name, mode) in [(CAStore.keyFileName, 0o640), (CAStore.passphraseFileName, 0o604)] {
            let directory = try makeCA()
            let file = path(directory, name)
            XCTAssertEqual(chmod(file, mode_t(mode)), 0)
            assertThrows({ try CAStore.load(directory: directory) }) {
                $0 as? CertificateAuthorityError == .insecurePermissions(path: file, mode: UInt16(mode))
            }
        }
        // The certificate is public, but no one else may write it.
        let directory = try makeCA()
        let certificate = path(directory, CAStore.certificateFileName)
        XCTAssertEqual(chmod(certificate, 0o644), 0)
        XCTAssertNoThrow(try CAStore.load(directory: directory))
        XCTAssertEqual(chmod(certificate, 0o666), 0)
        assertThrows({ try CAStore.load(directory: directory) }) {
            $0 as? CertificateAuthorityError == .insecurePermissions(path: certificate, mode: 0o666)
        }
    }
}
