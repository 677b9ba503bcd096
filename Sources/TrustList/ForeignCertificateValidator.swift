import Foundation
import OpenSSLKit

/// Where the status of a validated certificate came from.
public enum StatusSource: Sendable, Equatable, CustomStringConvertible {
    case ocsp(String)
    case crl(String)

    public var description: String {
        switch self {
        case let .ocsp(url): return "OCSP \(url)"
        case let .crl(url): return "CRL \(url)"
        }
    }
}

/// A foreign signing certificate that validated: the trust list service it chains to, and its status.
public struct ForeignCertificateValidation: Sendable {
    public let territory: String
    public let schemeOperator: String
    public let provider: String
    public let service: String
    /// The certification path, the certificate first, the service's certificate last.
    public let path: [X509Certificate]
    /// The certificate policies that made it acceptable (those of the service it carries).
    public let matchedPolicies: [String]
    public let statusSource: StatusSource
    public let checkedAt: Date
}

/// Why a foreign certificate is not accepted.
public enum ForeignValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No imported service's certificate is an anchor of a valid path (RFC 5280 §6) for it.
    case noTrustedService(String)
    /// The path ends at a service whose status at that time is not one to rely on.
    case serviceNotTrusted(service: String, status: String)
    /// The service was not trusted when the certificate was issued (its notBefore).
    case issuedWhileServiceNotTrusted(service: String)
    case policyNotAccepted(certificate: [String], service: [String])
    case isServiceCertificate
    case revoked(at: Date, reason: CRLReason?, source: StatusSource)
    /// The issuer's responder says it does not know the certificate.
    case unknownToIssuer(source: StatusSource)
    /// No OCSP responder or CRL gave a usable answer.
    case statusUnavailable([String])

    public var code: String {
        switch self {
        case .noTrustedService: return "foreign-no-trusted-service"
        case .serviceNotTrusted: return "foreign-service-not-trusted"
        case .issuedWhileServiceNotTrusted: return "foreign-issued-while-not-trusted"
        case .policyNotAccepted: return "foreign-policy-not-accepted"
        case .isServiceCertificate: return "foreign-service-certificate"
        case .revoked: return "foreign-certificate-revoked"
        case .unknownToIssuer: return "foreign-certificate-unknown"
        case .statusUnavailable: return "foreign-status-unavailable"
        }
    }

    public var description: String {
        switch self {
        case let .noTrustedService(reason):
            return "the certificate does not chain to a service of an imported trust list (\(reason))"
        case let .serviceNotTrusted(service, status):
            return "the certificate chains to \(service), whose status is \(status): not to be relied on"
        case let .issuedWhileServiceNotTrusted(service):
            return "the certificate was issued when \(service) was not a trusted service"
        case let .policyNotAccepted(certificate, service):
            return "the certificate's policies \(certificate) are none of the service's \(service)"
        case .isServiceCertificate: return "this is the CA certificate of a trust service, not a signing certificate"
        case let .revoked(at, reason, source):
            return "the certificate was revoked at \(at.formatted(.iso8601)) "
                + "(\(reason?.description ?? "no reason given")), "
                + "says \(source)"
        case let .unknownToIssuer(source): return "the issuer does not know this certificate (\(source) says unknown)"
        case let .statusUnavailable(reasons):
            return "no OCSP responder or CRL of the issuer answered usably: " + reasons.joined(separator: "; ")
        }
    }
}

/// Validates signing certificates of other jurisdictions against their imported trust lists: an RFC 5280 path to
/// a service's certificate, the service trusted now and when the certificate was issued, one of the service's
/// certificate policies, and the status from the issuer's OCSP responder (RFC 6960; its AIA URL, then the
/// service's OCSP supply points) or else its CRL (the CRL distribution points, then the service's CRL supply
/// points), fetched through `fetcher`.
public struct ForeignCertificateValidator: Sendable {
    public let lists: [ImportedTrustList]
    public let fetcher: any StatusFetcher
    public var allowedSkew: TimeInterval
    /// Send a fresh nonce with every OCSP request and require it back (RFC 8954). Off by default: the lightweight
    /// profile (RFC 5019) serves pre-produced responses, and a response's validity interval bounds replay.
    public var requireOCSPNonce: Bool
    /// At most this many status locations are tried per certificate.
    public var maximumStatusLocations: Int

    public init(
        lists: [ImportedTrustList], fetcher: any StatusFetcher, allowedSkew: TimeInterval = 300,
        requireOCSPNonce: Bool = false, maximumStatusLocations: Int = 4
    ) {
        self.lists = lists
        self.fetcher = fetcher
        self.allowedSkew = allowedSkew
        self.requireOCSPNonce = requireOCSPNonce
        self.maximumStatusLocations = maximumStatusLocations
    }

