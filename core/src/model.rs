//! The device's view of a report: the wire [`Report`] plus where it stands in the outbox.
//!
//! A report moves `draft -> queued -> sending -> accepted(ticket)`; a report the server refuses
//! for good is `rejected` (parked with the server's reason, editable and resubmittable), never
//! retried forever and never silently dropped.

use std::collections::BTreeMap;

use gridline_protocol::wire::TicketStatus;
use gridline_protocol::{
    AttrValue, LocationFix, Outreach, PhotoRef, ReportKind, Severity, Timestamp,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a report stands in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ReportState {
    /// Being written by the rider; editable; never sent.
    Draft,
    /// Submitted by the rider; safe on disk; waiting for the network.
    Queued,
    /// In a batch the server may or may not have received yet.
    Sending,
    /// The server has it as a ticket.
    Accepted,
    /// Parked: the server refused it for good; the reason says what to fix.
    Rejected,
}

impl ReportState {
    /// Every state, in lifecycle order.
    pub const ALL: [ReportState; 5] = [
        Self::Draft,
        Self::Queued,
        Self::Sending,
        Self::Accepted,
        Self::Rejected,
    ];

    /// The snake_case name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the rider may still change the report.
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::Rejected)
    }
}

/// A report as the device keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LocalReport {
    /// UUIDv7 born with the draft; the idempotency key end to end.
    pub id: Uuid,
    /// Outbox state.
    pub state: ReportState,
    /// What it is about.
    pub kind: ReportKind,
    /// Category code (empty until chosen).
    pub category: String,
    /// The rider's note.
    pub note: String,
    /// Urgency.
    pub severity: Severity,
    /// Where, in WGS-84, once known.
    pub location: Option<LocationFix>,
    /// Location quality warnings raised at submit.
    pub location_warnings: Vec<String>,
    /// The grid the point lies in, once known.
    pub grid_id: Option<String>,
    /// Category attributes.
    pub attributes: BTreeMap<String, AttrValue>,
    /// Outreach figures (anti-fraud outreach only).
    pub outreach: Option<Outreach>,
    /// Attached photos, in order.
    pub photos: Vec<PhotoRef>,
    /// The rider.
    pub reporter: String,
    /// The host app's version.
    pub app_version: String,
    /// When the draft was created.
    pub created_at: Timestamp,
    /// Last local change.
    pub updated_at: Timestamp,
    /// When the rider submitted it.
    pub submitted_at: Option<Timestamp>,
    /// The server's ticket, once accepted.
    pub ticket_id: Option<String>,
    /// The ticket's latest status as last pulled from the server (`None` until accepted, or
    /// for a status this build does not know).
    pub ticket_status: Option<TicketStatus>,
    /// Why the server refused it (rejected state only).
    pub rejection: Option<Rejection>,
}

/// The server's reason for refusing a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Rejection {
    /// The field at fault, when the server named one.
    pub field: Option<String>,
    /// The server's words.
    pub reason: String,
}

/// Changes to a draft; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DraftPatch {
    /// New kind (clears nothing else; submit validates the combination).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub kind: Option<ReportKind>,
    /// New category code.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub category: Option<String>,
    /// New note.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub note: Option<String>,
    /// New severity.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub severity: Option<Severity>,
    /// New location fix, already in WGS-84.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub location: Option<LocationFix>,
    /// Attribute values to set (merged into the existing ones).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub set_attributes: BTreeMap<String, AttrValue>,
    /// Attribute codes to remove.
    #[cfg_attr(feature = "uniffi", uniffi(default = []))]
    pub remove_attributes: Vec<String>,
    /// New outreach figures.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub outreach: Option<Outreach>,
}

/// How many reports are in each state, for a badge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Counts {
    /// Drafts not yet submitted.
    pub drafts: i64,
    /// Submitted, waiting to be sent (including those being sent).
    pub pending: i64,
    /// Accepted by the server.
    pub accepted: i64,
    /// Refused by the server and waiting for the rider.
    pub rejected: i64,
}

/// What a per-item batch result does to the local report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemTransition {
    /// The server holds it as this ticket (new or already).
    Accepted {
        /// The ticket id.
        ticket_id: String,
        /// True when the server had it already (a resend after a lost answer).
        already: bool,
    },
    /// Parked with the server's reason, for the rider to fix; never resent blindly.
    Parked {
        /// The field at fault, when named.
        field: Option<String>,
        /// Why.
        reason: String,
    },
}
