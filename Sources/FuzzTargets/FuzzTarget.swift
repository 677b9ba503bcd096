import EnrollAPIModel
import UnixHTTP
import CardScan
import CertificateAuthority
import FaceMatch
import Foundation
import MRTD
import OpenSSLKit
import SmartCard

/// A parser of external input that the fuzzers drive (see `Fuzz/README` in the repository and `scripts/fuzz.sh`).
///
/// Each target feeds one input to the real parsers and looks at what they return. A target must never
/// crash, trap, leak or hang on any input: parsers answer bad input with their typed errors, which
/// the targets swallow. Where a parse succeeds, the target walks the result the way the daemon would.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// BER-TLV (SmartCard/TLV.swift): one object, a sequence, nesting validation.
    case tlv
    /// MRZ text (MRTD/MRZ.swift): parse, resolve dates, re-encode.
    case mrz
    /// LDS files: EF.COM, DG1, DG2 (with CBEFF and ISO 19794-5 / 39794-5 headers), DG11, DG12, DG14, DG15,
    /// EF.CardAccess.
    case lds
    /// EF.SOD: the CMS SignedData (OpenSSLKit/CMSSignedData.swift), its LDS security object and certificates,
    /// passive authentication.
    case sod
    /// CSCA master lists (MRTD/MasterList.swift).
    case masterlist
    /// Image decoding through the face engine (JPEG, PNG, JPEG 2000 JP2 and J2K), no detection.
    case image
    /// The HTTP/1.1 request parser (API/HTTPParser.swift), whole and in two pieces (the input's first two bytes
    /// say where to split).
    case http
    /// Certificate signing requests: parsing (OpenSSLKit) and the CA's request policy.
    case csr
    /// Card photos through the card scanner (CardScan): JPEG and PNG decoding with its byte and pixel limits, then
    /// locating, reading and correcting; an input that is neither is read as raw grey pixels (the first byte sets
    /// the width), so arbitrary pixels reach the locating and reading code.
    case cardscan
    /// Liveness bursts (FaceMatch/LivenessChecker.swift): frame counts, sizes, capture times, frame bytes, and the
    /// challenge's nonce and expiry; see `LivenessFuzzInput` for the layout.
    case liveness
    /// OCSP: requests through the CA's responder (POST body and GET path), and responses and CRLs as the
    /// foreign-certificate validator reads them.
    case ocsp
    /// The document reader (BAC, PACE GM/IM/CAM, secure messaging, READ BINARY, CA, AA) against a real applet whose
    /// answers the input changes, command by command; see `OrdinalChipScript` for the layout.
    case chip
    /// The document reader against a chip whose answers are the input's records, in order, protected with the
    /// session's keys; see `SequentialChipScript`.
    case chipScript = "chip-script"
    /// Secure messaging unprotect with a fixed key; see `SecureMessagingTarget` for the modes.
    case sm
    /// One HTTP request through the daemon's router and authorizer: no handler runs for a caller below its role.
    case router
    /// CRLs: parsing, entries, signature and coverage checks against a fixed CSCA, the trust store's use of them.
    case crl
    /// X.509 certificates: parsing, extensions, keys, signature checks and certification paths.
    case x509
    /// Data release: presentation tokens (the QR payload) and the verifier request and consent bodies; see
    /// `ReleaseTarget`.
    case release

    /// What the target covers, for `enroll-fuzz list`.
    public var summary: String {
        switch self {
        case .tlv: return "BER-TLV objects, sequences and nesting"
        case .mrz: return "MRZ text (TD1, TD2, TD3, visas)"
        case .lds: return "EF.COM, DG1, DG2, DG7, DG11, DG12, DG13, DG14, DG15, DG16, EF.CardAccess, EF.ATR/INFO"
        case .sod: return "EF.SOD: CMS SignedData, LDS security object, signer certificates"
        case .masterlist: return "CSCA master lists (CMS, content, certificates)"
        case .image: return "JPEG, PNG, JPEG 2000 decoding in the face engine"
        case .http: return "HTTP/1.1 request parser"
        case .csr: return "PKCS#10 requests and the signing request policy"
        case .cardscan: return "card photos: JPEG, PNG decoding, MRZ and CAN locating, reading, correction"
        case .liveness: return "liveness bursts: frame counts, sizes, timestamps, frames, challenge"
        case .ocsp: return "OCSP requests through the responder; OCSP responses and CRLs as a relying party reads them"
        case .chip: return "the document reader against a chip whose answers the input changes (BAC, PACE, SM, CA, AA)"
        case .chipScript: return "the document reader against a chip that answers with the input's records"
        case .sm: return "secure messaging unprotect (responses and commands) with a fixed key"
        case .router: return "the router and authorizer: no handler runs for a caller below its role"
        case .crl: return "CRLs: parsing, entries, signatures, trust store use"
        case .x509: return "X.509 certificates: parsing, extensions, signatures, certification paths"
        case .release: return "presentation tokens, verifier request and consent bodies, element lists"
        }
    }

    /// Feeds one input to the target's parsers.
    public func run(_ bytes: [UInt8]) {
        switch self {
        case .tlv: Self.tlv(bytes)
        case .mrz: Self.mrz(bytes)
        case .lds: Self.lds(bytes)
        case .sod: Self.sod(bytes)
        case .masterlist: Self.masterList(bytes)
        case .image: Self.image(bytes)
        case .http: Self.http(bytes)
        case .csr: Self.csr(bytes)
        case .cardscan: Self.cardScan(bytes)
        case .liveness: Self.liveness(bytes)
        case .ocsp: Self.ocsp(bytes)
        case .chip: ChipTargets.chip(bytes)
        case .chipScript: ChipTargets.chipScript(bytes)
        case .sm: SecureMessagingTarget.run(bytes)
        case .router: RouterTarget.run(bytes)
        case .crl: CertificateTargets.crl(bytes)
        case .x509: CertificateTargets.x509(bytes)
        case .release: ReleaseTarget.run(bytes)
        }
    }

    // MARK: Targets

    static func tlv(_ bytes: [UInt8]) {
        if let object = try? TLV.parse(bytes) {
            walk(object, depth: 0)
            // What parses must encode back to something that parses to the same object.
            precondition((try? TLV.parse(object.encoded)) == object, "TLV re-encoding does not parse back")
        }
        var reader = TLVReader(bytes)
        _ = try? reader.readAll()
        _ = try? TLVReader.validateNesting(bytes)
        _ = try? TLVReader.header(of: bytes)
    }

    private static func walk(_ object: TLV, depth: Int) {
        guard object.isConstructed, depth < 16, let children = try? object.children() else { return }
        for child in children { walk(child, depth: depth + 1) }
    }

    static func mrz(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let mrz = try? MRZ(parsing: text) else { return }
        _ = try? mrz.resolvedBirthDate()
        _ = try? mrz.resolvedExpiryDate()
        _ = mrz.concatenated
        _ = MRZ.checkDigit(mrz.documentNumber)
        _ = try? MRZ(encoding: mrz.fields, format: mrz.format)
    }

    static func lds(_ bytes: [UInt8]) {
        _ = try? EFCOM.parse(bytes)
        _ = try? DG1.parse(bytes)
        if let dg2 = try? DG2.parse(bytes) {
            _ = dg2.encoded
        }
        _ = try? DG11.parse(bytes)
        _ = try? DG12.parse(bytes)
        if let dg7 = try? DG7.parse(bytes) { _ = dg7.formats }
        _ = try? DG13.parse(bytes).objects
        if let dg16 = try? DG16.parse(bytes) { _ = dg16.encoded }
        _ = try? CardCapabilities(parsing: bytes)
        if let infos = try? SecurityInfos(parsing: bytes) {
            for case let .chipAuthenticationPublicKey(key) in infos.infos { _ = try? ChipAuthenticationKey(key) }
        }
        if let dg14 = try? DG14(parsing: bytes) {
            _ = dg14.chipAuthenticationInfos
            _ = dg14.chipAuthenticationPublicKeys
            _ = dg14.activeAuthentication?.digest
        }
        if let dg15 = try? DG15(parsing: bytes) { _ = try? dg15.publicKey.keyType }
        _ = try? FaceImage(encodedImage: bytes)
        _ = try? SecurityInfos(parsing: bytes)
    }

    static func sod(_ bytes: [UInt8]) {
        if let sod = try? SOD.parse(bytes) {
            _ = try? sod.encapsulatedContent()
            if let object = try? sod.securityObject() {
                _ = object.hashAlgorithmName
                _ = object.der
            }
            signedData(sod.cms)
        }
        _ = try? LDSSecurityObject.parse(der: bytes)
        signedData(bytes)
        // Passive authentication as the reader runs it, with the SOD's own certificates as trust anchors so
        // that a well-signed input reaches the chain, validity and data group hash checks.
        let anchors = (try? SOD.parse(bytes)).flatMap { try? CMSSignedData(der: $0.cms) }?.certificates ?? []
        let result = PassiveAuthentication.verify(
            sodFile: bytes, dataGroups: [.dg1: [0x61, 0x00]],
            trustStore: TrustStore(certificates: anchors))
        _ = result.passed
    }

    /// Reads a CMS SignedData the way passive authentication does: signers, certificates, signatures.
    private static func signedData(_ der: [UInt8]) {
        guard let cms = try? CMSSignedData(der: der) else { return }
        for certificate in cms.certificates { inspect(certificate) }
        for signer in cms.signers {
            for certificate in cms.certificates where cms.signer(signer, matches: certificate) {
                _ = cms.verifySignature(of: signer, with: certificate)
            }
        }
    }

    static func inspect(_ certificate: X509Certificate) {
        _ = certificate.subject.description
        _ = certificate.issuer.description
        _ = certificate.serialNumber
        _ = certificate.notBefore
        _ = certificate.notAfter
        _ = certificate.subjectKeyIdentifier
        _ = certificate.authorityKeyIdentifier
        _ = certificate.isCertificateAuthority
        _ = certificate.keyUsage
        _ = certificate.isSelfSigned
        _ = certificate.signatureAlgorithmName
        if let key = try? certificate.publicKey() { _ = key.keyType }
    }

    static func masterList(_ bytes: [UInt8]) {
        let list = try? CSCAMasterList.verify(
            der: bytes, trustStore: TrustStore(certificates: []),
            signerAnchor: nil)
        if let list {
            for certificate in list.certificates { inspect(certificate) }
        }
        // With the signer as its own anchor, a validly signed list gets through to the certificates.
        if let cms = try? CMSSignedData(der: bytes), let signer = cms.certificates.first {
            _ = try? CSCAMasterList.verify(der: bytes, trustStore: TrustStore(certificates: []), signerAnchor: signer)
        }
    }

    /// Decodes with a pixel bound (a megapixel) that keeps each run fast and well under the fuzzer's rss limit;
    /// the bound itself is checked from the header before any decoder allocates.
    static func image(_ bytes: [UInt8]) {
        _ = try? RGBImage(decoding: bytes, maximumPixels: 1 << 20)
    }

    /// The input is a 2-byte split point (big-endian) and the request bytes. Small limits, so that inputs under
    /// libFuzzer's length bound reach every limit check.
    static func http(_ input: [UInt8]) {
        guard input.count >= 2 else { return }
        let bytes = Array(input[2...])
        let limits = HTTPLimits(maxHeaderBytes: 256, maxHeaderCount: 8, maxBodyBytes: 512)
        let whole = feed(limits, [bytes[...]])
        // The same bytes in two pieces: the answer must not depend on how the bytes arrive.
        let split = bytes.isEmpty ? 0 : (Int(input[0]) << 8 | Int(input[1])) % bytes.count
        let pieces = feed(limits, [bytes[..<split], bytes[split...]])
        switch (whole, pieces) {
        case let (.success(one), .success(other)):
            precondition(
                one?.method == other?.method && one?.path == other?.path && one?.body == other?.body
                    && one?.headers.count == other?.headers.count && one?.query.count == other?.query.count,
                "HTTP parser reads a different request when it arrives in two pieces")
        case (.failure, .failure):
            break
        default:
            preconditionFailure(
                "HTTP parser accepts or refuses a request depending on how it arrives: "
                    + "whole \(whole), in two pieces \(pieces)")
        }
    }

    private static func feed(
        _ limits: HTTPLimits, _ pieces: [ArraySlice<UInt8>]
    )
        -> Result<HTTPRequest?, HTTPParseError>
    {
        var parser = HTTPRequestParser(limits: limits)
        do {
            for piece in pieces {
                if let request = try parser.feed(piece) { return .success(request) }
            }
            return .success(nil)
        } catch {
            return .failure(error)
        }
    }

    /// A responder over an in-memory CA, made once: no signature for most inputs (they are refused or hit the
    /// cache of the one issued serial), one for a new nonce or serial.
    private static let responder: OCSPResponder? = {
        guard let key = try? PrivateKey.generate(.p256), let publicKey = try? key.publicKey() else { return nil }
        let now = Date()
        let builder = CertificateBuilder(
            subject: DistinguishedName(country: "UT", commonName: "fuzz CA"),
            serialNumber: [0x01], notBefore: now - 60, notAfter: now + 86_400 * 365,
            publicKey: publicKey, basicConstraints: (isCA: true, pathLength: 0),
            keyUsage: [.keyCertSign, .cRLSign])
        guard let certificate = try? builder.sign(key: key),
            let authority = try? IssuingAuthority(certificate: certificate, key: key)
        else { return nil }
        let records = InMemoryCertificateRecords()
        records.set(.issued, serialHex: "0123")
        return try? OCSPResponder(authority: authority, source: records)
    }()

    static func ocsp(_ bytes: [UInt8]) {
        if let request = try? OCSPRequest(der: bytes) {
            _ = request.certificateIDs.map(\.description)
            // The same serials and nonce under our issuer, so that mutated requests reach the cache and signing.
            if let responder {
                let ids = request.certificateIDs.prefix(2).compactMap {
                    try? OCSPCertificateID(serialNumber: $0.serialNumber, issuer: responder.authority.certificate)
                }
                let nonce = request.nonce.flatMap { (1...32).contains($0.count) ? $0 : nil }
                if !ids.isEmpty, let again = try? OCSPRequest.encode(certificateIDs: ids, nonce: nonce) {
                    _ = responder.respond(toRequest: again)
                }
            }
        }
        if let responder {
            _ = responder.respond(toRequest: bytes).httpHeaders()
            _ = responder.respond(toEncodedRequest: String(decoding: bytes.prefix(512), as: UTF8.self))
        }
        if let response = try? OCSPResponse(der: bytes) {
            _ = response.responses.map(\.status.description)
            _ = response.nonce
            _ = response.certificates.map(\.ocspURLs)
        }
        if let crl = try? CertificateRevocationList(der: bytes) {
            _ = crl.entries.map(\.reason)
            _ = crl.crlNumber
        }
    }

    static func csr(_ bytes: [UInt8]) {
        let policy = SigningRequestPolicy()
        if let accepted = try? policy.check(bytes) {
            _ = accepted.keyDescription
            _ = accepted.request.subject.description
        }
        if let request = try? CertificateSigningRequest(der: bytes) {
            _ = request.subject.description
            _ = request.isSelfSignatureValid
            _ = try? request.publicKey().keyType
        }
        if let request = try? CertificateSigningRequest(pem: String(decoding: bytes, as: UTF8.self)) {
            _ = request.isSelfSignatureValid
        }
    }

    /// One scanner for every input (creating one renders the OCR-B templates); nil when fonts-ocr-b is missing.
    /// Limits are small so that each run stays fast and well under the fuzzer's rss limit.
    private static let scanner: CardScanner? = try? CardScanner(
        configuration: CardScanConfiguration(
            maximumBytes: 1 << 20, maximumPixels: 1 << 20, maximumCandidates: 2))

    static func cardScan(_ bytes: [UInt8]) {
        guard let scanner = scanner else { return }
        if bytes.count >= 3, bytes[0] == 0xFF || bytes[0] == 0x89 {
            if let result = try? scanner.scan(image: bytes) { inspect(result) }
            return
        }
        guard let first = bytes.first else { return }
        let width = 16 + Int(first)
        let pixels = Array(bytes.dropFirst())
        let height = pixels.count / width
        guard height > 0,
            let grey = GreyImage(
                width: width, height: height,
                pixels: Array(pixels.prefix(width * height)))
        else { return }
        if let result = try? scanner.scan(grey: grey) { inspect(result) }
    }

    /// Walks a scan result the way the daemon answers with it.
    private static func inspect(_ result: CardScanResult) {
        _ = result.description
        _ = result.mrz?.concatenated
        for candidate in result.candidates {
            precondition(candidate.confidence >= 0 && candidate.confidence <= 1, "confidence outside 0...1")
        }
        precondition(result.candidates.count <= 2, "more candidates than the configured maximum")
    }

    /// Evaluates the burst with small limits (so that short inputs reach every limit and the frame analysis); the
    /// engines load once from ENROLLD_MODEL_DIR. Without models only the limits and the challenge are checked.
    static func liveness(_ bytes: [UInt8]) {
        let input = LivenessFuzzInput(bytes)
        let checker = LivenessFuzzInput.checker
        let limits = checker?.configuration.limits ?? LivenessFuzzInput.limits
        guard let checker else {
            _ = try? limits.validate(input.burst)
            return
        }
        do {
            let decision = try checker.evaluate(
                burst: input.burst, challenge: input.challenge,
                portrait: LivenessFuzzInput.portrait, now: input.now)
            precondition(!decision.checks.isEmpty, "a liveness decision without checks")
            precondition(
                decision.isLive == decision.checks.allSatisfy { !$0.required || $0.passed },
                "isLive disagrees with the checks")
            precondition(decision.isLive || decision.instruction != nil, "a refusal without an instruction")
        } catch {
            precondition(!"\(error)".isEmpty, "an error without a description")
        }
    }
}

