import Foundation
import SmartCard
import VirtualCard

/// enroll-vcard: a virtual contactless card for hardware-in-loop benches, attached to pcscd
/// through vsmartcard's vpcd driver.
let usage = """
    usage: enroll-vcard --port PORT [--profile FILE] [--host ADDRESS] [--delay-ms N] [--fault FAULT]... [--once]
           enroll-vcard --wait-reader NAME [--timeout SECONDS]
           enroll-vcard pki init DIR [--revoke-dsc]

      --port PORT      vpcd port: 35963 for reader "Virtual PCD 00 00", 35964 for "Virtual PCD 00 01"
      --profile FILE   JSON profile (README "Virtual card profiles"; example: scripts/profiles/td1-jpeg.json);
                       default: an empty card. Issued chips' behaviours are profile options: CA v1 with
                       AES and key ids >= 128, standardized-parameter and PKCS#3 CA keys, PACE GM/IM/CAM,
                       several CA keys and forged EF.CardSecurity, plain status words under SM, short-Le
                       caps, EF.ATR/INFO, reordered SOD issuer names and BER SODs, DG7/DG13/DG16
      --host ADDRESS   vpcd address (default 127.0.0.1)
      --delay-ms N     delay every response by N ms (a slow card)
      --fault FAULT    inject a fault, once, at a defined point (repeatable):
                       KIND[:ARGUMENT][:during=STEP][:at=N][:ins=XX]
                       KIND  card-removed   the card leaves the field instead of answering: the vpcd
                                            connection closes (pcscd sees the card removed) and the
                                            card comes back 1.5 s later, clean (with --once: exits)
                             card-removed:SW the card leaves during the command and the reader
                                            answers SW (4 hex digits) for it, e.g. 6300; then as
                                            card-removed
                             corrupt-mac    flip a bit of the response's MAC (DO'8E'; BAC: the
                                            EXTERNAL AUTHENTICATE cryptogram's MAC)
                             status-word:SW answer SW (4 hex digits) in plain, without data
                             truncate       drop the second half of the response data
                             oversize       append 256 bytes the command did not ask for
                             plain-data     answer 16 bytes of data and 9000 in plain, without
                                            secure messaging (a reader must refuse it)
                       STEP  the commands that count: any (default), bac, pace, dg2 (READ BINARY of
                             the portrait), read (any READ BINARY), aa (INTERNAL AUTHENTICATE),
                             ca (chip authentication under secure messaging)
                       at=N  the N-th such command (default 1); ins=XX only commands with INS XX
                       e.g. --fault card-removed:during=dg2:at=3  --fault status-word:6A82:ins=A4
      --once           exit when vpcd closes the connection instead of reconnecting
      pki init DIR     write a test country PKI (CSCA, document signer, CRL; trust/ for enrolld's
                       trust store, rogue/ for forged cards); --revoke-dsc puts the signer on the CRL
      --wait-reader NAME  wait until pcscd lists reader NAME, then exit 0 (bench scripts)
    Stop with SIGTERM or SIGINT: pcscd then sees the card removed.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("enroll-vcard: \(message)\n".utf8))
    exit(2)
}

if CommandLine.arguments.count >= 4, CommandLine.arguments[1] == "pki", CommandLine.arguments[2] == "init" {
    let directory = CommandLine.arguments[3]
    do {
        _ = try BenchPKI.create(
            directory: directory, revokeDocumentSigner: CommandLine.arguments.contains("--revoke-dsc"))
    } catch {
        fail("cannot create the test PKI in \(directory): \(error)")
    }
    print("test PKI written to \(directory) (trust store: \(directory)/trust)")
    exit(0)
}

var port: UInt16?
var profilePath: String?
var host = "127.0.0.1"
var delay: TimeInterval = 0
var once = false
var faults: [CardFault] = []
var waitReader: String?
var waitTimeout: TimeInterval = 15
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port":
        guard let value = arguments.next(), let number = UInt16(value) else { fail("--port needs a number\n\(usage)") }
        port = number
    case "--profile":
        guard let value = arguments.next() else { fail("--profile needs a file") }
        profilePath = value
    case "--host":
        guard let value = arguments.next() else { fail("--host needs an address") }
        host = value
    case "--delay-ms":
        guard let value = arguments.next(), let ms = Double(value), ms >= 0 else { fail("--delay-ms needs a number") }
        delay = ms / 1000
    case "--fault":
        guard let value = arguments.next() else { fail("--fault needs a fault, e.g. card-removed:during=bac") }
        do {
            faults.append(try CardFault(parsing: value))
        } catch {
            fail(error.description)
        }
    case "--wait-reader":
        guard let value = arguments.next() else { fail("--wait-reader needs a reader name") }
        waitReader = value
    case "--timeout":
        guard let value = arguments.next(), let seconds = Double(value), seconds > 0 else {
            fail("--timeout needs seconds")
        }
        waitTimeout = seconds
    case "--once":
        once = true
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        fail("unknown argument '\(argument)'\n\(usage)")
    }
}
if let waitReader {
    let deadline = Date().addingTimeInterval(waitTimeout)
    while Date() < deadline {
        if let context = try? PCSCContext(), (try? context.listReaders())?.contains(waitReader) == true { exit(0) }
        Thread.sleep(forTimeInterval: 0.1)
    }
    fail("pcscd did not list reader '\(waitReader)' within \(Int(waitTimeout)) s")
}
guard let port else { fail("--port is required\n\(usage)") }

let profile: VirtualCardProfile
do {
    profile =
        try profilePath.map { path throws(ProfileError) in try VirtualCardProfile.load(path: path) }
        ?? VirtualCardProfile()
} catch {
    fail(error.description)
}

let applet: CardApplet =
    faults.isEmpty && delay == 0
    ? profile.makeApplet() : FaultInjectingApplet(base: profile.makeApplet(), faults: faults, delay: delay)
let connection = VPCDConnection(host: host, port: port, atr: profile.atr, applet: applet)

signal(SIGTERM, SIG_IGN)
signal(SIGINT, SIG_IGN)
let signalQueue = DispatchQueue(label: "enroll-vcard.signals")
let sources = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
    let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
    source.setEventHandler { connection.stop() }
    source.resume()
    return source
}

let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("enroll-vcard: \($0)\n".utf8)) }
if !faults.isEmpty { log("injecting faults: \(faults.map(\.description).joined(separator: ", "))") }
connection.run(reconnect: !once, log: log)
withExtendedLifetime(sources) {}
