import EnrollAPIModel
import Enrollment
import Foundation
import IssuingStates
import MRTD
import UnixHTTP

/// The daemon's configuration, read from an INI-style file (see `Packaging/enrolld.conf` and
/// enrolld.conf(5)): `[section]` headers, `key = value` lines, `#` or `;` comments.
/// Unknown sections or keys are errors, so a typo never silently falls back to a default.
/// Each key of the file is one entry of `Configuration.table` (ConfigurationTable.swift); a property's initial
/// value is that key's default.
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
    /// `uid:N=READER` entries: the readers each kiosk uid may use; empty: every kiosk may use every reader.
    public var kioskReaders: [String] = []
    /// Largest request body the API accepts (live photos, CSRs).
    public var maxRequestBodyBytes = 16 * 1024 * 1024
    /// Seconds between keep-alive comments on event streams.
    public var eventKeepAliveSeconds = 15.0
    /// API connections served at once (event streams included); more get 503 server-busy.
    public var maxConnections = 64
    /// Seconds a persistent API connection may stay idle before it is closed.
    public var keepAliveIdleSeconds = 5.0
    /// Of `maxConnections`, slots only operators and admins may take.
    public var reservedConnections = 8
    /// API connections one uid may hold at once.
    public var maxConnectionsPerUID = 16
    /// Seconds within which a request's whole head must arrive.
    public var headTimeoutSeconds = 10.0
    /// Slowest average rate at which a request body may arrive, in bytes per second.
    public var minBodyBytesPerSecond = 256 * 1024
    /// Seconds one write to a client that does not read may wait before the connection is closed.
    public var sendTimeoutSeconds = 30.0
    /// Event streams (`GET /v1/events`) one uid may hold at once.
    public var maxEventStreamsPerUID = 4
    /// Bytes of events an event-stream subscriber may have waiting before it loses the oldest.
    public var eventQueueBytes = 256 * 1024
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
    /// Issuing states (ICAO codes) whose documents enrollment accepts; empty: every state with a trusted CSCA.
    public var acceptedStates: [String] = []
    /// Passive authentication: legacy EF.SOD content types accepted (known ones only), SHA-1, key size minimums, and
    /// extra issuing-state → anchor country entries (`CODE:CC`).
    public var legacySODContentTypes: [String] = []
    public var allowSHA1 = true
    public var minimumKeySizes = KeySizeMinimums()
    public var stateAnchorCountries: [String] = []
    /// `[identity]`: where documents carry the personal number, by default and per state (`STATE:RULE` entries).
    public var personalNumberSource = PersonalNumberSource.dg11
    public var personalNumberByState: [String] = []
    /// When BAC is refused and the weakest PACE domain accepted, for every read.
    public var accessPolicy = AccessPolicy()
    /// Certificate authority files; nil means `<state_directory>/ca`.
    public var caDirectory: String?
    /// The systemd credential holding the CA key's passphrase; nil: `ca-passphrase.key` in the CA directory.
    public var caPassphraseCredential: String?
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
    public var passcodeMaxTotalFailures = 20
    public var passcodeKioskBudget = 50
    public var passcodeKioskBudgetSeconds = 86400.0
    public var expirySweepSeconds = 3600.0
    /// Activation through the contact (`[enrollment] activation*`).
    public var activation = ActivationRequirement.required
    public var activationCodeDigits = 6
    public var activationCodeSeconds = 900.0
    public var activationMaxAttempts = 5
    public var messageLanguage = MessageLanguage.en
    /// Delivery of the outbox (`[outbox]`).
    public var smtpHost: String?
    public var smtpPort = 587
    public var smtpSecurity = SMTPSecurity.starttls
    public var smtpUsername: String?
    public var smtpPasswordFile: String?
    public var smtpFrom = "enrolld@localhost"
    public var smtpTrustFile: String?
    public var smsGatewayURL: String?
    public var smsTokenFile: String?
    public var outboxMaxAttempts = 8
    public var outboxRetrySeconds = 30.0
    public var messageTemplatesDirectory = "/usr/share/enrolld/messages"
    /// Seconds between signed usage-chain heads in the journal.
    public var auditHeadIntervalSeconds = 300.0
    /// Public keys of other hosts whose signed heads `audit verify` trusts; nil means `<state>/keys/audit-heads`.
    public var auditHeadKeysDirectory: String?
    /// Also send signed heads to syslog(3).
    public var auditSyslog = false
    /// Display names of the two tiers.
    public var basicTierName = "Basic"
    public var signingTierName = "Signing"
    /// Optional certificate profile extras.
    public var certificatePolicies: [String] = []
    public var crlDistributionPoint: String?
    public var ocspURL: String?
    public var caIssuersURL: String?

    /// The OCSP responder (RFC 6960 / RFC 5019) and the cached CRL.
    public var ocspResponseValiditySeconds = 86_400.0
    public var ocspSignerValiditySeconds = 7 * 86_400.0
    public var ocspCacheCapacity = 100_000
    public var ocspFreshSignatures = 2
    /// Seconds between reads of the store for revocations other daemons of a fleet committed.
    public var statusPollSeconds = 5.0
    public var crlValiditySeconds = 86_400.0

    /// The trust list we export (ETSI TS 119 612) and those of other jurisdictions we import.
    public var trustListTerritory: String?
    public var trustListOperator: String?
    public var trustListPostalAddress: String?
    public var trustListElectronicAddress: String?
    public var trustListInformationURI: String?
    public var trustListDistributionPoint: String?
    public var trustListValidityDays = 30
    /// Imported lists; nil means `<state_directory>/trust-lists`.
    public var trustListDirectory: String?
    /// PEM files with the other jurisdictions' trust list signers or the CAs that issue them.
    public var trustListSigners: [String] = []
    /// Hosts the foreign-certificate validator may fetch OCSP responses and CRLs from; empty: any.
    public var statusFetchHosts: [String] = []

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

    /// Data release to approved verifiers (`[verifier]`): the optional TLS 1.3 listener serving only the verifier
    /// routes, and the presentation tokens' lifetime.
    public var verifierListenerEnabled = false
    public var verifierAddress = "127.0.0.1"
    public var verifierPort = 8443
    public var verifierCertificateFile: String?
    public var verifierKeyFile: String?
    /// CA certificates verifiers' client certificates must chain to; unset: this daemon's CA certificate.
    public var verifierClientCAFile: String?
    public var verifierTokenSeconds = 60.0
    public var verifierMaxConnections = 64
    public var verifierTimeoutSeconds = 10.0

    /// Face work (`[face]`): workers with engines of their own, the queue beyond them, each caller's share, the
    /// longest wait; pixel caps by role and the decoders' memory bound.
    public var faceWorkers = 2
    public var faceQueueLength = 16
    public var faceJobsPerCaller = 2
    public var faceQueueWaitSeconds = 5.0
    public var faceProbeMaxPixels = 12_000_000
    public var faceReferenceMaxPixels = 2_000_000
    public var faceDecoderMemoryMiB = 128

    /// Liveness (`[liveness]`): when it is required, attempts and challenges, burst bounds, the checks'
    /// thresholds, the checks that only report, and the replay cache.
    public var livenessRequiredFor: LivenessRequirement = .signing
    public var livenessMaxAttempts = 3
    public var livenessChallengeSeconds = 20.0
    public var livenessMinPrompts = 2
    public var livenessMaxPrompts = 3
    public var livenessMinFrames = 8
    public var livenessMaxFrames = 30
    public var livenessMaxFrameBytes = 2 << 20
    public var livenessMaxBurstBytes = 24 << 20
    public var livenessFrameMaxPixels = 1920 * 1080
    public var livenessClockSkewSeconds = 2.0
    public var livenessSamePersonThreshold = 0.6
    public var livenessTurnThreshold = 0.08
    public var livenessLookUpThreshold = 0.06
    public var livenessCloserFactor = 1.2
    public var livenessUnrequestedFactor = 1.6
    public var livenessDepthThreshold = 0.02
    public var livenessDuplicateFloor = 0.35
    public var livenessDuplicateShare = 0.5
    public var livenessPassiveThreshold = 0.3
    public var livenessReportOnly: [String] = []
    public var replayFloor = 0.10
    public var replayCacheEntries = 20_000
    public var replayCacheHours = 168.0

    public var resolvedTrustDirectory: String { trustDirectory ?? stateDirectory + "/trust" }
    public var resolvedCADirectory: String { caDirectory ?? stateDirectory + "/ca" }
    public var resolvedTrustListDirectory: String { trustListDirectory ?? stateDirectory + "/trust-lists" }
    public var resolvedAuditHeadKeysDirectory: String { auditHeadKeysDirectory ?? stateDirectory + "/keys/audit-heads" }

    public init() {}

    /// Parses configuration text. Throws `ConfigurationError` naming the line at fault.
    public static func parse(
        _ text: String,
        source: String = "configuration"
    ) throws(ConfigurationError) -> Configuration {
        var configuration = Configuration()
        var section = ""
        var backendLine = 0
        var smtpLine = 0
        var smsLine = 0
        var connectionsLine = 0
        for (index, rawLine) in text.components(separatedBy: "\n").enumerated() {
            let number = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw .syntax(source: source, line: number, reason: "a section header looks like [name]")
                }
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces).lowercased()
                guard table.contains(where: { $0.name == section }) else {
                    throw .unknownKey(source: source, line: number, key: "[\(section)]")
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw .syntax(source: source, line: number, reason: "expected key = value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            let full = section.isEmpty ? key : "\(section).\(key)"
            guard let entry = Self.key(section, key) else { throw .unknownKey(source: source, line: number, key: full) }
            guard entry.apply(value, to: &configuration) else {
                throw .invalidValue(
                    source: source, line: number, key: full, value: value,
                    expected: entry.type.expected)
            }
            if full == "store.backend" { backendLine = number }
            if full == "outbox.smtp_security" || full == "outbox.smtp_host" { smtpLine = number }
            if full == "outbox.sms_gateway_url" { smsLine = number }
            if full == "api.max_connections" || full == "api.reserved_connections" { connectionsLine = number }
        }
        if configuration.reservedConnections >= configuration.maxConnections {
            throw .invalidValue(
                source: source, line: connectionsLine, key: "api.reserved_connections",
                value: String(configuration.reservedConnections),
                expected: "fewer than api.max_connections (\(configuration.maxConnections)): lower reserved_connections"
            )
        }
        // One-time codes never cross the network in clear: plain SMTP or HTTP only to this machine.
        if configuration.smtpSecurity == .none, let host = configuration.smtpHost, !StoreTransportPolicy.isLocal(host) {
            throw .invalidValue(
                source: source, line: smtpLine, key: "outbox.smtp_security", value: "none",
                expected: "starttls for a relay on another host (\(host)): none is for a relay on this machine")
        }
        if let url = configuration.smsGatewayURL, url.lowercased().hasPrefix("http://"),
            let host = URLComponents(string: url)?.host, !StoreTransportPolicy.isLocal(host)
        {
            throw .invalidValue(
                source: source, line: smsLine, key: "outbox.sms_gateway_url", value: url,
                expected: "an https URL for a gateway on another host (http is for a gateway on this machine)")
        }
        if configuration.storeBackend == .postgresql && configuration.storeConninfo == nil {
            throw .invalidValue(
                source: source, line: backendLine, key: "store.backend", value: "postgresql",
                expected: "a [store] conninfo to go with it")
        }
        return configuration
    }

    /// Loads a file; a missing file is an error (the caller decides whether defaults are fine).
    public static func load(path: String) throws(ConfigurationError) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }
}

