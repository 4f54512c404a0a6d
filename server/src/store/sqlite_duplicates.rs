//! [`DuplicateStore`] on SQLite.

use std::collections::HashMap;

use gridline_core::photo::PerceptualHash;
use gridline_protocol::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::StoreError;
use super::duplicates::DuplicateStore;
use super::sqlite::SqliteStore;

impl DuplicateStore for SqliteStore {
    fn photo_hash_stored(
        &self,
        sha256: &str,
        phash: PerceptualHash,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO photo_hashes (sha256, phash, computed_at) \
                 VALUES (?1, ?2, ?3)",
                params![sha256, phash.to_i64(), now.as_millis()],
            )?;
            Ok(())
        })
    }

    fn photo_hashes(
        &self,
        sha256s: &[String],
    ) -> Result<HashMap<String, PerceptualHash>, StoreError> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT phash FROM photo_hashes WHERE sha256 = ?1")?;
            let mut out = HashMap::new();
            for sha in sha256s {
                if let Some(v) = stmt.query_row([sha], |r| r.get::<_, i64>(0)).optional()? {
                    out.insert(sha.clone(), PerceptualHash::from_i64(v));
                }
            }
            Ok(out)
        })
    }

    fn merged_into(&self, id: i64) -> Result<Vec<i64>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM tickets WHERE duplicate_of = ?1 AND status = 'duplicate' \
                 ORDER BY id",
            )?;
            let rows = stmt.query_map([id], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<i64>, _>>()?)
        })
    }
}
