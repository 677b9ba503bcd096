/// The SQLite schema as an ordered list of migrations; `PRAGMA user_version` records how many were applied.
///
/// Rules: a migration, once merged, never changes; new ones append. Dates are integer milliseconds since
/// 1970-01-01 UTC, identifiers upper-case UUID text, enumerations their raw values.
enum SQLiteMigrations {
    struct Migration {
        let version: Int
        let summary: String
        let sql: String
    }

    static let all: [Migration] = [
        Migration(version: 1, summary: "accounts, certificates, enrollments, counters", sql: """
            CREATE TABLE accounts (
                id TEXT PRIMARY KEY NOT NULL,
                tier TEXT NOT NULL,
                status TEXT NOT NULL,
                identity_key BLOB NOT NULL UNIQUE,
                sealed BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX accounts_status ON accounts(status);

            CREATE TABLE certificates (
                serial TEXT PRIMARY KEY NOT NULL,
                account_id TEXT NOT NULL REFERENCES accounts(id),
                state TEXT NOT NULL,
                der BLOB,
                der_sealed INTEGER NOT NULL DEFAULT 0,
                not_before INTEGER NOT NULL,
                not_after INTEGER NOT NULL,
                revoked_at INTEGER,
                revocation_reason INTEGER,
                device_id TEXT,
                created_at INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX certificates_account ON certificates(account_id);
            CREATE INDEX certificates_state ON certificates(state);

            CREATE TABLE enrollments (
                id TEXT PRIMARY KEY NOT NULL,
                purpose TEXT NOT NULL,
                state TEXT NOT NULL,
                account_id TEXT REFERENCES accounts(id),
                reader TEXT NOT NULL,
                caller_uid INTEGER NOT NULL,
                evidence BLOB NOT NULL,
                failure_code TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX enrollments_state ON enrollments(state);

            CREATE TABLE counters (
                name TEXT PRIMARY KEY NOT NULL,
                value INTEGER NOT NULL
            ) STRICT;
            """),
    ]

    static var latestVersion: Int { all.last?.version ?? 0 }
}
