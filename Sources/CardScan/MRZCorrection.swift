import Foundation
import MRTD

/// One way to read a checked field so that its check digit passes (ICAO 9303-3 §4.9).
struct FieldReading: Sendable, Equatable {
    /// The field's characters (fillers included, as printed).
    var characters: [UInt8]
    var checkDigit: UInt8
    /// Sum of the characters' costs (-ln p), check digit included.
    var cost: Double
    /// Characters (check digit included) that differ from the best reading of each position.
    var changes: Int

    var text: String { String(decoding: characters, as: UTF8.self) }
}

/// Check-digit-driven correction of one MRZ reading, field by field: for each checked field the cheapest
/// readings whose check digit passes, found exactly by dynamic programming over the weighted sum modulo 10;
/// then the access keys (document number, birth date, expiry: ICAO 9303-11 §9.7.2) from the cheapest passing
/// fields, the composite check digit deciding between them but not required.
struct MRZCorrection {
    let format: MRZFormat
    let layout: MRZLayout
    let glyphs: [GlyphEvidence]
    /// The best character of every position under its field's rule.
    let asRead: [UInt8]
    /// The mean cost (-ln p) of those best characters over the whole zone: low for an MRZ, high for other print
    /// taken for one.
    let meanCost: Double

    /// How many passing readings each field keeps.
    static let fieldReadings = 4
    /// A field reading dearer than its best by more than this is not worth a chip attempt.
    static let costWindow = 9.0
    /// What a failed composite check digit costs a candidate (nats): it ranks behind any candidate that passes
    /// unless it is that much more likely otherwise.
    static let compositePenalty = 4.0
    /// A key whose characters cost more than this on average (nats, check digits included) was not read but
    /// guessed: with enough changes any noise passes a check digit one time in ten.
    static let maximumMeanCost = 0.9

    init(format: MRZFormat, glyphs: [GlyphEvidence]) {
        self.format = format
        self.layout = MRZLayout(format)
        self.glyphs = glyphs
        var rules = [MRZAlphabet.Rule](repeating: .anyCharacter, count: glyphs.count)
        let layout = MRZLayout(format)
        func mark(_ range: Range<Int>, _ rule: MRZAlphabet.Rule) {
            for index in range where index < rules.count { rules[index] = rule }
        }
        mark(layout.documentCode, .letterOrFiller)
        mark(layout.issuingState, .letterOrFiller)
        mark(layout.name, .letterOrFiller)
        mark(layout.nationality, .letterOrFiller)
        mark(layout.birthDate, .digit)
        mark(layout.expiryDate, .digit)
        for check in [layout.birthDateCheck, layout.expiryDateCheck] + (layout.compositeCheck.map { [$0] } ?? [])
        where check < rules.count {
            rules[check] = .digit
        }
        if layout.sex < rules.count { rules[layout.sex] = .sex }
        var read: [UInt8] = []
        var total = 0.0
        for (index, glyph) in glyphs.enumerated() {
            let best = glyph.alternatives(rules[index], limit: 1).first
            read.append(best?.byte ?? MRZAlphabet.filler)
            total += best?.cost ?? 10
        }
        self.asRead = read
        self.meanCost = glyphs.isEmpty ? .infinity : total / Double(glyphs.count)
    }

    /// Above this mean cost over the whole zone, the reading is not of an MRZ (calibrated on generated cards:
    /// real zones stay far below it even in harsh photos, print mistaken for a zone far above).
    static let maximumZoneCost = 0.5

