import Foundation
import MRTD
import OpenSSLKit
import SmartCard

/// How `enroll-vcard` is personalised: a JSON file naming the kind of card and its contents.
///
/// ```json
/// { "kind": "files",
///   "atr": "3B8880010000000000000000",
///   "masterFiles": { "011C": "3100" },
///   "applications": { "A0000002471001": { "011E": "600A5F0104303130375C0161" } } }
/// ```
/// File values are hexadecimal, or `@path` to read a file (relative to the profile's folder).
///
/// An eMRTD (ICAO 9303 chip) is described by its card-face data instead, and gets BAC and
/// secure messaging:
/// ```json
/// { "kind": "emrtd",
///   "mrz": "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F3204159UTO<<<<<<<<<<<4\nERIKSSON<<ANNA<MARIA<<<<<<<<<<",
///   "portrait": "@portrait.jpg",
///   "dg11": { "fullName": "ERIKSSON ANNA MARIA", "personalNumber": "123456789" },
///   "dg12": { "issuingAuthority": "UTOPIA", "dateOfIssue": "20220101" },
///   "extendedLength": true, "maxShortResponse": 256 }
/// ```
/// PACE (EF.CardAccess in the master file) is offered with `"pace"`; `"bac": false` makes a PACE-only chip:
/// ```json
///   "pace": { "parameterId": 13, "cipher": "AES-128", "can": "123456" }, "bac": false
/// ```
/// Active and chip authentication keys: `"activeAuthentication": { "key": "@aa.key" }`,
/// `"chipAuthentication": { "key": "@ca.key" }` (see `antiCloneKeys`).
///
/// Behaviours of issued chips (plain status words, EF.ATR/INFO, SOD encodings, DG7/DG13/DG16, mismatched portrait
/// headers): see `realWorldOptions`; with `"maxShortResponse": 200` and `"plainStatusWords"` a short-Le cap answered
/// with a plain 6700.
public struct VirtualCardProfile: Sendable {
    public var atr: [UInt8]
    public var masterFiles: [UInt16: [UInt8]]
    public var applications: [[UInt8]: [UInt16: [UInt8]]]
    /// Set for `"kind": "emrtd"`: the eMRTD applet serves this instead of the plain file system.
    public var emrtd: EMRTDProfile?

    /// The ATR the virtual card presents by default: contactless, with extended length announced
    /// in the card-capabilities object (historical bytes 80 73 00 00 40).
    public static let defaultATR = ATRInfo.contactless(historicalBytes: [0x80, 0x73, 0x00, 0x00, 0x40])

    public init(
        atr: [UInt8] = VirtualCardProfile.defaultATR, masterFiles: [UInt16: [UInt8]] = [:],
        applications: [[UInt8]: [UInt16: [UInt8]]] = [:]
    ) {
        self.atr = atr
        self.masterFiles = masterFiles
        self.applications = applications
    }

