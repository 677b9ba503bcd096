import UnixHTTP
import Enrollment
import Foundation
import MRTD
import SmartCard

/// The access key a caller gives for a chip: the MRZ (or its three BAC fields), or the CAN.
public struct AccessKeyRequest: Codable, Sendable {
    public var mrz: String?
    public var documentNumber: String?
    public var birthDate: String?
    public var expiryDate: String?
    public var can: String?

    public init(mrz: String? = nil, documentNumber: String? = nil, birthDate: String? = nil, expiryDate: String? = nil,
                can: String? = nil) {
        self.mrz = mrz
        self.documentNumber = documentNumber
        self.birthDate = birthDate
        self.expiryDate = expiryDate
        self.can = can
    }

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
                    throw Problem(status: 422, code: "access-protocol-unsupported", title: "Access protocol not supported",
                                  detail: "this operation needs the MRZ: a CAN is accepted by card reads and probes")
                }
                throw Problem.badRequest("give the access key as mrz, or documentNumber + birthDate + expiryDate (YYMMDD)",
                                         code: "missing-access-key")
            }
            return try BACKey(documentNumber: documentNumber, birthDate: birthDate, expiryDate: expiryDate)
        } catch let problem as Problem {
            throw problem
        } catch let error as MRZError {
            throw Problem.badRequest("the MRZ is not valid: \(error)", code: "invalid-mrz")
        } catch {
            throw Problem.badRequest("\(error)", code: "invalid-access-key")
        }
    }
}

extension AccessKeyRequest {
    /// The access key for PACE (MRZ or CAN) with BAC as the MRZ fallback: the CAN when given, else the MRZ.
    public func accessKey() throws(Problem) -> AccessKey {
        guard let can else { return .mrz(try bacKey()) }
        do {
            return .can(try CardAccessNumber(can))
        } catch {
            throw Problem.badRequest(error.description, code: "invalid-access-key")
        }
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

    /// The reader options this request asks for.
    public var readerOptions: DocumentReader.Options {
        DocumentReader.Options(allowBAC: allowBAC ?? true)
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
}

/// How the chip was read.
public struct ReadStatistics: Codable, Sendable {
    public var apdus: Int
    public var bytesSent: Int
    public var bytesReceived: Int
    public var extendedLength: Bool
    public var readChunkSize: Int
    public var milliseconds: Double
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
}

/// Reads chips on behalf of API callers: one read at a time per reader.
public final class CardReadService: @unchecked Sendable {
    private let lock = NSLock()
    private var busyReaders: Set<String> = []
    private let events: EventHub
    public let authenticity: AuthenticityChecker
    /// Longest a read may take (`readers.read_timeout_seconds`).
    public let readTimeout: TimeInterval

    public init(events: EventHub, authenticity: AuthenticityChecker, readTimeout: TimeInterval = 60) {
        self.events = events
        self.authenticity = authenticity
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
            throw Problem(status: 409, code: "reader-busy", title: "Reader busy",
                          detail: "another read is running on '\(reader)': wait for it to finish")
        }
        defer { _ = lock.withLock { busyReaders.remove(reader) } }
        events.publish(DaemonEvent(type: "card-read-started", reader: reader))
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
            options.antiClone = options.antiClone && authenticity.policy.runAntiClone
            let result = try DocumentReader(channel: timed, options: options).read(access: access)
            let data = try DocumentData(files: result.files)
            let verdict = authenticity.verify(read: result)
            let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
            events.publish(DaemonEvent(type: "card-read-completed", reader: reader,
                                       detail: "\(result.statistics.apdus) APDUs in \(Int(milliseconds)) ms"))
            Log.info("read card in \(reader): \(result.accessDescription), \(result.statistics), "
                     + "\(Int(milliseconds)) ms, "
                     + "genuine: \(verdict.genuine)")
            return (data, result, verdict, milliseconds)
        } catch {
            var problem = Self.problem(for: error, reader: reader)
            if deadline?.expired == true {
                problem = Problem(status: 504, code: "card-read-timeout", title: "Card read too slow",
                                  detail: "the card did not finish the read within \(Self.seconds(readTimeout)) s: hold it "
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
                problem = Problem(status: 422, code: "access-protocol-unsupported",
                                  title: "Access protocol not supported", detail: DocumentReader.bacNotAllowed.description)
            } else if case .can = access, case let .accessKeyRejected(sw) = error as? MRTDError {
                problem = Problem(status: 422, code: "access-key-rejected", title: "Access key rejected",
                                  detail: "the chip rejected the access key: check the CAN, the 6 digits printed on "
                                      + "the front of the card (SW \(sw))")
            } else if case .can = access, case .invalidAccessKey = error as? MRTDError {
                problem = Problem(status: 422, code: "access-protocol-unsupported",
                                  title: "Access protocol not supported", detail: "this chip does not offer PACE, so a CAN cannot open it: give the MRZ")
            }
            events.publish(DaemonEvent(type: "card-read-failed", reader: reader, detail: problem.code,
                                       message: problem.detail))
            Log.notice("card read in \(reader) failed: \(problem.code)")
            throw problem
        }
    }

    static let cardRemovedProblem = Problem(status: 409, code: "card-removed", title: "Card removed",
                                            detail: CardError.cardRemoved.description)

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
                return Problem(status: 422, code: "access-key-rejected", title: "Access key rejected",
                               detail: error.description)
            case .invalidAccessKey:
                return Problem.badRequest(error.description, code: "invalid-access-key")
            case .cardRemoved:
                return cardRemovedProblem
            case let .transport(cardError):
                return problem(for: cardError, reader: reader)
            case .secureMessaging, .authenticationFailed:
                return Problem(status: 502, code: "chip-security-error", title: "Chip security error",
                               detail: "\(error.description); the session was aborted: tap the card again, and if it "
                                   + "keeps failing the chip may not be genuine")
            case .unexpectedStatus, .malformedFile, .crypto:
                return Problem(status: 502, code: "chip-error", title: "Chip error",
                               detail: "\(error.description): take the card off the reader and tap it again; if this "
                                   + "keeps happening the chip is damaged")
            }
        case let error as LDSError:
            return Problem(status: 502, code: "malformed-chip-data", title: "Malformed chip data",
                           detail: "the chip's data is malformed: \(error)")
        default:
            return Problem(status: 500, code: "internal-error", title: "Internal error", detail: "\(error)")
        }
    }

    static func problem(for error: CardError, reader: String) -> Problem {
        switch error {
        case .noService:
            return Problem(status: 503, code: "pcsc-unavailable", title: "Smart-card service unavailable", detail: error.description)
        case .unknownReader, .noReaders:
            return Problem(status: 404, code: "reader-not-found", title: "Reader not found",
                           detail: "reader '\(reader)' is not connected: check the name with GET /v1/readers")
        case .noCard:
            return Problem(status: 409, code: "no-card", title: "No card", detail: error.description)
        case .cardRemoved, .cardReset:
            return cardRemovedProblem
        case .sharingViolation:
            return Problem(status: 409, code: "reader-busy", title: "Reader busy", detail: error.description)
        default:
            return Problem(status: 502, code: "reader-error", title: "Reader error", detail: error.description)
        }
    }
}

