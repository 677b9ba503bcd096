import OpenSSLKit
import SmartCard

/// The send sequence counter (ICAO 9303-11 §9.8.2): 8 bytes for 3DES, 16 for AES, big-endian, incremented
/// before every protected command and every protected response.
public struct SendSequenceCounter: Sendable, Equatable, CustomStringConvertible {
    public private(set) var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// A counter of `length` zero bytes (PACE starts at zero).
    public init(zeroes length: Int) {
        bytes = [UInt8](repeating: 0, count: length)
    }

    public mutating func increment() {
        var index = bytes.count - 1
        while index >= 0 {
            bytes[index] &+= 1
            if bytes[index] != 0 { return }
            index -= 1
        }
    }

    public mutating func decrement() {
        var index = bytes.count - 1
        while index >= 0 {
            bytes[index] &-= 1
            if bytes[index] != 0xFF { return }
            index -= 1
        }
    }

    public var description: String { hex(bytes) }
}

/// A secure messaging cipher suite: the session keys and the algorithm that uses them (ICAO 9303-11 §9.8).
///
/// 3DES: two-key 3DES-CBC with a zero IV, ISO 9797-1 MAC algorithm 3, 8-byte SSC. AES: AES-CBC with
/// IV = E(KS_enc, SSC), AES-CMAC truncated to 8 bytes, 16-byte SSC. Shared by the reader
/// (`SecureMessagingSession`) and the virtual card, so both sides format data objects identically.
public struct SecureMessagingCipherSuite: Sendable, Equatable {
    public enum Algorithm: String, Sendable, Equatable {
        case tripleDES = "3DES"
        case aes128 = "AES-128"
        case aes192 = "AES-192"
        case aes256 = "AES-256"

        public var keyLength: Int {
            switch self {
            case .tripleDES, .aes128: return 16
            case .aes192: return 24
            case .aes256: return 32
            }
        }
    }

    public let algorithm: Algorithm
    let encryptionKey: [UInt8]
    let macKey: [UInt8]

    /// Throws `MRTDError.crypto` when a key has the wrong length for `algorithm`.
    public init(algorithm: Algorithm, encryptionKey: [UInt8], macKey: [UInt8]) throws(MRTDError) {
        guard encryptionKey.count == algorithm.keyLength, macKey.count == algorithm.keyLength else {
            throw .crypto(
                OpenSSLError(
                    operation: "\(algorithm.rawValue) secure messaging keys",
                    queue: ["keys must be \(algorithm.keyLength) bytes"]))
        }
        self.algorithm = algorithm
        self.encryptionKey = encryptionKey
        self.macKey = macKey
    }

    public var blockSize: Int { algorithm == .tripleDES ? 8 : 16 }
    public var sscLength: Int { blockSize }
    private var cipher: BlockCipher { algorithm == .tripleDES ? .tripleDES : .aes }

    private func iv(ssc: [UInt8]) throws(OpenSSLError) -> [UInt8]? {
        algorithm == .tripleDES ? nil : try BlockCipher.aes.encrypt(ssc, key: encryptionKey, mode: .ecb)
    }

    /// Pads (method 2) and encrypts `plain` for a DO'87'/DO'85' cryptogram.
    public func encrypt(_ plain: [UInt8], ssc: SendSequenceCounter) throws(MRTDError) -> [UInt8] {
        do {
            return try cipher.encrypt(
                ISO9797Padding.pad(plain, blockSize: blockSize), key: encryptionKey,
                iv: try iv(ssc: ssc.bytes))
        } catch {
            throw .crypto(error)
        }
    }

    /// Decrypts a cryptogram and removes its padding strictly.
    public func decrypt(_ cryptogram: [UInt8], ssc: SendSequenceCounter) throws(MRTDError) -> [UInt8] {
        guard !cryptogram.isEmpty, cryptogram.count % blockSize == 0 else {
            throw .secureMessaging(.malformedResponse("cryptogram of \(cryptogram.count) bytes"))
        }
        let padded: [UInt8]
        do {
            padded = try cipher.decrypt(cryptogram, key: encryptionKey, iv: try iv(ssc: ssc.bytes))
        } catch {
            throw .crypto(error)
        }
        guard let plain = ISO9797Padding.unpad(padded, blockSize: blockSize) else {
            throw .secureMessaging(.badPadding)
        }
        return plain
    }

