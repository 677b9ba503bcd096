import Foundation
import MRTD
import Store

/// Which field of a state's documents carries the holder's stable personal number (`[identity]` in enrolld.conf).
public enum PersonalNumberSource: String, Sendable, Equatable, CaseIterable {
    /// DG11's personal number (tag 5F10, ICAO 9303-10 §4.7.11). Documents without one are keyed by their number.
    case dg11
    /// DG11's personal number when the chip has one, else the TD1 MRZ's first optional data field (line 1,
    /// positions 16–30), for states that put the national number there.
    case td1Optional1 = "td1-optional1"
    /// DG11's personal number when the chip has one, else the TD1 MRZ's second optional data field (line 2,
    /// positions 19–29).
    case td1Optional2 = "td1-optional2"
    /// No personal number: every document of the state is keyed by its document number.
    case none
}

/// The per-state rules of which field is a personal identity number. By default DG11's personal number is, and TD1
/// optional data never is (it holds anything from a check number to a second document number in many states).
public struct IdentityRules: Sendable, Equatable {
    /// The rule of states without one of their own.
    public var defaultSource = PersonalNumberSource.dg11
    /// Rules by ICAO issuing-state code (as `IssuingStateCodes.normalised` writes it: `D`, not `D<<`).
    public var byState: [String: PersonalNumberSource] = [:]

    public init(defaultSource: PersonalNumberSource = .dg11, byState: [String: PersonalNumberSource] = [:]) {
        self.defaultSource = defaultSource
        self.byState = byState
    }

    /// The rule for documents of `state` (fillers and case ignored).
    public func source(for state: String) -> PersonalNumberSource {
        byState[DocumentIdentity.normalisedState(state)] ?? defaultSource
    }
}

/// A document's identity, typed: a personal number (`STATE:PN:number`) reaches the person's account from any of
/// their documents; a document number (`STATE:DOC:number`) only from that document. The kind keeps one holder's
/// document number from ever matching another holder's personal number.
public struct DocumentIdentity: Sendable, Equatable {
    public var issuingState: String
    public var kind: IdentityKind
    public var number: String

    public init(issuingState: String, kind: IdentityKind, number: String) {
        self.issuingState = issuingState
        self.kind = kind
        self.number = number
    }

    /// The identity of `document` under `rules`. A personal number is kept as its letters and digits (MRZ fillers,
    /// spaces and separators dropped), so one number written `7734-019` in DG11 and `7734019` in the MRZ matches.
    public init(document: DocumentData, rules: IdentityRules) {
        let mrz = document.mrz
        let state = Self.normalisedState(mrz.issuingState)
        issuingState = state
        let dg11 = Self.personalNumber(document.dg11?.personalNumber ?? "")
        let number: String?
        switch rules.source(for: state) {
        case .dg11: number = dg11
        case .td1Optional1: number = dg11 ?? (mrz.format == .td1 ? Self.personalNumber(mrz.optionalData) : nil)
        case .td1Optional2: number = dg11 ?? (mrz.format == .td1 ? Self.personalNumber(mrz.optionalData2) : nil)
        case .none: number = nil
        }
        if let number {
            (kind, self.number) = (.personalNumber, number)
        } else {
            (kind, self.number) = (.documentNumber, mrz.documentNumber.replacingOccurrences(of: "<", with: ""))
        }
    }

    /// `STATE:KIND:NUMBER`, what the identity key is the HMAC of.
    public var canonical: String {
        DataProtector.canonicalIdentity(issuingState: issuingState, kind: kind, number: number)
    }

    /// What the identity key was computed over before keys were typed (store schema 2 and 3): `STATE:NUMBER`, with
    /// DG11's personal number, else the TD1 optional data, else the document number, as that code chose them.
    public static func legacyCanonical(document: DocumentData) -> String {
        let mrz = document.mrz
        let optional = mrz.optionalData.replacingOccurrences(of: "<", with: "").trimmingCharacters(in: .whitespaces)
        let number: String
        if let personal = document.dg11?.personalNumber?.trimmingCharacters(in: .whitespaces), !personal.isEmpty {
            number = personal
        } else if !optional.isEmpty && mrz.format == .td1 {
            number = optional
        } else {
            number = mrz.documentNumber
        }
        return DataProtector.legacyCanonicalIdentity(issuingState: mrz.issuingState, identityNumber: number)
    }

    /// The letters and digits of a personal number field, upper-cased; nil when none are left.
    static func personalNumber(_ field: String) -> String? {
        let kept = String(field.uppercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) })
        return kept.isEmpty ? nil : kept
    }

    /// An issuing state as rules name it: fillers and spaces dropped, upper-cased.
    static func normalisedState(_ state: String) -> String {
        state.replacingOccurrences(of: "<", with: "").trimmingCharacters(in: .whitespaces).uppercased()
    }
}
