//! The outbox as the sync engine sees it: take queued payloads, mark them sending, apply the
//! server's per-item results, requeue what must be retried, record photo uploads and pulled
//! ticket changes. Each method is one transaction; the cursor of pulled changes is stored in
//! the same transaction as the changes.

use gridline_protocol::Timestamp;
use gridline_protocol::wire::Change;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::Store;
use crate::error::{Error, Result};
use crate::model::{ItemTransition, ReportState};

/// Settings key of the changes cursor.
pub const CURSOR_KEY: &str = "sync.cursor";

/// A queued report's frozen JSON, exactly as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedPayload {
    /// The report id.
    pub id: Uuid,
    /// The JSON frozen at submit.
    pub json: String,
}

/// A photo of an accepted report that the server does not have yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPhoto {
    /// Content address.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// File name inside the media folder.
    pub file_name: String,
}

fn move_state(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    from: ReportState,
    to: ReportState,
    at: i64,
    detail: Option<&str>,
) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE reports SET state = ?3, updated_at = ?4 WHERE id = ?1 AND state = ?2",
        )?
        .execute(params![id, from.as_str(), to.as_str(), at])?;
    if n == 1 {
        tx.prepare_cached(
            "INSERT INTO state_changes (report_id, from_state, to_state, at, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, from.as_str(), to.as_str(), at, detail])?;
    }
    Ok(n == 1)
}

