import Foundation
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
public struct VirtualCardProfile: Sendable {
    public var atr: [UInt8]
    public var masterFiles: [UInt16: [UInt8]]
    public var applications: [[UInt8]: [UInt16: [UInt8]]]

    /// The ATR the virtual card presents by default: contactless, with extended length announced
    /// in the card-capabilities object (historical bytes 80 73 00 00 40).
    public static let defaultATR = ATRInfo.contactless(historicalBytes: [0x80, 0x73, 0x00, 0x00, 0x40])

    public init(atr: [UInt8] = VirtualCardProfile.defaultATR, masterFiles: [UInt16: [UInt8]] = [:],
                applications: [[UInt8]: [UInt16: [UInt8]]] = [:]) {
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
        guard let object = json as? [String: Any] else { throw .invalid(path: path, reason: "top level must be an object") }
        let base = url.deletingLastPathComponent()
        let kind = object["kind"] as? String ?? "files"
        guard kind == "files" else { throw .invalid(path: path, reason: "unknown kind '\(kind)'") }
        var profile = VirtualCardProfile()
        if let atrText = object["atr"] {
            guard let text = atrText as? String, let atr = bytes(hex: text), atr.count >= 2, atr.count <= 33 else {
                throw .invalid(path: path, reason: "atr must be 2 to 33 bytes of hex")
            }
            profile.atr = atr
        }
        profile.masterFiles = try files(object["masterFiles"], base: base, path: path)
        if let apps = object["applications"] {
            guard let apps = apps as? [String: Any] else { throw .invalid(path: path, reason: "applications must be an object") }
            for (aidText, content) in apps {
                guard let aid = bytes(hex: aidText), (5...16).contains(aid.count) else {
                    throw .invalid(path: path, reason: "application id '\(aidText)' must be 5 to 16 bytes of hex")
                }
                profile.applications[aid] = try files(content, base: base, path: path)
            }
        }
        return profile
    }

    private static func files(_ value: Any?, base: URL, path: String) throws(ProfileError) -> [UInt16: [UInt8]] {
        guard let value else { return [:] }
        guard let entries = value as? [String: Any] else { throw .invalid(path: path, reason: "file lists must be objects") }
        var out: [UInt16: [UInt8]] = [:]
        for (fidText, content) in entries {
            guard let fidBytes = bytes(hex: fidText), fidBytes.count == 2 else {
                throw .invalid(path: path, reason: "file identifier '\(fidText)' must be 2 bytes of hex")
            }
            guard let text = content as? String else { throw .invalid(path: path, reason: "file \(fidText) must be a string") }
            let fid = UInt16(fidBytes[0]) << 8 | UInt16(fidBytes[1])
            if text.hasPrefix("@") {
                let file = base.appendingPathComponent(String(text.dropFirst()))
                guard let data = try? Data(contentsOf: file) else {
                    throw .unreadable(path: file.path, reason: "named by file \(fidText)")
                }
                out[fid] = [UInt8](data)
            } else {
                guard let data = bytes(hex: text) else { throw .invalid(path: path, reason: "file \(fidText) is not hex") }
                out[fid] = data
            }
        }
        return out
    }

    /// The applet that serves this profile.
    public func makeApplet() -> CardApplet {
        FileSystemApplet(masterFiles: masterFiles, applications: applications)
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
