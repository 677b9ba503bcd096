/// The SQLite schema as an ordered list of migrations; `PRAGMA user_version` records how many were applied.
///
/// Rules: a migration, once merged, never changes; new ones append. Dates are integer milliseconds since
/// 1970-01-01 UTC, identifiers upper-case UUID text, enumerations their raw values.
enum SQLiteMigrations {
    struct Migration {
        let version: Int
        let summary: String
        let sql: String
        /// Whether `TypedIdentityMigration` runs after the SQL, in the same transaction (when the store has keys).
        var rekeysIdentities = false
    }

    static let all: [Migration] = [
        Migration(
            version: 1, summary: "accounts, certificates, enrollments, counters",
            sql: """
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
        Migration(
            version: 2, summary: "identity lifecycle: devices, usage chain, passcodes, status history, guardians",
            sql: """
                CREATE TABLE device_bindings (
                    id TEXT PRIMARY KEY NOT NULL,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    device_id TEXT NOT NULL,
                    public_key TEXT NOT NULL,
                    label TEXT NOT NULL,
                    bound_at INTEGER NOT NULL,
                    unbound_at INTEGER,
                    unbind_reason TEXT
                ) STRICT;
                CREATE INDEX device_bindings_account ON device_bindings(account_id);
                CREATE UNIQUE INDEX device_bindings_active ON device_bindings(account_id) WHERE unbound_at IS NULL;

                CREATE TABLE usage_records (
                    sequence INTEGER PRIMARY KEY NOT NULL,
                    at INTEGER NOT NULL,
                    account_id TEXT,
                    enrollment_id TEXT,
                    event TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    actor_role TEXT NOT NULL,
                    actor_uid INTEGER NOT NULL,
                    outcome TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    prev_hash BLOB NOT NULL,
                    hash BLOB NOT NULL
                ) STRICT;
                CREATE INDEX usage_records_account ON usage_records(account_id, sequence);
                CREATE INDEX usage_records_enrollment ON usage_records(enrollment_id);

                CREATE TABLE usage_chain_head (
                    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                    sequence INTEGER NOT NULL,
                    hash BLOB NOT NULL
                ) STRICT;

                CREATE TABLE passcodes (
                    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id),
                    salt BLOB NOT NULL,
                    hash BLOB NOT NULL,
                    parameters TEXT NOT NULL,
                    failed_attempts INTEGER NOT NULL,
                    locked_until INTEGER,
                    enabled INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                ) STRICT;

                CREATE TABLE status_history (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    from_status TEXT NOT NULL,
                    to_status TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    actor_role TEXT NOT NULL,
                    actor_uid INTEGER NOT NULL,
                    channel TEXT NOT NULL,
                    at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX status_history_account ON status_history(account_id, id);

                CREATE TABLE guardian_links (
                    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id),
                    guardian_account_id TEXT NOT NULL REFERENCES accounts(id),
                    enrollment_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX guardian_links_guardian ON guardian_links(guardian_account_id);
                """),
        Migration(
            version: 3, summary: "abuse resistance: escalating passcode locks, caller budgets, a keyed usage chain",
            sql: """
                ALTER TABLE passcodes ADD COLUMN lock_level INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE passcodes ADD COLUMN total_failures INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE passcodes ADD COLUMN locked_permanently INTEGER NOT NULL DEFAULT 0;
                UPDATE passcodes SET total_failures = failed_attempts;

                CREATE TABLE passcode_budgets (
                    caller TEXT PRIMARY KEY NOT NULL,
                    window_start INTEGER NOT NULL,
                    failures INTEGER NOT NULL,
                    locked_until INTEGER,
                    updated_at INTEGER NOT NULL
                ) STRICT;

                ALTER TABLE usage_records ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;

                CREATE TABLE settings (
                    name TEXT PRIMARY KEY NOT NULL,
                    value BLOB NOT NULL
                ) STRICT;
                """),
        Migration(
            version: 4, summary: "typed identity: legacy identity keys as aliases, the documents of each account",
            sql: """
                ALTER TABLE accounts ADD COLUMN legacy_identity_key BLOB;
                UPDATE accounts SET legacy_identity_key = identity_key;
                CREATE UNIQUE INDEX accounts_legacy_identity_key ON accounts(legacy_identity_key)
                    WHERE legacy_identity_key IS NOT NULL;

                CREATE TABLE account_documents (
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    document_key BLOB NOT NULL,
                    document_type TEXT NOT NULL,
                    issuing_state TEXT NOT NULL,
                    expiry TEXT NOT NULL,
                    first_verified_at INTEGER NOT NULL,
                    last_verified_at INTEGER NOT NULL,
                    PRIMARY KEY (account_id, document_key)
                ) STRICT;
                """, rekeysIdentities: true),
        Migration(
            version: 5, summary: "activation through the contact: a transactional outbox, one-time codes",
            sql: """
                CREATE TABLE outbox (
                    id TEXT PRIMARY KEY NOT NULL,
                    account_id TEXT,
                    kind TEXT NOT NULL,
                    transport TEXT NOT NULL,
                    sealed BLOB NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    next_attempt_at INTEGER NOT NULL,
                    claimed_by TEXT,
                    claimed_until INTEGER,
                    last_error TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    sent_at INTEGER
                ) STRICT;
                CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
                CREATE INDEX outbox_created ON outbox(created_at, id);

                CREATE TABLE activation_codes (
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    purpose TEXT NOT NULL,
                    code_hash BLOB NOT NULL,
                    certificate_serial TEXT,
                    previous_tier TEXT NOT NULL,
                    enrollment_id TEXT,
                    state TEXT NOT NULL,
                    failed_attempts INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (account_id, purpose)
                ) STRICT;
                CREATE INDEX activation_codes_pending ON activation_codes(state, expires_at);
                """),
        Migration(
            version: 6, summary: "data release by consent: the verifier registry",
            sql: """
                CREATE TABLE verifiers (
                    id TEXT PRIMARY KEY NOT NULL,
                    legal_name TEXT NOT NULL,
                    elements TEXT NOT NULL,
                    purpose TEXT NOT NULL,
                    valid_from INTEGER NOT NULL,
                    valid_until INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    credential TEXT NOT NULL,
                    certificate_fingerprint TEXT NOT NULL UNIQUE,
                    certificate_pem TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                ) STRICT;
                """),
    ]

    static var latestVersion: Int { all.last?.version ?? 0 }
}
