import CertificateAuthority
import DaemonCore
import EnrollAPIModel
import Foundation
import MRTD
import OpenSSLKit
import SmartCard
import Synchronization
import UnixHTTP
import VirtualCard

/// The `sm` target: secure messaging unprotect (ICAO 9303-11 §9.8.6, §9.8.7) with a fixed key.
///
/// Byte 0 picks the algorithm (3DES, AES-128, AES-192, AES-256), byte 1 the mode; the rest is the material:
/// - mode 0: a response APDU as it came from the chip, through `SecureMessagingSession.unprotect`;
/// - mode 1: the data objects of a response, which the target closes with a valid DO'8E' over them (so that
///   mutations reach the object parser, the padding indicator, decryption and unpadding);
/// - mode 2: a command APDU through the card side's `unprotectCommand`, and the same with a valid DO'8E';
/// - mode 3: a plain response (`[sw1][sw2][data]`) protected and unprotected again: it must come back as it was,
///   and with any one byte of its protected form flipped (byte 2 of the input says which) it must be refused.
enum SecureMessagingTarget {
    static let algorithms: [SecureMessagingCipherSuite.Algorithm] = [.tripleDES, .aes128, .aes192, .aes256]

    static func suite(_ algorithm: SecureMessagingCipherSuite.Algorithm) -> SecureMessagingCipherSuite? {
        let length = algorithm.keyLength
        return try? SecureMessagingCipherSuite(
            algorithm: algorithm,
            encryptionKey: (0..<length).map { UInt8(0x10 &+ $0) },
            macKey: (0..<length).map { UInt8(0x80 &+ $0 &* 3) })
    }

    static func run(_ bytes: [UInt8]) {
        guard bytes.count >= 2, let suite = suite(algorithms[Int(bytes[0]) % algorithms.count]) else { return }
        var ssc = SendSequenceCounter(zeroes: suite.sscLength)
        ssc.increment()
        let material = Array(bytes[2...])
        switch bytes[1] % 4 {
        case 0:
            guard let response = try? ResponseAPDU(bytes: material) else { return }
            let session = SecureMessagingSession(suite: suite, ssc: SendSequenceCounter(zeroes: suite.sscLength))
            do {
                _ = try session.unprotect(response)
                precondition(session.isActive, "an unprotected answer from an ended session")
            } catch {
                precondition(
                    !session.isActive || SecureMessagingSession.isPlainErrorAnswer(response),
                    "a refused answer left the session open")
            }
        case 1:
            guard let checksum = try? suite.mac(material, ssc: ssc) else { return }
            let data = material + TLV(tag: 0x8E, value: checksum).encoded
            if let plain = try? suite.unprotectResponse(ResponseAPDU(data: data, statusWord: .success), ssc: ssc) {
                precondition(plain.data.count <= material.count, "more plain data than protected bytes")
            }
        case 2:
            guard let command = try? CommandAPDU(bytes: material) else { return }
            _ = try? suite.unprotectCommand(command, ssc: ssc)
            let header = ISO9797Padding.pad(
                [command.cla | 0x0C, command.ins, command.p1, command.p2],
                blockSize: suite.blockSize)
            guard let checksum = try? suite.mac(header + command.data, ssc: ssc),
                command.data.count + 10 <= CommandAPDU.maxExtendedLc
            else { return }
            let closed = CommandAPDU(
                cla: command.cla | 0x0C, ins: command.ins, p1: command.p1, p2: command.p2,
                data: command.data + TLV(tag: 0x8E, value: checksum).encoded, le: command.le)
            if let plain = try? suite.unprotectCommand(closed, ssc: ssc) {
                precondition(
                    plain.ins == command.ins && plain.p1 == command.p1 && plain.p2 == command.p2,
                    "unprotect changed the command header")
            }
        default:
            guard material.count >= 3 else { return }
            let plain = ResponseAPDU(
                data: Array(material[3...]),
                statusWord: StatusWord(sw1: material[1], sw2: material[2]))
            let odd = material[0] & 1 == 1
            guard let protected = try? suite.protectResponse(plain, oddInstruction: odd, ssc: ssc) else { return }
            let back = try? suite.unprotectResponse(protected, ssc: ssc)
            precondition(back == plain, "a protected response does not unprotect to itself")
            var flipped = protected
            let index = Int(material[0]) % flipped.data.count
            flipped.data[index] ^= 0x01 | (material[0] & 0xFE)
            precondition(
                (try? suite.unprotectResponse(flipped, ssc: ssc)) == nil,
                "a response with byte \(index) changed passed the MAC check")
            var later = ssc
            later.increment()
            precondition(
                (try? suite.unprotectResponse(protected, ssc: later)) == nil,
                "a replayed response passed the MAC check under the next SSC")
        }
    }
}

