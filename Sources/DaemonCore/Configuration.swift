import EnrollAPIModel
import Enrollment
import Foundation
import MRTD

/// The daemon's configuration, read from an INI-style file (see `Packaging/enrolld.conf` and
/// enrolld.conf(5)): `[section]` headers, `key = value` lines, `#` or `;` comments.
/// Unknown sections or keys are errors, so a typo never silently falls back to a default.
public struct Configuration: Sendable, Equatable {
    /// Path of the API's Unix socket.
    public var socketPath = "/run/enrolld/api.sock"
    /// Permission bits of the socket file.
    public var socketMode: UInt32 = 0o660
    /// Group that owns the socket file (name or number); nil keeps the daemon's group.
    public var socketGroup: String?
    /// Which users and groups hold the kiosk, operator and admin roles.
    public var roles = RoleAssignments()
    /// Where the database, keys and models live.
    public var stateDirectory = "/var/lib/enrolld"
    /// Seconds between attempts to reach pcscd when it is not running.
    public var pcscRetrySeconds = 1.0
    /// Longest a card read may take; a slower read fails with `card-read-timeout` and frees the reader.
    public var readTimeoutSeconds = 60.0
    /// Largest request body the API accepts (live photos, CSRs).
    public var maxRequestBodyBytes = 16 * 1024 * 1024
    /// Seconds between keep-alive comments on event streams.
    public var eventKeepAliveSeconds = 15.0
    /// API connections served at once (event streams included); more get 503 server-busy.
    public var maxConnections = 64
    /// Seconds a persistent API connection may stay idle before it is closed.
    public var keepAliveIdleSeconds = 5.0
    /// Log level: error, warning, notice, info or debug.
    public var logLevel: LogLevel = .info
    /// Face model files; nil means `ENROLLD_MODEL_DIR` or `/var/lib/enrolld/models`.
    public var faceModelDirectory: String?
    /// Largest embedding distance that counts as the same person.
    public var faceThreshold = 0.5
    /// Smallest face accepted, in pixels of the detection box's width.
    public var faceMinimumSize = 60
    /// CSCA certificates and CRLs; nil means `<state_directory>/trust`.
    public var trustDirectory: String?
    /// When a chip counts as genuine (anti-clone requirements).
    public var authenticityPolicy = GenuinenessPolicy()
    /// Certificate authority files; nil means `<state_directory>/ca`.
    public var caDirectory: String?
    /// Enrollment policy.
    public var requireGenuineDocument = true
    public var refuseExpiredDocuments = true
    public var signingMinimumAge = 18
    public var maxPhotoAttempts = 3
    public var sessionTimeoutSeconds = 300.0
    public var certificateValidityYears = 3
    /// Identity lifecycle.
    public var registrationMinimumAge = 14
    public var passcodeEnabled = true
    public var passcodeMaxAttempts = 5
    public var passcodeLockoutSeconds = 3600.0
    public var expirySweepSeconds = 3600.0
    /// Display names of the two tiers.
    public var basicTierName = "Basic"
    public var signingTierName = "Signing"
    /// Optional certificate profile extras.
    public var certificatePolicies: [String] = []
    public var crlDistributionPoint: String?
    public var ocspURL: String?

    /// Where accounts, certificates and the usage log live.
    public var storeBackend: StoreBackend = .sqlite
    /// PostgreSQL (backend postgresql): libpq connection string or URL, without the password.
    public var storeConninfo: String?
    /// File (mode 0600, owned by the service user) holding the PostgreSQL password, read at start.
    public var storePasswordFile: String?
    /// libpq TLS settings, passed through.
    public var storeSSLMode: String?
    public var storeSSLRootCert: String?
    public var storeSSLCert: String?
    public var storeSSLKey: String?
    /// PostgreSQL connections per daemon.
    public var storePoolSize = 4

    public var resolvedTrustDirectory: String { trustDirectory ?? stateDirectory + "/trust" }
    public var resolvedCADirectory: String { caDirectory ?? stateDirectory + "/ca" }

    public init() {}

