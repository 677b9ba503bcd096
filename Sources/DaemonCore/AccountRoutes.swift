import EnrollAPIModel
import UnixHTTP
import CertificateAuthority
import Enrollment
import Foundation
import OpenSSLKit
import Store

/// ISO 8601 text of a date (a formatter per call: ISO8601DateFormatter is not Sendable).
private func isoText(_ date: Date) -> String {
    ISO8601DateFormatter().string(from: date)
}

extension CertificateView {
    init(_ record: CertificateRecord) {
        self.init(serial: record.serial, state: record.state.rawValue, notBefore: isoText(record.notBefore),
                  notAfter: isoText(record.notAfter), revokedAt: record.revokedAt.map { isoText($0) },
                  revocationReason: record.revocationReason?.name, deviceId: record.deviceID,
                  pem: record.der.map { X509Certificate.pemArmour($0) })
    }
}

extension X509Certificate {
    /// PEM armour for DER bytes.
    static func pemArmour(_ der: [UInt8]) -> String {
        (try? X509Certificate(der: der))?.pem ?? ""
    }
}

/// The account, certificate and CRL operations behind the API.
public final class AccountService: @unchecked Sendable {
    public let store: any Store
    let protector: DataProtector
    let authority: IssuingAuthority
    let configuration: Configuration
    /// Brings an account's status up to date on every access (document expiry).
    let lifecycle: IdentityLifecycle?
    private let crlLock = NSLock()

    init(store: any Store, protector: DataProtector, authority: IssuingAuthority, configuration: Configuration,
         lifecycle: IdentityLifecycle? = nil) {
        self.store = store
        self.protector = protector
        self.authority = authority
        self.configuration = configuration
        self.lifecycle = lifecycle
    }

    func transaction<T>(_ body: (any StoreTransaction) throws(StoreError) -> T) throws(Problem) -> T {
        do {
            return try store.transaction { tx in try body(tx) }
        } catch {
            throw Problem(EnrollmentError.store(error))
        }
    }

    public func account(id: UUID) throws(Problem) -> AccountView {
        if let lifecycle {
            do throws(EnrollmentError) {
                _ = try lifecycle.refreshedAccount(id: id)
            } catch where error.code == "account-not-found" {
                throw Problem(.notFound, detail: "no account \(id.uuidString)")
            } catch {
                throw Problem(error)
            }
        }
        let (account, certificates) = try transaction { tx throws(StoreError) in
            (try tx.account(id: id), try tx.certificates(accountID: id))
        }
        guard let account else { throw Problem(.notFound, detail: "no account \(id.uuidString)") }
        let personal: PersonalData
        do {
            let plaintext = try protector.open(account.sealedPersonalData, context: account.id.uuidString)
            personal = try JSONDecoder().decode(PersonalData.self, from: Data(plaintext))
        } catch {
            throw Problem(.personalDataUnreadable, detail: "the account's sealed data cannot be opened: check the data key file")
        }
        return AccountView(id: account.id.uuidString, tier: account.tier.rawValue,
                           tierName: account.tier == .signing ? configuration.signingTierName : configuration.basicTierName,
                           status: account.status.rawValue, surname: personal.surname, givenNames: personal.givenNames,
                           documentType: personal.documentType, issuingState: personal.issuingState,
                           documentExpiry: personal.documentExpiry, createdAt: isoText(account.createdAt),
                           updatedAt: isoText(account.updatedAt),
                           certificates: certificates.filter { $0.state != .intent && $0.state != .abandoned }.map(CertificateView.init))
    }

    public func certificates(accountID: UUID) throws(Problem) -> [CertificateView] {
        let (account, certificates) = try transaction { tx throws(StoreError) in
            (try tx.account(id: accountID), try tx.certificates(accountID: accountID))
        }
        guard account != nil else { throw Problem(.notFound, detail: "no account \(accountID.uuidString)") }
        return certificates.filter { $0.state == .issued || $0.state == .revoked }.map(CertificateView.init)
    }

