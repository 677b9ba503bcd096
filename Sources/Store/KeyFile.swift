import Foundation
import OpenSSLKit
import Secrets

/// A server secret key in a file of its own: 32 raw bytes, mode 0600, owned by the service user.
///
/// Losing the file loses what it protects (sealed personal data cannot be opened, identities cannot be looked
/// up): back it up with the database, but never next to it in the clear.
public enum KeyFile {
    public static let keyLength = 32

    /// Reads the key at `path`; when there is no file, creates one atomically (mode 0600, parent directories
    /// 0700) with fresh random bytes. Refuses files that group or others can access, that belong to another
    /// user, that are symbolic links, or that have the wrong size.
    public static func loadOrCreate(path: String) throws(KeyFileError) -> [UInt8] {
        if let key = try load(path: path) { return key }
        try createDirectories(for: path)
        let key: [UInt8]
        do {
            key = try SecureRandom.bytes(keyLength)
        } catch {
            throw .random(error.description)
        }
        try create(path: path, key: key)
        // Another process may have won the race: the file on disk is the key.
        guard let stored = try load(path: path) else { throw .system(path: path, operation: "open", errno: ENOENT) }
        return stored
    }

    /// Reads the secret file at `path` (at most `limit` bytes, checked like a key file); when there is none, creates it
    /// atomically (mode 0600, parent directories 0700) with what `generate` makes. For secrets that are not 32 raw
    /// bytes, such as a signing key's PEM.
    public static func loadOrCreateSecret(
        path: String, limit: Int,
        generate: () throws -> [UInt8]
    ) throws(KeyFileError) -> [UInt8] {
        if let secret = try readSecret(path: path, limit: limit) { return secret }
        try createDirectories(for: path)
        let secret: [UInt8]
        do {
            secret = try generate()
        } catch {
            throw .random("\(error)")
        }
        try create(path: path, key: secret)
        guard let stored = try readSecret(path: path, limit: limit) else {
            throw .system(path: path, operation: "open", errno: ENOENT)
        }
        return stored
    }

    /// Reads the key at `path`; nil when the file does not exist.
    public static func load(path: String) throws(KeyFileError) -> [UInt8]? {
        guard let key = try readSecret(path: path, limit: 4096) else { return nil }
        guard key.count == keyLength else { throw .wrongSize(path: path, size: key.count) }
        return key
    }

    /// Reads a secret file (a key, a database password) of at most `limit` bytes; nil when it does not exist.
    /// Refuses files that group or others can access, that belong to another user, that are symbolic links or
    /// not regular files: the one check of `ProtectedFile`, which the CA's files pass too.
    public static func readSecret(path: String, limit: Int) throws(KeyFileError) -> [UInt8]? {
        try ProtectedFile.read(path: path, limit: limit)
    }

    /// Writes `key` to a temporary file (0600), syncs it, and links it into place: the key file appears
    /// complete or not at all, and an existing one is never overwritten.
    private static func create(path: String, key: [UInt8]) throws(KeyFileError) {
        let temporary = "\(path).\(UUID().uuidString).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .system(path: temporary, operation: "create", errno: errno) }
        defer { unlink(temporary) }
        let written = write(descriptor, key, key.count)
        let writeError = errno
        // fchmod: the umask could only have narrowed the mode, but be explicit.
        let synced = written == key.count && fchmod(descriptor, 0o600) == 0 && fsync(descriptor) == 0
        let syncError = errno
        close(descriptor)
        guard written == key.count else { throw .system(path: temporary, operation: "write", errno: writeError) }
        guard synced else { throw .system(path: temporary, operation: "sync", errno: syncError) }
        if link(temporary, path) != 0 {
            let code = errno
            guard code == EEXIST else { throw .system(path: path, operation: "link", errno: code) }
        }
        syncDirectory(of: path)
    }

    /// Creates the missing parent directories with mode 0700.
    private static func createDirectories(for path: String) throws(KeyFileError) {
        let parent = (path as NSString).deletingLastPathComponent
        guard !parent.isEmpty else { return }
        var missing: [String] = []
        var directory = parent
        while !directory.isEmpty, directory != "/", access(directory, F_OK) != 0 {
            missing.append(directory)
            directory = (directory as NSString).deletingLastPathComponent
        }
        for directory in missing.reversed() where mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw .system(path: directory, operation: "mkdir", errno: errno)
        }
    }

    private static func syncDirectory(of path: String) {
        let parent = (path as NSString).deletingLastPathComponent
        let descriptor = open(parent.isEmpty ? "." : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
