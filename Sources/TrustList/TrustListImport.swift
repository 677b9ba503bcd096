import Foundation
import OpenSSLKit

/// Another jurisdiction's trust list after its signature verified.
public struct ImportedTrustList: Sendable {
    public let list: TrustServiceList
    /// The certificate whose key signed the list.
    public let signer: X509Certificate
    /// The document as received, to keep and to verify again.
    public let signedXML: [UInt8]
}

/// Imports another jurisdiction's trust list (ETSI TS 119 612): its enveloped signature must verify with a
/// configured signer before a single element of it is read.
public enum TrustListImport {
    public static let maximumSize = 16 * 1024 * 1024
    /// id-tsl-kp-tslSigning (TS 119 612 §5.7.1).
    public static let trustListSigningOID = "0.4.0.2231.3.0"

    /// Verifies and reads `xml`.
    ///
    /// The signer is found among `signers` (configured out of band): either one of them is the certificate in the
    /// signature's KeyInfo (a pinned signer certificate), or the KeyInfo certificate chains (RFC 5280, at `date`)
    /// to one of them and carries id-tsl-kp-tslSigning (a pinned CA that issues trust list signers). Only then is
    /// the signature checked, and only the signed content — the canonical form of the whole document without its
    /// signature — is read.
    /// - Parameters:
    ///   - territory: the SchemeTerritory expected, when the caller knows it.
    ///   - previous: the list imported before from the same source: a lower sequence number is refused.
    /// - Throws: `TrustListError`.
    public static func verify(
        _ xml: [UInt8], signers: [X509Certificate], territory: String? = nil,
        previous: ImportedTrustList? = nil, at date: Date = Date(),
        allowedSkew: TimeInterval = 300
    ) throws(TrustListError) -> ImportedTrustList {
        guard xml.count <= maximumSize else { throw .tooLarge(size: xml.count, limit: maximumSize) }
        guard !signers.isEmpty else { throw .untrustedSigner("no signer is configured") }
        let embedded: [X509Certificate]
        do {
            embedded = try XMLSignature.signatureCertificates(xml)
        } catch {
            throw .malformed(error.reason)
        }
        let signer = try chooseSigner(embedded: embedded, configured: signers, at: date)
        let canonical: [UInt8]
        do {
            canonical = try XMLSignature.verify(xml, signer: signer)
        } catch {
            switch error.kind {
            case .malformed: throw .malformed(error.reason)
            case .invalid: throw .signatureInvalid(error.reason)
            case .failed: throw .untrustedSigner(error.reason)
            }
        }
        let root: XMLElement
        do {
            root = try CanonicalXML.parse(canonical)
        } catch {
            throw .malformed(error.reason)
        }
        let list = try TrustListReader.read(root)
        if let territory, list.territory != territory {
            throw .wrongTerritory(expected: territory, found: list.territory)
        }
        guard list.nextUpdate > date else { throw .expired(nextUpdate: list.nextUpdate) }
        guard list.issueDate <= date + allowedSkew else { throw .issuedInTheFuture(issueDate: list.issueDate) }
        if let previous, list.sequenceNumber < previous.list.sequenceNumber {
            throw .sequenceWentBack(imported: list.sequenceNumber, current: previous.list.sequenceNumber)
        }
        return ImportedTrustList(list: list, signer: signer, signedXML: xml)
    }

    static func chooseSigner(
        embedded: [X509Certificate], configured: [X509Certificate],
        at date: Date
    ) throws(TrustListError) -> X509Certificate {
        if let pinned = configured.first(where: { embedded.contains($0) }) { return pinned }
        guard !embedded.isEmpty else {
            // No certificate in KeyInfo: only a pinned signer certificate can say whose key it is.
            guard let only = configured.first(where: { !$0.isCertificateAuthority }) else {
                throw .untrustedSigner("the signature carries no certificate and no signer certificate is pinned")
            }
            return only
        }
        var reasons: [String] = []
        for candidate in embedded {
            do {
                _ = try CertificatePath.validate(candidate, anchors: configured, intermediates: embedded, at: date)
            } catch {
                reasons.append(error.reason)
                continue
            }
            guard candidate.extendedKeyUsageOIDs?.contains(trustListSigningOID) == true else {
                reasons.append("the signer certificate lacks id-tsl-kp-tslSigning")
                continue
            }
            return candidate
        }
        throw .untrustedSigner(reasons.first ?? "no certificate in the signature")
    }
}

/// TS 119 612 elements to values, strictly and with bounds; only ever given verified, canonical content.
enum TrustListReader {
    static let tsl = TrustListNames.tsl