extension CardFaceResponse {
    /// Builds the API's view of a read.
    public init(reader: String, data: DocumentData, result: DocumentReadResult, verdict: AuthenticityVerdict,
                milliseconds: Double, includePortrait: Bool) {
        authenticity = verdict
        let mrz = data.mrz
        self.reader = reader
        documentType = mrz.documentCode
        mrzFormat = mrz.format.rawValue
        issuingState = mrz.issuingState
        documentNumber = mrz.documentNumber
        surname = mrz.primaryIdentifier
        givenNames = mrz.secondaryIdentifier
        nationality = mrz.nationality
        birthDate = (try? mrz.resolvedBirthDate())?.description
        birthDateMRZ = mrz.birthDate
        sex = mrz.sex.rawValue
        expiryDate = (try? mrz.resolvedExpiryDate())?.description
        expiryDateMRZ = mrz.expiryDate
        optionalData = mrz.optionalData
        self.mrz = mrz.text
        dataGroupsPresent = data.com.dataGroups.map(\.description)
        filesRead = result.files.keys.sorted().map(\.description)
        accessProtocol = result.accessProtocol.rawValue
        accessParameters = result.accessDescription
        portraitCount = data.dg2?.faces.count ?? 0
        portrait = data.portrait.map {
            PortraitInfo(format: $0.format == .jpeg ? "jpeg" : "jpeg2000", width: Int($0.width), height: Int($0.height), size: $0.imageData.count,
                         data: includePortrait ? Data($0.imageData).base64EncodedString() : nil)
        }
        fullName = data.dg11?.fullName
        personalNumber = data.dg11?.personalNumber
        fullDateOfBirth = data.dg11?.fullDateOfBirth
        placeOfBirth = data.dg11?.placeOfBirth
        address = data.dg11?.address
        issuingAuthority = data.dg12?.issuingAuthority
        dateOfIssue = data.dg12?.dateOfIssue
        statistics = ReadStatistics(apdus: result.statistics.apdus, bytesSent: result.statistics.bytesSent,
                                    bytesReceived: result.statistics.bytesReceived,
                                    extendedLength: result.usedExtendedLength, readChunkSize: result.readChunkSize,
                                    milliseconds: milliseconds)
    }
}
