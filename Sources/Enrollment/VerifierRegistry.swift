import EnrollAPIModel
import Foundation
import OpenSSLKit
import Store

/// The registry of approved verifiers (admin): who may ask holders for which data elements, for what purpose,
/// until when, and with which client certificate. Every change is a usage record (event `verifier-added`,
/// `verifier-suspended`, `verifier-revoked`, `verifier-approved`; no account).
public final class VerifierRegistry: Sendable {
    public let store: any Store
    let now: @Sendable () -> Date
    /// Issues a client certificate under the verifier profile for a CSR (PEM): the daemon's CA.
    let issue:
        @Sendable (_ csrPEM: String, _ id: String, _ legalName: String, _ elements: [String], _ until: Date)
            throws(EnrollmentError) -> X509Certificate

    public init(
        store: any Store, now: @escaping @Sendable () -> Date = { Date() },
        issue: @escaping @Sendable (String, String, String, [String], Date) throws(EnrollmentError) -> X509Certificate
    ) {
        self.store = store
        self.now = now
        self.issue = issue
    }

    static func validate(_ body: VerifierAddBody) throws(EnrollmentError) {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
        guard (1...64).contains(body.id.count), body.id.allSatisfy(allowed.contains) else {
            throw EnrollmentError(.invalidVerifier, "a verifier id is 1 to 64 letters, digits, '-', '_' or '.'")
        }
        for (field, text) in [("legalName", body.legalName), ("purpose", body.purpose)] {
            guard (1...200).contains(text.count), !text.contains(where: { $0.isNewline || $0 == "," }) else {
                throw EnrollmentError(.invalidVerifier, "\(field) is one line of 1 to 200 characters without commas")
            }
        }
        guard (1...3650).contains(body.validDays) else {
            throw EnrollmentError(.invalidVerifier, "validDays is 1 to 3650")
        }
        guard (body.csr == nil) != (body.certificate == nil) else {
            throw EnrollmentError(
                .invalidVerifier,
                "send either csr (our CA issues the client certificate) or certificate (another CA's), not both")
        }
    }

    /// Adds a verifier, issuing its client certificate from `csr` or registering `certificate`.
    public func add(_ body: VerifierAddBody, actor: UsageActor) throws(EnrollmentError) -> VerifierView {
        try Self.validate(body)
        let elements = try VerifierElement.normalised(body.elements)
        // Whole seconds: the store keeps milliseconds, and the verifier is valid from the moment it is added.
        let at = Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down))
        let until = at.addingTimeInterval(TimeInterval(body.validDays) * 86_400)
        let certificate: X509Certificate
        let kind: VerifierCredentialKind
        if let csr = body.csr {
            certificate = try issue(csr, body.id, body.legalName, elements, until)
            kind = .issued
        } else {
            do {
                certificate = try X509Certificate(pem: body.certificate ?? "")
            } catch {
                throw EnrollmentError(.invalidVerifier, "certificate must be one PEM X.509 certificate")
            }
            guard certificate.isValid(at: at) else {
                throw EnrollmentError(.invalidVerifier, "the certificate is not valid now")
            }
            kind = .registered
        }
        let record = VerifierRecord(
            id: body.id, legalName: body.legalName, elements: elements, purpose: body.purpose, validFrom: at,
            validUntil: until, status: .approved, credential: kind,
            certificateFingerprint: Self.fingerprint(certificate), certificatePEM: certificate.pem, createdAt: at,
            updatedAt: at)
        try store.domainTransaction { tx in
            guard try tx.verifier(id: record.id) == nil else {
                throw EnrollmentError(.verifierExists, "verifier \(record.id) is already registered")
            }
            guard try tx.verifier(fingerprint: record.certificateFingerprint) == nil else {
                throw EnrollmentError(.verifierExists, "another verifier is registered with this certificate")
            }
            try tx.saveVerifier(record)
            try UsageChain.append(
                tx, at: at, accountID: nil, event: "verifier-added", actor: actor,
                detail: "\(record.id) \(kind.rawValue) elements \(elements.joined(separator: ","))")
        }
        return VerifierView(record)
    }

    public func list() throws(EnrollmentError) -> [VerifierView] {
        try store.domainTransaction { tx in try tx.verifiers().map(VerifierView.init) }
    }

    public func verifier(id: String) throws(EnrollmentError) -> VerifierRecord {
        guard let found = try store.domainTransaction({ tx in try tx.verifier(id: id) }) else {
            throw EnrollmentError(.verifierNotFound, "no verifier \(id.prefix(64)) in the registry")
        }
        return found
    }

    /// Suspends, revokes (final) or re-approves a verifier; effective on its next request.
    public func setStatus(
        id: String, _ body: VerifierStatusBody, actor: UsageActor
    ) throws(EnrollmentError) -> VerifierView {
        guard let status = VerifierStatus(rawValue: body.status) else {
            throw EnrollmentError(.invalidVerifier, "status is approved, suspended or revoked")
        }
        let at = now()
        return try store.domainTransaction { tx in
            guard var record = try tx.verifier(id: id) else {
                throw EnrollmentError(.verifierNotFound, "no verifier \(id.prefix(64)) in the registry")
            }
            if record.status == .revoked && status != .revoked {
                throw EnrollmentError(.invalidVerifier, "a revoked verifier stays revoked: register it anew")
            }
            record.status = status
            record.updatedAt = at
            try tx.saveVerifier(record)
            let reason = (body.reason ?? "").prefix(200).replacingOccurrences(of: "\n", with: " ")
            try UsageChain.append(
                tx, at: at, accountID: nil, event: "verifier-\(status.rawValue)", actor: actor,
                detail: "\(record.id)\(reason.isEmpty ? "" : ": " + reason)")
            return VerifierView(record)
        }
    }

    /// Lower-case hex SHA-256 of the certificate's DER.
    public static func fingerprint(_ certificate: X509Certificate) -> String {
        ((try? Digest.hash(certificate.der, using: .sha256)) ?? []).map { String(format: "%02x", $0) }.joined()
    }

    /// Why `record` may not ask for data now, or nil when it may.
    public static func refusal(_ record: VerifierRecord, at date: Date) -> EnrollmentError? {
        guard record.status == .approved else {
            return EnrollmentError(.verifierNotApproved, "verifier \(record.id) is \(record.status.rawValue)")
        }
        guard record.validFrom <= date, date < record.validUntil else {
            return EnrollmentError(.verifierNotApproved, "verifier \(record.id) is outside its validity")
        }
        return nil
    }
}

extension VerifierView {
    public init(_ record: VerifierRecord) {
        self.init(
            id: record.id, legalName: record.legalName, elements: record.elements, purpose: record.purpose,
            validFrom: isoText(record.validFrom), validUntil: isoText(record.validUntil),
            status: record.status.rawValue, credential: record.credential.rawValue,
            certificateFingerprint: record.certificateFingerprint, certificatePem: record.certificatePEM)
    }
}
