import Foundation
import OpenSSLKit
import Synchronization

/// What the replay check compares: the image's SHA-256 (byte-identical replays) and the face embedding (the same
/// photo re-encoded, rescaled or slightly warped). No image is kept.
public struct ReplayFingerprint: Sendable, Equatable {
    public var digest: [UInt8]
    public var embedding: FaceEmbedding?

    public init(digest: [UInt8], embedding: FaceEmbedding?) {
        self.digest = digest
        self.embedding = embedding
    }

    /// The fingerprint of an encoded image and its face's embedding.
    /// - Throws: `LivenessError.engineFailure` when hashing fails.
    public init(image: [UInt8], embedding: FaceEmbedding?) throws(LivenessError) {
        do {
            digest = try Digest.hash(image, using: .sha256)
        } catch {
            throw .engineFailure(reason: "SHA-256 of an image: \(error)")
        }
        self.embedding = embedding
    }
}

/// Why a photo is suspected to be a replay rather than a live capture.
public enum ReplaySuspicion: Sendable, Equatable, CustomStringConvertible {
    /// The same bytes as the chip portrait.
    case identicalToPortrait
    /// Closer to the chip portrait than two live captures of a person ever are.
    case nearPortrait(distance: Double, floor: Double)
    /// The same bytes as a frame used in another session.
    case identicalToEarlierCapture
    /// Closer to a frame of another session than the floor.
    case nearEarlierCapture(distance: Double, floor: Double)

    public var description: String {
        switch self {
        case .identicalToPortrait: return "byte-identical to the chip portrait"
        case .nearPortrait(let distance, let floor):
            return "embedding distance \(format(distance)) to the chip portrait, under the floor \(format(floor))"
        case .identicalToEarlierCapture: return "byte-identical to a photo used in another session"
        case .nearEarlierCapture(let distance, let floor):
            return "embedding distance \(format(distance)) to a photo of another session, under the floor "
                + "\(format(floor))"
        }
    }
}

/// The replay check that applies to every live photo, with or without the liveness step: a photo byte-identical
/// to the chip portrait or to a photo already used in another session, or closer to either than a "too similar
/// to be live" floor, is a suspected replay.
///
/// The cache is bounded (capacity, oldest first out) and entries expire; it holds digests and embeddings in
/// memory only, never images, and is lost on restart. Thread safety: one `Mutex` guards the entries.
public final class ReplayGuard: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Embedding distance under which two photos are the same picture, not two captures. Live captures of one
        /// person seconds apart are further apart than this; re-encodings and warps of one photo are closer.
        public var floor: Double
        public var capacity: Int
        public var lifetime: TimeInterval

        public init(floor: Double = 0.10, capacity: Int = 20_000, lifetime: TimeInterval = 7 * 24 * 3600) {
            self.floor = floor
            self.capacity = capacity
            self.lifetime = lifetime
        }
    }

    private struct Entry {
        var session: String
        var fingerprint: ReplayFingerprint
        var recordedAt: Date
    }

    public let configuration: Configuration
    private let entries = Mutex<[Entry]>([])

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Entries held now (after expiry).
    public func count(now: Date = Date()) -> Int {
        entries.withLock { list in
            list.removeAll { now.timeIntervalSince($0.recordedAt) > configuration.lifetime }
            return list.count
        }
    }

    /// Checks a photo against the chip portrait (bytes and embedding, when given) and against every photo of other
    /// sessions in the cache. Nil when no replay is suspected.
    public func suspicion(
        of photo: ReplayFingerprint, portrait: ReplayFingerprint?, session: String,
        now: Date = Date()
    ) -> ReplaySuspicion? {
        if let portrait {
            if portrait.digest == photo.digest { return .identicalToPortrait }
            if let a = photo.embedding, let b = portrait.embedding, a.distance(to: b) < configuration.floor {
                return .nearPortrait(distance: a.distance(to: b), floor: configuration.floor)
            }
        }
        return entries.withLock { list -> ReplaySuspicion? in
            list.removeAll { now.timeIntervalSince($0.recordedAt) > configuration.lifetime }
            var nearest: Double?
            for entry in list where entry.session != session {
                if entry.fingerprint.digest == photo.digest { return .identicalToEarlierCapture }
                if let a = photo.embedding, let b = entry.fingerprint.embedding {
                    let distance = a.distance(to: b)
                    if distance < configuration.floor, distance < (nearest ?? .infinity) { nearest = distance }
                }
            }
            return nearest.map { .nearEarlierCapture(distance: $0, floor: configuration.floor) }
        }
    }

    /// Remembers photos used in `session` (the oldest entries go first when the cache is full).
    public func record(_ photos: [ReplayFingerprint], session: String, now: Date = Date()) {
        guard configuration.capacity > 0 else { return }
        entries.withLock { list in
            list.removeAll { now.timeIntervalSince($0.recordedAt) > configuration.lifetime }
            list.append(
                contentsOf: photos.suffix(configuration.capacity).map {
                    Entry(session: session, fingerprint: $0, recordedAt: now)
                })
            if list.count > configuration.capacity { list.removeFirst(list.count - configuration.capacity) }
        }
    }
}
