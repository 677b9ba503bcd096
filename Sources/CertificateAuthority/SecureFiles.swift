import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers for key material: files are created with their final mode (never briefly
/// world-readable) and replaced atomically by rename.
enum SecureFiles {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The permission bits of `path`.
    static func mode(_ path: String) throws(CertificateAuthorityError) -> UInt16 {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .fileError(path: path, reason: errnoText()) }
        return UInt16(status.st_mode & 0o7777)
    }

    /// Creates `path` (and missing parents) with `mode`, or tightens an existing directory to `mode`.
    static func makeDirectory(_ path: String, mode: mode_t) throws(CertificateAuthorityError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .fileError(path: path, reason: "cannot create directory: \(error.localizedDescription)")
        }
        guard chmod(path, mode) == 0 else { throw .fileError(path: path, reason: errnoText()) }
    }

    /// Writes `bytes` to a temporary file created with `mode` next to `path`, syncs it and renames it over `path`.
    static func writeFile(_ bytes: [UInt8], to path: String, mode: mode_t) throws(CertificateAuthorityError) {
        let temporary = path + ".tmp-\(getpid())"
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
        if failure == nil, rename(temporary, path) != 0 { failure = errnoText() }
        if let failure {
            unlink(temporary)
            throw .fileError(path: path, reason: failure)
        }
    }

    /// Reads at most `limit` bytes; a larger file is refused.
    static func read(_ path: String, limit: Int = 1 << 20) throws(CertificateAuthorityError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .fileError(path: path, reason: exists(path) ? "not readable by this user" : "missing")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw .fileError(path: path, reason: error.localizedDescription)
        }
        guard data.count <= limit else { throw .fileError(path: path, reason: "larger than \(limit) bytes") }
        return [UInt8](data)
    }

    static func remove(_ path: String) { unlink(path) }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
