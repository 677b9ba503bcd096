import Foundation
import MRTD

/// The card access number read from a card front (ICAO 9303-11 §9.7.3): digits only, no check digit, so its
/// confidence comes from the glyphs alone, and from a second photo that agrees.
struct CANReading: Sendable {
    let digits: [GlyphEvidence]
    /// 0...1: how well the field's geometry matched the layout.
    let geometry: Double

    /// The most probable digits and each one's probability (renormalised over the digits).
    var best: (text: String, probabilities: [Double]) {
        var text = ""
        var probabilities: [Double] = []
        for glyph in digits {
            let ranked = glyph.alternatives(.digit, limit: 1)
            guard let first = ranked.first else { continue }
            text.append(Character(Unicode.Scalar(first.byte)))
            probabilities.append(exp(-first.cost))
        }
        return (text, probabilities)
    }

    /// The first and second most probable CANs: the second changes the least certain digit to its runner-up.
    func candidates() -> [AccessKeyCandidate] {
        let (text, probabilities) = best
        guard text.count == digits.count, let first = try? CardAccessNumber(text) else { return [] }
        let joint = probabilities.reduce(1, *) * geometry
        var result = [AccessKeyCandidate(key: .can(first), confidence: joint, compositeCheckPassed: nil)]
        if let weakest = probabilities.indices.min(by: { probabilities[$0] < probabilities[$1] }) {
            let ranked = digits[weakest].alternatives(.digit, limit: 2)
            if ranked.count == 2 {
                var bytes = Array(text.utf8)
                bytes[weakest] = ranked[1].byte
                let runnerUp = exp(-ranked[1].cost)
                if let second = try? CardAccessNumber(String(decoding: bytes, as: UTF8.self)) {
                    let confidence = joint / max(probabilities[weakest], 1e-9) * runnerUp
                    result.append(
                        AccessKeyCandidate(
                            key: .can(second), confidence: confidence,
                            compositeCheckPassed: nil))
                }
            }
        }
        return result
    }

    /// Whether the field read clearly enough to offer its digits: every digit fairly sure, most of them very,
    /// and a row of digits where the layout puts it. (No check digit protects a CAN.)
    var isClear: Bool {
        let probabilities = best.probabilities
        guard let weakest = probabilities.min() else { return false }
        return geometry >= 0.25 && clarity >= 0.8 && weakest >= 0.35
    }

    /// Mean probability of the best digits: how clearly the field read.
    var clarity: Double {
        let probabilities = best.probabilities
        return probabilities.isEmpty ? 0 : probabilities.reduce(0, +) / Double(probabilities.count)
    }

    /// Two photos of the same card front: per digit, the product of the two readings' probabilities.
    static func combining(_ first: [GlyphEvidence], _ second: [GlyphEvidence]) -> [GlyphEvidence]? {
        guard first.count == second.count, !first.isEmpty else { return nil }
        return zip(first, second).map { a, b in
            var product = zip(a.probabilities, b.probabilities).map { max($0 * $1, 1e-12) }
            let sum = product.reduce(0, +)
            product = product.map { $0 / sum }
            return GlyphEvidence(probabilities: product)
        }
    }
}
