import Foundation
import MRTD
import OpenSSLKit
import SmartCard

/// Builds EF.SOD: an LDS security object over the given data groups, signed as CMS SignedData by a
/// document signer (ICAO 9303-10 §4.6.2), wrapped in tag 77.
public enum SODBuilder {
    public struct Options: Sendable {
        /// LDS security object V1 with LDSVersionInfo (e.g. `("0108", "040000")`); nil gives V0.
        public var ldsVersion: (lds: String, unicode: String)?
        /// eContentType; legacy documents used id-data (1.2.840.113549.1.7.1).
        public var contentType: String
        /// Signature scheme; nil means ECDSA or RSA PKCS#1 v1.5 with the data-group hash.
        public var scheme: SignatureScheme?
        public var identification: CMSSignedData.SignerIdentification
        /// Embed the DSC in the SignedData (as every issuer does); false forces a trust-store look-up.
        public var includeCertificate: Bool
        /// The signingTime attribute; nil means now.
        public var signingTime: Date?
        /// Leave signingTime out (only contentType and messageDigest are signed), as many issuers do.
        /// Supported for ECDSA and RSA PKCS#1 v1.5 signers identified by issuer and serial number.
        public var omitSigningTime: Bool
        /// Name the signer's issuer with its attributes in reverse order (and UTF8String where the certificate has
        /// PrintableString), as some issued SODs do; implies `omitSigningTime`.
        public var reorderedIssuerName: Bool
        /// Write the ContentInfo with indefinite lengths (BER, `30 80 …`) inside the definite tag 77, as some issued
        /// passports do.
        public var indefiniteLength: Bool

        public init(
            ldsVersion: (lds: String, unicode: String)? = nil,
            contentType: String = PassiveAuthentication.ldsSecurityObjectType,
            scheme: SignatureScheme? = nil,
            identification: CMSSignedData.SignerIdentification = .issuerAndSerialNumber,
            includeCertificate: Bool = true, signingTime: Date? = nil, omitSigningTime: Bool = false,
            reorderedIssuerName: Bool = false, indefiniteLength: Bool = false
        ) {
            self.ldsVersion = ldsVersion
            self.contentType = contentType
            self.scheme = scheme
            self.identification = identification
            self.includeCertificate = includeCertificate
            self.signingTime = signingTime
            self.omitSigningTime = omitSigningTime
            self.reorderedIssuerName = reorderedIssuerName
            self.indefiniteLength = indefiniteLength
        }
    }

    /// Returns the full EF.SOD bytes (77 wrapper included).
    public static func build(
        dataGroups: [DataGroup: [UInt8]], hash: DigestAlgorithm = .sha256,
        signer: X509Certificate, key: PrivateKey,
        options: Options = Options()
    ) throws(OpenSSLError) -> [UInt8] {
        var hashes: [LDSSecurityObject.DataGroupHash] = []
        for (group, bytes) in dataGroups.sorted(by: { $0.key < $1.key }) {
            hashes.append(.init(dataGroup: group, hash: try Digest.hash(bytes, using: hash)))
        }
        let securityObject = LDSSecurityObject(
            version: options.ldsVersion == nil ? 0 : 1, hashAlgorithm: hash.oid,
            dataGroupHashes: hashes, ldsVersion: options.ldsVersion?.lds,
            unicodeVersion: options.ldsVersion?.unicode)
        guard let content = securityObject.der else {
            throw OpenSSLError(operation: "LDS security object encode", queue: ["bad hash OID \(hash.oid)"])
        }
        let cms = try sign(
            content: content, contentType: options.contentType, signer: signer, key: key,
            hash: hash, options: options)
        return TLV(tag: SOD.tag, value: cms).encoded
    }

    /// The DER (or, with `options.indefiniteLength`, BER) ContentInfo signing `content` as SignedData: the signing
    /// EF.SOD and EF.CardSecurity share.
    public static func sign(
        content: [UInt8], contentType: String, signer: X509Certificate, key: PrivateKey,
        hash: DigestAlgorithm = .sha256, options: Options = Options()
    )
        throws(OpenSSLError) -> [UInt8]
    {
        var cms: [UInt8]
        if options.omitSigningTime || options.reorderedIssuerName {
            var issuer: [UInt8]?
            if options.reorderedIssuerName {
                issuer = try DistinguishedName(signer.issuer.attributes.reversed()).derEncoded()
            }
            cms = try signedDataWithoutSigningTime(
                content: content, contentType: contentType, signer: signer, key: key,
                scheme: options.scheme ?? key.defaultScheme(digest: hash),
                includeCertificate: options.includeCertificate, issuerName: issuer)
        } else {
            cms = try CMSSignedData.sign(
                content: content, contentType: contentType, certificate: signer,
                key: key, scheme: options.scheme ?? key.defaultScheme(digest: hash),
                identification: options.identification,
                includeCertificate: options.includeCertificate,
                signingTime: options.signingTime
            ).der
        }
        if options.indefiniteLength { cms = try indefiniteLength(cms) }
        return cms
    }