/// The `router` target: one HTTP request through the daemon's `Router` and `RequestAuthorizer`, with every route
/// in `RoutePermissions.table` registered and a handler that records the role it ran with.
///
/// Byte 0 picks the caller (no role, kiosk, operator, admin by uid or by group, the daemon's own uid, unknown
/// credentials); byte 1 bit 0 says whether the holder proof is accepted; the rest is the request as it arrives on
/// the socket. Whatever the request, no handler runs for a caller below the route's role, a kiosk runs a holder
/// route only with an accepted proof, and a handler never sees more than the caller's role.
enum RouterTarget {
    struct Peer {
        var credentials: PeerCredentials
        var role: Role?
    }

    static let daemonUID: UInt32 = 990
    static let peers: [Peer] = [
        Peer(credentials: PeerCredentials(pid: 10, uid: 2000, gid: 2000), role: nil),
        Peer(credentials: PeerCredentials(pid: 11, uid: 1001, gid: 1001), role: .kiosk),
        Peer(credentials: PeerCredentials(pid: 12, uid: 1002, gid: 1002), role: .operator),
        Peer(credentials: PeerCredentials(pid: 13, uid: 1003, gid: 1003), role: .admin),
        Peer(credentials: PeerCredentials(pid: 14, uid: 2001, gid: 2001, groups: [3001]), role: .kiosk),
        Peer(credentials: PeerCredentials(pid: 15, uid: 2002, gid: 3002, groups: [3001]), role: .operator),
        Peer(credentials: PeerCredentials(pid: 16, uid: daemonUID, gid: 990), role: .admin),
        Peer(credentials: .unknown, role: nil),
    ]

    static let roles: ResolvedRoles = {
        var assignments = RoleAssignments()
        assignments.principals = [
            .kiosk: [.uid(1001), .gid(3001)], .operator: [.uid(1002), .gid(3002)],
            .admin: [.uid(1003)],
        ]
        return assignments.resolved(daemonUID: daemonUID)
    }()

    /// What the last request did: the handler that ran (its route and role) and the proofs asked for.
    struct Record {
        var ran: (route: String, access: RouteAccess, role: Role)?
        var proofAccepted = false
        var acceptProof = false
    }

    static let record = Mutex(Record())

    static let router: Router = {
        let authorizer = RequestAuthorizer(roles: roles) { _, _ throws(Problem) in
            let accept = record.withLock { state in
                state.proofAccepted = state.acceptProof
                return state.acceptProof
            }
            if !accept { throw Problem(.holderProofRequired, detail: "the holder proof does not match") }
        }
        var router = Router(authorizer: authorizer)
        for entry in RoutePermissions.table + [("POST /v1/unlisted/{id}", RouteAccess.admin, "")] {
            let parts = entry.route.split(separator: " ", maxSplits: 1).map(String.init)
            let name = entry.route
            let access = entry.access
            router.add(
                Route(
                    parts[0], parts[1],
                    .respond { context throws(Problem) in
                        record.withLock { $0.ran = (name, access, context.role) }
                        return HTTPResponse(status: 200)
                    }))
        }
        return router
    }()

    /// The least role a route's access needs, written out here (the specification the router is held to).
    static func minimumRole(_ access: RouteAccess) -> Role? {
        switch access {
        case .anyone: return nil
        case .kiosk, .holder: return .kiosk
        case .operator: return .operator
        case .admin: return .admin
        }
    }