    /// Reads and validates a profile file.
    public static func load(path: String) throws(ProfileError) -> VirtualCardProfile {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw .invalid(path: path, reason: "not JSON: \(error.localizedDescription)")
        }
        guard let object = json as? [String: Any] else {
            throw .invalid(path: path, reason: "top level must be an object")
        }
        let base = url.deletingLastPathComponent()
        let kind = object["kind"] as? String ?? "files"
        guard kind == "files" || kind == "emrtd" else { throw .invalid(path: path, reason: "unknown kind '\(kind)'") }
        var profile = VirtualCardProfile()
        if kind == "emrtd" {
            var emrtd = try emrtdProfile(object, base: base, path: path).makeProfile(path: path)
            try withhold(object["withheld"], from: &emrtd, path: path)
            profile.emrtd = emrtd
            // The ATR announces extended length only when the card accepts it.
            profile.atr = ATRInfo.contactless(historicalBytes: [
                0x80, 0x73, 0x00, 0x00, emrtd.extendedLength ? 0x40 : 0x00,
            ])
        }
        if let atrText = object["atr"] {
            guard let text = atrText as? String, let atr = bytes(hex: text), atr.count >= 2, atr.count <= 33 else {
                throw .invalid(path: path, reason: "atr must be 2 to 33 bytes of hex")
            }
            profile.atr = atr
        }
        profile.masterFiles = try files(object["masterFiles"], base: base, path: path)
        if let apps = object["applications"] {
            guard let apps = apps as? [String: Any] else {
                throw .invalid(path: path, reason: "applications must be an object")
            }
            for (aidText, content) in apps {
                guard let aid = bytes(hex: aidText), (5...16).contains(aid.count) else {
                    throw .invalid(path: path, reason: "application id '\(aidText)' must be 5 to 16 bytes of hex")
                }
                profile.applications[aid] = try files(content, base: base, path: path)
            }
        }
        return profile
    }

    static func files(_ value: Any?, base: URL, path: String) throws(ProfileError) -> [UInt16: [UInt8]] {
        guard let value else { return [:] }
        guard let entries = value as? [String: Any] else {
            throw .invalid(path: path, reason: "file lists must be objects")
        }
        var out: [UInt16: [UInt8]] = [:]
        for (fidText, content) in entries {
            guard let fidBytes = bytes(hex: fidText), fidBytes.count == 2 else {
                throw .invalid(path: path, reason: "file identifier '\(fidText)' must be 2 bytes of hex")
            }
            guard let text = content as? String else {
                throw .invalid(path: path, reason: "file \(fidText) must be a string")
            }
            let fid = UInt16(fidBytes[0]) << 8 | UInt16(fidBytes[1])
            if text.hasPrefix("@") {
                let file = resolve(String(text.dropFirst()), base: base)
                guard let data = try? Data(contentsOf: file) else {
                    throw .unreadable(path: file.path, reason: "named by file \(fidText)")
                }
                out[fid] = [UInt8](data)
            } else {
                guard let data = bytes(hex: text) else {
                    throw .invalid(path: path, reason: "file \(fidText) is not hex")
                }
                out[fid] = data
            }
        }
        return out
    }

    /// A file named in a profile: absolute, or relative to the profile's folder.
    static func resolve(_ name: String, base: URL) -> URL {
        name.hasPrefix("/") ? URL(fileURLWithPath: name) : base.appendingPathComponent(name)
    }

    /// A certificate and key given as `{ "certificate": "@file.pem", "key": "@file.key" }`.
    static func party(_ value: Any, name: String, base: URL, path: String) throws(ProfileError) -> TestPKI.Party {
        guard let names = value as? [String: String], let certificate = names["certificate"], let key = names["key"],
            certificate.hasPrefix("@"), key.hasPrefix("@")
        else {
            throw .invalid(path: path, reason: "\(name) needs \"certificate\": \"@file\" and \"key\": \"@file\"")
        }
        let certificateFile = resolve(String(certificate.dropFirst()), base: base)
        let keyFile = resolve(String(key.dropFirst()), base: base)
        guard let certificatePEM = try? String(contentsOf: certificateFile, encoding: .utf8),
            let keyPEM = try? String(contentsOf: keyFile, encoding: .utf8)
        else {
            throw .unreadable(path: certificateFile.path, reason: "\(name) certificate or key")
        }
        do {
            return TestPKI.Party(
                certificate: try X509Certificate(pem: certificatePEM), key: try PrivateKey(pem: keyPEM))
        } catch {
            throw .invalid(path: path, reason: "\(name): \(error)")
        }
    }

    /// The applet that serves this profile.
    public func makeApplet() -> CardApplet {
        if let emrtd { return EMRTDApplet(profile: emrtd) }
        return FileSystemApplet(masterFiles: masterFiles, applications: applications)
    }

    /// `"withheld": ["DG11", ...]`: data groups the chip does not give up although EF.SOD (signed with them)
    /// lists their hashes: SELECT answers 6A82, as a chip that hides a file from this terminal.
    private static func withhold(_ value: Any?, from profile: inout EMRTDProfile, path: String) throws(ProfileError) {
        guard let value else { return }
        guard let names = value as? [String] else {
            throw .invalid(path: path, reason: "withheld must be a list of data groups such as \"DG11\"")
        }
        for name in names {
            guard name.hasPrefix("DG"), let number = Int(name.dropFirst(2)), let file = FileID.dataGroup(number),
                profile.files[file] != nil
            else {
                throw .invalid(path: path, reason: "withheld: \(name) is not a data group of this card")
            }
            profile.files[file] = nil
        }
    }

    private static func emrtdProfile(
        _ object: [String: Any], base: URL, path: String
    ) throws(ProfileError)
        -> EMRTDPersonalisation
    {
        let mrzText: String
        if let lines = object["mrz"] as? [String] {
            mrzText = lines.joined(separator: "\n")
        } else if let text = object["mrz"] as? String {
            mrzText = text
        } else {
            throw .invalid(path: path, reason: "an emrtd profile needs \"mrz\" (a string or an array of lines)")
        }
        let mrz: MRZ
        do {
            mrz = try MRZ(parsing: mrzText)
        } catch {
            throw .invalid(path: path, reason: "mrz: \(error)")
        }
        var portraits: [[UInt8]] = []
        var references = object["portraits"] as? [String] ?? []
        if let single = object["portrait"] as? String { references.insert(single, at: 0) }
        for reference in references {
            guard reference.hasPrefix("@") else { throw .invalid(path: path, reason: "portraits are given as @file") }
            let file = resolve(String(reference.dropFirst()), base: base)
            guard let data = try? Data(contentsOf: file) else { throw .unreadable(path: file.path, reason: "portrait") }
            portraits.append([UInt8](data))
        }
        var personalisation = EMRTDPersonalisation(mrz: mrz, portraits: portraits)
        if let fields = object["dg11"] as? [String: Any] {
            var dg11 = DG11(
                fullName: fields["fullName"] as? String, personalNumber: fields["personalNumber"] as? String,
                fullDateOfBirth: fields["fullDateOfBirth"] as? String,
                placeOfBirth: fields["placeOfBirth"] as? String, address: fields["address"] as? String,
                telephone: fields["telephone"] as? String, profession: fields["profession"] as? String,
                title: fields["title"] as? String)
            if let names = fields["otherNames"] {
                guard let list = names as? [String] else {
                    throw .invalid(path: path, reason: "dg11.otherNames must be a list of strings")
                }
                dg11.otherNames = list
            }
            dg11.otherNamesOutsideTemplate = fields["otherNamesBare"] as? Bool ?? false
            personalisation.dg11 = dg11
        }
        if let fields = object["dg12"] as? [String: String] {
            personalisation.dg12 = DG12(
                issuingAuthority: fields["issuingAuthority"], dateOfIssue: fields["dateOfIssue"])
        }
        if let extended = object["extendedLength"] {
            guard let flag = extended as? Bool else {
                throw .invalid(path: path, reason: "extendedLength must be true or false")
            }
            personalisation.extendedLength = flag
        }
        if let pace = object["pace"] {
            personalisation.pace = try paceConfiguration(pace, path: path)
        }
        if let bac = object["bac"] {
            guard let flag = bac as? Bool else { throw .invalid(path: path, reason: "bac must be true or false") }
            personalisation.bacEnabled = flag
        }
        if let signer = object["documentSigner"] {
            personalisation.documentSigner = try party(signer, name: "documentSigner", base: base, path: path)
        }
        if let cardSecurity = (object["pace"] as? [String: Any])?["cardSecurity"] as? [String: Any],
            let signer = cardSecurity["signer"]
        {
            personalisation.cardSecuritySigner = try party(
                signer, name: "pace.cardSecurity.signer", base: base,
                path: path)
        }
        if let altered = object["alterAfterSigning"] {
            guard let name = altered as? String, name.hasPrefix("DG"), let number = Int(name.dropFirst(2)),
                let group = DataGroup(number: number)
            else {
                throw .invalid(path: path, reason: "alterAfterSigning names a data group such as \"DG2\"")
            }
            personalisation.alteredAfterSigning = group
        }
        try antiCloneKeys(object, into: &personalisation, base: base, path: path)
        try realWorldOptions(object, into: &personalisation, base: base, path: path)
        if let short = object["maxShortResponse"] {
            guard let size = short as? Int, (1...256).contains(size) else {
                throw .invalid(path: path, reason: "maxShortResponse must be 1 to 256")
            }
            personalisation.maxShortResponse = size
        }
        return personalisation
    }
}

