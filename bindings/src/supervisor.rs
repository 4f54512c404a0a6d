//! The grid supervisor's side: tickets in the offline worklist and triage decisions.

use gridline_core::store::{QueuedTriage as CoreQueued, TriageState as CoreState};
use gridline_core::sync::triage::TriageSummary as CoreSummary;
use gridline_protocol::wire as w;

use crate::error::signed;
use crate::report::{LocationFix, ReportKind, Severity};

/// Ticket lifecycle (数字城管): submitted -> accepted (立案) -> dispatched (派遣) -> resolved
/// (处置) -> closed (结案), or rejected, or duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum TicketStatus {
    /// Received, not yet triaged.
    Submitted,
    /// Taken on (立案).
    Accepted,
    /// Sent to a department (派遣).
    Dispatched,
    /// Fixed (处置).
    Resolved,
    /// Closed after checking (结案).
    Closed,
    /// Not a case.
    Rejected,
    /// Same problem as another ticket.
    Duplicate,
}

/// A ticket status stored as text, as the enum (`None` for one this build does not know).
pub(crate) fn parse_status(text: Option<&str>) -> Option<TicketStatus> {
    text.and_then(w::TicketStatus::parse).map(Into::into)
}

impl From<w::TicketStatus> for TicketStatus {
    fn from(s: w::TicketStatus) -> Self {
        match s {
            w::TicketStatus::Submitted => Self::Submitted,
            w::TicketStatus::Accepted => Self::Accepted,
            w::TicketStatus::Dispatched => Self::Dispatched,
            w::TicketStatus::Resolved => Self::Resolved,
            w::TicketStatus::Closed => Self::Closed,
            w::TicketStatus::Rejected => Self::Rejected,
            w::TicketStatus::Duplicate => Self::Duplicate,
        }
    }
}

impl From<TicketStatus> for w::TicketStatus {
    fn from(s: TicketStatus) -> Self {
        match s {
            TicketStatus::Submitted => Self::Submitted,
            TicketStatus::Accepted => Self::Accepted,
            TicketStatus::Dispatched => Self::Dispatched,
            TicketStatus::Resolved => Self::Resolved,
            TicketStatus::Closed => Self::Closed,
            TicketStatus::Rejected => Self::Rejected,
            TicketStatus::Duplicate => Self::Duplicate,
        }
    }
}

/// A ticket in the supervisor's worklist.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Ticket {
    /// Ticket id.
    pub id: String,
    /// The report it came from.
    pub report_id: String,
    /// Status.
    pub status: TicketStatus,
    /// Version, sent back with every decision.
    pub version: i64,
    /// Kind.
    pub kind: ReportKind,
    /// Category code.
    pub category: String,
    /// Grid.
    pub grid_id: Option<String>,
    /// The rider's note.
    pub note: String,
    /// Urgency.
    pub severity: Severity,
    /// Where.
    pub location: LocationFix,
    /// Location quality warnings.
    pub location_warnings: Vec<String>,
    /// Photo content addresses.
    pub photos: Vec<String>,
    /// The rider.
    pub reporter: String,
    /// Filed (ms since epoch).
    pub created_at_ms: i64,
    /// Last change (ms since epoch).
    pub updated_at_ms: i64,
    /// Department it was dispatched to.
    pub department: Option<String>,
    /// What was done.
    pub resolution_note: Option<String>,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// The ticket it duplicates.
    pub duplicate_of: Option<String>,
}

impl From<w::Ticket> for Ticket {
    fn from(t: w::Ticket) -> Self {
        Ticket {
            id: t.id,
            report_id: t.report_id.to_string(),
            status: t.status.into(),
            version: signed(t.version),
            kind: t.kind.into(),
            category: t.category,
            grid_id: t.grid_id,
            note: t.note,
            severity: t.severity.into(),
            location: t.location.into(),
            location_warnings: t.location_warnings,
            photos: t.photos.into_iter().map(|p| p.sha256).collect(),
            reporter: t.reporter,
            created_at_ms: t.created_at.as_millis(),
            updated_at_ms: t.updated_at.as_millis(),
            department: t.department,
            resolution_note: t.resolution_note,
            reject_reason: t.reject_reason,
            duplicate_of: t.duplicate_of,
        }
    }
}

/// A supervisor's decision on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum TriageAction {
    /// Take it on (立案).
    Accept,
    /// Send it to a department (派遣).
    Dispatch {
        /// The department.
        department: String,
    },
    /// Record it as fixed (处置).
    Resolve {
        /// What was done.
        note: String,
    },
    /// Close it after checking (结案).
    Close,
    /// Not a case.
    Reject {
        /// Why.
        reason: String,
    },
    /// Same problem as another ticket.
    MarkDuplicate {
        /// That ticket's id.
        of: String,
    },
}

impl From<TriageAction> for w::TriageAction {
    fn from(a: TriageAction) -> Self {
        match a {
            TriageAction::Accept => Self::Accept,
            TriageAction::Dispatch { department } => Self::Dispatch { department },
            TriageAction::Resolve { note } => Self::Resolve { note },
            TriageAction::Close => Self::Close,
            TriageAction::Reject { reason } => Self::Reject { reason },
            TriageAction::MarkDuplicate { of } => Self::MarkDuplicate { of },
        }
    }
}

impl From<w::TriageAction> for TriageAction {
    fn from(a: w::TriageAction) -> Self {
        match a {
            w::TriageAction::Accept => Self::Accept,
            w::TriageAction::Dispatch { department } => Self::Dispatch { department },
            w::TriageAction::Resolve { note } => Self::Resolve { note },
            w::TriageAction::Close => Self::Close,
            w::TriageAction::Reject { reason } => Self::Reject { reason },
            w::TriageAction::MarkDuplicate { of } => Self::MarkDuplicate { of },
        }
    }
}

/// Where a queued decision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TriageState {
    /// Waiting to be sent.
    Queued,
    /// Applied by the server.
    Sent,
    /// The ticket had changed; the worklist shows the server's version now.
    Conflict,
    /// Refused for good.
    Failed,
}

/// A decision taken on the device.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QueuedTriage {
    /// Queue order.
    pub seq: i64,
    /// Ticket.
    pub ticket_id: String,
    /// Version decided on.
    pub base_version: i64,
    /// The decision.
    pub action: TriageAction,
    /// Where it stands.
    pub state: TriageState,
    /// The server's reason for conflicts and failures.
    pub error: Option<String>,
}

impl From<CoreQueued> for QueuedTriage {
    fn from(q: CoreQueued) -> Self {
        QueuedTriage {
            seq: q.seq,
            ticket_id: q.ticket_id,
            base_version: signed(q.base_version),
            action: q.action.into(),
            state: match q.state {
                CoreState::Queued => TriageState::Queued,
                CoreState::Sent => TriageState::Sent,
                CoreState::Conflict => TriageState::Conflict,
                CoreState::Failed => TriageState::Failed,
            },
            error: q.error,
        }
    }
}

/// What sending queued decisions achieved.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TriageSummary {
    /// Applied.
    pub applied: i64,
    /// Refused because the ticket had changed.
    pub conflicts: i64,
    /// Refused for good.
    pub failed: i64,
    /// Still queued (network trouble).
    pub remaining: i64,
    /// The last problem met.
    pub last_error: Option<String>,
}

impl From<CoreSummary> for TriageSummary {
    fn from(s: CoreSummary) -> Self {
        TriageSummary {
            applied: signed(s.applied),
            conflicts: signed(s.conflicts),
            failed: signed(s.failed),
            remaining: signed(s.remaining),
            last_error: s.last_error,
        }
    }
}