    /// The 8-byte cryptographic checksum over pad(SSC || message) (ICAO 9303-11 §9.8.6.1).
    public func mac(_ message: [UInt8], ssc: SendSequenceCounter) throws(MRTDError) -> [UInt8] {
        let padded = ISO9797Padding.pad(ssc.bytes + message, blockSize: blockSize)
        do {
            if algorithm == .tripleDES {
                return try MessageAuthentication.retailMAC(key: macKey, message: padded, padded: true)
            }
            return Array(try MessageAuthentication.aesCMAC(key: macKey, message: padded)[0..<8])
        } catch {
            throw .crypto(error)
        }
    }

    // MARK: Command and response formats (ICAO 9303-11 §9.8.6, §9.8.7)

    /// Protects a plain command: DO'87' (or DO'85' for odd INS), DO'97', DO'8E', CLA with bits '0C'.
    /// `ssc` must already be incremented for this command.
    public func protectCommand(_ command: CommandAPDU, ssc: SendSequenceCounter) throws(MRTDError) -> CommandAPDU {
        let cla = command.cla | 0x0C
        var objects = try dataObject(for: command.data, oddInstruction: command.ins & 0x01 == 1, ssc: ssc)
        if let le = command.le {
            guard (1...CommandAPDU.maxExtendedLe).contains(le) else {
                throw .secureMessaging(.commandNotProtectable("Le \(le)"))
            }
            let extendedLe = command.forceExtended || le > CommandAPDU.maxShortLe
            let value = extendedLe ? [UInt8((le >> 8) & 0xFF), UInt8(le & 0xFF)] : [UInt8(le & 0xFF)]
            objects += TLV(tag: 0x97, value: value).encoded
        }
        let header = ISO9797Padding.pad([cla, command.ins, command.p1, command.p2], blockSize: blockSize)
        let checksum = try mac(header + objects, ssc: ssc)
        let data = objects + TLV(tag: 0x8E, value: checksum).encoded
        guard data.count <= CommandAPDU.maxExtendedLc else {
            throw .secureMessaging(.commandNotProtectable("protected data of \(data.count) bytes"))
        }
        let extended = command.isExtended || data.count > CommandAPDU.maxShortLc
        return CommandAPDU(
            cla: cla, ins: command.ins, p1: command.p1, p2: command.p2, data: data,
            le: extended ? CommandAPDU.maxExtendedLe : CommandAPDU.maxShortLe, forceExtended: extended)
    }

    /// Verifies and decrypts a protected response. `ssc` must already be incremented for this response.
    /// Requires DO'99' and a valid DO'8E' as the last object; throws `MRTDError.secureMessaging` otherwise.
    public func unprotectResponse(
        _ response: ResponseAPDU, ssc: SendSequenceCounter
    )
        throws(MRTDError) -> ResponseAPDU
    {
        if response.data.isEmpty {
            let sw = response.statusWord
            if sw == .smDataObjectsMissing || sw == .smDataObjectsIncorrect {
                throw .secureMessaging(.abortedByCard(sw))
            }
            throw .secureMessaging(sw == .success ? .missingStatus : .unprotectedStatus(sw))
        }
        let parsed = try Self.splitObjects(response.data, allowed: [0x85, 0x87, 0x99], trailer: 0x8E)
        guard let status = parsed.objects[0x99] else { throw .secureMessaging(.missingStatus) }
        guard let checksum = parsed.checksum else { throw .secureMessaging(.missingChecksum) }
        guard parsed.order.last == 0x99 else {
            throw .secureMessaging(.malformedResponse("DO'99' must follow the data object"))
        }
        guard checksum.count == 8,
            MessageAuthentication.constantTimeEquals(try mac(parsed.macInput, ssc: ssc), checksum)
        else {
            throw .secureMessaging(.macMismatch)
        }
        guard status.count == 2 else { throw .secureMessaging(.malformedResponse("DO'99' of \(status.count) bytes")) }
        let plain = try decryptDataObject(in: parsed.objects, ssc: ssc)
        return ResponseAPDU(data: plain, statusWord: StatusWord(sw1: status[0], sw2: status[1]))
    }