    /// The cheapest readings of data positions plus a check digit position that pass, cheapest first.
    func correct(data: [Int], check: Int, rule: MRZAlphabet.Rule) -> [FieldReading] {
        guard check < glyphs.count, data.allSatisfy({ $0 < glyphs.count }) else { return [] }
        struct Partial {
            var characters: [UInt8]
            var cost: Double
            var changes: Int
        }
        // states[r]: the cheapest partial readings whose weighted sum is r modulo 10.
        var states = [[Partial]](repeating: [], count: 10)
        states[0] = [Partial(characters: [], cost: 0, changes: 0)]
        let keep = Self.fieldReadings + 2
        for (offset, position) in data.enumerated() {
            let weight = MRZ.checkDigitWeight(at: offset)
            var next = [[Partial]](repeating: [], count: 10)
            for alternative in glyphs[position].alternatives(rule) {
                guard let value = MRZ.checkDigitValue(of: alternative.byte) else { continue }
                let changed = alternative.byte == asRead[position] ? 0 : 1
                for residue in 0..<10 {
                    for partial in states[residue] {
                        let target = (residue + value * weight) % 10
                        next[target].append(
                            Partial(
                                characters: partial.characters + [alternative.byte],
                                cost: partial.cost + alternative.cost,
                                changes: partial.changes + changed))
                    }
                }
            }
            states = next.map { Array($0.sorted { $0.cost < $1.cost }.prefix(keep)) }
        }
        var readings: [FieldReading] = []
        let checks = glyphs[check].alternatives(.digit, limit: 10)
        for residue in 0..<10 {
            let digit = UInt8(0x30 + residue)
            guard let checkCost = checks.first(where: { $0.byte == digit })?.cost else { continue }
            let changed = digit == asRead[check] ? 0 : 1
            for partial in states[residue] {
                readings.append(
                    FieldReading(
                        characters: partial.characters, checkDigit: digit,
                        cost: partial.cost + checkCost, changes: partial.changes + changed))
            }
        }
        readings.sort { $0.cost < $1.cost }
        guard let cheapest = readings.first?.cost else { return [] }
        return Array(readings.filter { $0.cost <= cheapest + Self.costWindow }.prefix(Self.fieldReadings))
    }

    /// The document number's data and check positions, with the TD1/TD2 long form (9303-5 §4.2.2 note j): the
    /// check digit position holds `<` and the number continues in the optional data up to its check digit.
    func documentNumberPositions() -> (data: [Int], check: Int) {
        let short = (Array(layout.documentNumber), layout.documentNumberCheck)
        guard layout.allowsLongDocumentNumber, layout.documentNumberCheck < asRead.count,
            glyphs[layout.documentNumberCheck].best(.anyCharacter) == MRZAlphabet.filler
        else { return short }
        var overflow: [Int] = []
        for position in layout.optionalData where position < asRead.count {
            if glyphs[position].best(.anyCharacter) == MRZAlphabet.filler { break }
            overflow.append(position)
        }
        guard overflow.count >= 2, let check = overflow.last else { return short }
        return (Array(layout.documentNumber) + overflow.dropLast(), check)
    }

    /// Ranked access-key candidates of this reading (at most `limit`), and the field checks of the best.
    func candidates(limit: Int, today: MRZDate = .today()) -> [MRZKeyCandidate] {
        guard meanCost <= Self.maximumZoneCost else { return [] }
        let number = documentNumberPositions()
        let numbers = correct(data: number.data, check: number.check, rule: .anyCharacter)
        let births = correct(data: Array(layout.birthDate), check: layout.birthDateCheck, rule: .digit)
            .filter { (try? MRZDate.birthDate(yymmdd: $0.text, today: today)) != nil }
        let expiries = correct(data: Array(layout.expiryDate), check: layout.expiryDateCheck, rule: .digit)
            .filter { (try? MRZDate.expiryDate(yymmdd: $0.text)) != nil }
        var candidates: [MRZKeyCandidate] = []
        for documentNumber in numbers {
            for birth in births {
                for expiry in expiries {
                    var lines = asRead
                    for (position, byte) in zip(number.data, documentNumber.characters) { lines[position] = byte }
                    lines[number.check] = documentNumber.checkDigit
                    for (position, byte) in zip(layout.birthDate, birth.characters) { lines[position] = byte }
                    lines[layout.birthDateCheck] = birth.checkDigit
                    for (position, byte) in zip(layout.expiryDate, expiry.characters) { lines[position] = byte }
                    lines[layout.expiryDateCheck] = expiry.checkDigit
                    let composite = compositePasses(lines)
                    let read = documentNumber.cost + birth.cost + expiry.cost
                    let characters = Double(documentNumber.characters.count + 1 + 7 + 7)
                    guard read / characters <= Self.maximumMeanCost else { continue }
                    let cost = read + (composite == false ? Self.compositePenalty : 0)
                    let text = String(decoding: documentNumber.characters, as: UTF8.self)
                    guard
                        let key = try? BACKey(
                            documentNumber: text.replacingOccurrences(of: "<", with: ""),
                            birthDate: birth.text, expiryDate: expiry.text)
                    else { continue }
                    candidates.append(
                        MRZKeyCandidate(
                            key: key, cost: cost, compositePasses: composite, lines: lines,
                            changes: (documentNumber.changes, birth.changes, expiry.changes)))
                }
            }
        }
        candidates.sort { $0.cost < $1.cost }
        var unique: [MRZKeyCandidate] = []
        for candidate in candidates where !unique.contains(where: { $0.key == candidate.key }) {
            unique.append(candidate)
            if unique.count == limit { break }
        }
        return unique
    }