    /// Every key the file may contain, as `section.key`, with its description (for --check-config
    /// and the documentation).
    public static let keys: [(key: String, help: String)] = [
        ("api.socket", "path of the API's Unix socket"),
        ("api.socket_mode", "octal permission bits of the socket (default 0660)"),
        ("api.socket_group", "group owning the socket; members may connect"),
        ("api.max_body_bytes", "largest request body accepted"),
        ("api.event_keepalive_seconds", "seconds between keep-alive comments on /v1/events"),
        ("api.max_connections", "API connections served at once, event streams included; more get 503 (default 64)"),
        ("api.keepalive_idle_seconds", "seconds an idle persistent API connection stays open (default 5)"),
        ("roles.kiosk", "users and groups with the kiosk role: uid:N, user:NAME, gid:N, group:NAME, comma-separated"),
        ("roles.operator", "users and groups with the operator role (also all a kiosk may)"),
        ("roles.admin", "users and groups with the admin role (default root; the daemon's own user always is)"),
        ("daemon.state_directory", "database, keys and models"),
        ("daemon.log_level", "error, warning, notice, info or debug"),
        ("readers.pcsc_retry_seconds", "seconds between attempts to reach pcscd"),
        ("readers.read_timeout_seconds", "longest a card read may take before it fails as too slow (default 60)"),
        ("face.model_directory", "folder with the dlib model files (scripts/install-models.sh)"),
        ("face.threshold", "largest embedding distance that counts as a match (default 0.5)"),
        ("face.minimum_face_size", "smallest face accepted, in pixels (default 60)"),
        ("trust.directory", "CSCA certificates and CRLs (default <state_directory>/trust)"),
        ("authenticity.anti_clone", "run chip and active authentication during reads (default true)"),
        ("authenticity.require_anti_clone", "refuse chips without chip or active authentication (default false)"),
        ("enrollment.require_genuine_document", "refuse documents not proven genuine (default true)"),
        ("enrollment.refuse_expired_documents", "refuse expired documents (default true)"),
        ("enrollment.signing_minimum_age", "minimum age for the signing tier (default 18)"),
        ("enrollment.max_photo_attempts", "live-photo attempts per session (default 3)"),
        ("enrollment.session_timeout_seconds", "seconds before an open session expires (default 300)"),
        ("enrollment.registration_minimum_age",
         "below this age an account is registered only with a guardian present (default 14)"),
        ("enrollment.expiry_sweep_seconds", "seconds between sweeps marking accounts with expired documents (default 3600)"),
        ("passcode.enabled", "offer the optional 4-digit service passcode (default true)"),
        ("passcode.max_attempts", "consecutive wrong entries before the passcode locks (default 5)"),
        ("passcode.lockout_seconds", "how long a locked passcode stays locked (default 3600)"),
        ("tiers.basic_name", "display name of the basic tier (e.g. iAM Smart)"),
        ("tiers.signing_name", "display name of the signing tier (e.g. iAM Smart+)"),
        ("ca.directory", "issuing key and certificate (default <state_directory>/ca)"),
        ("ca.validity_years", "validity of signing certificates (default 3; never past the document's expiry)"),
        ("ca.certificate_policies", "comma-separated policy OIDs written into certificates"),
        ("ca.crl_distribution_point", "URL of the CRL written into certificates"),
        ("ca.ocsp_url", "OCSP responder URL written into certificates"),
        ("store.backend", "sqlite (embedded, one host; default) or postgresql (shared by a fleet)"),
        ("store.conninfo", "PostgreSQL connection string or URL, without the password (postgresql://enrolld@db/enrolld)"),
        ("store.password_file", "file holding the PostgreSQL password (mode 0600, owned by the service user)"),
        ("store.sslmode", "libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full"),
        ("store.sslrootcert", "CA certificate(s) the PostgreSQL server's certificate must chain to"),
        ("store.sslcert", "client certificate for PostgreSQL (TLS client authentication)"),
        ("store.sslkey", "client certificate's private key (mode 0600)"),
        ("store.pool_size", "PostgreSQL connections per daemon (default 4)"),
    ]

    /// Parses configuration text. Throws `ConfigurationError` naming the line at fault.
    public static func parse(_ text: String, source: String = "configuration") throws(ConfigurationError) -> Configuration {
        var configuration = Configuration()
        var section = ""
        var backendLine = 0
        let known = Set(keys.map(\.key))
        for (index, rawLine) in text.components(separatedBy: "\n").enumerated() {
            let number = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw .syntax(source: source, line: number, reason: "a section header looks like [name]")
                }
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces).lowercased()
                guard keys.contains(where: { $0.key.hasPrefix(section + ".") }) else {
                    throw .unknownKey(source: source, line: number, key: "[\(section)]")
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw .syntax(source: source, line: number, reason: "expected key = value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            let full = section.isEmpty ? key : "\(section).\(key)"
            guard known.contains(full) else { throw .unknownKey(source: source, line: number, key: full) }
            try configuration.apply(full, value, source: source, line: number)
            if full == "store.backend" { backendLine = number }
        }
        if configuration.storeBackend == .postgresql && configuration.storeConninfo == nil {
            throw .invalidValue(source: source, line: backendLine, key: "store.backend", value: "postgresql",
                                expected: "a [store] conninfo to go with it")
        }
        return configuration
    }

