import EnrollAPIModel
import Enrollment

/// The authenticity verdict of a read: overall, then the summary checks (detailed passive checks with --json).
func printAuthenticity(_ verdict: AuthenticityVerdict) {
    print("genuine:     \(verdict.genuine ? "yes" : "NO")")
    let summary = ["access-control", "passive-authentication", "chip-authentication", "active-authentication",
                   "pace-cam"]
    for check in verdict.checks where summary.contains(check.name) {
        print("  \(check.name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(check.outcome): \(check.reason)")
    }
    for reason in verdict.reasons { print("  refused: \(reason)") }
}
