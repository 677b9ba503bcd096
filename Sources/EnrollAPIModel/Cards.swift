import Foundation

/// The access key a caller gives for a chip: the MRZ (or its three BAC fields), the CAN, or a photo of the card.
public struct AccessKeyRequest: Codable, Sendable {
    public var mrz: String?
    public var documentNumber: String?
    public var birthDate: String?
    public var expiryDate: String?
    public var can: String?
    /// A photo of the card (JPEG or PNG, base64), for `POST /v1/cards/read` and `POST /v1/enrollments`: the daemon
    /// reads the key from it and tries at most two candidates on the chip.
    public var scan: String?

    public init(
        mrz: String? = nil, documentNumber: String? = nil, birthDate: String? = nil, expiryDate: String? = nil,
        can: String? = nil, scan: String? = nil
    ) {
        self.mrz = mrz
        self.documentNumber = documentNumber
        self.birthDate = birthDate
        self.expiryDate = expiryDate
        self.can = can
        self.scan = scan
    }

}

/// `POST /v1/cards/read` body.
public struct CardReadRequest: Codable, Sendable {
    public var reader: String
    public var accessKey: AccessKeyRequest
    /// Return the portrait's bytes (base64) in the answer.
    public var includePortrait: Bool?
    /// Access policy: `false` refuses the BAC fallback (PACE only). Default: BAC when the chip offers no PACE.
    public var allowBAC: Bool?

    public init(reader: String, accessKey: AccessKeyRequest, includePortrait: Bool? = nil, allowBAC: Bool? = nil) {
        self.reader = reader
        self.accessKey = accessKey
        self.includePortrait = includePortrait
        self.allowBAC = allowBAC
    }

}

/// A portrait as the API describes it.
public struct PortraitInfo: Codable, Sendable {
    /// `jpeg` or `jpeg2000`.
    public var format: String
    public var width: Int
    public var height: Int
    /// Bytes of the image file as stored in DG2.
    public var size: Int
    /// Base64 of the image file, when asked for.
    public var data: String?

    public init(format: String, width: Int, height: Int, size: Int, data: String? = nil) {
        self.format = format
        self.width = width
        self.height = height
        self.size = size
        self.data = data
    }
}

/// How the chip was read.
public struct ReadStatistics: Codable, Sendable {
    public var apdus: Int
    public var bytesSent: Int
    public var bytesReceived: Int
    public var extendedLength: Bool
    public var readChunkSize: Int
    /// Status words the chip sent without secure messaging (taken as its answer, never data), and the sessions the
    /// reader opened again, with the same key, because the chip had closed its own.
    public var plainStatusAnswers: Int
    public var sessionsReestablished: Int
    public var milliseconds: Double

    public init(
        apdus: Int, bytesSent: Int, bytesReceived: Int, extendedLength: Bool, readChunkSize: Int,
        plainStatusAnswers: Int = 0, sessionsReestablished: Int = 0, milliseconds: Double
    ) {
        self.apdus = apdus
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.extendedLength = extendedLength
        self.readChunkSize = readChunkSize
        self.plainStatusAnswers = plainStatusAnswers
        self.sessionsReestablished = sessionsReestablished
        self.milliseconds = milliseconds
    }
}

/// The card-face data `POST /v1/cards/read` returns.
public struct CardFaceResponse: Codable, Sendable {
    public var reader: String
    public var documentType: String
    public var mrzFormat: String
    public var issuingState: String
    public var documentNumber: String
    public var surname: String
    public var givenNames: String
    public var nationality: String
    /// ISO 8601 date (`1974-08-12`), and the MRZ's `YYMMDD`.
    public var birthDate: String?
    public var birthDateMRZ: String
    public var sex: String
    public var expiryDate: String?
    public var expiryDateMRZ: String
    public var optionalData: String
    public var mrz: String
    /// Data groups EF.COM lists, e.g. `["DG1", "DG2", "DG11"]`.
    public var dataGroupsPresent: [String]
    /// Files actually read, including EF.COM and EF.SOD.
    public var filesRead: [String]
    public var accessProtocol: String
    /// The protocol with its parameters, e.g. `PACE-ECDH-GM-AES-128 brainpoolP256r1` or `BAC`.
    public var accessParameters: String?
    public var portrait: PortraitInfo?
    public var portraitCount: Int
    /// Passive authentication (and later active/chip authentication), check by check.
    public var authenticity: AuthenticityVerdict
    public var fullName: String?
    public var personalNumber: String?
    public var fullDateOfBirth: String?
    public var placeOfBirth: String?
    public var address: String?
    public var issuingAuthority: String?
    public var dateOfIssue: String?
    public var statistics: ReadStatistics

