import Foundation
import OpenSSLKit
import SmartCard

/// The chip access protocol a read used.
public enum AccessProtocol: String, Sendable, Equatable {
    case bac = "BAC"
    case pace = "PACE"
}

/// APDUs and bytes on the wire (encoded commands and responses, including secure messaging overhead), and what the
/// read did about chips answering in plain.
public struct TransferStatistics: Sendable, Equatable, CustomStringConvertible {
    public var apdus = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    /// Protected commands the chip answered with a status word alone, without SM.
    public var plainStatusAnswers = 0
    /// Times access control ran again because the chip had closed its session.
    public var sessionsReestablished = 0

    public init(
        apdus: Int = 0, bytesSent: Int = 0, bytesReceived: Int = 0, plainStatusAnswers: Int = 0,
        sessionsReestablished: Int = 0
    ) {
        self.apdus = apdus
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.plainStatusAnswers = plainStatusAnswers
        self.sessionsReestablished = sessionsReestablished
    }

    public var description: String {
        var text = "\(apdus) APDUs, \(bytesSent) bytes sent, \(bytesReceived) bytes received"
        if plainStatusAnswers > 0 { text += ", \(plainStatusAnswers) plain status answers" }
        if sessionsReestablished > 0 { text += ", \(sessionsReestablished) sessions re-established" }
        return text
    }
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
    /// How chip authentication ran (algorithm, version, key reference, command); nil when no key agreement was
    /// accepted by the chip.
    public var chipAuthenticationRun: ChipAuthenticationRun?
    /// Which PACE ran; nil for BAC.
    public var pace: PACEFacts?
    /// PACE-CAM: the key the chip proved and EF.CardSecurity's verification; nil unless the mapping was CAM.
    public var chipAuthenticationMapping: ChipAuthenticationMappingFacts?
    /// Plain status words taken under secure messaging and sessions opened again (counts also in `statistics`).
    public var plainStatusRecovery = PlainStatusRecovery()
    /// EF.ATR/INFO as read before the first READ BINARY (PACE chips); nil when absent or not read.
    public var cardCapabilities: CardCapabilities?

    /// Verifies the EF.CardSecurity of a PACE-CAM read against `trustStore` exactly as EF.SOD is (ICAO 9303-11 §5.1),
    /// bound to the issuing state of the DG1 read (or `issuingState`), and records the outcome in
    /// `chipAuthenticationMapping`. Does nothing for reads without PACE-CAM.
    public mutating func verifyCardSecurity(
        trustStore: TrustStore, at date: Date = Date(),
        policy: PassiveAuthenticationPolicy = .default,
        issuingState: String? = nil
    ) {
        guard var cam = chipAuthenticationMapping else { return }
        let state = issuingState ?? files[.dg1].flatMap { try? DG1.parse($0) }?.mrz.issuingState
        cam.cardSecurityVerification = CardSecurity.verify(
            cam.cardSecurity, trustStore: trustStore, at: date,
            policy: policy, issuingState: state)
        chipAuthenticationMapping = cam
        paceCAM = cam.check
    }
    /// PACE-CAM as an anti-clone check (ICAO 9303-11 §4.4.3.5): nil when PACE-CAM did not run. A CAM run whose chip
    /// data did not match fails the read instead (fail closed), so a present value says how far the chip's static key
    /// was trusted: `passed` once EF.CardSecurity verified against the trust store, `failed` when it did not,
    /// `not-checked` before it was verified. Whether EF.CardSecurity is anchored at EF.SOD's issuing state needs
    /// passive authentication's result: `paceCAM(anchoredLike:)`.
    public var paceCAM: AntiCloneCheck?

    /// `paceCAM`, failed when EF.CardSecurity verified under another issuing state's CSCA than EF.SOD.
    public func paceCAM(anchoredLike passive: PassiveAuthenticationResult?) -> AntiCloneCheck? {
        guard let cam = chipAuthenticationMapping else { return paceCAM }
        return cam.check(anchoredLike: passive)
    }
}

/// Reads an eMRTD: selects the application, runs BAC, reads EF.COM, the data groups it lists (of those
/// wanted) and EF.SOD (ICAO 9303-10 §3, 9303-11 §4.3).
public final class DocumentReader {
    public struct Options: Sendable {
        /// The data groups to read when EF.COM lists them. DG3/DG4 need EAC and are not read by default; DG5, DG6,
        /// DG8–DG10 (reserved or rarely used) neither.
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
        /// When set, EF.CardSecurity of a PACE-CAM chip is verified against it during the read (as EF.SOD is in
        /// passive authentication); otherwise `DocumentReadResult.verifyCardSecurity` does it later.
        public var trustStore: TrustStore?
        /// "Now" for that verification; nil: the time of the read.
        public var validationDate: Date?
        /// How many plain status words and new sessions a read tolerates from a chip.
        public var plainStatusLimits = PlainStatusLimits.default
        /// When BAC is refused and how weak a PACE domain may be; `allowBAC` false refuses BAC as well.
        public var accessPolicy = AccessPolicy.permissive

