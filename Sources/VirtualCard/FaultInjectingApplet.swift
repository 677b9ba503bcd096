import Foundation
import MRTD
import SmartCard

/// Wraps a card applet and injects `CardFault`s into its answers, and an optional delay before every answer
/// (a slow card). Works the same in process (`InMemoryCardChannel`) and through vpcd (`VPCDConnection`).
///
/// Each fault triggers once, on the command its trigger names; a card that left the field stays away (every
/// command answers `.removed`) until the next power-on or reset, which is the next tap. Later taps are clean.
public final class FaultInjectingApplet: CardApplet, @unchecked Sendable {
    public let base: CardApplet
    public let faults: [CardFault]
    /// Slept before every answer.
    public var delay: TimeInterval
    private let lock = NSLock()
    private var counts: [Int]
    private var fired: [Bool]
    private var away = false
    /// Called (on the card's thread) when a fault takes the card out of the field: an in-process terminal takes the
    /// card off its reader, as pcscd would notice.
    public var onLeavingField: (@Sendable () -> Void)?

    public init(base: CardApplet, faults: [CardFault], delay: TimeInterval = 0) {
        self.base = base
        self.faults = faults
        self.delay = delay
        counts = Array(repeating: 0, count: faults.count)
        fired = Array(repeating: false, count: faults.count)
    }

    /// Faults that have triggered so far, in order of the list.
    public var firedFaults: [CardFault] {
        lock.withLock { zip(faults, fired).filter(\.1).map(\.0) }
    }

    /// Whether the card has left the field (a `cardRemoved` fault fired and no power-on since): a transport closes
    /// the connection after the answer it is sending.
    public var hasLeftField: Bool { lock.withLock { away } }

    /// Power-on or reset: the card is (back) in the field.
    public func reset() {
        lock.withLock { away = false }
        base.reset()
    }

    public func process(_ command: CommandAPDU) -> ResponseAPDU {
        switch answer(command) {
        case let .response(response): return response
        case let .bytes(bytes): return (try? ResponseAPDU(bytes: bytes)) ?? ResponseAPDU(statusWord: .wrongLength)
        case .removed: return ResponseAPDU(statusWord: StatusWord(0x6F00))
        }
    }

    public func answer(_ command: CommandAPDU) -> CardAnswer {
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        if lock.withLock({ away }) { return .removed }
        let response = base.process(command)
        let step = steps(of: command)
        let triggered: CardFault? = lock.withLock {
            for index in faults.indices where !fired[index] {
                let fault = faults[index]
                guard step.contains(fault.step), fault.instruction.map({ $0 == command.ins }) ?? true,
                    fault.effect != .corruptMAC || !response.data.isEmpty
                else { continue }
                counts[index] += 1
                if counts[index] == fault.occurrence {
                    fired[index] = true
                    if fault.leavesField { away = true }
                    return fault
                }
            }
            return nil
        }
        guard let triggered else { return .response(response) }
        if triggered.leavesField { onLeavingField?() }
        return Self.apply(triggered.effect, to: response)
    }

    /// The fault's effect on one response.
    static func apply(_ effect: CardFault.Effect, to response: ResponseAPDU) -> CardAnswer {
        switch effect {
        case .cardRemoved:
            return .removed
        case let .cardRemovedAnswering(sw):
            return .response(ResponseAPDU(statusWord: sw))
        case .corruptMAC:
            var data = response.data
            data[data.count - 1] ^= 0x01
            return .response(ResponseAPDU(data: data, statusWord: response.statusWord))
        case let .statusWord(sw):
            return .response(ResponseAPDU(statusWord: sw))
        case .truncate:
            guard !response.data.isEmpty else { return .bytes([response.statusWord.sw1]) }
            return .response(
                ResponseAPDU(
                    data: Array(response.data.prefix(response.data.count / 2)),
                    statusWord: response.statusWord))
        case .oversize:
            return .response(
                ResponseAPDU(
                    data: response.data + [UInt8](repeating: 0xA5, count: 256),
                    statusWord: response.statusWord))
        case .plainData:
            return .response(ResponseAPDU(data: [UInt8](repeating: 0x41, count: 16), statusWord: .success))
        }
    }

    /// The protocol steps `command` belongs to (after the base applet handled it, so DG2 is the selected file).
    private func steps(of command: CommandAPDU) -> Set<CardFault.Step> {
        var steps: Set<CardFault.Step> = [.any]
        let secure = command.cla & 0x0C == 0x0C
        switch command.ins {
        case 0x84, 0x82: if !secure { steps.insert(.bac) }
        case 0x22, 0x86: steps.insert(secure ? .ca : .pace)
        case 0x88: steps.insert(.aa)
        case 0xB0, 0xB1:
            steps.insert(.read)
            if (base as? EMRTDApplet)?.currentFile == .dg2 { steps.insert(.dg2) }
        default: break
        }
        return steps
    }
}

extension CardFault {
    /// Whether the fault takes the card out of the field.
    var leavesField: Bool {
        switch effect {
        case .cardRemoved, .cardRemovedAnswering: return true
        default: return false
        }
    }
}
