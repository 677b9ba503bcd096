import EnrollAPIModel
import UnixHTTP
import Enrollment
import Foundation
import Synchronization
import MRTD
import SmartCard

extension AccessKeyRequest {
    /// The BAC key, or a 400 problem saying what is missing or wrong.
    public func bacKey() throws(Problem) -> BACKey {
        do {
            if let mrz {
                let parsed = try MRZ(parsing: mrz)
                return try BACKey(
                    documentNumber: parsed.documentNumber, birthDate: parsed.birthDate,
                    expiryDate: parsed.expiryDate)
            }
            guard let documentNumber, let birthDate, let expiryDate else {
                if can != nil {
                    throw Problem(
                        .accessProtocolUnsupported,
                        detail: "this operation needs the MRZ: a CAN is accepted by card reads and probes")
                }
                throw Problem(
                    .missingAccessKey,
                    detail: "give the access key as mrz, or documentNumber + birthDate + expiryDate (YYMMDD)")
            }
            return try BACKey(documentNumber: documentNumber, birthDate: birthDate, expiryDate: expiryDate)
        } catch let problem as Problem {
            throw problem
        } catch let error as MRZError {
            throw Problem(.invalidMRZ, detail: "the MRZ is not valid: \(error)")
        } catch {
            throw Problem(.invalidAccessKey, detail: "\(error)")
        }
    }

    /// The access key for PACE (MRZ or CAN) with BAC as the MRZ fallback: the CAN when given, else the MRZ.
    public func accessKey() throws(Problem) -> AccessKey {
        guard let can else { return .mrz(try bacKey()) }
        do {
            return .can(try CardAccessNumber(can))
        } catch {
            throw Problem(.invalidAccessKey, detail: error.description)
        }
    }
}

extension CardReadRequest {
    /// The reader options this request asks for.
    public var readerOptions: DocumentReader.Options {
        DocumentReader.Options(allowBAC: allowBAC ?? true)
    }
}

/// A chip read: the parsed card-face data, the raw read, the genuineness verdict and how long it took.
public struct CardRead: Sendable {
    public var data: DocumentData
    public var result: DocumentReadResult
    public var decision: GenuinenessDecision
    public var verdict: AuthenticityVerdict
    public var milliseconds: Double
}

/// Reads chips on behalf of API callers: one read at a time per reader, each bounded by the read deadline.
public final class CardReadService: Sendable {
    private let busyReaders = Mutex<Set<String>>([])
    private let events: EventHub
    /// Where cards are connected (PC/SC readers, or virtual cards in process).
    public let terminal: any CardTerminal
    /// The trust store and the genuineness policy.
    public let trust: TrustAnchors
    /// Longest a read may take (`readers.read_timeout_seconds`).
    public let readTimeout: TimeInterval
    /// When BAC is refused and the weakest PACE domain used (`[readers] require_pace`, `minimum_pace_security_bits`),
    /// for every read: the API's card reads and enrollments alike.
    public let accessPolicy: AccessPolicy

    public init(
        events: EventHub, terminal: any CardTerminal = PCSCTerminal(), trust: TrustAnchors,
        readTimeout: TimeInterval = 60, accessPolicy: AccessPolicy = AccessPolicy()
    ) {
        self.events = events
        self.terminal = terminal
        self.trust = trust
        self.readTimeout = readTimeout
        self.accessPolicy = accessPolicy
    }

    /// Reads running now (one per busy reader): a gauge for `/metrics`, 0 when idle.
    public var activeReads: Int { busyReaders.withLock { $0.count } }

