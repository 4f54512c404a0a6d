//! Moving a district's SQLite database into a city's PostgreSQL database, keeping every row
//! number, sequence number and the district's id key: the ticket ids and cursors the
//! district's devices hold stay valid, and nothing is duplicated. Runs in one PostgreSQL
//! transaction; running it again after a failure (or twice) changes nothing more.

use std::path::Path;

use postgres::Transaction;
use postgres::types::ToSql;
use rusqlite::{Connection, OpenFlags};

use super::StoreError;
use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;

/// What was copied (rows new to the target; a repeated run copies 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Users (with their grids and tokens, and the Open311 clients' keys).
    pub users: u64,
    /// Grids.
    pub grids: u64,
    /// Tickets (with their photo lists).
    pub tickets: u64,
    /// History events.
    pub events: u64,
    /// Verified photos recorded (their bytes are copied by the caller).
    pub photos: u64,
}

/// One table's copy: a SELECT on SQLite, an INSERT on PostgreSQL with as many parameters as
/// the SELECT has columns, and each column's type.
struct TableCopy {
    select: &'static str,
    insert: &'static str,
    columns: &'static [Column],
}

#[derive(Clone, Copy)]
enum Column {
    Int,
    Int32,
    Text,
    Blob,
}

const TABLES: &[(&str, TableCopy)] = &[
    (
        "users",
        TableCopy {
            select: "SELECT id, name, role, created_at FROM users ORDER BY id",
            insert: "INSERT INTO users (id, name, role, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
            columns: &[Column::Int, Column::Text, Column::Text, Column::Int],
        },
    ),
    (
        "user_grids",
        TableCopy {
            select: "SELECT user_id, grid_id FROM user_grids",
            insert: "INSERT INTO user_grids (user_id, grid_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
            columns: &[Column::Int, Column::Text],
        },
    ),
    (
        "tokens",
        TableCopy {
            select: "SELECT hash, user_id, created_at, expires_at FROM tokens",
            insert: "INSERT INTO tokens (hash, user_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            columns: &[Column::Blob, Column::Int, Column::Int, Column::Int],
        },
    ),
    (
        "open311_clients",
        TableCopy {
            select: "SELECT id, name, user_id, key_hash, created_at FROM open311_clients \
                     ORDER BY id",
            insert: "INSERT INTO open311_clients (id, name, user_id, key_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            columns: &[
                Column::Int,
                Column::Text,
                Column::Int,
                Column::Blob,
                Column::Int,
            ],
        },
    ),
    (
        "grids",
        TableCopy {
            select: "SELECT id, name, geometry FROM grids",
            insert: "INSERT INTO grids (id, name, geometry) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
            columns: &[Column::Text, Column::Text, Column::Text],
        },
    ),
    (
        "tickets",
        TableCopy {
            select: "SELECT id, report_id, owner_id, content_hash, report, kind, category, \
                     grid_id, status, version, department, resolution_note, reject_reason, \
                     duplicate_of, received_at, updated_at, due_at, overdue_at, escalations, \
                     verifies FROM tickets ORDER BY id",
            insert: "INSERT INTO tickets (id, report_id, owner_id, content_hash, report, kind, \
                     category, grid_id, status, version, department, resolution_note, \
                     reject_reason, duplicate_of, received_at, updated_at, due_at, overdue_at, \
                     escalations, verifies) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) ON CONFLICT DO NOTHING",
            columns: &[
                Column::Int,
                Column::Text,
                Column::Int,
                Column::Blob,
                Column::Text,
                Column::Text,
                Column::Text,
                Column::Text,
                Column::Text,
                Column::Int,
                Column::Text,
                Column::Text,
                Column::Text,
                Column::Int,
                Column::Int,
                Column::Int,
                Column::Int,
                Column::Int,
                Column::Int,
                Column::Int,
            ],
        },
    ),
    (
        "photos",
        TableCopy {
            select: "SELECT ticket_id, position, sha256, bytes FROM photos",
            insert: "INSERT INTO photos (ticket_id, position, sha256, bytes) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            columns: &[Column::Int, Column::Int32, Column::Text, Column::Int],
        },
    ),
    (
        "media",
        TableCopy {
            select: "SELECT sha256, bytes, stored_at FROM media",
            insert: "INSERT INTO media (sha256, bytes, stored_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
            columns: &[Column::Text, Column::Int, Column::Int],
        },
    ),
    (
        "media_holders",
        TableCopy {
            select: "SELECT sha256, user_id, at FROM media_holders",
            insert: "INSERT INTO media_holders (sha256, user_id, at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
            columns: &[Column::Text, Column::Int, Column::Int],
        },
    ),
    (
        "photo_hashes",
        TableCopy {
            select: "SELECT sha256, phash, computed_at FROM photo_hashes",
            insert: "INSERT INTO photo_hashes (sha256, phash, computed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
            columns: &[Column::Text, Column::Int, Column::Int],
        },
    ),
    (
        "events",
        TableCopy {
            select: "SELECT seq, ticket_id, status, version, at, by_user, reason, department, \
                     note, duplicate_of, action, due_at, verification FROM events ORDER BY seq",
            insert: "INSERT INTO events (seq, ticket_id, status, version, at, by_user, reason, \
                     department, note, duplicate_of, action, due_at, verification) VALUES ($1, \
                     $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
            columns: &[
                Column::Int,
                Column::Int,
                Column::Text,
                Column::Int,
                Column::Int,
                Column::Text,
                Column::Text,
                Column::Text,
                Column::Text,
                Column::Int,
                Column::Text,
                Column::Int,
                Column::Int,
            ],
        },
    ),
    // Evidence (issue 17): device keys and each ticket's signature check.
    (
        "device_keys",
        TableCopy {
            select: "SELECT key_id, owner_id, algorithm, public_key, registered_at, revoked_at \
                     FROM device_keys",
            insert: "INSERT INTO device_keys (key_id, owner_id, algorithm, public_key, \
                     registered_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT DO NOTHING",
            columns: &[
                Column::Text,
                Column::Int,
                Column::Text,
                Column::Blob,
                Column::Int,
                Column::Int,
            ],
        },
    ),
    (
        "ticket_evidence",
        TableCopy {
            select: "SELECT ticket_id, signature, key_id, detail, checked_at, signals \
                     FROM ticket_evidence",
            insert: "INSERT INTO ticket_evidence (ticket_id, signature, key_id, detail, \
                     checked_at, signals) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT DO NOTHING",
            columns: &[
                Column::Int,
                Column::Text,
                Column::Text,
                Column::Text,
                Column::Int,
                Column::Text,
            ],
        },
    ),
    // The upstream outbox and the updates seen move along, so nothing is forwarded again.
    (
        "upstream_outbox",
        TableCopy {
            select: "SELECT ticket_id, state, attempts, next_at, upstream_id, token, last_error, \
                     created_at, updated_at FROM upstream_outbox ORDER BY ticket_id",
            insert: "INSERT INTO upstream_outbox (ticket_id, state, attempts, next_at, \
                     upstream_id, token, last_error, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            columns: &[
                Column::Int,
                Column::Text,
                Column::Int,
                Column::Int,
                Column::Text,
                Column::Text,
                Column::Text,
                Column::Int,
                Column::Int,
            ],
        },
    ),
    (
        "upstream_updates",
        TableCopy {
            select: "SELECT update_id, ticket_id, updated_at, seen_at FROM upstream_updates",
            insert: "INSERT INTO upstream_updates (update_id, ticket_id, updated_at, seen_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            columns: &[Column::Text, Column::Int, Column::Int, Column::Int],
        },
    ),
];

