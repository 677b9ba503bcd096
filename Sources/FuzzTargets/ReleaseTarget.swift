import EnrollAPIModel
import Enrollment
import Foundation

/// The `release` target: what a verifier sends over the TLS listener, and what the holder's app sends.
///
/// Byte 0 picks the mode; the rest is the material:
/// - mode 0: a presentation token (`PresentationToken.parse`) under a fixed key: a token that parses is this key's,
///   re-encodes to the same text, and with any one character changed (byte 1 says which) is refused;
/// - mode 1: a `POST /v1/verifier/requests` body, decoded as the route does, its element list normalised, and its
///   token parsed;
/// - mode 2: a consent body, decoded, its elements normalised.
public enum ReleaseTarget {
    public static let key = [UInt8](repeating: 0x5A, count: 32)

    static func run(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        let material = Array(bytes.dropFirst())
        switch mode % 3 {
        case 0: token(material)
        case 1:
            guard let body = try? JSONDecoder().decode(VerifierRequestBody.self, from: Data(material)) else { return }
            if let elements = try? VerifierElement.normalised(body.elements) {
                precondition(elements.allSatisfy(VerifierElement.isKnown), "an unknown element passed")
                precondition(Set(elements).count == elements.count, "an element twice")
            }
            _ = try? PresentationToken.parse(body.token, key: key)
        default:
            guard let body = try? JSONDecoder().decode(ConsentBody.self, from: Data(material)) else { return }
            _ = try? VerifierElement.normalised(body.elements ?? [])
            _ = UUID(uuidString: body.requestId)
        }
    }

    static func token(_ material: [UInt8]) {
        guard let first = material.first else { return }
        let text = String(decoding: material.dropFirst(), as: UTF8.self)
        guard let token = try? PresentationToken.parse(text, key: key) else { return }
        precondition((try? token.encoded(key: key)) == text, "a parsed token does not encode back to its text")
        var changed = Array(text.utf8)
        let index = PresentationToken.prefix.utf8.count + Int(first) % max(1, changed.count - 4)
        guard index < changed.count else { return }
        changed[index] = changed[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let altered = String(decoding: changed, as: UTF8.self)
        if altered != text, let parsed = try? PresentationToken.parse(altered, key: key) {
            // base64url's last character may carry unused bits: the same bytes, the same token.
            precondition(parsed == token, "a changed token parsed to another token")
        }
    }

    /// Seeds: a valid token, a request body and a consent body.
    public static func seeds() throws -> [String: [UInt8]] {
        let token = try PresentationToken(
            presentationID: UUID(uuidString: "7D444840-9DC0-11D1-B245-5FFDCE74FAD2") ?? UUID(), counter: 7,
            expiry: Date(timeIntervalSince1970: 1_800_000_000)
        ).encoded(key: key)
        let request = #"{"token":"\#(token)","elements":["surname","age_over_18","given_names"],"purpose":"kyc"}"#
        let consent = #"{"requestId":"7D444840-9DC0-11D1-B245-5FFDCE74FAD2","elements":["surname"],"deviceId":"p"}"#
        return [
            "token": [0, 3] + Array(token.utf8),
            "request": [1] + Array(request.utf8),
            "consent": [2] + Array(consent.utf8),
        ]
    }
}
