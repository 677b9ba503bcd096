import Foundation
import OpenSSLKit
import Secrets

/// The issuing key's algorithm.
public enum CAKeyAlgorithm: String, Sendable, CaseIterable {
    case p256, p384, rsa3072

    var parameters: KeyGenerationParameters {
        switch self {
        case .p256: return .p256
        case .p384: return .ec(curve: "P-384")
        case .rsa3072: return .rsa3072
        }
    }
}

/// Where the CA key's passphrase comes from.
public enum CAPassphraseSource: Sendable, Equatable {
    /// `ca-passphrase.key` beside the key, as `enrolld ca init` writes it.
    case fileBesideKey
    /// A systemd credential (`LoadCredentialEncrypted=NAME:...` in the unit): the file `NAME` in `directory`, the
    /// service's `$CREDENTIALS_DIRECTORY` (nil when the process has none: the unit does not load a credential).
    /// Its content is the one of `ca-passphrase.key` (64 hex characters), encrypted with `systemd-creds encrypt`.
    case systemdCredential(name: String, directory: String?)

    /// The `systemdCredential` named `name` in this process's `$CREDENTIALS_DIRECTORY`.
    public static func systemdCredential(named name: String) -> CAPassphraseSource {
        .systemdCredential(name: name, directory: ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"])
    }
}

/// How the CA certificate comes about.
public enum CAInitialisationMode: Sendable, Equatable {
    /// The CA certifies itself: a root with pathlen 0 that issues end-entity certificates only.
    case selfSigned
    /// A PKCS#10 request is written for an external root; `CAStore.installCertificate` completes the CA.
    case externalRoot
}

/// What `CAStore.initialise` produced.
public enum CAInitialisationOutcome: Sendable {
    case selfSigned(X509Certificate)
    /// The request to have signed by the external root, also written to `requestPath`.
    case awaitingCertificate(request: CertificateSigningRequest, requestPath: String)
}

/// The CA directory (mode 0700):
/// - `ca-key.pem` (0600): the issuing key, encrypted PKCS#8 (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC);
/// - `ca-passphrase.key` (0600): its passphrase, 32 random bytes written as 64 hex characters and a newline
///   (so that `openssl pkey -in ca-key.pem -passin file:ca-passphrase.key` opens the key too);
/// - `ca.pem` (0644): the CA certificate;
/// - `ca-request.pem` (0644): the CSR for an external root, in that mode.
///
/// Every file is read through `ProtectedFile`, the check the server keys pass: no symbolic links, a regular file,
/// owned by the user running enrolld; the key and the passphrase with no access for group or others. The
/// passphrase may instead come from a systemd credential (`CAPassphraseSource`), so that no file beside the key
/// opens it.
public enum CAStore {
    public static let keyFileName = "ca-key.pem"
    public static let passphraseFileName = "ca-passphrase.key"
    public static let certificateFileName = "ca.pem"
    public static let requestFileName = "ca-request.pem"

