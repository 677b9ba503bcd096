import FaceMatch
import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import VirtualCard

/// The cards the chip fuzzers put in front of the document reader: real `EMRTDApplet`s of fixed profiles, one per
/// access protocol and transport behaviour, their EF.SOD signed by a test PKI whose CSCA the reader trusts. Made once
/// per process (key generation is slow); the MRZ is the ICAO 9303-5 TD1 specimen, the CAN 123456.
public struct HostileChipCard: Sendable {
    public var name: String
    public var profile: EMRTDProfile
    public var mrz: BACKey
    public var can: CardAccessNumber?
    public var trustStore: TrustStore

    /// BAC with 3DES secure messaging, AA (ECDSA P-256, DER signatures), CA version 1 3DES (MSE:Set KAT) on P-256.
    /// PACE-GM brainpoolP256r1 AES-128 with EF.ATR/INFO, CA v1 AES, AA RSA-1024 (ISO 9796-2). PACE-IM on NIST P-256
    /// 3DES, short reads capped at 200 bytes, failed commands answered in plain (session kept). PACE-CAM
    /// brainpoolP256r1 AES-128 with decoy keys in EF.CardSecurity, plain answers closing the session. PACE-GM DH
    /// (RFC 5114 1024-bit) 3DES without extended length, CA with a DH key by standardized parameter ID.
    public static let all: [HostileChipCard] = {
        do {
            return try make()
        } catch {
            FileHandle.standardError.write(Data("hostile chip: cannot personalise the cards: \(error)\n".utf8))
            return []
        }
    }()

    static let specimen = [
        "I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ]

    private static func make() throws -> [HostileChipCard] {
        let pki = try TestPKI()
        let trust = TrustStore(certificates: [pki.csca.certificate], crls: [pki.crl])
        let mrz = try MRZ(lines: specimen)
        let key = try BACKey(documentNumber: mrz.documentNumber, birthDate: mrz.birthDate, expiryDate: mrz.expiryDate)
        let can = try CardAccessNumber("123456")
        let portrait = try RGBImage(width: 16, height: 20, red: 180, green: 140, blue: 120).encoded(
            as: .jpeg,
            quality: 50)
        func card(_ name: String, _ configure: (inout EMRTDPersonalisation) throws -> Void) throws -> HostileChipCard {
            var personalisation = EMRTDPersonalisation(
                mrz: mrz, portraits: [portrait],
                dg11: DG11(fullName: "ERIKSSON ANNA MARIA", personalNumber: "UTO-1974-0001"))
            personalisation.documentSigner = pki.documentSigner
            try configure(&personalisation)
            return HostileChipCard(
                name: name, profile: try personalisation.makeProfile(), mrz: key,
                can: personalisation.pace?.can == nil ? nil : can, trustStore: trust)
        }
        return [
            try card("bac") { card in
                card.activeAuthentication = try ActiveAuthenticationConfiguration(
                    privateKey: try PrivateKey.generate(.p256), derSignatures: true)
                card.chipAuthentication = try ChipAuthenticationConfiguration(
                    privateKey: try PrivateKey.generate(.p256), cipher: .tripleDES, commands: .both)
            },
            try card("pace-gm") { card in
                card.pace = PACEConfiguration(parameterID: 13, cipher: .aes128, can: can.digits)
                card.atrInfo =
                    CardCapabilities(extendedLength: true, maxCommandLength: 1000, maxResponseLength: 1000)
                    .encoded
                card.activeAuthentication = try ActiveAuthenticationConfiguration(
                    privateKey: try PrivateKey.generate(.rsa(bits: 1024)))
                card.chipAuthentication = try ChipAuthenticationConfiguration(
                    privateKey: try PrivateKey.generate(.brainpoolP256r1), cipher: .aes128, keyID: 195)
            },
            try card("pace-im") { card in
                card.pace = PACEConfiguration(parameterID: 12, cipher: .tripleDES, mapping: .integrated)
                card.extendedLength = false
                card.maxShortResponse = 200
                card.plainErrorStatus = .sessionKept
            },
            try card("pace-cam") { card in
                card.pace = PACEConfiguration(
                    parameterID: 13, cipher: .aes128, can: can.digits,
                    chipAuthenticationMapping: true,
                    cardSecurity: CardSecurityLayout(decoyKeysFirst: true))
                card.plainErrorStatus = .sessionClosed
                card.bacEnabled = false
            },
            try card("pace-dh") { card in
                card.pace = PACEConfiguration(parameterID: 0, cipher: .tripleDES)
                card.extendedLength = false
                card.chipAuthentication = try ChipAuthenticationConfiguration(
                    privateKey: try PrivateKey.generateDH(group: "dh_1024_160"), cipher: .tripleDES,
                    publicKeyFormat: .standardizedParameters)
            },
        ]
    }
}

/// What a hostile chip does to the answer of one command.
public enum ChipAnswerChange: Sendable, Equatable {
    /// The chip's own answer.
    case honest
    // Before secure messaging: the chip itself answers this, and protects it with its session keys.
    case plainData([UInt8])
    case plainStatus(StatusWord)
    case plainXOR(offset: Int, bytes: [UInt8])
    case plainTruncate(Int)
    case plainAppend([UInt8])
    /// A whole answer of the chip's choosing.
    case plainAnswer([UInt8], StatusWord)
    // After secure messaging: what reaches the reader (another party on the line, or a chip without keys).
    case rawBytes([UInt8])
    case rawXOR(offset: Int, bytes: [UInt8])
    /// The status word alone, in plain.
    case rawStatus(StatusWord)
    case rawTruncate(Int)
    /// The card leaves the field instead of answering.
    case removed
    /// The reader reports a transport error before the command reaches the card.
    case transportError

