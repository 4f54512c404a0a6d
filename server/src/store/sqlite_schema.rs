//! The SQLite schema and its migrations, in one place.
//!
//! `PRAGMA user_version` records the applied version; every pending migration runs inside one
//! IMMEDIATE transaction, so a crash mid-upgrade leaves the old schema intact.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('grids_revision', 0);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('rider', 'supervisor', 'admin')),
    created_at INTEGER NOT NULL
);

CREATE TABLE user_grids (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grid_id TEXT NOT NULL,
    PRIMARY KEY (user_id, grid_id)
) WITHOUT ROWID;
CREATE INDEX user_grids_by_grid ON user_grids (grid_id, user_id);

-- Only SHA-256 hashes of tokens are stored; see auth.rs for why no slow hash is needed.
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
) WITHOUT ROWID;

-- geometry: a GeoJSON Polygon or MultiPolygon object, WGS-84.
CREATE TABLE grids (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    geometry TEXT NOT NULL
) WITHOUT ROWID;

-- One row per accepted report. `report` is the canonical JSON as received; idempotency
-- compares `content_hash`, a SHA-256 of it.
CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id       TEXT NOT NULL UNIQUE,
    owner_id        INTEGER NOT NULL REFERENCES users (id),
    content_hash    BLOB NOT NULL,
    report          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    category        TEXT NOT NULL,
    grid_id         TEXT,
    status          TEXT NOT NULL,
    version         INTEGER NOT NULL,
    department      TEXT,
    resolution_note TEXT,
    reject_reason   TEXT,
    duplicate_of    INTEGER REFERENCES tickets (id),
    received_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX tickets_by_owner ON tickets (owner_id, id);
CREATE INDEX tickets_by_grid ON tickets (grid_id, id);

-- Photos listed by reports: who may upload (owner) and see (scope) which hash.
CREATE TABLE photos (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    position  INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    bytes     INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, position)
) WITHOUT ROWID;
CREATE INDEX photos_by_sha ON photos (sha256, ticket_id);

-- Photos whose verified bytes are in the media folder.
CREATE TABLE media (
    sha256    TEXT PRIMARY KEY,
    bytes     INTEGER NOT NULL,
    stored_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Every ticket transition: its history and the changes feed. `seq` is the feed's total order
-- (AUTOINCREMENT: never reused, so a cursor never skips a later change).
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id),
    status       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    by_user      TEXT NOT NULL,
    reason       TEXT,
    department   TEXT,
    note         TEXT,
    duplicate_of INTEGER
);
CREATE INDEX events_by_ticket ON events (ticket_id, seq);
"#,
    r#"
-- Accounts that proved they hold a photo's bytes: they uploaded them and the server verified
-- the hash and decoded the JPEG. A photo is served only through tickets of its holders, so
-- knowing a hash (a supervisor sees it on a ticket) is not enough to read or claim the bytes.
CREATE TABLE media_holders (
    sha256  TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    at      INTEGER NOT NULL,
    PRIMARY KEY (sha256, user_id)
) WITHOUT ROWID;
CREATE INDEX media_holders_by_user ON media_holders (user_id, sha256);
-- Before this version the uploader was not recorded: the owner of the earliest ticket that
-- lists a stored photo with its stored length is taken to have uploaded it.
INSERT OR IGNORE INTO media_holders (sha256, user_id, at)
SELECT m.sha256,
       (SELECT t.owner_id FROM photos p JOIN tickets t ON t.id = p.ticket_id
         WHERE p.sha256 = m.sha256 AND p.bytes = m.bytes ORDER BY t.id LIMIT 1),
       m.stored_at
FROM media m
WHERE EXISTS (SELECT 1 FROM photos p WHERE p.sha256 = m.sha256 AND p.bytes = m.bytes);

-- Uploads in progress: one per account and photo, owned by that account alone. `length` is
-- fixed by the account's first report listing the photo; `touched_at` drives expiry.
CREATE TABLE uploads (
    user_id    INTEGER NOT NULL REFERENCES users (id),
    sha256     TEXT NOT NULL,
    length     INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    touched_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, sha256)
) WITHOUT ROWID;
CREATE INDEX uploads_by_age ON uploads (touched_at);
"#,
    r#"
