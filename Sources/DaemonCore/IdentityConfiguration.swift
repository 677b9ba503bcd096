import Enrollment
import Foundation
import IssuingStates

extension Configuration {
    /// One `[identity] personal_number_by_state` entry, `STATE:RULE` (`UTO:td1-optional1`); nil when malformed.
    static func personalNumberRule(_ entry: String) -> (state: String, source: PersonalNumberSource)? {
        let parts = entry.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let source = PersonalNumberSource(rawValue: parts[1].lowercased()) else { return nil }
        let state = IssuingStateCodes.normalised(parts[0])
        guard (1...3).contains(state.count), state.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
        return (state, source)
    }

    /// `[identity]` as enrollment applies it.
    public var identityRules: IdentityRules {
        var byState: [String: PersonalNumberSource] = [:]
        for entry in personalNumberByState {
            if let rule = Self.personalNumberRule(entry) { byState[rule.state] = rule.source }
        }
        return IdentityRules(defaultSource: personalNumberSource, byState: byState)
    }
}
