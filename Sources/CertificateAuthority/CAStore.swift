import Foundation
import OpenSSLKit

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
        pem: String, directory: URL, replaceExisting: Bool = false
    )
        throws(CertificateAuthorityError) -> X509Certificate
    {
        let paths = Paths(directory)
        let key = try loadKey(paths)
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
    ///   `.passphraseInvalid`, `.keyUnreadable`, `.certificateDoesNotMatchKey`, `.invalidConfiguration`.
    public static func load(
        directory: URL, profile: SigningCertificateProfile = .init(),
        requestPolicy: SigningRequestPolicy = .init()
    ) throws(CertificateAuthorityError)
        -> IssuingAuthority
    {
        let paths = Paths(directory)
        let key = try loadKey(paths)
        guard SecureFiles.exists(paths.certificate) else {
            if SecureFiles.exists(paths.request) { throw .awaitingCertificate(requestPath: paths.request) }
            throw .notInitialised(directory: directory.path)
        }
        let certificateText = String(decoding: try SecureFiles.read(paths.certificate), as: UTF8.self)
        let certificate: X509Certificate
        do {
            certificate = try X509Certificate(pem: certificateText)
        } catch {
            throw .fileError(path: paths.certificate, reason: "not a PEM certificate")
        }
        return try IssuingAuthority(certificate: certificate, key: key, profile: profile, requestPolicy: requestPolicy)
    }

    static func loadKey(_ paths: Paths) throws(CertificateAuthorityError) -> PrivateKey {
        guard SecureFiles.exists(paths.directory), SecureFiles.exists(paths.key) else {
            throw .notInitialised(directory: paths.directory)
        }
        for path in [paths.key, paths.passphrase] where SecureFiles.exists(path) {
            let mode = try SecureFiles.mode(path)
            guard mode & 0o077 == 0 else { throw .insecurePermissions(path: path, mode: mode) }
        }
        guard SecureFiles.exists(paths.passphrase) else { throw .passphraseInvalid(path: paths.passphrase) }
        let passphraseFile = try SecureFiles.read(paths.passphrase, limit: 256)
        let passphrase = Array(
            String(decoding: passphraseFile, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard passphrase.count == 64, passphrase.allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }) else {
            throw .passphraseInvalid(path: paths.passphrase)
        }
        let keyText = String(decoding: try SecureFiles.read(paths.key, limit: 64 * 1024), as: UTF8.self)
        do {
            return try PrivateKey(encryptedPEM: keyText, passphrase: passphrase)
        } catch {
            throw .keyUnreadable(path: paths.key, detail: error.queue.last ?? error.operation)
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
