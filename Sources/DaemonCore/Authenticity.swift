import EnrollAPIModel
import Foundation
import MRTD

extension TrustAnchors {
    /// Loads the trust store in `directory` and logs what it loaded and skipped.
    static func loadLogged(
        directory: String, policy: GenuinenessPolicy,
        passivePolicy: PassiveAuthenticationPolicy
    ) -> TrustAnchors {
        let anchors = TrustAnchors(directory: directory, policy: policy, passivePolicy: passivePolicy)
        anchors.logLoad(TrustAnchors.load(directory).failure)
        return anchors
    }

    /// Re-reads the folder and logs it. Returns the number of CSCA certificates now trusted.
    @discardableResult
    func reloadLogged() -> Int {
        let fresh = reload()
        logLoad(fresh.failure)
        return fresh.store.cscaCertificates.count
    }

    private func logLoad(_ failure: TrustStoreError?) {
        if let failure {
            Log.warning("trust store \(directory) not loaded: \(failure); no document can be proven genuine")
            return
        }
        let store = current
        Log.info(
            "trust store \(directory): \(store.cscaCertificates.count) CSCA certificate(s), \(store.crls.count) CRL(s)")
        for skipped in store.report.skippedFiles {
            Log.warning("trust store: skipped \(skipped.file): \(skipped.reason)")
        }
    }

    var cscaCount: Int { current.cscaCertificates.count }
}

extension AuthenticityVerdict {
    /// The API's rendering of a genuineness decision.
    public init(_ decision: GenuinenessDecision) {
        self.init(
            genuine: decision.genuine,
            checks: decision.checks.map { Check(name: $0.name, outcome: $0.outcome.rawValue, reason: $0.reason) },
            reasons: decision.reasons)
    }
}
