/// What the genuineness policy decides on: typed facts of one read, nothing formatted (ICAO 9303-11 §5, §6).
public struct GenuinenessFacts: Sendable {
    /// The access control that established secure messaging; nil when only files were checked (no chip session).
    public var accessControl: AccessProtocol?
    /// The access protocol with its parameters, for the evidence's wording only (e.g. `PACE-ECDH-GM-AES-128 ...`).
    public var accessDescription: String?
    /// Passive authentication of EF.SOD; nil when the chip had no EF.SOD (then `passiveFailure` may say why).
    public var passive: PassiveAuthenticationResult?
    public var passiveFailure: String?
    /// The anti-clone protocols as the reader recorded them; nil when the reader did not run them.
    public var chipAuthentication: AntiCloneCheck?
    public var activeAuthentication: AntiCloneCheck?
    /// PACE-CAM; nil when it did not run.
    public var paceCAM: AntiCloneCheck?
    /// The files the chip gave up.
    public var filesRead: Set<FileID>
    /// Files the chip refused with a status word sent without secure messaging (a relay could have forged it).
    public var unprotectedRefusals: Set<FileID> = []

    public init(
        accessControl: AccessProtocol?, accessDescription: String? = nil,
        passive: PassiveAuthenticationResult?, passiveFailure: String? = nil,
        chipAuthentication: AntiCloneCheck? = nil, activeAuthentication: AntiCloneCheck? = nil,
        paceCAM: AntiCloneCheck? = nil, filesRead: Set<FileID>
    ) {
        self.accessControl = accessControl
        self.accessDescription = accessDescription
        self.passive = passive
        self.passiveFailure = passiveFailure
        self.chipAuthentication = chipAuthentication
        self.activeAuthentication = activeAuthentication
        self.paceCAM = paceCAM
        self.filesRead = filesRead
    }

    /// The facts of a read, with passive authentication's result.
    public init(read: DocumentReadResult, passive: PassiveAuthenticationResult?, passiveFailure: String? = nil) {
        self.init(
            accessControl: read.accessProtocol, accessDescription: read.accessDescription, passive: passive,
            passiveFailure: passiveFailure, chipAuthentication: read.chipAuthentication,
            activeAuthentication: read.activeAuthentication, paceCAM: read.paceCAM(anchoredLike: passive),
            filesRead: Set(read.files.keys))
        unprotectedRefusals = read.plainStatusRecovery.unprotectedRefusals
    }
}

/// One check of the decision, as evidence: a stable name, its outcome and why.
public struct GenuinenessCheck: Sendable, Equatable {
    /// `access-control`, `passive-authentication`, the passive steps (`sod-parsed`, `signature`, ...),
    /// `chip-authentication`, `active-authentication`, `pace-cam`.
    public var name: String
    public var outcome: AntiCloneCheck.Outcome
    public var reason: String

    public init(name: String, outcome: AntiCloneCheck.Outcome, reason: String) {
        self.name = name
        self.outcome = outcome
        self.reason = reason
    }
}

/// Whether the chip was proven genuine, with every check and, when it was not, the reasons.
public struct GenuinenessDecision: Sendable, Equatable {
    public var genuine: Bool
    public var checks: [GenuinenessCheck]
    public var reasons: [String]
    /// Data groups EF.SOD lists that the chip did not give up (enrollment's `data-group-withheld`).
    public var withheldDataGroups: [DataGroup] = []

    /// The outcome of the named check, nil when it is not listed.
    public func outcome(of name: String) -> AntiCloneCheck.Outcome? {
        checks.first { $0.name == name }?.outcome
    }
}

/// When a chip counts as genuine (ICAO 9303-11 §5, §6). A pure function of `GenuinenessFacts`:
///
/// - access control (BAC or PACE) succeeded — always true for a read that returned;
/// - passive authentication passed (EF.SOD signed by a trusted, unrevoked document signer; hashes match);
/// - where the chip offers anti-clone protocols (chip authentication in DG14, active authentication with DG15,
///   PACE-CAM), at least one of them passed and none failed: a genuine chip never fails one, so any failure (a clone
///   answering with the wrong key, a tampered signature) refuses the document;
/// - a chip whose EF.SOD lists DG14 or DG15 but which would not give the file up is refused (an attempt to hide its
///   anti-clone key), and so is one withholding any data group enrollment uses (DG1, DG2, DG11) that EF.SOD lists;
/// - the issuing state (DG1) is bound to the trust anchor: the document signer and its CSCA are of that state
///   (ICAO 9303-12 §7.1);
/// - a chip offering none: accepted on passive authentication alone (it may be a copy of a genuine chip's data),
///   unless `requireAntiClone`, which refuses it;
/// - PACE-CAM counts only as the reader proved it (`.passed`: its static key came from an EF.CardSecurity verified
///   like EF.SOD); a CAM whose key source was not verified is `not-checked` and proves nothing.
public struct GenuinenessPolicy: Sendable, Equatable {
    /// Refuse chips that offer no anti-clone protocol (default false: older documents without AA/CA are then
    /// accepted on passive authentication alone, as ICAO 9303 allows).
    public var requireAntiClone: Bool
    /// Whether the reader runs chip and active authentication (default true). When off, the protocols are
    /// reported `not-checked` and only count against `requireAntiClone`.
    public var runAntiClone: Bool

    public init(requireAntiClone: Bool = false, runAntiClone: Bool = true) {
        self.requireAntiClone = requireAntiClone
        self.runAntiClone = runAntiClone
    }

