//! `POST /v1/reports:batch`: many reports in one request, one result per report.
//!
//! Results come back in request order, one per report, each final: nothing inside a batch
//! response is worth retrying as is. A failure of the whole request (5xx, 429, a dropped
//! connection) stores nothing, and the client resends the same batch; report ids make that safe.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Report;

/// The request body (plain JSON or `Content-Encoding: gzip`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// At most `Limits::max_reports_per_batch` reports.
    pub reports: Vec<Report>,
}

/// The response body: `results[i]` answers `reports[i]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// One outcome per submitted report, in request order.
    pub results: Vec<ItemOutcome>,
}

/// The outcome for one report of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutcome {
    /// The report's id, or `None` when the item was too malformed to read one.
    pub id: Option<Uuid>,
    /// What happened to it.
    #[serde(flatten)]
    pub result: ItemResult,
}

/// What happened to one report, tagged by `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemResult {
    /// Stored now; a ticket was opened.
    Accepted {
        /// The new ticket.
        ticket_id: String,
    },
    /// The same id with the same content was accepted before: the same ticket, never a second.
    AlreadyAccepted {
        /// The ticket opened the first time.
        ticket_id: String,
    },
    /// The id is taken by different content (or by another user): the device must not resend
    /// it as is. Park it for a person to look at.
    Conflict {
        /// Why, for the rider or support.
        reason: String,
    },
    /// The report breaks a rule; fix `field` and resubmit (it is a new report then).
    Rejected {
        /// Dotted path of the offending field (`location.lat`, `category`, `photos.0.bytes`).
        field: String,
        /// Why, in words a rider can act on.
        reason: String,
    },
}

impl ItemResult {
    /// The ticket id for `accepted` and `already_accepted`.
    pub fn ticket_id(&self) -> Option<&str> {
        match self {
            Self::Accepted { ticket_id } | Self::AlreadyAccepted { ticket_id } => Some(ticket_id),
            Self::Conflict { .. } | Self::Rejected { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_flat_and_tagged_by_status() {
        let id = Uuid::nil();
        let outcome = ItemOutcome {
            id: Some(id),
            result: ItemResult::Rejected {
                field: "category".into(),
                reason: "unknown".into(),
            },
        };
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": id, "status": "rejected", "field": "category", "reason": "unknown"})
        );
        let back: ItemOutcome = serde_json::from_value(json).unwrap();
        assert_eq!(back, outcome);
        let ok: ItemOutcome =
            serde_json::from_str(r#"{"id":null,"status":"already_accepted","ticket_id":"T1"}"#)
                .unwrap();
        assert_eq!(ok.result.ticket_id(), Some("T1"));
    }
}