extension VirtualCardProfile {
    /// `"pace": { "parameterId": 0...2 | 8...18, "cipher": "3DES" | "AES-128" | "AES-192" | "AES-256",
    /// "can": "123456", "mapping": "GM" | "IM" | "CAM",
    /// "cardSecurity": { "decoyKeysFirst": true, "alterAfterSigning": false,
    ///                   "signer": { "certificate": "@rogue/dsc.pem", "key": "@rogue/dsc.key" } } }`.
    /// `cardSecurity` (CAM only): other chip authentication keys before the CAM key; the CAM key swapped after
    /// signing (a forgery); another signer than the document signer (a forgery when it is not trusted).
    fileprivate static func paceConfiguration(_ value: Any, path: String) throws(ProfileError) -> PACEConfiguration {
        guard let object = value as? [String: Any] else { throw .invalid(path: path, reason: "pace must be an object") }
        var configuration = PACEConfiguration()
        if let id = object["parameterId"] {
            guard let id = id as? Int, PACEDomain.supportedParameterIDs.contains(id) else {
                throw .invalid(path: path, reason: "pace.parameterId must be 0, 1, 2 or 8 to 18")
            }
            configuration.parameterID = id
        }
        if let cipher = object["cipher"] {
            guard let name = cipher as? String,
                let algorithm = SecureMessagingCipherSuite.Algorithm(rawValue: name)
            else {
                throw .invalid(path: path, reason: "pace.cipher must be 3DES, AES-128, AES-192 or AES-256")
            }
            configuration.cipher = algorithm
        }
        if let mapping = object["mapping"] {
            guard let name = mapping as? String, let found = PACEMapping(rawValue: name) else {
                throw .invalid(path: path, reason: "pace.mapping must be GM, IM or CAM")
            }
            configuration.mapping = found
            guard found != .chipAuthentication || (configuration.parameterID > 2 && configuration.cipher != .tripleDES)
            else {
                throw .invalid(path: path, reason: "pace.mapping CAM needs an ECDH parameterId and an AES cipher")
            }
            guard found != .integrated || configuration.parameterID != 10 else {
                throw .invalid(path: path, reason: "pace.mapping IM is not defined on NIST P-224 (parameterId 10)")
            }
        }
        if let layout = object["cardSecurity"] {
            guard let settings = layout as? [String: Any], configuration.mapping == .chipAuthentication else {
                throw .invalid(path: path, reason: "pace.cardSecurity is an object, for mapping CAM")
            }
            for (key, flag) in [
                ("decoyKeysFirst", \CardSecurityLayout.decoyKeysFirst),
                ("alterAfterSigning", \CardSecurityLayout.alteredAfterSigning),
            ] {
                guard let value = settings[key] else { continue }
                guard let bool = value as? Bool else {
                    throw .invalid(path: path, reason: "pace.cardSecurity.\(key) must be true or false")
                }
                configuration.cardSecurity[keyPath: flag] = bool
            }
        }
        if let can = object["can"] {
            guard let digits = can as? String, (try? CardAccessNumber(digits)) != nil else {
                throw .invalid(path: path, reason: "pace.can must be a string of 6 digits")
            }
            configuration.can = digits
        }
        return configuration
    }
}

/// Why a profile could not be used.
public enum ProfileError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read profile \(path): \(reason)"
        case let .invalid(path, reason): return "profile \(path) is invalid: \(reason)"
        }
    }
}

extension EMRTDPersonalisation {
    fileprivate func makeProfile(path: String) throws(ProfileError) -> EMRTDProfile {
        do {
            return try makeProfile()
        } catch {
            throw .invalid(path: path, reason: error.description)
        }
    }
}
