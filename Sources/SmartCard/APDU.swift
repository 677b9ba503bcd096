/// An ISO/IEC 7816-4 command APDU (§5.1), in any of the four cases, short or extended length.
public struct CommandAPDU: Sendable, Equatable, CustomStringConvertible {
    public var cla: UInt8
    public var ins: UInt8
    public var p1: UInt8
    public var p2: UInt8
    /// Command data field (Lc is its length). Empty for cases 1 and 2.
    public var data: [UInt8]
    /// Expected response length: `nil` means no Le field (cases 1 and 3); `0` with no data is not
    /// used, use `Self.maxShortLe` / `Self.maxExtendedLe` for "as much as possible".
    public var le: Int?
    /// Forces extended-length encoding even when short encoding would fit.
    public var forceExtended: Bool

    /// The largest Ne a short Le byte can ask for (Le = 00).
    public static let maxShortLe = 256
    /// The largest Ne an extended Le can ask for (Le = 0000).
    public static let maxExtendedLe = 65_536
    public static let maxShortLc = 255
    public static let maxExtendedLc = 65_535

    public init(
        cla: UInt8 = 0x00, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8] = [], le: Int? = nil,
        forceExtended: Bool = false
    ) {
        self.cla = cla
        self.ins = ins
        self.p1 = p1
        self.p2 = p2
        self.data = data
        self.le = le
        self.forceExtended = forceExtended
    }

    /// Whether the encoding uses extended length fields.
    public var isExtended: Bool {
        forceExtended || data.count > Self.maxShortLc || (le ?? 0) > Self.maxShortLe
    }

    /// Encodes the APDU. Throws `APDUError` when Lc or Le is out of range.
    public func encoded() throws(APDUError) -> [UInt8] {
        guard data.count <= Self.maxExtendedLc else { throw .dataTooLong(data.count) }
        if let le, le < 1 || le > Self.maxExtendedLe { throw .invalidLe(le) }
        var out: [UInt8] = [cla, ins, p1, p2]
        let extended = isExtended
        if !data.isEmpty {
            if extended {
                out += [0x00, UInt8(data.count >> 8), UInt8(data.count & 0xFF)]
            } else {
                out.append(UInt8(data.count))
            }
            out += data
        }
        if let le {
            if extended {
                let value = le == Self.maxExtendedLe ? 0 : le
                if data.isEmpty { out.append(0x00) }
                out += [UInt8(value >> 8), UInt8(value & 0xFF)]
            } else {
                out.append(le == Self.maxShortLe ? 0x00 : UInt8(le))
            }
        }
        return out
    }

    /// Parses an encoded command APDU (the card side uses this). Throws `APDUError` on any
    /// length inconsistency.
    public init(bytes: [UInt8]) throws(APDUError) {
        guard bytes.count >= 4 else { throw .truncated(expected: 4, actual: bytes.count) }
        cla = bytes[0]
        ins = bytes[1]
        p1 = bytes[2]
        p2 = bytes[3]
        data = []
        le = nil
        forceExtended = false
        let body = Array(bytes[4...])
        switch body.count {
        case 0:
            return  // case 1
        case 1:
            le = body[0] == 0 ? Self.maxShortLe : Int(body[0])  // case 2 short
            return
        default:
            break
        }
        if body[0] != 0 {
            // Short case 3 or 4.
            let lc = Int(body[0])
            if body.count == 1 + lc {
                data = Array(body[1...])
            } else if body.count == 2 + lc {
                data = Array(body[1..<(1 + lc)])
                le = body[1 + lc] == 0 ? Self.maxShortLe : Int(body[1 + lc])
            } else {
                throw .inconsistentLength(lc: lc, bodyLength: body.count)
            }
            return
        }
        // Extended: body[0] == 0.
        forceExtended = true
        if body.count == 3 {
            let value = Int(body[1]) << 8 | Int(body[2])
            le = value == 0 ? Self.maxExtendedLe : value  // case 2 extended
            return
        }
        guard body.count >= 3 else { throw .truncated(expected: 3, actual: body.count) }
        let lc = Int(body[1]) << 8 | Int(body[2])
        guard lc > 0 else { throw .inconsistentLength(lc: lc, bodyLength: body.count) }
        if body.count == 3 + lc {
            data = Array(body[3...])
        } else if body.count == 5 + lc {
            data = Array(body[3..<(3 + lc)])
            let value = Int(body[3 + lc]) << 8 | Int(body[4 + lc])
            le = value == 0 ? Self.maxExtendedLe : value
        } else {
            throw .inconsistentLength(lc: lc, bodyLength: body.count)
        }
    }

    public var description: String {
        "CommandAPDU(\(hex([cla, ins, p1, p2])) Lc=\(data.count) Le=\(le.map(String.init) ?? "-"))"
    }
}

/// An ISO/IEC 7816-4 response APDU: data followed by SW1 SW2.
public struct ResponseAPDU: Sendable, Equatable, CustomStringConvertible {
    public var data: [UInt8]
    public var statusWord: StatusWord

    public init(data: [UInt8] = [], statusWord: StatusWord) {
        self.data = data
        self.statusWord = statusWord
    }

    /// Parses a response; throws when fewer than two bytes arrived.
    public init(bytes: [UInt8]) throws(APDUError) {
        guard bytes.count >= 2 else { throw .truncated(expected: 2, actual: bytes.count) }
        data = Array(bytes[..<(bytes.count - 2)])
        statusWord = StatusWord(sw1: bytes[bytes.count - 2], sw2: bytes[bytes.count - 1])
    }

    public var encoded: [UInt8] { data + [statusWord.sw1, statusWord.sw2] }

    public var description: String { "ResponseAPDU(\(data.count) bytes, SW \(statusWord))" }
}

/// Errors in encoding or decoding an APDU.
public enum APDUError: Error, Equatable, CustomStringConvertible {
    case truncated(expected: Int, actual: Int)
    case dataTooLong(Int)
    case invalidLe(Int)
    case inconsistentLength(lc: Int, bodyLength: Int)

    public var description: String {
        switch self {
        case let .truncated(expected, actual):
            return "APDU truncated: needed at least \(expected) bytes, got \(actual)"
        case let .dataTooLong(count):
            return "APDU data of \(count) bytes exceeds the extended-length maximum of 65535"
        case let .invalidLe(le):
            return "APDU Le \(le) is outside 1...65536"
        case let .inconsistentLength(lc, bodyLength):
            return "APDU Lc \(lc) does not match a body of \(bodyLength) bytes"
        }
    }
}

/// Upper-case hexadecimal, no separators.
public func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789ABCDEF")
    var out = ""
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return out
}

/// Parses hexadecimal (spaces and colons ignored); `nil` on an odd count or a non-hex character.
public func bytes(hex text: String) -> [UInt8]? {
    var out: [UInt8] = []
    var high: UInt8?
    for scalar in text.unicodeScalars {
        if scalar == " " || scalar == ":" || scalar == "\n" { continue }
        guard let nibble = UInt8(String(scalar), radix: 16) else { return nil }
        if let h = high {
            out.append(h << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    return high == nil ? out : nil
}