    /// The same ContentInfo with its outer SEQUENCE and [0] in indefinite-length form: `30 80 06 … A0 80 <SignedData>
    /// 00 00 00 00` (BER, ISO/IEC 8825-1 §8.1.3.6). The SignedData inside keeps its DER.
    public static func indefiniteLength(_ contentInfo: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        guard let outer = try? TLV.parse(contentInfo), outer.tag == 0x30, let fields = try? outer.children(),
            fields.count == 2, fields[1].tag == 0xA0
        else {
            throw OpenSSLError(operation: "BER re-encoding", queue: ["not a ContentInfo"])
        }
        return [0x30, 0x80] + fields[0].encoded + [0xA0, 0x80] + fields[1].value + [0x00, 0x00, 0x00, 0x00]
    }
}

extension SODBuilder {
    /// SignedData (RFC 5652 §5) whose signed attributes are only contentType and messageDigest, assembled here
    /// because OpenSSL's CMS signer always adds signingTime.
    static func signedDataWithoutSigningTime(
        content: [UInt8], contentType: String, signer: X509Certificate,
        key: PrivateKey, scheme: SignatureScheme,
        includeCertificate: Bool, issuerName: [UInt8]? = nil
    )
        throws(OpenSSLError) -> [UInt8]
    {
        let signatureAlgorithm: [UInt8]
        switch scheme {
        case let .ecdsa(digest):
            let oids: [DigestAlgorithm: String] = [
                .sha1: "1.2.840.10045.4.1", .sha224: "1.2.840.10045.4.3.1", .sha256: "1.2.840.10045.4.3.2",
                .sha384: "1.2.840.10045.4.3.3", .sha512: "1.2.840.10045.4.3.4",
            ]
            signatureAlgorithm = sequence(try ASN1ObjectIdentifier.der(oids[digest] ?? ""))
        case .rsaPKCS1v15:
            signatureAlgorithm = sequence(try ASN1ObjectIdentifier.der("1.2.840.113549.1.1.1"), [0x05, 0x00])
        case .rsaPSS:
            throw OpenSSLError(operation: "SignedData without signingTime", queue: ["RSA-PSS is not supported"])
        }
        let digestAlgorithm = sequence(try ASN1ObjectIdentifier.der(scheme.digest.oid))
        let contentTypeOID = try ASN1ObjectIdentifier.der(contentType)
        let attributes =
            sequence(
                try ASN1ObjectIdentifier.der("1.2.840.113549.1.9.3"),
                TLV(tag: 0x31, value: contentTypeOID).encoded)
            + sequence(
                try ASN1ObjectIdentifier.der("1.2.840.113549.1.9.4"),
                TLV(
                    tag: 0x31,
                    value: TLV(tag: 0x04, value: try Digest.hash(content, using: scheme.digest))
                        .encoded
                ).encoded)
        let signature = try key.sign(TLV(tag: 0x31, value: attributes).encoded, scheme: scheme)
        var serial = signer.serialNumber
        if serial.first.map({ $0 & 0x80 != 0 }) ?? true { serial.insert(0, at: 0) }
        let issuerAndSerial = sequence(issuerName ?? signer.issuerNameDER, TLV(tag: 0x02, value: serial).encoded)
        let signerInfo = sequence(
            [0x02, 0x01, 0x01], issuerAndSerial, digestAlgorithm,
            TLV(tag: 0xA0, value: attributes).encoded, signatureAlgorithm,
            TLV(tag: 0x04, value: signature).encoded)
        let version: UInt8 = contentType == "1.2.840.113549.1.7.1" ? 1 : 3
        let signedData = sequence(
            [0x02, 0x01, version], TLV(tag: 0x31, value: digestAlgorithm).encoded,
            sequence(contentTypeOID, TLV(tag: 0xA0, value: TLV(tag: 0x04, value: content).encoded).encoded),
            includeCertificate ? TLV(tag: 0xA0, value: signer.der).encoded : [],
            TLV(tag: 0x31, value: signerInfo).encoded)
        return sequence(try ASN1ObjectIdentifier.der("1.2.840.113549.1.7.2"), TLV(tag: 0xA0, value: signedData).encoded)
    }

