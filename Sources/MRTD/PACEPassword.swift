import OpenSSLKit

/// The card access number printed on the document (ICAO 9303-11 §9.7.3): digits only.
public struct CardAccessNumber: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let digits: String

    /// Throws `.invalidAccessKey` unless `value` is 4 to 10 digits (real CANs have 6).
    public init(_ value: String) throws(MRTDError) {
        guard (4...10).contains(value.utf8.count), value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .invalidAccessKey("the CAN must be the 6 digits printed on the document")
        }
        digits = value
    }

    /// Never the digits themselves: logs and errors must not carry the access key.
    public var description: String { "CAN (\(digits.count) digits)" }
}

/// What opens the chip: the MRZ (BAC or PACE with password reference 01) or the CAN (PACE only, reference 02).
public enum AccessKey: Sendable, Equatable, Hashable {
    case mrz(BACKey)
    case can(CardAccessNumber)

    /// The PACE password reference of MSE:Set AT DO'83' (ICAO 9303-11 §4.4.4.1).
    public var paceReference: UInt8 {
        switch self {
        case .mrz: return 0x01
        case .can: return 0x02
        }
    }

    /// The encoded password π: SHA-1 of the MRZ information (all 20 bytes), or the CAN's ASCII digits
    /// (ICAO 9303-11 §9.7.3).
    public func paceSecret() throws(MRTDError) -> [UInt8] {
        switch self {
        case let .mrz(key):
            do {
                return try Digest.hash(Array(key.mrzInformation.utf8), using: .sha1)
            } catch {
                throw .crypto(error)
            }
        case let .can(can):
            return Array(can.digits.utf8)
        }
    }

    /// K_π = KDF(π, 3) for `cipher` (ICAO 9303-11 §9.7.3).
    public func paceKey(cipher: SecureMessagingCipherSuite.Algorithm) throws(MRTDError) -> [UInt8] {
        try KeyDerivation.derive(seed: try paceSecret(), counter: KeyDerivation.paceCounter, cipher: cipher)
    }

    /// "MRZ" or "CAN".
    public var kind: String {
        switch self {
        case .mrz: return "MRZ"
        case .can: return "CAN"
        }
    }
}
