//! `GET servicerequestupdates`, the FixMyStreet extension of GeoReport v2 that city systems
//! poll for what happened to requests: one `request_update` per ticket transition, read from
//! the changes feed (the same total order devices and the console follow). `update_id` is the
//! feed cursor of the transition, so a poller can also continue with `after=<update_id>`
//! (our extension) instead of a date window. The detailed status is FixMyStreet's vocabulary,
//! and our own status name is `external_status_code`.

use std::collections::HashSet;

use gridline_protocol::Timestamp;
use gridline_protocol::wire::{Change, TicketStatus};

use crate::account::Scope;
use crate::store::{Store, StoreError, TicketFilter};

use super::format::{Doc, Node, Open311Error};
use super::requests::{MAX_PAGE_SIZE, WINDOW_MS};

/// Feed pages of 1,000 read at most per answer (the scan is bounded; continue with `after`).
const MAX_SCAN_PAGES: usize = 50;

/// FixMyStreet's name for a status.
pub fn fixmystreet_status(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Submitted => "OPEN",
        TicketStatus::Accepted => "INVESTIGATING",
        TicketStatus::Dispatched => "ACTION_SCHEDULED",
        TicketStatus::AwaitingVerification => "IN_PROGRESS",
        TicketStatus::Resolved => "FIXED",
        TicketStatus::Closed => "CLOSED",
        TicketStatus::Rejected => "NO_FURTHER_ACTION",
        TicketStatus::Duplicate => "DUPLICATE",
    }
}

/// The query, read strictly.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdatesQuery {
    /// Feed sequence number to start after (`after`), 0 for the start.
    pub after: Option<String>,
    /// Earliest transition time.
    pub start: Timestamp,
    /// Latest transition time.
    pub end: Timestamp,
    /// Most updates answered.
    pub limit: usize,
}

impl UpdatesQuery {
    /// Reads `start_date`, `end_date` (at most 90 days apart; default the last 90 days),
    /// `after` and `page_size`, as of `now`.
    pub fn parse(pairs: &[(String, String)], now: Timestamp) -> Result<Self, Open311Error> {
        let (mut start, mut end, mut after, mut limit) = (None, None, None, MAX_PAGE_SIZE as usize);
        let date = |name: &str, v: &str| {
            Timestamp::parse_rfc3339(v.trim()).ok_or_else(|| {
                Open311Error::bad_request(format!("{name} must be a W3C date-time with its offset"))
            })
        };
        for (name, value) in pairs {
            match name.as_str() {
                "start_date" => start = Some(date(name, value)?),
                "end_date" => end = Some(date(name, value)?),
                "after" => after = Some(value.trim().to_string()),
                "page_size" => {
                    limit = value
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE_SIZE as usize).contains(n))
                        .ok_or_else(|| {
                            Open311Error::bad_request("page_size must be a number from 1 to 1000")
                        })?
                }
                other => {
                    return Err(Open311Error::bad_request(format!(
                        "{} is not a parameter of GET servicerequestupdates",
                        other.chars().take(40).collect::<String>()
                    )));
                }
            }
        }
        let end = end.unwrap_or(now);
        let start = start.unwrap_or(Timestamp::from_millis(end.as_millis() - WINDOW_MS));
        if end < start || end.as_millis() - start.as_millis() > WINDOW_MS {
            return Err(Open311Error::bad_request(
                "start_date must come before end_date, at most 90 days earlier",
            ));
        }
        Ok(Self {
            after,
            start,
            end,
            limit,
        })
    }
}

/// The transitions of service requests the query asks for, in feed order. Blocking.
pub fn collect(store: &dyn Store, query: &UpdatesQuery) -> Result<Vec<Change>, Open311Error> {
    let mut after = match query.after.as_deref() {
        None | Some("") => 0,
        Some(c) => store
            .ids()
            .parse_cursor(c)
            .ok_or_else(|| Open311Error::bad_request("after is not an update_id of this server"))?,
    };
    let mut found = Vec::new();
    for _ in 0..MAX_SCAN_PAGES {
        let (page, more) = store.changes(Scope::All, after, MAX_PAGE_SIZE)?;
        let Some(last) = page.last() else { break };
        let last_at = last.event.at;
        after = store
            .ids()
            .parse_cursor(&last.cursor)
            .ok_or_else(|| StoreError::Corrupt("a feed cursor does not parse".into()))?;
        let in_window: Vec<Change> = page
            .into_iter()
            .filter(|c| c.event.at >= query.start && c.event.at <= query.end)
            .collect();
        let services = service_tickets(store, &in_window)?;
        found.extend(
            in_window
                .into_iter()
                .filter(|c| services.contains(&c.ticket_id)),
        );
        if found.len() >= query.limit || !more || last_at > query.end {
            break;
        }
    }
    found.truncate(query.limit);
    Ok(found)
}

/// Which of the changes' tickets are service requests (not outreach records).
fn service_tickets(store: &dyn Store, changes: &[Change]) -> Result<HashSet<String>, StoreError> {
    let ids: Vec<i64> = changes
        .iter()
        .filter_map(|c| store.ids().parse_ticket_id(&c.ticket_id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let filter = TicketFilter {
        limit: u32::try_from(ids.len()).unwrap_or(u32::MAX),
        ids,
        service_kinds_only: true,
        ..TicketFilter::default()
    };
    Ok(store
        .tickets(Scope::All, &filter)?
        .tickets
        .into_iter()
        .map(|t| t.id)
        .collect())
}

/// The `service_request_updates` document.
pub fn document(changes: &[Change]) -> Doc {
    let items = changes
        .iter()
        .map(|c| {
            let e = &c.event;
            let description = e
                .note
                .clone()
                .or_else(|| e.reason.clone())
                .or_else(|| e.department.as_ref().map(|d| format!("dispatched to {d}")))
                .or_else(|| e.duplicate_of.as_ref().map(|d| format!("duplicate of {d}")))
                .unwrap_or_default();
            Node::Obj(vec![
                ("update_id", c.cursor.as_str().into()),
                ("service_request_id", c.ticket_id.as_str().into()),
                ("status", fixmystreet_status(e.status).into()),
                ("updated_datetime", e.at.to_rfc3339().into()),
                ("description", description.into()),
                ("media_url", Node::Null),
                ("external_status_code", e.status.as_str().into()),
            ])
        })
        .collect();
    Doc {
        root: "service_request_updates",
        body: Node::List("request_update", items),
    }
}
