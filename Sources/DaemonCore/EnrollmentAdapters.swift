import API
import Enrollment
import Foundation
import MRTD

extension EnrollmentError {
    /// A problem from a lower layer (card reading, face match) keeps its code and status.
    init(_ problem: Problem) {
        self.init(code: problem.code, status: problem.status, message: problem.detail)
    }
}

extension Problem {
    /// The API's rendering of an enrollment refusal.
    init(_ error: EnrollmentError) {
        self.init(status: error.status, code: error.code, title: "Enrollment refused", detail: error.message)
    }
}

/// Enrollment reads cards through the daemon's PC/SC card reader and its authenticity checker.
struct DaemonCardReading: CardReading {
    let service: CardReadService

    func read(reader: String, key: BACKey) throws(EnrollmentError) -> VerifiedDocument {
        do {
            let read = try service.read(reader: reader, key: key)
            return VerifiedDocument(data: read.data, authenticity: read.verdict, accessProtocol: read.result.accessProtocol.rawValue)
        } catch {
            throw EnrollmentError(error)
        }
    }
}

/// Enrollment compares faces with the daemon's dlib engine.
struct DaemonFaceComparing: FaceComparing {
    let service: FaceService

    func compare(reference: [UInt8], probe: [UInt8]) throws(EnrollmentError) -> FaceEvidence {
        do {
            let comparison = try service.compare(reference: reference, probe: probe)
            return FaceEvidence(distance: comparison.distance, score: comparison.score, threshold: comparison.threshold,
                                isMatch: comparison.isMatch, probeFaces: comparison.probe.faceCount)
        } catch {
            throw EnrollmentError(error)
        }
    }
}
