import Foundation
import OpenSSLKit
import Secrets

/// Why the certificate authority refused or failed, and what the operator or caller can do about it.
public enum CertificateAuthorityError: Error, Sendable, Equatable, CustomStringConvertible {
    // CA directory and key material
    case notInitialised(directory: String)
    case alreadyInitialised(directory: String)
    case awaitingCertificate(requestPath: String)
    case certificateAlreadyInstalled(path: String)
    case insecurePermissions(path: String, mode: UInt16)
    case fileError(path: String, reason: String)
    case wrongOwner(path: String, owner: UInt32, expected: UInt32)
    /// A symbolic link, a directory or a device where a CA file belongs.
    case notRegularFile(path: String)
    case passphraseInvalid(path: String)
    /// `[ca] passphrase_credential` names a systemd credential the process was not given (`path` nil: no
    /// `$CREDENTIALS_DIRECTORY` at all).
    case passphraseCredentialMissing(name: String, path: String?)
    case keyUnreadable(path: String, detail: String)
    case certificateDoesNotMatchKey
    case certificateNotUsableForIssuing(reason: String)
    // CSR checks
    case requestTooLarge(size: Int, limit: Int)
    case requestMalformed(detail: String)
    case proofOfPossessionFailed
    case weakKey(String)
    case unsupportedCurve(String)
    case unsupportedKey(String)
    // Issuance
    case documentExpired(notAfterLimit: Date)
    case issuingCertificateExpired(notAfter: Date)
    case invalidSubject(String)
    case invalidIntent(String)
    case invalidConfiguration(String)
    case invalidSerial(String)
    case invalidCRLParameters(String)
    // Certificate status (OCSP, CRL)
    case statusSourceUnavailable(String)
    case crypto(OpenSSLError)

    /// A stable, kebab-case code for APIs and logs: `csr-proof-of-possession`, `document-expired`, ….
    public var code: String {
        switch self {
        case .notInitialised: return "ca-not-initialised"
        case .alreadyInitialised: return "ca-already-initialised"
        case .awaitingCertificate: return "ca-awaiting-certificate"
        case .certificateAlreadyInstalled: return "ca-certificate-already-installed"
        case .insecurePermissions: return "ca-insecure-permissions"
        case .fileError: return "ca-file-error"
        case .wrongOwner, .notRegularFile: return "ca-insecure-permissions"
        case .passphraseInvalid, .passphraseCredentialMissing: return "ca-passphrase-invalid"
        case .keyUnreadable: return "ca-key-unreadable"
        case .certificateDoesNotMatchKey: return "ca-certificate-key-mismatch"
        case .certificateNotUsableForIssuing: return "ca-certificate-not-usable"
        case .requestTooLarge: return "csr-too-large"
        case .requestMalformed: return "csr-malformed"
        case .proofOfPossessionFailed: return "csr-proof-of-possession"
        case .weakKey: return "csr-weak-key"
        case .unsupportedCurve: return "csr-unsupported-curve"
        case .unsupportedKey: return "csr-unsupported-key"
        case .documentExpired: return "document-expired"
        case .issuingCertificateExpired: return "ca-certificate-expired"
        case .invalidSubject: return "invalid-subject"
        case .invalidIntent: return "invalid-intent"
        case .invalidConfiguration: return "ca-invalid-configuration"
        case .invalidSerial: return "invalid-serial"
        case .invalidCRLParameters: return "invalid-crl-parameters"
        case .statusSourceUnavailable: return "ca-status-unavailable"
        case .crypto: return "ca-crypto-failure"
        }
    }

    /// Whether the caller's input caused the error (a CSR, the holder's data, a document, a serial) rather than
    /// the CA's own state or configuration: an API answers the former with 4xx, the latter with 5xx.
    public var isCallerError: Bool {
        switch self {
        case .requestTooLarge, .requestMalformed, .proofOfPossessionFailed, .weakKey, .unsupportedCurve,
            .unsupportedKey, .documentExpired, .invalidSubject, .invalidIntent, .invalidSerial, .invalidCRLParameters:
            return true
        default:
            return false
        }
    }

