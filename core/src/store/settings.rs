//! Small named values (sync cursor, catalog version) and cached server documents
//! (catalog, grids) with their versions.

use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::error::Result;

/// A document cached from the server, with the version it was published under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedDocument {
    /// Publisher's version (ETag or content version).
    pub version: String,
    /// The document itself.
    pub body: String,
}

impl Store {
    /// The value stored under `key`, if any.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// The cached document called `name` (`catalog`, `grids`), if any.
    pub fn cached_document(&self, name: &str) -> Result<Option<CachedDocument>> {
        Ok(self
            .conn
            .query_row(
                "SELECT version, body FROM cached_documents WHERE name = ?1",
                [name],
                |r| {
                    Ok(CachedDocument {
                        version: r.get(0)?,
                        body: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Replaces the cached document `name`; callers validate `body` first, so a bad
    /// download never replaces a good cached copy.
    pub fn put_cached_document(
        &mut self,
        name: &str,
        doc: &CachedDocument,
        now_ms: i64,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO cached_documents (name, version, body, fetched_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, body = excluded.body,
                                               fetched_at = excluded.fetched_at",
            params![name, doc.version, doc.body, now_ms],
        )?;
        Ok(())
    }
}
