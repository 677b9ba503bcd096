import Foundation
import MRTD
import SmartCard

extension VirtualCardProfile {
    /// The behaviours of issued chips an `emrtd` profile can ask for (each tested through pcscd + vpcd):
    /// ```json
    ///   "plainStatusWords": "kept" | "closed",
    ///   "atrInfo": { "extendedLength": true, "maxCommand": 1000, "maxResponse": 1000 },
    ///   "sod": { "reorderedIssuerName": true, "indefiniteLength": true },
    ///   "dg7": ["@signature.jpg"], "dg13": "5F0103414243", "portraitHeaderType": 1,
    ///   "dg16": [{ "dateRecorded": "20240101", "name": "DOE<<JANE", "telephone": "+1 555", "address": "1 MAIN ST" }],
    ///   "dg11": { "otherNames": ["SMITH<<JANE"], "otherNamesBare": true }
    /// ```
    /// `plainStatusWords`: failed protected commands answered with the status word alone, keeping or closing the
    /// session. `atrInfo`: EF.ATR/INFO in the master file (`maxResponse` also caps the chip's extended answers).
    /// `sod`: the SignerInfo names its issuer in reverse attribute order; the ContentInfo in BER. `portraitHeaderType`:
    /// the 19794-5 image data type written into DG2's header, whatever the image (0 JPEG, 1 JPEG 2000).
    static func realWorldOptions(
        _ object: [String: Any], into personalisation: inout EMRTDPersonalisation,
        base: URL, path: String
    ) throws(ProfileError) {
        if let value = object["plainStatusWords"] {
            guard let name = value as? String, let behaviour = PlainErrorStatus(rawValue: name) else {
                throw .invalid(path: path, reason: "plainStatusWords must be \"kept\" or \"closed\"")
            }
            personalisation.plainErrorStatus = behaviour
        }
        if let value = object["atrInfo"] {
            guard let settings = value as? [String: Any] else {
                throw .invalid(path: path, reason: "atrInfo is an object")
            }
            let command = settings["maxCommand"] as? Int
            let response = settings["maxResponse"] as? Int
            for size in [command, response].compactMap({ $0 }) where !(1...65_536).contains(size) {
                throw .invalid(path: path, reason: "atrInfo sizes must be 1 to 65536")
            }
            personalisation.atrInfo =
                CardCapabilities(
                    extendedLength: settings["extendedLength"] as? Bool,
                    maxCommandLength: command ?? response.map { _ in 261 },
                    maxResponseLength: response
                ).encoded
            if let response { personalisation.maxExtendedResponse = response }
        }
        if let value = object["sod"] {
            guard let settings = value as? [String: Any] else { throw .invalid(path: path, reason: "sod is an object") }
            personalisation.sodOptions.reorderedIssuerName = settings["reorderedIssuerName"] as? Bool ?? false
            personalisation.sodOptions.indefiniteLength = settings["indefiniteLength"] as? Bool ?? false
        }
        if let value = object["dg7"] {
            guard let references = value as? [String], references.allSatisfy({ $0.hasPrefix("@") }) else {
                throw .invalid(path: path, reason: "dg7 is a list of \"@file\" images")
            }
            var images: [[UInt8]] = []
            for reference in references {
                let file = resolve(String(reference.dropFirst()), base: base)
                guard let data = try? Data(contentsOf: file) else { throw .unreadable(path: file.path, reason: "dg7") }
                images.append([UInt8](data))
            }
            personalisation.dg7 = DG7(images: images)
        }
        if let value = object["dg13"] {
            guard let text = value as? String, let content = bytes(hex: text) else {
                throw .invalid(path: path, reason: "dg13 is the template's content in hex")
            }
            personalisation.dg13 = DG13(content: content)
        }
        if let value = object["dg16"] {
            guard let entries = value as? [[String: String]] else {
                throw .invalid(
                    path: path, reason: "dg16 is a list of persons { dateRecorded, name, telephone, address }")
            }
            personalisation.dg16 = DG16(
                persons: entries.map {
                    DG16.Person(
                        dateRecorded: $0["dateRecorded"], name: $0["name"], telephone: $0["telephone"],
                        address: $0["address"])
                })
        }
        if let value = object["portraitHeaderType"] {
            guard let type = value as? Int, (0...255).contains(type) else {
                throw .invalid(
                    path: path, reason: "portraitHeaderType is a 19794-5 image data type (0 JPEG, 1 JPEG 2000)")
            }
            personalisation.portraitHeaderImageDataType = UInt8(type)
        }
    }
}
