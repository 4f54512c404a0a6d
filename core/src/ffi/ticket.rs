//! The grid supervisor's worklist ticket. The one hand-written record: the wire `Ticket` is
//! the server's too and carries an unsigned version, photo records and the full history;
//! Kotlin and Swift get a signed version and the photos' content addresses.

use gridline_protocol::evidence::TicketEvidence;
use gridline_protocol::wire::{self as w, TicketStatus};
use gridline_protocol::{LocationFix, ReportKind, Severity, Timestamp};
use uuid::Uuid;

/// A ticket in the supervisor's worklist.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Ticket {
    /// Ticket id.
    pub id: String,
    /// The report it came from.
    pub report_id: Uuid,
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
    /// Photo content addresses (SHA-256).
    pub photos: Vec<String>,
    /// The rider.
    pub reporter: String,
    /// Filed.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Department it was dispatched to.
    pub department: Option<String>,
    /// What was done.
    pub resolution_note: Option<String>,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// The ticket it duplicates.
    pub duplicate_of: Option<String>,
    /// Handling deadline, set at dispatch.
    pub due_at: Option<Timestamp>,
    /// Dispatched and past its deadline.
    pub overdue: bool,
    /// Times a supervisor escalated it (督办).
    pub escalations: i64,
    /// For a verification: the ticket it verifies.
    pub verifies: Option<String>,
    /// What the server's signature check found and the fraud signals it recorded; `None` from
    /// a server that predates signed evidence.
    pub evidence: Option<TicketEvidence>,
    /// How many reports were merged into this ticket as duplicates (their evidence is kept
    /// on the server: `GET /v1/tickets/{id}`).
    pub merged_reports: i64,
}

impl From<w::Ticket> for Ticket {
    fn from(t: w::Ticket) -> Self {
        Ticket {
            id: t.id,
            report_id: t.report_id,
            status: t.status,
            version: i64::try_from(t.version).unwrap_or(i64::MAX),
            kind: t.kind,
            category: t.category,
            grid_id: t.grid_id,
            note: t.note,
            severity: t.severity,
            location: t.location,
            location_warnings: t.location_warnings,
            photos: t.photos.into_iter().map(|p| p.sha256).collect(),
            reporter: t.reporter,
            created_at: t.created_at,
            updated_at: t.updated_at,
            department: t.department,
            resolution_note: t.resolution_note,
            reject_reason: t.reject_reason,
            duplicate_of: t.duplicate_of,
            due_at: t.due_at,
            overdue: t.overdue,
            escalations: i64::from(t.escalations),
            verifies: t.verifies,
            evidence: t.evidence,
            merged_reports: i64::try_from(t.merged.len()).unwrap_or(i64::MAX),
        }
    }
}
