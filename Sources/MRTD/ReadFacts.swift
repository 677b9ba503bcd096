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

    public init(algorithm: ChipAuthenticationAlgorithm, version: Int, keyID: Int?, command: ChipAuthenticationCommand,
                parameterID: Int?) {
        self.algorithm = algorithm
        self.version = version
        self.keyID = keyID
        self.command = command
        self.parameterID = parameterID
    }

    init(_ result: ChipAuthenticationResult) {
        self.init(algorithm: result.algorithm, version: result.version, keyID: result.keyID, command: result.command,
                  parameterID: result.domain.standardizedParameterID)
    }
}
