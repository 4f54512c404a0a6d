//! Tickets: what a report becomes on the server, and the 数字城管 lifecycle a grid supervisor
//! moves it through.
//!
//! ```text
//! submitted ──accept──▶ accepted ──dispatch──▶ dispatched ──resolve──▶ resolved ──close──▶ closed
//!  (上报)                (立案)        │          (派遣) ◀─┘ dispatch   (处置)                 (结案)
//!                                      └──────────resolve──────────▶
//!                        resolve, when the category requires verification:
//!            dispatched ──resolve──▶ awaiting_verification ──rider: fixed──▶ resolved (or closed)
//!                 ▲                       (核查)             │
//!                 └────────────── rider: not fixed (返工) ◀──┘
//! submitted | accepted | dispatched ──reject──▶ rejected (不予立案, with a reason)
//! submitted | accepted | dispatched ──mark_duplicate──▶ duplicate (of another ticket)
//! accepted | dispatched ──escalate──▶ (same status, 督办)     dispatched ──extend──▶ dispatched
//! ```
//! `closed`, `rejected` and `duplicate` are final. Resolving straight from `accepted` covers
//! problems the supervisor's own team handles (自处置); dispatching again re-routes a ticket
//! to another department. A dispatch starts the category's deadline (`due_at`); the server
//! marks a ticket overdue once when it passes. Every change bumps `version` and is recorded
//! with who and when.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::MAX_HANDLING_HOURS;
use crate::report::{MAX_ID_CHARS, check_text};
use crate::{
    AttrValue, FieldError, LocationFix, MAX_NOTE_CHARS, Outreach, ReportKind, Severity, Timestamp,
};

/// Where a ticket is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TicketStatus {
    /// Received from a rider, not yet triaged (上报).
    Submitted,
    /// Registered as a case (立案).
    Accepted,
    /// Sent to a department to handle (派遣).
    Dispatched,
    /// Handled by the department; waiting for a rider to check on the spot that the problem is
    /// gone (核查), for categories that require it.
    AwaitingVerification,
    /// Handled (and verified, where required); waiting for the supervisor to close it (处置).
    Resolved,
    /// Verified and closed (结案). Final.
    Closed,
    /// Not a case, with a reason (不予立案). Final.
    Rejected,
    /// Reports the same problem as another ticket. Final.
    Duplicate,
}

impl TicketStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [TicketStatus; 8] = [
        Self::Submitted,
        Self::Accepted,
        Self::Dispatched,
        Self::AwaitingVerification,
        Self::Resolved,
        Self::Closed,
        Self::Rejected,
        Self::Duplicate,
    ];

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::Dispatched => "dispatched",
            Self::AwaitingVerification => "awaiting_verification",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Rejected => "rejected",
            Self::Duplicate => "duplicate",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// True when no action can move the ticket any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Closed | Self::Rejected | Self::Duplicate)
    }

    /// The status `action` leads to from this one, or why it cannot be taken. A resolve
    /// leads to `resolved`; where the category requires verification the server sends the
    /// ticket to `awaiting_verification` instead.
    pub fn apply(self, action: &TriageAction) -> Result<TicketStatus, TransitionError> {
        use TicketStatus::*;
        let allowed = match action {
            TriageAction::Accept => matches!(self, Submitted),
            TriageAction::Dispatch { .. } => matches!(self, Accepted | Dispatched),
            TriageAction::Resolve { .. } => matches!(self, Accepted | Dispatched),
            TriageAction::Close => matches!(self, Resolved),
            TriageAction::Reject { .. } | TriageAction::MarkDuplicate { .. } => {
                matches!(self, Submitted | Accepted | Dispatched)
            }
            TriageAction::Escalate { .. } => matches!(self, Accepted | Dispatched),
            TriageAction::Extend { .. } => matches!(self, Dispatched),
        };
        if allowed {
            Ok(action.target().unwrap_or(self))
        } else {
            Err(TransitionError {
                from: self,
                action: action.name(),
            })
        }
    }
}

/// An action that the lifecycle does not allow from the ticket's current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a ticket that is {}", from.as_str())]
pub struct TransitionError {
    /// The ticket's status.
    pub from: TicketStatus,
    /// The refused action's wire name.
    pub action: &'static str,
}

/// Longest department name, rejection reason or resolution note.
const MAX_ACTION_TEXT_CHARS: usize = MAX_NOTE_CHARS;

