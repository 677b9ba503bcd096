import Foundation
import OpenSSLKit
import IssuingStates

/// The person a signing certificate is issued to, as the identity document's chip states it.
public struct CertificateHolder: Sendable, Equatable {
    /// The holder's name as the chip states it, given names first; MRZ fillers (`<`) read as spaces and runs of
    /// spaces collapse when the subject is built.
    public var name: String
    /// A pseudonymous, stable identifier for the holder chosen by the caller (never the document number):
    /// it becomes the subject's `serialNumber` attribute. 1–64 characters of `A-Z a-z 0-9 - . :`.
    public var pseudonym: String
    /// The issuing state's ICAO code (`UTO`, `D`, `VNM`) or an ISO alpha-2 code.
    public var issuingState: String

    public init(name: String, pseudonym: String, issuingState: String) {
        self.name = name
        self.pseudonym = pseudonym
        self.issuingState = issuingState
    }

    /// The name from its parts (DG11 full name or the MRZ's secondary and primary identifiers).
    public init(givenNames: String, surname: String, pseudonym: String, issuingState: String) {
        self.init(name: givenNames + " " + surname, pseudonym: pseudonym, issuingState: issuingState)
    }
}

/// The end-entity signing certificate profile: what every issued certificate carries besides the holder's
/// subject (RFC 5280 §4.2). Values come from the daemon's configuration.
public struct SigningCertificateProfile: Sendable, Equatable {
    /// Validity in whole years from issuance, cut back to the document's expiry and the CA's own expiry.
    public var validityYears: Int
    /// certificatePolicies policy identifiers (dotted OIDs), non-critical; empty leaves the extension out.
    public var policyOIDs: [String]
    /// crlDistributionPoints fullName URI (http or https), when set.
    public var crlDistributionPointURL: String?
    /// authorityInfoAccess id-ad-ocsp URI, when set.
    public var ocspURL: String?
    /// authorityInfoAccess id-ad-caIssuers URI, when set.
    public var caIssuersURL: String?
    /// How issuing states become the subject's `C` attribute.
    public var issuingStateCodes: IssuingStateCodes
    /// How far notBefore is set before the moment of issuance, for relying parties with slow clocks.
    public var clockSkewAllowance: TimeInterval

    public init(
        validityYears: Int = 3, policyOIDs: [String] = [], crlDistributionPointURL: String? = nil,
        ocspURL: String? = nil, caIssuersURL: String? = nil,
        issuingStateCodes: IssuingStateCodes = IssuingStateCodes(), clockSkewAllowance: TimeInterval = 0
    ) {
        self.validityYears = validityYears
        self.policyOIDs = policyOIDs
        self.crlDistributionPointURL = crlDistributionPointURL
        self.ocspURL = ocspURL
        self.caIssuersURL = caIssuersURL
        self.issuingStateCodes = issuingStateCodes
        self.clockSkewAllowance = clockSkewAllowance
    }

    /// Checks the configuration values before any certificate is issued with them.
    /// - Throws: `CertificateAuthorityError.invalidConfiguration` naming the bad value.
    public func validate() throws(CertificateAuthorityError) {
        guard (1...30).contains(validityYears) else {
            throw .invalidConfiguration("validity of \(validityYears) years: choose 1 to 30")
        }
        guard (0...86_400).contains(clockSkewAllowance) else {
            throw .invalidConfiguration("clock skew allowance \(clockSkewAllowance) s: choose 0 to 86400")
        }
        for oid in policyOIDs where !Self.isDottedOID(oid) {
            throw .invalidConfiguration("policy OID \"\(oid)\" is not a dotted object identifier such as 1.2.3.4")
        }
        for (label, url) in [
            ("CRL distribution point", crlDistributionPointURL), ("OCSP", ocspURL),
            ("CA issuers", caIssuersURL),
        ] {
            guard let url else { continue }
            guard Self.isPlainHTTPURL(url) else {
                throw .invalidConfiguration(
                    "\(label) URL \"\(url)\" must be http:// or https:// without spaces, "
                        + "commas or semicolons")
            }
        }
    }

    /// The subject distinguished name for `holder`: `C` (when the issuing state is known), `CN`, `serialNumber`.
    /// - Throws: `CertificateAuthorityError.invalidSubject` for empty or over-long names and bad pseudonyms.
    public func subject(for holder: CertificateHolder) throws(CertificateAuthorityError) -> DistinguishedName {
        let commonName = Self.normalisedName(holder.name)
        guard !commonName.isEmpty else { throw .invalidSubject("the holder's name is empty") }
        guard commonName.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }) else {
            throw .invalidSubject("the holder's name contains control characters")
        }
        guard commonName.unicodeScalars.count <= 64 else {
            throw .invalidSubject(
                "the holder's name has \(commonName.unicodeScalars.count) characters; "
                    + "X.520 commonName allows 64")
        }
        let pseudonymCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.:")
        guard (1...64).contains(holder.pseudonym.count), holder.pseudonym.allSatisfy(pseudonymCharacters.contains)
        else {
            throw .invalidSubject("the pseudonymous identifier must be 1–64 characters of A-Z a-z 0-9 - . :")
        }
        var attributes: [DistinguishedName.Attribute] = []
        if let country = issuingStateCodes.alpha2(forICAO: holder.issuingState) {
            attributes.append(.init("C", country))
        }
        attributes.append(.init("CN", commonName))
        attributes.append(.init("serialNumber", holder.pseudonym))
        return DistinguishedName(attributes)
    }

    /// The profile's extensions besides basicConstraints, keyUsage, SKI and AKI, in OpenSSL configuration syntax.
    func extraExtensions() throws(CertificateAuthorityError) -> [(name: String, value: String)] {
        var extensions: [(name: String, value: String)] = []
        if !policyOIDs.isEmpty {
            let value = try crypto { () throws(OpenSSLError) in
                try CertificatePolicies.extensionValue(policyOIDs: policyOIDs)
            }
            extensions.append(("certificatePolicies", value))
        }
        if let crlDistributionPointURL {
            extensions.append(("crlDistributionPoints", "URI:" + crlDistributionPointURL))
        }
        let access = [ocspURL.map { "OCSP;URI:" + $0 }, caIssuersURL.map { "caIssuers;URI:" + $0 }].compactMap { $0 }
        if !access.isEmpty { extensions.append(("authorityInfoAccess", access.joined(separator: ","))) }
        return extensions
    }

    static func normalisedName(_ name: String) -> String {
        name.replacingOccurrences(of: "<", with: " ")
            .split(whereSeparator: { $0.isWhitespace })
            .joined(separator: " ")
    }

    static func isDottedOID(_ text: String) -> Bool {
        let arcs = text.split(separator: ".", omittingEmptySubsequences: false)
        guard arcs.count >= 2, let first = Int(arcs[0]), (0...2).contains(first) else { return false }
        return arcs.allSatisfy { arc in
            !arc.isEmpty && arc.count <= 18 && arc.allSatisfy { $0.isASCII && $0.isNumber }
        }
    }

    static func isPlainHTTPURL(_ text: String) -> Bool {
        guard text.count <= 512, text.hasPrefix("http://") || text.hasPrefix("https://"),
            text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }),
            !text.contains(","), !text.contains(";"),
            let url = URL(string: text), let host = url.host, !host.isEmpty
        else { return false }
        return true
    }
}
