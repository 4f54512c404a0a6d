//! The installation's signing keys: the software default's secret, the public half of every
//! key that signed a report here, and whether the server has it registered yet.

use gridline_protocol::Timestamp;
use gridline_protocol::evidence::SignatureAlgorithm;
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::error::{Error, Result};
use crate::evidence::PublicKey;

/// A key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The public identity.
    pub public: PublicKey,
    /// When the server confirmed it holds the key for this account.
    pub registered_at: Option<Timestamp>,
    /// When a rotation replaced it.
    pub retired_at: Option<Timestamp>,
}

/// A `signing_keys` row: id, algorithm, public key, registered at, retired at.
type KeyRow = (String, String, Vec<u8>, Option<i64>, Option<i64>);

fn read_key(row: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_key((key_id, algorithm, bytes, registered, retired): KeyRow) -> Result<StoredKey> {
    let algorithm = SignatureAlgorithm::parse(&algorithm)
        .ok_or_else(|| Error::Corrupt(format!("signing key {key_id}: algorithm {algorithm:?}")))?;
    Ok(StoredKey {
        public: PublicKey {
            key_id,
            algorithm,
            bytes,
        },
        registered_at: registered.map(Timestamp::from_millis),
        retired_at: retired.map(Timestamp::from_millis),
    })
}

impl Store {
    /// The secret of the current (not retired) software key, if there is one.
    pub fn software_key(&self) -> Result<Option<[u8; 32]>> {
        let secret: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT secret_key FROM signing_keys
                 WHERE secret_key IS NOT NULL AND retired_at IS NULL
                 ORDER BY created_at DESC, key_id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        secret
            .map(|s| {
                <[u8; 32]>::try_from(s.as_slice())
                    .map_err(|_| Error::Corrupt("the software signing key is not 32 bytes".into()))
            })
            .transpose()
    }

    /// Stores a new software key and retires every other one, in one transaction (rotation).
    pub fn put_software_key(
        &mut self,
        public: &PublicKey,
        secret: &[u8; 32],
        now: Timestamp,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL AND key_id <> ?2",
            params![now.as_millis(), public.key_id],
        )?;
        tx.execute(
            "INSERT INTO signing_keys (key_id, algorithm, public_key, secret_key, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key_id) DO NOTHING",
            params![
                public.key_id,
                public.algorithm.as_str(),
                public.bytes,
                &secret[..],
                now.as_millis()
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records the public half of a key that signs here (a platform key), if it is new.
    pub fn note_key(&mut self, public: &PublicKey, now: Timestamp) -> Result<()> {
        self.conn.execute(
            "INSERT INTO signing_keys (key_id, algorithm, public_key, created_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key_id) DO NOTHING",
            params![
                public.key_id,
                public.algorithm.as_str(),
                public.bytes,
                now.as_millis()
            ],
        )?;
        Ok(())
    }

    /// Every key known here, oldest first.
    pub fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key_id, algorithm, public_key, registered_at, retired_at FROM signing_keys
             ORDER BY created_at, key_id",
        )?;
        let rows = stmt.query_map([], read_key)?;
        rows.map(|r| to_key(r?)).collect()
    }

    /// Keys the server has not confirmed yet, oldest first.
    pub fn unregistered_keys(&self) -> Result<Vec<PublicKey>> {
        Ok(self
            .signing_keys()?
            .into_iter()
            .filter(|k| k.registered_at.is_none())
            .map(|k| k.public)
            .collect())
    }

    /// Records that the server holds `key_id` for this account.
    pub fn mark_key_registered(&mut self, key_id: &str, now: Timestamp) -> Result<()> {
        self.conn.execute(
            "UPDATE signing_keys SET registered_at = ?2 WHERE key_id = ?1 AND registered_at IS NULL",
            params![key_id, now.as_millis()],
        )?;
        Ok(())
    }
}