    /// Card side: verifies and decrypts a protected command. Returns the plain command, whose `forceExtended`
    /// records whether DO'97' carried an extended Le. Errors map to SW 6987 (objects missing) or 6988.
    public func unprotectCommand(_ command: CommandAPDU, ssc: SendSequenceCounter) throws(MRTDError) -> CommandAPDU {
        guard command.cla & 0x0C == 0x0C else { throw .secureMessaging(.missingChecksum) }
        let parsed = try Self.splitObjects(command.data, allowed: [0x85, 0x87, 0x97], trailer: 0x8E)
        guard let checksum = parsed.checksum else { throw .secureMessaging(.missingChecksum) }
        let header = ISO9797Padding.pad([command.cla, command.ins, command.p1, command.p2], blockSize: blockSize)
        guard checksum.count == 8,
            MessageAuthentication.constantTimeEquals(try mac(header + parsed.macInput, ssc: ssc), checksum)
        else {
            throw .secureMessaging(.macMismatch)
        }
        let data = try decryptDataObject(in: parsed.objects, ssc: ssc)
        var le: Int?
        var extendedLe = false
        if let do97 = parsed.objects[0x97] {
            switch do97.count {
            case 1: le = do97[0] == 0 ? CommandAPDU.maxShortLe : Int(do97[0])
            case 2:
                let value = Int(do97[0]) << 8 | Int(do97[1])
                le = value == 0 ? CommandAPDU.maxExtendedLe : value
                extendedLe = true
            default: throw .secureMessaging(.malformedResponse("DO'97' of \(do97.count) bytes"))
            }
        }
        return CommandAPDU(
            cla: command.cla & 0xF3, ins: command.ins, p1: command.p1, p2: command.p2, data: data,
            le: le, forceExtended: extendedLe)
    }

    /// Card side: protects a response with DO'87' (DO'85' for odd INS), DO'99' and DO'8E'.
    public func protectResponse(
        _ response: ResponseAPDU, oddInstruction: Bool, ssc: SendSequenceCounter
    )
        throws(MRTDError) -> ResponseAPDU
    {
        var objects = try dataObject(for: response.data, oddInstruction: oddInstruction, ssc: ssc)
        objects += TLV(tag: 0x99, value: [response.statusWord.sw1, response.statusWord.sw2]).encoded
        let checksum = try mac(objects, ssc: ssc)
        return ResponseAPDU(data: objects + TLV(tag: 0x8E, value: checksum).encoded, statusWord: response.statusWord)
    }

    /// The encrypted data object for `plain`: DO'87' (padding indicator 01 + cryptogram), or DO'85' (cryptogram
    /// only) for odd INS; empty when there is no data.
    private func dataObject(
        for plain: [UInt8], oddInstruction: Bool, ssc: SendSequenceCounter
    )
        throws(MRTDError) -> [UInt8]
    {
        guard !plain.isEmpty else { return [] }
        let cryptogram = try encrypt(plain, ssc: ssc)
        return oddInstruction
            ? TLV(tag: 0x85, value: cryptogram).encoded
            : TLV(tag: 0x87, value: [0x01] + cryptogram).encoded
    }

    /// Decrypts DO'87' or DO'85' when present; empty data otherwise.
    private func decryptDataObject(
        in objects: [UInt32: [UInt8]], ssc: SendSequenceCounter
    )
        throws(MRTDError) -> [UInt8]
    {
        if let do87 = objects[0x87] {
            guard do87.first == 0x01 else { throw .secureMessaging(.malformedResponse("DO'87' padding indicator")) }
            return try decrypt(Array(do87.dropFirst()), ssc: ssc)
        }
        if let do85 = objects[0x85] { return try decrypt(do85, ssc: ssc) }
        return []
    }

