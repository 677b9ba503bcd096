import Foundation

/// ISO/IEC 30107-3 figures for the liveness checks over labelled sets built from a `person/photo` folder (the
/// Johns): bona fide bursts (synthetic 3D heads following their challenge) and one set per attack type
/// (presentation attack instrument species). APCER per species: attacks accepted / attacks; BPCER: bona fide
/// bursts refused / bona fide bursts (ISO/IEC 30107-3 §13). Also the landmark-level figures of the pose and
/// parallax logic alone on synthetic 3D head motion.
public struct LivenessEvaluationReport: Sendable, CustomStringConvertible {
    /// The labelled sets, bona fide first.
    public enum Set: String, Sendable, CaseIterable {
        case bonaFide = "bona-fide-synthetic-3d"
        case portraitReplay = "portrait-replay"
        case printFlat = "print-flat"
        case printCurled = "print-curled"
        case screen = "screen-replay"
        case mixedPeople = "mixed-people"

        public var isAttack: Bool { self != .bonaFide }

        public var summary: String {
            switch self {
            case .bonaFide: return "chip texture on a 3D face relief, turned and moved per prompt, sensor noise"
            case .portraitReplay: return "the chip portrait's bytes as every frame"
            case .printFlat: return "a print of another photo: shifts, scale, perspective tilts faking each prompt"
            case .printCurled: return "the same print curled around a 10 cm cylinder"
            case .screen: return "the flat print's frames on a display: moire, sub-pixel stripes, JPEG q60"
            case .mixedPeople: return "the right person's print, then another (3D) person doing the prompts"
            }
        }
    }

    public struct SetFigures: Sendable {
        public var set: Set
        public var bursts = 0
        /// Bursts decided live with every configured check.
        public var accepted = 0
        /// Bursts live when the passive score only reports (does not decide).
        public var acceptedWithoutPassive = 0
        /// Per check: bursts where it failed.
        public var failures: [LivenessCheck: Int] = [:]
        /// Bursts that were refused as malformed (a `LivenessError`), with the first error.
        public var errors = 0
        public var firstError: String?
        public var meanMilliseconds = 0.0
        /// Bona fide bursts refused: which burst, each failed check's value and detail (evidence, no images).
        public var refusals: [String] = []
    }

    public struct LandmarkFigures: Sendable {
        public var bonaFide = 0
        public var bonaFideRefused = 0
        public var flatAttacks = 0
        public var flatAccepted = 0
        public var curledAttacks = 0
        public var curledAccepted = 0
        public var depthOfBonaFide: ClosedRange<Double>?
        public var depthOfFlat: ClosedRange<Double>?
        public var depthOfCurled: ClosedRange<Double>?
    }

    public var configuration: LivenessConfiguration
    public var people: Int
    public var framesPerBurst: Int
    public var sets: [SetFigures]
    public var landmarks: LandmarkFigures

    public func figures(_ set: Set) -> SetFigures? { sets.first { $0.set == set } }

    /// Share of `set`'s bursts accepted: APCER for an attack set, 1 - BPCER for the bona fide set.
    static func rate(_ count: Int, _ total: Int) -> Double { total == 0 ? 0 : Double(count) / Double(total) }

    public var bpcer: Double {
        guard let bona = figures(.bonaFide) else { return 0 }
        return Self.rate(bona.bursts - bona.accepted, bona.bursts)
    }

    public func apcer(_ set: Set) -> Double {
        guard let figures = figures(set) else { return 0 }
        return Self.rate(figures.accepted, figures.bursts)
    }

