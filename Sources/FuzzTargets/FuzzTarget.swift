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

    /// What the target covers, for `enroll-fuzz list`.
    public var summary: String {
        switch self {
        case .tlv: return "BER-TLV objects, sequences and nesting"
        case .mrz: return "MRZ text (TD1, TD2, TD3, visas)"
        case .lds: return "EF.COM, DG1, DG2, DG11, DG12, DG14, DG15, EF.CardAccess"
        case .sod: return "EF.SOD: CMS SignedData, LDS security object, signer certificates"
        case .masterlist: return "CSCA master lists (CMS, content, certificates)"
        case .image: return "JPEG, PNG, JPEG 2000 decoding in the face engine"
        case .http: return "HTTP/1.1 request parser"
        case .csr: return "PKCS#10 requests and the signing request policy"
        case .cardscan: return "card photos: JPEG, PNG decoding, MRZ and CAN locating, reading, correction"
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
        let result = PassiveAuthentication.verify(sodFile: bytes, dataGroups: [.dg1: [0x61, 0x00]],
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

    private static func inspect(_ certificate: X509Certificate) {
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
        let list = try? CSCAMasterList.verify(der: bytes, trustStore: TrustStore(certificates: []),
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
            precondition(one?.method == other?.method && one?.path == other?.path && one?.body == other?.body
                         && one?.headers.count == other?.headers.count && one?.query.count == other?.query.count,
                         "HTTP parser reads a different request when it arrives in two pieces")
        case (.failure, .failure):
            break
        default:
            preconditionFailure("HTTP parser accepts or refuses a request depending on how it arrives: "
                                + "whole \(whole), in two pieces \(pieces)")
        }
    }

    private static func feed(_ limits: HTTPLimits, _ pieces: [ArraySlice<UInt8>])
        -> Result<HTTPRequest?, HTTPParseError> {
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
    private static let scanner: CardScanner? = try? CardScanner(configuration: CardScanConfiguration(
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
        guard height > 0, let grey = GreyImage(width: width, height: height,
                                               pixels: Array(pixels.prefix(width * height))) else { return }
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
}
