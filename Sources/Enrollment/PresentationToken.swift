import Foundation
import OpenSSLKit

/// The QR code's payload: a short token the daemon signs, naming a presentation, a counter and an expiry, and no
/// personal data.
///
/// Text form: `EP1.` and the base64url (RFC 4648 §5, no padding) of 60 bytes: the presentation id (16), the counter
/// (4, big-endian), the expiry in seconds since 1970 (8, big-endian) and HMAC-SHA-256 over `"enrolld-presentation-v1"`
/// and those 28 bytes, truncated to 32 bytes, under the daemon's presentation key (random per start: tokens are
/// short-lived, and a restart ends every open presentation). 84 characters: a small QR code (version 5, level M).
public struct PresentationToken: Sendable, Equatable {
    public var presentationID: UUID
    public var counter: UInt32
    public var expiry: Date

    public static let prefix = "EP1."
    static let context = Array("enrolld-presentation-v1".utf8)
    static let bodyLength = 28

    public init(presentationID: UUID, counter: UInt32, expiry: Date) {
        self.presentationID = presentationID
        self.counter = counter
        self.expiry = expiry
    }

    /// The signed text form.
    public func encoded(key: [UInt8]) throws(OpenSSLError) -> String {
        let body = bodyBytes
        let mac = try HMAC.authenticate(Self.context + body, key: key)
        return Self.prefix + Base64URL.encode(body + mac)
    }

    var bodyBytes: [UInt8] {
        let uuid = presentationID.uuid
        var bytes: [UInt8] = [
            uuid.0, uuid.1, uuid.2, uuid.3, uuid.4, uuid.5, uuid.6, uuid.7, uuid.8, uuid.9, uuid.10, uuid.11,
            uuid.12, uuid.13, uuid.14, uuid.15,
        ]
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((counter >> UInt32(shift)) & 0xFF)) }
        let seconds = UInt64(max(0, expiry.timeIntervalSince1970.rounded(.down)))
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((seconds >> UInt64(shift)) & 0xFF)) }
        return bytes
    }

    /// Parses and authenticates a token; throws `token-invalid` for anything that is not a token this daemon signed
    /// (the expiry and the counter are the caller's to check). Reads at most 200 characters.
    public static func parse(_ text: String, key: [UInt8]) throws(EnrollmentError) -> PresentationToken {
        let invalid = EnrollmentError(
            .tokenInvalid, "the token is not a presentation token of this service: scan the holder's QR code again")
        guard text.utf8.count <= 200, text.hasPrefix(prefix),
            let bytes = Base64URL.decode(String(text.dropFirst(prefix.count))), bytes.count == bodyLength + 32
        else { throw invalid }
        let body = Array(bytes[0..<bodyLength])
        let mac = Array(bytes[bodyLength...])
        guard let expected = try? HMAC.authenticate(context + body, key: key), constantTimeEqual(expected, mac) else {
            throw invalid
        }
        return decode(body)
    }

    /// The fields of 28 body bytes (length checked by the caller).
    static func decode(_ body: [UInt8]) -> PresentationToken {
        let id = UUID(
            uuid: (
                body[0], body[1], body[2], body[3], body[4], body[5], body[6], body[7], body[8], body[9], body[10],
                body[11], body[12], body[13], body[14], body[15]
            ))
        let counter = body[16..<20].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let seconds = body[20..<28].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return PresentationToken(
            presentationID: id, counter: counter,
            expiry: Date(timeIntervalSince1970: TimeInterval(min(seconds, 1 << 40))))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// base64url without padding (RFC 4648 §5).
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Nil for any character outside the alphabet, or a length no encoding has.
    public static func decode(_ text: String) -> [UInt8]? {
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        guard text.allSatisfy(alphabet.contains), text.count % 4 != 1 else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard).map(Array.init)
    }
}
