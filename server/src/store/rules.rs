//! What both backends decide the same way, whatever SQL they speak: how stored rows become a
//! wire [`Ticket`], what a resubmitted report id means, which photo sizes conflict, and what a
//! triage action writes. The backends fetch and store; the rules live here once.

use gridline_core::geo::haversine_m;
use gridline_protocol::verification::VerificationClaim;
use gridline_protocol::wire::{EventAction, ItemResult, Ticket, TicketEvent, TicketPhoto};
use gridline_protocol::wire::{TicketStatus, TransitionError, TriageAction, VerificationTask};
use gridline_protocol::{FieldError, Report, Timestamp};

use super::{ActionOutcome, IdCodec, StoreError};
use crate::account::User;
use crate::lifecycle::{CasePolicy, hours_after};

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
    /// Handling deadline, milliseconds since the epoch.
    pub due_at: Option<i64>,
    /// When the server marked the deadline passed.
    pub overdue_at: Option<i64>,
    /// Escalations so far.
    pub escalations: i64,
    /// For a verification: the row of the ticket it verifies.
    pub verifies: Option<i64>,
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
    /// Wire name of the [`EventAction`].
    pub action: Option<String>,
    /// Deadline set or passed, milliseconds since the epoch.
    pub due_at: Option<i64>,
    /// Row of the verification ticket recorded.
    pub verification: Option<i64>,
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
            action: self.action.as_deref().map(parse_action).transpose()?,
            due_at: self.due_at.map(Timestamp::from_millis),
            verification: self.verification.map(|row| ids.ticket_id(row)),
        })
    }
}

fn parse_action(text: &str) -> Result<EventAction, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| corrupt(format!("unknown event action {text:?}")))
}