    static func run(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let peer = peers[Int(bytes[0]) % peers.count]
        record.withLock { $0 = Record(acceptProof: bytes[1] & 1 == 1) }
        var parser = HTTPRequestParser(
            limits: HTTPLimits(
                maxHeaderBytes: 2048, maxHeaderCount: 16,
                maxBodyBytes: 1024))
        guard let request = try? parser.feed(bytes[2...]) else { return }
        let response = router.response(to: request, peer: peer.credentials)
        let state = record.withLock { $0 }
        guard let ran = state.ran else {
            precondition(response.status >= 400, "no handler ran, yet the router answered \(response.status)")
            return
        }
        precondition(response.status == 200, "a handler ran, yet the router answered \(response.status)")
        if let needed = minimumRole(ran.access) {
            guard let granted = peer.role else {
                preconditionFailure("\(ran.route) ran for a caller without a role")
            }
            precondition(granted >= needed, "\(ran.route) ran for a \(granted) caller; it needs \(needed)")
            precondition(ran.role <= granted, "\(ran.route) ran as \(ran.role) for a \(granted) caller")
            if ran.access == .holder && ran.role == .kiosk {
                precondition(state.proofAccepted, "\(ran.route) ran for a kiosk without the holder's proof")
            }
        }
        precondition(ran.route.hasPrefix(request.method + " "), "\(ran.route) ran for a \(request.method) request")
    }
}

/// The `crl` and `x509` targets: CRLs and certificates as the trust store, passive authentication and the
/// relying-party checks read them, against a fixed test PKI (so that a mutated CRL from the CSCA reaches
/// signature and entry checks).
enum CertificateTargets {
    static let pki: TestPKI? = try? TestPKI(now: Date(timeIntervalSince1970: 1_800_000_000))

    static func crl(_ bytes: [UInt8]) {
        let parsed =
            (try? CertificateRevocationList(der: bytes))
            ?? (try? CertificateRevocationList(pem: String(decoding: bytes.prefix(16_384), as: UTF8.self)))
        guard let crl = parsed else { return }
        _ = crl.description
        _ = crl.issuerNameDER
        _ = (crl.thisUpdate, crl.nextUpdate, crl.crlNumber)
        for entry in crl.entries { _ = (entry.serialNumber, entry.revocationDate, entry.reason) }
        _ = crl.pem
        guard let pki else { return }
        let signed = (try? pki.csca.certificate.publicKey()).map(crl.isSigned(by:)) ?? false
        _ = crl.covers(pki.documentSigner.certificate)
        _ = crl.entry(forSerial: pki.documentSigner.certificate.serialNumber)
        let store = TrustStore(certificates: [pki.csca.certificate], crls: [crl])
        let verified = store.verifiedCRLs(for: pki.documentSigner.certificate).verified
        precondition(
            signed || verified.allSatisfy { $0.der != crl.der }, "a CRL the CSCA did not sign counted as verified")
        _ = store.certificationPath(for: pki.documentSigner.certificate)
    }

    static func x509(_ bytes: [UInt8]) {
        var certificates: [X509Certificate] = []
        if let certificate = try? X509Certificate(der: bytes) { certificates.append(certificate) }
        if bytes.count < 32_768,
            let list = try? X509Certificate.certificates(pem: String(decoding: bytes, as: UTF8.self))
        {
            certificates += list.prefix(4)
        }
        for certificate in certificates {
            FuzzTarget.inspect(certificate)
            _ = certificate.pem
            _ = certificate.fingerprint
            _ = certificate.ocspURLs
            _ = certificate.caIssuersURLs
            _ = certificate.crlDistributionPointURLs
            _ = certificate.extendedKeyUsageOIDs
            _ = certificate.policyOIDs
            _ = certificate.hasOCSPNoCheck
            _ = certificate.isValid(at: Date(timeIntervalSince1970: 1_800_000_000))
            if let key = try? certificate.publicKey() { _ = certificate.isSigned(by: key) }
            guard let pki else { continue }
            // As a document signer under our CSCA, and as a CSCA of its own.
            let store = TrustStore(certificates: [pki.csca.certificate], crls: [pki.crl])
            if case .success = store.certificationPath(for: certificate) {
                let issuerKey = try? pki.csca.certificate.publicKey()
                precondition(
                    issuerKey.map(certificate.isSigned(by:)) == true || certificate == pki.csca.certificate,
                    "a certificate the CSCA did not sign has a certification path")
            }
            _ = store.verifiedCRLs(for: certificate)
            _ = TrustStore(certificates: [certificate]).certificationPath(for: pki.documentSigner.certificate)
            _ = try? CertificatePath.validate(
                certificate, anchors: [pki.csca.certificate],
                at: Date(timeIntervalSince1970: 1_800_000_000))
        }
    }
}

