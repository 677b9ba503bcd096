import EnrollAPIModel
import Foundation

extension Daemon {
    /// Longest reader name accepted (pcsc-lite's MAX_READERNAME, 128 bytes with the terminating NUL, leaves 127).
    static let maximumReaderNameBytes = 127

    /// The reader a request names, if the caller may use it: a name of at most 127 bytes without control characters,
    /// one the reader monitor knows (`GET /v1/readers`), else `404 reader-not-found` without echoing the name; when
    /// pcscd is down the name goes on (bounded) so that the read answers `pcsc-unavailable`.
    func usableReader(_ name: String, _ context: RequestContext) throws(Problem) -> String {
        let plain = name.unicodeScalars.allSatisfy { scalar in
            !(scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value)
                || scalar.properties.generalCategory == .format
                || scalar.value == 0x2028 || scalar.value == 0x2029)
        }
        guard !name.isEmpty, name.utf8.count <= Self.maximumReaderNameBytes, plain else {
            throw Problem(
                .readerNotFound,
                detail: "a reader's name is 1 to \(Self.maximumReaderNameBytes) bytes "
                    + "without control characters: take it from GET /v1/readers")
        }
        if monitor.serviceAvailable, !monitor.snapshot.contains(where: { $0.name == name }) {
            throw Problem(.readerNotFound, detail: "no reader of that name is connected: take it from GET /v1/readers")
        }
        if context.role == .kiosk, !configuration.kioskReaders.isEmpty {
            let mine = configuration.kioskReaders.compactMap(Configuration.readerBinding)
                .filter { $0.uid == context.peer.uid }.map(\.reader)
            guard mine.contains(name) else {
                throw Problem(
                    .readerNotYours,
                    detail: "kiosk uid \(context.peer.uid) may use "
                        + (mine.isEmpty ? "no reader" : "only \(mine.joined(separator: ", "))"))
            }
        }
        return name
    }
}

extension Configuration {
    /// One `[readers] kiosk_readers` entry, `uid:N=READER NAME`; nil when malformed.
    static func readerBinding(_ entry: String) -> (uid: UInt32, reader: String)? {
        let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, parts[0].hasPrefix("uid:"), let uid = UInt32(parts[0].dropFirst(4)),
            !parts[1].isEmpty, parts[1].utf8.count <= Daemon.maximumReaderNameBytes
        else { return nil }
        return (uid, parts[1])
    }
}