    public init(
        reader: String, documentType: String, mrzFormat: String, issuingState: String, documentNumber: String,
        surname: String, givenNames: String, nationality: String, birthDate: String? = nil, birthDateMRZ: String,
        sex: String, expiryDate: String? = nil, expiryDateMRZ: String, optionalData: String, mrz: String,
        dataGroupsPresent: [String], filesRead: [String], accessProtocol: String, accessParameters: String? = nil,
        portrait: PortraitInfo? = nil, portraitCount: Int, authenticity: AuthenticityVerdict, fullName: String? = nil,
        personalNumber: String? = nil, fullDateOfBirth: String? = nil, placeOfBirth: String? = nil,
        address: String? = nil, issuingAuthority: String? = nil, dateOfIssue: String? = nil, statistics: ReadStatistics
    ) {
        self.reader = reader
        self.documentType = documentType
        self.mrzFormat = mrzFormat
        self.issuingState = issuingState
        self.documentNumber = documentNumber
        self.surname = surname
        self.givenNames = givenNames
        self.nationality = nationality
        self.birthDate = birthDate
        self.birthDateMRZ = birthDateMRZ
        self.sex = sex
        self.expiryDate = expiryDate
        self.expiryDateMRZ = expiryDateMRZ
        self.optionalData = optionalData
        self.mrz = mrz
        self.dataGroupsPresent = dataGroupsPresent
        self.filesRead = filesRead
        self.accessProtocol = accessProtocol
        self.accessParameters = accessParameters
        self.portrait = portrait
        self.portraitCount = portraitCount
        self.authenticity = authenticity
        self.fullName = fullName
        self.personalNumber = personalNumber
        self.fullDateOfBirth = fullDateOfBirth
        self.placeOfBirth = placeOfBirth
        self.address = address
        self.issuingAuthority = issuingAuthority
        self.dateOfIssue = dateOfIssue
        self.statistics = statistics
    }
}

/// `POST /v1/cards/probe` body: the reader, and optionally an access key to try.
public struct CardProbeRequest: Codable, Sendable {
    public var reader: String
    public var accessKey: AccessKeyRequest?

    public init(reader: String, accessKey: AccessKeyRequest? = nil) {
        self.reader = reader
        self.accessKey = accessKey
    }
}

/// One SecurityInfo of EF.CardAccess as the API reports it.
public struct SecurityInfoSummary: Codable, Sendable, Equatable {
    /// `PACEInfo`, `PACEDomainParameterInfo`, `ChipAuthenticationInfo`, `ChipAuthenticationPublicKeyInfo`,
    /// `TerminalAuthenticationInfo` or `other`.
    public var type: String
    public var oid: String
    /// E.g. `PACE-ECDH-GM-AES-128 brainpoolP256r1`.
    public var description: String?
    public var version: Int?
    public var parameterId: Int?
    /// Whether this reader can run the PACE protocol it names.
    public var supported: Bool?

    public init(
        type: String, oid: String, description: String? = nil, version: Int? = nil, parameterId: Int? = nil,
        supported: Bool? = nil
    ) {
        self.type = type
        self.oid = oid
        self.description = description
        self.version = version
        self.parameterId = parameterId
        self.supported = supported
    }
}

/// What `POST /v1/cards/probe` found out about a card.
public struct CardProbeResponse: Codable, Sendable {
    public var reader: String
    public var atr: String
    /// Extended-length APDUs announced by the card and usable through the reader.
    public var extendedLength: Bool
    public var cardAccessPresent: Bool
    public var securityInfos: [SecurityInfoSummary]
    /// The PACE protocol a read would choose, if any.
    public var preferredPACE: String?
    /// Set when an access key was given and access succeeded: `PACE` or `BAC`, with its parameters.
    public var accessProtocol: String?
    public var accessParameters: String?
    /// Set when an access key was given and access failed: the problem code and detail.
    public var accessError: String?
    public var emrtdApplicationPresent: Bool?
    /// With an access key: EF.COM was read under secure messaging in chunks of this size.
    public var readChunkSize: Int?
    /// Status words the chip sent without secure messaging (taken as its answer), and sessions the reader opened
    /// again because the chip closed its own (ICAO 9303-11 §9.8.6).
    public var plainStatusAnswers: Int?
    public var sessionsReestablished: Int?
    /// EF.ATR/INFO (LDS 1.8) when the chip has it: extended length and the largest command and answer.
    public var cardExtendedLength: Bool?
    public var cardMaxCommandLength: Int?
    public var cardMaxResponseLength: Int?
    public var milliseconds: Double

