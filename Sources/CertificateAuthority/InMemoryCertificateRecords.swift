import Foundation
import OpenSSLKit
import Synchronization

/// Certificate records in memory: both status ports (`CertificateStatusSource`, `RevocationListSource`) over a
/// table of serials, with a CRL number counter. For tests and `enroll-bench`; the daemon's store implements the
/// same ports over its database. `isAvailable = false` makes every read fail as an unreachable database does.
public final class InMemoryCertificateRecords: CertificateStatusSource, RevocationListSource, Sendable {
    private struct Table {
        var statuses: [String: CertificateRecordStatus] = [:]
        var crlNumber = 0
        var available = true
        var reads = 0
    }

    private let table = Mutex(Table())

    /// - Parameter crlNumber: the counter's current value (the next CRL gets one more), as a store would persist it.
    public init(crlNumber: Int = 0) {
        table.withLock { $0.crlNumber = crlNumber }
    }

    /// Records `status` for `serialHex` (normalised to upper case).
    public func set(_ status: CertificateRecordStatus, serialHex: String) {
        table.withLock { $0.statuses[serialHex.uppercased()] = status }
    }

    public var isAvailable: Bool {
        get { table.withLock { $0.available } }
        set { table.withLock { $0.available = newValue } }
    }

    /// Reads served so far (status look-ups and CRL contents).
    public var reads: Int { table.withLock { $0.reads } }

    /// The counter's current value.
    public var crlNumber: Int { table.withLock { $0.crlNumber } }

    public func status(serialHex: String) throws(CertificateAuthorityError) -> CertificateRecordStatus {
        let result = table.withLock { table -> CertificateRecordStatus? in
            guard table.available else { return nil }
            table.reads += 1
            return table.statuses[serialHex.uppercased()] ?? .neverIssued
        }
        guard let result else { throw .statusSourceUnavailable("in-memory records switched off") }
        return result
    }

    public func nextCRLContents() throws(CertificateAuthorityError) -> CRLContents {
        let result = table.withLock { table -> CRLContents? in
            guard table.available else { return nil }
            table.reads += 1
            table.crlNumber += 1
            let revocations = table.statuses.compactMap { serial, status -> Revocation? in
                switch status {
                case let .revoked(at, reason), let .abandoned(at, reason):
                    return Revocation(serialHex: serial, date: at, reason: reason)
                case .issued, .neverIssued:
                    return nil
                }
            }
            return CRLContents(number: table.crlNumber, revocations: revocations.sorted { $0.serialHex < $1.serialHex })
        }
        guard let result else { throw .statusSourceUnavailable("in-memory records switched off") }
        return result
    }
}
