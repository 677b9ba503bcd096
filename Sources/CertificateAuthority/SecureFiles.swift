import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small POSIX file helpers for writing key material: files are created with their final mode (never briefly
/// world-readable) and replaced atomically by rename. Reading goes through `ProtectedFile` (Secrets).
enum SecureFiles {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates `path` (and missing parents) with `mode`, or tightens an existing directory to `mode`.
    static func makeDirectory(_ path: String, mode: mode_t) throws(CertificateAuthorityError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .fileError(path: path, reason: "cannot create directory: \(error.localizedDescription)")
        }
        guard chmod(path, mode) == 0 else { throw .fileError(path: path, reason: errnoText()) }
    }

    /// A file written and synced under a temporary name next to its destination, not yet in place.
    struct StagedFile {
        let temporary: String
        let path: String
    }

    /// Writes `bytes` to a new temporary file created with `mode` next to `path` and syncs it.
    static func stage(
        _ bytes: [UInt8], for path: String, mode: mode_t
    )
        throws(CertificateAuthorityError) -> StagedFile
    {
        let temporary = path + ".tmp-" + UUID().uuidString
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw .fileError(path: temporary, reason: errnoText()) }
        var failure: String?
        if fchmod(descriptor, mode) != 0 { failure = errnoText() }
        var offset = 0
        while failure == nil, offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = errnoText()
            } else {
                offset += written
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = errnoText() }
        close(descriptor)
        if let failure {
            unlink(temporary)
            throw .fileError(path: path, reason: failure)
        }
        return StagedFile(temporary: temporary, path: path)
    }

    /// Renames staged files into place, in order, then syncs their directories.
    static func commit(_ files: [StagedFile]) throws(CertificateAuthorityError) {
        for (index, file) in files.enumerated() where rename(file.temporary, file.path) != 0 {
            let reason = errnoText()
            discard(Array(files[index...]))
            throw .fileError(path: file.path, reason: reason)
        }
        for directory in Set(files.map { ($0.path as NSString).deletingLastPathComponent }) {
            let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if descriptor >= 0 {
                _ = fsync(descriptor)
                close(descriptor)
            }
        }
    }

    /// Removes staged files that will not be committed.
    static func discard(_ files: [StagedFile]) {
        for file in files { unlink(file.temporary) }
    }

    /// Replaces `path` atomically with `bytes`, created with `mode`.
    static func writeFile(_ bytes: [UInt8], to path: String, mode: mode_t) throws(CertificateAuthorityError) {
        try commit([try stage(bytes, for: path, mode: mode)])
    }

    static func remove(_ path: String) { unlink(path) }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