    public var description: String {
        switch self {
        case let .notInitialised(directory):
            return "no certificate authority in \(directory): run `enrolld ca init` first"
        case let .alreadyInitialised(directory):
            return "a certificate authority already exists in \(directory): refusing to overwrite it "
                + "(pass --force to replace it; certificates it issued will no longer chain to the new CA)"
        case let .awaitingCertificate(requestPath):
            return "the CA certificate is not installed yet: have the external root sign \(requestPath), "
                + "then run `enrolld ca install-certificate <file>`"
        case let .certificateAlreadyInstalled(path):
            return "a CA certificate is already installed at \(path): pass --force to replace it"
        case let .insecurePermissions(path, mode):
            return "\(path) has mode \(String(mode, radix: 8)), readable by others: run `chmod 600 \(path)`"
        case let .fileError(path, reason):
            return "cannot use \(path): \(reason)"
        case let .wrongOwner(path, owner, expected):
            return "\(path) belongs to uid \(owner), not to the user running enrolld (uid \(expected)): "
                + "`chown` the CA files to the service user"
        case let .notRegularFile(path):
            return "\(path) is a symbolic link or not a regular file: a CA file must be the file itself, "
                + "in the CA directory"
        case let .passphraseCredentialMissing(name, path):
            let unit = "LoadCredentialEncrypted=\(name):/etc/credstore.encrypted/\(name) in enrolld.service"
            guard let path else {
                return "[ca] passphrase_credential = \(name), but the process has no $CREDENTIALS_DIRECTORY: "
                    + "add \(unit) (see enrolld.service and the README), or unset the key to use ca-passphrase.key"
            }
            return "the CA passphrase credential \(name) is not in \((path as NSString).deletingLastPathComponent): "
                + "add \(unit), encrypted with `systemd-creds encrypt --name=\(name)`"
        case let .passphraseInvalid(path):
            return "\(path) does not hold a CA passphrase (64 hex characters): restore it from backup "
                + "or run `enrolld ca init --force`"
        case let .keyUnreadable(path, detail):
            return "cannot decrypt the CA key \(path) (\(detail)): check that ca-passphrase.key belongs to this key"
        case .certificateDoesNotMatchKey:
            return "the CA certificate does not carry the CA key's public key: install the certificate "
                + "issued for this directory's ca-request.pem"
        case let .certificateNotUsableForIssuing(reason):
            return "the CA certificate cannot issue certificates: \(reason)"
        case let .requestTooLarge(size, limit):
            return "certificate signing request is \(size) bytes, more than the \(limit) allowed"
        case let .requestMalformed(detail):
            return "not a PKCS#10 certificate signing request (\(detail)): send a PEM or DER CSR"
        case .proofOfPossessionFailed:
            return "the CSR's signature does not verify with its public key (no proof of possession): "
                + "the device must sign the CSR with the key it asks a certificate for"
        case let .weakKey(key):
            return "\(key) is too weak: use EC P-256 or larger, or RSA with at least 2048 bits"
        case let .unsupportedCurve(curve):
            return "EC curve \(curve) is not accepted: use P-256, P-384, P-521 or brainpoolP256/384/512r1"
        case let .unsupportedKey(key):
            return "\(key) keys are not accepted: use EC (P-256, P-384, P-521, brainpool) or RSA 2048–8192"
        case let .documentExpired(limit):
            return "the identity document expired on \(limit.formatted(.iso8601)): no certificate can be issued "
                + "on it; enroll with a valid document"
        case let .issuingCertificateExpired(notAfter):
            return "the CA certificate expired on \(notAfter.formatted(.iso8601)): renew the CA (`enrolld ca init`)"
        case let .invalidSubject(reason):
            return "cannot build the certificate subject: \(reason)"
        case let .invalidIntent(reason):
            return "issuance intent rejected: \(reason)"
        case let .invalidConfiguration(reason):
            return "certificate profile configuration: \(reason)"
        case let .invalidSerial(serial):
            return "\(serial) is not a certificate serial number (hex, 1–20 bytes)"
        case let .invalidCRLParameters(reason):
            return "cannot build the CRL: \(reason)"
        case let .statusSourceUnavailable(reason):
            return "the certificate records cannot be read (\(reason)): check the database; "
                + "status answers resume once it is reachable"
        case let .crypto(error):
            return error.description
        }
    }
}

extension CertificateAuthorityError {
    /// A CA file that failed the check of secret files (`ProtectedFile`).
    init(_ error: KeyFileError) {
        switch error {
        case let .insecurePermissions(path, mode): self = .insecurePermissions(path: path, mode: UInt16(mode & 0o7777))
        case let .wrongOwner(path, owner, expected): self = .wrongOwner(path: path, owner: owner, expected: expected)
        case let .notRegularFile(path): self = .notRegularFile(path: path)
        case let .tooLarge(path, size, limit):
            self = .fileError(path: path, reason: "\(size) bytes, more than \(limit)")
        case let .system(path, operation, code):
            self = .fileError(path: path, reason: "\(operation): \(String(cString: strerror(code)))")
        case let .wrongSize(path, size): self = .fileError(path: path, reason: "short read (\(size) bytes)")
        case let .random(reason): self = .fileError(path: "", reason: reason)
        }
    }
}

/// Runs an OpenSSLKit call, wrapping its error.
@inline(__always)
func crypto<T>(_ body: () throws(OpenSSLError) -> T) throws(CertificateAuthorityError) -> T {
    do {
        return try body()
    } catch {
        throw .crypto(error)
    }
}
