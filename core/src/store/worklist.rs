//! The supervisor's offline worklist (tickets of their grids, as last pulled) and the queue of
//! triage actions taken offline, each sent later with the ticket version it was decided on.

use gridline_protocol::Timestamp;
use gridline_protocol::wire::{Ticket, TicketStatus, TriageAction};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::Store;
use crate::error::{Error, Result};

/// Where a queued triage action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TriageState {
    /// Waiting to be sent.
    Queued,
    /// Applied by the server.
    Sent,
    /// The ticket had changed on the server; the worklist now shows the server's version.
    Conflict,
    /// The server refused the action for good.
    Failed,
}

impl TriageState {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "queued" => Some(Self::Queued),
            "sent" => Some(Self::Sent),
            "conflict" => Some(Self::Conflict),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Conflict => "conflict",
            Self::Failed => "failed",
        }
    }
}

/// A triage action taken on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QueuedTriage {
    /// Order of queueing.
    pub seq: i64,
    /// The ticket acted on.
    pub ticket_id: String,
    /// The ticket version the supervisor saw when deciding.
    pub base_version: i64,
    /// The action.
    pub action: TriageAction,
    /// Where it stands.
    pub state: TriageState,
    /// The server's reason, for conflicts and failures.
    pub error: Option<String>,
}

fn decode_ticket(json: &str) -> Result<Ticket> {
    serde_json::from_str(json).map_err(|e| Error::Corrupt(format!("worklist ticket: {e}")))
}

impl Store {
    /// Stores tickets pulled from the server, keeping whichever copy has the higher version.
    pub fn upsert_tickets(&mut self, tickets: &[Ticket], now: Timestamp) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for t in tickets {
            let json = serde_json::to_string(t).map_err(|e| Error::Corrupt(e.to_string()))?;
            tx.prepare_cached(
                "INSERT INTO worklist (ticket_id, report_id, status, version, grid_id, ticket_json, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (ticket_id) DO UPDATE SET status = excluded.status, version = excluded.version,
                    grid_id = excluded.grid_id, ticket_json = excluded.ticket_json, updated_at = excluded.updated_at
                 WHERE excluded.version >= worklist.version",
            )?
            .execute(params![
                t.id,
                t.report_id.to_string(),
                t.status.as_str(),
                t.version as i64,
                t.grid_id,
                json,
                now.as_millis()
            ])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Worklist tickets, optionally only those in `statuses`, oldest change first.
    pub fn worklist(&self, statuses: &[TicketStatus]) -> Result<Vec<Ticket>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT status, ticket_json FROM worklist ORDER BY updated_at, ticket_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (status, json) = row?;
            let mut ticket = decode_ticket(&json)?;
            // A pulled change may have moved the status on since the full ticket was stored.
            if let Some(s) = TicketStatus::parse(&status) {
                ticket.status = s;
            }
            if statuses.is_empty() || statuses.contains(&ticket.status) {
                out.push(ticket);
            }
        }
        Ok(out)
    }

    /// One worklist ticket, with its current version.
    pub fn worklist_ticket(&self, ticket_id: &str) -> Result<Option<Ticket>> {
        let row: Option<(String, i64, String)> = self
            .conn
            .query_row(
                "SELECT status, version, ticket_json FROM worklist WHERE ticket_id = ?1",
                [ticket_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((status, version, json)) => {
                let mut t = decode_ticket(&json)?;
                t.status = TicketStatus::parse(&status).unwrap_or(t.status);
                t.version = version as u64;
                Ok(Some(t))
            }
        }
    }

    /// Queues an action on a ticket at `base_version`.
    pub fn queue_triage(
        &mut self,
        ticket_id: &str,
        base_version: u64,
        action: &TriageAction,
        now: Timestamp,
    ) -> Result<i64> {
        let json = serde_json::to_string(action).map_err(|e| Error::Corrupt(e.to_string()))?;
        self.conn.execute(
            "INSERT INTO triage_queue (ticket_id, base_version, action_json, state, created_at) VALUES (?1, ?2, ?3, 'queued', ?4)",
            params![ticket_id, base_version as i64, json, now.as_millis()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Triage actions, optionally only those in `state`, in queueing order.
    pub fn triage_actions(&self, state: Option<TriageState>) -> Result<Vec<QueuedTriage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, ticket_id, base_version, action_json, state, error FROM triage_queue
             WHERE ?1 IS NULL OR state = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([state.map(|s| s.as_str())], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, ticket_id, base, action, state, error) = row?;
            out.push(QueuedTriage {
                seq,
                ticket_id,
                base_version: base,
                action: serde_json::from_str(&action)
                    .map_err(|e| Error::Corrupt(format!("triage action {seq}: {e}")))?,
                state: TriageState::parse(&state)
                    .ok_or_else(|| Error::Corrupt(format!("triage state {state:?}")))?,
                error,
            });
        }
        Ok(out)
    }

    /// Records the outcome of sending action `seq`, and the server's ticket if it sent one,
    /// in one transaction.
    pub fn finish_triage(
        &mut self,
        seq: i64,
        state: TriageState,
        error: Option<&str>,
        ticket: Option<&Ticket>,
        now: Timestamp,
    ) -> Result<()> {
        if let Some(t) = ticket {
            self.upsert_tickets(std::slice::from_ref(t), now)?;
        }
        self.conn.execute(
            "UPDATE triage_queue SET state = ?2, error = ?3, done_at = ?4 WHERE seq = ?1",
            params![seq, state.as_str(), error, now.as_millis()],
        )?;
        Ok(())
    }
}
