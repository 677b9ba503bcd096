import OpenSSLKit

/// The BAC access key: the MRZ fields the chip's keys are derived from (ICAO 9303-11 §4.3, §9.7).
///
/// `documentNumber` is the full number without check digit (longer than 9 characters is allowed, as in
/// TD1 cards that spill into the optional data); shorter numbers are '<'-padded to 9. Dates are `YYMMDD`.
public struct BACKey: Sendable, Equatable, Hashable {
    public let documentNumber: String
    public let birthDate: String
    public let expiryDate: String

    /// Validates and normalises the fields. Throws `MRTDError.invalidAccessKey` naming the bad field.
    public init(documentNumber: String, birthDate: String, expiryDate: String) throws(MRTDError) {
        var number = documentNumber.uppercased()
        while number.count > 9 && number.hasSuffix("<") { number.removeLast() }
        guard !number.isEmpty, number.count <= 22,
            number.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x3C })
        else {
            throw .invalidAccessKey("document number must be 1 to 22 characters A-Z, 0-9 or '<'")
        }
        if number.count < 9 { number += String(repeating: "<", count: 9 - number.count) }
        for (name, value) in [("birth date", birthDate), ("expiry date", expiryDate)] {
            guard value.utf8.count == 6, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw .invalidAccessKey("\(name) must be six digits YYMMDD")
            }
        }
        self.documentNumber = number
        self.birthDate = birthDate
        self.expiryDate = expiryDate
    }

    /// The MRZ information hashed for K_seed: number, birth date and expiry, each followed by its check digit.
    public var mrzInformation: String {
        func withCheckDigit(_ field: String) -> String {
            field + String(MRZ.checkDigit(field) ?? "<")
        }
        return withCheckDigit(documentNumber) + withCheckDigit(birthDate) + withCheckDigit(expiryDate)
    }

    /// K_seed: the first 16 bytes of SHA-1 over the MRZ information (ICAO 9303-11 §9.7.2).
    public func keySeed() throws(MRTDError) -> [UInt8] {
        do {
            return Array(try Digest.hash(Array(mrzInformation.utf8), using: .sha1)[0..<16])
        } catch {
            throw .crypto(error)
        }
    }

    /// The basic access keys K_enc and K_mac (3DES, parity-adjusted).
    public func derivedKeys() throws(MRTDError) -> (encryption: [UInt8], mac: [UInt8]) {
        let seed = try keySeed()
        return (
            try KeyDerivation.derive(seed: seed, counter: KeyDerivation.encryptionCounter, cipher: .tripleDES),
            try KeyDerivation.derive(seed: seed, counter: KeyDerivation.macCounter, cipher: .tripleDES)
        )
    }
}

/// The ICAO key derivation function (ICAO 9303-11 §9.7.1), shared by BAC, PACE and chip authentication.
public enum KeyDerivation {
    public static let encryptionCounter: UInt32 = 1
    public static let macCounter: UInt32 = 2
    public static let paceCounter: UInt32 = 3

    /// Derives a key from `seed` and `counter` for `cipher`: 3DES (SHA-1, 16 bytes, parity-adjusted),
    /// AES-128 (SHA-1), AES-192 and AES-256 (SHA-256).
    public static func derive(
        seed: [UInt8], counter: UInt32, cipher: SecureMessagingCipherSuite.Algorithm
    )
        throws(MRTDError) -> [UInt8]
    {
        let input =
            seed + [
                UInt8(counter >> 24), UInt8((counter >> 16) & 0xFF), UInt8((counter >> 8) & 0xFF),
                UInt8(counter & 0xFF),
            ]
        do {
            switch cipher {
            case .tripleDES:
                return DESKey.adjustParity(Array(try Digest.hash(input, using: .sha1)[0..<16]))
            case .aes128:
                return Array(try Digest.hash(input, using: .sha1)[0..<16])
            case .aes192:
                return Array(try Digest.hash(input, using: .sha256)[0..<24])
            case .aes256:
                return try Digest.hash(input, using: .sha256)
            }
        } catch {
            throw .crypto(error)
        }
    }
}
