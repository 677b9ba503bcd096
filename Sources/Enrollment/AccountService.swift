import EnrollAPIModel
import Foundation
import MRTD
import OpenSSLKit
import Store

/// A revoked serial as a CRL lists it.
public struct RevokedSerial: Sendable, Equatable {
    public var serial: String
    public var date: Date
    public var reason: RevocationReason

    public init(serial: String, date: Date, reason: RevocationReason) {
        self.serial = serial
        self.date = date
        self.reason = reason
    }
}

/// What the next CRL lists, and its number.
public struct RevocationListContents: Sendable, Equatable {
    /// The next value of the store's `crl-number` counter (RFC 5280 §5.2.3).
    public var number: Int
    public var revoked: [RevokedSerial]

    public init(number: Int, revoked: [RevokedSerial]) {
        self.number = number
        self.revoked = revoked
    }
}

/// Accounts as the API shows them, their certificates, revocation and what the CRL lists.
///
/// Which certificates a CRL lists is decided here: every revoked certificate, and every abandoned intent whose
/// certificate may have been signed (an interrupted issuance carries a revocation date; see
/// `EnrollmentService.abandon`). CRL numbers come from the store's counter, taken in the same transaction as the
/// revocations, so they increase across restarts and across a fleet sharing the store, and a CRL never lists
/// fewer revocations than one with a lower number. The daemon's CRL cache signs what `revocationListContents`
/// returns.
public final class AccountService: Sendable {
    public let store: any Store
    let protector: any PersonalDataProtecting
    let lifecycle: IdentityLifecycle?
    let tierNames: (basic: String, signing: String)
    let now: @Sendable () -> Date
    /// Told about every revocation this service commits.
    let statusObserver: (any CertificateStatusObserver)?
    /// Which field of each state's documents is a personal identity number (as the enrollment policy's).
    let identityRules: IdentityRules

    public init(
        store: any Store, protector: any PersonalDataProtecting, lifecycle: IdentityLifecycle? = nil,
        tierNames: (basic: String, signing: String) = ("Basic", "Signing"),
        now: @escaping @Sendable () -> Date = { Date() },
        statusObserver: (any CertificateStatusObserver)? = nil, identityRules: IdentityRules = IdentityRules()
    ) {
        self.identityRules = identityRules
        self.store = store
        self.protector = protector
        self.lifecycle = lifecycle
        self.tierNames = tierNames
        self.now = now
        self.statusObserver = statusObserver
    }

    /// The account with its card-face data and certificates, its status brought up to date first.
    public func account(id: UUID) throws(EnrollmentError) -> AccountView {
        _ = try lifecycle?.refreshedAccount(id: id)
        let (account, certificates, documents, code) = try transaction { tx throws(StoreError) in
            (
                try tx.account(id: id), try tx.certificates(accountID: id), try tx.accountDocuments(accountID: id),
                try tx.activationCode(accountID: id, purpose: ContactCodes.activation)
            )
        }
        let pending = code.flatMap { $0.state == .pending ? $0 : nil }
        guard let account else { throw .accountNotFound(id) }
        let personal: PersonalData
        do {
            let plaintext = try protector.open(account.sealedPersonalData, context: account.id.uuidString)
            personal = try JSONDecoder().decode(PersonalData.self, from: Data(plaintext))
        } catch {
            throw EnrollmentError(
                .personalDataUnreadable,
                "the account's sealed data cannot be opened: check the data key file")
        }
        let shown = certificates.filter { $0.state != .intent && $0.state != .abandoned }
        return AccountView(
            id: account.id.uuidString, tier: account.tier.rawValue,
            tierName: account.tier == .signing ? tierNames.signing : tierNames.basic,
            status: account.status.rawValue, surname: personal.surname, givenNames: personal.givenNames,
            documentType: personal.documentType, issuingState: personal.issuingState,
            documentExpiry: personal.documentExpiry, createdAt: isoText(account.createdAt),
            updatedAt: isoText(account.updatedAt), certificates: shown.map(CertificateView.init),
            documents: IdentityLifecycle.documentViews(documents),
            activation: pending.map { _ in ActivationState.pendingActivation.rawValue },
            activationExpiresAt: pending.map { isoText($0.expiresAt) })
    }

    /// The account's issued and revoked certificates.
    public func certificates(accountID: UUID) throws(EnrollmentError) -> [CertificateView] {
        let (account, certificates) = try transaction { tx throws(StoreError) in
            (try tx.account(id: accountID), try tx.certificates(accountID: accountID))
        }
        guard account != nil else { throw .accountNotFound(accountID) }
        return certificates.filter { $0.state == .issued || $0.state == .revoked }.map(CertificateView.init)
    }

