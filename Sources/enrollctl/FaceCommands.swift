import EnrollAPIModel
import Foundation

/// `face-compare REFERENCE PROBE [--json]`: the daemon's face matcher on two images.
enum FaceCommands {
    static let words: Set<String> = ["face-compare"]

    static func run(_ options: Invocation, _ api: API) {
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
}
