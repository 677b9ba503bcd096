import Enrollment
import Secrets
import Foundation
import Store

extension Configuration {
    /// The transports of `[outbox]`, with the SMTP password and the gateway token read from their files (checked like
    /// key files: regular, mode 0600, owned by the service user). Empty when none is configured.
    func messageTransportsForDelivery() throws -> [ContactKind: any MessageTransport] {
        func secret(_ path: String?) throws -> String? {
            guard let path else { return nil }
            guard let bytes = try KeyFile.readSecret(path: path, limit: 4096) else {
                throw KeyFileError.system(path: path, operation: "open", errno: ENOENT)
            }
            return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines)
        }
        var transports: [ContactKind: any MessageTransport] = [:]
        if let host = smtpHost {
            transports[.email] = SMTPTransport(
                settings: SMTPTransport.Settings(
                    host: host, port: smtpPort, requireTLS: smtpSecurity == .starttls, username: smtpUsername,
                    password: try secret(smtpPasswordFile), from: smtpFrom, heloName: IdentityLifecycle.hostName(),
                    trustFile: smtpTrustFile))
        }
        if let url = smsGatewayURL {
            transports[.phone] = SMSGatewayTransport(
                settings: SMSGatewayTransport.Settings(url: url, token: try secret(smsTokenFile)))
        }
        return transports
    }
}