    /// Revokes one certificate, with its usage record (idempotent: a revoked one keeps its first date and reason). A
    /// certificate on hold (certificateHold, waiting for its activation) is revoked for good with `reason`: a hold
    /// may become a revocation (RFC 5280 §5.3.1), never the other way round, so no later activation releases it.
    public func revoke(
        serial: String, reason: RevocationReason, actor: UsageActor = .system
    )
        throws(EnrollmentError) -> CertificateView
    {
        let normalized = serial.uppercased()
        let date = now()
        var changed = false
        let certificate = try transaction { tx throws(StoreError) -> CertificateRecord? in
            guard var certificate = try tx.certificate(serial: normalized) else { return nil }
            changed = false
            let held = certificate.state == .revoked && certificate.revocationReason == .certificateHold
            if certificate.state == .issued || (held && reason != .certificateHold) {
                changed = true
                certificate.state = .revoked
                certificate.revokedAt = date
                certificate.revocationReason = reason
                try tx.updateCertificate(certificate)
                try UsageChain.append(
                    tx, at: date, accountID: certificate.accountID, event: "certificate-revoked",
                    actor: actor, detail: "\(certificate.serial) \(reason.name)")
            }
            return certificate
        }
        guard let certificate else {
            throw EnrollmentError(.certificateNotFound, "no certificate with serial \(normalized)")
        }
        if changed { statusObserver?.certificatesRevoked([certificate.serial]) }
        return CertificateView(certificate)
    }

    /// What a CRL lists now: every revoked certificate, and every abandoned intent with a revocation date (its
    /// certificate may have been signed before a crash or a failed commit).
    static func listedRevocations(_ tx: any StoreTransaction) throws(StoreError) -> [RevokedSerial] {
        let records = try tx.certificateStatuses(states: [.revoked, .abandoned], revokedSince: nil, limit: nil)
        return records.compactMap { record -> RevokedSerial? in
            guard let date = record.revokedAt else { return nil }
            return RevokedSerial(serial: record.serial, date: date, reason: record.revocationReason ?? .unspecified)
        }.sorted { $0.serial < $1.serial }
    }

    /// What a CRL lists now.
    public func revokedSerials() throws(EnrollmentError) -> [RevokedSerial] {
        try transaction { tx throws(StoreError) in try Self.listedRevocations(tx) }
    }

    /// The next CRL's number and entries, in one transaction: the number is the next value of the store's
    /// `crl-number` counter, so numbers stay monotonic across restarts and across a fleet on one database.
    public static func revocationListContents(store: any Store) throws(EnrollmentError) -> RevocationListContents {
        do {
            return try store.transaction { tx in
                let number = try tx.nextValue(counter: "crl-number")
                return RevocationListContents(number: number, revoked: try listedRevocations(tx))
            }
        } catch {
            throw .store(error)
        }
    }

    /// The account of the identity a card proves, found by its typed identity key (`IdentityResolution`, which
    /// also re-keys an account a migrated store kept under its old key); nil when the identity has no account. The
    /// caller has checked the card genuine.
    public func account(
        forDocument document: DocumentData, actor: UsageActor = .system
    ) throws(EnrollmentError) -> AccountView? {
        let facts = try DocumentFacts(document: document, rules: identityRules)
        let keys = try IdentityResolution.keys(facts, protector: protector)
        let (protector, at) = (self.protector, now())
        let found = try store.domainTransaction { tx in
            try IdentityResolution.account(
                tx, keys: keys, facts: facts, protector: protector, actor: actor, enrollmentID: nil, at: at)
        }
        guard let found else { return nil }
        return try account(id: found.id)
    }

    func transaction<T>(_ body: (any StoreTransaction) throws(StoreError) -> T) throws(EnrollmentError) -> T {
        do {
            return try store.transaction { tx in try body(tx) }
        } catch {
            throw .store(error)
        }
    }
}

/// ISO 8601 text of a date (a formatter per call: ISO8601DateFormatter is not Sendable).
func isoText(_ date: Date) -> String {
    ISO8601DateFormatter().string(from: date)
}

extension CertificateView {
    /// A certificate record as the API lists it (PEM when it was issued).
    public init(_ record: CertificateRecord) {
        self.init(
            serial: record.serial, state: record.state.rawValue, notBefore: isoText(record.notBefore),
            notAfter: isoText(record.notAfter), revokedAt: record.revokedAt.map { isoText($0) },
            revocationReason: record.revocationReason?.name, deviceId: record.deviceID,
            pem: record.der.flatMap { try? X509Certificate(der: $0) }?.pem)
    }
}
