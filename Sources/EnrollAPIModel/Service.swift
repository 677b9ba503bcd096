import Foundation

/// A reader as `/v1/readers` reports it.
public struct ReaderInfo: Codable, Sendable, Equatable {
    public var name: String
    public var cardPresent: Bool
    /// Hexadecimal ATR of the card present, if any.
    public var atr: String?

    public init(name: String, cardPresent: Bool, atr: String? = nil) {
        self.name = name
        self.cardPresent = cardPresent
        self.atr = atr
    }
}

/// The body of `GET /v1/readers`.
public struct ReaderList: Codable, Sendable {
    /// Whether pcscd answers.
    public var pcscAvailable: Bool
    public var readers: [ReaderInfo]

    public init(pcscAvailable: Bool, readers: [ReaderInfo]) {
        self.pcscAvailable = pcscAvailable
        self.readers = readers
    }
}

/// The body of `GET /v1/health`.
public struct Health: Codable, Sendable {
    public var status: String
    public var version: String
    public var pcscAvailable: Bool
    public var readers: Int
    public var uptimeSeconds: Int

    public init(status: String, version: String, pcscAvailable: Bool, readers: Int, uptimeSeconds: Int) {
        self.status = status
        self.version = version
        self.pcscAvailable = pcscAvailable
        self.readers = readers
        self.uptimeSeconds = uptimeSeconds
    }
}