    public var description: String {
        let c = configuration
        var lines = [
            "liveness evaluation (ISO/IEC 30107-3 figures): \(people) people, \(framesPerBurst) frames per burst",
            "thresholds: same-person <= \(format(c.samePersonThreshold)), "
                + "matches-portrait <= \(format(c.matchThreshold)), "
                + "unlike-portrait >= \(format(c.portraitFloor)), turn >= \(format(c.prompts.turn)) eye spans, "
                + "look-up >= \(format(c.prompts.lookUp)), closer >= x\(format(c.prompts.closer, digits: 2)), "
                + "unrequested >= \(format(c.prompts.unrequestedFactor, digits: 1))x, "
                + "depth >= \(format(c.depthThreshold)) "
                + "eye spans, distinct frames: copies (< \(format(c.duplicateFloor, digits: 2)) grey levels) <= "
                + "\(format(c.duplicateShare * 100, digits: 0))%, passive >= \(format(c.passiveThreshold, digits: 2)) "
                + "(mean of \(c.passiveFrames) frames)",
            "set                      bursts  accepted  rate     without passive  failed checks",
        ]
        for figures in sets {
            let rate = Self.rate(figures.accepted, figures.bursts)
            let loose = Self.rate(figures.acceptedWithoutPassive, figures.bursts)
            let failed = LivenessCheck.allCases.compactMap { check in
                figures.failures[check].map { "\(check.rawValue) \($0)" }
            }.joined(separator: ", ")
            let label = figures.set.isAttack ? "APCER" : "accept"
            let name = figures.set.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0)
            let checks =
                (failed.isEmpty ? "-" : failed)
                + (figures.errors > 0 ? "; \(figures.errors) malformed (\(figures.firstError ?? ""))" : "")
            lines.append(
                name + String(format: " %6d  %8d  ", figures.bursts, figures.accepted) + label
                    + String(format: " %6.1f%%  %6.1f%%         ", rate * 100, loose * 100) + checks)
        }
        let attacks = sets.filter { $0.set.isAttack }
        let worst = attacks.map { Self.rate($0.accepted, $0.bursts) }.max() ?? 0
        let worstLoose = attacks.map { Self.rate($0.acceptedWithoutPassive, $0.bursts) }.max() ?? 0
        let bona = figures(.bonaFide)
        let looseBPCER = bona.map { Self.rate($0.bursts - $0.acceptedWithoutPassive, $0.bursts) } ?? 0
        for refusal in bona?.refusals ?? [] { lines.append("  bona fide refused: " + refusal) }
        lines.append(
            String(
                format: "BPCER %.1f%% (without passive %.1f%%); worst APCER over species %.1f%% "
                    + "(without passive %.1f%%)", bpcer * 100, looseBPCER * 100, worst * 100, worstLoose * 100))
        let l = landmarks
        func range(_ r: ClosedRange<Double>?) -> String {
            r.map { "\(format($0.lowerBound, digits: 4))...\(format($0.upperBound, digits: 4))" } ?? "n/a"
        }
        lines.append(
            "landmark level (pose + depth logic, synthetic 3D points, 0.6 px noise): bona fide refused "
                + "\(l.bonaFideRefused)/\(l.bonaFide), flat photo accepted \(l.flatAccepted)/\(l.flatAttacks), "
                + "curled photo accepted \(l.curledAccepted)/\(l.curledAttacks); depth score bona fide "
                + "\(range(l.depthOfBonaFide)), flat \(range(l.depthOfFlat)), curled \(range(l.depthOfCurled))")
        return lines.joined(separator: "\n")
    }
}