    /// Loads a file; a missing file is an error (the caller decides whether defaults are fine).
    public static func load(path: String) throws(ConfigurationError) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    private mutating func apply(_ key: String, _ value: String, source: String, line: Int) throws(ConfigurationError) {
        func invalid(_ expected: String) -> ConfigurationError {
            .invalidValue(source: source, line: line, key: key, value: value, expected: expected)
        }
        switch key {
        case "api.socket":
            guard value.hasPrefix("/"), value.utf8.count < 108 else { throw invalid("an absolute path under 108 bytes") }
            socketPath = value
        case "api.socket_mode":
            guard let mode = UInt32(value, radix: 8), mode <= 0o777 else { throw invalid("octal permission bits such as 0660") }
            socketMode = mode
        case "api.socket_group":
            socketGroup = value.isEmpty ? nil : value
        case "roles.kiosk", "roles.operator", "roles.admin":
            guard let role = Role(rawValue: String(key.dropFirst("roles.".count))),
                  let list = RoleAssignments.parseList(value) else {
                throw invalid("comma-separated uid:N, user:NAME, gid:N or group:NAME (empty: nobody)")
            }
            roles.principals[role] = list
        case "api.max_body_bytes":
            guard let bytes = Int(value), bytes >= 1024, bytes <= 256 * 1024 * 1024 else { throw invalid("1024 to 268435456") }
            maxRequestBodyBytes = bytes
        case "api.event_keepalive_seconds":
            guard let seconds = Double(value), seconds >= 1, seconds <= 3600 else { throw invalid("1 to 3600 seconds") }
            eventKeepAliveSeconds = seconds
        case "api.max_connections":
            guard let count = Int(value), (1...4096).contains(count) else { throw invalid("1 to 4096") }
            maxConnections = count
        case "api.keepalive_idle_seconds":
            guard let seconds = Double(value), seconds >= 0.1, seconds <= 3600 else { throw invalid("0.1 to 3600 seconds") }
            keepAliveIdleSeconds = seconds
        case "daemon.state_directory":
            guard value.hasPrefix("/") else { throw invalid("an absolute path") }
            stateDirectory = value
        case "daemon.log_level":
            guard let level = LogLevel(name: value) else { throw invalid("error, warning, notice, info or debug") }
            logLevel = level
        case "readers.pcsc_retry_seconds":
            guard let seconds = Double(value), seconds >= 0.1, seconds <= 60 else { throw invalid("0.1 to 60 seconds") }
            pcscRetrySeconds = seconds
        case "readers.read_timeout_seconds":
            guard let seconds = Double(value), seconds >= 0.5, seconds <= 600 else { throw invalid("0.5 to 600 seconds") }
            readTimeoutSeconds = seconds
        case "trust.directory":
            guard value.hasPrefix("/") else { throw invalid("an absolute path") }
            trustDirectory = value
        case "authenticity.anti_clone":
            guard let flag = Self.bool(value) else { throw invalid("true or false") }
            authenticityPolicy.runAntiClone = flag
        case "authenticity.require_anti_clone":
            guard let flag = Self.bool(value) else { throw invalid("true or false") }
            authenticityPolicy.requireAntiClone = flag
        case "ca.directory":
            guard value.hasPrefix("/") else { throw invalid("an absolute path") }
            caDirectory = value
        case "enrollment.require_genuine_document":
            guard let flag = Self.bool(value) else { throw invalid("true or false") }
            requireGenuineDocument = flag
        case "enrollment.refuse_expired_documents":
            guard let flag = Self.bool(value) else { throw invalid("true or false") }
            refuseExpiredDocuments = flag
        case "enrollment.signing_minimum_age":
            guard let age = Int(value), (14...99).contains(age) else { throw invalid("14 to 99") }
            signingMinimumAge = age
        case "enrollment.max_photo_attempts":
            guard let attempts = Int(value), (1...10).contains(attempts) else { throw invalid("1 to 10") }
            maxPhotoAttempts = attempts
        case "enrollment.session_timeout_seconds":
            guard let seconds = Double(value), seconds >= 1, seconds <= 3600 else { throw invalid("1 to 3600 seconds") }
            sessionTimeoutSeconds = seconds
        case "enrollment.registration_minimum_age":
            guard let age = Int(value), (0...99).contains(age) else { throw invalid("0 to 99") }
            registrationMinimumAge = age
        case "enrollment.expiry_sweep_seconds":
            guard let seconds = Double(value), seconds >= 1, seconds <= 86400 else { throw invalid("1 to 86400 seconds") }
            expirySweepSeconds = seconds
        case "passcode.enabled":
            guard let flag = Self.bool(value) else { throw invalid("true or false") }
            passcodeEnabled = flag
        case "passcode.max_attempts":
            guard let attempts = Int(value), (1...20).contains(attempts) else { throw invalid("1 to 20") }
            passcodeMaxAttempts = attempts
        case "passcode.lockout_seconds":
            guard let seconds = Double(value), seconds >= 1, seconds <= 7 * 86400 else { throw invalid("1 to 604800 seconds") }
            passcodeLockoutSeconds = seconds
        case "tiers.basic_name":
            guard !value.isEmpty else { throw invalid("a name") }
            basicTierName = value
        case "tiers.signing_name":
            guard !value.isEmpty else { throw invalid("a name") }
            signingTierName = value
        case "ca.validity_years":
            guard let years = Int(value), (1...10).contains(years) else { throw invalid("1 to 10 years") }
            certificateValidityYears = years
        case "ca.certificate_policies":
            let oids = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard oids.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isNumber || $0 == "." } }) else {
                throw invalid("comma-separated dotted OIDs")
            }
            certificatePolicies = oids
        case "ca.crl_distribution_point":
            guard value.hasPrefix("http://") || value.hasPrefix("https://") else { throw invalid("an http(s) URL") }
            crlDistributionPoint = value
        case "ca.ocsp_url":
            guard value.hasPrefix("http://") || value.hasPrefix("https://") else { throw invalid("an http(s) URL") }
            ocspURL = value
        case "face.model_directory":
            guard value.hasPrefix("/") else { throw invalid("an absolute path") }
            faceModelDirectory = value
        case "face.threshold":
            guard let threshold = Double(value), threshold > 0, threshold <= 1.5 else { throw invalid("a distance in (0, 1.5]") }
            faceThreshold = threshold
        case "store.backend":
            guard let backend = StoreBackend(rawValue: value.lowercased()) else { throw invalid("sqlite or postgresql") }
            storeBackend = backend
        case "store.conninfo":
            guard !value.isEmpty else { throw invalid("a libpq connection string or postgresql:// URL") }
            storeConninfo = value
        case "store.password_file", "store.sslrootcert", "store.sslcert", "store.sslkey":
            guard value.hasPrefix("/") else { throw invalid("an absolute path") }
            switch key {
            case "store.password_file": storePasswordFile = value
            case "store.sslrootcert": storeSSLRootCert = value
            case "store.sslcert": storeSSLCert = value
            default: storeSSLKey = value
            }
        case "store.sslmode":
            let modes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
            guard modes.contains(value) else { throw invalid(modes.joined(separator: ", ")) }
            storeSSLMode = value
        case "store.pool_size":
            guard let size = Int(value), (1...64).contains(size) else { throw invalid("1 to 64") }
            storePoolSize = size
        case "face.minimum_face_size":
            guard let size = Int(value), size >= 20, size <= 2000 else { throw invalid("20 to 2000 pixels") }
            faceMinimumSize = size
        default:
            throw .unknownKey(source: source, line: line, key: key)
        }
    }
}

