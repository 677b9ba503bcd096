import CertificateAuthority
import DaemonCore
import Foundation
import OpenSSLKit

/// `enrolld ca init ...` and `enrolld ca install-certificate FILE`. Returns the exit status.
func runCACommand(_ arguments: [String], configuration: Configuration) -> Int32 {
    let directory = URL(fileURLWithPath: configuration.resolvedCADirectory)
    func problem(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("enrolld ca: \(message)\n".utf8))
        return 1
    }
    switch arguments.first {
    case "init":
        var algorithm = CAKeyAlgorithm.p256
        var name = "enrolld Signing CA"
        var country = "UT"
        var years = 10
        var mode = CAInitialisationMode.selfSigned
        var force = false
        var rest = arguments.dropFirst().makeIterator()
        while let option = rest.next() {
            switch option {
            case "--algorithm":
                guard let value = rest.next(), let parsed = CAKeyAlgorithm(rawValue: value) else {
                    return problem(
                        "--algorithm is one of \(CAKeyAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                algorithm = parsed
            case "--name":
                guard let value = rest.next(), !value.isEmpty else { return problem("--name needs a common name") }
                name = value
            case "--country":
                guard let value = rest.next(), value.count == 2 else {
                    return problem("--country needs a 2-letter code")
                }
                country = value.uppercased()
            case "--validity-years":
                guard let value = rest.next(), let number = Int(value), (1...30).contains(number) else {
                    return problem("--validity-years needs 1 to 30")
                }
                years = number
            case "--external-root":
                mode = .externalRoot
            case "--force":
                force = true
            default:
                return problem("unknown option \(option)")
            }
        }
        do {
            let outcome = try CAStore.initialise(
                directory: directory, algorithm: algorithm,
                subject: DistinguishedName(
                    country: country, organization: "enrolld",
                    commonName: name),
                validityYears: years, mode: mode, replaceExisting: force)
            if let credential = configuration.caPassphraseCredential {
                print(
                    "[ca] passphrase_credential = \(credential): encrypt the new passphrase into it and remove the file "
                        + "(systemd-creds encrypt --name=\(credential) \(directory.path)/\(CAStore.passphraseFileName) "
                        + "/etc/credstore.encrypted/\(credential) && shred -u \(directory.path)/"
                        + "\(CAStore.passphraseFileName))")
            }
            switch outcome {
            case let .selfSigned(certificate):
                print("CA initialised in \(directory.path): \(certificate.subject), \(algorithm.rawValue)")
                print(certificate.pem, terminator: "")
            case let .awaitingCertificate(_, requestPath):
                print(
                    "CA key created; have your root sign \(requestPath), then run `enrolld ca install-certificate FILE`"
                )
            }
            return 0
        } catch {
            return problem(error.description)
        }
    case "install-certificate":
        guard arguments.count == 2, let pem = try? String(contentsOfFile: arguments[1], encoding: .utf8) else {
            return problem("install-certificate needs a readable PEM file")
        }
        do {
            let certificate = try CAStore.installCertificate(
                pem: pem, directory: directory, passphrase: configuration.caPassphraseSource)
            print("CA certificate installed: \(certificate.subject)")
            return 0
        } catch {
            return problem(error.description)
        }
    default:
        return problem("unknown ca command; use init or install-certificate")
    }
}
