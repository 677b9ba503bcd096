import Foundation

/// enroll-bench: benchmarks that print figures (and JSON), never assertions.
let usage = """
    usage: enroll-bench COMMAND [OPTIONS]

    commands:
      read [--iterations N] [--json]     read EF.COM, DG1, a ~16 KB DG2 and EF.SOD through pcscd + vpcd,
                                         with extended and with short READ BINARY
      pace [--iterations N] [--vpcd] [--json]
                                         PACE-GM handshake medians per domain (IDs 0-2, 8-18), in process and
                                         with --vpcd through pcscd + vpcd
      enroll [--iterations N] [--faces DIR]
                                         end-to-end enrollment time through pcscd + vpcd (read, face, certificate)
      issue [--seconds N] [--store sqlite|postgresql|both] [--conninfo CONNINFO] [--threads N] [--batch B]
            [--renew R] [--pipeline] [--json]
                                         durable certificate issuances per second (CSR check, signing, commits) on
                                         SQLite and on PostgreSQL (a private cluster unless --conninfo), beside raw
                                         OpenSSL ECDSA P-256 signatures per second; --threads issues concurrently,
                                         --batch caps a group commit; --renew R: bulk re-issuance for registered
                                         keys, R intents per commit and R certificates per commit on each thread;
                                         --pipeline: intents and certificates share one group commit
      auth [--iterations N] [--vpcd] [--json]
                                         passive authentication of a full read's files (EC and RSA PKIs); active
                                         and chip authentication handshakes in process and, with --vpcd, through
                                         pcscd + vpcd (plus a full read with and without them)
      ocsp [--seconds N] [--clients N] [--certificates N] [--json]
                                         cached OCSP responses per second and p50/p99 from concurrent clients: our
                                         responder in process and behind a Unix socket, beside `openssl ocsp` as a
                                         responder (TCP loopback) on an index of the same certificates
      face [--iterations N] [--models DIR] [--faces DIR]
                                         per-stage face-match times (decode, detect, align, embed)
      face-attack [--hostile N] [--seconds N] [--images declared-40mp|within-caps] [--enrolld PATH]
                  [--faces DIR] [--rss-limit-mib N] [--json]
                                         issue 18's face-engine attack on a real enrolld: N hostile image
                                         comparisons in flight from one caller, a normal kiosk's compare latency
                                         (p50, p99) beside it and the daemon's peak RSS
      liveness [--iterations N] [--frames N] [--models DIR] [--faces DIR] [--json]
                                         time per liveness burst by stage (median, p99) for 15 frames of 640x480,
                                         and peak RSS around one 30-frame burst at the 1920x1080 size cap
      liveness-eval [--bursts N] [--frames N] [--seed N] [--first-round N] [--models DIR] [--faces DIR]
                                         ISO/IEC 30107-3 figures (APCER per attack type, BPCER) of the liveness
                                         checks over generated labelled sets, with the thresholds used
      scan [--count 1000] [--levels mild,harsh] [--seed S] [--engine ocrb|tesseract|both] [--faces DIR]
           [--write DIR] [--json]
                                         generated card photos per degradation level: the right key within two
                                         candidates, wrong keys passing every check digit, latency percentiles
      release [--seconds N] [--clients N] [--json]
                                         data release: verifier requests per second and p50/p99 from N concurrent
                                         verifiers on the TLS 1.3 listener (loopback, client certificates), the
                                         handshake alone, a request over TLS, and the request in process apart
      load [--duration 600s] [--warmup 60s] [--clients N] [--readers 0|1|2] [--think 100ms]
           [--socket PATH] [--enrolld PATH] [--faces DIR] [--json]
           [--store sqlite|postgresql] [--faults default|card-pull=20s,pcscd-restart=150s,daemon-kill=200s,pg-failover=270s]
                                         enrollments on both virtual readers (a new person per tap) beside N
                                         concurrent API clients against a real enrolld: enrollments/s, p50/p99
                                         per operation, errors, the daemon's RSS, fds and threads; with --faults
                                         cards pulled mid-read, pcscd and enrolld SIGKILLed and restarted, the
                                         PostgreSQL primary stopped and its synchronous standby promoted, then
                                         expected failures by kind, unexpected errors, every issued serial in the
                                         database and the audit chain checked
    """

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "read":
    runReadBench(arguments: Array(arguments.dropFirst()))
case "pace":
    runPACEBench(arguments: Array(arguments.dropFirst()))
case "enroll":
    runEnrollBench(arguments: Array(arguments.dropFirst()))
case "issue":
    runIssueBench(arguments: Array(arguments.dropFirst()))
case "auth":
    runAuthenticityBench(arguments: Array(arguments.dropFirst()))
case "ocsp":
    runOCSPBench(arguments: Array(arguments.dropFirst()))
case "face":
    runFaceBench(arguments: Array(arguments.dropFirst()))
case "face-attack":
    runFaceAttackBench(arguments: Array(arguments.dropFirst()))
case "liveness":
    runLivenessBench(arguments: Array(arguments.dropFirst()))
case "liveness-eval":
    runLivenessEvaluation(arguments: Array(arguments.dropFirst()))
case "load":
    runLoadBench(arguments: Array(arguments.dropFirst()))
case "scan":
    runScanBench(arguments: Array(arguments.dropFirst()))
case "release":
    runReleaseBench(arguments: Array(arguments.dropFirst()))
case "-h", "--help", nil:
    print(usage)
default:
    FileHandle.standardError.write(Data("enroll-bench: unknown command '\(arguments[0])'\n\(usage)\n".utf8))
    exit(2)
}