    /// Whether the change is made by the chip before its secure messaging protects the answer.
    var isPlain: Bool {
        switch self {
        case .plainData, .plainStatus, .plainXOR, .plainTruncate, .plainAppend, .plainAnswer: return true
        default: return false
        }
    }

    /// Decodes a change from a kind byte and its payload.
    init(kind: UInt8, payload: [UInt8]) {
        let offset = Int(payload.first ?? 0)
        let rest = Array(payload.dropFirst())
        let sw = payload.count >= 2 ? StatusWord(sw1: payload[0], sw2: payload[1]) : StatusWord(0x6A82)
        switch kind % 12 {
        case 0: self = .honest
        case 1: self = .plainData(payload)
        case 2: self = .plainStatus(sw)
        case 3: self = .plainXOR(offset: offset, bytes: rest)
        case 4: self = .plainTruncate(offset)
        case 5: self = .plainAppend(payload)
        case 6: self = .rawBytes(payload)
        case 7: self = .rawXOR(offset: offset, bytes: rest)
        case 8: self = .rawStatus(sw)
        case 9: self = .rawTruncate(offset)
        case 10: self = .removed
        default: self = .transportError
        }
    }

    func applyPlain(_ response: ResponseAPDU) -> ResponseAPDU {
        switch self {
        case let .plainData(data): return ResponseAPDU(data: data, statusWord: response.statusWord)
        case let .plainStatus(sw): return ResponseAPDU(data: response.data, statusWord: sw)
        case let .plainXOR(offset, bytes):
            return ResponseAPDU(
                data: Self.xor(response.data, offset, bytes),
                statusWord: response.statusWord)
        case let .plainTruncate(count):
            return ResponseAPDU(
                data: Array(response.data.prefix(count)),
                statusWord: response.statusWord)
        case let .plainAppend(bytes): return ResponseAPDU(data: response.data + bytes, statusWord: response.statusWord)
        case let .plainAnswer(data, sw): return ResponseAPDU(data: data, statusWord: sw)
        default: return response
        }
    }

    func applyRaw(_ answer: CardAnswer) -> CardAnswer {
        guard let bytes = answer.encoded else { return answer }
        switch self {
        case let .rawBytes(replacement): return .bytes(replacement)
        case let .rawXOR(offset, mask): return .bytes(Self.xor(bytes, offset, mask))
        case let .rawStatus(sw): return .response(ResponseAPDU(statusWord: sw))
        case let .rawTruncate(count): return .bytes(Array(bytes.prefix(count)))
        case .removed: return .removed
        default: return answer
        }
    }

