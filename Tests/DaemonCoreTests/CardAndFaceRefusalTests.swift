import DaemonCore
import EnrollAPIModel
import FaceMatch
import Foundation
import MRTD
import SmartCard
import UnixHTTP
import VirtualCard
import XCTest

/// What the card and face routes refuse: every way a reader, a card, a chip and an access key fail, and every way
/// an image fails the face engine.
final class CardAndFaceRefusalTests: XCTestCase {
    static let reader = InProcessDaemon.reader

    /// Sends a request that reads the card on `reader` with `key`, for a context `prepare` made first.
    typealias CardSend =
        @Sendable (RefusalBench, _ context: String?, _ reader: String, _ key: AccessKeyRequest) throws
        -> HTTPResponse

    /// The card-read failures every route that reads a card answers, each provoked on the first reader.
    static func cardFailures(
        _ route: String,
        prepare: @escaping @Sendable (RefusalBench) throws -> String? = { _ in nil },
        _ send: @escaping CardSend
    ) -> [Refusal] {
        /// A new holder's card on the first reader (with `faults` and `adjust`), after `prepare`.
        @Sendable func setUp(
            _ b: RefusalBench, faults: [CardFault] = [],
            adjust: (inout EMRTDProfile) -> Void = { _ in }
        ) throws -> (String?, TestHolder) {
            let context = try prepare(b)
            let holder = b.holder()
            try b.daemon.insertCard(holder, faults: faults, adjust: adjust)
            return (context, holder)
        }
        return [
            Refusal(route, .readerNotFound, "a reader the terminal does not have") { b in
                let (context, holder) = try setUp(b)
                return try send(b, context, "No Such Reader 00 00", holder.accessKey)
            },
            Refusal(route, .noCard, "nothing on the reader") { b in
                let (context, holder) = try setUp(b)
                b.daemon.terminal.remove(from: reader)
                return try send(b, context, reader, holder.accessKey)
            },
            Refusal(route, .accessKeyRejected, "a wrong birth date: the chip answers 6300") { b in
                let (context, holder) = try setUp(b)
                var key = holder.accessKey
                key.birthDate = "810101"
                return try send(b, context, reader, key)
            },
            Refusal(route, .readerBusy, "another read holds the reader") { b in
                let (context, holder) = try setUp(b)
                let key = holder.accessKey
                return try b.whileReading(
                    { try b.read(key) },
                    meanwhile: { try send(b, context, reader, key) }
                ).meanwhile
            },
            Refusal(route, .cardRemoved, "the card taken off the reader while it is read") { b in
                let (context, holder) = try setUp(b)
                return try b.whileReading(
                    { try send(b, context, reader, holder.accessKey) },
                    meanwhile: { b.daemon.terminal.remove(from: reader) }
                ).held
            },
            Refusal(route, .cardRemoved, "the card leaves during BAC, the reader answering 6300 for it") { b in
                // EXTERNAL AUTHENTICATE's 6300 is the reader's, not the chip's: the key was not rejected.
                let (context, holder) = try setUp(
                    b, faults: [CardFault(.cardRemovedAnswering(StatusWord(0x6300)), during: .bac, at: 2)])
                return try send(b, context, reader, holder.accessKey)
            },
            Refusal(route, .cardRemoved, "the card leaves during PACE, the reader answering 6300 for it") { b in
                let context = try prepare(b)
                let holder = b.holder()
                try b.daemon.insertCard(
                    holder, faults: [CardFault(.cardRemovedAnswering(StatusWord(0x6300)), during: .pace, at: 4)]
                ) {
                    $0.pace = PACEConfiguration(parameterID: 13, can: "123456")
                    $0.bacEnabled = false
                }
                return try send(b, context, reader, holder.accessKey)
            },
            Refusal(route, .pcscUnavailable, "pcscd gone") { b in
                let (context, holder) = try setUp(b)
                b.daemon.cards.failConnections(to: reader, with: .noService)
                defer { b.daemon.cards.failConnections(to: reader, with: nil) }
                return try send(b, context, reader, holder.accessKey)
            },
            Refusal(route, .readerError, "the reader unplugged") { b in
                let (context, holder) = try setUp(b)
                b.daemon.cards.failConnections(to: reader, with: .readerUnavailable)
                defer { b.daemon.cards.failConnections(to: reader, with: nil) }
                return try send(b, context, reader, holder.accessKey)
            },
            Refusal(route, .cardReadTimeout, "a card slower than readers.read_timeout_seconds", on: .slowReads) { b in
                let (context, holder) = try setUp(b)
                return try b.whileReading(
                    { try send(b, context, reader, holder.accessKey) },
                    meanwhile: { Thread.sleep(forTimeInterval: 0.6) }
                ).held
            },
            Refusal(route, .chipSecurityError, "a protected answer whose MAC does not verify") { b in
                let (context, holder) = try setUp(b, faults: [CardFault(.corruptMAC, during: .read)])
                return try send(b, context, reader, holder.accessKey)
            },
            Refusal(route, .chipError, "the chip answers 6F00 to GET CHALLENGE") { b in
                let (context, holder) = try setUp(b, faults: [CardFault(.statusWord(StatusWord(0x6F00)), during: .bac)])
                return try send(b, context, reader, holder.accessKey)
            },
            Refusal(route, .malformedChipData, "a DG1 without its MRZ") { b in
                let (context, holder) = try setUp(b, adjust: { $0.files[.dg1] = [0x61, 0x03, 0x04, 0x01, 0x00] })
                return try send(b, context, reader, holder.accessKey)
            },
            Refusal(route, .accessProtocolUnsupported, "a CAN (no PACE on the chip, or the route needs the MRZ)") { b in
                let (context, _) = try setUp(b)
                return try send(b, context, reader, AccessKeyRequest(can: "123456"))
            },
            Refusal(route, .accessPolicyRefused, "a chip offering PACE only on P-192 (96 bits < 112)") { b in
                let context = try prepare(b)
                let holder = b.holder()
                try b.daemon.insertCard(holder) { $0.pace = PACEConfiguration(parameterID: 8, can: "123456") }
                let refused = try send(b, context, reader, holder.accessKey)
                let detail = (try? JSONDecoder().decode(Problem.self, from: Data(refused.body)))?.detail ?? ""
                XCTAssertTrue(detail.contains("minimum_pace_security_bits"), detail)
                return refused
            },
            Refusal(route, .invalidAccessKey, "a birth date of five digits") { b in
                let (context, _) = try setUp(b)
                return try send(
                    b, context, reader,
                    AccessKeyRequest(
                        documentNumber: "L898902C3", birthDate: "80010",
                        expiryDate: "341231"))
            },
            Refusal(route, .invalidMRZ, "MRZ text with a wrong check digit") { b in
                let (context, _) = try setUp(b)
                return try send(
                    b, context, reader,
                    AccessKeyRequest(
                        mrz: """
                            I<UTOD231458907<<<<<<<<<<<<<<<
                            7408122F1204159UTO<<<<<<<<<<<1
                            ERIKSSON<<ANNA<MARIA<<<<<<<<<<
                            """))
            },
            Refusal(route, .missingAccessKey, "an access key with no field") { b in
                let (context, _) = try setUp(b)
                return try send(b, context, reader, AccessKeyRequest())
            },
        ]
    }

