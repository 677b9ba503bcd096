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
            !(scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value) || scalar.properties.generalCategory == .format
              || scalar.value == 0x2028 || scalar.value == 0x2029)
        }
        guard !name.isEmpty, name.utf8.count <= Self.maximumReaderNameBytes, plain else {
            throw Problem(.readerNotFound, detail: "a reader's name is 1 to \(Self.maximumReaderNameBytes) bytes "
                          + "without control characters: take it from GET /v1/readers")
        }
        if monitor.serviceAvailable, !monitor.snapshot.contains(where: { $0.name == name }) {
            throw Problem(.readerNotFound, detail: "no reader of that name is connected: take it from GET /v1/readers")
        }
        return name
    }
}
