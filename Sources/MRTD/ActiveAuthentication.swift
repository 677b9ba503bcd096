import OpenSSLKit
import SmartCard

/// The outcome of an anti-clone protocol (active or chip authentication), as a read records it.
public struct AntiCloneCheck: Sendable, Equatable, CustomStringConvertible {
    public enum Outcome: String, Sendable, Equatable {
        case passed
        case failed
        case notSupported = "not-supported"
        case notChecked = "not-checked"
    }

    public var outcome: Outcome
    /// What was run (e.g. `AA RSA ISO 9796-2 SHA-256`, `CA v1 ECDH AES-128 NIST P-256`) or why it failed.
    public var reason: String

    public init(_ outcome: Outcome, _ reason: String) {
        self.outcome = outcome
        self.reason = reason
    }

    public var description: String { "\(outcome.rawValue): \(reason)" }
}

/// Why an active authentication signature was refused.
public enum ActiveAuthenticationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    case rsa(ISO9796Error)
    /// The ECDSA signature did not verify with any acceptable hash.
    case ecdsaInvalid(String)
    case malformedSignature(String)
    case unsupportedKey(String)

    public var description: String {
        switch self {
        case let .rsa(error): return "the RSA active authentication signature is invalid: \(error)"
        case let .ecdsaInvalid(detail): return "the ECDSA active authentication signature is invalid (\(detail))"
        case let .malformedSignature(detail): return "the active authentication signature is malformed: \(detail)"
        case let .unsupportedKey(detail): return "the DG15 key cannot be used: \(detail)"
        }
    }
}

/// Active authentication (ICAO 9303-11 §6.1): the chip signs a fresh 8-byte challenge with the private key
/// whose public key is in DG15 (signed by EF.SOD). RSA signatures use ISO/IEC 9796-2 scheme 1 with partial
/// recovery (M2 = the challenge); ECDSA signatures are accepted as plain r || s (TR-03111) or DER.
public enum ActiveAuthentication {
    /// Sends INTERNAL AUTHENTICATE (00 88 00 00, challenge, Le) on `channel` (under secure messaging) and
    /// verifies the answer. Returns a description of what verified. Throws `.authenticationFailed` naming the
    /// problem for a wrong signature; card errors as usual.
    public static func authenticate(
        channel: CardChannel, dg15: DG15, info: ActiveAuthenticationInfo?,
        challenge: [UInt8]
    ) throws(MRTDError) -> String {
        guard challenge.count == 8 else { throw .authenticationFailed("the AA challenge must be 8 bytes") }
        let extended = channel.supportsExtendedLength && dg15.publicKey.modulusLength > 128
        let command = CommandAPDU(
            ins: 0x88, p1: 0x00, p2: 0x00, data: challenge,
            le: extended ? CommandAPDU.maxExtendedLe : CommandAPDU.maxShortLe,
            forceExtended: extended)
        let response: ResponseAPDU
        do {
            response = try channel.transmit(command)
        } catch {
            throw MRTDError(error)
        }
        guard response.statusWord.isSuccess else {
            throw .unexpectedStatus(operation: "INTERNAL AUTHENTICATE", statusWord: response.statusWord)
        }
        do {
            return try verify(signature: response.data, challenge: challenge, publicKey: dg15.publicKey, info: info)
        } catch {
            throw .authenticationFailed(error.description)
        }
    }

