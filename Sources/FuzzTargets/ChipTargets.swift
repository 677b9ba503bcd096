import Foundation
import MRTD
import SmartCard
import VirtualCard

/// The reader's options, from the second byte of a chip input (bit set: the less usual choice).
public struct HostileReadFlags: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The reader (channel) takes no extended-length APDUs.
    public static let shortPath = HostileReadFlags(rawValue: 0x01)
    /// `Options.allowExtendedLength` off.
    public static let noExtendedLength = HostileReadFlags(rawValue: 0x02)
    /// READ BINARY by short EF identifier.
    public static let shortFileIdentifiers = HostileReadFlags(rawValue: 0x04)
    /// PACE with the CAN (cards that have one).
    public static let can = HostileReadFlags(rawValue: 0x08)
    /// No chip or active authentication.
    public static let noAntiClone = HostileReadFlags(rawValue: 0x10)
    /// `Options.allowBAC` off.
    public static let noBAC = HostileReadFlags(rawValue: 0x20)
    /// `read(accessKey:)`: BAC only, without EF.CardAccess.
    public static let bacEntryPoint = HostileReadFlags(rawValue: 0x40)
    /// EF.CardSecurity verified during the read (`Options.trustStore`), not after.
    public static let trustDuringRead = HostileReadFlags(rawValue: 0x80)
}

/// The stateful chip targets: the whole `DocumentReader` (BAC, PACE GM/IM/CAM, secure messaging, READ BINARY with
/// its step-down and plain-status recovery, CA, AA) against a `HostileApplet`, then passive authentication, the
/// genuineness policy and the LDS parsers over what it returned, as the daemon runs them.
///
/// Besides "no crash, no trap, no hang", each run checks what must hold whatever the chip says:
/// - without a change the chip makes before its secure messaging (only the line lies), every file read is the card's
///   own, byte for byte: nothing unauthenticated reaches the result;
/// - a document found genuine carries exactly the data groups EF.SOD signed;
/// - plain answers and new sessions stay within `PlainStatusLimits`; the reader sends a bounded number of commands;
/// - an exchange where nothing was changed reads and verifies (the harness itself is sound).
public enum ChipTargets {
    /// How one run ended: whether the reader returned a result, whether it was judged genuine, and whether the
    /// chip (or the line) changed anything.
    public struct Outcome: Sendable, Equatable {
        public var read: Bool
        public var genuine: Bool
        public var changed: Bool
        public var commands: Int
    }

    /// The `chip` target.
    @discardableResult
    public static func chip(_ bytes: [UInt8]) -> Outcome? {
        guard bytes.count >= 2, !HostileChipCard.all.isEmpty else { return nil }
        let card = HostileChipCard.all[Int(bytes[0]) % HostileChipCard.all.count]
        let script = OrdinalChipScript(records: bytes[2...])
        var profile = card.profile
        for (file, content) in script.fileReplacements {
            if [.cardAccess, .cardSecurity, .atrInfo].contains(file) {
                profile.masterFileReplacements[file] = content
            } else {
                profile.files[file] = content
            }
        }
        return run(
            card, profile: profile, flags: HostileReadFlags(rawValue: bytes[1]), script: script,
            filesReplaced: !script.fileReplacements.isEmpty)
    }

    /// The `chip-script` target.
    @discardableResult
    public static func chipScript(_ bytes: [UInt8]) -> Outcome? {
        guard bytes.count >= 2, !HostileChipCard.all.isEmpty else { return nil }
        let card = HostileChipCard.all[Int(bytes[0]) % HostileChipCard.all.count]
        return run(
            card, profile: card.profile, flags: HostileReadFlags(rawValue: bytes[1]),
            script: SequentialChipScript(records: bytes[2...]), filesReplaced: false)
    }