    /// Connects to the card in `reader`, reads it with `access` (PACE first, BAC as the MRZ fallback), parses the
    /// card-face data and decides whether the chip is genuine. Throws the failure in the domain's words.
    public func read(
        reader: String, access: AccessKey,
        options: DocumentReader.Options = .init()
    ) throws(CardReadFailure) -> CardRead {
        guard busyReaders.withLock({ $0.insert(reader).inserted }) else { throw .readerBusy(reader: reader) }
        defer { _ = busyReaders.withLock { $0.remove(reader) } }
        events.publish(.cardReadStarted(reader))
        let started = DispatchTime.now()
        var connection: (any CardConnection)?
        var deadline: DeadlineCardChannel?
        do {
            let channel = try terminal.connect(reader: reader)
            connection = channel
            defer { channel.disconnect() }
            let timed = DeadlineCardChannel(base: channel, seconds: readTimeout)
            deadline = timed
            var options = options
            options.antiClone = options.antiClone && trust.policy.runAntiClone
            options.accessPolicy = accessPolicy
            // EF.CardSecurity (PACE-CAM's key) is verified against the same trust store as EF.SOD.
            options.trustStore = trust.current
            let result = try DocumentReader(channel: timed, options: options).read(access: access)
            let data = try DocumentData(files: result.files)
            let decision = trust.decide(read: result)
            let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
            events.publish(.cardReadCompleted(reader, apdus: result.statistics.apdus, milliseconds: Int(milliseconds)))
            Log.info(
                "read card in \(reader): \(result.accessDescription), \(result.statistics), \(Int(milliseconds)) ms, "
                    + "genuine: \(decision.genuine)")
            return CardRead(
                data: data, result: result, decision: decision, verdict: AuthenticityVerdict(decision),
                milliseconds: milliseconds)
        } catch {
            var failure = Self.failure(for: error, reader: reader, access: access)
            if deadline?.expired == true {
                failure = .readTimeout(seconds: readTimeout)
            } else if let connection, Self.mayBeRemoval(error, failure) {
                // A transport failure says little; whether the card, the reader or pcscd went away says what to do.
                // A chip that refuses the key or the protocol may not have refused anything: a contactless reader
                // answers a card that left in the middle of a command with a status word of its own (6300, 6F00),
                // and blaming the key would send the holder to retype it (and count a PACE attempt against them).
                switch connection.presence(within: 1000) {
                case .removed: failure = .cardRemoved
                case .readerGone: failure = Self.failure(for: CardError.readerUnavailable, reader: reader)
                case .serviceGone: failure = Self.failure(for: CardError.noService, reader: reader)
                case .present: break
                }
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
            events.publish(
                .cardReadFailed(
                    reader, problem: Problem(EnrollmentError(failure)),
                    milliseconds: Int(elapsed)))
            Log.notice("card read in \(reader) failed: \(failure.problem.code)")
            throw failure
        }
    }

    /// Whether the read's failure may have been the card leaving, so that the card's presence decides: a transport
    /// failure (reader error, a secure messaging session that ended), or a refusal during access control (the key
    /// rejected, an unexpected status word or answer in BAC or PACE).
    static func mayBeRemoval(_ error: any Error, _ failure: CardReadFailure) -> Bool {
        switch error as? MRTDError {
        case .accessKeyRejected?, .unexpectedStatus?, .authenticationFailed?: return true
        default: break
        }
        return (failure.problem == .readerError || failure.problem == .chipSecurityError)
            && isTransportFailure(error)
    }

    /// Whether `error` is the transport failing (as opposed to the chip answering badly): when the card has left
    /// the reader as well, the read failed because the card was removed, whatever pcscd called it.
    static func isTransportFailure(_ error: any Error) -> Bool {
        if error is CardError { return true }
        switch error as? MRTDError {
        case .transport?, .cardRemoved?: return true
        case let .secureMessaging(reason)?: return reason == .sessionEnded
        default: return false
        }
    }

    /// What went wrong, in the domain's words, from the reader's and the chip's errors.
    static func failure(for error: any Error, reader: String, access: AccessKey? = nil) -> CardReadFailure {
        switch error {
        case let error as CardError:
            return failure(for: error, reader: reader)
        case let error as MRTDError:
            if error == DocumentReader.bacNotAllowed { return .accessProtocolUnsupported(error.description) }
            switch error {
            case let .accessPolicy(reason):
                return .accessPolicyRefused(reason)
            case let .accessKeyRejected(sw):
                if case .can = access { return .accessKeyRejected(statusWord: "\(sw)", withCAN: true) }
                return .accessKeyRejected(statusWord: "\(sw)", withCAN: false)
            case .invalidAccessKey:
                if case .can = access {
                    return .accessProtocolUnsupported(
                        "this chip does not offer PACE, so a CAN cannot open it: give the MRZ")
                }
                return .invalidAccessKey(error.description)
            case .cardRemoved:
                return .cardRemoved
            case let .transport(cardError):
                return failure(for: cardError, reader: reader)
            case .secureMessaging, .authenticationFailed:
                return .chipSecurity(error.description)
            case .unexpectedStatus, .malformedFile, .crypto:
                return .chip(error.description)
            }
        case let error as LDSError:
            return .malformedData("\(error)")
        default:
            return .internalError("\(error)")
        }
    }

    static func failure(for error: CardError, reader: String) -> CardReadFailure {
        switch error {
        case .noService: return .serviceUnavailable(error.description)
        case .unknownReader, .noReaders: return .readerNotFound(reader: reader)
        case .noCard: return .noCard(error.description)
        case .cardRemoved, .cardReset: return .cardRemoved
        case .sharingViolation: return .readerBusy(reader: reader)
        default: return .readerError(error.description)
        }
    }
}

extension CardFaceResponse {
    /// Builds the API's view of a read.
    public init(
        reader: String, data: DocumentData, result: DocumentReadResult, verdict: AuthenticityVerdict,
        milliseconds: Double, includePortrait: Bool
    ) {
        let mrz = data.mrz
        self.init(
            reader: reader, documentType: mrz.documentCode, mrzFormat: mrz.format.rawValue,
            issuingState: mrz.issuingState, documentNumber: mrz.documentNumber, surname: mrz.primaryIdentifier,
            givenNames: mrz.secondaryIdentifier, nationality: mrz.nationality,
            birthDate: (try? mrz.resolvedBirthDate())?.description, birthDateMRZ: mrz.birthDate, sex: mrz.sex.rawValue,
            expiryDate: (try? mrz.resolvedExpiryDate())?.description, expiryDateMRZ: mrz.expiryDate,
            optionalData: mrz.optionalData, mrz: mrz.text, dataGroupsPresent: data.com.dataGroups.map(\.description),
            filesRead: result.files.keys.sorted().map(\.description), accessProtocol: result.accessProtocol.rawValue,
            accessParameters: result.accessDescription,
            portrait: data.portrait.map {
                PortraitInfo(
                    format: $0.format == .jpeg ? "jpeg" : "jpeg2000", width: Int($0.width),
                    height: Int($0.height), size: $0.imageData.count,
                    data: includePortrait ? Data($0.imageData).base64EncodedString() : nil)
            },
            portraitCount: data.dg2?.faces.count ?? 0, authenticity: verdict, fullName: data.dg11?.fullName,
            personalNumber: data.dg11?.personalNumber, fullDateOfBirth: data.dg11?.fullDateOfBirth,
            placeOfBirth: data.dg11?.placeOfBirth, address: data.dg11?.address,
            issuingAuthority: data.dg12?.issuingAuthority, dateOfIssue: data.dg12?.dateOfIssue,
            statistics: ReadStatistics(
                apdus: result.statistics.apdus, bytesSent: result.statistics.bytesSent,
                bytesReceived: result.statistics.bytesReceived,
                extendedLength: result.usedExtendedLength, readChunkSize: result.readChunkSize,
                plainStatusAnswers: result.statistics.plainStatusAnswers,
                sessionsReestablished: result.statistics.sessionsReestablished,
                milliseconds: milliseconds))
    }
}