    /// Generates the issuing key and either a self-signed CA certificate (basicConstraints CA:TRUE pathlen 0
    /// critical, keyUsage keyCertSign + cRLSign critical, SKI) or a CSR for an external root.
    /// - Parameters:
    ///   - replaceExisting: overwrite a CA already in `directory` (its certificates stop chaining to the new one).
    /// - Throws: `.alreadyInitialised`, `.fileError`, `.crypto`.
    public static func initialise(
        directory: URL, algorithm: CAKeyAlgorithm = .p256, subject: DistinguishedName,
        validityYears: Int = 10, mode: CAInitialisationMode = .selfSigned,
        replaceExisting: Bool = false, now: Date = Date()
    )
        throws(CertificateAuthorityError) -> CAInitialisationOutcome
    {
        let paths = Paths(directory)
        guard (1...50).contains(validityYears) else {
            throw .invalidConfiguration("CA validity of \(validityYears) years: choose 1 to 50")
        }
        guard !subject.attributes.isEmpty else { throw .invalidConfiguration("the CA subject is empty") }
        if !replaceExisting, SecureFiles.exists(paths.key) || SecureFiles.exists(paths.certificate) {
            throw .alreadyInitialised(directory: directory.path)
        }
        let key = try crypto { () throws(OpenSSLError) in try PrivateKey.generate(algorithm.parameters) }
        let passphrase = try crypto { () throws(OpenSSLError) in try SecureRandom.bytes(32) }
        let passphraseText = passphrase.map { String(format: "%02x", $0) }.joined()
        let keyPEM = try crypto { () throws(OpenSSLError) in
            try key.encryptedPEM(passphrase: Array(passphraseText.utf8))
        }
        let scheme = IssuingAuthority.scheme(for: key)

        var certificate: X509Certificate?
        var request: CertificateSigningRequest?
        switch mode {
        case .selfSigned:
            let start = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
            let end = IssuingAuthority.adding(years: validityYears, to: start) ?? start
            let serial = try IssuingAuthority.randomSerial()
            certificate = try crypto { () throws(OpenSSLError) in
                let builder = CertificateBuilder(
                    subject: subject, serialNumber: serial, notBefore: start,
                    notAfter: end, publicKey: try key.publicKey(),
                    basicConstraints: (isCA: true, pathLength: 0),
                    keyUsage: [.keyCertSign, .cRLSign])
                return try builder.sign(key: key, scheme: scheme)
            }
        case .externalRoot:
            request = try crypto { () throws(OpenSSLError) in
                try CertificateSigningRequest.create(subject: subject, key: key, scheme: scheme)
            }
        }

        // Everything is written and synced under temporary names first: a failure leaves the directory as it was.
        try SecureFiles.makeDirectory(directory.path, mode: 0o700)
        var staged: [SecureFiles.StagedFile] = []
        do {
            let passphraseLine = Array((passphraseText + "\n").utf8)
            staged.append(try SecureFiles.stage(passphraseLine, for: paths.passphrase, mode: 0o600))
            staged.append(try SecureFiles.stage(Array(keyPEM.utf8), for: paths.key, mode: 0o600))
            if let certificate {
                staged.append(try SecureFiles.stage(Array(certificate.pem.utf8), for: paths.certificate, mode: 0o644))
            }
            if let request {
                staged.append(try SecureFiles.stage(Array(request.pem.utf8), for: paths.request, mode: 0o644))
            }
        } catch {
            SecureFiles.discard(staged)
            throw error
        }
        for stale in [paths.certificate, paths.request] where !staged.contains(where: { $0.path == stale }) {
            SecureFiles.remove(stale)
        }
        try SecureFiles.commit(staged)
        if let certificate { return .selfSigned(certificate) }
        guard let request else { throw .invalidConfiguration("no CA certificate or request was produced") }
        return .awaitingCertificate(request: request, requestPath: paths.request)
    }

    /// Installs the external root's certificate for the key in `directory` (external-root mode). `pem` may
    /// hold a chain; the certificate carrying the CA key is the one kept.
    /// - Throws: `.notInitialised`, `.certificateAlreadyInstalled`, `.certificateDoesNotMatchKey`,
    ///   `.certificateNotUsableForIssuing`, key and file errors.
    @discardableResult
    public static func installCertificate(
        pem: String, directory: URL, passphrase: CAPassphraseSource = .fileBesideKey, replaceExisting: Bool = false
    )
        throws(CertificateAuthorityError) -> X509Certificate
    {
        let paths = Paths(directory)
        let key = try loadKey(paths, passphrase: passphrase)
        if !replaceExisting, SecureFiles.exists(paths.certificate) {
            throw .certificateAlreadyInstalled(path: paths.certificate)
        }
        guard pem.utf8.count <= 256 * 1024 else { throw .fileError(path: "certificate", reason: "larger than 256 KiB") }
        let candidates = try crypto { () throws(OpenSSLError) in try X509Certificate.certificates(pem: pem) }
        let own = try crypto { () throws(OpenSSLError) in try key.publicKey().derEncoded() }
        guard let certificate = candidates.first(where: { (try? $0.publicKey().derEncoded()) == own }) else {
            throw .certificateDoesNotMatchKey
        }
        try IssuingAuthority.checkIssuing(certificate: certificate, key: key)
        try SecureFiles.writeFile(Array(certificate.pem.utf8), to: paths.certificate, mode: 0o644)
        return certificate
    }

