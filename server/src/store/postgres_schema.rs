//! The PostgreSQL schema and its migrations.
//!
//! Several server instances may start at once against one database: every pending migration
//! runs inside one transaction that first takes a transaction-scoped advisory lock, so one
//! instance migrates while the others wait, then find nothing left to do. A crash mid-upgrade
//! rolls the whole upgrade back (PostgreSQL's DDL is transactional).
//!
//! The tables mirror the SQLite schema (`sqlite_schema.rs`) with PostgreSQL types; the
//! differences are what several writers need: `events.seq` is assigned from `meta.feed_seq`
//! inside the writing transaction (see `postgres.rs`), and uploads carry leases and rate
//! buckets live in the database because a client's requests may reach any instance.

use postgres::Client;

use super::StoreError;

/// The advisory lock key of schema migrations ("gridline" in ASCII, as a number).
const MIGRATION_LOCK: i64 = 0x6772_6964_6c69_6e65;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('grids_revision', 0), ('feed_seq', 0);

CREATE TABLE users (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('rider', 'supervisor', 'admin')),
    created_at BIGINT NOT NULL
);

CREATE TABLE user_grids (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grid_id TEXT NOT NULL,
    PRIMARY KEY (user_id, grid_id)
);
CREATE INDEX user_grids_by_grid ON user_grids (grid_id, user_id);

CREATE TABLE tokens (
    hash       BYTEA PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);

CREATE TABLE grids (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    geometry TEXT NOT NULL
);

CREATE TABLE tickets (
    id              BIGSERIAL PRIMARY KEY,
    report_id       TEXT NOT NULL UNIQUE,
    owner_id        BIGINT NOT NULL REFERENCES users (id),
    content_hash    BYTEA NOT NULL,
    report          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    category        TEXT NOT NULL,
    grid_id         TEXT,
    status          TEXT NOT NULL,
    version         BIGINT NOT NULL,
    department      TEXT,
    resolution_note TEXT,
    reject_reason   TEXT,
    duplicate_of    BIGINT REFERENCES tickets (id),
    received_at     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX tickets_by_owner ON tickets (owner_id, id);
CREATE INDEX tickets_by_grid ON tickets (grid_id, id);
CREATE INDEX tickets_by_owner_received ON tickets (owner_id, received_at);

CREATE TABLE photos (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    position  INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    bytes     BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, position)
);
CREATE INDEX photos_by_sha ON photos (sha256, ticket_id);

CREATE TABLE media (
    sha256    TEXT PRIMARY KEY,
    bytes     BIGINT NOT NULL,
    stored_at BIGINT NOT NULL
);

CREATE TABLE media_holders (
    sha256  TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    at      BIGINT NOT NULL,
    PRIMARY KEY (sha256, user_id)
);
CREATE INDEX media_holders_by_user ON media_holders (user_id, sha256);

CREATE TABLE uploads (
    user_id    BIGINT NOT NULL REFERENCES users (id),
    sha256     TEXT NOT NULL,
    length     BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    touched_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, sha256)
);
CREATE INDEX uploads_by_age ON uploads (touched_at);

-- Who is writing an upload right now, across instances: one request per account and photo.
CREATE TABLE upload_leases (
    user_id BIGINT NOT NULL,
    sha256  TEXT NOT NULL,
    holder  TEXT NOT NULL,
    until   BIGINT NOT NULL,
    PRIMARY KEY (user_id, sha256)
);

-- Token buckets of the rate limits, shared by every instance.
CREATE TABLE rate_buckets (
    key    TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at     BIGINT NOT NULL
);

-- The changes feed. `seq` comes from meta.feed_seq, incremented in the writing transaction, so
-- sequence numbers are handed out in commit order (see postgres.rs).
CREATE TABLE events (
    seq          BIGINT PRIMARY KEY,
    ticket_id    BIGINT NOT NULL REFERENCES tickets (id),
    status       TEXT NOT NULL,
    version      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    by_user      TEXT NOT NULL,
    reason       TEXT,
    department   TEXT,
    note         TEXT,
    duplicate_of BIGINT
);
CREATE INDEX events_by_ticket ON events (ticket_id, seq);
"#,
    r#"