/// A supervisor's triage action: the body of `POST /v1/tickets/{id}/actions`, sent with
/// `If-Match: "<version>"`. Tagged by `action`.
///
/// Parsing is strict: an unknown action, an unknown field, or a field that belongs to another
/// action (`{"action":"accept","note":"..."}`) is refused rather than silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", try_from = "RawAction")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TriageAction {
    /// Register the case (立案).
    Accept,
    /// Send it to a department (派遣).
    Dispatch {
        /// Who handles it, e.g. `市政养护`.
        department: String,
    },
    /// Record that it was handled (处置).
    Resolve {
        /// What was done.
        note: String,
    },
    /// Verify and close (结案).
    Close,
    /// Refuse it (不予立案).
    Reject {
        /// Why; shown to the rider.
        reason: String,
    },
    /// Merge it into another ticket about the same problem.
    MarkDuplicate {
        /// The ticket this one duplicates.
        of: String,
    },
    /// Press the department to act (督办); the status stays.
    Escalate {
        /// Why; recorded in the history.
        reason: String,
    },
    /// Give the department more time: moves the deadline `hours` later (and clears overdue).
    Extend {
        /// Hours added to the deadline.
        hours: i64,
        /// Why; recorded in the history.
        reason: String,
    },
}

/// The flat shape every action shares on the wire; `TriageAction` is read through it so that
/// fields foreign to the chosen action are refused (serde's tagged enums would ignore them).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    action: String,
    department: Option<String>,
    note: Option<String>,
    reason: Option<String>,
    of: Option<String>,
    hours: Option<i64>,
}

impl TryFrom<RawAction> for TriageAction {
    type Error = String;

    fn try_from(raw: RawAction) -> Result<Self, String> {
        let RawAction {
            action,
            mut department,
            mut note,
            mut reason,
            mut of,
            mut hours,
        } = raw;
        let take = |slot: &mut Option<String>, name: &str| {
            slot.take()
                .ok_or_else(|| format!("action {action} needs the field `{name}`"))
        };
        let parsed = match action.as_str() {
            "accept" => Self::Accept,
            "close" => Self::Close,
            "dispatch" => Self::Dispatch {
                department: take(&mut department, "department")?,
            },
            "resolve" => Self::Resolve {
                note: take(&mut note, "note")?,
            },
            "reject" => Self::Reject {
                reason: take(&mut reason, "reason")?,
            },
            "mark_duplicate" => Self::MarkDuplicate {
                of: take(&mut of, "of")?,
            },
            "escalate" => Self::Escalate {
                reason: take(&mut reason, "reason")?,
            },
            "extend" => Self::Extend {
                hours: hours
                    .take()
                    .ok_or_else(|| format!("action {action} needs the field `hours`"))?,
                reason: take(&mut reason, "reason")?,
            },
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(format!(
                    "unknown action {shown:?}; expected accept, dispatch, resolve, close, reject, mark_duplicate, escalate or extend"
                ));
            }
        };
        let leftover = [
            ("department", &department),
            ("note", &note),
            ("reason", &reason),
            ("of", &of),
        ];
        if let Some((name, _)) = leftover.iter().find(|(_, v)| v.is_some()) {
            return Err(format!("action {action} takes no field `{name}`"));
        }
        if hours.is_some() {
            return Err(format!("action {action} takes no field `hours`"));
        }
        Ok(parsed)
    }
}

impl TriageAction {
    /// The wire name of the action.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Dispatch { .. } => "dispatch",
            Self::Resolve { .. } => "resolve",
            Self::Close => "close",
            Self::Reject { .. } => "reject",
            Self::MarkDuplicate { .. } => "mark_duplicate",
            Self::Escalate { .. } => "escalate",
            Self::Extend { .. } => "extend",
        }
    }

    /// The status the action leads to; `None` when it keeps the ticket's status.
    pub fn target(&self) -> Option<TicketStatus> {
        Some(match self {
            Self::Accept => TicketStatus::Accepted,
            Self::Dispatch { .. } => TicketStatus::Dispatched,
            Self::Resolve { .. } => TicketStatus::Resolved,
            Self::Close => TicketStatus::Closed,
            Self::Reject { .. } => TicketStatus::Rejected,
            Self::MarkDuplicate { .. } => TicketStatus::Duplicate,
            Self::Escalate { .. } | Self::Extend { .. } => return None,
        })
    }

    /// What the history records for the action.
    pub fn event_action(&self) -> EventAction {
        match self {
            Self::Accept => EventAction::Accept,
            Self::Dispatch { .. } => EventAction::Dispatch,
            Self::Resolve { .. } => EventAction::Resolve,
            Self::Close => EventAction::Close,
            Self::Reject { .. } => EventAction::Reject,
            Self::MarkDuplicate { .. } => EventAction::MarkDuplicate,
            Self::Escalate { .. } => EventAction::Escalate,
            Self::Extend { .. } => EventAction::Extend,
        }
    }

    /// Checks the action's own fields (non-empty, bounded, no control characters).
    pub fn validate(&self) -> Result<(), FieldError> {
        let required = |field: &str, text: &str, max: usize, multiline: bool| {
            if text.trim().is_empty() {
                return Err(FieldError::new(field, "must not be empty"));
            }
            check_text(field, text, max, multiline)
        };
        match self {
            Self::Accept | Self::Close => Ok(()),
            Self::Dispatch { department } => {
                required("department", department, MAX_ID_CHARS, false)
            }
            Self::Resolve { note } => required("note", note, MAX_ACTION_TEXT_CHARS, true),
            Self::Reject { reason } => required("reason", reason, MAX_ACTION_TEXT_CHARS, true),
            Self::MarkDuplicate { of } => required("of", of, MAX_ID_CHARS, false),
            Self::Escalate { reason } => required("reason", reason, MAX_ACTION_TEXT_CHARS, true),
            Self::Extend { hours, reason } => {
                if !(1..=MAX_HANDLING_HOURS).contains(hours) {
                    return Err(FieldError::new(
                        "hours",
                        format!("must be between 1 and {MAX_HANDLING_HOURS}"),
                    ));
                }
                required("reason", reason, MAX_ACTION_TEXT_CHARS, true)
            }
        }
    }
}