    static func read(_ root: XMLElement) throws(TrustListError) -> TrustServiceList {
        guard root.namespace == tsl, root.name == "TrustServiceStatusList" else {
            throw .malformed("the root is {\(root.namespace)}\(root.name), not tsl:TrustServiceStatusList")
        }
        let scheme = try required(root, "SchemeInformation")
        let version = try text(scheme, "TSLVersionIdentifier")
        guard version == "5" || version == "6" else { throw .malformed("TSLVersionIdentifier \(version): 5 or 6 only") }
        guard let sequence = Int(try text(scheme, "TSLSequenceNumber")), sequence >= 1 else {
            throw .malformed("TSLSequenceNumber is not a positive integer")
        }
        let territory = scheme.child("SchemeTerritory", in: tsl)?.trimmedText ?? ""
        let operatorAddress = try required(scheme, "SchemeOperatorAddress")
        let providersElement = root.child("TrustServiceProviderList", in: tsl)
        let providerElements = providersElement?.children("TrustServiceProvider", in: tsl) ?? []
        guard providerElements.count <= 1000 else { throw .malformed("more than 1000 trust service providers") }
        var providers: [TrustServiceProvider] = []
        for element in providerElements { providers.append(try provider(element)) }
        return TrustServiceList(
            sequenceNumber: sequence, territory: territory,
            schemeOperatorName: try name(try required(scheme, "SchemeOperatorName")),
            schemeOperatorAddress: try address(operatorAddress),
            schemeOperatorElectronicAddress: operatorAddress.child("ElectronicAddress", in: tsl)?
                .child("URI", in: tsl)?.trimmedText ?? "",
            schemeName: try name(try required(scheme, "SchemeName")),
            schemeInformationURI: scheme.child("SchemeInformationURI", in: tsl)?.child("URI", in: tsl)?
                .trimmedText ?? "",
            legalNotice: scheme.child("PolicyOrLegalNotice", in: tsl)?.children.first?.trimmedText ?? "",
            issueDate: try date(try text(scheme, "ListIssueDateTime")),
            nextUpdate: try date(try text(try required(scheme, "NextUpdate"), "dateTime")),
            distributionPoints: scheme.child("DistributionPoints", in: tsl)?.children("URI", in: tsl)
                .map(\.trimmedText) ?? [],
            providers: providers,
            language: scheme.child("SchemeOperatorName", in: tsl)?.child("Name", in: tsl)?
                .attribute("lang", namespace: CanonicalXML.xmlNamespace) ?? "en")
    }

    static func provider(_ element: XMLElement) throws(TrustListError) -> TrustServiceProvider {
        let information = try required(element, "TSPInformation")
        let address = try required(information, "TSPAddress")
        let serviceElements = try required(element, "TSPServices").children("TSPService", in: tsl)
        guard serviceElements.count <= 1000 else { throw .malformed("more than 1000 services for one provider") }
        var services: [TrustService] = []
        for serviceElement in serviceElements { services.append(try service(serviceElement)) }
        return TrustServiceProvider(
            name: try name(try required(information, "TSPName")),
            tradeName: try information.child("TSPTradeName", in: tsl).map { element throws(TrustListError) in
                try name(element)
            },
            informationURI: information.child("TSPInformationURI", in: tsl)?.child("URI", in: tsl)?.trimmedText ?? "",
            address: try self.address(address),
            electronicAddress: address.child("ElectronicAddress", in: tsl)?.child("URI", in: tsl)?.trimmedText ?? "",
            services: services)
    }

