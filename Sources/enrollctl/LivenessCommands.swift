import EnrollAPIModel
import Foundation

/// `liveness challenge SESSION`, `liveness send SESSION --nonce HEX --frames DIR`, `liveness run SESSION --frames
/// DIR`: the liveness step of an enrollment session from the command line.
///
/// Frames come from a directory: either one subdirectory per prompt sequence, named by the prompts joined with `+`
/// (`turn-left+look-up`, as `enroll-bench liveness-frames` writes them), from which the challenge's own sequence is
/// taken, or the image files of the directory itself (a capture that was made for this challenge). Frames are sent
/// in file-name order and stamped as they are taken, `--interval` milliseconds apart (default 200), as a camera
/// capturing while the prompts are shown would.
enum LivenessCommands {
    static let words: Set<String> = ["liveness"]

    static func run(_ options: Invocation, _ api: API) {
        guard options.words.count == 3, let session = options.words.last else {
            fail("liveness needs challenge, send or run and an enrollment SESSION", code: 2)
        }
        switch options.subcommand {
        case "challenge":
            let challenge = requestChallenge(session, api)
            if options.json { return printJSON(challenge) }
            describe(challenge)
        case "send":
            let nonce = options.required("--nonce", "liveness send needs --nonce HEX (the challenge's nonceHex)")
            let frames = options.required("--frames", "liveness send needs --frames DIR")
            let prompts = options.value("--prompts")?.split(separator: ",").map(String.init) ?? []
            report(submit(session, nonce: nonce, prompts: prompts, frames: frames, options, api), options)
        case "run":
            let frames = options.required("--frames", "liveness run needs --frames DIR")
            let challenge = requestChallenge(session, api)
            if !options.json { describe(challenge) }
            report(
                submit(
                    session, nonce: challenge.nonceHex, prompts: challenge.prompts, frames: frames, options,
                    api), options)
        default:
            fail("liveness needs challenge, send or run", code: 2)
        }
    }

    static func requestChallenge(_ session: String, _ api: API) -> LivenessChallengeResponse {
        decode(
            LivenessChallengeResponse.self,
            api.call(.init(method: "POST", path: "/v1/enrollments/\(session)/liveness/challenge")))
    }

    static func describe(_ challenge: LivenessChallengeResponse) {
        print(
            "liveness challenge \(challenge.nonceHex), until \(challenge.expiresAt) "
                + "(\(challenge.attemptsLeft) more attempt(s)):")
        for (index, instruction) in challenge.instructions.enumerated() {
            print("  \(index + 1). \(instruction) (\(challenge.prompts[safe: index] ?? ""))")
        }
    }

    /// Sends the frames for `prompts` from `directory`, stamped as they are taken; the session's view.
    static func submit(
        _ session: String, nonce: String, prompts: [String], frames directory: String,
        _ options: Invocation, _ api: API
    ) -> EnrollmentView {
        let interval = Double(options.value("--interval") ?? "200").map { max(1, $0) / 1000 } ?? 0.2
        let files = frameFiles(directory, prompts: prompts)
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var frames: [LivenessFrameBody] = []
        for (index, file) in files.enumerated() {
            if index > 0 { Thread.sleep(forTimeInterval: interval) }
            frames.append(
                LivenessFrameBody(
                    image: readFile(file).base64EncodedString(),
                    capturedAt: format.string(from: Date())))
        }
        return decode(
            EnrollmentView.self,
            api.post(
                "/v1/enrollments/\(session)/liveness",
                LivenessBurstBody(nonceHex: nonce, frames: frames)))
    }

    /// The burst's image files: the subdirectory of the prompt sequence when there is one, else the directory's.
    static func frameFiles(_ directory: String, prompts: [String]) -> [String] {
        let manager = FileManager.default
        let sequence = directory + "/" + prompts.joined(separator: "+")
        var isDirectory: ObjCBool = false
        let folder =
            !prompts.isEmpty && manager.fileExists(atPath: sequence, isDirectory: &isDirectory)
                && isDirectory.boolValue ? sequence : directory
        guard let names = try? manager.contentsOfDirectory(atPath: folder) else { fail("cannot list \(folder)") }
        let images = names.filter { name in
            [".jpg", ".jpeg", ".png"].contains { name.lowercased().hasSuffix($0) }
        }.sorted()
        guard !images.isEmpty else {
            fail(
                "no JPEG or PNG frames in \(folder)"
                    + (prompts.isEmpty ? "" : " (and no subdirectory \(prompts.joined(separator: "+")))"))
        }
        return images.map { folder + "/" + $0 }
    }

    static func report(_ view: EnrollmentView, _ options: Invocation) {
        if options.json { return printJSON(view) }
        print("liveness passed: session \(view.id) is \(view.state)")
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
