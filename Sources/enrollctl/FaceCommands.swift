import EnrollAPIModel
import Foundation

/// `face-compare REFERENCE PROBE [--json]`: the daemon's face matcher on two images; `scan IMAGE [--json]`: the access
/// key from a photo of the card.
enum FaceCommands {
    static let words: Set<String> = ["face-compare", "scan"]

    static func run(_ options: Invocation, _ api: API) {
        if options.words.first == "scan" { return scan(options, api) }
        guard options.words.count == 3 else { fail("face-compare needs REFERENCE and PROBE image files", code: 2) }
        let request = FaceCompareRequest(
            reference: readFile(options.words[1]).base64EncodedString(),
            probe: readFile(options.words[2]).base64EncodedString())
        let response = api.post("/v1/faces/compare", request)
        if options.json { return printRaw(response) }
        let result = decode(FaceCompareResponse.self, response)
        func describe(_ image: FaceImageReport) -> String {
            "\(image.format) \(image.width)x\(image.height), \(image.facesFound) face(s) found, "
                + "face \(image.faceSize ?? 0) px"
        }
        let threshold = String(format: "%.2f", result.threshold)
        print(
            """
            decision:  \(result.decision)
            score:     \(String(format: "%.3f", result.score))
            distance:  \(String(format: "%.3f", result.distance)) (threshold \(threshold))
            reference: \(describe(result.reference))
            probe:     \(describe(result.probe))
            time:      \(String(format: "%.1f", result.totalMs)) ms
            """)
    }

    /// `scan IMAGE [--json]`: the access key the daemon reads from a photo of the card (the text appears only in
    /// this output).
    static func scan(_ options: Invocation, _ api: API) {
        guard options.words.count == 2 else {
            fail("scan needs one IMAGE file (a JPEG or PNG photo of the card)", code: 2)
        }
        let image = readFile(options.words[1]).base64EncodedString()
        let response = api.post("/v1/cards/scan", CardScanRequest(image: image))
        if options.json { return printRaw(response) }
        let result = decode(CardScanResponse.self, response)
        print("layout:     \(result.layout)")
        for (index, line) in (result.mrz ?? []).enumerated() {
            print(index == 0 ? "MRZ:        \(line)" : "            \(line)")
        }
        if let can = result.can { print("CAN:        \(can)") }
        for check in result.fieldChecks {
            let corrected = check.correctedCharacters.map { " (\($0) character(s))" } ?? ""
            print("check:      \(check.field): \(check.status)\(corrected)")
        }
        for (rank, candidate) in result.candidates.enumerated() {
            let key =
                candidate.can.map { "CAN \($0)" }
                ?? "document \(candidate.documentNumber ?? "?") born \(candidate.birthDate ?? "?") "
                + "expires \(candidate.expiryDate ?? "?")"
            print(String(format: "key %d:      %@ (confidence %.3f)", rank + 1, key, candidate.confidence))
        }
        print(String(format: "time:       %.1f ms", result.milliseconds))
    }
}
