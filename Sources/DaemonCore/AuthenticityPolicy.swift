import EnrollAPIModel
import Enrollment
import MRTD

/// When a chip counts as genuine (ICAO 9303-11 §5, §6):
///
/// - access control (BAC or PACE) succeeded — always true for a read that returned;
/// - passive authentication passed (EF.SOD signed by a trusted, unrevoked document signer; hashes match);
/// - where the chip offers anti-clone protocols (chip authentication in DG14, active authentication with
///   DG15, PACE-CAM), at least one of them passed and none failed: a genuine chip never fails one, so any
///   failure (a clone answering with the wrong key, a tampered signature) refuses the document;
/// - a chip whose EF.SOD lists DG14 or DG15 but which would not give the file up is refused (an attempt to
///   hide its anti-clone key);
/// - a chip offering none: accepted on passive authentication alone (it may be a copy of a genuine chip's
///   data), unless `requireAntiClone`, which refuses it;
/// - PACE-CAM is listed but does not count yet: the reader checks the chip's CAM data against the key in
///   EF.CardSecurity, whose signature is not verified against the trust store (a clone could bring its own).
public struct AuthenticityPolicy: Sendable, Equatable {
    /// Refuse chips that offer no anti-clone protocol (config `authenticity.require_anti_clone`, default false:
    /// older documents without AA/CA are then accepted on passive authentication alone).
    public var requireAntiClone: Bool
    /// Run chip and active authentication during reads (config `authenticity.anti_clone`, default true).
    /// When off, the protocols are reported `not-checked` and only count against `requireAntiClone`.
    public var runAntiClone: Bool

    public init(requireAntiClone: Bool = false, runAntiClone: Bool = true) {
        self.requireAntiClone = requireAntiClone
        self.runAntiClone = runAntiClone
    }

    /// The verdict from passive authentication and what the read recorded of the anti-clone protocols.
    public func verdict(passive: PassiveAuthenticationResult?, passiveFailure: String?, read: DocumentReadResult?)
        -> AuthenticityVerdict {
        var checks: [AuthenticityVerdict.Check] = []
        var reasons: [String] = []
        if let read {
            checks.append(.init(name: "access-control", outcome: "passed",
                                reason: "\(read.accessDescription) established secure messaging"))
        }
        let passivePassed = passive?.passed ?? false
        if let passive {
            checks.append(.init(name: "passive-authentication", outcome: passive.passed ? "passed" : "failed",
                                reason: passive.passed ? "EF.SOD signed by a trusted document signer; data group hashes match"
                                    : passive.failures.joined(separator: "; ")))
            checks += passive.checks.map {
                .init(name: $0.name, outcome: AuthenticityChecker.outcome($0.check.status), reason: $0.check.reason)
            }
            reasons += passive.failures
        } else {
            let reason = passiveFailure ?? "the chip has no EF.SOD"
            checks.append(.init(name: "passive-authentication", outcome: "failed", reason: reason))
            reasons.append(reason == "the chip has no EF.SOD" ? "the chip has no EF.SOD to prove its data" : reason)
        }

        var antiClone: [(name: String, check: AntiCloneCheck)] = []
        let chip = read?.chipAuthentication ?? AntiCloneCheck(.notChecked, "chip authentication was not run")
        let active = read?.activeAuthentication ?? AntiCloneCheck(.notChecked, "active authentication was not run")
        antiClone.append(("chip-authentication", hidden(.dg14, passive, chip, read)))
        antiClone.append(("active-authentication", hidden(.dg15, passive, active, read)))
        let cam: AntiCloneCheck
        if read?.accessDescription.contains("-CAM") != true {
            cam = AntiCloneCheck(.notSupported, "the chip did not run PACE-CAM")
        } else if read?.accessDescription.contains("not verified") == true {
            cam = AntiCloneCheck(.notChecked, "PACE-CAM chip data was not verified")
        } else {
            cam = AntiCloneCheck(.notChecked, "PACE-CAM chip data matched the static key in EF.CardSecurity, but "
                                 + "EF.CardSecurity's signature is not checked against the trust store yet: not counted")
        }
        antiClone.append(("pace-cam", cam))
        checks += antiClone.map { .init(name: $0.name, outcome: $0.check.outcome.rawValue, reason: $0.check.reason) }

        let failed = antiClone.filter { $0.check.outcome == .failed }
        let passed = antiClone.filter { $0.check.outcome == .passed }
        let offered = antiClone.filter { $0.check.outcome != .notSupported }
        var antiCloneOK = true
        if !failed.isEmpty {
            antiCloneOK = false
            reasons += failed.map { "\($0.name): \($0.check.reason)" }
        } else if passed.isEmpty && !offered.isEmpty && policyRan(offered) {
            antiCloneOK = false
            reasons.append("no anti-clone protocol the chip offers could be verified: "
                           + offered.map { "\($0.name) \($0.check.outcome.rawValue)" }.joined(separator: ", "))
        } else if passed.isEmpty && requireAntiClone {
            antiCloneOK = false
            reasons.append("the chip proves no anti-clone protocol (chip or active authentication) and the policy "
                           + "requires one (authenticity.require_anti_clone)")
        }
        return AuthenticityVerdict(genuine: passivePassed && antiCloneOK, checks: checks, reasons: reasons)
    }

    /// Whether offered-but-unverified protocols count against the chip: yes when the reader ran them (a
    /// protocol `not-checked` after running means the session ended first), no when anti-clone is off.
    private func policyRan(_ offered: [(name: String, check: AntiCloneCheck)]) -> Bool {
        runAntiClone && offered.contains { $0.name != "pace-cam" }
    }

    /// A failed check when EF.SOD lists `group` but the chip did not give the file up.
    private func hidden(_ group: DataGroup, _ passive: PassiveAuthenticationResult?, _ check: AntiCloneCheck,
                        _ read: DocumentReadResult?) -> AntiCloneCheck {
        guard let read, read.files[group.fileID] == nil, check.outcome == .notSupported,
              let listed = passive?.dataGroupHashes[group], listed.status == .notChecked else { return check }
        return AntiCloneCheck(.failed, "EF.SOD lists \(group) but the chip did not return it")
    }
}
