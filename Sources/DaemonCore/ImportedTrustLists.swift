import Foundation
import OpenSSLKit
import Synchronization
import TrustList

/// Other jurisdictions' trust lists (ETSI TS 119 612), one file per territory in `[trust_list] directory`, each
/// verified against the pinned signers (`[trust_list] pinned_signers`) when imported and again at every start: a
/// file that no longer verifies (a signer unpinned, a list expired, an edited file) is skipped and reported, never
/// half trusted.
final class ImportedTrustLists: Sendable {
    let directory: String
    let signerFiles: [String]
    private let clock: @Sendable () -> Date

    private struct State {
        var lists: [String: ImportedTrustList] = [:]
        var skipped: [String] = []
    }

    private let state = Mutex(State())

    init(directory: String, signerFiles: [String], now: @escaping @Sendable () -> Date) {
        self.directory = directory
        self.signerFiles = signerFiles
        clock = now
    }

    /// The lists that verified, by territory.
    var lists: [ImportedTrustList] {
        state.withLock { state in state.lists.keys.sorted().compactMap { state.lists[$0] } }
    }

    var skippedFiles: [String] { state.withLock { $0.skipped } }

    /// The pinned signer certificates, read now (so a changed file counts without a restart).
    /// - Throws: `.untrustedSigner` naming a file that cannot be read.
    func signers() throws(TrustListError) -> [X509Certificate] {
        var certificates: [X509Certificate] = []
        for path in signerFiles {
            guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else {
                throw .untrustedSigner("the pinned signer file \(path) cannot be read")
            }
            do {
                certificates += try X509Certificate.certificates(pem: String(decoding: data, as: UTF8.self))
            } catch {
                throw .untrustedSigner("the pinned signer file \(path) holds no PEM certificate")
            }
        }
        return certificates
    }

    /// Reads and verifies every `*.xml` of the directory; what fails is skipped with its reason.
    /// - Returns: how many lists are trusted now.
    @discardableResult
    func load() -> Int {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".xml") }.sorted()
        var lists: [String: ImportedTrustList] = [:]
        var skipped: [String] = []
        let signers: [X509Certificate]
        do {
            signers = try self.signers()
        } catch {
            state.withLock { $0 = State(lists: [:], skipped: files.map { "\($0): \(error)" }) }
            return 0
        }
        for file in files {
            let path = directory + "/" + file
            guard let data = FileManager.default.contents(atPath: path) else {
                skipped.append("\(file): unreadable")
                continue
            }
            do {
                let imported = try TrustListImport.verify(
                    [UInt8](data), signers: signers,
                    territory: String(file.dropLast(4)), at: clock())
                lists[imported.list.territory] = imported
            } catch {
                skipped.append("\(file): \(error)")
            }
        }
        for reason in skipped { Log.warning("trust list skipped: \(reason)") }
        state.withLock { $0 = State(lists: lists, skipped: skipped) }
        return lists.count
    }

    /// Verifies `xml` against the pinned signers, refuses one older than the territory's list imported before,
    /// writes it (`<territory>.xml`, replaced atomically) and trusts it from now on.
    /// - Throws: `TrustListError`; `.invalidList` when the file cannot be written.
    func importList(_ xml: [UInt8], territory: String?) throws(TrustListError) -> ImportedTrustList {
        let signers = try self.signers()
        // Verified once to learn the territory, then against the list it replaces.
        let candidate = try TrustListImport.verify(xml, signers: signers, territory: territory, at: clock())
        let previous = state.withLock { $0.lists[candidate.list.territory] }
        let imported = try TrustListImport.verify(
            xml, signers: signers, territory: candidate.list.territory,
            previous: previous, at: clock())
        let name = imported.list.territory
        guard name.count == 2, name.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw .malformed("SchemeTerritory \"\(name)\" is not an ISO 3166-1 alpha-2 code")
        }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o750])
            let url = URL(fileURLWithPath: directory + "/" + name + ".xml")
            try Data(xml).write(to: url, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: url.path)
        } catch {
            throw .writeFailed("\(directory): \(error.localizedDescription)")
        }
        state.withLock { state in
            state.lists[name] = imported
            state.skipped.removeAll { $0.hasPrefix(name + ".xml:") }
        }
        return imported
    }
}