/// Moves every report of `ids` that is in state `from` to `to`, recording each move.
fn move_many(
    tx: &rusqlite::Transaction<'_>,
    ids: &[Uuid],
    from: ReportState,
    to: ReportState,
    at: i64,
    detail: Option<&str>,
) -> Result<()> {
    let json = serde_json::to_string(&ids.iter().map(Uuid::to_string).collect::<Vec<_>>())
        .map_err(|e| Error::Corrupt(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO state_changes (report_id, from_state, to_state, at, detail)
         SELECT r.id, ?2, ?3, ?4, ?5 FROM json_each(?1) AS j CROSS JOIN reports AS r
         WHERE r.id = j.value AND +r.state = ?2",
    )?
    .execute(params![json, from.as_str(), to.as_str(), at, detail])?;
    tx.prepare_cached(
        "UPDATE reports SET state = ?3, updated_at = ?4 WHERE id IN (SELECT value FROM json_each(?1)) AND +state = ?2",
    )?
    .execute(params![json, from.as_str(), to.as_str(), at])?;
    Ok(())
}

impl Store {
    /// Puts reports left `sending` by an interrupted sync back to `queued`; resending them is
    /// safe because the server recognises their ids.
    pub fn recover_interrupted(&mut self, now: Timestamp) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<String> = tx
            .prepare("SELECT id FROM reports WHERE state = 'sending'")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in &ids {
            move_state(
                &tx,
                id,
                ReportState::Sending,
                ReportState::Queued,
                now.as_millis(),
                Some("interrupted sync"),
            )?;
        }
        tx.commit()?;
        Ok(ids.len())
    }

    /// Up to `limit` queued payloads, oldest submission first.
    pub fn queued_payloads(&self, limit: usize) -> Result<Vec<QueuedPayload>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, p.json FROM reports r LEFT JOIN payloads p ON p.report_id = r.id
             WHERE r.state = 'queued' ORDER BY r.created_at, r.id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, json) = row?;
            let json =
                json.ok_or_else(|| Error::Corrupt(format!("queued report {id} has no payload")))?;
            let id =
                Uuid::parse_str(&id).map_err(|e| Error::Corrupt(format!("report id {id}: {e}")))?;
            out.push(QueuedPayload { id, json });
        }
        Ok(out)
    }

    /// Number of reports waiting to be sent.
    pub fn queued_count(&self) -> Result<i64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM reports WHERE state IN ('queued','sending')",
            [],
            |r| r.get(0),
        )?;
        Ok(n)
    }

    /// Marks reports as being sent (before the request leaves). Set-based: a batch of 500 is
    /// two statements, not a thousand.
    pub fn mark_sending(&mut self, ids: &[Uuid], now: Timestamp) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        move_many(
            &tx,
            ids,
            ReportState::Queued,
            ReportState::Sending,
            now.as_millis(),
            None,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Puts reports being sent back in the queue (the request failed in a retryable way).
    pub fn requeue(&mut self, ids: &[Uuid], now: Timestamp, why: &str) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        move_many(
            &tx,
            ids,
            ReportState::Sending,
            ReportState::Queued,
            now.as_millis(),
            Some(why),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Applies the server's per-item results in one transaction. Acceptances (the common
    /// case) are applied set-based; parked reports one by one with their reasons.
    pub fn apply_results(
        &mut self,
        results: &[(Uuid, ItemTransition)],
        now: Timestamp,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let accepted: Vec<(String, &str, bool)> = results
            .iter()
            .filter_map(|(id, t)| match t {
                ItemTransition::Accepted { ticket_id, already } => {
                    Some((id.to_string(), ticket_id.as_str(), *already))
                }
                ItemTransition::Parked { .. } => None,
            })
            .collect();
        if !accepted.is_empty() {
            let json =
                serde_json::to_string(&accepted).map_err(|e| Error::Corrupt(e.to_string()))?;
            // History first, while the rows still say `sending`; then the move itself.
            tx.prepare_cached(
                "INSERT INTO state_changes (report_id, from_state, to_state, at, detail)
                 SELECT j.value ->> 0, 'sending', 'accepted', ?2,
                        CASE j.value ->> 2 WHEN 1 THEN 'already accepted' ELSE 'accepted' END
                 FROM json_each(?1) AS j CROSS JOIN reports AS r
                 WHERE r.id = j.value ->> 0 AND +r.state = 'sending'",
            )?
            .execute(params![json, now.as_millis()])?;
            tx.prepare_cached(
                "UPDATE reports SET state = 'accepted', updated_at = ?2, ticket_id = j.value ->> 1,
                        ticket_status = coalesce(ticket_status, 'submitted')
                 FROM json_each(?1) AS j
                 WHERE reports.id = j.value ->> 0 AND +reports.state = 'sending'",
            )?
            .execute(params![json, now.as_millis()])?;
        }
        for (id, transition) in results {
            if let ItemTransition::Parked { field, reason } = transition {
                let key = id.to_string();
                if move_state(
                    &tx,
                    &key,
                    ReportState::Sending,
                    ReportState::Rejected,
                    now.as_millis(),
                    Some(reason),
                )? {
                    tx.prepare_cached(
                        "UPDATE reports SET reject_field = ?2, reject_reason = ?3 WHERE id = ?1",
                    )?
                    .execute(params![key, field, reason])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Photos of accepted reports not yet on the server, oldest report first, each once.
    pub fn photos_to_upload(&self) -> Result<Vec<PendingPhoto>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.sha256, p.bytes, p.file_name, min(r.submitted_at) AS first
             FROM photos p JOIN report_photos rp ON rp.sha256 = p.sha256 JOIN reports r ON r.id = rp.report_id
             WHERE p.uploaded = 0 AND r.state = 'accepted'
             GROUP BY p.sha256 ORDER BY first, p.sha256",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PendingPhoto {
                sha256: r.get(0)?,
                bytes: r.get::<_, i64>(1)? as u64,
                file_name: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records that the server holds this photo, complete and verified.
    pub fn mark_photo_uploaded(&mut self, sha256: &str) -> Result<()> {
        self.conn
            .execute("UPDATE photos SET uploaded = 1 WHERE sha256 = ?1", [sha256])?;
        Ok(())
    }

    /// Photos counted by upload state: (uploaded, not yet).
    pub fn photo_upload_counts(&self) -> Result<(i64, i64)> {
        let (done, todo): (i64, i64) = self.conn.query_row(
            "SELECT coalesce(sum(uploaded = 1), 0), coalesce(sum(uploaded = 0), 0) FROM photos",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((done, todo))
    }

    /// The cursor up to which changes have been applied.
    pub fn changes_cursor(&self) -> Result<Option<String>> {
        self.setting(CURSOR_KEY)
    }

    /// Applies a page of ticket changes and stores `next_cursor`, in one transaction.
    /// Returns how many changes were new.
    pub fn apply_changes(&mut self, changes: &[Change], next_cursor: &str) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut new = 0;
        for change in changes {
            let event_json =
                serde_json::to_string(&change.event).map_err(|e| Error::Corrupt(e.to_string()))?;
            let report_id = change.report_id.to_string();
            let inserted = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO ticket_events (ticket_id, version, report_id, status, at, actor, event_json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    change.ticket_id,
                    change.event.version as i64,
                    report_id,
                    change.event.status.as_str(),
                    change.event.at.as_millis(),
                    change.event.by,
                    event_json
                ])?;
            new += inserted;
            // The rider's own report follows its ticket (only ever forward in version).
            tx.prepare_cached(
                "UPDATE reports SET ticket_status = ?2, ticket_id = coalesce(ticket_id, ?3)
                 WHERE id = ?1 AND ?4 >= coalesce((SELECT max(version) FROM ticket_events WHERE report_id = ?1), 0)",
            )?
            .execute(params![report_id, change.event.status.as_str(), change.ticket_id, change.event.version as i64])?;
            // A supervisor's worklist copy follows too, when it has one.
            tx.prepare_cached(
                "UPDATE worklist SET status = ?2, version = ?3 WHERE ticket_id = ?1 AND version < ?3",
            )?
            .execute(params![change.ticket_id, change.event.status.as_str(), change.event.version as i64])?;
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![CURSOR_KEY, next_cursor],
        )?;
        tx.commit()?;
        Ok(new)
    }

    /// The ticket history pulled for a report, oldest first: (status, at, actor).
    pub fn ticket_history(&self, report: &Uuid) -> Result<Vec<(String, Timestamp, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT status, at, actor FROM ticket_events WHERE report_id = ?1 ORDER BY version",
        )?;
        let rows = stmt.query_map([report.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Timestamp::from_millis(r.get(1)?),
                r.get::<_, String>(2)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The ticket id of a report, once accepted.
    pub fn ticket_of(&self, report: &Uuid) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT ticket_id FROM reports WHERE id = ?1",
                [report.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }
}
