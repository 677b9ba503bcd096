import SmartCard

/// The eMRTD application identifier (ICAO 9303-10 §3.11.3).
public let eMRTDApplicationID: [UInt8] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01]

/// Selects files and reads them with as few READ BINARY commands as the card and reader allow, learning the
/// largest response size that works and remembering it for the session (ICAO 9303-10 §3.11, ISO 7816-4 §11.3.3).
///
/// Extended length first when the path supports it (one APDU up to `maxExtendedResponse`), otherwise short
/// reads starting at 0xE7 under secure messaging (a 0xE7 payload fits a 256-byte 3DES SM response) or 256 in
/// plain; on 6700, 6Cxx or a transport protocol error it steps down 256 → 0xE7 → 0xDF → 192 → 160 → 128.
/// Offsets above 32767 use READ BINARY with odd INS (B1, offset in DO'54', data in DO'53').
public final class ReadBinaryStrategy {
    /// The short Le values tried, largest first.
    public static let shortLadder = [256, 0xE7, 0xDF, 192, 160, 128]
    /// The largest response a read may provoke (vpcd frames responses with a 2-byte length).
    public static let maxExtendedResponse = 65_000
    /// The largest B0 offset (P1 bit 8 selects a short EF identifier instead).
    public static let maxEvenOffset = 0x7FFF
    /// Files larger than this are refused as malformed (DG3 fingerprints stay well below).
    public static let maxFileSize = 4_000_000

    public let secureMessaging: Bool
    /// Whether reads currently use extended length.
    public private(set) var usesExtendedLength: Bool
    private var rung: Int
    /// Read via short EF identifier (P1 = 0x80 | SFI) instead of SELECT when the file has one.
    public var usesShortFileIdentifiers: Bool

    /// The largest response APDU an extended read may provoke (EF.ATR/INFO's limit, or `maxExtendedResponse`).
    public let extendedResponseLimit: Int

    /// `maxResponseLength`: the chip's limit from EF.ATR/INFO, when it gave one; a limit that leaves no room above a
    /// short read turns extended length off.
    public init(
        extendedLength: Bool, secureMessaging: Bool, shortFileIdentifiers: Bool = false,
        maxResponseLength: Int? = nil
    ) {
        self.secureMessaging = secureMessaging
        extendedResponseLimit = min(Self.maxExtendedResponse, maxResponseLength ?? Self.maxExtendedResponse)
        usesExtendedLength = extendedLength && extendedResponseLimit > 256 + (secureMessaging ? 64 : 0) + 2
        rung = secureMessaging ? 1 : 0
        usesShortFileIdentifiers = shortFileIdentifiers
    }

    /// The response payload size asked for per READ BINARY in the current mode.
    public var chunkSize: Int {
        usesExtendedLength ? extendedResponseLimit - (secureMessaging ? 64 : 0) : Self.shortLadder[rung]
    }

