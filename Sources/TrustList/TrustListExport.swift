import CertificateAuthority
import Foundation
import OpenSSLKit

/// Namespaces and algorithm URIs of ETSI TS 119 612, XML-DSig and XAdES (ETSI EN 319 132-1).
enum TrustListNames {
    static let tsl = "http://uri.etsi.org/02231/v2#"
    static let dsig = "http://www.w3.org/2000/09/xmldsig#"
    static let xades = "http://uri.etsi.org/01903/v1.3.2#"
    static let serviceExtensions = "http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#"
    static let tag = "http://uri.etsi.org/19612/TSLTag"
    static let version = 6
    static let notQualified = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/NotQualified"
    static let exclusiveC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
    static let enveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
    static let sha256 = "http://www.w3.org/2001/04/xmlenc#sha256"
    static let signedPropertiesType = "http://uri.etsi.org/01903#SignedProperties"
}

/// Writes and signs a trust list (ETSI TS 119 612 §5, Annex C XML) of our signing CA(s).
public enum TrustListExport {
    /// The list as signed XML: an enveloped XML-DSig signature (Reference URI "" with the enveloped-signature and
    /// exclusive C14N transforms, SHA-256) with XAdES signed properties (SigningTime, SigningCertificateV2) as
    /// TS 119 612 §5.7 asks, the signer's certificate in KeyInfo. `xmlsec1 --verify` checks it.
    /// - Parameters:
    ///   - signer: a trust list signer the CA issued (`issueDelegatedSigner(for: .trustListSigning, …)`).
    /// - Throws: `TrustListError.invalidList` for values TS 119 612 does not allow, `.signingFailed`.
    public static func signedXML(
        _ list: TrustServiceList, signer: DelegatedSigner, signingTime: Date = Date()
    )
        throws(TrustListError) -> [UInt8]
    {
        try validate(list)
        let signatureID = "signature-" + UUID().uuidString.lowercased()
        let propertiesID = "signed-properties-" + UUID().uuidString.lowercased()
        let method: String
        switch signer.key.keyType {
        case let .ec(_, bits) where bits > 384: method = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
        case let .ec(_, bits) where bits > 256: method = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
        case .ec: method = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
        case .rsa: method = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        case let .other(name): throw .signingFailed("\(name) keys cannot sign trust lists")
        }
        let certificateDigest: [UInt8]
        do {
            certificateDigest = try Digest.hash(signer.certificate.der, using: .sha256)
        } catch {
            throw .signingFailed("\(error)")
        }
        var xml = XMLWriter()
        xml.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        xml.open(
            "tsl:TrustServiceStatusList",
            [
                ("xmlns:tsl", TrustListNames.tsl), ("xmlns:ds", TrustListNames.dsig),
                ("xmlns:xades", TrustListNames.xades), ("xmlns:ecc", TrustListNames.serviceExtensions),
                ("Id", "trust-list-\(list.sequenceNumber)"), ("TSLTag", TrustListNames.tag),
            ])
        writeSchemeInformation(list, to: &xml)
        xml.open("tsl:TrustServiceProviderList")
        for provider in list.providers { writeProvider(provider, language: list.language, to: &xml) }
        xml.close("tsl:TrustServiceProviderList")

        // The signature template: xmlsec fills DigestValue and SignatureValue.
        xml.open("ds:Signature", [("Id", signatureID)])
        xml.open("ds:SignedInfo")
        xml.empty("ds:CanonicalizationMethod", [("Algorithm", TrustListNames.exclusiveC14N)])
        xml.empty("ds:SignatureMethod", [("Algorithm", method)])
        xml.open("ds:Reference", [("Id", "reference-trust-list"), ("URI", "")])
        xml.open("ds:Transforms")
        xml.empty("ds:Transform", [("Algorithm", TrustListNames.enveloped)])
        xml.empty("ds:Transform", [("Algorithm", TrustListNames.exclusiveC14N)])
        xml.close("ds:Transforms")
        xml.empty("ds:DigestMethod", [("Algorithm", TrustListNames.sha256)])
        xml.element("ds:DigestValue", "")
        xml.close("ds:Reference")
        xml.open("ds:Reference", [("Type", TrustListNames.signedPropertiesType), ("URI", "#" + propertiesID)])
        xml.open("ds:Transforms")
        xml.empty("ds:Transform", [("Algorithm", TrustListNames.exclusiveC14N)])
        xml.close("ds:Transforms")
        xml.empty("ds:DigestMethod", [("Algorithm", TrustListNames.sha256)])
        xml.element("ds:DigestValue", "")
        xml.close("ds:Reference")
        xml.close("ds:SignedInfo")
        xml.element("ds:SignatureValue", "")
        xml.open("ds:KeyInfo")
        xml.open("ds:X509Data")
        xml.element("ds:X509Certificate", Data(signer.certificate.der).base64EncodedString())
        xml.close("ds:X509Data")
        xml.close("ds:KeyInfo")
        xml.open("ds:Object")
        xml.open("xades:QualifyingProperties", [("Target", "#" + signatureID)])
        xml.open("xades:SignedProperties", [("Id", propertiesID)])
        xml.open("xades:SignedSignatureProperties")
        xml.element("xades:SigningTime", isoTime(signingTime))
        xml.open("xades:SigningCertificateV2")
        xml.open("xades:Cert")
        xml.open("xades:CertDigest")
        xml.empty("ds:DigestMethod", [("Algorithm", TrustListNames.sha256)])
        xml.element("ds:DigestValue", Data(certificateDigest).base64EncodedString())
        xml.close("xades:CertDigest")
        xml.close("xades:Cert")
        xml.close("xades:SigningCertificateV2")
        xml.close("xades:SignedSignatureProperties")
        xml.close("xades:SignedProperties")
        xml.close("xades:QualifyingProperties")
        xml.close("ds:Object")
        xml.close("ds:Signature")
        xml.close("tsl:TrustServiceStatusList")

        do {
            return try XMLSignature.sign(xml.bytes, key: signer.key)
        } catch {
            throw .signingFailed(error.reason)
        }
    }

