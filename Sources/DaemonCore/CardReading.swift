import EnrollAPIModel
import UnixHTTP
import Enrollment
import Foundation
import MRTD
import SmartCard

extension AccessKeyRequest {
    /// The BAC key, or a 400 problem saying what is missing or wrong.
    public func bacKey() throws(Problem) -> BACKey {
        do {
            if let mrz {
                let parsed = try MRZ(parsing: mrz)
                return try BACKey(documentNumber: parsed.documentNumber, birthDate: parsed.birthDate,
                                  expiryDate: parsed.expiryDate)
            }
            guard let documentNumber, let birthDate, let expiryDate else {
                if can != nil {
                    throw Problem(.accessProtocolUnsupported,
                                  detail: "this operation needs the MRZ: a CAN is accepted by card reads and probes")
                }
                throw Problem(.missingAccessKey,
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

/// Reads chips on behalf of API callers: one read at a time per reader.
public final class CardReadService: @unchecked Sendable {
    private let lock = NSLock()
    private var busyReaders: Set<String> = []
    private let events: EventHub
    /// The trust store and the genuineness policy.
    public let trust: TrustAnchors
    /// Longest a read may take (`readers.read_timeout_seconds`).
    public let readTimeout: TimeInterval

    public init(events: EventHub, trust: TrustAnchors, readTimeout: TimeInterval = 60) {
        self.events = events
        self.trust = trust
        self.readTimeout = readTimeout
    }

    /// Reads running now (one per busy reader): a gauge for `/metrics`, 0 when idle.
    public var activeReads: Int { lock.withLock { busyReaders.count } }

    /// Connects to the card in `reader`, reads it with the MRZ `key` (PACE when the chip offers it, else BAC),
    /// parses the card-face data.
    public func read(reader: String, key: BACKey, options: DocumentReader.Options = .init())
        throws(Problem) -> (data: DocumentData, result: DocumentReadResult, verdict: AuthenticityVerdict, milliseconds: Double) {
        try read(reader: reader, access: .mrz(key), options: options)
    }

    /// Connects to the card in `reader`, reads it with `access` (PACE first, BAC as the MRZ fallback),
    /// parses the card-face data.
    public func read(reader: String, access: AccessKey, options: DocumentReader.Options = .init())
        throws(Problem) -> (data: DocumentData, result: DocumentReadResult, verdict: AuthenticityVerdict, milliseconds: Double) {
        let claimed = lock.withLock { busyReaders.insert(reader).inserted }
        guard claimed else {
            throw Problem(.readerBusy, detail: "another read is running on '\(reader)': wait for it to finish")
        }
        defer { _ = lock.withLock { busyReaders.remove(reader) } }
        events.publish(.cardReadStarted(reader))
        let started = DispatchTime.now()
        var connection: PCSCCardChannel?
        var deadline: DeadlineCardChannel?
        do {
            let channel = try PCSCContext().connect(reader: reader)
            connection = channel
            defer { channel.disconnect() }
            let timed = DeadlineCardChannel(base: channel, seconds: readTimeout)
            deadline = timed
            var options = options
            options.antiClone = options.antiClone && trust.policy.runAntiClone
            let result = try DocumentReader(channel: timed, options: options).read(access: access)
            let data = try DocumentData(files: result.files)
            let verdict = AuthenticityVerdict(trust.decide(read: result))
            let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
            events.publish(.cardReadCompleted(reader, apdus: result.statistics.apdus, milliseconds: Int(milliseconds)))
            Log.info("read card in \(reader): \(result.accessDescription), \(result.statistics), "
                     + "\(Int(milliseconds)) ms, "
                     + "genuine: \(verdict.genuine)")
            return (data, result, verdict, milliseconds)
        } catch {
            var problem = Self.problem(for: error, reader: reader)
            if deadline?.expired == true {
                problem = Problem(.cardReadTimeout, detail: "the card did not finish the read within \(Self.seconds(readTimeout)) s: hold it "
                                      + "flat and still on the reader, then tap again")
            } else if ["reader-error", "chip-security-error"].contains(problem.code), Self.isTransportFailure(error),
                      let connection {
                // A transport failure says little; whether the card, the reader or pcscd went away says what to do.
                switch connection.presence() {
                case .removed: problem = Self.cardRemovedProblem
                case .readerGone: problem = Self.problem(for: CardError.readerUnavailable, reader: reader)
                case .serviceGone: problem = Self.problem(for: CardError.noService, reader: reader)
                case .present: break
                }
            } else if error as? MRTDError == DocumentReader.bacNotAllowed {
                problem = Problem(.accessProtocolUnsupported, detail: DocumentReader.bacNotAllowed.description)
            } else if case .can = access, case let .accessKeyRejected(sw) = error as? MRTDError {
                problem = Problem(.accessKeyRejected, detail: "the chip rejected the access key: check the CAN, the 6 digits printed on "
                                      + "the front of the card (SW \(sw))")
            } else if case .can = access, case .invalidAccessKey = error as? MRTDError {
                problem = Problem(.accessProtocolUnsupported, detail: "this chip does not offer PACE, so a CAN cannot open it: give the MRZ")
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
            events.publish(.cardReadFailed(reader, problem: problem, milliseconds: Int(elapsed)))
            Log.notice("card read in \(reader) failed: \(problem.code)")
            throw problem
        }
    }

    static let cardRemovedProblem = Problem(.cardRemoved, detail: CardError.cardRemoved.description)

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

    static func seconds(_ value: TimeInterval) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// Maps reading failures to problems a kiosk can show and act on.
    static func problem(for error: any Error, reader: String) -> Problem {
        switch error {
        case let error as CardError:
            return problem(for: error, reader: reader)
        case let error as MRTDError:
            switch error {
            case .accessKeyRejected:
                return Problem(.accessKeyRejected, detail: error.description)
            case .invalidAccessKey:
                return Problem(.invalidAccessKey, detail: error.description)
            case .cardRemoved:
                return cardRemovedProblem
            case let .transport(cardError):
                return problem(for: cardError, reader: reader)
            case .secureMessaging, .authenticationFailed:
                return Problem(.chipSecurityError, detail: "\(error.description); the session was aborted: tap the card again, and if it "
                                   + "keeps failing the chip may not be genuine")
            case .unexpectedStatus, .malformedFile, .crypto:
                return Problem(.chipError, detail: "\(error.description): take the card off the reader and tap it again; if this "
                                   + "keeps happening the chip is damaged")
            }
        case let error as LDSError:
            return Problem(.malformedChipData, detail: "the chip's data is malformed: \(error)")
        default:
            return Problem(.internalError, detail: "\(error)")
        }
    }

    static func problem(for error: CardError, reader: String) -> Problem {
        switch error {
        case .noService:
            return Problem(.pcscUnavailable, detail: error.description)
        case .unknownReader, .noReaders:
            return Problem(.readerNotFound, detail: "reader '\(reader)' is not connected: check the name with GET /v1/readers")
        case .noCard:
            return Problem(.noCard, detail: error.description)
        case .cardRemoved, .cardReset:
            return cardRemovedProblem
        case .sharingViolation:
            return Problem(.readerBusy, detail: error.description)
        default:
            return Problem(.readerError, detail: error.description)
        }
    }
}

extension CardFaceResponse {
    /// Builds the API's view of a read.
    public init(reader: String, data: DocumentData, result: DocumentReadResult, verdict: AuthenticityVerdict,
                milliseconds: Double, includePortrait: Bool) {
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
                PortraitInfo(format: $0.format == .jpeg ? "jpeg" : "jpeg2000", width: Int($0.width),
                             height: Int($0.height), size: $0.imageData.count,
                             data: includePortrait ? Data($0.imageData).base64EncodedString() : nil)
            },
            portraitCount: data.dg2?.faces.count ?? 0, authenticity: verdict, fullName: data.dg11?.fullName,
            personalNumber: data.dg11?.personalNumber, fullDateOfBirth: data.dg11?.fullDateOfBirth,
            placeOfBirth: data.dg11?.placeOfBirth, address: data.dg11?.address,
            issuingAuthority: data.dg12?.issuingAuthority, dateOfIssue: data.dg12?.dateOfIssue,
            statistics: ReadStatistics(apdus: result.statistics.apdus, bytesSent: result.statistics.bytesSent,
                                       bytesReceived: result.statistics.bytesReceived,
                                       extendedLength: result.usedExtendedLength, readChunkSize: result.readChunkSize,
                                       milliseconds: milliseconds))
    }
}
