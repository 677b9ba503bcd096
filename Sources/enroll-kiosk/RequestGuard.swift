import UnixHTTP

/// Checks every request before anything else runs, against DNS rebinding and cross-site requests:
///
/// - `Host` must be exactly `127.0.0.1:PORT` (a rebinding attacker's page names its own host name);
/// - a state-changing request (anything but GET and HEAD) must carry `Origin: http://127.0.0.1:PORT`;
///   any request that carries an `Origin` must name that one;
/// - `Sec-Fetch-Site`, where the browser sends it, must be `same-origin` (or `none` for the start URL a person or
///   the kiosk launcher opens), so another site's links, images and scripts load nothing.
///
/// The session cookie (`BrowserSession`) is checked after these, and is `SameSite=Strict` besides.
struct RequestGuard: Sendable {
    let port: UInt16

    var authority: String { "127.0.0.1:\(port)" }
    var origin: String { "http://\(authority)" }

    func check(_ request: HTTPRequest, navigationAllowed: Bool = false) throws(GatewayRefusal) {
        let host = request.header("Host")
        guard host == authority else { throw .foreignHost(host, expected: authority) }
        let presentedOrigin = request.header("Origin")
        let safe = request.method == "GET" || request.method == "HEAD"
        if let presentedOrigin {
            guard presentedOrigin == origin else { throw .foreignOrigin(presentedOrigin) }
        } else if !safe {
            throw .foreignOrigin(nil)
        }
        if let site = request.header("Sec-Fetch-Site") {
            guard site == "same-origin" || (navigationAllowed && site == "none") else { throw .crossSite }
        }
    }
}
