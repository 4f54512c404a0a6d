//! Opening the device database: one place that sets the pragmas and brings the schema up to date.
//!
//! Durability choices: WAL journal (readers never block the writer; a crash loses nothing that
//! committed) with `synchronous=FULL`, so a report whose `submit` returned has been fsynced:
//! NORMAL would be faster but can lose the last transactions on power loss, and a rider's
//! report is exactly that last transaction.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::schema::{LATEST_VERSION, MIGRATIONS};
use crate::error::{Error, Result};

/// Opens (creating if needed) the database at `path` and migrates it to the latest schema.
pub fn open_database(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)?;
    configure(&conn).map_err(|e| not_a_database(path, e))?;
    migrate(&mut conn, LATEST_VERSION).map_err(|e| match e {
        Error::Sqlite(inner) => not_a_database(path, inner),
        other => other,
    })?;
    Ok(conn)
}

/// Opens an in-memory database with the latest schema (tests, previews).
pub fn open_in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    configure(&conn)?;
    migrate(&mut conn, LATEST_VERSION)?;
    Ok(conn)
}

fn not_a_database(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::NotADatabase {
                path: path.display().to_string(),
                detail: e.to_string(),
            }
        }
        _ => Error::Sqlite(e),
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // Reading the header first makes a non-SQLite file fail here, before anything is written.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        return Err(rusqlite::Error::InvalidQuery);
    }
    // cache_size: listing a queue of 10,000 reads more pages than the default 2 MiB cache
    // holds, so each list re-read them from the OS (9 % of its profile in the kernel; store
    // bench medians 11.8-17.3 ms at 2 MiB vs 9.7-16.1 ms at 8 MiB). The cache grows only as
    // pages are read, so a small queue uses no more memory than before.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192;",
    )?;
    Ok(())
}

/// Brings the schema from its current `user_version` up to `target`, in one IMMEDIATE
/// transaction: a crash mid-way leaves the previous version intact.
pub(crate) fn migrate(conn: &mut Connection, target: i64) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > LATEST_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: LATEST_VERSION,
        });
    }
    if found >= target {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for sql in &MIGRATIONS[found as usize..target as usize] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything that defines the schema, in a comparable form: tables' columns with types,
    /// defaults and constraints, indexes with their columns, foreign keys.
    fn schema_fingerprint(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        let mut names = conn
            .prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .unwrap();
        let rows: Vec<(String, String, String)> = names
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for (kind, name, table) in rows {
            out.push(format!("{kind} {name} on {table}"));
            let pragmas: &[&str] = if kind == "table" {
                &["table_xinfo", "foreign_key_list", "index_list"]
            } else {
                &["index_xinfo"]
            };
            for pragma in pragmas {
                let mut stmt = conn
                    .prepare(&format!("SELECT * FROM pragma_{pragma}(?1)"))
                    .unwrap();
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([&name], |r| {
                        Ok((0..n)
                            .map(|i| format!("{:?}", r.get_ref(i).map(|v| v.data_type())))
                            .zip((0..n).map(|i| match r.get_ref(i) {
                                Ok(rusqlite::types::ValueRef::Text(t)) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                                Ok(rusqlite::types::ValueRef::Integer(i)) => i.to_string(),
                                _ => String::new(),
                            }))
                            .map(|(t, v)| format!("{t}={v}"))
                            .collect::<Vec<_>>()
                            .join(","))
                    })
                    .unwrap();
                for row in rows {
                    out.push(format!("  {pragma}: {}", row.unwrap()));
                }
            }
        }
        out
    }

    #[test]
    fn upgrading_from_every_version_equals_a_fresh_database() {
        let fresh = open_in_memory().unwrap();
        let expected = schema_fingerprint(&fresh);
        assert!(
            expected
                .iter()
                .any(|l| l.contains("location_warnings_json"))
        );
        for start in 0..LATEST_VERSION {
            let mut conn = Connection::open_in_memory().unwrap();
            migrate(&mut conn, start).unwrap();
            migrate(&mut conn, LATEST_VERSION).unwrap();
            assert_eq!(schema_fingerprint(&conn), expected, "upgrade from v{start}");
            let v: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(v, LATEST_VERSION);
        }
    }

    #[test]
    fn upgrading_to_v10_counts_the_photos_reports_already_have() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        migrate(&mut conn, 9).unwrap();
        conn.execute_batch(
            "INSERT INTO reports (id, state, kind, reporter, created_at, updated_at)
                 VALUES ('r1', 'draft', 'road_damage', 'me', 1, 1),
                        ('r2', 'draft', 'road_damage', 'me', 2, 2);
             INSERT INTO photos (sha256, bytes, width, height, file_name, created_at)
                 VALUES ('aa', 1, 1, 1, 'a.jpg', 1), ('bb', 1, 1, 1, 'b.jpg', 1);
             INSERT INTO report_photos (report_id, position, sha256)
                 VALUES ('r1', 1, 'bb'), ('r1', 0, 'aa');",
        )
        .unwrap();
        migrate(&mut conn, LATEST_VERSION).unwrap();
        let row = |id: &str| -> (i64, Option<String>) {
            conn.query_row(
                "SELECT photo_count, first_photo FROM reports WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        assert_eq!(row("r1"), (2, Some("aa".into())), "ordered by position");
        assert_eq!(row("r2"), (0, None));

        // Whatever statement changes report_photos, the row follows.
        conn.execute("DELETE FROM report_photos WHERE sha256 = 'aa'", [])
            .unwrap();
        assert_eq!(row("r1"), (1, Some("bb".into())));
        conn.execute("UPDATE report_photos SET report_id = 'r2'", [])
            .unwrap();
        assert_eq!((row("r1"), row("r2")), ((0, None), (1, Some("bb".into()))));
        conn.execute("DELETE FROM reports WHERE id = 'r2'", [])
            .unwrap();
        let left: i64 = conn
            .query_row("SELECT count(*) FROM report_photos", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "deleting a report cascades through the trigger");
    }

    #[test]
    fn refuses_a_newer_schema_without_touching_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.db");
        {
            let conn = open_database(&path).unwrap();
            conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
                .unwrap();
        }
        let err = open_database(&path).unwrap_err();
        assert!(
            matches!(err, Error::SchemaTooNew { found, .. } if found == LATEST_VERSION + 1),
            "{err}"
        );
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, LATEST_VERSION + 1);
    }

    #[test]
    fn refuses_a_file_that_is_not_sqlite_and_leaves_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.db");
        let junk = b"\xFF\xD8\xFF\xE0 this is a JPEG, not a database, and it is long enough to have a header".repeat(20);
        std::fs::write(&path, &junk).unwrap();
        let err = open_database(&path).unwrap_err();
        assert!(matches!(err, Error::NotADatabase { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), junk);
    }

    #[test]
    fn sets_durable_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_database(&dir.path().join("a.db")).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        let cache: i64 = conn
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync, fk, cache), ("wal", 2, 1, -8192));
    }
}