    private static func sequence(_ parts: [UInt8]...) -> [UInt8] { TLV(tag: 0x30, value: parts.flatMap { $0 }).encoded }
}

/// A throw-away country PKI for tests and HIL benches (ICAO 9303-12): a CSCA, a document signer,
/// a CRL, and on demand link certificates, further DSCs, master lists and forged documents.
/// EC P-256 by default, which keeps key generation in the milliseconds.
public struct TestPKI: Sendable {
    /// A certificate and its private key.
    public struct Party: Sendable {
        public let certificate: X509Certificate
        public let key: PrivateKey

        public init(certificate: X509Certificate, key: PrivateKey) {
            self.certificate = certificate
            self.key = key
        }
    }

    public struct Options: Sendable {
        public var country = "UT"
        public var cscaKey: KeyGenerationParameters = .p256
        public var dscKey: KeyGenerationParameters = .p256
        /// How the CSCA signs certificates and CRLs; nil: ECDSA or RSA PKCS#1 v1.5 with SHA-256.
        public var cscaScheme: SignatureScheme?
        /// Put the DSC's serial on the CRL.
        public var revokeDocumentSigner = false
        /// CSCA validity; default a year ago to ten years ahead.
        public var cscaValidity: (notBefore: Date, notAfter: Date)?
        /// DSC validity; default a month ago to three years ahead.
        public var dscValidity: (notBefore: Date, notAfter: Date)?

        public init() {}
    }

    public let country: String
    public let now: Date
    public let csca: Party
    public let documentSigner: Party
    /// A CRL from the CSCA (revoking the DSC when the options said so).
    public let crl: CertificateRevocationList
    public let options: Options

    static let day: TimeInterval = 86_400

    /// Generates the CSCA, DSC and CRL.
    public init(options: Options = Options(), now: Date = Date()) throws(OpenSSLError) {
        self.options = options
        self.now = now
        country = options.country
        let validity = options.cscaValidity ?? (now - 365 * TestPKI.day, now + 3650 * TestPKI.day)
        csca = try TestPKI.makeCSCA(
            country: options.country, name: "CSCA \(options.country)", key: options.cscaKey,
            validity: validity, scheme: options.cscaScheme)
        let dscValidity = options.dscValidity ?? (now - 30 * TestPKI.day, now + 3 * 365 * TestPKI.day)
        documentSigner = try TestPKI.issueDocumentSigner(
            issuer: csca, country: options.country, commonName: "DS \(options.country) 1", key: options.dscKey,
            serialNumber: [0x10, 0x01], validity: dscValidity, scheme: options.cscaScheme)
        let revoked =
            options.revokeDocumentSigner
            ? [CRLBuilder.Revocation(serialNumber: documentSigner.certificate.serialNumber, date: now - TestPKI.day)]
            : []
        crl = try CRLBuilder(thisUpdate: now - TestPKI.day, nextUpdate: now + 90 * TestPKI.day, revoked: revoked)
            .sign(issuer: csca.certificate, key: csca.key, scheme: options.cscaScheme)
    }

    /// A self-signed CSCA certificate (basicConstraints cA, pathLen 0; keyCertSign, cRLSign).
    public static func makeCSCA(
        country: String, name: String, key parameters: KeyGenerationParameters = .p256,
        validity: (notBefore: Date, notAfter: Date),
        scheme: SignatureScheme? = nil
    ) throws(OpenSSLError) -> Party {
        let key = try PrivateKey.generate(parameters)
        var builder = CertificateBuilder(
            subject: DistinguishedName(country: country, organization: "Test PKI", commonName: name),
            serialNumber: CertificateBuilder.randomSerial(), notBefore: validity.notBefore,
            notAfter: validity.notAfter, publicKey: try key.publicKey(), basicConstraints: (true, 0),
            keyUsage: [.keyCertSign, .cRLSign])
        builder.includeAuthorityKeyIdentifier = false
        return Party(certificate: try builder.sign(key: key, scheme: scheme), key: key)
    }

