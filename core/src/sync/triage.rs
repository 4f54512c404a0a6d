//! The supervisor's side of sync: pull the worklist of tickets for their grids, and send
//! triage actions queued offline, each with the ticket version it was decided on. A ticket that
//! changed meanwhile comes back as a conflict carrying the server's current ticket, which
//! replaces the local copy so the supervisor decides again on fresh facts.

use std::time::Duration;

use gridline_protocol::wire::{CandidateList, ErrorCode, TicketQuery, TriageAction};
use serde::Serialize;

use super::api::{CallError, ServerApi};
use super::{CancelToken, Device, SyncContext};
use crate::error::GridlineError;
use crate::store::TriageState;
use crate::transport::check_server_url;

/// What sending queued triage actions achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TriageSummary {
    /// Actions the server applied.
    pub applied: i64,
    /// Actions refused because the ticket had changed (the worklist now shows the server's copy).
    pub conflicts: i64,
    /// Actions refused for good (invalid for the ticket's state, out of the supervisor's grids).
    pub failed: i64,
    /// Actions still queued (network trouble); send again later.
    pub remaining: i64,
    /// The last problem met.
    pub last_error: Option<String>,
}

fn api<'a>(ctx: &'a SyncContext, timeout: Duration) -> Result<ServerApi<'a>, GridlineError> {
    let base = check_server_url(&ctx.server_url)?;
    Ok(ServerApi::new(base, &*ctx.transport, &*ctx.tokens, timeout))
}

fn network(e: CallError) -> GridlineError {
    match e {
        CallError::Auth(reason) => GridlineError::Auth { reason },
        CallError::Retry { reason, .. } => GridlineError::Network {
            reason,
            retryable: true,
        },
        CallError::TooLarge { reason, .. } => GridlineError::Network {
            reason,
            retryable: false,
        },
        CallError::Protocol(reason) => super::engine::protocol_error(reason),
        CallError::Permanent {
            status: 403,
            reason,
            ..
        } => GridlineError::Auth { reason },
        CallError::Permanent { reason, .. } => GridlineError::Network {
            reason,
            retryable: false,
        },
    }
}

/// What a cancelled worklist refresh fails with: worth trying again, like a dropped connection.
fn cancelled() -> GridlineError {
    GridlineError::Network {
        reason: "the worklist refresh was cancelled".into(),
        retryable: true,
    }
}

/// Pulls every ticket matching `query` (all pages) into the worklist; returns how many.
/// `cancel` stops it before the next page (the pages stored so far stay); the request in
/// flight is the transport's to abandon (the FFI adapters do).
pub fn refresh_worklist(
    device: &dyn Device,
    ctx: &SyncContext,
    query: &TicketQuery,
    cancel: &CancelToken,
) -> Result<i64, GridlineError> {
    let api = api(ctx, Duration::from_secs(30))?;
    let mut query = query.clone();
    let mut total = 0i64;
    let mut seen = std::collections::HashSet::new();
    loop {
        if cancel.is_cancelled() {
            return Err(cancelled());
        }
        let page = api.tickets(&query);
        if cancel.is_cancelled() {
            return Err(cancelled());
        }
        let page = page.map_err(network)?;
        let next = match page.next {
            Some(next) if !page.tickets.is_empty() => Some(next),
            _ => None,
        };
        // Bounded by progress, checked before the page is stored: a cursor that repeats
        // would page forever.
        if let Some(next) = &next {
            if query.cursor.as_ref() == Some(next) || !seen.insert(next.clone()) {
                return Err(super::engine::protocol_error(
                    "the worklist's next page cursor repeats an earlier one",
                ));
            }
            if seen.len() > super::engine::MAX_FEED_PAGES {
                return Err(super::engine::protocol_error(
                    "the worklist did not end within its page limit",
                ));
            }
        }
        total += page.tickets.len() as i64;
        device.store().upsert_tickets(&page.tickets, device.now())?;
        match next {
            Some(next) => query.cursor = Some(next),
            None => return Ok(total),
        }
    }
}

/// Queues `action` on a worklist ticket, checked against the ticket's status as the device
/// knows it. Returns the queue sequence number.
pub fn queue_triage(
    device: &dyn Device,
    ticket_id: &str,
    action: TriageAction,
) -> Result<i64, GridlineError> {
    let ticket =
        device
            .store()
            .worklist_ticket(ticket_id)?
            .ok_or_else(|| GridlineError::NotFound {
                what: format!("ticket {ticket_id} in the worklist"),
            })?;
    ticket
        .status
        .apply(&action)
        .map_err(|e| GridlineError::Conflict {
            reason: e.to_string(),
        })?;
    let seq = device
        .store()
        .queue_triage(ticket_id, ticket.version, &action, device.now())?;
    Ok(seq)
}

