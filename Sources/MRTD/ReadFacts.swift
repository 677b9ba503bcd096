import SmartCard

/// How chip authentication ran (ICAO 9303-11 §6.2): the typed facts behind `DocumentReadResult.chipAuthentication`,
/// set once the chip accepted the terminal's key (whether it then proved the new session or not).
public struct ChipAuthenticationRun: Sendable, Equatable {
    public let algorithm: ChipAuthenticationAlgorithm
    /// The ChipAuthenticationInfo version (1 when DG14 has only the key).
    public let version: Int
    public let keyID: Int?
    /// MSE:Set KAT (3DES version 1) or MSE:Set AT + GENERAL AUTHENTICATE.
    public let command: ChipAuthenticationCommand
    /// The standardized domain parameter ID of the chip's key, when it has one.
    public let parameterID: Int?

    public init(
        algorithm: ChipAuthenticationAlgorithm, version: Int, keyID: Int?, command: ChipAuthenticationCommand,
        parameterID: Int?
    ) {
        self.algorithm = algorithm
        self.version = version
        self.keyID = keyID
        self.command = command
        self.parameterID = parameterID
    }

    init(_ result: ChipAuthenticationResult) {
        self.init(
            algorithm: result.algorithm, version: result.version, keyID: result.keyID, command: result.command,
            parameterID: result.domain.standardizedParameterID)
    }
}

/// Which PACE ran (ICAO 9303-11 §4.4): protocol, mapping, domain and password, as typed facts.
public struct PACEFacts: Sendable, Equatable {
    /// Key agreement, mapping (GM, IM, CAM) and cipher.
    public let algorithm: PACEAlgorithm
    /// The standardized domain parameter ID (§9.5.1).
    public let parameterID: Int
    /// Password reference: MRZ (01) or CAN (02).
    public let password: String
    /// Every PACEInfo EF.CardAccess offered, supported or not (what `enrollctl probe` lists).
    public let offered: [PACEInfo]

    public init(algorithm: PACEAlgorithm, parameterID: Int, password: String, offered: [PACEInfo]) {
        self.algorithm = algorithm
        self.parameterID = parameterID
        self.password = password
        self.offered = offered
    }

    public var mapping: PACEMapping { algorithm.mapping }
}
