import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a key file (or any file that holds or vouches for a secret) could not be used.
public enum KeyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Group or others may access the file.
    case insecurePermissions(path: String, mode: UInt32)
    /// The file belongs to another user than the one running enrolld.
    case wrongOwner(path: String, owner: UInt32, expected: UInt32)
    /// The file is not exactly `KeyFile.keyLength` bytes.
    case wrongSize(path: String, size: Int)
    /// The path is a directory, a symbolic link or a device.
    case notRegularFile(path: String)
    /// A system call failed.
    case system(path: String, operation: String, errno: Int32)
    /// No random bytes for a new key.
    case random(String)
    /// A secret file (a password file) larger than any secret it could hold.
    case tooLarge(path: String, size: Int, limit: Int)

    public var description: String {
        switch self {
        case let .insecurePermissions(path, mode):
            return "key file \(path) has mode \(String(mode, radix: 8)): group and others must have no access; "
                + "run `chmod 600 \(path)`"
        case let .wrongOwner(path, owner, expected):
            return "key file \(path) belongs to uid \(owner), not to the service user (uid \(expected)); "
                + "run `chown` to give it to the service user"
        case let .wrongSize(path, size):
            return "key file \(path) holds \(size) bytes, expected 32: restore it from backup "
                + "(a new key cannot read existing data)"
        case let .notRegularFile(path):
            return "key file \(path) is not a regular file (a symbolic link, a directory or a device): "
                + "put the file itself there"
        case let .system(path, operation, code):
            return "key file \(path): \(operation) failed: \(String(cString: strerror(code)))"
        case let .random(reason):
            return "no random bytes for a new key: \(reason)"
        case let .tooLarge(path, size, limit):
            return "secret file \(path) holds \(size) bytes, more than \(limit): is it the right file?"
        }
    }
}

/// The one check every file that holds a secret, or vouches for one, passes before enrolld reads it: the server
/// keys, the database password, the CA's key, passphrase and certificate, a systemd credential.
///
/// The file is opened with `O_NOFOLLOW` (a symbolic link is refused: whoever can write the directory must not be
/// able to point the daemon at another file) and checked on the open descriptor (`fstat`: no race between check
/// and read): a regular file, at most `limit` bytes, and, as `access` says, owned by the user running enrolld with
/// no access for group and others.
public enum ProtectedFile {
    /// Who besides the service user may have access to the file.
    public enum Access: Sendable, Equatable {
        /// A secret: owned by the service user, no access for group or others (mode 0600 or 0400).
        case ownerOnly
        /// A public file of the daemon's (a certificate): owned by the service user, readable by others.
        case readableByOthers
        /// A systemd credential in `$CREDENTIALS_DIRECTORY`: systemd decrypts it into a read-only directory of the
        /// unit's own and gives it to root, mode 0400, with an ACL that lets the service user read it; the owner and
        /// mode are systemd's, so only the link and file-type checks apply.
        case systemdCredential
    }

    /// Reads the file at `path` (at most `limit` bytes) after the checks above; nil when it does not exist.
    /// - Throws: `.notRegularFile` (a symbolic link, a directory, a device), `.insecurePermissions`, `.wrongOwner`,
    ///   `.tooLarge`, `.system`.
    public static func read(path: String, limit: Int, access: Access = .ownerOnly) throws(KeyFileError) -> [UInt8]? {
        try withContents(path: path, limit: limit, access: access) { [UInt8]($0) }
    }

    /// Reads the file like `read` straight into an owned buffer that is zeroed when released (a passphrase, a key):
    /// no copy of the content is left in memory enrolld does not wipe.
    public static func readSecret(
        path: String, limit: Int, access: Access = .ownerOnly
    ) throws(KeyFileError) -> SecretBytes? {
        try withContents(path: path, limit: limit, access: access) { SecretBytes(copying: $0) }
    }

    /// Opens and checks the file, reads it into a buffer that is wiped afterwards, and hands the bytes to `body`.
    private static func withContents<Result>(
        path: String, limit: Int, access: Access, _ body: (UnsafeRawBufferPointer) -> Result
    ) throws(KeyFileError) -> Result? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP { throw .notRegularFile(path: path) }
            throw .system(path: path, operation: "open", errno: code)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .system(path: path, operation: "stat", errno: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .notRegularFile(path: path) }
        let mode = UInt32(status.st_mode & 0o7777)
        if access == .ownerOnly, mode & 0o077 != 0 { throw .insecurePermissions(path: path, mode: mode) }
        if access == .readableByOthers, mode & 0o022 != 0 { throw .insecurePermissions(path: path, mode: mode) }
        if access != .systemdCredential, status.st_uid != geteuid() {
            throw .wrongOwner(path: path, owner: UInt32(status.st_uid), expected: UInt32(geteuid()))
        }
        let size = Int(status.st_size)
        guard size <= limit else { throw .tooLarge(path: path, size: size, limit: limit) }
        let buffer = SecretBytes(count: size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            size == 0 ? 0 : readDescriptor(descriptor, bytes.baseAddress, size)
        }
        guard count == size else {
            if count < 0 { throw .system(path: path, operation: "read", errno: errno) }
            throw .wrongSize(path: path, size: count)
        }
        return buffer.withUnsafeBytes(body)
    }
}

/// read(2), named apart from `ProtectedFile.read`.
private func readDescriptor(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
