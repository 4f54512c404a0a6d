//! [`DuplicateStore`] on PostgreSQL.

use std::collections::HashMap;

use gridline_core::photo::PerceptualHash;
use gridline_protocol::Timestamp;

use super::StoreError;
use super::duplicates::DuplicateStore;
use super::postgres::PostgresStore;

impl DuplicateStore for PostgresStore {
    fn photo_hash_stored(
        &self,
        sha256: &str,
        phash: PerceptualHash,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO photo_hashes (sha256, phash, computed_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&sha256, &phash.to_i64(), &now.as_millis()],
            )?;
            Ok(())
        })
    }

    fn photo_hashes(
        &self,
        sha256s: &[String],
    ) -> Result<HashMap<String, PerceptualHash>, StoreError> {
        self.read(|conn| {
            let rows = conn.query(
                "SELECT sha256, phash FROM photo_hashes WHERE sha256 = ANY($1)",
                &[&sha256s],
            )?;
            Ok(rows
                .iter()
                .map(|r| (r.get::<_, String>(0), PerceptualHash::from_i64(r.get(1))))
                .collect())
        })
    }

    fn merged_into(&self, id: i64) -> Result<Vec<i64>, StoreError> {
        self.read(|conn| {
            let rows = conn.query(
                "SELECT id FROM tickets WHERE duplicate_of = $1 AND status = 'duplicate' \
                 ORDER BY id",
                &[&id],
            )?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }
}
