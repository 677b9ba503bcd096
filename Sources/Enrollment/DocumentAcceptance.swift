import EnrollAPIModel
import IssuingStates

extension EnrollmentService {
    /// Whether enrollment accepts this document at all, before any account is looked up: a state outside
    /// `[trust] accepted_states` is refused (`state-not-accepted`), a data group EF.SOD lists but the chip withheld
    /// (DG1, DG2, DG11, DG14, DG15) is refused as `data-group-withheld`, and any other failure of the authenticity
    /// verdict as `document-not-genuine`. The same rules apply to a guardian's document.
    static func checkAccepted(
        _ document: VerifiedDocument, facts: DocumentFacts,
        policy: EnrollmentPolicy
    ) throws(EnrollmentError) {
        let state = IssuingStateCodes.normalised(facts.personal.issuingState)
        if !policy.acceptedStates.isEmpty, !policy.acceptedStates.contains(state) {
            throw .stateNotAccepted(state, accepted: policy.acceptedStates)
        }
        guard policy.requireGenuineDocument, !document.authenticity.genuine else { return }
        let withheld = document.authenticity.checks.filter {
            $0.name == "data-group-withheld" && $0.outcome == "failed"
        }
        if !withheld.isEmpty { throw .dataGroupWithheld(withheld.map(\.reason)) }
        throw .notGenuine(document.authenticity.reasons)
    }
}