    static func validate(_ list: TrustServiceList) throws(TrustListError) {
        guard list.sequenceNumber >= 1 else { throw .invalidList("TSLSequenceNumber must be 1 or more") }
        guard list.territory.count == 2, list.territory.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw .invalidList("territory \"\(list.territory)\" must be an ISO 3166-1 alpha-2 code such as HK")
        }
        guard list.nextUpdate > list.issueDate else { throw .invalidList("NextUpdate must follow ListIssueDateTime") }
        guard !list.providers.isEmpty else { throw .invalidList("no trust service provider") }
        for (_, service) in list.services {
            guard !service.certificates.isEmpty else {
                throw .invalidList("service \(service.name) has no certificate")
            }
            for oid in service.policyOIDs where (try? ASN1ObjectIdentifier.der(oid)) == nil {
                throw .invalidList("policy OID \(oid) is not an object identifier")
            }
        }
    }

    static func writeSchemeInformation(_ list: TrustServiceList, to xml: inout XMLWriter) {
        let lang = [("xml:lang", list.language)]
        xml.open("tsl:SchemeInformation")
        xml.element("tsl:TSLVersionIdentifier", "\(TrustListNames.version)")
        xml.element("tsl:TSLSequenceNumber", "\(list.sequenceNumber)")
        xml.element("tsl:TSLType", list.tslType)
        xml.open("tsl:SchemeOperatorName")
        xml.element("tsl:Name", list.schemeOperatorName, lang)
        xml.close("tsl:SchemeOperatorName")
        xml.open("tsl:SchemeOperatorAddress")
        writeAddress(
            list.schemeOperatorAddress, electronic: list.schemeOperatorElectronicAddress,
            language: list.language, to: &xml)
        xml.close("tsl:SchemeOperatorAddress")
        xml.open("tsl:SchemeName")
        xml.element("tsl:Name", "\(list.territory):\(list.schemeName)", lang)
        xml.close("tsl:SchemeName")
        xml.open("tsl:SchemeInformationURI")
        xml.element("tsl:URI", list.schemeInformationURI, lang)
        xml.close("tsl:SchemeInformationURI")
        xml.element("tsl:StatusDeterminationApproach", list.statusDeterminationApproach)
        xml.open("tsl:SchemeTypeCommunityRules")
        xml.element("tsl:URI", list.schemeTypeCommunityRules, lang)
        xml.close("tsl:SchemeTypeCommunityRules")
        xml.element("tsl:SchemeTerritory", list.territory)
        xml.open("tsl:PolicyOrLegalNotice")
        xml.element("tsl:TSLLegalNotice", list.legalNotice, lang)
        xml.close("tsl:PolicyOrLegalNotice")
        xml.element("tsl:HistoricalInformationPeriod", "65535")
        xml.element("tsl:ListIssueDateTime", isoTime(list.issueDate))
        xml.open("tsl:NextUpdate")
        xml.element("tsl:dateTime", isoTime(list.nextUpdate))
        xml.close("tsl:NextUpdate")
        if !list.distributionPoints.isEmpty {
            xml.open("tsl:DistributionPoints")
            for point in list.distributionPoints { xml.element("tsl:URI", point) }
            xml.close("tsl:DistributionPoints")
        }
        xml.close("tsl:SchemeInformation")
    }

    static func writeAddress(
        _ address: PostalAddress, electronic: String, language: String,
        to xml: inout XMLWriter
    ) {
        xml.open("tsl:PostalAddresses")
        xml.open("tsl:PostalAddress", [("xml:lang", language)])
        xml.element("tsl:StreetAddress", address.street)
        xml.element("tsl:Locality", address.locality)
        if let code = address.postalCode { xml.element("tsl:PostalCode", code) }
        xml.element("tsl:CountryName", address.countryName)
        xml.close("tsl:PostalAddress")
        xml.close("tsl:PostalAddresses")
        xml.open("tsl:ElectronicAddress")
        xml.element("tsl:URI", electronic, [("xml:lang", language)])
        xml.close("tsl:ElectronicAddress")
    }

    static func writeProvider(_ provider: TrustServiceProvider, language: String, to xml: inout XMLWriter) {
        let lang = [("xml:lang", language)]
        xml.open("tsl:TrustServiceProvider")
        xml.open("tsl:TSPInformation")
        xml.open("tsl:TSPName")
        xml.element("tsl:Name", provider.name, lang)
        xml.close("tsl:TSPName")
        if let trade = provider.tradeName {
            xml.open("tsl:TSPTradeName")
            xml.element("tsl:Name", trade, lang)
            xml.close("tsl:TSPTradeName")
        }
        xml.open("tsl:TSPAddress")
        writeAddress(provider.address, electronic: provider.electronicAddress, language: language, to: &xml)
        xml.close("tsl:TSPAddress")
        xml.open("tsl:TSPInformationURI")
        xml.element("tsl:URI", provider.informationURI, lang)
        xml.close("tsl:TSPInformationURI")
        xml.close("tsl:TSPInformation")
        xml.open("tsl:TSPServices")
        for service in provider.services { writeService(service, language: language, to: &xml) }
        xml.close("tsl:TSPServices")
        xml.close("tsl:TrustServiceProvider")
    }

    static func writeService(_ service: TrustService, language: String, to xml: inout XMLWriter) {
        xml.open("tsl:TSPService")
        xml.open("tsl:ServiceInformation")
        writeIdentity(
            type: service.typeIdentifier, name: service.name, certificates: service.certificates,
            status: service.status, since: service.statusStartingTime, language: language, to: &xml)
        if !service.statusLocations.isEmpty {
            xml.open("tsl:ServiceSupplyPoints")
            for location in service.statusLocations {
                switch location {
                case let .ocsp(url): xml.element("tsl:ServiceSupplyPoint", url, [("type", StatusLocation.ocspType)])
                case let .crl(url): xml.element("tsl:ServiceSupplyPoint", url, [("type", StatusLocation.crlType)])
                }
            }
            xml.close("tsl:ServiceSupplyPoints")
        }
        if !service.policyOIDs.isEmpty {
            // Certificates matching any of the policies are (TS 119 612 §5.5.9.2.3) not EU-qualified: true of
            // ours, and the standard place for a service's certificate policies.
            xml.open("tsl:ServiceInformationExtensions")
            xml.open("tsl:Extension", [("Critical", "true")])
            xml.open("ecc:Qualifications")
            xml.open("ecc:QualificationElement")
            xml.open("ecc:Qualifiers")
            xml.empty("ecc:Qualifier", [("uri", TrustListNames.notQualified)])
            xml.close("ecc:Qualifiers")
            xml.open("ecc:CriteriaList", [("assert", "atLeastOne")])
            for oid in service.policyOIDs {
                xml.open("ecc:PolicySet")
                xml.open("ecc:PolicyIdentifier")
                xml.element("xades:Identifier", "urn:oid:" + oid, [("Qualifier", "OIDAsURN")])
                xml.close("ecc:PolicyIdentifier")
                xml.close("ecc:PolicySet")
            }
            xml.close("ecc:CriteriaList")
            xml.close("ecc:QualificationElement")
            xml.close("ecc:Qualifications")
            xml.close("tsl:Extension")
            xml.close("tsl:ServiceInformationExtensions")
        }
        xml.close("tsl:ServiceInformation")
        if !service.history.isEmpty {
            xml.open("tsl:ServiceHistory")
            for instance in service.history {
                xml.open("tsl:ServiceHistoryInstance")
                writeIdentity(
                    type: instance.typeIdentifier, name: instance.name, certificates: instance.certificates,
                    status: instance.status, since: instance.statusStartingTime, language: language,
                    to: &xml)
                xml.close("tsl:ServiceHistoryInstance")
            }
            xml.close("tsl:ServiceHistory")
        }
        xml.close("tsl:TSPService")
    }

    static func writeIdentity(
        type: String, name: String, certificates: [X509Certificate], status: TrustServiceStatus,
        since: Date, language: String, to xml: inout XMLWriter
    ) {
        xml.element("tsl:ServiceTypeIdentifier", type)
        xml.open("tsl:ServiceName")
        xml.element("tsl:Name", name, [("xml:lang", language)])
        xml.close("tsl:ServiceName")
        xml.open("tsl:ServiceDigitalIdentity")
        for certificate in certificates {
            xml.open("tsl:DigitalId")
            xml.element("tsl:X509Certificate", Data(certificate.der).base64EncodedString())
            xml.close("tsl:DigitalId")
        }
        xml.close("tsl:ServiceDigitalIdentity")
        xml.element("tsl:ServiceStatus", status.rawValue)
        xml.element("tsl:StatusStartingTime", isoTime(since))
    }
}