/// Which `Store` implementation the daemon opens.
public enum StoreBackend: String, Sendable, Equatable, CaseIterable {
    /// `<state_directory>/enrolld.db`: one host.
    case sqlite
    /// A PostgreSQL database shared by a fleet of daemons.
    case postgresql
}

extension Configuration {
    /// The rules of passive authentication, from `[trust]`.
    public var passiveAuthenticationPolicy: PassiveAuthenticationPolicy {
        var overrides: [String: String] = [:]
        for entry in stateAnchorCountries {
            let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
            if parts.count == 2 { overrides[IssuingStateCodes.normalised(parts[0])] = parts[1].uppercased() }
        }
        return PassiveAuthenticationPolicy(
            legacyContentTypes: Set(legacySODContentTypes), allowSHA1: allowSHA1,
            minimumKeySizes: minimumKeySizes,
            issuingStateCodes: IssuingStateCodes(overrides: overrides))
    }

    /// The API server's connection limits and timeouts.
    public var connectionLimits: ConnectionLimits {
        var limits = ConnectionLimits()
        limits.maxConnections = maxConnections
        limits.reservedForPrivileged = reservedConnections
        limits.maxPerUID = maxConnectionsPerUID
        limits.headTimeout = headTimeoutSeconds
        limits.minimumBodyBytesPerSecond = minBodyBytesPerSecond
        limits.keepAliveIdleTimeout = keepAliveIdleSeconds
        limits.sendTimeout = sendTimeoutSeconds
        return limits
    }

