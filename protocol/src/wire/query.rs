//! Query strings of the list endpoints, shared so a client builds exactly what the server parses.

use serde::{Deserialize, Serialize};

use super::TicketStatus;
use crate::{FieldError, ReportKind, Timestamp};

/// `GET /v1/changes?cursor=&limit=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// Continue after this cursor; absent means from the beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size (default 100, clamped to `Limits::max_page_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `GET /v1/tickets?status=&kind=&grid=&since=&until=&signature=&signal=&limit=&cursor=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// Comma-separated statuses, e.g. `submitted,accepted`; any of them matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only this report kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ReportKind>,
    /// Only this grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
    /// Only tickets received at or after this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// Only tickets received before this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// Page size (default 100, clamped to `Limits::max_page_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only tickets whose signature check found this (`mismatch`, `unsigned`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::evidence::SignatureCheck>,
    /// Only tickets with this fraud signal (`mock_location`, ...), or with any signal (`any`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
}

impl TicketQuery {
    /// The `status` filter as a list (empty: any status).
    pub fn statuses(&self) -> Result<Vec<TicketStatus>, FieldError> {
        let Some(text) = &self.status else {
            return Ok(Vec::new());
        };
        text.split(',')
            .map(|s| {
                TicketStatus::parse(s.trim()).ok_or_else(|| {
                    let shown: String = s.chars().take(40).collect();
                    FieldError::new("status", format!("{shown:?} is not a ticket status"))
                })
            })
            .collect()
    }
}

impl TicketQuery {
    /// Tickets in any of `statuses` (all tickets when empty).
    pub fn with_statuses(statuses: &[super::TicketStatus]) -> Self {
        let names: Vec<_> = statuses.iter().map(|s| s.as_str()).collect();
        TicketQuery {
            status: (!names.is_empty()).then(|| names.join(",")),
            ..Default::default()
        }
    }
}