-- Case rules (issue 15): the handling deadline set at dispatch, when the server marked it
-- passed (once per deadline; cleared by an extension or a reopening), escalations (督办), and
-- for a verification report (核查) the ticket it verifies.
ALTER TABLE tickets ADD COLUMN due_at INTEGER;
ALTER TABLE tickets ADD COLUMN overdue_at INTEGER;
ALTER TABLE tickets ADD COLUMN escalations INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN verifies INTEGER REFERENCES tickets (id);
CREATE INDEX tickets_due ON tickets (due_at) WHERE due_at IS NOT NULL AND overdue_at IS NULL;
CREATE INDEX tickets_by_status ON tickets (status, id);
-- What each event records (older events have none), the deadline it set or passed, and the
-- verification ticket whose evidence it records.
ALTER TABLE events ADD COLUMN action TEXT;
ALTER TABLE events ADD COLUMN due_at INTEGER;
ALTER TABLE events ADD COLUMN verification INTEGER;
"#,
    // Open311 (issue #16): client systems holding an API key (by SHA-256, like tokens), each
    // filing through an account of its own (`open311:<name>`, which holds no bearer token).
    r#"
CREATE TABLE open311_clients (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL UNIQUE REFERENCES users (id),
    key_hash   BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX tickets_by_category ON tickets (category, id);
"#,
    // Evidence (issue 17): device signing keys and what each ticket's check found.
    r#"
-- Public halves of devices' signing keys, each tied to the account that registered it.
-- A revoked key stays: tickets it signed name it.
CREATE TABLE device_keys (
    key_id        TEXT PRIMARY KEY,
    owner_id      INTEGER NOT NULL REFERENCES users (id),
    algorithm     TEXT NOT NULL,
    public_key    BLOB NOT NULL,
    registered_at INTEGER NOT NULL,
    revoked_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX device_keys_by_owner ON device_keys (owner_id, registered_at);

-- The signature check of a ticket's report at ingest (and, later, its fraud signals as JSON).
-- Written once with the ticket; tickets from before this version have no row.
CREATE TABLE ticket_evidence (
    ticket_id  INTEGER PRIMARY KEY REFERENCES tickets (id),
    signature  TEXT NOT NULL,
    key_id     TEXT,
    detail     TEXT NOT NULL,
    checked_at INTEGER NOT NULL,
    signals    TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX ticket_evidence_by_signature ON ticket_evidence (signature, ticket_id);
"#,
    // Forwarding to an upstream Open311 system (issue #16 item 3): one outbox row per
    // forwarded ticket (`pending | token | sent | parked`), and the upstream updates seen.
    r#"
CREATE TABLE upstream_outbox (
    ticket_id   INTEGER PRIMARY KEY REFERENCES tickets (id),
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    upstream_id TEXT,
    token       TEXT,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX upstream_outbox_due ON upstream_outbox (state, next_at);
CREATE INDEX upstream_outbox_by_upstream_id ON upstream_outbox (upstream_id);
CREATE TABLE upstream_updates (
    update_id  TEXT PRIMARY KEY,
    ticket_id  INTEGER,
    updated_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL
);
CREATE INDEX upstream_updates_by_time ON upstream_updates (updated_at);
"#,
    // Duplicate candidates (issue #17 item 3): the perceptual hash the server computed itself
    // from each verified photo (never the device's), 64 bits as a signed integer; and the
    // look-up of tickets merged into a ticket.
    r#"
CREATE TABLE photo_hashes (
    sha256      TEXT PRIMARY KEY,
    phash       INTEGER NOT NULL,
    computed_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tickets_by_duplicate_of ON tickets (duplicate_of) WHERE duplicate_of IS NOT NULL;
"#,
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings `conn` to [`VERSION`], or refuses a database from a newer server.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: VERSION,
        });
    }
    for sql in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op_and_newer_databases_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION);
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::TooNew { .. })));
    }
}