/// The liveness target's input: byte 0 flags (bit 0: the burst names another nonce, bit 1: evaluated after the
/// expiry), byte 1 the frame count; then per frame a big-endian Int16 of milliseconds since the previous frame
/// (0x7FFF: not a number), a 24-bit big-endian length and that many image bytes (cut at the end of the input).
public struct LivenessFuzzInput: Sendable {
    public var burst: LivenessBurst
    public var challenge: LivenessChallenge
    public var now: Date

    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let limits = LivenessLimits(
        minimumFrames: 2, maximumFrames: 8, maximumFrameBytes: 64 << 10,
        maximumBurstBytes: 256 << 10, maximumFramePixels: 1 << 18, minimumFrameSide: 16,
        minimumSpan: 0.01, maximumSpan: 20, maximumGap: 5)
    static let portrait = LivenessPortrait(
        image: [0xFF, 0xD8, 0xFF],
        embedding: FaceEmbedding(values: Array(repeating: 0.05, count: 128)))
    static let checker: LivenessChecker? = {
        guard let engine = try? FaceEngine(), let model = try? PresentationAttackModel() else { return nil }
        var configuration = LivenessConfiguration(limits: limits)
        configuration.maximumEmbeddedFrames = 3
        configuration.passiveFrames = 2
        return LivenessChecker(
            engine: engine, passiveModel: model, configuration: configuration,
            replayGuard: ReplayGuard(configuration: .init(capacity: 64)))
    }()