        public init(
            dataGroups: Set<Int> = [1, 2, 7, 11, 12, 13, 14, 15, 16], allowExtendedLength: Bool = true,
            shortFileIdentifiers: Bool = false, allowPACE: Bool = true, allowBAC: Bool = true
        ) {
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

    public init(
        channel: CardChannel, options: Options = Options(),
        random: @escaping BAC.RandomSource = BAC.secureRandom
    ) {
        self.channel = channel
        self.options = options
        self.random = random
    }

    /// Reads the document with BAC. Throws `.accessKeyRejected` for a wrong MRZ key, `.cardRemoved` when the card
    /// leaves the field (retry on the next tap), `.secureMessaging` when a response fails verification.
    public func read(accessKey: BACKey) throws(MRTDError) -> DocumentReadResult {
        let counting = CountingCardChannel(base: channel)
        return try readFiles(
            secure: try bacSession(key: accessKey, on: counting), counting: counting,
            accessProtocol: .bac, description: "BAC", securityInfos: nil, capabilities: nil)
    }

    /// Reads the document with PACE when EF.CardAccess offers a supported protocol (the strongest one), else with
    /// BAC when `options.allowBAC` and `access` is the MRZ (ICAO 9303-11 §4.2). Throws `.accessKeyRejected` for a
    /// wrong MRZ or CAN, `.invalidAccessKey` when a CAN is given for a chip without PACE, `.authenticationFailed`
    /// when the chip's PACE answers do not verify (no fallback then: fail closed).
    public func read(
        access: AccessKey, paceKeys: @escaping PACE.PrivateKeySource = PACE.randomPrivateKey
    )
        throws(MRTDError) -> DocumentReadResult
    {
        let counting = CountingCardChannel(base: channel)
        let access = try openSession(access: access, on: counting, paceKeys: paceKeys)
        var result = try readFiles(
            secure: access.recovering, counting: counting,
            accessProtocol: access.accessProtocol, description: access.description,
            securityInfos: access.securityInfos, capabilities: access.cardCapabilities)
        result.cardCapabilities = access.cardCapabilities
        result.pace = access.pace
        result.chipAuthenticationMapping = access.chipAuthenticationMapping
        result.paceCAM = access.chipAuthenticationMapping?.check
        return result
    }

    /// What `openSession` throws when the chip offers no supported PACE and `options.allowBAC` is false.
    public static let bacNotAllowed = MRTDError.authenticationFailed(
        "the chip offers no supported PACE protocol and the access policy does not allow BAC")

    /// An established access-control session with the eMRTD application selected.
    public struct AccessSession {
        /// The channel to read on: it takes plain status words as the chip's answer and opens a new session (same
        /// protocol, same key) when the chip closed its own.
        public let recovering: RecoveringSecureMessagingChannel
        /// The secure messaging channel now in use (a new one after the chip closed its session).
        public var channel: SecureMessagingChannel { recovering.current }
        public let accessProtocol: AccessProtocol
        /// E.g. `PACE-ECDH-GM-AES-128 brainpoolP256r1` or `BAC`.
        public let description: String
        public let securityInfos: SecurityInfos?
        /// Which PACE ran; nil for BAC.
        public var pace: PACEFacts?
        /// PACE-CAM's proved key and EF.CardSecurity; nil unless the mapping was CAM.
        public var chipAuthenticationMapping: ChipAuthenticationMappingFacts?
        /// EF.ATR/INFO, read in plain beside EF.CardAccess when extended length is in play; nil when absent.
        public var cardCapabilities: CardCapabilities?
        /// PACE-CAM as an anti-clone check (see `DocumentReadResult.paceCAM`).
        public var paceCAM: AntiCloneCheck? { chipAuthenticationMapping?.check }
    }

    /// Reads EF.CardAccess, runs PACE (or BAC as the policy fallback) and selects the eMRTD application under
    /// secure messaging. `channel` defaults to the reader's channel. Errors as for `read(access:)`.
    public func openSession(
        access: AccessKey, on channel: CardChannel? = nil,
        paceKeys: @escaping PACE.PrivateKeySource = PACE.randomPrivateKey
    )
        throws(MRTDError) -> AccessSession
    {
        let channel = channel ?? self.channel
        let infos = options.allowPACE ? try SecurityInfos.read(from: channel) : nil
        if let infos, let info = PACE.preferredInfo(in: infos, policy: options.accessPolicy) {
            // LDS 1.8: EF.ATR/INFO says whether extended length works and how large an answer may be, before the
            // first READ BINARY (ICAO 9303-10 §3.11.1).
            let capabilities =
                options.allowExtendedLength && channel.supportsExtendedLength
                ? try CardCapabilities.read(from: channel) : nil
            var pace = try PACE.authenticate(channel: channel, info: info, accessKey: access, privateKeys: paceKeys)
            let recovering = RecoveringSecureMessagingChannel(
                current: SecureMessagingChannel(base: channel, session: pace.session), applicationSelected: false,
                limits: options.plainStatusLimits
            ) { (selectApplication: Bool) throws(MRTDError) -> SecureMessagingChannel in
                // The same PACE again; PACE-CAM's proof stands from the first run.
                let again = try PACE.authenticate(
                    channel: channel, info: info, accessKey: access,
                    privateKeys: paceKeys)
                let secure = SecureMessagingChannel(base: channel, session: again.session)
                if selectApplication { try ReadBinaryStrategy.selectApplication(on: secure) }
                return secure
            }
            var cam: ChipAuthenticationMappingFacts?
            if pace.algorithm.mapping == .chipAuthentication {
                cam = try verifyChipAuthenticationMapping(&pace, on: recovering)
            }
            try ReadBinaryStrategy.selectApplication(on: recovering)
            var session = AccessSession(
                recovering: recovering, accessProtocol: .pace, description: pace.description,
                securityInfos: infos)
            session.pace = PACEFacts(
                algorithm: pace.algorithm, parameterID: pace.info.parameterID ?? -1,
                password: access.kind, offered: infos.paceInfos)
            session.chipAuthenticationMapping = cam
            session.cardCapabilities = capabilities
            return session
        }
        let offered = infos?.paceInfos ?? []
        let supported = offered.filter(PACE.supports)
        if !supported.isEmpty, options.accessPolicy.requirePACE != .never || access.kind == "CAN" {
            let domains = supported.map { $0.description }.joined(separator: ", ")
            let minimum = options.accessPolicy.minimumPACESecurityBits
            throw .accessPolicy(
                "the chip offers PACE only on domains weaker than the \(minimum)-bit minimum "
                    + "([readers] minimum_pace_security_bits): " + domains)
        }
        guard case let .mrz(key) = access else {
            throw .invalidAccessKey("this chip does not offer PACE, so a CAN cannot open it: give the MRZ")
        }
        switch options.accessPolicy.requirePACE {
        case .always:
            throw .accessPolicy(
                "the chip offers no PACE this reader can run and [readers] require_pace = always "
                    + "refuses BAC")
        case .whenOffered where !offered.isEmpty:
            throw .accessPolicy(
                "the chip offers PACE in EF.CardAccess that this reader cannot run, and "
                    + "[readers] require_pace = when-offered refuses BAC")
        default:
            break
        }
        guard options.allowBAC else { throw Self.bacNotAllowed }
        return AccessSession(
            recovering: try bacSession(key: key, on: channel), accessProtocol: .bac,
            description: "BAC", securityInfos: infos)
    }

    /// SELECT of the eMRTD application and BAC (ICAO 9303-11 §4.3), in a channel that runs both again when the chip
    /// closes its session after a plain status word.
    private func bacSession(
        key: BACKey, on channel: CardChannel
    ) throws(MRTDError)
        -> RecoveringSecureMessagingChannel
    {
        let random = self.random
        func open() throws(MRTDError) -> SecureMessagingChannel {
            try ReadBinaryStrategy.selectApplication(on: channel)
            return SecureMessagingChannel(
                base: channel,
                session: try BAC.authenticate(channel: channel, key: key, random: random))
        }
        return RecoveringSecureMessagingChannel(
            current: try open(), applicationSelected: true,
            limits: options.plainStatusLimits
        ) { _ throws(MRTDError) in
            try open()
        }
    }

    /// PACE-CAM (ICAO 9303-11 §4.4.3.5.2): reads EF.CardSecurity from the master file under secure messaging, picks
    /// the CAM key (keyId = parameterId, id-PK-ECDH on the PACE domain) and checks the chip's CAM data against it.
    /// EF.CardSecurity's signature is checked when `options.trustStore` is set, else later by the caller. Throws
    /// `.authenticationFailed` for a chip whose data does not match (a clone) and `.malformedFile` for an
    /// EF.CardSecurity without a fitting key.
    private func verifyChipAuthenticationMapping(
        _ pace: inout PACEResult, on secure: CardChannel
    )
        throws(MRTDError) -> ChipAuthenticationMappingFacts
    {
        let strategy = ReadBinaryStrategy(extendedLength: false, secureMessaging: true)
        let content = try strategy.readFile(.cardSecurity, on: secure)
        let infos = try CardSecurity.securityInfos(content)
        let (key, keyID) = try PACE.chipAuthenticationMappingKey(in: infos, for: pace.info, domain: pace.domain)
        try PACE.verifyChipAuthenticationMapping(&pace, chipPublicKey: key.publicKey)
        var facts = ChipAuthenticationMappingFacts(keyID: keyID, cardSecurity: content)
        if let trustStore = options.trustStore {
            facts.cardSecurityVerification = CardSecurity.verify(
                content, trustStore: trustStore,
                at: options.validationDate ?? Date())
        }
        return facts
    }

    /// Reads EF.COM, the wanted data groups it lists and EF.SOD over an established session.
    private func readFiles(
        secure: RecoveringSecureMessagingChannel, counting: CountingCardChannel,
        accessProtocol: AccessProtocol, description: String, securityInfos: SecurityInfos?,
        capabilities: CardCapabilities?
    )
        throws(MRTDError) -> DocumentReadResult
    {
        let extended =
            options.allowExtendedLength && channel.supportsExtendedLength
            && capabilities?.extendedLength != false
        let strategy = ReadBinaryStrategy(
            extendedLength: extended, secureMessaging: true,
            shortFileIdentifiers: options.shortFileIdentifiers,
            maxResponseLength: capabilities?.maxResponseLength)
        var files: [FileID: [UInt8]] = [:]
        var skipped: [FileID: StatusWord] = [:]
        var unprotectedRefusals: Set<FileID> = []
        let com = try strategy.readFile(.com, on: secure)
        files[.com] = com
        let isWanted = { (file: FileID) in self.options.dataGroups.contains(file.dataGroupNumber ?? 0) }
        var wanted = try Self.dataGroups(listedIn: com).filter(isWanted)
        wanted.append(.sod)
        var index = 0
        while index < wanted.count {
            let file = wanted[index]
            index += 1
            do {
                files[file] = try strategy.readFile(file, on: secure)
            } catch {
                guard let sw = Self.absentOrDenied(error) else { throw error }
                skipped[file] = sw
                if secure.lastAnswerWasPlain { unprotectedRefusals.insert(file) }
            }
            // EF.COM is not signed: the data groups EF.SOD holds hashes of are read too, so a chip (or a relay) that
            // leaves one out of EF.COM cannot hide it from the checks.
            if file == .sod, let sod = files[.sod] {
                wanted += Self.dataGroups(listedInSOD: sod).filter { isWanted($0) && !wanted.contains($0) }
            }
        }
        var result = DocumentReadResult(
            files: files, accessProtocol: accessProtocol, skippedFiles: skipped,
            statistics: counting.statistics, usedExtendedLength: strategy.usesExtendedLength,
            readChunkSize: strategy.chunkSize, accessDescription: description,
            securityInfos: securityInfos)
        if accessProtocol == .bac, options.accessPolicy.requirePACE != .never,
            let dg14 = files[.dg14].flatMap({ try? DG14(parsing: $0) }), !dg14.securityInfos.paceInfos.isEmpty
        {
            let listed = dg14.securityInfos.paceInfos.map(\.description).joined(separator: ", ")
            throw .accessPolicy(
                "the chip's DG14 lists PACE (\(listed)) but it was read with BAC: its EF.CardAccess "
                    + "was missing or hidden, and [readers] require_pace refuses BAC for chips that offer PACE")
        }
        if options.antiClone {
            try authenticateChip(&result, secure: secure.current, counting: counting, strategy: strategy)
            result.statistics = counting.statistics
        }
        result.plainStatusRecovery = secure.recovery
        result.plainStatusRecovery.unprotectedRefusals = unprotectedRefusals
        result.statistics.plainStatusAnswers = secure.recovery.plainAnswers
        result.statistics.sessionsReestablished = secure.recovery.sessionsReestablished
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

    /// The data group files EF.SOD's LDS security object holds hashes of (ICAO 9303-10 §4.6.2), in order; empty when
    /// EF.SOD does not parse (passive authentication then says why).
    public static func dataGroups(listedInSOD bytes: [UInt8]) -> [FileID] {
        guard let sod = try? SOD.parse(bytes), let cms = try? CMSSignedData(der: sod.cms), let content = cms.content,
            let securityObject = try? LDSSecurityObject.parse(der: content)
        else { return [] }
        return securityObject.dataGroupHashes.map(\.dataGroup.fileID)
    }

    /// The status word when `error` says a file is absent (6A82) or access is denied (6982), protected or (the chip's
    /// word, unverified) in plain.
    private static func absentOrDenied(_ error: MRTDError) -> StatusWord? {
        let sw: StatusWord
        switch error {
        case let .unexpectedStatus(_, status): sw = status
        case let .secureMessaging(.unprotectedStatus(status)): sw = status
        default: return nil
        }
        guard sw == .fileNotFound || sw == .securityStatusNotSatisfied else { return nil }
        return sw
    }
}