    /// A document signer certificate (keyUsage digitalSignature, or `keyUsage`; nil leaves the extension out)
    /// issued by `issuer`, with `extendedKeyUsage` OIDs when given (a master list signer's, for example).
    public static func issueDocumentSigner(
        issuer: Party, country: String, commonName: String,
        key parameters: KeyGenerationParameters = .p256,
        serialNumber: [UInt8] = CertificateBuilder.randomSerial(),
        validity: (notBefore: Date, notAfter: Date),
        scheme: SignatureScheme? = nil,
        keyUsage: KeyUsage? = [.digitalSignature],
        extendedKeyUsage: [String] = []
    ) throws(OpenSSLError) -> Party {
        let key = try PrivateKey.generate(parameters)
        var builder = CertificateBuilder(
            subject: DistinguishedName(country: country, organization: "Test PKI", commonName: commonName),
            serialNumber: serialNumber, notBefore: validity.notBefore, notAfter: validity.notAfter,
            publicKey: try key.publicKey(), basicConstraints: nil, keyUsage: keyUsage)
        if !extendedKeyUsage.isEmpty {
            builder.extraExtensions.append(("extendedKeyUsage", extendedKeyUsage.joined(separator: ",")))
        }
        return Party(
            certificate: try builder.sign(issuer: issuer.certificate, key: issuer.key, scheme: scheme), key: key)
    }

    /// Another DSC from this PKI's CSCA (or `issuer`), of this PKI's country (or `country`).
    public func issueDocumentSigner(
        commonName: String = "DS extra", key: KeyGenerationParameters = .p256,
        issuer: Party? = nil, validity: (notBefore: Date, notAfter: Date)? = nil,
        scheme: SignatureScheme? = nil, country: String? = nil,
        keyUsage: KeyUsage? = [.digitalSignature],
        extendedKeyUsage: [String] = []
    ) throws(OpenSSLError) -> Party {
        try TestPKI.issueDocumentSigner(
            issuer: issuer ?? csca, country: country ?? self.country, commonName: commonName, key: key,
            validity: validity ?? (now - TestPKI.day, now + 365 * TestPKI.day), scheme: scheme ?? options.cscaScheme,
            keyUsage: keyUsage, extendedKeyUsage: extendedKeyUsage)
    }

    /// EF.SOD over `dataGroups` signed by `signer` (another document signer than this PKI's own).
    public func sod(
        dataGroups: [DataGroup: [UInt8]], signedBy signer: Party, hash: DigestAlgorithm = .sha256
    )
        throws(OpenSSLError) -> [UInt8]
    {
        try SODBuilder.build(
            dataGroups: dataGroups, hash: hash, signer: signer.certificate, key: signer.key,
            options: .init(signingTime: now))
    }

    /// A CSCA key rollover: a new self-signed CSCA with the same name and the link certificate (new
    /// CSCA's name and key, signed by the current CSCA).
    public func rollOverCSCA(
        key parameters: KeyGenerationParameters = .p256
    ) throws(OpenSSLError)
        -> (newCSCA: Party, link: X509Certificate)
    {
        let validity = (now - TestPKI.day, now + 3650 * TestPKI.day)
        let fresh = try TestPKI.makeCSCA(country: country, name: "CSCA \(country)", key: parameters, validity: validity)
        let link = try CertificateBuilder(
            subject: fresh.certificate.subject, serialNumber: CertificateBuilder.randomSerial(),
            notBefore: validity.0, notAfter: validity.1, publicKey: try fresh.key.publicKey(),
            basicConstraints: (true, 0), keyUsage: [.keyCertSign, .cRLSign]
        ).sign(issuer: csca.certificate, key: csca.key, scheme: options.cscaScheme)
        return (fresh, link)
    }

    /// A CRL from the CSCA (or `issuer`) revoking `certificates`.
    public func makeCRL(
        revoking certificates: [X509Certificate], issuer: Party? = nil,
        nextUpdate: Date? = nil
    ) throws(OpenSSLError) -> CertificateRevocationList {
        let signer = issuer ?? csca
        return try CRLBuilder(
            thisUpdate: now - TestPKI.day, nextUpdate: nextUpdate ?? now + 90 * TestPKI.day, crlNumber: 2,
            revoked: certificates.map { .init(serialNumber: $0.serialNumber, date: now - TestPKI.day) }
        ).sign(issuer: signer.certificate, key: signer.key, scheme: options.cscaScheme)
    }

    /// A trust store holding this PKI's CSCA and (optionally) its CRL.
    public func trustStore(includeCRL: Bool = true) -> TrustStore {
        TrustStore(certificates: [csca.certificate], crls: includeCRL ? [crl] : [])
    }