/// Seeds for the `sm`, `router`, `crl`, `x509` and `release` targets (`enroll-fuzz seed`).
public enum ServiceSeeds {
    public static func all() throws -> [FuzzTarget: [String: [UInt8]]] {
        var seeds: [FuzzTarget: [String: [UInt8]]] = [:]
        seeds[.release] = try ReleaseTarget.seeds()
        var ssc = SendSequenceCounter(zeroes: 8)
        for (index, algorithm) in SecureMessagingTarget.algorithms.enumerated() {
            guard let suite = SecureMessagingTarget.suite(algorithm) else { continue }
            ssc = SendSequenceCounter(zeroes: suite.sscLength)
            ssc.increment()
            let name = algorithm.rawValue.lowercased()
            let plain = ResponseAPDU(data: Array("EF.COM 60 16 5F 01".utf8), statusWord: .success)
            let protected = try suite.protectResponse(plain, oddInstruction: false, ssc: ssc)
            let odd = try suite.protectResponse(plain, oddInstruction: true, ssc: ssc)
            let tag = UInt8(index)
            seeds[.sm, default: [:]]["\(name)-response"] = [tag, 0] + protected.data + [0x90, 0x00]
            seeds[.sm, default: [:]]["\(name)-response-odd"] = [tag, 0] + odd.data + [0x90, 0x00]
            seeds[.sm, default: [:]]["\(name)-objects"] = [tag, 1] + protected.data.dropLast(10)
            let command = try suite.protectCommand(CommandAPDU(ins: 0xB0, p1: 0x81, p2: 0x00, le: 0xDF), ssc: ssc)
            seeds[.sm, default: [:]]["\(name)-command"] = [tag, 2] + (try command.encoded())
            let select = try suite.protectCommand(
                CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: [0x01, 0x1E]),
                ssc: ssc)
            seeds[.sm, default: [:]]["\(name)-command-objects"] =
                [tag, 2]
                + (try CommandAPDU(
                    cla: select.cla, ins: select.ins, p1: select.p1, p2: select.p2,
                    data: Array(select.data.dropLast(10)),
                    le: select.le
                ).encoded())
            seeds[.sm, default: [:]]["\(name)-round-trip"] = [tag, 3, 0x05, 0x62, 0x82] + Array(0..<40)
        }

        let account = "7D444840-9DC0-11D1-B245-5FFDCE74FAD2"
        let requests: [(UInt8, UInt8, String)] = [
            (0, 0, "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            (1, 0, "GET /v1/readers HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            (1, 1, "GET /v1/accounts/\(account) HTTP/1.1\r\nHost: localhost\r\nX-Enrolld-Passcode: 123456\r\n\r\n"),
            (1, 0, "GET /v1/accounts/\(account)/usage?from=2026-01-01 HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            (2, 0, "POST /v1/certificates/0A1B/revoke HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}"),
            (
                3, 0,
                "POST /v1/trust/import HTTP/1.1\r\nHost: localhost\r\nX-Enrolld-Role: operator\r\n"
                    + "Content-Length: 0\r\n\r\n"
            ),
            (
                5, 0,
                "POST /v1/accounts/\(account)/status HTTP/1.1\r\nHost: localhost\r\nX-Enrolld-Role: kiosk\r\n"
                    + "Content-Length: 0\r\n\r\n"
            ),
            (4, 1, "DELETE /v1/accounts/\(account)/devices/d%2F1 HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            (6, 0, "POST /v1/unlisted/1 HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            (7, 0, "PUT /v1/accounts/\(account)/contact HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        ]
        for (index, (peer, proof, request)) in requests.enumerated() {
            seeds[.router, default: [:]]["request-\(index)"] = [peer, proof] + Array(request.utf8)
        }

        if let pki = CertificateTargets.pki {
            seeds[.crl, default: [:]]["csca.crl"] = pki.crl.der
            seeds[.crl, default: [:]]["csca.crl.pem"] = Array(pki.crl.pem.utf8)
            let revoking = try TestPKI(
                options: {
                    var options = TestPKI.Options()
                    options.revokeDocumentSigner = true
                    return options
                }())
            seeds[.crl, default: [:]]["revoking.crl"] = revoking.crl.der
            seeds[.x509, default: [:]]["csca.der"] = pki.csca.certificate.der
            seeds[.x509, default: [:]]["dsc.der"] = pki.documentSigner.certificate.der
            seeds[.x509, default: [:]]["chain.pem"] = Array(
                (pki.documentSigner.certificate.pem
                    + pki.csca.certificate.pem).utf8)
        }
        return seeds
    }
}