    /// The reader's own RND.IFD, K.IFD and AA challenges: fixed too, but not the chip's bytes.
    static func readerRandom(_ count: Int) throws(MRTDError) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: 0xA5 &+ $0 &* 13) }
    }

    /// The options a flags byte gives.
    static func options(_ flags: HostileReadFlags, card: HostileChipCard) -> DocumentReader.Options {
        var options = DocumentReader.Options(
            allowExtendedLength: !flags.contains(.noExtendedLength),
            shortFileIdentifiers: flags.contains(.shortFileIdentifiers),
            allowBAC: !flags.contains(.noBAC))
        options.antiClone = !flags.contains(.noAntiClone)
        if flags.contains(.trustDuringRead) { options.trustStore = card.trustStore }
        return options
    }

    static func run(
        _ card: HostileChipCard, profile: EMRTDProfile, flags: HostileReadFlags,
        script: ChipAnswerScript, filesReplaced: Bool
    ) -> Outcome {
        let applet = HostileApplet(profile: profile, script: script)
        let channel = HostileChannel(applet: applet, supportsExtendedLength: !flags.contains(.shortPath))
        let options = options(flags, card: card)
        let reader = DocumentReader(channel: channel, options: options, random: readerRandom)
        let access: AccessKey = flags.contains(.can) ? card.can.map(AccessKey.can) ?? .mrz(card.mrz) : .mrz(card.mrz)
        let result: DocumentReadResult
        do {
            result =
                flags.contains(.bacEntryPoint)
                ? try reader.read(accessKey: card.mrz)
                : try reader.read(access: access)
        } catch {
            precondition(!error.description.isEmpty, "an MRTDError without a description")
            precondition(
                applet.anyChangeFired || filesReplaced || !honestReadSucceeds(card, flags),
                "an unchanged exchange with \(card.name) failed: \(error)")
            return Outcome(
                read: false, genuine: false, changed: applet.anyChangeFired || filesReplaced,
                commands: applet.commands)
        }
        let decision = inspect(result, card: card, options: options)
        if !applet.plainChangeFired && !filesReplaced {
            for (file, content) in result.files {
                precondition(
                    content == profile.files[file],
                    "\(file) read from \(card.name) differs from the card's, though only the line changed answers")
            }
            if let cam = result.chipAuthenticationMapping {
                precondition(
                    cam.cardSecurity == profile.masterFiles[.cardSecurity],
                    "EF.CardSecurity differs from the card's, though only the line changed answers")
            }
        }
        if decision.genuine {
            for (file, content) in result.files where DataGroup(fileID: file) != nil {
                precondition(
                    content == card.profile.files[file],
                    "\(card.name): a document judged genuine carries a \(file) that EF.SOD did not sign")
            }
        }
        let limits = options.plainStatusLimits
        precondition(
            result.plainStatusRecovery.plainAnswers <= limits.maxPlainAnswers,
            "more plain status words taken than the limit")
        precondition(
            result.plainStatusRecovery.sessionsReestablished <= limits.maxReestablishments,
            "more sessions re-established than the limit")
        precondition(result.files[.com] != nil, "a read without EF.COM")
        if !applet.anyChangeFired && !filesReplaced && honestReadSucceeds(card, flags) {
            precondition(decision.genuine, "an unchanged read of \(card.name) is not genuine: \(decision.reasons)")
        }
        return Outcome(
            read: true, genuine: decision.genuine, changed: applet.anyChangeFired || filesReplaced,
            commands: applet.commands)
    }

    /// Passive authentication, EF.CardSecurity, the genuineness policy and the LDS parsers, as the daemon runs them.
    static func inspect(
        _ read: DocumentReadResult, card: HostileChipCard, options: DocumentReader.Options
    )
        -> GenuinenessDecision
    {
        var result = read
        if options.trustStore == nil { result.verifyCardSecurity(trustStore: card.trustStore) }
        var groups: [DataGroup: [UInt8]] = [:]
        for (file, bytes) in result.files {
            if let group = DataGroup(fileID: file) { groups[group] = bytes }
        }
        let passive = result.files[.sod].map {
            PassiveAuthentication.verify(sodFile: $0, dataGroups: groups, trustStore: card.trustStore)
        }
        let facts = GenuinenessFacts(
            read: result, passive: passive,
            passiveFailure: passive == nil ? "the chip has no EF.SOD" : nil)
        let decision = GenuinenessPolicy(runAntiClone: options.antiClone).decide(facts)
        precondition(!decision.genuine || passive?.passed == true, "genuine without passive authentication")
        if let data = try? DocumentData(files: result.files) {
            _ = data.mrz.concatenated
            _ = data.portrait?.imageData.count
        }
        _ = result.statistics.description
        _ = result.paceCAM(anchoredLike: passive)
        return decision
    }

    /// Whether an honest chip reads with these flags (a BAC-only card refuses a reader that may not use BAC; BAC on a
    /// PACE-only card fails).
    static func honestReadSucceeds(_ card: HostileChipCard, _ flags: HostileReadFlags) -> Bool {
        let bac = card.profile.bacEnabled
        if flags.contains(.bacEntryPoint) { return bac }
        if card.profile.pace == nil { return bac && !flags.contains(.noBAC) }
        return true
    }
}

/// Seeds for the chip targets (`enroll-fuzz seed`).
public enum ChipSeeds {
    /// The cards, by index into the input's first byte.
    public static var cardNames: [String] { HostileChipCard.all.map(\.name) }

    /// A `chip-script` input that replays the honest exchange of card `index` read with `flags`: every answer the
    /// applet gave, in order, as the chip's own (so that mutations change one answer at a time). Answers to GENERAL
    /// AUTHENTICATE stay the chip's own: they depend on the reader's ephemeral PACE and CA keys, new every run.
    public static func honestExchange(card index: Int, flags: UInt8 = 0) -> [UInt8] {
        guard HostileChipCard.all.indices.contains(index) else { return [] }
        let card = HostileChipCard.all[index]
        let readFlags = HostileReadFlags(rawValue: flags)
        let applet = HostileApplet(profile: card.profile, script: SequentialChipScript(records: []))
        var answers: [Int: ResponseAPDU] = [:]
        applet.observer = { [unowned applet] command, _, answer in
            if command.ins != 0x86 { answers[applet.commands - 1] = answer }
        }
        let channel = HostileChannel(applet: applet, supportsExtendedLength: !readFlags.contains(.shortPath))
        let reader = DocumentReader(
            channel: channel, options: ChipTargets.options(readFlags, card: card),
            random: ChipTargets.readerRandom)
        let access: AccessKey =
            readFlags.contains(.can)
            ? card.can.map(AccessKey.can) ?? .mrz(card.mrz)
            : .mrz(card.mrz)
        _ = try? reader.read(access: access)
        var bytes: [UInt8] = [UInt8(index), flags]
        for ordinal in 0..<applet.commands {
            if let answer = answers[ordinal] {
                bytes += SequentialChipScript.record(answer.data, answer.statusWord)
            } else {
                bytes += [0x00, 0x00, 0x00, 0x00]
            }
        }
        return bytes
    }
}