    /// Revokes one certificate (idempotent for the same reason).
    public func revoke(serial: String, reason: RevocationReason, at date: Date = Date(),
                       actor: UsageActor = .system) throws(Problem) -> CertificateView {
        let normalized = serial.uppercased()
        return try transaction { tx throws(StoreError) in
            guard var certificate = try tx.certificate(serial: normalized) else { throw StoreError.notFound("certificate \(normalized)") }
            if certificate.state == .issued {
                certificate.state = .revoked
                certificate.revokedAt = date
                certificate.revocationReason = reason
                try tx.updateCertificate(certificate)
                try UsageChain.append(tx, at: date, accountID: certificate.accountID, event: "certificate-revoked",
                                      actor: actor, detail: "\(certificate.serial) \(reason.name)")
            }
            return CertificateView(certificate)
        }
    }

    /// A freshly signed CRL of every revoked certificate (PEM), numbered from the store's counter. Abandoned
    /// intents whose certificate may have been signed (an interrupted issuance) carry a revocation date and
    /// are listed too.
    public func crl(now: Date = Date()) throws(Problem) -> IssuedCRL {
        let (revoked, number) = try transaction { tx throws(StoreError) in
            (try tx.certificates(state: .revoked) + tx.certificates(state: .abandoned).filter { $0.revokedAt != nil },
             try tx.nextValue(counter: "crl-number"))
        }
        let entries = revoked.map {
            Revocation(serialHex: $0.serial, date: $0.revokedAt ?? now,
                       reason: $0.revocationReason ?? .unspecified)
        }
        do {
            return try authority.makeCRL(revoked: entries, crlNumber: number, thisUpdate: now,
                                         nextUpdate: now.addingTimeInterval(24 * 3600))
        } catch {
            throw Problem(EnrollmentError(error))
        }
    }
}

extension Daemon {
    func accountService() throws(Problem) -> AccountService {
        guard let accounts else {
            throw Problem(.enrollmentUnavailable, detail: enrollmentUnavailableReason)
        }
        return accounts
    }

    func addAccountRoutes(to router: inout Router) {
        router.add(Route("GET", "/v1/accounts/{id}", .respond { [unowned self] context throws(Problem) in
            .json(try accountService().account(id: try parseUUID(context.parameters["id"], field: "account id")))
        }))
        router.add(Route("GET", "/v1/accounts/{id}/certificates", .respond { [unowned self] context throws(Problem) in
            .json(try accountService().certificates(accountID: try parseUUID(context.parameters["id"], field: "account id")))
        }))
        router.add(Route("POST", "/v1/certificates/{serial}/revoke", .respond { [unowned self] context throws(Problem) in
            struct Body: Decodable { var reason: String? }
            let body = context.request.body.isEmpty ? Body(reason: nil) : try context.decodeBody(Body.self)
            guard let reason = RevocationReason(name: body.reason ?? "unspecified") else {
                throw Problem(.invalidReason, detail: "unknown reason '\(body.reason ?? "")': use one of "
                                         + RevocationReason.allCases.map(\.name).joined(separator: ", "))
            }
            let view = try accountService().revoke(serial: context.parameters["serial"] ?? "", reason: reason,
                                                   actor: try context.actor())
            events.publish(.certificateRevoked(serial: view.serial, reason: reason.name))
            Log.notice("certificate \(view.serial) revoked (\(reason.name)) by uid \(context.peer.uid)")
            return .json(view)
        }))
        router.add(Route("GET", "/v1/crl", .respond { [unowned self] context throws(Problem) in
            let crl = try accountService().crl()
            if context.request.queryValue("format") == "der" {
                return HTTPResponse(status: 200, headers: [("Content-Type", "application/pkix-crl")], body: crl.der)
            }
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/x-pem-file")], body: Array(crl.pem.utf8))
        }))
    }
}
