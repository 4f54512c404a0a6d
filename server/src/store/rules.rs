//! What both backends decide the same way, whatever SQL they speak: how stored rows become a
//! wire [`Ticket`], what a resubmitted report id means, which photo sizes conflict, and what a
//! triage action writes. The backends fetch and store; the rules live here once.

use gridline_protocol::wire::{ItemResult, Ticket, TicketEvent, TicketPhoto, TicketStatus};
use gridline_protocol::wire::{TransitionError, TriageAction};
use gridline_protocol::{FieldError, Report, Timestamp};

use super::{ActionOutcome, IdCodec, StoreError};
use crate::account::User;

/// A `tickets` row (with its owner's name) before its report, photos and history are attached.
#[derive(Debug, Clone)]
pub struct TicketRow {
    /// Row number.
    pub id: i64,
    /// The canonical report JSON as received.
    pub report: String,
    /// Grid the ticket belongs to.
    pub grid_id: Option<String>,
    /// Status name.
    pub status: String,
    /// Version (starts at 1).
    pub version: i64,
    /// Department dispatched to.
    pub department: Option<String>,
    /// Note of the latest resolve.
    pub resolution_note: Option<String>,
    /// Reason of the latest reject.
    pub reject_reason: Option<String>,
    /// Row of the original, for duplicates.
    pub duplicate_of: Option<i64>,
    /// Milliseconds since the epoch.
    pub received_at: i64,
    /// Milliseconds since the epoch.
    pub updated_at: i64,
    /// The submitting account's name.
    pub owner: String,
}

/// A stored event, as the `events` table holds it.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Status name.
    pub status: String,
    /// Ticket version after the event.
    pub version: i64,
    /// Milliseconds since the epoch.
    pub at: i64,
    /// Acting account.
    pub by: String,
    /// Reject reason.
    pub reason: Option<String>,
    /// Dispatch department.
    pub department: Option<String>,
    /// Resolution note.
    pub note: Option<String>,
    /// Row of the original, for duplicates.
    pub duplicate_of: Option<i64>,
}

/// Stored data that cannot be read back: a bug or manual tampering.
pub fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// A stored status name.
pub fn parse_status(text: &str) -> Result<TicketStatus, StoreError> {
    TicketStatus::parse(text).ok_or_else(|| corrupt(format!("unknown status {text:?}")))
}

/// A stored (signed) count as unsigned; negative values cannot be written, read as 0.
pub fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// An unsigned count as the databases store it.
pub fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl EventRow {
    /// The wire event.
    pub fn into_event(self, ids: &IdCodec) -> Result<TicketEvent, StoreError> {
        Ok(TicketEvent {
            status: parse_status(&self.status)?,
            version: to_u64(self.version),
            at: Timestamp::from_millis(self.at),
            by: self.by,
            reason: self.reason,
            department: self.department,
            note: self.note,
            duplicate_of: self.duplicate_of.map(|row| ids.ticket_id(row)),
        })
    }
}

impl TicketRow {
    /// The report as stored.
    pub fn parse_report(&self) -> Result<Report, StoreError> {
        serde_json::from_str(&self.report).map_err(corrupt)
    }

    /// Builds the wire ticket from the row, its report, which of its photos the reporter holds
    /// verified bytes of, and its history in order.
    pub fn assemble(
        self,
        report: Report,
        uploaded: impl Fn(&str) -> bool,
        history: Vec<TicketEvent>,
        ids: &IdCodec,
    ) -> Result<Ticket, StoreError> {
        let photos = report
            .photos
            .iter()
            .map(|p| TicketPhoto {
                uploaded: uploaded(&p.sha256),
                sha256: p.sha256.clone(),
                bytes: p.bytes,
                width: p.width,
                height: p.height,
            })
            .collect();
        Ok(Ticket {
            id: ids.ticket_id(self.id),
            report_id: report.id,
            status: parse_status(&self.status)?,
            version: to_u64(self.version),
            kind: report.kind,
            category: report.category,
            grid_id: self.grid_id,
            note: report.note,
            severity: report.severity,
            location: report.location,
            location_warnings: report.location_warnings,
            attributes: report.attributes,
            outreach: report.outreach,
            photos,
            reporter: report.reporter,
            submitted_by: self.owner,
            created_at: report.created_at,
            submitted_at: report.submitted_at,
            received_at: Timestamp::from_millis(self.received_at),
            updated_at: Timestamp::from_millis(self.updated_at),
            department: self.department,
            resolution_note: self.resolution_note,
            reject_reason: self.reject_reason,
            duplicate_of: self.duplicate_of.map(|row| ids.ticket_id(row)),
            history,
            evidence: None,
        })
    }
}

/// A report id that is already stored, as row, owner and content hash.
#[derive(Debug, Clone)]
pub struct Existing {
    /// Ticket row.
    pub id: i64,
    /// Owner account.
    pub owner: i64,
    /// SHA-256 of the stored canonical JSON.
    pub content_hash: Vec<u8>,
}

