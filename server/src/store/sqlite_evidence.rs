//! [`EvidenceStore`] on SQLite, and the evidence rows that `sqlite.rs` writes with a new
//! ticket and reads into the wire ticket.

use gridline_protocol::Timestamp;
use gridline_protocol::evidence::{DeviceKey, TicketEvidence};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use super::evidence::{
    EVIDENCE_COLUMNS, EvidenceStore, KeyRegistration, KeyRow, NewDeviceKey, StoredDeviceKey,
    evidence_from_row, registration, signals_json,
};
use super::sqlite::SqliteStore;
use crate::account::User;

const KEY_COLUMNS: &str =
    "k.key_id, k.owner_id, u.name, k.algorithm, k.public_key, k.registered_at, k.revoked_at";

fn key_row(row: &Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        key_id: row.get(0)?,
        owner_id: row.get(1)?,
        owner: row.get(2)?,
        algorithm: row.get(3)?,
        public_key: row.get(4)?,
        registered_at: row.get(5)?,
        revoked_at: row.get(6)?,
    })
}

fn load_key(conn: &Connection, key_id: &str) -> Result<Option<StoredDeviceKey>, StoreError> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM device_keys k JOIN users u ON u.id = k.owner_id \
         WHERE k.key_id = ?1"
    );
    conn.prepare_cached(&sql)?
        .query_row([key_id], key_row)
        .optional()?
        .map(KeyRow::into_stored)
        .transpose()
}

/// Stores a new ticket's evidence record (inside its submit transaction).
pub(super) fn insert_evidence(
    conn: &Connection,
    ticket: i64,
    evidence: &TicketEvidence,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO ticket_evidence (ticket_id, signature, key_id, detail, checked_at, \
         signals) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        ticket,
        evidence.signature.as_str(),
        evidence.key_id,
        evidence.detail,
        evidence.checked_at.as_millis(),
        signals_json(evidence)
    ])?;
    Ok(())
}

/// A ticket's evidence record, if it has one.
pub(super) fn load_evidence(
    conn: &Connection,
    ticket: i64,
) -> Result<Option<TicketEvidence>, StoreError> {
    let sql = format!("SELECT {EVIDENCE_COLUMNS} FROM ticket_evidence WHERE ticket_id = ?1");
    let row = conn
        .prepare_cached(&sql)?
        .query_row([ticket], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .optional()?;
    row.map(|(s, k, d, at, signals)| evidence_from_row(&s, k, d, at, &signals))
        .transpose()
}

impl EvidenceStore for SqliteStore {
    fn register_device_key(
        &self,
        user: &User,
        key: &NewDeviceKey,
        now: Timestamp,
    ) -> Result<KeyRegistration, StoreError> {
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO device_keys (key_id, owner_id, algorithm, public_key, registered_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key_id) DO NOTHING",
                params![
                    key.key_id,
                    user.id,
                    key.algorithm.as_str(),
                    key.public_key,
                    now.as_millis()
                ],
            )? == 1;
            let stored = load_key(tx, &key.key_id)?
                .ok_or_else(|| StoreError::Corrupt("a device key vanished".into()))?;
            Ok(registration(user, stored, inserted))
        })
    }

    fn device_key(&self, key_id: &str) -> Result<Option<StoredDeviceKey>, StoreError> {
        self.read(|conn| load_key(conn, key_id))
    }

    fn device_keys(&self, account: Option<&str>) -> Result<Vec<DeviceKey>, StoreError> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {KEY_COLUMNS} FROM device_keys k JOIN users u ON u.id = k.owner_id \
                 WHERE ?1 IS NULL OR u.name = ?1 ORDER BY k.registered_at, k.key_id"
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map([account], key_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|r| r.into_stored().map(|s| s.key))
                .collect()
        })
    }

    fn revoke_device_key(
        &self,
        key_id: &str,
        now: Timestamp,
    ) -> Result<Option<DeviceKey>, StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE device_keys SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL",
                params![key_id, now.as_millis()],
            )?;
            Ok(load_key(tx, key_id)?.map(|s| s.key))
        })
    }

    fn latest_report_of(
        &self,
        user: &User,
        report_id: &str,
    ) -> Result<Option<gridline_protocol::Report>, StoreError> {
        self.read(|conn| {
            let text: Option<String> = conn
                .prepare_cached(
                    "SELECT report FROM tickets WHERE owner_id = ?1 AND report_id <> ?2 \
                     ORDER BY id DESC LIMIT 1",
                )?
                .query_row(params![user.id, report_id], |r| r.get(0))
                .optional()?;
            text.map(|t| serde_json::from_str(&t).map_err(super::rules::corrupt))
                .transpose()
        })
    }

    fn ticket_using_photo(&self, sha256: &str, report_id: &str) -> Result<Option<i64>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT t.id FROM photos p JOIN tickets t ON t.id = p.ticket_id \
                     WHERE p.sha256 = ?1 AND t.report_id <> ?2 ORDER BY t.id LIMIT 1",
                )?
                .query_row(params![sha256, report_id], |r| r.get(0))
                .optional()?)
        })
    }
}
