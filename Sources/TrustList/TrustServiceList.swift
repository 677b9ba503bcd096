import Foundation
import OpenSSLKit

/// A trust service's status (ETSI TS 119 612 §5.5.4, URIs of Annex D), by its URI.
public struct TrustServiceStatus: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    static let prefix = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/"
    public static let granted = TrustServiceStatus(rawValue: prefix + "granted")
    public static let withdrawn = TrustServiceStatus(rawValue: prefix + "withdrawn")
    public static let recognisedAtNationalLevel = TrustServiceStatus(rawValue: prefix + "recognisedatnationallevel")
    public static let deprecatedAtNationalLevel = TrustServiceStatus(rawValue: prefix + "deprecatedatnationallevel")

    /// Whether certificates issued under a service in this status may be relied on: `granted` and
    /// `recognisedatnationallevel`, and the TS 102 231 statuses that meant the same (`undersupervision`,
    /// `accredited`, `supervisionincessation`). Any other URI, unknown ones included, is not trusted.
    public var isTrusted: Bool {
        let trusted = [
            "granted", "recognisedatnationallevel", "undersupervision", "accredited",
            "supervisionincessation",
        ]
        let legacy = "http://uri.etsi.org/TrstSvc/eSigDir-1999-93-EC-TrustedList/Svcstatus/"
        return trusted.contains { rawValue == Self.prefix + $0 || rawValue == legacy + $0 }
    }

    public var description: String { String(rawValue.split(separator: "/").last ?? Substring(rawValue)) }
}

/// Where relying parties ask about the status of certificates a service issued (TS 119 612 §5.5.7,
/// ServiceSupplyPoint with a type).
public enum StatusLocation: Sendable, Equatable {
    case ocsp(String)
    case crl(String)

    static let ocspType = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/OCSP"
    static let crlType = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/CRL"
}

/// A previous status of a service (TS 119 612 §5.6, ServiceHistoryInstance).
public struct TrustServiceHistoryInstance: Sendable, Equatable {
    public var typeIdentifier: String
    public var name: String
    public var certificates: [X509Certificate]
    public var status: TrustServiceStatus
    public var statusStartingTime: Date

    public init(
        typeIdentifier: String = TrustService.certificateAuthorityType, name: String,
        certificates: [X509Certificate], status: TrustServiceStatus, statusStartingTime: Date
    ) {
        self.typeIdentifier = typeIdentifier
        self.name = name
        self.certificates = certificates
        self.status = status
        self.statusStartingTime = statusStartingTime
    }
}

/// One trust service: for us, a signing CA (TS 119 612 §5.5).
public struct TrustService: Sendable, Equatable {
    /// "Certificate generation service, not qualified" (TS 119 612 §5.5.1.1).
    public static let certificateAuthorityType = "http://uri.etsi.org/TrstSvc/Svctype/CA/PKC"

    public var typeIdentifier: String
    public var name: String
    /// ServiceDigitalIdentity: the CA certificate(s) of the service (one key; a renewed certificate may join it).
    public var certificates: [X509Certificate]
    public var status: TrustServiceStatus
    public var statusStartingTime: Date
    /// Certificate policies of the certificates the service issues (a Qualifications extension whose criteria
    /// are these policies, TS 119 612 §5.5.9.2); empty: any.
    public var policyOIDs: [String]
    public var statusLocations: [StatusLocation]
    /// Previous statuses, newest first (TS 119 612 §5.5.10).
    public var history: [TrustServiceHistoryInstance]

    public init(
        typeIdentifier: String = TrustService.certificateAuthorityType, name: String,
        certificates: [X509Certificate], status: TrustServiceStatus = .granted, statusStartingTime: Date,
        policyOIDs: [String] = [], statusLocations: [StatusLocation] = [],
        history: [TrustServiceHistoryInstance] = []
    ) {
        self.typeIdentifier = typeIdentifier
        self.name = name
        self.certificates = certificates
        self.status = status
        self.statusStartingTime = statusStartingTime
        self.policyOIDs = policyOIDs
        self.statusLocations = statusLocations
        self.history = history
    }