    public func decide(_ facts: GenuinenessFacts) -> GenuinenessDecision {
        var checks: [GenuinenessCheck] = []
        var reasons: [String] = []
        if facts.accessControl != nil {
            checks.append(
                GenuinenessCheck(
                    name: "access-control", outcome: .passed,
                    reason: "\(facts.accessDescription ?? "access control") established "
                        + "secure messaging"))
        }
        let passivePassed = facts.passive?.passed ?? false
        if let passive = facts.passive {
            checks.append(
                GenuinenessCheck(
                    name: "passive-authentication", outcome: passive.passed ? .passed : .failed,
                    reason: passive.passed
                        ? "EF.SOD signed by a trusted document signer; data group hashes match"
                        : passive.failures.joined(separator: "; ")))
            checks += passive.checks.map {
                GenuinenessCheck(name: $0.name, outcome: Self.outcome($0.check.status), reason: $0.check.reason)
            }
            reasons += passive.failures
        } else {
            let reason = facts.passiveFailure ?? "the chip has no EF.SOD to prove its data"
            checks.append(GenuinenessCheck(name: "passive-authentication", outcome: .failed, reason: reason))
            reasons.append(reason)
        }

        let ran = facts.accessControl != nil
        let chip =
            facts.chipAuthentication
            ?? AntiCloneCheck(.notChecked, "chip authentication was not run")
        let active =
            facts.activeAuthentication
            ?? AntiCloneCheck(.notChecked, "active authentication was not run")
        let cam = facts.paceCAM ?? AntiCloneCheck(.notSupported, "the chip did not run PACE-CAM")
        let antiClone: [(name: String, check: AntiCloneCheck)] = [
            ("chip-authentication", hidden(.dg14, chip, facts, ran: ran)),
            ("active-authentication", hidden(.dg15, active, facts, ran: ran)),
            ("pace-cam", cam),
        ]
        checks += antiClone.map { GenuinenessCheck(name: $0.name, outcome: $0.check.outcome, reason: $0.check.reason) }

        // A data group EF.SOD lists that enrollment relies on must have been read and hash-checked; and any file EF.SOD
        // lists that the chip refused only with an unprotected status word counts as withheld too: anyone between the
        // reader and the chip can send such an answer.
        var withheld: [DataGroup] = []
        for (group, check) in (facts.passive?.dataGroupHashes ?? [:]).sorted(by: { $0.key < $1.key })
        where check.status == .notChecked {
            let unprotected = facts.unprotectedRefusals.contains(group.fileID)
            guard unprotected || Self.usedByEnrollment.contains(group) else { continue }
            let reason =
                unprotected
                ? "EF.SOD lists \(group) but the chip refused it with a status word sent without secure messaging"
                : "EF.SOD lists \(group) but the chip did not give it up to be read and hash-checked"
            checks.append(GenuinenessCheck(name: "data-group-withheld", outcome: .failed, reason: reason))
            reasons.append(reason)
            withheld.append(group)
        }
        var anchored = true
        if let passive = facts.passive, passive.sodParsed.status == .pass,
            passive.issuingStateAnchored.status == .notChecked
        {
            anchored = false
            reasons.append(
                "the document's issuing state could not be bound to its trust anchor: "
                    + passive.issuingStateAnchored.reason)
        }
        if let uses = facts.passive?.sha1Uses, !uses.isEmpty {
            checks.append(
                GenuinenessCheck(
                    name: "sha-1", outcome: .passed,
                    reason: "SHA-1 accepted (trust.allow_sha1): " + uses.joined(separator: ", ")))
        }

        let failed = antiClone.filter { $0.check.outcome == .failed }
        let passed = antiClone.filter { $0.check.outcome == .passed }
        let offered = antiClone.filter { $0.check.outcome != .notSupported }
        var antiCloneOK = true
        if !failed.isEmpty {
            antiCloneOK = false
            reasons += failed.map { "\($0.name): \($0.check.reason)" }
        } else if passed.isEmpty && !offered.isEmpty && runAntiClone
            && offered.contains(where: { $0.name != "pace-cam" })
        {
            // The reader ran the protocols the chip offers and none proved the chip: the session ended first.
            antiCloneOK = false
            reasons.append(
                "no anti-clone protocol the chip offers could be verified: "
                    + offered.map { "\($0.name) \($0.check.outcome.rawValue)" }.joined(separator: ", "))
        } else if passed.isEmpty && requireAntiClone {
            antiCloneOK = false
            reasons.append(
                "the chip proves no anti-clone protocol (chip or active authentication, PACE-CAM) and the "
                    + "policy requires one (authenticity.require_anti_clone)")
        }
        return GenuinenessDecision(
            genuine: passivePassed && antiCloneOK && withheld.isEmpty && anchored,
            checks: checks, reasons: reasons, withheldDataGroups: withheld)
    }

    /// A failed check when EF.SOD lists `group` but the chip did not give the file up.
    private func hidden(
        _ group: DataGroup, _ check: AntiCloneCheck, _ facts: GenuinenessFacts,
        ran: Bool
    ) -> AntiCloneCheck {
        guard ran, !facts.filesRead.contains(group.fileID), check.outcome == .notSupported,
            let listed = facts.passive?.dataGroupHashes[group], listed.status == .notChecked
        else { return check }
        return AntiCloneCheck(.failed, "EF.SOD lists \(group) but the chip did not return it")
    }

    /// The data groups enrollment uses: the MRZ, the portrait, the personal number, the anti-clone keys. When EF.SOD
    /// lists one, it must be read and match its hash.
    public static let usedByEnrollment: Set<DataGroup> = [.dg1, .dg2, .dg11, .dg14, .dg15]

    static func outcome(_ status: PassiveAuthenticationCheck.Status) -> AntiCloneCheck.Outcome {
        switch status {
        case .pass: return .passed
        case .fail: return .failed
        case .notChecked: return .notChecked
        }
    }
}
