import OpenSSLKit
import SmartCard

/// The chip access protocol a read used.
public enum AccessProtocol: String, Sendable, Equatable {
    case bac = "BAC"
    case pace = "PACE"
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
    /// The protocol with its parameters, e.g. `PACE-ECDH-GM-AES-128 brainpoolP256r1`, or `BAC`.
    public var accessDescription: String = "BAC"
    /// EF.CardAccess as read before access control; `nil` when the chip has none (BAC-only chips).
    public var securityInfos: SecurityInfos?
    /// Chip authentication (DG14) and active authentication (DG15): nil when not attempted (`Options.antiClone`).
    public var chipAuthentication: AntiCloneCheck?
    public var activeAuthentication: AntiCloneCheck?
    /// PACE-CAM (ICAO 9303-11 §4.4.3.5): nil when PACE-CAM did not run. A CAM run whose chip data did not match
    /// fails the read instead (fail closed), so a present value says how far the chip's static key was trusted.
    public var paceCAM: AntiCloneCheck?
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
        /// Run PACE when EF.CardAccess offers a supported protocol (`read(access:)`).
        public var allowPACE: Bool
        /// Fall back to BAC (MRZ key only) when the chip offers no supported PACE (`read(access:)`).
        public var allowBAC: Bool
        /// After reading: chip authentication when DG14 offers it, active authentication when DG15 is present.
        public var antiClone = true

        public init(dataGroups: Set<Int> = [1, 2, 11, 12, 14, 15], allowExtendedLength: Bool = true,
                    shortFileIdentifiers: Bool = false, allowPACE: Bool = true, allowBAC: Bool = true) {
            self.allowPACE = allowPACE
            self.allowBAC = allowBAC
            self.dataGroups = dataGroups
            self.allowExtendedLength = allowExtendedLength
            self.shortFileIdentifiers = shortFileIdentifiers
        }
    }

    public let channel: CardChannel
    public let options: Options
    let random: BAC.RandomSource

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
        return try readFiles(secure: SecureMessagingChannel(base: counting, session: session), counting: counting,
                             accessProtocol: .bac, description: "BAC", securityInfos: nil)
    }

    /// Reads the document with PACE when EF.CardAccess offers a supported protocol (the strongest one), else with
    /// BAC when `options.allowBAC` and `access` is the MRZ (ICAO 9303-11 §4.2). Throws `.accessKeyRejected` for a
    /// wrong MRZ or CAN, `.invalidAccessKey` when a CAN is given for a chip without PACE, `.authenticationFailed`
    /// when the chip's PACE answers do not verify (no fallback then: fail closed).
    public func read(access: AccessKey, paceKeys: PACE.PrivateKeySource = PACE.randomPrivateKey)
        throws(MRTDError) -> DocumentReadResult {
        let counting = CountingCardChannel(base: channel)
        let access = try openSession(access: access, on: counting, paceKeys: paceKeys)
        var result = try readFiles(secure: access.channel, counting: counting, accessProtocol: access.accessProtocol,
                                   description: access.description, securityInfos: access.securityInfos)
        result.paceCAM = access.paceCAM
        return result
    }

    /// What `openSession` throws when the chip offers no supported PACE and `options.allowBAC` is false.
    public static let bacNotAllowed = MRTDError.authenticationFailed(
        "the chip offers no supported PACE protocol and the access policy does not allow BAC")

    /// An established access-control session with the eMRTD application selected.
    public struct AccessSession {
        public let channel: SecureMessagingChannel
        public let accessProtocol: AccessProtocol
        /// E.g. `PACE-ECDH-GM-AES-128 brainpoolP256r1` or `BAC`.
        public let description: String
        public let securityInfos: SecurityInfos?
        /// Set when PACE-CAM ran (see `DocumentReadResult.paceCAM`).
        public var paceCAM: AntiCloneCheck?
    }

    /// Reads EF.CardAccess, runs PACE (or BAC as the policy fallback) and selects the eMRTD application under
    /// secure messaging. `channel` defaults to the reader's channel. Errors as for `read(access:)`.
    public func openSession(access: AccessKey, on channel: CardChannel? = nil,
                            paceKeys: PACE.PrivateKeySource = PACE.randomPrivateKey)
        throws(MRTDError) -> AccessSession {
        let channel = channel ?? self.channel
        let infos = options.allowPACE ? try SecurityInfos.read(from: channel) : nil
        if let infos, let info = PACE.preferredInfo(in: infos) {
            var pace = try PACE.authenticate(channel: channel, info: info, accessKey: access, privateKeys: paceKeys)
            let secure = SecureMessagingChannel(base: channel, session: pace.session)
            if pace.algorithm.mapping == .chipAuthentication {
                try Self.verifyChipAuthenticationMapping(&pace, on: secure)
            }
            try ReadBinaryStrategy.selectApplication(on: secure)
            var session = AccessSession(channel: secure, accessProtocol: .pace, description: pace.description,
                                        securityInfos: infos)
            if pace.algorithm.mapping == .chipAuthentication {
                session.paceCAM = AntiCloneCheck(
                    .notChecked, "PACE-CAM chip data matched the static key in EF.CardSecurity, but EF.CardSecurity's "
                        + "signature is not checked against the trust store yet: not counted")
            }
            return session
        }
        guard case let .mrz(key) = access else {
            throw .invalidAccessKey("this chip does not offer PACE, so a CAN cannot open it: give the MRZ")
        }
        guard options.allowBAC else { throw Self.bacNotAllowed }
        try ReadBinaryStrategy.selectApplication(on: channel)
        let session = try BAC.authenticate(channel: channel, key: key, random: random)
        return AccessSession(channel: SecureMessagingChannel(base: channel, session: session), accessProtocol: .bac,
                             description: "BAC", securityInfos: infos)
    }

    /// PACE-CAM: reads EF.CardSecurity from the master file under secure messaging and checks the chip's static
    /// key against its chip authentication data. EF.CardSecurity's own signature is not checked here.
    private static func verifyChipAuthenticationMapping(_ pace: inout PACEResult, on secure: SecureMessagingChannel)
        throws(MRTDError) {
        let strategy = ReadBinaryStrategy(extendedLength: false, secureMessaging: true)
        let content = try strategy.readFile(.cardSecurity, on: secure)
        let signedData: CMSSignedData
        do {
            signedData = try CMSSignedData(der: content)
        } catch {
            throw .malformedFile(.cardSecurity, "not a CMS SignedData: \(error)")
        }
        guard let securityInfos = signedData.content else {
            throw .malformedFile(.cardSecurity, "the SignedData has no content")
        }
        let infos = try SecurityInfos(parsing: securityInfos, file: .cardSecurity)
        try PACE.verifyChipAuthenticationMapping(&pace, chipPublicKey: try PACE.chipAuthenticationPublicKey(in: infos))
    }

    /// Reads EF.COM, the wanted data groups it lists and EF.SOD over an established session.
    private func readFiles(secure: SecureMessagingChannel, counting: CountingCardChannel,
                           accessProtocol: AccessProtocol, description: String, securityInfos: SecurityInfos?)
        throws(MRTDError) -> DocumentReadResult {
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
        var result = DocumentReadResult(files: files, accessProtocol: accessProtocol, skippedFiles: skipped,
                                        statistics: counting.statistics, usedExtendedLength: strategy.usesExtendedLength,
                                        readChunkSize: strategy.chunkSize, accessDescription: description,
                                        securityInfos: securityInfos)
        if options.antiClone {
            try authenticateChip(&result, secure: secure, counting: counting, strategy: strategy)
            result.statistics = counting.statistics
        }
        return result
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
