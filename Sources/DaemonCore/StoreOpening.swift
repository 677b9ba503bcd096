import Foundation
import PostgresStore
import Secrets
import Store

extension Configuration {
    /// The PostgreSQL settings of `[store]`, with the password read from `password_file` (checked like a key file:
    /// a regular file of mode 0600 owned by the service user).
    public func postgresSettings() throws -> PostgresSettings {
        var password: String?
        if let file = storePasswordFile {
            guard let secret = try KeyFile.readSecret(path: file, limit: 4096) else {
                throw KeyFileError.system(path: file, operation: "open", errno: ENOENT)
            }
            password = String(decoding: secret, as: UTF8.self).trimmingCharacters(in: .newlines)
        }
        try StoreTransportPolicy.check(conninfo: storeConninfo ?? "", configured: storeSSLMode)
        return PostgresSettings(
            conninfo: storeConninfo ?? "", password: password, sslMode: storeSSLMode,
            sslRootCert: storeSSLRootCert, sslCert: storeSSLCert, sslKey: storeSSLKey,
            poolSize: storePoolSize)
    }

    /// Opens and migrates the configured store. On PostgreSQL it also proves this host holds the fleet's
    /// data-protection keys: with keys of its own it could neither see duplicates nor open the others' data.
    public func openStore(protector: DataProtector) throws -> any Store {
        switch storeBackend {
        case .sqlite:
            let store = try SQLiteStore(path: stateDirectory + "/enrolld.db", protector: protector)
            try store.migrate()
            return store
        case .postgresql:
            let store = try PostgresStore(settings: try postgresSettings(), protector: protector)
            try store.migrate()
            try store.claimKeyCheck(try protector.keyCheck())
            return store
        }
    }
}
