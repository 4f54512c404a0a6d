//! `GET requests`, `GET requests/{id}` and `GET tokens/{id}`: tickets as Open311 service
//! requests. Our seven statuses fold into the spec's two (`open` until a supervisor resolved,
//! closed, rejected or merged it; then `closed`), with the detail in `status_notes` (and in
//! the `servicerequestupdates` extension, [`super::updates`]).
//!
//! A listing is public, as the spec has it, so it shows what a city's public tracker would: the
//! problem, its place and its status. A rider's note is a work note and is left out; an
//! Open311 client's description was written to be published and is shown.

use gridline_protocol::Timestamp;
use gridline_protocol::wire::{Ticket, TicketStatus};

use crate::store::{OPEN311_CHANNEL_PREFIX, TicketFilter};

use super::format::{Doc, Node, Open311Error};
use super::services;

/// The spec's default window: 90 days back from `end_date`.
pub const WINDOW_MS: i64 = 90 * 24 * 3600 * 1000;
/// Most requests one answer lists (the spec's 1,000).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// `open` or `closed`, the spec's two statuses.
pub fn open311_status(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Submitted
        | TicketStatus::Accepted
        | TicketStatus::Dispatched
        | TicketStatus::AwaitingVerification => "open",
        TicketStatus::Resolved
        | TicketStatus::Closed
        | TicketStatus::Rejected
        | TicketStatus::Duplicate => "closed",
    }
}

/// Our statuses behind an Open311 status.
fn statuses_of(open311: &str) -> Option<&'static [TicketStatus]> {
    use TicketStatus::*;
    match open311 {
        "open" => Some(&[Submitted, Accepted, Dispatched, AwaitingVerification]),
        "closed" => Some(&[Resolved, Closed, Rejected, Duplicate]),
        _ => None,
    }
}

/// The `status_notes` of a ticket: what happened, in words.
pub fn status_notes(ticket: &Ticket) -> String {
    match ticket.status {
        TicketStatus::Submitted => "received; waiting for a grid supervisor".into(),
        TicketStatus::Accepted => "registered as a case".into(),
        TicketStatus::Dispatched => format!(
            "dispatched to {}",
            ticket.department.as_deref().unwrap_or("a department")
        ),
        TicketStatus::AwaitingVerification => format!(
            "handled by the department, waiting for an on-the-spot check: {}",
            ticket.resolution_note.as_deref().unwrap_or("")
        ),
        TicketStatus::Resolved => format!(
            "resolved: {}",
            ticket.resolution_note.as_deref().unwrap_or("")
        ),
        TicketStatus::Closed => match ticket.resolution_note.as_deref() {
            Some(note) => format!("closed after verification: {note}"),
            None => "closed after verification".into(),
        },
        TicketStatus::Rejected => format!(
            "not a case: {}",
            ticket.reject_reason.as_deref().unwrap_or("")
        ),
        TicketStatus::Duplicate => format!(
            "duplicate of {}",
            ticket.duplicate_of.as_deref().unwrap_or("another request")
        ),
    }
}

/// One ticket as a `request` element.
pub fn request_node(ticket: &Ticket, service_name: &str) -> Node {
    let published = ticket.submitted_by.starts_with(OPEN311_CHANNEL_PREFIX);
    Node::Obj(vec![
        ("service_request_id", ticket.id.as_str().into()),
        ("status", open311_status(ticket.status).into()),
        ("status_notes", status_notes(ticket).into()),
        ("service_name", service_name.into()),
        ("service_code", ticket.category.as_str().into()),
        (
            "description",
            Node::opt_text(published.then(|| ticket.note.clone())),
        ),
        (
            "agency_responsible",
            Node::opt_text(ticket.department.clone()),
        ),
        ("service_notice", Node::Null),
        (
            "requested_datetime",
            ticket.submitted_at.to_rfc3339().into(),
        ),
        ("updated_datetime", ticket.updated_at.to_rfc3339().into()),
        // The handling deadline (处置时限) set at dispatch.
        (
            "expected_datetime",
            Node::opt_text(ticket.due_at.map(|d| d.to_rfc3339())),
        ),
        ("address", Node::Null),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", Node::Float(ticket.location.lat)),
        ("long", Node::Float(ticket.location.lon)),
        ("media_url", Node::Null),
    ])
}

