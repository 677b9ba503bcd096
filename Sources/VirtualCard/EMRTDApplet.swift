import MRTD
import OpenSSLKit
import SmartCard

/// A virtual eMRTD chip (card side): the eMRTD application with BAC, 3DES secure messaging and READ BINARY
/// (B0 and B1, short and extended length), personalised from an `EMRTDProfile` (ICAO 9303-10, 9303-11).
///
/// Behaviour worth knowing for tests: SM format or MAC errors are answered in plain (6987/6988) and end the
/// session; other errors under SM are protected, or in plain when `profile.plainErrorStatus` says so (keeping or
/// closing the session); a plain command ends SM; plain READ BINARY gets 6982.
public final class EMRTDApplet: CardApplet {
    public let profile: EMRTDProfile
    private let keys: (encryption: [UInt8], mac: [UInt8])?
    private let random: BAC.RandomSource
    private var applicationSelected = false
    private var selectedFile: FileID?
    private var challenge: [UInt8]?
    private var secureMessaging: CardSecureMessaging?
    private let pace: CardPACE?
    /// Whether `selectedFile` is a master-file EF (EF.CardAccess), readable without access control.
    private var selectedInMasterFile = false
    private let chipAuthentication: CardChipAuthentication?
    /// The chip authentication session, switched to once the answer is protected with the old keys.
    private var pendingSession: CardSecureMessaging?
    /// A hostile chip (fuzzing, `Sources/FuzzTargets/HostileChip.swift`): sees every command in plain (`secure`: it
    /// came under secure messaging) with the applet's plain answer, and returns the answer to give instead, which
    /// secure messaging then protects like any other. Nil: the applet's own answers.
    public var answerFilter: ((_ command: CommandAPDU, _ secure: Bool, _ answer: ResponseAPDU) -> ResponseAPDU)?

    /// `random` supplies RND.IC and K.IC (tests inject fixed values).
    public init(profile: EMRTDProfile, random: @escaping BAC.RandomSource = BAC.secureRandom) {
        self.profile = profile
        self.random = random
        keys = try? profile.accessKey().derivedKeys()
        pace = profile.pace.map { CardPACE(configuration: $0, mrzKey: try? profile.accessKey(), random: random) }
        chipAuthentication = profile.chipAuthentication.map { CardChipAuthentication(configuration: $0) }
    }

    /// The elementary file READ BINARY reads now (selected, or named by a short EF identifier).
    public var currentFile: FileID? { selectedFile }

    /// Whether a BAC session is currently established.
    public var hasSecureMessagingSession: Bool { secureMessaging != nil }

    public func reset() {
        applicationSelected = false
        selectedFile = nil
        challenge = nil
        secureMessaging = nil
        selectedInMasterFile = false
        pace?.reset()
        chipAuthentication?.reset()
        pendingSession = nil
    }

    public func process(_ command: CommandAPDU) -> ResponseAPDU {
        guard command.cla & 0x0C == 0x0C else {
            secureMessaging = nil
            if command.isExtended && !profile.extendedLength { return status(.wrongLength) }
            let response = handle(command, secure: false, outerExtended: command.isExtended)
            return answerFilter?(command, false, response) ?? response
        }
        guard let session = secureMessaging else { return status(.smDataObjectsMissing) }
        let plain: CommandAPDU
        do {
            plain = try session.unprotect(command)
        } catch {
            secureMessaging = nil
            return status(CardSecureMessaging.statusWord(for: error))
        }
        var response: ResponseAPDU
        if (command.isExtended || plain.forceExtended) && !profile.extendedLength {
            response = status(.wrongLength)
        } else {
            response = handle(plain, secure: true, outerExtended: command.isExtended)
        }
        if let answerFilter { response = answerFilter(plain, true, response) }
        let protectedLength = session.protectedResponseLength(plainLength: response.data.count)
        if !command.isExtended && protectedLength > CommandAPDU.maxShortLe {
            response = status(.wrongLength)
        }
        if let plainErrors = profile.plainErrorStatus, SecureMessagingSession.isPlainErrorAnswer(response) {
            // As many issued chips: the status word alone, without SM (the SSC counted the command only).
            if plainErrors == .sessionClosed { secureMessaging = nil }
            pendingSession = nil
            return response
        }
        do {
            let protected = try session.protect(response, oddInstruction: plain.ins & 0x01 == 1)
            if let next = pendingSession {
                secureMessaging = next
                pendingSession = nil
            }
            return protected
        } catch {
            secureMessaging = nil
            return status(.unknownError)
        }
    }

    private func handle(_ command: CommandAPDU, secure: Bool, outerExtended: Bool) -> ResponseAPDU {
        switch command.ins {
        case 0xA4: return select(command)
        case 0x84 where profile.bacEnabled: return getChallenge(command)
        case 0x82 where profile.bacEnabled: return externalAuthenticate(command)
        case 0x22, 0x86:
            if secure, let chipAuthentication {
                let (response, next) = chipAuthentication.process(command)
                pendingSession = next
                return response
            }
            guard let pace, !secure else { return status(.insNotSupported) }
            if command.ins == 0x22 { return pace.manageSecurityEnvironment(command) }
            let (response, session) = pace.generalAuthenticate(command)
            if let session { secureMessaging = session }
            return response
        case 0x88:
            guard let activeAuthentication = profile.activeAuthentication else { return status(.insNotSupported) }
            guard secure else { return status(.securityStatusNotSatisfied) }
            return activeAuthentication.internalAuthenticate(command)
        case 0xB0, 0xB1:
            let masterFileRead =
                command.ins == 0xB0 && command.p1 & 0x80 != 0
                ? command.p1 & 0x1F == 0x1C && !applicationSelected && profile.masterFiles[.cardAccess] != nil
                : selectedInMasterFile
            guard secure || !profile.requiresAccessControl || masterFileRead else {
                return status(.securityStatusNotSatisfied)
            }
            return readBinary(command)
        default: return status(.insNotSupported)
        }
    }