    /// Verifies an AA signature over `challenge`. For ECDSA the hash is the one ActiveAuthenticationInfo names;
    /// without it (9303-11 requires it for ECDSA, but some chips omit DG14) the hash matching the curve size is
    /// tried first, then the other SHA-1/SHA-2 hashes.
    public static func verify(
        signature: [UInt8], challenge: [UInt8], publicKey: PublicKey,
        info: ActiveAuthenticationInfo?
    ) throws(ActiveAuthenticationFailure) -> String {
        switch publicKey.keyType {
        case let .rsa(bits):
            do {
                let opened = try ISO9796Scheme1.verify(signature: signature, nonRecoverable: challenge, key: publicKey)
                let trailer = opened.implicitTrailer ? "trailer BC" : "trailer \(hexByte(opened.digest))CC"
                return "RSA-\(bits) ISO 9796-2 \(opened.digest.rawValue) (\(trailer))"
            } catch {
                throw .rsa(error)
            }
        case let .ec(curve, bits):
            let orderLength = (bits + 7) / 8
            let der: [UInt8]
            let format: String
            if signature.count == 2 * orderLength, signature.first != 0x30 || !isDER(signature) {
                der = ecdsaDER(plain: signature)
                format = "plain"
            } else if isDER(signature) {
                der = signature
                format = "DER"
            } else {
                throw .malformedSignature("\(signature.count) bytes: neither r || s for a \(bits)-bit curve nor DER")
            }
            var candidates: [DigestAlgorithm]
            if let digest = info?.digest {
                candidates = [digest]
            } else if info != nil {
                throw .unsupportedKey("unknown AA signature algorithm \(info?.signatureAlgorithm ?? "")")
            } else {
                let natural: DigestAlgorithm =
                    bits <= 160
                    ? .sha1
                    : bits <= 224
                        ? .sha224
                        : bits <= 256
                            ? .sha256
                            : bits <= 384 ? .sha384 : .sha512
                candidates = [natural] + DigestAlgorithm.allCases.filter { $0 != natural }
            }
            for digest in candidates {
                if (try? publicKey.verify(signature: der, message: challenge, scheme: .ecdsa(digest))) == true {
                    return "ECDSA \(curve ?? "explicit curve") \(digest.rawValue) (\(format) signature)"
                }
            }
            throw .ecdsaInvalid("\(format) signature, tried \(candidates.map(\.rawValue).joined(separator: ", "))")
        case let .other(name):
            throw .unsupportedKey(name)
        }
    }

    private static func hexByte(_ digest: DigestAlgorithm) -> String {
        let id = ISO9796Scheme1.hashIdentifier(digest)
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(id >> 4)], digits[Int(id & 0x0F)]])
    }

    /// Whether `bytes` is exactly one DER SEQUENCE of two INTEGERs.
    static func isDER(_ bytes: [UInt8]) -> Bool {
        guard let sequence = try? TLV.parse(bytes, limits: TLVLimits(maxLength: 200, maxDepth: 2, maxTagBytes: 1)),
            sequence.tag == 0x30, let parts = try? sequence.children(), parts.count == 2
        else { return false }
        return parts.allSatisfy { $0.tag == 0x02 && !$0.value.isEmpty }
    }

    /// Ecdsa-Sig-Value { r INTEGER, s INTEGER } for a plain r || s signature (BSI TR-03111 §5.2.1).
    public static func ecdsaDER(plain: [UInt8]) -> [UInt8] {
        let half = plain.count / 2
        func integer(_ bytes: ArraySlice<UInt8>) -> TLV {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty { value = [0] }
            if let first = value.first, first & 0x80 != 0 { value.insert(0, at: 0) }
            return TLV(tag: 0x02, value: value)
        }
        return TLV(tag: 0x30, children: [integer(plain[..<half]), integer(plain[half...])]).encoded
    }

    /// Plain r || s (each padded to `length`) from a DER Ecdsa-Sig-Value; nil when malformed.
    public static func ecdsaPlain(der: [UInt8], length: Int) -> [UInt8]? {
        guard isDER(der), let sequence = try? TLV.parse(der), let parts = try? sequence.children() else { return nil }
        var out: [UInt8] = []
        for part in parts {
            let value = Array(part.value.drop { $0 == 0 })
            guard value.count <= length else { return nil }
            out += [UInt8](repeating: 0, count: length - value.count) + value
        }
        return out
    }
}