/// A list of tickets as the `service_requests` document.
pub fn requests_doc(tickets: &[Ticket], catalog: &gridline_protocol::Catalog) -> Doc {
    let items = tickets
        .iter()
        .map(|t| {
            let name = services::find(catalog, &t.category)
                .map_or(t.category.as_str(), |(_, c)| c.name.as_str());
            request_node(t, name)
        })
        .collect();
    Doc {
        root: "service_requests",
        body: Node::List("request", items),
    }
}

/// The query of `GET requests`, read strictly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestsQuery {
    /// `service_request_id`: comma-separated ids.
    pub ids: Vec<String>,
    /// `service_code`: comma-separated codes (one store query each is avoided: at most one).
    pub service_code: Option<String>,
    /// `start_date`.
    pub start: Option<Timestamp>,
    /// `end_date`.
    pub end: Option<Timestamp>,
    /// `status`: `open`, `closed` or both.
    pub statuses: Vec<TicketStatus>,
    /// `page`, from 1.
    pub page: u64,
    /// `page_size`, 1..=1000.
    pub page_size: u32,
}

/// Parameters every Open311 GET accepts besides its own.
pub const COMMON_PARAMS: &[&str] = &["jurisdiction_id", "api_key"];

impl RequestsQuery {
    /// Reads `GET requests` parameters (`pairs` without the common ones).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, Open311Error> {
        let mut q = RequestsQuery {
            page: 1,
            page_size: MAX_PAGE_SIZE,
            ..Self::default()
        };
        let mut seen = std::collections::BTreeSet::new();
        for (name, value) in pairs {
            if !seen.insert(name.as_str()) {
                return Err(Open311Error::bad_request(format!("{name} is given twice")));
            }
            let value = value.trim();
            match name.as_str() {
                "service_request_id" => {
                    q.ids = value
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    if q.ids.len() > MAX_PAGE_SIZE as usize {
                        return Err(Open311Error::bad_request(format!(
                            "at most {MAX_PAGE_SIZE} service_request_id values"
                        )));
                    }
                }
                "service_code" if value.contains(',') => {
                    return Err(Open311Error::bad_request(
                        "service_code takes one code on this server",
                    ));
                }
                "service_code" => {
                    q.service_code = Some(value.to_string()).filter(|v| !v.is_empty())
                }
                "start_date" => q.start = Some(date(name, value)?),
                "end_date" => q.end = Some(date(name, value)?),
                "status" => {
                    for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let ours = statuses_of(s).ok_or_else(|| {
                            Open311Error::bad_request("status must be open or closed")
                        })?;
                        q.statuses.extend_from_slice(ours);
                    }
                }
                "page" => {
                    q.page = value
                        .parse::<u64>()
                        .ok()
                        .filter(|p| (1..=1_000_000).contains(p))
                        .ok_or_else(|| Open311Error::bad_request("page must be a number from 1"))?
                }
                "page_size" => {
                    q.page_size = value
                        .parse::<u32>()
                        .ok()
                        .filter(|p| (1..=MAX_PAGE_SIZE).contains(p))
                        .ok_or_else(|| {
                            Open311Error::bad_request(format!(
                                "page_size must be a number from 1 to {MAX_PAGE_SIZE}"
                            ))
                        })?
                }
                other => {
                    return Err(Open311Error::bad_request(format!(
                        "{} is not a parameter of GET requests",
                        other.chars().take(40).collect::<String>()
                    )));
                }
            }
        }
        if let (Some(start), Some(end)) = (q.start, q.end) {
            if end < start {
                return Err(Open311Error::bad_request("end_date is before start_date"));
            }
            if end.as_millis() - start.as_millis() > WINDOW_MS {
                return Err(Open311Error::bad_request(
                    "start_date and end_date may be at most 90 days apart",
                ));
            }
        }
        Ok(q)
    }

    /// The store filter as of `now`: the ids alone when given (the spec lets them override
    /// the rest), else the date window (90 days back from `end_date`, or forward from
    /// `start_date`, defaulting to the 90 days before now), status and service.
    pub fn filter(&self, rows: Vec<i64>, now: Timestamp) -> TicketFilter {
        let mut filter = TicketFilter {
            service_kinds_only: true,
            newest_first: true,
            limit: self.page_size,
            offset: (self.page - 1).saturating_mul(u64::from(self.page_size)),
            ..TicketFilter::default()
        };
        if !self.ids.is_empty() {
            filter.ids = rows;
            filter.offset = 0;
            filter.limit = MAX_PAGE_SIZE;
            return filter;
        }
        let (start, end) = match (self.start, self.end) {
            (Some(s), Some(e)) => (s, e),
            (Some(s), None) => (s, Timestamp::from_millis(s.as_millis() + WINDOW_MS)),
            (None, Some(e)) => (Timestamp::from_millis(e.as_millis() - WINDOW_MS), e),
            (None, None) => (Timestamp::from_millis(now.as_millis() - WINDOW_MS), now),
        };
        filter.since = Some(start);
        filter.until = Some(Timestamp::from_millis(end.as_millis() + 1));
        filter.statuses = self.statuses.clone();
        filter.category = self.service_code.clone();
        filter
    }
}

