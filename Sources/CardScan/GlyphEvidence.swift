import Foundation

/// The 37 characters an MRZ is written in, in the engine's score order: `0`–`9`, `A`–`Z`, `<`
/// (ICAO 9303-3 §4.3 and Appendix A to Part 3, the OCR-B subset).
enum MRZAlphabet {
    static let characters: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<".utf8)
    static let count = 37
    static let filler = UInt8(ascii: "<")

    static func index(of byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: return Int(byte - 0x30)
        case 0x41...0x5A: return Int(byte - 0x41) + 10
        case 0x3C: return 36
        default: return nil
        }
    }

    /// Which characters a position may hold (9303-3 §4.6 to §4.9 and the field definitions of Parts 4–6).
    enum Rule {
        /// Check digits and dates.
        case digit
        /// Names, codes of states and documents: letters and fillers.
        case letterOrFiller
        /// Document numbers and optional data.
        case anyCharacter
        /// `M`, `F`, `X` or `<` (9303-4 §4.2.2.2, field 10).
        case sex

        func allows(_ index: Int) -> Bool {
            switch self {
            case .digit: return index < 10
            case .letterOrFiller: return index >= 10
            case .anyCharacter: return true
            case .sex: return [22, 15, 33, 36].contains(index)  // M, F, X, <
            }
        }
    }
}

/// What the engine saw at one character position: a probability for each of the 37 MRZ characters.
struct GlyphEvidence: Sendable, Equatable {
    var probabilities: [Float]

    init(probabilities: [Float]) {
        self.probabilities =
            probabilities.count == MRZAlphabet.count
            ? probabilities : [Float](repeating: 1 / Float(MRZAlphabet.count), count: MRZAlphabet.count)
    }

    /// A certain reading of `byte` (for tests and fixtures).
    init(certain byte: UInt8) {
        var values = [Float](repeating: 0.0001, count: MRZAlphabet.count)
        if let index = MRZAlphabet.index(of: byte) { values[index] = 1 }
        self.init(probabilities: values)
    }

    /// Candidates for this position under a rule, cheapest first: cost is -ln p over the allowed characters,
    /// renormalised. The engine's own runner-ups come first; the partner of a known confusable pair is always
    /// offered, at most `MRZConfusion` cost above the best.
    func alternatives(_ rule: MRZAlphabet.Rule, limit: Int = 4) -> [(byte: UInt8, cost: Double)] {
        var total: Double = 0
        for index in 0..<MRZAlphabet.count where rule.allows(index) { total += Double(probabilities[index]) }
        guard total > 0 else { return [] }
        var ranked: [(byte: UInt8, cost: Double)] = []
        for index in 0..<MRZAlphabet.count where rule.allows(index) {
            let p = max(Double(probabilities[index]) / total, 1e-7)
            ranked.append((MRZAlphabet.characters[index], -log(p)))
        }
        ranked.sort { $0.cost < $1.cost }
        var chosen = Array(ranked.prefix(limit))
        if let best = chosen.first {
            for partner in MRZConfusion.partners(of: best.byte) {
                guard let index = MRZAlphabet.index(of: partner.byte), rule.allows(index),
                    !chosen.contains(where: { $0.byte == partner.byte }),
                    let seen = ranked.first(where: { $0.byte == partner.byte })
                else { continue }
                chosen.append((partner.byte, min(seen.cost, best.cost + partner.cost)))
            }
            chosen.sort { $0.cost < $1.cost }
        }
        return chosen
    }

    /// The most probable character under a rule.
    func best(_ rule: MRZAlphabet.Rule) -> UInt8 {
        alternatives(rule, limit: 1).first?.byte ?? MRZAlphabet.filler
    }
}

/// Glyph pairs that OCR-B readers confuse, ranked by how often our classifier confuses them on generated cards
/// (enroll-bench scan): the cost, in nats, of reading the partner instead of what the classifier preferred.
/// A cheaper pair is tried before a dearer one when the check digits ask for a correction.
enum MRZConfusion {
    static let pairs: [(UInt8, UInt8, Double)] = [
        (UInt8(ascii: "0"), UInt8(ascii: "O"), 1.0),
        (UInt8(ascii: "0"), UInt8(ascii: "D"), 2.5),
        (UInt8(ascii: "0"), UInt8(ascii: "Q"), 3.0),
        (UInt8(ascii: "1"), UInt8(ascii: "I"), 1.5),
        (UInt8(ascii: "8"), UInt8(ascii: "B"), 2.0),
        (UInt8(ascii: "5"), UInt8(ascii: "S"), 2.0),
        (UInt8(ascii: "2"), UInt8(ascii: "Z"), 2.5),
        (UInt8(ascii: "6"), UInt8(ascii: "G"), 2.5),
    ]

    static func partners(of byte: UInt8) -> [(byte: UInt8, cost: Double)] {
        pairs.compactMap { pair in
            if pair.0 == byte { return (pair.1, pair.2) }
            if pair.1 == byte { return (pair.0, pair.2) }
            return nil
        }
    }
}