/// What an entry of a ticket's history records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EventAction {
    /// A rider filed the report.
    Submit,
    /// A supervisor's [`TriageAction::Accept`].
    Accept,
    /// A supervisor's [`TriageAction::Dispatch`] (starts the deadline).
    Dispatch,
    /// A supervisor's [`TriageAction::Resolve`].
    Resolve,
    /// A supervisor's [`TriageAction::Close`], or the server closing a verified ticket.
    Close,
    /// A supervisor's [`TriageAction::Reject`].
    Reject,
    /// A supervisor's [`TriageAction::MarkDuplicate`].
    MarkDuplicate,
    /// A supervisor's [`TriageAction::Escalate`] (督办).
    Escalate,
    /// A supervisor's [`TriageAction::Extend`].
    Extend,
    /// The server found the deadline passed (recorded once per deadline).
    Overdue,
    /// A rider verified on the spot that the problem is gone.
    VerifiedFixed,
    /// A rider found the problem still there: the ticket goes back to its department (返工).
    VerifiedNotFixed,
}

/// One recorded transition of a ticket: an entry of its history and of the changes feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    /// The status entered.
    pub status: TicketStatus,
    /// The ticket version this transition produced (1 for `submitted`).
    pub version: u64,
    /// When, by the server's clock.
    pub at: Timestamp,
    /// Who: the user name of the rider (for `submitted`) or the supervisor.
    pub by: String,
    /// Rejection reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Department dispatched to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Resolution note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The ticket this one duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// What happened; absent on events recorded before the server named them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<EventAction>,
    /// The deadline the event set (dispatch, extend, reopen) or passed (overdue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// The verification ticket whose evidence this event records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
}

/// A photo listed by a ticket's report, and whether its bytes have arrived and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPhoto {
    /// Lowercase hex SHA-256 of the JPEG bytes (`GET /v1/media/{sha256}`).
    pub sha256: String,
    /// Declared size in bytes.
    pub bytes: u64,
    /// Pixel width.
    pub width: u32,
    /// Pixel height.
    pub height: u32,
    /// True once the server holds the verified bytes.
    pub uploaded: bool,
}

