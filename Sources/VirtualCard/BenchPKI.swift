import Foundation
import OpenSSLKit

/// A test country PKI written to a folder, for HIL benches: the virtual card signs EF.SOD with
/// `dsc.pem`/`dsc.key`; the daemon trusts `trust/` (the CSCA and its CRL). `rogue/` holds a
/// document signer under a CSCA nobody trusts, for forged-card profiles.
///
/// Layout: `csca.pem csca.key dsc.pem dsc.key trust/csca.pem trust/csca.crl rogue/dsc.pem rogue/dsc.key`,
/// plus the chip's anti-clone keys `aa.key` (RSA-2048 for an RSA PKI, else EC P-256) and `ca.key` (EC P-256).
/// Keys are test keys, written mode 0600; never use them for anything real.
public enum BenchPKI {
    /// Creates the folder's PKI. With `revokeDocumentSigner`, the trusted CRL lists `dsc.pem`.
    public static func create(
        directory: String, country: String = "UT", revokeDocumentSigner: Bool = false,
        key: KeyGenerationParameters = .p256
    ) throws -> TestPKI {
        var options = TestPKI.Options()
        options.country = country
        options.cscaKey = key
        options.dscKey = key
        options.revokeDocumentSigner = revokeDocumentSigner
        let pki = try TestPKI(options: options)
        let root = URL(fileURLWithPath: directory)
        let manager = FileManager.default
        for folder in ["", "trust", "rogue"] {
            try manager.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try write(pki.csca.certificate.pem, to: root.appendingPathComponent("csca.pem"))
        try write(try pki.csca.key.pemEncoded(), to: root.appendingPathComponent("csca.key"), secret: true)
        try write(pki.documentSigner.certificate.pem, to: root.appendingPathComponent("dsc.pem"))
        try write(try pki.documentSigner.key.pemEncoded(), to: root.appendingPathComponent("dsc.key"), secret: true)
        try write(pki.csca.certificate.pem, to: root.appendingPathComponent("trust/csca.pem"))
        try write(pki.crl.pem, to: root.appendingPathComponent("trust/csca.crl"))
        let rogueCSCA = try TestPKI.makeCSCA(
            country: country, name: "CSCA \(country)", key: key,
            validity: (Date() - 86_400 * 365, Date() + 86_400 * 3650))
        let rogue = try pki.issueDocumentSigner(commonName: "DS \(country) 1", issuer: rogueCSCA)
        try write(rogue.certificate.pem, to: root.appendingPathComponent("rogue/dsc.pem"))
        try write(try rogue.key.pemEncoded(), to: root.appendingPathComponent("rogue/dsc.key"), secret: true)
        var aaParameters = KeyGenerationParameters.p256
        if case .rsa = key { aaParameters = .rsa2048 }
        try write(
            try PrivateKey.generate(aaParameters).pemEncoded(), to: root.appendingPathComponent("aa.key"),
            secret: true)
        try write(try PrivateKey.generate(.p256).pemEncoded(), to: root.appendingPathComponent("ca.key"), secret: true)
        return pki
    }

    private static func write(_ text: String, to url: URL, secret: Bool = false) throws {
        try Data(text.utf8).write(to: url, options: .atomic)
        if secret { chmod(url.path, 0o600) }
    }
}
