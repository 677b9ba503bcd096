/// The PostgreSQL schema: the same tables, columns and constraints as `SQLiteMigrations` (SQLite's versions 3, 4
/// and 5 are versions 4, 5 and 6 here), in PostgreSQL's types, plus what only a shared database needs (version 3,
/// `fleet_settings`, which also holds the settings SQLite keeps in `settings`). `enrolld_schema` records the version
/// reached. Rules as for SQLite: a merged migration never changes; new ones append.
///
/// Identifiers and serials are `COLLATE "C"` so ordering matches SQLite's byte order whatever the database's
/// locale; dates are milliseconds since 1970-01-01 UTC (`BIGINT`), as on SQLite.
enum PostgresMigrations {
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
                    id TEXT COLLATE "C" PRIMARY KEY,
                    tier TEXT NOT NULL,
                    status TEXT NOT NULL,
                    identity_key BYTEA NOT NULL CONSTRAINT accounts_identity_key_unique UNIQUE,
                    sealed BYTEA NOT NULL,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                );
                CREATE INDEX accounts_status ON accounts(status);

                CREATE TABLE certificates (
                    serial TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    state TEXT NOT NULL,
                    der BYTEA,
                    der_sealed BOOLEAN NOT NULL DEFAULT FALSE,
                    not_before BIGINT NOT NULL,
                    not_after BIGINT NOT NULL,
                    revoked_at BIGINT,
                    revocation_reason BIGINT,
                    device_id TEXT,
                    created_at BIGINT NOT NULL
                );
                CREATE INDEX certificates_account ON certificates(account_id);
                CREATE INDEX certificates_state ON certificates(state);

                CREATE TABLE enrollments (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    purpose TEXT NOT NULL,
                    state TEXT NOT NULL,
                    account_id TEXT COLLATE "C" REFERENCES accounts(id),
                    reader TEXT NOT NULL,
                    caller_uid BIGINT NOT NULL,
                    evidence BYTEA NOT NULL,
                    failure_code TEXT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                );
                CREATE INDEX enrollments_state ON enrollments(state);

                CREATE TABLE counters (
                    name TEXT COLLATE "C" PRIMARY KEY,
                    value BIGINT NOT NULL
                );
                """),
        Migration(
            version: 2, summary: "identity lifecycle: devices, usage chain, passcodes, status history, guardians",
            sql: """
                CREATE TABLE device_bindings (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    position BIGINT GENERATED ALWAYS AS IDENTITY,
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    device_id TEXT NOT NULL,
                    public_key TEXT NOT NULL,
                    label TEXT NOT NULL,
                    bound_at BIGINT NOT NULL,
                    unbound_at BIGINT,
                    unbind_reason TEXT
                );
                CREATE INDEX device_bindings_account ON device_bindings(account_id);
                CREATE UNIQUE INDEX device_bindings_active ON device_bindings(account_id) WHERE unbound_at IS NULL;

                CREATE TABLE usage_records (
                    sequence BIGINT PRIMARY KEY,
                    at BIGINT NOT NULL,
                    account_id TEXT COLLATE "C",
                    enrollment_id TEXT COLLATE "C",
                    event TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    actor_role TEXT NOT NULL,
                    actor_uid BIGINT NOT NULL,
                    outcome TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    prev_hash BYTEA NOT NULL,
                    hash BYTEA NOT NULL
                );
                CREATE INDEX usage_records_account ON usage_records(account_id, sequence);
                CREATE INDEX usage_records_enrollment ON usage_records(enrollment_id);

                CREATE TABLE usage_chain_head (
                    id BIGINT PRIMARY KEY CHECK (id = 1),
                    sequence BIGINT NOT NULL,
                    hash BYTEA NOT NULL
                );

                CREATE TABLE passcodes (
                    account_id TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts(id),
                    salt BYTEA NOT NULL,
                    hash BYTEA NOT NULL,
                    parameters TEXT NOT NULL,
                    failed_attempts BIGINT NOT NULL,
                    locked_until BIGINT,
                    enabled BOOLEAN NOT NULL,
                    updated_at BIGINT NOT NULL
                );

                CREATE TABLE status_history (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    from_status TEXT NOT NULL,
                    to_status TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    actor_role TEXT NOT NULL,
                    actor_uid BIGINT NOT NULL,
                    channel TEXT NOT NULL,
                    at BIGINT NOT NULL
                );
                CREATE INDEX status_history_account ON status_history(account_id, id);

                CREATE TABLE guardian_links (
                    account_id TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts(id),
                    guardian_account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    enrollment_id TEXT COLLATE "C" NOT NULL,
                    created_at BIGINT NOT NULL
                );
                CREATE INDEX guardian_links_guardian ON guardian_links(guardian_account_id);
                """),
        Migration(
            version: 3, summary: "fleet: check value of the data-protection keys",
            sql: """
                CREATE TABLE fleet_settings (
                    name TEXT COLLATE "C" PRIMARY KEY,
                    value BYTEA NOT NULL
                );
                """),
        Migration(
            version: 4, summary: "abuse resistance: escalating passcode locks, caller budgets, a keyed usage chain",
            sql: """
                ALTER TABLE passcodes ADD COLUMN lock_level BIGINT NOT NULL DEFAULT 0;
                ALTER TABLE passcodes ADD COLUMN total_failures BIGINT NOT NULL DEFAULT 0;
                ALTER TABLE passcodes ADD COLUMN locked_permanently BOOLEAN NOT NULL DEFAULT FALSE;
                UPDATE passcodes SET total_failures = failed_attempts;

                CREATE TABLE passcode_budgets (
                    caller TEXT COLLATE "C" PRIMARY KEY,
                    window_start BIGINT NOT NULL,
                    failures BIGINT NOT NULL,
                    locked_until BIGINT,
                    updated_at BIGINT NOT NULL
                );

                ALTER TABLE usage_records ADD COLUMN keyed BOOLEAN NOT NULL DEFAULT FALSE;
                """),
        Migration(
            version: 5, summary: "typed identity: legacy identity keys as aliases, the documents of each account",
            sql: """
                ALTER TABLE accounts ADD COLUMN legacy_identity_key BYTEA;
                UPDATE accounts SET legacy_identity_key = identity_key;
                CREATE UNIQUE INDEX accounts_legacy_identity_key ON accounts(legacy_identity_key)
                    WHERE legacy_identity_key IS NOT NULL;

                CREATE TABLE account_documents (
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    document_key BYTEA NOT NULL,
                    document_type TEXT NOT NULL,
                    issuing_state TEXT NOT NULL,
                    expiry TEXT NOT NULL,
                    first_verified_at BIGINT NOT NULL,
                    last_verified_at BIGINT NOT NULL,
                    PRIMARY KEY (account_id, document_key)
                );
                """, rekeysIdentities: true),
        Migration(
            version: 6, summary: "activation through the contact: a transactional outbox, one-time codes",
            sql: """
                CREATE TABLE outbox (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C",
                    kind TEXT NOT NULL,
                    transport TEXT NOT NULL,
                    sealed BYTEA NOT NULL,
                    state TEXT NOT NULL,
                    attempts BIGINT NOT NULL,
                    next_attempt_at BIGINT NOT NULL,
                    claimed_by TEXT,
                    claimed_until BIGINT,
                    last_error TEXT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    sent_at BIGINT
                );
                CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
                CREATE INDEX outbox_created ON outbox(created_at, id);

                CREATE TABLE activation_codes (
                    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
                    purpose TEXT NOT NULL,
                    code_hash BYTEA NOT NULL,
                    certificate_serial TEXT,
                    previous_tier TEXT NOT NULL,
                    enrollment_id TEXT,
                    state TEXT NOT NULL,
                    failed_attempts BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (account_id, purpose)
                );
                CREATE INDEX activation_codes_pending ON activation_codes(state, expires_at);
                """),
        Migration(
            version: 7, summary: "data release by consent: the verifier registry",
            sql: """
                CREATE TABLE verifiers (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    legal_name TEXT NOT NULL,
                    elements TEXT NOT NULL,
                    purpose TEXT NOT NULL,
                    valid_from BIGINT NOT NULL,
                    valid_until BIGINT NOT NULL,
                    status TEXT NOT NULL,
                    credential TEXT NOT NULL,
                    certificate_fingerprint TEXT COLLATE "C" NOT NULL UNIQUE,
                    certificate_pem TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                );
                """),
    ]

    static var latestVersion: Int { all.last?.version ?? 0 }
}
