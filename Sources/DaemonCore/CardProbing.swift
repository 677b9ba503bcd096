import UnixHTTP
import Foundation
import MRTD
import SmartCard

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

    public init(type: String, oid: String, description: String? = nil, version: Int? = nil, parameterId: Int? = nil,
                supported: Bool? = nil) {
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
    public var milliseconds: Double
}

extension CardReadService {
    /// Looks at the card in `reader` without reading personal data: ATR, extended length, EF.CardAccess, and,
    /// with `access`, which protocol opens the chip; whether the eMRTD application is present.
    public func probe(reader: String, access: AccessKey?) throws(Problem) -> CardProbeResponse {
        let started = DispatchTime.now()
        let context: PCSCContext
        let channel: PCSCCardChannel
        do {
            context = try PCSCContext()
            channel = try context.connect(reader: reader)
        } catch {
            throw Self.problem(for: error, reader: reader)
        }
        defer {
            channel.disconnect()
            withExtendedLifetime(context) {}
        }
        var response = CardProbeResponse(reader: reader, atr: hex(channel.atr),
                                         extendedLength: channel.supportsExtendedLength, cardAccessPresent: false,
                                         securityInfos: [], milliseconds: 0)
        do {
            if let infos = try SecurityInfos.read(from: channel) {
                response.cardAccessPresent = true
                response.securityInfos = infos.infos.map(Self.summary)
                response.preferredPACE = PACE.preferredInfo(in: infos)?.description
            }
            if let access {
                do {
                    let session = try DocumentReader(channel: channel).openSession(access: access)
                    response.accessProtocol = session.accessProtocol.rawValue
                    response.accessParameters = session.description
                    response.emrtdApplicationPresent = true
                } catch {
                    if case let .unexpectedStatus(operation, sw) = error, operation == "SELECT eMRTD application",
                       sw == .fileNotFound {
                        response.emrtdApplicationPresent = false
                    }
                    let problem = Self.problem(for: error, reader: reader)
                    response.accessError = "\(problem.code): \(problem.detail)"
                }
            } else {
                let select = try channel.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: eMRTDApplicationID))
                response.emrtdApplicationPresent = select.statusWord.isSuccess
            }
        } catch {
            throw Self.problem(for: error, reader: reader)
        }
        response.milliseconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
        Log.info("probed card in \(reader): \(response.preferredPACE ?? "no PACE"), "
                 + "access \(response.accessParameters ?? response.accessError ?? "not tried")")
        return response
    }

    static func summary(_ info: SecurityInfo) -> SecurityInfoSummary {
        switch info {
        case let .pace(pace):
            return SecurityInfoSummary(type: "PACEInfo", oid: pace.oid, description: pace.description,
                                       version: pace.version, parameterId: pace.parameterID,
                                       supported: PACE.supports(pace))
        case let .paceDomainParameters(domain):
            return SecurityInfoSummary(type: "PACEDomainParameterInfo", oid: domain.oid,
                                       parameterId: domain.parameterID)
        case let .chipAuthentication(ca):
            return SecurityInfoSummary(type: "ChipAuthenticationInfo", oid: ca.oid, version: ca.version)
        case let .chipAuthenticationPublicKey(key):
            return SecurityInfoSummary(type: "ChipAuthenticationPublicKeyInfo", oid: key.oid)
        case let .terminalAuthentication(ta):
            return SecurityInfoSummary(type: "TerminalAuthenticationInfo", oid: ta.oid, version: ta.version)
        case let .other(oid):
            return SecurityInfoSummary(type: "other", oid: oid)
        }
    }
}
