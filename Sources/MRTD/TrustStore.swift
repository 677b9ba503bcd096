import Foundation
import OpenSSLKit

/// Why a trust store could not be loaded or changed.
public enum TrustStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The directory does not exist or cannot be listed.
    case directoryUnreadable(path: String, reason: String)
    /// A new CSCA file could not be written.
    case writeFailed(path: String, reason: String)
    /// A master list was refused; nothing from it was trusted or written.
    case masterList(MasterListError)

    public var description: String {
        switch self {
        case let .directoryUnreadable(path, reason): return "trust store \(path) cannot be read: \(reason)"
        case let .writeFailed(path, reason): return "trust store file \(path) cannot be written: \(reason)"
        case let .masterList(error): return "master list refused: \(error)"
        }
    }
}

/// What `TrustStore.load(directory:)` made of each file.
public struct TrustStoreLoadReport: Sendable, Equatable {
    public struct SkippedFile: Sendable, Equatable {
        public var file: String
        public var reason: String
    }

    /// File names loaded, sorted.
    public var loadedFiles: [String] = []
    public var skippedFiles: [SkippedFile] = []
}

/// The CSCA trust anchors (ICAO 9303-12 §5): CSCA certificates (self-signed and link certificates),
/// optionally document signer certificates for SODs that omit theirs, and CRLs. Every CSCA certificate
/// in the store is trusted; a link certificate (new CSCA key signed by the old one) lets documents
/// signed under the new key validate when only the old CSCA was installed.
public struct TrustStore: Sendable {
    /// Largest file read from a trust store directory.
    public static let maxFileSize = 4 << 20
    static let certificateExtensions: Set<String> = ["pem", "crt", "cer", "der"]

    public private(set) var cscaCertificates: [X509Certificate]
    /// Non-CA certificates found in the store (DSCs for SODs without an embedded certificate).
    public private(set) var documentSignerCertificates: [X509Certificate]
    public private(set) var crls: [CertificateRevocationList]
    /// The directory this store was loaded from, if any (`reload()` reads it again).
    public let directory: String?
    public private(set) var report = TrustStoreLoadReport()

    /// An in-memory store. CA certificates (basicConstraints cA, or keyCertSign) become CSCAs,
    /// the rest document signers.
    public init(certificates: [X509Certificate], crls: [CertificateRevocationList] = []) {
        self.init(certificates: certificates, crls: crls, directory: nil)
    }

    private init(certificates: [X509Certificate], crls: [CertificateRevocationList], directory: String?) {
        var unique: [X509Certificate] = []
        for certificate in certificates where !unique.contains(certificate) { unique.append(certificate) }
        cscaCertificates = unique.filter(TrustStore.isCA)
        documentSignerCertificates = unique.filter { !TrustStore.isCA($0) }
        self.crls = crls
        self.directory = directory
    }

    static func isCA(_ certificate: X509Certificate) -> Bool {
        if let usage = certificate.keyUsage, !usage.contains(.keyCertSign) { return false }
        return certificate.isCertificateAuthority || certificate.keyUsage?.contains(.keyCertSign) == true
    }