fn date(name: &str, value: &str) -> Result<Timestamp, Open311Error> {
    Timestamp::parse_rfc3339(value).ok_or_else(|| {
        Open311Error::bad_request(format!(
            "{name} must be a W3C date-time with its offset, e.g. 2026-12-01T08:00:00+08:00"
        ))
    })
}

/// `GET tokens/{id}`: this server answers `POST requests` with a `service_request_id` at
/// once, so it never hands out a token and knows none.
pub fn token_unknown(token: &str) -> Open311Error {
    Open311Error::not_found(format!(
        "no token {:?}: this server answers POST requests with a service_request_id, never \
         a token",
        token.chars().take(40).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn statuses_fold_into_open_and_closed_and_back() {
        for s in TicketStatus::ALL {
            let folded = open311_status(s);
            assert!(statuses_of(folded).unwrap().contains(&s));
        }
    }

    #[test]
    fn the_query_is_strict_and_the_window_has_the_specs_defaults() {
        let now = Timestamp::parse_rfc3339("2026-12-01T00:00:00Z").unwrap();
        let q = RequestsQuery::parse(&[]).unwrap();
        let f = q.filter(vec![], now);
        assert_eq!(f.limit, 1000);
        assert_eq!(
            f.since,
            Some(Timestamp::from_millis(now.as_millis() - WINDOW_MS))
        );
        assert!(f.newest_first && f.service_kinds_only);
        let q = RequestsQuery::parse(&pairs(&[("page", "3"), ("page_size", "10")])).unwrap();
        assert_eq!(q.filter(vec![], now).offset, 20);
        for bad in [
            &[("page", "0")][..],
            &[("page_size", "1001")],
            &[("status", "pending")],
            &[("start_date", "yesterday")],
            &[
                ("start_date", "2026-01-01T00:00:00Z"),
                ("end_date", "2026-06-01T00:00:00Z"),
            ],
            &[
                ("end_date", "2026-01-01T00:00:00Z"),
                ("start_date", "2026-02-01T00:00:00Z"),
            ],
            &[("colour", "red")],
            &[("status", "open"), ("status", "closed")],
        ] {
            assert_eq!(
                RequestsQuery::parse(&pairs(bad)).unwrap_err().status,
                400,
                "{bad:?}"
            );
        }
        let q = RequestsQuery::parse(&pairs(&[("status", "open,closed")])).unwrap();
        assert_eq!(q.statuses.len(), TicketStatus::ALL.len());
    }
}