    /// Selects the eMRTD application: SELECT by DF name, P1=04 P2=0C, no Le.
    public static func selectApplication(on channel: CardChannel) throws(MRTDError) {
        let response = try exchange(channel, CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: eMRTDApplicationID))
        guard response.statusWord.isSuccess else {
            throw failure("SELECT eMRTD application", response.statusWord, on: channel)
        }
    }

    /// Selects an EF by file identifier: P1=02 P2=0C, no Le. Throws `.unexpectedStatus` (6A82 when absent).
    public func select(_ file: FileID, on channel: CardChannel) throws(MRTDError) {
        let response = try Self.exchange(channel, CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: file.bytes))
        guard response.statusWord.isSuccess else {
            throw Self.failure("SELECT \(file)", response.statusWord, on: channel)
        }
    }

    /// Selects `file` and reads all of it. The length comes from the file's first TLV header, read as part of a
    /// full first chunk, so small files cost one READ BINARY. Files that are not TLV are read until the card
    /// signals the end. Throws `.malformedFile` when the file ends before its header says.
    public func readFile(_ file: FileID, on channel: CardChannel) throws(MRTDError) -> [UInt8] {
        var viaSFI: UInt8?
        if usesShortFileIdentifiers, let sfi = file.shortFileIdentifier {
            viaSFI = sfi
        } else {
            try select(file, on: channel)
        }
        var content: [UInt8] = []
        var total: Int?
        while true {
            if let total, content.count >= total { break }
            let chunk = try readChunk(
                file, offset: content.count, remaining: total.map { $0 - content.count },
                sfi: content.isEmpty ? viaSFI : nil, on: channel)
            content += chunk.data
            if total == nil, let header = try? TLVReader.header(of: content) {
                let declared = header.headerLength + header.length
                guard declared <= Self.maxFileSize else {
                    throw .malformedFile(file, "declares \(declared) bytes, more than the \(Self.maxFileSize) allowed")
                }
                total = declared
            }
            if chunk.endOfFile || chunk.data.isEmpty { break }
            guard content.count <= Self.maxFileSize else {
                throw .malformedFile(file, "longer than the \(Self.maxFileSize) bytes allowed")
            }
        }
        if let total {
            guard content.count >= total else {
                throw .malformedFile(
                    file,
                    "its header declares \(total) bytes but the file ends after \(content.count)")
            }
            content.removeSubrange(total...)
        }
        return content
    }

    /// One READ BINARY, retried with smaller sizes as needed. `endOfFile` is set when the card returned fewer
    /// bytes than asked for, 6282, or 6B00.
    private func readChunk(
        _ file: FileID, offset: Int, remaining: Int?, sfi: UInt8?, on channel: CardChannel
    )
        throws(MRTDError) -> (data: [UInt8], endOfFile: Bool)
    {
        var exactLe: Int?
        while true {
            let odd = offset > Self.maxEvenOffset
            let command: CommandAPDU
            let expected: Int
            let maxData: Int
            if odd {
                var size = chunkSize - 2
                if size >= 0x80 { size = chunkSize - 3 }
                if size >= 0x100 { size = chunkSize - 4 }
                maxData = min(size, remaining ?? size)
                expected = exactLe ?? (maxData + TLV.encode(length: maxData).count + 1)
                let offsetObject = TLV(tag: 0x54, value: Self.offsetBytes(offset)).encoded
                command = CommandAPDU(ins: 0xB1, p1: 0, p2: 0, data: offsetObject, le: expected)
            } else {
                maxData = exactLe ?? min(remaining ?? chunkSize, chunkSize)
                expected = maxData
                let p1 = sfi.map { 0x80 | $0 } ?? UInt8(offset >> 8)
                command = CommandAPDU(ins: 0xB0, p1: p1, p2: UInt8(offset & 0xFF), le: expected)
            }
            let response: ResponseAPDU
            do {
                response = try Self.exchange(channel, command)
            } catch {
                if case let .transport(cardError) = error, Self.isLengthRelated(cardError) {
                    try stepDown(file, after: StatusWord.wrongLength, on: channel)
                    exactLe = nil
                    continue
                }
                throw error
            }
            let sw = response.statusWord
            if let exact = sw.correctLength, exactLe == nil, exact < expected {
                exactLe = exact
                continue
            }
            switch (sw.sw1, sw.sw2) {
            case (0x90, 0x00), (0x62, 0x82):
                var data = response.data
                if odd && !data.isEmpty {
                    let object: TLV
                    do {
                        object = try TLV.parse(data, limits: TLVLimits(maxLength: 70_000, maxDepth: 1, maxTagBytes: 1))
                    } catch {
                        throw .malformedFile(file, "READ BINARY (B1) response is not a DO'53': \(error)")
                    }
                    guard object.tag == 0x53 else {
                        throw .malformedFile(file, "READ BINARY (B1) response is not a DO'53'")
                    }
                    data = object.value
                }
                guard data.count <= maxData else {
                    throw .malformedFile(file, "the card returned \(data.count) bytes for Le \(expected)")
                }
                let short = odd ? response.data.count < expected : data.count < expected
                return (data, sw != .success || short)
            case (0x6B, 0x00):
                return ([], true)
            case (0x67, 0x00), (0x6C, _):
                try stepDown(file, after: sw, on: channel)
                exactLe = nil
            default:
                throw Self.failure("READ BINARY \(file) at offset \(offset)", sw, on: channel)
            }
        }
    }

    /// Moves to the next smaller read size; throws when none is left.
    private func stepDown(_ file: FileID, after sw: StatusWord, on channel: CardChannel) throws(MRTDError) {
        if usesExtendedLength {
            usesExtendedLength = false
            return
        }
        guard rung + 1 < Self.shortLadder.count else {
            throw Self.failure("READ BINARY \(file) with the smallest Le \(Self.shortLadder[rung])", sw, on: channel)
        }
        rung += 1
    }

    /// The error for a status word the reader cannot act on: the chip's answer (`.unexpectedStatus`), or, when it came
    /// without secure messaging after SM started, `.secureMessaging(.unprotectedStatus)`.
    static func failure(_ operation: String, _ sw: StatusWord, on channel: CardChannel) -> MRTDError {
        if let secure = channel as? SecureCommandChannel, secure.lastAnswerWasPlain {
            return .secureMessaging(.unprotectedStatus(sw))
        }
        return .unexpectedStatus(operation: operation, statusWord: sw)
    }

    private static func isLengthRelated(_ error: CardError) -> Bool {
        switch error {
        case .protocolViolation, .unresponsiveCard: return true
        default: return false
        }
    }

    /// The offset for DO'54': big-endian, as few bytes as possible (at least one).
    static func offsetBytes(_ offset: Int) -> [UInt8] {
        var out: [UInt8] = []
        var value = offset
        repeat {
            out.insert(UInt8(value & 0xFF), at: 0)
            value >>= 8
        } while value > 0
        return out
    }

    /// Sends a plain command: through secure messaging when `channel` is a `SecureCommandChannel` (so SM
    /// failures stay typed), otherwise directly.
    static func exchange(_ channel: CardChannel, _ command: CommandAPDU) throws(MRTDError) -> ResponseAPDU {
        if let secure = channel as? SecureCommandChannel { return try secure.send(command) }
        do {
            return try channel.transmit(command)
        } catch {
            throw MRTDError(error)
        }
    }
}
