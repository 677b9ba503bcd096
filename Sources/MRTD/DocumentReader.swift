import SmartCard

/// The chip access protocol a read used.
public enum AccessProtocol: String, Sendable, Equatable {
    case bac = "BAC"
}

/// APDUs and bytes on the wire (encoded commands and responses, including secure messaging overhead).
public struct TransferStatistics: Sendable, Equatable, CustomStringConvertible {
    public var apdus = 0
    public var bytesSent = 0
    public var bytesReceived = 0

    public init(apdus: Int = 0, bytesSent: Int = 0, bytesReceived: Int = 0) {
        self.apdus = apdus
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
    }

    public var description: String { "\(apdus) APDUs, \(bytesSent) bytes sent, \(bytesReceived) bytes received" }
}

/// A `CardChannel` wrapper that counts APDUs and bytes, for benchmarks and tests.
public final class CountingCardChannel: CardChannel {
    public let base: CardChannel
    public private(set) var statistics = TransferStatistics()

    public init(base: CardChannel) {
        self.base = base
    }

    public var supportsExtendedLength: Bool { base.supportsExtendedLength }
    public var atr: [UInt8] { base.atr }

    public func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        statistics.apdus += 1
        statistics.bytesSent += (try? command.encoded().count) ?? 0
        let response = try base.transmit(command)
        statistics.bytesReceived += response.data.count + 2
        return response
    }
}

/// Everything read from a chip: raw file contents (parsed later by the LDS parsers) and how it was read.
public struct DocumentReadResult: Sendable {
    /// Raw contents per file: EF.COM, the data groups read, EF.SOD.
    public var files: [FileID: [UInt8]]
    public var accessProtocol: AccessProtocol
    /// Files listed in EF.COM (or EF.SOD) that the chip refused or lacks, with the status word it gave.
    public var skippedFiles: [FileID: StatusWord]
    public var statistics: TransferStatistics
    /// Whether READ BINARY ended up using extended length, and the payload size it settled on.
    public var usedExtendedLength: Bool
    public var readChunkSize: Int
}

/// Reads an eMRTD: selects the application, runs BAC, reads EF.COM, the data groups it lists (of those
/// wanted) and EF.SOD (ICAO 9303-10 §3, 9303-11 §4.3).
public final class DocumentReader {
    public struct Options: Sendable {
        /// The data groups to read when EF.COM lists them. DG3/DG4 need EAC and are not read by default.
        public var dataGroups: Set<Int>
        /// Use extended-length READ BINARY when the channel supports it.
        public var allowExtendedLength: Bool
        /// Read by short EF identifier instead of SELECT + READ.
        public var shortFileIdentifiers: Bool

        public init(dataGroups: Set<Int> = [1, 2, 11, 12, 14, 15], allowExtendedLength: Bool = true,
                    shortFileIdentifiers: Bool = false) {
            self.dataGroups = dataGroups
            self.allowExtendedLength = allowExtendedLength
            self.shortFileIdentifiers = shortFileIdentifiers
        }
    }

    public let channel: CardChannel
    public let options: Options
    private let random: BAC.RandomSource

    public init(channel: CardChannel, options: Options = Options(),
                random: @escaping BAC.RandomSource = BAC.secureRandom) {
        self.channel = channel
        self.options = options
        self.random = random
    }

    /// Reads the document with BAC. Throws `.accessKeyRejected` for a wrong MRZ key, `.cardRemoved` when the card
    /// leaves the field (retry on the next tap), `.secureMessaging` when a response fails verification.
    public func read(accessKey: BACKey) throws(MRTDError) -> DocumentReadResult {
        let counting = CountingCardChannel(base: channel)
        try ReadBinaryStrategy.selectApplication(on: counting)
        let session = try BAC.authenticate(channel: counting, key: accessKey, random: random)
        let secure = SecureMessagingChannel(base: counting, session: session)
        let strategy = ReadBinaryStrategy(extendedLength: options.allowExtendedLength && channel.supportsExtendedLength,
                                          secureMessaging: true, shortFileIdentifiers: options.shortFileIdentifiers)
        var files: [FileID: [UInt8]] = [:]
        var skipped: [FileID: StatusWord] = [:]
        let com = try strategy.readFile(.com, on: secure)
        files[.com] = com
        for file in try Self.dataGroups(listedIn: com) where options.dataGroups.contains(file.dataGroupNumber ?? 0) {
            do {
                files[file] = try strategy.readFile(file, on: secure)
            } catch {
                guard let sw = Self.absentOrDenied(error) else { throw error }
                skipped[file] = sw
            }
        }
        do {
            files[.sod] = try strategy.readFile(.sod, on: secure)
        } catch {
            guard let sw = Self.absentOrDenied(error) else { throw error }
            skipped[.sod] = sw
        }
        return DocumentReadResult(files: files, accessProtocol: .bac, skippedFiles: skipped,
                                  statistics: counting.statistics, usedExtendedLength: strategy.usesExtendedLength,
                                  readChunkSize: strategy.chunkSize)
    }

    /// The data group files EF.COM lists in its tag list DO'5C' (ICAO 9303-10 §4.6.1), in order.
    public static func dataGroups(listedIn com: [UInt8]) throws(MRTDError) -> [FileID] {
        do {
            let object = try TLV.parse(com)
            guard object.tag == 0x60 else { throw MRTDError.malformedFile(.com, "tag is not '60'") }
            guard let list = try object.child(0x5C) else { throw MRTDError.malformedFile(.com, "no tag list DO'5C'") }
            var seen = Set<FileID>()
            return list.value.compactMap { FileID(dataGroupTag: $0) }.filter { seen.insert($0).inserted }
        } catch let error as MRTDError {
            throw error
        } catch {
            throw .malformedFile(.com, "\(error)")
        }
    }

    /// The status word when `error` says a file is absent (6A82) or access is denied (6982).
    private static func absentOrDenied(_ error: MRTDError) -> StatusWord? {
        guard case let .unexpectedStatus(_, sw) = error,
              sw == .fileNotFound || sw == .securityStatusNotSatisfied else { return nil }
        return sw
    }
}
