import CPCSCLite
import Foundation
import Synchronization

/// pcsc-lite return codes that enrolld distinguishes (PC/SC Part 5; pcsclite.h).
enum PCSCCode {
    static let success: UInt32 = 0x0000_0000
    static let cancelled: UInt32 = 0x8010_0002
    static let invalidHandle: UInt32 = 0x8010_0003
    static let unknownReader: UInt32 = 0x8010_0009
    static let timeout: UInt32 = 0x8010_000A
    static let sharingViolation: UInt32 = 0x8010_000B
    static let noSmartcard: UInt32 = 0x8010_000C
    static let protoMismatch: UInt32 = 0x8010_000F
    static let readerUnavailable: UInt32 = 0x8010_0017
    static let noService: UInt32 = 0x8010_001D
    static let serviceStopped: UInt32 = 0x8010_001E
    static let noReadersAvailable: UInt32 = 0x8010_002E
    static let unresponsiveCard: UInt32 = 0x8010_0066
    static let unpoweredCard: UInt32 = 0x8010_0067
    static let resetCard: UInt32 = 0x8010_0068
    static let removedCard: UInt32 = 0x8010_0069
    static let commError: UInt32 = 0x8010_0013
    static let insufficientBuffer: UInt32 = 0x8010_0008
}

extension CardError {
    /// Whether the card (or its reader, or pcscd) is gone: the card's session is over, whatever pcscd called it.
    public var meansCardLeft: Bool {
        switch self {
        case .cardRemoved, .cardReset, .noCard, .readerUnavailable, .noService: return true
        default: return false
        }
    }

    /// Maps a pcsc-lite return code to a typed error.
    static func fromPCSC(_ rv: Int) -> CardError {
        let code = UInt32(truncatingIfNeeded: rv)
        switch code {
        case PCSCCode.noService, PCSCCode.serviceStopped, PCSCCode.invalidHandle: return .noService
        case PCSCCode.noReadersAvailable: return .noReaders
        case PCSCCode.noSmartcard: return .noCard
        case PCSCCode.removedCard: return .cardRemoved
        case PCSCCode.resetCard: return .cardReset
        case PCSCCode.readerUnavailable: return .readerUnavailable
        case PCSCCode.timeout: return .timeout
        case PCSCCode.sharingViolation: return .sharingViolation
        case PCSCCode.unresponsiveCard, PCSCCode.unpoweredCard, PCSCCode.protoMismatch: return .unresponsiveCard
        case PCSCCode.cancelled: return .cancelled
        default:
            let message = pcsc_stringify_error(rv).map { String(cString: $0) } ?? "unknown"
            return .pcsc(code: code, message: message)
        }
    }
}

/// The reader name pcsc-lite uses to report readers being attached or detached.
public let pnpNotificationReader = "\\\\?PnP?\\Notification"

/// A PC/SC resource-manager context (pcsc-lite). One per thread of use: pcsc-lite serialises
/// calls on a context, and `cancel()` may be called from any thread to end a blocking wait.
/// `@unchecked Sendable`: its one stored value is the immutable context handle, and pcsc-lite locks per context.
public final class PCSCContext: @unchecked Sendable {
    private let handle: SCARDCONTEXT