/// Which `Store` implementation the daemon opens.
public enum StoreBackend: String, Sendable, Equatable {
    /// `<state_directory>/enrolld.db`: one host.
    case sqlite
    /// A PostgreSQL database shared by a fleet of daemons.
    case postgresql
}

extension Configuration {
    /// The identity-lifecycle settings for `IdentityLifecycle`.
    public var lifecyclePolicy: LifecyclePolicy {
        var policy = LifecyclePolicy()
        policy.passcodeEnabled = passcodeEnabled
        policy.passcodeMaxAttempts = passcodeMaxAttempts
        policy.passcodeLockout = passcodeLockoutSeconds
        policy.registrationMinimumAge = registrationMinimumAge
        return policy
    }

    static func bool(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: return nil
        }
    }
}

/// Why a configuration could not be used.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case syntax(source: String, line: Int, reason: String)
    case unknownKey(source: String, line: Int, key: String)
    case invalidValue(source: String, line: Int, key: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .unreadable(path): return "cannot read configuration file \(path)"
        case let .syntax(source, line, reason): return "\(source):\(line): \(reason)"
        case let .unknownKey(source, line, key):
            return "\(source):\(line): unknown setting '\(key)' (see enrolld.conf(5) for the valid ones)"
        case let .invalidValue(source, line, key, value, expected):
            return "\(source):\(line): '\(value)' is not valid for \(key): expected \(expected)"
        }
    }
}