/// What a report id that exists already means for a new submission of it: the same report
/// again (idempotent), a changed report, or someone else's id.
pub fn resubmission(
    ids: &IdCodec,
    user: &User,
    report_id: &str,
    existing: &Existing,
    content_hash: &[u8; 32],
) -> ItemResult {
    if existing.owner != user.id {
        return ItemResult::Conflict {
            reason: format!("report id {report_id} is already used by another account"),
        };
    }
    if existing.content_hash == content_hash {
        ItemResult::AlreadyAccepted {
            ticket_id: ids.ticket_id(existing.id),
        }
    } else {
        ItemResult::Conflict {
            reason: format!(
                "report {report_id} was already accepted as ticket {} with different content; a \
                 changed report needs a new id",
                ids.ticket_id(existing.id)
            ),
        }
    }
}

/// The rejection of photo `index` declared as `declared` bytes when the photo is known (from
/// the account's earlier reports or the verified bytes) as `known`: a photo's upload length is
/// fixed by its first claim, so no claim can stretch or shrink someone's upload.
pub fn photo_length_conflict(index: usize, declared: u64, known: u64) -> Option<ItemResult> {
    (declared != known).then(|| ItemResult::Rejected {
        field: format!("photos.{index}.bytes"),
        reason: format!(
            "{declared} bytes, but this photo is known as {known} bytes; a photo's size cannot \
             change"
        ),
    })
}

/// The first event of a new ticket.
pub fn submitted_event(user: &User, now: Timestamp) -> TicketEvent {
    TicketEvent {
        status: TicketStatus::Submitted,
        version: 1,
        at: now,
        by: user.name.clone(),
        reason: None,
        department: None,
        note: None,
        duplicate_of: None,
    }
}

/// What a permitted action writes: the event (which also carries the ticket's new status,
/// version and fields) and, for duplicates, the original's row.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The history entry to append.
    pub event: TicketEvent,
    /// Row of the original ticket (mark duplicate).
    pub duplicate_of: Option<i64>,
}

/// Why an action is not taken, short of a database fault.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// The caller's version is stale.
    Stale,
    /// The lifecycle does not allow it.
    Invalid(TransitionError),
    /// A field of the action is unacceptable.
    BadField(FieldError),
}

impl Refusal {
    /// The action's outcome, with the ticket as it is now where the caller needs it.
    pub fn outcome(self, ticket: Ticket) -> ActionOutcome {
        match self {
            Self::Stale => ActionOutcome::Stale(Box::new(ticket)),
            Self::Invalid(e) => ActionOutcome::Invalid(Box::new(ticket), e),
            Self::BadField(e) => ActionOutcome::BadField(e),
        }
    }
}

/// Decides a triage action on `ticket` (as the caller sees it) at `expected_version`.
/// `original` looks up another ticket row in the caller's scope (for mark duplicate).
pub fn transition(
    ticket: &Ticket,
    user: &User,
    expected_version: u64,
    action: &TriageAction,
    now: Timestamp,
    ids: &IdCodec,
    mut original: impl FnMut(i64) -> Result<Option<Ticket>, StoreError>,
) -> Result<Result<Transition, Refusal>, StoreError> {
    if ticket.version != expected_version {
        return Ok(Err(Refusal::Stale));
    }
    let next = match ticket.status.apply(action) {
        Ok(next) => next,
        Err(e) => return Ok(Err(Refusal::Invalid(e))),
    };
    let mut event = TicketEvent {
        status: next,
        version: ticket.version + 1,
        at: now,
        by: user.name.clone(),
        reason: None,
        department: None,
        note: None,
        duplicate_of: None,
    };
    let mut duplicate_of = None;
    match action {
        TriageAction::Accept | TriageAction::Close => {}
        TriageAction::Dispatch { department } => event.department = Some(department.clone()),
        TriageAction::Resolve { note } => event.note = Some(note.clone()),
        TriageAction::Reject { reason } => event.reason = Some(reason.clone()),
        TriageAction::MarkDuplicate { of } => {
            let own_row = ids.parse_ticket_id(&ticket.id);
            let found = match ids.parse_ticket_id(of).filter(|o| Some(*o) != own_row) {
                Some(row) => original(row)?,
                None => None,
            };
            let Some(found) = found else {
                return Ok(Err(Refusal::BadField(FieldError::new(
                    "of",
                    "must name another ticket you can see",
                ))));
            };
            if found.status == TicketStatus::Duplicate {
                return Ok(Err(Refusal::BadField(FieldError::new(
                    "of",
                    format!(
                        "{} is itself a duplicate of {}; name the original",
                        found.id,
                        found.duplicate_of.as_deref().unwrap_or("another ticket")
                    ),
                ))));
            }
            duplicate_of = ids.parse_ticket_id(&found.id);
            event.duplicate_of = Some(found.id);
        }
    }
    Ok(Ok(Transition {
        event,
        duplicate_of,
    }))
}