    public init(
        reader: String, atr: String, extendedLength: Bool, cardAccessPresent: Bool,
        securityInfos: [SecurityInfoSummary], preferredPACE: String? = nil, accessProtocol: String? = nil,
        accessParameters: String? = nil, accessError: String? = nil, emrtdApplicationPresent: Bool? = nil,
        readChunkSize: Int? = nil, plainStatusAnswers: Int? = nil, sessionsReestablished: Int? = nil,
        cardExtendedLength: Bool? = nil, cardMaxCommandLength: Int? = nil, cardMaxResponseLength: Int? = nil,
        milliseconds: Double
    ) {
        self.readChunkSize = readChunkSize
        self.plainStatusAnswers = plainStatusAnswers
        self.sessionsReestablished = sessionsReestablished
        self.cardExtendedLength = cardExtendedLength
        self.cardMaxCommandLength = cardMaxCommandLength
        self.cardMaxResponseLength = cardMaxResponseLength
        self.reader = reader
        self.atr = atr
        self.extendedLength = extendedLength
        self.cardAccessPresent = cardAccessPresent
        self.securityInfos = securityInfos
        self.preferredPACE = preferredPACE
        self.accessProtocol = accessProtocol
        self.accessParameters = accessParameters
        self.accessError = accessError
        self.emrtdApplicationPresent = emrtdApplicationPresent
        self.milliseconds = milliseconds
    }
}

/// `POST /v1/cards/scan` body: one photo of the card (JPEG or PNG, base64).
public struct CardScanRequest: Codable, Sendable {
    public var image: String

    public init(image: String) {
        self.image = image
    }
}

/// The check-digit result of one MRZ field (ICAO 9303-3 §4.9) as the scan read it.
public struct CardScanFieldCheck: Codable, Sendable {
    /// `document number`, `date of birth`, `date of expiry`, `optional data (personal number)`, `composite`.
    public var field: String
    /// `passed` as read, `corrected` (after changing `correctedCharacters` characters), or `failed`.
    public var status: String
    public var correctedCharacters: Int?

    public init(field: String, status: String, correctedCharacters: Int? = nil) {
        self.field = field
        self.status = status
        self.correctedCharacters = correctedCharacters
    }
}

/// One access key the photo yields: the three BAC fields of the MRZ, or the CAN.
public struct CardScanCandidate: Codable, Sendable {
    /// `MRZ` or `CAN`.
    public var kind: String
    public var documentNumber: String?
    public var birthDate: String?
    public var expiryDate: String?
    public var can: String?
    /// 0...1, candidates ranked by it.
    public var confidence: Double
    /// MRZ keys of layouts with a composite check digit: whether it passes too.
    public var compositeCheckPassed: Bool?

    public init(
        kind: String, documentNumber: String? = nil, birthDate: String? = nil, expiryDate: String? = nil,
        can: String? = nil, confidence: Double, compositeCheckPassed: Bool? = nil
    ) {
        self.kind = kind
        self.documentNumber = documentNumber
        self.birthDate = birthDate
        self.expiryDate = expiryDate
        self.can = can
        self.confidence = confidence
        self.compositeCheckPassed = compositeCheckPassed
    }
}

/// What `POST /v1/cards/scan` found in the photo (personal data: show it to the holder, do not log it).
public struct CardScanResponse: Codable, Sendable {
    /// `td1`, `td2`, `td3` or `cardFront` (a CAN read from an ID-1 card front).
    public var layout: String
    /// The MRZ lines after correction (MRZ layouts).
    public var mrz: [String]?
    /// The CAN (card fronts).
    public var can: String?
    public var fieldChecks: [CardScanFieldCheck]
    public var candidates: [CardScanCandidate]
    public var milliseconds: Double
    /// Decode, locate, read, correct.
    public var timingsMs: [String: Double]

    public init(
        layout: String, mrz: [String]? = nil, can: String? = nil, fieldChecks: [CardScanFieldCheck],
        candidates: [CardScanCandidate], milliseconds: Double, timingsMs: [String: Double]
    ) {
        self.layout = layout
        self.mrz = mrz
        self.can = can
        self.fieldChecks = fieldChecks
        self.candidates = candidates
        self.milliseconds = milliseconds
        self.timingsMs = timingsMs
    }
}
