import CertificateAuthority
import EnrollAPIModel
import Enrollment
import Foundation
import MRTD
import OpenSSLKit
import Store
import UnixHTTP

extension Daemon {
    func accountService() throws(Problem) -> AccountService {
        guard let accounts else { throw Problem(.enrollmentUnavailable, detail: enrollmentUnavailableReason) }
        return accounts
    }

    /// Runs an account operation, turning its refusals into problems.
    func accountCall<T>(_ body: (AccountService) throws(EnrollmentError) -> T) throws(Problem) -> T {
        let service = try accountService()
        do throws(EnrollmentError) {
            return try body(service)
        } catch {
            throw Problem(error)
        }
    }

    /// The counter's card read for an account route: a reader the monitor knows and the caller may use, then the
    /// document, which must be genuine (`refusal` says what does not happen otherwise).
    private func genuineDocument(
        reader name: String, accessKey: AccessKeyRequest, _ context: RequestContext, refusal: String
    ) throws(Problem) -> CardRead {
        let access = try accessKey.accessKey()
        let reader = try usableReader(name, context)
        let read: CardRead
        do throws(CardReadFailure) {
            read = try cardReader.read(reader: reader, access: access, options: DocumentReader.Options(allowBAC: true))
        } catch {
            throw Problem(error)
        }
        guard read.verdict.genuine else {
            throw Problem(
                .documentNotGenuine,
                detail: "the document is not genuine (" + read.verdict.reasons.joined(separator: "; ") + "): "
                    + refusal)
        }
        return read
    }

    func addAccountRoutes(to router: inout Router) {
        router.add(
            Route(
                "GET", "/v1/accounts/{id}",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    return .json(try accountCall { service throws(EnrollmentError) in try service.account(id: id) })
                }))
        // The counter's look-up by card: only a genuine document finds an account (a cloned or forged chip naming
        // someone's identity number finds nothing), and the read is a card read like any other (events, limits).
        router.add(
            Route(
                "POST", "/v1/accounts/lookup",
                .respond { [unowned self] context throws(Problem) in
                    let body = try context.decodeBody(AccountLookupBody.self)
                    let service = try accountService()
                    let read = try genuineDocument(
                        reader: body.reader, accessKey: body.accessKey, context, refusal: "no account is looked up")
                    let found: AccountView?
                    do throws(EnrollmentError) {
                        found = try service.account(forDocument: read.data)
                    } catch {
                        throw Problem(error)
                    }
                    guard let found else {
                        throw Problem(.accountNotFound, detail: "this identity has no account: register it at a kiosk")
                    }
                    return .json(AccountLookup(accountId: found.id, tier: found.tier, status: found.status))
                }))
        // A changed name (after marriage, say) accepted at the counter: the holder's new document read on the
        // operator's reader, and the reason, recorded in the usage log (`HolderNameChange.swift`).
        router.add(
            Route(
                "POST", "/v1/accounts/{id}/holder-name",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    let body = try context.decodeBody(HolderNameChangeBody.self)
                    let actor = try context.actor()
                    let lifecycle = try lifecycleService()
                    let read = try genuineDocument(
                        reader: body.reader, accessKey: body.accessKey, context, refusal: "the name is not changed")
                    do throws(EnrollmentError) {
                        let facts = try DocumentFacts(document: read.data, rules: configuration.identityRules)
                        try lifecycle.approveHolderName(accountID: id, facts: facts, reason: body.reason, actor: actor)
                    } catch {
                        throw Problem(error)
                    }
                    Log.notice("account \(id.uuidString): changed holder name approved by uid \(context.peer.uid)")
                    return .json(try accountCall { service throws(EnrollmentError) in try service.account(id: id) })
                }))
        router.add(
            Route(
                "GET", "/v1/accounts/{id}/certificates",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "account id")
                    return .json(
                        try accountCall { service throws(EnrollmentError) in try service.certificates(accountID: id) })
                }))
        router.add(
            Route(
                "POST", "/v1/certificates/{serial}/revoke",
                .respond { [unowned self] context throws(Problem) in
                    struct Body: Decodable { var reason: String? }
                    let serial = context.parameters["serial"] ?? ""
                    let hexDigits = Set("0123456789abcdefABCDEF".utf8)
                    guard (1...40).contains(serial.utf8.count), serial.utf8.allSatisfy(hexDigits.contains) else {
                        throw Problem(
                            .invalidSerial,
                            detail: "the serial number is 1 to 40 hexadecimal digits (as "
                                + "GET /v1/accounts/{id}/certificates lists it)")
                    }
                    let body = context.request.body.isEmpty ? Body(reason: nil) : try context.decodeBody(Body.self)
                    guard let reason = RevocationReason(name: body.reason ?? "unspecified") else {
                        throw Problem(
                            .invalidReason,
                            detail: "unknown reason '\(body.reason ?? "")': use one of "
                                + RevocationReason.allCases.map(\.name).joined(separator: ", "))
                    }
                    let actor = try context.actor()
                    let view = try accountCall { service throws(EnrollmentError) in
                        try service.revoke(serial: serial, reason: reason, actor: actor)
                    }
                    events.publish(.certificateRevoked(serial: view.serial, reason: reason.name))
                    Log.notice("certificate \(view.serial) revoked (\(reason.name)) by uid \(context.peer.uid)")
                    return .json(view)
                }))
    }
}