    private static func xor(_ bytes: [UInt8], _ offset: Int, _ mask: [UInt8]) -> [UInt8] {
        var out = bytes
        guard !out.isEmpty else { return out }
        for (index, byte) in mask.enumerated() { out[(offset + index) % out.count] ^= byte }
        return out
    }
}

/// Decides the change for each command the reader sends, counted from 0 across the whole exchange.
public protocol ChipAnswerScript: AnyObject {
    func change(forCommand ordinal: Int, _ command: CommandAPDU) -> ChipAnswerChange
}

/// A real `EMRTDApplet` whose answers a `ChipAnswerScript` changes: before its secure messaging (the chip is
/// hostile and has the keys) or after it (the line is). Counts the commands, and which changes took effect.
public final class HostileApplet {
    public let base: EMRTDApplet
    private let script: ChipAnswerScript
    /// Commands answered so far (the ordinal of the next one).
    public private(set) var commands = 0
    /// A change before secure messaging took effect (the chip lied with its own keys).
    public private(set) var plainChangeFired = false
    /// Any change other than `.honest` took effect.
    public private(set) var anyChangeFired = false
    private var current: ChipAnswerChange = .honest
    /// Sees every command in plain with the plain answer given (seed writers record honest exchanges with it).
    public var observer: ((_ command: CommandAPDU, _ secure: Bool, _ answer: ResponseAPDU) -> Void)?

    public init(profile: EMRTDProfile, script: ChipAnswerScript) {
        base = EMRTDApplet(profile: profile, random: HostileApplet.fixedRandom)
        self.script = script
        base.answerFilter = { [unowned self] command, secure, answer in
            var answer = answer
            if current.isPlain {
                plainChangeFired = true
                answer = current.applyPlain(answer)
            }
            observer?(command, secure, answer)
            return answer
        }
    }

    /// RND.IC, K.IC and PACE nonces: the same bytes every run, so that one input replays one exchange.
    public static func fixedRandom(_ count: Int) throws(MRTDError) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: 0x5A &+ $0 &* 7) }
    }

    /// The answer to `command`, or nil for a transport error (the command never reached the card).
    public func respond(_ command: CommandAPDU) -> CardAnswer? {
        current = script.change(forCommand: commands, command)
        commands += 1
        defer { current = .honest }
        if current != .honest { anyChangeFired = true }
        if current == .transportError { return nil }
        let answer = CardAnswer.response(base.process(command))
        return current.isPlain ? answer : current.applyRaw(answer)
    }
}

/// The reader's side of the line to a `HostileApplet`: every command encoded and parsed back as a card would see it,
/// every answer parsed as a reader would, malformed ones as protocol violations.
public final class HostileChannel: CardChannel {
    public let applet: HostileApplet
    public let supportsExtendedLength: Bool
    public var atr: [UInt8] { VirtualCardProfile.defaultATR }
    /// More commands than any read of these cards needs, however the chip answers: beyond it the reader loops.
    public static let commandBound = 4_000

    public init(applet: HostileApplet, supportsExtendedLength: Bool) {
        self.applet = applet
        self.supportsExtendedLength = supportsExtendedLength
    }

    public func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        precondition(
            applet.commands < Self.commandBound,
            "the reader sent \(Self.commandBound) commands to one chip: a hostile chip keeps it looping")
        if command.isExtended && !supportsExtendedLength {
            throw .protocolViolation("extended-length APDU on a path that does not support it")
        }
        let parsed: CommandAPDU
        do {
            parsed = try CommandAPDU(bytes: try command.encoded())
        } catch {
            preconditionFailure("the reader built a command it cannot encode: \(error)")
        }
        guard let answer = applet.respond(parsed) else { throw .unresponsiveCard }
        guard let bytes = answer.encoded else { throw .cardRemoved }
        do {
            return try ResponseAPDU(bytes: bytes)
        } catch {
            throw .protocolViolation("\(error)")
        }
    }
}

