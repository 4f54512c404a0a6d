//! The device database schema as an ordered list of migrations. Version N of the schema is
//! the result of applying the first N entries; `PRAGMA user_version` records N.
//! Never edit a released migration: append a new one.

/// Migrations in order; index 0 takes an empty file to version 1.
pub const MIGRATIONS: &[&str] = &[
    // v1: reports, their state history, settings.
    r#"
    CREATE TABLE reports (
        id                TEXT PRIMARY KEY NOT NULL,
        state             TEXT NOT NULL CHECK (state IN ('draft','queued','sending','accepted','rejected')),
        kind              TEXT NOT NULL,
        category          TEXT NOT NULL DEFAULT '',
        note              TEXT NOT NULL DEFAULT '',
        severity          TEXT NOT NULL DEFAULT 'medium',
        location_json     TEXT,
        lat               REAL,
        lon               REAL,
        attributes_json   TEXT NOT NULL DEFAULT '{}',
        outreach_json     TEXT,
        reporter          TEXT NOT NULL,
        app_version       TEXT NOT NULL DEFAULT '',
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL,
        submitted_at      INTEGER,
        payload_json      TEXT,
        ticket_id         TEXT,
        reject_field      TEXT,
        reject_reason     TEXT
    ) STRICT;
    CREATE INDEX reports_by_state ON reports (state, created_at);
    CREATE TABLE state_changes (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
        from_state TEXT,
        to_state   TEXT NOT NULL,
        at         INTEGER NOT NULL,
        detail     TEXT
    ) STRICT;
    CREATE INDEX state_changes_by_report ON state_changes (report_id, seq);
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) STRICT;
    "#,
    // v2: content-addressed photos and their use by reports.
    r#"
    CREATE TABLE photos (
        sha256      TEXT PRIMARY KEY NOT NULL,
        bytes       INTEGER NOT NULL,
        width       INTEGER NOT NULL,
        height      INTEGER NOT NULL,
        file_name   TEXT NOT NULL,
        thumb_name  TEXT,
        captured_at INTEGER,
        uploaded    INTEGER NOT NULL DEFAULT 0,
        created_at  INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE report_photos (
        report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
        position  INTEGER NOT NULL,
        sha256    TEXT NOT NULL REFERENCES photos (sha256),
        PRIMARY KEY (report_id, position)
    ) STRICT;
    CREATE INDEX report_photos_by_photo ON report_photos (sha256);
    "#,
    // v3: geo and ticket follow-up: quality warnings, grid, ticket status, nearby look-ups.
    r#"
    ALTER TABLE reports ADD COLUMN location_warnings_json TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE reports ADD COLUMN grid_id TEXT;
    ALTER TABLE reports ADD COLUMN ticket_status TEXT;
    CREATE INDEX reports_by_category_place ON reports (category, lat, lon);
    CREATE TABLE cached_documents (
        name     TEXT PRIMARY KEY NOT NULL,
        version  TEXT NOT NULL,
        body     TEXT NOT NULL,
        fetched_at INTEGER NOT NULL
    ) STRICT;
    "#,
    // v4: sync follow-up (ticket history pulled from the server) and the supervisor's
    // offline worklist with its queue of triage actions.
    r#"
    CREATE TABLE ticket_events (
        ticket_id   TEXT NOT NULL,
        version     INTEGER NOT NULL,
        report_id   TEXT NOT NULL,
        status      TEXT NOT NULL,
        at          INTEGER NOT NULL,
        actor       TEXT NOT NULL,
        event_json  TEXT NOT NULL,
        PRIMARY KEY (ticket_id, version)
    ) STRICT;
    CREATE INDEX ticket_events_by_report ON ticket_events (report_id, version);
    CREATE TABLE worklist (
        ticket_id   TEXT PRIMARY KEY NOT NULL,
        report_id   TEXT NOT NULL,
        status      TEXT NOT NULL,
        version     INTEGER NOT NULL,
        grid_id     TEXT,
        ticket_json TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX worklist_by_status ON worklist (status, updated_at);
    CREATE TABLE triage_queue (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        ticket_id    TEXT NOT NULL,
        base_version INTEGER NOT NULL,
        action_json  TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('queued','sent','conflict','failed')),
        error        TEXT,
        created_at   INTEGER NOT NULL,
        done_at      INTEGER
    ) STRICT;
    "#,
    // v5: the frozen payload moves to its own table, so the outbox's state changes rewrite
    // small rows (a batch of 500 touched ~1 MB of pages with the payload inline).
    r#"
    CREATE TABLE payloads (
        report_id TEXT PRIMARY KEY NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
        json      TEXT NOT NULL
    ) STRICT;
    INSERT INTO payloads (report_id, json) SELECT id, payload_json FROM reports WHERE payload_json IS NOT NULL;
    ALTER TABLE reports DROP COLUMN payload_json;
    "#,
    // v6: the queue screen pages newest first by (created_at, id): an index in that order,
    // so a page is an index range instead of a sort of every row.
    r#"
    CREATE INDEX reports_by_created ON reports (created_at, id);
    "#,
    // v7: device signing keys (issue 17). The software default keeps its secret here; a key
    // the platform holds (Keystore, Secure Enclave) has only its public half, so the sync
    // engine knows what to register. `retired_at` marks keys replaced by a rotation: reports
    // they signed still need them registered.
    r#"
    CREATE TABLE signing_keys (
        key_id        TEXT PRIMARY KEY NOT NULL,
        algorithm     TEXT NOT NULL,
        public_key    BLOB NOT NULL,
        secret_key    BLOB,
        created_at    INTEGER NOT NULL,
        registered_at INTEGER,
        retired_at    INTEGER
    ) STRICT;
    "#,
    // v8: the EXIF facts fraud signals need (issue 17), read before the pipeline strips them.
    // The position stays on the device: only its distance from the report's fix is sent.
    // `camera` is NULL for photos processed before this version (facts unknown).
    r#"
    ALTER TABLE photos ADD COLUMN gps_lat REAL;
    ALTER TABLE photos ADD COLUMN gps_lon REAL;
    ALTER TABLE photos ADD COLUMN camera INTEGER;
    "#,
    // v9: the perceptual hash of each photo next to its SHA-256 (issue 17, duplicate
    // candidates): the 64 bits stored as a signed integer. Photos recorded before have none.
    r#"
    ALTER TABLE photos ADD COLUMN phash INTEGER;
    "#,
    // v10: the queue screen's photo count and thumbnail live on the report row (issue 19):
    // two correlated subqueries per listed row were a third of listing 10,000 reports.
    // Triggers keep them equal to `report_photos` whatever statement changes it.
    r#"
    ALTER TABLE reports ADD COLUMN photo_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE reports ADD COLUMN first_photo TEXT;
    UPDATE reports SET
        photo_count = (SELECT count(*) FROM report_photos rp WHERE rp.report_id = reports.id),
        first_photo = (SELECT sha256 FROM report_photos rp WHERE rp.report_id = reports.id
                       ORDER BY position LIMIT 1);
    CREATE TRIGGER report_photos_added AFTER INSERT ON report_photos BEGIN
        UPDATE reports SET
            photo_count = (SELECT count(*) FROM report_photos rp WHERE rp.report_id = NEW.report_id),
            first_photo = (SELECT sha256 FROM report_photos rp WHERE rp.report_id = NEW.report_id
                           ORDER BY position LIMIT 1)
        WHERE id = NEW.report_id;
    END;
    CREATE TRIGGER report_photos_removed AFTER DELETE ON report_photos BEGIN
        UPDATE reports SET
            photo_count = (SELECT count(*) FROM report_photos rp WHERE rp.report_id = OLD.report_id),
            first_photo = (SELECT sha256 FROM report_photos rp WHERE rp.report_id = OLD.report_id
                           ORDER BY position LIMIT 1)
        WHERE id = OLD.report_id;
    END;
    CREATE TRIGGER report_photos_changed AFTER UPDATE ON report_photos BEGIN
        UPDATE reports SET
            photo_count = (SELECT count(*) FROM report_photos rp WHERE rp.report_id = reports.id),
            first_photo = (SELECT sha256 FROM report_photos rp WHERE rp.report_id = reports.id
                           ORDER BY position LIMIT 1)
        WHERE id IN (OLD.report_id, NEW.report_id);
    END;
    DROP INDEX reports_by_created;
    CREATE INDEX reports_list ON reports (created_at, id, state, kind, category, note, severity,
        grid_id, updated_at, submitted_at, ticket_id, ticket_status, reject_field, reject_reason,
        photo_count, first_photo);
    "#,
];

/// The schema version this build writes.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;