    /// Establishes a system-scope context. Throws `CardError.noService` when pcscd is not running.
    public init() throws(CardError) {
        var context: SCARDCONTEXT = 0
        let rv = SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &context)
        guard rv == SCARD_S_SUCCESS else { throw CardError.fromPCSC(Int(rv)) }
        handle = context
    }

    deinit {
        SCardReleaseContext(handle)
    }

    /// Whether pcscd still knows this context (false after pcscd restarted).
    public var isValid: Bool { SCardIsValidContext(handle) == SCARD_S_SUCCESS }

    /// The names of the readers attached now; empty when there are none.
    public func listReaders() throws(CardError) -> [String] {
        var size: DWORD = 0
        var rv = SCardListReaders(handle, nil, nil, &size)
        if UInt32(truncatingIfNeeded: rv) == PCSCCode.noReadersAvailable { return [] }
        guard rv == SCARD_S_SUCCESS else { throw CardError.fromPCSC(Int(rv)) }
        var buffer = [CChar](repeating: 0, count: Int(size))
        rv = SCardListReaders(handle, nil, &buffer, &size)
        if UInt32(truncatingIfNeeded: rv) == PCSCCode.noReadersAvailable { return [] }
        guard rv == SCARD_S_SUCCESS else { throw CardError.fromPCSC(Int(rv)) }
        return Self.splitMultiString(buffer)
    }

    static func splitMultiString(_ buffer: [CChar]) -> [String] {
        var names: [String] = []
        var current: [UInt8] = []
        for c in buffer {
            if c == 0 {
                if current.isEmpty { break }
                names.append(String(decoding: current, as: UTF8.self))
                current = []
            } else {
                current.append(UInt8(bitPattern: c))
            }
        }
        return names
    }

    /// Blocks until the state of one of `readers` differs from what the caller last saw, or the
    /// timeout passes (`CardError.timeout`), or `cancel()` is called (`CardError.cancelled`).
    /// Each entry's `eventState` and `atr` are updated in place.
    public func waitForChange(_ readers: inout [ReaderState], timeout milliseconds: UInt32?) throws(CardError) {
        guard !readers.isEmpty else { return }
        let names = readers.map { strdup($0.name) }
        defer { names.forEach { free($0) } }
        var states = [SCARD_READERSTATE](repeating: SCARD_READERSTATE(), count: readers.count)
        for i in readers.indices {
            states[i].szReader = UnsafePointer(names[i])
            states[i].dwCurrentState = DWORD(readers[i].currentState)
        }
        let rv = SCardGetStatusChange(handle, DWORD(milliseconds ?? 0xFFFF_FFFF), &states, DWORD(states.count))
        guard rv == SCARD_S_SUCCESS else { throw CardError.fromPCSC(Int(rv)) }
        for i in readers.indices {
            readers[i].eventState = UInt32(states[i].dwEventState)
            let count = min(Int(states[i].cbAtr), 33)
            readers[i].atr = withUnsafeBytes(of: states[i].rgbAtr) { Array($0.prefix(count)) }
        }
    }

    /// Ends a `waitForChange` blocked on this context, from any thread.
    public func cancel() {
        SCardCancel(handle)
    }

    /// Connects to the card in `reader` in shared mode, T=0 or T=1.
    public func connect(reader: String) throws(CardError) -> PCSCCardChannel {
        var card: SCARDHANDLE = 0
        var proto: DWORD = 0
        let rv = SCardConnect(
            handle, reader, DWORD(SCARD_SHARE_SHARED),
            DWORD(SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1), &card, &proto)
        guard rv == SCARD_S_SUCCESS else {
            if UInt32(truncatingIfNeeded: rv) == PCSCCode.unknownReader { throw .unknownReader(reader) }
            throw CardError.fromPCSC(Int(rv))
        }
        return PCSCCardChannel(handle: card, protocol: UInt32(proto), reader: reader, context: self)
    }
}

/// One reader's state as seen by `SCardGetStatusChange`.
public struct ReaderState: Sendable, Equatable {
    public var name: String
    /// The state the caller last saw (SCARD_STATE_* bits); 0 means "tell me the state".
    public var currentState: UInt32
    /// The state pcscd reported; bit 16-31 carry the event counter.
    public var eventState: UInt32
    public var atr: [UInt8]

    public init(name: String, currentState: UInt32 = 0) {
        self.name = name
        self.currentState = currentState
        self.eventState = 0
        self.atr = []
    }

    public var changed: Bool { eventState & UInt32(SCARD_STATE_CHANGED) != 0 }
    public var cardPresent: Bool { eventState & UInt32(SCARD_STATE_PRESENT) != 0 }
    public var mute: Bool { eventState & UInt32(SCARD_STATE_MUTE) != 0 }
    public var unknown: Bool { eventState & UInt32(SCARD_STATE_UNKNOWN) != 0 }
    public var unavailable: Bool { eventState & UInt32(SCARD_STATE_UNAVAILABLE) != 0 }
    /// For the PnP pseudo reader, pcsc-lite counts reader arrivals/removals in the upper 16 bits.
    public var eventCounter: UInt32 { eventState >> 16 }

    /// pcscd reports a card in a reader the caller last saw empty, yet its event thread counted no insertion (the
    /// event counter in the upper 16 bits did not move). pcscd's own reset or power-up of a card (`SCardDisconnect`
    /// with `SCARD_RESET_CARD`, `SCardConnect` powering up) asks the driver whether a card is there and writes the
    /// answer into the reader state behind the event thread's back; when that card leaves again, the event thread,
    /// which never saw it arrive, reports nothing, and the reader would be listed with a card for good. Such a state
    /// is not a card until the event thread counts it (vpcd shows it when a card comes back during a reset).
    public var insertionUncounted: Bool {
        currentState & UInt32(SCARD_STATE_EMPTY) != 0 && cardPresent && currentState >> 16 == eventState >> 16
    }

    /// Acknowledge the reported state so the next wait blocks until it changes again.
    public mutating func acknowledge() {
        currentState = eventState & ~UInt32(SCARD_STATE_CHANGED)
    }
}

/// Whether a connected card is still there (`PCSCCardChannel.presence(within:)`).
public enum CardPresence: Sendable, Equatable {
    case present
    /// The card left the reader.
    case removed
    /// The reader itself went away (unplugged, or pcscd dropped it).
    case readerGone
    /// pcscd is gone.
    case serviceGone
}

/// A connection to a card through pcsc-lite.
///
/// `@unchecked Sendable`: one read uses a connection at a time (the card read service holds the reader for the
/// whole read); only `presence` may run from another thread, and it touches the context, not the handle.
public final class PCSCCardChannel: CardChannel, @unchecked Sendable {
    private var handle: SCARDHANDLE
    private let activeProtocol: UInt32
    /// Set once the card is known to have left (a removal reported by a transmit or by `presence`): then
    /// `disconnect` leaves the card alone instead of resetting it (see `disconnect`).
    private let cardLeft = Atomic<Bool>(false)
    public let reader: String
    public let atr: [UInt8]
    public var supportsExtendedLength: Bool
    private var connected = true
    /// pcsc-lite drops a context's card handles when the context is released: the channel keeps it alive.
    private let context: PCSCContext

