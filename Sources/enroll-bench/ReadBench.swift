import FaceMatch
import Foundation
import MRTD
import SmartCard
import VirtualCard

/// `enroll-bench read`: the cost of reading a chip through pcscd + vpcd, with extended-length and
/// with short READ BINARY. The card is an in-process `EMRTDApplet` on vpcd port 35963.
func runReadBench(arguments: [String]) {
    let options = BenchOptions(arguments, command: "read")
    let iterations = options.iterations
    let json = options.json

    let mrzLines = [
        "I<UTOD231458907<<<<<<<<<<<<<<<", "9008124F3204153UTO<<<<<<<<<<<0", "SALLEY<<JOHN<<<<<<<<<<<<<<<<<<",
    ]
    let personalisation: EMRTDPersonalisation
    let sodSize = 2_048
    do {
        let mrz = try MRZ(lines: mrzLines)
        personalisation = EMRTDPersonalisation(mrz: mrz, portraits: [try benchPortrait(targetBytes: 16_000)])
    } catch {
        benchFail("cannot personalise the bench card: \(error)")
    }
    let pcscd = BenchPCSCD.startOrExit()
    defer { pcscd.stop() }
    let reader = "Virtual PCD 00 00"
    guard pcscd.waitFor(reader: reader) else {
        benchFail("pcscd does not list '\(reader)': is vsmartcard-vpcd installed?")
    }

    var report: [[String: Any]] = []
    for extended in [true, false] {
        var card = personalisation
        card.extendedLength = extended
        var profile: EMRTDProfile
        do {
            profile = try card.makeProfile()
        } catch {
            benchFail("\(error)")
        }
        // Stand-in for EF.SOD until the card is signed: same size class as a real one.
        profile.files[.sod] = TLV(tag: 0x77, value: [UInt8](repeating: 0x30, count: sodSize)).encoded
        let atr = ATRInfo.contactless(historicalBytes: [0x80, 0x73, 0x00, 0x00, extended ? 0x40 : 0x00])
        let connection = VPCDConnection(port: 35963, atr: atr, applet: EMRTDApplet(profile: profile))
        let thread = Thread { connection.run(reconnect: false) }
        thread.start()
        guard pcscd.waitForCard(in: reader) else { benchFail("the virtual card did not appear in '\(reader)'") }
        var times: [Double] = []
        var last: DocumentReadResult?
        for _ in 0..<(iterations + 2) {
            let start = DispatchTime.now()
            do {
                let context = try PCSCContext()
                let channel = try context.connect(reader: reader)
                let key = try BACKey(
                    documentNumber: profile.documentNumber, birthDate: profile.birthDate,
                    expiryDate: profile.expiryDate)
                last = try DocumentReader(channel: channel).read(accessKey: key)
                channel.disconnect()
            } catch {
                benchFail("read failed: \(error)")
            }
            times.append(milliseconds(since: start))
        }
        connection.stop()
        Thread.sleep(forTimeInterval: 1.5)  // let pcscd see the card leave before the next round
        guard let result = last else { continue }
        let sizes = result.files.mapValues(\.count)
        let maxResponse = result.readChunkSize
        var bound = 3  // SELECT application, GET CHALLENGE, EXTERNAL AUTHENTICATE
        for size in sizes.values { bound += 1 + max(1, (size + maxResponse - 1) / maxResponse) }
        let measured = Array(times.dropFirst(2))
        report.append([
            "mode": extended ? "extended" : "short",
            "files": result.files.keys.sorted().map(\.description),
            "fileBytes": sizes.values.reduce(0, +),
            "dg2Bytes": sizes[.dg2] ?? 0,
            "apdus": result.statistics.apdus,
            "apduBound": bound,
            "bytesSent": result.statistics.bytesSent,
            "bytesReceived": result.statistics.bytesReceived,
            "chunkSize": maxResponse,
            "medianMs": median(measured),
            "minMs": measured.min() ?? 0,
            "maxMs": measured.max() ?? 0,
            "iterations": measured.count,
        ])
    }
    if json {
        if let data = try? JSONSerialization.data(withJSONObject: ["read": report], options: [.sortedKeys]) {
            FileHandle.standardOutput.write(data + Data([10]))
        }
        return
    }
    print("enroll-bench read: EF.COM, DG1, DG2, EF.SOD through pcscd + vpcd, BAC + 3DES secure messaging")
    for row in report {
        print(
            String(
                format: "  %-8@ %3d APDUs (bound %3d), %6d bytes sent, %6d received, chunk %5d, median %7.2f ms "
                    + "(min %.2f, max %.2f, n=%d), DG2 %d bytes",
                row["mode"] as? String ?? "", row["apdus"] as? Int ?? 0, row["apduBound"] as? Int ?? 0,
                row["bytesSent"] as? Int ?? 0, row["bytesReceived"] as? Int ?? 0, row["chunkSize"] as? Int ?? 0,
                row["medianMs"] as? Double ?? 0, row["minMs"] as? Double ?? 0, row["maxMs"] as? Double ?? 0,
                row["iterations"] as? Int ?? 0, row["dg2Bytes"] as? Int ?? 0))
    }
}

/// A JPEG portrait of roughly `targetBytes`, made from a synthetic image so the bench needs no files.
func benchPortrait(targetBytes: Int) throws -> [UInt8] {
    var best: [UInt8] = []
    var image = RGBImage(width: 300, height: 400, red: 180, green: 150, blue: 130)
    for y in stride(from: 0, to: 400, by: 8) {
        for x in stride(from: 0, to: 300, by: 8) {
            let shade = UInt8((x * 7 + y * 13) % 200 + 20)
            image = image.drawing(
                RGBImage(width: 8, height: 8, red: shade, green: shade / 2, blue: 255 - shade), x: x, y: y)
        }
    }
    for quality in stride(from: 95, through: 10, by: -5) {
        let encoded = try image.encoded(as: .jpeg, quality: quality)
        best = encoded
        if encoded.count <= targetBytes { break }
    }
    return best
}
