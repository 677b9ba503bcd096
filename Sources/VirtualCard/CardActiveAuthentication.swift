import MRTD
import OpenSSLKit
import SmartCard

/// How a virtual chip performs active authentication (ICAO 9303-11 §6.1): the private key it signs with, and
/// the public key it publishes in DG15 (the same key's, unless the card is a clone that copied a genuine
/// chip's DG15 but cannot have its private key).
public struct ActiveAuthenticationConfiguration: Sendable {
    public var privateKey: PrivateKey
    /// The key written into DG15.
    public var publishedKey: PublicKey
    /// RSA: the hash of the ISO/IEC 9796-2 signature; ECDSA: the hash named in DG14's ActiveAuthenticationInfo.
    public var digest: DigestAlgorithm
    /// RSA with SHA-1: use the implicit trailer 'BC' (else 'xxCC').
    public var implicitTrailer: Bool
    /// ECDSA: answer DER-encoded signatures instead of plain r || s.
    public var derSignatures: Bool

    public init(
        privateKey: PrivateKey, publishedKey: PublicKey? = nil, digest: DigestAlgorithm? = nil,
        implicitTrailer: Bool = true, derSignatures: Bool = false
    ) throws(OpenSSLError) {
        self.privateKey = privateKey
        if let publishedKey {
            self.publishedKey = publishedKey
        } else {
            self.publishedKey = try privateKey.publicKey()
        }
        if let digest {
            self.digest = digest
        } else if case .rsa = privateKey.keyType {
            self.digest = .sha1
        } else {
            self.digest = .sha256
        }
        self.implicitTrailer = implicitTrailer
        self.derSignatures = derSignatures
    }

    public var isECDSA: Bool {
        if case .ec = privateKey.keyType { return true }
        return false
    }

    /// ActiveAuthenticationInfo for DG14 (ECDSA only; RSA needs none).
    public var info: ActiveAuthenticationInfo? {
        isECDSA ? ActiveAuthenticationInfo(signatureAlgorithm: ActiveAuthenticationInfo.ecdsaOID(digest)) : nil
    }

    /// INTERNAL AUTHENTICATE (00 88 00 00): signs the 8-byte challenge. 6700 for another length.
    func internalAuthenticate(_ command: CommandAPDU) -> ResponseAPDU {
        guard command.p1 == 0, command.p2 == 0 else { return ResponseAPDU(statusWord: .incorrectP1P2) }
        guard command.data.count == 8 else { return ResponseAPDU(statusWord: .wrongLength) }
        do {
            if isECDSA {
                let der = try privateKey.sign(command.data, scheme: .ecdsa(digest))
                if derSignatures { return ResponseAPDU(data: der, statusWord: .success) }
                let length = privateKey.modulusLength
                guard let plain = ActiveAuthentication.ecdsaPlain(der: der, length: try orderLength(fallback: length))
                else { return ResponseAPDU(statusWord: .unknownError) }
                return ResponseAPDU(data: plain, statusWord: .success)
            }
            let signature = try ISO9796Scheme1.sign(
                nonRecoverable: command.data, key: privateKey, digest: digest,
                implicitTrailer: implicitTrailer)
            return ResponseAPDU(data: signature, statusWord: .success)
        } catch {
            return ResponseAPDU(statusWord: .unknownError)
        }
    }

    private func orderLength(fallback: Int) throws -> Int {
        if case let .ec(_, bits) = privateKey.keyType { return (bits + 7) / 8 }
        return fallback
    }
}