    private func select(_ command: CommandAPDU) -> ResponseAPDU {
        switch command.p1 {
        case 0x04:
            guard command.data == eMRTDApplicationID else { return status(.fileNotFound) }
            applicationSelected = true
            selectedFile = nil
            selectedInMasterFile = false
            return status(.success)
        case 0x00, 0x02:
            guard command.data.count == 2 else { return status(.fileNotFound) }
            let file = FileID(rawValue: UInt16(command.data[0]) << 8 | UInt16(command.data[1]))
            if !applicationSelected {
                guard profile.masterFiles[file] != nil else { return status(.fileNotFound) }
                selectedFile = file
                selectedInMasterFile = true
                return status(.success)
            }
            guard profile.files[file] != nil else { return status(.fileNotFound) }
            selectedFile = file
            selectedInMasterFile = false
            return status(.success)
        default:
            return status(.incorrectP1P2)
        }
    }

    private func getChallenge(_ command: CommandAPDU) -> ResponseAPDU {
        guard command.le == 8 else { return status(.wrongLength) }
        guard let bytes = try? random(8), bytes.count == 8 else { return status(.unknownError) }
        challenge = bytes
        return ResponseAPDU(data: bytes, statusWord: .success)
    }

    /// ICAO 9303-11 §4.3.3: verify E_IFD/M_IFD and the RND.IC echo, answer E_IC/M_IC, start SM.
    private func externalAuthenticate(_ command: CommandAPDU) -> ResponseAPDU {
        guard let rndIC = challenge else { return status(.conditionsNotSatisfied) }
        challenge = nil
        guard command.data.count == 40 else { return status(.wrongLength) }
        guard let keys else { return status(.verificationFailed) }
        do {
            guard let plain = try BAC.openCryptogram(command.data, encryptionKey: keys.encryption, macKey: keys.mac),
                Array(plain[8..<16]) == rndIC
            else {
                return status(.verificationFailed)
            }
            let rndIFD = Array(plain[0..<8])
            let kIFD = Array(plain[16..<32])
            let kIC = try random(16)
            guard kIC.count == 16 else { return status(.unknownError) }
            let answer = try BAC.cryptogram(rndIC + rndIFD + kIC, encryptionKey: keys.encryption, macKey: keys.mac)
            secureMessaging = CardSecureMessaging(
                suite: try BAC.sessionSuite(kIFD: kIFD, kIC: kIC),
                ssc: BAC.initialSSC(rndIC: rndIC, rndIFD: rndIFD))
            return ResponseAPDU(data: answer, statusWord: .success)
        } catch {
            return status(.unknownError)
        }
    }

    /// READ BINARY, ISO 7816-4 §11.3.3: B0 with offset in P1-P2 (or a short EF identifier in P1), B1 with the
    /// offset in DO'54' and the data in DO'53'. Past the end: 6B00; fewer bytes than Le: 6282.
    private func readBinary(_ command: CommandAPDU) -> ResponseAPDU {
        guard let le = command.le else { return status(.wrongLength) }
        let extended = command.forceExtended || le > CommandAPDU.maxShortLe
        if extended && !profile.extendedLength { return status(.wrongLength) }
        if !extended && le > profile.maxShortResponse { return status(.wrongLength) }
        let limit = min(le, profile.maxExtendedResponse)
        let maxLe = le == CommandAPDU.maxShortLe || le == CommandAPDU.maxExtendedLe
        var offset: Int
        if command.ins == 0xB0 {
            if command.p1 & 0x80 != 0 {
                if !applicationSelected && command.p1 == 0x9C && profile.masterFiles[.cardAccess] != nil {
                    selectedFile = .cardAccess
                    selectedInMasterFile = true
                } else {
                    guard command.p1 & 0x60 == 0, let file = FileID(shortFileIdentifier: command.p1 & 0x1F),
                        profile.files[file] != nil
                    else { return status(.fileNotFound) }
                    selectedFile = file
                    selectedInMasterFile = false
                }
                offset = Int(command.p2)
            } else {
                offset = Int(command.p1) << 8 | Int(command.p2)
            }
        } else {
            guard command.p1 == 0, command.p2 == 0 else { return status(.incorrectP1P2) }
            guard let object = try? TLV.parse(command.data), object.tag == 0x54,
                (1...3).contains(object.value.count)
            else { return status(.incorrectData) }
            offset = object.value.reduce(0) { $0 << 8 | Int($1) }
        }
        guard let file = selectedFile,
            let content = selectedInMasterFile ? profile.masterFiles[file] : profile.files[file]
        else {
            return status(StatusWord(0x6986))
        }
        guard offset <= content.count else { return status(.wrongP1P2) }
        let available = content.count - offset
        if command.ins == 0xB0 {
            let count = min(available, limit)
            let data = Array(content[offset..<(offset + count)])
            return ResponseAPDU(data: data, statusWord: count < le && !maxLe ? .warningEndOfFile : .success)
        }
        var count = min(available, limit - 2)
        if count >= 0x80 { count = min(available, limit - 3) }
        if count >= 0x100 { count = min(available, limit - 4) }
        count = max(count, 0)
        let data = TLV(tag: 0x53, value: Array(content[offset..<(offset + count)])).encoded
        return ResponseAPDU(data: data, statusWord: data.count < le && !maxLe ? .warningEndOfFile : .success)
    }

    private func status(_ sw: StatusWord) -> ResponseAPDU {
        ResponseAPDU(statusWord: sw)
    }
}
