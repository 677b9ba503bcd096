import CardScan
import EnrollAPIModel
import Foundation
import MRTD
import Secrets
import Synchronization

/// The card scanner of `POST /v1/cards/scan`: loaded on first use (rendering the OCR-B templates takes a moment),
/// kept for the daemon's life. A failed load is answered as `card-scan-unavailable` and retried on the next call.
/// Nothing of a photo or its text is logged or kept: the response is the only place the text appears.
public final class CardScanService: Sendable {
    public let configuration: CardScanConfiguration
    private let scanner = Mutex<CardScanner?>(nil)

    public init(configuration: CardScanConfiguration = CardScanConfiguration()) {
        self.configuration = configuration
    }

    /// Scans one photo; a photo without a readable MRZ or CAN is `access-key-unreadable` with what to retake.
    public func scan(image: [UInt8]) throws(Problem) -> CardScanResult {
        let scanner = try loaded()
        let result: CardScanResult
        do {
            result = try scanner.scan(image: image)
            _ = try result.requireCandidates()
        } catch {
            throw Problem(error)
        }
        return result
    }

    private func loaded() throws(Problem) -> CardScanner {
        let outcome: Result<CardScanner, CardScanError> = scanner.withLock { cached in
            if let cached { return .success(cached) }
            do throws(CardScanError) {
                let made = try CardScanner(configuration: configuration)
                cached = made
                return .success(made)
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let scanner): return scanner
        case .failure(let error): throw Problem(error)
        }
    }
}

extension Problem {
    /// Card-scan refusals: the image problems shared with the face routes, an unreadable photo, a missing engine.
    public init(_ error: CardScanError) {
        let kind: ProblemCode
        switch error {
        case .unsupportedFormat: kind = .unsupportedImageFormat
        case .imageTooLarge, .imageTooManyPixels: kind = .imageTooLarge
        case .undecodable: kind = .undecodableImage
        case .unreadable: kind = .accessKeyUnreadable
        case .fontMissing, .fontUnusable, .engineUnavailable, .engineFailure: kind = .cardScanUnavailable
        }
        self.init(kind, detail: error.description)
    }
}

extension CardScanResponse {
    init(_ result: CardScanResult) {
        let checks = result.fieldChecks.map { check -> CardScanFieldCheck in
            switch check.status {
            case .passed: return CardScanFieldCheck(field: check.field.rawValue, status: "passed")
            case .corrected(let characters):
                return CardScanFieldCheck(
                    field: check.field.rawValue, status: "corrected",
                    correctedCharacters: characters)
            case .failed: return CardScanFieldCheck(field: check.field.rawValue, status: "failed")
            }
        }
        let candidates = result.candidates.map { candidate -> CardScanCandidate in
            switch candidate.key {
            case .mrz(let key):
                return CardScanCandidate(
                    kind: "MRZ", documentNumber: key.documentNumber, birthDate: key.birthDate,
                    expiryDate: key.expiryDate, confidence: candidate.confidence,
                    compositeCheckPassed: candidate.compositeCheckPassed)
            case .can(let can):
                return CardScanCandidate(kind: "CAN", can: can.digits, confidence: candidate.confidence)
            }
        }
        let timings = result.timings
        self.init(
            layout: result.layout?.rawValue ?? "none", mrz: result.mrzLines.isEmpty ? nil : result.mrzLines,
            can: result.can, fieldChecks: checks, candidates: candidates, milliseconds: timings.total,
            timingsMs: [
                "decode": timings.decode, "locate": timings.locate, "read": timings.read,
                "correct": timings.correct,
            ])
    }
}

extension CardScanRequest {
    /// Runs `body` on the photo's bytes (zeroed when it returns), or answers a 400.
    func withImageBytes<Result>(_ body: ([UInt8]) throws(Problem) -> Result) throws(Problem) -> Result {
        try SecretBytes.withBase64Decoded(image) { bytes throws(Problem) in
            guard let bytes else {
                throw Problem(.invalidBody, detail: "image must be base64 (a JPEG or PNG photo of the card)")
            }
            return try body(bytes)
        }
    }
}

/// Chip attempts a photo's candidates may cost: a wrong key costs a PACE attempt, and chips count them.
let scannedKeyAttempts = 2

extension CardScanService {
    /// The access keys of `accessKey.scan`, best first, at most `scannedKeyAttempts`; nil without a photo.
    /// `mrzOnly`: only MRZ keys (enrollment reads the chip with BAC keys).
    func keys(of request: AccessKeyRequest, mrzOnly: Bool = false) throws(Problem) -> [AccessKey]? {
        guard let photo = request.scan else { return nil }
        let keys = try SecretBytes.withBase64Decoded(photo) { image throws(Problem) in
            guard let image else {
                throw Problem(.invalidBody, detail: "accessKey.scan must be base64 (a JPEG or PNG photo of the card)")
            }
            return try scan(image: image).candidates.map(\.key)
        }
        let usable = mrzOnly ? keys.filter { if case .mrz = $0 { return true } else { return false } } : keys
        guard !usable.isEmpty else {
            throw Problem(
                .accessProtocolUnsupported,
                detail: "the photo shows a CAN, and this operation needs the MRZ: photograph the MRZ side")
        }
        return Array(usable.prefix(scannedKeyAttempts))
    }

    /// Runs `attempt` with each key in turn until one is not rejected by the chip. When every key is rejected: the
    /// usual `access-key-rejected`, saying what to retake when the keys came from a photo.
    func firstAccepted<T>(
        _ keys: [AccessKey], fromPhoto: Bool,
        _ attempt: (AccessKey) throws(Problem) -> T
    ) throws(Problem) -> T {
        var rejection: Problem?
        for key in keys {
            do throws(Problem) {
                return try attempt(key)
            } catch {
                guard error.code == ProblemCode.accessKeyRejected.code else { throw error }
                rejection = error
            }
        }
        var problem = rejection ?? Problem(.accessKeyUnreadable, detail: CardScanError.retakeHint)
        guard fromPhoto else { throw problem }
        problem.detail =
            "the chip refused the \(keys.count) best key(s) read from the photo: \(CardScanError.retakeHint)"
        throw problem
    }
}