/// An action's wire name, as stored.
pub fn action_name(action: EventAction) -> String {
    match serde_json::to_value(action) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{action:?}"),
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
        let status = parse_status(&self.status)?;
        Ok(Ticket {
            id: ids.ticket_id(self.id),
            report_id: report.id,
            status,
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
            due_at: self.due_at.map(Timestamp::from_millis),
            overdue: self.overdue_at.is_some() && status == TicketStatus::Dispatched,
            escalations: u32::try_from(self.escalations).unwrap_or(u32::MAX),
            verifies: self.verifies.map(|row| ids.ticket_id(row)),
            history,
            evidence: None,
            merged: Vec::new(),
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
        action: Some(EventAction::Submit),
        due_at: None,
        verification: None,
    }
}

/// What a change writes: the event (which also carries the ticket's new status, version and
/// fields) and the ticket columns it moves.
#[derive(Debug, Clone)]
pub struct TicketUpdate {
    /// The history entry to append.
    pub event: TicketEvent,
    /// Row of the original ticket (mark duplicate).
    pub duplicate_of: Option<i64>,
    /// Row of the verification ticket the event records.
    pub verification: Option<i64>,
    /// The new deadline, when the change sets one.
    pub due_at: Option<Timestamp>,
    /// Marks the deadline passed at the event's time.
    pub mark_overdue: bool,
    /// Forgets an overdue mark (a new deadline starts).
    pub clear_overdue: bool,
    /// Counts one more escalation.
    pub escalate: bool,
}

impl TicketUpdate {
    fn of(event: TicketEvent) -> Self {
        Self {
            event,
            duplicate_of: None,
            verification: None,
            due_at: None,
            mark_overdue: false,
            clear_overdue: false,
            escalate: false,
        }
    }

    /// The ticket's new resolution note (a resolve's note; other notes stay in the history).
    pub fn resolution_note(&self) -> Option<&str> {
        let resolve = self.event.action == Some(EventAction::Resolve);
        self.event.note.as_deref().filter(|_| resolve)
    }

    /// The ticket's new reject reason (a reject's; escalation reasons stay in the history).
    pub fn reject_reason(&self) -> Option<&str> {
        let reject = self.event.action == Some(EventAction::Reject);
        self.event.reason.as_deref().filter(|_| reject)
    }

    /// The stored overdue mark after this change: `keep` (the current one) unless it marks or
    /// clears.
    pub fn overdue_at(&self, keep: Option<i64>) -> Option<i64> {
        if self.mark_overdue {
            Some(self.event.at.as_millis())
        } else if self.clear_overdue {
            None
        } else {
            keep
        }
    }
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

/// A new event on `ticket` by `by` at `now`, entering `status`.
fn next_event(
    ticket: &Ticket,
    status: TicketStatus,
    by: &str,
    action: EventAction,
    now: Timestamp,
) -> TicketEvent {
    TicketEvent {
        status,
        version: ticket.version + 1,
        at: now,
        by: by.to_string(),
        reason: None,
        department: None,
        note: None,
        duplicate_of: None,
        action: Some(action),
        due_at: None,
        verification: None,
    }
}

/// Decides a triage action on `ticket` (as the caller sees it) at `expected_version`.
/// `original` looks up another ticket row in the caller's scope (for mark duplicate).
#[allow(clippy::too_many_arguments)]
pub fn transition(
    ticket: &Ticket,
    user: &User,
    expected_version: u64,
    action: &TriageAction,
    policy: &CasePolicy,
    now: Timestamp,
    ids: &IdCodec,
    mut original: impl FnMut(i64) -> Result<Option<Ticket>, StoreError>,
) -> Result<Result<TicketUpdate, Refusal>, StoreError> {
    if ticket.version != expected_version {
        return Ok(Err(Refusal::Stale));
    }
    let mut next = match ticket.status.apply(action) {
        Ok(next) => next,
        Err(e) => return Ok(Err(Refusal::Invalid(e))),
    };
    if matches!(action, TriageAction::Resolve { .. })
        && policy.requires_verification(ticket.kind, &ticket.category)
    {
        next = TicketStatus::AwaitingVerification;
    }
    let mut update = TicketUpdate::of(next_event(
        ticket,
        next,
        &user.name,
        action.event_action(),
        now,
    ));
    let event = &mut update.event;
    match action {
        TriageAction::Accept | TriageAction::Close => {}
        TriageAction::Dispatch { department } => {
            event.department = Some(department.clone());
            // The first dispatch starts the clock; re-routing keeps the deadline.
            if ticket.due_at.is_none() {
                update.due_at = policy.deadline(ticket.kind, &ticket.category, now);
                event.due_at = update.due_at;
            }
        }
        TriageAction::Resolve { note } => event.note = Some(note.clone()),
        TriageAction::Reject { reason } => event.reason = Some(reason.clone()),
        TriageAction::Escalate { reason } => {
            event.reason = Some(reason.clone());
            update.escalate = true;
        }
        TriageAction::Extend { hours, reason } => {
            let Some(due) = ticket.due_at else {
                return Ok(Err(Refusal::BadField(FieldError::new(
                    "hours",
                    "this ticket has no deadline to extend",
                ))));
            };
            let due = hours_after(due, *hours);
            event.reason = Some(reason.clone());
            event.due_at = Some(due);
            update.due_at = Some(due);
            update.clear_overdue = due > now;
        }
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
            update.duplicate_of = ids.parse_ticket_id(&found.id);
            event.duplicate_of = Some(found.id);
        }
    }
    Ok(Ok(update))
}

/// The account the server's own events are recorded as.
pub const SYSTEM: &str = "system";

/// The overdue mark of a dispatched ticket (at `version`) whose deadline `due_at` passed.
pub fn overdue_update(ticket: &Ticket, due_at: Timestamp, now: Timestamp) -> TicketUpdate {
    let mut update = TicketUpdate::of(next_event(
        ticket,
        ticket.status,
        SYSTEM,
        EventAction::Overdue,
        now,
    ));
    update.event.due_at = Some(due_at);
    update.mark_overdue = true;
    update
}

/// Why a verification of `target` (`None`: no such ticket) by `verifier` cannot be taken,
/// as the item's rejection; `None` when it can.
pub fn verification_refusal(
    target: Option<&Ticket>,
    claim: &VerificationClaim,
    verifier: &User,
    report: &Report,
    policy: &CasePolicy,
) -> Option<ItemResult> {
    let reject = |field: &str, reason: String| {
        Some(ItemResult::Rejected {
            field: field.into(),
            reason,
        })
    };
    let shown: String = claim.ticket_id.chars().take(40).collect();
    let Some(target) = target.filter(|t| t.status == TicketStatus::AwaitingVerification) else {
        return reject(
            "attributes.ticket",
            format!("{shown:?} is not a ticket awaiting verification"),
        );
    };
    if target.submitted_by == verifier.name {
        return reject(
            "attributes.ticket",
            format!("you filed {shown}; another rider must verify it"),
        );
    }
    let distance = haversine_m(
        report.location.lon,
        report.location.lat,
        target.location.lon,
        target.location.lat,
    );
    if distance > policy.verification_radius_m {
        return reject(
            "location",
            format!(
                "{distance:.0} m from ticket {shown}; a verification must be filed within {:.0} m \
                 of the problem",
                policy.verification_radius_m
            ),
        );
    }
    None
}

/// What a verification (ticket row `verification`) does to its target: a fixed problem is
/// resolved (or closed, by the policy); one still there goes back to its department with a
/// fresh deadline (返工).
#[allow(clippy::too_many_arguments)]
pub fn verification_update(
    target: &Ticket,
    fixed: bool,
    verifier: &User,
    note: &str,
    verification: i64,
    policy: &CasePolicy,
    ids: &IdCodec,
    now: Timestamp,
) -> TicketUpdate {
    let (status, action) = match (fixed, policy.close_on_verified) {
        (true, true) => (TicketStatus::Closed, EventAction::VerifiedFixed),
        (true, false) => (TicketStatus::Resolved, EventAction::VerifiedFixed),
        (false, _) => (TicketStatus::Dispatched, EventAction::VerifiedNotFixed),
    };
    let mut update = TicketUpdate::of(next_event(target, status, &verifier.name, action, now));
    update.event.verification = Some(ids.ticket_id(verification));
    update.verification = Some(verification);
    if !note.trim().is_empty() {
        update.event.note = Some(note.to_string());
    }
    if !fixed {
        update.due_at = policy.deadline(target.kind, &target.category, now);
        update.event.due_at = update.due_at;
        update.clear_overdue = true;
    }
    update
}

/// How a new ticket row starts: a verification of `target` is final at once and lives in its
/// target's grid (so the supervisor who sees the target sees the evidence); any other report
/// is `submitted` in `located_grid`. Returns the status name, the grid and the first event.
pub fn first_state(
    target: Option<&Ticket>,
    located_grid: Option<String>,
    user: &User,
    now: Timestamp,
) -> (&'static str, Option<String>, TicketEvent) {
    match target {
        Some(t) => (
            "closed",
            t.grid_id.clone(),
            verification_filed_event(user, now),
        ),
        None => ("submitted", located_grid, submitted_event(user, now)),
    }
}

/// The one event of a verification's own ticket: filed and final at once.
fn verification_filed_event(user: &User, now: Timestamp) -> TicketEvent {
    TicketEvent {
        status: TicketStatus::Closed,
        ..submitted_event(user, now)
    }
}

/// The task a ticket awaiting verification offers, as riders see it (no reporter, no note).
pub fn task_of(ticket: &Ticket, policy: &CasePolicy) -> VerificationTask {
    let resolved_at = ticket
        .history
        .iter()
        .rev()
        .find(|e| e.status == TicketStatus::AwaitingVerification)
        .map_or(ticket.updated_at, |e| e.at);
    VerificationTask {
        ticket_id: ticket.id.clone(),
        kind: ticket.kind,
        category: ticket.category.clone(),
        grid_id: ticket.grid_id.clone(),
        lon: ticket.location.lon,
        lat: ticket.location.lat,
        resolution_note: ticket.resolution_note.clone(),
        resolved_at,
        radius_m: policy.verification_radius_m,
    }
}

/// True when `ticket` lies within `radius_m` of (`lon`, `lat`).
pub fn within(ticket: &Ticket, lon: f64, lat: f64, radius_m: f64) -> bool {
    haversine_m(lon, lat, ticket.location.lon, ticket.location.lat) <= radius_m
}
