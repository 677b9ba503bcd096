import Foundation

/// A fleet's database connection must not be open to whoever sits on the network path (issue 18): a PostgreSQL host
/// that is not this machine is refused unless TLS checks the server (`sslmode` verify-full, or verify-ca by explicit
/// choice). libpq's own default, `prefer`, falls back to plain text without a word.
public struct StoreTransportPolicy: Sendable, Equatable {
    public struct Refusal: Error, CustomStringConvertible, Equatable {
        public var host: String
        public var sslMode: String
        public var description: String {
            "[store] the PostgreSQL host \(host) is not local, and sslmode is \(sslMode): set sslmode = verify-full "
                + "(or verify-ca, and sslrootcert) so that TLS checks the server"
        }
    }

    /// The hosts a conninfo names (`host=` of a key/value string, or the host part of a postgresql:// URI, several
    /// separated by commas), and the sslmode it sets itself, if any.
    static func parse(_ conninfo: String) -> (hosts: [String], sslMode: String?) {
        var hosts: [String] = []
        var mode: String?
        if conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://") {
            let rest = conninfo.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
            let authority = rest.count > 2 ? String(rest[2]) : ""
            let hostPart = authority.split(separator: "@").last.map(String.init) ?? ""
            for host in hostPart.split(separator: ",") {
                var name = String(host)
                if name.hasPrefix("[") {
                    name = String(name.dropFirst().prefix { $0 != "]" })
                } else {
                    name = String(name.prefix { $0 != ":" })
                }
                hosts.append(name.removingPercentEncoding ?? name)
            }
            if let query = conninfo.split(separator: "?", maxSplits: 1).dropFirst().first {
                for pair in query.split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    if parts.count == 2, parts[0] == "sslmode" { mode = parts[1] }
                    if parts.count == 2, parts[0] == "host" { hosts = parts[1].split(separator: ",").map(String.init) }
                }
            }
        } else {
            for token in conninfo.split(separator: " ") {
                let parts = token.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                if parts[0] == "host" || parts[0] == "hostaddr" {
                    hosts += parts[1].split(separator: ",").map(String.init)
                }
                if parts[0] == "sslmode" { mode = parts[1] }
            }
        }
        return (hosts, mode)
    }

    /// Whether `host` is this machine: empty (libpq's default, the Unix socket), a socket directory, localhost or a
    /// loopback address.
    static func isLocal(_ host: String) -> Bool {
        host.isEmpty || host.hasPrefix("/") || host.hasPrefix("@") || host == "localhost" || host == "::1"
            || host.hasPrefix("127.")
    }

    /// Refuses a non-local host without a verifying sslmode; `configured` is `[store] sslmode`, which libpq lets
    /// win over the conninfo's own.
    public static func check(conninfo: String, configured: String?) throws(Refusal) {
        let parsed = parse(conninfo)
        let mode = configured ?? parsed.sslMode ?? ProcessInfo.processInfo.environment["PGSSLMODE"] ?? "prefer"
        let remote = (parsed.hosts.isEmpty ? [ProcessInfo.processInfo.environment["PGHOST"] ?? ""] : parsed.hosts)
            .filter { !isLocal($0) }
        guard let host = remote.first, mode != "verify-full", mode != "verify-ca" else { return }
        throw Refusal(host: host, sslMode: mode)
    }
}