    static var cardRead: [Refusal] {
        cardFailures("POST /v1/cards/read") { b, _, reader, key in try b.read(key, reader: reader) } + [
            Refusal("POST /v1/cards/read", .accessProtocolUnsupported, "allowBAC false for a BAC-only chip") { b in
                let holder = b.holder()
                try b.daemon.insertCard(holder)
                return try b.read(holder.accessKey, allowBAC: false)
            },
            Refusal("POST /v1/cards/read", .invalidAccessKey, "a CAN of two digits") { b in
                try b.read(AccessKeyRequest(can: "12"))
            },
            Refusal("POST /v1/cards/read", .accessKeyUnreadable, "a photo with no card as the access key") { b in
                try b.daemon.insertCard(b.holder())
                return try b.read(AccessKeyRequest(scan: try noCardPhoto()))
            },
            Refusal("POST /v1/cards/read", .accessKeyRejected, "a photo of another card (its best keys tried)") { b in
                try b.daemon.insertCard(b.holder())
                return try b.read(AccessKeyRequest(scan: try CardScanRouteTests.photo(layout: "td3")))
            },
            Refusal("POST /v1/cards/read", .invalidBody, "accessKey of the wrong type") { b in
                b.daemon.call("POST", "/v1/cards/read", body: Array(#"{"reader": "x", "accessKey": 5}"#.utf8))
            },
        ]
    }

    static let cardProbe: [Refusal] = [
        Refusal("POST /v1/cards/probe", .readerNotFound, "a reader the terminal does not have") { b in
            try b.probe(reader: "No Such Reader 00 00")
        },
        Refusal("POST /v1/cards/probe", .noCard, "nothing on the reader") { b in
            b.daemon.terminal.remove(from: reader)
            return try b.probe()
        },
        Refusal("POST /v1/cards/probe", .pcscUnavailable, "pcscd gone") { b in
            try b.daemon.insertCard(b.holder())
            b.daemon.cards.failConnections(to: reader, with: .noService)
            defer { b.daemon.cards.failConnections(to: reader, with: nil) }
            return try b.probe()
        },
        Refusal("POST /v1/cards/probe", .readerError, "the reader unplugged") { b in
            try b.daemon.insertCard(b.holder())
            b.daemon.cards.failConnections(to: reader, with: .readerUnavailable)
            defer { b.daemon.cards.failConnections(to: reader, with: nil) }
            return try b.probe()
        },
        Refusal("POST /v1/cards/probe", .cardRemoved, "the card taken off the reader while it is probed") { b in
            try b.daemon.insertCard(b.holder())
            return try b.whileReading({ try b.probe() }, meanwhile: { b.daemon.terminal.remove(from: reader) }).held
        },
        Refusal("POST /v1/cards/probe", .invalidAccessKey, "a CAN of two digits") { b in
            try b.daemon.insertCard(b.holder())
            return try b.probe(AccessKeyRequest(can: "12"))
        },
        Refusal("POST /v1/cards/probe", .invalidMRZ, "MRZ text that is not an MRZ") { b in
            try b.probe(AccessKeyRequest(mrz: "NOT AN MRZ"))
        },
        Refusal("POST /v1/cards/probe", .missingAccessKey, "an access key with no field") { b in
            try b.probe(AccessKeyRequest())
        },
    ]

    /// A face comparison of a registered portrait with `probe`.
    static func compare(_ b: RefusalBench, probe: [UInt8], reference: [UInt8]? = nil) throws -> HTTPResponse {
        let portrait = try reference ?? b.daemon.portrait("John_Salley")
        return try b.post(
            "/v1/faces/compare",
            FaceCompareRequest(
                reference: Data(portrait).base64EncodedString(),
                probe: Data(probe).base64EncodedString()))
    }

    /// A photo the fake face engine refuses with `error`.
    static func failing(_ b: RefusalBench, _ error: FaceMatchError) -> [UInt8] {
        let photo = Array("photo that fails: \(error)".utf8)
        b.daemon.faces.fail(probe: photo, with: error)
        return photo
    }

    static let faces: [Refusal] = [
        Refusal("POST /v1/faces/compare", .noFace, "a photo without a face") { b in
            try compare(b, probe: Array("a wall".utf8))
        },
        Refusal("POST /v1/faces/compare", .noFace, "a reference without a face") { b in
            try compare(b, probe: FakeFaces.livePhoto("John_Salley"), reference: Array("a wall".utf8))
        },
        Refusal("POST /v1/faces/compare", .faceTooSmall, "a face far from the camera") { b in
            try compare(b, probe: failing(b, .faceTooSmall(.probe, size: 20, minimum: 60)))
        },
        Refusal("POST /v1/faces/compare", .severalFaces, "two people in front of the camera") { b in
            try compare(b, probe: failing(b, .ambiguousFaces(.probe, count: 2, largestSize: 200, secondSize: 190)))
        },
        Refusal("POST /v1/faces/compare", .undecodableImage, "a truncated JPEG") { b in
            try compare(b, probe: failing(b, .undecodableImage(.probe, reason: "premature end of data")))
        },
        Refusal("POST /v1/faces/compare", .unsupportedImageFormat, "a GIF") { b in
            try compare(b, probe: failing(b, .unsupportedImageFormat(.probe)))
        },
        Refusal("POST /v1/faces/compare", .imageTooLarge, "too many bytes") { b in
            try compare(b, probe: failing(b, .imageTooLarge(.probe, bytes: 20_000_000, limit: 16_777_216)))
        },
        Refusal("POST /v1/faces/compare", .imageTooLarge, "too many pixels") { b in
            try compare(b, probe: failing(b, .imageTooManyPixels(.probe, reason: "20000 x 20000")))
        },
        Refusal("POST /v1/faces/compare", .faceModelsMissing, "the model files are not installed") { b in
            try compare(b, probe: failing(b, .modelMissing(reason: "no shape_predictor_5_face_landmarks.dat")))
        },
        Refusal("POST /v1/faces/compare", .faceModelsMissing, "a model file that is not a model") { b in
            try compare(b, probe: failing(b, .modelInvalid(reason: "sha256 mismatch")))
        },
        Refusal("POST /v1/faces/compare", .faceEngineFailure, "dlib throws") { b in
            try compare(b, probe: failing(b, .engineFailure(reason: "std::bad_alloc")))
        },
        Refusal("POST /v1/faces/compare", .invalidBody, "a probe that is not base64") { b in
            try b.post("/v1/faces/compare", FaceCompareRequest(reference: "AAAA", probe: "abc"))
        },
        Refusal("POST /v1/faces/compare", .invalidBody, "a reference that is not base64") { b in
            try b.post("/v1/faces/compare", FaceCompareRequest(reference: "abc", probe: "AAAA"))
        },
    ]

    /// `POST /v1/cards/scan` with `image` (the real scanner over the OCR-B font).
    static func scan(_ b: RefusalBench, _ image: [UInt8]) throws -> HTTPResponse {
        try b.post("/v1/cards/scan", CardScanRequest(image: Data(image).base64EncodedString()))
    }

    /// A plain photo (no card in it), base64.
    static func noCardPhoto() throws -> String {
        Data(try RGBImage(width: 640, height: 480, red: 90, green: 120, blue: 60).encoded(as: .jpeg))
            .base64EncodedString()
    }

    static let cardScan: [Refusal] = [
        Refusal("POST /v1/cards/scan", .accessKeyUnreadable, "a photo with no card") { b in
            try scan(b, try RGBImage(width: 640, height: 480, red: 90, green: 120, blue: 60).encoded(as: .jpeg))
        },
        Refusal("POST /v1/cards/scan", .undecodableImage, "a JPEG cut after its signature") { b in
            try scan(b, [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0x11, count: 64))
        },
        Refusal("POST /v1/cards/scan", .unsupportedImageFormat, "a GIF") { b in
            try scan(b, Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 32))
        },
        Refusal("POST /v1/cards/scan", .imageTooLarge, "a JPEG header claiming 20000 x 20000 pixels") { b in
            var jpeg = try RGBImage(width: 64, height: 48, red: 200, green: 200, blue: 200).encoded(as: .jpeg)
            if let sof = (0..<(jpeg.count - 9)).first(where: { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 }) {
                jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0x4E, 0x20, 0x4E, 0x20])
            }
            return try scan(b, jpeg)
        },
        Refusal("POST /v1/cards/scan", .invalidBody, "an image that is not base64") { b in
            try b.post("/v1/cards/scan", CardScanRequest(image: "abc"))
        },
    ]

    static var refusals: [Refusal] { cardRead + cardProbe + faces + cardScan }

    func testTheCardReadRouteRefusesEveryReaderCardAndKeyFailure() {
        RefusalRun.check(Self.cardRead)
    }

    func testTheProbeRouteRefusesReaderAndCardFailures() {
        RefusalRun.check(Self.cardProbe)
    }

    func testTheScanRouteRefusesPhotosWithoutAKeyAndHostileImages() {
        RefusalRun.check(Self.cardScan)
    }

    func testTheFaceRouteRefusesEveryImageTheEngineRefuses() {
        RefusalRun.check(Self.faces)
    }
}