public enum LivenessEvaluation {
    /// Runs `burstsPerPerson` random challenges per person and set. Person i's chip 0 is the chip portrait (a
    /// 300x400 JPEG 2000, as DG2), chip 1 + k the photo and texture of challenge k, person i+1 the accomplice.
    /// `firstRound` skips rounds: rounds from 4 on use other photos (chips 5-10 of the Johns) and other burst seeds
    /// than the published figures' rounds 0-3, a development set to choose thresholds on.
    /// - Throws: `engineFailure` when the folder has fewer than 2 people with 3 chips each.
    public static func run(
        folder: String, checker: LivenessChecker, matcher: FaceMatcher, burstsPerPerson: Int = 2,
        frames: Int = 15, seed: UInt64 = 19,
        firstRound: Int = 0
    ) throws(FaceMatchError) -> LivenessEvaluationReport {
        let people = try listPeople(folder)
        var generator = SeededGenerator(seed: seed)
        var sets = LivenessEvaluationReport.Set.allCases.map { LivenessEvaluationReport.SetFigures(set: $0) }
        let start = Date()
        for (personIndex, person) in people.enumerated() {
            let chips = try person.map { path throws(FaceMatchError) in try loadChip(path) }
            let accomplice = try loadChip(people[(personIndex + 1) % people.count][1])
            let portraitBytes = try SyntheticFaceImages.portrait(from: chips[0]).encoded(as: .jp2, quality: 81)
            let portrait = try LivenessPortrait.analysing(portraitBytes, with: matcher)
            let first = max(0, firstRound)
            for round in first..<first + max(1, burstsPerPerson) {
                let issued = start.addingTimeInterval(Double(personIndex * 100 + round * 30))
                let challenge = LivenessChallenge.random(using: &generator, now: issued)
                let live = chips[1 + round % (chips.count - 1)]
                let burstSeed = UInt64(personIndex * 100 + round + 1)
                for index in sets.indices {
                    let burst: LivenessBurst
                    switch sets[index].set {
                    case .bonaFide:
                        burst = try SyntheticBursts.genuine(
                            chip: live, challenge: challenge, frames: frames,
                            seed: burstSeed)
                    case .portraitReplay:
                        burst = SyntheticBursts.portraitReplay(
                            portraitBytes, challenge: challenge,
                            frames: frames)
                    case .printFlat:
                        burst = try SyntheticBursts.printAttack(
                            chip: live, challenge: challenge,
                            frames: frames, seed: burstSeed)
                    case .printCurled:
                        burst = try SyntheticBursts.printAttack(
                            chip: live, challenge: challenge, frames: frames,
                            curl: 10, seed: burstSeed)
                    case .screen:
                        burst = try SyntheticBursts.printAttack(
                            chip: live, challenge: challenge,
                            frames: frames, screen: true, seed: burstSeed)
                    case .mixedPeople:
                        burst = try SyntheticBursts.mixedPeople(
                            victim: live, accomplice: accomplice,
                            challenge: challenge, frames: frames,
                            seed: burstSeed)
                    }
                    record(
                        &sets[index], checker: checker, burst: burst, challenge: challenge, portrait: portrait,
                        now: issued.addingTimeInterval(8), session: "\(person.first ?? "")-\(round)")
                }
            }
        }
        return LivenessEvaluationReport(
            configuration: checker.configuration, people: people.count,
            framesPerBurst: frames, sets: sets,
            landmarks: landmarkFigures(
                configuration: checker.configuration,
                generator: &generator))
    }

    private static func record(
        _ figures: inout LivenessEvaluationReport.SetFigures, checker: LivenessChecker,
        burst: LivenessBurst, challenge: LivenessChallenge, portrait: LivenessPortrait,
        now: Date, session: String
    ) {
        figures.bursts += 1
        do {
            let decision = try checker.evaluate(
                burst: burst, challenge: challenge, portrait: portrait, now: now,
                session: session)
            figures.meanMilliseconds += (decision.timings.total - figures.meanMilliseconds) / Double(figures.bursts)
            if decision.isLive { figures.accepted += 1 }
            if decision.checks.allSatisfy({ !$0.required || $0.passed || $0.check == .passiveScore }) {
                figures.acceptedWithoutPassive += 1
            }
            let failed = decision.checks.filter { $0.required && !$0.passed }
            for check in failed { figures.failures[check.check, default: 0] += 1 }
            if !figures.set.isAttack && !failed.isEmpty {
                let burst = session.split(separator: "/").suffix(2).joined(separator: "/")
                figures.refusals.append(
                    burst + ": "
                        + failed.map {
                            "\($0.check.rawValue) \(format($0.value, digits: 3)) (\($0.detail))"
                        }.joined(separator: "; "))
            }
        } catch {
            figures.errors += 1
            figures.firstError = figures.firstError ?? "\(error)"
        }
    }

