import EnrollAPIModel
import UnixHTTP
import Foundation
import Enrollment
import MRTD
import SmartCard

extension CardReadService {
    /// Looks at the card in `reader` without reading personal data: ATR, extended length, EF.CardAccess, and,
    /// with `access`, which protocol opens the chip; whether the eMRTD application is present.
    public func probe(reader: String, access: AccessKey?) throws(CardReadFailure) -> CardProbeResponse {
        let started = DispatchTime.now()
        let channel: any CardConnection
        do {
            channel = try terminal.connect(reader: reader)
        } catch {
            throw Self.failure(for: error, reader: reader)
        }
        defer { channel.disconnect() }
        var response = CardProbeResponse(
            reader: reader, atr: hex(channel.atr),
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
                    response.cardExtendedLength = session.cardCapabilities?.extendedLength
                    response.cardMaxCommandLength = session.cardCapabilities?.maxCommandLength
                    response.cardMaxResponseLength = session.cardCapabilities?.maxResponseLength
                    // Read EF.COM as a read would: how large a chunk works, and whether the chip answers in plain.
                    let capabilities = session.cardCapabilities
                    let strategy = ReadBinaryStrategy(
                        extendedLength: channel.supportsExtendedLength && capabilities?.extendedLength != false,
                        secureMessaging: true, maxResponseLength: capabilities?.maxResponseLength)
                    _ = try strategy.readFile(.com, on: session.recovering)
                    response.readChunkSize = strategy.chunkSize
                    response.plainStatusAnswers = session.recovering.recovery.plainAnswers
                    response.sessionsReestablished = session.recovering.recovery.sessionsReestablished
                } catch {
                    if case let .unexpectedStatus(operation, sw) = error, operation == "SELECT eMRTD application",
                        sw == .fileNotFound
                    {
                        response.emrtdApplicationPresent = false
                    }
                    let failure = Self.failure(for: error, reader: reader, access: access)
                    response.accessError = "\(failure.problem.code): \(failure.description)"
                }
            } else {
                let select = try channel.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: eMRTDApplicationID))
                response.emrtdApplicationPresent = select.statusWord.isSuccess
            }
        } catch {
            throw Self.failure(for: error, reader: reader)
        }
        response.milliseconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
        Log.info(
            "probed card in \(reader): \(response.preferredPACE ?? "no PACE"), "
                + "access \(response.accessParameters ?? response.accessError ?? "not tried")")
        return response
    }

    static func summary(_ info: SecurityInfo) -> SecurityInfoSummary {
        switch info {
        case let .pace(pace):
            return SecurityInfoSummary(
                type: "PACEInfo", oid: pace.oid, description: pace.description,
                version: pace.version, parameterId: pace.parameterID,
                supported: PACE.supports(pace))
        case let .paceDomainParameters(domain):
            return SecurityInfoSummary(
                type: "PACEDomainParameterInfo", oid: domain.oid,
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