    /// Splits SM data objects: each allowed tag at most once, the checksum tag (if present) last, nothing else.
    /// Returns the raw bytes the checksum covers, so non-canonical length encodings cannot change what is MACed.
    private static func splitObjects(
        _ data: [UInt8], allowed: Set<UInt32>, trailer: UInt32
    ) throws(MRTDError)
        -> (objects: [UInt32: [UInt8]], order: [UInt32], checksum: [UInt8]?, macInput: [UInt8])
    {
        var reader = TLVReader(data, limits: TLVLimits(maxLength: 70_000, maxDepth: 1, maxTagBytes: 1))
        var objects: [UInt32: [UInt8]] = [:]
        var order: [UInt32] = []
        var checksum: [UInt8]?
        var macInput = data
        while !reader.isAtEnd {
            let start = reader.offset
            let object: TLV
            do {
                object = try reader.read()
            } catch {
                throw .secureMessaging(.malformedResponse(error.description))
            }
            if object.tag == trailer {
                guard reader.isAtEnd else {
                    throw .secureMessaging(.malformedResponse("DO'8E' is not the last object"))
                }
                checksum = object.value
                macInput = Array(data[..<start])
                break
            }
            guard allowed.contains(object.tag), objects[object.tag] == nil else {
                let tag = hex(TLV.encode(tag: object.tag))
                throw .secureMessaging(.malformedResponse("unexpected or repeated tag \(tag)"))
            }
            if (object.tag == 0x85 || object.tag == 0x87) && (objects[0x85] != nil || objects[0x87] != nil) {
                throw .secureMessaging(.malformedResponse("both DO'85' and DO'87'"))
            }
            if (object.tag == 0x85 || object.tag == 0x87) && !order.isEmpty {
                throw .secureMessaging(.malformedResponse("the cryptogram must be the first object"))
            }
            objects[object.tag] = object.value
            order.append(object.tag)
        }
        return (objects, order, checksum, macInput)
    }
}

/// Reader-side secure messaging state: the cipher suite, the SSC and whether the session is still usable
/// (ICAO 9303-11 §9.8). Any verification failure ends the session for good.
///
/// Issued chips often answer a protected command that fails with the status word alone, without SM (`6700` for an
/// Le they do not take, `6A82`, `6B00`). Such an answer is taken as the chip's answer: a status word in 64xx–6Fxx
/// (but not 6987/6988, which end the session) with no data, and never data without SM. The chip consumed the
/// command but protected nothing, so the SSC counts the command only. Until a protected answer verifies again the
/// session is `awaitingProof`: the chip may have closed it (`RecoveringSecureMessagingChannel` then opens another).
public final class SecureMessagingSession {
    public let suite: SecureMessagingCipherSuite
    public private(set) var ssc: SendSequenceCounter
    /// Set once the session has ended, with the reason.
    public private(set) var failure: SecureMessagingError?
    /// Answers taken in plain (status word only) in this session.
    public private(set) var plainStatusAnswers = 0
    /// Whether the last answer came in plain.
    public private(set) var lastAnswerWasPlain = false
    /// A plain answer came and no protected answer has verified since: the chip may have closed the session.
    public private(set) var awaitingProof = false

    public init(suite: SecureMessagingCipherSuite, ssc: SendSequenceCounter) {
        self.suite = suite
        self.ssc = ssc
    }

    public var isActive: Bool { failure == nil }

    /// Whether `response` is a status word the chip may send without SM after a failed protected command: an error
    /// (64xx to 6Fxx) other than the SM errors 6987/6988, with no data.
    public static func isPlainErrorAnswer(_ response: ResponseAPDU) -> Bool {
        let sw = response.statusWord
        return response.data.isEmpty && (0x64...0x6F).contains(sw.sw1) && sw != .smDataObjectsMissing
            && sw != .smDataObjectsIncorrect
    }