    /// The pose and depth logic alone on synthetic 3D landmark motion: a head following random challenges, a flat
    /// photo held as an attacker would fake them, and the same photo curled (10 cm).
    static func landmarkFigures(
        configuration: LivenessConfiguration, generator: inout SeededGenerator,
        rounds: Int = 40
    ) -> LivenessEvaluationReport.LandmarkFigures {
        var figures = LivenessEvaluationReport.LandmarkFigures()
        func widen(_ range: inout ClosedRange<Double>?, _ value: Double) {
            range = range.map { min($0.lowerBound, value)...max($0.upperBound, value) } ?? value...value
        }
        for _ in 0..<rounds {
            let challenge = LivenessChallenge.random(using: &generator)
            let frames = Int.random(in: 10...20, using: &generator)
            let genuine = SyntheticHeadMotion.following(challenge.prompts, frames: frames).map {
                SyntheticHeadMotion.jitter(SyntheticHeadMotion.head($0), sigma: 0.6, using: &generator)
            }
            let (genuineLive, genuineDepth) = decide(genuine, challenge: challenge, configuration: configuration)
            figures.bonaFide += 1
            if !genuineLive { figures.bonaFideRefused += 1 }
            widen(&figures.depthOfBonaFide, genuineDepth)
            for curl in [nil, 10.0] as [Double?] {
                let photo = SyntheticBursts.printPoses(for: challenge.prompts, frames: frames, bendRadius: curl).map {
                    SyntheticHeadMotion.jitter(SyntheticHeadMotion.photo($0), sigma: 0.6, using: &generator)
                }
                let (live, depth) = decide(photo, challenge: challenge, configuration: configuration)
                if curl == nil {
                    figures.flatAttacks += 1
                    if live { figures.flatAccepted += 1 }
                    widen(&figures.depthOfFlat, depth)
                } else {
                    figures.curledAttacks += 1
                    if live { figures.curledAccepted += 1 }
                    widen(&figures.depthOfCurled, depth)
                }
            }
        }
        return figures
    }

    /// Prompts followed and depth at least the threshold, on projected model points.
    static func decide(
        _ frames: [[FacePoint]], challenge: LivenessChallenge,
        configuration: LivenessConfiguration
    ) -> (Bool, Double) {
        let poses = frames.map { HeadPose(landmarks: SyntheticHeadMotion.landmarks($0)) }
        let sequence = PromptSequenceResult.evaluate(
            poses: poses, prompts: challenge.prompts,
            thresholds: configuration.prompts)
        let span = poses.first??.eyeSpan ?? 1
        let depth = PlanarMotion.burstScore(points: frames.map { $0.map(Optional.some) }, reference: 0, eyeSpan: span)
        return (sequence.passed && depth.score >= configuration.depthThreshold, depth.score)
    }

    private static func listPeople(_ folder: String) throws(FaceMatchError) -> [[String]] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: folder) else {
            throw .engineFailure(reason: "cannot list \(folder)")
        }
        let people = names.sorted().compactMap { name -> [String]? in
            let path = folder + "/" + name
            guard let files = try? manager.contentsOfDirectory(atPath: path) else { return nil }
            let images = files.sorted().filter { !$0.hasPrefix(".") }.map { path + "/" + $0 }
            return images.count >= 3 ? images : nil
        }
        guard people.count >= 2 else {
            throw .engineFailure(reason: "\(folder) needs at least 2 person folders with 3 photos each")
        }
        return people
    }

    private static func loadChip(_ path: String) throws(FaceMatchError) -> RGBImage {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .engineFailure(reason: "cannot read \(path)")
        }
        return try RGBImage(decoding: [UInt8](data), role: .reference)
    }
}

/// SplitMix64: a small deterministic generator, so that an evaluation can be repeated figure for figure.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