    /// Loads the CA in `directory`.
    /// - Throws: `.notInitialised` ("run `enrolld ca init`"), `.awaitingCertificate`, `.insecurePermissions`,
    ///   `.wrongOwner`, `.notRegularFile`, `.passphraseInvalid`, `.passphraseCredentialMissing`, `.keyUnreadable`,
    ///   `.certificateDoesNotMatchKey`, `.invalidConfiguration`.
    public static func load(
        directory: URL, passphrase: CAPassphraseSource = .fileBesideKey, profile: SigningCertificateProfile = .init(),
        requestPolicy: SigningRequestPolicy = .init()
    ) throws(CertificateAuthorityError)
        -> IssuingAuthority
    {
        let paths = Paths(directory)
        let key = try loadKey(paths, passphrase: passphrase)
        guard let certificateFile = try protectedFile(paths.certificate, limit: 1 << 20, access: .readableByOthers)
        else {
            if SecureFiles.exists(paths.request) { throw .awaitingCertificate(requestPath: paths.request) }
            throw .notInitialised(directory: directory.path)
        }
        let certificateText = String(decoding: certificateFile, as: UTF8.self)
        let certificate: X509Certificate
        do {
            certificate = try X509Certificate(pem: certificateText)
        } catch {
            throw .fileError(path: paths.certificate, reason: "not a PEM certificate")
        }
        return try IssuingAuthority(certificate: certificate, key: key, profile: profile, requestPolicy: requestPolicy)
    }

    static func loadKey(
        _ paths: Paths, passphrase source: CAPassphraseSource
    ) throws(CertificateAuthorityError)
        -> PrivateKey
    {
        guard SecureFiles.exists(paths.directory),
            let keyFile = try protectedFile(paths.key, limit: 64 * 1024, access: .ownerOnly)
        else { throw .notInitialised(directory: paths.directory) }
        let passphrase = try readPassphrase(paths, source)
        defer { passphrase.wipe() }
        let keyText = String(decoding: keyFile, as: UTF8.self)
        do {
            return try passphrase.withUnsafeBytes { bytes throws(OpenSSLError) in
                try PrivateKey(encryptedPEM: keyText, passphrase: bytes)
            }
        } catch {
            throw .keyUnreadable(path: paths.key, detail: error.queue.last ?? error.operation)
        }
    }

    /// The passphrase's 64 hex characters (surrounding white space removed), from the file or the credential.
    private static func readPassphrase(
        _ paths: Paths, _ source: CAPassphraseSource
    ) throws(CertificateAuthorityError) -> SecretBytes {
        let path: String
        let file: SecretBytes?
        switch source {
        case .fileBesideKey:
            path = paths.passphrase
            file = try protectedSecret(path, access: .ownerOnly)
        case let .systemdCredential(name, directory):
            guard let directory, !directory.isEmpty else { throw .passphraseCredentialMissing(name: name, path: nil) }
            path = (directory as NSString).appendingPathComponent(name)
            file = try protectedSecret(path, access: .systemdCredential)
            if file == nil { throw .passphraseCredentialMissing(name: name, path: path) }
        }
        guard let file else { throw .passphraseInvalid(path: path) }
        defer { file.wipe() }
        let passphrase = file.withUnsafeBytes { bytes -> SecretBytes in
            let blank: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
            let start = bytes.firstIndex { !blank.contains($0) } ?? bytes.endIndex
            let end = (bytes.lastIndex { !blank.contains($0) }).map { $0 + 1 } ?? start
            return SecretBytes(copying: UnsafeRawBufferPointer(rebasing: bytes[start..<max(start, end)]))
        }
        let isHex = passphrase.withUnsafeBytes { bytes in
            bytes.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) }
        }
        guard passphrase.count == 64, isHex else { throw .passphraseInvalid(path: path) }
        return passphrase
    }

    /// A CA file through the one check of secret files (`ProtectedFile`); nil when it does not exist.
    private static func protectedFile(
        _ path: String, limit: Int, access: ProtectedFile.Access
    ) throws(CertificateAuthorityError) -> [UInt8]? {
        do {
            return try ProtectedFile.read(path: path, limit: limit, access: access)
        } catch {
            throw CertificateAuthorityError(error)
        }
    }

    private static func protectedSecret(
        _ path: String, access: ProtectedFile.Access
    ) throws(CertificateAuthorityError) -> SecretBytes? {
        do {
            return try ProtectedFile.readSecret(path: path, limit: 256, access: access)
        } catch {
            throw CertificateAuthorityError(error)
        }
    }

    struct Paths {
        let directory: String
        let key: String
        let passphrase: String
        let certificate: String
        let request: String

        init(_ url: URL) {
            directory = url.path
            key = url.appendingPathComponent(CAStore.keyFileName).path
            passphrase = url.appendingPathComponent(CAStore.passphraseFileName).path
            certificate = url.appendingPathComponent(CAStore.certificateFileName).path
            request = url.appendingPathComponent(CAStore.requestFileName).path
        }
    }
}
