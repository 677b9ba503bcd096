import MRTD
import SmartCard

/// Card-side secure messaging state (ICAO 9303-11 §9.8): verifies protected commands and protects responses,
/// with the same cipher suite code the reader uses.
public final class CardSecureMessaging {
    public let suite: SecureMessagingCipherSuite
    public private(set) var ssc: SendSequenceCounter

    public init(suite: SecureMessagingCipherSuite, ssc: SendSequenceCounter) {
        self.suite = suite
        self.ssc = ssc
    }

    /// Increments the SSC and verifies/decrypts `command`. On failure the caller answers with
    /// `statusWord(for:)` in plain and drops the session.
    public func unprotect(_ command: CommandAPDU) throws(MRTDError) -> CommandAPDU {
        ssc.increment()
        return try suite.unprotectCommand(command, ssc: ssc)
    }

    /// Increments the SSC and protects `response` (DO'85' instead of DO'87' for odd INS).
    public func protect(_ response: ResponseAPDU, oddInstruction: Bool) throws(MRTDError) -> ResponseAPDU {
        ssc.increment()
        return try suite.protectResponse(response, oddInstruction: oddInstruction, ssc: ssc)
    }

    /// The plain status word for an SM failure: 6987 when data objects are missing, 6988 when incorrect.
    public static func statusWord(for error: MRTDError) -> StatusWord {
        if case .secureMessaging(.missingChecksum) = error { return .smDataObjectsMissing }
        return .smDataObjectsIncorrect
    }

    /// The size of the protected response the suite produces for `plainLength` bytes of data.
    public func protectedResponseLength(plainLength: Int) -> Int {
        let block = suite.blockSize
        let statusAndChecksum = 4 + 10
        guard plainLength > 0 else { return statusAndChecksum }
        let valueLength = 1 + (plainLength / block + 1) * block
        return 1 + TLV.encode(length: valueLength).count + valueLength + statusAndChecksum
    }
}