    /// Increments the SSC and protects `command`.
    public func protect(_ command: CommandAPDU) throws(MRTDError) -> CommandAPDU {
        if failure != nil { throw .secureMessaging(.sessionEnded) }
        ssc.increment()
        do {
            return try suite.protectCommand(command, ssc: ssc)
        } catch {
            ssc.decrement()
            throw error
        }
    }

    /// Increments the SSC and verifies `response`; on any failure the session ends. A plain error status word
    /// (`isPlainErrorAnswer`) is returned as it came, without an SSC increment, and leaves the session awaiting proof.
    public func unprotect(_ response: ResponseAPDU) throws(MRTDError) -> ResponseAPDU {
        if failure != nil { throw .secureMessaging(.sessionEnded) }
        if Self.isPlainErrorAnswer(response) {
            plainStatusAnswers += 1
            lastAnswerWasPlain = true
            awaitingProof = true
            return response
        }
        lastAnswerWasPlain = false
        ssc.increment()
        do {
            let plain = try suite.unprotectResponse(response, ssc: ssc)
            awaitingProof = false
            return plain
        } catch {
            end(error)
            throw error
        }
    }

    /// Rolls back the SSC increment of a command that never reached the card (a transport error before
    /// sending). If the card did see it, the next response MAC fails and the session ends: fail closed.
    public func commandNotDelivered() {
        ssc.decrement()
    }

    /// Ends the session.
    public func end(_ error: MRTDError) {
        if case let .secureMessaging(reason) = error {
            failure = reason
        } else {
            failure = .sessionEnded
        }
    }
}

/// A channel that speaks secure messaging for its caller: plain commands in, verified plain responses out, failures
/// as typed `MRTDError`s.
public protocol SecureCommandChannel: CardChannel {
    /// Protects `command`, sends it and returns the verified plain response (or a plain error status word).
    func send(_ command: CommandAPDU) throws(MRTDError) -> ResponseAPDU
    /// Whether the last answer came without secure messaging (a status word only).
    var lastAnswerWasPlain: Bool { get }
}

extension SecureCommandChannel {
    /// The `CardChannel` requirement: `send(_:)` with failures as `CardError` (card removal stays `.cardRemoved`, SM
    /// failures become `.protocolViolation`).
    public func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        do {
            return try send(command)
        } catch {
            switch error {
            case .cardRemoved: throw .cardRemoved
            case let .transport(cardError): throw cardError
            default: throw .protocolViolation(error.description)
            }
        }
    }
}

/// A `CardChannel` that protects every command and unprotects every response, so callers transmit plain APDUs.
///
/// `send(_:)` reports failures as `MRTDError`; `transmit(_:)` (the `CardChannel` requirement) maps them to
/// `CardError` (card removal stays `.cardRemoved`, SM failures become `.protocolViolation`).
public final class SecureMessagingChannel: SecureCommandChannel {
    public let base: CardChannel
    public let session: SecureMessagingSession

    public init(base: CardChannel, session: SecureMessagingSession) {
        self.base = base
        self.session = session
    }

    public var supportsExtendedLength: Bool { base.supportsExtendedLength }
    public var atr: [UInt8] { base.atr }
    public var lastAnswerWasPlain: Bool { session.lastAnswerWasPlain }

    /// Protects `command`, sends it and returns the verified plain response.
    public func send(_ command: CommandAPDU) throws(MRTDError) -> ResponseAPDU {
        let protected = try session.protect(command)
        let response: ResponseAPDU
        do {
            response = try base.transmit(protected)
        } catch {
            switch error {
            case .cardRemoved, .noCard, .readerUnavailable, .cardReset, .noService:
                session.end(.secureMessaging(.sessionEnded))
            default:
                session.commandNotDelivered()
            }
            throw MRTDError(error)
        }
        return try session.unprotect(response)
    }

}