    /// Loads every `.pem/.crt/.cer/.der` certificate file (PEM may hold several) and `.crl` file
    /// (PEM or DER) in `directory`, not recursing. Unreadable or unparsable files are skipped and
    /// listed in `report` with the reason.
    /// - Throws: `TrustStoreError.directoryUnreadable` when the directory cannot be listed.
    public static func load(directory: String) throws(TrustStoreError) -> TrustStore {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw .directoryUnreadable(path: directory, reason: error.localizedDescription)
        }
        var certificates: [X509Certificate] = []
        var crls: [CertificateRevocationList] = []
        var report = TrustStoreLoadReport()
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            let fileExtension = (name as NSString).pathExtension.lowercased()
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                report.skippedFiles.append(.init(file: name, reason: "not a regular file"))
                continue
            }
            guard certificateExtensions.contains(fileExtension) || fileExtension == "crl" else {
                report.skippedFiles.append(.init(file: name, reason: "extension is not .pem/.crt/.cer/.der/.crl"))
                continue
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                report.skippedFiles.append(.init(file: name, reason: "cannot be read"))
                continue
            }
            guard data.count <= maxFileSize else {
                report.skippedFiles.append(.init(file: name, reason: "\(data.count) bytes, above \(maxFileSize)"))
                continue
            }
            let bytes = [UInt8](data)
            let isPEM =
                bytes.starts(with: Array("-----BEGIN".utf8))
                || String(decoding: bytes.prefix(4096), as: UTF8.self).contains("-----BEGIN ")
            do {
                if fileExtension == "crl" {
                    crls.append(
                        isPEM
                            ? try CertificateRevocationList(pem: String(decoding: bytes, as: UTF8.self))
                            : try CertificateRevocationList(der: bytes))
                } else if isPEM {
                    certificates += try X509Certificate.certificates(pem: String(decoding: bytes, as: UTF8.self))
                } else {
                    certificates.append(try X509Certificate(der: bytes))
                }
                report.loadedFiles.append(name)
            } catch {
                let kind = fileExtension == "crl" ? "CRL" : "certificate"
                let reason = "not a valid \(isPEM ? "PEM" : "DER") \(kind): \(error)"
                report.skippedFiles.append(.init(file: name, reason: reason))
            }
        }
        var store = TrustStore(certificates: certificates, crls: crls, directory: directory)
        store.report = report
        return store
    }

    /// Reads the directory again (after an operator added or removed files).
    /// - Throws: `TrustStoreError.directoryUnreadable`; the store is unchanged then. An in-memory store
    ///   (no directory) is left as it is.
    public mutating func reload() throws(TrustStoreError) {
        guard let directory else { return }
        self = try TrustStore.load(directory: directory)
    }

    /// Adds certificates and CRLs in memory (not written anywhere).
    public mutating func add(certificates: [X509Certificate] = [], crls: [CertificateRevocationList] = []) {
        for certificate in certificates where !(cscaCertificates + documentSignerCertificates).contains(certificate) {
            if TrustStore.isCA(certificate) {
                cscaCertificates.append(certificate)
            } else {
                documentSignerCertificates.append(certificate)
            }
        }
        self.crls += crls
    }

    // MARK: Chain building

    /// A certification path from a certificate to a trusted CSCA.
    public struct CertificationPath: Sendable, Equatable {
        /// The certificate checked first, then its issuers up to (and including) a self-signed CSCA when the
        /// store holds one; `anchor` is always `certificates[1]`, the CSCA that signed the leaf.
        public var certificates: [X509Certificate]
        public var anchor: X509Certificate { certificates.count > 1 ? certificates[1] : certificates[0] }
        /// The root at the top (self-signed when the store had it).
        public var root: X509Certificate { certificates.last ?? anchor }
    }

    /// CSCA certificates whose subject is `certificate`'s issuer, those whose key identifier matches the
    /// authority key identifier first.
    public func issuerCandidates(of certificate: X509Certificate) -> [X509Certificate] {
        let named = cscaCertificates.filter { certificate.isIssued(byName: $0) && $0 != certificate }
        guard let authorityKeyID = certificate.authorityKeyIdentifier else { return named }
        return named.filter { $0.subjectKeyIdentifier == authorityKeyID }
            + named.filter { $0.subjectKeyIdentifier != authorityKeyID }
    }

    /// Finds a CSCA in the store whose key verifies `certificate`'s signature and which had not expired
    /// when `certificate` was issued (an expired CSCA still anchors what it signed while valid).
    /// - Returns: the path, or a reason naming what is missing.
    public func certificationPath(for certificate: X509Certificate) -> Result<CertificationPath, ChainFailure> {
        let candidates = issuerCandidates(of: certificate)
        guard !candidates.isEmpty else { return .failure(.noIssuer(certificate.issuer)) }
        var expiredBeforeIssue: X509Certificate?
        for candidate in candidates {
            guard let key = try? candidate.publicKey(), certificate.isSigned(by: key) else { continue }
            if let issued = certificate.notBefore, let cscaEnd = candidate.notAfter, issued > cscaEnd {
                expiredBeforeIssue = candidate
                continue
            }
            var path = [certificate, candidate]
            while path.count < 6, let top = path.last, !top.isSelfSigned,
                let parent = issuerCandidates(of: top).first(where: { parent in
                    !path.contains(parent) && ((try? parent.publicKey()).map { top.isSigned(by: $0) } ?? false)
                })
            {
                path.append(parent)
            }
            return .success(CertificationPath(certificates: path))
        }
        if let expiredBeforeIssue { return .failure(.issuedAfterIssuerExpired(expiredBeforeIssue.subject)) }
        return .failure(.signatureInvalid(issuer: certificate.issuer, candidates: candidates.count))
    }

    /// Why no certification path was found.
    public enum ChainFailure: Error, Equatable, Sendable, CustomStringConvertible {
        case noIssuer(DistinguishedName)
        case signatureInvalid(issuer: DistinguishedName, candidates: Int)
        case issuedAfterIssuerExpired(DistinguishedName)

        public var description: String {
            switch self {
            case let .noIssuer(name):
                return "no trusted CSCA certificate with subject \(name) in the trust store"
            case let .signatureInvalid(name, count):
                return "the certificate's signature does not verify with any of the \(count) trusted CSCA "
                    + "certificate(s) named \(name)"
            case let .issuedAfterIssuerExpired(name):
                return "the certificate was issued after the CSCA \(name) expired"
            }
        }
    }

    /// CRLs issued for `certificate`'s issuer whose signature verifies with one of the CSCA keys named
    /// that issuer, and the count of CRLs with that issuer name that did not verify.
    public func verifiedCRLs(
        for certificate: X509Certificate
    )
        -> (verified: [CertificateRevocationList], unverified: Int)
    {
        let keys = cscaCertificates.filter { certificate.isIssued(byName: $0) }.compactMap { try? $0.publicKey() }
        let named = crls.filter { $0.covers(certificate) }
        let verified = named.filter { crl in keys.contains { crl.isSigned(by: $0) } }
        return (verified, named.count - verified.count)
    }
}
