import Foundation
import OpenSSLKit

/// What the OCSP responder sends back for one request: the DER OCSPResponse and what an HTTP front needs to
/// serve and cache it (RFC 5019 §6).
public struct OCSPAnswer: Sendable {
    /// Where the answer came from.
    public enum Source: Sendable, Equatable {
        /// A pre-produced response from the cache: no signature was made for this request.
        case cache
        /// Signed for this request (a nonce, several certificates, or a cache miss).
        case fresh
        /// An unsigned error response (malformedRequest, unauthorized, tryLater, internalError).
        case error
    }

    public let der: [UInt8]
    public let status: OCSPResponseStatus
    public let source: Source
    /// thisUpdate and nextUpdate of the (single) response; nil for errors.
    public let thisUpdate: Date?
    public let nextUpdate: Date?
    /// Whether shared HTTP caches may keep the answer (a successful response without a nonce).
    public let isCacheable: Bool
    /// Why the request was refused, for logs and metrics (never the request's content).
    public let note: String?
    let entityTag: String?
    /// `Last-Modified` and `Expires` values, formatted once when the response was signed.
    let lastModified: String?
    let expires: String?

    init(
        der: [UInt8], status: OCSPResponseStatus, source: Source, thisUpdate: Date?, nextUpdate: Date?,
        isCacheable: Bool, note: String?, entityTag: String?, lastModified: String? = nil, expires: String? = nil
    ) {
        self.der = der
        self.status = status
        self.source = source
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.isCacheable = isCacheable
        self.note = note
        self.entityTag = entityTag
        self.lastModified = lastModified
        self.expires = expires
    }

    static func error(_ status: OCSPResponseStatus, _ note: String) -> OCSPAnswer {
        OCSPAnswer(
            der: OCSPResponseBuilder.errorResponse(status), status: status, source: .error, thisUpdate: nil,
            nextUpdate: nil, isCacheable: false, note: note, entityTag: nil)
    }

    /// The HTTP content type of every OCSP response (RFC 6960 Appendix A.2).
    public static let contentType = "application/ocsp-response"

    /// Response headers for an HTTP front (RFC 5019 §6.2): the content type, and for a cacheable answer
    /// `Last-Modified` (thisUpdate), `Expires` (nextUpdate), `ETag` and `Cache-Control` with `max-age` counting
    /// down to nextUpdate; everything else gets `Cache-Control: no-store`.
    public func httpHeaders(now: Date = Date()) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("Content-Type", Self.contentType)]
        guard isCacheable, let thisUpdate, let nextUpdate, nextUpdate > now else {
            headers.append(("Cache-Control", "no-store"))
            return headers
        }
        let maxAge = max(0, Int((nextUpdate.timeIntervalSince1970 - now.timeIntervalSince1970).rounded(.down)))
        headers.append(("Last-Modified", lastModified ?? HTTPDate.text(thisUpdate)))
        headers.append(("Expires", expires ?? HTTPDate.text(nextUpdate)))
        if let entityTag { headers.append(("ETag", entityTag)) }
        headers.append(("Cache-Control", "max-age=\(maxAge), public, no-transform, must-revalidate"))
        return headers
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7), made without a DateFormatter (which is neither cheap nor Sendable).
enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func text(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "Thu, 01 Jan 1970 00:00:00 GMT" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let day = days[Int(parts.tm_wday) % 7]
        let month = months[Int(parts.tm_mon) % 12]
        return "\(day), \(two(parts.tm_mday)) \(month) \(1900 + parts.tm_year) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