    public init(_ bytes: [UInt8]) {
        let flags = bytes.first ?? 0
        let count = bytes.count > 1 ? Int(bytes[1]) : 0
        challenge = LivenessChallenge(
            nonce: Array(0..<16), prompts: [.turnLeft, .comeCloser], issuedAt: Self.start,
            expiresAt: Self.start.addingTimeInterval(20))
        now = Self.start.addingTimeInterval(flags & 2 != 0 ? 25 : 10)
        var frames: [LivenessFrame] = []
        var offset = 2
        var time = Self.start.timeIntervalSince1970 + 0.5
        for _ in 0..<count {
            guard offset + 5 <= bytes.count else { break }
            let delta = Int16(bitPattern: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))
            let length = Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            offset += 5
            let end = min(bytes.count, offset + length)
            time = delta == Int16.max ? .nan : time + Double(delta) / 1000
            frames.append(
                LivenessFrame(
                    image: Array(bytes[offset..<end]),
                    capturedAt: Date(timeIntervalSince1970: time)))
            offset = end
        }
        burst = LivenessBurst(
            nonce: flags & 1 != 0 ? Array(repeating: 0xEE, count: 16) : challenge.nonce,
            frames: frames)
    }

    /// The layout above, for seeds.
    public static func encode(frames: [(milliseconds: Int16, image: [UInt8])], flags: UInt8 = 0) -> [UInt8] {
        var bytes: [UInt8] = [flags, UInt8(clamping: frames.count)]
        for frame in frames {
            let delta = UInt16(bitPattern: frame.milliseconds)
            let length = frame.image.count
            bytes += [
                UInt8(delta >> 8), UInt8(delta & 0xFF), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF),
                UInt8(length & 0xFF),
            ]
            bytes += frame.image
        }
        return bytes
    }
}