    private static let open = Mutex(0)

    /// Card connections made and not yet disconnected, in this process (a leak check for tests and metrics).
    public static var openConnections: Int { open.withLock { $0 } }

    init(handle: SCARDHANDLE, protocol: UInt32, reader: String, context: PCSCContext) {
        self.handle = handle
        self.context = context
        Self.open.withLock { $0 += 1 }
        self.activeProtocol = `protocol`
        self.reader = reader
        var atrBuffer = [UInt8](repeating: 0, count: 33)
        var atrLength = DWORD(atrBuffer.count)
        var state: DWORD = 0
        var proto: DWORD = 0
        var nameLength: DWORD = 0
        let rv = SCardStatus(handle, nil, &nameLength, &state, &proto, &atrBuffer, &atrLength)
        let atr = rv == SCARD_S_SUCCESS ? Array(atrBuffer.prefix(Int(atrLength))) : []
        self.atr = atr
        self.supportsExtendedLength = ATRInfo(atr).supportsExtendedLength
    }

    deinit {
        disconnect()
    }

    /// Ends the connection and resets the card, so no secure-messaging session outlives it — unless the card has
    /// left: a card that left has no session any more, and resetting it makes pcscd ask the driver whether a card is
    /// there (vpcd takes a card that has come back meanwhile) and write "present" into the reader state behind its
    /// event thread, which then never reports that card leaving (`ReaderState.insertionUncounted`).
    public func disconnect() {
        disconnect(resetCard: !cardLeft.load(ordering: .relaxed))
    }

    /// Ends the connection with the disposition given: `resetCard` false leaves the card as it is.
    public func disconnect(resetCard: Bool) {
        guard connected else { return }
        connected = false
        SCardDisconnect(handle, DWORD(resetCard ? SCARD_RESET_CARD : SCARD_LEAVE_CARD))
        Self.open.withLock { $0 -= 1 }
    }

    /// Whether the card is still in the reader, waiting up to `milliseconds` for pcscd to notice a removal. A failed
    /// or empty transmit alone does not say why: this tells a removed card (or a vanished reader or pcscd) from a
    /// card that answered badly.
    public func presence(within milliseconds: Int = 1000) -> CardPresence {
        let presence = waitForPresence(within: milliseconds)
        if presence != .present { cardLeft.store(true, ordering: .relaxed) }
        return presence
    }

    private func waitForPresence(within milliseconds: Int) -> CardPresence {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(milliseconds) * 1_000_000
        var states = [ReaderState(name: reader)]
        while true {
            do {
                let now = DispatchTime.now().uptimeNanoseconds
                try context.waitForChange(&states, timeout: now < deadline ? UInt32((deadline - now) / 1_000_000) : 0)
            } catch {
                switch error {
                case .timeout: return .present
                case .noService: return .serviceGone
                default: return .readerGone
                }
            }
            if states[0].unavailable || states[0].unknown { return .readerGone }
            if !states[0].cardPresent { return .removed }
            if DispatchTime.now().uptimeNanoseconds >= deadline { return .present }
            states[0].acknowledge()
        }
    }

    /// The largest response buffer: extended length (64 KiB + SW) plus slack.
    private static let receiveCapacity = 65_536 + 2 + 16

    public func transmit(_ command: CommandAPDU) throws(CardError) -> ResponseAPDU {
        guard connected else { throw .cardRemoved }
        let encoded: [UInt8]
        do {
            encoded = try command.encoded()
        } catch {
            throw .protocolViolation(error.description)
        }
        var receive = [UInt8](repeating: 0, count: Self.receiveCapacity)
        var receiveLength = DWORD(receive.count)
        let pci = activeProtocol == UInt32(SCARD_PROTOCOL_T0) ? enrolld_pci_t0() : enrolld_pci_t1()
        let rv = SCardTransmit(handle, pci, encoded, DWORD(encoded.count), nil, &receive, &receiveLength)
        guard rv == SCARD_S_SUCCESS else {
            let error = CardError.fromPCSC(Int(rv))
            if error.meansCardLeft { cardLeft.store(true, ordering: .relaxed) }
            throw error
        }
        if receiveLength < 2 {
            // vpcd (and some readers) report success with no bytes when the card leaves mid-command. Even when pcscd
            // has not noticed yet (the card may be back before it looks: vpcd), the card that answered nothing is
            // not reset at disconnect.
            cardLeft.store(true, ordering: .relaxed)
            switch presence() {
            case .removed: throw .cardRemoved
            case .readerGone: throw .readerUnavailable
            case .serviceGone: throw .noService
            case .present: break
            }
        }
        do {
            return try ResponseAPDU(bytes: Array(receive.prefix(Int(receiveLength))))
        } catch {
            throw .protocolViolation(error.description)
        }
    }
}