/// Sends queued triage actions in order. Network trouble stops the run with the rest still
/// queued; auth failures are errors. `cancel` stops it before the next action, the rest (and
/// an action whose answer was abandoned) still queued.
pub fn send_triage(
    device: &dyn Device,
    ctx: &SyncContext,
    cancel: &CancelToken,
) -> Result<TriageSummary, GridlineError> {
    let api = api(ctx, Duration::from_secs(30))?;
    let mut summary = TriageSummary::default();
    let queued = device.store().triage_actions(Some(TriageState::Queued))?;
    // Actions queued one after another on the same ticket chain their versions.
    let mut advanced: std::collections::HashMap<String, (u64, u64)> = Default::default();
    for (i, item) in queued.iter().enumerate() {
        // Stored as SQLite's signed integer; a ticket version is never negative.
        let queued_at = u64::try_from(item.base_version).unwrap_or(0);
        let base = match advanced.get(&item.ticket_id) {
            Some(&(from, to)) if queued_at == from => to,
            _ => queued_at,
        };
        if cancel.is_cancelled() {
            summary.remaining = (queued.len() - i) as i64;
            summary.last_error = Some("cancelled".into());
            return Ok(summary);
        }
        let answer = api.ticket_action(&item.ticket_id, base, &item.action);
        if cancel.is_cancelled() && answer.is_err() {
            // Abandoned mid-request: whether the server applied it is unknown, so it stays
            // queued (sent again, the server answers with the ticket's current version).
            summary.remaining = (queued.len() - i) as i64;
            summary.last_error = Some("cancelled".into());
            return Ok(summary);
        }
        match answer {
            Ok(ticket) => {
                advanced.insert(item.ticket_id.clone(), (queued_at, ticket.version));
                device.store().finish_triage(
                    item.seq,
                    TriageState::Sent,
                    None,
                    Some(&ticket),
                    device.now(),
                )?;
                summary.applied += 1;
            }
            Err(CallError::Permanent {
                status: 409,
                body: body @ Some(_),
                reason,
            }) => {
                let stale = body
                    .as_ref()
                    .is_some_and(|b| b.code == ErrorCode::VersionConflict);
                let ticket = body.as_ref().and_then(|b| b.ticket.as_deref());
                let state = if stale {
                    TriageState::Conflict
                } else {
                    TriageState::Failed
                };
                let why = body.as_ref().map_or(reason, |b| b.message.clone());
                device
                    .store()
                    .finish_triage(item.seq, state, Some(&why), ticket, device.now())?;
                if stale {
                    summary.conflicts += 1
                } else {
                    summary.failed += 1
                }
                summary.last_error = Some(why);
            }
            Err(CallError::Permanent {
                body: Some(body), ..
            }) => {
                let why = body.message;
                device.store().finish_triage(
                    item.seq,
                    TriageState::Failed,
                    Some(&why),
                    None,
                    device.now(),
                )?;
                summary.failed += 1;
                summary.last_error = Some(why);
            }
            // No Gridline error body (a proxy's page) says nothing about the action: it
            // stays queued, like any network trouble.
            Err(CallError::Retry { reason, .. })
            | Err(CallError::TooLarge { reason, .. })
            | Err(CallError::Permanent {
                body: None, reason, ..
            }) => {
                summary.remaining = (queued.len() - i) as i64;
                summary.last_error = Some(reason);
                return Ok(summary);
            }
            Err(CallError::Protocol(reason)) => return Err(super::engine::protocol_error(reason)),
            Err(CallError::Auth(reason)) => return Err(GridlineError::Auth { reason }),
        }
    }
    Ok(summary)
}

/// Supervisor, online: the server's duplicate candidates of ticket `ticket_id`, best first,
/// each with its reason. A ticket the caller cannot see is `NotFound`.
pub fn ticket_candidates(
    ctx: &SyncContext,
    ticket_id: &str,
) -> Result<CandidateList, GridlineError> {
    let list = api(ctx, Duration::from_secs(30))?
        .ticket_candidates(ticket_id)
        .map_err(|e| match e {
            CallError::Permanent { status: 404, .. } => GridlineError::NotFound {
                what: format!("ticket {ticket_id}"),
            },
            e => network(e),
        })?;
    if list.ticket_id != ticket_id {
        return Err(super::engine::protocol_error(format!(
            "asked for the candidates of {ticket_id}, the server answered for {}",
            list.ticket_id
        )));
    }
    Ok(list)
}