/// A ticket: the report as filed plus its triage state and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Server-assigned id (`T` and digits), increasing in creation order.
    pub id: String,
    /// The report's device-born id.
    pub report_id: Uuid,
    /// Where it is in the lifecycle.
    pub status: TicketStatus,
    /// Bumped by every transition; send it back in `If-Match`. Also the `ETag`.
    pub version: u64,
    /// The report's kind.
    pub kind: ReportKind,
    /// The report's category code.
    pub category: String,
    /// The grid it belongs to: as the device assigned it if the server knows that grid,
    /// else located from the point; `None` when the point is in no known grid.
    pub grid_id: Option<String>,
    /// The rider's note.
    pub note: String,
    /// The rider's judgement of urgency.
    pub severity: Severity,
    /// Where, in WGS-84.
    pub location: LocationFix,
    /// Location quality warnings raised on the device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location_warnings: Vec<String>,
    /// Category-specific attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttrValue>,
    /// Outreach figures, for `anti_fraud_outreach`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outreach: Option<Outreach>,
    /// Evidence photos.
    #[serde(default)]
    pub photos: Vec<TicketPhoto>,
    /// The rider id the report names.
    pub reporter: String,
    /// The server user whose token submitted it.
    pub submitted_by: String,
    /// When the draft was created on the device.
    pub created_at: Timestamp,
    /// When the rider tapped submit.
    pub submitted_at: Timestamp,
    /// When the server accepted it.
    pub received_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Current department, once dispatched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// How it was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_note: Option<String>,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    /// The ticket it duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// The handling deadline, set at dispatch from the category's time limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// True while the ticket is dispatched and its deadline has passed (marked by the server).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overdue: bool,
    /// How many times a supervisor escalated it (督办).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub escalations: u32,
    /// For a verification: the ticket it verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifies: Option<String>,
    /// Every transition, oldest first.
    #[serde(default)]
    pub history: Vec<TicketEvent>,
    /// What the server found when it checked the report's device signature at ingest;
    /// absent for tickets received before the server checked signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<crate::evidence::TicketEvidence>,
    /// Tickets marked as duplicates of this one, with their evidence (photos, signature
    /// record, signals). Filled for supervisors and admins by `GET /v1/tickets/{id}`; empty
    /// elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<super::MergedReport>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A page of `GET /v1/tickets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketPage {
    /// Tickets in ascending id order.
    pub tickets: Vec<Ticket>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_allows_exactly_the_documented_transitions() {
        use TicketStatus::*;
        let dispatch = TriageAction::Dispatch {
            department: "roads".into(),
        };
        let resolve = TriageAction::Resolve { note: "ok".into() };
        let reject = TriageAction::Reject {
            reason: "no".into(),
        };
        let dup = TriageAction::MarkDuplicate { of: "T1".into() };
        let escalate = TriageAction::Escalate {
            reason: "late".into(),
        };
        let extend = TriageAction::Extend {
            hours: 24,
            reason: "parts".into(),
        };
        let actions = [
            TriageAction::Accept,
            dispatch,
            resolve,
            TriageAction::Close,
            reject,
            dup,
            escalate,
            extend,
        ];
        let mut allowed = Vec::new();
        for from in TicketStatus::ALL {
            for action in &actions {
                if let Ok(to) = from.apply(action) {
                    allowed.push((from, action.name(), to));
                }
            }
        }
        let expected = vec![
            (Submitted, "accept", Accepted),
            (Submitted, "reject", Rejected),
            (Submitted, "mark_duplicate", Duplicate),
            (Accepted, "dispatch", Dispatched),
            (Accepted, "resolve", Resolved),
            (Accepted, "reject", Rejected),
            (Accepted, "mark_duplicate", Duplicate),
            (Accepted, "escalate", Accepted),
            (Dispatched, "dispatch", Dispatched),
            (Dispatched, "resolve", Resolved),
            (Dispatched, "reject", Rejected),
            (Dispatched, "mark_duplicate", Duplicate),
            (Dispatched, "escalate", Dispatched),
            (Dispatched, "extend", Dispatched),
            (Resolved, "close", Closed),
        ];
        assert_eq!(allowed, expected);
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(s));
            if s.is_final() {
                assert!(actions.iter().all(|a| s.apply(a).is_err()));
            }
        }
    }

    #[test]
    fn actions_parse_strictly_and_validate_their_text() {
        let a: TriageAction =
            serde_json::from_str(r#"{"action":"dispatch","department":"市政"}"#).unwrap();
        assert_eq!(a.validate(), Ok(()));
        let unknown = r#"{"action":"accept","extra":1}"#;
        assert!(serde_json::from_str::<TriageAction>(unknown).is_err());
        assert!(serde_json::from_str::<TriageAction>(r#"{"action":"fly"}"#).is_err());
        let foreign = r#"{"action":"accept","note":"x"}"#;
        assert!(serde_json::from_str::<TriageAction>(foreign).is_err());
        let missing = r#"{"action":"reject"}"#;
        assert!(serde_json::from_str::<TriageAction>(missing).is_err());
        let dup = TriageAction::MarkDuplicate { of: "T7".into() };
        let json = serde_json::to_string(&dup).unwrap();
        assert_eq!(json, r#"{"action":"mark_duplicate","of":"T7"}"#);
        assert_eq!(serde_json::from_str::<TriageAction>(&json).unwrap(), dup);
        let empty = TriageAction::Reject { reason: " ".into() };
        assert_eq!(empty.validate().map_err(|e| e.field), Err("reason".into()));
        let extend: TriageAction =
            serde_json::from_str(r#"{"action":"extend","hours":48,"reason":"parts"}"#).unwrap();
        assert_eq!(extend.validate(), Ok(()));
        let no_hours = r#"{"action":"extend","reason":"parts"}"#;
        assert!(serde_json::from_str::<TriageAction>(no_hours).is_err());
        let stray_hours = r#"{"action":"escalate","reason":"late","hours":1}"#;
        assert!(serde_json::from_str::<TriageAction>(stray_hours).is_err());
        for hours in [0, -3, MAX_HANDLING_HOURS + 1] {
            let bad = TriageAction::Extend {
                hours,
                reason: "x".into(),
            };
            assert_eq!(bad.validate().map_err(|e| e.field), Err("hours".into()));
        }
        let bidi = TriageAction::Resolve {
            note: "ok\u{202E}".into(),
        };
        assert!(bidi.validate().is_err());
    }
}