    /// - Parameters:
    ///   - intermediates: certificates sent along with the signature that the path may pass through.
    /// - Throws: `ForeignValidationError`.
    public func validate(
        _ certificate: X509Certificate, intermediates: [X509Certificate] = [],
        at date: Date = Date()
    ) throws(ForeignValidationError) -> ForeignCertificateValidation {
        var pathFailures: [String] = []
        var untrusted: ForeignValidationError?
        for imported in lists {
            for (provider, service) in imported.list.services {
                let path: [X509Certificate]
                do {
                    path = try CertificatePath.validate(
                        certificate, anchors: service.certificates,
                        intermediates: intermediates, at: date)
                } catch {
                    pathFailures.append(error.reason)
                    continue
                }
                guard let status = service.status(at: date), status.isTrusted else {
                    untrusted = .serviceNotTrusted(
                        service: service.name,
                        status: service.status(at: date)?.description ?? "not listed")
                    continue
                }
                guard path.count >= 2 else { throw .isServiceCertificate }
                if let issuedAt = certificate.notBefore, service.status(at: issuedAt)?.isTrusted != true {
                    untrusted = .issuedWhileServiceNotTrusted(service: service.name)
                    continue
                }
                var matched: [String] = []
                if !service.policyOIDs.isEmpty {
                    matched = certificate.policyOIDs.filter(service.policyOIDs.contains)
                    guard !matched.isEmpty else {
                        throw .policyNotAccepted(certificate: certificate.policyOIDs, service: service.policyOIDs)
                    }
                }
                let source = try checkStatus(of: certificate, issuer: path[1], service: service, at: date)
                return ForeignCertificateValidation(
                    territory: imported.list.territory,
                    schemeOperator: imported.list.schemeOperatorName,
                    provider: provider.name, service: service.name, path: path,
                    matchedPolicies: matched, statusSource: source, checkedAt: date)
            }
        }
        if let untrusted { throw untrusted }
        throw .noTrustedService(pathFailures.first ?? "no trust list imported")
    }

    /// Asks OCSP first, then CRLs; returns the source that said `good`.
    private func checkStatus(
        of certificate: X509Certificate, issuer: X509Certificate, service: TrustService,
        at date: Date
    ) throws(ForeignValidationError) -> StatusSource {
        var failures: [String] = []
        var ocsp = certificate.ocspURLs
        var crls = certificate.crlDistributionPointURLs
        for location in service.statusLocations {
            switch location {
            case let .ocsp(url) where !ocsp.contains(url): ocsp.append(url)
            case let .crl(url) where !crls.contains(url): crls.append(url)
            default: break
            }
        }
        let locations = (ocsp.map(StatusSource.ocsp) + crls.map(StatusSource.crl)).prefix(maximumStatusLocations)
        for location in locations {
            switch location {
            case let .ocsp(url):
                do {
                    let status = try askOCSP(url, certificate: certificate, issuer: issuer, at: date)
                    switch status {
                    case .good: return location
                    case let .revoked(at, reason):
                        throw ForeignValidationError.revoked(
                            at: at, reason: reason,
                            source: location)
                    case .unknown: throw ForeignValidationError.unknownToIssuer(source: location)
                    }
                } catch let error as ForeignValidationError {
                    throw error
                } catch {
                    failures.append("\(location): \(error)")
                }
            case let .crl(url):
                do {
                    if let entry = try checkCRL(url, certificate: certificate, issuer: issuer, at: date) {
                        throw ForeignValidationError.revoked(
                            at: entry.revocationDate ?? date, reason: entry.reason,
                            source: location)
                    }
                    return location
                } catch let error as ForeignValidationError {
                    throw error
                } catch {
                    failures.append("\(location): \(error)")
                }
            }
        }
        throw .statusUnavailable(
            failures.isEmpty
                ? ["the certificate and the service name no status location"]
                : failures)
    }

    private struct Unusable: Error, CustomStringConvertible {
        let description: String
    }

    private func askOCSP(
        _ url: String, certificate: X509Certificate, issuer: X509Certificate,
        at date: Date
    ) throws -> OCSPCertificateStatus {
        let id = try OCSPCertificateID(certificate: certificate, issuer: issuer)
        let nonce = requireOCSPNonce ? try SecureRandom.bytes(16) : nil
        let request = try OCSPRequest.encode(certificateIDs: [id], nonce: nonce)
        let body = try fetcher.postOCSPRequest(request, to: url)
        let response = try OCSPResponse(der: body)
        let single = try response.verify(for: id, issuer: issuer, at: date, nonce: nonce, allowedSkew: allowedSkew)
        if single.nextUpdate == nil, single.thisUpdate < date - 3600 {
            throw Unusable(description: "a response without nextUpdate more than an hour old")
        }
        return single.status
    }

    /// The CRL's entry for the certificate, nil when it is not listed; throws when the CRL cannot be relied on.
    private func checkCRL(
        _ url: String, certificate: X509Certificate, issuer: X509Certificate,
        at date: Date
    ) throws -> CertificateRevocationList.Entry? {
        let body = try fetcher.fetchCRL(from: url)
        let crl: CertificateRevocationList
        if body.first == UInt8(ascii: "-") {
            crl = try CertificateRevocationList(pem: String(decoding: body, as: UTF8.self))
        } else {
            crl = try CertificateRevocationList(der: body)
        }
        guard crl.covers(certificate), crl.isSigned(by: try issuer.publicKey()) else {
            throw Unusable(description: "the CRL is not the issuer's or its signature does not verify")
        }
        if let thisUpdate = crl.thisUpdate, thisUpdate > date + allowedSkew {
            throw Unusable(description: "the CRL's thisUpdate is in the future")
        }
        guard let nextUpdate = crl.nextUpdate, nextUpdate >= date - allowedSkew else {
            throw Unusable(description: "the CRL is past its nextUpdate (or has none)")
        }
        return crl.entry(forSerial: certificate.serialNumber)
    }
}