/// A value read from SQLite, ready to bind on PostgreSQL.
enum Value {
    Int(Option<i64>),
    Int32(Option<i32>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

impl Value {
    fn read(row: &rusqlite::Row<'_>, i: usize, column: Column) -> rusqlite::Result<Self> {
        Ok(match column {
            Column::Int => Self::Int(row.get(i)?),
            Column::Int32 => Self::Int32(row.get(i)?),
            Column::Text => Self::Text(row.get(i)?),
            Column::Blob => Self::Blob(row.get(i)?),
        })
    }

    fn as_param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Self::Int(v) => v,
            Self::Int32(v) => v,
            Self::Text(v) => v,
            Self::Blob(v) => v,
        }
    }
}

/// Copies the SQLite database at `sqlite` into `target` (see the module docs). Refuses a
/// target that already holds users or tickets of its own.
pub fn copy_sqlite_into(
    target: &PostgresStore,
    sqlite: &Path,
) -> Result<ImportSummary, StoreError> {
    if !sqlite.is_file() {
        return Err(StoreError::Refused(format!(
            "{} is not a file; name the district's gridline.db (or its data folder)",
            sqlite.display()
        )));
    }
    // Brings the district's file to this build's schema (and gives it an id key if it has
    // none), then reads it on a separate read-only connection.
    drop(SqliteStore::open(sqlite)?);
    target.transaction(|tx| {
        let source = Connection::open_with_flags(sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let source_key: i64 =
            source.query_row("SELECT value FROM meta WHERE key = 'id_key'", [], |r| {
                r.get(0)
            })?;
        check_target(tx, source_key)?;
        let mut summary = ImportSummary::default();
        for (table, copy) in TABLES {
            let n = copy_table(&source, tx, copy)?;
            match *table {
                "users" => summary.users = n,
                "grids" => summary.grids = n,
                "tickets" => summary.tickets = n,
                "events" => summary.events = n,
                "media" => summary.photos = n,
                _ => {}
            }
        }
        tx.batch_execute(
            "SELECT setval('users_id_seq', GREATEST((SELECT max(id) FROM users), 1));
             SELECT setval('tickets_id_seq', GREATEST((SELECT max(id) FROM tickets), 1));
             SELECT setval('open311_clients_id_seq',
                           GREATEST((SELECT max(id) FROM open311_clients), 1));
             UPDATE meta SET value = GREATEST(value, (SELECT COALESCE(max(seq), 0) FROM events))
               WHERE key = 'feed_seq';
             UPDATE meta SET value = value + 1 WHERE key = 'grids_revision';",
        )?;
        tx.execute(
            "UPDATE meta SET value = $1 WHERE key = 'id_key'",
            &[&source_key],
        )?;
        Ok(summary)
    })
}

/// The names of the verified photos the SQLite database at `sqlite` records.
pub fn stored_photos(sqlite: &Path) -> Result<Vec<String>, StoreError> {
    if !sqlite.is_file() {
        return Err(StoreError::Refused(format!(
            "{} does not exist; name the district's data folder",
            sqlite.display()
        )));
    }
    drop(SqliteStore::open(sqlite)?);
    let source = Connection::open_with_flags(sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = source.prepare("SELECT sha256 FROM media ORDER BY sha256")?;
    let names = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(names)
}

/// The target must be empty, or hold a previous import of this same district (its id key).
fn check_target(tx: &mut Transaction<'_>, source_key: i64) -> Result<(), StoreError> {
    let key: i64 = tx
        .query_one("SELECT value FROM meta WHERE key = 'id_key'", &[])?
        .get(0);
    if key == source_key {
        return Ok(());
    }
    let users: i64 = tx.query_one("SELECT COUNT(*) FROM users", &[])?.get(0);
    let tickets: i64 = tx.query_one("SELECT COUNT(*) FROM tickets", &[])?.get(0);
    if users > 0 || tickets > 0 {
        return Err(StoreError::Refused(format!(
            "the PostgreSQL database already holds {users} users and {tickets} tickets of its \
             own; migrate a district into a new, empty database (merging two districts' ids is \
             not supported)"
        )));
    }
    Ok(())
}

fn copy_table(
    source: &Connection,
    tx: &mut Transaction<'_>,
    copy: &TableCopy,
) -> Result<u64, StoreError> {
    let insert = tx.prepare(copy.insert)?;
    let mut select = source.prepare(copy.select)?;
    let mut rows = select.query([])?;
    let mut copied = 0;
    while let Some(row) = rows.next()? {
        let values = copy
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| Value::read(row, i, *c))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(Value::as_param).collect();
        copied += tx.execute(&insert, &params)?;
    }
    Ok(copied)
}
