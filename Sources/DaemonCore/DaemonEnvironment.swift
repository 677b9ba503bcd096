import CardScan
import CertificateAuthority
import Enrollment
import FaceMatch
import Foundation
import OpenSSLKit
import SmartCard
import Store

/// The face engines: dlib and MiniFASNet on a pool of workers (`FaceService`) in production, fakes in tests.
public protocol FaceComparator: Sendable {
    /// Compares a trusted portrait with a live photo, on the share of the face workers of `caller` (a uid).
    func compare(reference: [UInt8], probe: [UInt8], caller: UInt32) throws(FaceMatchError) -> FaceComparison
    /// Evaluates a liveness burst against its challenge and the chip portrait (`LivenessChecker.evaluate`),
    /// checking and recording its frames in `replayGuard` under `session`.
    func checkLiveness(
        _ burst: LivenessBurst, challenge: LivenessChallenge, portrait: [UInt8], session: String,
        caller: UInt32, now: Date, replayGuard: ReplayGuard?
    ) throws(LivenessError) -> LivenessDecision
    /// Loads what the first comparison would otherwise load (models), ahead of the first request.
    func warmUp()
}

/// What the daemon takes from the outside world, so the whole flow and every route can run in process: PC/SC,
/// dlib, the store and the CA of the configuration in production (`production(_:)`); virtual cards, fake faces,
/// a clock and a random source of a test's choosing otherwise.
public struct DaemonEnvironment: Sendable {
    /// Where cards are connected.
    public var terminal: any CardTerminal
    /// Makes the reader watcher, given the retry interval and where to report changes.
    public var readers:
        @Sendable (
            _ retryInterval: TimeInterval,
            _ onEvent: @escaping @Sendable (ReaderEvent) -> Void
        ) -> any ReaderWatching
    public var faces: any FaceComparator
    /// The card scanner's engine, font and limits (`POST /v1/cards/scan`).
    public var cardScan: CardScanConfiguration = CardScanConfiguration()
    /// Opens (and migrates) the store.
    public var openStore: @Sendable (_ configuration: Configuration, _ protector: DataProtector) throws -> any Store
    /// Loads the issuing CA.
    public var loadAuthority:
        @Sendable (_ configuration: Configuration) throws(CertificateAuthorityError)
            -> IssuingAuthority
    /// The time.
    public var now: @Sendable () -> Date
    /// Random bytes for what must be unpredictable (session ids, challenges).
    public var randomBytes: @Sendable (_ count: Int) -> [UInt8]

    public init(
        terminal: any CardTerminal,
        readers:
            @escaping @Sendable (TimeInterval, @escaping @Sendable (ReaderEvent) -> Void)
            -> any ReaderWatching,
        faces: any FaceComparator,
        openStore: @escaping @Sendable (Configuration, DataProtector) throws -> any Store = {
            configuration, protector in
            try configuration.openStore(protector: protector)
        },
        loadAuthority: @escaping @Sendable (Configuration) throws(CertificateAuthorityError) -> IssuingAuthority = {
            configuration throws(CertificateAuthorityError) in try configuration.loadAuthority()
        },
        now: @escaping @Sendable () -> Date = { Date() },
        randomBytes: @escaping @Sendable (Int) -> [UInt8] = DaemonEnvironment.secureRandomBytes
    ) {
        self.terminal = terminal
        self.readers = readers
        self.faces = faces
        self.openStore = openStore
        self.loadAuthority = loadAuthority
        self.now = now
        self.randomBytes = randomBytes
    }

    /// The real parts: pcsc-lite, dlib with the configured models, the configured store and CA, the system clock
    /// and OpenSSL's random generator.
    public static func production(_ configuration: Configuration) -> DaemonEnvironment {
        DaemonEnvironment(
            terminal: PCSCTerminal(),
            readers: { retry, onEvent in ReaderMonitor(retryInterval: retry, onEvent: onEvent) },
            faces: FaceService(configuration: configuration))
    }

    /// OpenSSL's generator; a failure of it (which leaves no safe randomness) stops the daemon.
    public static func secureRandomBytes(_ count: Int) -> [UInt8] {
        do {
            return try SecureRandom.bytes(count)
        } catch {
            fatalError("enrolld: the system random generator failed: \(error)")
        }
    }
}

extension Configuration {
    /// Where the CA key's passphrase comes from (`[ca] passphrase_credential`).
    public var caPassphraseSource: CAPassphraseSource {
        caPassphraseCredential.map { .systemdCredential(named: $0) } ?? .fileBesideKey
    }

    /// The issuing CA of `[ca]`, with the certificate profile of the configuration.
    public func loadAuthority() throws(CertificateAuthorityError) -> IssuingAuthority {
        let profile = SigningCertificateProfile(
            validityYears: certificateValidityYears, policyOIDs: certificatePolicies,
            crlDistributionPointURL: crlDistributionPoint, ocspURL: ocspURL,
            caIssuersURL: caIssuersURL)
        return try CAStore.load(
            directory: URL(fileURLWithPath: resolvedCADirectory), passphrase: caPassphraseSource, profile: profile)
    }
}