    /// The composite check (absent on visas: nil), over `lines` as corrected.
    func compositePasses(_ lines: [UInt8]) -> Bool? {
        guard let check = layout.compositeCheck, check < lines.count else { return nil }
        let data = layout.composite.flatMap { Array(lines[$0]) }
        var sum = 0
        for (index, byte) in data.enumerated() {
            guard let value = MRZ.checkDigitValue(of: byte) else { return false }
            sum += value * MRZ.checkDigitWeight(at: index)
        }
        return UInt8(0x30 + sum % 10) == lines[check]
    }

    /// Whether the characters of `data` followed by `check` pass as they stand.
    func passes(_ lines: [UInt8], data: [Int], check: Int) -> Bool {
        var sum = 0
        for (index, position) in data.enumerated() {
            guard let value = MRZ.checkDigitValue(of: lines[position]) else { return false }
            sum += value * MRZ.checkDigitWeight(at: index)
        }
        return UInt8(0x30 + sum % 10) == lines[check]
    }

    /// The check-digit result of every checked field of a candidate's lines.
    func fieldChecks(for candidate: MRZKeyCandidate) -> [MRZFieldCheck] {
        let number = documentNumberPositions()
        func status(_ data: [Int], _ check: Int, changes: Int) -> MRZFieldCheck.Status {
            if passes(asRead, data: data, check: check) { return .passed }
            return passes(candidate.lines, data: data, check: check) ? .corrected(characters: changes) : .failed
        }
        var checks = [
            MRZFieldCheck(
                field: .documentNumber,
                status: status(
                    number.data, number.check,
                    changes: candidate.changes.number)),
            MRZFieldCheck(
                field: .birthDate,
                status: status(
                    Array(layout.birthDate), layout.birthDateCheck,
                    changes: candidate.changes.birth)),
            MRZFieldCheck(
                field: .expiryDate,
                status: status(
                    Array(layout.expiryDate), layout.expiryDateCheck,
                    changes: candidate.changes.expiry)),
        ]
        if let check = layout.optionalDataCheck, check < asRead.count {
            let data = Array(layout.optionalData)
            let blank = data.allSatisfy { asRead[$0] == MRZAlphabet.filler } && asRead[check] == MRZAlphabet.filler
            checks.append(
                MRZFieldCheck(
                    field: .optionalData,
                    status: blank || passes(asRead, data: data, check: check) ? .passed : .failed))
        }
        if layout.compositeCheck != nil {
            let asReadPasses = compositePasses(asRead) == true
            let changes = candidate.changes.number + candidate.changes.birth + candidate.changes.expiry
            checks.append(
                MRZFieldCheck(
                    field: .composite,
                    status: asReadPasses
                        ? .passed
                        : candidate.compositePasses == true
                            ? .corrected(characters: changes)
                            : .failed))
        }
        return checks
    }
}

/// An access key read from an MRZ, with what it cost to read.
struct MRZKeyCandidate: Sendable {
    var key: BACKey
    var cost: Double
    var compositePasses: Bool?
    /// The MRZ as corrected for this key (all lines joined).
    var lines: [UInt8]
    var changes: (number: Int, birth: Int, expiry: Int)
}