/// The `chip` target's input: byte 0 picks the card (`HostileChipCard.all`), byte 1 the reader's options
/// (`HostileReadFlags`), then records `[ordinal][kind][length: 2 bytes, big-endian][payload]`: change the answer to
/// command number `ordinal` (mod 256) as `ChipAnswerChange(kind:payload:)` says, or, for kind 12 mod 16 and above,
/// replace a file of the card (`payload[0]` picks it from `fileChoices`, the rest is its content).
public final class OrdinalChipScript: ChipAnswerScript {
    public var changes: [Int: [ChipAnswerChange]] = [:]
    public var fileReplacements: [(FileID, [UInt8])] = []

    public static let fileChoices: [FileID] = [
        .com, .dg1, .dg2, .dg11, .dg14, .dg15, .sod, .cardAccess, .cardSecurity,
        .atrInfo, .dg7, .dg12, .dg13, .dg16,
    ]

    public init(records bytes: ArraySlice<UInt8>) {
        var reader = FuzzBytes(bytes)
        while let ordinal = reader.byte(), let kind = reader.byte(), let payload = reader.block() {
            if kind % 16 >= 12 {
                guard let choice = payload.first else { continue }
                let file = Self.fileChoices[Int(choice) % Self.fileChoices.count]
                fileReplacements.append((file, Array(payload.dropFirst())))
            } else {
                changes[Int(ordinal), default: []].append(ChipAnswerChange(kind: kind, payload: payload))
            }
        }
    }

    /// The first change a record names for the ordinal (mod 256); later ones for the same ordinal apply to the
    /// same command number in the next lap of 256.
    public func change(forCommand ordinal: Int, _ command: CommandAPDU) -> ChipAnswerChange {
        guard let list = changes[ordinal % 256] else { return .honest }
        let lap = ordinal / 256
        return lap < list.count ? list[lap] : .honest
    }

    /// `[ordinal][kind][length][payload]`, for seeds.
    public static func record(ordinal: UInt8, kind: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [ordinal, kind, UInt8(payload.count >> 8 & 0xFF), UInt8(payload.count & 0xFF)] + payload
    }
}

/// The `chip-script` target's answers: every command takes the next record `[sw1][sw2][length: 2 bytes][data]` as
/// the chip's answer (under secure messaging, protected with the session's keys, so fixed keys and a fixed RND.IC
/// make every answer one the MAC check passes). `sw1` 00: the chip's own answer; 01: `data` is the raw response
/// (no protection); 02: the card leaves the field. Once the records run out the chip answers honestly.
public final class SequentialChipScript: ChipAnswerScript {
    private var records: [ChipAnswerChange] = []
    private var next = 0

    public init(records bytes: ArraySlice<UInt8>) {
        var reader = FuzzBytes(bytes)
        while let sw1 = reader.byte(), let sw2 = reader.byte(), let data = reader.block() {
            switch sw1 {
            case 0x00: records.append(.honest)
            case 0x01: records.append(.rawBytes(data))
            case 0x02: records.append(.removed)
            default: records.append(.plainAnswer(data, StatusWord(sw1: sw1, sw2: sw2)))
            }
        }
    }

    public func change(forCommand ordinal: Int, _ command: CommandAPDU) -> ChipAnswerChange {
        guard next < records.count else { return .honest }
        defer { next += 1 }
        return records[next]
    }

    /// One record, for seeds: the chip's answer `data` with `sw`.
    public static func record(_ data: [UInt8], _ sw: StatusWord) -> [UInt8] {
        [sw.sw1, sw.sw2, UInt8(data.count >> 8 & 0xFF), UInt8(data.count & 0xFF)] + data
    }
}

/// Reads bytes and length-prefixed blocks off a fuzz input.
struct FuzzBytes {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { bytes.isEmpty }

    mutating func byte() -> UInt8? { bytes.popFirst() }

    /// A 2-byte big-endian length and that many bytes (cut at the end of the input).
    mutating func block() -> [UInt8]? {
        guard let high = byte(), let low = byte() else { return nil }
        let count = min(Int(high) << 8 | Int(low), bytes.count)
        defer { bytes = bytes.dropFirst(count) }
        return Array(bytes.prefix(count))
    }

    mutating func rest() -> [UInt8] {
        defer { bytes = [] }
        return Array(bytes)
    }
}