    /// EF.SOD over `dataGroups` signed by this PKI's DSC.
    public func sod(
        dataGroups: [DataGroup: [UInt8]], hash: DigestAlgorithm = .sha256,
        options: SODBuilder.Options = .init()
    ) throws(OpenSSLError) -> [UInt8] {
        var options = options
        if options.signingTime == nil { options.signingTime = now }
        return try SODBuilder.build(
            dataGroups: dataGroups, hash: hash, signer: documentSigner.certificate,
            key: documentSigner.key, options: options)
    }

    // MARK: Master lists

    /// A master list signer certificate issued by the CSCA, with the extended key usage
    /// id-icao-cscaMasterListSigningKey (ICAO 9303-12 §7.1.2).
    public func makeMasterListSigner() throws(OpenSSLError) -> Party {
        try issueDocumentSigner(commonName: "Master List Signer \(country)", extendedKeyUsage: ["2.23.136.1.1.3"])
    }

    /// A CSCA master list (ICAO 9303-12 §9) carrying `certificates`, signed by `signer`.
    public static func masterList(
        certificates: [X509Certificate], signer: Party,
        signingTime: Date? = nil
    ) throws(OpenSSLError) -> [UInt8] {
        let certList = TLV(tag: 0x31, value: certificates.flatMap(\.der))
        let content = TLV(tag: 0x30, value: [0x02, 0x01, 0x00] + certList.encoded).encoded
        return try CMSSignedData.sign(
            content: content, contentType: CSCAMasterList.contentType,
            certificate: signer.certificate, key: signer.key,
            signingTime: signingTime
        ).der
    }

    // MARK: Forged documents

    /// Ways a document can be forged, each of which passive authentication must reject.
    public enum Forgery: Sendable, Equatable {
        /// The data group is changed after signing (hash mismatch).
        case alteredDataGroup(DataGroup)
        /// Signed by a DSC under a CSCA the verifier does not trust.
        case untrustedCSCA
        /// Signed by a DSC the CSCA's CRL revokes.
        case revokedDocumentSigner
        /// One bit of the SignerInfo signature flipped.
        case tamperedSignature
    }

    /// A forged document: its EF.SOD, the data groups a reader would see, and the trust store of this
    /// (genuine) PKI that should reject it.
    public func forgedDocument(
        _ forgery: Forgery, dataGroups: [DataGroup: [UInt8]]
    )
        throws(OpenSSLError) -> (sod: [UInt8], dataGroups: [DataGroup: [UInt8]], trustStore: TrustStore)
    {
        switch forgery {
        case let .alteredDataGroup(group):
            var altered = dataGroups
            if var bytes = altered[group], !bytes.isEmpty {
                bytes[bytes.count - 1] ^= 0x01
                altered[group] = bytes
            }
            return (try sod(dataGroups: dataGroups), altered, trustStore())
        case .untrustedCSCA:
            let rogue = try TestPKI.makeCSCA(
                country: country, name: "CSCA \(country)", key: options.cscaKey,
                validity: (now - 365 * TestPKI.day, now + 3650 * TestPKI.day),
                scheme: options.cscaScheme)
            let signer = try issueDocumentSigner(commonName: "DS \(country) 1", issuer: rogue)
            let bytes = try SODBuilder.build(
                dataGroups: dataGroups, signer: signer.certificate, key: signer.key,
                options: .init(signingTime: now))
            return (bytes, dataGroups, trustStore())
        case .revokedDocumentSigner:
            let revokedCRL = try makeCRL(revoking: [documentSigner.certificate])
            return (
                try sod(dataGroups: dataGroups), dataGroups,
                TrustStore(certificates: [csca.certificate], crls: [revokedCRL])
            )
        case .tamperedSignature:
            let genuine = try sod(dataGroups: dataGroups)
            guard let wrapped = try? SOD.parse(genuine) else {
                throw OpenSSLError(operation: "tamper signature", queue: ["EF.SOD does not parse"])
            }
            let cms = try CMSSignedData(der: wrapped.cms)
            guard let signature = cms.signers.first?.signature, signature.count > 8,
                let start = TestPKI.index(of: signature, in: genuine)
            else { throw OpenSSLError(operation: "tamper signature", queue: ["signature not found"]) }
            var forged = genuine
            forged[start + signature.count - 1] ^= 0x01
            return (forged, dataGroups, trustStore())
        }
    }

    static func index(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }
}