-- Case rules (issue 15): see sqlite_schema.rs.
ALTER TABLE tickets ADD COLUMN due_at BIGINT;
ALTER TABLE tickets ADD COLUMN overdue_at BIGINT;
ALTER TABLE tickets ADD COLUMN escalations BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN verifies BIGINT REFERENCES tickets (id);
CREATE INDEX tickets_due ON tickets (due_at) WHERE due_at IS NOT NULL AND overdue_at IS NULL;
CREATE INDEX tickets_by_status ON tickets (status, id);
ALTER TABLE events ADD COLUMN action TEXT;
ALTER TABLE events ADD COLUMN due_at BIGINT;
ALTER TABLE events ADD COLUMN verification BIGINT;
"#,
    // Open311 (issue #16): client systems holding an API key (by SHA-256, like tokens), each
    // filing through an account of its own (`open311:<name>`, which holds no bearer token).
    r#"
CREATE TABLE open311_clients (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL UNIQUE REFERENCES users (id),
    key_hash   BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX tickets_by_category ON tickets (category, id);
"#,
    // Evidence (issue 17): device signing keys and what each ticket's check found; as in
    // sqlite_schema.rs.
    r#"
CREATE TABLE device_keys (
    key_id        TEXT PRIMARY KEY,
    owner_id      BIGINT NOT NULL REFERENCES users (id),
    algorithm     TEXT NOT NULL,
    public_key    BYTEA NOT NULL,
    registered_at BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX device_keys_by_owner ON device_keys (owner_id, registered_at);

CREATE TABLE ticket_evidence (
    ticket_id  BIGINT PRIMARY KEY REFERENCES tickets (id),
    signature  TEXT NOT NULL,
    key_id     TEXT,
    detail     TEXT NOT NULL,
    checked_at BIGINT NOT NULL,
    signals    TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX ticket_evidence_by_signature ON ticket_evidence (signature, ticket_id);
"#,
    // Forwarding to an upstream Open311 system (issue #16 item 3): one outbox row per
    // forwarded ticket (`pending | token | sent | parked`), and the upstream updates seen.
    r#"
CREATE TABLE upstream_outbox (
    ticket_id   BIGINT PRIMARY KEY REFERENCES tickets (id),
    state       TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_at     BIGINT NOT NULL,
    upstream_id TEXT,
    token       TEXT,
    last_error  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX upstream_outbox_due ON upstream_outbox (state, next_at);
CREATE INDEX upstream_outbox_by_upstream_id ON upstream_outbox (upstream_id);
CREATE TABLE upstream_updates (
    update_id  TEXT PRIMARY KEY,
    ticket_id  BIGINT,
    updated_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL
);
CREATE INDEX upstream_updates_by_time ON upstream_updates (updated_at);
"#,
    // Duplicate candidates (issue #17 item 3): the perceptual hash the server computed itself
    // from each verified photo (never the device's), 64 bits as a signed integer; and the
    // look-up of tickets merged into a ticket.
    r#"
CREATE TABLE photo_hashes (
    sha256      TEXT PRIMARY KEY,
    phash       BIGINT NOT NULL,
    computed_at BIGINT NOT NULL
);
CREATE INDEX tickets_by_duplicate_of ON tickets (duplicate_of) WHERE duplicate_of IS NOT NULL;
"#,
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`VERSION`] under the migration lock, or refuses one written by a
/// newer server; also makes the database's id key on first use. Returns the id key.
pub fn migrate(client: &mut Client) -> Result<i64, StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS gridline_schema (version BIGINT NOT NULL)")?;
    let found: Option<i64> = tx
        .query_opt("SELECT max(version) FROM gridline_schema", &[])?
        .and_then(|row| row.get(0));
    let found = found.unwrap_or(0);
    if found > VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: VERSION,
        });
    }
    for sql in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        tx.batch_execute(sql)?;
    }
    tx.execute("DELETE FROM gridline_schema", &[])?;
    tx.execute(
        "INSERT INTO gridline_schema (version) VALUES ($1)",
        &[&VERSION],
    )?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('id_key', $1) ON CONFLICT (key) DO NOTHING",
        &[&rand::random_range(1..=i64::MAX)],
    )?;
    let key: i64 = tx
        .query_one("SELECT value FROM meta WHERE key = 'id_key'", &[])?
        .get(0);
    tx.commit()?;
    Ok(key)
}