/// `2025-01-31T12:00:00Z` (xsd:dateTime in UTC, whole seconds).
func isoTime(_ date: Date) -> String {
    var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return String(
        format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
        parts.tm_hour, parts.tm_min, parts.tm_sec)
}

/// Writes indented XML with escaped text and attributes.
struct XMLWriter {
    private(set) var bytes: [UInt8] = []
    private var depth = 0

    mutating func raw(_ text: String) { bytes += Array(text.utf8) }

    private mutating func indent() { bytes += Array(String(repeating: "  ", count: depth).utf8) }

    private static func attributes(_ list: [(String, String)]) -> String {
        list.map { " \($0.0)=\"\(escape($0.1, attribute: true))\"" }.joined()
    }

    mutating func open(_ name: String, _ attributes: [(String, String)] = []) {
        indent()
        raw("<\(name)\(Self.attributes(attributes))>\n")
        depth += 1
    }

    mutating func close(_ name: String) {
        depth -= 1
        indent()
        raw("</\(name)>\n")
    }

    mutating func empty(_ name: String, _ attributes: [(String, String)] = []) {
        indent()
        raw("<\(name)\(Self.attributes(attributes))/>\n")
    }

    mutating func element(_ name: String, _ text: String, _ attributes: [(String, String)] = []) {
        indent()
        raw("<\(name)\(Self.attributes(attributes))>\(Self.escape(text, attribute: false))</\(name)>\n")
    }

    /// XML 1.0 §2.4 and §3.3.3: `&`, `<`, `>` always; quotes and whitespace controls inside attribute values;
    /// characters XML 1.0 cannot carry are dropped.
    static func escape(_ text: String, attribute: Bool) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where attribute: out += "&quot;"
            case "\n" where attribute: out += "&#xA;"
            case "\t" where attribute: out += "&#x9;"
            case "\r": out += "&#xD;"
            default:
                let value = scalar.value
                if value == 0x9 || value == 0xA || (0x20...0xD7FF).contains(value) || (0xE000...0xFFFD).contains(value)
                    || (0x10000...0x10FFFF).contains(value)
                {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