    /// The identity-lifecycle settings for `IdentityLifecycle`.
    public var lifecyclePolicy: LifecyclePolicy {
        var policy = LifecyclePolicy()
        policy.passcodeEnabled = passcodeEnabled
        policy.passcodeMaxAttempts = passcodeMaxAttempts
        policy.passcodeLockout = passcodeLockoutSeconds
        policy.passcodeMaxTotalFailures = passcodeMaxTotalFailures
        policy.passcodeCallerBudget = passcodeKioskBudget
        policy.passcodeCallerWindow = passcodeKioskBudgetSeconds
        policy.registrationMinimumAge = registrationMinimumAge
        policy.activation = activationPolicy
        return policy
    }

    /// The transports configured: e-mail with an SMTP host, SMS with a gateway.
    public var messageTransports: Set<ContactKind> {
        var kinds: Set<ContactKind> = []
        if smtpHost != nil { kinds.insert(.email) }
        if smsGatewayURL != nil { kinds.insert(.phone) }
        return kinds
    }

    /// `[enrollment] activation*` as the services take it.
    public var activationPolicy: ActivationPolicy {
        var policy = ActivationPolicy()
        policy.requiredForSigning = activation == .required
        policy.transports = messageTransports
        policy.codeDigits = activationCodeDigits
        policy.codeLifetime = activationCodeSeconds
        policy.maxAttempts = activationMaxAttempts
        policy.defaultLanguage = messageLanguage.rawValue
        return policy
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

/// `[enrollment] activation`: whether the signing tier waits for the holder's code from the contact.
public enum ActivationRequirement: String, Sendable, CaseIterable, ConfigurationChoice {
    /// The signing tier is usable only once the holder entered the code sent to the registered contact.
    case required
    /// The signing tier is usable at once (benches; a jurisdiction that does not confirm contacts).
    case off

    public var configurationName: String { rawValue }
}

/// `[enrollment] message_language`: the language of messages to a contact that names none.
public enum MessageLanguage: String, Sendable, CaseIterable, ConfigurationChoice {
    case en
    case zhHant = "zh-Hant"
    case vi
    case pt

    public var configurationName: String { rawValue.lowercased() }
}

/// `[outbox] smtp_security`.
public enum SMTPSecurity: String, Sendable, CaseIterable, ConfigurationChoice {
    /// STARTTLS required, the relay's certificate verified and matched to smtp_host.
    case starttls
    /// Plain text: only for a relay on this machine (loopback).
    case none

    public var configurationName: String { rawValue }
}
