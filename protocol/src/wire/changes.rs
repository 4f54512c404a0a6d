//! `GET /v1/changes?cursor=`: every ticket transition the caller may see, in one total order.
//!
//! The cursor is opaque to clients (today the decimal sequence number of the last change
//! returned). A client stores `next_cursor` in the same transaction as the changes it applied,
//! and asks again while `has_more` is true. Riders see changes of their own reports' tickets,
//! supervisors of their grids' tickets, admins all.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::TicketEvent;

/// One transition of one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// This change's position in the feed; a valid `cursor` to continue after it.
    pub cursor: String,
    /// The ticket that changed.
    pub ticket_id: String,
    /// The report the ticket came from (the device's id).
    pub report_id: Uuid,
    /// What changed, by whom, when.
    #[serde(flatten)]
    pub event: TicketEvent,
}

/// One page of the changes feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesPage {
    /// Changes in feed order.
    pub changes: Vec<Change>,
    /// The cursor to ask from next time (unchanged when `changes` is empty).
    pub next_cursor: String,
    /// True when more changes are waiting right now.
    pub has_more: bool,
}
