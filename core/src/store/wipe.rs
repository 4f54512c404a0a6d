//! Sign-out: what would be lost, and deleting everything that belongs to the signed-in user.

use rusqlite::TransactionBehavior;

use super::{OrphanFiles, Store};
use crate::error::Result;

/// Work on the device that the server does not have yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unsent {
    /// Reports not accepted by the server: drafts, queued, sending, parked.
    pub reports: i64,
    /// Photos of accepted reports not yet uploaded.
    pub photos: i64,
    /// Triage decisions not yet sent.
    pub triage: i64,
}

impl Unsent {
    /// Whether nothing would be lost.
    pub fn is_empty(&self) -> bool {
        *self == Unsent::default()
    }
}

impl Store {
    /// Counts what a wipe would lose.
    pub fn unsent(&self) -> Result<Unsent> {
        let count = |sql: &str| -> Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        Ok(Unsent {
            reports: count("SELECT count(*) FROM reports WHERE state <> 'accepted'")?,
            photos: count(
                "SELECT count(DISTINCT p.sha256) FROM photos p
                 JOIN report_photos rp ON rp.sha256 = p.sha256
                 JOIN reports r ON r.id = rp.report_id
                 WHERE p.uploaded = 0 AND r.state = 'accepted'",
            )?,
            triage: count("SELECT count(*) FROM triage_queue WHERE state = 'queued'")?,
        })
    }

    /// Deletes every report, photo record, ticket, worklist entry, triage decision and the
    /// user's settings (sync cursor, backoff) in one transaction, then compacts the file so the
    /// deleted rows leave no readable pages behind. The cached catalog and grids (not
    /// personal) stay. Returns the media files the deleted photo records named.
    pub fn wipe(&mut self) -> Result<OrphanFiles> {
        let files = self.all_photo_files()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "DELETE FROM report_photos;
             DELETE FROM payloads;
             DELETE FROM state_changes;
             DELETE FROM reports;
             DELETE FROM photos;
             DELETE FROM ticket_events;
             DELETE FROM worklist;
             DELETE FROM triage_queue;
             DELETE FROM signing_keys;
             DELETE FROM settings WHERE key NOT LIKE 'etag.%' AND key <> 'server.limits';",
        )?;
        tx.commit()?;
        self.conn.execute_batch("VACUUM")?;
        let _busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        Ok(OrphanFiles(files))
    }
}
