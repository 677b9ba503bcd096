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

/// A signed CRL.
public struct SignedRevocationList: Sendable {
    public var der: [UInt8]
    public var pem: String
    public var number: Int

    public init(der: [UInt8], pem: String, number: Int) {
        self.der = der
        self.pem = pem
        self.number = number
    }
}

/// Signs CRLs with the issuing key (the CA port of `AccountService`).
public protocol RevocationListSigning: Sendable {
    func signRevocationList(_ revoked: [RevokedSerial], number: Int, thisUpdate: Date,
                            nextUpdate: Date) throws(EnrollmentError) -> SignedRevocationList
}

/// Accounts as the API shows them, their certificates, revocation and the CRL.
///
/// Which certificates a CRL lists is decided here: every revoked certificate, and every abandoned intent whose
/// certificate may have been signed (an interrupted issuance carries a revocation date; see
/// `EnrollmentService.abandon`). CRL numbers come from the store's counter, so they increase across restarts and
/// across a fleet sharing the store.
public final class AccountService: Sendable {
    public let store: any Store
    let protector: any PersonalDataProtecting
    let signer: any RevocationListSigning
    let lifecycle: IdentityLifecycle?
    let tierNames: (basic: String, signing: String)
    let now: @Sendable () -> Date

    public init(store: any Store, protector: any PersonalDataProtecting, signer: any RevocationListSigning,
                lifecycle: IdentityLifecycle? = nil, tierNames: (basic: String, signing: String) = ("Basic", "Signing"),
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.protector = protector
        self.signer = signer
        self.lifecycle = lifecycle
        self.tierNames = tierNames
        self.now = now
    }

    /// The account with its card-face data and certificates, its status brought up to date first.
    public func account(id: UUID) throws(EnrollmentError) -> AccountView {
        _ = try lifecycle?.refreshedAccount(id: id)
        let (account, certificates) = try transaction { tx throws(StoreError) in
            (try tx.account(id: id), try tx.certificates(accountID: id))
        }
        guard let account else { throw .accountNotFound(id) }
        let personal: PersonalData
        do {
            let plaintext = try protector.open(account.sealedPersonalData, context: account.id.uuidString)
            personal = try JSONDecoder().decode(PersonalData.self, from: Data(plaintext))
        } catch {
            throw EnrollmentError(.personalDataUnreadable,
                                  "the account's sealed data cannot be opened: check the data key file")
        }
        let shown = certificates.filter { $0.state != .intent && $0.state != .abandoned }
        return AccountView(id: account.id.uuidString, tier: account.tier.rawValue,
                           tierName: account.tier == .signing ? tierNames.signing : tierNames.basic,
                           status: account.status.rawValue, surname: personal.surname, givenNames: personal.givenNames,
                           documentType: personal.documentType, issuingState: personal.issuingState,
                           documentExpiry: personal.documentExpiry, createdAt: isoText(account.createdAt),
                           updatedAt: isoText(account.updatedAt), certificates: shown.map(CertificateView.init))
    }

    /// The account's issued and revoked certificates.
    public func certificates(accountID: UUID) throws(EnrollmentError) -> [CertificateView] {
        let (account, certificates) = try transaction { tx throws(StoreError) in
            (try tx.account(id: accountID), try tx.certificates(accountID: accountID))
        }
        guard account != nil else { throw .accountNotFound(accountID) }
        return certificates.filter { $0.state == .issued || $0.state == .revoked }.map(CertificateView.init)
    }

    /// Revokes one certificate, with its usage record (idempotent: a revoked one keeps its first date and reason).
    public func revoke(serial: String, reason: RevocationReason, actor: UsageActor = .system)
        throws(EnrollmentError) -> CertificateView {
        let normalized = serial.uppercased()
        let date = now()
        let certificate = try transaction { tx throws(StoreError) -> CertificateRecord? in
            guard var certificate = try tx.certificate(serial: normalized) else { return nil }
            if certificate.state == .issued {
                certificate.state = .revoked
                certificate.revokedAt = date
                certificate.revocationReason = reason
                try tx.updateCertificate(certificate)
                try UsageChain.append(tx, at: date, accountID: certificate.accountID, event: "certificate-revoked",
                                      actor: actor, detail: "\(certificate.serial) \(reason.name)")
            }
            return certificate
        }
        guard let certificate else {
            throw EnrollmentError(.certificateNotFound, "no certificate with serial \(normalized)")
        }
        return CertificateView(certificate)
    }

    /// What a CRL lists now.
    public func revokedSerials() throws(EnrollmentError) -> [RevokedSerial] {
        let records = try transaction { tx throws(StoreError) in
            try tx.certificates(state: .revoked) + tx.certificates(state: .abandoned).filter { $0.revokedAt != nil }
        }
        return records.map {
            RevokedSerial(serial: $0.serial, date: $0.revokedAt ?? now(), reason: $0.revocationReason ?? .unspecified)
        }
    }

    /// A freshly signed CRL of every revoked serial, numbered from the store's counter, valid for a day.
    public func crl() throws(EnrollmentError) -> SignedRevocationList {
        let revoked = try revokedSerials()
        let number = try transaction { tx throws(StoreError) in try tx.nextValue(counter: "crl-number") }
        let at = now()
        return try signer.signRevocationList(revoked, number: Int(number), thisUpdate: at,
                                             nextUpdate: at.addingTimeInterval(24 * 3600))
    }

    /// The account of the identity a card proves, found by its identity key (the HMAC of issuing state and identity
    /// number, as at registration); nil when the identity has no account. The caller has checked the card genuine.
    public func account(forDocument document: DocumentData) throws(EnrollmentError) -> AccountView? {
        let facts = try DocumentFacts(document: document)
        let key = try protector.identityKey(issuingState: facts.personal.issuingState,
                                            identityNumber: facts.identityNumber)
        guard let id = try transaction({ tx throws(StoreError) in try tx.account(identityKey: key)?.id }) else {
            return nil
        }
        return try account(id: id)
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
        self.init(serial: record.serial, state: record.state.rawValue, notBefore: isoText(record.notBefore),
                  notAfter: isoText(record.notAfter), revokedAt: record.revokedAt.map { isoText($0) },
                  revocationReason: record.revocationReason?.name, deviceId: record.deviceID,
                  pem: record.der.flatMap { try? X509Certificate(der: $0) }?.pem)
    }
}
