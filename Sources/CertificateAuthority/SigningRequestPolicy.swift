import OpenSSLKit

/// A PKCS#10 request that passed `SigningRequestPolicy`: well formed, signed by its own key (proof of
/// possession, RFC 2986 §3), with an accepted key. Only its public key is used; its subject and requested
/// extensions are ignored, as the profile decides them.
public struct AcceptedSigningRequest: Sendable {
    public let request: CertificateSigningRequest
    public let publicKey: PublicKey
    /// `EC P-256`, `RSA-3072`, …
    public let keyDescription: String
}

/// What a device's certificate signing request must satisfy.
///
/// Accepted keys: EC on P-256, P-384, P-521 and brainpoolP256r1/384r1/512r1 (named curves only; brainpool
/// because EU secure elements and eID cards use it), RSA of 2048 to 8192 bits. Everything else is refused.
public struct SigningRequestPolicy: Sendable, Equatable {
    /// Largest CSR accepted, PEM or DER.
    public static let maximumSize = 16 * 1024

    /// Accepted curves by their common names (`P-256`, `brainpoolP256r1`, …).
    public var allowedCurves: Set<String>
    public var minimumRSABits: Int
    public var maximumRSABits: Int

    public init(
        allowedCurves: Set<String> = [
            "P-256", "P-384", "P-521", "brainpoolP256r1", "brainpoolP384r1",
            "brainpoolP512r1",
        ],
        minimumRSABits: Int = 2048, maximumRSABits: Int = 8192
    ) {
        self.allowedCurves = allowedCurves
        self.minimumRSABits = minimumRSABits
        self.maximumRSABits = maximumRSABits
    }

    /// Parses a PEM or DER CSR and applies the policy.
    /// - Throws: `CertificateAuthorityError` `.requestTooLarge`, `.requestMalformed`, `.weakKey`,
    ///   `.unsupportedCurve`, `.unsupportedKey` or `.proofOfPossessionFailed`.
    public func check(_ encoded: [UInt8]) throws(CertificateAuthorityError) -> AcceptedSigningRequest {
        guard encoded.count <= Self.maximumSize else {
            throw .requestTooLarge(size: encoded.count, limit: Self.maximumSize)
        }
        guard !encoded.isEmpty else { throw .requestMalformed(detail: "empty") }
        let request: CertificateSigningRequest
        do {
            let first = encoded.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
            if first == UInt8(ascii: "-") {
                request = try CertificateSigningRequest(pem: String(decoding: encoded, as: UTF8.self))
            } else {
                request = try CertificateSigningRequest(der: encoded)
            }
        } catch {
            throw .requestMalformed(detail: error.queue.first ?? error.operation)
        }
        let publicKey: PublicKey
        do {
            publicKey = try request.publicKey()
        } catch {
            throw .requestMalformed(detail: "unreadable public key")
        }
        let keyDescription = try checkKey(publicKey.keyType)
        guard request.isSelfSignatureValid else { throw .proofOfPossessionFailed }
        return AcceptedSigningRequest(request: request, publicKey: publicKey, keyDescription: keyDescription)
    }

    /// Parses a PEM CSR and applies the policy (see `check(_:)`).
    public func check(pem: String) throws(CertificateAuthorityError) -> AcceptedSigningRequest {
        try check(Array(pem.utf8))
    }

    /// Applies the key rules; returns the key's description.
    func checkKey(_ keyType: KeyType) throws(CertificateAuthorityError) -> String {
        switch keyType {
        case let .rsa(bits):
            let description = "RSA-\(bits)"
            guard bits >= minimumRSABits else { throw .weakKey(description) }
            guard bits <= maximumRSABits else {
                throw .unsupportedKey("\(description) (more than \(maximumRSABits) bits)")
            }
            return description
        case let .ec(curve, bits):
            guard let curve else { throw .unsupportedCurve("explicit curve parameters (\(bits) bits)") }
            let name = Self.commonCurveNames[curve] ?? curve
            if allowedCurves.contains(name) { return "EC \(name)" }
            if bits < 256 { throw .weakKey("EC \(name)") }
            throw .unsupportedCurve(name)
        case let .other(name):
            throw .unsupportedKey(name)
        }
    }

    /// OpenSSL's group names → the names the policy uses.
    static let commonCurveNames = [
        "prime256v1": "P-256", "secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521",
        "P-256": "P-256", "P-384": "P-384", "P-521": "P-521",
    ]
}
