import MRTD
import SmartCard

/// One fault the virtual card injects, at a defined point of the protocol: the `occurrence`-th command of a
/// protocol `step` (optionally only commands with instruction `instruction`). Written on the command line as
/// `KIND[:ARGUMENT][:during=STEP][:at=N][:ins=XX]`, e.g. `card-removed:during=dg2:at=3`, `card-removed:6300:during=bac`
/// (the reader answers 6300 as the card leaves) or `status-word:6A82:ins=B0`.
public struct CardFault: Sendable, Equatable, CustomStringConvertible {
    /// What happens to the response of the command the fault triggers on.
    public enum Effect: Sendable, Equatable {
        /// The card leaves the field instead of answering (vpcd: the connection closes, pcscd sees removal).
        case cardRemoved
        /// The card leaves the field during the command and the reader answers this status word for it, as
        /// contactless readers do (6300, 6F00, 6401); then the card is away (vpcd: the answer, then the connection
        /// closes).
        case cardRemovedAnswering(StatusWord)
        /// One bit of the response's last byte flips: DO'8E' under secure messaging, the MAC of a BAC answer.
        case corruptMAC
        /// The card answers this status word, in plain and without data.
        case statusWord(StatusWord)
        /// The second half of the response data is lost (an empty response loses SW2).
        case truncate
        /// 256 bytes the command did not ask for follow the response data.
        case oversize
        /// Data in plain with 9000, no secure messaging (what a relay would inject; a reader must refuse it).
        case plainData
    }

    /// Which commands a fault counts: the protocol step they belong to.
    public enum Step: String, Sendable, CaseIterable {
        /// Every command.
        case any
        /// BAC: GET CHALLENGE and EXTERNAL AUTHENTICATE (ICAO 9303-11 §4.3).
        case bac
        /// PACE: MSE:Set AT and GENERAL AUTHENTICATE in plain (ICAO 9303-11 §4.4).
        case pace
        /// READ BINARY of DG2 (the portrait), the longest file.
        case dg2
        /// Any READ BINARY.
        case read
        /// Active authentication: INTERNAL AUTHENTICATE (ICAO 9303-11 §6.1).
        case aa
        /// Chip authentication: MSE and GENERAL AUTHENTICATE under secure messaging (ICAO 9303-11 §6.2).
        case ca
    }

    public var effect: Effect
    public var step: Step
    /// 1-based: the fault triggers on the `occurrence`-th command that matches.
    public var occurrence: Int
    /// When set, only commands with this INS count.
    public var instruction: UInt8?

    public init(_ effect: Effect, during step: Step = .any, at occurrence: Int = 1, instruction: UInt8? = nil) {
        self.effect = effect
        self.step = step
        self.occurrence = max(1, occurrence)
        self.instruction = instruction
    }

    /// The fault kinds as the command line names them.
    public static let kinds = ["card-removed", "corrupt-mac", "status-word", "truncate", "oversize", "plain-data"]

    /// Parses `KIND[:ARGUMENT][:during=STEP][:at=N][:ins=XX]`; throws `CardFaultError` naming what is wrong.
    public init(parsing text: String) throws(CardFaultError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let effect: Effect
        var options = parts.dropFirst()
        switch parts[0] {
        case "card-removed":
            if let first = options.first, !first.contains("=") {
                guard first.count == 4, let value = UInt16(first, radix: 16) else {
                    throw CardFaultError(text, "'\(first)' is not a status word of 4 hex digits")
                }
                effect = .cardRemovedAnswering(StatusWord(value))
                options = options.dropFirst()
            } else {
                effect = .cardRemoved
            }
        case "corrupt-mac": effect = .corruptMAC
        case "truncate": effect = .truncate
        case "oversize": effect = .oversize
        case "plain-data": effect = .plainData
        case "status-word":
            guard let first = options.first, !first.contains("=") else {
                throw CardFaultError(text, "status-word needs the status word, e.g. status-word:6A82")
            }
            guard first.count == 4, let value = UInt16(first, radix: 16) else {
                throw CardFaultError(text, "'\(first)' is not a status word of 4 hex digits")
            }
            effect = .statusWord(StatusWord(value))
            options = options.dropFirst()
        default:
            throw CardFaultError(text, "unknown fault '\(parts[0])'; known: \(Self.kinds.joined(separator: ", "))")
        }
        var fault = CardFault(effect)
        for option in options {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw CardFaultError(text, "'\(option)' is not key=value") }
            switch pair[0] {
            case "during":
                guard let step = Step(rawValue: pair[1]) else {
                    throw CardFaultError(
                        text,
                        "unknown step '\(pair[1])'; known: "
                            + Step.allCases.map(\.rawValue).joined(separator: ", "))
                }
                fault.step = step
            case "at":
                guard let number = Int(pair[1]), number >= 1 else {
                    throw CardFaultError(text, "at= needs a number from 1")
                }
                fault.occurrence = number
            case "ins":
                guard pair[1].count == 2, let ins = UInt8(pair[1], radix: 16) else {
                    throw CardFaultError(text, "ins= needs one byte in hex, e.g. ins=B0")
                }
                fault.instruction = ins
            default:
                throw CardFaultError(text, "unknown option '\(pair[0])'; known: during, at, ins")
            }
        }
        self = fault
    }

    public var description: String {
        var text: String
        switch effect {
        case .cardRemoved: text = "card-removed"
        case let .cardRemovedAnswering(sw): text = "card-removed:\(sw)"
        case .corruptMAC: text = "corrupt-mac"
        case let .statusWord(sw): text = "status-word:\(sw)"
        case .truncate: text = "truncate"
        case .oversize: text = "oversize"
        case .plainData: text = "plain-data"
        }
        if step != .any { text += ":during=\(step.rawValue)" }
        if occurrence != 1 { text += ":at=\(occurrence)" }
        if let instruction { text += ":ins=" + String(instruction, radix: 16, uppercase: true) }
        return text
    }
}

/// A fault description that does not parse.
public struct CardFaultError: Error, Equatable, CustomStringConvertible {
    public var fault: String
    public var reason: String

    init(_ fault: String, _ reason: String) {
        self.fault = fault
        self.reason = reason
    }

    public var description: String { "--fault \(fault): \(reason)" }
}