    /// The status the service had at `date`: the current one from its starting time, before that the history
    /// instance that had started by then; nil before the service was listed at all.
    public func status(at date: Date) -> TrustServiceStatus? {
        if date >= statusStartingTime { return status }
        return history.filter { $0.statusStartingTime <= date }.max { $0.statusStartingTime < $1.statusStartingTime }?
            .status
    }
}

/// A trust service provider and its services (TS 119 612 §5.4).
public struct TrustServiceProvider: Sendable, Equatable {
    public var name: String
    public var tradeName: String?
    public var informationURI: String
    public var address: PostalAddress
    public var electronicAddress: String
    public var services: [TrustService]

    public init(
        name: String, tradeName: String? = nil, informationURI: String, address: PostalAddress,
        electronicAddress: String, services: [TrustService]
    ) {
        self.name = name
        self.tradeName = tradeName
        self.informationURI = informationURI
        self.address = address
        self.electronicAddress = electronicAddress
        self.services = services
    }
}

/// A postal address (TS 119 612 §5.3.5.1).
public struct PostalAddress: Sendable, Equatable {
    public var street: String
    public var locality: String
    public var postalCode: String?
    public var countryName: String

    public init(street: String, locality: String, postalCode: String? = nil, countryName: String) {
        self.street = street
        self.locality = locality
        self.postalCode = postalCode
        self.countryName = countryName
    }
}

/// A trusted list (ETSI TS 119 612 v2, TSLVersionIdentifier 6) of a scheme outside the EU: TSL type
/// `…/TSLType/<territory>list` and status determination `…/StatusDetn/<territory>determination` (Annex D.6).
public struct TrustServiceList: Sendable, Equatable {
    /// TSLSequenceNumber (§5.3.2): increases with every list issued; an importer refuses one that goes back.
    public var sequenceNumber: Int
    /// SchemeTerritory (§5.3.10): ISO 3166-1 alpha-2, e.g. `HK`, `MO`, `CN`.
    public var territory: String
    public var schemeOperatorName: String
    public var schemeOperatorAddress: PostalAddress
    public var schemeOperatorElectronicAddress: String
    public var schemeName: String
    public var schemeInformationURI: String
    public var legalNotice: String
    public var issueDate: Date
    public var nextUpdate: Date
    public var distributionPoints: [String]
    public var providers: [TrustServiceProvider]
    /// xml:lang of every name and text.
    public var language: String

    public init(
        sequenceNumber: Int, territory: String, schemeOperatorName: String,
        schemeOperatorAddress: PostalAddress, schemeOperatorElectronicAddress: String, schemeName: String,
        schemeInformationURI: String, legalNotice: String, issueDate: Date, nextUpdate: Date,
        distributionPoints: [String] = [], providers: [TrustServiceProvider], language: String = "en"
    ) {
        self.sequenceNumber = sequenceNumber
        self.territory = territory
        self.schemeOperatorName = schemeOperatorName
        self.schemeOperatorAddress = schemeOperatorAddress
        self.schemeOperatorElectronicAddress = schemeOperatorElectronicAddress
        self.schemeName = schemeName
        self.schemeInformationURI = schemeInformationURI
        self.legalNotice = legalNotice
        self.issueDate = issueDate
        self.nextUpdate = nextUpdate
        self.distributionPoints = distributionPoints
        self.providers = providers
        self.language = language
    }

    public var tslType: String { "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/\(territory)list" }
    public var statusDeterminationApproach: String {
        "http://uri.etsi.org/TrstSvc/TrustedList/StatusDetn/\(territory)determination"
    }
    public var schemeTypeCommunityRules: String { "http://uri.etsi.org/TrstSvc/TrustedList/schemerules/\(territory)" }

    /// Every service of every provider, with its provider.
    public var services: [(provider: TrustServiceProvider, service: TrustService)] {
        providers.flatMap { provider in provider.services.map { (provider, $0) } }
    }
}