    static func service(_ element: XMLElement) throws(TrustListError) -> TrustService {
        let information = try required(element, "ServiceInformation")
        var policies: [String] = []
        var locations: [StatusLocation] = []
        for point in information.child("ServiceSupplyPoints", in: tsl)?.children("ServiceSupplyPoint", in: tsl) ?? [] {
            switch point.attribute("type") {
            case StatusLocation.ocspType?: locations.append(.ocsp(point.trimmedText))
            case StatusLocation.crlType?: locations.append(.crl(point.trimmedText))
            default: break
            }
        }
        for ext in information.child("ServiceInformationExtensions", in: tsl)?.children("Extension", in: tsl) ?? [] {
            for qualifications in ext.children("Qualifications", in: TrustListNames.serviceExtensions) {
                for element in qualifications.children("QualificationElement", in: TrustListNames.serviceExtensions) {
                    policies += policyOIDs(element.child("CriteriaList", in: TrustListNames.serviceExtensions))
                }
            }
        }
        let historyElements =
            element.child("ServiceHistory", in: tsl)?
            .children("ServiceHistoryInstance", in: tsl) ?? []
        guard historyElements.count <= 256 else { throw .malformed("more than 256 service history instances") }
        var history: [TrustServiceHistoryInstance] = []
        for instance in historyElements {
            history.append(
                TrustServiceHistoryInstance(
                    typeIdentifier: try text(instance, "ServiceTypeIdentifier"),
                    name: try name(try required(instance, "ServiceName")),
                    certificates: try certificates(try required(instance, "ServiceDigitalIdentity")),
                    status: TrustServiceStatus(rawValue: try text(instance, "ServiceStatus")),
                    statusStartingTime: try date(try text(instance, "StatusStartingTime"))))
        }
        return TrustService(
            typeIdentifier: try text(information, "ServiceTypeIdentifier"),
            name: try name(try required(information, "ServiceName")),
            certificates: try certificates(try required(information, "ServiceDigitalIdentity")),
            status: TrustServiceStatus(rawValue: try text(information, "ServiceStatus")),
            statusStartingTime: try date(try text(information, "StatusStartingTime")),
            policyOIDs: Array(NSOrderedSet(array: policies).array.compactMap { $0 as? String }),
            statusLocations: locations, history: history)
    }

    /// Policy identifiers anywhere in a CriteriaList (nested lists included), dotted; `urn:oid:` prefixes removed.
    static func policyOIDs(_ criteria: XMLElement?, depth: Int = 0) -> [String] {
        guard let criteria, depth < 8 else { return [] }
        let sie = TrustListNames.serviceExtensions
        var oids: [String] = []
        for set in criteria.children("PolicySet", in: sie) {
            for identifier in set.children("PolicyIdentifier", in: sie) {
                guard let value = identifier.child("Identifier", in: TrustListNames.xades)?.trimmedText else {
                    continue
                }
                let dotted = value.hasPrefix("urn:oid:") ? String(value.dropFirst(8)) : value
                if (try? ASN1ObjectIdentifier.der(dotted)) != nil { oids.append(dotted) }
            }
        }
        for nested in criteria.children("CriteriaList", in: sie) { oids += policyOIDs(nested, depth: depth + 1) }
        return oids
    }

    static func certificates(_ identity: XMLElement) throws(TrustListError) -> [X509Certificate] {
        let ids = identity.children("DigitalId", in: tsl)
        guard ids.count <= 64 else { throw .malformed("more than 64 digital identities in one service") }
        var certificates: [X509Certificate] = []
        for id in ids {
            guard let text = id.child("X509Certificate", in: tsl)?.text else { continue }
            guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters),
                let certificate = try? X509Certificate(der: [UInt8](data))
            else { throw .malformed("a ServiceDigitalIdentity certificate does not parse") }
            certificates.append(certificate)
        }
        return certificates
    }

    static func address(_ element: XMLElement) throws(TrustListError) -> PostalAddress {
        guard let postal = element.child("PostalAddresses", in: tsl)?.child("PostalAddress", in: tsl) else {
            return PostalAddress(street: "", locality: "", countryName: "")
        }
        return PostalAddress(
            street: postal.child("StreetAddress", in: tsl)?.trimmedText ?? "",
            locality: postal.child("Locality", in: tsl)?.trimmedText ?? "",
            postalCode: postal.child("PostalCode", in: tsl)?.trimmedText,
            countryName: postal.child("CountryName", in: tsl)?.trimmedText ?? "")
    }

    /// The first Name of an InternationalNamesType.
    static func name(_ element: XMLElement) throws(TrustListError) -> String {
        guard let name = element.child("Name", in: tsl)?.trimmedText, !name.isEmpty else {
            throw .malformed("\(element.name) has no Name")
        }
        return name
    }

    static func required(_ element: XMLElement, _ name: String) throws(TrustListError) -> XMLElement {
        guard let child = element.child(name, in: tsl) else { throw .malformed("\(element.name)/\(name) is missing") }
        return child
    }

    static func text(_ element: XMLElement, _ name: String) throws(TrustListError) -> String {
        let value = try required(element, name).trimmedText
        guard !value.isEmpty else { throw .malformed("\(element.name)/\(name) is empty") }
        return value
    }

    /// xsd:dateTime as TS 119 612 §5.1.5 writes it: UTC, `Z`, optional fractional seconds.
    static func date(_ text: String) throws(TrustListError) -> Date {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        throw .malformed("\"\(text.prefix(40))\" is not an xsd:dateTime in UTC")
    }
}
